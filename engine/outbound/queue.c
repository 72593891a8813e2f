#include "outbound/queue.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/daemon.h"
#include "core/database.h"
#include "core/token.h"
#include "outbound/campaign_render.h"
#include "outbound/gsm.h"
#include "outbound/mail.h"
#include "outbound/presence.h"
#include "outbound/transport.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* The id of the row holding `dedupe_key`, read by a statement of its own: in READ
 * COMMITTED a new statement sees a row that a concurrent transaction committed while the
 * INSERT waited on its key, which the INSERT's own snapshot does not. */
static int find_by_dedupe_key(struct db *db, const char *dedupe_key, int64_t *id_r, char **error_r)
{
    const char *params[] = {dedupe_key};
    PGresult *res =
        db_exec(db, "SELECT id FROM outbound_messages WHERE dedupe_key = $1", 1, params, error_r);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) != 1) {
        *error_r = xasprintf("enqueue: no row inserted or found for %s", dedupe_key);
        rc = -1;
    } else {
        *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return rc;
}

/* Insert the row unless its dedupe_key exists in any month: the statement's result is
 * (id, created). The table is partitioned by month and PostgreSQL's unique index covers
 * one month (dedupe_key, month): it decides between concurrent enqueues of one key in the
 * same month, and the look into every month catches a key enqueued in an earlier one.
 * What neither sees is two enqueues of one key in concurrent transactions on either side
 * of 00:00 UTC on the 1st; tocsin never has those, since each kind of key has one writer
 * at a time (an inbound message's transaction, the one scheduler, an event's change under
 * its row lock, a campaign's fan-out under its row lock, its rows in one month). A lock on
 * the key would close even that, at the price of one lock per message held to the end of
 * the transaction: an event change notifying 20,000 people would exhaust the lock table. */
static const char enqueue_sql[] =
    "WITH ins AS ("
    " INSERT INTO outbound_messages (channel, recipient, subject, body, kind, dedupe_key,"
    "  context, person_id, contact_id, inbound_id, campaign_id, scope, html, headers,"
    "  next_attempt_at)"
    " SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb,"
    "  $8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::text, $14::jsonb,"
    "  coalesce($15::timestamptz, now())"
    " WHERE NOT EXISTS (SELECT 1 FROM outbound_messages WHERE dedupe_key = $6::text)"
    " ON CONFLICT (dedupe_key, month) DO NOTHING RETURNING id)"
    " SELECT id, true FROM ins"
    " UNION ALL SELECT id, false FROM outbound_messages WHERE dedupe_key = $6::text"
    "  AND NOT EXISTS (SELECT 1 FROM ins)";

/* Rows this thread added to the queue (queue_added_by_thread()). */
static _Thread_local int64_t added_by_thread;

int64_t queue_added_by_thread(void)
{
    return added_by_thread;
}

/* An SMS is stored as it will leave (transliterated, STOP mention on campaigns), so the
 * cost the database computes for the row is the cost paid: that text, or NULL for a mail
 * (caller frees). */
static char *stored_sms_text(const struct queue_new *m)
{
    return strcmp(m->channel, "sms") == 0 ? sms_compose(m->body, m->kind) : NULL;
}

int queue_enqueue(struct db *db, const struct queue_new *m, int64_t *id_r, bool *created_r,
                  char **error_r)
{
    char person[DB_PARAM_SIZE], contact[DB_PARAM_SIZE], inbound[DB_PARAM_SIZE],
        campaign[DB_PARAM_SIZE], scope[DB_PARAM_SIZE];
    char *sms_text = stored_sms_text(m);
    const char *params[] = {m->channel,
                            m->recipient,
                            m->subject ? m->subject : "",
                            sms_text ? sms_text : m->body,
                            m->kind,
                            m->dedupe_key,
                            m->context ? m->context : "{}",
                            db_param_id_or_null(m->person_id, person),
                            db_param_id_or_null(m->contact_id, contact),
                            db_param_id_or_null(m->inbound_id, inbound),
                            db_param_id_or_null(m->campaign_id, campaign),
                            db_param_id_or_null(m->scope, scope),
                            m->html,
                            m->headers ? m->headers : "{}",
                            m->not_before};
    PGresult *res = db_exec(db, enqueue_sql, 15, params, error_r);
    free(sms_text);
    if (!res)
        return -1;
    int64_t id = 0;
    bool created = false;
    int rc = 0;
    if (PQntuples(res) == 1) {
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        created = PQgetvalue(res, 0, 1)[0] == 't';
    } else {
        rc = find_by_dedupe_key(db, m->dedupe_key, &id, error_r);
    }
    PQclear(res);
    added_by_thread += created;
    if (rc == 0 && id_r)
        *id_r = id;
    if (rc == 0 && created_r)
        *created_r = created;
    return rc;
}

/* A row whose text was not UTF-8 is kept with UNUSABLE_ROW set: writing it fails, as the
 * row's INSERT would. A dropped row is a JSON null. */
#define UNUSABLE_ROW "unusable"

struct queue_batch {
    json_t *rows; /* one object per row added, in order */
};

struct queue_batch *queue_batch_new(void)
{
    struct queue_batch *b = xcalloc(1, sizeof(*b));
    b->rows = json_array();
    return b;
}

/* Sets `name` to the string `value` unless it is NULL; false when it is not UTF-8. */
static bool batch_set_string(json_t *row, const char *name, const char *value)
{
    if (!value)
        return true;
    json_t *v = json_string(value);
    return v && json_object_set_new(row, name, v) == 0;
}

static void batch_set_id(json_t *row, const char *name, int64_t id)
{
    if (id)
        json_object_set_new(row, name, json_integer(id));
}

size_t queue_batch_add(struct queue_batch *b, const struct queue_new *m)
{
    char *sms_text = stored_sms_text(m);
    json_t *row = json_object();
    bool ok = batch_set_string(row, "channel", m->channel) &&
              batch_set_string(row, "recipient", m->recipient) &&
              batch_set_string(row, "subject", m->subject ? m->subject : "") &&
              batch_set_string(row, "body", sms_text ? sms_text : m->body) &&
              batch_set_string(row, "kind", m->kind) &&
              batch_set_string(row, "dedupe_key", m->dedupe_key) &&
              batch_set_string(row, "context", m->context) &&
              batch_set_string(row, "html", m->html) &&
              batch_set_string(row, "headers", m->headers) &&
              batch_set_string(row, "not_before", m->not_before);
    batch_set_id(row, "person_id", m->person_id);
    batch_set_id(row, "contact_id", m->contact_id);
    batch_set_id(row, "inbound_id", m->inbound_id);
    batch_set_id(row, "campaign_id", m->campaign_id);
    batch_set_id(row, "scope", m->scope);
    free(sms_text);
    if (!ok)
        json_object_set_new(row, UNUSABLE_ROW, json_true());
    json_array_append_new(b->rows, row);
    return json_array_size(b->rows) - 1;
}

