/* GSM-7 / UCS-2 detection, segment counts and transliteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/util.h"
#include "outbound/gsm.h"

static char *repeat(const char *unit, size_t n)
{
    size_t len = strlen(unit);
    char *s = xmalloc(len * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, unit, len);
    s[len * n] = '\0';
    return s;
}

static void expect_info(const char *text, enum sms_encoding enc, size_t units, int segments)
{
    struct gsm_info info;
    gsm_analyse(text, &info);
    if (info.encoding != enc || info.units != units || info.segments != segments)
        fail_msg("%.40s…: got %s units=%zu segments=%d, want %s units=%zu segments=%d", text,
                 gsm_encoding_name(info.encoding), info.units, info.segments,
                 gsm_encoding_name(enc), units, segments);
}

static void expect_repeat(const char *unit, size_t n, enum sms_encoding enc, size_t units,
                          int segments)
{
    char *s = repeat(unit, n);
    expect_info(s, enc, units, segments);
    free(s);
}

static void test_plain_and_french_text_is_gsm7(void **state)
{
    (void)state;
    expect_info("", SMS_GSM7, 0, 1);
    expect_info("JOIN paris-10", SMS_GSM7, 13, 1);
    expect_info("Réunion à 19h, café offert ! @toi £5 ¿¡ Ø", SMS_GSM7, 41, 1);
    expect_info("Ligne 1\nLigne 2\r", SMS_GSM7, 16, 1);
    expect_info("ΔΦΓΛΩΠΨΣΘΞ", SMS_GSM7, 10, 1);
}

static void test_extension_characters_count_two(void **state)
{
    (void)state;
    expect_info("€", SMS_GSM7, 2, 1);
    expect_info("[a]{b}~|^\\", SMS_GSM7, 18, 1);
    expect_repeat("€", 80, SMS_GSM7, 160, 1);
    /* 161 septets: two segments; the escape pair may not straddle a boundary. */
    expect_repeat("€", 81, SMS_GSM7, 162, 2);
    /* 76 euros fill 152 septets of segment one, the 77th does not fit in the 153rd. */
    char *s = repeat("€", 153);
    expect_info(s, SMS_GSM7, 306, 3); /* 76 + 76 + 1 euros */
    free(s);
}

static void test_gsm7_segment_boundaries(void **state)
{
    (void)state;
    expect_repeat("a", 160, SMS_GSM7, 160, 1);
    expect_repeat("a", 161, SMS_GSM7, 161, 2);
    expect_repeat("a", 306, SMS_GSM7, 306, 2);
    expect_repeat("a", 307, SMS_GSM7, 307, 3);
    expect_repeat("a", 459, SMS_GSM7, 459, 3);
    expect_repeat("a", 460, SMS_GSM7, 460, 4);
}

static void test_ucs2_segment_boundaries(void **state)
{
    (void)state;
    expect_info("Rendez-vous ê", SMS_UCS2, 13, 1);
    expect_info("`", SMS_UCS2, 1, 1); /* the grave accent has no GSM-7 form */
    expect_info("Tab\there", SMS_UCS2, 8, 1);
    expect_repeat("ç", 70, SMS_UCS2, 70, 1);
    expect_repeat("ç", 71, SMS_UCS2, 71, 2);
    expect_repeat("ç", 134, SMS_UCS2, 134, 2);
    expect_repeat("ç", 135, SMS_UCS2, 135, 3);
    /* Emoji are surrogate pairs: two units each, never split. */
    expect_repeat("😀", 35, SMS_UCS2, 70, 1);
    expect_repeat("😀", 36, SMS_UCS2, 72, 2);
    char *s = repeat("😀", 67); /* 33 pairs fill 66 units, the 34th starts a segment */
    expect_info(s, SMS_UCS2, 134, 3);
    free(s);
    /* One character outside GSM-7 turns a whole 100-character text into 2 segments. */
    char *t = repeat("a", 99);
    char *u = xasprintf("%s’", t);
    expect_info(u, SMS_UCS2, 100, 2);
    free(t);
    free(u);
}

static void test_malformed_utf8_is_counted_not_crashed(void **state)
{
    (void)state;
    expect_info("a\xff", SMS_UCS2, 2, 1);
    expect_info("\xe2\x82", SMS_UCS2, 2, 1); /* truncated sequence: two bad bytes */
}

static void expect_translit(const char *in, const char *want)
{
    char *got = gsm_transliterate(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_transliteration(void **state)
{
    (void)state;
    expect_translit("« Bonjour » — c’est l’heure…", "\" Bonjour \" - c'est l'heure...");
    expect_translit("“quoted” ‘single’ – dash", "\"quoted\" 'single' - dash");
    expect_translit("19\u00a0h\u202fpile", "19 h pile");
    expect_translit("co\u00adop\u200b", "coop");
    expect_translit("œuvre Œil", "oeuvre OEil");
    expect_translit("Hélène ê ç", "Hélène ê ç"); /* letters are left alone */
    struct gsm_info info;
    char *t = gsm_transliterate("« Rendez-vous à 19 h » – c’est parti…");
    gsm_analyse(t, &info);
    assert_int_equal(info.encoding, SMS_GSM7);
    free(t);
}

static void test_compose_stop_mention(void **state)
{
    (void)state;
    char *c = gsm_compose("Manif samedi", "campaign", false, "STOP au 36173");
    assert_string_equal(c, "Manif samedi STOP au 36173");
    char *again = gsm_compose(c, "campaign", false, "STOP au 36173");
    assert_string_equal(again, c);
    free(c);
    free(again);
    c = gsm_compose("Bienvenue dans l’équipe", "reply", true, "STOP au 36173");
    assert_string_equal(c, "Bienvenue dans l'équipe");
    free(c);
    c = gsm_compose("Manif", "campaign", false, "");
    assert_string_equal(c, "Manif");
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_french_text_is_gsm7),
        cmocka_unit_test(test_extension_characters_count_two),
        cmocka_unit_test(test_gsm7_segment_boundaries),
        cmocka_unit_test(test_ucs2_segment_boundaries),
        cmocka_unit_test(test_malformed_utf8_is_counted_not_crashed),
        cmocka_unit_test(test_transliteration),
        cmocka_unit_test(test_compose_stop_mention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
