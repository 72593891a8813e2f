/*
 * people — the organisers' questions about supporters: who (a filtered list, a CSV
 * export) and everything about one person.
 *
 * people_list(): people in the caller's reach (admins: everyone; organisers: members of
 * their teams), filtered by team slug, tag, a search text (part of the name, or an exact
 * email or phone typed as people type it) and current opt-out on a channel ("email",
 * "sms": the latest global entry, or for that team when a team is given, is an opt-out);
 * ordered by id, one page. Each item: id, name, locale, timezone, tags, email, phone,
 * teams (slugs, only the caller's own for organisers), created_at.
 *
 * people_show(): one person — contacts with their current consent per channel,
 * memberships, RSVPs, the consent ledger as it is (newest first) and the last messages
 * both ways. For an organiser, memberships, RSVPs, team-scoped consent entries and
 * outbound messages are limited to their teams (global entries and the person's own
 * inbound messages are shown: they are the conversation the inbox answers).
 *
 * people_export_page(): the same rows as people_list() as CSV (header first when `after`
 * is 0), PEOPLE_EXPORT_PAGE at a time; *next_r is the next `after`, 0 at the end.
 */
#ifndef TOCSIN_API_PEOPLE_H
#define TOCSIN_API_PEOPLE_H

#include "lib/buf.h"
#include "core/account.h"
#include "api/model.h"

#define PEOPLE_EXPORT_PAGE 1000

struct people_filter {
    const char *team; /* slug */
    const char *tag;
    const char *search;
    const char *opted_out; /* "email" or "sms" */
    struct page page;
};

json_t *people_list(struct db *db, const struct caller *who, const struct people_filter *f,
                    struct api_error *e);
json_t *people_show(struct db *db, const struct caller *who, int64_t person_id,
                    struct api_error *e);
int people_export_page(struct db *db, const struct caller *who, const struct people_filter *f,
                       int64_t after, struct buf *out, int64_t *next_r, struct api_error *e);

/* Their /api/v1 routes (rows in routes.c); the export streams, page after page. */
struct api_call;
void route_people_list(struct api_call *c);
void route_people_export(struct api_call *c);
void route_people_show(struct api_call *c);

#endif
