#include "campaigns/scheduler.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/daemon.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "campaigns/campaign.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Arbitrary constant naming the scheduler among advisory locks (migrate uses 7310473610). */
#define SCHEDULER_LOCK 731047361

/* Rows a query takes at once, and how long one round may keep going batch after batch. */
#define BATCH           "500"
#define BATCH_ROWS      500
#define ROUND_BUDGET_MS 20000

int scheduler_reminder_offsets(const char *text, long offsets_r[SCHEDULER_MAX_OFFSETS])
{
    int n = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (!isdigit((unsigned char)*p) || n == SCHEDULER_MAX_OFFSETS)
            return -1;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        long unit = *end == 'd' ? 86400 : *end == 'h' ? 3600 : *end == 'm' ? 60 : 0;
        if (errno || !unit || v <= 0 || v > 366L * 24 * 60)
            return -1;
        long seconds = v * unit;
        p = end + 1;
        if (*p && *p != ',' && *p != ' ')
            return -1;
        /* Insert in descending order, dropping duplicates ("1d,24h"). */
        int i = 0;
        while (i < n && offsets_r[i] > seconds)
            i++;
        if (i < n && offsets_r[i] == seconds)
            continue;
        memmove(&offsets_r[i + 1], &offsets_r[i], (size_t)(n - i) * sizeof(long));
        offsets_r[i] = seconds;
        n++;
    }
    return n;
}

static const char *id_text(int64_t id, char slot[24])
{
    if (!id)
        return NULL;
    snprintf(slot, 24, "%" PRId64, id);
    return slot;
}

/*
 * One automatic message, rendered now from a named template in the person's locale and
 * enqueued in the caller's transaction. next_attempt_at respects the person's quiet hours,
 * unless that would push it past `deadline` (an event's start): a reminder held until after
 * the event is worth less than one that arrives in the evening.
 */
struct automatic {
    const char *template_name;
    const char *kind;
    const char *dedupe_key;
    const char *context; /* JSON text */
    const char *locale;
    const char *timezone;
    const char *deadline; /* timestamptz text or NULL */
    const char *contact_kind;
    const char *address;
    int64_t person_id, contact_id, scope;
};

