/*
 * Kannel: inbound texts from an smsbox `sms-service` (GET|POST /sms/kannel with from, to,
 * text, id) and delivery reports for what we sent (GET|POST /sms/kannel/dlr).
 *
 * Kannel does not sign requests, so both routes require a `secret` parameter equal to
 * [sms] kannel_secret (compared in constant time), which the operator writes into the
 * sms-service get-url and which our sendsms requests put into the dlr-url. With no secret
 * configured every request is refused: anyone who can reach us could otherwise speak for
 * any number. The secret is removed from what is stored (webhook_raw).
 * The id is Kannel's %I (a UUID per message): the natural key. The answer is empty,
 * and the sms-service has max-messages = 0, so Kannel sends nothing back itself: the
 * reply leaves through the queue and sendsms like every other message (docs/sms.md).
 * DLR types (Kannel's dlr-mask bits): 1 delivered, 2 undelivered, 4 buffered at the
 * SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC.
 */
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "inbound/sms_webhook.h"

#include <inttypes.h>
#include <string.h>

static int kannel_verified(struct http_request *req, const struct form *params)
{
    const char *secret = config_str("sms", "kannel_secret");
    const char *given = form_get(params, "secret");
    if (*secret && given && signature_equal(given, secret))
        return 0;
    webhook_forbidden(req, "kannel",
                      !*secret ? "[sms] kannel_secret unset"
                      : given  ? "mismatch"
                               : "no secret",
                      given ? "bad secret" : "secret required");
    return -1;
}

void webhook_kannel(struct http_request *req)
{
    struct form params = {0};
    const char *reason = NULL;
    char *sender = NULL, *recipient = NULL, *raw = NULL;
    if (webhook_params(req, &params, &reason) < 0) {
        http_respond_text(req, 400, reason);
        return;
    }
    if (kannel_verified(req, &params) < 0)
        goto out;
    const char *id = form_get(&params, "id");
    const char *text = form_get(&params, "text");
    if (webhook_sms_fields(req, "id (use %I in the get-url)", id, "text", text,
                           form_get(&params, "from"), form_get(&params, "to"), &sender,
                           &recipient) < 0)
        goto out;
    struct inbound_message msg = {
        .channel = "sms",
        .provider = "kannel",
        .proof = "signed_webhook",
        .provider_id = id,
        .sender = sender,
        .recipient = recipient,
        .body = text,
        .raw = raw = webhook_raw(req, "secret"),
    };
    if (webhook_deliver(req, &msg) == 0)
        http_respond(req, 200, "text/plain", "", 0);
out:
    free(raw);
    free(sender);
    free(recipient);
    form_release(&params);
}

static const struct {
    long type;
    const char *status, *detail;
} kannel_dlr_types[] = {
    {1, "delivered", "delivered"}, {2, "failed", "undelivered"}, {4, "sent", "buffered"},
    {8, "sent", "submitted"},      {16, "failed", "rejected"},
};

void webhook_kannel_dlr(struct http_request *req)
{
    struct form params = {0};
    const char *reason = NULL;
    char *provider_id = NULL, *error = NULL, *raw = NULL;
    if (webhook_params(req, &params, &reason) < 0) {
        http_respond_text(req, 400, reason);
        return;
    }
    if (kannel_verified(req, &params) < 0)
        goto out;
    long id, type;
    if (str_to_long(form_get(&params, "id") ? form_get(&params, "id") : "", 1, 0x7fffffffffffffffL,
                    &id) < 0) {
        http_respond_text(req, 400, "missing or bad id");
        goto out;
    }
    if (str_to_long(form_get(&params, "type") ? form_get(&params, "type") : "", 1, 16, &type) < 0) {
        http_respond_text(req, 400, "missing or bad type");
        goto out;
    }
    size_t i;
    for (i = 0; i < sizeof(kannel_dlr_types) / sizeof(kannel_dlr_types[0]); i++)
        if (kannel_dlr_types[i].type == type)
            break;
    if (i == sizeof(kannel_dlr_types) / sizeof(kannel_dlr_types[0])) {
        http_respond_text(req, 400, "unknown type (expected 1, 2, 4, 8 or 16)");
        goto out;
    }
    provider_id = xasprintf("tocsin-%ld", id);
    const char *answer = form_get(&params, "reply"); /* %A: the SMSC's own words */
    if (strcmp(kannel_dlr_types[i].status, "failed") == 0)
        error = xasprintf("kannel %s%s%s", kannel_dlr_types[i].detail, answer ? ": " : "",
                          answer ? answer : "");
    struct sms_report report = {
        .provider = "kannel",
        .provider_id = provider_id,
        .status = kannel_dlr_types[i].status,
        .detail = kannel_dlr_types[i].detail,
        .error = error,
        .raw = raw = webhook_raw(req, "secret"),
        .outbound_hint = id,
    };
    if (webhook_report(req, &report) == 0)
        http_respond_text(req, 200, "ok");
out:
    free(raw);
    free(provider_id);
    free(error);
    form_release(&params);
}
