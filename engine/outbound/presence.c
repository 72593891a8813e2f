#include "outbound/presence.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/database.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static pthread_t thread;
static atomic_bool thread_started;
static int stop_fd = -1;
static atomic_bool stop_requested;
static atomic_int held_key;
static atomic_int own_key;
/* presence_announce(): set by any thread, cleared by the presence thread once it has sent
 * NOTIFY tocsin_outbound; announce_fd wakes the thread. */
static atomic_bool announce_pending;
static int announce_fd = -1;

/* presence_start() waits for the first attempt, so that the first claims already name
 * the key (else they would fall back to the lease for nothing). */
static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started_cond = PTHREAD_COND_INITIALIZER;
static bool first_attempt_done;

static void first_attempt_over(void)
{
    pthread_mutex_lock(&started_lock);
    first_attempt_done = true;
    pthread_cond_broadcast(&started_cond);
    pthread_mutex_unlock(&started_lock);
}

static pthread_mutex_t subscribers_lock = PTHREAD_MUTEX_INITIALIZER;
static int *subscribers;
static size_t nsubscribers, capsubscribers;

int presence_key(void)
{
    return atomic_load(&held_key);
}

int presence_own_key(void)
{
    return atomic_load(&own_key);
}

void presence_subscribe(int fd)
{
    pthread_mutex_lock(&subscribers_lock);
    if (nsubscribers == capsubscribers) {
        capsubscribers = capsubscribers ? capsubscribers * 2 : 8;
        subscribers = xrealloc(subscribers, capsubscribers * sizeof(*subscribers));
    }
    subscribers[nsubscribers++] = fd;
    pthread_mutex_unlock(&subscribers_lock);
}

void presence_unsubscribe(int fd)
{
    pthread_mutex_lock(&subscribers_lock);
    for (size_t i = 0; i < nsubscribers; i++)
        if (subscribers[i] == fd) {
            subscribers[i] = subscribers[--nsubscribers];
            break;
        }
    pthread_mutex_unlock(&subscribers_lock);
}

