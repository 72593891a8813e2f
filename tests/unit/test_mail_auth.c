/* Authentication-Results: what proves a From: (DMARC pass from the trusted receiving server),
 * and what does not (another server's word, a header the sender wrote, a fail, another domain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/util.h"
#include "inbound/mail_auth.h"
#include "inbound/mime.h"

static bool value_passes(const char *value, bool *ours)
{
    return mail_auth_value_dmarc_pass(value, "mx.tocsin.example", "example.net", ours);
}

static void test_one_header(void **state)
{
    (void)state;
    bool ours;
    assert_true(value_passes("mx.tocsin.example; dkim=pass header.d=example.net; dmarc=pass "
                             "(p=reject dis=none) header.from=example.net",
                             &ours));
    assert_true(ours);
    assert_true(value_passes("MX.Tocsin.Example 1; spf=pass smtp.mailfrom=example.net;"
                             " dmarc=pass header.from=EXAMPLE.net",
                             &ours));
    assert_true(
        value_passes("mx.tocsin.example; dmarc=pass header.from=\"paul@example.net\"", &ours));
    assert_true(value_passes("mx.tocsin.example; dmarc=pass (a comment; with (nested) parts) "
                             "header.from=example.net",
                             &ours));
    assert_false(value_passes("mx.tocsin.example; dmarc=fail header.from=example.net", &ours));
    assert_true(ours);
    assert_false(value_passes("mx.tocsin.example; dmarc=pass header.from=example.org", &ours));
    assert_false(value_passes("mx.tocsin.example; dmarc=pass header.from=evil-example.net", &ours));
    assert_false(value_passes("mx.tocsin.example; dkim=pass header.from=example.net", &ours));
    assert_false(value_passes("mx.tocsin.example; none", &ours));
    assert_true(ours);
    assert_false(value_passes("mx.elsewhere.example; dmarc=pass header.from=example.net", &ours));
    assert_false(ours);
    assert_false(value_passes("(mx.tocsin.example); dmarc=pass header.from=example.net", &ours));
    assert_false(mail_auth_value_dmarc_pass("mx.tocsin.example; dmarc=pass header.from=example.net",
                                            "", "example.net", &ours));
}

static bool mail_passes(const char *headers)
{
    char *raw = xasprintf("%sFrom: Paul <paul@example.net>\nSubject: START\n\nSTART\n", headers);
    struct mime_message *m = NULL;
    char *error = NULL;
    assert_int_equal(mime_parse(raw, strlen(raw), &m, &error), 0);
    bool pass = mail_auth_dmarc_pass(m, "mx.tocsin.example", "paul@example.net");
    mime_free(&m);
    free(raw);
    return pass;
}

/* Only the topmost header of the trusted server counts: the ones below came with the mail. */
static void test_which_header_counts(void **state)
{
    (void)state;
    assert_true(mail_passes("Authentication-Results: mx.tocsin.example; dmarc=pass "
                            "header.from=example.net\n"));
    assert_false(mail_passes("Authentication-Results: mx.tocsin.example; dmarc=fail "
                             "header.from=example.net\n"
                             "Authentication-Results: mx.tocsin.example; dmarc=pass "
                             "header.from=example.net\n"));
    assert_true(mail_passes("Authentication-Results: relay.example.org; dmarc=fail "
                            "header.from=example.net\n"
                            "Authentication-Results: mx.tocsin.example;\n"
                            " dmarc=pass header.from=example.net\n"));
    assert_false(mail_passes("Authentication-Results: gmail.example; dmarc=pass "
                             "header.from=example.net\n"));
    assert_false(mail_passes(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_header),
        cmocka_unit_test(test_which_header_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
