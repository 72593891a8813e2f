/*
 * The SMS backlog: texts stored by a busy webhook, applied by the daemon's appliers. The
 * contract is in sms_backlog.h.
 */
#include "inbound/sms_backlog.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/database.h"
#include "core/http.h"
#include "decide/process.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Texts per transaction: one commit (one fsync) for many, as the IMAP appliers do. */
#define BACKLOG_GROUP 50

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t *threads;
    long n;
    bool stop;
    uint64_t accepted; /* texts stored by this daemon: a generation, never decreases */
    bool waiting;      /* stored texts of this daemon may not be applied yet */
    long applying;     /* appliers inside a transaction */
} backlog = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

int sms_backlog_accept(struct db *db, const struct inbound_message *msg, char **error_r)
{
    /* What the table keeps is what an SMS webhook fills; anything more would be lost. */
    if (strcmp(msg->channel, "sms") != 0 || msg->sender_name || msg->subject || msg->reply_to_id ||
        msg->automatic || msg->locale_hint) {
        *error_r = xstrdup("sms_backlog: only an SMS webhook's text can be stored");
        return -1;
    }
    const char *p[] = {msg->provider, msg->provider_id, msg->sender, msg->recipient,
                       msg->body,     msg->raw,         msg->proof};
    if (db_run(
            db,
            "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, raw, proof)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (provider, provider_id) DO NOTHING",
            7, p, error_r) < 0)
        return -1;
    pthread_mutex_lock(&backlog.lock);
    backlog.accepted++;
    backlog.waiting = true;
    pthread_cond_signal(&backlog.wake);
    pthread_mutex_unlock(&backlog.lock);
    return 0;
}

bool sms_backlog_waiting(void)
{
    pthread_mutex_lock(&backlog.lock);
    bool waiting = backlog.waiting;
    pthread_mutex_unlock(&backlog.lock);
    return waiting;
}

int sms_backlog_state(struct db *db, struct sms_backlog_state *state_r, char **error_r)
{
    char give_up[DB_PARAM_SIZE];
    const char *p[] = {db_param_int(SMS_BACKLOG_GIVE_UP, give_up)};
    PGresult *res = db_exec(db,
                            "SELECT count(*) FILTER (WHERE attempts = 0), "
                            " count(*) FILTER (WHERE attempts > 0 AND attempts < $1::int),"
                            " count(*) FILTER (WHERE attempts >= $1::int),"
                            " coalesce(round(extract(epoch FROM now() - min(accepted_at)"
                            "  FILTER (WHERE attempts < $1::int))), 0)::bigint"
                            " FROM sms_backlog",
                            1, p, error_r);
    if (!res)
        return -1;
    *state_r =
        (struct sms_backlog_state){.waiting = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
                                   .failing = strtoll(PQgetvalue(res, 0, 1), NULL, 10),
                                   .given_up = strtoll(PQgetvalue(res, 0, 2), NULL, 10),
                                   .oldest_seconds = strtoll(PQgetvalue(res, 0, 3), NULL, 10)};
    PQclear(res);
    return 0;
}

/* The claim: the oldest rows due whose sender has no older row waiting, deleted by the
 * transaction that applies them (undone with it when it rolls back). */
static const char claim_sql[] =
    "WITH gone AS ("
    " DELETE FROM sms_backlog WHERE id IN ("
    "  SELECT id FROM sms_backlog b"
    "  WHERE b.attempts < $2 AND b.not_before <= now()"
    "   AND NOT EXISTS (SELECT 1 FROM sms_backlog o"
    "                   WHERE o.sender = b.sender AND o.id < b.id AND o.attempts < $2)"
    "  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, provider, provider_id, sender, recipient, body, raw, proof, attempts)"
    " SELECT * FROM gone ORDER BY id";

/* Row `i` of the claim, as the message it is; its strings stay the result's. */
static struct inbound_message message_of_row(const PGresult *res, int i,
                                             struct inbound_group *group)
{
    return (struct inbound_message){
        .channel = "sms",
        .provider = db_value(res, i, 1),
        .provider_id = db_value(res, i, 2),
        .sender = db_value(res, i, 3),
        .recipient = db_value(res, i, 4),
        .body = db_value(res, i, 5),
        .raw = db_value(res, i, 6),
        .proof = db_value(res, i, 7),
        .group = group,
    };
}

/* Message `msg` of the claim, applied in the transaction open. 0, or -1 with *error_r. */
static int apply_message(struct db *db, const struct inbound_message *msg, char **error_r)
{
    struct inbound_outcome outcome = {0};
    if (inbound_process(db, msg, &outcome, error_r) < 0)
        return -1;
    inbound_outcome_release(&outcome);
    return 0;
}

/* A text the engine refused for good, after its transaction rolled back: counted, delayed
 * by 2^attempts seconds, given up after SMS_BACKLOG_GIVE_UP attempts. */
