/*
 * presence — this daemon's liveness in the database, and the wake-up of its workers.
 *
 * presence_start() starts one thread that keeps one direct connection
 * (database_open_session(): never through a transaction pooler) holding a session
 * advisory lock (class PRESENCE_LOCK_CLASS, a random key) and listening on
 * tocsin_outbound. Queue claims record the key (presence_key()): a row claimed under a
 * key that no session holds any more belongs to a daemon that is gone, and the claim
 * statement takes it at once (a shared try of the lock succeeds); a row whose key is held is never
 * taken from its daemon, however slow. The server drops the lock when the session ends: at once
 * when the daemon dies (its socket closes), and within PRESENCE_IDLE_TIMEOUT_S when the
 * daemon vanishes silently (host down, network cut), since the session is pinged every
 * PRESENCE_PING_S and the server ends idle sessions after that timeout.
 *
 * presence_key() is the key while the lock is held, else 0: a worker then claims with
 * the lease alone (the last resort, [engine] lease_seconds). The key survives a lost
 * connection: the thread reconnects (after a database restart or a failover, to the new
 * primary) and takes the same key again, so rows this daemon holds stay its own.
 * presence_own_key() is that key even while the lock is not held (0 before the first
 * one): this daemon's workers never take rows claimed under it, which are in flight in
 * this very process whatever the database says meanwhile.
 *
 * presence_announce(), from any thread, after committing rows for the queue that did not
 * NOTIFY themselves (decide/process.c's transactions skip the trigger's NOTIFY while
 * presence_announces() is true): the thread sends one NOTIFY tocsin_outbound for every
 * announcement of the last PRESENCE_ANNOUNCE_MS, and wakes this daemon's workers with it.
 * A NOTIFY in a transaction serialises its commit with every other such commit, fsync
 * included (PostgreSQL takes one lock for the notification queue from the commit to its
 * end), which held signed webhooks to a few hundred a second whatever the connections;
 * one from this thread costs a commit of its own, at most 1000 / PRESENCE_ANNOUNCE_MS a
 * second.
 *
 * presence_subscribe(fd) registers an eventfd the caller owns: the thread adds 1 to it on
 * every notification, and after a reconnect (notifications may have been missed).
 * presence_unsubscribe(fd) before closing it. presence_stop() ends the thread and the
 * session (releasing the lock); call it after the subscribers stopped. Both once.
 * presence_start() returns once the thread's first attempt at the lock is over (at most
 * 10 s), so the first claims name the key; it fails only when the thread cannot start:
 * the database being away is not an error (the thread keeps trying).
 */
#ifndef TOCSIN_PRESENCE_H
#define TOCSIN_PRESENCE_H

#define PRESENCE_LOCK_CLASS     7310
#define PRESENCE_PING_S         5
#define PRESENCE_IDLE_TIMEOUT_S 30
#define PRESENCE_ANNOUNCE_MS    20

#include <stdbool.h>

int presence_start(char **error_r);
void presence_stop(void);
int presence_key(void);
int presence_own_key(void);
void presence_subscribe(int fd);
void presence_unsubscribe(int fd);
bool presence_announces(void);
void presence_announce(void);

#endif
