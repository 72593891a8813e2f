#include "inbound/reply.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "handlers/handlers.h"

#include <ctype.h>
#include <string.h>

/* Lower-case ASCII with French (Latin-1) letters folded to their base letter, so that the
 * markers below can be written once: "a écrit :" and "A ÉCRIT :" both give "a ecrit :".
 * Typographic apostrophes and no-break spaces (Apple Mail puts one before ':') fold too. */
static char *fold(const char *s)
{
    struct buf b = BUF_INIT;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (p[0] == 0xC3 && p[1]) {
            static const char map[64] = "aaaaaaaceeeeiiiidnooooo*ouuuuyts"
                                        "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
            buf_addch(&b, map[p[1] & 0x3F]);
            p += 2;
        } else if (p[0] == 0xC5 && (p[1] == 0x92 || p[1] == 0x93)) {
            buf_adds(&b, "oe");
            p += 2;
        } else if (p[0] == 0xC2 && p[1] == 0xA0) {
            buf_addch(&b, ' ');
            p += 2;
        } else if (p[0] == 0xE2 && p[1] == 0x80 && p[2] && (p[2] == 0x98 || p[2] == 0x99)) {
            buf_addch(&b, '\'');
            p += 3;
        } else if (p[0] == 0xE2 && p[1] == 0x80 && p[2] && (p[2] == 0xAF || p[2] == 0x89)) {
            buf_addch(&b, ' ');
            p += 3;
        } else {
            buf_addch(&b, (char)tolower(*p));
            p++;
        }
    }
    return buf_detach(&b);
}

struct lines {
    char **raw;    /* each line as written, without its end of line */
    char **folded; /* trimmed and folded */
    size_t n;
};

static void lines_split(const char *text, struct lines *l)
{
    size_t cap = 0;
    l->raw = l->folded = NULL;
    l->n = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t keep = len;
        if (keep > 0 && p[keep - 1] == '\r')
            keep--;
        if (l->n == cap) {
            cap = cap ? cap * 2 : 64;
            l->raw = xrealloc(l->raw, cap * sizeof(char *));
            l->folded = xrealloc(l->folded, cap * sizeof(char *));
        }
        l->raw[l->n] = xstrndup(p, keep);
        char *copy = xstrdup(l->raw[l->n]);
        l->folded[l->n] = fold(str_trim(copy));
        free(copy);
        l->n++;
        p += len + (nl ? 1 : 0);
    }
}

static void lines_release(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->raw[i]);
        free(l->folded[i]);
    }
    free(l->raw);
    free(l->folded);
}

static bool starts_any(const char *s, const char *const *prefixes)
{
    for (; *prefixes; prefixes++)
        if (str_starts_with(s, *prefixes))
            return true;
    return false;
}

static bool ends_any(const char *s, const char *const *suffixes)
{
    for (; *suffixes; suffixes++)
        if (str_ends_with(s, *suffixes))
            return true;
    return false;
}

/* Footers that mobile and webmail clients add below what the person typed. */
static const char *const footers[] = {
    "sent from my ",
    "sent from mail for windows",
    "sent from outlook",
    "sent from yahoo",
    "sent from samsung",
    "sent with proton",
    "sent via ",
    "get outlook for ",
    "envoye de mon ",
    "envoye depuis mon ",
    "envoye a partir de ",
    "envoye avec ",
    "envoye de l'application",
    "envoye depuis l'application",
    "telechargez outlook",
    "obtenir outlook pour",
    "provenance : courrier pour windows",
    "von meinem ",
    NULL,
};

/* Banners of an Outlook-style quote or a forward. */
static const char *const banners[] = {
    "original message",
    "message d'origine",
    "message original",
    "forwarded message",
    "message transfere",
    "urspr",
    NULL,
};

/* How an attribution line ends: "wrote:", "a écrit :" and their neighbours. */
static const char *const attributions[] = {
    "wrote:",   "wrote :",   "a ecrit :",   "a ecrit:", "a ecrit", "ecrit :",
    "schrieb:", "escribio:", "ha scritto:", "wrote",    NULL,
};

