#include "campaigns/scheduler.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/database.h"
#include "core/upkeep.h"
#include "core/daemon.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "outbound/queue.h"
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

/* When an automatic message may leave (timestamptz text, caller frees): after the
 * person's quiet hours, or now when that would be within 30 minutes of `deadline`. */
static char *release_time(struct db *db, const char *timezone, const char *deadline, char **error_r)
{
    const char *params[] = {timezone, campaign_quiet_hours(), deadline};
    PGresult *res = db_exec(db,
                            "SELECT CASE WHEN $3::timestamptz IS NOT NULL"
                            "  AND q.at > $3::timestamptz - interval '30 minutes'"
                            "  THEN q.now ELSE q.at END"
                            " FROM (SELECT tocsin_now() AS now,"
                            "  quiet_release(tocsin_now(), $1, $2) AS at) q",
                            3, params, error_r);
    if (!res)
        return NULL;
    char *at = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return at;
}

static int enqueue_automatic(struct db *db, const struct automatic *a, const json_t *vars,
                             bool *created_r, char **error_r)
{
    struct rendered_message m;
    if (template_message(a->template_name, a->locale, vars, &m, error_r) < 0)
        return -1;
    int rc = -1;
    char *not_before = release_time(db, a->timezone, a->deadline, error_r);
    if (!not_before)
        goto out;
    bool sms = strcmp(a->contact_kind, "phone") == 0;
    struct queue_new q = {.channel = sms ? "sms" : "email",
                          .recipient = a->address,
                          .subject = sms ? NULL : m.subject,
                          .body = sms ? m.sms : m.text,
                          .kind = a->kind,
                          .dedupe_key = a->dedupe_key,
                          .context = a->context,
                          .person_id = a->person_id,
                          .contact_id = a->contact_id,
                          .scope = a->scope,
                          .not_before = not_before};
    rc = queue_enqueue(db, &q, NULL, created_r, error_r);
out:
    free(not_before);
    template_message_release(&m);
    return rc;
}

/* The people who said yes to an event, each with the contact a message about it goes to
 * (contact_choice(): their stated channel, else the one they answered on, else email; the
 * other when that one is opted out), and the event as templates show it. Reminders and event
 * notices read these rows; the caller adds WHERE, ORDER BY and LIMIT. */
#define RSVP_ROWS_SQL                                                                              \
    "SELECT p.id, p.locale, p.timezone, ct.id, ct.kind, ct.address, coalesce(e.team_id, 0),"       \
    " e.id, e.slug, e.title, to_char(e.starts_at AT TIME ZONE e.timezone,"                         \
    "  'YYYY MM DD HH24 MI ID'), coalesce(e.location, ''), e.starts_at,"                           \
    " extract(epoch FROM e.starts_at)::bigint"                                                     \
    " FROM events e JOIN rsvps r ON r.event_id = e.id AND r.status = 'yes'"                        \
    " JOIN people p ON p.id = r.person_id"                                                         \
    " CROSS JOIN LATERAL contact_choice(p.id, coalesce(p.channel, r.channel), e.team_id) ct"

/* Columns of RSVP_ROWS_SQL, in order. */
enum {
    RSVP_PERSON,
    RSVP_LOCALE,
    RSVP_TIMEZONE,
    RSVP_CONTACT,
    RSVP_CONTACT_KIND,
    RSVP_ADDRESS,
    RSVP_TEAM, /* 0: none */
    RSVP_EVENT,
    RSVP_EVENT_SLUG,
    RSVP_EVENT_TITLE,
    RSVP_EVENT_WHEN, /* to_char fields campaign_format_time() reads */
    RSVP_EVENT_LOCATION,
    RSVP_EVENT_STARTS_AT,
    RSVP_EVENT_EPOCH
};

/* The event of row i of an RSVP_ROWS_SQL result as templates see it:
 * {id, slug, title, when, location}. */
