/*
 * routes — the table of HTTP routes served by `tocsin run`, and the small routes that
 * belong to no other module (health, metrics). A route is one row here plus a handler
 * in the module that owns the work.
 */
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/http.h"
#include "inbound/confirm_page.h"
#include "inbound/sms_webhook.h"
#include "inbound/unsubscribe.h"

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

/* Queue depth and age are read from the database at scrape time: they are shared by every
 * daemon, so a per-process counter could not tell them. The depth comes from the
 * maintained counters (outbound_queue_totals), the age from the partial index of queued rows:
 * a scrape never groups the table. */
static void queue_gauges(struct http_request *req, struct buf *out)
{
    struct db *db = http_db(req);
    char *error = NULL;
    PGresult *res =
        db ? db_exec(db,
                     "SELECT t.channel, t.status, t.messages,"
                     " coalesce((SELECT extract(epoch FROM now() - min(o.next_attempt_at))"
                     "  FROM outbound_messages o WHERE o.status = 'queued'"
                     "   AND o.channel = t.channel AND o.next_attempt_at <= now()), 0)::bigint"
                     " FROM outbound_queue_totals t WHERE t.status IN ('queued', 'sending')"
                     " ORDER BY t.channel, t.status",
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

static void handle_metrics(struct http_request *req)
{
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
