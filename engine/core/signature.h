/*
 * signature — the SMS providers' request signatures, shared by the webhooks that verify
 * them (engine/inbound/) and the transports that sign what they send (engine/outbound/).
 *
 * Every function is pure (no config, no I/O), so tests can drive it, and returns a string
 * the caller frees.
 */
#ifndef TOCSIN_SIGNATURE_H
#define TOCSIN_SIGNATURE_H

#include "lib/form.h"

#include <stdbool.h>
#include <stddef.h>

/* base64(HMAC-SHA1(token, url + name1 + value1 + ...)), parameters sorted by name then
 * value, as Twilio signs X-Twilio-Signature. */
char *twilio_signature(const char *token, const char *url, const struct form *params);
/* hex(HMAC-SHA256(secret, "&name=value" ...)) over the parameters sorted by name except
 * `sig`, '&' and '=' in values replaced by '_' — Vonage's "HMAC SHA-256" method. */
char *vonage_signature(const char *secret, const struct form *params);
/* "sha256=" hex(HMAC-SHA256(secret, body)) — the generic webhook's X-Tocsin-Signature. */
char *generic_signature(const char *secret, const char *body, size_t len);

/* Equality of two NUL-terminated strings in time independent of where they differ (the
 * lengths may leak): how signatures, secrets and tokens are compared. */
bool signature_equal(const char *a, const char *b);
/* Whether a signed request's Unix `timestamp` (text, as Vonage sends it) is within
 * `window_s` seconds of `now`, either way; false when it is not a number. */
bool signature_fresh(const char *timestamp, long long now, long long window_s);

#endif