static json_t *event_vars(const PGresult *res, int i, const char *locale)
{
    char *when = campaign_format_time(PQgetvalue(res, i, RSVP_EVENT_WHEN), locale);
    json_t *e = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
                          (json_int_t)strtoll(PQgetvalue(res, i, RSVP_EVENT), NULL, 10), "slug",
                          PQgetvalue(res, i, RSVP_EVENT_SLUG), "title",
                          PQgetvalue(res, i, RSVP_EVENT_TITLE), "when", when, "location",
                          PQgetvalue(res, i, RSVP_EVENT_LOCATION));
    free(when);
    return e;
}

/* Enqueue `name` (template and kind) about the event to the person of row i of an
 * RSVP_ROWS_SQL result, held by quiet hours no later than the event's start.
 * `hours_before`, when not negative, is a template variable (reminders). */
static int enqueue_rsvp_row(struct db *db, const PGresult *res, int i, const char *name,
                            const char *dedupe, const char *context, long hours_before,
                            const char *note, bool *created_r, char **error_r)
{
    int64_t person = strtoll(PQgetvalue(res, i, RSVP_PERSON), NULL, 10);
    int64_t contact = strtoll(PQgetvalue(res, i, RSVP_CONTACT), NULL, 10);
    int64_t team = strtoll(PQgetvalue(res, i, RSVP_TEAM), NULL, 10);
    const char *locale = PQgetvalue(res, i, RSVP_LOCALE);
    json_t *vars = NULL;
    if (campaign_person_vars(db, person, contact, team, &vars, error_r) < 0)
        return -1;
    json_object_set_new(vars, "event", event_vars(res, i, locale));
    if (hours_before >= 0)
        json_object_set_new(vars, "hours_before", json_integer(hours_before));
    if (note && *note)
        json_object_set_new(vars, "note", json_string(note));
    struct automatic a = {.template_name = name,
                          .kind = name,
                          .dedupe_key = dedupe,
                          .context = context,
                          .locale = locale,
                          .timezone = PQgetvalue(res, i, RSVP_TIMEZONE),
                          .deadline = PQgetvalue(res, i, RSVP_EVENT_STARTS_AT),
                          .contact_kind = PQgetvalue(res, i, RSVP_CONTACT_KIND),
                          .address = PQgetvalue(res, i, RSVP_ADDRESS),
                          .person_id = person,
                          .contact_id = contact,
                          .scope = team};
    int rc = enqueue_automatic(db, &a, vars, created_r, error_r);
    json_decref(vars);
    return rc;
}

/* Reminders whose moment came for offset `offset` (the next smaller offset is `next`, 0
 * for the last): the window [start - offset, start - next). Only the window the clock is
 * in counts, so a scheduler that was down, or an RSVP given late, gets the nearest
 * reminder and not every missed one at once; and an event created after a reminder's
 * moment does not get that reminder. */
