#include "inbound/imap_apply.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/database.h"
#include "decide/process.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Mails applied per transaction (a failure replays the group one mail at a time). */
#define IMAP_GROUP 50

struct applier {
    pthread_t thread;
    long index;
    struct db *db;         /* opened on first use, reopened by db_exec after a loss */
    unsigned long batches; /* batches taken so far */
    /* Its share of a batch was left for want of a database: its share of the batches
     * handed over after it is left too (a sender's later mail must not overtake one left
     * behind), until imap_apply_resume(). */
    bool failed;
};

/* The threads, and the batches they share out: batch number k (counted from 0) waits in
 * queue[k % IMAP_APPLY_QUEUED] until every thread has taken it. `lock` guards everything
 * below it. */
static struct {
    struct applier *appliers;
    long n;
    pthread_mutex_t lock;
    pthread_cond_t work, finished;
    struct imap_apply_batch *queue[IMAP_APPLY_QUEUED];
    unsigned long batches; /* batches submitted so far: a thread that has taken fewer works */
    bool stop;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .work = PTHREAD_COND_INITIALIZER,
          .finished = PTHREAD_COND_INITIALIZER};

/* Which thread applies a sender's mail: FNV-1a of the address. */
static long owner_of(const char *sender)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)(sender ? sender : ""); *p; p++)
        h = (h ^ *p) * 16777619u;
    return (long)(h % (uint32_t)pool.n);
}

/* A mail's provider id: user@host:port/MAILBOX:UIDVALIDITY:UID. The account is part of it:
 * another account's INBOX may have the same UIDVALIDITY (a time in seconds, or a small
 * number on some servers), and its mails would have been taken for replays. */
static char *provider_id_of(const struct imap_apply_batch *b, const struct imap_mail *m)
{
    return xasprintf("%s:%" PRIu32 ":%" PRIu32, b->mailbox, b->uidvalidity, m->uid);
}

/* A mail's source: with `group`, applied in the group's transaction, its dedupe key
 * recorded already, fresh; else in a transaction of its own. */
static struct mail_source source_of(const struct imap_apply_batch *b, const struct imap_mail *m,
                                    const char *provider_id, struct inbound_group *group)
{
    /* No mailbox in the source: the reader moves the high-water mark itself. */
    return (struct mail_source){.provider = "imap",
                                .provider_id = provider_id,
                                .uidvalidity = b->uidvalidity,
                                .uid = m->uid,
                                .key_claimed = group != NULL,
                                .group = group};
}

/* One mail in a transaction of its own. */
static int apply_one(struct applier *a, const struct imap_apply_batch *b, struct imap_mail *m,
                     const char *provider_id, char **error_r)
{
    const struct mail_source src = source_of(b, m, provider_id, NULL);
    const char *outcome = NULL;
    return mail_inbound_apply(a->db, &m->parsed, m->raw, m->len, &src, &outcome, error_r);
}

/* Mails[0..n) in the transaction open: their dedupe keys recorded in one statement, then
 * each fresh one applied (a duplicate needs nothing; mail_inbound_apply_group() records
 * each sender's first one ahead), their replies and outcomes written together at the end
 * (an inbound group). 0, or -1 with *error_r. */
static int apply_claimed(struct applier *a, const struct imap_apply_batch *b,
                         struct imap_mail **mails, size_t n, char **error_r)
{
    struct mail_claim *claims = xcalloc(n, sizeof(*claims));
    for (size_t i = 0; i < n; i++)
        claims[i] = (struct mail_claim){.parsed = &mails[i]->parsed,
                                        .raw = mails[i]->raw,
                                        .len = mails[i]->len,
                                        .provider_id = provider_id_of(b, mails[i])};
    struct inbound_group *group = inbound_group_new();
    struct mail_source *srcs = xcalloc(n + 1, sizeof(*srcs));
    for (size_t i = 0; i < n; i++)
        srcs[i] = source_of(b, mails[i], claims[i].provider_id, group);
    int r = mail_inbound_claim(a->db, claims, n, error_r);
    if (r == 0)
        r = mail_inbound_apply_group(a->db, claims, srcs, n, error_r);
    if (r == 0)
        r = inbound_group_flush(group, a->db, error_r);
    free(srcs);
    inbound_group_free(group);
    for (size_t i = 0; i < n; i++)
        free((char *)claims[i].provider_id);
    free(claims);
    return r;
}

/* Mails[0..n) in one transaction. 0: applied; 1: not applied, try them one by one; -1:
 * the database is unavailable, stop. */
static int apply_group(struct applier *a, const struct imap_apply_batch *b,
                       struct imap_mail **mails, size_t n, char **error_r)
{
    if (db_begin_deferred(a->db, error_r) < 0)
        return -1;
    int r = apply_claimed(a, b, mails, n, error_r);
    if (r == 0 && db_commit(a->db, error_r) == 0) {
        for (size_t i = 0; i < n; i++)
            mails[i]->state = MAIL_APPLIED;
        return 0;
    }
    db_rollback(a->db);
    if (db_lost(a->db) || db_transient(a->db))
        return -1;
    log_warn("imap_group_failed", "mailbox=%s error=%s action=one_by_one", log_q(b->mailbox),
             log_q(*error_r ? *error_r : ""));
    free(*error_r);
    *error_r = NULL;
    return 1;
}

