/*
 * signin — how an organiser proves who they are, without a password.
 *
 * signin_request(): someone types their email or phone. When it belongs to an account, a
 * one-time link (email) or a 6-digit code (SMS) goes out through the queue, valid 15
 * minutes; otherwise nothing is sent. The answer is the same either way (it names only the
 * channel, which follows from what was typed), so it never tells who has an account.
 * signin_link_create(): a fresh link for a contact, returned rather than sent
 * (`tocsin user login-link`, for the first admin and for tests).
 * signin_with_link() / signin_with_code(): use a link token or a code; on success a new
 * session (its id in *session_r, caller frees: the cookie value) and the account as JSON
 * with the session's CSRF token. Wrong, used or expired: 401; the fifth wrong code voids
 * the code (a new one must be asked for).
 *
 * The /api/v1/auth/… routes and /api/v1/me call these; login_page() serves
 * GET /login/TOKEN (a page with one button: link scanners fetch GETs) and POST
 * /login/TOKEN (signs in and sets the cookie).
 */
#ifndef TOCSIN_API_SIGNIN_H
#define TOCSIN_API_SIGNIN_H

#include "core/account.h"
#include "core/http.h"
#include "api/model.h"

json_t *signin_request(struct db *db, const char *contact, struct api_error *e);
json_t *signin_link_create(struct db *db, const struct caller *who, const char *contact,
                           struct api_error *e);
json_t *signin_with_link(struct db *db, const char *token, char **session_r, struct api_error *e);
json_t *signin_with_code(struct db *db, const char *contact, const char *code, char **session_r,
                         struct api_error *e);
/* The account as /api/v1/me shows it; csrf when the caller came with a session. */
json_t *signin_me(struct db *db, const struct caller *who, struct api_error *e);

struct api_call;
void route_auth_login(struct api_call *c);
void route_auth_code(struct api_call *c);
void route_auth_link(struct api_call *c);
void route_auth_logout(struct api_call *c);
void route_me(struct api_call *c);
void route_openapi(struct api_call *c);

void login_page(struct http_request *req);
/* Set-Cookie for a new session (HttpOnly, SameSite=Lax, Secure under https), or one that
 * clears it (`session` NULL): the API's sign-in and the console's. */
void signin_set_cookie(struct http_request *req, const char *session);

#endif
