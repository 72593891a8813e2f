/*
 * inbound_process(): one transaction from a supporter's words to a change and a reply.
 * The order of steps matters and is explained where it happens.
 */
#include "decide/process.h"
#include "lib/fold.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/consent.h"
#include "core/template.h"
#include "outbound/presence.h"
#include "outbound/queue.h"
#include "decide/budget.h"
#include "decide/grammar.h"
#include "handlers/handlers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *contact_kind(const char *channel)
{
    return strcmp(channel, "sms") == 0 ? "phone" : "email";
}

static bool utf8_ok(const char *s)
{
    char *copy = utf8_sanitised(s);
    free(copy);
    return copy == NULL;
}

/* `s` as a message's body or raw text is stored (struct processing says why): itself, or a
 * sanitised copy left in *copy_r for the caller to free (NULL when there is none). */
static const char *stored_text(const char *s, char **copy_r)
{
    *copy_r = s ? utf8_sanitised(s) : NULL;
    return *copy_r ? *copy_r : s;
}

static int validate(const struct inbound_message *msg, char **error_r)
{
    if (!msg->channel || (strcmp(msg->channel, "sms") != 0 && strcmp(msg->channel, "email") != 0))
        *error_r = xstrdup("inbound: channel must be sms or email");
    else if (!msg->provider || !*msg->provider)
        *error_r = xstrdup("inbound: no provider");
    else if (!msg->provider_id || !*msg->provider_id)
        *error_r = xstrdup("inbound: no provider message id");
    else if (!msg->sender || !*msg->sender)
        *error_r = xstrdup("inbound: no sender");
    else if (!utf8_ok(msg->provider) || !utf8_ok(msg->provider_id) || !utf8_ok(msg->sender) ||
             (msg->recipient && !utf8_ok(msg->recipient)))
        *error_r = xstrdup("inbound: provider, message id, sender and recipient must be UTF-8");
    else
        return 0;
    return -1;
}

