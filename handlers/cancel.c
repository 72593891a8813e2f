/*
 * CANCEL <event> / ANNULER [event] — withdraw my RSVP (status becomes `no`); the seats it
 * held are offered to the waitlist (rsvp.c). `CANCEL` alone is an opt-out, not this
 * (stop.c); `ANNULER` alone withdraws the RSVP of the last prompt.
 */
#include "lib/util.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"
#include "handlers/rsvp.h"

#include <string.h>

static int check_cancel(struct handler_ctx *ctx, char **error_r)
{
    return rsvp_resolve_event(ctx, "cancel_which_event", error_r);
}

static int run_cancel(struct handler_ctx *ctx, char **error_r)
{
    struct event_info e = {0};
    int found = handler_load_event(ctx, ctx->event_id, true, &e, error_r);
    if (found <= 0) {
        if (found == 0)
            *error_r = xstrdup("cancel: event vanished");
        return -1;
    }
    int rc = -1;
    struct rsvp_previous prev;
    if (rsvp_previous(ctx, e.id, &prev, error_r) < 0)
        goto out;
    if (!prev.exists || strcmp(prev.status, "no") == 0) {
        ctx->status = "applied_noop";
        handler_reply(ctx, "cancel_none", NULL);
        rc = 0;
        goto out;
    }
    if (rsvp_store(ctx, e.id, "no", 0, error_r) < 0)
        goto out;
    json_t *payload = json_pack("{s:I, s:s}", "event_id", (json_int_t)e.id, "was", prev.status);
    if (handler_activity(ctx, e.team_id, "cancel", payload, error_r) < 0)
        goto out;
    if ((strcmp(prev.status, "yes") == 0 || prev.held) &&
        rsvp_offer_freed_seats(ctx, &e, error_r) < 0)
        goto out;
    handler_reply(ctx, "cancel_ok", NULL);
    ctx->reply_context = rsvp_context(e.id);
    rc = 0;
out:
    event_info_release(&e);
    return rc;
}

/* CANCEL alone is an opt-out (stop.c, earlier in the precedence); ANNULER alone is not a
 * carrier keyword, so it withdraws the RSVP of the last prompt. */
static const struct grammar_pattern patterns[] = {
    {"en", "^cancel " PATTERN_TARGET "$", 0},
    {"fr", "^annuler(?: " PATTERN_TARGET ")?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"cancel", "en", HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST},
    {"annuler", "fr", HANDLER_KEYWORD_LONG | HANDLER_KEYWORD_SUGGEST},
    {NULL, NULL, 0},
};

const struct handler handler_cancel = {
    .name = "cancel",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_cancel,
    .run = run_cancel,
    .en = {"CANCEL <event>", "withdraw your RSVP", "CANCEL <event>"},
    .fr = {"ANNULER <evenement>", "annuler votre participation", "ANNULER <événement>"},
};
