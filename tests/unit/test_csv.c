/* CSV reading: quotes, separators, BOM, line numbers, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_lines),
        cmocka_unit_test(test_semicolon_and_bom),
        cmocka_unit_test(test_unterminated_and_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
