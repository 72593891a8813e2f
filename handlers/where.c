/*
 * WHERE <event> / OÙ <event> — where and when an event is: its title, place and start,
 * written in the event's own time zone (and naming it), in the sender's language.
 * A bare WHERE (OÙ, OU) is about the event a bare OUI would answer: the one of the last
 * prompt — a reminder, an RSVP confirmation, a waitlist offer — or of the mail it
 * replies to (handler_context_event()). With no event named or implied, the reply lists
 * upcoming ones to ask about; an unknown name gets event_unknown with the closest slug.
 * Nothing changes. The answer is a prompt about that event, so a bare OUI after it
 * answers that event.
 */
#include "lib/util.h"
#include "handlers/handlers.h"
#include "handlers/patterns.h"
#include "handlers/rsvp.h"

#include <inttypes.h>
#include <stdio.h>

#define WHERE_EVENTS_OFFERED 3 /* when no event is named or implied: keep it to one SMS */

/* The IANA time zone the event's start is written in, as event.timezone. */
static int add_timezone(struct handler_ctx *ctx, json_t *event, char **error_r)
{
    char id[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->event_id, id)};
    PGresult *res =
        db_exec(ctx->db, "SELECT timezone FROM events WHERE id = $1", 1, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res))
        json_object_set_new(event, "timezone", json_string(PQgetvalue(res, 0, 0)));
    PQclear(res);
    return 0;
}

static int check_where(struct handler_ctx *ctx, char **error_r)
{
    const char *target = ctx->match->target;
    struct event_info e = {0};
    int found = 0;
    if (target) {
        found = handler_find_event(ctx, target, false, &e, error_r);
        if (found < 0)
            return -1;
        if (!found)
            return handler_reply_unknown(ctx, target, false, true, "event_unknown", error_r);
    } else {
        int64_t id;
        if (handler_context_event(ctx, &id, error_r) < 0)
            return -1;
        if (id && (found = handler_load_event(ctx, id, false, &e, error_r)) < 0)
            return -1;
    }
    if (!found) {
        if (handler_list_events(ctx, WHERE_EVENTS_OFFERED, error_r) < 0)
            return -1;
        handler_reply(ctx, "where", NULL);
        return 1;
    }
    ctx->event_id = e.id;
    ctx->team_id = e.team_id;
    json_t *event = handler_event_vars(&e, ctx->locale);
    json_object_set_new(ctx->vars, "event", event);
    json_object_set_new(ctx->vars, "closed", json_boolean(!e.open));
    event_info_release(&e);
    return add_timezone(ctx, event, error_r);
}

static int run_where(struct handler_ctx *ctx, char **error_r)
{
    (void)error_r;
    handler_reply(ctx, "where", NULL);
    ctx->reply_context = rsvp_context(ctx->event_id);
    return 0;
}

/* "ou" is OÙ folded; "oui" and "o" (yes) are other words, so no answer is taken. */
static const struct grammar_pattern patterns[] = {
    {"en", "^where(?: " PATTERN_TARGET ")?$", 0},
    {"fr", "^ou(?: " PATTERN_TARGET ")?$", 0},
    {NULL, NULL, 0},
};

/* OU is not offered by "did you mean": too many short words are one typo from it. */
static const struct handler_keyword keywords[] = {
    {"where", "en", HANDLER_KEYWORD_SUGGEST},
    {"ou", "fr", 0},
    {NULL, NULL, 0},
};

const struct handler handler_where = {
    .name = "where",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_where,
    .run = run_where,
    .en = {"WHERE <event>", "where and when an event is", "WHERE <event>"},
    .fr = {"OÙ <evenement>", "le lieu et l'heure d'un evenement", "OU <événement>"},
};
