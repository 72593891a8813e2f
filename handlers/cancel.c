/*
 * CANCEL <event> / ANNULER [event] — withdraw my RSVP (status becomes `no`); the seats it
 * held are offered to the waitlist (rsvp.c). `CANCEL` alone is an opt-out, not this
 * (stop.c); `ANNULER` alone withdraws the RSVP of the last prompt.
 */
#include "lib/util.h"
#include "handlers/handlers.h"
#include "handlers/rsvp.h"

#include <string.h>

int check_cancel(struct handler_ctx *ctx, char **error_r)
{
    return rsvp_resolve_event(ctx, "cancel_which_event", error_r);
}

int run_cancel(struct handler_ctx *ctx, char **error_r)
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
