/*
 * "2 OUI" — an answer to item 2 of a digest. The digest's outbound context holds
 * {"digest_items": [event id or null, …]} (engine/scheduler.c); the digest answered is the
 * message replied to (mail token) or the last digest sent to that number (SMS). The RSVP
 * itself is RSVP's (rsvp.c): same seats, waitlist and reply.
 */
#include "lib/util.h"
#include "handlers/patterns.h"
#include "handlers/rsvp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_digest_answer(struct handler_ctx *ctx, char **error_r)
{
    long item;
    if (str_to_long(ctx->match->target, 1, 99, &item) < 0) {
        handler_reply(ctx, "digest_item_unknown", NULL);
        return 1;
    }
    char index[DB_PARAM_SIZE];
    db_param_int(item - 1, index);
    PGresult *res;
    if (ctx->msg->reply_to_id) {
        char id[DB_PARAM_SIZE];
        const char *params[] = {db_param_int(ctx->msg->reply_to_id, id), index};
        res = db_exec(ctx->db,
                      "SELECT (context->'digest_items'->$2::int)::text FROM outbound_messages"
                      " WHERE id = $1 AND context ? 'digest_items'",
                      2, params, error_r);
    } else {
        const char *params[] = {ctx->msg->channel, ctx->msg->sender, index};
        res = db_exec(ctx->db,
                      "SELECT (context->'digest_items'->$3::int)::text FROM outbound_messages"
                      " WHERE channel = $1 AND recipient = $2 AND context ? 'digest_items'"
                      " ORDER BY created_at DESC, id DESC LIMIT 1",
                      3, params, error_r);
    }
    if (!res)
        return -1;
    int64_t event_id = 0;
    if (PQntuples(res) && db_value(res, 0, 0))
        event_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10); /* "null" reads as 0 */
    PQclear(res);
    json_object_set_new(ctx->vars, "item", json_integer(item));
    if (!event_id) {
        handler_reply(ctx, "digest_item_unknown", NULL);
        return 1;
    }
    struct event_info e = {0};
    int found = handler_load_event(ctx, event_id, false, &e, error_r);
    if (found < 0)
        return -1;
    if (!found) {
        handler_reply(ctx, "digest_item_unknown", NULL);
        return 1;
    }
    return handler_use_event(ctx, &e);
}

static const struct grammar_pattern patterns[] = {
    {"", "^(?<target>[0-9]{1,2}) (?<answer>" PATTERN_ANSWER ")" PATTERN_GUESTS "$", 0},
    {NULL, NULL, 0},
};

/* No keyword: the line starts with the item's number. */
static const struct handler_keyword keywords[] = {
    {NULL, NULL, 0},
};

const struct handler handler_digest_answer = {
    .name = "digest_answer",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_digest_answer,
    .run = run_rsvp,
    .en = {"<number> YES|NO", "answer an item of your digest", NULL},
    .fr = {"<numero> OUI|NON", "repondre a un element de votre resume", NULL},
};