/* A replay: report the first outcome, write nothing. */
static int load_duplicate(struct db *db, const struct inbound_message *msg,
                          struct inbound_outcome *outcome, char **error_r)
{
    const char *params[] = {msg->channel, msg->provider, msg->provider_id};
    PGresult *res = db_exec(db,
                            "SELECT i.id, i.command, o.id, o.body FROM inbound_messages i"
                            " LEFT JOIN outbound_messages o ON o.dedupe_key = 'reply:' || i.id"
                            " WHERE i.channel = $1 AND i.provider = $2 AND i.provider_id = $3",
                            3, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *error_r = xstrdup("inbound: duplicate key but no first message found");
        return -1;
    }
    outcome->status = INBOUND_DUPLICATE;
    outcome->inbound_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (db_value(res, 0, 1))
        outcome->command = xstrdup(PQgetvalue(res, 0, 1));
    if (db_value(res, 0, 2)) {
        outcome->reply_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        outcome->reply = xstrdup(PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return 0;
}

static bool address_valid(const char *channel, const char *address)
{
    if (strcmp(channel, "email") == 0) {
        const char *reason;
        char *norm = email_normalise(address, &reason);
        bool ok = norm && strcmp(norm, address) == 0;
        free(norm);
        return ok;
    }
    /* The contacts table accepts E.164 only; adapters normalise before calling us. */
    size_t n = strlen(address);
    if (n < 8 || n > 16 || address[0] != '+' || address[1] < '1' || address[1] > '9')
        return false;
    return strspn(address + 1, "0123456789") == n - 1;
}

static const char *choose_locale(const char *person_locale, const struct grammar_match *m,
                                 const struct inbound_message *msg)
{
    if (person_locale && strncmp(person_locale, "fr", 2) == 0)
        return "fr";
    if (person_locale && strncmp(person_locale, "en", 2) == 0)
        return "en";
    /* A stranger is answered in the language of the words they used. */
    if (m->status == GRAMMAR_MATCHED && m->pattern && *m->pattern->locale)
        return m->pattern->locale;
    if (msg->locale_hint && strncmp(msg->locale_hint, "fr", 2) == 0)
        return "fr";
    if (msg->locale_hint && strncmp(msg->locale_hint, "en", 2) == 0)
        return "en";
    return strcmp(config_str("engine", "default_locale"), "en") == 0 ? "en" : "fr";
}

static int create_sender(struct handler_ctx *ctx, const char *command, char **error_r)
{
    char *source = xasprintf("%s:%s", ctx->msg->channel, command);
    /* A stranger who writes from "Zoé Petit <zoe@…>" is Zoé Petit, not a nameless row. */
    const char *params[] = {ctx->locale, config_str("engine", "default_timezone"), source,
                            ctx->msg->sender_name ? ctx->msg->sender_name : ""};
    PGresult *res = db_exec(ctx->db,
                            "INSERT INTO people (locale, timezone, source, name)"
                            " VALUES ($1, $2, $3, $4) RETURNING id",
                            4, params, error_r);
    free(source);
    if (!res)
        return -1;
    ctx->person_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    char person[DB_PARAM_SIZE];
    const char *cp[] = {db_param_int(ctx->person_id, person), contact_kind(ctx->msg->channel),
                        ctx->msg->sender};
    res = db_exec(ctx->db,
                  "INSERT INTO contacts (person_id, kind, address) VALUES ($1, $2, $3)"
                  " RETURNING id",
                  3, cp, error_r);
    if (!res)
        return -1;
    ctx->contact_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    /* A text from a number proves the number: JOIN by SMS is an opt-in with evidence. A
     * mail From: proves nothing, so email joins wait for double opt-in (campaigns). */
    if (strcmp(command, "join") == 0 && strcmp(ctx->msg->channel, "sms") == 0 &&
        consent_append(ctx->db, ctx->contact_id, "sms", 0, "opt_in", ctx->source,
                       ctx->msg->provider_id, error_r) < 0)
        return -1;
    json_t *payload = json_pack("{s:s}", "command", command);
    return handler_activity(ctx, 0, "person_created", payload, error_r);
}

static void add_common_vars(struct handler_ctx *ctx, const char *name)
{
    bool fr = strcmp(ctx->locale, "fr") == 0;
    json_object_set_new(ctx->vars, "name", json_string(name));
    json_object_set_new(ctx->vars, "first_name", json_stringn(name, strcspn(name, " ")));
    json_object_set_new(ctx->vars, "help_keyword", json_string(fr ? "AIDE" : "HELP"));
    json_object_set_new(ctx->vars, "stop_keyword", json_string("STOP"));
    json_object_set_new(ctx->vars, strcmp(ctx->msg->channel, "sms") == 0 ? "phone" : "email",
                        json_string(ctx->msg->sender));
}

/* Whether the reply may be sent at all (decide/budget.h): *allowed_r false when the
 * recipient opted out, *withheld_r says why a reply meant is not sent. */
static int budget_reply(struct handler_ctx *ctx, const char *text, const char *reply,
                        bool *allowed_r, const char **withheld_r, char **error_r)
{
    struct reply_ask ask = {
        .channel = ctx->msg->channel,
        .recipient = ctx->msg->sender,
        .kind = ctx->reply_kind,
        .text = text,
        .reply = reply,
        .inbound_id = ctx->inbound_id,
    };
    return reply_budget(ctx->db, &ask, allowed_r, withheld_r, error_r);
}

/* A reply kept in a group, to be budgeted when the group is written: what the budget asks
 * (the strings are the reply's own), its row in the group's batch and its message's place
 * among the group's outcomes. */
struct kept_reply {
    struct reply_ask ask;
    size_t row, outcome;
};

/* What a group keeps (process.h): the replies, the outcomes, and whose they are. */
struct inbound_group {
    struct queue_batch *replies;
    struct kept_reply *kept; /* one per row of `replies`, in order */
    size_t nkept, kept_size;
    json_t *outcomes; /* [[inbound id, status, command, person id, reply withheld], …] */
    json_t *senders;  /* "channel sender" → true, for each sender with writes kept */
    json_t *recorded; /* inbound_group_record(): "channel provider id" → [inbound id,
                       * contact id, person id, name, locale], until its message comes */
};

struct inbound_group *inbound_group_new(void)
{
    struct inbound_group *g = xcalloc(1, sizeof(*g));
    g->replies = queue_batch_new();
    g->outcomes = json_array();
    g->senders = json_object();
    g->recorded = json_object();
    return g;
}

static void kept_replies_clear(struct inbound_group *g)
{
    for (size_t i = 0; i < g->nkept; i++) {
        struct reply_ask *a = &g->kept[i].ask;
        free((char *)a->channel);
        free((char *)a->recipient);
        free((char *)a->kind);
        free((char *)a->text);
        free((char *)a->reply);
    }
    g->nkept = 0;
}

void inbound_group_free(struct inbound_group *g)
{
    if (!g)
        return;
    kept_replies_clear(g);
    free(g->kept);
    queue_batch_free(g->replies);
    json_decref(g->outcomes);
    json_decref(g->senders);
    json_decref(g->recorded);
    free(g);
}

static char *group_sender_key(const struct inbound_message *msg)
{
    return xasprintf("%s %s", msg->channel, msg->sender);
}

static bool group_holds(const struct inbound_group *g, const struct inbound_message *msg)
{
    char *key = group_sender_key(msg);
    bool held = json_object_get(g->senders, key) != NULL;
    free(key);
    return held;
}

static char *natural_key(const struct inbound_message *msg)
{
    return xasprintf("%s %s %s", msg->channel, msg->provider, msg->provider_id);
}

/* The row for `msg` of inbound_record_rows(), or NULL: a message not recorded ahead (not
 * valid: inbound_process() refuses it as it would; a sender's second message of the list,
 * or a sender with writes kept: it is recorded when its turn comes, after they are
 * written). Its body and raw text are stored as record_inbound() stores them. */
static json_t *record_row(const struct inbound_group *g, const struct inbound_message *msg,
                          json_t *senders)
{
    char *error = NULL;
    if (validate(msg, &error) < 0) {
        free(error);
        return NULL;
    }
    char *sender = group_sender_key(msg);
    bool first = !json_object_get(senders, sender) && !group_holds(g, msg);
    json_object_set_new(senders, sender, json_true());
    free(sender);
    if (!first)
        return NULL;
    char *clean_body, *clean_raw;
    json_t *row = json_pack("[s, s, s, s, s, s, s?, s?]", msg->channel, msg->provider,
                            msg->provider_id, msg->sender, msg->recipient ? msg->recipient : "",
                            stored_text(msg->body ? msg->body : "", &clean_body),
                            stored_text(msg->raw, &clean_raw), msg->proof);
    free(clean_body);
    free(clean_raw);
    return row;
}

int inbound_group_record(struct inbound_group *g, struct db *db, const struct inbound_message *msgs,
                         size_t n, char **error_r)
{
    json_t *rows = json_array(), *keys = json_array(), *senders = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *row = record_row(g, &msgs[i], senders);
        if (!row)
            continue;
        json_array_append_new(rows, row);
        char *key = natural_key(&msgs[i]);
        json_array_append_new(keys, json_string(key));
        free(key);
    }
    int rc = 0;
    PGresult *res = NULL;
    if (json_array_size(rows) > 0) {
        char *json = json_dumps(rows, JSON_COMPACT);
        const char *params[] = {json};
        res = db_exec(db,
                      "SELECT ord, inbound_id, contact_id, person_id, person_name, person_locale"
                      " FROM inbound_record_rows($1::jsonb)",
                      1, params, error_r);
        free(json);
        rc = res ? 0 : -1;
    }
    for (int i = 0; res && i < PQntuples(res) && rc == 0; i++) {
        /* ord counts from 1; a sender not known yet has no contact (0). */
        json_t *key = json_array_get(keys, strtoul(PQgetvalue(res, i, 0), NULL, 10) - 1);
        json_t *row =
            json_pack("[I, I, I, s?, s?]", (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10),
                      (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10),
                      (json_int_t)strtoll(PQgetvalue(res, i, 3), NULL, 10), db_value(res, i, 4),
                      db_value(res, i, 5));
        /* A row recorded here and not kept would be read as a replay when its message
         * comes: nothing of the group may be applied then. */
        int kept = key && row ? json_object_set_new(g->recorded, json_string_value(key), row) : -1;
        if (kept < 0) {
            if (!key)
                json_decref(row);
            *error_r = xstrdup("inbound group: a recorded message could not be kept");
            rc = -1;
        }
    }
    PQclear(res);
    json_decref(rows);
    json_decref(keys);
    json_decref(senders);
    return rc;
}

/* The outcome of the group's message `msg`, kept for inbound_group_flush(). */
static void group_keep_outcome(struct inbound_group *g, const struct inbound_message *msg,
                               int64_t inbound_id, const char *status, const char *command,
                               int64_t person_id, const char *withheld)
{
    json_t *person = person_id ? json_integer(person_id) : json_null();
    json_array_append_new(g->outcomes, json_pack("[I, s, s?, o, s?]", (json_int_t)inbound_id,
                                                 status, command, person, withheld));
    char *sender = group_sender_key(msg);
    json_object_set_new(g->senders, sender, json_true());
    free(sender);
}

/* The reply of the group's message `msg`, kept with what its budget will ask. Its message's
 * outcome is the next one the group keeps (record_outcome() follows dispatch()). */
static void group_keep_reply(struct inbound_group *g, const struct handler_ctx *ctx,
                             const char *text, const struct queue_new *q)
{
    if (g->nkept == g->kept_size) {
        g->kept_size = g->kept_size ? 2 * g->kept_size : 16;
        g->kept = xrealloc(g->kept, g->kept_size * sizeof(*g->kept));
    }
    g->kept[g->nkept++] = (struct kept_reply){
        .ask = {.channel = xstrdup(ctx->msg->channel),
                .recipient = xstrdup(ctx->msg->sender),
                .kind = xstrdup(ctx->reply_kind),
                .text = xstrdup(text),
                .reply = xstrdup(q->body),
                .inbound_id = ctx->inbound_id},
        .row = queue_batch_add(g->replies, q),
        .outcome = json_array_size(g->outcomes),
    };
}

/* The budget's verdict on every reply kept (one statement): a withheld reply leaves the
 * batch and its reason goes on its message's outcome; a reply to someone who opted out
 * leaves it too, and the message's status says so, as reply_budget() decides one message
 * alone. The SMS replies that stay are told to reply_budget_sent_many(), after the write. */
static int budget_kept_replies(struct inbound_group *g, struct db *db, const char ***numbers_r,
                               size_t *nnumbers_r, char **error_r)
{
    struct reply_ask *asks = xcalloc(g->nkept + 1, sizeof(*asks));
    struct reply_verdict *verdicts = xcalloc(g->nkept + 1, sizeof(*verdicts));
    const char **numbers = xcalloc(g->nkept + 1, sizeof(*numbers));
    size_t nnumbers = 0;
    for (size_t i = 0; i < g->nkept; i++)
        asks[i] = g->kept[i].ask;
    int rc = reply_budget_many(db, asks, g->nkept, verdicts, error_r);
    for (size_t i = 0; i < g->nkept && rc == 0; i++) {
        const struct kept_reply *k = &g->kept[i];
        json_t *outcome = json_array_get(g->outcomes, k->outcome);
        if (!verdicts[i].allowed)
            json_array_set_new(outcome, 1, json_string("opted_out"));
        else if (verdicts[i].withheld)
            json_array_set_new(outcome, 4, json_string(verdicts[i].withheld));
        else if (strcmp(k->ask.channel, "sms") == 0)
            numbers[nnumbers++] = k->ask.recipient;
        if (!verdicts[i].allowed || verdicts[i].withheld)
            queue_batch_drop(g->replies, k->row);
    }
    free(asks);
    free(verdicts);
    *numbers_r = numbers;
    *nnumbers_r = nnumbers;
    return rc;
}

int inbound_group_flush(struct inbound_group *g, struct db *db, char **error_r)
{
    const char **numbers = NULL;
    size_t nnumbers = 0;
    int rc = budget_kept_replies(g, db, &numbers, &nnumbers, error_r);
    if (rc == 0)
        rc = queue_batch_write(db, g->replies, error_r);
    if (rc == 0)
        rc = reply_budget_sent_many(db, numbers, nnumbers, error_r);
    free(numbers);
    if (rc == 0 && json_array_size(g->outcomes) > 0) {
        /* group_rows() (migration 0084): each row found by its key, never a hash of the
         * whole table. */
        char *json = json_dumps(g->outcomes, JSON_COMPACT);
        const char *params[] = {json};
        rc = db_run(db,
                    "UPDATE inbound_messages i SET status = u.e->>1, command = u.e->>2,"
                    " person_id = (u.e->>3)::bigint, reply_withheld = u.e->>4"
                    " FROM group_rows($1::jsonb) AS u(e)"
                    " WHERE i.id = (u.e->>0)::bigint",
                    1, params, error_r);
        free(json);
    }
    json_array_clear(g->outcomes);
    json_object_clear(g->senders);
    kept_replies_clear(g);
    return rc;
}

/* The reply, queued now or kept in `group` (NULL: none). */
static int enqueue_reply(struct handler_ctx *ctx, struct inbound_group *group, const char *name,
                         const char *text, struct inbound_outcome *outcome, const char **withheld_r,
                         char **error_r)
{
    add_common_vars(ctx, name);
    struct rendered_message m;
    if (template_message(ctx->reply_template, ctx->locale, ctx->vars, &m, error_r) < 0)
        return -1;
    bool sms = strcmp(ctx->msg->channel, "sms") == 0;
    bool allowed = true;
    int rc = 0;
    /* A group budgets its replies when it writes them, all in one statement. */
    if (!group)
        rc = budget_reply(ctx, text, sms ? m.sms : m.text, &allowed, withheld_r, error_r);
    /* The queue checks consent again at send time; not enqueueing here keeps the record
     * honest: no reply was ever meant to be sent. */
    if (rc == 0 && !allowed)
        ctx->status = "opted_out";
    if (rc < 0 || !allowed || *withheld_r) {
        template_message_release(&m);
        return rc;
    }
    char *key = xasprintf("reply:%" PRId64, ctx->inbound_id);
    struct queue_new q = {
        .channel = ctx->msg->channel,
        .recipient = ctx->msg->sender,
        .subject = sms ? NULL : m.subject,
        .body = sms ? m.sms : m.text,
        .kind = ctx->reply_kind,
        .dedupe_key = key,
        .context = ctx->reply_context,
        .person_id = ctx->person_id,
        .contact_id = ctx->contact_id,
        .inbound_id = ctx->inbound_id,
    };
    if (group) {
        group_keep_reply(group, ctx, text, &q);
    } else {
        rc = queue_enqueue(ctx->db, &q, &outcome->reply_id, NULL, error_r);
        if (rc == 0)
            outcome->reply = xstrdup(q.body);
        if (rc == 0 && sms)
            rc = reply_budget_sent(ctx->db, ctx->msg->sender, error_r);
    }
    free(key);
    template_message_release(&m);
    return rc;
}

/* A bare answer the grammar is unsure of is sure after all when the word after it names
 * an event ("oui porte-a-porte", "oui 12"): that word was a target, not chatter. */
static int settle_unsure(struct handler_ctx *ctx, struct grammar_match *m, char **error_r)
{
    if (m->status != GRAMMAR_MATCHED || !m->unsure || !m->target)
        return 0;
    struct event_info e = {0};
    int found = handler_find_event(ctx, m->target, false, &e, error_r);
    if (found < 0)
        return -1;
    if (found) {
        m->unsure = false;
        event_info_release(&e);
    }
    return 0;
}

static bool ignored_status(const char *status)
{
    return strcmp(status, "rate_limited") == 0 || strcmp(status, "automatic") == 0 ||
           strcmp(status, "empty") == 0 || strcmp(status, "too_long") == 0;
}

/*
 * One inbound message on its way through inbound_process(), step by step:
 * record (and lock and find the sender) → match → dispatch → record the outcome.
 * Each step reads what the earlier ones learnt here; processing_release() frees it all.
 */
struct processing {
    struct db *db;
    const struct inbound_message *msg;
    struct inbound_outcome *outcome;
    bool own_tx;                 /* we opened the transaction, so we commit or roll it back */
    struct inbound_group *group; /* the caller's, when it opened the transaction */
    /* Ours, in a daemon: what the transaction queues is announced after the commit
     * (presence_announce()) instead of by a NOTIFY inside it (migration 0082). */
    bool announced;
    int64_t added_before; /* queue_added_by_thread() when the transaction began */
    /* PostgreSQL refuses invalid UTF-8; such a message would fail on every retry, so the
     * body and the raw message are stored and read as sanitised copies when needed. */
    char *clean_body, *clean_raw;
    const char *body, *raw;
    struct grammar_match match;
    struct handler_ctx ctx;
    char *person_name, *person_locale; /* the sender, when known */
    const char *command;               /* what ran, recorded on the inbound row */
    const char *reply_withheld;        /* why the reply was not sent (decide/budget.h) */
};

static void processing_init(struct processing *p, struct db *db, const struct inbound_message *msg,
                            struct inbound_outcome *outcome)
{
    memset(p, 0, sizeof(*p));
    p->db = db;
    p->msg = msg;
    p->outcome = outcome;
    p->body = stored_text(msg->body ? msg->body : "", &p->clean_body);
    p->raw = stored_text(msg->raw, &p->clean_raw);
    grammar_match_init(&p->match);
    p->ctx = (struct handler_ctx){
        .db = db,
        .msg = msg,
        .match = &p->match,
        .source = consent_keyword_source(msg->channel),
        .vars = json_object(),
    };
}

static void processing_release(struct processing *p)
{
    grammar_match_release(&p->match);
    json_decref(p->ctx.vars);
    free(p->ctx.reply_context);
    free(p->ctx.team_name);
    free(p->ctx.team_slug);
    free(p->person_name);
    free(p->person_locale);
    free(p->clean_body);
    free(p->clean_raw);
}

/* Record the message under its natural key, which decides first: a replay must not even
 * take the sender's lock. A new message then takes it — one sender's messages are handled
 * one at a time, so STOP then YES sent a second apart are applied in order and the hourly
 * limit cannot be raced — and learns who the sender is. One statement for the three
 * (inbound_record(), migrations 0081 and 0082). 1: recorded; 0: a replay, *outcome is the first
 * one's; -1. */
static int record_inbound(struct processing *p, char **error_r)
{
    const struct inbound_message *msg = p->msg;
    const char *params[] = {msg->channel,
                            msg->provider,
                            msg->provider_id,
                            msg->sender,
                            msg->recipient ? msg->recipient : "",
                            p->body,
                            p->raw,
                            msg->proof,
                            p->announced ? "true" : "false"};
    PGresult *res = db_exec(p->db,
                            "SELECT inbound_id, contact_id, person_id, person_name, person_locale"
                            " FROM inbound_record($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            9, params, error_r);
    if (!res)
        return -1;
    bool recorded = db_value(res, 0, 0) != NULL;
    if (recorded) {
        p->ctx.inbound_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (db_value(res, 0, 1)) {
            p->ctx.contact_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
            p->ctx.person_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
            p->person_name = xstrdup(PQgetvalue(res, 0, 3));
            p->person_locale = xstrdup(PQgetvalue(res, 0, 4));
        }
    }
    PQclear(res);
    if (recorded)
        return 1;
    return load_duplicate(p->db, msg, p->outcome, error_r) < 0 ? -1 : 0;
}

/* The message's row recorded ahead with its group's (inbound_group_record()), if it was:
 * what record_inbound() would have learnt. */
static bool take_recorded(struct processing *p)
{
    char *key = natural_key(p->msg);
    json_t *r = json_object_get(p->group->recorded, key);
    if (r) {
        p->ctx.inbound_id = json_integer_value(json_array_get(r, 0));
        p->ctx.contact_id = json_integer_value(json_array_get(r, 1));
        p->ctx.person_id = json_integer_value(json_array_get(r, 2));
        if (p->ctx.contact_id) {
            const char *name = json_string_value(json_array_get(r, 3));
            const char *locale = json_string_value(json_array_get(r, 4));
            p->person_name = xstrdup(name ? name : "");
            p->person_locale = xstrdup(locale ? locale : "");
        }
        json_object_del(p->group->recorded, key);
    }
    free(key);
    return r != NULL;
}

/* Read the command, and choose the language of the answer. An automatic mail, an empty
 * or an overlong message gets a status and no command. */
static void match_command(struct processing *p, const struct grammar *grammar)
{
    const struct inbound_message *msg = p->msg;
    struct grammar_match *match = &p->match;
    if (msg->automatic) {
        p->ctx.status = "automatic";
    } else {
        /* An organiser's mail names its command in the subject ("MSG paris-10") and the
         * message is the body (handlers/msg.c): there the subject wins over the body. */
        if (msg->subject)
            grammar_match(grammar, msg->subject, strlen(msg->subject), match);
        if (!msg->subject || !match->command || strcmp(match->command, "msg") != 0)
            grammar_match(grammar, p->body, strlen(p->body), match);
        if (match->status == GRAMMAR_EMPTY && msg->subject)
            grammar_match(grammar, msg->subject, strlen(msg->subject), match);
        if (match->status == GRAMMAR_EMPTY)
            p->ctx.status = "empty";
        else if (match->status == GRAMMAR_TOO_LONG)
            p->ctx.status = "too_long";
    }
    p->ctx.locale = choose_locale(p->person_locale, match, msg);
}

/* The handler a message runs: the matched command's, the question about an answer the
 * grammar is unsure of, the unknown-words answer, or the help text for a stranger. */
struct handler_choice {
    int (*check)(struct handler_ctx *ctx, char **error_r);
    int (*run)(struct handler_ctx *ctx, char **error_r);
    bool create_sender; /* the sender becomes a person before run() */
};

static struct handler_choice choose_handler(struct processing *p)
{
    struct handler_choice c = {.check = check_unknown, .run = run_unknown};
    if (p->match.status != GRAMMAR_MATCHED)
        return c;
    if (p->match.unsure) {
        /* Never act on a guess, never change an RSVP on one: a known sender is asked what
         * they meant (handlers/ask.c); a stranger's guess is unknown text. No command. */
        if (p->ctx.person_id) {
            c.check = check_ask;
            c.run = run_ask;
        }
        return c;
    }
    const struct handler *h = handler_find(p->match.command);
    p->command = p->match.command;
    c.check = h->check;
    c.run = h->run;
    if (p->ctx.person_id)
        return c;
    /* Strangers may only join, answer an invitation or opt out; anything else gets the
     * help text (and creates nobody). */
    c.create_sender = h->creates_sender && address_valid(p->msg->channel, p->msg->sender);
    if (!c.create_sender) {
        p->command = "help";
        p->ctx.status = "unknown_sender";
        c.check = check_stranger_help;
        c.run = run_stranger_help;
    }
    return c;
}

/* Settle an unsure answer that names an event; check() the command; when it accepts,
 * create the sender if the command does, run() it; then enqueue the reply it chose, if
 * any. */
static int dispatch(struct processing *p, char **error_r)
{
    if (settle_unsure(&p->ctx, &p->match, error_r) < 0)
        return -1;
    struct handler_choice h = choose_handler(p);
    int checked = h.check(&p->ctx, error_r);
    if (checked < 0)
        return -1;
    if (checked == 0) {
        if (h.create_sender && create_sender(&p->ctx, p->command, error_r) < 0)
            return -1;
        if (h.run(&p->ctx, error_r) < 0)
            return -1;
    }
    if (p->ctx.reply_template &&
        enqueue_reply(&p->ctx, p->group, p->person_name ? p->person_name : "", p->body, p->outcome,
                      &p->reply_withheld, error_r) < 0)
        return -1;
    return 0;
}

/* The outcome on the inbound row now; when the transaction is ours, the statement and the
 * COMMIT share a round trip. */
static int write_outcome(struct processing *p, const char *status, char **error_r)
{
    char inbound[DB_PARAM_SIZE], person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(p->ctx.inbound_id, inbound), status, p->command,
                            db_param_id_or_null(p->ctx.person_id, person), p->reply_withheld};
    static const char update_sql[] = "UPDATE inbound_messages SET status = $2, command = $3,"
                                     " person_id = $4, reply_withheld = $5 WHERE id = $1";
    return p->own_tx ? db_run_and_commit(p->db, update_sql, 5, params, error_r)
                     : db_run(p->db, update_sql, 5, params, error_r);
}

/* Write what happened on the inbound row (or keep it in the group), commit when the
 * transaction is ours, and report it. */
static int record_outcome(struct processing *p, char **error_r)
{
    const char *status = p->ctx.status ? p->ctx.status : "applied";
    if (p->group)
        group_keep_outcome(p->group, p->msg, p->ctx.inbound_id, status, p->command,
                           p->ctx.person_id, p->reply_withheld);
    else if (write_outcome(p, status, error_r) < 0)
        return -1;
    if (p->announced && queue_added_by_thread() != p->added_before)
        presence_announce();
    p->outcome->status = ignored_status(status) ? INBOUND_IGNORED : INBOUND_APPLIED;
    p->outcome->inbound_id = p->ctx.inbound_id;
    p->outcome->command = p->command ? xstrdup(p->command) : NULL;
    p->outcome->refused = strcmp(status, "refused") == 0;
    log_info("inbound", "id=%" PRId64 " channel=%s provider=%s sender=%s command=%s status=%s",
             p->ctx.inbound_id, p->msg->channel, log_q(p->msg->provider), log_q(p->msg->sender),
             p->command ? p->command : "-", status);
    return 0;
}

static int process_one(struct db *db, const struct inbound_message *msg,
                       struct inbound_outcome *outcome, char **error_r)
{
    memset(outcome, 0, sizeof(*outcome));
    *error_r = NULL;
    if (validate(msg, error_r) < 0)
        return -1;
    const struct grammar *grammar = handlers_grammar(error_r);
    if (!grammar)
        return -1;
    struct processing p;
    processing_init(&p, db, msg, outcome);
    int rc = -1;
    /* A caller may fold this into its own transaction (the mail pipeline records the
     * Message-ID and the IMAP high-water mark with the effect): then it commits. */
    p.own_tx = !db_in_transaction(db);
    p.group = p.own_tx ? NULL : msg->group;
    p.announced = p.own_tx && presence_announces();
    p.added_before = queue_added_by_thread();
    if (p.own_tx && db_begin_deferred(db, error_r) < 0)
        goto out;
    if (p.group && group_holds(p.group, msg) && inbound_group_flush(p.group, db, error_r) < 0)
        goto fail;
    int recorded = p.group && take_recorded(&p) ? 1 : record_inbound(&p, error_r);
    if (recorded < 0)
        goto fail;
    if (recorded == 0) {
        /* A replay: the first outcome is reported, nothing is written. */
        if (p.own_tx)
            db_rollback(db);
        rc = 0;
        goto out;
    }
    match_command(&p, grammar);
    if (!p.ctx.status && dispatch(&p, error_r) < 0)
        goto fail;
    if (record_outcome(&p, error_r) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    if (p.own_tx)
        db_rollback(db);
    free(outcome->reply);
    outcome->reply = NULL;
    outcome->reply_id = 0;
    if (!*error_r)
        *error_r = xstrdup("inbound: failed");
out:
    processing_release(&p);
    return rc;
}

static const char *result_name(int rc, const struct inbound_outcome *outcome)
{
    if (rc < 0)
        return "error";
    switch (outcome->status) {
    case INBOUND_APPLIED:
        return "applied";
    case INBOUND_DUPLICATE:
        return "duplicate";
    case INBOUND_IGNORED:
        return "ignored";
    }
    return "error";
}

int inbound_process(struct db *db, const struct inbound_message *msg,
                    struct inbound_outcome *outcome, char **error_r)
{
    int64_t start = now_monotonic_ms();
    int rc = process_one(db, msg, outcome, error_r);
    /* Label values come from fixed sets only (validated channel, handler names). */
    const char *channel = rc < 0 && (!msg->channel || (strcmp(msg->channel, "sms") != 0 &&
                                                       strcmp(msg->channel, "email") != 0))
                              ? "invalid"
                              : msg->channel;
    char *series = xasprintf("tocsin_inbound_total{channel=\"%s\",result=\"%s\"}", channel,
                             result_name(rc, outcome));
    metrics_add(series, 1);
    free(series);
    if (rc == 0 && outcome->status == INBOUND_APPLIED && outcome->command) {
        series = xasprintf(outcome->refused ? "tocsin_commands_refused_total{command=\"%s\"}"
                                            : "tocsin_commands_total{command=\"%s\"}",
                           outcome->command);
        metrics_add(series, 1);
        free(series);
    }
    metrics_observe_ms("tocsin_inbound_duration_seconds", now_monotonic_ms() - start);
    return rc;
}

void inbound_outcome_release(struct inbound_outcome *outcome)
{
    free(outcome->command);
    free(outcome->reply);
    memset(outcome, 0, sizeof(*outcome));
}
