#include "api/events.h"
#include "lib/util.h"
#include "core/config.h"
#include "api/v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* An event and its answers; `e` is events, `t` its team. */
#define EVENT_COLUMNS                                                                              \
    "e.id, e.slug, t.slug AS team, e.title,"                                                       \
    " to_char(e.starts_at AT TIME ZONE e.timezone, 'YYYY-MM-DD HH24:MI') AS starts,"               \
    " e.starts_at, e.timezone, e.capacity, e.location, e.status,"                                  \
    " a.attending, a.yes, a.maybe, a.no, a.waitlist, a.checked_in"                                 \
    " FROM events e LEFT JOIN teams t ON t.id = e.team_id"                                         \
    " CROSS JOIN LATERAL (SELECT"                                                                  \
    "  coalesce(sum(1 + r.guests) FILTER (WHERE r.status = 'yes'), 0) AS attending,"               \
    "  count(*) FILTER (WHERE r.status = 'yes') AS yes,"                                           \
    "  count(*) FILTER (WHERE r.status = 'maybe') AS maybe,"                                       \
    "  count(*) FILTER (WHERE r.status = 'no') AS no,"                                             \
    "  count(*) FILTER (WHERE r.status = 'waitlist') AS waitlist,"                                 \
    "  count(*) FILTER (WHERE r.checked_in_at IS NOT NULL) AS checked_in"                          \
    "  FROM rsvps r WHERE r.event_id = e.id) a"

json_t *events_list(struct db *db, const struct caller *who, const char *team, bool all,
                    struct api_error *e)
{
    char *teams = caller_teams_literal(who), *events = caller_events_literal(who);
    const char *params[] = {teams, events, team, all ? "t" : "f"};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT " EVENT_COLUMNS
                            " WHERE ($1::bigint[] IS NULL OR e.team_id = ANY($1::bigint[])"
                            "  OR e.id = ANY($2::bigint[]))"
                            " AND ($3::text IS NULL OR t.slug = lower($3))"
                            " AND ($4::boolean OR e.starts_at > now() - interval '1 day')"
                            " ORDER BY e.starts_at, e.id",
                            4, params, &error);
    free(teams);
    free(events);
    if (!res) {
        api_error_db(e, db, "events list", error);
        return NULL;
    }
    json_t *out = json_pack("{s:o,s:n}", "items", model_rows(res), "next");
    PQclear(res);
    return out;
}

json_t *event_show(struct db *db, const struct caller *who, const char *slug, struct api_error *e)
{
    (void)who;
    const char *params[] = {slug};
    char *error = NULL;
    PGresult *res =
        db_exec(db, "SELECT " EVENT_COLUMNS " WHERE e.slug = lower($1)", 1, params, &error);
    if (!res) {
        api_error_db(e, db, "event show", error);
        return NULL;
    }
    json_t *out = NULL;
    if (PQntuples(res) == 1)
        out = model_row(res, 0);
    else
        api_error_set(e, 404, "no event %s", slug);
    PQclear(res);
    return out;
}

/* The event's answers, by its id: the planner then reads that event's rows from
 * rsvps_event_status_idx and each person by key, whatever the size of the other tables. */
static PGresult *attendees(struct db *db, int64_t event_id, struct api_error *e)
{
    char id[24];
    const char *params[] = {model_id(event_id, id)};
    char *error = NULL;
    PGresult *res =
        db_exec(db,
                "SELECT r.status, p.name, r.guests,"
                " (SELECT c.address FROM contacts c WHERE c.person_id = p.id AND c.kind = 'email'"
                "  ORDER BY c.id LIMIT 1) AS email,"
                " (SELECT c.address FROM contacts c WHERE c.person_id = p.id AND c.kind = 'phone'"
                "  ORDER BY c.id LIMIT 1) AS phone,"
                " r.checked_in_at, p.id AS person_id, r.updated_at AS answered_at"
                " FROM rsvps r JOIN people p ON p.id = r.person_id"
                " WHERE r.event_id = $1::bigint"
                " ORDER BY array_position(ARRAY['yes', 'maybe', 'waitlist', 'no'], r.status),"
                "  lower(p.name), p.id",
                1, params, &error);
    if (!res)
        api_error_db(e, db, "event attendees", error);
    return res;
}

