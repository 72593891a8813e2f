/* Signed tokens: round trip, case folding, forgery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/util.h"
#include "core/token.h"

static void test_round_trip(void **state)
{
    (void)state;
    int64_t ids[] = {1, 35, 36, 123456789, INT64_C(9007199254740993)};
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        char *t = token_make_with("k", "unsub", ids[i]);
        int64_t got = 0;
        assert_int_equal(token_check_with("k", "unsub", t, &got), 0);
        assert_true(got == ids[i]);
        for (char *p = t; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        assert_int_equal(token_check_with("k", "unsub", t, &got), 0);
        free(t);
    }
}

static void test_forgeries(void **state)
{
    (void)state;
    char *t = token_make_with("k", "unsub", 42);
    int64_t got;
    assert_int_equal(token_check_with("other", "unsub", t, &got), -1);
    assert_int_equal(token_check_with("k", "reply", t, &got), -1);
    char *changed = xstrdup(t);
    changed[0] = changed[0] == '1' ? '2' : '1';
    assert_int_equal(token_check_with("k", "unsub", changed, &got), -1);
    free(changed);
    const char *junk[] = {"",
                          "-",
                          "abc",
                          "1-",
                          "-aaaaaaaaaaaaaaaa",
                          "1-aaaaaaaaaaaaaaa",
                          "zzzzzzzzzzzzz-aaaaaaaaaaaaaaaa",
                          "1/-aaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
        assert_int_equal(token_check_with("k", "unsub", junk[i], &got), -1);
    assert_int_equal(token_check_with("k", "unsub", NULL, &got), -1);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_forgeries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
