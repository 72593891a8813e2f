/*
 * migrate — apply the embedded migrations/NNNN_name.sql in order, each exactly once.
 *
 * migrate_apply() takes a session advisory lock so concurrent runs (two daemons, two
 * operators) serialise; each migration runs in its own transaction together with its
 * schema_migrations row. Returns the number applied (0 when up to date) or -1 with
 * *error_r set. migrate_pending() counts what is not applied yet, or -1 on error.
 */
#ifndef TOCSIN_MIGRATE_H
#define TOCSIN_MIGRATE_H

#include "lib/db.h"

int migrate_apply(struct db *db, char **error_r);
int migrate_pending(struct db *db, char **error_r);

#endif
