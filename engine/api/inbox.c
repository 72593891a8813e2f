#include "api/inbox.h"
#include "lib/util.h"
#include "core/session.h"
#include "outbound/queue.h"
#include "api/v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Newest first: the page after `after` is older; no `after` starts past every id. */
static const char *before_id(int64_t after, char buf[24])
{
    return model_id(after ? after : INT64_MAX, buf);
}

#define INBOX_COLUMNS                                                                              \
    "SELECT i.id, i.channel, i.sender, i.person_id, p.name, i.body, i.status, i.received_at,"      \
    " i.handled_at, h.name AS handled_by FROM inbox i"                                             \
    " LEFT JOIN people p ON p.id = i.person_id LEFT JOIN people h ON h.id = i.handled_by"

/* The caller's reach: $N is the teams they organise, NULL for an admin. */
#define INBOX_SCOPE(n)                                                                             \
    " ($" #n "::bigint[] IS NULL OR EXISTS (SELECT 1 FROM memberships m"                           \
    "  WHERE m.person_id = i.person_id AND m.team_id = ANY($" #n "::bigint[])))"

json_t *inbox_list(struct db *db, const struct caller *who, bool all, const struct page *page,
                   struct api_error *e)
{
    char before[24], limit[24];
    snprintf(limit, sizeof(limit), "%d", page->limit);
    char *scope = caller_teams_literal(who);
    const char *params[] = {before_id(page->after, before), limit, scope};
    char *error = NULL;
    json_t *out = NULL;
    /* Two statements rather than one with a flag, so that the open list is read from its
     * partial index. */
    PGresult *res =
        all ? db_exec(db,
                      INBOX_COLUMNS " WHERE i.id < $1::bigint AND" INBOX_SCOPE(
                          3) " ORDER BY i.id DESC LIMIT $2::int",
                      3, params, &error)
            : db_exec(db,
                      INBOX_COLUMNS
                      " WHERE i.id < $1::bigint AND i.handled_at IS NULL AND" INBOX_SCOPE(
                          3) " ORDER BY i.id DESC LIMIT $2::int",
                      3, params, &error);
    if (!res)
        goto db_error;
    out = model_page(model_rows(res), "id", page->limit);
    PQclear(res);
    const char *count_params[] = {scope};
    res = db_exec(db, "SELECT count(*) FROM inbox i WHERE i.handled_at IS NULL AND" INBOX_SCOPE(1),
                  1, count_params, &error);
    if (!res)
        goto db_error;
    json_object_set_new(out, "open", json_integer(model_int(res, 0, 0)));
    PQclear(res);
    free(scope);
    return out;
db_error:
    json_decref(out);
    free(scope);
    api_error_db(e, db, "inbox", error);
    return NULL;
}

/* The team an inbox action is recorded under: one the sender and the caller share. */
static int64_t shared_team(const PGresult *res, int col, const struct caller *who)
{
    const char *teams = PQgetvalue(res, 0, col);
    for (const char *p = teams; *p;) {
        while (*p && (*p < '0' || *p > '9'))
            p++;
        if (!*p)
            break;
        char *end;
        int64_t id = strtoll(p, &end, 10);
        p = end;
        if (caller_organises(who, id))
            return id;
    }
    return 0;
}

