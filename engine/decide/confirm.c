#include "decide/confirm.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/token.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

char *confirm_url(struct db *db, int64_t person_id, char **error_r)
{
    char *token = token_make(db, "confirm", person_id, error_r);
    if (!token)
        return NULL;
    char *url = xasprintf("%s/c/%s", config_str("http", "public_url"), token);
    free(token);
    return url;
}

int confirm_apply(struct db *db, int64_t person_id, const char *source, const char *evidence,
                  int *confirmed_r, char **error_r)
{
    char p[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, p), source, evidence};
    /* One statement: activate, log each team, and append the opt-in when anything changed
     * (the consent module's consent_append(), called from the final SELECT so that it
     * runs whatever the planner thinks of unreferenced WITH queries). */
    PGresult *res =
        db_exec(db,
                "WITH confirmed AS ("
                "  UPDATE memberships SET status = 'active' WHERE person_id = $1::bigint"
                "   AND status = 'pending' RETURNING team_id),"
                " logged AS ("
                "  INSERT INTO activity (team_id, kind, payload)"
                "  SELECT team_id, 'member_confirmed', jsonb_build_object('person_id', $1::bigint,"
                "   'source', $2::text) FROM confirmed)"
                " SELECT (SELECT count(*) FROM confirmed),"
                "  (SELECT consent_append(array_agg(ROW(c.id, 'email', NULL, 'opt_in', $2::text,"
                "    $3::text)::consent_entry)) FROM contacts c"
                "   WHERE c.person_id = $1::bigint AND c.kind = 'email'"
                "    AND EXISTS (SELECT 1 FROM confirmed))",
                3, params, error_r);
    if (!res)
        return -1;
    *confirmed_r = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}
