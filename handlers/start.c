/*
 * START — opt back in on this channel (`START`), or to one team's messages (`START
 * paris-10`), by appending an opt_in to the consent ledger. Only START/UNSTOP/REPRENDRE
 * re-enable: a YES never does (docs/commands.md).
 */
#include "lib/util.h"
#include "core/consent.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"

static int check_start(struct handler_ctx *ctx, char **error_r)
{
    const char *target = ctx->match->target;
    if (!target)
        return 0;
    int found = handler_find_team(ctx, target, &ctx->team_id, &ctx->team_name, error_r);
    if (found < 0)
        return -1;
    if (!found)
        return handler_reply_unknown(ctx, target, true, false, "team_unknown", error_r);
    return 0;
}

static int run_start(struct handler_ctx *ctx, char **error_r)
{
    if (consent_append(ctx->db, ctx->contact_id, ctx->msg->channel, ctx->team_id, "opt_in",
                       ctx->source, ctx->msg->provider_id, error_r) < 0)
        return -1;
    json_t *payload = json_pack("{s:s}", "action", "opt_in");
    if (handler_activity(ctx, ctx->team_id, "consent", payload, error_r) < 0)
        return -1;
    if (ctx->team_name)
        json_object_set_new(
            ctx->vars, "team",
            json_pack("{s:s, s:s}", "slug", ctx->match->target, "name", ctx->team_name));
    handler_reply(ctx, "start_ok", NULL);
    return 0;
}

static const struct grammar_pattern patterns[] = {
    {"en", "^(?:start|unstop)(?: " PATTERN_TARGET ")?$", 0},
    {"fr", "^(?:reprendre)(?: " PATTERN_TARGET ")?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"start", "en", HANDLER_KEYWORD_SUGGEST},
    {"unstop", "en", 0},
    {"reprendre", "fr", HANDLER_KEYWORD_SUGGEST},
    {NULL, NULL, 0},
};

const struct handler handler_start = {
    .name = "start",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_start,
    .run = run_start,
    .en = {"START [team]", "receive messages again", NULL},
    .fr = {"REPRENDRE [equipe]", "recevoir a nouveau les messages", NULL},
};
