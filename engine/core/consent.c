#include "core/consent.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "core/token.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
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

int consent_forget_evidence(struct db *db, int64_t contact_id, const char *address, char **error_r)
{
    char contact[24];
    snprintf(contact, sizeof(contact), "%" PRId64, contact_id);
    /* The address as a literal pattern: in PostgreSQL's regular expressions a backslash
     * before any character that is not a letter or digit stands for that character. */
    struct buf literal = BUF_INIT;
    for (const char *p = address; *p; p++) {
        if (!isalnum((unsigned char)*p))
            buf_addch(&literal, '\\');
        buf_addch(&literal, *p);
    }
    const char *params[] = {contact, address, buf_str(&literal)};
    int rc =
        db_run(db,
               "UPDATE consent SET evidence = regexp_replace(evidence, $3, '[forgotten]', 'gi')"
               " WHERE contact_id = $1 AND strpos(lower(evidence), lower($2)) > 0",
               3, params, error_r);
    buf_release(&literal);
    return rc;
}

char *consent_address_hash(const char *key, const char *kind, const char *address)
{
    char *text = xasprintf("%s:%s", kind, address);
    char *hash = token_digest_with(key, "forget", text);
    free(text);
    return hash;
}

const char *consent_keyword_source(const char *channel)
{
    return strcmp(channel, "sms") == 0 ? "sms_keyword" : "email_command";
}