static void wake_subscribers(void)
{
    uint64_t one = 1;
    pthread_mutex_lock(&subscribers_lock);
    for (size_t i = 0; i < nsubscribers; i++)
        /* A full counter (EAGAIN) already means "wake up". */
        if (write(subscribers[i], &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_warn("presence_wake_failed", "error=%s", log_q(strerror(errno)));
    pthread_mutex_unlock(&subscribers_lock);
}

static int random_key(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint32_t)now_wall_ms() ^ (uint32_t)getpid();
    r &= 0x7fffffffu;
    return r ? (int)r : 1;
}

/* Sleep up to `ms`, or less when asked to stop or to announce; returns true when the
 * socket (fd >= 0) became readable. */
static bool nap(int fd, int ms)
{
    struct pollfd fds[3] = {{.fd = stop_fd, .events = POLLIN},
                            {.fd = announce_fd, .events = POLLIN},
                            {.fd = fd, .events = POLLIN}};
    if (poll(fds, fd >= 0 ? 3 : 2, ms) <= 0)
        return false;
    uint64_t count;
    if (fds[1].revents && read(announce_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warn("presence_announce_read", "error=%s", log_q(strerror(errno)));
    return fd >= 0 && fds[2].revents;
}

bool presence_announces(void)
{
    return thread_started && !atomic_load(&stop_requested);
}

/* Called by the daemon's HTTP and IMAP threads, which stop before the queue does (duties
 * stop in the reverse order of their start, core/daemon.h): announce_fd is open. */
void presence_announce(void)
{
    if (!presence_announces())
        return;
    uint64_t one = 1;
    if (!atomic_exchange(&announce_pending, true) && write(announce_fd, &one, sizeof(one)) < 0 &&
        errno != EAGAIN)
        log_warn("presence_announce_failed", "error=%s", log_q(strerror(errno)));
}

/* Send the NOTIFY an announcement asked for, at most once per PRESENCE_ANNOUNCE_MS, and
 * wake this daemon's workers with it. Returns how long the next one must wait (ms), or -1
 * when none is pending. */
static int announce(struct db *db, int64_t *last_ms)
{
    if (!atomic_load(&announce_pending))
        return -1;
    int64_t wait = *last_ms + PRESENCE_ANNOUNCE_MS - now_monotonic_ms();
    if (wait > 0)
        return (int)wait;
    atomic_store(&announce_pending, false);
    *last_ms = now_monotonic_ms();
    char *error = NULL;
    PGresult *res = db_exec_once(db, "NOTIFY tocsin_outbound", 0, NULL, &error);
    if (!res) {
        /* The session is being lost: the other daemons poll, and this one's workers are
         * woken below. */
        log_warn("presence_announce_failed", "error=%s", log_q(error));
        free(error);
    }
    PQclear(res);
    wake_subscribers();
    return -1;
}

/* Open the session, take the lock (the key this daemon had, when the server still has
 * it free, else a new one) and listen. On success *key_r is held on the session whose
 * server process is *backend_r. */
static int establish(struct db **db_r, int *key_r, int *backend_r, char **error_r)
{
    struct db *db = database_open_session(error_r);
    if (!db)
        return -1;
    char ms[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(PRESENCE_IDLE_TIMEOUT_S * 1000, ms)};
    PGresult *res = db_exec_once(db, "SELECT set_config('idle_session_timeout', $1, false)", 1,
                                 params, error_r);
    if (!res) {
        if (db_lost(db))
            goto fail;
        /* An older server without the setting: a silent disappearance is then noticed
         * by TCP keepalives only. */
        log_warn("presence_idle_timeout", "error=%s", log_q(*error_r));
        free(*error_r);
        *error_r = NULL;
    }
    PQclear(res);
    int key = *key_r ? *key_r : random_key();
    bool got = false;
    for (int attempt = 0; attempt < 8 && !got; attempt++) {
        char class[16], text[16];
        snprintf(class, sizeof(class), "%d", PRESENCE_LOCK_CLASS);
        snprintf(text, sizeof(text), "%d", key);
        const char *params[] = {class, text};
        res = db_exec(db, "SELECT pg_try_advisory_lock($1::int, $2::int)", 2, params, error_r);
        if (!res)
            goto fail;
        got = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        /* Held by another session: ours from before a silent cut, still alive on the
         * server (its rows become claimable when it ends), or by chance another daemon. */
        if (!got)
            key = random_key();
    }
    if (!got) {
        *error_r = xstrdup("no free presence key after 8 attempts");
        goto fail;
    }
    res = db_exec_once(db, "LISTEN tocsin_outbound", 0, NULL, error_r);
    if (!res)
        goto fail;
    PQclear(res);
    *key_r = key;
    *backend_r = PQbackendPID(db_conn(db));
    *db_r = db;
    return 0;
fail:
    db_close(&db);
    return -1;
}

/* Read what the server sent; false when the session is gone. */
static bool drain_notifications(struct db *db, bool *notified_r)
{
    PGconn *conn = db_conn(db);
    if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
        return false;
    PGnotify *note;
    while ((note = PQnotifies(conn))) {
        *notified_r = true;
        PQfreemem(note);
    }
    return true;
}

static bool ping(struct db *db, int backend)
{
    char *error = NULL;
    PGresult *res = db_exec(db, "SELECT 1", 0, NULL, &error);
    if (!res) {
        free(error);
        return false;
    }
    PQclear(res);
    /* db_exec reconnects a connection the server closed: a new server process has
     * neither the lock nor the LISTEN. */
    return PQbackendPID(db_conn(db)) == backend;
}

static void *presence_main(void *arg)
{
    (void)arg;
    struct db *db = NULL;
    int key = 0, backend = 0;
    int64_t last_announce_ms = 0, last_ping_ms = now_monotonic_ms();
    bool reported = false;
    while (!atomic_load(&stop_requested)) {
        if (!db) {
            char *error = NULL;
            int rc = establish(&db, &key, &backend, &error);
            first_attempt_over();
            if (rc < 0) {
                if (!reported)
                    log_warn("presence_unavailable", "error=%s claims=lease", log_q(error));
                reported = true;
                free(error);
                nap(-1, 1000);
                continue;
            }
            reported = false;
            atomic_store(&own_key, key);
            atomic_store(&held_key, key);
            log_info("presence_held", "key=%d backend=%d", key, backend);
            wake_subscribers();
        }
        bool notified = false, alive = true;
        int wait = announce(db, &last_announce_ms);
        if (nap(PQsocket(db_conn(db)), wait >= 0 ? wait : PRESENCE_PING_S * 1000))
            alive = drain_notifications(db, &notified);
        /* Pinged every PRESENCE_PING_S even while notifications keep arriving: the server
         * ends a session that sends nothing for PRESENCE_IDLE_TIMEOUT_S. */
        if (alive && now_monotonic_ms() - last_ping_ms >= PRESENCE_PING_S * 1000) {
            alive = ping(db, backend) && drain_notifications(db, &notified);
            last_ping_ms = now_monotonic_ms();
        }
        if (notified)
            wake_subscribers();
        if (!alive && !atomic_load(&stop_requested)) {
            atomic_store(&held_key, 0);
            log_warn("presence_lost", "key=%d", key);
            db_close(&db);
        }
    }
    atomic_store(&held_key, 0);
    db_close(&db); /* ending the session releases the lock */
    return NULL;
}

int presence_start(char **error_r)
{
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    announce_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0 || announce_fd < 0) {
        *error_r = xasprintf("eventfd: %s", strerror(errno));
        goto fail;
    }
    atomic_store(&stop_requested, false);
    atomic_store(&announce_pending, false);
    if (pthread_create(&thread, NULL, presence_main, NULL) != 0) {
        *error_r = xstrdup("cannot start the presence thread");
        goto fail;
    }
    thread_started = true;
    /* At most a connection timeout's worth: a database that does not answer is the
     * thread's to keep trying, not a reason to hold the daemon. */
    struct timespec until = deadline_after_ms(10 * 1000);
    pthread_mutex_lock(&started_lock);
    while (!first_attempt_done &&
           pthread_cond_timedwait(&started_cond, &started_lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&started_lock);
    return 0;
fail:
    if (stop_fd >= 0)
        close(stop_fd);
    if (announce_fd >= 0)
        close(announce_fd);
    stop_fd = announce_fd = -1;
    return -1;
}

void presence_stop(void)
{
    if (!thread_started)
        return;
    atomic_store(&stop_requested, true);
    uint64_t one = 1;
    if (write(stop_fd, &one, sizeof(one)) < 0)
        log_warn("presence_stop_signal", "error=%s", log_q(strerror(errno)));
    pthread_join(thread, NULL);
    thread_started = false;
    close(stop_fd);
    close(announce_fd);
    stop_fd = announce_fd = -1;
    pthread_mutex_lock(&subscribers_lock);
    free(subscribers);
    subscribers = NULL;
    nsubscribers = capsubscribers = 0;
    pthread_mutex_unlock(&subscribers_lock);
}
