#include "api/optouts.h"
#include "lib/buf.h"
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
    char before[24], limit[24];
    model_id(page->after ? page->after : INT64_MAX, before);
    snprintf(limit, sizeof(limit), "%d", page->limit);
    char *scope = caller_teams_literal(who);
    struct model_params p = {0};
    struct buf q = BUF_INIT;
    /* Newest first: `after` is the last id of the previous page. */
    buf_printf(&q,
               "SELECT o.id, o.person_id, o.name, o.address, o.channel, o.team, o.source,"
               " o.evidence, o.created_at FROM current_optouts o WHERE o.id < $%d::bigint",
               model_param(&p, before));
    int limit_n = model_param(&p, limit);
    if (since)
        buf_printf(&q, " AND o.created_at >= ($%d::timestamp AT TIME ZONE $%d)",
                   model_param(&p, since),
                   model_param(&p, config_str("engine", "default_timezone")));
    if (channel)
        buf_printf(&q, " AND o.channel = $%d", model_param(&p, channel));
    /* An organiser: opt-outs from their teams, and global ones of their members. Built
     * only for them, so that an admin's list is a plain walk down the opt-outs; the member
     * test is a probe per opt-out (a scalar subquery), never a hash of a whole team. */
    if (scope) {
        int n = model_param(&p, scope);
        buf_printf(&q,
                   " AND (o.scope = ANY($%d::bigint[]) OR (o.scope IS NULL AND (SELECT true"
                   " FROM memberships m WHERE m.person_id = o.person_id"
                   " AND m.team_id = ANY($%d::bigint[]) LIMIT 1)))",
                   n, n);
    }
    buf_printf(&q, " ORDER BY o.id DESC LIMIT $%d::int", limit_n);
    char *error = NULL;
    PGresult *res = db_exec_once(db, buf_str(&q), p.n, p.values, &error);
    buf_release(&q);
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
