/*
 * What the SMS webhooks share: reading parameters, normalising numbers, handing a
 * message to inbound_process(), recording delivery reports, and the signature maths.
 */
#include "lib/buf.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"
#include "inbound/sms_backlog.h"
#include "inbound/sms_webhook.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int params_from_json(const char *body, size_t len, struct form *params,
                            const char **reason_r)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    if (!root) {
        *reason_r = "body is not valid JSON";
        return -1;
    }
    if (!json_is_object(root)) {
        *reason_r = "JSON body is not an object";
        goto out;
    }
    if (json_object_size(root) > FORM_MAX_FIELDS) {
        *reason_r = "too many fields";
        goto out;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        char number[64];
        if (json_is_string(value)) {
            form_add(params, key, json_string_value(value));
        } else if (json_is_integer(value)) {
            snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
            form_add(params, key, number);
        } else if (json_is_real(value)) {
            snprintf(number, sizeof(number), "%.17g", json_real_value(value));
            form_add(params, key, number);
        } else if (json_is_boolean(value)) {
            form_add(params, key, json_is_true(value) ? "true" : "false");
        } else if (!json_is_null(value)) {
            *reason_r = "nested JSON values are not accepted";
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int webhook_params(struct http_request *req, struct form *params_r, const char **reason_r)
{
    struct form params = {0};
    const char *target = http_target(req);
    const char *query = strchr(target, '?');
    if (query && form_parse(query + 1, strlen(query + 1), &params, reason_r) < 0)
        return -1;
    if (strcmp(http_method(req), "POST") == 0) {
        size_t len;
        const char *body = http_body(req, &len);
        const char *type = http_header(req, "Content-Type");
        struct form posted = {0};
        int rc;
        if (type && strncasecmp(type, "application/json", 16) == 0)
            rc = params_from_json(body, len, &posted, reason_r);
        else
            rc = form_parse(body, len, &posted, reason_r);
        if (rc < 0 || params.n + posted.n > FORM_MAX_FIELDS) {
            if (rc == 0)
                *reason_r = "too many fields";
            form_release(&posted);
            form_release(&params);
            return -1;
        }
        /* Body fields first: form_get() returns the first, and the body is what is signed. */
        for (size_t i = 0; i < params.n; i++)
            form_add(&posted, params.fields[i].name, params.fields[i].value);
        form_release(&params);
        params = posted;
    }
    *params_r = params;
    return 0;
}

char *webhook_sender(const char *raw, const char **reason_r)
{
    char *e164 =
        raw ? phone_normalise(raw, config_str("engine", "default_country"), reason_r) : NULL;
    if (!e164)
        *reason_r = raw ? "bad sender number" : "missing sender number";
    return e164;
}

char *webhook_recipient(const char *raw)
{
    const char *reason;
    if (!raw)
        return xstrdup("");
    char *e164 = phone_normalise(raw, config_str("engine", "default_country"), &reason);
    if (e164)
        return e164;
    char *copy = xstrdup(raw);
    char *trimmed = xstrdup(str_trim(copy));
    free(copy);
    return trimmed;
}

int webhook_sms_fields(struct http_request *req, const char *id_name, const char *id,
                       const char *text_name, const char *text, const char *from, const char *to,
                       char **sender_r, char **recipient_r)
{
    const char *reason = NULL;
    *sender_r = *recipient_r = NULL;
    if (!id || !*id) {
        char *message = xasprintf("missing %s", id_name);
        http_respond_text(req, 400, message);
        free(message);
        return -1;
    }
    if (!text) {
        char *message = xasprintf("missing %s", text_name);
        http_respond_text(req, 400, message);
        free(message);
        return -1;
    }
    *sender_r = webhook_sender(from, &reason);
    if (!*sender_r) {
        http_respond_text(req, 400, reason);
        return -1;
    }
    *recipient_r = webhook_recipient(to);
    return 0;
}

static void answer_db_failure(struct http_request *req, struct db *db, const char *what,
                              const char *error)
{
    bool transient = db_transient(db) || db_lost(db);
    log_warn("sms_webhook_failed", "path=%s what=%s transient=%d error=%s", log_q(http_path(req)),
             what, transient, log_q(error));
    if (transient)
        http_respond_text(req, 503, "database unavailable, retry later");
    else
        http_respond_text(req, 500, "internal error");
}

/* Webhooks of this daemon applying their text while the gateway waits. */
static atomic_long applying_inline;

/* Whether this text is applied now (true: a slot in applying_inline is taken) or stored
 * in the backlog: when [sms] apply_inline are already applying, or while stored texts
 * wait (a sender's next text must not overtake them). */
static bool take_inline_slot(void)
{
    long limit = config_int("sms", "apply_inline");
    if (limit == 0 || sms_backlog_waiting())
        return false;
    if (atomic_fetch_add(&applying_inline, 1) < limit)
        return true;
    atomic_fetch_sub(&applying_inline, 1);
    return false;
}

static void count_webhook(const struct inbound_message *msg, const char *result, int64_t inbound_id,
                          const char *command)
{
    char *series = xasprintf("tocsin_sms_webhooks_total{provider=\"%s\",result=\"%s\"}",
                             msg->provider, result);
    metrics_add(series, 1);
    free(series);
    log_info("sms_inbound", "provider=%s id=%s inbound_id=%" PRId64 " outcome=%s command=%s",
             msg->provider, log_q(msg->provider_id), inbound_id, result, command ? command : "-");
}

int webhook_deliver(struct http_request *req, const struct inbound_message *msg)
{
    struct db *db = http_db(req);
    if (!db) {
        http_respond_text(req, 503, "database unreachable, retry later");
        return -1;
    }
    char *error = NULL;
    if (!take_inline_slot()) {
        if (sms_backlog_accept(db, msg, &error) < 0) {
            answer_db_failure(req, db, "backlog", error);
            free(error);
            return -1;
        }
        count_webhook(msg, "stored", 0, NULL);
        return 0;
    }
    struct inbound_outcome outcome = {0};
    int rc = inbound_process(db, msg, &outcome, &error);
    atomic_fetch_sub(&applying_inline, 1);
    if (rc < 0) {
        answer_db_failure(req, db, "inbound", error);
        free(error);
        return -1;
    }
    static const char *const names[] = {"applied", "duplicate", "ignored"};
    count_webhook(msg, names[outcome.status], outcome.inbound_id, outcome.command);
    inbound_outcome_release(&outcome);
    return 0;
}

int webhook_report(struct http_request *req, const struct sms_report *r)
{
    struct db *db = http_db(req);
    if (!db) {
        http_respond_text(req, 503, "database unreachable, retry later");
        return -1;
    }
    char *error = NULL, hint[DB_PARAM_SIZE];
    PGresult *res = NULL;
    if (db_begin(db, &error) < 0)
        goto fail;
    const char *p[] = {r->provider,
                       r->provider_id,
                       r->status,
                       r->detail,
                       r->error,
                       r->raw,
                       db_param_id_or_null(r->outbound_hint, hint),
                       r->recipient};
    /* The report names its message by the provider's id, or by ours when the provider
     * echoes it back (several ids for one multi-part text) — and only a message this very
     * gateway sent: another gateway's message is out of its reach, whatever id it names.
     * No row yet is fine: the trigger outbound_late_reports applies the report when the
     * id is stored. */
    res = db_exec(db,
                  "WITH target AS ("
                  " SELECT id, recipient FROM outbound_messages"
                  " WHERE channel = 'sms' AND sms_provider = $1"
                  "  AND (id = $7::bigint OR provider_id = $2)"
                  " ORDER BY id = $7::bigint DESC NULLS LAST, id LIMIT 1)"
                  " INSERT INTO sms_delivery_reports"
                  "  (provider, provider_id, status, detail, error, raw, outbound_id)"
                  " SELECT $1, $2, $3, $4, $5, $6, (SELECT id FROM target)"
                  " ON CONFLICT (provider, provider_id, detail) DO NOTHING"
                  " RETURNING outbound_id, coalesce((SELECT recipient FROM target), $8)",
                  8, p, &error);
    if (!res)
        goto fail;
    bool fresh = PQntuples(res) == 1;
    const char *outbound = fresh ? db_value(res, 0, 0) : NULL;
    const char *recipient = fresh ? db_value(res, 0, 1) : NULL;
    if (outbound) {
        const char *ap[] = {outbound, r->status, r->detail, r->error};
        if (db_run(db, "SELECT sms_apply_report($1::bigint, $2, $3, $4)", 4, ap, &error) < 0)
            goto fail;
    }
    if (fresh && r->carrier_opt_out && recipient) {
        char *evidence =
            xasprintf("%s:%s:%s", r->provider, r->provider_id, r->error ? r->error : r->detail);
        const char *cp[] = {recipient, evidence};
        int rc = db_run(db,
                        "SELECT consent_append(array_agg(ROW(c.id, 'sms', NULL, 'opt_out',"
                        " 'carrier', $2::text)::consent_entry)) FROM contacts c"
                        " WHERE c.kind = 'phone' AND c.address = $1"
                        " AND NOT EXISTS (SELECT 1 FROM consent k WHERE k.contact_id = c.id"
                        "  AND k.source = 'carrier' AND k.evidence = $2)",
                        2, cp, &error);
        free(evidence);
        if (rc < 0)
            goto fail;
        log_info("sms_carrier_opt_out", "provider=%s recipient=%s", r->provider, log_q(recipient));
    }
    if (db_commit(db, &error) < 0)
        goto fail;
    char *series = xasprintf("tocsin_sms_reports_total{provider=\"%s\",status=\"%s\"}", r->provider,
                             r->status);
    metrics_add(series, 1);
    free(series);
    log_info("sms_report", "provider=%s id=%s status=%s detail=%s outbound_id=%s new=%d",
             r->provider, log_q(r->provider_id), r->status, log_q(r->detail),
             outbound ? outbound : "-", fresh);
    PQclear(res);
    return 0;
fail:
    db_rollback(db);
    answer_db_failure(req, db, "report", error);
    free(error);
    PQclear(res);
    return -1;
}

void webhook_forbidden(struct http_request *req, const char *provider, const char *why,
                       const char *answer)
{
    char *series =
        xasprintf("tocsin_sms_webhooks_total{provider=\"%s\",result=\"forbidden\"}", provider);
    metrics_add(series, 1);
    free(series);
    log_warn("sms_signature_refused", "provider=%s path=%s reason=%s", provider,
             log_q(http_path(req)), why);
    http_respond_text(req, 403, answer);
}

char *webhook_raw(const struct http_request *req, const char *secret_param)
{
    struct buf raw = BUF_INIT;
    const char *target = http_target(req);
    const char *query = strchr(target, '?');
    if (query && secret_param) {
        char *kept = form_without(query + 1, strlen(query + 1), secret_param);
        buf_add(&raw, target, (size_t)(query - target));
        if (*kept)
            buf_printf(&raw, "?%s", kept);
        free(kept);
    } else {
        buf_adds(&raw, target);
    }
    if (strcmp(http_method(req), "POST") == 0) {
        size_t len;
        const char *body = http_body(req, &len);
        const char *type = http_header(req, "Content-Type");
        buf_addch(&raw, '\n');
        if (secret_param && (!type || strncasecmp(type, "application/json", 16) != 0)) {
            char *kept = form_without(body, len, secret_param);
            buf_adds(&raw, kept);
            free(kept);
        } else {
            buf_add(&raw, body, len);
        }
    }
    char *redacted = log_redacted(buf_str(&raw));
    buf_release(&raw);
    return redacted;
}
