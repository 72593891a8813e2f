/* The pure parts of sign-in and of the organisers' models: random secrets, codes, hashes,
 * CSV fields, LIKE patterns, pages, JSON from PostgreSQL arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "core/session.h"
#include "api/model.h"

static void test_random_text(void **state)
{
    (void)state;
    char *a = session_random_text(32), *b = session_random_text(32);
    assert_int_equal(strlen(a), 43);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     43);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_codes(void **state)
{
    (void)state;
    /* Six digits, and over many draws every first digit shows up: not a constant. */
    int first[10] = {0};
    for (int i = 0; i < 2000; i++) {
        char code[7];
        session_random_code(code);
        assert_int_equal(strlen(code), 6);
        assert_int_equal(strspn(code, "0123456789"), 6);
        first[code[0] - '0']++;
    }
    for (int d = 0; d < 10; d++)
        assert_true(first[d] > 100);
}

static void test_sha256_literal(void **state)
{
    (void)state;
    char *h = session_sha256_literal("abc");
    assert_string_equal(h, "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(h);
}

static void test_csv_fields(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    model_csv_field(&b, "plain", true, false);
    model_csv_field(&b, "with, comma", false, false);
    model_csv_field(&b, "say \"hi\"", true, false);
    model_csv_field(&b, "=HYPERLINK(\"x\")", true, false);
    model_csv_field(&b, "+33612345678", false, false);
    model_csv_field(&b, "-5", true, false);
    model_csv_field(&b, NULL, false, true);
    assert_string_equal(buf_str(&b), "plain,\"with, comma\",\"say \"\"hi\"\"\","
                                     "\"'=HYPERLINK(\"\"x\"\")\",+33612345678,\"'-5\",\r\n");
    buf_release(&b);
}

static void test_like_pattern(void **state)
{
    (void)state;
    char *p = model_like_pattern("50%_off\\");
    assert_string_equal(p, "%50\\%\\_off\\\\%");
    free(p);
}

static void test_pages(void **state)
{
    (void)state;
    struct page p;
    struct api_error e = {0};
    assert_int_equal(page_parse(NULL, NULL, &p, &e), 0);
    assert_int_equal(p.after, 0);
    assert_int_equal(p.limit, PAGE_DEFAULT);
    assert_int_equal(page_parse("42", "7", &p, &e), 0);
    assert_true(p.after == 42 && p.limit == 7);
    const char *bad[][2] = {{"x", NULL}, {"-1", NULL}, {NULL, "0"}, {NULL, "1001"}, {NULL, "1e3"}};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(page_parse(bad[i][0], bad[i][1], &p, &e), -1);
        assert_int_equal(e.status, 400);
        assert_string_equal(e.code, "bad_request");
        api_error_release(&e);
    }
}

static void test_words_and_pages_of_json(void **state)
{
    (void)state;
    char *w = model_words("{lyon-1,paris-10,\"with space\"}");
    assert_string_equal(w, "lyon-1 paris-10 with space");
    free(w);
    w = model_words("{}");
    assert_string_equal(w, "");
    free(w);
    json_t *items = json_pack("[{s:i},{s:i}]", "id", 3, "id", 9);
    json_t *page = model_page(json_incref(items), "id", 2);
    assert_int_equal(json_integer_value(json_object_get(page, "next")), 9);
    json_decref(page);
    page = model_page(items, "id", 3);
    assert_true(json_is_null(json_object_get(page, "next")));
    json_decref(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_text),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_sha256_literal),
        cmocka_unit_test(test_csv_fields),
        cmocka_unit_test(test_like_pattern),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_words_and_pages_of_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
