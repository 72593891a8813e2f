#include "core/http.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/database.h"
#include "lib/form.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

struct header {
    char *name, *value;
};

struct http_request {
    struct MHD_Connection *conn;
    bool admin; /* came in on [http] admin_listen */
    char *target;
    const char *method, *path;
    struct buf body;
    bool too_large;
    bool answered;
    unsigned status;
    struct header *headers;
    size_t nheaders;
    int64_t started_ms;
    const char *route; /* the matched route's path: a bounded label for metrics */
    bool secret_path;  /* the route's path carries a secret: log only the route */
    size_t max_body;   /* of the route the path names */
};

static struct MHD_Daemon *daemon_handle, *admin_handle;
/* Passed as the URI callback's closure by the admin listener: its requests are marked. */
static int admin_marker;
static size_t max_body, max_upload;
static pthread_key_t db_key;
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;

static void close_thread_db(void *p)
{
    struct db *db = p;
    db_close(&db);
}

static void make_db_key(void)
{
    pthread_key_create(&db_key, close_thread_db);
}

struct db *http_db(struct http_request *req)
{
    (void)req;
    pthread_once(&db_key_once, make_db_key);
    struct db *db = pthread_getspecific(db_key);
    if (db && !db_lost(db))
        return db;
    if (db) {
        db_close(&db);
        pthread_setspecific(db_key, NULL);
    }
    char *error = NULL;
    db = database_open(&error);
    if (!db) {
        log_warn("http_db_unreachable", "error=%s", log_q(error));
        free(error);
        return NULL;
    }
    pthread_setspecific(db_key, db);
    return db;
}

bool http_on_admin_listener(const struct http_request *req)
{
    return req->admin;
}

const char *http_method(const struct http_request *req)
{
    return req->method;
}

const char *http_path(const struct http_request *req)
{
    return req->path;
}

const char *http_target(const struct http_request *req)
{
    return req->target;
}

const char *http_body(const struct http_request *req, size_t *len_r)
{
    if (len_r)
        *len_r = req->body.len;
    return buf_str(&req->body);
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    req->headers = xrealloc(req->headers, (req->nheaders + 1) * sizeof(*req->headers));
    req->headers[req->nheaders].name = xstrdup(name);
    req->headers[req->nheaders].value = xstrdup(value);
    req->nheaders++;
}

/* Answers are not cached unless the handler said otherwise (the console's static files). */
static bool has_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const char *body, size_t len)
{
    if (req->answered)
        return;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", content_type);
    if (!has_header(req, "Cache-Control"))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; i < req->nheaders; i++)
        MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
    MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    req->answered = true;
    req->status = status;
}

void http_respond_text(struct http_request *req, unsigned status, const char *message)
{
    char *text = xasprintf("%s\n", message);
    http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
    free(text);
}

/* ---- form bodies ---- */

struct form_parts {
    struct form *form;
    struct buf value; /* the field being read: a value may come in several pieces */
    char *name;
    bool failed;
};

static void parts_flush(struct form_parts *fp)
{
    if (!fp->name)
        return;
    form_add(fp->form, fp->name, buf_str(&fp->value));
    free(fp->name);
    fp->name = NULL;
    buf_reset(&fp->value);
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    struct form_parts *fp = cls;
    if (!key || !*key)
        return MHD_YES;
    if (off == 0 || !fp->name || strcmp(fp->name, key) != 0) {
        parts_flush(fp);
        if (fp->form->n + 2 > FORM_MAX_FIELDS) {
            fp->failed = true;
            return MHD_NO;
        }
        fp->name = xstrdup(key);
        if (filename) {
            char *label = xasprintf("%s.filename", key);
            form_add(fp->form, label, filename);
            free(label);
        }
    }
    if (size && memchr(data, '\0', size)) {
        fp->failed = true; /* a NUL byte: no text form field holds one */
        return MHD_NO;
    }
    buf_add(&fp->value, data, size);
    return MHD_YES;
}

int http_form(struct http_request *req, struct form *form_r, const char **reason_r)
{
    memset(form_r, 0, sizeof(*form_r));
    const char *type = http_header(req, "Content-Type");
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0) {
        if (req->body.len == 0)
            return 0;
        return form_parse(buf_str(&req->body), req->body.len, form_r, reason_r);
    }
    struct form_parts fp = {.form = form_r};
    struct MHD_PostProcessor *pp = MHD_create_post_processor(req->conn, 16 * 1024, on_part, &fp);
    if (!pp) {
        *reason_r = "a multipart body without a boundary";
        return -1;
    }
    enum MHD_Result rc = MHD_post_process(pp, buf_str(&req->body), req->body.len);
    MHD_destroy_post_processor(pp);
    parts_flush(&fp);
    buf_release(&fp.value);
    if (rc != MHD_YES || fp.failed) {
        form_release(form_r);
        *reason_r =
            fp.failed ? "a form with too many fields, or a NUL byte" : "a malformed multipart body";
        return -1;
    }
    return 0;
}

