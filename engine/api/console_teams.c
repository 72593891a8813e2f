/*
 * Teams: the list, and one team with its members, pending members and organisers; admins
 * add and remove organisers.
 */
#include "api/console_pages.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "api/teams.h"

#include <string.h>

#define MEMBERS_PAGE 100

void page_teams(struct api_call *c)
{
    struct api_error e = {0};
    json_t *teams = teams_list(c->db, &c->who, &e);
    if (!teams) {
        console_error(c, &e);
        return;
    }
    static const char *const counts[] = {"upcoming_events", NULL};
    console_flag_nonzero(json_object_get(teams, "items"), counts);
    console_page(c, 200, "teams", "teams", console_t("nav_teams"),
                 json_pack("{s:O}", "teams", json_object_get(teams, "items")));
    json_decref(teams);
}

/* The team page; after a refused action, with the reason and the refusal's status. */
static void team_page(struct api_call *c, unsigned status, const char *slug, const char *error)
{
    struct api_error e = {0};
    json_t *team = team_show(c->db, &c->who, slug, &e);
    if (!team) {
        console_error(c, &e);
        return;
    }
    struct members_filter active = {.page = {.after = console_after(c), .limit = MEMBERS_PAGE}};
    struct members_filter pending = {.pending = true, .page = {.after = 0, .limit = MEMBERS_PAGE}};
    json_t *members = team_members(c->db, &c->who, slug, &active, &e);
    json_t *waiting = members ? team_members(c->db, &c->who, slug, &pending, &e) : NULL;
    if (!waiting) {
        json_decref(team);
        json_decref(members);
        console_error(c, &e);
        return;
    }
    /* Members excludes the pending ones, whom the second list shows. */
    json_t *list = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(members, "items"), i, m) {
        const char *st = json_string_value(json_object_get(m, "status"));
        if (st && strcmp(st, "pending") == 0)
            continue;
        json_array_append(list, m);
    }
    console_add_label(list, "role", "role_", "role_label");
    static const char *const when[] = {"joined_at", "starts_at", NULL};
    console_add_when(list, when);
    console_add_when(json_object_get(waiting, "items"), when);
    console_add_when(json_object_get(team, "upcoming_events"), when);
    json_object_set_new(team, "members_list", list);
    json_object_set(team, "next", json_object_get(members, "next"));
    json_object_set(team, "pending_list", json_object_get(waiting, "items"));
    json_object_set_new(team, "admin", json_boolean(c->who.admin));
    json_object_set_new(team, "paged", json_boolean(active.page.after > 0));
    static const char *const counts[] = {"pending", "joined_this_week", NULL};
    console_flag_nonzero(team, counts);
    console_add_done(c, team);
    if (error)
        json_object_set_new(team, "error", json_string(error));
    json_decref(members);
    json_decref(waiting);
    const char *name = json_string_value(json_object_get(team, "name"));
    char *title = xstrdup(name ? name : slug);
    console_page(c, status, "team", "teams", title, team);
    free(title);
}

void page_team(struct api_call *c)
{
    team_page(c, 200, api_arg(c, "team"), NULL);
}

static void organiser_set(struct api_call *c, bool organiser)
{
    const char *slug = api_arg(c, "team");
    struct api_error e = {0};
    int64_t person = 0;
    const char *contact = NULL;
    if (organiser) {
        contact = console_arg(c, "contact");
    } else {
        long id = 0;
        if (str_to_long(api_arg(c, "person"), 1, INT64_MAX, &id) < 0) {
            console_page(c, 404, "error", NULL, console_t("error_not_found"),
                         json_pack("{s:s}", "headline", console_t("error_not_found")));
            return;
        }
        person = id;
    }
    json_t *out = team_organiser_set(c->db, &c->who, slug, contact, person, organiser, &e);
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
            return;
        }
        team_page(c, e.status, slug, e.message);
        api_error_release(&e);
        return;
    }
    json_decref(out);
    struct buf to = BUF_INIT;
    buf_adds(&to, "/admin/teams/");
    console_urlencode(&to, slug);
    buf_adds(&to, organiser ? "?done=organiser_added" : "?done=organiser_removed");
    console_redirect(c, buf_str(&to));
    buf_release(&to);
}

void page_team_organiser_add(struct api_call *c)
{
    organiser_set(c, true);
}

void page_team_organiser_remove(struct api_call *c)
{
    organiser_set(c, false);
}
