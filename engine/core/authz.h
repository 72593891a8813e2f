/*
 * authz — what each role may reach: the meaning of every entry of the route table's
 * "needs" column, decided in one pure function before any handler runs.
 *
 * Every organisers' route (api/v1.c) names one need. Needs about a resource (a team, an
 * event, a person, an inbox message, a campaign) are decided over the resource's scope,
 * which the dispatcher resolves first: the event it is (if any) and one or more SETS of
 * teams. The rule, whatever the resource:
 *
 *     admin                           everything
 *     organiser of teams T            a resource whose every set meets T
 *                                     (a person: one of the teams they belong to; a
 *                                     campaign: each term of its segment is inside T)
 *     host of event E                 E's attendees and check-in (AUTHZ_EVENT_DOOR) only
 *
 * So a person in no team, a message from a stranger, or a campaign to `all` is the
 * admins' alone. authz_decide() returns AUTHZ_ALLOW or AUTHZ_DENY; a scope that was not
 * found is the dispatcher's 404, never decided here.
 */
#ifndef TOCSIN_AUTHZ_H
#define TOCSIN_AUTHZ_H

#include "core/account.h"

#include <stddef.h>
#include <stdint.h>

enum authz_need {
    AUTHZ_PUBLIC,     /* anyone: signing in, the OpenAPI document */
    AUTHZ_ACCOUNT,    /* any account: who am I, sign out; lists filtered to the caller */
    AUTHZ_ORGANISER,  /* an organiser of some team: lists filtered to their teams */
    AUTHZ_ADMIN,      /* admins only: accounts, new teams, a team's organisers */
    AUTHZ_TEAM,       /* the team named (path, query or body) */
    AUTHZ_EVENT,      /* the event named, as an organiser of its team */
    AUTHZ_EVENT_DOOR, /* the event named, as its host or an organiser of its team */
    AUTHZ_PERSON,     /* the person named */
    AUTHZ_INBOX,      /* the inbox message named (its sender's teams) */
    AUTHZ_CAMPAIGN,   /* the campaign named, or the segment in the body */
};

enum authz_decision { AUTHZ_ALLOW, AUTHZ_DENY };

struct authz_set {
    int64_t *teams;
    size_t nteams;
};

struct authz_scope {
    int64_t event_id; /* the event the resource is, or 0 */
    struct authz_set *sets;
    size_t nsets;
};

enum authz_decision authz_decide(const struct caller *who, enum authz_need need,
                                 const struct authz_scope *scope);

/* Add a set (copied) to a scope; authz_scope_release() frees the sets. */
void authz_scope_add(struct authz_scope *scope, const int64_t *teams, size_t nteams);
void authz_scope_release(struct authz_scope *scope);

const char *authz_need_name(enum authz_need need);

#endif
