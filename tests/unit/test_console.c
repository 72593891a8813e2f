/* The console's pure parts: times in words, the segment builder, the import's guesses of
 * columns, a conversation's order, and that every string exists in both languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/embedded.h"
#include "lib/util.h"
#include "api/console.h"

static void test_when_in_words(void **state)
{
    (void)state;
    /* Outside a request the strings are English. 2031-06-07 is a Saturday. */
    char *w = console_when("2031-06-07 10:00", true);
    assert_string_equal(w, "Saturday 7 June 2031, 10:00");
    free(w);
    w = console_when("2026-03-02T18:05:00+01:00", false);
    assert_string_equal(w, "Monday 2 March, 18:05");
    free(w);
    w = console_when("2000-02-29 00:00:00.5+00", true);
    assert_string_equal(w, "Tuesday 29 February 2000, 00:00");
    free(w);
    /* What is not a time is shown as it is. */
    w = console_when("soon", true);
    assert_string_equal(w, "soon");
    free(w);
}

static const char *segment_of(const char *body_json)
{
    static char out[256];
    json_t *body = json_loads(body_json, 0, NULL);
    assert_non_null(body);
    console_segment_build(body);
    const char *s = json_string_value(json_object_get(body, "segment"));
    snprintf(out, sizeof(out), "%s", s ? s : "(none)");
    json_decref(body);
    return out;
}

static void test_segment_builder(void **state)
{
    (void)state;
    assert_string_equal(segment_of("{\"seg_teams\": \"paris-10\"}"), "team:paris-10");
    assert_string_equal(segment_of("{\"seg_teams\": [\"paris-10\", \"lyon-1\"]}"),
                        "team:paris-10,team:lyon-1");
    /* Tags narrow every base, any of them. */
    assert_string_equal(segment_of("{\"seg_teams\": [\"paris-10\", \"lyon-1\"], \"seg_tags\": "
                                   "[\"tractage\", \"velo\"]}"),
                        "team:paris-10+tag:tractage,team:paris-10+tag:velo,"
                        "team:lyon-1+tag:tractage,team:lyon-1+tag:velo");
    assert_string_equal(segment_of("{\"seg_events\": \"marche\", \"seg_teams\": \"paris-10\"}"),
                        "team:paris-10,event:marche");
    assert_string_equal(segment_of("{\"seg_all\": \"all\", \"seg_tags\": \"tractage\"}"),
                        "all+tag:tractage");
    assert_string_equal(segment_of("{\"seg_tags\": \"tractage\"}"), "tag:tractage");
    assert_string_equal(segment_of("{}"), "(none)");
    /* A segment typed by hand wins over the boxes. */
    assert_string_equal(segment_of("{\"segment\": \"team:x\", \"seg_teams\": \"paris-10\"}"),
                        "team:x");
}

static void test_column_guesses(void **state)
{
    (void)state;
    struct {
        const char *header, *target;
    } cases[] = {
        {"Prénom", "name"},     {"NOM", "name"},          {" Courriel ", "email"},
        {"E-mail", "email"},    {"Téléphone", "phone"},   {"Portable", "phone"},
        {"Équipes", "teams"},   {"Étiquettes", "tags"},   {"Langue", "locale"},
        {"Fuseau horaire", "timezone"},                   {"email", "email"},
        {"Date de naissance", NULL},                      {"", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *got = console_column_guess(cases[i].header);
        if (cases[i].target)
            assert_string_equal(got ? got : "(null)", cases[i].target);
        else
            assert_null(got);
    }
}

static void test_conversation_order(void **state)
{
    (void)state;
    /* Newest first as the model answers; a reply queued in the same transaction as the
     * message it answers has the same time, and reads after it. */
    json_t *messages = json_loads(
        "[{\"id\": 9, \"direction\": \"out\", \"at\": \"2026-03-02 10:00:00.5+01\"},"
        " {\"id\": 4, \"direction\": \"out\", \"at\": \"2026-03-02 09:00:00+01\"},"
        " {\"id\": 7, \"direction\": \"in\", \"at\": \"2026-03-02 09:00:00+01\"},"
        " {\"id\": 1, \"direction\": \"in\", \"at\": \"2026-03-01 12:00:00+01\"}]",
        0, NULL);
    json_t *thread = console_thread(messages);
    json_int_t want[] = {1, 7, 4, 9};
    assert_int_equal(json_array_size(thread), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(thread, i), "id")),
                         want[i]);
    json_decref(thread);
    json_decref(messages);
}

/* Every key of the English strings has a French one, and the other way round. */
static void test_both_languages(void **state)
{
    (void)state;
    const struct embedded_file *en = embedded_find("web/console/en.json");
    const struct embedded_file *fr = embedded_find("web/console/fr.json");
    assert_non_null(en);
    assert_non_null(fr);
    json_t *e = json_loadb(en->data, en->len, 0, NULL), *f = json_loadb(fr->data, fr->len, 0, NULL);
    assert_non_null(e);
    assert_non_null(f);
    const char *key;
    json_t *v;
    json_object_foreach(e, key, v) {
        if (!json_object_get(f, key))
            fail_msg("fr.json lacks %s", key);
    }
    json_object_foreach(f, key, v) {
        if (!json_object_get(e, key))
            fail_msg("en.json lacks %s", key);
    }
    json_decref(e);
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_when_in_words),
        cmocka_unit_test(test_segment_builder),
        cmocka_unit_test(test_column_guesses),
        cmocka_unit_test(test_conversation_order),
        cmocka_unit_test(test_both_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
