#include "core/consent.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int consent_append(struct db *db, int64_t contact_id, const char *channel, int64_t scope,
                   const char *action, const char *source, const char *evidence, char **error_r)
{
    char contact[24], team[24];
    snprintf(contact, sizeof(contact), "%" PRId64, contact_id);
    snprintf(team, sizeof(team), "%" PRId64, scope);
    const char *params[] = {contact, channel, scope ? team : NULL, action, source, evidence};
    return db_run(db,
                  "INSERT INTO consent (contact_id, channel, scope, action, source, evidence)"
                  " VALUES ($1, $2, $3, $4, $5, $6)",
                  6, params, error_r);
}

int consent_allows_address(struct db *db, const char *channel, const char *address, int64_t scope,
                           bool *allowed_r, char **error_r)
{
    char team[24];
    snprintf(team, sizeof(team), "%" PRId64, scope);
    const char *params[] = {channel, address, scope ? team : NULL};
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

const char *consent_keyword_source(const char *channel)
{
    return strcmp(channel, "sms") == 0 ? "sms_keyword" : "email_command";
}
