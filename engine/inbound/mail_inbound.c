#include "inbound/mail_inbound.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/consent.h"
#include "core/template.h"
#include "core/token.h"
#include "outbound/queue.h"
#include "decide/process.h"
#include "inbound/autoreply.h"
#include "inbound/mail_proof.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

/* Most command lines one mail may carry; more is someone pasting a list. */
#define MAIL_MAX_COMMANDS 10

/* ---- the database side ---------------------------------------------------------------- */

static char *sha256_key(const char *raw, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(raw, len, md, &n, EVP_sha256(), NULL);
    struct buf b = BUF_INIT;
    buf_adds(&b, "sha256:");
    for (unsigned i = 0; i < n; i++)
        buf_printf(&b, "%02x", md[i]);
    return buf_detach(&b);
}

/* The outbound message this mail answers: a signed reply+TOKEN@ address first, then a
 * token-shaped Message-ID in In-Reply-To/References, then an outbound row whose
 * provider_id is that Message-ID. 0 when none. */
static int64_t resolve_context(struct db *db, const struct mail_parsed *p)
{
    int64_t id = 0;
    if (p->reply_token && token_check(db, "reply", p->reply_token, &id) == 0)
        return id;
    if (!p->thread_ids)
        return 0;
    for (const char *lt = strchr(p->thread_ids, '<'); lt; lt = strchr(lt + 1, '<')) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            break;
        char *msgid = xstrndup(lt + 1, (size_t)(gt - lt - 1));
        char *at = strchr(msgid, '@');
        if (at)
            *at = '\0';
        /* Our own ids look like <TOKEN@domain>, sometimes with a "reply+" or "tocsin." prefix. */
        const char *local = msgid;
        const char *dot = strrchr(local, '.');
        const char *plus = strrchr(local, '+');
        int ok = token_check(db, "reply", local, &id) == 0 ||
                 (plus && token_check(db, "reply", plus + 1, &id) == 0) ||
                 (dot && token_check(db, "reply", dot + 1, &id) == 0);
        free(msgid);
        if (ok)
            return id;
    }
    /* Fall back to the stored Message-ID of the message replied to. */
    char *first = mail_angle_id(p->thread_ids);
    if (!first)
        return 0;
    char *bracketed = xasprintf("<%s>", first);
    const char *params[] = {first, bracketed};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT id FROM outbound_messages WHERE provider_id IN ($1, $2) "
                            "AND channel = 'email' ORDER BY id DESC LIMIT 1",
                            2, params, &error);
    if (res && PQntuples(res) == 1)
        id = strtoll(db_value(res, 0, 0), NULL, 10);
    if (!res) {
        log_warn("mail_context_lookup", "error=%s", log_q(error));
        free(error);
    }
    PQclear(res);
    free(first);
    free(bracketed);
    return id;
}

static int move_mark(struct db *db, const struct mail_source *src, char **error_r)
{
    if (!src || !src->mailbox)
        return 0;
    char validity[DB_PARAM_SIZE], uid[DB_PARAM_SIZE];
    const char *params[] = {src->mailbox, db_param_int(src->uidvalidity, validity),
                            db_param_int(src->uid, uid)};
    return db_run(
        db,
        "INSERT INTO imap_mailboxes AS m (mailbox, uidvalidity, last_uid) "
        "VALUES ($1, $2, $3) ON CONFLICT (mailbox) DO UPDATE SET "
        "last_uid = CASE WHEN m.uidvalidity = $2 THEN greatest(m.last_uid, $3) ELSE $3 END, "
        "uidvalidity = $2, updated_at = now()",
        3, params, error_r);
}

