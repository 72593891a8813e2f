/*
 * Generic gateway: POST /sms/generic with a JSON body {"id", "from", "to", "text"} and
 * the header X-Tocsin-Signature: sha256=HEX, the HMAC-SHA256 of the raw body keyed with
 * [sms] generic_secret. The signature is mandatory: with no secret configured every
 * request is refused (403), since anyone could otherwise speak for any number.
 */
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "inbound/sms_webhook.h"

#include <string.h>
#include <strings.h>

void webhook_generic(struct http_request *req)
{
    size_t len;
    const char *body = http_body(req, &len);
    const char *secret = config_str("sms", "generic_secret");
    const char *given = http_header(req, "X-Tocsin-Signature");
    struct form params = {0};
    const char *reason = NULL;
    char *sender = NULL, *recipient = NULL, *raw = NULL;
    bool ok = false;
    if (*secret && given) {
        char *want = generic_signature(secret, body, len);
        char *lower = xstrdup(given);
        ok = signature_equal(str_lower(lower), want);
        free(lower);
        free(want);
    }
    if (!ok) {
        webhook_forbidden(req, "generic",
                          !*secret ? "[sms] generic_secret unset"
                          : given  ? "mismatch"
                                   : "no signature",
                          given ? "bad signature" : "signature required");
        return;
    }
    const char *type = http_header(req, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0) {
        http_respond_text(req, 400, "expected Content-Type: application/json");
        return;
    }
    if (webhook_params(req, &params, &reason) < 0) {
        http_respond_text(req, 400, reason);
        return;
    }
    const char *id = form_get(&params, "id");
    const char *text = form_get(&params, "text");
    if (webhook_sms_fields(req, "id", id, "text", text, form_get(&params, "from"),
                           form_get(&params, "to"), &sender, &recipient) < 0)
        goto out;
    struct inbound_message msg = {
        .channel = "sms",
        .provider = "generic",
        .proof = "signed_webhook",
        .provider_id = id,
        .sender = sender,
        .recipient = recipient,
        .body = text,
        .raw = raw = webhook_raw(req, NULL),
    };
    if (webhook_deliver(req, &msg) == 0)
        http_respond(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
out:
    free(raw);
    free(sender);
    free(recipient);
    form_release(&params);
}
