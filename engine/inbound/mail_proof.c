#include "inbound/mail_proof.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/token.h"
#include "inbound/mail_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Whether outbound message `id` was an email sent to `address`. */
static bool sent_to(struct db *db, int64_t id, const char *address)
{
    char slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, slot)};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT recipient FROM outbound_messages WHERE id = $1::bigint"
                            " AND channel = 'email'",
                            1, params, &error);
    if (!res) {
        log_warn("mail_proof_lookup", "error=%s", log_q(error));
        free(error);
        return false;
    }
    bool ours = PQntuples(res) == 1 && strcasecmp(PQgetvalue(res, 0, 0), address) == 0;
    PQclear(res);
    return ours;
}

/* A reply token among the thread ids: <TOKEN@domain>, <reply+TOKEN@…> or <prefix.TOKEN@…>. */
static bool thread_token_sent_to(struct db *db, const char *thread_ids, const char *address)
{
    bool proven = false;
    for (const char *lt = strchr(thread_ids, '<'); lt && !proven; lt = strchr(lt + 1, '<')) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            break;
        char *local = xstrndup(lt + 1, (size_t)(gt - lt - 1));
        char *at = strchr(local, '@');
        if (at)
            *at = '\0';
        const char *candidates[] = {local, strrchr(local, '+'), strrchr(local, '.')};
        for (size_t i = 0; i < ARRAY_SIZE(candidates) && !proven; i++) {
            int64_t id;
            const char *token = candidates[i] == local ? local
                                : candidates[i]        ? candidates[i] + 1
                                                       : NULL;
            proven = token && token_check(db, "reply", token, &id) == 0 && sent_to(db, id, address);
        }
        free(local);
    }
    return proven;
}

const char *mail_sender_proof(struct db *db, const struct mime_message *m, const char *sender,
                              const char *reply_token, const char *thread_ids)
{
    int64_t id;
    if (!sender)
        return NULL;
    if (reply_token && token_check(db, "reply", reply_token, &id) == 0 && sent_to(db, id, sender))
        return "reply_token";
    if (thread_ids && thread_token_sent_to(db, thread_ids, sender))
        return "reply_token";
    if (mail_auth_dmarc_pass(m, config_str("imap", "trusted_authserv_id"), sender))
        return "dmarc";
    return NULL;
}
