#include "api/signin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mustache.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/session.h"
#include "core/template.h"
#include "outbound/queue.h"
#include "api/v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static char *link_url(const char *token)
{
    const char *base = config_str("http", "public_url");
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return xasprintf("%.*s/login/%s", (int)n, base, token);
}

/* The person of a contact if they have an account; 0 when not (or no such contact). */
static int account_contact(struct db *db, const char *kind, const char *address, int64_t *contact_r,
                           int64_t *person_r, char **name_r, char **locale_r, char **error_r)
{
    const char *params[] = {kind, address};
    PGresult *res =
        db_exec(db,
                "SELECT c.id, c.person_id, p.name, p.locale FROM contacts c"
                " JOIN people p ON p.id = c.person_id"
                " WHERE c.kind = $1 AND c.address = $2"
                " AND EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = c.person_id)",
                2, params, error_r);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        *contact_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *person_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        *name_r = xstrdup(PQgetvalue(res, 0, 2));
        *locale_r = xstrdup(PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return found;
}

json_t *signin_request(struct db *db, const char *contact, struct api_error *e)
{
    const char *kind = NULL, *reason = NULL;
    char *address = contact_normalise(contact, &kind, &reason);
    if (!address) {
        api_error_set(e, 422, "%s: %s", contact ? contact : "", reason);
        return NULL;
    }
    bool sms = strcmp(kind, "phone") == 0;
    json_t *out = NULL;
    char *error = NULL, *name = NULL, *locale = NULL, *secret = NULL, *url = NULL;
    int64_t contact_id = 0, person = 0, challenge = 0;
    struct rendered_message m = {0};
    if (model_begin(db, e) < 0)
        goto out;
    int found = account_contact(db, kind, address, &contact_id, &person, &name, &locale, &error);
    if (found < 0)
        goto db_error;
    if (found && login_challenge_create(db, person, contact_id, sms ? "code" : "link", &secret,
                                        &challenge, &error) < 0)
        goto db_error;
    if (secret) {
        json_t *vars = json_pack("{s:s,s:s%,s:i}", "name", name, "first_name", name,
                                 strcspn(name, " "), "minutes", SESSION_LOGIN_MINUTES);
        if (sms) {
            json_object_set_new(vars, "code", json_string(secret));
        } else {
            url = link_url(secret);
            json_object_set_new(vars, "link", json_string(url));
        }
        int rc = template_message(sms ? "signin_code" : "signin_link", locale, vars, &m, &error);
        json_decref(vars);
        if (rc < 0)
            goto db_error;
        char *key = xasprintf("signin:%" PRId64, challenge);
        struct queue_new q = {.channel = sms ? "sms" : "email",
                              .recipient = address,
                              .subject = sms ? NULL : m.subject,
                              .body = m.text,
                              .kind = "signin",
                              .dedupe_key = key,
                              .person_id = person,
                              .contact_id = contact_id};
        rc = queue_enqueue(db, &q, NULL, NULL, &error);
        free(key);
        if (rc < 0)
            goto db_error;
        log_info("signin_sent", "person=%" PRId64 " channel=%s", person, q.channel);
    } else if (found) {
        log_warn("signin_throttled", "person=%" PRId64, person);
    }
    if (model_commit(db, e) < 0)
        goto out;
    out = json_pack("{s:s,s:s}", "channel", sms ? "sms" : "email", "message",
                    sms ? "If this number belongs to an organiser, a 6-digit code is on its way."
                        : "If this address belongs to an organiser, a sign-in link is on its way.");
    goto out;
db_error:
    model_abort(db, e, "signin request", error);
out:
    template_message_release(&m);
    free(address);
    free(name);
    free(locale);
    if (secret)
        memset(secret, 0, strlen(secret));
    free(secret);
    free(url);
    return out;
}

json_t *signin_link_create(struct db *db, const struct caller *who, const char *contact,
                           struct api_error *e)
{
    const char *kind = NULL, *reason = NULL;
    char *address = contact_normalise(contact, &kind, &reason);
    if (!address) {
        api_error_set(e, 422, "%s: %s", contact ? contact : "", reason);
        return NULL;
    }
    json_t *out = NULL;
    char *error = NULL, *name = NULL, *locale = NULL, *secret = NULL;
    int64_t contact_id = 0, person = 0, challenge = 0;
    if (model_begin(db, e) < 0)
        goto out;
    int found = account_contact(db, kind, address, &contact_id, &person, &name, &locale, &error);
    if (found < 0)
        goto db_error;
    if (!found) {
        db_rollback(db);
        api_error_set(e, 404, "%s is not an organiser's contact: `tocsin user add` first", address);
        goto out;
    }
    /* A link, whatever the contact's kind: the operator hands it over by other means. */
    if (login_challenge_create(db, person, contact_id, "link", &secret, &challenge, &error) < 0)
        goto db_error;
    if (!secret) {
        db_rollback(db);
        api_error_set(e, 409, "%d sign-ins asked for %s in %d minutes: wait a little",
                      SESSION_LOGIN_PER_WINDOW, address, SESSION_LOGIN_MINUTES);
        goto out;
    }
    if (model_activity(db, who, 0, "login_link",
                       json_pack("{s:I}", "person_id", (json_int_t)person), e) < 0 ||
        model_commit(db, e) < 0)
        goto out;
    char *url = link_url(secret);
    out = json_pack("{s:s,s:I,s:s,s:i}", "url", url, "person_id", (json_int_t)person, "name", name,
                    "minutes", SESSION_LOGIN_MINUTES);
    free(url);
    goto out;
db_error:
    model_abort(db, e, "login link", error);
out:
    free(address);
    free(name);
    free(locale);
    free(secret);
    return out;
}

/* A new session for a person who just proved themselves, and the account as JSON. */
static json_t *open_session(struct db *db, int64_t person, char **session_r, struct api_error *e)
{
    char *error = NULL;
    struct caller who;
    int rc = account_load(db, person, "api", &who, &error);
    if (rc < 0) {
        api_error_db(e, db, "signin", error);
        return NULL;
    }
    if (rc == 0) {
        /* The roles were taken away between the request and its use. */
        api_error_set(e, 401, "this person is no longer an organiser");
        return NULL;
    }
    json_t *out = NULL;
    if (session_create(db, person, session_r, &error) < 0) {
        api_error_db(e, db, "session", error);
        goto out;
    }
    who.session_id = xstrdup(*session_r);
    out = signin_me(db, &who, e);
    if (!out) {
        free(*session_r);
        *session_r = NULL;
    }
    log_info("signin", "person=%" PRId64, person);
out:
    caller_release(&who);
    return out;
}

json_t *signin_with_link(struct db *db, const char *token, char **session_r, struct api_error *e)
{
    *session_r = NULL;
    char *error = NULL;
    int64_t person = 0;
    if (model_begin(db, e) < 0)
        return NULL;
    int found = login_link_redeem(db, token, &person, &error);
    if (found < 0) {
        model_abort(db, e, "signin link", error);
        return NULL;
    }
    if (found == 0) {
        db_rollback(db);
        api_error_set(e, 401, "this sign-in link is not valid: used, expired or mistyped");
        return NULL;
    }
    json_t *out = open_session(db, person, session_r, e);
    if (!out || model_commit(db, e) < 0) {
        db_rollback(db);
        json_decref(out);
        free(*session_r);
        *session_r = NULL;
        return NULL;
    }
    return out;
}

json_t *signin_with_code(struct db *db, const char *contact, const char *code, char **session_r,
                         struct api_error *e)
{
    *session_r = NULL;
    char *error = NULL;
    const char *reason = NULL;
    int64_t contact_id = 0, person = 0;
    int found = contact_find(db, contact, &contact_id, &person, &reason, &error);
    if (found < 0) {
        api_error_db(e, db, "signin code", error);
        return NULL;
    }
    enum login_code_result result = LOGIN_CODE_VOID;
    if (found && login_code_redeem(db, contact_id, code, &result, &person, &error) < 0) {
        api_error_db(e, db, "signin code", error);
        return NULL;
    }
    if (result == LOGIN_CODE_WRONG) {
        api_error_set(e, 401, "wrong code");
        return NULL;
    }
    if (result == LOGIN_CODE_VOID) {
        api_error_set(e, 401,
                      "no valid code for this number (expired, used, or %d wrong tries):"
                      " ask for a new one",
                      SESSION_LOGIN_MAX_TRIES);
        return NULL;
    }
    return open_session(db, person, session_r, e);
}

json_t *signin_me(struct db *db, const struct caller *who, struct api_error *e)
{
    char *teams = caller_teams_literal(who), *events = caller_events_literal(who);
    char person[24];
    const char *params[] = {model_id(who->person_id, person), teams, events,
                            who->admin ? "t" : "f"};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT p.id AS person_id, p.name, p.locale, $4::boolean AS admin,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'slug', t.slug, 'name',"
        "  t.name) ORDER BY t.slug), '[]') FROM teams t WHERE t.id = ANY($2::bigint[])) AS teams,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'slug', e.slug, 'title',"
        "  e.title) ORDER BY e.starts_at), '[]') FROM events e WHERE e.id = ANY($3::bigint[]))"
        "  AS events"
        " FROM people p WHERE p.id = $1",
        4, params, &error);
    free(teams);
    free(events);
    if (!res) {
        api_error_db(e, db, "me", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 401, "no such account");
        return NULL;
    }
    json_t *out = model_row(res, 0);
    PQclear(res);
    json_object_set_new(out, "signed_in_with",
                        json_string(who->session_id ? "session"
                                    : who->token_id ? "token"
                                                    : "cli"));
    if (who->session_id) {
        char *csrf = session_csrf(db, who->session_id, &error);
        if (!csrf) {
            json_decref(out);
            api_error_db(e, db, "csrf", error);
            return NULL;
        }
        json_object_set_new(out, "csrf_token", json_string(csrf));
        free(csrf);
    }
    return out;
}