json_t *event_attendees(struct db *db, const struct caller *who, const char *slug,
                        struct api_error *e)
{
    json_t *event = event_show(db, who, slug, e);
    if (!event)
        return NULL;
    PGresult *res = attendees(db, json_integer_value(json_object_get(event, "id")), e);
    if (!res) {
        json_decref(event);
        return NULL;
    }
    json_t *out = json_pack("{s:o,s:o,s:n}", "event", event, "items", model_rows(res), "next");
    PQclear(res);
    return out;
}

int event_attendees_csv(struct db *db, const struct caller *who, const char *slug, struct buf *out,
                        struct api_error *e)
{
    (void)who;
    const char *params[] = {slug};
    char *error = NULL;
    PGresult *res = db_exec(db, "SELECT id FROM events WHERE slug = lower($1)", 1, params, &error);
    if (!res) {
        api_error_db(e, db, "event attendees", error);
        return -1;
    }
    int64_t event_id = PQntuples(res) == 1 ? model_int(res, 0, 0) : 0;
    PQclear(res);
    if (!event_id) {
        api_error_set(e, 404, "no event %s", slug);
        return -1;
    }
    res = attendees(db, event_id, e);
    if (!res)
        return -1;
    buf_adds(out, "status,name,guests,email,phone,checked_in_at,person_id\r\n");
    for (int r = 0; r < PQntuples(res); r++)
        for (int f = 0; f < 7; f++)
            model_csv_field(out, PQgetvalue(res, r, f), f == 1, f == 6);
    PQclear(res);
    return 0;
}

/* The walk-in's person: an existing one by phone or email, else a new one. 0 or -1. */
static int walk_in_person(struct db *db, const struct checkin *in, const char *timezone,
                          int64_t *person_r, bool *created_r, struct api_error *e)
{
    const char *reason = NULL, *kind = NULL;
    char *phone = NULL, *email = NULL, *error = NULL;
    int rc = -1;
    *created_r = false;
    if (in->phone && *in->phone && !(phone = contact_normalise(in->phone, &kind, &reason))) {
        api_error_set(e, 422, "phone %s: %s", in->phone, reason);
        goto out;
    }
    if (phone && strcmp(kind, "phone") != 0) {
        api_error_set(e, 422, "phone %s: not a phone number", in->phone);
        goto out;
    }
    if (in->email && *in->email && !(email = contact_normalise(in->email, &kind, &reason))) {
        api_error_set(e, 422, "email %s: %s", in->email, reason);
        goto out;
    }
    if (email && strcmp(kind, "email") != 0) {
        api_error_set(e, 422, "email %s: not an email address", in->email);
        goto out;
    }
    const char *find[] = {phone, email};
    PGresult *res = db_exec(db,
                            "SELECT person_id FROM contacts WHERE (kind = 'phone' AND address = $1)"
                            " OR (kind = 'email' AND address = $2) ORDER BY kind DESC LIMIT 1",
                            2, find, &error);
    if (!res)
        goto db_error;
    if (PQntuples(res) == 1) {
        *person_r = model_int(res, 0, 0);
        PQclear(res);
        rc = 0;
        goto out;
    }
    PQclear(res);
    const char *create[] = {in->name, config_str("engine", "default_locale"), timezone, phone,
                            email};
    res = db_exec(db,
                  "WITH p AS (INSERT INTO people (name, locale, timezone, source)"
                  "  VALUES ($1, $2, $3, 'walk_in') RETURNING id),"
                  " c AS (INSERT INTO contacts (person_id, kind, address)"
                  "  SELECT p.id, 'phone', $4 FROM p WHERE $4::text IS NOT NULL"
                  "  UNION ALL SELECT p.id, 'email', $5 FROM p WHERE $5::text IS NOT NULL)"
                  " SELECT id FROM p",
                  5, create, &error);
    if (!res)
        goto db_error;
    *person_r = model_int(res, 0, 0);
    *created_r = true;
    PQclear(res);
    rc = 0;
    goto out;
db_error:
    model_abort(db, e, "walk-in", error);
out:
    free(phone);
    free(email);
    return rc;
}

