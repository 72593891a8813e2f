/*
 * database — which connection each duty of tocsin opens.
 *
 * database_open() is for ordinary statements, each in its own transaction or inside a
 * transaction the caller opens: [database] url. When [database] direct_url is set, url
 * goes through a transaction-mode pooler (PgBouncer) and the handle sends statements
 * unnamed (db_open_pooled()).
 * database_open_session() is for duties that need a server session of their own —
 * session advisory locks (the scheduler, the IMAP reader, the daemon's presence,
 * migrations) and LISTEN: [database] direct_url, else url.
 * Both return a handle the caller owns (db_close()), or NULL with *error_r set (caller
 * frees); like every handle, one that failed to connect may be retried by db_open again.
 */
#ifndef TOCSIN_DATABASE_H
#define TOCSIN_DATABASE_H

#include "lib/db.h"

struct db *database_open(char **error_r);
struct db *database_open_session(char **error_r);

#endif
