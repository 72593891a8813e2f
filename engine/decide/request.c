#include "decide/request.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/consent.h"
#include "core/token.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int request_create(struct db *db, int64_t contact_id, const char *action, int64_t team_id,
                   int64_t inbound_id, int64_t *id_r, char **error_r)
{
    char contact[DB_PARAM_SIZE], team[DB_PARAM_SIZE], inbound[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(contact_id, contact), action,
                            db_param_id_or_null(team_id, team),
                            db_param_id_or_null(inbound_id, inbound)};
    PGresult *res = db_exec(db,
                            "INSERT INTO confirmation_requests (contact_id, action, team_id,"
                            " inbound_id, expires_at) VALUES ($1, $2, $3, $4,"
                            " tocsin_now() + interval '7 days') RETURNING id",
                            4, params, error_r);
    if (!res)
        return -1;
    *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

char *request_url(struct db *db, int64_t id, char **error_r)
{
    char *token = token_make(db, "request", id, error_r);
    if (!token)
        return NULL;
    const char *base = config_str("http", "public_url");
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    char *url = xasprintf("%.*s/c/%s", (int)len, base, token);
    free(token);
    return url;
}

/* 'join': the membership the request was for becomes active (back, if it went away). */
static int apply_join(struct db *db, const char *contact, const char *team, char **error_r)
{
    const char *params[] = {contact, team};
    return db_run(db,
                  "INSERT INTO memberships (person_id, team_id, status)"
                  " SELECT person_id, $2::bigint, 'active' FROM contacts WHERE id = $1::bigint"
                  " ON CONFLICT (person_id, team_id) DO UPDATE SET status = 'active'",
                  2, params, error_r);
}

/* Whether the contact never said yes or no on `channel`. */
static int first_consent(struct db *db, const char *contact, const char *channel, bool *first_r,
                         char **error_r)
{
    const char *params[] = {contact, channel};
    PGresult *res = db_exec(db,
                            "SELECT NOT EXISTS (SELECT 1 FROM consent WHERE contact_id = $1::bigint"
                            " AND channel = $2)",
                            2, params, error_r);
    if (!res)
        return -1;
    *first_r = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return 0;
}

static int record_activity(struct db *db, const char *team, const char *kind, const char *contact,
                           const char *used_by, char **error_r)
{
    const char *params[] = {team, kind, contact, used_by};
    return db_run(db,
                  "INSERT INTO activity (team_id, kind, payload)"
                  " SELECT $1::bigint, $2, jsonb_build_object('person_id', person_id,"
                  "  'contact_id', id, 'confirmed_by', $4::text)"
                  " FROM contacts WHERE id = $3::bigint",
                  4, params, error_r);
}

int request_apply(struct db *db, int64_t id, const char *used_by, const char *evidence,
                  enum request_result *result_r, struct request_info *info_r, char **error_r)
{
    char slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, slot), used_by};
    /* Locked, so a click and a reply arriving together apply it once. */
    PGresult *res =
        db_exec(db,
                "SELECT r.action, r.team_id, t.name, r.contact_id, r.used_at IS NOT NULL,"
                " r.expires_at < tocsin_now(), c.kind"
                " FROM confirmation_requests r JOIN contacts c ON c.id = r.contact_id"
                " LEFT JOIN teams t ON t.id = r.team_id"
                " WHERE r.id = $1::bigint FOR UPDATE OF r",
                1, params, error_r);
    if (!res)
        return -1;
    int rc = -1;
    if (info_r)
        memset(info_r, 0, sizeof(*info_r));
    if (PQntuples(res) == 0) {
        *result_r = REQUEST_UNKNOWN;
        rc = 0;
        goto out;
    }
    const char *action = strcmp(PQgetvalue(res, 0, 0), "join") == 0 ? "join" : "start";
    const char *team = db_value(res, 0, 1);
    const char *contact = PQgetvalue(res, 0, 3);
    if (info_r) {
        info_r->action = action;
        info_r->team_id = team ? strtoll(team, NULL, 10) : 0;
        info_r->team_name = db_value(res, 0, 2) ? xstrdup(PQgetvalue(res, 0, 2)) : NULL;
        info_r->contact_id = strtoll(contact, NULL, 10);
    }
    if (PQgetvalue(res, 0, 4)[0] == 't') {
        *result_r = REQUEST_ALREADY_USED;
        rc = 0;
        goto out;
    }
    if (PQgetvalue(res, 0, 5)[0] == 't') {
        *result_r = REQUEST_EXPIRED;
        rc = 0;
        goto out;
    }
    const char *channel = strcmp(PQgetvalue(res, 0, 6), "phone") == 0 ? "sms" : "email";
    int64_t contact_id = strtoll(contact, NULL, 10);
    bool join = strcmp(action, "join") == 0;
    int64_t scope = !join && team ? strtoll(team, NULL, 10) : 0;
    bool consent = !join;
    /* Joining is the address's first yes when it never said one; it never undoes a no:
     * only a 'start' (START, or the undo of a STOP) does. */
    if (join && team &&
        (apply_join(db, contact, team, error_r) < 0 ||
         first_consent(db, contact, channel, &consent, error_r) < 0))
        goto out;
    if ((consent && consent_append(db, contact_id, channel, scope, "opt_in",
                                   strcmp(used_by, "link") == 0 ? "confirm_link" : "email_command",
                                   evidence, error_r) < 0) ||
        record_activity(db, team,
                        strcmp(action, "join") == 0 ? "member_confirmed" : "consent_confirmed",
                        contact, used_by, error_r) < 0 ||
        db_run(db, "UPDATE confirmation_requests SET used_at = now(), used_by = $2 WHERE id = $1",
               2, params, error_r) < 0)
        goto out;
    *result_r = REQUEST_APPLIED;
    rc = 0;
out:
    if (rc < 0 && info_r) {
        free(info_r->team_name);
        info_r->team_name = NULL;
    }
    PQclear(res);
    return rc;
}

int request_for_message(struct db *db, int64_t outbound_id, int64_t person_id, int64_t *id_r,
                        char **error_r)
{
    char message[DB_PARAM_SIZE], person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(outbound_id, message), db_param_int(person_id, person)};
    return db_query_int64(db,
                          "SELECT r.id FROM outbound_messages o JOIN confirmation_requests r"
                          " ON r.id = (o.context->>'request_id')::bigint"
                          " JOIN contacts c ON c.id = r.contact_id"
                          " WHERE o.id = $1::bigint AND o.context ? 'request_id'"
                          "  AND c.person_id = $2::bigint",
                          2, params, id_r, error_r);
}

int request_newest(struct db *db, int64_t person_id, int64_t *id_r, char **error_r)
{
    char person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person)};
    return db_query_int64(
        db,
        "SELECT r.id FROM confirmation_requests r JOIN contacts c ON c.id = r.contact_id"
        " WHERE c.person_id = $1::bigint AND r.used_at IS NULL"
        "  AND r.expires_at > tocsin_now()"
        " ORDER BY r.id DESC LIMIT 1",
        1, params, id_r, error_r);
}