/* The first line of an Outlook header block, and the lines that follow it. */
static const char *const header_starts[] = {
    "from:", "de :", "de:", "von:", "*from:*", "*de :*", NULL};
static const char *const header_follows[] = {
    "sent:",    "envoye :", "envoye:", "date:",     "date :", "to:",     "a :",        "a:",
    "subject:", "objet :",  "objet:",  "gesendet:", "cc:",    "*sent:*", "*envoye :*", NULL,
};

static bool is_attribution(const struct lines *l, size_t i)
{
    const char *t = l->folded[i];
    if (!*t)
        return false;
    /* Gmail and Apple Mail wrap long attributions; join up to three lines. */
    struct buf joined = BUF_INIT;
    bool found = false;
    for (size_t k = 0; k < 3 && i + k < l->n && !found; k++) {
        if (k > 0 && !*l->folded[i + k])
            break;
        if (k > 0)
            buf_addch(&joined, ' ');
        buf_adds(&joined, l->folded[i + k]);
        const char *s = buf_str(&joined);
        if (!ends_any(s, attributions))
            continue;
        bool dated = str_starts_with(s, "on ") || str_starts_with(s, "le ") ||
                     str_starts_with(s, "am ") || str_starts_with(s, "el ") ||
                     str_starts_with(s, "il ");
        /* "Name <addr> wrote:" (K-9, Android): an address makes it an attribution; a
         * bare "wrote" needs the date form, so "I wrote" in a sentence is left alone. */
        bool addressed = strchr(s, '@') != NULL || strchr(s, '<') != NULL;
        /* Joined lines must open like an attribution, or a command line just above
         * "Name <addr> wrote:" would be taken for its first half. */
        found = k == 0 ? (dated || addressed) && (str_ends_with(s, ":") || dated) : dated;
    }
    buf_release(&joined);
    return found;
}

static bool is_header_block(const struct lines *l, size_t i)
{
    if (!starts_any(l->folded[i], header_starts))
        return false;
    for (size_t k = 1; k <= 5 && i + k < l->n; k++)
        if (starts_any(l->folded[i + k], header_follows))
            return true;
    return false;
}

/* True when line i starts the quoted, forwarded or automatic part of a reply. */
static bool starts_quote(const struct lines *l, size_t i)
{
    const char *raw = l->raw[i];
    const char *t = l->folded[i];
    while (*raw == ' ' || *raw == '\t')
        raw++;
    if (*raw == '>')
        return true;
    if (strcmp(l->raw[i], "-- ") == 0 || strcmp(t, "--") == 0 || strcmp(t, "-- ") == 0)
        return true;
    /* Outlook's rule above its header block, and a line of dashes alone. */
    if (str_starts_with(t, "_____") || (str_starts_with(t, "-----") && strspn(t, "-") == strlen(t)))
        return true;
    if (str_starts_with(t, "----") || str_starts_with(t, "====")) {
        for (const char *const *b = banners; *b; b++)
            if (strstr(t, *b))
                return true;
    }
    if (str_starts_with(t, "begin forwarded message") ||
        str_starts_with(t, "debut du message reexpedie"))
        return true;
    if (starts_any(t, footers))
        return true;
    return is_attribution(l, i) || is_header_block(l, i);
}

char *reply_new_text(const char *text)
{
    struct lines l;
    lines_split(text ? text : "", &l);
    size_t cut = l.n;
    for (size_t i = 0; i < l.n; i++)
        if (starts_quote(&l, i)) {
            cut = i;
            break;
        }
    /* Drop blank lines at both ends. */
    size_t first = 0;
    while (first < cut && !*l.folded[first])
        first++;
    while (cut > first && !*l.folded[cut - 1])
        cut--;
    struct buf out = BUF_INIT;
    for (size_t i = first; i < cut; i++) {
        buf_adds(&out, l.raw[i]);
        if (i + 1 < cut)
            buf_addch(&out, '\n');
    }
    lines_release(&l);
    return buf_detach(&out);
}

