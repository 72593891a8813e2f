/*
 * HELP — who we are, the commands (walked from handlers[]), how to stop. Answered even
 * after STOP, as carriers require: the queue lets kind "help" through.
 */
#include "handlers/handlers.h"

#include <string.h>

int check_help(struct handler_ctx *ctx, char **error_r)
{
    (void)ctx;
    (void)error_r;
    return 0;
}

int run_help(struct handler_ctx *ctx, char **error_r)
{
    (void)error_r;
    bool fr = strcmp(ctx->locale, "fr") == 0;
    json_t *list = json_array();
    for (const struct handler *h = handlers; h->name; h++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "usage", fr ? h->usage_fr : h->usage_en,
                                              "help", fr ? h->help_fr : h->help_en));
    json_object_set_new(ctx->vars, "commands", list);
    handler_reply(ctx, "help", "help");
    return 0;
}

/*
 * A stranger's command other than JOIN, RSVP or STOP is answered with this help, but at
 * most once an hour, counted with the unknown-text replies (kind "unknown"): an
 * auto-responder that happens to start with INFO must not loop with us.
 */
int check_stranger_help(struct handler_ctx *ctx, char **error_r)
{
    return check_unknown(ctx, error_r);
}

int run_stranger_help(struct handler_ctx *ctx, char **error_r)
{
    if (run_help(ctx, error_r) < 0)
        return -1;
    handler_reply(ctx, "help", "unknown");
    return 0;
}
