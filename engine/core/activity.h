/*
 * activity — the log of who did what (table `activity`).
 *
 * activity_record() appends one row inside the caller's transaction: `team_id` the team it
 * concerns (0: none), `kind` a fixed word (event_created, inbox_reply, user_added …),
 * `payload` a JSON object the function takes ownership of (NULL: {}). The actor is who
 * made the write: an organiser's person id with the road it came by ("api", "cli"), or
 * the operator's shell (person id 0, via "cli"). Every write an organiser can make through
 * the CLI or the API records one row. Returns 0, or -1 with *error_r (caller frees).
 */
#ifndef TOCSIN_ACTIVITY_H
#define TOCSIN_ACTIVITY_H

#include "lib/db.h"

#include <jansson.h>
#include <stdint.h>

struct actor {
    int64_t person_id; /* 0: the operator's shell */
    const char *via;   /* "cli", "api" */
};

int activity_record(struct db *db, const struct actor *actor, int64_t team_id, const char *kind,
                    json_t *payload, char **error_r);

#endif
