#include "core/migrate.h"
#include "lib/embedded.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/secret.h"

#include <string.h>

/* Arbitrary constant naming tocsin's migration lock among advisory locks. */
#define MIGRATE_LOCK "7310473610"

static const char *version_of(const char *name, char *out, size_t outlen)
{
    const char *base = name + strlen("migrations/");
    size_t n = strcspn(base, ".");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, base, n);
    out[n] = '\0';
    return out;
}

static bool is_migration(const struct embedded_file *f)
{
    return str_starts_with(f->name, "migrations/") && str_ends_with(f->name, ".sql");
}

static int applied(struct db *db, const char *version, bool *yes_r, char **error_r)
{
    const char *params[] = {version};
    PGresult *res =
        db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, error_r);
    if (!res)
        return -1;
    *yes_r = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

static int ensure_table(struct db *db, char **error_r)
{
    return db_run(db,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version text PRIMARY KEY,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL, error_r);
}

int migrate_pending(struct db *db, char **error_r)
{
    PGresult *res =
        db_exec(db, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, error_r);
    if (!res)
        return -1;
    bool exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    int pending = 0;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        if (!is_migration(f))
            continue;
        char version[64];
        bool yes = false;
        if (exists && applied(db, version_of(f->name, version, sizeof(version)), &yes, error_r) < 0)
            return -1;
        if (!yes)
            pending++;
    }
    return pending;
}

static int apply_one(struct db *db, const struct embedded_file *f, const char *version,
                     char **error_r)
{
    if (db_begin(db, error_r) < 0)
        return -1;
    PGresult *res = db_exec_once(db, f->data, 0, NULL, error_r);
    if (!res)
        goto fail;
    PQclear(res);
    const char *params[] = {version};
    if (db_run(db, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, params, error_r) < 0)
        goto fail;
    if (db_commit(db, error_r) < 0)
        goto fail;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

int migrate_apply(struct db *db, char **error_r)
{
    int count = 0;
    if (db_run(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", 0, NULL, error_r) < 0)
        return -1;
    if (ensure_table(db, error_r) < 0)
        goto fail;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        if (!is_migration(f))
            continue;
        char version[64];
        version_of(f->name, version, sizeof(version));
        bool yes;
        if (applied(db, version, &yes, error_r) < 0)
            goto fail;
        if (yes)
            continue;
        if (apply_one(db, f, version, error_r) < 0) {
            char *inner = *error_r;
            *error_r = xasprintf("%s: %s", f->name, inner);
            free(inner);
            goto fail;
        }
        log_info("migrate", "version=%s", version);
        count++;
    }
    if (secret_ensure(db, error_r) < 0)
        goto fail;
    char *ignored = NULL;
    db_run(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", 0, NULL, &ignored);
    free(ignored);
    return count;
fail:
    db_rollback(db);
    ignored = NULL;
    db_run(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", 0, NULL, &ignored);
    free(ignored);
    return -1;
}
