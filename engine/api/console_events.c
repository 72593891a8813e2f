/*
 * Events: the list, a new event, one event with its answers (yes with guests, maybe, the
 * waiting list, no) and the organisers' edit, move and cancel forms, the CSV export (the
 * API's route), and the door: a phone-sized list to tap people in, with walk-ins.
 */
#include "api/console_pages.h"
#include "lib/buf.h"
#include "lib/fold.h"
#include "lib/util.h"
#include "core/authz.h"
#include "core/config.h"
#include "api/events.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void page_events(struct api_call *c)
{
    bool all = api_flag(c, "all");
    const char *team = console_arg(c, "team");
    struct api_error e = {0};
    json_t *events = events_list(c->db, &c->who, team, all, &e);
    if (!events) {
        console_error(c, &e);
        return;
    }
    json_t *items = json_object_get(events, "items");
    size_t i;
    json_t *ev;
    json_array_foreach(items, i, ev)
        console_event_fill(ev);
    json_t *data = json_pack("{s:O,s:b,s:b,s:s?}", "events", items, "all", all, "organiser",
                             c->who.admin || c->who.nteams > 0, "team", team);
    json_object_set_new(data, "teams", console_team_options(c, team));
    console_add_done(c, data);
    json_decref(events);
    console_page(c, 200, "events", "events", console_t("nav_events"), data);
}

static void new_form(struct api_call *c, unsigned status, const char *error)
{
    json_t *data = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s,s:s?}", "title",
                             console_arg(c, "title"), "slug", console_arg(c, "slug"), "date",
                             console_arg(c, "date"), "time", console_arg(c, "time"), "capacity",
                             console_arg(c, "capacity"), "location", console_arg(c, "location"),
                             "timezone",
                             console_arg(c, "timezone") ? console_arg(c, "timezone")
                                                        : config_str("engine", "default_timezone"),
                             "error", error);
    json_object_set_new(data, "teams", console_team_options(c, console_arg(c, "team")));
    console_page(c, status, "event_new", "events", console_t("event_new"), data);
}

void page_event_new(struct api_call *c)
{
    new_form(c, 200, NULL);
}

/* A slug from a title: "Marché de la Villette" -> "marche-de-la-villette". */
static char *slug_of(const char *title)
{
    struct buf folded = BUF_INIT, slug = BUF_INIT;
    fold_text(title, strlen(title), &folded);
    bool dash = false;
    for (const char *p = buf_str(&folded); *p && slug.len < 48; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch) && ch < 128) {
            if (dash && slug.len)
                buf_addch(&slug, '-');
            buf_addch(&slug, (char)tolower(ch));
            dash = false;
        } else {
            dash = true;
        }
    }
    buf_release(&folded);
    return buf_detach(&slug);
}

/* "YYYY-MM-DD" and "HH:MM" from the form as "YYYY-MM-DD HH:MM" (caller frees), or NULL. */
static char *starts_of(struct api_call *c)
{
    const char *date = console_arg(c, "date"), *time = console_arg(c, "time");
    if (!date || !time)
        return NULL;
    return xasprintf("%s %s", date, time);
}

void page_event_create(struct api_call *c)
{
    const char *title = console_arg(c, "title");
    char *slug = console_arg(c, "slug") ? xstrdup(console_arg(c, "slug"))
                                        : slug_of(title ? title : "");
    char *starts = starts_of(c);
    struct event_new ev = {.team = console_arg(c, "team"),
                           .slug = slug,
                           .title = title,
                           .starts = starts,
                           .timezone = console_arg(c, "timezone"),
                           .capacity = console_arg(c, "capacity"),
                           .location = console_arg(c, "location")};
    struct api_error e = {0};
    json_t *out = !title || !starts ? NULL : event_create_json(c->db, &c->who, &ev, &e);
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
        } else {
            new_form(c, e.status ? e.status : 422,
                     e.message ? e.message : console_t("event_need_title_time"));
            api_error_release(&e);
        }
    } else {
        struct buf to = BUF_INIT;
        buf_adds(&to, "/admin/events/");
        console_urlencode(&to, json_string_value(json_object_get(out, "slug")));
        buf_adds(&to, "?done=event_created");
        console_redirect(c, buf_str(&to));
        buf_release(&to);
        json_decref(out);
    }
    free(slug);
    free(starts);
}

