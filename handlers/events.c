/* EVENTS — the next upcoming events of my teams (of everyone's, when I am in none). */
#include "handlers/handlers.h"

int check_events(struct handler_ctx *ctx, char **error_r)
{
    (void)ctx;
    (void)error_r;
    return 0;
}

int run_events(struct handler_ctx *ctx, char **error_r)
{
    if (handler_list_events(ctx, 5, error_r) < 0)
        return -1;
    handler_reply(ctx, "events", NULL);
    return 0;
}
