#include "inbound/autoreply.h"
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
