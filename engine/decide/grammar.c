#define PCRE2_CODE_UNIT_WIDTH 8
#include "decide/grammar.h"
#include "decide/answer.h"
#include "decide/courtesy.h"
#include "lib/fold.h"
#include "lib/util.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>

struct compiled {
    const struct grammar_rule *rule;
    const struct grammar_pattern *pattern;
    pcre2_code *code;
    int target, answer, guests; /* capture group numbers, or -1 */
};

struct grammar {
    struct compiled *items;
    size_t n;
};

static int group_number(const pcre2_code *code, const char *name)
{
    int n = pcre2_substring_number_from_name(code, (PCRE2_SPTR)name);
    return n > 0 ? n : -1;
}

struct grammar *grammar_new(const struct grammar_rule *rules, char **error_r)
{
    struct grammar *g = xcalloc(1, sizeof(*g));
    size_t cap = 0;
    for (const struct grammar_rule *r = rules; r->command; r++) {
        for (const struct grammar_pattern *p = r->patterns; p->regex; p++) {
            int code;
            PCRE2_SIZE offset;
            /* No PCRE2_CASELESS: the text is already folded, and a case-sensitive pattern
             * is what makes the JIT fast. Patterns are anchored by their own ^…$. */
            pcre2_code *re = pcre2_compile((PCRE2_SPTR)p->regex, PCRE2_ZERO_TERMINATED,
                                           PCRE2_NO_UTF_CHECK, &code, &offset, NULL);
            if (!re) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(code, msg, sizeof(msg));
                *error_r = xasprintf("grammar: %s pattern %s: offset %zu: %s", r->command, p->regex,
                                     (size_t)offset, (const char *)msg);
                grammar_free(&g);
                return NULL;
            }
            /* JIT is an optimisation: when it is unavailable pcre2_match interprets. */
            pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
            if (g->n == cap) {
                cap = cap ? cap * 2 : 16;
                g->items = xrealloc(g->items, cap * sizeof(*g->items));
            }
            g->items[g->n++] = (struct compiled){
                .rule = r,
                .pattern = p,
                .code = re,
                .target = group_number(re, "target"),
                .answer = group_number(re, "answer"),
                .guests = group_number(re, "guests"),
            };
        }
    }
    return g;
}

void grammar_free(struct grammar **gp)
{
    struct grammar *g = *gp;
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        pcre2_code_free(g->items[i].code);
    free(g->items);
    free(g);
    *gp = NULL;
}

const char *grammar_status_name(enum grammar_status s)
{
    switch (s) {
    case GRAMMAR_MATCHED:
        return "matched";
    case GRAMMAR_UNKNOWN:
        return "unknown";
    case GRAMMAR_EMPTY:
        return "empty";
    case GRAMMAR_TOO_LONG:
        return "too_long";
    }
    return "?";
}

static bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c >= 0x80;
}

/* Normalise one folded line into `out` (emptied first); true if it holds a command. */
static bool normalise_line(const char *s, size_t len, struct buf *out)
{
    buf_reset(out);
    bool meaningful = false;
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_word_byte((unsigned char)s[i]))
            i++;
        size_t start = i;
        bool only_dashes = true;
        while (i < len && is_word_byte((unsigned char)s[i])) {
            if (s[i] != '-')
                only_dashes = false;
            i++;
        }
        if (i == start || only_dashes)
            continue;
        if (out->len)
            buf_addch(out, ' ');
        buf_add(out, s + start, i - start);
        for (size_t k = start; k < i; k++)
            if (s[k] != '+' && s[k] != '-')
                meaningful = true;
    }
    return meaningful;
}

static bool is_signature_delimiter(const char *s, size_t len)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len == 2 && s[0] == '-' && s[1] == '-';
}

/* Quoted text ("> OUI" from the message being answered) is never a command. */
static bool is_quoted(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < len && s[i] == '>';
}

/* grammar_normalise(), and whether the command line had a question mark: "Oui ?" asks
 * something, it answers nothing for sure. */
static enum grammar_status normalise(const char *text, size_t len, struct buf *out,
                                     bool *question_r)
{
    buf_reset(out);
    *question_r = false;
    if (len > GRAMMAR_MAX_INPUT)
        return GRAMMAR_TOO_LONG;
    struct buf folded = BUF_INIT;
    fold_text(text, len, &folded);
    enum grammar_status status = GRAMMAR_EMPTY;
    const char *p = folded.data, *end = folded.data + folded.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (is_signature_delimiter(p, n))
            break;
        if (!is_quoted(p, n) && normalise_line(p, n, out)) {
            status = GRAMMAR_UNKNOWN;
            *question_r = memchr(p, '?', n) != NULL;
            break;
        }
        p += n + 1;
    }
    if (status == GRAMMAR_EMPTY)
        buf_reset(out);
    buf_release(&folded);
    return status;
}

enum grammar_status grammar_normalise(const char *text, size_t len, struct buf *out)
{
    bool question;
    return normalise(text, len, out, &question);
}

