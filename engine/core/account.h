/*
 * account — who is asking: an organiser's account and its roles, or the operator's shell.
 *
 * An account is a person with at least one role (the view `accounts`): `admin`, `organiser`
 * of a team (memberships.role = 'organiser', the same fact the MSG command relies on), or
 * `host` of an event (account_roles). account_load() fills a struct caller with the
 * person's name and roles; caller_operator() is the CLI's caller: every right, no person.
 * caller_release() frees what either filled.
 *
 * caller_organises() / caller_hosts() answer for one team or event (admins: always);
 * caller_teams_literal() is the teams organised as a PostgreSQL array literal ("{3,7}"),
 * which model queries take as `= ANY($n::bigint[])`, or NULL for an admin (no filter).
 *
 * contact_find() reads a contact as people type it — an email, or a phone number in any
 * usual form, national numbers in [engine] default_country ("06 12 34 56 78") — and finds
 * it: 1 with the ids, 0 when unknown or unreadable (*reason_r, static text, says which),
 * -1 with *error_r on a database error. contact_normalise() is the parsing half: the kind
 * ("email" or "phone") and the canonical address (caller frees), or NULL and *reason_r.
 */
#ifndef TOCSIN_ACCOUNT_H
#define TOCSIN_ACCOUNT_H

#include "lib/db.h"
#include "core/activity.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct caller {
    int64_t person_id; /* 0: the operator's shell */
    char *name;
    bool admin;
    int64_t *teams; /* teams organised */
    size_t nteams;
    int64_t *events; /* events hosted */
    size_t nevents;
    /* How the request proved itself: a session cookie (writes then need the CSRF token),
     * a bearer token (its id), or neither (the CLI). */
    char *session_id;
    int64_t token_id;
    struct actor actor; /* for activity: person_id and via */
};

void caller_operator(struct caller *c);
/* 1 when the person has a role (an account), 0 when not (c is then empty), -1 on error. */
int account_load(struct db *db, int64_t person_id, const char *via, struct caller *c,
                 char **error_r);
void caller_release(struct caller *c);

bool caller_is_account(const struct caller *c);
bool caller_organises(const struct caller *c, int64_t team_id);
bool caller_hosts(const struct caller *c, int64_t event_id);
char *caller_teams_literal(const struct caller *c);
char *caller_events_literal(const struct caller *c);

/* After a role was removed: when the person has none left, end their sessions and revoke
 * their API tokens (caller's transaction). 0 or -1 with *error_r. */
int account_forget_if_none(struct db *db, int64_t person_id, char **error_r);

char *contact_normalise(const char *input, const char **kind_r, const char **reason_r);
int contact_find(struct db *db, const char *input, int64_t *contact_id_r, int64_t *person_id_r,
                 const char **reason_r, char **error_r);

#endif
