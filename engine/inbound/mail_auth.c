#include "inbound/mail_auth.h"
#include "lib/util.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* A copy of `value` with RFC 5322 comments "(…)", nested or not, turned into spaces. */
static char *without_comments(const char *value)
{
    char *out = xstrdup(value);
    int depth = 0;
    for (char *p = out; *p; p++) {
        if (depth && *p == '\\' && p[1]) {
            p[0] = p[1] = ' ';
            p++;
            continue;
        }
        if (*p == '(') {
            depth++;
        } else if (*p == ')' && depth) {
            depth--;
            *p = ' ';
            continue;
        }
        if (depth)
            *p = ' ';
    }
    return out;
}

/* The next word of *p (white space separated), NUL-terminated in place; NULL at the end. */
static char *next_word(char **p)
{
    while (**p && isspace((unsigned char)**p))
        (*p)++;
    if (!**p)
        return NULL;
    char *word = *p;
    while (**p && !isspace((unsigned char)**p))
        (*p)++;
    if (**p)
        *(*p)++ = '\0';
    return word;
}

/* header.from may be written as the domain, quoted, or as an address. */
static bool same_domain(const char *written, const char *domain)
{
    size_t n = strlen(written);
    if (n >= 2 && written[0] == '"' && written[n - 1] == '"') {
        written++;
        n -= 2;
    }
    const char *at = memchr(written, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - written);
        written = at + 1;
    }
    return n == strlen(domain) && strncasecmp(written, domain, n) == 0;
}

/* One resinfo ("dmarc=pass … header.from=x"): whether it is a DMARC pass for `domain`. */
static bool dmarc_pass_for(char *resinfo, const char *domain)
{
    char *p = resinfo;
    char *method = next_word(&p);
    if (!method)
        return false;
    char *eq = strchr(method, '=');
    if (!eq)
        return false;
    *eq = '\0';
    char *slash = strchr(method, '/'); /* method/version */
    if (slash)
        *slash = '\0';
    if (strcasecmp(method, "dmarc") != 0 || strcasecmp(eq + 1, "pass") != 0)
        return false;
    for (char *word; (word = next_word(&p));)
        if (strncasecmp(word, "header.from=", 12) == 0 && same_domain(word + 12, domain))
            return true;
    return false;
}

bool mail_auth_value_dmarc_pass(const char *value, const char *trusted, const char *from_domain,
                                bool *from_trusted_r)
{
    *from_trusted_r = false;
    if (!value || !trusted || !*trusted || !from_domain || !*from_domain)
        return false;
    char *text = without_comments(value);
    char *save = NULL;
    char *first = strtok_r(text, ";", &save);
    char *p = first;
    char *id = first ? next_word(&p) : NULL;
    bool pass = false;
    if (id && strcasecmp(id, trusted) == 0) {
        *from_trusted_r = true;
        for (char *resinfo; !pass && (resinfo = strtok_r(NULL, ";", &save));)
            pass = dmarc_pass_for(resinfo, from_domain);
    }
    free(text);
    return pass;
}

bool mail_auth_dmarc_pass(const struct mime_message *m, const char *trusted,
                          const char *from_address)
{
    const char *at = from_address ? strrchr(from_address, '@') : NULL;
    if (!at || !trusted || !*trusted)
        return false;
    for (size_t i = 0; i < m->nheaders; i++) {
        if (strcasecmp(m->headers[i].name, "Authentication-Results") != 0)
            continue;
        bool ours = false;
        bool pass = mail_auth_value_dmarc_pass(m->headers[i].value, trusted, at + 1, &ours);
        /* Only the topmost header of the trusted server counts: any below it came with the
         * mail, from whoever sent it. */
        if (ours)
            return pass;
    }
    return false;
}