/* The event a check-in is for, locked for the check-in's transaction. 0, or -1 with *e
 * (rolled back): 404 unknown, 409 cancelled. The caller frees *timezone_r. */
static int checkin_event(struct db *db, const char *slug, int64_t *event_r, int64_t *team_r,
                         char **timezone_r, struct api_error *e)
{
    const char *params[] = {slug};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT id, team_id, timezone, status FROM events"
                            " WHERE slug = lower($1) FOR UPDATE",
                            1, params, &error);
    if (!res) {
        model_abort(db, e, "checkin event", error);
        return -1;
    }
    int rc = -1;
    if (PQntuples(res) != 1) {
        api_error_set(e, 404, "no event %s", slug);
    } else if (strcmp(PQgetvalue(res, 0, 3), "cancelled") == 0) {
        api_error_set(e, 409, "event %s is cancelled", slug);
    } else {
        *event_r = model_int(res, 0, 0);
        *team_r = model_int(res, 0, 1);
        *timezone_r = xstrdup(PQgetvalue(res, 0, 2));
        rc = 0;
    }
    PQclear(res);
    if (rc < 0)
        db_rollback(db);
    return rc;
}

/* Mark the person present (a `yes` when they had no answer; the first time is kept) and
 * answer with the row, whether they were already in, and the event's count. */
static json_t *mark_present(struct db *db, const struct caller *who, int64_t event_id,
                            int64_t person, struct api_error *e)
{
    char event_text[24], person_text[24], by_text[24];
    const char *params[] = {model_id(event_id, event_text), model_id(person, person_text),
                            who->person_id ? model_id(who->person_id, by_text) : NULL};
    char *error = NULL;
    PGresult *res =
        db_exec(db,
                "WITH before AS (SELECT checked_in_at FROM rsvps"
                "  WHERE event_id = $1 AND person_id = $2)"
                " INSERT INTO rsvps (event_id, person_id, status, checked_in_at, checked_in_by)"
                " VALUES ($1, $2, 'yes', now(), $3)"
                " ON CONFLICT (event_id, person_id) DO UPDATE SET"
                "  checked_in_at = coalesce(rsvps.checked_in_at, now()),"
                "  checked_in_by = coalesce(rsvps.checked_in_by, $3)"
                " RETURNING status, checked_in_at,"
                "  coalesce((SELECT checked_in_at IS NOT NULL FROM before), false) AS already,"
                "  (SELECT name FROM people WHERE id = $2) AS name,"
                "  (SELECT count(*) + 1 FROM rsvps WHERE event_id = $1"
                "   AND checked_in_at IS NOT NULL AND person_id <> $2) AS checked_in",
                3, params, &error);
    if (!res) {
        model_abort(db, e, "checkin", error);
        return NULL;
    }
    json_t *out = model_row(res, 0);
    PQclear(res);
    json_object_set_new(out, "person_id", json_integer(person));
    return out;
}