static int enqueue_automatic(struct db *db, const struct automatic *a, const json_t *vars,
                             bool *created_r, char **error_r)
{
    struct rendered_message m;
    if (template_message(a->template_name, a->locale, vars, &m, error_r) < 0)
        return -1;
    bool sms = strcmp(a->contact_kind, "phone") == 0;
    char person[24], contact[24], scope[24];
    const char *params[] = {sms ? "sms" : "email",
                            a->address,
                            sms ? "" : m.subject,
                            sms ? m.sms : m.text,
                            a->kind,
                            a->dedupe_key,
                            a->context ? a->context : "{}",
                            id_text(a->person_id, person),
                            id_text(a->contact_id, contact),
                            id_text(a->scope, scope),
                            a->timezone,
                            campaign_quiet_hours(),
                            a->deadline};
    PGresult *res = db_exec(
        db,
        "INSERT INTO outbound_messages (channel, recipient, subject, body, kind, dedupe_key,"
        " context, person_id, contact_id, scope, next_attempt_at)"
        " SELECT $1, $2, $3, $4, $5, $6, $7::jsonb, $8::bigint, $9::bigint, $10::bigint,"
        "  CASE WHEN $13::timestamptz IS NOT NULL"
        "   AND q.at > $13::timestamptz - interval '30 minutes' THEN q.now ELSE q.at END"
        " FROM (SELECT tocsin_now() AS now, quiet_release(tocsin_now(), $11, $12) AS at) q"
        " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        13, params, error_r);
    template_message_release(&m);
    if (!res)
        return -1;
    *created_r = PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

/* Enqueue `name` (template and kind) for row i of an event-RSVP query, whose columns are
 * 2 timezone, 4 contact kind, 5 address, 12 deadline: reminders and event notices share
 * that row layout. */
static int enqueue_event_row(struct db *db, const PGresult *res, int i, const char *name,
                             const char *dedupe, const char *context, const char *locale,
                             int64_t person, int64_t contact, int64_t team, const json_t *vars,
                             bool *created_r, char **error_r)
{
    struct automatic a = {.template_name = name,
                          .kind = name,
                          .dedupe_key = dedupe,
                          .context = context,
                          .locale = locale,
                          .timezone = PQgetvalue(res, i, 2),
                          .deadline = PQgetvalue(res, i, 12),
                          .contact_kind = PQgetvalue(res, i, 4),
                          .address = PQgetvalue(res, i, 5),
                          .person_id = person,
                          .contact_id = contact,
                          .scope = team};
    return enqueue_automatic(db, &a, vars, created_r, error_r);
}

/* The event as templates see it: {id, slug, title, when, location}. */
static json_t *event_vars(const PGresult *res, int row, int first_col, const char *locale)
{
    /* Columns from first_col: id, slug, title, to_char fields, location. */
    char *when = campaign_format_time(PQgetvalue(res, row, first_col + 3), locale);
    json_t *e =
        json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
                  (json_int_t)strtoll(PQgetvalue(res, row, first_col), NULL, 10), "slug",
                  PQgetvalue(res, row, first_col + 1), "title", PQgetvalue(res, row, first_col + 2),
                  "when", when, "location", PQgetvalue(res, row, first_col + 4));
    free(when);
    return e;
}

/* Reminders whose moment came for offset `offset` (the next smaller offset is `next`, 0
 * for the last): the window [start - offset, start - next). Only the window the clock is
 * in counts, so a scheduler that was down, or an RSVP given late, gets the nearest
 * reminder and not every missed one at once; and an event created after a reminder's
 * moment does not get that reminder. */
static int reminders_for_offset(struct db *db, long offset, long next, int *count_r, int *rows_r,
                                char **error_r)
{
    char off[24], nxt[24];
    snprintf(off, sizeof(off), "%ld", offset);
    snprintf(nxt, sizeof(nxt), "%ld", next);
    const char *params[] = {off, nxt};
    PGresult *res = db_exec(
        db,
        "SELECT p.id, p.locale, p.timezone, ct.id, ct.kind, ct.address, coalesce(e.team_id, 0),"
        " e.id, e.slug, e.title, to_char(e.starts_at AT TIME ZONE e.timezone,"
        "  'YYYY MM DD HH24 MI ID'), coalesce(e.location, ''), e.starts_at"
        " FROM events e JOIN rsvps r ON r.event_id = e.id AND r.status = 'yes'"
        " JOIN people p ON p.id = r.person_id"
        " CROSS JOIN LATERAL (SELECT c.id, c.kind, c.address FROM contacts c"
        "  WHERE c.person_id = p.id AND consent_allows(CASE c.kind WHEN 'phone' THEN 'sms'"
        "   ELSE 'email' END, c.address, e.team_id)"
        "  ORDER BY (c.kind = CASE p.channel WHEN 'sms' THEN 'phone' ELSE 'email' END) DESC,"
        "   c.id LIMIT 1) ct"
        " WHERE e.status = 'scheduled'"
        "  AND e.starts_at - make_interval(secs => $1::int) <= tocsin_now()"
        "  AND e.starts_at - make_interval(secs => $2::int) > tocsin_now()"
        "  AND e.created_at <= e.starts_at - make_interval(secs => $1::int)"
        "  AND NOT EXISTS (SELECT 1 FROM outbound_messages o WHERE o.dedupe_key ="
        "   'reminder:' || e.id || ':' || p.id || ':' || $1::int)"
        "  AND NOT EXISTS (SELECT 1 FROM memberships pm WHERE pm.person_id = p.id"
        "   AND pm.status = 'pending' AND NOT EXISTS (SELECT 1 FROM memberships am"
        "   WHERE am.person_id = p.id AND am.status = 'active'))"
        " ORDER BY e.starts_at, p.id LIMIT " BATCH,
        2, params, error_r);
    if (!res)
        return -1;
    *rows_r += PQntuples(res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !daemon_stopping(); i++) {
        int64_t person = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        int64_t contact = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        int64_t team = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        const char *locale = PQgetvalue(res, i, 1);
        json_t *vars = NULL;
        if (campaign_person_vars(db, person, contact, team, &vars, error_r) < 0) {
            rc = -1;
            break;
        }
        json_object_set_new(vars, "event", event_vars(res, i, 7, locale));
        json_object_set_new(vars, "hours_before", json_integer(offset / 3600));
        char *dedupe =
            xasprintf("reminder:%s:%" PRId64 ":%ld", PQgetvalue(res, i, 7), person, offset);
        char *context =
            xasprintf("{\"event_id\": %s, \"prompt\": \"rsvp\"}", PQgetvalue(res, i, 7));
        bool created = false;
        int r = enqueue_event_row(db, res, i, "reminder", dedupe, context, locale, person, contact,
                                  team, vars, &created, error_r);
        free(dedupe);
        free(context);
        json_decref(vars);
        if (r < 0) {
            rc = -1;
            break;
        }
        *count_r += created;
    }
    PQclear(res);
    return rc;
}

static int run_reminders(struct db *db, int *count_r, int *rows_r, char **error_r)
{
    long offsets[SCHEDULER_MAX_OFFSETS];
    int n = scheduler_reminder_offsets(config_str("engine", "reminders"), offsets);
    if (n < 0) {
        *error_r = xasprintf("[engine] reminders = %s: expected offsets like 24h,2h,90m",
                             config_str("engine", "reminders"));
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (reminders_for_offset(db, offsets[i], i + 1 < n ? offsets[i + 1] : 0, count_r, rows_r,
                                 error_r) < 0)
            return -1;
    return 0;
}

/* ---- digests ---- */

static int digest_items(struct db *db, const char *person, const char *since, const char *locale,
                        json_t **items_r, json_t **event_ids_r, char **error_r)
{
    const char *params[] = {person, since};
    /* New upcoming events first (they can be answered), then newcomers, then organisers'
     * messages; all from the teams the person is an active member of. */
    PGresult *res = db_exec(
        db,
        "SELECT kind, event_id, title, when_fields, team, detail FROM ("
        " SELECT 1 AS ord, 'event' AS kind, e.id AS event_id, e.title,"
        "  to_char(e.starts_at AT TIME ZONE e.timezone, 'YYYY MM DD HH24 MI ID') AS when_fields,"
        "  t.name AS team, coalesce(e.location, '') AS detail, e.starts_at AS sort"
        " FROM events e JOIN teams t ON t.id = e.team_id"
        " JOIN memberships m ON m.team_id = e.team_id AND m.person_id = $1::bigint"
        "  AND m.status = 'active'"
        " WHERE e.status = 'scheduled' AND e.created_at > $2::timestamptz"
        "  AND e.starts_at > tocsin_now()"
        " UNION ALL"
        " SELECT 2, 'members', NULL, '', '', t.name, count(*)::text, min(nm.created_at)"
        " FROM memberships nm JOIN teams t ON t.id = nm.team_id"
        " JOIN memberships m ON m.team_id = nm.team_id AND m.person_id = $1::bigint"
        "  AND m.status = 'active'"
        " WHERE nm.status = 'active' AND nm.created_at > $2::timestamptz"
        "  AND nm.person_id <> $1::bigint GROUP BY t.name"
        " UNION ALL"
        " SELECT 3, 'message', NULL, '', '', t.name, a.payload->>'text', a.created_at"
        " FROM activity a JOIN teams t ON t.id = a.team_id"
        " JOIN memberships m ON m.team_id = a.team_id AND m.person_id = $1::bigint"
        "  AND m.status = 'active'"
        " WHERE a.kind = 'organiser_message' AND a.created_at > $2::timestamptz"
        ") x ORDER BY ord, sort LIMIT 20",
        2, params, error_r);
    if (!res)
        return -1;
    json_t *items = json_array(), *ids = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *kind = PQgetvalue(res, i, 0);
        json_t *item = json_pack("{s:i, s:s, s:s}", "number", i + 1, "team", PQgetvalue(res, i, 4),
                                 "kind", kind);
        if (strcmp(kind, "event") == 0) {
            char *when = campaign_format_time(PQgetvalue(res, i, 3), locale);
            json_object_set_new(item, "is_event", json_true());
            json_object_set_new(item, "title", json_string(PQgetvalue(res, i, 2)));
            json_object_set_new(item, "when", json_string(when));
            json_object_set_new(item, "location", json_string(PQgetvalue(res, i, 5)));
            free(when);
            json_array_append_new(ids, json_integer(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
        } else {
            json_object_set_new(item, strcmp(kind, "members") == 0 ? "is_members" : "is_message",
                                json_true());
            json_object_set_new(item, strcmp(kind, "members") == 0 ? "count" : "text",
                                json_string(PQgetvalue(res, i, 5)));
            json_array_append_new(ids, json_null());
        }
        json_array_append_new(items, item);
    }
    PQclear(res);
    *items_r = items;
    *event_ids_r = ids;
    return 0;
}

static int digest_one(struct db *db, const PGresult *due, int row, int *count_r, char **error_r)
{
    const char *person = PQgetvalue(due, row, 0), *locale = PQgetvalue(due, row, 1);
    int64_t person_id = strtoll(person, NULL, 10);
    json_t *items = NULL, *ids = NULL, *vars = NULL;
    char *context = NULL, *dedupe = NULL;
    if (db_begin(db, error_r) < 0)
        return -1;
    if (digest_items(db, person, PQgetvalue(due, row, 3), locale, &items, &ids, error_r) < 0)
        goto fail;
    /* Nothing new, or no way to reach them: nothing is sent, the period starts again. */
    if (json_array_size(items) > 0 && db_value(due, row, 4)) {
        int64_t contact = strtoll(PQgetvalue(due, row, 4), NULL, 10);
        if (campaign_person_vars(db, person_id, contact, 0, &vars, error_r) < 0)
            goto fail;
        json_object_set(vars, "items", items);
        json_t *ctx = json_pack("{s:O, s:s}", "digest_items", ids, "prompt", "digest");
        context = json_dumps(ctx, JSON_COMPACT);
        json_decref(ctx);
        dedupe = xasprintf("digest:%s:%s", person, PQgetvalue(due, row, 7));
        struct automatic a = {.template_name = "digest",
                              .kind = "digest",
                              .dedupe_key = dedupe,
                              .context = context,
                              .locale = locale,
                              .timezone = PQgetvalue(due, row, 2),
                              .contact_kind = PQgetvalue(due, row, 5),
                              .address = PQgetvalue(due, row, 6),
                              .person_id = person_id,
                              .contact_id = contact};
        bool created = false;
        if (enqueue_automatic(db, &a, vars, &created, error_r) < 0)
            goto fail;
        *count_r += created;
    }
    const char *params[] = {person};
    if (db_run(db,
               "INSERT INTO digest_state (person_id, last_at) VALUES ($1, tocsin_now())"
               " ON CONFLICT (person_id) DO UPDATE SET last_at = excluded.last_at",
               1, params, error_r) < 0 ||
        db_commit(db, error_r) < 0)
        goto fail;
    json_decref(items);
    json_decref(ids);
    json_decref(vars);
    free(context);
    free(dedupe);
    return 0;
fail:
    db_rollback(db);
    json_decref(items);
    json_decref(ids);
    json_decref(vars);
    free(context);
    free(dedupe);
    return -1;
}

static int run_digests(struct db *db, int *count_r, int *rows_r, char **error_r)
{
    /* Due: the last digest is a period old; someone new gets their first one a period
     * after they arrived (not at the first round after an import), covering that period.
     * The contact is the preferred channel the person has not left. */
    /* The period is the person's choice, else their teams', else [engine] digest_default
     * (person_digest(), migration 0060). */
    const char *params[] = {config_str("engine", "digest_default")};
    PGresult *res = db_exec(
        db,
        "SELECT p.id, p.locale, p.timezone,"
        " coalesce(d.last_at, tocsin_now() - CASE g.digest WHEN 'daily' THEN interval '1 day'"
        "  ELSE interval '7 days' END),"
        " ct.id, ct.kind, ct.address, to_char(tocsin_now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        " FROM people p LEFT JOIN digest_state d ON d.person_id = p.id"
        " CROSS JOIN LATERAL (SELECT person_digest(p.id, p.digest, $1) AS digest) g"
        " LEFT JOIN LATERAL (SELECT c.id, c.kind, c.address FROM contacts c"
        "  WHERE c.person_id = p.id AND consent_allows(CASE c.kind WHEN 'phone' THEN 'sms'"
        "   ELSE 'email' END, c.address, NULL)"
        "  ORDER BY (c.kind = CASE p.channel WHEN 'sms' THEN 'phone' ELSE 'email' END) DESC,"
        "   c.id LIMIT 1) ct ON true"
        " WHERE g.digest <> 'never'"
        "  AND coalesce(d.last_at, p.created_at) <= tocsin_now() - CASE g.digest"
        "   WHEN 'daily' THEN interval '1 day' ELSE interval '7 days' END"
        "  AND EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id"
        "   AND m.status = 'active')"
        " ORDER BY p.id LIMIT " BATCH,
        1, params, error_r);
    if (!res)
        return -1;
    *rows_r = PQntuples(res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !daemon_stopping(); i++)
        if (digest_one(db, res, i, count_r, error_r) < 0) {
            rc = -1;
            break;
        }
    PQclear(res);
    return rc;
}

/* ---- one round ---- */

int scheduler_tick(struct db *db, struct scheduler_report *report, char **error_r)
{
    memset(report, 0, sizeof(*report));
    PGresult *res =
        db_exec(db,
                "SELECT id FROM campaigns WHERE (status = 'scheduled'"
                " AND scheduled_at <= tocsin_now())"
                " OR (status = 'sending' AND started_at IS NOT NULL AND NOT fanout_done)"
                " ORDER BY id LIMIT 100",
                0, NULL, error_r);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res) && !daemon_stopping(); i++) {
        int64_t enqueued = 0;
        char *error = NULL;
        int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        /* One campaign that cannot fan out (a team deleted since) must not stop the rest. */
        if (campaign_fanout(db, id, NULL, &enqueued, &error) < 0) {
            log_warn("campaign_fanout_failed", "campaign=%" PRId64 " error=%s", id, log_q(error));
            free(error);
            if (db_lost(db)) {
                PQclear(res);
                *error_r = xstrdup("database connection lost");
                return -1;
            }
            continue;
        }
        report->campaigns++;
    }
    PQclear(res);
    res = db_exec(db,
                  "UPDATE campaigns c SET status = 'sent', finished_at = tocsin_now()"
                  " WHERE c.status = 'sending' AND c.fanout_done AND NOT EXISTS"
                  " (SELECT 1 FROM outbound_messages o WHERE o.campaign_id = c.id"
                  "  AND o.status IN ('queued', 'sending'))",
                  0, NULL, error_r);
    if (!res)
        return -1;
    report->finished = atoi(PQcmdTuples(res));
    PQclear(res);
    /* Batch after batch until the work is done or the round's time is up; the next round
     * goes on. A batch of reminders that created nothing (another scheduler raced us to
     * them) ends the loop rather than spin. */
    int64_t deadline = now_monotonic_ms() + ROUND_BUDGET_MS;
    int rows, before;
    do {
        rows = 0;
        before = report->reminders;
        if (run_reminders(db, &report->reminders, &rows, error_r) < 0)
            return -1;
    } while (rows >= BATCH_ROWS && report->reminders > before && now_monotonic_ms() < deadline &&
             !daemon_stopping());
    do {
        rows = 0;
        if (run_digests(db, &report->digests, &rows, error_r) < 0)
            return -1;
    } while (rows >= BATCH_ROWS && now_monotonic_ms() < deadline && !daemon_stopping());
    if (report->campaigns || report->reminders || report->digests || report->finished)
        log_info("scheduler_tick", "campaigns=%d finished=%d reminders=%d digests=%d",
                 report->campaigns, report->finished, report->reminders, report->digests);
    return 0;
}

/* ---- event changes ---- */

int scheduler_event_changed(struct db *db, int64_t event_id, const char *kind, int *notified_r,
                            char **error_r)
{
    *notified_r = 0;
    char slot[24];
    const char *params[] = {id_text(event_id, slot)};
    PGresult *res = db_exec(
        db,
        "SELECT p.id, p.locale, p.timezone, ct.id, ct.kind, ct.address, coalesce(e.team_id, 0),"
        " e.id, e.slug, e.title, to_char(e.starts_at AT TIME ZONE e.timezone,"
        "  'YYYY MM DD HH24 MI ID'), coalesce(e.location, ''), e.starts_at,"
        " extract(epoch FROM e.starts_at)::bigint"
        " FROM events e JOIN rsvps r ON r.event_id = e.id AND r.status = 'yes'"
        " JOIN people p ON p.id = r.person_id"
        " CROSS JOIN LATERAL (SELECT c.id, c.kind, c.address FROM contacts c"
        "  WHERE c.person_id = p.id AND consent_allows(CASE c.kind WHEN 'phone' THEN 'sms'"
        "   ELSE 'email' END, c.address, e.team_id)"
        "  ORDER BY (c.kind = CASE p.channel WHEN 'sms' THEN 'phone' ELSE 'email' END) DESC,"
        "   c.id LIMIT 1) ct"
        " WHERE e.id = $1 ORDER BY p.id",
        1, params, error_r);
    if (!res)
        return -1;
    bool moved = strcmp(kind, "moved") == 0;
    int rc = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t person = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        int64_t contact = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        int64_t team = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        const char *locale = PQgetvalue(res, i, 1);
        json_t *vars = NULL;
        if (campaign_person_vars(db, person, contact, team, &vars, error_r) < 0) {
            rc = -1;
            break;
        }
        json_object_set_new(vars, "event", event_vars(res, i, 7, locale));
        char *dedupe =
            moved ? xasprintf("event_moved:%s:%" PRId64 ":%s", PQgetvalue(res, i, 7), person,
                              PQgetvalue(res, i, 13))
                  : xasprintf("event_cancelled:%s:%" PRId64, PQgetvalue(res, i, 7), person);
        char *context =
            moved ? xasprintf("{\"event_id\": %s, \"prompt\": \"rsvp\"}", PQgetvalue(res, i, 7))
                  : xasprintf("{\"event_id\": %s}", PQgetvalue(res, i, 7));
        bool created = false;
        int r = enqueue_event_row(db, res, i, moved ? "event_moved" : "event_cancelled", dedupe,
                                  context, locale, person, contact, team, vars, &created, error_r);
        free(dedupe);
        free(context);
        json_decref(vars);
        if (r < 0) {
            rc = -1;
            break;
        }
        *notified_r += created;
    }
    PQclear(res);
    return rc;
}

