/*
 * teams — local teams: the list and one team, its members, what happened in it, and the
 * admins' actions (a new team, its organisers).
 *
 * teams_list(): the teams the caller reaches (admins: all; organisers: theirs; hosts: the
 * teams of their events), with active member and upcoming event counts.
 * team_show(): one team with counts, organisers and upcoming events.
 * team_members(): members in person-id order, one page; `since` (a date: joined on or
 * after) and `pending` (only members who have not confirmed) narrow it.
 * team_activity(): the team's activity log, newest first, with who did it.
 * team_create(): a new team (409 when the slug exists, 422 for a bad slug).
 * team_organiser_set(): make a contact's person an organiser of the team (a member if
 * they were not: the answer's "added_as_member" says so), or back to a plain member
 * (`organiser` false). Writes record activity.
 * team_digest_set(): the digest the team's members get when they chose none themselves
 * (teams.digest: daily, weekly or never; "default" clears it, [engine] digest_default
 * then applies — docs/campaigns.md, "Digests").
 */
#ifndef TOCSIN_API_TEAMS_H
#define TOCSIN_API_TEAMS_H

#include "core/account.h"
#include "api/model.h"

#include <stdbool.h>

struct members_filter {
    const char *since; /* 'YYYY-MM-DD' or NULL */
    bool pending;
    struct page page;
};

json_t *teams_list(struct db *db, const struct caller *who, struct api_error *e);
json_t *team_show(struct db *db, const struct caller *who, const char *slug, struct api_error *e);
json_t *team_members(struct db *db, const struct caller *who, const char *slug,
                     const struct members_filter *f, struct api_error *e);
json_t *team_activity(struct db *db, const struct caller *who, const char *slug,
                      const struct page *page, struct api_error *e);
json_t *team_create(struct db *db, const struct caller *who, const char *slug, const char *name,
                    const char *region, struct api_error *e);
/* The person is named by `contact` as typed, or by `person_id` when contact is NULL. */
json_t *team_organiser_set(struct db *db, const struct caller *who, const char *slug,
                           const char *contact, int64_t person_id, bool organiser,
                           struct api_error *e);

json_t *team_digest_set(struct db *db, const struct caller *who, const char *slug,
                        const char *period, struct api_error *e);

/* Their /api/v1 routes (rows in routes.c). */
struct api_call;
void route_teams_list(struct api_call *c);
void route_team_show(struct api_call *c);
void route_team_members(struct api_call *c);
void route_team_activity(struct api_call *c);
void route_team_create(struct api_call *c);
void route_team_organiser_add(struct api_call *c);
void route_team_organiser_remove(struct api_call *c);

#endif