json_t *event_checkin(struct db *db, const struct caller *who, const char *slug,
                      const struct checkin *in, struct api_error *e)
{
    bool by_contact = in->contact && *in->contact;
    if (!by_contact && !(in->name && *in->name)) {
        api_error_set(e, 400, "check in a contact, or a walk-in by name (and phone or email)");
        return NULL;
    }
    char *error = NULL, *timezone = NULL;
    const char *reason = NULL;
    int64_t person = 0, contact = 0, event_id = 0, team_id = 0;
    if (by_contact) {
        int found = contact_find(db, in->contact, &contact, &person, &reason, &error);
        if (found < 0) {
            api_error_db(e, db, "checkin contact", error);
            return NULL;
        }
        if (found == 0) {
            api_error_set(e, 404, "%s: %s (a walk-in is checked in by name)", in->contact, reason);
            return NULL;
        }
    }
    if (model_begin(db, e) < 0 || checkin_event(db, slug, &event_id, &team_id, &timezone, e) < 0)
        return NULL;
    bool created = false;
    json_t *out = NULL;
    if (!by_contact && walk_in_person(db, in, timezone, &person, &created, e) < 0)
        goto out;
    out = mark_present(db, who, event_id, person, e);
    if (!out)
        goto out;
    json_object_set_new(out, "walk_in", json_boolean(created));
    json_object_set_new(out, "event", json_string(slug));
    bool already = json_is_true(json_object_get(out, "already"));
    if ((!already && model_activity(db, who, team_id, "checkin",
                                    json_pack("{s:s,s:I,s:b}", "event", slug, "person_id",
                                              (json_int_t)person, "walk_in", created),
                                    e) < 0) ||
        model_commit(db, e) < 0) {
        json_decref(out);
        out = NULL;
    }
out:
    if (!out)
        db_rollback(db);
    free(timezone);
    return out;
}

static json_t *event_refused(enum event_outcome outcome, struct db *db, char *error,
                             struct api_error *e)
{
    switch (outcome) {
    case EVENT_OK:
        break;
    case EVENT_FAILED:
        api_error_db(e, db, "event", error);
        return NULL;
    case EVENT_INVALID:
        api_error_set(e, 422, "%s", error);
        break;
    case EVENT_NOT_FOUND:
        api_error_set(e, 404, "%s", error);
        break;
    case EVENT_EXISTS:
    case EVENT_CANCELLED:
        api_error_set(e, 409, "%s", error);
        break;
    }
    free(error);
    return NULL;
}

json_t *event_create_json(struct db *db, const struct caller *who, const struct event_new *ev,
                          struct api_error *e)
{
    char *error = NULL;
    int64_t id = 0;
    enum event_outcome outcome = event_create(db, &who->actor, ev, &id, &error);
    if (outcome != EVENT_OK)
        return event_refused(outcome, db, error, e);
    return event_show(db, who, ev->slug, e);
}

json_t *event_update_json(struct db *db, const struct caller *who, const char *slug,
                          const struct event_edit *edit, struct api_error *e)
{
    char *error = NULL;
    enum event_outcome outcome = event_update(db, &who->actor, slug, edit, &error);
    if (outcome != EVENT_OK)
        return event_refused(outcome, db, error, e);
    return event_show(db, who, slug, e);
}

json_t *event_move_json(struct db *db, const struct caller *who, const char *slug,
                        const struct event_move_form *move, struct api_error *e)
{
    char *error = NULL;
    int notified = 0;
    enum event_outcome outcome =
        event_move_to(db, &who->actor, slug, move->starts, move->timezone,
                      move->location && *move->location ? move->location : NULL, move->past,
                      move->note, &notified, &error);
    if (outcome != EVENT_OK)
        return event_refused(outcome, db, error, e);
    json_t *out = event_show(db, who, slug, e);
    if (out)
        json_object_set_new(out, "notified", json_integer(notified));
    return out;
}

json_t *event_cancel_json(struct db *db, const struct caller *who, const char *slug,
                          const char *note, struct api_error *e)
{
    char *error = NULL;
    int notified = 0;
    enum event_outcome outcome = event_cancel(db, &who->actor, slug, note, &notified, &error);
    if (outcome != EVENT_OK)
        return event_refused(outcome, db, error, e);
    json_t *out = event_show(db, who, slug, e);
    if (out)
        json_object_set_new(out, "notified", json_integer(notified));
    return out;
}

