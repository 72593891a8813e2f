/*
 * Twilio: inbound messages (POST /sms/twilio) and status callbacks (POST /sms/twilio/status).
 *
 * Both are signed: X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + every POST
 * parameter sorted by name, name and value appended)), where URL is the one Twilio
 * requested — [http] public_url followed by the raw path and query we received. With no
 * [sms] token nothing can be verified and every request is refused (403).
 * The inbound answer is an empty TwiML document: replies leave through the REST API via
 * the queue, so they are retried, rate-limited and recorded like every other message.
 */
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "inbound/sms_webhook.h"

#include <string.h>

static const char empty_twiml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/* The same URL with the scheme's default port written out when it was implicit, or
 * removed when it was explicit ("https://h/x" <-> "https://h:443/x"), as Twilio's own
 * validators accept both; NULL for other ports. Caller frees. */
char *twilio_url_port_variant(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end)
        return NULL;
    const char *port = NULL;
    if (strncmp(url, "https://", 8) == 0)
        port = "443";
    else if (strncmp(url, "http://", 7) == 0)
        port = "80";
    else
        return NULL;
    const char *host = scheme_end + 3;
    size_t host_len = strcspn(host, "/?#");
    const char *colon = memchr(host, ':', host_len);
    if (!colon)
        return xasprintf("%.*s:%s%s", (int)(host + host_len - url), url, port, host + host_len);
    size_t port_len = (size_t)(host + host_len - colon - 1);
    if (port_len != strlen(port) || strncmp(colon + 1, port, port_len) != 0)
        return NULL;
    return xasprintf("%.*s%s", (int)(colon - url), url, host + host_len);
}

/* Parse the body and check the signature. 0: *params_r filled; -1: answered (400/403). */
static int twilio_verified(struct http_request *req, struct form *params_r)
{
    size_t len;
    const char *body = http_body(req, &len);
    const char *reason = NULL;
    if (form_parse(body, len, params_r, &reason) < 0) {
        http_respond_text(req, 400, reason);
        return -1;
    }
    const char *token = config_str("sms", "token");
    const char *given = http_header(req, "X-Twilio-Signature");
    if (!*token || !given) {
        webhook_forbidden(req, "twilio", *token ? "no signature" : "[sms] token unset",
                          "signature required");
        form_release(params_r);
        return -1;
    }
    const char *base = config_str("http", "public_url");
    size_t base_len = strlen(base);
    while (base_len && base[base_len - 1] == '/')
        base_len--;
    char *url = xasprintf("%.*s%s", (int)base_len, base, http_target(req));
    char *want = twilio_signature(token, url, params_r);
    bool ok = signature_equal(given, want);
    char *variant = ok ? NULL : twilio_url_port_variant(url);
    if (variant) {
        free(want);
        want = twilio_signature(token, variant, params_r);
        ok = signature_equal(given, want);
        free(variant);
    }
    free(url);
    free(want);
    if (!ok) {
        webhook_forbidden(req, "twilio", "mismatch", "bad signature");
        form_release(params_r);
        return -1;
    }
    return 0;
}

void webhook_twilio(struct http_request *req)
{
    struct form params;
    if (twilio_verified(req, &params) < 0)
        return;
    const char *sid = form_get(&params, "MessageSid");
    if (!sid)
        sid = form_get(&params, "SmsSid");
    const char *body = form_get(&params, "Body");
    char *sender = NULL, *recipient = NULL, *raw = NULL;
    if (webhook_sms_fields(req, "MessageSid", sid, "Body", body, form_get(&params, "From"),
                           form_get(&params, "To"), &sender, &recipient) < 0)
        goto out;
    struct inbound_message msg = {
        .channel = "sms",
        .provider = "twilio",
        .proof = "signed_webhook",
        .provider_id = sid,
        .sender = sender,
        .recipient = recipient,
        .body = body,
        .raw = raw = webhook_raw(req, NULL),
    };
    if (webhook_deliver(req, &msg) == 0)
        http_respond(req, 200, "text/xml", empty_twiml, strlen(empty_twiml));
out:
    free(raw);
    free(sender);
    free(recipient);
    form_release(&params);
}

void webhook_twilio_status(struct http_request *req)
{
    struct form params;
    if (twilio_verified(req, &params) < 0)
        return;
    const char *sid = form_get(&params, "MessageSid");
    if (!sid)
        sid = form_get(&params, "SmsSid");
    const char *state = form_get(&params, "MessageStatus");
    if (!state)
        state = form_get(&params, "SmsStatus");
    const char *code = form_get(&params, "ErrorCode");
    char *recipient = NULL, *raw = NULL;
    if (!sid || !*sid || !state || !*state) {
        http_respond_text(req, 400, !sid || !*sid ? "missing MessageSid" : "missing MessageStatus");
        goto out;
    }
    const char *status = "sent";
    if (strcmp(state, "delivered") == 0 || strcmp(state, "read") == 0)
        status = "delivered";
    else if (strcmp(state, "undelivered") == 0 || strcmp(state, "failed") == 0 ||
             strcmp(state, "canceled") == 0)
        status = "failed";
    char *error = code && *code ? xasprintf("twilio %s: %s", code, state) : NULL;
    /* 21610: the recipient replied STOP to the carrier or Twilio; we must stop too. */
    struct sms_report report = {
        .provider = "twilio",
        .provider_id = sid,
        .status = status,
        .detail = state,
        .error = error,
        .raw = raw = webhook_raw(req, NULL),
        .carrier_opt_out = code && strcmp(code, "21610") == 0,
    };
    recipient = webhook_recipient(form_get(&params, "To"));
    report.recipient = *recipient == '+' ? recipient : NULL;
    int rc = webhook_report(req, &report);
    free(error);
    if (rc == 0)
        http_respond(req, 204, "text/plain", "", 0);
out:
    free(raw);
    free(recipient);
    form_release(&params);
}
