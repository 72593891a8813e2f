/*
 * httpc — the HTTP client the SMS transports share (libcurl is included here only).
 *
 * One struct httpc runs many requests at once on the thread that owns it (libcurl's multi
 * interface): HTTP/2 streams multiplexed over one connection when the server offers
 * HTTP/2 over TLS, otherwise up to `max_in_flight` keep-alive HTTP/1.1 connections, kept
 * open between requests. Call order, all on the owning thread:
 *
 *   httpc_new()      a client whose requests each get `timeout_ms`; NULL if libcurl fails
 *   httpc_start()    start a request (every string of *req is copied: the caller's may go);
 *                    `tag` comes back with its answer. 0, or -1 when libcurl refuses it
 *   httpc_run()      let the transfers progress, waiting up to `wait_ms` for one of them
 *                    or for httpc_wakeup()
 *   httpc_done()     one finished request: true with *resp filled (release it with
 *                    httpc_response_release()) and *tag_r, or false when none is finished
 *   httpc_free()     abandon whatever is still running, close connections, set *client NULL
 *
 * httpc_wakeup() is the one call safe from any thread: a waiting httpc_run() returns.
 * A response's `outcome` tells whether an answer came (HTTPC_ANSWERED, with `status`,
 * `body` and `retry_after_s` from a Retry-After header), whether the request certainly
 * never reached the server (HTTPC_NOT_SENT: DNS, connection refused, TLS handshake — safe
 * to retry), or whether it was sent and no answer came (HTTPC_AMBIGUOUS: the provider may
 * have accepted it). `error` is a human-readable reason for the last two (NULL when
 * answered). httpc_form_add() appends "name=value" percent-encoded to a form body or
 * query string.
 *
 * httpc_perform() runs one request to its end on a client of its own thread (start, run,
 * done): for a one-off such as `config check --connect`, not for sending.
 *
 * libcurl speaks SMTP too, and can stop once connected: httpc_smtp_probe() is how
 * `config check --connect` tries a relay without sending anything — connect, EHLO,
 * STARTTLS (required when `tls` is "starttls"), AUTH when a user is given, QUIT. The
 * transcript (server answers, our command words; never the credentials) is appended to
 * `transcript`. Returns HTTPC_PROBE_OK, HTTPC_PROBE_REFUSED (the relay answered and said
 * no: AUTH refused, no STARTTLS offered, a certificate that does not verify — what the
 * configuration must fix) or HTTPC_PROBE_UNREACHABLE (no answer: DNS, refused, timeout),
 * with a reason in *error_r (caller frees) for the last two.
 */
#ifndef TOCSIN_HTTPC_H
#define TOCSIN_HTTPC_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

struct httpc;

enum httpc_outcome { HTTPC_ANSWERED, HTTPC_NOT_SENT, HTTPC_AMBIGUOUS };

struct httpc_request {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *content_type; /* POST only */
    const char *body;         /* POST only */
    size_t body_len;
    const char *user, *password; /* HTTP Basic when user is non-NULL */
    const char *header;          /* one extra "Name: value" header, or NULL */
};

struct httpc_response {
    enum httpc_outcome outcome;
    long status;
    struct buf body;
    long retry_after_s;
    char *error;
};

struct httpc *httpc_new(long timeout_ms, long max_in_flight);
void httpc_free(struct httpc **client);
int httpc_start(struct httpc *client, const struct httpc_request *req, void *tag);
void httpc_run(struct httpc *client, int wait_ms);
bool httpc_done(struct httpc *client, struct httpc_response *resp, void **tag_r);
void httpc_perform(struct httpc *client, const struct httpc_request *req,
                   struct httpc_response *resp);
void httpc_wakeup(struct httpc *client);
void httpc_response_release(struct httpc_response *resp);
void httpc_form_add(struct buf *form, const char *name, const char *value);

enum httpc_probe { HTTPC_PROBE_OK, HTTPC_PROBE_REFUSED, HTTPC_PROBE_UNREACHABLE };

struct httpc_smtp {
    const char *host;
    long port;
    const char *tls; /* "on" (implicit TLS), "starttls" or "off" */
    bool verify;     /* the certificate and the host name */
    const char *helo_domain;
    const char *user, *password; /* no AUTH when user is NULL or "" */
    long timeout_ms;
};

enum httpc_probe httpc_smtp_probe(const struct httpc_smtp *relay, struct buf *transcript,
                                  char **error_r);

#endif
