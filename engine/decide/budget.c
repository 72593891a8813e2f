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

/* HELP to an opted-out sender: carriers require an answer, not one per message; a request
 * to receive messages again gets one confirmation, not one per forged mail. */
static int kind_answered_today(struct db *db, const struct reply_ask *ask, bool *yes_r,
                               char **error_r)
{
    const char *params[] = {ask->channel, ask->recipient, ask->kind};
    return db_query_bool(db,
                         "SELECT EXISTS (SELECT 1 FROM outbound_messages WHERE channel = $1"
                         " AND recipient = $2 AND kind = $3"
                         " AND created_at > now() - interval '24 hours')",
                         3, params, yes_r, error_r);
}

/* The same words got the same answer since the sender last wrote anything else (today): a
 * machine repeating itself. Someone who answers OUI, then NON, then OUI again is answered
 * each time. */
static int repeated(struct db *db, const struct reply_ask *ask, bool *yes_r, char **error_r)
{
    char inbound[24];
    snprintf(inbound, sizeof(inbound), "%" PRId64, ask->inbound_id);
    const char *params[] = {ask->channel, ask->recipient, ask->text, inbound, ask->reply};
    return db_query_bool(
        db,
        "SELECT EXISTS (SELECT 1 FROM inbound_messages i JOIN outbound_messages o"
        "  ON o.dedupe_key = 'reply:' || i.id"
        " WHERE i.channel = $1 AND i.sender = $2 AND i.body = $3"
        "  AND i.id <> $4::bigint AND i.received_at > now() - interval '24 hours'"
        "  AND o.body = $5"
        "  AND i.id > coalesce((SELECT max(j.id) FROM inbound_messages j"
        "   WHERE j.channel = $1 AND j.sender = $2 AND j.id < $4::bigint"
        "    AND j.body <> $3 AND j.received_at > now() - interval '24 hours'), 0))",
        5, params, yes_r, error_r);
}

/* Replies this sender got in the last hour and day, the STOP confirmation aside. */
static int replies_counted(struct db *db, const struct reply_ask *ask, long *hour_r, long *day_r,
                           char **error_r)
{
    const char *params[] = {ask->channel, ask->recipient};
    PGresult *res = db_exec(db,
                            "SELECT count(*) FILTER (WHERE created_at > now() - interval '1 hour'),"
                            " count(*) FROM outbound_messages WHERE channel = $1 AND recipient = $2"
                            " AND inbound_id IS NOT NULL AND kind <> 'stop_confirmation'"
                            " AND created_at > now() - interval '24 hours'",
                            2, params, error_r);
    if (!res)
        return -1;
    *hour_r = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    *day_r = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

int reply_budget(struct db *db, const struct reply_ask *ask, const char **withheld_r,
                 char **error_r)
{
    *withheld_r = NULL;
    bool sms = strcmp(ask->channel, "sms") == 0;
    bool confirmation = strcmp(ask->kind, "stop_confirmation") == 0;
    bool yes = false;
    long hour = 0, day = 0;
    if (sms && !replies_to_country(ask->recipient)) {
        *withheld_r = "country";
    } else if (ask->opted_out &&
               (strcmp(ask->kind, "help") == 0 || strcmp(ask->kind, "consent_request") == 0)) {
        if (kind_answered_today(db, ask, &yes, error_r) < 0)
            return -1;
        if (yes)
            *withheld_r = strcmp(ask->kind, "help") == 0 ? "help_after_stop" : "request_after_stop";
    }
    if (!*withheld_r && !confirmation) {
        if (repeated(db, ask, &yes, error_r) < 0)
            return -1;
        if (yes)
            *withheld_r = "repeat";
    }
    if (!*withheld_r && !confirmation) {
        if (replies_counted(db, ask, &hour, &day, error_r) < 0)
            return -1;
        if (hour >= config_int("engine", "replies_per_hour"))
            *withheld_r = "hourly_cap";
        else if (day >= config_int("engine", "replies_per_day"))
            *withheld_r = "daily_cap";
    }
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
    const char *params[] = {number};
    PGresult *res = db_exec(db,
                            "WITH fresh AS (INSERT INTO sms_answered_numbers (number) VALUES ($1)"
                            "  ON CONFLICT (number) DO NOTHING RETURNING 1)"
                            " SELECT (SELECT count(*) FROM fresh),"
                            "  (SELECT count(*) FROM sms_answered_numbers"
                            "   WHERE first_reply_at > now() - interval '1 hour')",
                            1, params, error_r);
    if (!res)
        return -1;
    bool fresh = PQgetvalue(res, 0, 0)[0] == '1';
    /* The new row is not visible to the statement that inserts it: count it here. */
    long last_hour = strtol(PQgetvalue(res, 0, 1), NULL, 10) + (fresh ? 1 : 0);
    PQclear(res);
    if (!fresh)
        return 0;
    metrics_add("tocsin_sms_replies_new_numbers_total", 1);
    long limit = config_int("sms", "new_number_replies_per_hour");
    if (last_hour > limit)
        log_warn("sms_pumping_suspected", "new_numbers_last_hour=%ld limit=%ld number=%s reason=%s",
                 last_hour, limit, log_q(number),
                 log_q("replies to numbers never answered before"));
    return 0;
}
