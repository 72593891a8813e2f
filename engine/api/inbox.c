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

/*
 * An organiser's reach: messages from members of their teams ($3). It is a per-message
 * probe of memberships (a scalar subquery, which PostgreSQL cannot turn into a hash of
 * the whole team): the inbox holds a few thousand messages, a team may hold 100,000
 * people. Admins reach every message, so their statements have no such condition.
 */
#define INBOX_SCOPE(n)                                                                             \
    " AND (SELECT true FROM memberships m WHERE m.person_id = i.person_id"                         \
    "  AND m.team_id = ANY($" #n "::bigint[]) LIMIT 1)"
#define INBOX_PAGE " ORDER BY i.id DESC LIMIT $2::int"
#define INBOX_OPEN " AND i.handled_at IS NULL"

/* The open list and the whole list are separate statements, so that each is read from its
 * own partial index; both for admins and for organisers. */
static const char *const list_sql[2][2] = {
    {INBOX_COLUMNS " WHERE i.id < $1::bigint" INBOX_OPEN INBOX_PAGE,
     INBOX_COLUMNS " WHERE i.id < $1::bigint" INBOX_OPEN INBOX_SCOPE(3) INBOX_PAGE},
    {INBOX_COLUMNS " WHERE i.id < $1::bigint" INBOX_PAGE,
     INBOX_COLUMNS " WHERE i.id < $1::bigint" INBOX_SCOPE(3) INBOX_PAGE},
};

json_t *inbox_list(struct db *db, const struct caller *who, bool all, const struct page *page,
                   struct api_error *e)
{
    char before[24], limit[24];
    snprintf(limit, sizeof(limit), "%d", page->limit);
    char *scope = caller_teams_literal(who);
    const char *params[] = {before_id(page->after, before), limit, scope};
    char *error = NULL;
    json_t *out = NULL;
    PGresult *res = db_exec(db, list_sql[all][scope != NULL], scope ? 3 : 2, params, &error);
    if (!res)
        goto db_error;
    out = model_page(model_rows(res), "id", page->limit);
    PQclear(res);
    const char *count_params[] = {scope};
    res = scope
              ? db_exec(db, "SELECT count(*) FROM inbox i WHERE true" INBOX_OPEN INBOX_SCOPE(1), 1,
                        count_params, &error)
              : db_exec(db, "SELECT count(*) FROM inbox i WHERE true" INBOX_OPEN, 0, NULL, &error);
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

/* Whom a reply to an inbox message goes to, and how. */
struct reply_target {
    char *channel, *recipient;
    char *subject; /* email: "Re: …" of the message's subject; NULL for SMS */
    int64_t person, contact;
    int64_t team; /* a team the sender and the caller share, for activity (0: none) */
};

static void reply_target_release(struct reply_target *t)
{
    free(t->channel);
    free(t->recipient);
    free(t->subject);
}

/* Read the message (in the caller's transaction). 0, or -1 with *e (404 or database). */
static int load_reply_target(struct db *db, const struct caller *who, int64_t id,
                             struct reply_target *t, struct api_error *e)
{
    memset(t, 0, sizeof(*t));
    char inbound[24];
    const char *params[] = {model_id(id, inbound)};
    char *error = NULL;
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
        api_error_db(e, db, "inbox reply", error);
        return -1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 404, "no inbox message %s", inbound);
        return -1;
    }
    t->channel = xstrdup(PQgetvalue(res, 0, 0));
    t->recipient = xstrdup(PQgetvalue(res, 0, 1));
    t->person = model_int(res, 0, 2);
    t->contact = model_int(res, 0, 3);
    if (strcmp(t->channel, "email") == 0) {
        const char *original = PQgetvalue(res, 0, 4);
        t->subject = strncasecmp(original, "re:", 3) == 0 ? xstrdup(original)
                     : *original                          ? xasprintf("Re: %s", original)
                                                          : xstrdup("Re:");
    }
    t->team = shared_team(res, 5, who);
    PQclear(res);
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
    struct reply_target t;
    if (model_begin(db, e) < 0)
        return NULL;
    if (load_reply_target(db, who, id, &t, e) < 0) {
        db_rollback(db);
        return NULL;
    }
    char *digest = session_sha256_literal(text);
    /* "\x" and 16 hex digits of the text's hash: the same reply twice is one message. */
    char *key = xasprintf("inbox-reply:%" PRId64 ":%.16s", id, digest + 2);
    free(digest);
    struct queue_new q = {.channel = t.channel,
                          .recipient = t.recipient,
                          .subject = t.subject,
                          .body = text,
                          .kind = "inbox_reply",
                          .dedupe_key = key,
                          .person_id = t.person,
                          .contact_id = t.contact,
                          .inbound_id = id};
    int64_t outbound = 0;
    bool created = false;
    char *error = NULL;
    json_t *out = NULL;
    if (queue_enqueue(db, &q, &outbound, &created, &error) < 0) {
        model_abort(db, e, "inbox reply enqueue", error);
        goto out;
    }
    if ((created && model_activity(db, who, t.team, "inbox_reply",
                                   json_pack("{s:I,s:I}", "inbound_id", (json_int_t)id,
                                             "outbound_id", (json_int_t)outbound),
                                   e) < 0) ||
        model_commit(db, e) < 0)
        goto out;
    out = json_pack("{s:I,s:I,s:s,s:s,s:b}", "inbound_id", (json_int_t)id, "outbound_id",
                    (json_int_t)outbound, "channel", t.channel, "recipient", t.recipient, "created",
                    created);
out:
    free(key);
    reply_target_release(&t);
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
