/*
 * secret — the engine secret that signs tokens (unsubscribe links, reply addresses, VERP).
 *
 * It is [engine] secret when configured; otherwise a random 256-bit value generated once
 * by secret_ensure() (called by migrate) and stored in the settings table, so every daemon
 * on one database signs alike. secret_get() returns the cached value (loading it on first
 * use; NULL with *error_r set if the database has none yet). The string lives until exit.
 */
#ifndef TOCSIN_SECRET_H
#define TOCSIN_SECRET_H

#include "lib/db.h"

int secret_ensure(struct db *db, char **error_r);
const char *secret_get(struct db *db, char **error_r);

#endif
