/*
 * queue — outbound_messages, the only road from a decision to a transport, and the only
 * module that inserts into that table.
 *
 * queue_enqueue() inserts one message inside the caller's transaction. The dedupe_key
 * makes it idempotent: a second enqueue with the same key inserts nothing and returns the
 * first row's id with *created_r = false. `context` is a JSON object text (e.g.
 * {"event_id": 12, "prompt": "rsvp"}) used to interpret a bare reply; NULL means {}.
 * `not_before` holds a message back (quiet hours): no worker claims it earlier.
 * Returns 0, or -1 with *error_r (caller frees).
 *
 * queue_enqueue_campaign() is the set-based form a campaign's fan-out needs: one
 * INSERT … SELECT enqueuing a row per row of `recipients_sql`, a SELECT the caller builds
 * from fixed fragments (values only as parameters $1..$nparams) whose columns are, in
 * order: recipient address, person id, contact id, scope (team id or NULL), not-before
 * time. Each row gets `channel`, kind 'campaign', the campaign id, dedupe key
 * 'campaign:<campaign id>:<person id>' (running it again adds nothing twice) and an empty
 * body: a worker renders it for its recipient at send time (campaign_render.h).
 * *enqueued_r counts the rows inserted now. Returns 0, or -1 with *error_r.
 *
 * queue_start() starts [engine] workers threads (a duty of `tocsin run`); each claims a
 * batch of due rows of one channel at a time (FOR UPDATE SKIP LOCKED, status 'sending',
 * a lease of [engine] lease_seconds), turns consent refusals into 'suppressed' and rows
 * of cancelled campaigns into 'cancelled' at claim time, composes each email
 * (mail.h), hands the batch to the channel's transport and writes every result back
 * in one statement. Before a claim a worker asks transport_acquire() how many rows it
 * may take: the transport's shared rate ([smtp] rate, [sms] rate) and a gateway's pause
 * (recorded by transport_pause() when a result comes back throttled, transport.h) hold
 * every daemon's workers; a throttled row is due again when the gateway said, without
 * counting an attempt. Workers sleep on LISTEN tocsin_outbound, polling as a fallback.
 * queue_stop() stops claiming, waits up to [engine] shutdown_timeout for in-flight
 * batches, then gives the rows still claimed back to the queue. Both are called once.
 *
 * cli_queue() is `tocsin queue status [--json]`.
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
int queue_enqueue_campaign(struct db *db, const char *channel, int64_t campaign_id,
                           const char *recipients_sql, int nparams, const char *const *params,
                           int64_t *enqueued_r, char **error_r);

int queue_start(char **error_r);
void queue_stop(void);

int cli_queue(int argc, char **argv);

#endif
