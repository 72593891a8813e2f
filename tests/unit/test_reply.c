/* Reply extraction and charset helpers, case by case (the corpus covers whole mails). */
#include "inbound/mime.h"
#include "inbound/reply.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void check_subject(const char *in, const char *want)
{
    char *got = reply_clean_subject(in);
    assert_string_equal(got, want);
    free(got);
}

static void subject_prefixes_are_removed(void **state)
{
    (void)state;
    check_subject("Re: JOIN paris-10", "JOIN paris-10");
    check_subject("RE : TR: Fwd: STOP", "STOP");
    check_subject("Re[2]: OUI", "OUI");
    check_subject("AW: WG: HELP", "HELP");
    check_subject("Regarding the concert", "Regarding the concert");
    check_subject(NULL, "");
}

static void command_words(void **state)
{
    (void)state;
    assert_true(reply_is_command_word("JOIN paris-10"));
    assert_true(reply_is_command_word("  oui !"));
    assert_true(reply_is_command_word("Non merci"));
    assert_true(reply_is_command_word("ARRÊT"));
    assert_true(reply_is_command_word("Désinscrire"));
    assert_true(reply_is_command_word("peut être"));
    assert_true(reply_is_command_word("RSVP concert-12 YES +2"));
    assert_false(reply_is_command_word("No, I cannot come because my daughter is sick."));
    assert_false(reply_is_command_word("Thanks!"));
    assert_false(reply_is_command_word(""));
    assert_false(reply_is_command_word("JOIN the team and bring all your friends please"));
}

static void check_new_text(const char *in, const char *want)
{
    char *got = reply_new_text(in);
    assert_string_equal(got, want);
    free(got);
}

static void new_text_cuts(void **state)
{
    (void)state;
    check_new_text("OUI\n> quoted", "OUI");
    check_new_text("\n\n  STOP  \n\n-- \nsig", "  STOP  ");
    check_new_text("OUI\nLe 24 nov. 2026 à 09:00, X <x@y> a écrit :\n> a", "OUI");
    check_new_text("OUI\nOn Tue, Nov 24, 2026 at 9:00 AM Tocsin <\nreply@x.org> wrote:\n", "OUI");
    check_new_text("Yes\n\nFrom: Tocsin\nSent: Tuesday\nTo: me\n", "Yes");
    check_new_text("I wrote a letter\nand more", "I wrote a letter\nand more");
    check_new_text("Sent: tomorrow", "Sent: tomorrow");
    check_new_text("", "");
}

static void new_text_anywhere_outside_quotes(void **state)
{
    (void)state;
    /* Bottom-posting (Thunderbird) and answers typed between quoted lines. */
    check_new_text("On Tue, Tocsin <x@y> wrote:\n> Will you come?\n\nYes\n\n-- \nKim", "Yes");
    check_new_text("> Will you come?\nOui\n> Guests?\n+2\n", "Oui\n\n+2");
    check_new_text("Hi\n\n> a\n> b\n\nOui\nMarie", "Hi\n\nOui\nMarie");
    /* A signature reaches the next quote; the new words after that quote count. */
    check_new_text("OUI\n-- \nStop Precarite\n> quoted\nMerci", "OUI\n\nMerci");
    /* Yahoo: the original under its attribution is not quoted, and is never read. */
    check_new_text("Oui\n\n    Le mardi 12 mars 2024, Tocsin <x@y> a écrit :\n\n Répondez OUI",
                   "Oui");
    /* After an Outlook header block nothing is the sender's, quoted or not. */
    check_new_text("Oui\n\nFrom: Tocsin\nSent: Tuesday\n\n> x\nSTOP", "Oui");
    check_new_text("Non\n----- Mail original -----\nDe: Tocsin\nÀ: moi\n\nRépondez OUI", "Non");
}

static void commands_stop_at_the_first_other_line(void **state)
{
    (void)state;
    bool from_subject = true;
    char *c = reply_commands("JOIN a\n\nLEAVE b\nthanks\nSTOP", "Re: x", NULL, &from_subject);
    assert_string_equal(c, "JOIN a\nLEAVE b");
    assert_false(from_subject);
    free(c);
    assert_null(reply_commands("Je ne sais pas\nJOIN a", "JOIN b", NULL, &from_subject));
    c = reply_commands("  \n", "Re: JOIN b", NULL, &from_subject);
    assert_string_equal(c, "JOIN b");
    assert_true(from_subject);
    free(c);
}

static void check_commands(const char *text, const char *want)
{
    bool from_subject = false;
    char *got = reply_commands(text, NULL, NULL, &from_subject);
    if (want)
        assert_string_equal(got ? got : "(none)", want);
    else if (got)
        fail_msg("expected no command in \"%s\", got \"%s\"", text, got);
    free(got);
}

static void commands_around_greetings_and_quotes(void **state)
{
    (void)state;
    /* Greetings and thanks before the command do not hide it. */
    check_commands("Bonjour,\n\nOui merci\n\nMarie", "Oui merci");
    check_commands("Thanks for the reminder!\nJOIN paris-10\nTom", "JOIN paris-10");
    check_commands("Hello Tom,\n\nSTOP", "STOP");
    /* After a command, a thank-you closes the run: what follows is not read. */
    check_commands("JOIN a\nMerci\nSTOP", "JOIN a");
    /* A signature without "-- " under a name is never an opt-out. */
    check_commands("Oui\n\nJean Dupont\nCollectif Stop Pesticides", "Oui");
    check_commands("Merci !\nJean Dupont\nCollectif Stop Pesticides", NULL);
    /* Each run between quotes is read from its start. */
    check_commands("> Will you come?\nYes\n> And your team?\nJOIN lyon-1", "Yes\nJOIN lyon-1");
    check_commands("Hi,\n\nOn Tue, Tocsin <x@y> wrote:\n> Reply YES\n\nHELP\n-- \nKim", "HELP");
    /* The quoted original never speaks for the sender. */
    check_commands("Thanks\n> STOP\n> JOIN paris-10", NULL);
}

static void check_utf8(const char *charset, const char *in, const char *want)
{
    char *got = mime_to_utf8(charset, in, strlen(in));
    assert_string_equal(got, want);
    assert_true(mime_valid_utf8(got, strlen(got)));
    free(got);
}

static void charsets(void **state)
{
    (void)state;
    check_utf8("iso-8859-1", "Arr\xeat", "Arrêt");
    check_utf8("latin-1", "\x93oui\x94", "“oui”");
    check_utf8("\"UTF-8\"", "Arrêt", "Arrêt");
    check_utf8("x-klingon", "Arr\xeat", "Arrêt");
    check_utf8("utf-8", "bad \xff\xfe bytes", "bad \xc3\xbf\xc3\xbe bytes");
    check_utf8("iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは");
    check_utf8(NULL, "plain", "plain");
}

static void html(void **state)
{
    (void)state;
    const char *in =
        "<p>Peut-&ecirc;tre</p><blockquote>STOP<br>JOIN</blockquote><script>x<y</script>&#233;";
    char *got = mime_html_to_text(in, strlen(in));
    assert_string_equal(got, "Peut-être\n> STOP\n> JOIN\né");
    free(got);
    got = mime_html_to_text("<head><title>t", 14);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subject_prefixes_are_removed),
        cmocka_unit_test(command_words),
        cmocka_unit_test(new_text_cuts),
        cmocka_unit_test(new_text_anywhere_outside_quotes),
        cmocka_unit_test(commands_stop_at_the_first_other_line),
        cmocka_unit_test(commands_around_greetings_and_quotes),
        cmocka_unit_test(charsets),
        cmocka_unit_test(html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
