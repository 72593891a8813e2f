#include "campaigns/event.h"
#include "lib/util.h"
#include "core/config.h"
#include "campaigns/scheduler.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum event_outcome refuse(enum event_outcome outcome, char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum event_outcome refuse(enum event_outcome outcome, char **error_r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    *error_r = text ? text : xstrdup("refused");
    return outcome;
}

/* A database error: *error_r is set by the call that failed. */
static enum event_outcome failed(struct db *db)
{
    db_rollback(db);
    return EVENT_FAILED;
}

/* 1 when PostgreSQL knows the zone, 0 when not, -1 on error. */
static int timezone_known(struct db *db, const char *tz, char **error_r)
{
    const char *params[] = {tz};
    PGresult *res =
        db_exec(db, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, params, error_r);
    if (!res)
        return -1;
    int known = PQntuples(res) > 0;
    PQclear(res);
    return known;
}

#define STARTS_FORMAT                                                                              \
    "expected 'YYYY-MM-DD HH:MM' in the event's time zone, e.g. '2031-06-07 10:00'"

/* The start as typed, in time zone `tz`: well formed, a real date and time, and ahead
 * unless `past`. EVENT_OK, or a refusal saying which and the format expected. */
static enum event_outcome check_starts(struct db *db, const char *starts, const char *tz, bool past,
                                       char **error_r)
{
    int year, month, day, hour, minute, end = 0;
    if (!starts ||
        sscanf(starts, "%4d-%2d-%2d %2d:%2d%n", &year, &month, &day, &hour, &minute, &end) != 5 ||
        starts[end] != '\0')
        return refuse(EVENT_INVALID, error_r, "starts %s: " STARTS_FORMAT,
                      starts ? starts : "(none)");
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59)
        return refuse(EVENT_INVALID, error_r, "starts %s: not a date and time; " STARTS_FORMAT,
                      starts);
    const char *params[] = {starts, tz};
    /* The cast refuses what is no date (2031-02-30) with a 22xxx error. */
    PGresult *res =
        db_exec(db, "SELECT ($1::timestamp AT TIME ZONE $2) < tocsin_now()", 2, params, error_r);
    if (!res && str_starts_with(db_sqlstate(db), "22")) {
        free(*error_r);
        return refuse(EVENT_INVALID, error_r, "starts %s: not a date and time; " STARTS_FORMAT,
                      starts);
    }
    if (!res)
        return EVENT_FAILED;
    enum event_outcome outcome = EVENT_OK;
    if (PQgetvalue(res, 0, 0)[0] == 't' && !past)
        outcome = refuse(EVENT_INVALID, error_r,
                         "starts %s is in the past (%s): nobody could answer it; --past if it "
                         "is what you mean",
                         starts, tz);
    PQclear(res);
    return outcome;
}

static bool capacity_valid(const char *capacity)
{
    long cap;
    return !capacity || !*capacity || str_to_long(capacity, 0, 1000000, &cap) == 0;
}

static int record(struct db *db, const struct actor *actor, int64_t event_id, const char *kind,
                  int notified, char **error_r)
{
    char id[DB_PARAM_SIZE], count[24];
    snprintf(count, sizeof(count), "%d", notified);
    const char *params[] = {db_param_int(event_id, id)};
    PGresult *res = db_exec(db,
                            "SELECT team_id, jsonb_build_object('event_id', id, 'slug', slug,"
                            " 'title', title, 'starts_at', starts_at)::text FROM events"
                            " WHERE id = $1",
                            1, params, error_r);
    if (!res)
        return -1;
    int64_t team = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    json_t *payload = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    if (notified >= 0)
        json_object_set_new(payload, "notified", json_integer(notified));
    return activity_record(db, actor, team, kind, payload, error_r);
}

