/*
 * smtp — the SMTP transport, the only module that includes libESMTP.
 *
 * A batch is cut into shares, each sent by its own libESMTP session (one TCP connection,
 * PIPELINING when the server offers it) on its own thread: at most [smtp] connections
 * sessions run at once in the process, whatever the number of workers or batches, and
 * against a distant relay a batch leaves over all of them at once. After each session
 * every message's reverse-path, recipient and DATA status are read back one by one:
 * libESMTP calls a session successful even when the server refused a recipient or a
 * message.
 *
 * TCP_NODELAY: libESMTP 1.1 creates and connects its socket inside
 * smtp_start_session() and offers no hook to reach it, and it writes a command and then
 * waits for the answer, the pattern on which Nagle's algorithm and the peer's delayed
 * ACK stall every message ~40 ms. tocsin therefore defines connect() in its own binary:
 * a pass-through to the C library's connect() that, only on a thread that is inside
 * smtp_start_session() (a thread-local flag set around that call), first sets
 * TCP_NODELAY on a TCP socket. No other connection of the process (libpq, libcurl) is
 * touched. docs/outbound.md explains the choice and the measurements.
 */
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "outbound/httpc.h"
#include "outbound/transport.h"

/* openssl/ssl.h first: libesmtp.h declares smtp_starttls_set_ctx() only after it. */
#include <openssl/ssl.h>

#include <auth-client.h>
#include <dlfcn.h>
#include <errno.h>
#include <libesmtp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static _Thread_local bool smtp_session_thread;
static bool nodelay_enabled = true;

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
static connect_fn real_connect;
static pthread_once_t real_connect_once = PTHREAD_ONCE_INIT;

