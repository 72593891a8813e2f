/* Phone and email normalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/phone.h"
#include "lib/util.h"

static void expect_phone(const char *in, const char *country, const char *want)
{
    const char *reason = NULL;
    char *got = phone_normalise(in, country, &reason);
    if (want) {
        if (!got)
            fail_msg("%s (%s): %s", in, country, reason);
        assert_string_equal(got, want);
    } else {
        if (got)
            fail_msg("%s (%s): accepted as %s", in, country, got);
        assert_non_null(reason);
    }
    free(got);
}

static void test_french_numbers(void **state)
{
    (void)state;
    expect_phone("0612345679", "FR", "+33612345679");
    expect_phone("06 12 34 56 79", "FR", "+33612345679");
    expect_phone("06.12.34.56.79", "FR", "+33612345679");
    expect_phone("+33 6 12 34 56 79", "FR", "+33612345679");
    expect_phone("0033612345679", "FR", "+33612345679");
    expect_phone("+33612345679", "US", "+33612345679");
    expect_phone("01 42 00 00 00", "FR", "+33142000000");
}

static void test_overseas_and_other_countries(void **state)
{
    (void)state;
    expect_phone("0692 12 34 56", "FR", "+262692123456");
    expect_phone("0590 12 34 56", "FR", "+590590123456");
    expect_phone("0696123456", "FR", "+596696123456");
    expect_phone("(514) 555-0123", "CA", "+15145550123");
    expect_phone("1 514 555 0123", "CA", "+15145550123");
    expect_phone("0470 12 34 56", "BE", "+32470123456");
}

static void test_rejects(void **state)
{
    (void)state;
    expect_phone("", "FR", NULL);
    expect_phone("612345679", "FR", NULL); /* no trunk 0 */
    expect_phone("06123456", "FR", NULL);  /* too short */
    expect_phone("06 12 34 56 79 ext 2", "FR", NULL);
    expect_phone("+0612345679", "FR", NULL);
    expect_phone("+1234", "FR", NULL);
    expect_phone("+1234567890123456789", "FR", NULL);
    expect_phone("0612345679", "ZZ", NULL);
    expect_phone("'; DROP TABLE people;--", "FR", NULL);
}

static void test_email(void **state)
{
    (void)state;
    const char *reason;
    char *e = email_normalise("  Camille.Martin@Example.ORG ", &reason);
    assert_string_equal(e, "camille.martin@example.org");
    free(e);
    const char *bad[] = {"",
                         "a",
                         "a@b",
                         "@example.org",
                         "a@@example.org",
                         "a b@example.org",
                         "a@example..org",
                         "a@.org",
                         "a@example.",
                         "<a@example.org>"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *got = email_normalise(bad[i], &reason);
        if (got)
            fail_msg("accepted %s", bad[i]);
    }
}

/* Who gets an SMS reply ([sms] reply_countries): France covers its overseas numbers. */
static void test_reply_countries(void **state)
{
    (void)state;
    assert_true(phone_in_countries("+33612345678", "FR"));
    assert_true(phone_in_countries("+262692123456", "FR"));
    assert_true(phone_in_countries("+590690123456", "fr"));
    assert_true(phone_in_countries("+687751234", "FR"));
    assert_true(phone_in_countries("+689871234567", "FR"));
    assert_false(phone_in_countries("+447700900123", "FR"));
    assert_false(phone_in_countries("+32470123456", "FR"));
    assert_true(phone_in_countries("+32470123456", "FR, BE"));
    assert_true(phone_in_countries("+447700900123", "*"));
    assert_false(phone_in_countries("+447700900123", "XX"));
    assert_false(phone_in_countries("+447700900123", ""));
    assert_false(phone_in_countries("0612345678", "FR"));
    /* RE alone is not France. */
    assert_false(phone_in_countries("+33612345678", "RE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_french_numbers),  cmocka_unit_test(test_overseas_and_other_countries),
        cmocka_unit_test(test_rejects),         cmocka_unit_test(test_email),
        cmocka_unit_test(test_reply_countries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
