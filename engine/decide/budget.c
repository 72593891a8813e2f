#include "decide/budget.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* The countries whose numbers get SMS replies: [sms] reply_countries, or the default one. */
static bool replies_to_country(const char *number)
{
    const char *countries = config_str("sms", "reply_countries");
    return phone_in_countries(number,
                              *countries ? countries : config_str("engine", "default_country"));
}

/* What the decision weighs, one row per reply (reply_budget_facts_rows(), migration 0086,
 * which reads only the months the last day spans, whatever the months kept): the
 * recipient's consent; a reply of this kind to this recipient today (HELP to an opted-out
 * sender: carriers require an answer, not one per message; a request to receive messages
 * again gets one confirmation, not one per forged mail); the same words answered with the
 * same reply since the sender last wrote anything else today (a machine repeating itself:
 * someone who answers OUI, then NON, then OUI again is answered each time); and the
 * replies this sender got in the last hour and day, the STOP confirmation aside. */
struct budget_facts {
    bool allowed, kind_today, repeated;
    long hour, day;
};

static int budget_facts(struct db *db, const struct reply_ask *asks, size_t n,
                        struct budget_facts *facts, char **error_r)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct reply_ask *a = &asks[i];
        json_t *row = json_pack("[s, s, s, s, s, I]", a->channel, a->recipient, a->kind, a->text,
                                a->reply, (json_int_t)a->inbound_id);
        if (!row) {
            json_decref(rows);
            *error_r = xstrdup("reply budget: a text is not UTF-8");
            return -1;
        }
        json_array_append_new(rows, row);
    }
    char *json = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *params[] = {json};
    PGresult *res = db_exec(db,
                            "SELECT allowed, kind_today, repeated, last_hour, last_day"
                            " FROM reply_budget_facts_rows($1::jsonb) ORDER BY ord",
                            1, params, error_r);
    free(json);
    if (!res)
        return -1;
    if ((size_t)PQntuples(res) != n) {
        *error_r = xasprintf("reply budget: %d facts for %zu replies", PQntuples(res), n);
        PQclear(res);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        facts[i] = (struct budget_facts){
            .allowed = PQgetvalue(res, row, 0)[0] == 't',
            .kind_today = PQgetvalue(res, row, 1)[0] == 't',
            .repeated = PQgetvalue(res, row, 2)[0] == 't',
            .hour = strtol(PQgetvalue(res, row, 3), NULL, 10),
            .day = strtol(PQgetvalue(res, row, 4), NULL, 10),
        };
    }
    PQclear(res);
    return 0;
}

/* Kinds of reply that reach a sender who opted out. */
static bool reaches_opted_out(const char *kind)
{
    return strcmp(kind, "stop_confirmation") == 0 || strcmp(kind, "help") == 0 ||
           strcmp(kind, "consent_request") == 0;
}

/* The verdict on one reply, given its facts; a withheld reply is logged and counted. */
static struct reply_verdict decide(const struct reply_ask *ask, const struct budget_facts *f)
{
    struct reply_verdict v = {.allowed = f->allowed || reaches_opted_out(ask->kind)};
    if (!v.allowed)
        return v;
    bool sms = strcmp(ask->channel, "sms") == 0;
    bool help = strcmp(ask->kind, "help") == 0;
    if (sms && !replies_to_country(ask->recipient))
        v.withheld = "country";
    else if (!f->allowed && (help || strcmp(ask->kind, "consent_request") == 0) && f->kind_today)
        v.withheld = help ? "help_after_stop" : "request_after_stop";
    else if (strcmp(ask->kind, "stop_confirmation") == 0)
        v.withheld = NULL;
    else if (f->repeated)
        v.withheld = "repeat";
    else if (f->hour >= config_int("engine", "replies_per_hour"))
        v.withheld = "hourly_cap";
    else if (f->day >= config_int("engine", "replies_per_day"))
        v.withheld = "daily_cap";
    if (v.withheld) {
        log_info("reply_withheld", "channel=%s recipient=%s inbound_id=%" PRId64 " reason=%s",
                 ask->channel, log_q(ask->recipient), ask->inbound_id, v.withheld);
        char *series = xasprintf("tocsin_replies_withheld_total{channel=\"%s\",reason=\"%s\"}",
                                 sms ? "sms" : "email", v.withheld);
        metrics_add(series, 1);
        free(series);
    }
    return v;
}

int reply_budget_many(struct db *db, const struct reply_ask *asks, size_t n,
                      struct reply_verdict *verdicts, char **error_r)
{
    if (n == 0)
        return 0;
    struct budget_facts *facts = xcalloc(n, sizeof(*facts));
    int rc = budget_facts(db, asks, n, facts, error_r);
    for (size_t i = 0; i < n && rc == 0; i++)
        verdicts[i] = decide(&asks[i], &facts[i]);
    free(facts);
    return rc;
}

int reply_budget(struct db *db, const struct reply_ask *ask, bool *allowed_r,
                 const char **withheld_r, char **error_r)
{
    struct reply_verdict v = {0};
    int rc = reply_budget_many(db, ask, 1, &v, error_r);
    *allowed_r = v.allowed;
    *withheld_r = v.withheld;
    return rc;
}

int reply_budget_sent_many(struct db *db, const char *const *numbers, size_t n, char **error_r)
{
    if (n == 0)
        return 0;
    /* Counted only up to the limit, and only when a number is new: a count of every number
     * of the last hour grew with each one (a millisecond a text at a few thousand an hour). */
    long limit = config_int("sms", "new_number_replies_per_hour");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(numbers[i]));
    char *json = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    char enough[DB_PARAM_SIZE];
    const char *params[] = {json, db_param_int(limit + 1, enough)};
    PGresult *res = db_exec(db,
                            "WITH fresh AS (INSERT INTO sms_answered_numbers (number)"
                            "  SELECT n.e #>> '{}' FROM group_rows($1::jsonb) WITH ORDINALITY"
                            "   AS n(e, k) ORDER BY n.k"
                            "  ON CONFLICT (number) DO NOTHING RETURNING number)"
                            " SELECT f.number, (SELECT count(*) FROM (SELECT 1"
                            "   FROM sms_answered_numbers"
                            "   WHERE first_reply_at > now() - interval '1 hour'"
                            "   ORDER BY first_reply_at DESC LIMIT $2::int) recent)"
                            " FROM fresh f",
                            2, params, error_r);
    free(json);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        /* The new rows are not visible to the statement that inserts them: count them
         * here, each after those queued before it. */
        long last_hour = strtol(PQgetvalue(res, i, 1), NULL, 10) + i + 1;
        metrics_add("tocsin_sms_replies_new_numbers_total", 1);
        if (last_hour > limit)
            log_warn("sms_pumping_suspected", "limit=%ld number=%s reason=%s", limit,
                     log_q(PQgetvalue(res, i, 0)),
                     log_q("more replies to numbers never answered before in the last hour "
                           "than [sms] new_number_replies_per_hour"));
    }
    PQclear(res);
    return 0;
}

int reply_budget_sent(struct db *db, const char *number, char **error_r)
{
    return reply_budget_sent_many(db, &number, 1, error_r);
}
