/*
 * token — short signed tokens for unsubscribe links, reply addresses and VERP bounces.
 *
 * token_make("unsub", 42) gives "16-k3x9…": the id in base 36, a dash, and 16 characters of
 * base-32 (lower-case, so mail systems that fold case do no harm) of
 * HMAC-SHA256(engine secret, purpose ":" id). A forged or altered token is rejected by
 * token_check() without any database lookup; comparison is constant-time.
 * token_make() returns a string the caller frees, or NULL when the secret cannot be read
 * (error in *error_r). token_check() returns 0 and *id_r, or -1.
 * Purposes in use: "unsub" (contact id), "reply" (outbound id), "bounce" (outbound id),
 * "confirm" (membership confirmation).
 *
 * token_digest() is the whole HMAC-SHA256(engine secret, purpose ":" text) in lower-case
 * hex (64 characters): a keyed hash, for a value that must be recognisable again by whoever
 * holds the secret and unreadable to anyone else (the address of a forgotten contact,
 * purpose "forget"). Caller frees; NULL with *error_r when the secret cannot be read.
 */
#ifndef TOCSIN_TOKEN_H
#define TOCSIN_TOKEN_H

#include "lib/db.h"

#include <stdint.h>

char *token_make(struct db *db, const char *purpose, int64_t id, char **error_r);
int token_check(struct db *db, const char *purpose, const char *token, int64_t *id_r);
char *token_digest(struct db *db, const char *purpose, const char *text, char **error_r);
/* The same with an explicit key (tests, fuzzing). */
char *token_make_with(const char *key, const char *purpose, int64_t id);
int token_check_with(const char *key, const char *purpose, const char *token, int64_t *id_r);
char *token_digest_with(const char *key, const char *purpose, const char *text);

#endif
