/*
 * Vonage (Nexmo) SMS API: inbound messages (GET|POST /sms/vonage, form or JSON) and
 * delivery receipts (GET|POST /sms/vonage/dlr).
 *
 * Every request must carry `sig`, Vonage's "HMAC SHA-256" signature method (choose it in
 * the dashboard) keyed with [sms] vonage_signature_secret: hex HMAC-SHA256 over
 * "&name=value" for every parameter but sig, sorted by name, with '&' and '=' inside
 * values replaced by '_'. Its `timestamp` (Unix seconds, signed with the rest) must be
 * within VONAGE_SIGNATURE_WINDOW of our clock, so a captured request cannot be replayed
 * later. With no secret configured every request is refused.
 * A long text arrives as parts (concat=true, concat-ref, concat-total, concat-part),
 * in any order, possibly on several daemons at once: each part is stored in sms_parts
 * under an advisory lock on (sender, ref), and the part that completes the set hands the
 * whole text, in part order, to inbound_process() under the message id of part 1 — so
 * a part replayed later finds the same natural key and has no second effect.
 * Vonage resends for 24 hours until it gets a 200, so the answer is quick and plain, and
 * parts of a text that never completed are purged after VONAGE_PARTS_TTL: Vonage has given
 * up on the missing ones by then.
 */
#include "lib/buf.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "inbound/sms_webhook.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

/* Seconds a signature's timestamp may be off our clock, either way. */
#define VONAGE_SIGNATURE_WINDOW 300
/* How long an incomplete text's parts are kept (Vonage retries for 24 hours). */
#define VONAGE_PARTS_TTL "24 hours"

/* Vonage writes numbers internationally without the '+'. */
static char *vonage_number(const char *raw)
{
    if (raw && *raw && *raw != '0' && *raw != '+' && strspn(raw, "0123456789") == strlen(raw))
        return xasprintf("+%s", raw);
    return raw ? xstrdup(raw) : NULL;
}

/* 0 when the signature is right and fresh; -1 when refused (403 sent). */
static int vonage_verified(struct http_request *req, const struct form *params)
{
    const char *secret = config_str("sms", "vonage_signature_secret");
    const char *given = form_get(params, "sig");
    const char *why = !*secret ? "[sms] vonage_signature_secret unset"
                      : given  ? "mismatch"
                               : "no sig";
    bool ok = false;
    if (*secret && given) {
        char *lower = xstrdup(given);
        str_lower(lower);
        char *want = vonage_signature(secret, params);
        ok = signature_equal(lower, want);
        free(want);
        free(lower);
    }
    if (ok && !signature_fresh(form_get(params, "timestamp"), (long long)time(NULL),
                               VONAGE_SIGNATURE_WINDOW)) {
        ok = false;
        why = form_get(params, "timestamp") ? "timestamp outside 5 minutes" : "no timestamp";
    }
    if (!ok) {
        webhook_forbidden(req, "vonage", why,
                          !given                          ? "signature required"
                          : strcmp(why, "mismatch") == 0  ? "bad signature"
                          : strncmp(why, "[sms]", 5) == 0 ? "bad signature"
                                                          : "stale or missing timestamp");
        return -1;
    }
    return 0;
}

static const char *param(const struct form *params, const char *name)
{
    const char *v = form_get(params, name);
    return v && *v ? v : NULL;
}

/* Store one part; when it completes the set, *whole_r gets the text in part order,
 * *first_id_r part 1's message id and *raw_r the parts' raw requests (all caller-owned).
 * 0 on success (complete or not), -1 with *error_r. */
