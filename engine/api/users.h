/*
 * users — organisers' accounts and their API tokens (admins' business, and the CLI's).
 *
 * users_list(): every account (a person with a role) with their contacts, roles and when
 * they were last seen.
 * user_add(): give a role to the person of a contact (typed as people type it), creating
 * the person when the contact is new (`name` then names them): `admin`, `organiser` of a
 * team (memberships.role) or `host` of an event. Adding a role twice changes nothing.
 * user_remove(): take away one role (role and its team/event given) or all of them (role
 * NULL); someone left without a role loses their sessions and API tokens.
 * token_add(): a new API token for the person of a contact; the token is in the answer
 * once and never again (only its hash is kept). tokens_list(): the tokens (admins: all;
 * others: their own) with prefix, name, last use. token_revoke(): revoke one (admins:
 * any; others: their own, else 404).
 * Every change records activity.
 */
#ifndef TOCSIN_API_USERS_H
#define TOCSIN_API_USERS_H

#include "core/account.h"
#include "api/model.h"

struct grant {
    const char *role;  /* admin, organiser, host */
    const char *team;  /* organiser: team slug */
    const char *event; /* host: event slug */
};

json_t *users_list(struct db *db, const struct caller *who, struct api_error *e);
json_t *user_add(struct db *db, const struct caller *who, const char *contact, const char *name,
                 const struct grant *g, struct api_error *e);
/* The person is named by `contact` (as typed) or, when NULL, by `person_id`. */
json_t *user_remove(struct db *db, const struct caller *who, const char *contact, int64_t person_id,
                    const struct grant *g, struct api_error *e);

json_t *token_add(struct db *db, const struct caller *who, const char *contact, const char *name,
                  struct api_error *e);
json_t *tokens_list(struct db *db, const struct caller *who, struct api_error *e);
json_t *token_revoke(struct db *db, const struct caller *who, int64_t id, struct api_error *e);

struct api_call;
void route_users_list(struct api_call *c);
void route_user_add(struct api_call *c);
void route_user_remove(struct api_call *c);

#endif
