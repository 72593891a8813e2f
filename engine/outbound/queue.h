/*
 * queue — outbound_messages, the only road from a decision to a transport, and the only
 * module that inserts into that table.
 *
 * queue_enqueue() inserts one message inside the caller's transaction. The dedupe_key
 * makes it idempotent: a second enqueue with the same key inserts nothing and returns the
 * first row's id with *created_r = false. `context` is a JSON object text (e.g.
 * {"event_id": 12, "prompt": "rsvp"}) used to interpret a bare reply; NULL means {}.
 * `not_before` holds a message back (quiet hours): no worker claims it earlier.
 * The table is partitioned by month and PostgreSQL's unique index covers one month: the
 * key is also looked for in every month, so it stays unique across months (queue.c says
 * what that leaves aside).
 * Returns 0, or -1 with *error_r (caller frees).
 *
 * queue_enqueue_campaign() is the set-based form a campaign's fan-out needs: one
 * INSERT … SELECT enqueuing a row per row of `recipients_sql`, a SELECT the caller builds
 * from fixed fragments (values only as parameters $1..$nparams) whose columns are, in
 * order: recipient address, person id, contact id, scope (team id or NULL), not-before
 * time. Each row gets `channel`, kind 'campaign', the campaign id, dedupe key
 * 'campaign:<campaign id>:<person id>' (running it again adds nothing twice), an empty
 * body (a worker renders it for its recipient at send time: campaign_render.h) and, for
 * an invitation (campaigns.event_id), the RSVP context of that event.
 * *enqueued_r counts the rows inserted now. Returns 0, or -1 with *error_r.
 * All the rows of a campaign live in one month of the table (its partition): the month
 * its fan-out started.
 *
 * A queue_batch keeps rows to be inserted together, for a caller that applies many
 * messages in one transaction and needs no row's id before it ends (decide/process.h,
 * inbound groups): queue_batch_add() copies the row and returns its place in the batch,
 * queue_batch_drop() takes the row at that place out again (a reply the budget withholds),
 * queue_batch_write() inserts every row kept, in their order, by one statement (a single-row INSERT
 * into this partitioned table costs PostgreSQL five times what a row of a many-row one does), with
 * the same rule as queue_enqueue(): a row whose dedupe_key exists in any month is not inserted, nor
 * a second row of one key. It empties the batch; 0, or -1 with *error_r (the caller rolls back).
 *
 * queue_added_by_thread() counts the rows queue_enqueue(), queue_batch_write() and
 * queue_enqueue_campaign() added on the calling thread, ever: a caller compares it before
 * and after a transaction to know whether it queued anything (decide/process.c announces
 * it, presence.h).
 *
 * queue_after_fanout() is called once a fan-out has added `added` rows: it analyses the
 * month they went to when they are a tenth of it or more, so the claims that follow are
 * planned on fresh statistics rather than on autovacuum's next round. 0, or -1 with
 * *error_r.
 *
 * queue_start() starts [engine] workers threads (a duty of `tocsin run`) and the daemon's
 * presence (presence.h), the latter even with no workers: it announces what this daemon
 * queues to the daemons that send. Each worker claims a batch of due rows of one channel
 * at a time (FOR UPDATE SKIP LOCKED, status 'sending', the claim naming the daemon's presence key,
 * and a lease of [engine] lease_seconds that counts only when no key could be named),
 * takes over at once the rows of a daemon whose presence is gone, turns consent refusals
 * into 'suppressed', and rows of cancelled campaigns and reminders or event-moved notices
 * whose RSVP is no longer yes into 'cancelled' at claim time (last_error says which),
 * composes each email (mail.h), hands the batch to the channel's transport and writes
 * every result back in one statement. Before a claim a worker asks transport_acquire()
 * how many rows it may take: the transport's shared rate ([smtp] rate, [sms] rate) and a
 * gateway's pause (recorded by transport_pause() when a result comes back throttled,
 * transport.h) hold every daemon's workers; a throttled row is due again when the gateway
 * said, without counting an attempt. Workers sleep until the presence thread passes on
 * a NOTIFY tocsin_outbound, polling as a fallback. Their connections may go through a
 * transaction pooler (core/database.h): nothing session-level is used on them.
 * queue_stop() stops claiming, waits up to [engine] shutdown_timeout for in-flight
 * batches, then gives the rows still claimed back to the queue. Both are called once.
 *
 * cli_queue() is `tocsin queue status [--json]`.
 *
 * queue_forget() (campaigns/forget.h), inside the caller's transaction, empties every row
 * for person_id — by person, by one of their contacts, or addressed to one of their
 * addresses: recipient "[forgotten]", subject, body, HTML and headers emptied; a row still
 * queued or sending becomes 'cancelled' (last_error says why), so nothing more leaves for
 * them. Run it before the contacts lose their addresses. *rows_r counts the rows emptied.
 * 0, or -1 with *error_r.
 */
#ifndef TOCSIN_QUEUE_H
#define TOCSIN_QUEUE_H

#include "lib/db.h"

#include <stdbool.h>
#include <stdint.h>

struct queue_new {
    const char *channel;   /* "email" or "sms" */
    const char *recipient; /* lower-case email or E.164 */
    const char *subject;   /* may be NULL */
    const char *body;
    const char *kind; /* reply, stop_confirmation, campaign, reminder, digest ... */
    const char *dedupe_key;
    const char *context; /* JSON object text or NULL */
    const char *html;    /* email: HTML alternative of body, or NULL */
    const char *headers; /* email: JSON object of extra headers ({"In-Reply-To": …}) or NULL */
    int64_t person_id, contact_id, inbound_id, campaign_id, scope; /* 0 = NULL */
    const char *not_before; /* timestamptz text: not sent before then; NULL: now */
};

int queue_enqueue(struct db *db, const struct queue_new *m, int64_t *id_r, bool *created_r,
                  char **error_r);
struct queue_batch;
struct queue_batch *queue_batch_new(void);
size_t queue_batch_add(struct queue_batch *b, const struct queue_new *m);
void queue_batch_drop(struct queue_batch *b, size_t row);
int queue_batch_write(struct db *db, struct queue_batch *b, char **error_r);
void queue_batch_free(struct queue_batch *b);

int queue_enqueue_campaign(struct db *db, const char *channel, int64_t campaign_id,
                           const char *recipients_sql, int nparams, const char *const *params,
                           int64_t *enqueued_r, char **error_r);
int queue_after_fanout(struct db *db, int64_t campaign_id, int64_t added, char **error_r);

int queue_forget(struct db *db, int64_t person_id, long *rows_r, char **error_r);

int64_t queue_added_by_thread(void);
int queue_start(char **error_r);
void queue_stop(void);

int cli_queue(int argc, char **argv);

#endif
