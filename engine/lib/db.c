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
};

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
    return 0;
}

struct db *db_open(const char *url, char **error_r)
{
    struct db *db = xcalloc(1, sizeof(*db));
    db->url = xstrdup(url);
    if (connect_now(db, error_r) < 0) {
        db_close(&db);
        return NULL;
    }
    return db;
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
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        notice_server_gone(db);
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    if (db->conn && PQstatus(db->conn) != CONNECTION_OK)
        PQreset(db->conn);
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK) {
        db->nprepared = 0;
        db->lost = false;
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

PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
                  char **error_r)
{
    if (ensure_connected(db, error_r) < 0)
        return NULL;
    const char *name = prepared_name(db, sql, nparams, error_r);
    if (!name)
        return NULL;
    return check_result(db, PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0),
                        error_r);
}

PGresult *db_exec_once(struct db *db, const char *sql, int nparams, const char *const *params,
                       char **error_r)
{
    if (ensure_connected(db, error_r) < 0)
        return NULL;
    if (nparams == 0)
        return check_result(db, PQexec(db->conn, sql), error_r);
    return check_result(db, PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0),
                        error_r);
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

int db_commit(struct db *db, char **error_r)
{
    PGresult *res = db_exec_once(db, "COMMIT", 0, NULL, error_r);
    if (!res)
        return -1;
    /* COMMIT of a failed transaction answers ROLLBACK without an error. */
    bool rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back) {
        *error_r = xstrdup("transaction was rolled back");
        return -1;
    }
    return 0;
}

void db_rollback(struct db *db)
{
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    PQclear(res);
}

bool db_in_transaction(struct db *db)
{
    return db->conn && PQtransactionStatus(db->conn) != PQTRANS_IDLE;
}

const char *db_sqlstate(struct db *db)
{
    return db->sqlstate;
}

bool db_lost(struct db *db)
{
    return db->lost || !db->conn || PQstatus(db->conn) != CONNECTION_OK;
}

bool db_transient(struct db *db)
{
    if (db_lost(db))
        return true;
    /* Class 08 connection, 40001 serialization, 40P01 deadlock, 57P0x shutdown. */
    return str_starts_with(db->sqlstate, "08") || strcmp(db->sqlstate, "40001") == 0 ||
           strcmp(db->sqlstate, "40P01") == 0 || str_starts_with(db->sqlstate, "57P0") ||
           strcmp(db->sqlstate, "53300") == 0;
}

const char *db_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
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