struct stream {
    struct http_request *req;
    http_fill_fn fill;
    void *ctx;
    void (*release)(void *ctx);
    struct buf pending;
    size_t offset; /* bytes of `pending` already handed to the connection */
    bool done;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct stream *st = cls;
    while (st->offset == st->pending.len) {
        if (st->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&st->pending);
        st->offset = 0;
        int rc = st->fill(st->ctx, st->req, &st->pending);
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0)
            st->done = true;
    }
    size_t n = st->pending.len - st->offset;
    if (n > max)
        n = max;
    memcpy(out, st->pending.data + st->offset, n);
    st->offset += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    if (st->release)
        st->release(st->ctx);
    buf_release(&st->pending);
    free(st);
}

void http_respond_stream(struct http_request *req, unsigned status, const char *content_type,
                         http_fill_fn fill, void *ctx, void (*release)(void *ctx))
{
    if (req->answered) {
        if (release)
            release(ctx);
        return;
    }
    struct stream *st = xcalloc(1, sizeof(*st));
    st->req = req;
    st->fill = fill;
    st->ctx = ctx;
    st->release = release;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                  stream_read, st, stream_free);
    MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; i < req->nheaders; i++)
        MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
    MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    req->answered = true;
    req->status = status;
}

static bool path_matches(const struct http_route *r, const char *path)
{
    size_t n = strlen(r->path);
    return r->path[n - 1] == '/' && n > 1 ? strncmp(path, r->path, n) == 0
                                          : strcmp(path, r->path) == 0;
}

/* The body limit of the first route the path names: checked before any byte is kept. */
static size_t body_limit(const char *path)
{
    for (const struct http_route *r = http_routes; r->path; r++)
        if (path_matches(r, path))
            return r->flags & HTTP_UPLOAD ? max_upload : max_body;
    return max_body;
}

static bool method_allowed(const char *methods, const char *method)
{
    size_t n = strlen(method);
    for (const char *m = methods; *m;) {
        const char *bar = strchr(m, '|');
        size_t len = bar ? (size_t)(bar - m) : strlen(m);
        if (len == n && strncmp(m, method, n) == 0)
            return true;
        m = bar ? bar + 1 : m + len;
    }
    return false;
}

/* Time the public listener's threads spent in handlers (http_handler_time_us()). */
static atomic_llong handler_time_us;

static void dispatch(struct http_request *req)
{
    const struct http_route *path_match = NULL;
    for (const struct http_route *r = http_routes; r->path; r++) {
        if (!path_matches(r, req->path) || !http_route_served(r, req->admin))
            continue;
        path_match = r;
        req->route = r->path;
        req->secret_path = r->flags & HTTP_SECRET_PATH;
        if (method_allowed(r->methods, req->method)) {
            r->handle(req);
            if (!req->answered) {
                log_error("http_no_answer", "path=%s", log_q(req->path));
                http_respond_text(req, 500, "internal error");
            }
            return;
        }
    }
    if (path_match) {
        char *allow = xstrdup(path_match->methods);
        for (char *p = allow; *p; p++)
            if (*p == '|')
                *p = ',';
        http_add_header(req, "Allow", allow);
        free(allow);
        http_respond_text(req, 405, "method not allowed");
    } else {
        http_respond_text(req, 404, "not found");
    }
}

/* ---- deadlines per connection -------------------------------------------------------
 * libmicrohttpd's own timeout is an idle timeout: every byte restarts it, so a client that
 * sends one header line every few seconds holds its connection for ever, and enough of them
 * fill the server. So each connection carries a watch: the phase it is in (reading
 * headers, reading the body, in a handler, which has no deadline) and when that phase
 * began. A watchdog thread shuts the socket of a connection whose phase outlived its
 * deadline down; libmicrohttpd then reads end-of-file and closes it the usual way.
 * libmicrohttpd sends the CLOSED notification, where the watch is unlinked, before it
 * closes the socket, so the watchdog never shuts down a descriptor already reused. */
