/*
 * queue — outbound_messages, the only road from a decision to a transport.
 *
 * queue_enqueue() inserts one message inside the caller's transaction. The dedupe_key
 * makes it idempotent: a second enqueue with the same key inserts nothing and returns the
 * first row's id with *created_r = false. `context` is a JSON object text (e.g.
 * {"event_id": 12, "prompt": "rsvp"}) used to interpret a bare reply; NULL means {}.
 * Returns 0, or -1 with *error_r (caller frees).
 *
 * queue_start() starts [engine] workers threads (a duty of `tocsin run`); each claims a
 * batch of due rows of one channel at a time (FOR UPDATE SKIP LOCKED, status 'sending',
 * a lease of [engine] lease_seconds), turns consent refusals into 'suppressed' and rows
 * of cancelled campaigns into 'cancelled' at claim time, composes each email
 * (mail.h), hands the batch to the channel's transport and writes every result back
 * in one statement. Workers sleep on LISTEN tocsin_outbound, polling as a fallback.
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
};

int queue_enqueue(struct db *db, const struct queue_new *m, int64_t *id_r, bool *created_r,
                  char **error_r);

int queue_forget(struct db *db, int64_t person_id, long *rows_r, char **error_r);

int queue_start(char **error_r);
void queue_stop(void);

int cli_queue(int argc, char **argv);

#endif
