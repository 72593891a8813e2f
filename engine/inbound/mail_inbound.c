#include "inbound/mail_inbound.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/token.h"
#include "decide/process.h"
#include "inbound/autoreply.h"

#include <ctype.h>
#include <inttypes.h>
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

static int record_bounce(struct db *db, const struct mail_parsed *p, const struct mail_source *src,
                         const char *provider_id, const char *raw, const char **outcome_r,
                         char **error_r)
{
    const struct bounce_info *b = &p->bounce;
    char *summary = xasprintf("bounce %s status=%s recipient=%s",
                              b->kind == BOUNCE_HARD   ? "hard"
                              : b->kind == BOUNCE_SOFT ? "soft"
                                                       : "report",
                              b->status ? b->status : "-", b->recipient ? b->recipient : "-");
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
    PQclear(res);
    *outcome_r = "duplicate";
    rc = 0;
    if (!fresh)
        goto out;
    /* The DSN part is the evidence; a non-DSN bounce is its own text. */
    const char *dsn = p->mime->delivery_status ? p->mime->delivery_status : p->mime->text;
    char *evidence =
        xasprintf("Message-ID: <%s>\n%.4000s", p->message_id ? p->message_id : "", dsn);
    const char *what = NULL;
    rc = bounce_apply(db, b, evidence, &what, error_r);
    free(evidence);
    if (rc == 0) {
        log_info("mail_bounce", "outcome=%s kind=%s status=%s recipient=%s", what,
                 b->kind == BOUNCE_HARD ? "hard" : "soft", log_q(b->status ? b->status : ""),
                 log_q(b->recipient ? b->recipient : ""));
        *outcome_r = "bounce";
    }
out:
    free(summary);
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
    const char *kind;        /* bounce, automatic or reply: recorded with the key */
    char *raw_text;          /* the raw mail converted to UTF-8, when it was not */
    char *raw_copy;          /* the raw mail NUL-terminated, when it was UTF-8 */
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
    run->key = p->message_id ? xstrdup(p->message_id) : sha256_key(raw, len);
    run->provider_id = run->src->provider_id ? run->src->provider_id : run->key;
    /* The raw text is evidence, stored as text: make sure it is valid UTF-8. */
    if (!mime_valid_utf8(raw, len) || memchr(raw, '\0', len))
        run->raw_text = mime_to_utf8("windows-1252", raw, len);
    if (!run->raw_text)
        run->raw_copy = xstrndup(raw, len);
    run->raw_stored = run->raw_text ? run->raw_text : run->raw_copy;
    run->kind = p->is_bounce ? "bounce" : p->automatic ? "automatic" : "reply";
    int64_t context = p->is_bounce || p->automatic ? 0 : resolve_context(run->db, p);
    run->msg = (struct inbound_message){
        .channel = "email",
        .provider = run->src->provider,
        .provider_id = run->provider_id,
        .sender = p->sender,
        .recipient = p->recipient,
        .body = p->commands ? p->commands : p->new_text,
        .raw = run->raw_stored,
        .subject = NULL,
        .reply_to_id = context,
        .automatic = p->automatic,
        .locale_hint = p->locale_hint,
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
    run->commands = p->commands && !organiser_mail ? xstrdup(p->commands) : NULL;
    if (run->commands)
        for (char *save = NULL, *l = strtok_r(run->commands, "\n", &save);
             l && run->nlines < MAIL_MAX_COMMANDS; l = strtok_r(NULL, "\n", &save))
            run->lines[run->nlines++] = l;
}

/* The effect of step i (command line i, or the whole mail): a bounce recorded, or one
 * inbound_process() call under the natural key provider_id, provider_id#2, … */
static int apply_effect(struct mail_run *run, int i, const char *step_id, const char **outcome_r,
                        char **error_r)
{
    if (run->parsed->is_bounce)
        return record_bounce(run->db, run->parsed, run->src, step_id, run->raw_stored, outcome_r,
                             error_r);
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
        bool claimed = false;
        if (claim_key(db, run->key, run->provider_id, run->kind, &claimed, error_r) < 0 ||
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

int mail_inbound_apply(struct db *db, const struct mail_parsed *parsed, const char *raw, size_t len,
                       const struct mail_source *src, const char **outcome_r, char **error_r)
{
    struct mail_run run = {.db = db, .src = src, .parsed = parsed};
    mail_run_prepare(&run, raw, len);
    /* Inside the caller's transaction (the IMAP reader groups a few mails per commit),
     * the caller commits or rolls back; otherwise each line commits on its own. */
    run.own_tx = !db_in_transaction(db);
    *outcome_r = "duplicate";
    int steps = run.nlines > 0 ? run.nlines : 1, rc = 1;
    for (int i = 0; i < steps && rc > 0; i++)
        rc = apply_step(&run, i, i == steps - 1, outcome_r, error_r);
    if (rc >= 0)
        log_info("mail_inbound", "provider=%s id=%s sender=%s kind=%s outcome=%s commands=%d",
                 src->provider, log_q(run.provider_id), log_q(parsed->sender), run.kind, *outcome_r,
                 run.nlines);
    mail_run_release(&run);
    return rc < 0 ? -1 : 0;
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
