/*
 * queue — outbound_messages, the only road from a decision to a transport.
 *
 * queue_enqueue() inserts one message inside the caller's transaction. The dedupe_key
 * makes it idempotent: a second enqueue with the same key inserts nothing and returns the
 * first row's id with *created_r = false. `context` is a JSON object text (e.g.
 * {"event_id": 12, "prompt": "rsvp"}) used to interpret a bare reply; NULL means {}.
 * Returns 0, or -1 with *error_r (caller frees).
 *
 * The workers that claim and send (issue: outbound queue) live in queue.c as well.
 */
#ifndef TOCSIN_QUEUE_H
#define TOCSIN_QUEUE_H

#include "db.h"

#include <stdbool.h>
#include <stdint.h>

struct queue_new {
    const char *channel;   /* "email" or "sms" */
    const char *recipient; /* lower-case email or E.164 */
    const char *subject;   /* may be NULL */
    const char *body;
    const char *kind;      /* reply, stop_confirmation, campaign, reminder, digest ... */
    const char *dedupe_key;
    const char *context;   /* JSON object text or NULL */
    int64_t person_id, contact_id, inbound_id, campaign_id, scope; /* 0 = NULL */
};

int queue_enqueue(struct db *db, const struct queue_new *m, int64_t *id_r, bool *created_r,
                  char **error_r);

#endif