void queue_batch_drop(struct queue_batch *b, size_t row)
{
    json_array_set_new(b->rows, row, json_null());
}

int queue_batch_write(struct db *db, struct queue_batch *b, char **error_r)
{
    json_t *kept = json_array();
    char *json = NULL;
    int rc = 0;
    size_t i;
    json_t *row;
    json_array_foreach(b->rows, i, row)
    {
        if (json_is_null(row))
            continue;
        if (json_object_get(row, UNUSABLE_ROW)) {
            *error_r = xstrdup("enqueue: a message's text is not UTF-8");
            rc = -1;
            goto out;
        }
        json_array_append(kept, row);
    }
    if (json_array_size(kept) == 0)
        goto out;
    json = json_dumps(kept, JSON_COMPACT);
    const char *params[] = {json};
    /* In the batch's order, so that of two rows of one key the first is kept; group_rows()
     * (migration 0084) keeps the plan an index lookup per row whatever the table's size. */
    PGresult *res = db_exec(
        db,
        "INSERT INTO outbound_messages (channel, recipient, subject, body, kind, dedupe_key,"
        " context, person_id, contact_id, inbound_id, campaign_id, scope, html, headers,"
        " next_attempt_at)"
        " SELECT r.e->>'channel', r.e->>'recipient', r.e->>'subject', r.e->>'body',"
        "  r.e->>'kind', r.e->>'dedupe_key', coalesce(r.e->>'context', '{}')::jsonb,"
        "  (r.e->>'person_id')::bigint, (r.e->>'contact_id')::bigint,"
        "  (r.e->>'inbound_id')::bigint, (r.e->>'campaign_id')::bigint,"
        "  (r.e->>'scope')::bigint, r.e->>'html', coalesce(r.e->>'headers', '{}')::jsonb,"
        "  coalesce((r.e->>'not_before')::timestamptz, now())"
        " FROM group_rows($1::jsonb) WITH ORDINALITY AS r(e, n)"
        " WHERE NOT EXISTS (SELECT 1 FROM outbound_messages o"
        "  WHERE o.dedupe_key = r.e->>'dedupe_key')"
        " ORDER BY r.n ON CONFLICT (dedupe_key, month) DO NOTHING",
        1, params, error_r);
    if (!res) {
        rc = -1;
        goto out;
    }
    added_by_thread += strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
out:
    free(json);
    json_decref(kept);
    json_array_clear(b->rows);
    return rc;
}

void queue_batch_free(struct queue_batch *b)
{
    if (!b)
        return;
    json_decref(b->rows);
    free(b);
}

/* The month (partition) of every row of campaign c: the month its fan-out started, so a
 * fan-out resumed in a later month still meets its earlier rows in one unique index;
 * kept within the months stored (a campaign resumed after its month was dropped, or
 * started ahead of the clock). */
#define CAMPAIGN_MONTH_SQL                                                                         \
    "least(greatest(tocsin_month(coalesce(c.started_at, now())), outbound_oldest_month()),"        \
    " tocsin_month(now()))"

int queue_enqueue_campaign(struct db *db, const char *channel, int64_t campaign_id,
                           const char *recipients_sql, int nparams, const char *const *params,
                           int64_t *enqueued_r, char **error_r)
{
    /* The caller's parameters keep their numbers; channel and campaign id follow them. */
    const char **all = xcalloc((size_t)nparams + 2, sizeof(*all));
    for (int i = 0; i < nparams; i++)
        all[i] = params[i];
    char id[DB_PARAM_SIZE];
    all[nparams] = channel;
    all[nparams + 1] = db_param_int(campaign_id, id);
    struct buf sql = BUF_INIT;
    buf_printf(
        &sql,
        "INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, person_id,"
        " contact_id, campaign_id, scope, next_attempt_at, month, context)"
        " SELECT $%d, r.recipient, 'campaign', 'campaign:' || $%d::text || ':' || r.person_id,"
        " r.person_id, r.contact_id, $%d::bigint, r.scope, r.not_before,"
        " (SELECT " CAMPAIGN_MONTH_SQL " FROM campaigns c WHERE c.id = $%d::bigint),"
        /* An invitation (campaigns.event_id) is answered like a reminder: a bare OUI. */
        " coalesce((SELECT jsonb_build_object('event_id', c.event_id, 'prompt', 'rsvp')"
        "  FROM campaigns c WHERE c.id = $%d::bigint AND c.event_id IS NOT NULL), '{}')"
        " FROM (",
        nparams + 1, nparams + 2, nparams + 2, nparams + 2, nparams + 2);
    buf_adds(&sql, recipients_sql);
    buf_adds(&sql, ") AS r (recipient, person_id, contact_id, scope, not_before)"
                   " ON CONFLICT (dedupe_key, month) DO NOTHING");
    PGresult *res = db_exec_once(db, buf_str(&sql), nparams + 2, all, error_r);
    buf_release(&sql);
    free(all);
    if (!res)
        return -1;
    *enqueued_r = strtoll(PQcmdTuples(res), NULL, 10);
    added_by_thread += *enqueued_r;
    PQclear(res);
    return 0;
}

int queue_after_fanout(struct db *db, int64_t campaign_id, int64_t added, char **error_r)
{
    char id[DB_PARAM_SIZE], n[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(campaign_id, id), db_param_int(added, n)};
    PGresult *res = db_exec(db,
                            "SELECT outbound_analyze_after((SELECT " CAMPAIGN_MONTH_SQL
                            " FROM campaigns c WHERE c.id = $1::bigint), $2::bigint)",
                            2, params, error_r);
    if (!res)
        return -1;
    if (PQgetvalue(res, 0, 0)[0] == 't')
        log_info("queue_analyzed", "campaign=%" PRId64 " added=%" PRId64, campaign_id, added);
    PQclear(res);
    return 0;
}

