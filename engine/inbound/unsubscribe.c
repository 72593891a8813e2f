#include "inbound/unsubscribe.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/consent.h"
#include "core/http.h"
#include "core/token.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char page_head[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head><body>\n";

static void respond_page(struct http_request *req, unsigned status, const char *body)
{
    struct buf page = BUF_INIT;
    buf_adds(&page, page_head);
    buf_adds(&page, body);
    buf_adds(&page, "\n</body></html>\n");
    http_add_header(req, "Cache-Control", "no-store");
    http_respond(req, status, "text/html; charset=utf-8", buf_str(&page), page.len);
    buf_release(&page);
}

/* "c******@example.org": enough for people to recognise their address, not enough to
 * leak it to whoever holds the link. */
static void add_masked(struct buf *out, const char *address)
{
    const char *at = strchr(address, '@');
    if (!at || at == address) {
        buf_adds(out, "your address");
        return;
    }
    buf_addch(out, address[0]);
    for (const char *p = address + 1; p < at; p++)
        buf_addch(out, '*');
    /* The domain comes from our own contacts table; still escape what HTML cares about. */
    for (const char *p = at; *p; p++) {
        if (*p == '<' || *p == '>' || *p == '&' || *p == '"')
            buf_printf(out, "&#%d;", *p);
        else
            buf_addch(out, *p);
    }
}

void unsubscribe_handle(struct http_request *req)
{
    const char *token = http_path(req) + strlen("/u/");
    struct db *db = http_db(req);
    if (!db) {
        http_respond_text(req, 503, "database unreachable, try again later");
        return;
    }
    int64_t contact = 0;
    if (token_check(db, "unsub", token, &contact) < 0) {
        metrics_add("tocsin_unsubscribe_total{result=\"forged\"}", 1);
        respond_page(req, 403, "<p>This unsubscribe link is not valid.</p>");
        return;
    }
    char id[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(contact, id)};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT address, CASE kind WHEN 'phone' THEN 'sms' ELSE 'email' END,"
                            "  consent_allows(CASE kind WHEN 'phone' THEN 'sms' ELSE 'email' END,"
                            "                 address, NULL)"
                            " FROM contacts WHERE id = $1",
                            1, params, &error);
    if (!res) {
        log_warn("unsubscribe_failed", "error=%s", log_q(error));
        free(error);
        http_respond_text(req, 503, "database unavailable, try again later");
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        respond_page(req, 404, "<p>This address is no longer known to us.</p>");
        return;
    }
    struct buf body = BUF_INIT;
    const char *address = PQgetvalue(res, 0, 0);
    bool subscribed = PQgetvalue(res, 0, 2)[0] == 't';
    if (strcmp(http_method(req), "GET") == 0) {
        buf_adds(&body, "<p>Stop all messages to ");
        add_masked(&body, address);
        buf_adds(&body, subscribed ? "?</p>\n<form method=\"post\">"
                                     "<button type=\"submit\">Unsubscribe</button></form>"
                                   : " — this address is already unsubscribed.</p>");
        respond_page(req, 200, buf_str(&body));
        goto out;
    }
    /* POST: RFC 8058 one-click from a mailbox provider, or the button of the page. */
    size_t len = 0;
    const char *posted = http_body(req, &len);
    bool one_click = posted && len >= 26 && memmem(posted, len, "List-Unsubscribe=One-Click", 26);
    const char *ua = http_header(req, "User-Agent");
    char *evidence =
        xasprintf("%s; user-agent: %.120s",
                  one_click ? "RFC 8058 one-click POST" : "unsubscribe page button", ua ? ua : "-");
    int rc = consent_opt_out(db, contact, "one_click", evidence, &error);
    free(evidence);
    if (rc < 0) {
        log_warn("unsubscribe_failed", "error=%s", log_q(error));
        free(error);
        http_respond_text(req, 503, "database unavailable, try again later");
        goto out;
    }
    log_info("unsubscribed", "contact=%" PRId64 " via=%s already=%s", contact,
             one_click ? "one-click" : "button", subscribed ? "no" : "yes");
    metrics_add("tocsin_unsubscribe_total{result=\"ok\"}", 1);
    buf_adds(&body, "<p>Done: ");
    add_masked(&body, address);
    buf_adds(&body, " will receive no more messages from us.</p>");
    respond_page(req, 200, buf_str(&body));
out:
    buf_release(&body);
    PQclear(res);
}
