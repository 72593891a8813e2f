#include "handlers/team_common.h"
#include "lib/util.h"

#include <inttypes.h>
#include <stdio.h>

static int list_teams(struct handler_ctx *ctx, bool mine, char **error_r)
{
    char person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->person_id, person), mine ? "t" : "f"};
    PGresult *res = db_exec(ctx->db,
                            "SELECT slug, name FROM teams t WHERE NOT $2::bool OR EXISTS"
                            " (SELECT 1 FROM memberships m WHERE m.team_id = t.id"
                            "  AND m.person_id = $1) ORDER BY slug LIMIT 6",
                            2, params, error_r);
    if (!res)
        return -1;
    json_t *list = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "slug", PQgetvalue(res, r, 0), "name",
                                              PQgetvalue(res, r, 1)));
    json_object_set_new(ctx->vars, "teams", list);
    PQclear(res);
    return 0;
}

int team_resolve(struct handler_ctx *ctx, const char *which_template, bool mine, char **error_r)
{
    const char *target = ctx->match->target;
    if (!target) {
        /* JOIN alone lists teams to join; LEAVE alone lists mine. */
        if (list_teams(ctx, mine, error_r) < 0)
            return -1;
        handler_reply(ctx, which_template, NULL);
        return 1;
    }
    int found = handler_find_team(ctx, target, &ctx->team_id, &ctx->team_name, error_r);
    if (found != 0)
        return found < 0 ? -1 : 0;
    return handler_reply_unknown(ctx, target, true, false, "team_unknown", error_r);
}

json_t *team_vars(const struct handler_ctx *ctx)
{
    return json_pack("{s:s, s:s}", "slug", ctx->match->target, "name", ctx->team_name);
}
