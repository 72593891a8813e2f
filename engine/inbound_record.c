/*
 * A minimal inbound_process() for the email branch while the command engine (issue 3,
 * engine/inbound.c) is not on main: it records the inbound row under its natural key,
 * reports a replay as INBOUND_DUPLICATE and everything else as INBOUND_IGNORED, and runs
 * no command. DELETE THIS FILE when engine/inbound.c lands (the two define the same
 * functions). It joins the caller's transaction when one is open.
 */
#include "inbound.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

int inbound_process(struct db *db, const struct inbound_message *msg,
                    struct inbound_outcome *outcome, char **error_r)
{
    memset(outcome, 0, sizeof(*outcome));
    bool own = !db_in_transaction(db);
    if (own && db_begin(db, error_r) < 0)
        return -1;
    const char *params[] = {msg->channel,
                            msg->provider,
                            msg->provider_id,
                            msg->sender,
                            msg->recipient ? msg->recipient : "",
                            msg->body ? msg->body : "",
                            msg->raw,
                            msg->automatic ? "automatic" : "received"};
    PGresult *res = db_exec(db,
                            "INSERT INTO inbound_messages (channel, provider, provider_id, sender, "
                            "recipient, body, raw, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                            "ON CONFLICT (channel, provider, provider_id) DO NOTHING RETURNING id",
                            8, params, error_r);
    if (!res)
        goto fail;
    outcome->status = PQntuples(res) == 1 ? INBOUND_IGNORED : INBOUND_DUPLICATE;
    if (PQntuples(res) == 1)
        outcome->inbound_id = strtoll(db_value(res, 0, 0), NULL, 10);
    PQclear(res);
    if (own && db_commit(db, error_r) < 0)
        goto fail;
    return 0;
fail:
    if (own)
        db_rollback(db);
    return -1;
}

void inbound_outcome_release(struct inbound_outcome *outcome)
{
    free(outcome->command);
    free(outcome->reply);
    memset(outcome, 0, sizeof(*outcome));
}