enum event_outcome event_create(struct db *db, const struct actor *actor,
                                const struct event_new *ev, int64_t *id_r, char **error_r)
{
    if (!ev->team || !ev->slug || !ev->title || !ev->starts)
        return refuse(EVENT_INVALID, error_r, "an event needs a team, a slug, a title and starts");
    if (!capacity_valid(ev->capacity))
        return refuse(EVENT_INVALID, error_r, "capacity must be a whole number");
    const char *tz = ev->timezone ? ev->timezone : config_str("engine", "default_timezone");
    int known = timezone_known(db, tz, error_r);
    if (known < 0)
        return EVENT_FAILED;
    if (!known)
        return refuse(EVENT_INVALID, error_r, "unknown time zone %s", tz);
    enum event_outcome starts_ok = check_starts(db, ev->starts, tz, ev->past, error_r);
    if (starts_ok != EVENT_OK)
        return starts_ok;
    if (db_begin(db, error_r) < 0)
        return EVENT_FAILED;
    const char *params[] = {ev->team,    ev->slug,
                            ev->title,   ev->starts,
                            tz,          ev->capacity && *ev->capacity ? ev->capacity : NULL,
                            ev->location};
    PGresult *res =
        db_exec(db,
                "INSERT INTO events (team_id, slug, title, starts_at, timezone, capacity, location)"
                " SELECT t.id, lower($2), $3, ($4::timestamp AT TIME ZONE $5), $5, $6::integer, $7"
                " FROM teams t WHERE t.slug = lower($1)"
                " ON CONFLICT (slug) DO NOTHING RETURNING id",
                7, params, error_r);
    if (!res) {
        const char *state = db_sqlstate(db);
        if (str_starts_with(state, "22")) {
            db_rollback(db);
            free(*error_r);
            return refuse(EVENT_INVALID, error_r, "starts %s: expected 'YYYY-MM-DD HH:MM'",
                          ev->starts);
        }
        if (strcmp(state, "23514") == 0) {
            db_rollback(db);
            free(*error_r);
            return refuse(EVENT_INVALID, error_r,
                          "slug %s: use lower-case letters, digits and dashes", ev->slug);
        }
        return failed(db);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        /* Either the team is unknown or the slug is taken: say which. */
        const char *tp[] = {ev->team};
        res = db_exec(db, "SELECT 1 FROM teams WHERE slug = lower($1)", 1, tp, error_r);
        if (!res)
            return failed(db);
        bool team_exists = PQntuples(res) > 0;
        PQclear(res);
        db_rollback(db);
        return team_exists ? refuse(EVENT_EXISTS, error_r, "event %s already exists", ev->slug)
                           : refuse(EVENT_NOT_FOUND, error_r, "no team %s", ev->team);
    }
    *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (record(db, actor, *id_r, "event_created", -1, error_r) < 0 || db_commit(db, error_r) < 0)
        return failed(db);
    return EVENT_OK;
}

enum event_outcome event_update(struct db *db, const struct actor *actor, const char *slug,
                                const struct event_edit *edit, char **error_r)
{
    if (!capacity_valid(edit->capacity))
        return refuse(EVENT_INVALID, error_r, "capacity must be a whole number");
    if (edit->title && !*edit->title)
        return refuse(EVENT_INVALID, error_r, "an event needs a title");
    if (db_begin(db, error_r) < 0)
        return EVENT_FAILED;
    const char *params[] = {slug, edit->title, edit->location,
                            edit->capacity ? edit->capacity : NULL, edit->capacity ? "t" : "f"};
    PGresult *res = db_exec(db,
                            "UPDATE events SET title = coalesce($2, title),"
                            " location = coalesce($3, location),"
                            " capacity = CASE WHEN $5::boolean THEN nullif($4, '')::integer"
                            "  ELSE capacity END"
                            " WHERE slug = lower($1) RETURNING id",
                            5, params, error_r);
    if (!res)
        return failed(db);
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        return refuse(EVENT_NOT_FOUND, error_r, "no event %s", slug);
    }
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (record(db, actor, id, "event_updated", -1, error_r) < 0 || db_commit(db, error_r) < 0)
        return failed(db);
    return EVENT_OK;
}

/* After a refused move or cancel: EVENT_CANCELLED when the event exists (it can only be
 * cancelled then), else EVENT_NOT_FOUND. A failed lookup counts as not found. */
static enum event_outcome event_exists(struct db *db, const char *slug)
{
    const char *params[] = {slug};
    char *error = NULL;
    PGresult *res =
        db_exec(db, "SELECT status FROM events WHERE slug = lower($1)", 1, params, &error);
    free(error);
    enum event_outcome outcome =
        res && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "cancelled") == 0
            ? EVENT_CANCELLED
            : EVENT_NOT_FOUND;
    PQclear(res);
    return outcome;
}

static enum event_outcome notify_and_commit(struct db *db, const struct actor *actor,
                                            int64_t event_id, const char *kind, const char *note,
                                            int *notified_r, char **error_r)
{
    *notified_r = 0;
    if (scheduler_event_changed(db, event_id, kind, note, notified_r, error_r) < 0 ||
        record(db, actor, event_id, strcmp(kind, "moved") == 0 ? "event_moved" : "event_cancelled",
               *notified_r, error_r) < 0 ||
        db_commit(db, error_r) < 0)
        return failed(db);
    return EVENT_OK;
}

