/* LEAVE <team> — leave a team (the membership row is removed; activity keeps the trace). */
#include "lib/util.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"
#include "handlers/team_common.h"

#include <inttypes.h>
#include <stdio.h>

static int check_leave(struct handler_ctx *ctx, char **error_r)
{
    return team_resolve(ctx, "leave_which", true, error_r);
}

static int run_leave(struct handler_ctx *ctx, char **error_r)
{
    char person[DB_PARAM_SIZE], team[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->person_id, person), db_param_int(ctx->team_id, team)};
    PGresult *res = db_exec(ctx->db,
                            "DELETE FROM memberships WHERE person_id = $1 AND team_id = $2"
                            " RETURNING role",
                            2, params, error_r);
    if (!res)
        return -1;
    bool removed = PQntuples(res) > 0;
    PQclear(res);
    json_object_set_new(ctx->vars, "team", team_vars(ctx));
    if (!removed) {
        ctx->status = "applied_noop";
        handler_reply(ctx, "leave_not_member", NULL);
        return 0;
    }
    if (handler_activity(ctx, ctx->team_id, "leave", NULL, error_r) < 0)
        return -1;
    handler_reply(ctx, "leave_ok", NULL);
    return 0;
}

static const struct grammar_pattern patterns[] = {
    {"en", "^leave(?: " PATTERN_TARGET ")?$", 0},
    {"fr", "^quitter(?: " PATTERN_TARGET ")?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"leave", "en", HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST},
    {"quitter", "fr", HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST},
    {NULL, NULL, 0},
};

const struct handler handler_leave = {
    .name = "leave",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_leave,
    .run = run_leave,
    .en = {"LEAVE <team>", "leave a team", "LEAVE <team>"},
    .fr = {"QUITTER <equipe>", "quitter une equipe", "QUITTER <équipe>"},
};
