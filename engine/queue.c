#include "queue.h"
#include "gsm.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Render an id for a parameter; 0 means SQL NULL. `slot` holds the digits. */
static const char *id_param(int64_t id, char slot[24])
{
    if (!id)
        return NULL;
    snprintf(slot, 24, "%" PRId64, id);
    return slot;
}

int queue_enqueue(struct db *db, const struct queue_new *m, int64_t *id_r, bool *created_r,
                  char **error_r)
{
    char person[24], contact[24], inbound[24], campaign[24], scope[24];
    /* An SMS is stored as it will leave (transliterated, STOP mention on campaigns), so
     * the cost the database computes for the row is the cost paid. */
    char *sms_text = strcmp(m->channel, "sms") == 0 ? sms_compose(m->body, m->kind) : NULL;
    const char *params[] = {m->channel,
                            m->recipient,
                            m->subject ? m->subject : "",
                            sms_text ? sms_text : m->body,
                            m->kind,
                            m->dedupe_key,
                            m->context ? m->context : "{}",
                            id_param(m->person_id, person),
                            id_param(m->contact_id, contact),
                            id_param(m->inbound_id, inbound),
                            id_param(m->campaign_id, campaign),
                            id_param(m->scope, scope)};
    /* ON CONFLICT DO NOTHING returns no row for a duplicate, so fetch the first one. */
    PGresult *res = db_exec(
        db,
        "WITH ins AS ("
        " INSERT INTO outbound_messages (channel, recipient, subject, body, kind, dedupe_key,"
        "  context, person_id, contact_id, inbound_id, campaign_id, scope)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12)"
        " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)"
        " SELECT id, true FROM ins"
        " UNION ALL SELECT id, false FROM outbound_messages WHERE dedupe_key = $6"
        "  AND NOT EXISTS (SELECT 1 FROM ins)",
        12, params, error_r);
    free(sms_text);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) != 1) {
        *error_r = xstrdup("enqueue: no row inserted or found");
        rc = -1;
    } else {
        if (id_r)
            *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (created_r)
            *created_r = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    return rc;
}
