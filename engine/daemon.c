#include "daemon.h"
#include "cli.h"
#include "config.h"
#include "http.h"
#include "imap.h"
#include "log.h"
#include "migrate.h"
#include "queue.h"
#include "scheduler.h"
#include "util.h"

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

/* The order matters: the HTTP server starts last and stops first, so no webhook is taken
 * while the rest is not ready or already winding down. */
const struct daemon_duty daemon_duties[] = {
    {"outbound", queue_start, queue_stop},
    {"scheduler", scheduler_start, scheduler_stop},
    {"imap", imap_start, imap_stop},
    {"http", http_start, http_stop},
    {NULL, NULL, NULL},
};

/* Wait for the database at start-up with backoff, as a supervisor would restart us. */
static struct db *wait_for_database(sigset_t *signals)
{
    char *url = config_database_url();
    int delay = 1;
    struct db *db = NULL;
    for (;;) {
        char *error = NULL;
        db = db_open(url, &error);
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
    free(url);
    return db;
}

int cli_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, "tocsin run   (the daemon; SIGTERM or SIGINT stops it)"))
        return EX_OK;
    if (argc > 1)
        return cli_fail(EX_USAGE, "run", "takes no arguments");
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
        int rc = cli_fail(EX_UNAVAILABLE, "run", "%s", error);
        free(error);
        return rc;
    }
    if (pending > 0)
        return cli_fail(EX_CONFIG, "run", "%d migration(s) pending: run `tocsin migrate` first",
                        pending);

    int started = 0, rc = EX_OK;
    for (; daemon_duties[started].name; started++) {
        if (daemon_duties[started].start(&error) < 0) {
            rc = cli_fail(EX_UNAVAILABLE, "run", "%s: %s", daemon_duties[started].name, error);
            free(error);
            break;
        }
    }
    if (rc == EX_OK) {
        log_info("started", "pid=%d config=%s", (int)getpid(), log_q(config_source()));
        int sig = 0;
        sigwait(&signals, &sig);
        log_info("stopping", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
    }
    atomic_store(&stopping, true);
    while (started-- > 0)
        daemon_duties[started].stop();
    log_info("stopped", "pid=%d", (int)getpid());
    return rc;
}
