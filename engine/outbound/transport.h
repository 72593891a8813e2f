/*
 * transport — how a queued message leaves: one vtable per transport, chosen by name.
 *
 * The queue workers (queue.c) claim due rows, check consent, and hand each transport a
 * batch of struct outbound_msg; the transport fills one struct send_result per message.
 * A transport never reads people, teams or consent: everything it needs is on the row.
 *
 *   open()   connect or prepare (one instance per worker thread); 0, or -1 with *error_r
 *   send()   try every message of the batch; never blocks past its own timeouts
 *   close()  release everything, set *t to NULL
 *   probe()  (`config check --connect`) reach the server and prove the credentials without
 *            sending anything: PROBE_OK, PROBE_REFUSED (it answered no: credentials, TLS —
 *            the configuration must change) or PROBE_UNREACHABLE (no answer, or the
 *            provider is down); *report_r (caller frees) says what was seen, one line per
 *            step, and why it failed. NULL for a transport with nothing to try (the spool).
 *
 * Status meanings: SEND_OK (accepted; provider_id set when the provider gives one),
 * SEND_TRANSIENT (retry with backoff: SMTP 4xx, HTTP 429/5xx, connection refused),
 * SEND_PERMANENT (never retry: SMTP 5xx, provider 4xx), SEND_AMBIGUOUS (the request may
 * have been accepted — a timeout after sending: recorded, not resent blindly).
 * A SEND_TRANSIENT result with `throttled` set means the gateway asked us to slow down
 * (HTTP 429, a 503 with Retry-After, Vonage's "throttled"), or the message was held back,
 * never sent, while such a request was in force: it goes again after retry_after_s and
 * the refusal is not one of its attempts — a slower sender loses nothing.
 * Strings in send_result are allocated by the transport and freed by the queue.
 */
#ifndef TOCSIN_TRANSPORT_H
#define TOCSIN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outbound_msg {
    int64_t id;
    const char *channel;   /* "email" or "sms" */
    const char *recipient; /* address or E.164 number */
    const char *subject;
    const char *body;          /* for email: the complete RFC 5322 message, headers included */
    const char *kind;          /* reply, campaign, reminder, digest, stop_confirmation ... */
    const char *envelope_from; /* email: the VERP return path; sms: the sender id */
    int attempts;
};

enum send_status { SEND_OK, SEND_TRANSIENT, SEND_PERMANENT, SEND_AMBIGUOUS };

struct send_result {
    enum send_status status;
    char *provider_id; /* may be NULL */
    char *error;       /* human-readable reason, NULL on SEND_OK */
    int retry_after_s; /* a provider's Retry-After, 0 if none */
    bool throttled;    /* SEND_TRANSIENT because of the sending rate, not the message */
    bool hard_bounce;  /* SEND_PERMANENT because the address does not exist: the queue
                          records an opt_out (source 'bounce') so it is never tried again */
};

struct transport;

enum probe_result { PROBE_OK, PROBE_REFUSED, PROBE_UNREACHABLE };

struct transport_ops {
    const char *name;    /* "smtp", "twilio", "vonage", "kannel", "generic", "spool" */
    const char *channel; /* "email" or "sms" */
    int (*open)(struct transport **t, char **error_r);
    void (*send)(struct transport *t, const struct outbound_msg *msgs, size_t n,
                 struct send_result *results);
    void (*close)(struct transport **t);
    enum probe_result (*probe)(char **report_r);
};

/* The transport configured for a channel ([smtp] host empty or [sms] provider = spool
 * select the spool), or NULL with *error_r. */
const struct transport_ops *transport_for(const char *channel, char **error_r);

/* The transport called `name` for `channel`, or NULL (tests, `tocsin queue`). */
const struct transport_ops *transport_find(const char *name, const char *channel);

/* Messages per second allowed through `t` across all daemons ([smtp] rate, [sms] rate;
 * the spool is never limited); 0 = unlimited. */
long transport_rate(const struct transport_ops *t);

/* Every transport, one definition in its own file, one row in transports[] (transport.c). */
extern const struct transport_ops smtp_transport;       /* smtp.c */
extern const struct transport_ops spool_mail_transport; /* spool.c */
extern const struct transport_ops spool_sms_transport;  /* spool.c */
extern const struct transport_ops twilio_transport;     /* sms_twilio.c */
extern const struct transport_ops vonage_transport;     /* sms_vonage.c */
extern const struct transport_ops kannel_transport;     /* sms_kannel.c */
extern const struct transport_ops generic_transport;    /* sms_generic.c */
/* SMS gateways (twilio.c, vonage.c, kannel.c, generic.c) declare theirs here. */

#endif