static void find_real_connect(void)
{
    real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    pthread_once(&real_connect_once, find_real_connect);
    if (!real_connect) {
        errno = ENOSYS;
        return -1;
    }
    if (smtp_session_thread && nodelay_enabled && addr &&
        (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
        int type = 0, one = 1;
        socklen_t tlen = sizeof(type);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return real_connect(fd, addr, len);
}

/* The process-wide limit on parallel sessions, and libESMTP's one-time set-up. */
static sem_t sessions;
static pthread_once_t smtp_once = PTHREAD_ONCE_INIT;

static void smtp_init_once(void)
{
    sem_init(&sessions, 0, (unsigned)config_int("smtp", "connections"));
    nodelay_enabled = config_bool("smtp", "nodelay");
    auth_client_init();
}

struct transport {
    char *server; /* host:port */
    bool starttls, tls_verify;
    const char *user, *password;
    long timeout_ms;
    long connections; /* [smtp] connections: the shares a batch is cut into */
    SSL_CTX *tls;
};

static int auth_interact(auth_client_request_t request, char **result, int fields, void *arg)
{
    struct transport *t = arg;
    for (int i = 0; i < fields; i++) {
        if (request[i].flags & AUTH_USER)
            result[i] = (char *)t->user;
        else if (request[i].flags & AUTH_PASS)
            result[i] = (char *)t->password;
        else
            return 0;
    }
    return 1;
}

static int smtp_open(struct transport **t_r, char **error_r)
{
    pthread_once(&smtp_once, smtp_init_once);
    const char *tls = config_str("smtp", "tls");
    if (strcmp(tls, "on") == 0) {
        *error_r = xstrdup("[smtp] tls = on (implicit TLS, port 465) is not supported by "
                           "libESMTP; use tls = starttls with the submission port 587");
        return -1;
    }
    struct transport *t = xcalloc(1, sizeof(*t));
    const char *host = config_str("smtp", "host");
    /* libESMTP takes "host:port" and resolves it itself at each session. */
    t->server = xasprintf("%s:%ld", host, config_int("smtp", "port"));
    t->timeout_ms = config_int("smtp", "timeout") * 1000L;
    t->connections = config_int("smtp", "connections");
    t->starttls = strcmp(tls, "starttls") == 0;
    t->tls_verify = config_bool("smtp", "tls_verify");
    if (t->starttls) {
        t->tls = SSL_CTX_new(TLS_client_method());
        if (!t->tls) {
            *error_r = xstrdup("cannot create a TLS context");
            free(t->server);
            free(t);
            return -1;
        }
        /* The handshake itself does not fail on a bad certificate: libESMTP checks the
         * verification result and the host name right after it, before EHLO, AUTH or any
         * message, and asks session_event() — which can then say exactly what was wrong. */
        SSL_CTX_set_default_verify_paths(t->tls);
        SSL_CTX_set_verify(t->tls, SSL_VERIFY_NONE, NULL);
        /* TLS 1.2 only: with TLS 1.3, libESMTP 1.1's poll()-driven reader waits on the
         * socket while the server's answer already sits decrypted in OpenSSL's buffer
         * (next to the post-handshake session tickets), and about one session in twenty
         * hung until the timeout against aiosmtpd here; with 1.2, 140 sessions in a row
         * did not. */
        SSL_CTX_set_min_proto_version(t->tls, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(t->tls, TLS1_2_VERSION);
    }
    t->user = config_str("smtp", "user");
    t->password = config_str("smtp", "password");
    *t_r = t;
    return 0;
}

static void smtp_close(struct transport **t)
{
    if (!*t)
        return;
    if ((*t)->tls)
        SSL_CTX_free((*t)->tls);
    free((*t)->server);
    free(*t);
    *t = NULL;
}

static char *status_text(const char *what, const smtp_status_t *st)
{
    const char *text = st->text ? st->text : "";
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    return xasprintf("%s: %d %.*s", what, st->code, (int)n, text);
}

/* Classify one SMTP reply: 0 when it says nothing (the step was never reached). */
static int reply_class(const smtp_status_t *st)
{
    return st && st->code >= 200 && st->code < 600 ? st->code / 100 : 0;
}

/* The server's queue id from "250 2.0.0 Ok: queued as 4Xyz", else NULL. */
static char *queue_id(const smtp_status_t *st)
{
    const char *p = st->text ? strstr(st->text, "queued as ") : NULL;
    if (!p)
        return NULL;
    p += strlen("queued as ");
    size_t n = strcspn(p, " \r\n");
    return n > 0 && n < 100 ? xstrndup(p, n) : NULL;
}

/* 530 "authentication required", 534/535/538: AUTH refused or needed. */
static bool is_auth_refusal(const smtp_status_t *st)
{
    return st->code == 530 || st->code == 534 || st->code == 535 || st->code == 538;
}

/* A RCPT refusal that means "no such mailbox": enhanced status 5.1.x (RFC 3463 address
 * status), or without enhanced codes 550/551/553. A policy refusal (5.7.x) is not. */
static bool is_bad_mailbox(const smtp_status_t *st)
{
    if (st->enh_class == 5)
        return st->enh_subject == 1;
    return st->code == 550 || st->code == 551 || st->code == 553;
}

static void result_for(smtp_message_t m, smtp_recipient_t r, const char *session_error,
                       struct send_result *res)
{
    const smtp_status_t *mail = smtp_reverse_path_status(m);
    const smtp_status_t *rcpt = smtp_recipient_status(r);
    const smtp_status_t *data = smtp_message_transfer_status(m);
    const struct {
        const char *what;
        const smtp_status_t *st;
    } steps[] = {{"MAIL FROM", mail}, {"RCPT TO", rcpt}, {"DATA", data}};
    *res = (struct send_result){.status = SEND_OK};
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        int cls = reply_class(steps[i].st);
        if (cls == 2)
            continue;
        if (i == 0 && is_auth_refusal(steps[i].st)) {
            /* A wrong password or a relay that wants AUTH is the operator's to fix: keep
             * the messages queued instead of failing every one of them for good. */
            res->status = SEND_TRANSIENT;
            res->error = status_text("MAIL FROM (authentication)", steps[i].st);
        } else if (cls == 4 || cls == 5) {
            res->status = cls == 5 ? SEND_PERMANENT : SEND_TRANSIENT;
            res->error = status_text(steps[i].what, steps[i].st);
            res->hard_bounce = i == 1 && is_bad_mailbox(steps[i].st);
        } else {
            /* Never answered: connection refused or lost before this step. */
            res->status = SEND_TRANSIENT;
            res->error = session_error
                             ? xstrdup(session_error)
                             : xasprintf("%s: no answer, session ended early", steps[i].what);
        }
        return;
    }
    res->provider_id = queue_id(data);
}

/* What one session learnt from libESMTP's events: why it stopped, when it says nothing
 * more useful than "session ended early". */
struct session_events {
    struct transport *t;
    char *problem;
};

static void note_problem(struct session_events *ev, char *problem)
{
    free(ev->problem);
    ev->problem = problem;
}

/* libESMTP asks the application, through events, whether to accept a certificate it
 * could not verify or whose name does not match: yes only when [smtp] tls_verify = off. */
static void session_event(smtp_session_t session, int event, void *arg, ...)
{
    (void)session;
    struct session_events *ev = arg;
    va_list ap;
    va_start(ap, arg);
    switch (event) {
    case SMTP_EV_INVALID_PEER_CERTIFICATE: {
        long result = va_arg(ap, long);
        int *ok = va_arg(ap, int *);
        *ok = !ev->t->tls_verify;
        if (!*ok)
            note_problem(ev, xasprintf("STARTTLS: certificate not trusted: %s",
                                       X509_verify_cert_error_string(result)));
        break;
    }
    case SMTP_EV_WRONG_PEER_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        const char *name = va_arg(ap, const char *);
        *ok = !ev->t->tls_verify;
        if (!*ok)
            note_problem(ev, xasprintf("STARTTLS: certificate is for %s, not %s",
                                       name && *name ? name : "another name", ev->t->server));
        break;
    }
    case SMTP_EV_NO_PEER_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        *ok = !ev->t->tls_verify;
        if (!*ok)
            note_problem(ev, xstrdup("STARTTLS: the server sent no certificate"));
        break;
    }
    case SMTP_EV_WEAK_CIPHER: {
        (void)va_arg(ap, int);
        int *ok = va_arg(ap, int *);
        *ok = 0;
        note_problem(ev, xstrdup("STARTTLS: cipher too weak"));
        break;
    }
    case SMTP_EV_EXTNA_STARTTLS:
        note_problem(ev, xstrdup("the server does not offer STARTTLS ([smtp] tls = starttls)"));
        break;
    default:
        break;
    }
    va_end(ap);
}

