/*
 * request — what a From: header cannot grant alone, kept until its owner confirms it.
 *
 * A mail asking to join a team or to receive messages again acts only with proof that it
 * comes from its address (struct inbound_message `proof`). Without proof the request is
 * kept here (table confirmation_requests) and the address gets a confirmation whose link
 * (/c/TOKEN) and reply address carry a token for this one request, as Mailman does.
 * Whoever forged the From: never sees that mail; its owner confirms with a click or a reply.
 *
 * request_create() stores a request ('join' a team, 'start' all messages or one team's)
 * valid 7 days and returns its id; request_url() is its one-click link, [http] public_url +
 * /c/ + token_make("request", id) (caller frees). request_apply() applies a request once, in
 * the caller's transaction: 'join' activates the membership (creating it if it went away)
 * and appends an email opt_in; 'start' appends the opt_in for its scope; both write
 * activity. Applying again, after 7 days or an unknown id changes nothing: *result_r says
 * which, and *info_r (may be NULL) names the team for the answer (caller frees team_name).
 * request_for_message() finds the request a confirmation mail was about, from the outbound
 * message a reply answers, if it is one of `person_id`'s; request_newest() the person's
 * newest request still open, on any of their contacts (a text from their number confirms
 * what was asked with their address). Both give 0 when there is none. All return 0, or -1
 * with *error_r.
 */
#ifndef TOCSIN_REQUEST_H
#define TOCSIN_REQUEST_H

#include "lib/db.h"

#include <stdint.h>

enum request_result {
    REQUEST_APPLIED,
    REQUEST_ALREADY_USED,
    REQUEST_EXPIRED,
    REQUEST_UNKNOWN,
};

struct request_info {
    const char *action; /* "join" or "start" (static) */
    int64_t team_id;    /* 0: none */
    char *team_name;    /* NULL: none */
    int64_t contact_id;
};

int request_create(struct db *db, int64_t contact_id, const char *action, int64_t team_id,
                   int64_t inbound_id, int64_t *id_r, char **error_r);
char *request_url(struct db *db, int64_t id, char **error_r);
int request_apply(struct db *db, int64_t id, const char *used_by, const char *evidence,
                  enum request_result *result_r, struct request_info *info_r, char **error_r);
int request_for_message(struct db *db, int64_t outbound_id, int64_t person_id, int64_t *id_r,
                        char **error_r);
int request_newest(struct db *db, int64_t person_id, int64_t *id_r, char **error_r);

#endif