static int reminders_for_offset(struct db *db, long offset, long next, int *count_r, int *rows_r,
                                char **error_r)
{
    char off[DB_PARAM_SIZE], nxt[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(offset, off), db_param_int(next, nxt)};
    PGresult *res = db_exec(
        db,
        RSVP_ROWS_SQL " WHERE e.status = 'scheduled'"
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
    for (int i = 0; i < PQntuples(res) && rc == 0 && !daemon_stopping(); i++) {
        const char *event = PQgetvalue(res, i, RSVP_EVENT);
        char *dedupe =
            xasprintf("reminder:%s:%s:%ld", event, PQgetvalue(res, i, RSVP_PERSON), offset);
        char *context = xasprintf("{\"event_id\": %s, \"prompt\": \"rsvp\"}", event);
        bool created = false;
        rc = enqueue_rsvp_row(db, res, i, "reminder", dedupe, context, offset / 3600, NULL,
                              &created, error_r);
        free(dedupe);
        free(context);
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

/* Columns of the digest items query, in order. */
enum { ITEM_KIND, ITEM_EVENT, ITEM_TITLE, ITEM_WHEN, ITEM_TEAM, ITEM_DETAIL };

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
        const char *kind = PQgetvalue(res, i, ITEM_KIND);
        json_t *item = json_pack("{s:i, s:s, s:s}", "number", i + 1, "team",
                                 PQgetvalue(res, i, ITEM_TEAM), "kind", kind);
        if (strcmp(kind, "event") == 0) {
            char *when = campaign_format_time(PQgetvalue(res, i, ITEM_WHEN), locale);
            json_object_set_new(item, "is_event", json_true());
            json_object_set_new(item, "title", json_string(PQgetvalue(res, i, ITEM_TITLE)));
            json_object_set_new(item, "when", json_string(when));
            json_object_set_new(item, "location", json_string(PQgetvalue(res, i, ITEM_DETAIL)));
            free(when);
            json_array_append_new(ids,
                                  json_integer(strtoll(PQgetvalue(res, i, ITEM_EVENT), NULL, 10)));
        } else {
            json_object_set_new(item, strcmp(kind, "members") == 0 ? "is_members" : "is_message",
                                json_true());
            json_object_set_new(item, strcmp(kind, "members") == 0 ? "count" : "text",
                                json_string(PQgetvalue(res, i, ITEM_DETAIL)));
            json_array_append_new(ids, json_null());
        }
        json_array_append_new(items, item);
    }
    PQclear(res);
    *items_r = items;
    *event_ids_r = ids;
    return 0;
}

/* Columns of the query for people whose digest is due, in order: since = the start of
 * the period the digest covers, day = today in UTC (the dedupe key's part). */
enum {
    DUE_PERSON,
    DUE_LOCALE,
    DUE_TIMEZONE,
    DUE_SINCE,
    DUE_CONTACT, /* NULL: no contact may receive it */
    DUE_CONTACT_KIND,
    DUE_ADDRESS,
    DUE_DAY
};

static int digest_one(struct db *db, const PGresult *due, int row, int *count_r, char **error_r)
{
    const char *person = PQgetvalue(due, row, DUE_PERSON),
               *locale = PQgetvalue(due, row, DUE_LOCALE);
    int64_t person_id = strtoll(person, NULL, 10);
    json_t *items = NULL, *ids = NULL, *vars = NULL;
    char *context = NULL, *dedupe = NULL;
    if (db_begin(db, error_r) < 0)
        return -1;
    if (digest_items(db, person, PQgetvalue(due, row, DUE_SINCE), locale, &items, &ids, error_r) <
        0)
        goto fail;
    /* Nothing new, or no way to reach them: nothing is sent, the period starts again. */
    if (json_array_size(items) > 0 && db_value(due, row, DUE_CONTACT)) {
        int64_t contact = strtoll(PQgetvalue(due, row, DUE_CONTACT), NULL, 10);
        if (campaign_person_vars(db, person_id, contact, 0, &vars, error_r) < 0)
            goto fail;
        json_object_set(vars, "items", items);
        json_t *ctx = json_pack("{s:O, s:s}", "digest_items", ids, "prompt", "digest");
        context = json_dumps(ctx, JSON_COMPACT);
        json_decref(ctx);
        dedupe = xasprintf("digest:%s:%s", person, PQgetvalue(due, row, DUE_DAY));
        struct automatic a = {.template_name = "digest",
                              .kind = "digest",
                              .dedupe_key = dedupe,
                              .context = context,
                              .locale = locale,
                              .timezone = PQgetvalue(due, row, DUE_TIMEZONE),
                              .contact_kind = PQgetvalue(due, row, DUE_CONTACT_KIND),
                              .address = PQgetvalue(due, row, DUE_ADDRESS),
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
     * The contact is the preferred channel the person has not left. The period is the
     * person's choice, else their teams', else [engine] digest_default (person_digest(),
     * migration 0060). */
    const char *params[] = {config_str("engine", "digest_default")};
    PGresult *res = db_exec(
        db,
        "SELECT p.id, p.locale, p.timezone,"
        " coalesce(d.last_at, tocsin_now() - CASE g.digest WHEN 'daily' THEN interval '1 day'"
        "  ELSE interval '7 days' END),"
        " ct.id, ct.kind, ct.address, to_char(tocsin_now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        " FROM people p LEFT JOIN digest_state d ON d.person_id = p.id"
        " CROSS JOIN LATERAL (SELECT person_digest(p.id, p.digest, $1) AS digest) g"
        " LEFT JOIN LATERAL contact_choice(p.id, p.channel, NULL) ct ON true"
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

int scheduler_event_changed(struct db *db, int64_t event_id, const char *kind, const char *note,
                            int *notified_r, char **error_r)
{
    *notified_r = 0;
    char slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(event_id, slot)};
    PGresult *res = db_exec(db, RSVP_ROWS_SQL " WHERE e.id = $1 ORDER BY p.id", 1, params, error_r);
    if (!res)
        return -1;
    bool moved = strcmp(kind, "moved") == 0;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *event = PQgetvalue(res, i, RSVP_EVENT);
        const char *person = PQgetvalue(res, i, RSVP_PERSON);
        /* A move is keyed by the new start, so moving twice notifies twice. */
        char *dedupe = moved ? xasprintf("event_moved:%s:%s:%s", event, person,
                                         PQgetvalue(res, i, RSVP_EVENT_EPOCH))
                             : xasprintf("event_cancelled:%s:%s", event, person);
        char *context = moved ? xasprintf("{\"event_id\": %s, \"prompt\": \"rsvp\"}", event)
                              : xasprintf("{\"event_id\": %s}", event);
        bool created = false;
        rc = enqueue_rsvp_row(db, res, i, moved ? "event_moved" : "event_cancelled", dedupe,
                              context, -1, note, &created, error_r);
        free(dedupe);
        free(context);
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

/* A round of the daemon holding the lock: the scheduler's tick, then the database's
 * upkeep (counters, partitions, retention). Both are retried next round on failure. */
static void active_round(struct db *db, long keep_days)
{
    char *error = NULL;
    struct scheduler_report report;
    if (scheduler_tick(db, &report, &error) < 0) {
        log_warn("scheduler_tick_failed", "error=%s", log_q(error));
        free(error);
        error = NULL;
        db_rollback(db);
    }
    struct upkeep_report upkeep;
    if (upkeep_run(db, keep_days, &upkeep, &error) < 0) {
        log_warn("upkeep_failed", "error=%s", log_q(error));
        free(error);
        db_rollback(db);
    } else if (upkeep.months_dropped || upkeep.inbound_deleted || upkeep.reports_deleted ||
               upkeep.partitions_created) {
        log_info("upkeep",
                 "partitions_created=%d months_dropped=%d dropped=%s inbound_deleted=%" PRId64
                 " reports_deleted=%" PRId64,
                 upkeep.partitions_created, upkeep.months_dropped, log_q(upkeep.dropped),
                 upkeep.inbound_deleted, upkeep.reports_deleted);
    }
}

static void *scheduler_main(void *arg)
{
    (void)arg;
    struct db *db = NULL;
    bool was_held = false;
    long interval = config_int("engine", "scheduler_interval");
    long keep_days = config_days("engine", "keep_messages");
    while (!atomic_load(&stop_requested)) {
        char *error = NULL;
        /* The lock lives in the session, so the scheduler works on a direct connection,
         * never through a transaction pooler. */
        if (!db && !(db = database_open_session(&error))) {
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
                if (held)
                    active_round(db, keep_days);
            }
        }
        struct timespec until = deadline_after_ms(interval * 1000);
        pthread_mutex_lock(&wake_lock);
        while (!atomic_load(&stop_requested) &&
               pthread_cond_timedwait(&wake, &wake_lock, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&wake_lock);
    }
    db_close(&db); /* closing the session releases the advisory lock */
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
