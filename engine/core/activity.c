#include "core/activity.h"
#include "lib/util.h"

#include <stdio.h>

int activity_record(struct db *db, const struct actor *actor, int64_t team_id, const char *kind,
                    json_t *payload, char **error_r)
{
    if (!payload)
        payload = json_object();
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    char team[DB_PARAM_SIZE], person[DB_PARAM_SIZE];
    const char *params[] = {db_param_id_or_null(team_id, team), kind, text,
                            db_param_id_or_null(actor ? actor->person_id : 0, person),
                            actor && actor->via ? actor->via : "cli"};
    int rc = db_run(db,
                    "INSERT INTO activity (team_id, kind, payload, actor_id, via)"
                    " VALUES ($1, $2, $3::jsonb, $4, $5)",
                    5, params, error_r);
    free(text);
    return rc;
}
