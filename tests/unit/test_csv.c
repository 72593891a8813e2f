/* CSV reading: quotes, separators, BOM, line numbers, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/csv.h"
#include "lib/util.h"

static FILE *from(const char *text)
{
    return fmemopen((void *)text, strlen(text), "r");
}

static void test_quotes_and_lines(void **state)
{
    (void)state;
    FILE *f = from("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\nlast,,\r\n");
    struct csv *csv = csv_open(f, 0);
    char **fields;
    int n;
    const char *reason;
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(n, 3);
    assert_int_equal(csv_line(csv), 1);
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(csv_line(csv), 2);
    assert_string_equal(fields[0], "x, y");
    assert_string_equal(fields[1], "say \"hi\"");
    assert_string_equal(fields[2], "two\nlines");
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(csv_line(csv), 5);
    assert_int_equal(n, 3);
    assert_string_equal(fields[0], "last");
    assert_string_equal(fields[2], "");
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 0);
    csv_close(&csv);
    assert_null(csv);
    fclose(f);
}

static void test_semicolon_and_bom(void **state)
{
    (void)state;
    FILE *f = from("\xEF\xBB\xBF"
                   "email;name\nx@example.org;Zoé, la grande\n");
    struct csv *csv = csv_open(f, 0);
    char **fields;
    int n;
    const char *reason;
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_string_equal(fields[0], "email");
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(n, 2);
    assert_string_equal(fields[1], "Zoé, la grande");
    csv_close(&csv);
    fclose(f);
}

static void test_unterminated_and_oversized(void **state)
{
    (void)state;
    FILE *f = from("a\n\"open\n");
    struct csv *csv = csv_open(f, ',');
    char **fields;
    int n;
    const char *reason = NULL;
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(csv_next(csv, &fields, &n, &reason), -1);
    assert_string_equal(reason, "unterminated quoted field");
    csv_close(&csv);
    fclose(f);

    size_t big = 70 * 1024;
    char *text = xmalloc(big + 16);
    memcpy(text, "h\n", 2);
    memset(text + 2, 'x', big);
    memcpy(text + 2 + big, "\nok\n", 5);
    f = from(text);
    csv = csv_open(f, ',');
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(csv_next(csv, &fields, &n, &reason), -1);
    assert_string_equal(reason, "field longer than 64 KiB");
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_string_equal(fields[0], "ok");
    csv_close(&csv);
    fclose(f);
    free(text);
}

/* Record `i` of `text` read with `encoding` (NULL: detected), field `f`: "" when refused. */
static void expect_rows(const char *text, size_t len, const char *encoding, const char *want_enc,
                        const char *const *want)
{
    FILE *f = fmemopen((void *)text, len, "r");
    char *error = NULL;
    struct csv *csv = csv_open_encoded(f, 0, encoding, &error);
    assert_non_null(csv);
    assert_string_equal(csv_encoding(csv), want_enc);
    char **fields;
    int n, got;
    const char *reason = NULL;
    for (size_t i = 0; want[i]; i++) {
        got = csv_next(csv, &fields, &n, &reason);
        if (*want[i] == '!') {
            assert_int_equal(got, -1);
            assert_non_null(strstr(reason, want[i] + 1));
        } else {
            assert_int_equal(got, 1);
            assert_string_equal(fields[n - 1], want[i]);
        }
    }
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 0);
    csv_close(&csv);
    fclose(f);
}

/* What a French Excel writes: Windows-1252, curly apostrophe and euro sign included. */
static void test_windows_1252_is_detected(void **state)
{
    (void)state;
    const char text[] = "email;name\nzoe@example.org;Zo\xe9 L\x92H\xf4te \x80\n"
                        "a@example.org;Fran\xe7ois\n";
    const char *const want[] = {"name", "Zoé L’Hôte €", "François", NULL};
    expect_rows(text, sizeof(text) - 1, NULL, "WINDOWS-1252", want);
    /* Said by the operator, with a Latin-1 alias. */
    expect_rows(text, sizeof(text) - 1, "latin1", "WINDOWS-1252", want);
}

/* A UTF-8 file with one broken row and one NUL-bearing row: those two alone are refused. */
static void test_bad_rows_alone_are_refused(void **state)
{
    (void)state;
    const char text[] = "email,name\na@example.org,Zoé\nb@example.org,Fran\xe7ois\n"
                        "c@example.org,Hélène\nd@example.org,x\0y\ne@example.org,Noël\n";
    const char *const want[] = {"name", "Zoé", "!not UTF-8", "Hélène", "!NUL byte", "Noël", NULL};
    expect_rows(text, sizeof(text) - 1, NULL, "UTF-8", want);
    /* Told UTF-8, even a file that looks like Windows-1252 refuses its bad rows. */
    const char latin[] = "email,name\na@example.org,Fran\xe7ois\nb@example.org,Paul\n";
    const char *const strict[] = {"name", "!not UTF-8", "Paul", NULL};
    expect_rows(latin, sizeof(latin) - 1, "utf-8", "UTF-8", strict);
}

static void test_utf16_and_unknown_encodings_are_refused(void **state)
{
    (void)state;
    const char utf16[] = "\xff\xfe"
                         "e\0m\0a\0i\0l\0\n\0";
    FILE *f = fmemopen((void *)utf16, sizeof(utf16) - 1, "r");
    char *error = NULL;
    assert_null(csv_open_encoded(f, 0, NULL, &error));
    assert_non_null(strstr(error, "UTF-16"));
    free(error);
    fclose(f);
    f = from("a\n");
    error = NULL;
    assert_null(csv_open_encoded(f, 0, "klingon-8", &error));
    assert_string_equal(error, "unknown encoding klingon-8");
    free(error);
    fclose(f);
}

/* A pipe cannot be read twice: its bytes are kept aside while the encoding is found. */
static void test_pipe_is_read_once(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char text[] = "email;name\nzoe@example.org;Zo\xe9\n";
    assert_int_equal(write(fds[1], text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char *error = NULL;
    struct csv *csv = csv_open_encoded(f, 0, NULL, &error);
    assert_non_null(csv);
    assert_string_equal(csv_encoding(csv), "WINDOWS-1252");
    char **fields;
    int n;
    const char *reason;
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_int_equal(csv_next(csv, &fields, &n, &reason), 1);
    assert_string_equal(fields[1], "Zoé");
    csv_close(&csv);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_lines),
        cmocka_unit_test(test_semicolon_and_bom),
        cmocka_unit_test(test_unterminated_and_oversized),
        cmocka_unit_test(test_windows_1252_is_detected),
        cmocka_unit_test(test_bad_rows_alone_are_refused),
        cmocka_unit_test(test_utf16_and_unknown_encodings_are_refused),
        cmocka_unit_test(test_pipe_is_read_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
