/*
 * sms_transports — the SMS gateways as transports (engine/transport.h): Twilio REST,
 * Vonage SMS API, Kannel sendsms and a generic signed JSON POST. transport.c lists them
 * in its registry by name (their extern lines are in transport.h); [sms] provider
 * chooses one.
 *
 * What they share (sms_transport.c): one sender thread per process that runs the
 * requests of every worker's batches concurrently on one HTTP client — at most [sms]
 * concurrency in flight, over keep-alive connections or HTTP/2 streams — while each
 * worker waits in sms_transport_send() for its own batch; the text composed with
 * sms_compose() (transliteration, STOP mention on campaigns — a no-op if the body is
 * already composed), its GSM-7/UCS-2 cost, and the mapping of outcomes:
 * 2xx accepted → SEND_OK; 429 and 5xx → SEND_TRANSIENT (with Retry-After); other 4xx →
 * SEND_PERMANENT with the provider's own error; connection refused / DNS → TRANSIENT;
 * a timeout after the request left → SEND_AMBIGUOUS (see docs/sms.md: never resent
 * blindly, because a provider that did accept it would deliver it twice).
 * A 429, a 503 with Retry-After or a provider's own "throttled" marks the result
 * `throttled` (transport.h) and stops the sender from starting any request until the
 * Retry-After (1 s when none is given) has passed: the texts of batches handed to it
 * meanwhile come back at once, unsent and `throttled` too, for the queue to hold.
 * Each provider file supplies how to build its request and read its answer.
 */
#ifndef TOCSIN_SMS_TRANSPORTS_H
#define TOCSIN_SMS_TRANSPORTS_H

#include "lib/buf.h"
#include "outbound/gsm.h"
#include "outbound/httpc.h"
#include "outbound/transport.h"

/* What a provider file implements. */
struct sms_outgoing {
    const struct outbound_msg *msg;
    const char *text; /* composed */
    const char *from; /* msg->envelope_from or [sms] from */
    struct gsm_info info;
};

struct sms_provider {
    const char *name;
    const char *default_api_url;
    /* Fill req (url, body …) using the scratch bufs, which live until the request is
     * started (httpc_start() copies it); req's other strings must outlive the answer. */
    void (*build)(const struct sms_outgoing *out, const char *api_url, struct buf *url,
                  struct buf *body, struct httpc_request *req);
    /* Read an answered request (any status) into *result; the common code has already
     * handled 429/5xx. */
    void (*answer)(const struct sms_outgoing *out, const struct httpc_response *resp,
                   struct send_result *result);
    /* `config check --connect`: a request that proves the account without sending a text
     * (the provider's documented account or balance endpoint), and how to read its answer
     * once the common code has set aside network errors, 429 and 5xx: PROBE_OK or
     * PROBE_REFUSED with what it saw in *detail_r (caller frees). */
    void (*probe_build)(const char *api_url, struct buf *url, struct httpc_request *req);
    enum probe_result (*probe_answer)(const struct httpc_response *resp, char **detail_r);
};

int sms_transport_open(const struct sms_provider *provider, struct transport **t, char **error_r);
void sms_transport_send(struct transport *t, const struct outbound_msg *msgs, size_t n,
                        struct send_result *results);
void sms_transport_close(struct transport **t);
/* The transport_ops probe of a provider: its probe request against [sms] api_url. */
enum probe_result sms_transport_probe(const struct sms_provider *provider, char **report_r);

/* [http] public_url without a trailing slash, followed by `path` (caller frees). */
char *sms_public_url(const char *path);
/* The answer body cut to a loggable length, for error texts (caller frees). */
char *sms_answer_excerpt(const struct httpc_response *resp);

#endif