int queue_forget(struct db *db, int64_t person_id, long *rows_r, char **error_r)
{
    char person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person)};
    PGresult *res = db_exec(
        db,
        "WITH mine AS (SELECT id, address FROM contacts WHERE person_id = $1"
        "  AND address IS NOT NULL)"
        " UPDATE outbound_messages o SET recipient = '[forgotten]', subject = '', body = '',"
        "  html = NULL, headers = '{}',"
        "  status = CASE WHEN o.status IN ('queued', 'sending') THEN 'cancelled' ELSE o.status END,"
        "  last_error = CASE WHEN o.status IN ('queued', 'sending')"
        "   THEN 'the recipient was forgotten (people forget)' ELSE o.last_error END,"
        "  lease_until = NULL, claimed_by = NULL"
        " WHERE o.person_id = $1 OR o.contact_id IN (SELECT id FROM mine)"
        "  OR o.recipient IN (SELECT address FROM mine)",
        1, params, error_r);
    if (!res)
        return -1;
    *rows_r = atol(PQcmdTuples(res));
    PQclear(res);
    return 0;
}

/* ---- workers ------------------------------------------------------------------------ */

enum { CHANNEL_EMAIL, CHANNEL_SMS, CHANNELS };
static const char *const channel_names[CHANNELS] = {"email", "sms"};

/* Read once at queue_start(); the configuration does not change while the daemon runs. */
static struct {
    long workers, batch, lease_s, max_attempts, retry_base_s, retry_max_s, poll_s, shutdown_s;
    const char *from, *domain, *public_url, *sms_from;
    const struct transport_ops *ops[CHANNELS];
    long rate[CHANNELS];
} cfg;

struct worker {
    pthread_t thread;
    char *name;  /* claimed_by: host:pid:wN */
    int wake_fd; /* eventfd: the presence thread adds to it on NOTIFY tocsin_outbound */
    atomic_bool finished;
    struct transport *instance[CHANNELS];
};

static struct worker *workers;
static atomic_bool stop_requested;
static int stop_fd = -1;

static bool stopping(void)
{
    return atomic_load(&stop_requested) || daemon_stopping();
}

/* Exponential backoff with "equal jitter": half the delay fixed, half random, so workers
 * of many daemons retrying the same failing relay spread out instead of arriving together. */
static double retry_delay_s(int attempts, int retry_after_s)
{
    double d = (double)cfg.retry_base_s;
    for (int i = 1; i < attempts && d < (double)cfg.retry_max_s; i++)
        d *= 2;
    if (d > (double)cfg.retry_max_s)
        d = (double)cfg.retry_max_s;
    unsigned seed = (unsigned)now_monotonic_ms() ^ (unsigned)(uintptr_t)&d;
    d = d / 2 + (d / 2) * ((double)rand_r(&seed) / RAND_MAX);
    return retry_after_s > d ? retry_after_s : d;
}

/* Columns of a claimed row, in the order of the claim statement's RETURNING list. */
enum {
    COL_ID,
    COL_STATUS,
    COL_RECIPIENT,
    COL_SUBJECT,
    COL_BODY,
    COL_HTML,
    COL_KIND,
    COL_ATTEMPTS,
    COL_HEADERS,
    COL_CONTACT,
    COL_INBOUND,
    COL_IN_REPLY_TO,
    COL_REFERENCES
};

/* Claim up to $2 due rows of channel $1 for worker $4 of the daemon whose presence key is
 * $5 (NULL: none held right now) and $6 (its own, held or not), with a lease of $3
 * seconds. Orphaned rows come first: rows still 'sending' under a presence key that no
 * session holds any more (their daemon died: they are taken at once), or claimed without
 * a key and past their lease (the last resort). A row whose daemon is alive is never
 * taken from it, however slow its send, and never a row of this daemon's own key.
 * The rows picked carry what the verdict needs and where they are (tableoid, ctid): the
 * UPDATE reaches each by a TID scan of its own partition, which no plan can beat and no
 * statistic can spoil. Joined on (id, month), or through the ids as an array, the plan
 * depends on the table's size when it was made: the generic plan a prepared claim keeps
 * after five runs, made while the table was nearly empty, scanned a whole month's index
 * (on month alone, the dedupe key's) or heap at every claim, 16 ms a claim after 4,000
 * replies (bench/run-imap, issue 17). The rows are locked (FOR UPDATE) by this very
 * statement, so their ctid cannot change under it; the id is checked as well.
 * Consent, campaign state and the RSVP a reminder is about are decided here, in the
 * claim, so a row is never handed to a transport after an opt-out, a cancelled campaign
 * or a NON was committed: a reminder or a "the event moved" notice held by quiet hours
 * is for someone who said yes, and is cancelled once their RSVP is no longer yes. An SMS
 * records the gateway that will send it ($7) now, before it leaves: a delivery report is
 * applied only to a message its own gateway sent (inbound/sms_webhook.h), and Kannel's
 * can arrive before the send is recorded. Three kinds reach an opted-out address: the
 * STOP confirmation, HELP (carrier rules) and the confirmation of a request to receive
 * messages again (decide/request.h). A row claimed under another daemon's key is orphaned
 * when no session holds that key: a shared try of the lock succeeds only then (and holds
 * it until this transaction ends, which is harmless). Reading pg_locks instead cost 2 ms
 * a claim and took every lock-manager partition while it read, stalling the other
 * sessions' locks (bench/run-imap with workers sending, issue 17). */
