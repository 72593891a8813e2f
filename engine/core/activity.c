#include "core/activity.h"
#include "lib/util.h"

#include <inttypes.h>
#include <stdio.h>

int activity_record(struct db *db, const struct actor *actor, int64_t team_id, const char *kind,
                    json_t *payload, char **error_r)
{
    if (!payload)
        payload = json_object();
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    char team[24], person[24];
    snprintf(team, sizeof(team), "%" PRId64, team_id);
    snprintf(person, sizeof(person), "%" PRId64, actor ? actor->person_id : 0);
    const char *params[] = {team_id ? team : NULL, kind, text,
                            actor && actor->person_id ? person : NULL,
                            actor && actor->via ? actor->via : "cli"};
    int rc = db_run(db,
                    "INSERT INTO activity (team_id, kind, payload, actor_id, via)"
                    " VALUES ($1, $2, $3::jsonb, $4, $5)",
                    5, params, error_r);
    free(text);
    return rc;
}
