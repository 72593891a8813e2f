#include "lib/log.h"
#include "lib/util.h"
#include "decide/grammar.h"
#include "handlers/handlers.h"
#include "inbound/autoreply.h"
#include "inbound/mail_inbound.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* `prefix+TOKEN@` in a header value: the token, or NULL. */
static char *plus_token(const char *value, const char *prefix)
{
    if (!value)
        return NULL;
    size_t n = strlen(prefix);
    for (const char *p = strcasestr(value, prefix); p; p = strcasestr(p + 1, prefix)) {
        if (p > value && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
            continue;
        const char *t = p + n;
        size_t len = strspn(t, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
        if (len > 0 && t[len] == '@')
            return xstrndup(t, len);
    }
    return NULL;
}

char *mail_angle_id(const char *value)
{
    if (!value)
        return NULL;
    const char *lt = strchr(value, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt && gt > lt + 1)
        return xstrndup(lt + 1, (size_t)(gt - lt - 1));
    char *copy = xstrdup(value);
    char *t = str_trim(copy);
    char *id = *t && !strpbrk(t, " \t") ? xstrdup(t) : NULL;
    free(copy);
    return id;
}

bool mail_is_command(const char *line)
{
    char *error = NULL;
    const struct grammar *g = handlers_grammar(&error);
    if (!g) {
        free(error);
        return reply_is_command_word(line);
    }
    struct grammar_match m;
    grammar_match_init(&m);
    bool matched = grammar_match(g, line, strlen(line), &m) == GRAMMAR_MATCHED;
    grammar_match_release(&m);
    return matched;
}

int mail_parse(const char *raw, size_t len, reply_is_command_fn is_command, struct mail_parsed *p,
               char **error_r)
{
    memset(p, 0, sizeof(*p));
    if (mime_parse(raw, len, &p->mime, error_r) < 0)
        return -1;
    const struct mime_message *m = p->mime;
    p->is_bounce = bounce_detect(m, &p->bounce);
    p->sender = mime_address(mime_header(m, "From"));
    if (p->sender)
        p->sender_name = mime_display_name(mime_header(m, "From"));
    if (!p->sender)
        p->sender = mime_address(mime_header(m, "Sender"));
    if (!p->sender && (p->is_bounce || mime_header(m, "From"))) {
        /* "From: MAILER-DAEMON" without a domain: keep the name, lower-cased. */
        char *decoded = mime_header_decoded(m, "From");
        p->sender = decoded ? str_lower(xstrdup(str_trim(decoded))) : xstrdup("mailer-daemon");
        free(decoded);
    }
    if (!p->sender || !*p->sender) {
        *error_r = xstrdup("not a mail message: no From address");
        mail_parsed_release(p);
        return -1;
    }
    static const char *const envelope[] = {"Delivered-To", "X-Original-To", "Envelope-To", "To",
                                           "Cc"};
    for (size_t i = 0; i < ARRAY_SIZE(envelope) && !p->reply_token; i++)
        p->reply_token = plus_token(mime_header(m, envelope[i]), "reply+");
    for (size_t i = 0; i < ARRAY_SIZE(envelope) && !p->unsubscribe_token; i++)
        p->unsubscribe_token = plus_token(mime_header(m, envelope[i]), "unsubscribe+");
    for (size_t i = 0; i < 4 && !p->recipient; i++)
        p->recipient = mime_address(mime_header(m, envelope[i]));
    if (!p->recipient)
        p->recipient = xstrdup("");
    char *subject = mime_header_decoded(m, "Subject");
    p->subject = subject ? subject : xstrdup("");
    p->message_id = mail_angle_id(mime_header(m, "Message-ID"));
    const char *irt = mime_header(m, "In-Reply-To"), *refs = mime_header(m, "References");
    if (irt || refs)
        p->thread_ids = xasprintf("%s %s", irt ? irt : "", refs ? refs : "");
    const char *lang = mime_header(m, "Content-Language");
    if (lang && (strncasecmp(lang, "fr", 2) == 0 || strncasecmp(lang, "en", 2) == 0))
        p->locale_hint = str_lower(xstrndup(lang, 2));

    if (p->is_bounce) {
        p->automatic = true;
        p->automatic_reason = "bounce";
    } else {
        p->automatic = autoreply_detect(m, &p->automatic_reason);
    }
    p->new_text = reply_new_text(m->text);
    if (!p->automatic)
        p->commands = reply_commands(m->text, p->subject, is_command ? is_command : mail_is_command,
                                     &p->from_subject);
    /* Auto-replies without RFC 3834 headers (an Outlook rule, a webmail's vacation reply)
     * are known by their words — unless the mail carries a command. */
    if (!p->automatic && !p->commands)
        p->automatic = autoreply_by_content(p->subject, p->new_text, &p->automatic_reason);
    return 0;
}

void mail_parsed_release(struct mail_parsed *p)
{
    mime_free(&p->mime);
    free(p->sender);
    free(p->sender_name);
    free(p->recipient);
    free(p->subject);
    free(p->message_id);
    free(p->new_text);
    free(p->commands);
    bounce_info_release(&p->bounce);
    free(p->reply_token);
    free(p->unsubscribe_token);
    free(p->thread_ids);
    free(p->locale_hint);
    memset(p, 0, sizeof(*p));
}