/* Whether the caller may change the event (an organiser of its team), not only see it. */
static bool may_edit(struct api_call *c)
{
    if (c->who.admin)
        return true;
    char id[24], *error = NULL;
    const char *params[] = {model_id(c->event_id, id)};
    PGresult *res = db_exec(c->db, "SELECT team_id FROM events WHERE id = $1", 1, params, &error);
    free(error);
    bool ok = res && PQntuples(res) == 1 && db_value(res, 0, 0) &&
              caller_organises(&c->who, model_int(res, 0, 0));
    PQclear(res);
    return ok;
}

static void event_page(struct api_call *c, unsigned status, const char *error)
{
    const char *slug = api_arg(c, "event");
    struct api_error e = {0};
    json_t *a = event_attendees(c->db, &c->who, slug, &e);
    if (!a) {
        console_error(c, &e);
        return;
    }
    json_t *ev = json_object_get(a, "event");
    console_event_fill(ev);
    json_t *items = json_object_get(a, "items");
    console_add_label(items, "status", "rsvp_", "status_label");
    static const char *const guests[] = {"guests", NULL};
    console_flag_nonzero(items, guests);
    static const char *const when[] = {"checked_in_at", NULL};
    console_add_when(items, when);
    /* The answers by kind, in the order the door list uses. */
    const char *kinds[] = {"yes", "maybe", "waitlist", "no"};
    json_t *groups = json_array();
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        json_t *people = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
            if (strcmp(json_string_value(json_object_get(it, "status")), kinds[k]) == 0)
                json_array_append(people, it);
        if (json_array_size(people) == 0) {
            json_decref(people);
            continue;
        }
        char key[32];
        snprintf(key, sizeof(key), "rsvp_group_%s", kinds[k]);
        json_array_append_new(groups, json_pack("{s:s,s:s,s:I,s:o}", "kind", kinds[k], "label",
                                                console_t(key), "count",
                                                (json_int_t)json_array_size(people), "people",
                                                people));
    }
    json_object_set_new(ev, "groups", groups);
    json_object_set_new(ev, "can_edit", json_boolean(may_edit(c)));
    /* The form's date and time, from the local start. */
    const char *starts = json_string_value(json_object_get(ev, "starts"));
    if (starts && strlen(starts) >= 16) {
        json_object_set_new(ev, "date", json_stringn(starts, 10));
        json_object_set_new(ev, "time", json_stringn(starts + 11, 5));
    }
    if (error)
        json_object_set_new(ev, "error", json_string(error));
    console_add_done(c, ev);
    json_object_set_new(ev, "cancelled",
                        json_boolean(strcmp(json_string_value(json_object_get(ev, "status")),
                                            "cancelled") == 0));
    const char *title = json_string_value(json_object_get(ev, "title"));
    char *page_title = xstrdup(title ? title : slug);
    json_incref(ev);
    json_decref(a);
    console_page(c, status, "event", "events", page_title, ev);
    free(page_title);
}

void page_event(struct api_call *c)
{
    event_page(c, 200, NULL);
}

/* After an action on the event: back to its page with a word, or the page with the reason. */
static void after_action(struct api_call *c, json_t *out, struct api_error *e, const char *done)
{
    if (!out) {
        if (e->status >= 500) {
            console_error(c, e);
            return;
        }
        event_page(c, e->status, e->message);
        api_error_release(e);
        return;
    }
    json_decref(out);
    struct buf to = BUF_INIT;
    buf_adds(&to, "/admin/events/");
    console_urlencode(&to, api_arg(c, "event"));
    buf_printf(&to, "?done=%s", done);
    console_redirect(c, buf_str(&to));
    buf_release(&to);
}

void page_event_edit(struct api_call *c)
{
    /* Every field of the form is sent: an empty capacity removes the limit. */
    const char *capacity = api_arg(c, "capacity");
    struct event_edit edit = {.title = console_arg(c, "title"),
                              .location = api_arg(c, "location"),
                              .capacity = capacity ? capacity : NULL};
    struct api_error e = {0};
    json_t *out = event_update_json(c->db, &c->who, api_arg(c, "event"), &edit, &e);
    after_action(c, out, &e, "event_updated");
}

void page_event_move(struct api_call *c)
{
    char *starts = starts_of(c);
    struct api_error e = {0};
    json_t *out = NULL;
    if (!starts)
        api_error_set(&e, 422, "%s", console_t("event_need_title_time"));
    else
        out = event_move_json(c->db, &c->who, api_arg(c, "event"),
                              &(struct event_move_form){.starts = starts,
                                                        .timezone = console_arg(c, "timezone"),
                                                        .location = console_arg(c, "location"),
                                                        .note = console_arg(c, "note")},
                              &e);
    free(starts);
    after_action(c, out, &e, "event_moved");
}

