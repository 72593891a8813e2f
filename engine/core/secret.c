#include "core/secret.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

static char *cached;
static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;

int secret_ensure(struct db *db, char **error_r)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        *error_r = xstrdup("no random bytes from OpenSSL");
        return -1;
    }
    char hex[sizeof(raw) * 2 + 1];
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    const char *params[] = {hex};
    return db_run(db,
                  "INSERT INTO settings (name, value) VALUES ('engine_secret', $1) "
                  "ON CONFLICT (name) DO NOTHING",
                  1, params, error_r);
}

const char *secret_get(struct db *db, char **error_r)
{
    pthread_mutex_lock(&secret_lock);
    if (!cached) {
        const char *configured = config_str("engine", "secret");
        if (*configured) {
            cached = xstrdup(configured);
        } else {
            PGresult *res = db_exec(db, "SELECT value FROM settings WHERE name = 'engine_secret'",
                                    0, NULL, error_r);
            if (res && PQntuples(res) == 1)
                cached = xstrdup(PQgetvalue(res, 0, 0));
            else if (res)
                *error_r = xstrdup("no engine secret: run tocsin migrate");
            PQclear(res);
        }
        log_secret(cached);
    }
    pthread_mutex_unlock(&secret_lock);
    return cached;
}
