#include "inbound/confirm_page.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/token.h"
#include "decide/request.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void respond_page(struct http_request *req, unsigned status, const char *title,
                         const char *body)
{
    struct buf page = BUF_INIT;
    buf_printf(&page,
               "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width\">"
               "<meta name=\"robots\" content=\"noindex\"><title>%s</title></head><body>\n%s\n"
               "</body></html>\n",
               title, body);
    http_add_header(req, "Cache-Control", "no-store");
    http_respond(req, status, "text/html; charset=utf-8", buf_str(&page), page.len);
    buf_release(&page);
}

static void count(const char *result)
{
    char *series = xasprintf("tocsin_confirm_links_total{result=\"%s\"}", result);
    metrics_add(series, 1);
    free(series);
}

/* The POST: apply the request in one transaction and say what happened. */
static void confirm_post(struct http_request *req, struct db *db, int64_t id)
{
    char *error = NULL;
    char evidence[64];
    snprintf(evidence, sizeof(evidence), "POST /c/ request %" PRId64, id);
    enum request_result result = REQUEST_UNKNOWN;
    struct request_info info;
    if (db_begin(db, &error) < 0 ||
        request_apply(db, id, "link", evidence, &result, &info, &error) < 0 ||
        db_commit(db, &error) < 0) {
        db_rollback(db);
        log_warn("confirm_failed", "request=%" PRId64 " error=%s", id, log_q(error));
        free(error);
        http_respond_text(req, 503, "try again later");
        return;
    }
    free(info.team_name);
    static const char *const names[] = {"applied", "used", "expired", "unknown"};
    log_info("confirm", "request=%" PRId64 " result=%s source=link", id, names[result]);
    count(names[result]);
    if (result == REQUEST_APPLIED)
        respond_page(req, 200, "Merci / Thank you",
                     "<p>C'est confirmé, merci ! / Confirmed, thank you!</p>");
    else if (result == REQUEST_UNKNOWN)
        respond_page(req, 404, "Lien inconnu / Unknown link",
                     "<p>Cette demande n'existe plus. / This request no longer exists.</p>");
    else
        respond_page(req, 410, "Lien expiré / Expired link",
                     "<p>Ce lien a déjà servi, ou a expiré (7 jours) : renvoyez votre demande. / "
                     "This link was already used, or expired (7 days): send your request "
                     "again.</p>");
}

void confirm_handle(struct http_request *req)
{
    const char *token = http_path(req) + strlen("/c/");
    struct db *db = http_db(req);
    if (!db) {
        http_respond_text(req, 503, "database unreachable, try again later");
        return;
    }
    int64_t id = 0;
    if (token_check(db, "request", token, &id) < 0) {
        log_info("confirm_refused", "reason=forged");
        count("forged");
        respond_page(req, 403, "Lien invalide / Invalid link",
                     "<p>Ce lien n'est pas valide. / This link is not valid.</p>");
        return;
    }
    if (strcmp(http_method(req), "POST") != 0) {
        /* A GET changes nothing: mail scanners and previews fetch links. */
        respond_page(req, 200, "Confirmer / Confirm",
                     "<p>Confirmez votre demande / Confirm your request:</p>"
                     "<form method=\"post\"><button type=\"submit\">"
                     "Je confirme / I confirm</button></form>");
        return;
    }
    confirm_post(req, db, id);
}
