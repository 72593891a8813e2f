/*
 * STOP — opt out of this channel, or of one team's messages on it (`STOP paris-10`).
 *
 * The opt-out is appended to the consent ledger with its evidence (the provider's message
 * id); the queue refuses later messages at send time. One confirmation is sent — the
 * only message an opted-out destination receives (queue kind stop_confirmation) — and
 * only when this STOP changed something, so two robots cannot ping-pong confirmations.
 * A word after STOP that is not a team is ignored: the opt-out is then global, the safe
 * reading of "STOP please".
 */
#include "lib/util.h"
#include "core/consent.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"

static int check_stop(struct handler_ctx *ctx, char **error_r)
{
    const char *target = ctx->match->target;
    if (target) {
        int found = handler_find_team(ctx, target, &ctx->team_id, &ctx->team_name, error_r);
        if (found < 0)
            return -1;
    }
    return 0;
}

static int run_stop(struct handler_ctx *ctx, char **error_r)
{
    bool allowed;
    if (consent_allows_address(ctx->db, ctx->msg->channel, ctx->msg->sender, ctx->team_id, &allowed,
                               error_r) < 0)
        return -1;
    if (consent_append(ctx->db, ctx->contact_id, ctx->msg->channel, ctx->team_id, "opt_out",
                       ctx->source, ctx->msg->provider_id, error_r) < 0)
        return -1;
    json_t *payload = json_pack("{s:s}", "action", "opt_out");
    if (handler_activity(ctx, ctx->team_id, "consent", payload, error_r) < 0)
        return -1;
    if (!allowed) {
        ctx->status = "applied_repeat";
        return 0;
    }
    if (ctx->team_name)
        json_object_set_new(
            ctx->vars, "team",
            json_pack("{s:s, s:s}", "slug", ctx->match->target, "name", ctx->team_name));
    handler_reply(ctx, "stop_confirmation", "stop_confirmation");
    return 0;
}

/* Opt-out words are honoured anywhere in the line ("please STOP", "oui stop"): missing an
 * opt-out costs a complaint, a false one costs a START. The word after names a team. */
static const struct grammar_pattern patterns[] = {
    {"", "^(?:.* )?(?:stopall|stop)(?: (?<target>" PATTERN_SLUG "))?(?: .*)?$", 0},
    {"en",
     "^(?:.* )?(?:unsubscribe|unsub|optout|opt-out)(?: (?<target>" PATTERN_SLUG "))?(?: .*)?$", 0},
    {"fr",
     "^(?:.* )?(?:arreter|arretez|arrete|arret|desinscrire|desinscription|desabonner|desabonnement)"
     "(?: (?<target>" PATTERN_SLUG "))?(?: .*)?$",
     0},
    /* Words that are also ordinary English only count alone (carrier rule). */
    {"en", "^(?:end|quit|cancel)$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"stop", "", 0},
    {"stopall", "", 0},
    {"unsubscribe", "en", 0},
    {"unsub", "en", 0},
    {"optout", "en", 0},
    {"opt-out", "en", 0},
    {"end", "en", HANDLER_KEYWORD_ALONE},
    {"quit", "en", HANDLER_KEYWORD_ALONE},
    {"cancel", "en", HANDLER_KEYWORD_ALONE},
    {"arret", "fr", 0},
    {"arreter", "fr", 0},
    {"arretez", "fr", 0},
    {"arrete", "fr", 0},
    {"desinscrire", "fr", 0},
    {"desinscription", "fr", 0},
    {"desabonner", "fr", 0},
    {"desabonnement", "fr", 0},
    {NULL, NULL, 0},
};

const struct handler handler_stop = {
    .name = "stop",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_stop,
    .run = run_stop,
    .creates_sender = true,
    .en = {"STOP [team]", "stop all messages on this channel, or a team's", NULL},
    .fr = {"STOP [equipe]", "ne plus rien recevoir, ou d'une equipe", NULL},
};
