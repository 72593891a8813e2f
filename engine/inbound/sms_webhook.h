/*
 * sms_webhook — what the four SMS gateways' webhooks (webhook_twilio.c, webhook_vonage.c,
 * webhook_kannel.c, webhook_generic.c) share.
 *
 * A gateway's routes exist only while it is the configured [sms] provider (routes.c), and
 * each fails closed: its own credential ([sms] token for Twilio, kannel_secret,
 * vonage_signature_secret, generic_secret) unset, missing or wrong means 403 and nothing
 * written, so no key serves two integrations and an unconfigured one accepts nobody.
 * Each route handler: reads its parameters (webhook_params: the query string for GET,
 * the form or JSON body for POST), answers 400 with a reason when they are malformed,
 * verifies the provider's signature (403 and NO effect when it fails), then either
 * hands one struct inbound_message to inbound_process() (webhook_deliver) or records a
 * delivery report (webhook_report). Database down or a transient failure: 503, so the
 * gateway retries; every effect is idempotent on the provider's message id.
 * webhook_deliver() and webhook_report() answer 503/500 themselves on failure and return
 * -1; on success they return 0 and the caller sends its provider's usual answer.
 *
 * The signature maths lives in core/signature.h: the transports sign with it too.
 */
#ifndef TOCSIN_SMS_WEBHOOK_H
#define TOCSIN_SMS_WEBHOOK_H

#include "lib/form.h"
#include "core/http.h"
#include "core/signature.h"
#include "decide/process.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Route handlers (rows in routes.c). */
void webhook_twilio(struct http_request *req);
void webhook_twilio_status(struct http_request *req);
void webhook_vonage(struct http_request *req);
void webhook_vonage_dlr(struct http_request *req);
void webhook_kannel(struct http_request *req);
void webhook_kannel_dlr(struct http_request *req);
void webhook_generic(struct http_request *req);

/* Parameters of a request: GET → query string; POST → form body (plus the query string),
 * or a flat JSON object when Content-Type is application/json (numbers and booleans as
 * text). -1 with a static reason on malformed input. */
int webhook_params(struct http_request *req, struct form *params_r, const char **reason_r);

/* E.164 of a sender (400 "bad sender number" when it is not a phone number). */
char *webhook_sender(const char *raw, const char **reason_r);
/* Our number as E.164 when it is one, else the trimmed text (a short code, an alias). */
char *webhook_recipient(const char *raw);

/* Process one inbound SMS; on failure the answer (503 or 500) is already sent. */
int webhook_deliver(struct http_request *req, const struct inbound_message *msg);
/* The checks every inbound SMS shares: a message id and a text (named as the provider names
 * them, for the answer) and a sender that is a phone number. Answers 400 naming what is wrong and
 * returns -1; otherwise 0 with *sender_r (E.164) and *recipient_r (E.164, or as given when it is
 * not a number, e.g. a short code) owned by the caller. */
int webhook_sms_fields(struct http_request *req, const char *id_name, const char *id,
                       const char *text_name, const char *text, const char *from, const char *to,
                       char **sender_r, char **recipient_r);

/* A delivery report from `provider` about `provider_id`, applied only to a message that
 * `provider` sent (outbound_messages.sms_provider). `status` is "delivered",
 * "failed" or "sent" (intermediate), `detail` the provider's own word, `error` may be
 * NULL. `outbound_hint` (0 = none) is our outbound id when the provider echoes it
 * (Vonage client-ref, Kannel dlr-url). `carrier_opt_out` appends an opt_out with source
 * 'carrier' to the ledger for the message's recipient (Twilio 21610), or
 * `recipient` when the message is not known yet. */
struct sms_report {
    const char *provider, *provider_id, *status, *detail, *error, *raw;
    const char *recipient; /* E.164 the message went to, when the report says; may be NULL */
    int64_t outbound_hint;
    bool carrier_opt_out;
};
int webhook_report(struct http_request *req, const struct sms_report *report);

/* 403 with `answer`, a log line with `why`, a metric; nothing else happens. */
void webhook_forbidden(struct http_request *req, const char *provider, const char *why,
                       const char *answer);

/* What a webhook stores as evidence (inbound_messages.raw, sms_parts, delivery reports): the
 * request target, and for a POST a newline and the body, with the parameter `secret_param`
 * (may be NULL) removed from the query and from a form body, and every configured secret
 * redacted. Caller frees. */
char *webhook_raw(const struct http_request *req, const char *secret_param);

/* The URL with the default port made explicit or implicit (both are tried), or NULL. */
char *twilio_url_port_variant(const char *url);

#endif