void grammar_match_init(struct grammar_match *m)
{
    memset(m, 0, sizeof(*m));
    m->guests = -1;
}

static void match_clear(struct grammar_match *m)
{
    free(m->line);
    free(m->target);
    void *md = m->match_data;
    grammar_match_init(m);
    m->match_data = md;
}

void grammar_match_release(struct grammar_match *m)
{
    match_clear(m);
    pcre2_match_data_free(m->match_data);
    m->match_data = NULL;
}

static char *group_copy(pcre2_match_data *md, int group, const char *subject)
{
    if (group < 0 || (uint32_t)group >= pcre2_get_ovector_count(md))
        return NULL;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (ov[2 * group] == PCRE2_UNSET)
        return NULL;
    return xstrndup(subject + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
}

/* The RSVP answer words of every pattern start with a letter that says which answer they
 * are: y(es) o(ui) → yes, n(o/on) → no, anything else (maybe, peut-etre) → maybe. */
static const char *answer_canonical(const char *word)
{
    switch (word[0]) {
    case 'y':
    case 'o':
        return "yes";
    case 'n':
        return "no";
    default:
        return "maybe";
    }
}

/* The words of `line` after the answer of a bare-answer match, without the guests ("+2"):
 * what answer_judge() reads. Caller frees. */
static char *words_after_answer(const struct compiled *c, pcre2_match_data *md, const char *line)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t from = ov[2 * c->answer + 1], guests_from = 0, guests_to = 0;
    if (c->guests >= 0 && ov[2 * c->guests] != PCRE2_UNSET) {
        guests_from = ov[2 * c->guests];
        guests_to = ov[2 * c->guests + 1];
        while (guests_from > from && (line[guests_from - 1] == '+' || line[guests_from - 1] == ' '))
            guests_from--;
    }
    struct buf rest = BUF_INIT;
    bool space = false;
    for (size_t i = from; line[i]; i++) {
        if (guests_to > guests_from && i >= guests_from && i < guests_to)
            continue;
        if (line[i] == ' ') {
            space = rest.len > 0;
            continue;
        }
        if (space)
            buf_addch(&rest, ' ');
        space = false;
        buf_addch(&rest, line[i]);
    }
    return rest.len ? buf_detach(&rest) : xstrdup("");
}

/* Guests written after the words of a clear answer, "oui je viens avec mon mari +1": the
 * first "+N" word (one or two digits), or -1. */
static int trailing_guests(const char *rest)
{
    const char *w = rest;
    while (*w) {
        size_t n = strcspn(w, " ");
        if (n >= 2 && n <= 3 && w[0] == '+' && strspn(w + 1, "0123456789") == n - 1)
            return (int)strtol(w + 1, NULL, 10);
        w += n;
        if (*w == ' ')
            w++;
    }
    return -1;
}

enum grammar_status grammar_match(const struct grammar *g, const char *text, size_t len,
                                  struct grammar_match *m)
{
    match_clear(m);
    if (!m->match_data)
        m->match_data = pcre2_match_data_create(16, NULL);
    struct buf line = BUF_INIT;
    bool question;
    m->status = normalise(text, len, &line, &question);
    size_t opening = courtesy_skip_opening(buf_str(&line));
    m->line = xstrdup(buf_str(&line) + opening);
    buf_release(&line);
    if (m->status != GRAMMAR_UNKNOWN)
        return m->status;
    size_t n = strlen(m->line);
    if (n > GRAMMAR_MAX_LINE)
        return m->status; /* a paragraph, not a command */
    for (size_t i = 0; i < g->n; i++) {
        const struct compiled *c = &g->items[i];
        int rc = pcre2_match(c->code, (PCRE2_SPTR)m->line, n, 0, 0, m->match_data, NULL);
        if (rc < 0)
            continue;
        char *answer = group_copy(m->match_data, c->answer, m->line);
        enum answer_verdict verdict = ANSWER_CLEAR;
        int later_guests = -1;
        if (answer && (c->pattern->flags & GRAMMAR_LOOSE_TARGET)) {
            char *rest = words_after_answer(c, m->match_data, m->line);
            verdict = answer_judge(answer, answer_canonical(answer), rest, question);
            later_guests = trailing_guests(rest);
            free(rest);
        }
        if (verdict == ANSWER_NOT) {
            free(answer);
            continue;
        }
        m->status = GRAMMAR_MATCHED;
        m->command = c->rule->command;
        m->pattern = c->pattern;
        m->unsure = verdict == ANSWER_UNSURE;
        m->target = group_copy(m->match_data, c->target, m->line);
        if (answer) {
            m->answer = answer_canonical(answer);
            free(answer);
        }
        char *guests = group_copy(m->match_data, c->guests, m->line);
        if (guests) {
            long v = strtol(guests, NULL, 10);
            m->guests = v > 999 ? 999 : (int)v;
            free(guests);
        } else {
            m->guests = later_guests;
        }
        break;
    }
    return m->status;
}
