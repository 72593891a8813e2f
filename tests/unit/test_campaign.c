/* Segments to SQL, reminder offsets, quiet-hours values, event times in two languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/util.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "campaigns/campaign.h"
#include "campaigns/scheduler.h"
#include "campaigns/segment.h"

static void test_segment_union_and_intersection(void **state)
{
    (void)state;
    struct segment s;
    char *error = NULL;
    assert_int_equal(segment_compile("team:Paris-10+tag:tractage, event:marche", 4, &s, &error), 0);
    assert_int_equal(s.nparams, 3);
    assert_string_equal(s.params[0], "paris-10");
    assert_string_equal(s.params[1], "tractage");
    assert_string_equal(s.params[2], "marche");
    /* Values are parameters $4.. in order; the SQL holds none of them. */
    assert_non_null(strstr(s.where, "WHERE slug = $4"));
    assert_non_null(strstr(s.where, "ARRAY[$5::text]"));
    assert_non_null(strstr(s.where, "e.slug = $6"));
    assert_non_null(strstr(s.where, " AND "));
    assert_non_null(strstr(s.where, " OR "));
    assert_null(strstr(s.where, "paris"));
    assert_string_equal(s.teams, "{paris-10}");
    assert_string_equal(s.events, "{marche}");
    assert_null(s.single_team); /* two terms: the scope depends on the person */
    segment_release(&s);

    assert_int_equal(segment_compile("team:a+tag:x", 1, &s, &error), 0);
    assert_string_equal(s.single_team, "a");
    segment_release(&s);
    assert_int_equal(segment_compile("ALL", 1, &s, &error), 0);
    assert_int_equal(s.nparams, 0);
    assert_string_equal(s.where, "((true))");
    segment_release(&s);
}

static void test_segment_hostile_and_bad(void **state)
{
    (void)state;
    struct segment s;
    char *error = NULL;
    assert_int_equal(segment_compile("tag:x'); DROP TABLE people;--", 1, &s, &error), 0);
    assert_string_equal(s.params[0], "x'); DROP TABLE people;--");
    assert_null(strstr(s.where, "DROP"));
    segment_release(&s);
    const char *bad[] = {"",          " , ",        "team:", "team:Bad Slug",
                         "event:x;y", "region:idf", "tag:",  "everyone"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        error = NULL;
        assert_int_equal(segment_compile(bad[i], 1, &s, &error), -1);
        assert_non_null(error);
        free(error);
    }
    struct buf many = BUF_INIT;
    for (int i = 0; i < 40; i++)
        buf_printf(&many, "%stag:t%d", i ? "," : "", i);
    error = NULL;
    assert_int_equal(segment_compile(buf_str(&many), 1, &s, &error), -1);
    assert_non_null(strstr(error, "more than 32"));
    free(error);
    buf_release(&many);
}

static void test_reminder_offsets(void **state)
{
    (void)state;
    long o[SCHEDULER_MAX_OFFSETS];
    assert_int_equal(scheduler_reminder_offsets("2h, 1d,24h,90m", o), 3);
    assert_int_equal(o[0], 86400);
    assert_int_equal(o[1], 7200);
    assert_int_equal(o[2], 5400);
    assert_int_equal(scheduler_reminder_offsets("", o), 0);
    assert_int_equal(scheduler_reminder_offsets("2x", o), -1);
    assert_int_equal(scheduler_reminder_offsets("h", o), -1);
    assert_int_equal(scheduler_reminder_offsets("0h", o), -1);
    assert_int_equal(scheduler_reminder_offsets("2hh", o), -1);
    assert_int_equal(scheduler_reminder_offsets("1m,2m,3m,4m,5m,6m,7m,8m,9m", o), -1);
}

static void test_quiet_values(void **state)
{
    (void)state;
    assert_true(campaign_quiet_valid("21:00-09:00"));
    assert_true(campaign_quiet_valid("off"));
    assert_true(campaign_quiet_valid("12:30-14:00"));
    assert_false(campaign_quiet_valid("25:00-09:00"));
    assert_false(campaign_quiet_valid("21:00"));
    assert_false(campaign_quiet_valid("21:00-09:00x"));
    assert_false(campaign_quiet_valid("never"));
}

static void test_format_time(void **state)
{
    (void)state;
    char *fr = campaign_format_time("2030 03 14 18 30 4", "fr");
    assert_string_equal(fr, "jeudi 14 mars à 18h30");
    char *fr_hour = campaign_format_time("2030 08 01 09 00 4", "fr");
    assert_string_equal(fr_hour, "jeudi 1 août à 9h");
    char *en = campaign_format_time("2030 03 14 18 30 4", "en");
    assert_string_equal(en, "Thursday 14 March at 18:30");
    char *junk = campaign_format_time("garbage", "en");
    assert_string_equal(junk, "garbage");
    free(fr);
    free(fr_hour);
    free(en);
    free(junk);
}

static void test_message_template_missing(void **state)
{
    (void)state;
    char *error = NULL;
    struct message_template *m = template_message_compile(
        "subject: {{team.name}} {{oops}}\n--- text\n{{first_name}} {{oops}} {{other}}\n", "t",
        &error);
    assert_non_null(m);
    json_t *vars = campaign_sample_vars();
    char *missing = template_message_missing(m, vars);
    assert_string_equal(missing, "oops, other");
    struct rendered_message out;
    template_message_render(m, vars, &out);
    assert_string_equal(out.subject, "Paris 10e ");
    assert_string_equal(out.text, "Camille  ");
    assert_string_equal(out.sms, "Camille  ");
    assert_null(out.html);
    template_message_release(&out);
    free(missing);
    json_decref(vars);
    template_message_free(&m);
    assert_null(m);
    assert_null(template_message_compile("--- text\n{{#a}}\n", "t", &error));
    assert_non_null(strstr(error, "not closed"));
    free(error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_union_and_intersection),
        cmocka_unit_test(test_segment_hostile_and_bad),
        cmocka_unit_test(test_reminder_offsets),
        cmocka_unit_test(test_quiet_values),
        cmocka_unit_test(test_format_time),
        cmocka_unit_test(test_message_template_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
