/*
 * db — one PostgreSQL connection (libpq) with statements prepared once.
 *
 * db_open() connects and returns a handle the caller owns (db_close() frees it), or NULL
 * with *error_r set. db_exec() runs a parameterised statement: `sql` must be a string
 * literal (its address names the prepared statement, prepared on first use on this
 * connection). db_exec_once() runs a statement without preparing it (migrations, ad hoc).
 * Both return a PGresult the caller PQclear()s, or NULL with *error_r set (caller frees);
 * db_sqlstate() then gives the SQLSTATE ("" if the connection failed) and db_lost() tells
 * whether the connection is gone, which callers treat as "try again later" (503, exit 75).
 * A lost connection is reopened by the next db_exec() outside a transaction.
 * A handle is used by one thread at a time.
 *
 * `url` may name several hosts (host=a,b port=p,q target_session_attrs=read-write, as
 * pg_auto_failover's `show uri` prints): libpq tries them in order at every (re)connect.
 * A statement refused because the server is read-only (SQLSTATE 25006: a primary demoted
 * under us) marks the handle lost, so the next statement reconnects and finds the new
 * primary; the failed one is the caller's to retry (db_transient() says so).
 *
 * db_open_pooled() is for a connection through a transaction-mode pooler (PgBouncer),
 * where each transaction may run on another server connection: statements are sent
 * unnamed (parsed each time) instead of prepared, and the caller must not rely on any
 * session state — no LISTEN, no session advisory lock, no SET outside a transaction.
 *
 * A transaction's BEGIN and COMMIT need not cost round trips of their own: after
 * db_begin_deferred() BEGIN leaves with the transaction's first statement, in one round
 * trip (libpq's pipeline mode), and db_run_and_commit() sends a last statement and COMMIT
 * together. A command transaction on a webhook is a handful of statements, so the two
 * round trips saved are a good part of its time. db_in_transaction() is true from
 * db_begin_deferred() on; code that uses db_conn() itself inside a transaction opens it
 * with db_begin().
 */
#ifndef TOCSIN_DB_H
#define TOCSIN_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct db;

struct db *db_open(const char *url, char **error_r);
struct db *db_open_pooled(const char *url, char **error_r);
void db_close(struct db **db);
PGconn *db_conn(struct db *db);

PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
                  char **error_r);
PGresult *db_exec_once(struct db *db, const char *sql, int nparams, const char *const *params,
                       char **error_r);
/* Run a statement for its effect only: 0, or -1 with *error_r set. */
int db_run(struct db *db, const char *sql, int nparams, const char *const *params, char **error_r);

int db_begin(struct db *db, char **error_r);
int db_begin_deferred(struct db *db, char **error_r);
int db_commit(struct db *db, char **error_r);
/* Run a statement for its effect, then COMMIT, in one round trip: 0, or -1 with *error_r
 * (the statement failed: the transaction is to be rolled back; or the COMMIT did). */
int db_run_and_commit(struct db *db, const char *sql, int nparams, const char *const *params,
                      char **error_r);
/* Roll back if a transaction is open; never fails from the caller's point of view. */
void db_rollback(struct db *db);
bool db_in_transaction(struct db *db);

const char *db_sqlstate(struct db *db);
bool db_lost(struct db *db);
/* True when the last error means "retry later": connection lost, serialization failure,
 * deadlock, the server shutting down or starting, or a server that is no longer the
 * primary. */
bool db_transient(struct db *db);

/* The first column of the first row as a number (0 when there is no row or it is NULL)
 * or as a boolean (false likewise): 0, or -1 with *error_r. */
int db_query_int64(struct db *db, const char *sql, int nparams, const char *const *params,
                   int64_t *value_r, char **error_r);
int db_query_bool(struct db *db, const char *sql, int nparams, const char *const *params,
                  bool *value_r, char **error_r);

/* Value of column `col` in row `row`, or NULL when SQL NULL. */
const char *db_value(const PGresult *res, int row, int col);

/*
 * An integer as the text of a statement parameter, written into `slot` (which the caller
 * owns; DB_PARAM_SIZE holds any int64) and returned. Two functions, because the
 * difference matters and must show at the call: db_param_int() always gives the number;
 * db_param_id_or_null() gives NULL, i.e. SQL NULL, for 0 — for optional references
 * (a scope, a campaign) where 0 means "none" and a 0 in the column would break the
 * foreign key.
 */
#define DB_PARAM_SIZE 24
const char *db_param_int(int64_t value, char slot[DB_PARAM_SIZE]);
const char *db_param_id_or_null(int64_t id, char slot[DB_PARAM_SIZE]);

#endif