json_t *inbox_reply(struct db *db, const struct caller *who, int64_t id, const char *text,
                    struct api_error *e)
{
    if (!text || !*text) {
        api_error_set(e, 400, "a reply needs a text");
        return NULL;
    }
    if (strlen(text) > INBOX_REPLY_MAX) {
        api_error_set(e, 422, "a reply is at most %d bytes", INBOX_REPLY_MAX);
        return NULL;
    }
    char inbound[24];
    model_id(id, inbound);
    const char *params[] = {inbound};
    char *error = NULL;
    if (model_begin(db, e) < 0)
        return NULL;
    PGresult *res = db_exec(db,
                            "SELECT i.channel, i.sender, i.person_id,"
                            " (SELECT c.id FROM contacts c WHERE c.address = i.sender"
                            "  AND c.kind = CASE i.channel WHEN 'sms' THEN 'phone'"
                            "  ELSE 'email' END),"
                            " CASE WHEN i.channel = 'email' THEN"
                            "  coalesce(mail_header(i.raw, 'subject'), '') END,"
                            " array(SELECT team_id FROM memberships m"
                            "  WHERE m.person_id = i.person_id ORDER BY team_id)"
                            " FROM inbound_messages i WHERE i.id = $1"
                            " AND EXISTS (SELECT 1 FROM inbox v WHERE v.id = i.id)",
                            1, params, &error);
    if (!res) {
        model_abort(db, e, "inbox reply", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        api_error_set(e, 404, "no inbox message %s", inbound);
        return NULL;
    }
    char *channel = xstrdup(PQgetvalue(res, 0, 0));
    char *recipient = xstrdup(PQgetvalue(res, 0, 1));
    int64_t person = model_int(res, 0, 2), contact = model_int(res, 0, 3);
    char *subject = NULL;
    if (strcmp(channel, "email") == 0) {
        const char *original = PQgetvalue(res, 0, 4);
        subject = strncasecmp(original, "re:", 3) == 0 ? xstrdup(original)
                  : *original                          ? xasprintf("Re: %s", original)
                                                       : xstrdup("Re:");
    }
    int64_t team = shared_team(res, 5, who);
    PQclear(res);
    char *digest = session_sha256_literal(text);
    /* "\x" and 16 hex digits of the text's hash: the same reply twice is one message. */
    char *key = xasprintf("inbox-reply:%s:%.16s", inbound, digest + 2);
    free(digest);
    struct queue_new q = {.channel = channel,
                          .recipient = recipient,
                          .subject = subject,
                          .body = text,
                          .kind = "inbox_reply",
                          .dedupe_key = key,
                          .person_id = person,
                          .contact_id = contact,
                          .inbound_id = id};
    int64_t outbound = 0;
    bool created = false;
    json_t *out = NULL;
    if (queue_enqueue(db, &q, &outbound, &created, &error) < 0) {
        model_abort(db, e, "inbox reply enqueue", error);
        goto out;
    }
    if (created && model_activity(db, who, team, "inbox_reply",
                                  json_pack("{s:I,s:I}", "inbound_id", (json_int_t)id,
                                            "outbound_id", (json_int_t)outbound),
                                  e) < 0)
        goto out;
    if (model_commit(db, e) < 0)
        goto out;
    out = json_pack("{s:I,s:I,s:s,s:s,s:b}", "inbound_id", (json_int_t)id, "outbound_id",
                    (json_int_t)outbound, "channel", channel, "recipient", recipient, "created",
                    created);
out:
    free(key);
    free(channel);
    free(recipient);
    free(subject);
    return out;
}

json_t *inbox_done(struct db *db, const struct caller *who, int64_t id, struct api_error *e)
{
    char inbound[24], by[24];
    const char *params[] = {model_id(id, inbound),
                            who->person_id ? model_id(who->person_id, by) : NULL};
    char *error = NULL;
    if (model_begin(db, e) < 0)
        return NULL;
    PGresult *res =
        db_exec(db,
                "WITH target AS (SELECT i.id, i.handled_at, array(SELECT team_id FROM memberships"
                "  m WHERE m.person_id = i.person_id ORDER BY team_id) AS teams"
                "  FROM inbound_messages i WHERE i.id = $1"
                "  AND EXISTS (SELECT 1 FROM inbox v WHERE v.id = i.id) FOR UPDATE OF i),"
                " done AS (UPDATE inbound_messages x SET handled_at = now(), handled_by = $2"
                "  FROM target WHERE x.id = target.id AND target.handled_at IS NULL"
                "  RETURNING x.handled_at)"
                " SELECT coalesce((SELECT handled_at FROM done), target.handled_at),"
                "  (SELECT count(*) FROM done), target.teams FROM target",
                2, params, &error);
    if (!res) {
        model_abort(db, e, "inbox done", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        api_error_set(e, 404, "no inbox message %s", inbound);
        return NULL;
    }
    json_t *out = json_pack("{s:I,s:s,s:b}", "id", (json_int_t)id, "handled_at",
                            PQgetvalue(res, 0, 0), "changed", model_int(res, 0, 1) == 1);
    bool changed = model_int(res, 0, 1) == 1;
    int64_t team = shared_team(res, 2, who);
    PQclear(res);
    if ((changed && model_activity(db, who, team, "inbox_done",
                                   json_pack("{s:I}", "inbound_id", (json_int_t)id), e) < 0) ||
        model_commit(db, e) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static bool path_id(struct api_call *c, int64_t *id_r)
{
    long v;
    if (str_to_long(api_arg(c, "id"), 1, INT64_MAX, &v) < 0) {
        api_fail_status(c, 404, "no such inbox message");
        return false;
    }
    *id_r = v;
    return true;
}

void route_inbox_list(struct api_call *c)
{
    struct page page;
    if (!api_page(c, &page))
        return;
    struct api_error e = {0};
    api_answer(c, inbox_list(c->db, &c->who, api_flag(c, "all"), &page, &e), &e);
}

void route_inbox_reply(struct api_call *c)
{
    int64_t id;
    if (!path_id(c, &id))
        return;
    struct api_error e = {0};
    api_answer(c, inbox_reply(c->db, &c->who, id, api_arg(c, "text"), &e), &e);
}

void route_inbox_done(struct api_call *c)
{
    int64_t id;
    if (!path_id(c, &id))
        return;
    struct api_error e = {0};
    api_answer(c, inbox_done(c->db, &c->who, id, &e), &e);
}