/* ---- the daemon duty ---- */

static pthread_t thread;
static bool thread_started;
static atomic_bool stop_requested;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

/* Whether this connection holds the scheduler lock, taking it if free. A reopened
 * connection lost it, so the question is asked of the server every tick. */
static int hold_lock(struct db *db, bool *held_r, char **error_r)
{
    PGresult *res = db_exec(db,
                            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks"
                            " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                            " AND classid = 0 AND objid = 731047361 AND objsubid = 1)"
                            " THEN true ELSE pg_try_advisory_lock(731047361) END",
                            0, NULL, error_r);
    if (!res)
        return -1;
    *held_r = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return 0;
}

static void *scheduler_main(void *arg)
{
    (void)arg;
    char *url = config_database_url();
    struct db *db = NULL;
    bool was_held = false;
    long interval = config_int("engine", "scheduler_interval");
    while (!atomic_load(&stop_requested)) {
        char *error = NULL;
        if (!db && !(db = db_open(url, &error))) {
            log_warn("scheduler_db", "error=%s", log_q(error));
            free(error);
        } else {
            bool held = false;
            if (hold_lock(db, &held, &error) < 0) {
                log_warn("scheduler_lock", "error=%s", log_q(error));
                free(error);
            } else {
                if (held != was_held)
                    log_info(held ? "scheduler_active" : "scheduler_standby", "lock=%d",
                             SCHEDULER_LOCK);
                was_held = held;
                struct scheduler_report report;
                if (held && scheduler_tick(db, &report, &error) < 0) {
                    log_warn("scheduler_tick_failed", "error=%s", log_q(error));
                    free(error);
                    db_rollback(db);
                }
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval;
        pthread_mutex_lock(&wake_lock);
        while (!atomic_load(&stop_requested) &&
               pthread_cond_timedwait(&wake, &wake_lock, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&wake_lock);
    }
    db_close(&db); /* closing the session releases the advisory lock */
    free(url);
    return NULL;
}

int scheduler_start(char **error_r)
{
    long offsets[SCHEDULER_MAX_OFFSETS];
    if (scheduler_reminder_offsets(config_str("engine", "reminders"), offsets) < 0) {
        *error_r = xasprintf("[engine] reminders = %s: expected offsets like 24h,2h,90m",
                             config_str("engine", "reminders"));
        return -1;
    }
    if (!campaign_quiet_valid(config_str("engine", "quiet_hours"))) {
        *error_r = xasprintf("[engine] quiet_hours = %s: expected HH:MM-HH:MM or off",
                             config_str("engine", "quiet_hours"));
        return -1;
    }
    atomic_store(&stop_requested, false);
    if (pthread_create(&thread, NULL, scheduler_main, NULL) != 0) {
        *error_r = xstrdup("cannot start the scheduler thread");
        return -1;
    }
    thread_started = true;
    return 0;
}

void scheduler_stop(void)
{
    if (!thread_started)
        return;
    pthread_mutex_lock(&wake_lock);
    atomic_store(&stop_requested, true);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&wake_lock);
    pthread_join(thread, NULL);
    thread_started = false;
}
