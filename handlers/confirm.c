/*
 * CONFIRM <code> — an organiser sends the message drafted with MSG (msg.c) to the team
 * (campaigns/organiser.h: one draft per code, five wrong codes void it, five failures in 15
 * minutes lock the sender out for an hour).
 * CONFIRM alone — the answer to a confirmation (decide/request.h): it applies the request
 * that confirmation was about — the one the mail replied to names, else the sender's newest
 * (on any of their contacts: a text from their number confirms what their address asked).
 *
 * Both grant something, so by mail they need proof that the mail comes from its address
 * (handler_proven()): replying to the mail tocsin sent is proof, a new mail with the right
 * From: is not. Without it nothing is looked at (a guess learns nothing) and the answer
 * says how to confirm. A text always carries proof: its gateway signed it.
 */
#include "lib/util.h"
#include "campaigns/organiser.h"
#include "decide/request.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"

#include <stdio.h>
#include <string.h>

static int check_confirm(struct handler_ctx *ctx, char **error_r)
{
    (void)error_r;
    if (handler_proven(ctx))
        return 0;
    ctx->status = "refused";
    if (ctx->match->target)
        json_object_set_new(ctx->vars, "code", json_string(ctx->match->target));
    handler_reply(ctx, ctx->match->target ? "organiser_unproven" : "confirm_unproven", NULL);
    return 1;
}

/* The answer to a code, as organiser_confirm() judged it. A locked sender gets no answer:
 * it was told once, when the lock began, and every answer to a guesser costs a text. */
static void answer_code(struct handler_ctx *ctx, const struct organiser_outcome *out)
{
    if (out->result != ORGANISER_OK)
        ctx->status = "refused";
    json_object_set_new(ctx->vars, "locked", json_boolean(out->locked));
    switch (out->result) {
    case ORGANISER_OK:
        json_object_set_new(ctx->vars, "recipients", json_integer(out->recipients));
        json_object_set_new(ctx->vars, "campaign_id", json_integer(out->campaign_id));
        if (out->held) {
            json_object_set_new(ctx->vars, "held", json_integer(out->held));
            json_object_set_new(ctx->vars, "held_until", json_string(out->held_until));
        }
        handler_reply(ctx, "organiser_sent", NULL);
        break;
    case ORGANISER_EXPIRED:
        handler_reply(ctx, "organiser_expired", NULL);
        break;
    case ORGANISER_VOIDED:
        handler_reply(ctx, "organiser_voided", NULL);
        break;
    case ORGANISER_LOCKED:
        break;
    default:
        handler_reply(ctx, out->locked ? "organiser_locked" : "organiser_unknown_code", NULL);
    }
}

static int confirm_code(struct handler_ctx *ctx, char **error_r)
{
    struct organiser_outcome out;
    if (organiser_confirm(ctx->db, ctx->person_id, ctx->match->target, &out, error_r) < 0)
        return -1;
    json_object_set_new(ctx->vars, "code", json_string(ctx->match->target));
    if (out.team_name)
        json_object_set_new(ctx->vars, "team", json_pack("{s:s}", "name", out.team_name));
    answer_code(ctx, &out);
    free(out.team_name);
    free(out.held_until);
    return 0;
}

/* The request this CONFIRM is about: the one of the confirmation it answers, else the
 * sender's newest open one. 0 when there is none. */
static int find_request(struct handler_ctx *ctx, int64_t *id_r, char **error_r)
{
    *id_r = 0;
    if (ctx->msg->reply_to_id &&
        request_for_message(ctx->db, ctx->msg->reply_to_id, ctx->person_id, id_r, error_r) < 0)
        return -1;
    if (!*id_r && request_newest(ctx->db, ctx->person_id, id_r, error_r) < 0)
        return -1;
    return 0;
}

static int confirm_request(struct handler_ctx *ctx, char **error_r)
{
    int64_t id;
    if (find_request(ctx, &id, error_r) < 0)
        return -1;
    if (!id) {
        ctx->status = "applied_noop";
        handler_reply(ctx, "confirm_nothing", NULL);
        return 0;
    }
    enum request_result result;
    struct request_info info;
    if (request_apply(ctx->db, id, "reply", ctx->msg->provider_id, &result, &info, error_r) < 0)
        return -1;
    if (info.team_name)
        json_object_set_new(ctx->vars, "team", json_pack("{s:s}", "name", info.team_name));
    free(info.team_name);
    if (result != REQUEST_APPLIED) {
        ctx->status = "applied_noop";
        handler_reply(ctx, result == REQUEST_EXPIRED ? "request_expired" : "confirm_nothing", NULL);
        return 0;
    }
    handler_reply(ctx, strcmp(info.action, "join") == 0 ? "join_confirmed" : "start_ok", NULL);
    return 0;
}

static int run_confirm(struct handler_ctx *ctx, char **error_r)
{
    return ctx->match->target ? confirm_code(ctx, error_r) : confirm_request(ctx, error_r);
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
