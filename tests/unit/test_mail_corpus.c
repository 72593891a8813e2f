/*
 * The mail corpus: every tests/fixtures/mail/NAME.eml is parsed by mail_parse() and
 * compared with NAME.expect — "key: value" lines, then "commands:" and the expected
 * command lines (none: no command). Keys not written are not checked. Adding a case is
 * adding two files. Keys: kind (reply|automatic|bounce|rejected), sender, sender_name ("" for
 * none), subject, message_id, reply_token, unsubscribe_token, locale_hint, from_subject,
 * text_from_html, text_contains, new_text, reason, bounce (hard|soft|policy|none), status,
 * bounce_recipient, bounce_token. Keys starting with "db_" say what the mail does to the
 * database; tests/integration/t0018-real-mail.sh checks them, this test skips them.
 */
#include "lib/buf.h"
#include "lib/util.h"
#include "inbound/mail_inbound.h"
#include "inbound/mime.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FIXTURES "tests/fixtures/mail"

static char *slurp(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    *len_r = b.len;
    return buf_detach(&b);
}

struct expect {
    char **keys, **values;
    size_t n;
    bool has_commands;
    char *commands; /* NULL when "commands:" lists none */
};

static void expect_load(const char *text, struct expect *e)
{
    memset(e, 0, sizeof(*e));
    e->keys = xcalloc(64, sizeof(char *));
    e->values = xcalloc(64, sizeof(char *));
    struct buf cmds = BUF_INIT;
    char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (e->has_commands) {
            if (cmds.len)
                buf_addch(&cmds, '\n');
            buf_adds(&cmds, line);
            continue;
        }
        if (strcmp(line, "commands:") == 0) {
            e->has_commands = true;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || e->n == 64)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        if (*v == ' ')
            v++;
        e->keys[e->n] = xstrdup(line);
        e->values[e->n] = xstrdup(v);
        e->n++;
    }
    e->commands = cmds.len ? buf_detach(&cmds) : NULL;
    buf_release(&cmds);
    free(copy);
}

static void expect_release(struct expect *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->keys[i]);
        free(e->values[i]);
    }
    free(e->keys);
    free(e->values);
    free(e->commands);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static const char *yes(bool b)
{
    return b ? "yes" : "no";
}

static void check_fixture(void **state)
{
    const char *name = *state;
    char *eml_path = xasprintf("%s/%s.eml", FIXTURES, name);
    char *expect_path = xasprintf("%s/%s.expect", FIXTURES, name);
    size_t len = 0, elen = 0;
    char *raw = slurp(eml_path, &len);
    char *etext = slurp(expect_path, &elen);
    assert_non_null(raw);
    assert_non_null(etext);
    struct expect e;
    expect_load(etext, &e);

    struct mail_parsed p;
    char *error = NULL;
    int rc = mail_parse(raw, len, NULL, &p, &error);
    const char *kind = rc < 0        ? "rejected"
                       : p.is_bounce ? "bounce"
                       : p.automatic ? "automatic"
                                     : "reply";
    for (size_t i = 0; i < e.n; i++) {
        const char *k = e.keys[i], *want = e.values[i], *got = NULL;
        if (str_starts_with(k, "db_"))
            continue;
        if (strcmp(k, "kind") == 0)
            got = kind;
        else if (rc < 0)
            fail_msg("%s: rejected (%s) but expects %s", name, error, k);
        else if (strcmp(k, "sender") == 0)
            got = p.sender;
        else if (strcmp(k, "sender_name") == 0)
            got = or_empty(p.sender_name);
        else if (strcmp(k, "subject") == 0)
            got = p.subject;
        else if (strcmp(k, "message_id") == 0)
            got = or_empty(p.message_id);
        else if (strcmp(k, "reply_token") == 0)
            got = or_empty(p.reply_token);
        else if (strcmp(k, "unsubscribe_token") == 0)
            got = or_empty(p.unsubscribe_token);
        else if (strcmp(k, "locale_hint") == 0)
            got = or_empty(p.locale_hint);
        else if (strcmp(k, "from_subject") == 0)
            got = yes(p.from_subject);
        else if (strcmp(k, "text_from_html") == 0)
            got = yes(p.mime->text_from_html);
        else if (strcmp(k, "new_text") == 0)
            got = p.new_text;
        else if (strcmp(k, "reason") == 0)
            got = or_empty(p.automatic_reason);
        else if (strcmp(k, "bounce") == 0)
            got = p.bounce.kind == BOUNCE_NONE ? "none" : bounce_kind_name(p.bounce.kind);
        else if (strcmp(k, "status") == 0)
            got = or_empty(p.bounce.status);
        else if (strcmp(k, "bounce_recipient") == 0)
            got = or_empty(p.bounce.recipient);
        else if (strcmp(k, "bounce_token") == 0)
            got = or_empty(p.bounce.token);
        else if (strcmp(k, "text_contains") == 0) {
            if (!strstr(p.mime->text, want))
                fail_msg("%s: text does not contain \"%s\":\n%s", name, want, p.mime->text);
            continue;
        } else
            fail_msg("%s: unknown expect key %s", name, k);
        if (strcmp(got, want) != 0)
            fail_msg("%s: %s: expected \"%s\", got \"%s\"", name, k, want, got);
    }
    if (e.has_commands && rc == 0) {
        if ((e.commands == NULL) != (p.commands == NULL) ||
            (e.commands && strcmp(e.commands, p.commands) != 0))
            fail_msg(
                "%s: commands: expected \"%s\", got \"%s\"\n-- new text --\n%s\n-- text --\n%s",
                name, or_empty(e.commands), or_empty(p.commands), p.new_text, p.mime->text);
    }
    if (rc == 0) {
        /* Whatever came in, what goes on is valid UTF-8. */
        assert_true(mime_valid_utf8(p.mime->text, strlen(p.mime->text)));
        assert_true(mime_valid_utf8(p.subject, strlen(p.subject)));
        assert_true(mime_valid_utf8(p.new_text, strlen(p.new_text)));
        mail_parsed_release(&p);
    }
    free(error);
    expect_release(&e);
    free(raw);
    free(etext);
    free(eml_path);
    free(expect_path);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    DIR *dir = opendir(FIXTURES);
    if (!dir) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", FIXTURES);
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *d;
    while ((d = readdir(dir))) {
        if (!str_ends_with(d->d_name, ".eml"))
            continue;
        names = xrealloc(names, (n + 1) * sizeof(char *));
        names[n++] = xstrndup(d->d_name, strlen(d->d_name) - 4);
    }
    closedir(dir);
    qsort(names, n, sizeof(char *), by_name);
    struct CMUnitTest *tests = xcalloc(n + 1, sizeof(*tests));
    for (size_t i = 0; i < n; i++) {
        tests[i].name = names[i];
        tests[i].test_func = check_fixture;
        tests[i].initial_state = names[i];
    }
    int failed = _cmocka_run_group_tests("mail_corpus", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(tests);
    return failed;
}
