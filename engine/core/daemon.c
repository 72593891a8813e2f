#include "core/daemon.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/database.h"
#include "core/migrate.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static atomic_bool stopping;

bool daemon_stopping(void)
{
    return atomic_load(&stopping);
}

/* Wait for the database at start-up with backoff, as a supervisor would restart us. */
static struct db *wait_for_database(sigset_t *signals)
{
    int delay = 1;
    struct db *db = NULL;
    for (;;) {
        char *error = NULL;
        db = database_open(&error);
        if (db)
            break;
        log_warn("database_unreachable", "error=%s retry_in=%ds", log_q(error), delay);
        free(error);
        struct timespec ts = {.tv_sec = delay};
        if (sigtimedwait(signals, NULL, &ts) > 0)
            break;
        if (delay < 30)
            delay *= 2;
    }
    return db;
}

void daemon_request_stop(void)
{
    atomic_store(&stopping, true);
}

int daemon_run(const struct daemon_duty *duties, char **error_r)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    /* Block the stop signals in every thread; this thread takes them with sigwait. */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct db *db = wait_for_database(&signals);
    if (!db)
        return EX_OK;
    char *error = NULL;
    int pending = migrate_pending(db, &error);
    db_close(&db);
    if (pending < 0) {
        *error_r = error;
        return EX_UNAVAILABLE;
    }
    if (pending > 0) {
        *error_r = xasprintf("%d migration(s) pending: run `tocsin migrate` first", pending);
        return EX_CONFIG;
    }

    int started = 0, rc = EX_OK;
    for (; duties[started].name; started++) {
        if (duties[started].start(&error) < 0) {
            *error_r = xasprintf("%s: %s", duties[started].name, error);
            free(error);
            rc = EX_UNAVAILABLE;
            break;
        }
    }
    if (rc == EX_OK) {
        log_info("started", "pid=%d config=%s", (int)getpid(), log_q(config_source()));
        int sig = 0;
        sigwait(&signals, &sig);
        log_info("stopping", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
    }
    daemon_request_stop();
    while (started-- > 0)
        duties[started].stop();
    log_info("stopped", "pid=%d", (int)getpid());
    return rc;
}
