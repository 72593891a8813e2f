/*
 * JOIN <team> — become an active member of a local team. An unknown sender becomes a
 * person first (inbound.c; a text proves its number). Joining twice says so and changes
 * nothing.
 */
#include "handlers.h"
#include "team_common.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>

int check_join(struct handler_ctx *ctx, char **error_r)
{
    return team_resolve(ctx, "join_which", false, error_r);
}

int run_join(struct handler_ctx *ctx, char **error_r)
{
    char person[24], team[24];
    snprintf(person, sizeof(person), "%" PRId64, ctx->person_id);
    snprintf(team, sizeof(team), "%" PRId64, ctx->team_id);
    const char *params[] = {person, team};
    PGresult *res = db_exec(ctx->db,
                            "INSERT INTO memberships (person_id, team_id) VALUES ($1, $2)"
                            " ON CONFLICT (person_id, team_id) DO NOTHING RETURNING 1",
                            2, params, error_r);
    if (!res)
        return -1;
    bool added = PQntuples(res) > 0;
    PQclear(res);
    json_object_set_new(ctx->vars, "team", team_vars(ctx));
    if (!added) {
        ctx->status = "applied_noop";
        handler_reply(ctx, "join_already", NULL);
        return 0;
    }
    if (handler_activity(ctx, ctx->team_id, "join", NULL, error_r) < 0)
        return -1;
    handler_reply(ctx, "join_ok", NULL);
    return 0;
}
