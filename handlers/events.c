/* EVENTS — the next upcoming events of my teams (of everyone's, when I am in none). */
#include "handlers/handlers.h"

static int check_events(struct handler_ctx *ctx, char **error_r)
{
    (void)ctx;
    (void)error_r;
    return 0;
}

static int run_events(struct handler_ctx *ctx, char **error_r)
{
    if (handler_list_events(ctx, 5, error_r) < 0)
        return -1;
    handler_reply(ctx, "events", NULL);
    return 0;
}

static const struct grammar_pattern patterns[] = {
    {"en", "^(?:events|event|upcoming)$", 0},
    {"fr", "^(?:agenda|evenements|evenement)$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"events", "en", HANDLER_KEYWORD_SUGGEST},
    {"event", "en", 0},
    {"upcoming", "en", 0},
    {"agenda", "fr", HANDLER_KEYWORD_SUGGEST},
    {"evenements", "fr", 0},
    {"evenement", "fr", 0},
    {NULL, NULL, 0},
};

const struct handler handler_events = {
    .name = "events",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_events,
    .run = run_events,
    .en = {"EVENTS", "upcoming events of your teams", "EVENTS"},
    .fr = {"AGENDA", "les prochains evenements de vos equipes", "AGENDA"},
};
