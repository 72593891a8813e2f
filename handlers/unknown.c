/*
 * Text no pattern matched. One helpful reply ("did you mean JOIN paris-10?": the closest
 * command word by edit distance, and the closest team or event slug), at most once per
 * sender and channel per UNKNOWN_REPLY_INTERVAL: two robots answering each other (an
 * auto-responder and us) stop after one exchange. Otherwise the message is only recorded.
 * The command words are the handlers' keywords marked for suggestion (handlers.h).
 */
#include "lib/util.h"
#include "handlers/handlers.h"

#include <ctype.h>
#include <string.h>

#define UNKNOWN_REPLY_INTERVAL "1 hour"

int check_unknown(struct handler_ctx *ctx, char **error_r)
{
    const char *params[] = {ctx->msg->channel, ctx->msg->sender};
    PGresult *res =
        db_exec(ctx->db,
                "SELECT 1 FROM outbound_messages WHERE channel = $1"
                " AND recipient = $2 AND kind = 'unknown'"
                " AND created_at > now() - interval '" UNKNOWN_REPLY_INTERVAL "'"
                /* Other months are not even opened (pruned as the plan starts): a reply
                 * is in the month it was queued. */
                " AND month BETWEEN tocsin_month(now() - interval '" UNKNOWN_REPLY_INTERVAL
                "') AND tocsin_month(now())"
                /* In the order of outbound_recipient_idx: the plan the daemon keeps takes
                 * that index even if made on an empty table. */
                " ORDER BY created_at DESC LIMIT 1",
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

/* A keyword as the reply writes it: "rejoindre" → "REJOINDRE" (caller frees). */
static char *keyword_shown(const char *words)
{
    char *shown = xstrdup(words);
    for (char *c = shown; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return shown;
}

/* The suggested keyword closest to `word` within a small edit distance, or NULL (caller
 * frees). On a tie the first in precedence order wins. */
static char *closest_keyword(const char *word)
{
    size_t len = strlen(word);
    if (len < 3)
        return NULL;
    int max = len <= 5 ? 1 : 2, best = max + 1;
    const char *found = NULL;
    for (const struct handler *const *h = handlers; *h; h++)
        for (const struct handler_keyword *k = (*h)->keywords; k->words; k++) {
            if (!(k->flags & HANDLER_KEYWORD_SUGGEST))
                continue;
            int d = edit_distance(word, k->words, max);
            if (d < best) {
                best = d;
                found = k->words;
            }
        }
    return found ? keyword_shown(found) : NULL;
}

/* The keyword offered before a team (`flag` HANDLER_KEYWORD_SUGGEST_TEAM) or event slug,
 * in the reply's language; NULL when no handler offers one (caller frees). */
static char *slug_keyword(unsigned flag, const char *locale)
{
    for (const struct handler *const *h = handlers; *h; h++)
        for (const struct handler_keyword *k = (*h)->keywords; k->words; k++)
            if ((k->flags & flag) && (!*k->locale || strcmp(k->locale, locale) == 0))
                return keyword_shown(k->words);
    return NULL;
}

int run_unknown(struct handler_ctx *ctx, char **error_r)
{
    const char *line = ctx->match->line ? ctx->match->line : "";
    char *first = xstrndup(line, strcspn(line, " "));
    char *keyword = closest_keyword(first);
    free(first);
    bool is_team = false;
    char *slug = handler_suggest(ctx, line, true, true, &is_team, error_r);
    if (!slug && *error_r) {
        free(keyword);
        return -1;
    }
    if (slug && !keyword)
        keyword = slug_keyword(
            is_team ? HANDLER_KEYWORD_SUGGEST_TEAM : HANDLER_KEYWORD_SUGGEST_EVENT, ctx->locale);
    char *suggestion = NULL;
    if (keyword && slug)
        suggestion = xasprintf("%s %s", keyword, slug);
    else if (slug || keyword)
        suggestion = xstrdup(slug ? slug : keyword);
    if (suggestion)
        json_object_set_new(ctx->vars, "suggestion", json_string(suggestion));
    free(suggestion);
    free(keyword);
    free(slug);
    ctx->status = "unknown";
    handler_reply(ctx, "unknown", "unknown");
    return 0;
}
