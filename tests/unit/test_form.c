/* application/x-www-form-urlencoded parsing: decoding, bounds, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/form.h"
#include "lib/util.h"

static void test_twilio_body(void **state)
{
    (void)state;
    const char *body = "ToCountry=FR&Body=JOIN+paris-10+%C3%A9t%C3%A9&From=%2B33611111111"
                       "&MessageSid=SM123&Empty=&Flag";
    struct form f;
    const char *reason = NULL;
    assert_int_equal(form_parse(body, strlen(body), &f, &reason), 0);
    assert_int_equal(f.n, 6);
    assert_string_equal(form_get(&f, "Body"), "JOIN paris-10 été");
    assert_string_equal(form_get(&f, "From"), "+33611111111");
    assert_string_equal(form_get(&f, "Empty"), "");
    assert_string_equal(form_get(&f, "Flag"), "");
    assert_null(form_get(&f, "body")); /* names are case-sensitive */
    form_release(&f);
}

static void test_length_is_respected(void **state)
{
    (void)state;
    /* Only the first 3 bytes are the form: the rest must not be read. */
    struct form f;
    const char *reason = NULL;
    assert_int_equal(form_parse("a=1&b=2", 3, &f, &reason), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(form_get(&f, "a"), "1");
    form_release(&f);
    /* Cut after "%4": the escape is truncated even though the bytes after it exist. */
    assert_int_equal(form_parse("&&a=%41", 6, &f, &reason), -1);
    assert_string_equal(reason, "bad percent escape");
}

static void expect_refused(const char *body, const char *want_reason)
{
    struct form f;
    const char *reason = NULL;
    if (form_parse(body, strlen(body), &f, &reason) == 0) {
        form_release(&f);
        fail_msg("%s: accepted", body);
    }
    assert_string_equal(reason, want_reason);
}

static void test_malformed_is_refused(void **state)
{
    (void)state;
    expect_refused("a=%G1", "bad percent escape");
    expect_refused("a=%4", "bad percent escape");
    expect_refused("a=%", "bad percent escape");
    expect_refused("a=1&=2", "empty field name");
    expect_refused("a=%00", "NUL byte in a field");
    expect_refused("a=%FF", "field is not UTF-8");
    expect_refused("a=%C0%80", "field is not UTF-8");    /* overlong NUL */
    expect_refused("a=%ED%A0%80", "field is not UTF-8"); /* a UTF-16 surrogate */
    struct buf b = BUF_INIT;
    for (int i = 0; i <= FORM_MAX_FIELDS; i++)
        buf_printf(&b, "k%d=v&", i);
    expect_refused(b.data, "too many fields");
    buf_release(&b);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("héhé €😀", strlen("héhé €😀")));
    assert_false(utf8_valid("\xe2\x82", 2));
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(utf8_valid("\x80", 1));
}

/* What webhooks store keeps every pair but the secret, byte for byte. */
static void test_without_a_name(void **state)
{
    (void)state;
    const char *q = "from=%2B33611111111&secret=s3cr%3Dt&text=STOP+now&%73ecret=again&id=1";
    char *kept = form_without(q, strlen(q), "secret");
    assert_string_equal(kept, "from=%2B33611111111&text=STOP+now&id=1");
    free(kept);
    kept = form_without("secret=x", 8, "secret");
    assert_string_equal(kept, "");
    free(kept);
    kept = form_without("a=%ZZ&secret", 12, "secret");
    assert_string_equal(kept, "a=%ZZ");
    free(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_body),          cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_malformed_is_refused), cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_without_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