/* Set-Cookie for a new session, or one that clears it (`session` NULL). */
void signin_set_cookie(struct http_request *req, const char *session)
{
    bool secure = str_starts_with(config_str("http", "public_url"), "https:");
    char *cookie = session ? xasprintf(API_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax;"
                                                          " Max-Age=%ld%s",
                                       session, config_int("http", "session_lifetime"),
                                       secure ? "; Secure" : "")
                           : xasprintf(API_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Lax;"
                                                          " Max-Age=0%s",
                                       secure ? "; Secure" : "");
    http_add_header(req, "Set-Cookie", cookie);
    free(cookie);
}

void route_auth_login(struct api_call *c)
{
    struct api_error e = {0};
    json_t *out = signin_request(c->db, api_arg(c, "contact"), &e);
    if (out)
        api_reply(c, 202, out);
    else
        api_fail(c, &e);
}

static void signed_in(struct api_call *c, json_t *out, char *session, struct api_error *e)
{
    if (!out) {
        api_fail(c, e);
        return;
    }
    signin_set_cookie(c->req, session);
    free(session);
    api_reply(c, 200, out);
}

void route_auth_code(struct api_call *c)
{
    struct api_error e = {0};
    char *session = NULL;
    json_t *out = signin_with_code(c->db, api_arg(c, "contact"), api_arg(c, "code"), &session, &e);
    signed_in(c, out, session, &e);
}