/* Inside the transaction the caller began: apply `sql` (an UPDATE of one scheduled event,
 * RETURNING its id), then tell everyone who said yes (`change`: "moved", "cancelled") and
 * commit. No such scheduled event: rolled back, and refused with the reason. */
static enum event_outcome change_and_notify(struct db *db, const struct actor *actor,
                                            const char *slug, const char *sql, int nparams,
                                            const char *const *params, const char *change,
                                            const char *note, int *notified_r, char **error_r)
{
    PGresult *res = db_exec(db, sql, nparams, params, error_r);
    if (!res)
        return failed(db);
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        return refuse(event_exists(db, slug), error_r, "no scheduled event %s", slug);
    }
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return notify_and_commit(db, actor, id, change, note, notified_r, error_r);
}

enum event_outcome event_move(struct db *db, const struct actor *actor, const char *slug,
                              const char *starts, const char *timezone, const char *note,
                              int *notified_r, char **error_r)
{
    return event_move_to(db, actor, slug, starts, timezone, NULL, false, note, notified_r, error_r);
}

/* The zone a move reads its start in: the one given, else the event's own. NULL (and
 * *outcome_r) when the zone is unknown or the event is not there. Caller frees. */
static char *move_zone(struct db *db, const char *slug, const char *timezone,
                       enum event_outcome *outcome_r, char **error_r)
{
    const char *params[] = {slug, timezone};
    PGresult *res = db_exec(db,
                            "SELECT coalesce($2, e.timezone),"
                            " $2::text IS NULL OR EXISTS (SELECT 1 FROM pg_timezone_names"
                            "  WHERE name = $2)"
                            " FROM events e WHERE e.slug = lower($1)",
                            2, params, error_r);
    if (!res) {
        *outcome_r = EVENT_FAILED;
        return NULL;
    }
    char *zone = NULL;
    if (PQntuples(res) == 0)
        *outcome_r = refuse(EVENT_NOT_FOUND, error_r, "no scheduled event %s", slug);
    else if (PQgetvalue(res, 0, 1)[0] != 't')
        *outcome_r = refuse(EVENT_INVALID, error_r, "unknown time zone %s", timezone);
    else
        zone = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return zone;
}

enum event_outcome event_move_to(struct db *db, const struct actor *actor, const char *slug,
                                 const char *starts, const char *timezone, const char *location,
                                 bool past, const char *note, int *notified_r, char **error_r)
{
    *notified_r = 0;
    if (note && strlen(note) > EVENT_NOTE_MAX)
        return refuse(EVENT_INVALID, error_r, "a note is at most %d bytes", EVENT_NOTE_MAX);
    if (!starts)
        return refuse(EVENT_INVALID, error_r, "moving an event needs starts: " STARTS_FORMAT);
    enum event_outcome outcome = EVENT_OK;
    char *zone = move_zone(db, slug, timezone, &outcome, error_r);
    if (!zone)
        return outcome;
    outcome = check_starts(db, starts, zone, past, error_r);
    free(zone);
    if (outcome != EVENT_OK)
        return outcome;
    if (db_begin(db, error_r) < 0)
        return EVENT_FAILED;
    const char *params[] = {slug, starts, timezone, location};
    return change_and_notify(db, actor, slug,
                             "UPDATE events SET timezone = coalesce($3, timezone),"
                             " starts_at = $2::timestamp AT TIME ZONE coalesce($3, timezone),"
                             " location = coalesce($4, location)"
                             " WHERE slug = lower($1) AND status = 'scheduled' RETURNING id",
                             4, params, "moved", note, notified_r, error_r);
}

enum event_outcome event_cancel(struct db *db, const struct actor *actor, const char *slug,
                                const char *note, int *notified_r, char **error_r)
{
    *notified_r = 0;
    if (note && strlen(note) > EVENT_NOTE_MAX)
        return refuse(EVENT_INVALID, error_r, "a note is at most %d bytes", EVENT_NOTE_MAX);
    if (db_begin(db, error_r) < 0)
        return EVENT_FAILED;
    const char *params[] = {slug};
    return change_and_notify(db, actor, slug,
                             "UPDATE events SET status = 'cancelled' WHERE slug = lower($1)"
                             " AND status = 'scheduled' RETURNING id",
                             1, params, "cancelled", note, notified_r, error_r);
}
