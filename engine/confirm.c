#include "confirm.h"
#include "buf.h"
#include "campaign_render.h"
#include "config.h"
#include "log.h"
#include "queue.h"
#include "template.h"
#include "token.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *id_text(int64_t id, char slot[24])
{
    snprintf(slot, 24, "%" PRId64, id);
    return slot;
}

int confirm_request(struct db *db, int64_t person_id, int64_t contact_id, int64_t team_id,
                    int64_t inbound_id, const char *locale, char **error_r)
{
    char p[24], t[24];
    const char *params[] = {id_text(person_id, p), id_text(team_id, t)};
    PGresult *res = db_exec(db,
                            "SELECT c.address, t.slug, t.name FROM contacts c, teams t"
                            " WHERE c.person_id = $1 AND c.kind = 'email' AND t.id = $2"
                            " ORDER BY c.id LIMIT 1",
                            2, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *error_r = xasprintf("confirm: person %s has no email address or team %s is gone", p, t);
        return -1;
    }
    char *address = xstrdup(PQgetvalue(res, 0, 0));
    json_t *vars = NULL;
    char *token = NULL, *dedupe = NULL, *context = NULL;
    struct rendered_message m = {0};
    int rc = -1;
    json_t *team =
        json_pack("{s:s, s:s}", "slug", PQgetvalue(res, 0, 1), "name", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (campaign_person_vars(db, person_id, contact_id, team_id, &vars, error_r) < 0)
        goto out;
    json_object_set(vars, "team", team);
    if (!(token = token_make(db, "confirm", person_id, error_r)))
        goto out;
    char *url = xasprintf("%s/c/%s", config_str("http", "public_url"), token);
    json_object_set_new(vars, "confirm_url", json_string(url));
    free(url);
    if (template_message("join_confirm", locale, vars, &m, error_r) < 0)
        goto out;
    dedupe = xasprintf("confirm:%s:%s", p, t);
    context = xasprintf("{\"prompt\": \"confirm\", \"team_id\": %s}", t);
    struct queue_new q = {.channel = "email",
                          .recipient = address,
                          .subject = m.subject,
                          .body = m.text,
                          .kind = "confirmation",
                          .dedupe_key = dedupe,
                          .context = context,
                          .person_id = person_id,
                          .contact_id = contact_id,
                          .inbound_id = inbound_id,
                          .scope = team_id};
    if (queue_enqueue(db, &q, NULL, NULL, error_r) < 0)
        goto out;
    rc = 0;
out:
    template_message_release(&m);
    json_decref(team);
    json_decref(vars);
    free(token);
    free(dedupe);
    free(context);
    free(address);
    return rc;
}

int confirm_apply(struct db *db, int64_t person_id, const char *source, const char *evidence,
                  int *confirmed_r, char **error_r)
{
    char p[24];
    const char *params[] = {id_text(person_id, p), source, evidence};
    /* One statement: activate, log each team, and append the opt-in when anything changed. */
    PGresult *res =
        db_exec(db,
                "WITH confirmed AS ("
                "  UPDATE memberships SET status = 'active' WHERE person_id = $1::bigint"
                "   AND status = 'pending' RETURNING team_id),"
                " logged AS ("
                "  INSERT INTO activity (team_id, kind, payload)"
                "  SELECT team_id, 'member_confirmed', jsonb_build_object('person_id', $1::bigint,"
                "   'source', $2::text) FROM confirmed),"
                " consented AS ("
                "  INSERT INTO consent (contact_id, channel, action, source, evidence)"
                "  SELECT c.id, 'email', 'opt_in', $2, $3 FROM contacts c"
                "  WHERE c.person_id = $1::bigint AND c.kind = 'email'"
                "   AND EXISTS (SELECT 1 FROM confirmed))"
                " SELECT count(*) FROM confirmed",
                3, params, error_r);
    if (!res)
        return -1;
    *confirmed_r = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

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
