/*
 * The command grammar over tests/fixtures/grammar.tsv (one case a line: input, command,
 * target, answer, guests, and optionally "unsure" when the grammar must not be sure of a
 * bare answer), plus folding and edit distance. Adding a case is adding a line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/fold.h"
#include "lib/util.h"
#include "decide/grammar.h"
#include "handlers/handlers.h"

#define FIXTURE "tests/fixtures/grammar.tsv"

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decode the input column's escapes into `out` (may contain NUL bytes). */
static void decode_input(const char *s, struct buf *out)
{
    buf_reset(out);
    if (str_starts_with(s, "@repeat:")) {
        char *end;
        long n = strtol(s + 8, &end, 10);
        const char *text = end + 1;
        size_t tl = strlen(text);
        for (long i = 0; i < n; i++)
            buf_addch(out, text[(size_t)i % tl]);
        return;
    }
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            buf_addch(out, *s);
            continue;
        }
        s++;
        switch (*s) {
        case 'n':
            buf_addch(out, '\n');
            break;
        case 'r':
            buf_addch(out, '\r');
            break;
        case 't':
            buf_addch(out, '\t');
            break;
        case 'x':
            buf_addch(out, (char)(hex(s[1]) * 16 + hex(s[2])));
            s += 2;
            break;
        default:
            buf_addch(out, *s);
            break;
        }
    }
}

static void test_fixture(void **state)
{
    (void)state;
    char *error = NULL;
    const struct grammar *g = handlers_grammar(&error);
    if (!g)
        fail_msg("%s", error);
    FILE *f = fopen(FIXTURE, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, cases = 0, failures = 0;
    struct buf input = BUF_INIT;
    struct grammar_match m;
    grammar_match_init(&m);
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (line[0] == '#' || n == 0)
            continue;
        char *cols[6] = {0};
        char *p = line;
        for (int i = 0; i < 6; i++) {
            cols[i] = p;
            char *tab = p ? strchr(p, '\t') : NULL;
            if (tab)
                *tab = '\0';
            p = tab ? tab + 1 : NULL;
        }
        if (!cols[4])
            fail_msg("%s:%d: expected 5 tab-separated columns", FIXTURE, lineno);
        decode_input(cols[0], &input);
        enum grammar_status st = grammar_match(g, input.data, input.len, &m);
        const char *got_cmd = st == GRAMMAR_MATCHED ? m.command : grammar_status_name(st);
        char guests[16] = "-";
        if (m.guests >= 0)
            snprintf(guests, sizeof(guests), "%d", m.guests);
        const char *got[5] = {got_cmd, m.target ? m.target : "-", m.answer ? m.answer : "-", guests,
                              m.unsure ? "unsure" : "sure"};
        if (!cols[5])
            cols[5] = "sure";
        cases++;
        for (int i = 0; i < 5; i++) {
            /* An unmatched line has no arguments to compare. */
            if (st != GRAMMAR_MATCHED && i > 0)
                break;
            if (strcmp(got[i], cols[i + 1]) != 0) {
                print_error("%s:%d: %s: got %s/%s/%s/%s/%s (line \"%s\"), want %s/%s/%s/%s/%s\n",
                            FIXTURE, lineno, cols[0], got[0], got[1], got[2], got[3], got[4],
                            m.line ? m.line : "", cols[1], cols[2], cols[3], cols[4], cols[5]);
                failures++;
                break;
            }
        }
    }
    grammar_match_release(&m);
    buf_release(&input);
    free(line);
    fclose(f);
    print_message("# %d grammar cases\n", cases);
    assert_true(cases >= 150);
    assert_int_equal(failures, 0);
}

static void expect_fold(const char *in, const char *want)
{
    struct buf out = BUF_INIT;
    fold_text(in, strlen(in), &out);
    assert_string_equal(out.data, want);
    buf_release(&out);
}

static void test_fold(void **state)
{
    (void)state;
    expect_fold("ARRÊT", "arret");
    expect_fold("Événement à Noël", "evenement a noel");
    expect_fold("Œuvre Æther Straße", "oeuvre aether strasse");
    expect_fold("Łódź Ça", "lodz ca");
    expect_fold("l’équipe – “ok”", "l'equipe - \"ok\"");
    expect_fold("a\xC2\xA0"
                "b",
                "a b");
    expect_fold("no\xE2\x80\x8Bpe", "nope");
    expect_fold("\xC0\xAF", "  ");
    expect_fold("日本", "日本");
    expect_fold("ＳＴＯＰ！", "stop!");
    expect_fold("a\x01\x7F"
                "b",
                "a  b");
    expect_fold("\xE2\x82", "  "); /* truncated sequence */
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(edit_distance("paris-10", "paris-10", 2), 0);
    assert_int_equal(edit_distance("paris-1", "paris-10", 2), 1);
    assert_int_equal(edit_distance("jion", "join", 2), 2);
    assert_int_equal(edit_distance("lyon", "paris-10", 2), 3);
    assert_int_equal(edit_distance("", "abc", 3), 3);
}

static void test_too_long_is_refused_before_folding(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char *big = xmalloc(GRAMMAR_MAX_INPUT + 2);
    memset(big, 'a', GRAMMAR_MAX_INPUT + 1);
    big[GRAMMAR_MAX_INPUT + 1] = '\0';
    assert_int_equal(grammar_normalise(big, GRAMMAR_MAX_INPUT + 1, &b), GRAMMAR_TOO_LONG);
    assert_int_equal(b.len, 0);
    free(big);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_too_long_is_refused_before_folding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
