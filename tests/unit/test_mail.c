/* The message composer: RFC 2047 headers, quoted-printable, dates, header injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "outbound/mail.h"

static void test_plain_header_untouched(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_add_header(&b, "Subject", "Meeting on Thursday");
    assert_string_equal(buf_str(&b), "Subject: Meeting on Thursday\r\n");
    buf_release(&b);
}

static void test_utf8_header_encoded_on_char_boundaries(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    /* 30 × "é" = 60 bytes: two encoded words, and neither may split a character. */
    struct buf v = BUF_INIT;
    for (int i = 0; i < 30; i++)
        buf_adds(&v, "é");
    mail_add_header(&b, "Subject", buf_str(&v));
    const char *s = buf_str(&b);
    assert_true(str_starts_with(s, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(s, "?=\r\n =?UTF-8?B?"));
    /* 44 bytes (22 characters) fit in the first word: "w6nDqcOp…" is base64 of é… */
    const char *first = s + strlen("Subject: =?UTF-8?B?");
    size_t len = (size_t)(strstr(first, "?=") - first);
    assert_int_equal(len, 60); /* 44 bytes -> 60 base64 characters with padding */
    for (const char *line = s; line; line = strstr(line + 1, "\r\n"))
        if (line[0] == '\r' && line[2])
            assert_true(strcspn(line + 2, "\r") <= 76);
    buf_release(&b);
    buf_release(&v);
}

static void test_header_injection_neutralised(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_add_header(&b, "Subject", "hello\r\nBcc: victim@example.org");
    assert_null(strstr(buf_str(&b), "\r\nBcc:"));
    assert_true(str_ends_with(buf_str(&b), "?=\r\n"));
    buf_release(&b);
}

static void test_from_display_name_encoded(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_add_address_header(&b, "From", "Équipe Paris 10e <paris10@example.org>");
    /* base64("Équipe Paris 10e") */
    assert_string_equal(buf_str(&b),
                        "From: =?UTF-8?B?w4lxdWlwZSBQYXJpcyAxMGU=?= <paris10@example.org>\r\n");
    for (const unsigned char *p = (const unsigned char *)buf_str(&b); *p; p++)
        assert_true(*p < 0x80);
    buf_release(&b);

    mail_add_address_header(&b, "From", "\"Paris, 10e\" <p@example.org>");
    assert_string_equal(buf_str(&b), "From: \"Paris, 10e\" <p@example.org>\r\n");
    buf_release(&b);
    mail_add_address_header(&b, "From", "Tocsin <t@example.org>");
    assert_string_equal(buf_str(&b), "From: Tocsin <t@example.org>\r\n");
    buf_release(&b);
    mail_add_address_header(&b, "From", "t@example.org");
    assert_string_equal(buf_str(&b), "From: t@example.org\r\n");
    buf_release(&b);
}

static void test_address_parse_refuses_malformed(void **state)
{
    (void)state;
    char *display = NULL, *address = NULL;
    const char *reason = NULL;
    assert_int_equal(
        mail_address_parse("Équipe <paris10@example.org>", &display, &address, &reason), 0);
    assert_string_equal(display, "Équipe");
    assert_string_equal(address, "paris10@example.org");
    free(display);
    free(address);
    const char *bad[] = {"Équipe Paris 10e", "Name <no-at-sign>", "<a@b> trailing",
                         "Name <a@b@c>",     "Name <a b@c>",      "Na\nme <a@b>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        reason = NULL;
        assert_int_equal(mail_address_parse(bad[i], &display, &address, &reason), -1);
        assert_non_null(reason);
        assert_null(display);
        assert_null(address);
    }
}

static void test_quoted_printable(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_add_qp(&b, "a=b \n.\nZoé\r\ntrailing \n");
    assert_string_equal(buf_str(&b), "a=3Db=20\r\n=2E\r\nZo=C3=A9\r\ntrailing=20\r\n");
    buf_reset(&b);
    struct buf long_line = BUF_INIT;
    for (int i = 0; i < 200; i++)
        buf_addch(&long_line, 'x');
    mail_add_qp(&b, buf_str(&long_line));
    for (const char *p = buf_str(&b), *eol; *p; p = eol + 2) {
        eol = strstr(p, "\r\n");
        assert_non_null(eol);
        assert_true(eol - p <= 76);
    }
    buf_release(&b);
    buf_release(&long_line);
}

static void test_date(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    mail_add_date(&b, 0);
    assert_string_equal(buf_str(&b), "Thu, 01 Jan 1970 00:00:00 +0000");
    buf_release(&b);
}

static void test_compose_multipart_and_list_headers(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    struct mail_parts p = {
        .from = "team@example.org",
        .to = "a@example.org",
        .subject = "News",
        .text = "Hello",
        .html = "<p>Hello</p>",
        .message_id = "<tocsin.1-x@example.org>",
        .list_unsubscribe = "<https://example.org/u/1-x>",
        .boundary_seed = "7",
        .date = 0,
    };
    mail_compose(&p, &b);
    const char *s = buf_str(&b);
    assert_non_null(strstr(s, "\r\nList-Unsubscribe: <https://example.org/u/1-x>\r\n"));
    assert_non_null(strstr(s, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    assert_non_null(strstr(s, "Content-Type: multipart/alternative; boundary=\"=_tocsin_7_0\""));
    assert_non_null(strstr(s, "\r\n--=_tocsin_7_0--\r\n"));
    assert_null(strstr(s, "Auto-Submitted"));
    assert_true(mail_kind_is_transactional("stop_confirmation"));
    assert_false(mail_kind_is_transactional("campaign"));
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_header_untouched),
        cmocka_unit_test(test_utf8_header_encoded_on_char_boundaries),
        cmocka_unit_test(test_header_injection_neutralised),
        cmocka_unit_test(test_from_display_name_encoded),
        cmocka_unit_test(test_address_parse_refuses_malformed),
        cmocka_unit_test(test_quoted_printable),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_compose_multipart_and_list_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