int mail_inbound_skip(struct db *db, const struct mail_source *src, char **error_r)
{
    if (db_in_transaction(db))
        return move_mark(db, src, error_r);
    if (db_begin(db, error_r) < 0)
        return -1;
    if (move_mark(db, src, error_r) < 0 || db_commit(db, error_r) < 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

/* Record `key` as applied; false (and nothing changed) when it already was. */
static int claim_key(struct db *db, const char *key, const char *inbound_key, const char *kind,
                     bool *claimed_r, char **error_r)
{
    const char *params[] = {key, inbound_key, kind};
    PGresult *res = db_exec(db,
                            "INSERT INTO mail_message_ids (message_id, inbound_key, outcome) "
                            "VALUES ($1, $2, $3) ON CONFLICT (message_id) DO NOTHING RETURNING 1",
                            3, params, error_r);
    if (!res)
        return -1;
    *claimed_r = PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

/* The dedupe key of a mail: its Message-ID, or sha256: of its bytes. */
static char *mail_key(const struct mail_parsed *p, const char *raw, size_t len)
{
    return p->message_id ? xstrdup(p->message_id) : sha256_key(raw, len);
}

/* What the mail is, as recorded with its key; *contact_r: the contact a mail to
 * unsubscribe+TOKEN@ names (0 when none, or when the token does not verify). */
static const char *mail_kind(struct db *db, const struct mail_parsed *p, int64_t *contact_r)
{
    *contact_r = 0;
    /* The token, not the body or the From:, decides who unsubscribes. */
    if (!p->is_bounce && p->unsubscribe_token &&
        token_check(db, "unsub", p->unsubscribe_token, contact_r) < 0)
        *contact_r = 0;
    return p->is_bounce   ? "bounce"
           : *contact_r   ? "unsubscribe"
           : p->automatic ? "automatic"
                          : "reply";
}

/* The claims as one JSON array of [key, inbound key, kind], in their order; NULL when a
 * key is not UTF-8 (the caller then applies the mails one by one). */
static char *claims_json(struct db *db, const struct mail_claim *claims, size_t n)
{
    json_t *rows = json_array();
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const struct mail_claim *c = &claims[i];
        char *key = mail_key(c->parsed, c->raw, c->len);
        int64_t contact;
        json_t *row =
            json_pack("[s, s, s]", key, c->provider_id, mail_kind(db, c->parsed, &contact));
        ok = row && json_array_append_new(rows, row) == 0;
        free(key);
    }
    char *text = ok ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    return text;
}

int mail_inbound_claim(struct db *db, struct mail_claim *claims, size_t n, char **error_r)
{
    char *json = claims_json(db, claims, n);
    if (!json) {
        *error_r = xstrdup("mail: a Message-ID is not UTF-8");
        return -1;
    }
    /* In the array's order: of two copies of one mail, the first is fresh. */
    const char *params[] = {json};
    PGresult *res =
        db_exec(db,
                "INSERT INTO mail_message_ids (message_id, inbound_key, outcome)"
                " SELECT c.e->>0, c.e->>1, c.e->>2"
                " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS c(e, n)"
                " ORDER BY c.n ON CONFLICT (message_id) DO NOTHING RETURNING inbound_key",
                1, params, error_r);
    free(json);
    if (!res)
        return -1;
    for (size_t i = 0; i < n; i++) {
        claims[i].fresh = false;
        for (int r = 0; r < PQntuples(res) && !claims[i].fresh; r++)
            claims[i].fresh = strcmp(PQgetvalue(res, r, 0), claims[i].provider_id) == 0;
        if (!claims[i].fresh)
            log_info("mail_inbound", "id=%s sender=%s outcome=duplicate",
                     log_q(claims[i].provider_id), log_q(claims[i].parsed->sender));
    }
    PQclear(res);
    return 0;
}

/* How many bytes of the UTF-8 text `s` fit in `max` without cutting a character: a
 * truncated summary or evidence must stay valid UTF-8, or PostgreSQL refuses the row and
 * the mail could never be recorded. */
static int utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

/* Tell the operator about a policy rejection: our relay or domain is refused, and no
 * address will be suppressed for it (docs/email-inbound.md says what to check). */
static void report_policy(const struct bounce_info *b)
{
    log_warn("mail_bounce_policy",
             "status=%s recipient=%s diagnostic=%s action=not_suppressed "
             "hint=%s",
             log_q(b->status ? b->status : ""), log_q(b->recipient ? b->recipient : ""),
             log_q(b->diagnostic ? b->diagnostic : ""),
             log_q("a receiver refused our relay or domain: check blocklists, SPF, DKIM, DMARC"));
}

static int record_bounce(struct db *db, const struct mail_parsed *p, const struct mail_source *src,
                         const char *provider_id, const char *raw, const char **outcome_r,
                         char **error_r)
{
    const struct bounce_info *b = &p->bounce;
    const char *diagnostic = b->diagnostic ? b->diagnostic : "";
    char *summary =
        xasprintf("bounce %s status=%s recipient=%s%s%.*s", bounce_kind_name(b->kind),
                  b->status ? b->status : "-", b->recipient ? b->recipient : "-",
                  *diagnostic ? " diagnostic=" : "", utf8_prefix(diagnostic, 300), diagnostic);
    const char *params[] = {src->provider, provider_id, p->sender, p->recipient, summary, raw};
    PGresult *res =
        db_exec(db,
                "INSERT INTO inbound_messages (channel, provider, provider_id, sender, "
                "recipient, body, raw, status) VALUES ('email', $1, $2, $3, $4, $5, $6, 'bounce') "
                "ON CONFLICT (channel, provider, provider_id) DO NOTHING RETURNING id",
                6, params, error_r);
    int rc = -1;
    if (!res)
        goto out;
    bool fresh = PQntuples(res) == 1;
    char *inbound_id = fresh ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    *outcome_r = "duplicate";
    rc = 0;
    if (!fresh)
        goto out;
    /* The DSN part is the evidence; a non-DSN bounce is its own text. */
    const char *dsn = p->mime->delivery_status ? p->mime->delivery_status : p->mime->text;
    char *evidence = xasprintf("Message-ID: <%s>\n%.*s", p->message_id ? p->message_id : "",
                               utf8_prefix(dsn, 4000), dsn);
    const char *what = NULL;
    rc = bounce_apply(db, b, evidence, &what, error_r);
    free(evidence);
    /* Policy rejections are counted apart, so that `tocsin queue status` can show them. */
    if (rc == 0 && strcmp(what, "policy") == 0) {
        const char *up[] = {inbound_id};
        rc = db_run(db, "UPDATE inbound_messages SET status = 'bounce_policy' WHERE id = $1", 1, up,
                    error_r);
    }
    free(inbound_id);
    if (rc == 0) {
        log_info("mail_bounce", "outcome=%s kind=%s status=%s recipient=%s", what,
                 bounce_kind_name(b->kind), log_q(b->status ? b->status : ""),
                 log_q(b->recipient ? b->recipient : ""));
        if (strcmp(what, "policy") == 0)
            report_policy(b);
        char *series = xasprintf("tocsin_mail_bounces_total{outcome=\"%s\"}", what);
        metrics_add(series, 1);
        free(series);
        *outcome_r = "bounce";
    }
out:
    free(summary);
    return rc;
}

/* The confirmation of an unsubscribe by mail, to the contact the token named, in their
 * language; the queue delivers kind stop_confirmation even after the opt-out. */
static int confirm_unsubscribe(struct db *db, const PGresult *who, const char *inbound_id,
                               char **error_r)
{
    const char *channel = PQgetvalue(who, 0, 0);
    const char *address = PQgetvalue(who, 0, 1);
    const char *name = PQgetvalue(who, 0, 3);
    bool fr = strncmp(PQgetvalue(who, 0, 2), "fr", 2) == 0;
    bool sms = strcmp(channel, "sms") == 0;
    json_t *vars = json_pack("{s:s, s:s%, s:s, s:s, s:s}", "name", name, "first_name", name,
                             strcspn(name, " "), "help_keyword", fr ? "AIDE" : "HELP",
                             "stop_keyword", "STOP", sms ? "phone" : "email", address);
    struct rendered_message m;
    int rc = template_message("stop_confirmation", fr ? "fr" : "en", vars, &m, error_r);
    json_decref(vars);
    if (rc < 0)
        return -1;
    char *key = xasprintf("reply:%s", inbound_id);
    struct queue_new q = {
        .channel = channel,
        .recipient = address,
        .subject = sms ? NULL : m.subject,
        .body = sms ? m.sms : m.text,
        .kind = "stop_confirmation",
        .dedupe_key = key,
        .person_id = strtoll(PQgetvalue(who, 0, 4), NULL, 10),
        .contact_id = strtoll(PQgetvalue(who, 0, 5), NULL, 10),
        .inbound_id = strtoll(inbound_id, NULL, 10),
    };
    rc = queue_enqueue(db, &q, NULL, NULL, error_r);
    free(key);
    template_message_release(&m);
    return rc;
}

/* A mail to unsubscribe+TOKEN@: the contact the token names opts out (RFC 2369 mailto
 * List-Unsubscribe). The body is kept as evidence, never read for commands: a "START" in it,
 * an auto-reply's text or a forwarded newsletter must not undo or stop the request. */
static int record_unsubscribe(struct db *db, const struct mail_parsed *p,
                              const struct mail_source *src, const char *provider_id,
                              const char *raw, int64_t contact, const char **outcome_r,
                              char **error_r)
{
    const char *params[] = {src->provider, provider_id, p->sender, p->recipient, p->new_text, raw};
    PGresult *res =
        db_exec(db,
                "INSERT INTO inbound_messages (channel, provider, provider_id, sender, "
                "recipient, body, raw, status, command) VALUES ('email', $1, $2, $3, $4, $5, $6, "
                "'received', 'stop') ON CONFLICT (channel, provider, provider_id) DO NOTHING "
                "RETURNING id",
                6, params, error_r);
    if (!res)
        return -1;
    *outcome_r = "duplicate";
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    char *inbound_id = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    char id[DB_PARAM_SIZE];
    const char *cp[] = {db_param_int(contact, id)};
    PGresult *who = db_exec(
        db,
        "SELECT CASE c.kind WHEN 'phone' THEN 'sms' ELSE 'email' END, c.address, p.locale,"
        " coalesce(p.name, ''), p.id, c.id,"
        " consent_allows(CASE c.kind WHEN 'phone' THEN 'sms' ELSE 'email' END, c.address, NULL)"
        " FROM contacts c JOIN people p ON p.id = c.person_id WHERE c.id = $1",
        1, cp, error_r);
    int rc = -1;
    const char *status = "unknown_contact";
    if (!who)
        goto out;
    if (PQntuples(who) == 1) {
        bool subscribed = PQgetvalue(who, 0, 6)[0] == 't';
        status = "applied_repeat";
        if (subscribed) {
            char *evidence = xasprintf("mailto List-Unsubscribe to %s; From: %s; Message-ID: <%s>",
                                       p->recipient, p->sender, p->message_id ? p->message_id : "");
            rc = consent_append(db, contact, PQgetvalue(who, 0, 0), 0, "opt_out",
                                "list_unsubscribe", evidence, error_r);
            free(evidence);
            if (rc < 0)
                goto out;
            const char *ap[] = {PQgetvalue(who, 0, 4), inbound_id, PQgetvalue(who, 0, 0)};
            if (db_run(db,
                       "INSERT INTO activity (team_id, kind, payload) VALUES (NULL, 'consent',"
                       " jsonb_build_object('action', 'opt_out', 'person_id', $1::bigint,"
                       " 'inbound_id', $2::bigint, 'channel', $3::text, 'source',"
                       " 'list_unsubscribe'))",
                       3, ap, error_r) < 0 ||
                confirm_unsubscribe(db, who, inbound_id, error_r) < 0) {
                rc = -1;
                goto out;
            }
            status = "applied";
        }
    }
    const char *up[] = {inbound_id, status, PQntuples(who) == 1 ? PQgetvalue(who, 0, 4) : NULL};
    if (db_run(db, "UPDATE inbound_messages SET status = $2, person_id = $3 WHERE id = $1", 3, up,
               error_r) < 0)
        goto out;
    log_info("mail_unsubscribe", "contact=%" PRId64 " sender=%s status=%s", contact,
             log_q(p->sender), status);
    *outcome_r = "unsubscribed";
    rc = 0;
out:
    PQclear(who);
    free(inbound_id);
    return rc;
}

/* One call of inbound_process() inside the transaction the caller opened. */
static int run_inbound(struct db *db, const struct inbound_message *msg, const char **outcome_r,
                       char **error_r)
{
    struct inbound_outcome outcome = {0};
    if (inbound_process(db, msg, &outcome, error_r) < 0)
        return -1;
    switch (outcome.status) {
    case INBOUND_APPLIED:
        *outcome_r = "applied";
        break;
    case INBOUND_DUPLICATE:
        *outcome_r = "duplicate";
        break;
    case INBOUND_IGNORED:
        *outcome_r = msg->automatic ? "automatic" : "ignored";
        break;
    }
    inbound_outcome_release(&outcome);
    return 0;
}

/* inbound_process() may commit the transaction itself; commit it here if it did not. */
static int finish(struct db *db, char **error_r)
{
    if (db_in_transaction(db) && db_commit(db, error_r) < 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

/* One mail on its way through mail_inbound_process(): parsed, with its dedupe key, its
 * raw text as stored, the inbound message its lines share, and the lines themselves. */
struct mail_run {
    struct db *db;
    const struct mail_source *src;
    const struct mail_parsed *parsed;
    char *key;               /* Message-ID, or sha256: of the bytes */
    const char *provider_id; /* the source's id, else the key */
    const char *kind;        /* bounce, unsubscribe, automatic or reply: recorded with the key */
    int64_t unsubscribe_contact; /* a mail to unsubscribe+TOKEN@: the contact it names */
    char *raw_text;              /* the raw mail converted to UTF-8, when it was not */
    char *raw_copy;              /* the raw mail NUL-terminated, when it was UTF-8 */
    const char *raw_stored;
    char *clean_subject;
    struct inbound_message msg;
    char *commands; /* a copy the lines point into */
    char *lines[MAIL_MAX_COMMANDS];
    int nlines;
    bool own_tx; /* no caller's transaction: each step commits on its own */
};

static void mail_run_release(struct mail_run *run)
{
    free(run->clean_subject);
    free(run->commands);
    free(run->raw_text);
    free(run->raw_copy);
    free(run->key);
}

/* Everything the steps share, from the parsed mail. */
static void mail_run_prepare(struct mail_run *run, const char *raw, size_t len)
{
    const struct mail_parsed *p = run->parsed;
    run->key = mail_key(p, raw, len);
    run->provider_id = run->src->provider_id ? run->src->provider_id : run->key;
    /* The raw text is evidence, stored as text: make sure it is valid UTF-8. */
    if (!mime_valid_utf8(raw, len) || memchr(raw, '\0', len))
        run->raw_text = mime_to_utf8("windows-1252", raw, len);
    if (!run->raw_text)
        run->raw_copy = xstrndup(raw, len);
    run->raw_stored = run->raw_text ? run->raw_text : run->raw_copy;
    run->kind = mail_kind(run->db, p, &run->unsubscribe_contact);
    if (!p->is_bounce && p->unsubscribe_token && !run->unsubscribe_contact)
        log_warn("mail_unsubscribe_forged", "sender=%s recipient=%s", log_q(p->sender),
                 log_q(p->recipient));
    int64_t context =
        p->is_bounce || p->automatic || run->unsubscribe_contact ? 0 : resolve_context(run->db, p);
    run->msg = (struct inbound_message){
        .channel = "email",
        .provider = run->src->provider,
        .provider_id = run->provider_id,
        .sender = p->sender,
        .sender_name = p->sender_name,
        .recipient = p->recipient,
        .body = p->commands ? p->commands : p->new_text,
        .raw = run->raw_stored,
        .subject = NULL,
        .reply_to_id = context,
        .automatic = p->automatic,
        .locale_hint = p->locale_hint,
        .group = run->src->group,
        /* A From: proves nothing by itself (inbound/mail_proof.h). */
        .proof = p->is_bounce || p->automatic ? NULL
                                              : mail_sender_proof(run->db, p->mime, p->sender,
                                                                  p->reply_token, p->thread_ids),
    };
    if (!p->commands && !*p->new_text && *p->subject)
        run->msg.subject = p->subject;
    /* An organiser's mail (Subject: MSG <team>, handlers/msg.c): the whole new text is the
     * message to send, not command lines to split. */
    run->clean_subject = *p->subject ? reply_clean_subject(p->subject) : NULL;
    bool organiser_mail = run->clean_subject && strncasecmp(run->clean_subject, "msg ", 4) == 0;
    if (organiser_mail) {
        run->msg.body = p->new_text;
        run->msg.subject = run->clean_subject;
    }
    /* Split the command lines: each is one inbound row under its own natural key. */
    run->commands =
        p->commands && !organiser_mail && !run->unsubscribe_contact ? xstrdup(p->commands) : NULL;
    if (run->commands)
        for (char *save = NULL, *l = strtok_r(run->commands, "\n", &save);
             l && run->nlines < MAIL_MAX_COMMANDS; l = strtok_r(NULL, "\n", &save))
            run->lines[run->nlines++] = l;
}

/* The effect of step i (command line i, or the whole mail): a bounce or an unsubscribe
 * recorded, or one inbound_process() call under the natural key provider_id,
 * provider_id#2, … */
static int apply_effect(struct mail_run *run, int i, const char *step_id, const char **outcome_r,
                        char **error_r)
{
    if (run->parsed->is_bounce)
        return record_bounce(run->db, run->parsed, run->src, step_id, run->raw_stored, outcome_r,
                             error_r);
    if (run->unsubscribe_contact)
        return record_unsubscribe(run->db, run->parsed, run->src, step_id, run->raw_stored,
                                  run->unsubscribe_contact, outcome_r, error_r);
    struct inbound_message one = run->msg;
    one.provider_id = step_id;
    if (run->nlines > 0)
        one.body = run->lines[i];
    const char *step_outcome = NULL;
    if (run_inbound(run->db, &one, &step_outcome, error_r) < 0)
        return -1;
    /* The mail's outcome is "applied" if any of its lines was. */
    if (i == 0 || strcmp(step_outcome, "applied") == 0)
        *outcome_r = step_outcome;
    return 0;
}

/* Step i in its own transaction (or the caller's). 1: go on; 0: the mail was applied
 * before, stop; -1: error, rolled back when the transaction is ours. */
static int apply_step(struct mail_run *run, int i, bool last, const char **outcome_r,
                      char **error_r)
{
    struct db *db = run->db;
    if (run->own_tx && db_begin(db, error_r) < 0)
        return -1;
    /* The dedupe key and the high-water mark go with the last effect: a crash before it
     * replays the earlier lines, which their natural keys make no-ops. */
    if (last) {
        bool claimed = run->src->key_claimed;
        if ((!claimed &&
             claim_key(db, run->key, run->provider_id, run->kind, &claimed, error_r) < 0) ||
            move_mark(db, run->src, error_r) < 0)
            goto fail;
        if (!claimed) {
            *outcome_r = "duplicate";
            return run->own_tx && finish(db, error_r) < 0 ? -1 : 0;
        }
    }
    char *step_id =
        i == 0 ? xstrdup(run->provider_id) : xasprintf("%s#%d", run->provider_id, i + 1);
    int rc = apply_effect(run, i, step_id, outcome_r, error_r);
    free(step_id);
    if (rc < 0)
        goto fail;
    return run->own_tx && finish(db, error_r) < 0 ? -1 : 1;
fail:
    if (run->own_tx)
        db_rollback(db);
    return -1;
}

/* The steps of a prepared mail, in order, then its log line. 0, or -1 with *error_r. */
static int run_steps(struct mail_run *run, const char **outcome_r, char **error_r)
{
    /* Inside the caller's transaction (the IMAP reader groups a few mails per commit),
     * the caller commits or rolls back; otherwise each line commits on its own. */
    run->own_tx = !db_in_transaction(run->db);
    *outcome_r = "duplicate";
    int steps = run->nlines > 0 ? run->nlines : 1, rc = 1;
    for (int i = 0; i < steps && rc > 0; i++)
        rc = apply_step(run, i, i == steps - 1, outcome_r, error_r);
    if (rc >= 0)
        log_info("mail_inbound", "provider=%s id=%s sender=%s kind=%s outcome=%s commands=%d",
                 run->src->provider, log_q(run->provider_id), log_q(run->parsed->sender), run->kind,
                 *outcome_r, run->nlines);
    return rc < 0 ? -1 : 0;
}

int mail_inbound_apply(struct db *db, const struct mail_parsed *parsed, const char *raw, size_t len,
                       const struct mail_source *src, const char **outcome_r, char **error_r)
{
    struct mail_run run = {.db = db, .src = src, .parsed = parsed};
    mail_run_prepare(&run, raw, len);
    int rc = run_steps(&run, outcome_r, error_r);
    mail_run_release(&run);
    return rc;
}

int mail_inbound_apply_group(struct db *db, const struct mail_claim *claims,
                             const struct mail_source *srcs, size_t n, char **error_r)
{
    struct mail_run *runs = xcalloc(n + 1, sizeof(*runs));
    struct inbound_message *first = xcalloc(n + 1, sizeof(*first));
    json_t *senders = json_object();
    size_t nfirst = 0;
    /* Each sender's first mail prepared now: what it reads is that sender's own, which no
     * other sender's mail changes. A sender's later mails are prepared in their turn, after
     * the earlier ones' effects. */
    for (size_t i = 0; i < n; i++) {
        const struct mail_parsed *p = claims[i].parsed;
        if (!claims[i].fresh || json_object_get(senders, p->sender))
            continue;
        json_object_set_new(senders, p->sender, json_true());
        runs[i] = (struct mail_run){.db = db, .src = &srcs[i], .parsed = p};
        mail_run_prepare(&runs[i], claims[i].raw, claims[i].len);
        if (p->is_bounce || runs[i].unsubscribe_contact)
            continue;
        first[nfirst] = runs[i].msg;
        if (runs[i].nlines > 0)
            first[nfirst].body = runs[i].lines[0];
        nfirst++;
    }
    int rc = nfirst > 0 ? inbound_group_record(srcs[0].group, db, first, nfirst, error_r) : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!claims[i].fresh)
            continue;
        if (!runs[i].db) {
            runs[i] = (struct mail_run){.db = db, .src = &srcs[i], .parsed = claims[i].parsed};
            mail_run_prepare(&runs[i], claims[i].raw, claims[i].len);
        }
        const char *outcome = NULL;
        rc = run_steps(&runs[i], &outcome, error_r);
    }
    for (size_t i = 0; i < n; i++)
        if (runs[i].db)
            mail_run_release(&runs[i]);
    json_decref(senders);
    free(first);
    free(runs);
    return rc;
}

int mail_inbound_process(struct db *db, const char *raw, size_t len, const struct mail_source *src,
                         const char **outcome_r, char **error_r)
{
    struct mail_parsed parsed;
    char *reason = NULL;
    if (mail_parse(raw, len, NULL, &parsed, &reason) < 0) {
        log_warn("mail_rejected", "provider=%s id=%s reason=%s", src->provider,
                 log_q(src->provider_id ? src->provider_id : ""), log_q(reason));
        free(reason);
        *outcome_r = "rejected";
        return src->mailbox ? mail_inbound_skip(db, src, error_r) : 0;
    }
    int rc = mail_inbound_apply(db, &parsed, raw, len, src, outcome_r, error_r);
    mail_parsed_release(&parsed);
    return rc;
}
