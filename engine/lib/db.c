#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"

#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct prepared {
    const char *sql; /* address of the literal: its identity */
    char name[24];
};

struct db {
    PGconn *conn;
    char *url;
    struct prepared *prepared;
    size_t nprepared, capprepared;
    char sqlstate[6];
    bool lost;
    bool unnamed;       /* through a transaction pooler: never PQprepare */
    bool demoted;       /* the server refused a write: reconnect before the next statement */
    bool begin_pending; /* db_begin_deferred(): BEGIN leaves with the next statement */
    int64_t replan_at_ms, replan_every_ms; /* see replan_if_due() */
};

/* PostgreSQL keeps the generic plan it settles on after a prepared statement's fifth run
 * until the tables' statistics change, and a new installation makes those plans while its
 * tables are empty, when every index costs the same: a claim or a lookup by sender then
 * walked a whole month or every mail (3 to 16 ms a statement after a few thousand rows)
 * until autovacuum's ANALYZE came round. So each connection drops its cached plans 5 s
 * after it opens, then after 10, 20 and 40 s, then every minute (DISCARD PLANS: the
 * statements stay prepared and are planned again on their next run, on the tables' size
 * as it is then). */
#define DB_REPLAN_FIRST_MS 5000
#define DB_REPLAN_MAX_MS   60000

static void replan_schedule(struct db *db, bool first)
{
    db->replan_every_ms = first                                        ? DB_REPLAN_FIRST_MS
                          : db->replan_every_ms * 2 > DB_REPLAN_MAX_MS ? DB_REPLAN_MAX_MS
                                                                       : db->replan_every_ms * 2;
    db->replan_at_ms = now_monotonic_ms() + db->replan_every_ms;
}

static void replan_if_due(struct db *db)
{
    if (db->unnamed || db->begin_pending || now_monotonic_ms() < db->replan_at_ms ||
        PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        return;
    PQclear(PQexec(db->conn, "DISCARD PLANS"));
    replan_schedule(db, false);
}

static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int connect_now(struct db *db, char **error_r)
{
    if (db->conn)
        PQfinish(db->conn);
    db->nprepared = 0;
    db->conn = PQconnectdb(db->url);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        *error_r = xstrdup(str_trim(PQerrorMessage(db->conn)));
        db->lost = true;
        strcpy(db->sqlstate, "08006");
        return -1;
    }
    PQsetNoticeProcessor(db->conn, notice_quiet, NULL);
    db->lost = false;
    replan_schedule(db, true);
    return 0;
}

static struct db *open_with(const char *url, bool unnamed, char **error_r)
{
    struct db *db = xcalloc(1, sizeof(*db));
    db->url = xstrdup(url);
    db->unnamed = unnamed;
    if (connect_now(db, error_r) < 0) {
        db_close(&db);
        return NULL;
    }
    return db;
}

struct db *db_open(const char *url, char **error_r)
{
    return open_with(url, false, error_r);
}

struct db *db_open_pooled(const char *url, char **error_r)
{
    return open_with(url, true, error_r);
}

void db_close(struct db **dbp)
{
    struct db *db = *dbp;
    if (!db)
        return;
    if (db->conn)
        PQfinish(db->conn);
    free(db->url);
    free(db->prepared);
    free(db);
    *dbp = NULL;
}

PGconn *db_conn(struct db *db)
{
    return db->conn;
}

/* A connection the server closed while we were idle (a restart, pg_terminate_backend, an
 * idle timeout) still says CONNECTION_OK until it is used, so the first statement after a
 * database restart would fail (a 503 or a backed-off worker) although the server is back.
 * The server's goodbye is already waiting on the socket: read it, and libpq marks the
 * connection bad on the end of file. Outside a transaction only; a few rounds, since the
 * FATAL message and the end of file may be read separately. Notifications read here stay
 * queued for PQnotifies(). */
static void notice_server_gone(struct db *db)
{
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        return;
    struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
    for (int round = 0; round < 4 && pfd.fd >= 0 && poll(&pfd, 1, 0) > 0; round++)
        if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK)
            break;
}

/* Reconnect a broken connection, but never in the middle of a transaction: the
 * transaction's work is gone and the caller must learn that from the error. */
static int ensure_connected(struct db *db, char **error_r)
{
    /* A server that refused a write is no longer the primary, though the connection is
     * fine: start again from the first host, where libpq's target_session_attrs finds the
     * one that is. Never inside a transaction: the caller is rolling that back. */
    if (db->demoted && db->conn && PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
        db->demoted = false;
        return connect_now(db, error_r);
    }
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        notice_server_gone(db);
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    if (db->conn && PQstatus(db->conn) != CONNECTION_OK)
        PQreset(db->conn);
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK) {
        db->nprepared = 0;
        db->lost = false;
        replan_schedule(db, true);
        return 0;
    }
    return connect_now(db, error_r);
}

