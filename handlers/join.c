/*
 * JOIN <team> — become an active member of a local team. An unknown sender becomes a
 * person first (decide/process.c). Joining twice says so and changes nothing.
 *
 * A text proves its number, so a JOIN by SMS acts at once. A mail proves its address only
 * with proof (handler_proven()): without it — a new address or one we know, it makes no
 * difference, since anyone can write any From: — the membership waits, 'pending', for the
 * address's owner to confirm a request for exactly this membership (decide/request.h) by
 * its link or by answering CONFIRM; a JOIN sent again re-sends it. With proof the member is
 * active at once. A first email consent comes with an active membership (joining asks for
 * the team's messages); a JOIN never undoes an opt-out: that is START's alone.
 */
#include "lib/util.h"
#include "core/consent.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"
#include "handlers/team_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_join(struct handler_ctx *ctx, char **error_r)
{
    return team_resolve(ctx, "join_which", false, error_r);
}

/* The sender's membership of the team now: "active", "pending", or NULL (caller frees). */
static int membership_status(struct handler_ctx *ctx, char **status_r, char **error_r)
{
    char person[DB_PARAM_SIZE], team[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->person_id, person), db_param_int(ctx->team_id, team)};
    PGresult *res =
        db_exec(ctx->db, "SELECT status FROM memberships WHERE person_id = $1 AND team_id = $2", 2,
                params, error_r);
    if (!res)
        return -1;
    *status_r = PQntuples(res) ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return 0;
}

/* A proven email address that never said yes or no says yes by joining. */
static int first_email_consent(struct handler_ctx *ctx, char **error_r)
{
    char contact[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->contact_id, contact)};
    PGresult *res = db_exec(ctx->db,
                            "SELECT NOT EXISTS (SELECT 1 FROM consent WHERE contact_id = $1::bigint"
                            " AND channel = 'email')",
                            1, params, error_r);
    if (!res)
        return -1;
    bool first = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return first ? consent_append(ctx->db, ctx->contact_id, "email", 0, "opt_in", ctx->source,
                                  ctx->msg->provider_id, error_r)
                 : 0;
}

static int run_join(struct handler_ctx *ctx, char **error_r)
{
    bool pending = strcmp(ctx->msg->channel, "email") == 0 && !handler_proven(ctx);
    char *before = NULL;
    if (membership_status(ctx, &before, error_r) < 0)
        return -1;
    json_object_set_new(ctx->vars, "team", team_vars(ctx));
    bool active = before && strcmp(before, "active") == 0;
    bool was_pending = before && strcmp(before, "pending") == 0;
    free(before);
    if (active) {
        ctx->status = "applied_noop";
        handler_reply(ctx, "join_already", NULL);
        return 0;
    }
    char person[DB_PARAM_SIZE], team[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->person_id, person), db_param_int(ctx->team_id, team),
                            pending ? "pending" : "active"};
    if (db_run(ctx->db,
               "INSERT INTO memberships (person_id, team_id, status) VALUES ($1, $2, $3)"
               " ON CONFLICT (person_id, team_id) DO UPDATE SET status = 'active'"
               " WHERE $3 = 'active'",
               3, params, error_r) < 0)
        return -1;
    if (!(pending && was_pending) &&
        handler_activity(ctx, ctx->team_id, pending ? "join_pending" : "join", NULL, error_r) < 0)
        return -1;
    if (pending) {
        /* Asked again while waiting: a new link, in case the first mail was lost. */
        ctx->status = was_pending ? "unproven_repeat" : "unproven";
        if (handler_request(ctx, "join", ctx->team_id, "confirm_url", error_r) < 0)
            return -1;
        handler_reply(ctx, "join_confirm", "confirmation");
        return 0;
    }
    if (strcmp(ctx->msg->channel, "email") == 0 && first_email_consent(ctx, error_r) < 0)
        return -1;
    handler_reply(ctx, "join_ok", NULL);
    return 0;
}

static const struct grammar_pattern patterns[] = {
    {"en", "^join(?: " PATTERN_NAME ")?$", 0},
    {"fr", "^(?:rejoindre|adherer)(?: " PATTERN_NAME ")?$", 0},
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