char *reply_clean_subject(const char *subject)
{
    if (!subject)
        return xstrdup("");
    char *copy = xstrdup(subject);
    char *s = str_trim(copy);
    static const char *const prefixes[] = {"re", "fwd", "fw",  "tr",   "aw",
                                           "wg", "ref", "rep", "antw", "sv"};
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
            size_t n = strlen(prefixes[i]);
            if (strncasecmp(s, prefixes[i], n) != 0)
                continue;
            const char *p = s + n;
            /* "Re[2]:" and "RE :" (French spacing) too. */
            if (*p == '[') {
                p = strchr(p, ']');
                if (!p)
                    continue;
                p++;
            }
            while (*p == ' ')
                p++;
            if (*p != ':')
                continue;
            s = str_trim((char *)p + 1);
            again = true;
            break;
        }
    }
    char *result = xstrdup(s);
    free(copy);
    return result;
}

/* Reply extraction's word budgets (handlers.h, HANDLER_KEYWORD_LONG): a command line is
 * short, a sentence that starts like one ("No, I cannot come because …") is not. */
#define REPLY_COMMAND_WORDS      3
#define REPLY_LONG_COMMAND_WORDS 6
#define REPLY_MAX_WORDS          8 /* words looked at; a line with more is never a command */

/* The number of words of `keyword` ("peut etre" has two) when the line's words start
 * with it, trailing punctuation aside ("Oui !", "STOP."); else 0. */
static int keyword_starts(const char *keyword, char *const *words, int n)
{
    int i = 0;
    for (const char *k = keyword; *k; i++) {
        size_t klen = strcspn(k, " ");
        if (i == n)
            return 0;
        size_t len = strlen(words[i]);
        while (len > 0 && strchr(".,;:!?", words[i][len - 1]))
            len--;
        if (len != klen || strncmp(words[i], k, klen) != 0)
            return 0;
        k += klen;
        k += strspn(k, " ");
    }
    return i;
}

bool reply_is_command_word(const char *line)
{
    char *f = fold(line);
    char *t = str_trim(f);
    char *words[REPLY_MAX_WORDS];
    int n = 0;
    bool too_many = false;
    for (char *save = NULL, *w = strtok_r(t, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == REPLY_MAX_WORDS) {
            too_many = true;
            break;
        }
        words[n++] = w;
    }
    /* The longest budget any keyword that starts the line allows. */
    int budget = 0;
    for (const struct handler *const *h = handlers; *h && !too_many && n > 0; h++)
        for (const struct handler_keyword *k = (*h)->keywords; k->words; k++) {
            int used = keyword_starts(k->words, words, n);
            if (!used)
                continue;
            int allowed = k->flags & HANDLER_KEYWORD_ALONE  ? used
                          : k->flags & HANDLER_KEYWORD_LONG ? REPLY_LONG_COMMAND_WORDS
                                                            : REPLY_COMMAND_WORDS;
            if (allowed > budget)
                budget = allowed;
        }
    free(f);
    return n > 0 && n <= budget;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

char *reply_commands(const char *new_text, const char *subject, reply_is_command_fn is_command,
                     bool *from_subject_r)
{
    *from_subject_r = false;
    if (!is_command)
        is_command = reply_is_command_word;
    struct lines l;
    lines_split(new_text ? new_text : "", &l);
    struct buf out = BUF_INIT;
    bool any_text = false;
    for (size_t i = 0; i < l.n; i++) {
        char *copy = xstrdup(l.raw[i]);
        char *line = str_trim(copy);
        bool stop = false;
        if (*line) {
            any_text = true;
            if (is_command(line)) {
                if (out.len)
                    buf_addch(&out, '\n');
                buf_adds(&out, line);
            } else {
                stop = true;
            }
        }
        free(copy);
        if (stop)
            break;
    }
    lines_release(&l);
    if (out.len)
        return buf_detach(&out);
    buf_release(&out);
    if (!any_text && subject) {
        char *s = reply_clean_subject(subject);
        if (!blank(s) && is_command(s)) {
            *from_subject_r = true;
            return s;
        }
        free(s);
    }
    return NULL;
}
