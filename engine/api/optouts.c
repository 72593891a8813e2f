#include "api/optouts.h"
#include "lib/util.h"
#include "core/config.h"
#include "api/v1.h"

#include <stdio.h>
#include <string.h>

json_t *optouts_list(struct db *db, const struct caller *who, const char *since,
                     const char *channel, const struct page *page, struct api_error *e)
{
    if (channel && strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0) {
        api_error_set(e, 400, "channel must be email or sms");
        return NULL;
    }
    if (model_check_time(db, since, "since", e) < 0)
        return NULL;
    char after[24], limit[24];
    model_id(page->after, after);
    snprintf(limit, sizeof(limit), "%d", page->limit);
    char *scope = caller_teams_literal(who);
    const char *params[] = {after,   limit, since,
                            channel, scope, config_str("engine", "default_timezone")};
    char *error = NULL;
    /* Newest first: `after` is the last id of the previous page. */
    PGresult *res = db_exec(
        db,
        "SELECT o.id, o.person_id, o.name, o.address, o.channel, o.team, o.source, o.evidence,"
        " o.created_at FROM current_optouts o"
        " WHERE ($1::bigint = 0 OR o.id < $1::bigint)"
        " AND ($3::text IS NULL OR o.created_at >= ($3::timestamp AT TIME ZONE $6))"
        " AND ($4::text IS NULL OR o.channel = $4)"
        " AND ($5::bigint[] IS NULL OR o.scope = ANY($5::bigint[])"
        "  OR (o.scope IS NULL AND EXISTS (SELECT 1 FROM memberships m"
        "   WHERE m.person_id = o.person_id AND m.team_id = ANY($5::bigint[]))))"
        " ORDER BY o.id DESC LIMIT $2::int",
        6, params, &error);
    free(scope);
    if (!res) {
        api_error_db(e, db, "optouts", error);
        return NULL;
    }
    json_t *out = model_page(model_rows(res), "id", page->limit);
    PQclear(res);
    return out;
}

void route_optouts_list(struct api_call *c)
{
    struct page page;
    if (!api_page(c, &page))
        return;
    struct api_error e = {0};
    api_answer(c,
               optouts_list(c->db, &c->who, http_query(c->req, "since"),
                            http_query(c->req, "channel"), &page, &e),
               &e);
}
