/*
 * JOIN <team> — become an active member of a local team. An unknown sender becomes a
 * person first (inbound.c; a text proves its number). Joining twice says so and changes
 * nothing.
 */
#include "lib/util.h"
#include "decide/confirm.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"
#include "handlers/team_common.h"

#include <inttypes.h>
#include <stdio.h>

static int check_join(struct handler_ctx *ctx, char **error_r)
{
    return team_resolve(ctx, "join_which", false, error_r);
}

static int run_join(struct handler_ctx *ctx, char **error_r)
{
    char person[DB_PARAM_SIZE], team[DB_PARAM_SIZE], contact[DB_PARAM_SIZE];
    /* Double opt-in (engine/confirm.h): a mail From: proves nothing, so an address that
     * never opted in joins as 'pending' and gets the confirmation, nothing else. */
    const char *cp[] = {ctx->msg->channel, db_param_int(ctx->contact_id, contact)};
    PGresult *res = db_exec(ctx->db,
                            "SELECT $1 = 'email' AND NOT EXISTS (SELECT 1 FROM consent"
                            " WHERE contact_id = $2::bigint AND channel = 'email'"
                            " AND action = 'opt_in')",
                            2, cp, error_r);
    if (!res)
        return -1;
    bool pending = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    const char *params[] = {db_param_int(ctx->person_id, person), db_param_int(ctx->team_id, team),
                            pending ? "pending" : "active"};
    res = db_exec(ctx->db,
                  "INSERT INTO memberships (person_id, team_id, status) VALUES ($1, $2, $3)"
                  " ON CONFLICT (person_id, team_id) DO NOTHING RETURNING 1",
                  3, params, error_r);
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
    if (handler_activity(ctx, ctx->team_id, pending ? "join_pending" : "join", NULL, error_r) < 0)
        return -1;
    if (pending) {
        char *url = confirm_url(ctx->db, ctx->person_id, error_r);
        if (!url)
            return -1;
        json_object_set_new(ctx->vars, "confirm_url", json_string(url));
        free(url);
        handler_reply(ctx, "join_confirm", "confirmation");
        ctx->reply_context = xasprintf("{\"prompt\": \"confirm\", \"team_id\": %s}", team);
        return 0;
    }
    handler_reply(ctx, "join_ok", NULL);
    return 0;
}

static const struct grammar_pattern patterns[] = {
    {"en", "^join(?: " PATTERN_TARGET ")?$", 0},
    {"fr", "^(?:rejoindre|adherer)(?: " PATTERN_TARGET ")?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"join", "en", HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST | HANDLER_KEYWORD_SUGGEST_TEAM},
    {"rejoindre", "fr",
     HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST | HANDLER_KEYWORD_SUGGEST_TEAM},
    {"adherer", "fr", HANDLER_KEYWORD_LONG},
    {NULL, NULL, 0},
};

const struct handler handler_join = {
    .name = "join",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_join,
    .run = run_join,
    .creates_sender = true,
    .en = {"JOIN <team>", "join a local team", "JOIN <team>"},
    .fr = {"REJOINDRE <equipe>", "rejoindre une equipe locale", "REJOINDRE <équipe>"},
};
