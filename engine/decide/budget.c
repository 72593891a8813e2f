#include "decide/budget.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The countries whose numbers get SMS replies: [sms] reply_countries, or the default one. */
static bool replies_to_country(const char *number)
{
    const char *countries = config_str("sms", "reply_countries");
    return phone_in_countries(number,
                              *countries ? countries : config_str("engine", "default_country"));
}

/* What the decision weighs, in one statement (reply_budget_facts(), migrations 0082 and
 * 0085, which reads only the months the last day spans, whatever the months kept): the
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

static int budget_facts(struct db *db, const struct reply_ask *ask, struct budget_facts *f,
                        char **error_r)
{
    char inbound[DB_PARAM_SIZE];
    const char *params[] = {ask->channel, ask->recipient, ask->kind,
                            ask->text,    ask->reply,     db_param_int(ask->inbound_id, inbound)};
    PGresult *res = db_exec(db,
                            "SELECT allowed, kind_today, repeated, last_hour, last_day"
                            " FROM reply_budget_facts($1, $2, $3, $4, $5, $6)",
                            6, params, error_r);
    if (!res)
        return -1;
    f->allowed = PQgetvalue(res, 0, 0)[0] == 't';
    f->kind_today = PQgetvalue(res, 0, 1)[0] == 't';
    f->repeated = PQgetvalue(res, 0, 2)[0] == 't';
    f->hour = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    f->day = strtol(PQgetvalue(res, 0, 4), NULL, 10);
    PQclear(res);
    return 0;
}

/* Kinds of reply that reach a sender who opted out. */
static bool reaches_opted_out(const char *kind)
{
    return strcmp(kind, "stop_confirmation") == 0 || strcmp(kind, "help") == 0 ||
           strcmp(kind, "consent_request") == 0;
}

int reply_budget(struct db *db, const struct reply_ask *ask, bool *allowed_r,
                 const char **withheld_r, char **error_r)
{
    *withheld_r = NULL;
    bool sms = strcmp(ask->channel, "sms") == 0;
    bool confirmation = strcmp(ask->kind, "stop_confirmation") == 0;
    bool help = strcmp(ask->kind, "help") == 0;
    struct budget_facts f = {0};
    if (budget_facts(db, ask, &f, error_r) < 0)
        return -1;
    *allowed_r = f.allowed || reaches_opted_out(ask->kind);
    if (!*allowed_r)
        return 0;
    if (sms && !replies_to_country(ask->recipient))
        *withheld_r = "country";
    else if (!f.allowed && (help || strcmp(ask->kind, "consent_request") == 0) && f.kind_today)
        *withheld_r = help ? "help_after_stop" : "request_after_stop";
    else if (confirmation)
        *withheld_r = NULL;
    else if (f.repeated)
        *withheld_r = "repeat";
    else if (f.hour >= config_int("engine", "replies_per_hour"))
        *withheld_r = "hourly_cap";
    else if (f.day >= config_int("engine", "replies_per_day"))
        *withheld_r = "daily_cap";
    if (*withheld_r) {
        log_info("reply_withheld", "channel=%s recipient=%s inbound_id=%" PRId64 " reason=%s",
                 ask->channel, log_q(ask->recipient), ask->inbound_id, *withheld_r);
        char *series = xasprintf("tocsin_replies_withheld_total{channel=\"%s\",reason=\"%s\"}",
                                 sms ? "sms" : "email", *withheld_r);
        metrics_add(series, 1);
        free(series);
    }
    return 0;
}

int reply_budget_sent(struct db *db, const char *number, char **error_r)
{
    /* Counted only up to the limit, and only for a new number: a count of every number of
     * the last hour grew with each one (a millisecond a text at a few thousand an hour). */
    long limit = config_int("sms", "new_number_replies_per_hour");
    char enough[DB_PARAM_SIZE];
    const char *params[] = {number, db_param_int(limit + 1, enough)};
    PGresult *res = db_exec(db,
                            "WITH fresh AS (INSERT INTO sms_answered_numbers (number) VALUES ($1)"
                            "  ON CONFLICT (number) DO NOTHING RETURNING 1)"
                            " SELECT (SELECT count(*) FROM fresh),"
                            "  (SELECT count(*) FROM (SELECT 1 FROM sms_answered_numbers"
                            "   WHERE first_reply_at > now() - interval '1 hour'"
                            "    AND EXISTS (SELECT 1 FROM fresh)"
                            "   ORDER BY first_reply_at DESC LIMIT $2::int) recent)",
                            2, params, error_r);
    if (!res)
        return -1;
    bool fresh = PQgetvalue(res, 0, 0)[0] == '1';
    /* The new row is not visible to the statement that inserts it: count it here. */
    long last_hour = strtol(PQgetvalue(res, 0, 1), NULL, 10) + (fresh ? 1 : 0);
    PQclear(res);
    if (!fresh)
        return 0;
    metrics_add("tocsin_sms_replies_new_numbers_total", 1);
    if (last_hour > limit)
        log_warn("sms_pumping_suspected", "limit=%ld number=%s reason=%s", limit, log_q(number),
                 log_q("more replies to numbers never answered before in the last hour than "
                       "[sms] new_number_replies_per_hour"));
    return 0;
}