/* One SMTP session carrying `n` messages: the caller holds one of the process's session
 * slots for it. */
static void run_session(struct transport *t, const struct outbound_msg *msgs, size_t n,
                        struct send_result *results)
{
    smtp_session_t session = smtp_create_session();
    smtp_message_t *messages = xcalloc(n, sizeof(*messages));
    smtp_recipient_t *recipients = xcalloc(n, sizeof(*recipients));
    /* An authentication context keeps the state of one exchange: one per session, since
     * the sessions of a batch run at the same time. */
    auth_context_t auth = NULL;
    smtp_set_server(session, t->server);
    static const int steps[] = {Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA, Timeout_TRANSFER,
                                Timeout_DATA2};
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
        smtp_set_timeout(session, steps[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, t->timeout_ms);
    if (t->starttls) {
        smtp_starttls_set_ctx(session, t->tls);
        smtp_starttls_enable(session, Starttls_REQUIRED);
    }
    if (t->user[0]) {
        auth = auth_create_context();
        auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
        auth_set_interact_cb(auth, auth_interact, t);
        smtp_auth_set_context(session, auth);
    }
    struct session_events events = {.t = t};
    smtp_set_eventcb(session, session_event, &events);
    for (size_t i = 0; i < n; i++) {
        messages[i] = smtp_add_message(session);
        smtp_set_reverse_path(messages[i], msgs[i].envelope_from);
        smtp_set_message_str(messages[i], (void *)msgs[i].body);
        recipients[i] = smtp_add_recipient(messages[i], msgs[i].recipient);
    }

    int64_t started = now_monotonic_ms();
    smtp_session_thread = true;
    int ok = smtp_start_session(session);
    smtp_session_thread = false;

    char *session_error = NULL;
    if (events.problem) {
        session_error = xasprintf("%s: %s", t->server, events.problem);
        log_warn("smtp_session_failed", "server=%s error=%s messages=%zu", log_q(t->server),
                 log_q(events.problem), n);
    } else if (!ok) {
        char reason[160];
        smtp_strerror(smtp_errno(), reason, sizeof(reason));
        session_error = xasprintf("%s: %s", t->server, reason);
        log_warn("smtp_session_failed", "server=%s error=%s messages=%zu", log_q(t->server),
                 log_q(reason), n);
    }
    for (size_t i = 0; i < n; i++)
        result_for(messages[i], recipients[i], session_error, &results[i]);
    log_debug("smtp_session", "server=%s messages=%zu ms=%lld", log_q(t->server), n,
              (long long)(now_monotonic_ms() - started));
    free(session_error);
    free(events.problem);
    smtp_destroy_session(session);
    if (auth)
        auth_destroy_context(auth);
    free(messages);
    free(recipients);
}

/* The relay as the workers will use it, asked for nothing but a session (httpc.h). */
static enum probe_result smtp_probe(char **report_r)
{
    struct httpc_smtp relay = {
        .host = config_str("smtp", "host"),
        .port = config_int("smtp", "port"),
        .tls = config_str("smtp", "tls"),
        .verify = config_bool("smtp", "tls_verify"),
        .helo_domain = config_str("smtp", "return_path_domain"),
        .user = config_str("smtp", "user"),
        .password = config_str("smtp", "password"),
        .timeout_ms = config_int("smtp", "timeout") * 1000L,
    };
    struct buf report = BUF_INIT;
    char *error = NULL;
    buf_printf(&report, "relay %s:%ld (tls %s%s)\n", relay.host, relay.port, relay.tls,
               *relay.user ? ", AUTH as [smtp] user" : "");
    enum httpc_probe got = httpc_smtp_probe(&relay, &report, &error);
    if (error)
        buf_printf(&report, "%s\n", error);
    free(error);
    *report_r = buf_detach(&report);
    return got == HTTPC_PROBE_OK        ? PROBE_OK
           : got == HTTPC_PROBE_REFUSED ? PROBE_REFUSED
                                        : PROBE_UNREACHABLE;
}

/* A share of a batch, sent by a session of its own on a thread of its own. */
struct batch_part {
    struct transport *t;
    const struct outbound_msg *msgs;
    size_t n;
    struct send_result *results;
    pthread_t thread;
    bool threaded;
};

static void *run_part(void *arg)
{
    struct batch_part *part = arg;
    sem_wait(&sessions);
    run_session(part->t, part->msgs, part->n, part->results);
    sem_post(&sessions);
    return NULL;
}

/*
 * A batch is cut into [smtp] connections equal shares (fewer when it has fewer messages),
 * each sent by its own session as soon as one of the process's session slots is free.
 * Against a distant relay every message costs round trips — libESMTP waits for the
 * answer to MAIL FROM, then for those to RCPT TO and DATA sent together, then for the
 * one to the final dot — so a batch leaves as fast as the sessions carrying it are many.
 * Shares wait for slots rather than a batch taking what is free when it starts: two
 * batches arriving together then share the sessions instead of one of them going out
 * over a single connection while the other holds all the rest.
 */
static void smtp_send(struct transport *t, const struct outbound_msg *msgs, size_t n,
                      struct send_result *results)
{
    size_t k = n < (size_t)t->connections ? n : (size_t)t->connections;
    if (k == 0)
        return;
    struct batch_part *parts = xcalloc(k, sizeof(*parts));
    for (size_t i = 0; i < k; i++) {
        size_t first = i * n / k, end = (i + 1) * n / k;
        parts[i] = (struct batch_part){
            .t = t, .msgs = msgs + first, .n = end - first, .results = results + first};
    }
    for (size_t i = 1; i < k; i++)
        parts[i].threaded = pthread_create(&parts[i].thread, NULL, run_part, &parts[i]) == 0;
    run_part(&parts[0]);
    for (size_t i = 1; i < k; i++) {
        if (parts[i].threaded)
            pthread_join(parts[i].thread, NULL);
        else
            run_part(&parts[i]); /* no thread to be had: this share goes after the first */
    }
    free(parts);
}

const struct transport_ops smtp_transport = {
    .name = "smtp",
    .channel = "email",
    .open = smtp_open,
    .probe = smtp_probe,
    .send = smtp_send,
    .close = smtp_close,
};