void route_events_list(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, events_list(c->db, &c->who, api_arg(c, "team"), api_flag(c, "all"), &e), &e);
}

void route_event_show(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, event_show(c->db, &c->who, api_arg(c, "event"), &e), &e);
}

void route_event_attendees(struct api_call *c)
{
    struct api_error e = {0};
    const char *format = http_query(c->req, "format");
    if (format && strcmp(format, "csv") == 0) {
        struct buf csv = BUF_INIT;
        if (event_attendees_csv(c->db, &c->who, api_arg(c, "event"), &csv, &e) < 0) {
            api_fail(c, &e);
        } else {
            char *disposition =
                xasprintf("attachment; filename=\"%s-attendees.csv\"", api_arg(c, "event"));
            http_add_header(c->req, "Content-Disposition", disposition);
            free(disposition);
            http_respond(c->req, 200, "text/csv; charset=utf-8", buf_str(&csv), csv.len);
        }
        buf_release(&csv);
        return;
    }
    if (format && strcmp(format, "json") != 0) {
        api_fail_status(c, 400, "format must be json or csv");
        return;
    }
    api_answer(c, event_attendees(c->db, &c->who, api_arg(c, "event"), &e), &e);
}

void route_event_checkin(struct api_call *c)
{
    struct api_error e = {0};
    struct checkin in = {.contact = api_arg(c, "contact"),
                         .name = api_arg(c, "name"),
                         .phone = api_arg(c, "phone"),
                         .email = api_arg(c, "email")};
    api_answer(c, event_checkin(c->db, &c->who, api_arg(c, "event"), &in, &e), &e);
}

/* A JSON number or a string, as the text the lower layer reads. */
static const char *number_arg(struct api_call *c, const char *name, char buf[32])
{
    json_t *v = c->body ? json_object_get(c->body, name) : NULL;
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_null(v))
        return "";
    return api_arg(c, name);
}

void route_event_create(struct api_call *c)
{
    struct api_error e = {0};
    char capacity[32];
    struct event_new ev = {.team = api_arg(c, "team"),
                           .slug = api_arg(c, "slug"),
                           .title = api_arg(c, "title"),
                           .starts = api_arg(c, "starts"),
                           .timezone = api_arg(c, "timezone"),
                           .capacity = number_arg(c, "capacity", capacity),
                           .location = api_arg(c, "location"),
                           .past = api_flag(c, "past")};
    json_t *out = event_create_json(c->db, &c->who, &ev, &e);
    if (out)
        api_reply(c, 201, out);
    else
        api_fail(c, &e);
}

void route_event_update(struct api_call *c)
{
    struct api_error e = {0};
    char capacity[32];
    struct event_edit edit = {.title = c->body ? api_arg(c, "title") : NULL,
                              .location = c->body ? api_arg(c, "location") : NULL,
                              .capacity = c->body && json_object_get(c->body, "capacity")
                                              ? number_arg(c, "capacity", capacity)
                                              : NULL};
    api_answer(c, event_update_json(c->db, &c->who, api_arg(c, "event"), &edit, &e), &e);
}

void route_event_move(struct api_call *c)
{
    struct api_error e = {0};
    const struct event_move_form move = {.starts = api_arg(c, "starts"),
                                         .timezone = api_arg(c, "timezone"),
                                         .location = api_arg(c, "location"),
                                         .note = api_arg(c, "note"),
                                         .past = api_flag(c, "past")};
    api_answer(c, event_move_json(c->db, &c->who, api_arg(c, "event"), &move, &e), &e);
}

void route_event_cancel(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, event_cancel_json(c->db, &c->who, api_arg(c, "event"), api_arg(c, "note"), &e),
               &e);
}