/* Mails[0..n) one by one, each in its own transaction: a mail the engine refuses for good
 * is logged and left (unflagged, for the operator) rather than retried forever in front of
 * all the others. 0, or -1: the database is unavailable, stop. */
static int apply_one_by_one(struct applier *a, const struct imap_apply_batch *b,
                            struct imap_mail **mails, size_t n, char **error_r)
{
    for (size_t i = 0; i < n; i++) {
        char *provider_id = provider_id_of(b, mails[i]);
        int r = apply_one(a, b, mails[i], provider_id, error_r);
        free(provider_id);
        if (r == 0) {
            mails[i]->state = MAIL_APPLIED;
            continue;
        }
        if (db_lost(a->db) || db_transient(a->db))
            return -1;
        log_error("imap_message_failed", "mailbox=%s uid=%" PRIu32 " error=%s action=left_unseen",
                  log_q(b->mailbox), mails[i]->uid, log_q(*error_r ? *error_r : ""));
        free(*error_r);
        *error_r = NULL;
        mails[i]->state = MAIL_LEFT;
    }
    return 0;
}

/* This thread's share of the batch: the pending mails of the senders it owns, in UID
 * order, group by group. 0, or -1 with *error_r when the database is unavailable. */
static int apply_share(struct applier *a, struct imap_apply_batch *b, char **error_r)
{
    if (!a->db && !(a->db = database_open(error_r)))
        return -1;
    struct imap_mail **mine = xcalloc(b->n + 1, sizeof(*mine));
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->mails[i].state == MAIL_PENDING && owner_of(b->mails[i].parsed.sender) == a->index)
            mine[n++] = &b->mails[i];
    int rc = 0;
    for (size_t g = 0; g < n && rc == 0; g += IMAP_GROUP) {
        size_t count = n - g < IMAP_GROUP ? n - g : IMAP_GROUP;
        rc = apply_group(a, b, mine + g, count, error_r);
        if (rc == 1)
            rc = apply_one_by_one(a, b, mine + g, count, error_r);
    }
    free(mine);
    return rc;
}

static void *applier_main(void *arg)
{
    struct applier *a = arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.stop && a->batches == pool.batches)
            pthread_cond_wait(&pool.work, &pool.lock);
        if (pool.stop)
            break;
        struct imap_apply_batch *b = pool.queue[a->batches % IMAP_APPLY_QUEUED];
        a->batches++;
        bool leave = a->failed;
        pthread_mutex_unlock(&pool.lock);
        char *error = NULL;
        int rc = leave ? 0 : apply_share(a, b, &error);
        pthread_mutex_lock(&pool.lock);
        if (rc < 0)
            a->failed = true;
        if (rc < 0 && !b->error)
            b->error = error ? error : xstrdup("database unavailable");
        else
            free(error);
        if (--b->unfinished == 0)
            pthread_cond_broadcast(&pool.finished);
    }
    pthread_mutex_unlock(&pool.lock);
    db_close(&a->db);
    return NULL;
}

int imap_apply_start(long threads, char **error_r)
{
    pool.n = threads > 0 ? threads : 1;
    pool.appliers = xcalloc((size_t)pool.n, sizeof(*pool.appliers));
    pool.stop = false;
    pool.batches = 0;
    for (long i = 0; i < pool.n; i++) {
        pool.appliers[i].index = i;
        if (pthread_create(&pool.appliers[i].thread, NULL, applier_main, &pool.appliers[i]) != 0) {
            *error_r = xstrdup("cannot start an IMAP applier thread");
            pool.n = i;
            imap_apply_stop();
            return -1;
        }
    }
    return 0;
}

void imap_apply_submit(struct imap_apply_batch *batch)
{
    pthread_mutex_lock(&pool.lock);
    batch->unfinished = pool.n;
    batch->error = NULL;
    pool.queue[pool.batches % IMAP_APPLY_QUEUED] = batch;
    pool.batches++;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.lock);
}

void imap_apply_resume(void)
{
    pthread_mutex_lock(&pool.lock);
    for (long i = 0; i < pool.n; i++)
        pool.appliers[i].failed = false;
    pthread_mutex_unlock(&pool.lock);
}

int imap_apply_wait(struct imap_apply_batch *batch, char **error_r)
{
    pthread_mutex_lock(&pool.lock);
    while (batch->unfinished > 0)
        pthread_cond_wait(&pool.finished, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    if (!batch->error)
        return 0;
    *error_r = batch->error;
    batch->error = NULL;
    return -1;
}

void imap_apply_stop(void)
{
    if (!pool.appliers)
        return;
    pthread_mutex_lock(&pool.lock);
    pool.stop = true;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.lock);
    for (long i = 0; i < pool.n; i++)
        pthread_join(pool.appliers[i].thread, NULL);
    free(pool.appliers);
    pool.appliers = NULL;
    pool.n = 0;
}
