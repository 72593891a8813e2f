/*
 * session — what proves who an organiser is: one-time sign-in challenges, sessions, the
 * CSRF token of a session, and API tokens.
 *
 * Every secret comes from OpenSSL's CSPRNG and is stored only as a hash: sessions and API
 * tokens (256 random bits) as SHA-256, sign-in secrets (a 6-digit code has only 20 bits)
 * as HMAC-SHA256 keyed with the engine secret, so a copy of the table alone cannot be
 * searched for codes. Comparisons of secrets the caller supplies are constant-time or go
 * through a hash lookup.
 *
 * Sign-in: login_challenge_create() makes a link token or a 6-digit code for a contact
 * (valid SESSION_LOGIN_MINUTES, single use; a new code voids the contact's older codes) in
 * the caller's transaction and hands the secret back once (*secret_r, caller frees), or
 * *secret_r = NULL when the contact asked too often (SESSION_LOGIN_PER_WINDOW per
 * window): the caller then sends nothing and says nothing different. login_link_peek()
 * tells whether a link token is still good (for the page that asks to confirm: a GET
 * never signs in, link scanners fetch it), login_link_redeem() uses it up;
 * login_code_redeem() checks a code for a contact: the fifth wrong code voids it.
 *
 * Sessions: session_create() returns a fresh session id (the cookie value, caller frees);
 * session_lookup() finds the person of a live session (not past [http] session_lifetime,
 * not idle longer than [http] session_idle) and notes the activity at most once a minute;
 * session_delete() signs out. session_csrf() is the session's CSRF token (an HMAC of the
 * id: nothing stored), session_csrf_ok() checks one.
 *
 * API tokens: api_token_create() returns "tocsin_…" once (caller frees) and its id;
 * api_token_lookup() finds the person of a token that is not revoked.
 *
 * Functions returning int give 0 (or a result code where said) and -1 with *error_r
 * (caller frees) on a database error.
 */
#ifndef TOCSIN_SESSION_H
#define TOCSIN_SESSION_H

#include "lib/db.h"

#include <stdbool.h>
#include <stdint.h>

#define SESSION_LOGIN_MINUTES    15
#define SESSION_LOGIN_MAX_TRIES  5
#define SESSION_LOGIN_PER_WINDOW 5

int login_challenge_create(struct db *db, int64_t person_id, int64_t contact_id, const char *kind,
                           char **secret_r, int64_t *challenge_id_r, char **error_r);

/* 1 and *person_r when the link is unused and unexpired, 0 when not, -1 on error. */
int login_link_peek(struct db *db, const char *token, int64_t *person_r, char **error_r);
int login_link_redeem(struct db *db, const char *token, int64_t *person_r, char **error_r);

enum login_code_result {
    LOGIN_CODE_OK,
    LOGIN_CODE_WRONG, /* wrong code, tries left */
    LOGIN_CODE_VOID,  /* wrong code and that was the last try, or no open code at all */
};
/* Runs its own transaction (a wrong try must count even though sign-in fails). */
int login_code_redeem(struct db *db, int64_t contact_id, const char *code,
                      enum login_code_result *result_r, int64_t *person_r, char **error_r);

int session_create(struct db *db, int64_t person_id, char **session_id_r, char **error_r);
/* 1 and *person_r for a live session, 0 for none, -1 on error. */
int session_lookup(struct db *db, const char *session_id, int64_t *person_r, char **error_r);
int session_delete(struct db *db, const char *session_id, char **error_r);
/* Delete every session of a person (roles removed). */
int session_delete_person(struct db *db, int64_t person_id, char **error_r);

char *session_csrf(struct db *db, const char *session_id, char **error_r);
bool session_csrf_ok(struct db *db, const char *session_id, const char *token);

int api_token_create(struct db *db, int64_t person_id, const char *name, int64_t created_by,
                     char **token_r, int64_t *id_r, char **error_r);
/* 1 with *person_r and *token_id_r for a valid token, 0 for none, -1 on error. */
int api_token_lookup(struct db *db, const char *token, int64_t *person_r, int64_t *token_id_r,
                     char **error_r);

/* The pure parts, for tests: n random bytes as unpadded base64url (caller frees), a
 * uniformly drawn 6-digit code, SHA-256 of a string as a bytea hex literal ("\\x…"). */
char *session_random_text(size_t nbytes);
void session_random_code(char out[7]);
char *session_sha256_literal(const char *text);

#endif
