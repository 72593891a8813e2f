/*
 * The console's sign-in: an email gets a one-time link (the /login/TOKEN page of
 * api/signin.c, which then leads here), a phone number a 6-digit code typed on the next
 * step. Both are api/signin.h; this file only renders their answers.
 */
#include "api/console_pages.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/session.h"
#include "api/signin.h"

#include <string.h>

static void login_form(struct api_call *c, unsigned status, json_t *data)
{
    console_page(c, status, "login", NULL, console_t("signin_title"), data);
}

void page_login(struct api_call *c)
{
    if (caller_is_account(&c->who)) {
        console_redirect(c, "/admin/");
        return;
    }
    login_form(c, 200, json_pack("{s:b}", "step_contact", 1));
}

void page_login_ask(struct api_call *c)
{
    const char *contact = api_arg(c, "contact");
    struct api_error e = {0};
    json_t *out = signin_request(c->db, contact, &e);
    if (!out) {
        login_form(c, e.status == 503 ? 503 : 422,
                   json_pack("{s:b,s:s?,s:s}", "step_contact", 1, "contact", contact, "error",
                             console_t(e.status == 503 ? "error_unavailable" : "signin_unreadable")));
        api_error_release(&e);
        return;
    }
    bool sms = strcmp(json_string_value(json_object_get(out, "channel")), "sms") == 0;
    json_decref(out);
    login_form(c, 200,
               sms ? json_pack("{s:b,s:s}", "step_code", 1, "contact", contact)
                   : json_pack("{s:b,s:s,s:i}", "step_sent", 1, "contact", contact, "minutes",
                               SESSION_LOGIN_MINUTES));
}

void page_login_code(struct api_call *c)
{
    const char *contact = api_arg(c, "contact"), *code = api_arg(c, "code");
    struct api_error e = {0};
    char *session = NULL;
    json_t *me = signin_with_code(c->db, contact, code, &session, &e);
    if (!me) {
        bool wrong = e.message && strcmp(e.message, "wrong code") == 0;
        login_form(c, e.status == 503 ? 503 : 401,
                   json_pack("{s:b,s:s?,s:s}", "step_code", 1, "contact", contact, "error",
                             console_t(e.status == 503 ? "error_unavailable"
                                       : wrong          ? "signin_wrong_code"
                                                        : "signin_code_void")));
        api_error_release(&e);
        return;
    }
    json_decref(me);
    signin_set_cookie(c->req, session);
    free(session);
    console_redirect(c, "/admin/");
}

void page_logout(struct api_call *c)
{
    char *error = NULL;
    if (c->who.session_id && session_delete(c->db, c->who.session_id, &error) < 0) {
        struct api_error e = {0};
        api_error_db(&e, c->db, "logout", error);
        console_error(c, &e);
        return;
    }
    signin_set_cookie(c->req, NULL);
    console_redirect(c, "/admin/login");
}
