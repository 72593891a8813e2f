/* The authorisation rule, role by role: admins everything, organisers their teams (every
 * set of a scope must meet them), hosts their event's door, nobody else anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/util.h"
#include "core/authz.h"

static int64_t team_a[] = {1}, team_b[] = {2}, both[] = {1, 2};
static int64_t marche[] = {10};

static struct caller organiser_of(int64_t *teams, size_t n)
{
    return (struct caller){.person_id = 5, .teams = teams, .nteams = n};
}

static struct authz_scope scope_of(int64_t event, const int64_t *teams, size_t n)
{
    struct authz_scope s = {.event_id = event};
    authz_scope_add(&s, teams, n);
    return s;
}

static void test_admin_reaches_everything(void **state)
{
    (void)state;
    struct caller admin = {.person_id = 1, .admin = true};
    struct authz_scope none = {0}, b = scope_of(0, team_b, 1);
    for (enum authz_need n = AUTHZ_PUBLIC; n <= AUTHZ_CAMPAIGN; n++) {
        assert_int_equal(authz_decide(&admin, n, &b), AUTHZ_ALLOW);
        assert_int_equal(authz_decide(&admin, n, &none), AUTHZ_ALLOW);
    }
    authz_scope_release(&b);
}

static void test_nobody_reaches_only_public(void **state)
{
    (void)state;
    struct caller nobody = {0};
    struct authz_scope a = scope_of(0, team_a, 1);
    assert_int_equal(authz_decide(&nobody, AUTHZ_PUBLIC, &a), AUTHZ_ALLOW);
    assert_int_equal(authz_decide(NULL, AUTHZ_PUBLIC, NULL), AUTHZ_ALLOW);
    for (enum authz_need n = AUTHZ_ACCOUNT; n <= AUTHZ_CAMPAIGN; n++) {
        assert_int_equal(authz_decide(&nobody, n, &a), AUTHZ_DENY);
        assert_int_equal(authz_decide(NULL, n, &a), AUTHZ_DENY);
    }
    authz_scope_release(&a);
}

static void test_organiser_own_team_only(void **state)
{
    (void)state;
    struct caller org = organiser_of(team_a, 1);
    struct authz_scope a = scope_of(0, team_a, 1), b = scope_of(0, team_b, 1);
    struct authz_scope both_teams = scope_of(0, both, 2);
    const enum authz_need scoped[] = {AUTHZ_TEAM,   AUTHZ_EVENT, AUTHZ_EVENT_DOOR,
                                      AUTHZ_PERSON, AUTHZ_INBOX, AUTHZ_CAMPAIGN};
    for (size_t i = 0; i < ARRAY_SIZE(scoped); i++) {
        assert_int_equal(authz_decide(&org, scoped[i], &a), AUTHZ_ALLOW);
        assert_int_equal(authz_decide(&org, scoped[i], &b), AUTHZ_DENY);
        /* A person in both teams: one shared team is enough. */
        assert_int_equal(authz_decide(&org, scoped[i], &both_teams), AUTHZ_ALLOW);
    }
    assert_int_equal(authz_decide(&org, AUTHZ_ORGANISER, NULL), AUTHZ_ALLOW);
    assert_int_equal(authz_decide(&org, AUTHZ_ACCOUNT, NULL), AUTHZ_ALLOW);
    assert_int_equal(authz_decide(&org, AUTHZ_ADMIN, &a), AUTHZ_DENY);
    authz_scope_release(&a);
    authz_scope_release(&b);
    authz_scope_release(&both_teams);
}

static void test_campaign_every_term_inside(void **state)
{
    (void)state;
    struct caller org = organiser_of(team_a, 1);
    /* "team:a,team:b": two terms, the second outside. */
    struct authz_scope union_ab = {0};
    authz_scope_add(&union_ab, team_a, 1);
    authz_scope_add(&union_ab, team_b, 1);
    assert_int_equal(authz_decide(&org, AUTHZ_CAMPAIGN, &union_ab), AUTHZ_DENY);
    struct caller org_both = organiser_of(both, 2);
    assert_int_equal(authz_decide(&org_both, AUTHZ_CAMPAIGN, &union_ab), AUTHZ_ALLOW);
    /* "all" or "tag:x": a term naming no team reaches people of every team. */
    struct authz_scope all = {0};
    authz_scope_add(&all, NULL, 0);
    assert_int_equal(authz_decide(&org_both, AUTHZ_CAMPAIGN, &all), AUTHZ_DENY);
    /* No set at all (nothing resolved) is never an organiser's. */
    struct authz_scope empty = {0};
    assert_int_equal(authz_decide(&org_both, AUTHZ_TEAM, &empty), AUTHZ_DENY);
    assert_int_equal(authz_decide(&org_both, AUTHZ_TEAM, NULL), AUTHZ_DENY);
    authz_scope_release(&union_ab);
    authz_scope_release(&all);
}

static void test_host_door_only(void **state)
{
    (void)state;
    struct caller host = {.person_id = 7, .events = marche, .nevents = 1};
    struct authz_scope own = scope_of(10, team_a, 1), other = scope_of(11, team_a, 1);
    assert_int_equal(authz_decide(&host, AUTHZ_EVENT_DOOR, &own), AUTHZ_ALLOW);
    assert_int_equal(authz_decide(&host, AUTHZ_EVENT_DOOR, &other), AUTHZ_DENY);
    /* Editing, moving, cancelling the event is its team's organisers' business. */
    assert_int_equal(authz_decide(&host, AUTHZ_EVENT, &own), AUTHZ_DENY);
    assert_int_equal(authz_decide(&host, AUTHZ_ORGANISER, NULL), AUTHZ_DENY);
    assert_int_equal(authz_decide(&host, AUTHZ_TEAM, &own), AUTHZ_DENY);
    assert_int_equal(authz_decide(&host, AUTHZ_ACCOUNT, NULL), AUTHZ_ALLOW);
    authz_scope_release(&own);
    authz_scope_release(&other);
}

static void test_need_names(void **state)
{
    (void)state;
    assert_string_equal(authz_need_name(AUTHZ_EVENT_DOOR), "event-door");
    assert_string_equal(authz_need_name(AUTHZ_CAMPAIGN), "campaign");
    assert_string_equal(authz_need_name((enum authz_need)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_reaches_everything),
        cmocka_unit_test(test_nobody_reaches_only_public),
        cmocka_unit_test(test_organiser_own_team_only),
        cmocka_unit_test(test_campaign_every_term_inside),
        cmocka_unit_test(test_host_door_only),
        cmocka_unit_test(test_need_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
