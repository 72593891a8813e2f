/*
 * imap_apply — the database half of the IMAP reader (imap.c): the mails of a fetched and
 * parsed batch applied by [imap] connections threads, each on a database connection of
 * its own, while the reader fetches and parses the next batch.
 *
 * Each mail goes to the thread its sender names (a hash of the From address), so one
 * sender's mails are applied in the order of their UIDs, as on a single connection, and
 * two threads never wait on the same sender's lock. A thread applies its mails in groups
 * of up to 50 per transaction (one commit, one fsync, for many mails), their Message-IDs
 * recorded in one statement first (mail_inbound_claim()); a group that fails is replayed
 * one mail at a time, so that a mail the engine refuses for good is logged and left
 * behind instead of holding back the others. The IMAP high-water mark is not moved here:
 * the reader moves it once every mail below it is settled.
 *
 *   imap_apply_start()   start the threads (once per reader): 0, or -1 with *error_r
 *   imap_apply_submit()  hand a batch over and return at once; the mails to apply are
 *                        those MAIL_PENDING, with `raw` and `parsed` set. Up to
 *                        IMAP_APPLY_QUEUED batches may be handed over and not yet waited
 *                        for: a thread done with its share of one starts on its share of
 *                        the next, in the order they were handed over
 *   imap_apply_wait()    wait until every mail of the batch was tried: each is then
 *                        MAIL_APPLIED (committed: flag it), MAIL_LEFT (refused for good:
 *                        leave it unflagged) or, if the database became unavailable,
 *                        still MAIL_PENDING (read it again later); 0, or -1 with *error_r
 *                        in that last case. A thread that found the database unavailable
 *                        leaves its share of the batches handed over after that one
 *                        pending too, so that no sender's later mail overtakes one left
 *                        behind
 *   imap_apply_resume()  with no batch handed over and not waited for: the threads try
 *                        every share again (a new pass over the mailbox)
 *   imap_apply_stop()    stop and join the threads, close their connections
 * The batch, its mails and their bytes stay the caller's; they must outlive
 * imap_apply_wait(), which the caller calls for each batch, in the order it handed them
 * over.
 */
#ifndef TOCSIN_IMAP_APPLY_H
#define TOCSIN_IMAP_APPLY_H

#include "inbound/mail_inbound.h"

#include <stddef.h>
#include <stdint.h>

#define IMAP_APPLY_QUEUED 2

enum imap_mail_state {
    MAIL_PENDING, /* to apply, or not applied yet */
    MAIL_APPLIED, /* its effect is committed (or it needs none): flag it */
    MAIL_LEFT,    /* nothing will come of it (refused, expunged): pass it, unflagged */
};

struct imap_mail {
    uint32_t uid;
    const char *raw; /* the fetched message */
    size_t len;
    struct mail_parsed parsed;
    enum imap_mail_state state;
};

struct imap_apply_batch {
    struct imap_mail *mails;
    size_t n;
    const char *mailbox;  /* "user@host:port/MAILBOX": a mail's provider id is
                           * user@host:port/MAILBOX:UIDVALIDITY:UID */
    uint32_t uidvalidity; /* of the selected mailbox */
    /* Kept by imap_apply.c: threads still at work on it, and the first error. */
    long unfinished;
    char *error;
};

int imap_apply_start(long threads, char **error_r);
void imap_apply_submit(struct imap_apply_batch *batch);
int imap_apply_wait(struct imap_apply_batch *batch, char **error_r);
void imap_apply_resume(void);
void imap_apply_stop(void);

#endif