static int store_part(struct db *db, const char *sender, const char *recipient, const char *ref,
                      const char *total, const char *part, const char *message_id, const char *text,
                      const char *raw, char **whole_r, char **first_id_r, char **raw_r,
                      char **error_r)
{
    PGresult *res = NULL;
    int rc = -1;
    if (db_begin(db, error_r) < 0)
        return -1;
    /* Two parts arriving at once on two connections must not both count "2 of 3". */
    const char *lock[] = {sender, ref};
    if (db_run(db, "SELECT pg_advisory_xact_lock(hashtext('vonage-concat:' || $1 || ':' || $2))", 2,
               lock, error_r) < 0)
        goto out;
    /* Parts whose text never completed: Vonage has stopped retrying the missing ones. */
    PGresult *purged = db_exec(db,
                               "DELETE FROM sms_parts WHERE provider = 'vonage'"
                               " AND received_at < now() - interval '" VONAGE_PARTS_TTL "'",
                               0, NULL, error_r);
    if (!purged)
        goto out;
    if (atoi(PQcmdTuples(purged)) > 0)
        log_info("sms_parts_purged", "provider=vonage parts=%s", PQcmdTuples(purged));
    PQclear(purged);
    const char *ins[] = {sender, ref, total, part, message_id, recipient, text, raw};
    if (db_run(db,
               "INSERT INTO sms_parts (provider, sender, ref, total, part, provider_id,"
               " recipient, body, raw) VALUES ('vonage', $1, $2, $3::int, $4::int, $5, $6, $7, $8)"
               " ON CONFLICT DO NOTHING",
               8, ins, error_r) < 0)
        goto out;
    const char *sel[] = {sender, ref, total};
    res = db_exec(db,
                  "SELECT part, provider_id, body, raw FROM sms_parts"
                  " WHERE provider = 'vonage' AND sender = $1 AND ref = $2 AND total = $3::int"
                  " ORDER BY part",
                  3, sel, error_r);
    if (!res)
        goto out;
    if (PQntuples(res) == atoi(total)) {
        struct buf whole = BUF_INIT, raws = BUF_INIT;
        for (int i = 0; i < PQntuples(res); i++) {
            buf_adds(&whole, PQgetvalue(res, i, 2));
            buf_printf(&raws, "%s%s", i ? "\n" : "", PQgetvalue(res, i, 3));
        }
        *whole_r = buf_detach(&whole);
        *raw_r = buf_detach(&raws);
        *first_id_r = xstrdup(PQgetvalue(res, 0, 1));
    }
    if (db_commit(db, error_r) < 0) {
        xfree(whole_r);
        xfree(raw_r);
        xfree(first_id_r);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        db_rollback(db);
    PQclear(res);
    return rc;
}

static bool small_number(const char *s, long min, long max)
{
    long v;
    return s && str_to_long(s, min, max, &v) == 0;
}

/* "concat-ref" as Vonage documents it, or "concat_ref" as some JSON relays write it. */
static const char *concat_value(const struct form *params, const char *name)
{
    const char *v = param(params, name);
    if (v)
        return v;
    char *underscore = xstrdup(name);
    underscore[strlen("concat")] = '_';
    v = param(params, underscore);
    free(underscore);
    return v;
}

/* The parameters of a Vonage request (query, form or JSON), signature checked. Answers 400
 * or 403 itself and returns -1; otherwise 0 and the caller releases *params. */
static int vonage_params(struct http_request *req, struct form *params)
{
    const char *reason = NULL;
    if (webhook_params(req, params, &reason) < 0) {
        http_respond_text(req, 400, reason);
        return -1;
    }
    if (vonage_verified(req, params) < 0) {
        form_release(params);
        return -1;
    }
    return 0;
}

void webhook_vonage(struct http_request *req)
{
    struct form params = {0};
    char *sender = NULL, *recipient = NULL, *msisdn = NULL, *to = NULL;
    char *whole = NULL, *first_id = NULL, *raws = NULL, *request_raw = NULL;
    if (vonage_params(req, &params) < 0)
        return;
    const char *message_id = param(&params, "messageId");
    const char *text = form_get(&params, "text");
    msisdn = vonage_number(param(&params, "msisdn"));
    to = vonage_number(param(&params, "to"));
    if (webhook_sms_fields(req, "messageId", message_id, "text", text, msisdn, to, &sender,
                           &recipient) < 0)
        goto out;
    const char *concat = param(&params, "concat");
    const char *ref = concat_value(&params, "concat-ref");
    const char *total = concat_value(&params, "concat-total");
    const char *part = concat_value(&params, "concat-part");
    request_raw = webhook_raw(req, NULL);
    const char *raw = request_raw;
    if ((concat && strcmp(concat, "true") == 0) || ref) {
        if (!ref || strlen(ref) > 64 || !small_number(total, 2, 255) ||
            !small_number(part, 1, 255) || atoi(part) > atoi(total)) {
            http_respond_text(req, 400, "bad concat-ref, concat-total or concat-part");
            goto out;
        }
        struct db *db = http_db(req);
        char *error = NULL;
        if (!db) {
            http_respond_text(req, 503, "database unreachable, retry later");
            goto out;
        }
        if (store_part(db, sender, recipient, ref, total, part, message_id, text, raw, &whole,
                       &first_id, &raws, &error) < 0) {
            bool transient = db_transient(db) || db_lost(db);
            log_warn("sms_webhook_failed", "provider=vonage what=part error=%s", log_q(error));
            free(error);
            http_respond_text(req, transient ? 503 : 500,
                              transient ? "database unavailable, retry later" : "internal error");
            goto out;
        }
        if (!whole) {
            log_info("sms_part_stored", "provider=vonage ref=%s part=%s total=%s", log_q(ref), part,
                     total);
            http_respond_text(req, 200, "part stored");
            goto out;
        }
        message_id = first_id;
        text = whole;
        raw = raws;
    }
    struct inbound_message msg = {
        .channel = "sms",
        .provider = "vonage",
        .proof = "signed_webhook",
        .provider_id = message_id,
        .sender = sender,
        .recipient = recipient,
        .body = text,
        .raw = raw,
    };
    if (webhook_deliver(req, &msg) == 0)
        http_respond_text(req, 200, "ok");
out:
    free(sender);
    free(recipient);
    free(msisdn);
    free(to);
    free(whole);
    free(first_id);
    free(raws);
    free(request_raw);
    form_release(&params);
}

void webhook_vonage_dlr(struct http_request *req)
{
    struct form params = {0};
    char *error = NULL, *number = NULL, *recipient = NULL, *raw = NULL;
    if (vonage_params(req, &params) < 0)
        return;
    const char *message_id = param(&params, "messageId");
    const char *state = param(&params, "status");
    if (!message_id || !state) {
        http_respond_text(req, 400, message_id ? "missing status" : "missing messageId");
        goto out;
    }
    const char *status = "sent";
    if (strcmp(state, "delivered") == 0)
        status = "delivered";
    else if (strcmp(state, "failed") == 0 || strcmp(state, "rejected") == 0 ||
             strcmp(state, "expired") == 0)
        status = "failed";
    const char *code = param(&params, "err-code");
    if (code && strcmp(code, "0") != 0)
        error = xasprintf("vonage %s: %s", code, state);
    /* client-ref is our outbound id: every part of a long text reports under its own
     * messageId, and they all name the same row through it. */
    const char *client_ref = param(&params, "client-ref");
    long hint = 0;
    if (client_ref && str_to_long(client_ref, 1, 0x7fffffffffffffffL, &hint) < 0)
        hint = 0;
    number = vonage_number(param(&params, "msisdn"));
    recipient = webhook_recipient(number);
    struct sms_report report = {
        .provider = "vonage",
        .provider_id = message_id,
        .status = status,
        .detail = state,
        .error = error,
        .raw = raw = webhook_raw(req, NULL),
        .recipient = *recipient == '+' ? recipient : NULL,
        .outbound_hint = hint,
    };
    if (webhook_report(req, &report) == 0)
        http_respond_text(req, 200, "ok");
out:
    free(raw);
    free(error);
    free(number);
    free(recipient);
    form_release(&params);
}