static int record_failure(struct db *db, const char *id, const char *claimed_attempts,
                          const char *why, char **error_r)
{
    /* Counted only if no other applier counted this attempt first: between this rollback
     * and this update, another may have claimed the row as it was, and failed it too. */
    const char *p[] = {id, why, claimed_attempts};
    int64_t attempts = 0;
    if (db_query_int64(db,
                       "UPDATE sms_backlog SET attempts = attempts + 1, last_error = $2,"
                       " not_before = now() + make_interval(secs => power(2, attempts))"
                       " WHERE id = $1::bigint AND attempts = $3::int RETURNING attempts",
                       3, p, &attempts, error_r) < 0)
        return -1;
    if (attempts == 0)
        log_info("sms_backlog_failed", "id=%s attempts=%s counted=elsewhere error=%s", id,
                 claimed_attempts, log_q(why));
    else if (attempts >= SMS_BACKLOG_GIVE_UP)
        log_error("sms_backlog_given_up", "id=%s attempts=%" PRId64 " error=%s", id, attempts,
                  log_q(why));
    else
        log_warn("sms_backlog_failed", "id=%s attempts=%" PRId64 " error=%s", id, attempts,
                 log_q(why));
    return 0;
}

enum group_result { GROUP_FAILED = -2, GROUP_UNAVAILABLE = -1 };

/* Claims up to `max` rows and applies them in one transaction. The number applied (0:
 * nothing due); GROUP_UNAVAILABLE with *error_r; GROUP_FAILED when a text failed for good
 * in a group of several (rolled back: the caller takes them one at a time). A text failing
 * for good alone is recorded (record_failure()) and counts as settled. */
static int apply_group(struct db *db, long max, char **error_r)
{
    char limit[DB_PARAM_SIZE], give_up[DB_PARAM_SIZE];
    const char *p[] = {db_param_int(max, limit), db_param_int(SMS_BACKLOG_GIVE_UP, give_up)};
    int failed_row = -1; /* the text a failure is blamed on */
    char *failed_id = NULL, *failed_attempts = NULL;
    struct inbound_group *group = NULL;
    struct inbound_message *msgs = NULL;
    int rc = GROUP_UNAVAILABLE, n = 0;
    if (db_begin_deferred(db, error_r) < 0)
        return GROUP_UNAVAILABLE;
    PGresult *res = db_exec(db, claim_sql, 2, p, error_r);
    if (!res)
        goto fail;
    n = PQntuples(res);
    group = inbound_group_new();
    msgs = xcalloc((size_t)n + 1, sizeof(*msgs));
    for (int i = 0; i < n; i++)
        msgs[i] = message_of_row(res, i, group);
    /* Recorded ahead, all at once; a failure there is blamed on the first text, as below. */
    if (n > 1 && inbound_group_record(group, db, msgs, (size_t)n, error_r) < 0) {
        failed_row = 0;
        goto fail;
    }
    for (int i = 0; i < n; i++)
        if (apply_message(db, &msgs[i], error_r) < 0) {
            failed_row = i;
            goto fail;
        }
    /* The group's writes failing are blamed on its first text: alone, that is the one. */
    if (n > 0 && inbound_group_flush(group, db, error_r) < 0) {
        failed_row = 0;
        goto fail;
    }
    if (n == 0) {
        db_rollback(db);
        rc = 0;
    } else if (db_commit(db, error_r) == 0) {
        rc = n;
    } else {
        goto fail;
    }
    inbound_group_free(group);
    free(msgs);
    PQclear(res);
    return rc;
fail:
    if (failed_row >= 0) {
        failed_id = xstrdup(db_value(res, failed_row, 0));
        failed_attempts = xstrdup(db_value(res, failed_row, 8));
    }
    inbound_group_free(group);
    free(msgs);
    PQclear(res);
    db_rollback(db);
    if (!failed_id || db_lost(db) || db_transient(db)) {
        free(failed_id);
        free(failed_attempts);
        return GROUP_UNAVAILABLE;
    }
    if (n > 1) {
        rc = GROUP_FAILED;
    } else {
        char *why = *error_r;
        *error_r = NULL;
        rc = record_failure(db, failed_id, failed_attempts, why ? why : "failed", error_r) < 0
                 ? GROUP_UNAVAILABLE
                 : 1;
        free(why);
    }
    if (rc == GROUP_FAILED) {
        log_warn("sms_backlog_group_failed", "texts=%d id=%s error=%s action=one_by_one", n,
                 failed_id, log_q(*error_r ? *error_r : ""));
        free(*error_r);
        *error_r = NULL;
    }
    free(failed_id);
    free(failed_attempts);
    return rc;
}

static bool stopping(void)
{
    pthread_mutex_lock(&backlog.lock);
    bool stop = backlog.stop;
    pthread_mutex_unlock(&backlog.lock);
    return stop;
}

/* Whether the HTTP threads spent more than half their time in handlers since the last
 * reading (at most one every 10 ms): a burst of webhooks is being answered. */
struct answering_probe {
    int64_t at_us, handler_us;
    bool busy;
};

static bool answering_busy(struct answering_probe *p)
{
    int64_t now = now_monotonic_us(), handler = http_handler_time_us();
    if (now - p->at_us < 10000)
        return p->busy;
    p->busy = (handler - p->handler_us) * 2 > (now - p->at_us) * config_int("http", "threads");
    p->at_us = now;
    p->handler_us = handler;
    return p->busy;
}

