/*
 * rsvp — what RSVP and CANCEL share (rsvp.c): resolving the event a command is about,
 * reading and storing a person's answer, offering freed seats. All return 0, or -1 with
 * *error_r; rsvp_resolve_event() returns like a check(): 1 when it set the reply.
 */
#ifndef TOCSIN_RSVP_H
#define TOCSIN_RSVP_H

#include "handlers/handlers.h"

struct rsvp_previous {
    bool exists, held; /* held: an open waitlist offer reserves seats for them */
    char status[16];
    int guests;
};

/* RSVP's run(), also the run() of a digest answer (digest_answer.c). */
int run_rsvp(struct handler_ctx *ctx, char **error_r);
/* The outbound context of a message that asks for (or confirms) an RSVP; caller frees. */
char *rsvp_context(int64_t event_id);
int rsvp_resolve_event(struct handler_ctx *ctx, const char *which_template, char **error_r);
int rsvp_previous(struct handler_ctx *ctx, int64_t event_id, struct rsvp_previous *p,
                  char **error_r);
int rsvp_store(struct handler_ctx *ctx, int64_t event_id, const char *status, int guests,
               char **error_r);
/* Offer seats freed on event `e` (locked by the caller) to the waitlist. */
int rsvp_offer_freed_seats(struct handler_ctx *ctx, const struct event_info *e, char **error_r);

#endif
