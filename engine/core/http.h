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
 * http_db() gives the worker thread's own database connection (opened on first use,
 * reopened after a failure); NULL means the database is unreachable and the handler
 * answers 503 so the gateway retries.
 */
#ifndef TOCSIN_HTTP_H
#define TOCSIN_HTTP_H

#include "lib/db.h"

#include <stdbool.h>
#include <stddef.h>

struct http_request;

struct http_route {
    const char *methods; /* "GET", "POST", "GET|POST" */
    const char *path;    /* exact path, or a prefix when it ends in '/' */
    void (*handle)(struct http_request *req);
};

extern const struct http_route http_routes[];
/* Whether route `r` exists for a request that came in on the admin listener or not (routes.c
 * decides: the admin listener serves health and metrics only, and each SMS gateway's
 * webhooks exist only while it is the configured provider). Unserved routes answer 404. */
bool http_route_served(const struct http_route *r, bool admin_listener);

int http_start(char **error_r);
void http_stop(void);

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
struct db *http_db(struct http_request *req);

void http_add_header(struct http_request *req, const char *name, const char *value);
void http_respond(struct http_request *req, unsigned status, const char *content_type,
                  const char *body, size_t len);
/* Plain-text answer: "MESSAGE\n". */
void http_respond_text(struct http_request *req, unsigned status, const char *message);

#endif
