/*
 * routes — the table of HTTP routes served by `tocsin run`, and the small routes that
 * belong to no other module (health, metrics). A route is one row here plus a handler
 * in the module that owns the work.
 */
#include "buf.h"
#include "confirm.h"
#include "http.h"
#include "metrics.h"
#include "unsubscribe.h"
#include "util.h"

#include <string.h>

static void handle_healthz(struct http_request *req)
{
    struct db *db = http_db(req);
    char *error = NULL;
    PGresult *res = db ? db_exec(db, "SELECT 1", 0, NULL, &error) : NULL;
    if (!res) {
        free(error);
        http_respond_text(req, 503, "database unreachable");
        return;
    }
    PQclear(res);
    http_respond_text(req, 200, "ok");
}

static void handle_metrics(struct http_request *req)
{
    struct buf out = BUF_INIT;
    metrics_render(&out);
    http_respond(req, 200, "text/plain; version=0.0.4", buf_str(&out), out.len);
    buf_release(&out);
}

const struct http_route http_routes[] = {
    {"GET", "/healthz", handle_healthz},
    {"GET", "/metrics", handle_metrics},
    {"GET|POST", "/c/", confirm_handle},
    {"GET|POST", "/u/", unsubscribe_handle},
    {NULL, NULL, NULL},
};
