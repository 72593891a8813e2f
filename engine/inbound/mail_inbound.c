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
    char validity[24], uid[24];
    snprintf(validity, sizeof(validity), "%" PRId64, src->uidvalidity);
    snprintf(uid, sizeof(uid), "%" PRId64, src->uid);
    const char *params[] = {src->mailbox, validity, uid};
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

int mail_inbound_process(struct db *db, const char *raw, size_t len, const struct mail_source *src,
                         const char **outcome_r, char **error_r)
{
    struct mail_parsed p;
    char *reason = NULL;
    if (mail_parse(raw, len, NULL, &p, &reason) < 0) {
        log_warn("mail_rejected", "provider=%s id=%s reason=%s", src->provider,
                 log_q(src->provider_id ? src->provider_id : ""), log_q(reason));
        free(reason);
        *outcome_r = "rejected";
        return src->mailbox ? mail_inbound_skip(db, src, error_r) : 0;
    }
    char *key = p.message_id ? xstrdup(p.message_id) : sha256_key(raw, len);
    const char *provider_id = src->provider_id ? src->provider_id : key;
    /* The raw text is evidence, stored as text: make sure it is valid UTF-8. */
    char *raw_text = mime_valid_utf8(raw, len) && !memchr(raw, '\0', len)
                         ? NULL
                         : mime_to_utf8("windows-1252", raw, len);
    const char *raw_stored = raw_text ? raw_text : raw;
    char *raw_copy = raw_text ? NULL : xstrndup(raw, len);
    if (raw_copy)
        raw_stored = raw_copy;
    int rc = -1;
    bool claimed = false;
    const char *kind = p.is_bounce ? "bounce" : p.automatic ? "automatic" : "reply";

    int64_t context = p.is_bounce || p.automatic ? 0 : resolve_context(db, &p);
    struct inbound_message msg = {
        .channel = "email",
        .provider = src->provider,
        .provider_id = provider_id,
        .sender = p.sender,
        .sender_name = p.sender_name,
        .recipient = p.recipient,
        .body = p.commands ? p.commands : p.new_text,
        .raw = raw_stored,
        .subject = NULL,
        .reply_to_id = context,
        .automatic = p.automatic,
        .locale_hint = p.locale_hint,
    };
    if (!p.commands && !*p.new_text && *p.subject)
        msg.subject = p.subject;
    /* An organiser's mail (Subject: MSG <team>, handlers/msg.c): the whole new text is the
     * message to send, not command lines to split. */
    char *clean_subject = *p.subject ? reply_clean_subject(p.subject) : NULL;
    bool organiser_mail = clean_subject && strncasecmp(clean_subject, "msg ", 4) == 0;
    if (organiser_mail) {
        msg.body = p.new_text;
        msg.subject = clean_subject;
    }

    /* Split the command lines: each is one inbound row under its own natural key. */
    char *lines[MAIL_MAX_COMMANDS];
    int nlines = 0;
    char *commands = p.commands && !organiser_mail ? xstrdup(p.commands) : NULL;
    if (commands)
        for (char *save = NULL, *l = strtok_r(commands, "\n", &save);
             l && nlines < MAIL_MAX_COMMANDS; l = strtok_r(NULL, "\n", &save))
            lines[nlines++] = l;

    /* Inside the caller's transaction (the IMAP reader groups a few mails per commit),
     * the caller commits or rolls back; otherwise each line commits on its own. */
    bool own_tx = !db_in_transaction(db);
    *outcome_r = "duplicate";
    int steps = nlines > 0 ? nlines : 1;
    for (int i = 0; i < steps; i++) {
        bool last = i == steps - 1;
        char *step_id = i == 0 ? xstrdup(provider_id) : xasprintf("%s#%d", provider_id, i + 1);
        if (own_tx && db_begin(db, error_r) < 0) {
            free(step_id);
            goto out;
        }
        /* The dedupe key and the high-water mark go with the last effect: a crash before
         * it replays the earlier lines, which their natural keys make no-ops. */
        if (last) {
            if (claim_key(db, key, provider_id, kind, &claimed, error_r) < 0 ||
                move_mark(db, src, error_r) < 0) {
                free(step_id);
                if (own_tx)
                    db_rollback(db);
                goto out;
            }
            if (!claimed) {
                free(step_id);
                *outcome_r = "duplicate";
                if (own_tx && finish(db, error_r) < 0)
                    goto out;
                break;
            }
        }
        int step_rc;
        if (p.is_bounce) {
            step_rc = record_bounce(db, &p, src, step_id, raw_stored, outcome_r, error_r);
        } else {
            struct inbound_message one = msg;
            one.provider_id = step_id;
            if (nlines > 0)
                one.body = lines[i];
            const char *step_outcome = NULL;
            step_rc = run_inbound(db, &one, &step_outcome, error_r);
            /* The mail's outcome is "applied" if any of its lines was. */
            if (step_rc == 0 && (i == 0 || strcmp(step_outcome, "applied") == 0))
                *outcome_r = step_outcome;
        }
        free(step_id);
        if (step_rc < 0) {
            if (own_tx)
                db_rollback(db);
            goto out;
        }
        if (own_tx && finish(db, error_r) < 0)
            goto out;
    }
    rc = 0;
    log_info("mail_inbound", "provider=%s id=%s sender=%s kind=%s outcome=%s commands=%d",
             src->provider, log_q(provider_id), log_q(p.sender), kind, *outcome_r, nlines);
out:
    free(clean_subject);
    free(commands);
    free(raw_text);
    free(raw_copy);
    free(key);
    mail_parsed_release(&p);
    return rc;
}