enum conn_phase { PHASE_HEADERS, PHASE_BODY, PHASE_HANDLER };

struct conn_watch {
    int fd;
    enum conn_phase phase;
    int64_t since_ms;
    bool cut;
    char client[INET6_ADDRSTRLEN];
    struct conn_watch *prev, *next;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_wake = PTHREAD_COND_INITIALIZER;
static struct conn_watch *watches;
static bool watchdog_started, watchdog_stopping;
static pthread_t watchdog;
static int64_t header_deadline_ms, body_deadline_ms;

static void watch_client(struct MHD_Connection *conn, struct conn_watch *w)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    snprintf(w->client, sizeof(w->client), "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, w->client,
                  sizeof(w->client));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, w->client,
                  sizeof(w->client));
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_watch *w = xcalloc(1, sizeof(*w));
        w->fd = info ? info->connect_fd : -1;
        w->phase = PHASE_HEADERS;
        w->since_ms = now_monotonic_ms();
        watch_client(conn, w);
        pthread_mutex_lock(&watch_lock);
        w->next = watches;
        if (watches)
            watches->prev = w;
        watches = w;
        pthread_mutex_unlock(&watch_lock);
        *socket_context = w;
        return;
    }
    struct conn_watch *w = *socket_context;
    if (!w)
        return;
    pthread_mutex_lock(&watch_lock);
    if (w->prev)
        w->prev->next = w->next;
    else
        watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&watch_lock);
    free(w);
    *socket_context = NULL;
}

static void watch_phase(struct MHD_Connection *conn, enum conn_phase phase)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_watch *w = info ? info->socket_context : NULL;
    if (!w)
        return;
    pthread_mutex_lock(&watch_lock);
    w->phase = phase;
    w->since_ms = now_monotonic_ms();
    pthread_mutex_unlock(&watch_lock);
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watch_lock);
    while (!watchdog_stopping) {
        int64_t now = now_monotonic_ms();
        for (struct conn_watch *w = watches; w; w = w->next) {
            int64_t limit = w->phase == PHASE_HEADERS ? header_deadline_ms
                            : w->phase == PHASE_BODY  ? body_deadline_ms
                                                      : 0;
            if (w->cut || w->fd < 0 || !limit || now - w->since_ms <= limit)
                continue;
            shutdown(w->fd, SHUT_RDWR);
            w->cut = true;
            const char *phase = w->phase == PHASE_HEADERS ? "headers" : "body";
            log_info("http_deadline", "client=%s phase=%s seconds=%lld", w->client, phase,
                     (long long)(limit / 1000));
            metrics_add(w->phase == PHASE_HEADERS
                            ? "tocsin_http_connections_cut_total{phase=\"headers\"}"
                            : "tocsin_http_connections_cut_total{phase=\"body\"}",
                        1);
        }
        struct timespec until = deadline_after_ms(250);
        pthread_cond_timedwait(&watch_wake, &watch_lock, &until);
    }
    pthread_mutex_unlock(&watch_lock);
    return NULL;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_request *req = xcalloc(1, sizeof(*req));
    req->conn = conn;
    req->admin = cls == &admin_marker;
    req->target = xstrdup(uri);
    req->started_ms = now_monotonic_ms();
    return req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct http_request *req = *con_cls;
    if (!req) /* no URI callback: cannot happen with our options, refuse defensively */
        return MHD_NO;
    if (!req->method) {
        /* The headers are in: the body's deadline starts. */
        watch_phase(conn, PHASE_BODY);
        req->method = method;
        req->path = url;
        req->max_body = body_limit(url);
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (length && strtoull(length, NULL, 10) > req->max_body)
            req->too_large = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (req->body.len + *upload_data_size > req->max_body)
            req->too_large = true;
        else
            buf_add(&req->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    watch_phase(conn, PHASE_HANDLER);
    if (req->too_large) {
        http_respond_text(req, 413, "request body too large");
    } else {
        int64_t start = now_monotonic_us();
        dispatch(req);
        if (!req->admin)
            atomic_fetch_add(&handler_time_us, now_monotonic_us() - start);
    }
    return MHD_YES;
}

int64_t http_handler_time_us(void)
{
    return atomic_load(&handler_time_us);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    struct http_request *req = *con_cls;
    /* On a kept-alive connection the next request's headers are due from now on. */
    watch_phase(conn, PHASE_HEADERS);
    if (!req)
        return;
    if (req->method) {
        int64_t ms = now_monotonic_ms() - req->started_ms;
        char series[160];
        snprintf(series, sizeof(series), "tocsin_http_request_duration_seconds{route=\"%s\"}",
                 req->route ? req->route : "other");
        metrics_observe_ms(series, ms);
        snprintf(series, sizeof(series), "tocsin_http_responses_total{route=\"%s\",code=\"%u\"}",
                 req->route ? req->route : "other", req->status);
        metrics_add(series, 1);
        log_debug("http", "method=%s path=%s status=%u ms=%lld term=%d", req->method,
                  log_q(req->secret_path ? req->route : req->path), req->status, (long long)ms,
                  (int)code);
    }
    buf_release(&req->body);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    free(req->target);
    free(req);
    *con_cls = NULL;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    struct buf b = BUF_INIT;
    buf_vprintf(&b, fmt, ap);
    log_warn("http_server", "message=%s", log_q(str_trim(b.data ? b.data : (char *)"")));
    buf_release(&b);
}

/* "host:port" or "[v6]:port" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, char **error_r)
{
    memset(ss, 0, sizeof(*ss));
    const char *colon = strrchr(listen, ':');
    long port;
    if (!colon || str_to_long(colon + 1, 0, 65535, &port) < 0) {
        *error_r = xasprintf("[http] listen %s: expected HOST:PORT", listen);
        return -1;
    }
    char *host = xstrndup(listen, (size_t)(colon - listen));
    int rc = 0;
    if (host[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        host[strlen(host) - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        rc = inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        rc = inet_pton(AF_INET, *host ? host : "0.0.0.0", &s4->sin_addr) == 1 ? 0 : -1;
    }
    if (rc < 0)
        *error_r = xasprintf("[http] listen %s: not a numeric address", listen);
    free(host);
    return rc;
}

/* One libmicrohttpd daemon on `listen`. */
static struct MHD_Daemon *start_listener(const char *key, unsigned threads, unsigned max_conns,
                                         unsigned per_ip, void *uri_cls, char **error_r)
{
    struct sockaddr_storage ss;
    const char *listen = config_str("http", key);
    if (parse_listen(listen, &ss, error_r) < 0)
        return NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, on_uri, uri_cls,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)config_int("http", "timeout"), MHD_OPTION_CONNECTION_LIMIT, max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)65536, MHD_OPTION_END);
    if (!d) {
        *error_r =
            xasprintf("[http] %s: cannot listen on %s (in use, or not permitted)", key, listen);
        return NULL;
    }
    log_info("http_listen", "address=%s%s", listen, uri_cls ? " admin=1" : "");
    return d;
}

