/*
 * routes — the table of HTTP routes served by `tocsin run`, and the small routes that
 * belong to no other module (health, metrics). A route is one row here plus a handler
 * in the module that owns the work.
 */
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/http.h"
#include "core/signature.h"
#include "inbound/confirm_page.h"
#include "inbound/sms_webhook.h"
#include "inbound/unsubscribe.h"

#include <string.h>
#include <strings.h>

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

/* Queue depth and age are read from the database at scrape time: they are shared by every
 * daemon, so a per-process counter could not tell them. */
static void queue_gauges(struct http_request *req, struct buf *out)
{
    struct db *db = http_db(req);
    char *error = NULL;
    PGresult *res =
        db ? db_exec(db,
                     "SELECT channel, status, count(*),"
                     " coalesce(extract(epoch FROM now() - min(next_attempt_at)"
                     "  FILTER (WHERE status = 'queued' AND next_attempt_at <= now())), 0)::bigint"
                     " FROM outbound_messages WHERE status IN ('queued', 'sending')"
                     " GROUP BY channel, status ORDER BY channel, status",
                     0, NULL, &error)
           : NULL;
    buf_adds(out, "# TYPE tocsin_database_up gauge\n");
    buf_printf(out, "tocsin_database_up %d\n", res ? 1 : 0);
    if (!res) {
        log_warn("metrics_queue", "error=%s", log_q(error));
        free(error);
        return;
    }
    buf_adds(out, "# TYPE tocsin_queue_depth gauge\n");
    for (int i = 0; i < PQntuples(res); i++)
        buf_printf(out, "tocsin_queue_depth{channel=\"%s\",status=\"%s\"} %s\n",
                   PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    buf_adds(out, "# TYPE tocsin_queue_oldest_due_seconds gauge\n");
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 1), "queued") == 0)
            buf_printf(out, "tocsin_queue_oldest_due_seconds{channel=\"%s\"} %s\n",
                       PQgetvalue(res, i, 0), PQgetvalue(res, i, 3));
    PQclear(res);
}

/* /metrics tells who writes to us and how much: on the public listener it takes the bearer
 * token of [http] metrics_token; the admin listener is the operator's own network. */
static bool metrics_allowed(struct http_request *req)
{
    if (http_on_admin_listener(req))
        return true;
    const char *token = config_str("http", "metrics_token");
    if (!*token) {
        http_respond_text(req, 403,
                          "/metrics needs [http] metrics_token (Authorization: Bearer TOKEN) "
                          "or [http] admin_listen");
        return false;
    }
    const char *auth = http_header(req, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && signature_equal(auth + 7, token))
        return true;
    metrics_add("tocsin_metrics_refused_total", 1);
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"tocsin metrics\"");
    http_respond_text(req, 401, auth ? "bad bearer token" : "bearer token required");
    return false;
}

static void handle_metrics(struct http_request *req)
{
    if (!metrics_allowed(req))
        return;
    struct buf out = BUF_INIT;
    queue_gauges(req, &out);
    metrics_render(&out);
    http_respond(req, 200, "text/plain; version=0.0.4", buf_str(&out), out.len);
    buf_release(&out);
}

const struct http_route http_routes[] = {
    {"GET", "/healthz", handle_healthz},
    {"GET", "/metrics", handle_metrics},
    {"POST", "/sms/twilio", webhook_twilio},
    {"POST", "/sms/twilio/status", webhook_twilio_status},
    {"GET|POST", "/sms/vonage", webhook_vonage},
    {"GET|POST", "/sms/vonage/dlr", webhook_vonage_dlr},
    {"GET|POST", "/sms/kannel", webhook_kannel},
    {"GET|POST", "/sms/kannel/dlr", webhook_kannel_dlr},
    {"POST", "/sms/generic", webhook_generic},
    {"GET|POST", "/c/", confirm_handle},
    {"GET|POST", "/u/", unsubscribe_handle},
    {NULL, NULL, NULL},
};

bool http_route_served(const struct http_route *r, bool admin_listener)
{
    if (admin_listener)
        return strcmp(r->path, "/healthz") == 0 || strcmp(r->path, "/metrics") == 0;
    /* A gateway's webhooks (/sms/NAME and below) exist only while NAME is the configured
     * provider: nobody may speak for a gateway this deployment does not use. */
    if (strncmp(r->path, "/sms/", 5) != 0)
        return true;
    const char *name = r->path + 5;
    const char *provider = config_str("sms", "provider");
    size_t n = strlen(provider);
    return strncmp(name, provider, n) == 0 && (name[n] == '\0' || name[n] == '/');
}
