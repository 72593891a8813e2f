/*
 * The handlers as one file each: every row of handlers[] is complete, its keywords are
 * read by the grammar as that command and by reply extraction as a command line, and the
 * command table of docs/commands.md is exactly what `tocsin commands` prints from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "decide/grammar.h"
#include "handlers/handlers.h"
#include "inbound/reply.h"

#define DOC         "docs/commands.md"
#define TABLE_BEGIN "<!-- BEGIN commands table"
#define TABLE_END   "<!-- END commands table -->"

static bool text_complete(const struct handler_text *t)
{
    return t->usage && *t->usage && t->help && *t->help && (!t->sms || *t->sms);
}

static void test_every_row_complete(void **state)
{
    (void)state;
    int failures = 0;
    for (const struct handler *const *h = handlers; *h; h++) {
        const struct handler *x = *h;
        if (!x->name || !x->patterns || !x->patterns[0].regex || !x->keywords || !x->check ||
            !x->run || !text_complete(&x->en) || !text_complete(&x->fr)) {
            print_error("handler %s: a field is missing\n", x->name ? x->name : "(no name)");
            failures++;
        }
        for (const struct handler *const *other = handlers; other < h; other++)
            if (strcmp((*other)->name, x->name) == 0) {
                print_error("handler %s: listed twice\n", x->name);
                failures++;
            }
        if (handler_find(x->name) != x)
            failures++;
    }
    assert_int_equal(failures, 0);
}

/* The command `line` is read as, or "unknown". */
static const char *command_of(const struct grammar *g, const char *line, struct grammar_match *m)
{
    return grammar_match(g, line, strlen(line), m) == GRAMMAR_MATCHED ? m->command : "unknown";
}

static void test_keywords_are_read_as_their_command(void **state)
{
    (void)state;
    char *error = NULL;
    const struct grammar *g = handlers_grammar(&error);
    if (!g)
        fail_msg("%s", error);
    /* What may follow a keyword: nothing, a slug, a code, a slug and a text. */
    static const char *const arguments[] = {"", " paris-10", " 482913", " paris-10 hello"};
    struct grammar_match m;
    grammar_match_init(&m);
    int keywords = 0, failures = 0;
    for (const struct handler *const *h = handlers; *h; h++)
        for (const struct handler_keyword *k = (*h)->keywords; k->words; k++) {
            keywords++;
            bool read = false;
            for (size_t a = 0; a < ARRAY_SIZE(arguments) && !read; a++) {
                char *line = xasprintf("%s%s", k->words, arguments[a]);
                read = strcmp(command_of(g, line, &m), (*h)->name) == 0;
                free(line);
            }
            if (!read) {
                print_error("%s: keyword \"%s\" is never read as %s\n", (*h)->name, k->words,
                            (*h)->name);
                failures++;
            }
            if (k->flags & HANDLER_KEYWORD_ALONE) {
                char *line = xasprintf("%s paris-10", k->words);
                if (strcmp(command_of(g, line, &m), (*h)->name) == 0) {
                    print_error("%s: \"%s\" is marked alone but \"%s\" is read as %s\n", (*h)->name,
                                k->words, line, (*h)->name);
                    failures++;
                }
                free(line);
            }
            /* Reply extraction without the grammar sees the same keyword. */
            if (!reply_is_command_word(k->words)) {
                print_error("%s: reply_is_command_word(\"%s\") is false\n", (*h)->name, k->words);
                failures++;
            }
        }
    grammar_match_release(&m);
    print_message("# %d keywords\n", keywords);
    assert_true(keywords > 0);
    assert_int_equal(failures, 0);
}

/* The lines of DOC between the table's markers (caller frees), or NULL. */
static char *documented_table(void)
{
    FILE *f = fopen(DOC, "r");
    if (!f)
        return NULL;
    struct buf table = BUF_INIT;
    char *line = NULL;
    size_t cap = 0;
    bool inside = false, closed = false;
    while (getline(&line, &cap, f) > 0) {
        if (str_starts_with(line, TABLE_END)) {
            closed = inside;
            break;
        }
        if (inside)
            buf_adds(&table, line);
        else if (str_starts_with(line, TABLE_BEGIN))
            inside = true;
    }
    free(line);
    fclose(f);
    if (!closed) {
        buf_release(&table);
        return NULL;
    }
    return buf_detach(&table);
}

static void test_docs_table_is_generated(void **state)
{
    (void)state;
    char *documented = documented_table();
    if (!documented)
        fail_msg("%s: no table between \"%s\" and \"%s\"", DOC, TABLE_BEGIN, TABLE_END);
    struct buf generated = BUF_INIT;
    help_markdown_table(&generated);
    if (strcmp(documented, buf_str(&generated)) != 0)
        print_error("%s: the command table differs from the handlers; paste the output of"
                    " `./tocsin commands` between its markers:\n%s",
                    DOC, buf_str(&generated));
    assert_string_equal(documented, buf_str(&generated));
    buf_release(&generated);
    free(documented);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_complete),
        cmocka_unit_test(test_keywords_are_read_as_their_command),
        cmocka_unit_test(test_docs_table_is_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