int http_start(char **error_r)
{
    max_body = (size_t)config_int("http", "max_body");
    max_upload = (size_t)config_int("http", "max_upload");
    long max_conns = config_int("http", "max_connections");
    long per_ip = config_int("http", "max_connections_per_ip");
    if (per_ip >= max_conns) {
        *error_r = xasprintf("[http] max_connections_per_ip (%ld) must be below max_connections "
                             "(%ld), or one address can take every connection",
                             per_ip, max_conns);
        return -1;
    }
    header_deadline_ms = config_int("http", "header_timeout") * 1000;
    body_deadline_ms = config_int("http", "body_timeout") * 1000;
    watchdog_stopping = false;
    if (pthread_create(&watchdog, NULL, watchdog_main, NULL) != 0) {
        *error_r = xstrdup("cannot start the HTTP watchdog thread");
        return -1;
    }
    watchdog_started = true;
    daemon_handle = start_listener("listen", (unsigned)config_int("http", "threads"),
                                   (unsigned)max_conns, (unsigned)per_ip, NULL, error_r);
    /* The admin listener is for the operator's scraper and probes: a few connections. */
    if (daemon_handle && *config_str("http", "admin_listen"))
        admin_handle = start_listener("admin_listen", 1, 64, 16, &admin_marker, error_r);
    if (!daemon_handle || (*config_str("http", "admin_listen") && !admin_handle)) {
        http_stop();
        return -1;
    }
    return 0;
}

void http_stop(void)
{
    if (daemon_handle)
        MHD_stop_daemon(daemon_handle);
    if (admin_handle)
        MHD_stop_daemon(admin_handle);
    daemon_handle = admin_handle = NULL;
    if (watchdog_started) {
        pthread_mutex_lock(&watch_lock);
        watchdog_stopping = true;
        pthread_cond_signal(&watch_wake);
        pthread_mutex_unlock(&watch_lock);
        pthread_join(watchdog, NULL);
        watchdog_started = false;
    }
}
