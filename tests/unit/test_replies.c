/*
 * Every reply a handler can send exists in English and French, renders with the
 * variables handlers give it, and its SMS form stays in GSM-7 (one accented letter outside
 * it halves a segment to 70 characters) and within one segment — two for lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/embedded.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"
#include "handlers/handlers.h"

static const char *const replies[] = {
    "cancel_none",      "cancel_ok", "cancel_which_event",   "event_closed",   "event_unknown",
    "events",           "help",      "join_already",         "join_ok",        "join_which",
    "leave_not_member", "leave_ok",  "leave_which",          "rsvp_full_kept", "rsvp_ask",
    "rsvp_maybe",       "rsvp_no",   "rsvp_too_many_guests", "rsvp_waitlist",  "rsvp_which_event",
    "rsvp_yes",         "start_ok",  "stop_confirmation",    "team_unknown",   "unknown",
    "waitlist_offer",
};
/* Replies that list things may take two segments. */
static const char *const lists[] = {"events", "rsvp_which_event", "cancel_which_event",
                                    "join_which", "leave_which"};

/* GSM 03.38: the basic set counts 1, the extension table 2; anything else is -1. */
static int gsm_cost(uint32_t cp)
{
    static const char *const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡"
                                     "ÄÖÑÜ§¿äöñüà";
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
        return 1;
    if (cp == '^' || cp == '{' || cp == '}' || cp == '\\' || cp == '[' || cp == ']' || cp == '~' ||
        cp == '|' || cp == 0x20AC)
        return 2;
    const unsigned char *s = (const unsigned char *)basic;
    while (*s) {
        uint32_t c = *s;
        int n = 1;
        if (c >= 0xF0)
            c &= 0x07, n = 4;
        else if (c >= 0xE0)
            c &= 0x0F, n = 3;
        else if (c >= 0xC0)
            c &= 0x1F, n = 2;
        for (int i = 1; i < n; i++)
            c = (c << 6) | (s[i] & 0x3F);
        if (c == cp)
            return 1;
        s += n;
    }
    return -1;
}

/* Septets of a UTF-8 text, or -1 (and *bad_r) if a character is outside GSM-7. */
static int gsm_length(const char *text, uint32_t *bad_r)
{
    const unsigned char *s = (const unsigned char *)text;
    int total = 0;
    while (*s) {
        uint32_t c = *s;
        int n = 1;
        if (c >= 0xF0)
            c &= 0x07, n = 4;
        else if (c >= 0xE0)
            c &= 0x0F, n = 3;
        else if (c >= 0xC0)
            c &= 0x1F, n = 2;
        for (int i = 1; i < n; i++)
            c = (c << 6) | (s[i] & 0x3F);
        int cost = gsm_cost(c);
        if (cost < 0) {
            *bad_r = c;
            return -1;
        }
        total += cost;
        s += n;
    }
    return total;
}

/* Variables as handlers fill them, with long-ish realistic values. */
static json_t *sample_vars(const char *locale)
{
    bool fr = strcmp(locale, "fr") == 0;
    json_t *commands = json_array();
    for (const struct handler *h = handlers; h->name; h++)
        json_array_append_new(commands,
                              json_pack("{s:s, s:s}", "usage", fr ? h->usage_fr : h->usage_en,
                                        "help", fr ? h->help_fr : h->help_en));
    json_t *vars = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:I, s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:i, s:i, s:i, "
        "s:s, s:s, s:i, s:[{s:I, s:s, s:s, s:s}, {s:I, s:s, s:s, s:s}], s:[{s:s, s:s}, {s:s, "
        "s:s}], s:o}",
        "name", "Camille Martin", "first_name", "Camille", "help_keyword", fr ? "AIDE" : "HELP",
        "stop_keyword", "STOP", "phone", "+33612345601", "event", "id", (json_int_t)12, "slug",
        "porte-a-porte", "title", "Porte-à-porte au marché", "when",
        fr ? "14/03/2030 18h30" : "2030-03-14 18:30", "location", "85 bis boulevard de Magenta",
        "team", "slug", "paris-10", "name", "Paris 10e", "guests", 2, "position", 3, "free", 1,
        "target", "pari-10", "suggestion", "JOIN paris-10", "max_guests", 20, "events", "id",
        (json_int_t)12, "slug", "porte-a-porte", "title", "Porte-à-porte", "when", "14/03 18h30",
        "id", (json_int_t)13, "slug", "reunion-publique", "title", "Réunion publique", "when",
        "20/03 19h00", "teams", "slug", "paris-10", "name", "Paris 10e", "slug", "lyon-1", "name",
        "Lyon 1er", "commands", commands);
    /* The question asked about an answer tocsin is unsure of (handlers/ask.c). */
    json_object_set_new(vars, "answer", json_string(fr ? "OUI +2" : "YES +2"));
    json_object_set_new(vars, "choices", json_string(fr ? "OUI +2 ou NON" : "YES +2 or NO"));
    return vars;
}

static void test_every_reply_in_both_languages(void **state)
{
    (void)state;
    char *error = NULL;
    if (config_load("/dev/null", &error) < 0)
        fail_msg("config: %s", error);
    const char *locales[] = {"en", "fr"};
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(replies); i++) {
        for (size_t l = 0; l < 2; l++) {
            char *path = xasprintf("templates/%s/%s.tmpl", locales[l], replies[i]);
            if (!embedded_find(path)) {
                print_error("%s: missing\n", path);
                failures++;
                free(path);
                continue;
            }
            json_t *vars = sample_vars(locales[l]);
            struct rendered_message m;
            if (template_message(replies[i], locales[l], vars, &m, &error) < 0) {
                print_error("%s: %s\n", path, error);
                free(error);
                failures++;
            } else {
                bool list = false;
                for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
                    list |= strcmp(lists[k], replies[i]) == 0;
                uint32_t bad = 0;
                int septets = gsm_length(m.sms, &bad);
                if (septets < 0) {
                    print_error("%s: U+%04X is not GSM-7: \"%s\"\n", path, bad, m.sms);
                    failures++;
                } else if (septets > (list ? 306 : 160)) {
                    print_error("%s: %d characters for SMS: \"%s\"\n", path, septets, m.sms);
                    failures++;
                }
                if (!*m.subject || !*m.text) {
                    print_error("%s: empty subject or text\n", path);
                    failures++;
                }
                template_message_release(&m);
            }
            json_decref(vars);
            free(path);
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_reply_in_both_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