static const char claim_sql[] =
    "WITH orphaned AS ("
    "  SELECT tableoid, ctid, id, month, kind, channel, recipient, scope, campaign_id, context,"
    "   person_id"
    "   FROM outbound_messages"
    "   WHERE status = 'sending' AND channel = $1"
    "     AND CASE WHEN claim_key IS NULL THEN lease_until < now()"
    "         ELSE claim_key IS DISTINCT FROM $6::int"
    "              AND pg_try_advisory_xact_lock_shared(7310, claim_key) END"
    "   LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " fresh AS ("
    "  SELECT o.tableoid, o.ctid, o.id, o.month, o.kind, o.channel, o.recipient, o.scope,"
    "   o.campaign_id, o.context, o.person_id"
    "   FROM outbound_messages o"
    "   WHERE o.status = 'queued' AND o.channel = $1 AND o.next_attempt_at <= tocsin_now()"
    "     AND NOT EXISTS (SELECT 1 FROM campaigns c"
    "                      WHERE c.id = o.campaign_id AND c.status = 'paused')"
    "   ORDER BY o.next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " picked AS (SELECT * FROM orphaned UNION ALL SELECT * FROM fresh LIMIT $2),"
    /* MATERIALIZED: once merged into the UPDATE, the verdict's CASE was computed again
     * for each column that reads it, consent_allows() eight times a row, half the claim. */
    " verdict AS MATERIALIZED ("
    "  SELECT p.tableoid, p.ctid, p.id, CASE"
    "    WHEN c.status = 'cancelled' THEN 'campaign cancelled'"
    "    WHEN p.kind IN ('reminder', 'event_moved') AND p.context ? 'event_id'"
    "         AND NOT EXISTS (SELECT 1 FROM rsvps r"
    "          WHERE r.event_id = (p.context->>'event_id')::bigint"
    "            AND r.person_id = p.person_id AND r.status = 'yes')"
    "      THEN 'the RSVP is no longer yes'"
    "    WHEN p.kind NOT IN ('stop_confirmation', 'help', 'consent_request')"
    "         AND NOT consent_allows(p.channel, p.recipient, p.scope)"
    "      THEN 'consent: the recipient opted out'"
    "    END AS reason"
    "  FROM picked p LEFT JOIN campaigns c ON c.id = p.campaign_id),"
    " decided AS (SELECT tableoid, ctid, id, reason, CASE WHEN reason IS NULL THEN 'sending'"
    "   WHEN reason LIKE 'consent:%' THEN 'suppressed' ELSE 'cancelled' END AS status"
    "  FROM verdict)"
    " UPDATE outbound_messages o SET"
    "  status = v.status,"
    "  attempts = o.attempts + (v.status = 'sending')::int,"
    "  lease_until = CASE WHEN v.status = 'sending'"
    "                THEN now() + make_interval(secs => $3::int) END,"
    "  claimed_by = CASE WHEN v.status = 'sending' THEN $4 END,"
    "  sms_provider = CASE WHEN v.status = 'sending' AND o.channel = 'sms' THEN $7"
    "                 ELSE o.sms_provider END,"
    "  claim_key = CASE WHEN v.status = 'sending' THEN $5::int END,"
    "  last_error = coalesce(v.reason, o.last_error)"
    " FROM decided v WHERE o.tableoid = v.tableoid AND o.ctid = v.ctid AND o.id = v.id"
    " RETURNING o.id, o.status, o.recipient, o.subject, o.body, o.html, o.kind, o.attempts,"
    "  o.headers::text,"
    "  coalesce(o.contact_id, (SELECT k.id FROM contacts k"
    "    WHERE k.kind = CASE o.channel WHEN 'sms' THEN 'phone' ELSE 'email' END"
    "      AND k.address = o.recipient)),"
    "  o.inbound_id,"
    /* The channel is tested on the row found, not in the WHERE: with `channel = 'email'`
     * there, a plan made while no mail had come in reads the rows of one sender index
     * instead of the primary key, which costs a scan of every mail once they come. */
    "  (SELECT CASE WHEN i.channel = 'email' THEN mail_header(i.raw, 'message-id') END"
    "    FROM inbound_messages i WHERE i.id = o.inbound_id),"
    "  (SELECT CASE WHEN i.channel = 'email' THEN mail_header(i.raw, 'references') END"
    "    FROM inbound_messages i WHERE i.id = o.inbound_id)";

/* Write a batch of results ($1, a JSON array) for worker $2. The claimed_by guard keeps a
 * worker whose lease expired (and whose rows another worker took over) from writing. A
 * provider's delivery report can arrive before the send is recorded (Kannel's does, within
 * milliseconds): the row is then already 'sent' (a "submitted" report), 'delivered' or
 * 'failed', keeps that status, and still gets its provider id and sent_at. */
static const char record_sql[] =
    "WITH done AS ("
    " UPDATE outbound_messages o SET"
    "  status = CASE WHEN o.status = 'sending' THEN r.status ELSE o.status END,"
    "  provider_id = coalesce(r.provider_id, o.provider_id),"
    "  last_error = coalesce(r.error, o.last_error),"
    "  sent_at = CASE WHEN r.status = 'sent' THEN now() ELSE o.sent_at END,"
    "  next_attempt_at = CASE WHEN r.status = 'queued'"
    "    THEN now() + make_interval(secs => r.delay) ELSE o.next_attempt_at END,"
    "  attempts = o.attempts - coalesce(r.throttled, false)::int,"
    "  lease_until = NULL, claimed_by = NULL, claim_key = NULL"
    " FROM jsonb_to_recordset($1::jsonb)"
    "  AS r(id bigint, status text, provider_id text, error text, delay float8, bounce boolean,"
    "       throttled boolean)"
    " WHERE o.id = r.id AND o.claimed_by = $2"
    "  AND (o.status = 'sending'"
    "       OR (o.status IN ('sent', 'delivered', 'failed') AND r.status = 'sent'))"
    " RETURNING o.channel, o.recipient, o.contact_id, r.bounce, r.error)"
    /* A hard bounce is a consent event: the address is opted out at once, with the
     * server's answer as evidence, so no later message is even tried. The rows go
     * through the consent module's consent_append() (core/consent.h). */
    " SELECT consent_append(array_agg(ROW(b.id, b.channel, NULL, 'opt_out', 'bounce',"
    "  b.error)::consent_entry))"
    " FROM (SELECT DISTINCT ON (k.id) k.id, d.channel, d.error"
    "  FROM done d JOIN contacts k"
    "   ON k.id = d.contact_id OR (d.contact_id IS NULL AND k.address = d.recipient"
    "      AND k.kind = CASE d.channel WHEN 'sms' THEN 'phone' ELSE 'email' END)"
    "  WHERE d.bounce AND consent_allows(d.channel, d.recipient, NULL)) b";

/* Give a worker's claimed rows back, as if never claimed (shutdown). */
static const char release_sql[] =
    "UPDATE outbound_messages SET status = 'queued', lease_until = NULL, claimed_by = NULL,"
    "  claim_key = NULL,"
    "  attempts = greatest(attempts - 1, 0)"
    " WHERE status = 'sending' AND claimed_by = $1";

static int release_claims(struct db *db, const char *name)
{
    char *error = NULL;
    const char *params[] = {name};
    PGresult *res = db_exec(db, release_sql, 1, params, &error);
    if (!res) {
        log_error("queue_release_failed", "worker=%s error=%s", name, log_q(error));
        free(error);
        return -1;
    }
    int n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (n > 0)
        log_info("queue_released", "worker=%s messages=%d", name, n);
    return n;
}

/* One email, composed at send time so tokens, Date and the configuration are current. */
struct composed {
    struct buf message;
    char *envelope_from;
};

static const char *json_header(json_t *headers, const char *name)
{
    json_t *v = headers ? json_object_get(headers, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* `rendered`: a campaign row's parts rendered now (campaign_render.h), else NULL. */
static int compose_email(struct db *db, const PGresult *res, int row,
                         const struct rendered_message *rendered, struct composed *out,
                         char **error_r)
{
    int64_t id = strtoll(PQgetvalue(res, row, COL_ID), NULL, 10);
    const char *kind = PQgetvalue(res, row, COL_KIND);
    const char *contact = db_value(res, row, COL_CONTACT);
    char *reply = token_make(db, "reply", id, error_r);
    char *bounce = reply ? token_make(db, "bounce", id, error_r) : NULL;
    char *unsub = NULL;
    if (!bounce) {
        free(reply);
        return -1;
    }
    /* An answer to an inbound message is transactional whatever its kind. */
    bool transactional = mail_kind_is_transactional(kind) || db_value(res, row, COL_INBOUND);
    if (!transactional && contact)
        unsub = token_make(db, "unsub", strtoll(contact, NULL, 10), error_r);
    if (!transactional && !unsub)
        log_warn("queue_no_unsubscribe", "id=%" PRId64 " reason=%s", id,
                 contact ? "token" : "no contact for the recipient");

    json_t *headers = json_loads(PQgetvalue(res, row, COL_HEADERS), 0, NULL);
    const char *in_reply_to = json_header(headers, "In-Reply-To");
    const char *references = json_header(headers, "References");
    char *refs = NULL;
    if (!in_reply_to)
        in_reply_to = db_value(res, row, COL_IN_REPLY_TO);
    if (!references && in_reply_to) {
        const char *earlier = db_value(res, row, COL_REFERENCES);
        refs = earlier ? xasprintf("%s %s", earlier, in_reply_to) : xstrdup(in_reply_to);
        references = refs;
    }
    const char *auto_submitted = NULL;
    if (db_value(res, row, COL_INBOUND) || strcmp(kind, "reply") == 0 ||
        strcmp(kind, "stop_confirmation") == 0 || strcmp(kind, "help") == 0)
        auto_submitted = "auto-replied";
    else if (strcmp(kind, "reminder") == 0 || strcmp(kind, "digest") == 0)
        auto_submitted = "auto-generated";

    char *message_id = xasprintf("<tocsin.%s@%s>", reply, cfg.domain);
    char *reply_to = xasprintf("reply+%s@%s", reply, cfg.domain);
    char *list_unsub = unsub
                           ? xasprintf("<%s/u/%s>, <mailto:unsubscribe+%s@%s?subject=unsubscribe>",
                                       cfg.public_url, unsub, unsub, cfg.domain)
                           : NULL;
    struct mail_parts parts = {
        .from = cfg.from,
        .to = PQgetvalue(res, row, COL_RECIPIENT),
        .subject = rendered ? rendered->subject : PQgetvalue(res, row, COL_SUBJECT),
        .text = rendered ? rendered->text : PQgetvalue(res, row, COL_BODY),
        .html = rendered ? rendered->html : db_value(res, row, COL_HTML),
        .message_id = message_id,
        .in_reply_to = in_reply_to,
        .references = references,
        .reply_to = reply_to,
        .auto_submitted = auto_submitted,
        .list_unsubscribe = list_unsub,
        .boundary_seed = PQgetvalue(res, row, COL_ID),
        .date = time(NULL),
    };
    buf_init(&out->message);
    mail_compose(&parts, &out->message);
    out->envelope_from = xasprintf("bounce+%s@%s", bounce, cfg.domain);
    free(message_id);
    free(reply_to);
    free(list_unsub);
    free(refs);
    json_decref(headers);
    free(reply);
    free(bounce);
    free(unsub);
    return 0;
}

static const char *status_word(enum send_status s)
{
    switch (s) {
    case SEND_OK:
        return "sent";
    case SEND_TRANSIENT:
        return "transient";
    case SEND_PERMANENT:
        return "permanent";
    default:
        return "ambiguous";
    }
}

/* Write the results, retrying every second until they are written or the daemon stops:
 * a row left 'sending' is sent a second time once its lease expires, so giving up while
 * the database restarts would turn a short outage into duplicates. Retrying is always
 * safe: the claimed_by guard makes the write a no-op if another worker took the rows. */
static void record_results(struct worker *w, struct db *db, json_t *rows)
{
    char *text = json_dumps(rows, JSON_COMPACT);
    const char *params[] = {text, w->name};
    for (int attempt = 1;; attempt++) {
        char *error = NULL;
        PGresult *res = db_exec(db, record_sql, 2, params, &error);
        if (res) {
            PQclear(res);
            if (attempt > 1)
                log_info("queue_recorded", "worker=%s attempts=%d", w->name, attempt);
            break;
        }
        /* One line at the first failure, then one every 30 s of outage. */
        if (attempt % 30 == 1)
            log_error("queue_record_failed", "worker=%s attempt=%d error=%s", w->name, attempt,
                      log_q(error));
        free(error);
        if (stopping())
            break;
        sleep(1);
    }
    free(text);
}

/* How many rows of the channel a worker may claim now (transport_acquire(), migration
 * 0080): none while the gateway's pause is in force, and under a rate at least a tenth of a
 * second's worth, so that slow rates still make useful batches. 0 with *wait_ms_r set to
 * when to ask again, or -1 on a database error. */
static long acquire(struct db *db, int channel, long want, int64_t *wait_ms_r)
{
    long min = cfg.rate[channel] / 10 > 1 ? cfg.rate[channel] / 10 : 1;
    char rate[DB_PARAM_SIZE], n[DB_PARAM_SIZE], least[DB_PARAM_SIZE];
    const char *params[] = {cfg.ops[channel]->name, db_param_int(cfg.rate[channel], rate),
                            db_param_int(want, n), db_param_int(min, least)};
    char *error = NULL;
    PGresult *res =
        db_exec(db, "SELECT granted, wait_ms FROM transport_acquire($1, $2::float8, $3, $4)", 4,
                params, &error);
    if (!res) {
        log_warn("queue_rate_failed", "error=%s", log_q(error));
        free(error);
        return -1;
    }
    long granted = atol(PQgetvalue(res, 0, 0));
    int64_t wait_ms = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (granted == 0 && wait_ms < *wait_ms_r)
        *wait_ms_r = wait_ms > 0 ? wait_ms : 1;
    return granted;
}

/* Give back tokens granted but not used: fewer rows were due, or ready, than granted. */
static void give_tokens(struct db *db, int channel, long unused)
{
    char rate[DB_PARAM_SIZE], n[DB_PARAM_SIZE];
    const char *params[] = {cfg.ops[channel]->name, db_param_int(cfg.rate[channel], rate),
                            db_param_int(unused, n)};
    char *error = NULL;
    if (db_run(db, "SELECT transport_give($1, $2::float8, $3::int)", 3, params, &error) < 0)
        free(error);
}

/* A gateway asked us to wait: every daemon's workers claim nothing for the transport
 * until then (transport_pause(), migration 0080). */
static void pause_transport(struct db *db, int channel, int seconds)
{
    char n[DB_PARAM_SIZE];
    const char *params[] = {cfg.ops[channel]->name, db_param_int(seconds, n)};
    char *error = NULL;
    if (db_run(db, "SELECT transport_pause($1, $2::int)", 2, params, &error) < 0) {
        log_warn("queue_pause_failed", "transport=%s error=%s", cfg.ops[channel]->name,
                 log_q(error));
        free(error);
    }
}

/* One claimed row on its way through run_batch(). */
struct batch_row {
    int64_t id;
    const char *claimed; /* 'sending', or 'suppressed' / 'cancelled' decided by the claim */
    int attempts;
    struct rendered_message rendered; /* a campaign row, rendered for its recipient now */
    struct composed mail;             /* an email as it leaves */
    struct outbound_msg msg;          /* what the transport is handed */
    bool ready;                       /* prepared, so handed to the transport */
    struct send_result result;        /* what the transport answered */
};

/*
 * One batch of one channel: claim → prepare → send → classify → record. `results` is
 * what record_results() writes back, one JSON object per row that was tried or could
 * not be prepared.
 */
struct batch {
    struct worker *w;
    struct db *db;
    int channel;
    const struct transport_ops *ops;
    long limit;  /* rows this batch may claim (rate-limit tokens taken) */
    int pause_s; /* the longest wait a gateway asked for in this batch, 0 if none */
    PGresult *claimed;
    struct batch_row *rows;
    int nrows;
    size_t nready;
    json_t *results;
};

static void count_outcome(int channel, const char *status)
{
    char series[96];
    snprintf(series, sizeof(series), "tocsin_outbound_total{channel=\"%s\",result=\"%s\"}",
             channel_names[channel], status);
    metrics_add(series, 1);
}

/* A row that goes back to the queue for a later attempt, with the reason. */
static void retry_later(struct batch *b, const struct batch_row *row, const char *reason)
{
    json_array_append_new(b->results,
                          json_pack("{sI ss ss sf}", "id", (json_int_t)row->id, "status", "queued",
                                    "error", reason, "delay", retry_delay_s(row->attempts, 0)));
}

/* The worker's instance of the channel's transport, opened on first use. */
static struct transport *batch_transport(struct worker *w, int channel)
{
    if (!w->instance[channel]) {
        char *error = NULL;
        if (cfg.ops[channel]->open(&w->instance[channel], &error) < 0) {
            log_error("transport_open_failed", "transport=%s error=%s", cfg.ops[channel]->name,
                      log_q(error));
            free(error);
        }
    }
    return w->instance[channel];
}

/* How many rows to claim: a batch, or under the transport's rate limit or a gateway's
 * pause what acquire() grants: 0 (then *wait_ms_r is lowered to when to ask again), -1 on
 * a database error. The spool has neither a rate nor a gateway to ask us to wait. */
static long batch_limit(struct db *db, int channel, int64_t *wait_ms_r)
{
    if (strcmp(cfg.ops[channel]->name, "spool") == 0)
        return cfg.batch;
    return acquire(db, channel, cfg.batch, wait_ms_r);
}

/* Claim due rows for this worker (claim_sql); consent and campaign state are decided in
 * the claim. 0, or -1 on a database error. */
static int batch_claim(struct batch *b)
{
    char n[DB_PARAM_SIZE], lease[DB_PARAM_SIZE], key[DB_PARAM_SIZE], own[DB_PARAM_SIZE];
    const char *params[] = {channel_names[b->channel],
                            db_param_int(b->limit, n),
                            db_param_int(cfg.lease_s, lease),
                            b->w->name,
                            db_param_id_or_null(presence_key(), key),
                            db_param_id_or_null(presence_own_key(), own),
                            b->ops->name};
    char *error = NULL;
    b->claimed = db_exec(b->db, claim_sql, 7, params, &error);
    if (!b->claimed) {
        log_error("queue_claim_failed", "worker=%s error=%s", b->w->name, log_q(error));
        free(error);
        return -1;
    }
    b->nrows = PQntuples(b->claimed);
    b->rows = xcalloc((size_t)b->nrows + 1, sizeof(*b->rows));
    for (int r = 0; r < b->nrows; r++) {
        struct batch_row *row = &b->rows[r];
        row->id = strtoll(PQgetvalue(b->claimed, r, COL_ID), NULL, 10);
        row->claimed = PQgetvalue(b->claimed, r, COL_STATUS);
        row->attempts = atoi(PQgetvalue(b->claimed, r, COL_ATTEMPTS));
    }
    return 0;
}

/* Make row r ready for the transport: a campaign row rendered for its recipient, an
 * email composed with its tokens and headers. A row that cannot be prepared now goes
 * back to the queue with the reason. */
static void prepare_row(struct batch *b, int r)
{
    struct batch_row *row = &b->rows[r];
    const PGresult *res = b->claimed;
    struct outbound_msg *m = &row->msg;
    m->id = row->id;
    m->channel = channel_names[b->channel];
    m->recipient = PQgetvalue(res, r, COL_RECIPIENT);
    m->subject = PQgetvalue(res, r, COL_SUBJECT);
    m->kind = PQgetvalue(res, r, COL_KIND);
    m->attempts = row->attempts;
    /* A campaign's fan-out leaves the body empty: rendered here, per recipient. */
    bool campaign = strcmp(m->kind, "campaign") == 0 && !*PQgetvalue(res, r, COL_BODY);
    char *reason = NULL;
    if (campaign) {
        if (campaign_render(b->db, row->id, &row->rendered, &reason) < 0) {
            retry_later(b, row, reason ? reason : "cannot render");
            free(reason);
            return;
        }
        m->subject = row->rendered.subject;
    }
    if (b->channel == CHANNEL_EMAIL) {
        if (compose_email(b->db, res, r, campaign ? &row->rendered : NULL, &row->mail, &reason) <
            0) {
            /* No secret to sign with yet: a configuration problem an operator fixes. */
            retry_later(b, row, reason ? reason : "cannot compose");
            free(reason);
            return;
        }
        m->body = buf_str(&row->mail.message);
        m->envelope_from = row->mail.envelope_from;
    } else {
        m->body = campaign ? row->rendered.sms : PQgetvalue(res, r, COL_BODY);
        m->envelope_from = cfg.sms_from;
    }
    row->ready = true;
    b->nready++;
}

/* Prepare every row the claim left 'sending'; count the others (suppressed, cancelled)
 * now, as they are already written. Unused rate-limit tokens go back. */
static void batch_prepare(struct batch *b)
{
    for (int r = 0; r < b->nrows; r++) {
        if (strcmp(b->rows[r].claimed, "sending") != 0) {
            count_outcome(b->channel, b->rows[r].claimed);
            log_info("queue_skipped", "id=%" PRId64 " status=%s", b->rows[r].id,
                     b->rows[r].claimed);
            continue;
        }
        prepare_row(b, r);
    }
    if (cfg.rate[b->channel] > 0 && (long)b->nready < b->limit)
        give_tokens(b->db, b->channel, b->limit - (long)b->nready);
}

/* Hand the ready rows to the transport in one call, and keep each answer on its row. */
static void batch_send(struct batch *b)
{
    if (b->nready == 0)
        return;
    if (stopping()) {
        /* SIGTERM arrived between the claim and the send: hand the batch back. */
        release_claims(b->db, b->w->name);
        json_array_clear(b->results);
        for (int r = 0; r < b->nrows; r++)
            b->rows[r].ready = false;
        return;
    }
    struct outbound_msg *msgs = xcalloc(b->nready, sizeof(*msgs));
    struct send_result *results = xcalloc(b->nready, sizeof(*results));
    size_t n = 0;
    for (int r = 0; r < b->nrows; r++)
        if (b->rows[r].ready)
            msgs[n++] = b->rows[r].msg;
    int64_t started = now_monotonic_ms();
    b->ops->send(b->w->instance[b->channel], msgs, n, results);
    char histogram[80];
    snprintf(histogram, sizeof(histogram), "tocsin_send_duration_seconds{transport=\"%s\"}",
             b->ops->name);
    metrics_observe_ms(histogram, now_monotonic_ms() - started);
    n = 0;
    for (int r = 0; r < b->nrows; r++)
        if (b->rows[r].ready)
            b->rows[r].result = results[n++];
    free(msgs);
    free(results);
}

/* What a transport's answer means for the row: sent, queued again after a delay, failed
 * or bounced; the error to keep (caller frees) and the delay before the next attempt. */
static const char *classify(const struct batch_row *row, char **error_r, double *delay_r)
{
    const struct send_result *sr = &row->result;
    char *error = sr->error ? xstrdup(sr->error) : NULL;
    const char *status = "sent";
    *delay_r = 0;
    if (sr->status == SEND_PERMANENT) {
        status = sr->hard_bounce ? "bounced" : "failed";
    } else if (sr->throttled) {
        /* The gateway refused it for our rate, or it was never sent: not an attempt, and
         * due again exactly when the gateway said. */
        status = "queued";
        *delay_r = sr->retry_after_s;
    } else if (sr->status == SEND_TRANSIENT && row->attempts >= cfg.max_attempts) {
        status = "failed";
        char *why = xasprintf("gave up after %d attempts: %s", row->attempts,
                              error ? error : "transient failure");
        free(error);
        error = why;
    } else if (sr->status == SEND_TRANSIENT) {
        status = "queued";
        *delay_r = retry_delay_s(row->attempts, sr->retry_after_s);
    } else if (sr->status == SEND_AMBIGUOUS) {
        /* The provider may have taken it: resending could send it twice. */
        char *why = xasprintf("unconfirmed: %s", error ? error : "no answer after sending");
        free(error);
        error = why;
    }
    *error_r = error;
    return status;
}

/* Classify every row the transport tried into the results to record; log and count. */
static void batch_classify(struct batch *b)
{
    for (int r = 0; r < b->nrows; r++) {
        const struct batch_row *row = &b->rows[r];
        if (!row->ready)
            continue;
        const struct send_result *sr = &row->result;
        char *error = NULL;
        double delay = 0;
        const char *status = classify(row, &error, &delay);
        json_t *result =
            json_pack("{sI ss sf}", "id", (json_int_t)row->id, "status", status, "delay", delay);
        json_object_set_new(result, "provider_id",
                            sr->provider_id ? json_string(sr->provider_id) : json_null());
        json_object_set_new(result, "error", error ? json_string(error) : json_null());
        json_object_set_new(result, "bounce", json_boolean(sr->hard_bounce));
        json_object_set_new(result, "throttled", json_boolean(sr->throttled));
        json_array_append_new(b->results, result);
        if (sr->throttled && sr->retry_after_s > b->pause_s)
            b->pause_s = sr->retry_after_s;
        if (sr->status != SEND_OK)
            log_info("queue_send_result",
                     "id=%" PRId64 " transport=%s result=%s attempts=%d next=%s error=%s", row->id,
                     b->ops->name, status_word(sr->status), row->attempts, status, log_q(error));
        count_outcome(b->channel, status);
        free(error);
    }
}

static void batch_release(struct batch *b)
{
    for (int r = 0; r < b->nrows; r++) {
        buf_release(&b->rows[r].mail.message);
        free(b->rows[r].mail.envelope_from);
        template_message_release(&b->rows[r].rendered);
        free(b->rows[r].result.error);
        free(b->rows[r].result.provider_id);
    }
    free(b->rows);
    json_decref(b->results);
    PQclear(b->claimed);
}

/* Claim, prepare, send, classify and record one batch of a channel. Returns the number
 * of rows claimed (0: nothing due), -1 on a database error; *wait_ms_r is lowered when
 * the rate limit says when the next token comes. */
static int run_batch(struct worker *w, struct db *db, int channel, int64_t *wait_ms_r)
{
    if (!batch_transport(w, channel))
        return 0;
    struct batch b = {.w = w, .db = db, .channel = channel, .ops = cfg.ops[channel]};
    b.limit = batch_limit(db, channel, wait_ms_r);
    if (b.limit <= 0)
        return (int)b.limit;
    if (batch_claim(&b) < 0)
        return -1;
    b.results = json_array();
    batch_prepare(&b);
    batch_send(&b);
    batch_classify(&b);
    if (json_array_size(b.results) > 0)
        record_results(w, db, b.results);
    if (b.pause_s > 0)
        pause_transport(db, channel, b.pause_s);
    int claimed = b.nrows;
    batch_release(&b);
    return claimed;
}

/* Sleep until the presence thread passes on a notification, the stop signal or the
 * timeout. */
static void wait_for_work(struct worker *w, int64_t timeout_ms)
{
    struct pollfd fds[2] = {{.fd = stop_fd, .events = POLLIN},
                            {.fd = w->wake_fd, .events = POLLIN}};
    uint64_t count;
    if (poll(fds, 2, (int)timeout_ms) > 0 && fds[1].revents &&
        read(w->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warn("queue_wake_failed", "worker=%s error=%s", w->name, log_q(strerror(errno)));
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct db *db = NULL;
    bool reported = false;
    int failures = 0;
    presence_subscribe(w->wake_fd);
    while (!stopping()) {
        char *error = NULL;
        if (!db && !(db = database_open(&error))) {
            /* One line per outage; db_exec reconnects an open handle by itself. */
            if (!reported)
                log_warn("queue_db_unreachable", "worker=%s error=%s", w->name, log_q(error));
            reported = true;
            free(error);
            wait_for_work(w, 1000);
            continue;
        }
        reported = false;
        int64_t wait_ms = cfg.poll_s * 1000;
        int claimed = 0;
        bool failed = false;
        for (int c = 0; c < CHANNELS && !stopping(); c++) {
            if (!cfg.ops[c])
                continue;
            int n = run_batch(w, db, c, &wait_ms);
            if (n < 0)
                failed = true;
            else
                claimed += n;
        }
        if (failed) {
            /* Database trouble (a restart, a failover): back off 2, 4, then 8 s; the next
             * statement reconnects, to the new primary after a failover. */
            failures = failures < 3 ? failures + 1 : 3;
            wait_for_work(w, 1000L << failures);
            continue;
        }
        failures = 0;
        if (claimed == 0 && !stopping())
            wait_for_work(w, wait_ms);
    }
    presence_unsubscribe(w->wake_fd);
    for (int c = 0; c < CHANNELS; c++)
        if (w->instance[c])
            cfg.ops[c]->close(&w->instance[c]);
    db_close(&db);
    atomic_store(&w->finished, true);
    return NULL;
}

int queue_start(char **error_r)
{
    cfg.workers = config_int("engine", "workers");
    cfg.batch = config_int("engine", "batch");
    cfg.lease_s = config_int("engine", "lease_seconds");
    cfg.max_attempts = config_int("engine", "max_attempts");
    cfg.retry_base_s = config_int("engine", "retry_base");
    cfg.retry_max_s = config_int("engine", "retry_max");
    cfg.poll_s = config_int("engine", "poll_interval");
    cfg.shutdown_s = config_int("engine", "shutdown_timeout");
    cfg.from = config_str("smtp", "from");
    cfg.domain = config_str("smtp", "return_path_domain");
    cfg.public_url = config_str("http", "public_url");
    cfg.sms_from = config_str("sms", "from");
    for (int c = 0; c < CHANNELS; c++) {
        cfg.ops[c] = transport_for(channel_names[c], error_r);
        if (!cfg.ops[c])
            return -1;
        cfg.rate[c] = transport_rate(cfg.ops[c]);
        /* Open one instance now so a configuration the transport refuses stops the
         * daemon at start, not silently in every worker later. */
        struct transport *probe = NULL;
        if (cfg.ops[c]->open(&probe, error_r) < 0)
            return -1;
        cfg.ops[c]->close(&probe);
    }
    if (cfg.workers == 0) {
        log_info("queue_disabled", "reason=%s", log_q("[engine] workers = 0"));
        /* Still present: what this daemon queues is announced to the daemons that send. */
        return presence_start(error_r);
    }
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0) {
        *error_r = xasprintf("eventfd: %s", strerror(errno));
        return -1;
    }
    /* The daemon's presence names its claims, and wakes the workers on NOTIFY. */
    if (presence_start(error_r) < 0)
        return -1;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    workers = xcalloc((size_t)cfg.workers, sizeof(*workers));
    for (long i = 0; i < cfg.workers; i++) {
        workers[i].name = xasprintf("%s:%d:w%ld", host, (int)getpid(), i);
        workers[i].wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (workers[i].wake_fd < 0 ||
            pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            *error_r = xstrdup("cannot start a queue worker thread");
            if (workers[i].wake_fd >= 0)
                close(workers[i].wake_fd);
            free(workers[i].name);
            cfg.workers = i;
            queue_stop();
            return -1;
        }
    }
    log_info("queue_started", "workers=%ld email=%s sms=%s batch=%ld", cfg.workers,
             cfg.ops[CHANNEL_EMAIL]->name, cfg.ops[CHANNEL_SMS]->name, cfg.batch);
    return 0;
}

void queue_stop(void)
{
    if (!workers) {
        presence_stop();
        return;
    }
    atomic_store(&stop_requested, true);
    uint64_t one = 1;
    if (write(stop_fd, &one, sizeof(one)) < 0)
        log_warn("queue_stop_signal", "error=%s", log_q(strerror(errno)));
    int64_t deadline = now_monotonic_ms() + cfg.shutdown_s * 1000;
    bool all = false;
    while (!all && now_monotonic_ms() < deadline) {
        all = true;
        for (long i = 0; i < cfg.workers; i++)
            all = all && atomic_load(&workers[i].finished);
        if (!all)
            usleep(20 * 1000);
    }
    struct db *db = NULL;
    for (long i = 0; i < cfg.workers; i++) {
        if (atomic_load(&workers[i].finished)) {
            pthread_join(workers[i].thread, NULL);
            close(workers[i].wake_fd);
            free(workers[i].name);
            continue;
        }
        /* Still inside a send past the timeout: its rows go back to the queue now, and
         * the thread is left to die with the process. */
        char *error = NULL;
        if (!db && !(db = database_open(&error))) {
            log_error("queue_release_failed", "error=%s", log_q(error));
            free(error);
            break;
        }
        log_warn("queue_worker_busy", "worker=%s timeout_s=%ld", workers[i].name, cfg.shutdown_s);
        release_claims(db, workers[i].name);
        pthread_detach(workers[i].thread);
    }
    db_close(&db);
    /* Last: ending the presence session releases its lock, and rows a worker still holds
     * after the timeout were given back above. */
    presence_stop();
    log_info("queue_stopped", "workers=%ld", cfg.workers);
}
