#include "inbound/confirm_page.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/token.h"
#include "decide/confirm.h"

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

void confirm_handle(struct http_request *req)
{
    const char *token = http_path(req) + strlen("/c/");
    struct db *db = http_db(req);
    if (!db) {
        http_respond_text(req, 503, "database unreachable, try again later");
        return;
    }
    int64_t person = 0;
    if (token_check(db, "confirm", token, &person) < 0) {
        log_info("confirm_refused", "reason=forged");
        respond_page(req, 403, "Lien invalide / Invalid link",
                     "<p>Ce lien n'est pas valide. / This link is not valid.</p>");
        return;
    }
    if (strcmp(http_method(req), "POST") != 0) {
        /* A GET changes nothing: mail scanners and previews fetch links. */
        struct buf form = BUF_INIT;
        buf_adds(&form, "<p>Confirmez votre inscription / Confirm that you want to join:</p>"
                        "<form method=\"post\"><button type=\"submit\">"
                        "Je confirme / I confirm</button></form>");
        respond_page(req, 200, "Confirmer / Confirm", buf_str(&form));
        buf_release(&form);
        return;
    }
    char *error = NULL;
    int confirmed = 0;
    char evidence[64];
    snprintf(evidence, sizeof(evidence), "POST /c/ person %" PRId64, person);
    if (db_begin(db, &error) < 0 ||
        confirm_apply(db, person, "confirm_link", evidence, &confirmed, &error) < 0 ||
        db_commit(db, &error) < 0) {
        db_rollback(db);
        log_warn("confirm_failed", "person=%" PRId64 " error=%s", person, log_q(error));
        free(error);
        http_respond_text(req, 503, "try again later");
        return;
    }
    log_info("confirm", "person=%" PRId64 " memberships=%d source=link", person, confirmed);
    respond_page(req, 200, "Merci / Thank you",
                 confirmed ? "<p>C'est confirmé, bienvenue ! / Confirmed, welcome!</p>"
                           : "<p>Déjà confirmé. / Already confirmed.</p>");
}