static PGresult *check_result(struct db *db, PGresult *res, char **error_r)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        db->sqlstate[0] = '\0';
        return res;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
    if (strcmp(db->sqlstate, "25006") == 0)
        db->demoted = true;
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(db->conn);
    char *copy = xstrdup(msg);
    *error_r = xstrdup(str_trim(copy));
    free(copy);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db->lost = true;
        if (!state)
            strcpy(db->sqlstate, "08006");
    }
    PQclear(res);
    return NULL;
}

static const char *prepared_name(struct db *db, const char *sql, int nparams, char **error_r)
{
    for (size_t i = 0; i < db->nprepared; i++)
        if (db->prepared[i].sql == sql)
            return db->prepared[i].name;
    if (db->nprepared == db->capprepared) {
        db->capprepared = db->capprepared ? db->capprepared * 2 : 32;
        db->prepared = xrealloc(db->prepared, db->capprepared * sizeof(*db->prepared));
    }
    struct prepared *p = &db->prepared[db->nprepared];
    snprintf(p->name, sizeof(p->name), "t%zx", (size_t)(uintptr_t)sql);
    PGresult *res = check_result(db, PQprepare(db->conn, p->name, sql, nparams, NULL), error_r);
    if (!res)
        return NULL;
    PQclear(res);
    p->sql = sql;
    db->nprepared++;
    return p->name;
}

/* One statement of a pipeline: a prepared one (`name`), or `sql` sent as it is. */
struct step {
    const char *name;
    const char *sql;
    int nparams;
    const char *const *params;
};

static bool send_step(PGconn *conn, const struct step *st)
{
    if (st->name)
        return PQsendQueryPrepared(conn, st->name, st->nparams, st->params, NULL, NULL, 0);
    return PQsendQueryParams(conn, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0);
}

/* Read the one result of a step, then the end of its results. */
static PGresult *next_result(PGconn *conn)
{
    PGresult *res = PQgetResult(conn);
    if (res) {
        PGresult *more;
        while ((more = PQgetResult(conn)))
            PQclear(more);
    }
    return res;
}

/*
 * Send `n` statements in one round trip (libpq's pipeline mode) and read their results.
 * Returns the result of step `keep` when every step succeeded, else NULL with the first
 * error in *error_r, as db_exec() reports it. After an error the server skips the rest
 * of the pipeline, and a transaction the steps were in is left for the caller to roll
 * back, as after any failed statement.
 */
static PGresult *exec_pipeline(struct db *db, const struct step *steps, int n, int keep,
                               char **error_r)
{
    PGconn *conn = db->conn;
    if (!PQenterPipelineMode(conn))
        return check_result(db, NULL, error_r);
    bool sent = true;
    for (int i = 0; i < n && sent; i++)
        sent = send_step(conn, &steps[i]);
    if (!sent || !PQpipelineSync(conn)) {
        /* Only a broken connection refuses to queue a statement: start afresh, and tell
         * the caller to try again later (its transaction, if any, is gone). */
        check_result(db, NULL, error_r);
        PQreset(conn);
        db->nprepared = 0;
        strcpy(db->sqlstate, "08006");
        return NULL;
    }
    PGresult *kept = NULL;
    bool failed = false;
    for (int i = 0; i < n; i++) {
        PGresult *res = next_result(conn);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_PIPELINE_ABORTED) {
            PQclear(res); /* skipped after an earlier step's error, already reported */
        } else if (!failed && (res = check_result(db, res, error_r)) == NULL) {
            failed = true;
        } else if (i == keep) {
            kept = res;
        } else {
            PQclear(res);
        }
    }
    PQclear(PQgetResult(conn)); /* the sync point */
    PQexitPipelineMode(conn);
    if (failed) {
        PQclear(kept);
        return NULL;
    }
    return kept;
}

/* Run one statement, preceded by the BEGIN that db_begin_deferred() left pending, if any. Plain
 * SQL without parameters may hold several commands (a migration), which only the simple
 * protocol takes, outside any pipeline: there BEGIN costs its own round trip. */
static PGresult *exec_step(struct db *db, const struct step *st, char **error_r)
{
    if (db->begin_pending) {
        db->begin_pending = false;
        const struct step steps[] = {{.sql = "BEGIN"}, *st};
        if (st->name || st->nparams > 0)
            return exec_pipeline(db, steps, 2, 1, error_r);
        PGresult *begun = exec_step(db, &steps[0], error_r);
        if (!begun)
            return NULL;
        PQclear(begun);
    }
    if (st->name)
        return check_result(
            db, PQexecPrepared(db->conn, st->name, st->nparams, st->params, NULL, NULL, 0),
            error_r);
    if (st->nparams == 0)
        return check_result(db, PQexec(db->conn, st->sql), error_r);
    return check_result(
        db, PQexecParams(db->conn, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0), error_r);
}

PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
                  char **error_r)
{
    if (ensure_connected(db, error_r) < 0)
        return NULL;
    if (db->unnamed) {
        const struct step st = {.sql = sql, .nparams = nparams, .params = params};
        return exec_step(db, &st, error_r);
    }
    replan_if_due(db);
    const char *name = prepared_name(db, sql, nparams, error_r);
    if (!name)
        return NULL;
    const struct step st = {.name = name, .nparams = nparams, .params = params};
    return exec_step(db, &st, error_r);
}

PGresult *db_exec_once(struct db *db, const char *sql, int nparams, const char *const *params,
                       char **error_r)
{
    if (ensure_connected(db, error_r) < 0)
        return NULL;
    const struct step st = {.sql = sql, .nparams = nparams, .params = params};
    return exec_step(db, &st, error_r);
}

int db_run(struct db *db, const char *sql, int nparams, const char *const *params, char **error_r)
{
    PGresult *res = db_exec(db, sql, nparams, params, error_r);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int db_begin(struct db *db, char **error_r)
{
    PGresult *res = db_exec_once(db, "BEGIN", 0, NULL, error_r);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int db_begin_deferred(struct db *db, char **error_r)
{
    if (ensure_connected(db, error_r) < 0)
        return -1;
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        db->begin_pending = true;
    return 0;
}

/* A COMMIT's result: COMMIT of a failed transaction answers ROLLBACK without an error. */
static int commit_result(PGresult *res, char **error_r)
{
    if (!res)
        return -1;
    bool rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back) {
        *error_r = xstrdup("transaction was rolled back");
        return -1;
    }
    return 0;
}

int db_run_and_commit(struct db *db, const char *sql, int nparams, const char *const *params,
                      char **error_r)
{
    if (ensure_connected(db, error_r) < 0)
        return -1;
    const char *name = NULL;
    if (!db->unnamed && !(name = prepared_name(db, sql, nparams, error_r)))
        return -1;
    const struct step steps[] = {{.sql = "BEGIN"},
                                 {.name = name, .sql = sql, .nparams = nparams, .params = params},
                                 {.sql = "COMMIT"}};
    int first = db->begin_pending ? 0 : 1;
    db->begin_pending = false;
    return commit_result(exec_pipeline(db, steps + first, 3 - first, 2 - first, error_r), error_r);
}

int db_commit(struct db *db, char **error_r)
{
    if (db->begin_pending) {
        db->begin_pending = false; /* nothing ran: nothing to commit */
        return 0;
    }
    return commit_result(db_exec_once(db, "COMMIT", 0, NULL, error_r), error_r);
}

void db_rollback(struct db *db)
{
    db->begin_pending = false;
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    PQclear(res);
}

bool db_in_transaction(struct db *db)
{
    return db->begin_pending || (db->conn && PQtransactionStatus(db->conn) != PQTRANS_IDLE);
}

const char *db_sqlstate(struct db *db)
{
    return db->sqlstate;
}

bool db_lost(struct db *db)
{
    return db->lost || db->demoted || !db->conn || PQstatus(db->conn) != CONNECTION_OK;
}

bool db_transient(struct db *db)
{
    if (db_lost(db))
        return true;
    /* Class 08 connection, 40001 serialization, 40P01 deadlock, 57P0x shutdown or
     * start-up, 53300 too many connections, 25006 a read-only server (a failover). */
    return str_starts_with(db->sqlstate, "08") || strcmp(db->sqlstate, "40001") == 0 ||
           strcmp(db->sqlstate, "40P01") == 0 || str_starts_with(db->sqlstate, "57P0") ||
           strcmp(db->sqlstate, "53300") == 0 || strcmp(db->sqlstate, "25006") == 0;
}

const char *db_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int db_query_int64(struct db *db, const char *sql, int nparams, const char *const *params,
                   int64_t *value_r, char **error_r)
{
    PGresult *res = db_exec(db, sql, nparams, params, error_r);
    if (!res)
        return -1;
    const char *v = PQntuples(res) > 0 && PQnfields(res) > 0 ? db_value(res, 0, 0) : NULL;
    *value_r = v ? strtoll(v, NULL, 10) : 0;
    PQclear(res);
    return 0;
}

int db_query_bool(struct db *db, const char *sql, int nparams, const char *const *params,
                  bool *value_r, char **error_r)
{
    PGresult *res = db_exec(db, sql, nparams, params, error_r);
    if (!res)
        return -1;
    const char *v = PQntuples(res) > 0 && PQnfields(res) > 0 ? db_value(res, 0, 0) : NULL;
    *value_r = v && v[0] == 't';
    PQclear(res);
    return 0;
}

const char *db_param_int(int64_t value, char slot[DB_PARAM_SIZE])
{
    snprintf(slot, DB_PARAM_SIZE, "%" PRId64, value);
    return slot;
}

const char *db_param_id_or_null(int64_t id, char slot[DB_PARAM_SIZE])
{
    return id ? db_param_int(id, slot) : NULL;
}
