/* Webhook signatures against vectors computed by the providers' own definitions
 * (Twilio: python3-twilio RequestValidator.compute_signature). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/form.h"
#include "lib/util.h"
#include "inbound/sms_webhook.h"

static void test_twilio_signature(void **state)
{
    (void)state;
    struct form f = {0};
    /* Added out of order on purpose: the signature sorts by name. */
    form_add(&f, "To", "+18005551212");
    form_add(&f, "Digits", "1234");
    form_add(&f, "CallSid", "CA1234567890ABCDE");
    form_add(&f, "From", "+12349013030");
    form_add(&f, "Caller", "+12349013030");
    char *sig = twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    free(sig);
    /* Another URL, another token, another value: another signature. */
    sig = twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1", &f);
    assert_string_not_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    free(sig);
    form_release(&f);
}

static void expect_variant(const char *url, const char *want)
{
    char *got = twilio_url_port_variant(url);
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
    free(got);
}

static void test_twilio_url_port_variants(void **state)
{
    (void)state;
    expect_variant("https://sms.example.org/sms/twilio?a=1",
                   "https://sms.example.org:443/sms/twilio?a=1");
    expect_variant("https://sms.example.org:443/sms/twilio", "https://sms.example.org/sms/twilio");
    expect_variant("http://h:80/x", "http://h/x");
    expect_variant("http://h", "http://h:80");
    expect_variant("https://h:8443/x", NULL);
    expect_variant("ftp://h/x", NULL);
}

static void test_vonage_signature(void **state)
{
    (void)state;
    struct form f = {0};
    form_add(&f, "text", "a=b&c"); /* '&' and '=' inside values become '_' */
    form_add(&f, "msisdn", "447700900001");
    form_add(&f, "timestamp", "1461605396");
    form_add(&f, "messageId", "0A00");
    form_add(&f, "sig", "ignored: never part of what is signed");
    char *sig = vonage_signature("secret", &f);
    assert_string_equal(sig, "f8b3b1336aea4f5b33c8fed708d83acd58241fe9ff1cd1a27b2f2c160e0223ba");
    free(sig);
    form_release(&f);
}

static void test_generic_signature_and_compare(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"1\"}";
    char *sig = generic_signature("secret", body, strlen(body));
    assert_string_equal(sig,
                        "sha256=6146142a2ce0159e84c0767881e4ec80bc397da62526e7d19f70795eb79460c0");
    assert_true(signature_equal(sig, sig));
    assert_false(signature_equal(sig, "sha256="));
    assert_false(signature_equal("abc", "abd"));
    free(sig);
}

/* A Vonage signature is refused when its timestamp is more than 5 minutes off, either way. */
static void test_signature_freshness(void **state)
{
    (void)state;
    long long now = 1700000000;
    assert_true(signature_fresh("1700000000", now, 300));
    assert_true(signature_fresh("1699999700", now, 300));
    assert_true(signature_fresh("1700000300", now, 300));
    assert_false(signature_fresh("1699999699", now, 300));
    assert_false(signature_fresh("1700000301", now, 300));
    assert_false(signature_fresh(NULL, now, 300));
    assert_false(signature_fresh("", now, 300));
    assert_false(signature_fresh("1700000000.5", now, 300));
    assert_false(signature_fresh("-5", now, 300));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_signature),
        cmocka_unit_test(test_twilio_url_port_variants),
        cmocka_unit_test(test_vonage_signature),
        cmocka_unit_test(test_generic_signature_and_compare),
        cmocka_unit_test(test_signature_freshness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