/* Applies on `db` until nothing is due, or, given a probe, until webhooks keep the HTTP
 * threads busy (*yielded_r). The number of texts settled, or -1 with *error_r. */
static int drain(struct db *db, struct answering_probe *probe, bool *yielded_r, char **error_r)
{
    int settled = 0;
    long alone = 0; /* rows still to take one at a time after a group failed */
    *yielded_r = false;
    for (;;) {
        if (stopping())
            return settled; /* what is left waits for the next start */
        if (probe && answering_busy(probe)) {
            *yielded_r = true;
            return settled;
        }
        int r = apply_group(db, alone > 0 ? 1 : BACKLOG_GROUP, error_r);
        if (r == GROUP_UNAVAILABLE)
            return -1;
        if (r == GROUP_FAILED) {
            alone = BACKLOG_GROUP;
            continue;
        }
        if (r == 0)
            return settled;
        settled += r;
        if (alone > 0)
            alone--;
    }
}

/* Waits `ms` milliseconds, or less when `seen` is given and a text is stored after that
 * generation; false when stop is asked. Called with the lock held. */
static bool wait_for(const uint64_t *seen, long ms)
{
    struct timespec until = deadline_after_ms(ms);
    while (!backlog.stop && (!seen || backlog.accepted == *seen) &&
           pthread_cond_timedwait(&backlog.wake, &backlog.lock, &until) != ETIMEDOUT)
        ;
    return !backlog.stop;
}

/* Applier 0 always applies; the others step back while a burst of webhooks keeps the HTTP
 * threads busy, so that answering the gateways comes first: they join again as soon as
 * the burst eases. */
static void *applier_main(void *arg)
{
    long index = (long)(intptr_t)arg;
    struct db *db = NULL;
    struct answering_probe probe = {.at_us = now_monotonic_us(),
                                    .handler_us = http_handler_time_us()};
    long poll_ms = config_int("engine", "poll_interval") * 1000, pause_ms = 0;
    pthread_mutex_lock(&backlog.lock);
    /* At start, at once: rows a previous run left are applied first. */
    uint64_t seen = backlog.accepted - 1;
    while (wait_for(&seen, pause_ms)) {
        seen = backlog.accepted;
        backlog.applying++;
        pthread_mutex_unlock(&backlog.lock);
        char *error = NULL;
        int settled = -1;
        bool yielded = false;
        if (db || (db = database_open(&error)))
            settled = drain(db, index > 0 ? &probe : NULL, &yielded, &error);
        if (settled > 0)
            log_info("sms_backlog_applied", "texts=%d", settled);
        else if (settled < 0) /* the rows wait in the database; try again in a second */
            log_warn("sms_backlog_unavailable", "error=%s", log_q(error ? error : ""));
        free(error);
        pthread_mutex_lock(&backlog.lock);
        backlog.applying--;
        if (yielded) {
            if (!wait_for(NULL, 10))
                break;
            seen--; /* not done: go on at once */
            pause_ms = 0;
            continue;
        }
        pause_ms = settled < 0 ? 1000 : poll_ms;
        /* Nothing due, nothing stored since this drain began and no other applier in a
         * transaction: new texts may be applied while their gateway waits again. */
        if (settled >= 0 && backlog.accepted == seen && backlog.applying == 0)
            backlog.waiting = false;
    }
    pthread_mutex_unlock(&backlog.lock);
    db_close(&db);
    return NULL;
}

int sms_backlog_start(char **error_r)
{
    long n = config_int("sms", "appliers");
    /* Rows a previous run left are applied first; until then new texts queue behind them.
     * Known before the HTTP server starts, so that with none a first webhook is applied
     * while its gateway waits, as when the daemon is idle. */
    bool left = false;
    struct db *db = database_open(error_r);
    int rc =
        db ? db_query_bool(db, "SELECT EXISTS (SELECT 1 FROM sms_backlog)", 0, NULL, &left, error_r)
           : -1;
    db_close(&db);
    if (rc < 0)
        return -1;
    pthread_mutex_lock(&backlog.lock);
    backlog.stop = false;
    backlog.waiting = left;
    pthread_mutex_unlock(&backlog.lock);
    backlog.threads = xcalloc((size_t)n, sizeof(*backlog.threads));
    for (backlog.n = 0; backlog.n < n; backlog.n++)
        if (pthread_create(&backlog.threads[backlog.n], NULL, applier_main,
                           (void *)(intptr_t)backlog.n) != 0) {
            *error_r = xstrdup("cannot start an SMS backlog applier thread");
            sms_backlog_stop();
            return -1;
        }
    return 0;
}

void sms_backlog_stop(void)
{
    if (!backlog.threads)
        return;
    pthread_mutex_lock(&backlog.lock);
    backlog.stop = true;
    pthread_cond_broadcast(&backlog.wake);
    pthread_mutex_unlock(&backlog.lock);
    for (long i = 0; i < backlog.n; i++)
        pthread_join(backlog.threads[i], NULL);
    free(backlog.threads);
    backlog.threads = NULL;
    backlog.n = 0;
}