void route_auth_link(struct api_call *c)
{
    struct api_error e = {0};
    char *session = NULL;
    json_t *out = signin_with_link(c->db, api_arg(c, "token"), &session, &e);
    signed_in(c, out, session, &e);
}

void route_auth_logout(struct api_call *c)
{
    char *error = NULL;
    if (c->who.session_id && session_delete(c->db, c->who.session_id, &error) < 0) {
        struct api_error e = {0};
        api_error_db(&e, c->db, "logout", error);
        api_fail(c, &e);
        return;
    }
    signin_set_cookie(c->req, NULL);
    api_reply(c, 200, json_pack("{s:b}", "signed_out", c->who.session_id != NULL));
}

void route_me(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, signin_me(c->db, &c->who, &e), &e);
}

void route_openapi(struct api_call *c)
{
    api_reply(c, 200, api_openapi());
}

/* ---- /login/TOKEN: the page a sign-in link opens ---- */

static const char login_html[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<meta name=\"robots\" content=\"noindex\"><meta name=\"referrer\" content=\"no-referrer\">"
    "<title>tocsin: sign in</title></head><body>\n"
    "{{#ask}}<p>Sign in to tocsin as <strong>{{name}}</strong>?</p>\n"
    "<form method=\"post\"><button type=\"submit\">Sign in</button></form>{{/ask}}\n"
    "{{#done}}<p>You are signed in as <strong>{{name}}</strong>. This browser holds your "
    "session until you sign out or leave it idle for {{idle_hours}} hours.</p>\n"
    "<p><a href=\"/admin/\">Open the console</a></p>{{/done}}\n"
    "{{#invalid}}<p>This sign-in link is not valid: it was used, it expired (links last "
    "{{minutes}} minutes), or it was mistyped. Ask for a new one.</p>{{/invalid}}\n"
    "{{#unavailable}}<p>tocsin cannot reach its database. Try the link again in a "
    "moment.</p>{{/unavailable}}\n"
    "</body></html>\n";

static void login_respond(struct http_request *req, unsigned status, json_t *vars)
{
    char *error = NULL;
    struct template *t = template_compile(login_html, &error);
    struct buf page = BUF_INIT;
    if (t) {
        json_object_set_new(vars, "minutes", json_integer(SESSION_LOGIN_MINUTES));
        json_object_set_new(vars, "idle_hours",
                            json_integer(config_int("http", "session_idle") / 3600));
        template_render(t, vars, true, &page);
        template_free(&t);
    } else {
        log_error("login_page", "error=%s", log_q(error));
        free(error);
    }
    json_decref(vars);
    /* The page must not be framed (clickjacking a sign-in button). */
    http_add_header(req, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    http_add_header(req, "X-Frame-Options", "DENY");
    http_respond(req, status, "text/html; charset=utf-8", buf_str(&page), page.len);
    buf_release(&page);
}

void login_page(struct http_request *req)
{
    const char *token = http_path(req) + strlen("/login/");
    struct db *db = http_db(req);
    if (!db) {
        login_respond(req, 503, json_pack("{s:b}", "unavailable", 1));
        return;
    }
    struct api_error e = {0};
    char *error = NULL;
    if (strcmp(http_method(req), "GET") == 0) {
        int64_t person = 0;
        int found = login_link_peek(db, token, &person, &error);
        if (found < 0) {
            log_warn("login_page", "error=%s", log_q(error));
            free(error);
            login_respond(req, 503, json_pack("{s:b}", "unavailable", 1));
            return;
        }
        if (found == 0) {
            login_respond(req, 403, json_pack("{s:b}", "invalid", 1));
            return;
        }
        struct caller who;
        int rc = account_load(db, person, "api", &who, &error);
        free(error);
        login_respond(req, rc == 1 ? 200 : 403,
                      rc == 1 ? json_pack("{s:b,s:s}", "ask", 1, "name", who.name)
                              : json_pack("{s:b}", "invalid", 1));
        caller_release(&who);
        return;
    }
    char *session = NULL;
    json_t *me = signin_with_link(db, token, &session, &e);
    if (!me) {
        login_respond(req, e.status == 503 ? 503 : 403,
                      json_pack("{s:b}", e.status == 503 ? "unavailable" : "invalid", 1));
        api_error_release(&e);
        return;
    }
    signin_set_cookie(req, session);
    free(session);
    login_respond(req, 200, json_pack("{s:b,s:O}", "done", 1, "name", json_object_get(me, "name")));
    json_decref(me);
}
