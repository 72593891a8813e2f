#include "core/consent.h"
#include "lib/util.h"

#include <string.h>

int consent_append(struct db *db, int64_t contact_id, const char *channel, int64_t scope,
                   const char *action, const char *source, const char *evidence, char **error_r)
{
    char contact[DB_PARAM_SIZE], team[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(contact_id, contact),
                            channel,
                            db_param_id_or_null(scope, team),
                            action,
                            source,
                            evidence};
    return db_run(db,
                  "SELECT consent_append(ARRAY[ROW($1::bigint, $2::text, $3::bigint, $4::text,"
                  " $5::text, $6::text)::consent_entry])",
                  6, params, error_r);
}

int consent_opt_out(struct db *db, int64_t contact_id, const char *source, const char *evidence,
                    char **error_r)
{
    char contact[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(contact_id, contact), source, evidence};
    /* consent_allows() with no scope reads the newest global row: an opt-out there means
     * the ledger already says it. */
    return db_run(db,
                  "SELECT consent_append(array_agg(ROW(c.id, ch.channel, NULL, 'opt_out',"
                  " $2::text, $3::text)::consent_entry))"
                  " FROM contacts c"
                  " CROSS JOIN LATERAL (SELECT CASE c.kind WHEN 'phone' THEN 'sms'"
                  "  ELSE 'email' END AS channel) ch"
                  " WHERE c.id = $1::bigint AND consent_allows(ch.channel, c.address, NULL)",
                  3, params, error_r);
}

int consent_allows_address(struct db *db, const char *channel, const char *address, int64_t scope,
                           bool *allowed_r, char **error_r)
{
    char team[DB_PARAM_SIZE];
    const char *params[] = {channel, address, db_param_id_or_null(scope, team)};
    PGresult *res = db_exec(db, "SELECT consent_allows($1, $2, $3::bigint)", 3, params, error_r);
    if (!res)
        return -1;
    *allowed_r = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return 0;
}

const char *consent_keyword_source(const char *channel)
{
    return strcmp(channel, "sms") == 0 ? "sms_keyword" : "email_command";
}
