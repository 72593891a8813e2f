/*
 * Every message template compiled into the binary (templates/LOCALE/NAME.tmpl, walked from
 * the embedded-files table) exists in English and French, renders with the variables
 * its senders give it, and its SMS form stays in GSM-7 (one accented letter outside it
 * halves a segment to 70 characters) and within one segment — two for lists.
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

/* Replies that list things may take two segments. */
static const char *const lists[] = {"events", "rsvp_which_event", "cancel_which_event",
                                    "join_which", "leave_which"};
/* Templates never sent as SMS, so free of its limits: join_confirm is the double opt-in of
 * an email JOIN (handlers/join.c; a text proves its number and needs none). */
static const char *const email_only[] = {"join_confirm"};

static bool listed(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

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
    json_t *vars = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:I, s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:i, s:i, s:i, "
        "s:s, s:s, s:i, s:[{s:I, s:s, s:s, s:s}, {s:I, s:s, s:s, s:s}], s:[{s:s, s:s}, {s:s, "
        "s:s}]}",
        "name", "Camille Martin", "first_name", "Camille", "help_keyword", fr ? "AIDE" : "HELP",
        "stop_keyword", "STOP", "phone", "+33612345601", "event", "id", (json_int_t)12, "slug",
        "porte-a-porte", "title", "Porte-à-porte au marché", "when",
        fr ? "14/03/2030 18h30" : "2030-03-14 18:30", "location", "85 bis boulevard de Magenta",
        "team", "slug", "paris-10", "name", "Paris 10e", "guests", 2, "position", 3, "free", 1,
        "target", "pari-10", "suggestion", "JOIN paris-10", "max_guests", 20, "events", "id",
        (json_int_t)12, "slug", "porte-a-porte", "title", "Porte-à-porte", "when", "14/03 18h30",
        "id", (json_int_t)13, "slug", "reunion-publique", "title", "Réunion publique", "when",
        "20/03 19h00", "teams", "slug", "paris-10", "name", "Paris 10e", "slug", "lyon-1", "name",
        "Lyon 1er");
    json_object_set_new(vars, "code", json_string("482913"));
    json_object_set_new(vars, "recipients", json_integer(1250));
    json_object_set_new(vars, "item", json_integer(2));
    json_object_set_new(vars, "confirm_url",
                        json_string("https://act.example.org/c/3f-k3x9q2m7p4v8d6wa2b5c"));
    help_set_vars(vars, locale);
    return vars;
}

#define TEMPLATE_DIR    "templates/"
#define TEMPLATE_SUFFIX ".tmpl"

/* "templates/en/join_ok.tmpl" → locale "en", name "join_ok"; false for other files. */
static bool template_path(const char *path, char **locale_r, char **name_r)
{
    size_t len = strlen(path), suffix = strlen(TEMPLATE_SUFFIX);
    if (!str_starts_with(path, TEMPLATE_DIR) || len <= suffix ||
        strcmp(path + len - suffix, TEMPLATE_SUFFIX) != 0)
        return false;
    const char *locale = path + strlen(TEMPLATE_DIR);
    const char *slash = strchr(locale, '/');
    if (!slash || strchr(slash + 1, '/'))
        return false;
    *locale_r = xstrndup(locale, (size_t)(slash - locale));
    *name_r = xstrndup(slash + 1, (size_t)(path + len - suffix - slash - 1));
    return true;
}

static int check_rendering(const char *path, const char *name, const char *locale)
{
    char *error = NULL;
    int failures = 0;
    json_t *vars = sample_vars(locale);
    struct rendered_message m;
    if (template_message(name, locale, vars, &m, &error) < 0) {
        print_error("%s: %s\n", path, error);
        free(error);
        json_decref(vars);
        return 1;
    }
    bool list = listed(lists, ARRAY_SIZE(lists), name);
    uint32_t bad = 0;
    int septets = listed(email_only, ARRAY_SIZE(email_only), name) ? 0 : gsm_length(m.sms, &bad);
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
    json_decref(vars);
    return failures;
}

static void test_every_template_in_both_languages(void **state)
{
    (void)state;
    char *error = NULL;
    if (config_load("/dev/null", &error) < 0)
        fail_msg("config: %s", error);
    static const char *const locales[] = {"en", "fr"};
    int templates = 0, failures = 0;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        char *locale, *name;
        if (!template_path(f->name, &locale, &name))
            continue;
        templates++;
        for (size_t l = 0; l < ARRAY_SIZE(locales); l++) {
            char *path = xasprintf(TEMPLATE_DIR "%s/%s" TEMPLATE_SUFFIX, locales[l], name);
            if (!embedded_find(path)) {
                print_error("%s: missing (%s exists)\n", path, f->name);
                failures++;
            }
            free(path);
        }
        failures += check_rendering(f->name, name, locale);
        free(locale);
        free(name);
    }
    print_message("# %d templates\n", templates);
    assert_true(templates > 0);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_template_in_both_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
