/*
 * http — the embedded HTTP server (libmicrohttpd is included by http.c only).
 *
 * http_start() listens on [http] listen with [http] threads worker threads and serves the
 * routes of http_routes[] (routes.c); with [http] admin_listen set it also listens there
 * (http_route_served() says which routes each listener serves). http_stop() stops accepting, lets
 * running requests finish and joins the threads. A route handler runs once per request, after the
 * whole body arrived (bodies over [http] max_body get 413 before any handler runs), and must answer
 * with http_respond() exactly once. Everything a request returns lives until the response is
 * queued.
 *
 * Abuse is bounded before any handler runs: a client has [http] header_timeout seconds to
 * send a request's headers and [http] body_timeout more for its body, however slowly it
 * trickles them (then the connection is cut); at most [http] max_connections are held, and
 * [http] max_connections_per_ip from one address, so one address cannot take the room
 * the gateway needs.
 *
 * Answers carry Cache-Control: no-store unless the handler adds its own Cache-Control.
 *
 * http_db() gives the worker thread's own database connection (opened on first use,
 * reopened after a failure); NULL means the database is unreachable and the handler
 * answers 503 so the gateway retries.
 *
 * A route with HTTP_UPLOAD takes bodies up to [http] max_upload instead (CSV imports); one
 * with HTTP_SECRET_PATH carries a secret in its path (a sign-in or unsubscribe token),
 * which the request log then leaves out.
 * http_respond_stream() answers with a body produced piece by piece (chunked), for
 * exports too large to hold: `fill` appends the next piece to `out` and returns 1, or 0
 * at the end, or -1 on an error (the connection is then cut, so the client sees a
 * truncated transfer, never a short file that looks whole). It runs on the request's
 * worker thread, so http_db() is the same connection; it must not leave a transaction
 * open between pieces. `release` frees `ctx` once the response is done or abandoned.
 */
#ifndef TOCSIN_HTTP_H
#define TOCSIN_HTTP_H

#include "lib/buf.h"
#include "lib/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;

enum http_route_flags {
    HTTP_UPLOAD = 1,      /* bodies up to [http] max_upload rather than [http] max_body */
    HTTP_SECRET_PATH = 2, /* the rest of the path is a secret: never logged */
};

struct http_route {
    const char *methods; /* "GET", "POST", "GET|POST" */
    const char *path;    /* exact path, or a prefix when it ends in '/' */
    void (*handle)(struct http_request *req);
    unsigned flags; /* enum http_route_flags */
};

extern const struct http_route http_routes[];
/* Whether route `r` exists for a request that came in on the admin listener or not (routes.c
 * decides: the admin listener serves health and metrics only, and each SMS gateway's
 * webhooks exist only while it is the configured provider). Unserved routes answer 404. */
bool http_route_served(const struct http_route *r, bool admin_listener);

int http_start(char **error_r);
void http_stop(void);
/* Microseconds the threads of [http] listen have spent in route handlers since the start,
 * all threads summed: two readings tell how busy answering keeps them (the SMS backlog's
 * extra appliers step back while webhooks keep the threads busy). */
int64_t http_handler_time_us(void);

/* Whether the request came in on [http] admin_listen rather than [http] listen. */
bool http_on_admin_listener(const struct http_request *req);
const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);
/* The request target as received: path and query string, undecoded. */
const char *http_target(const struct http_request *req);
const char *http_body(const struct http_request *req, size_t *len_r);
/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* A decoded query-string argument, or NULL. */
const char *http_query(const struct http_request *req, const char *name);
/* A cookie sent with the request, or NULL. */
const char *http_cookie(const struct http_request *req, const char *name);
struct db *http_db(struct http_request *req);

void http_add_header(struct http_request *req, const char *name, const char *value);
void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const char *body, size_t len);
/* Plain-text answer: "MESSAGE\n". */
void http_respond_text(struct http_request *req, unsigned status, const char *message);

/* A form post's fields (lib/form.h; the caller releases them): urlencoded, or
 * multipart/form-data, where a file field holds the file's content and NAME.filename its
 * name. 0 (an empty body is an empty form), or -1 with a static reason. */
struct form;
int http_form(struct http_request *req, struct form *form_r, const char **reason_r);

typedef int (*http_fill_fn)(void *ctx, struct http_request *req, struct buf *out);
void http_respond_stream(struct http_request *req, unsigned status, const char *content_type,
                         http_fill_fn fill, void *ctx, void (*release)(void *ctx));

#endif
