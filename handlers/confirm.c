/*
 * CONFIRM <code> — an organiser sends the message drafted with MSG (msg.c) to the team.
 * CONFIRM alone — someone who joined by mail from an unknown address confirms their
 * membership (double opt-in, engine/confirm.c; the link in the mail does the same).
 */
#include "lib/util.h"
#include "campaigns/organiser.h"
#include "decide/confirm.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"

#include <stdio.h>
#include <string.h>

static int check_confirm(struct handler_ctx *ctx, char **error_r)
{
    (void)ctx;
    (void)error_r;
    return 0;
}

static int confirm_code(struct handler_ctx *ctx, char **error_r)
{
    struct organiser_outcome out;
    if (organiser_confirm(ctx->db, ctx->person_id, ctx->match->target, &out, error_r) < 0)
        return -1;
    json_object_set_new(ctx->vars, "code", json_string(ctx->match->target));
    if (out.team_name)
        json_object_set_new(ctx->vars, "team", json_pack("{s:s}", "name", out.team_name));
    switch (out.result) {
    case ORGANISER_OK:
        json_object_set_new(ctx->vars, "recipients", json_integer(out.recipients));
        json_object_set_new(ctx->vars, "campaign_id", json_integer(out.campaign_id));
        handler_reply(ctx, "organiser_sent", NULL);
        break;
    case ORGANISER_EXPIRED:
        ctx->status = "refused";
        handler_reply(ctx, "organiser_expired", NULL);
        break;
    default:
        ctx->status = "refused";
        handler_reply(ctx, "organiser_unknown_code", NULL);
    }
    free(out.team_name);
    return 0;
}

static int run_confirm(struct handler_ctx *ctx, char **error_r)
{
    if (ctx->match->target)
        return confirm_code(ctx, error_r);
    int confirmed = 0;
    if (confirm_apply(ctx->db, ctx->person_id, ctx->source, ctx->msg->provider_id, &confirmed,
                      error_r) < 0)
        return -1;
    if (!confirmed) {
        ctx->status = "applied_noop";
        handler_reply(ctx, "confirm_nothing", NULL);
        return 0;
    }
    handler_reply(ctx, "join_confirmed", NULL);
    return 0;
}

static const struct grammar_pattern patterns[] = {
    {"en", "^confirm(?: (?<target>[0-9]{6}))?$", 0},
    {"fr", "^(?:confirmer|confirme|valider)(?: (?<target>[0-9]{6}))?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"confirm", "en", 0}, {"confirmer", "fr", 0}, {"confirme", "fr", 0},
    {"valider", "fr", 0}, {NULL, NULL, 0},
};

const struct handler handler_confirm = {
    .name = "confirm",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_confirm,
    .run = run_confirm,
    .en = {"CONFIRM [code]", "confirm your membership, or send a drafted MSG", NULL},
    .fr = {"CONFIRMER [code]", "confirmer votre inscription, ou envoyer un MSG", NULL},
};
