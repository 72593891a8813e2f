/*
 * Text no pattern matched. One helpful reply ("did you mean JOIN paris-10?": the closest
 * command word by edit distance, and the closest team or event slug), at most once per
 * sender and channel per UNKNOWN_REPLY_INTERVAL: two robots answering each other (an
 * auto-responder and us) stop after one exchange. Otherwise the message is only recorded.
 */
#include "lib/util.h"
#include "handlers/handlers.h"

#include <string.h>

#define UNKNOWN_REPLY_INTERVAL "1 hour"

/* Command words a typo is compared with, each with the form the reply suggests. */
static const char *const keywords[][2] = {
    {"join", "JOIN"},           {"leave", "LEAVE"},         {"rsvp", "RSVP"},
    {"cancel", "CANCEL"},       {"events", "EVENTS"},       {"help", "HELP"},
    {"start", "START"},         {"rejoindre", "REJOINDRE"}, {"quitter", "QUITTER"},
    {"annuler", "ANNULER"},     {"agenda", "AGENDA"},       {"aide", "AIDE"},
    {"reprendre", "REPRENDRE"},
};

int check_unknown(struct handler_ctx *ctx, char **error_r)
{
    const char *params[] = {ctx->msg->channel, ctx->msg->sender};
    PGresult *res = db_exec(ctx->db,
                            "SELECT 1 FROM outbound_messages WHERE channel = $1"
                            " AND recipient = $2 AND kind = 'unknown'"
                            " AND created_at > now() - interval '" UNKNOWN_REPLY_INTERVAL "'"
                            " LIMIT 1",
                            2, params, error_r);
    if (!res)
        return -1;
    bool recent = PQntuples(res) > 0;
    PQclear(res);
    if (recent) {
        ctx->status = "rate_limited";
        return 1;
    }
    return 0;
}

static const char *closest_keyword(const char *word)
{
    size_t len = strlen(word);
    if (len < 3)
        return NULL;
    int max = len <= 5 ? 1 : 2, best = max + 1;
    const char *found = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        int d = edit_distance(word, keywords[i][0], max);
        if (d < best) {
            best = d;
            found = keywords[i][1];
        }
    }
    return found;
}

int run_unknown(struct handler_ctx *ctx, char **error_r)
{
    const char *line = ctx->match->line ? ctx->match->line : "";
    char *first = xstrndup(line, strcspn(line, " "));
    const char *keyword = closest_keyword(first);
    free(first);
    bool is_team = false;
    char *slug = handler_suggest(ctx, line, true, true, &is_team, error_r);
    if (!slug && *error_r)
        return -1;
    bool fr = strcmp(ctx->locale, "fr") == 0;
    char *suggestion = NULL;
    if (keyword && slug)
        suggestion = xasprintf("%s %s", keyword, slug);
    else if (slug)
        suggestion = xasprintf("%s %s", is_team ? (fr ? "REJOINDRE" : "JOIN") : "RSVP", slug);
    else if (keyword)
        suggestion = xstrdup(keyword);
    if (suggestion)
        json_object_set_new(ctx->vars, "suggestion", json_string(suggestion));
    free(suggestion);
    free(slug);
    ctx->status = "unknown";
    handler_reply(ctx, "unknown", "unknown");
    return 0;
}
