#include "inbound/autoreply.h"
#include "lib/buf.h"
#include "lib/fold.h"
#include "lib/util.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* The first word of a header value, lower-cased, compared with `word`. */
static bool first_word_is(const char *value, const char *word)
{
    while (*value && isspace((unsigned char)*value))
        value++;
    size_t n = strlen(word);
    return strncasecmp(value, word, n) == 0 &&
           (value[n] == '\0' || value[n] == ';' || isspace((unsigned char)value[n]));
}

/* Local parts of senders that are machines by name. */
static bool machine_sender(const char *address)
{
    static const char *const locals[] = {"mailer-daemon", "postmaster", "noreply", "no-reply",
                                         "do-not-reply",  "donotreply", "bounce",  "bounces"};
    const char *at = strchr(address, '@');
    size_t n = at ? (size_t)(at - address) : strlen(address);
    for (size_t i = 0; i < ARRAY_SIZE(locals); i++)
        if (strlen(locals[i]) == n && strncasecmp(address, locals[i], n) == 0)
            return true;
    /* "bounces+…@" and "bounce-…@" are list and ESP return paths. */
    return strncasecmp(address, "bounce+", 7) == 0 || strncasecmp(address, "bounces+", 8) == 0 ||
           strncasecmp(address, "bounce-", 7) == 0;
}

bool autoreply_detect(const struct mime_message *m, const char **reason_r)
{
    const char *v;
    if ((v = mime_header(m, "Auto-Submitted")) && !first_word_is(v, "no")) {
        *reason_r = "auto-submitted";
        return true;
    }
    if ((v = mime_header(m, "Precedence")) &&
        (first_word_is(v, "bulk") || first_word_is(v, "list") || first_word_is(v, "junk") ||
         first_word_is(v, "auto_reply"))) {
        *reason_r = "precedence";
        return true;
    }
    if (mime_header(m, "X-Autoreply") || mime_header(m, "X-Autorespond") ||
        mime_header(m, "X-Autoresponder")) {
        *reason_r = "x-autoreply";
        return true;
    }
    if (mime_header(m, "X-Auto-Response-Suppress")) {
        /* Exchange puts it on its own automatic messages (out of office, receipts). */
        *reason_r = "x-auto-response-suppress";
        return true;
    }
    if (mime_header(m, "X-MS-Exchange-Inbox-Rules-Loop")) {
        *reason_r = "inbox-rule";
        return true;
    }
    if (m->report_type && strcmp(m->report_type, "disposition-notification") == 0) {
        /* A read receipt (Thunderbird, Outlook "Lu :"/"Read:"): nobody typed it. */
        *reason_r = "mdn";
        return true;
    }
    if (mime_header(m, "List-Id") || mime_header(m, "List-Unsubscribe")) {
        *reason_r = "list";
        return true;
    }
    if ((v = mime_header(m, "Return-Path"))) {
        char *addr = mime_address(v);
        bool empty = !addr;
        free(addr);
        if (empty && strchr(v, '<')) {
            *reason_r = "empty-return-path";
            return true;
        }
    }
    char *from = mime_address(mime_header(m, "From"));
    bool machine = from && machine_sender(from);
    free(from);
    if (machine) {
        *reason_r = "machine-sender";
        return true;
    }
    return false;
}

/* Written folded (lib/fold.h): lower case, no accents, ASCII apostrophes. */
static const char *const automatic_subjects[] = {
    "automatic reply",      "auto-reply",          "autoreply",
    "auto reply",           "reponse automatique", "reponse auto",
    "out of office",        "out of the office",   "absence du bureau",
    "absent du bureau",     "absente du bureau",   "message d'absence",
    "automatische antwort", "abwesenheit",         "respuesta automatica",
    "risposta automatica",  "fuera de la oficina", NULL,
};

static const char *const automatic_texts[] = {
    "absent du bureau",
    "absente du bureau",
    "absents du bureau",
    "absent jusqu",
    "absente jusqu",
    "actuellement absent",
    "en conges jusqu",
    "en conge jusqu",
    "en vacances jusqu",
    "acces limite a mes",
    "ceci est une reponse automatique",
    "reponse automatique",
    "message automatique",
    "out of the office",
    "out of office",
    "currently out",
    "away from the office",
    "on annual leave",
    "on leave until",
    "on holiday until",
    "on vacation until",
    "limited access to email",
    "limited access to e-mail",
    "this is an automatic reply",
    "this is an automated response",
    "this is an auto-reply",
    "automatic reply",
    NULL,
};

static bool folded_contains(const char *text, size_t limit, const char *const *needles)
{
    size_t len = strlen(text);
    struct buf folded = BUF_INIT;
    fold_text(text, len < limit ? len : limit, &folded);
    bool found = false;
    for (const char *const *n = needles; *n && !found; n++)
        found = strstr(buf_str(&folded), *n) != NULL;
    buf_release(&folded);
    return found;
}

bool autoreply_by_content(const char *subject, const char *new_text, const char **reason_r)
{
    /* Pigeonhole's vacation and several webmails put "Auto:" before the subject. */
    if (subject && (strncasecmp(subject, "auto:", 5) == 0 ||
                    folded_contains(subject, 300, automatic_subjects))) {
        *reason_r = "autoreply-subject";
        return true;
    }
    /* The opening of the text is enough, and bounds the work on a long mail. */
    if (new_text && folded_contains(new_text, 600, automatic_texts)) {
        *reason_r = "autoreply-text";
        return true;
    }
    return false;
}