void page_event_cancel(struct api_call *c)
{
    struct api_error e = {0};
    json_t *out = event_cancel_json(c->db, &c->who, api_arg(c, "event"), console_arg(c, "note"), &e);
    after_action(c, out, &e, "event_cancelled");
}

/* ---- the door ---- */

static bool matches(const char *name, const char *folded_query)
{
    if (!folded_query || !*folded_query)
        return true;
    struct buf f = BUF_INIT;
    fold_text(name ? name : "", name ? strlen(name) : 0, &f);
    bool found = strstr(buf_str(&f), folded_query) != NULL;
    buf_release(&f);
    return found;
}

/* The door list: who answered yes, maybe or is waiting, filtered by `q`; checked in last. */
static json_t *door_data(struct api_call *c, struct api_error *e)
{
    const char *slug = api_arg(c, "event"), *q = console_arg(c, "q");
    json_t *a = event_attendees(c->db, &c->who, slug, e);
    if (!a)
        return NULL;
    struct buf folded = BUF_INIT;
    if (q)
        fold_text(q, strlen(q), &folded);
    json_t *todo = json_array(), *done = json_array();
    size_t i;
    json_t *it;
    json_int_t in = 0;
    json_array_foreach(json_object_get(a, "items"), i, it) {
        bool checked = !json_is_null(json_object_get(it, "checked_in_at"));
        in += checked;
        const char *status = json_string_value(json_object_get(it, "status"));
        if (strcmp(status, "no") == 0 && !checked)
            continue;
        if (!matches(json_string_value(json_object_get(it, "name")), buf_str(&folded)))
            continue;
        const char *contact = json_string_value(json_object_get(it, "phone"));
        if (!contact)
            contact = json_string_value(json_object_get(it, "email"));
        if (contact)
            json_object_set_new(it, "contact", json_string(contact));
        json_object_set_new(it, "checked", json_boolean(checked));
        json_array_append(checked ? done : todo, it);
    }
    buf_release(&folded);
    console_add_label(todo, "status", "rsvp_", "status_label");
    static const char *const guests[] = {"guests", NULL};
    console_flag_nonzero(todo, guests);
    console_flag_nonzero(done, guests);
    json_t *ev = json_object_get(a, "event");
    console_event_fill(ev);
    json_t *data = json_pack("{s:O,s:b,s:o,s:o,s:I,s:s?}", "event", ev, "done_any",
                             json_array_size(done) > 0, "todo", todo, "done", done, "checked_in",
                             in, "q", q);
    json_decref(a);
    return data;
}

void page_event_door(struct api_call *c)
{
    struct api_error e = {0};
    json_t *data = door_data(c, &e);
    if (!data) {
        console_error(c, &e);
        return;
    }
    /* The search box asks for the list alone as the organiser types. */
    if (console_htmx(c)) {
        console_fragment(c, 200, "door_list", data);
        return;
    }
    char *list = console_render("door_list", data);
    json_object_set_new(data, "list_html", json_string(list));
    free(list);
    const char *title = json_string_value(json_object_get(json_object_get(data, "event"), "title"));
    char *page_title = xasprintf("%s · %s", console_t("door_title"), title ? title : "");
    console_page(c, 200, "door", "events", page_title, data);
    free(page_title);
}

void page_event_checkin(struct api_call *c)
{
    struct checkin in = {.contact = console_arg(c, "contact"),
                         .name = console_arg(c, "name"),
                         .phone = console_arg(c, "phone"),
                         .email = console_arg(c, "email")};
    struct api_error e = {0};
    json_t *out = event_checkin(c->db, &c->who, api_arg(c, "event"), &in, &e);
    if (!out && e.status >= 500) {
        console_error(c, &e);
        return;
    }
    json_t *data = door_data(c, &e);
    if (!data) {
        json_decref(out);
        console_error(c, &e);
        return;
    }
    if (out) {
        char *said = console_say(json_is_true(json_object_get(out, "already")) ? "door_already"
                                 : json_is_true(json_object_get(out, "walk_in"))
                                     ? "door_walk_in_done"
                                     : "door_done",
                                 json_pack("{s:O}", "name", json_object_get(out, "name")));
        json_object_set_new(data, "notice", json_string(said));
        free(said);
        json_decref(out);
    } else {
        json_object_set_new(data, "error", json_string(e.message ? e.message : ""));
        api_error_release(&e);
    }
    if (console_htmx(c)) {
        console_fragment(c, 200, "door_list", data);
        return;
    }
    /* Without htmx, the whole door page again. */
    char *list = console_render("door_list", data);
    json_object_set_new(data, "list_html", json_string(list));
    free(list);
    console_page(c, 200, "door", "events", console_t("door_title"), data);
}
