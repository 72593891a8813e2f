/*
 * DIGEST ON|OFF|DAILY|WEEKLY / RÉSUMÉ OUI|NON|QUOTIDIEN|HEBDO — a supporter chooses their
 * digest (docs/campaigns.md, "Digests"). The choice is people.digest, which wins over what
 * their teams and [engine] digest_default say; DIGEST alone says what they get now and how
 * to change it. A preference, not consent: STOP is what opts out of everything.
 */
#include "lib/util.h"
#include "core/config.h"
#include "handlers/handlers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The words of the command to the column's values; NULL for a word that names none. */
static const char *period_of(const char *word)
{
    static const struct {
        const char *word, *period;
    } words[] = {
        {"on", "weekly"},    {"yes", "weekly"},      {"weekly", "weekly"},
        {"oui", "weekly"},   {"hebdo", "weekly"},    {"hebdomadaire", "weekly"},
        {"daily", "daily"},  {"quotidien", "daily"}, {"off", "never"},
        {"no", "never"},     {"never", "never"},     {"non", "never"},
        {"jamais", "never"},
    };
    for (size_t i = 0; word && i < ARRAY_SIZE(words); i++)
        if (strcmp(words[i].word, word) == 0)
            return words[i].period;
    return NULL;
}

static int check_digest(struct handler_ctx *ctx, char **error_r)
{
    (void)error_r;
    /* The patterns only let known words through; a stranger has no digest to set. */
    if (!ctx->person_id) {
        handler_reply(ctx, "digest_status", NULL);
        return 1;
    }
    return 0;
}

static int run_digest(struct handler_ctx *ctx, char **error_r)
{
    char person[24];
    snprintf(person, sizeof(person), "%" PRId64, ctx->person_id);
    const char *chosen = period_of(ctx->match->target);
    PGresult *res;
    if (chosen) {
        const char *params[] = {person, chosen};
        res = db_exec(ctx->db,
                      "UPDATE people SET digest = $2, updated_at = now()"
                      " WHERE id = $1 AND digest IS DISTINCT FROM $2",
                      2, params, error_r);
        if (!res)
            return -1;
        bool same = strcmp(PQcmdTuples(res), "0") == 0;
        PQclear(res);
        if (same)
            ctx->status = "applied_noop";
        json_t *payload = json_pack("{s:s}", "digest", chosen);
        if (handler_activity(ctx, 0, "digest_choice", payload, error_r) < 0)
            return -1;
        json_object_set_new(ctx->vars, chosen, json_true());
        handler_reply(ctx, "digest_set", NULL);
        return 0;
    }
    const char *params[] = {person, config_str("engine", "digest_default")};
    res = db_exec(ctx->db, "SELECT person_digest(id, digest, $2) FROM people WHERE id = $1", 2,
                  params, error_r);
    if (!res)
        return -1;
    json_object_set_new(ctx->vars, PQntuples(res) ? PQgetvalue(res, 0, 0) : "never", json_true());
    PQclear(res);
    ctx->status = "applied_noop";
    handler_reply(ctx, "digest_status", NULL);
    return 0;
}

/* "resume" is RÉSUMÉ folded; alone it would be an English word, so the French form takes
 * its answer or nothing. STOP after DIGEST is an opt-out (a stop word anywhere wins). */
static const struct grammar_pattern patterns[] = {
    {"en", "^digests?(?: (?<target>on|off|yes|no|daily|weekly|never))?$", 0},
    {"fr", "^(?:resume|resumes)(?: (?<target>oui|non|quotidien|hebdo|hebdomadaire|jamais))?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"digest", "en", HANDLER_KEYWORD_SUGGEST},
    {"resume", "fr", 0},
    {NULL, NULL, 0},
};

const struct handler handler_digest = {
    .name = "digest",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_digest,
    .run = run_digest,
    .en = {"DIGEST ON|OFF|DAILY", "get the digest of your teams' news, or stop it", NULL},
    .fr = {"RÉSUMÉ OUI|NON|QUOTIDIEN",
           "recevoir le resume des nouvelles de vos equipes, ou l'arreter", NULL},
};
