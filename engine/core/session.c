#include "core/session.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define API_TOKEN_PREFIX "tocsin_"
/* Characters of a token kept in clear to name it in lists: the prefix and 7 more. */
#define API_TOKEN_SHOWN (sizeof(API_TOKEN_PREFIX) - 1 + 7)
/* Notes of activity (session last seen, token last used) are written at most this often,
 * so that a burst of requests is not a burst of writes. */
#define TOUCH_SECONDS "60"

static void random_bytes(unsigned char *out, size_t n)
{
    /* Without randomness nothing here is safe; OpenSSL's CSPRNG failing is fatal. */
    if (RAND_bytes(out, (int)n) != 1)
        die(70, "no random bytes from OpenSSL");
}

static char *base64url(const unsigned char *data, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = xmalloc((n * 4 + 2) / 3 + 1);
    size_t o = 0;
    uint32_t bits = 0;
    int nbits = 0;
    for (size_t i = 0; i < n; i++) {
        bits = (bits << 8) | data[i];
        nbits += 8;
        while (nbits >= 6) {
            out[o++] = alphabet[(bits >> (nbits - 6)) & 63];
            nbits -= 6;
        }
    }
    if (nbits > 0)
        out[o++] = alphabet[(bits << (6 - nbits)) & 63];
    out[o] = '\0';
    return out;
}

char *session_random_text(size_t nbytes)
{
    unsigned char *raw = xmalloc(nbytes);
    random_bytes(raw, nbytes);
    char *text = base64url(raw, nbytes);
    OPENSSL_cleanse(raw, nbytes);
    free(raw);
    return text;
}

void session_random_code(char out[7])
{
    /* Rejection sampling: 2^32 is not a multiple of 10^6, and a plain modulo would make
     * the low codes a little likelier. */
    const uint32_t limit = UINT32_MAX - UINT32_MAX % 1000000u;
    uint32_t v;
    do {
        random_bytes((unsigned char *)&v, sizeof(v));
    } while (v >= limit);
    snprintf(out, 7, "%06u", (unsigned)(v % 1000000u));
}

static char *hex_literal(const unsigned char *digest, unsigned len)
{
    char *out = xmalloc(2 + 2 * (size_t)len + 1);
    memcpy(out, "\\x", 2);
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 + 2 * i, 3, "%02x", digest[i]);
    return out;
}

char *session_sha256_literal(const char *text)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL);
    return hex_literal(digest, len);
}

/* HMAC-SHA256(engine secret, purpose ":" text) as raw bytes; 0 or -1 (*error_r). */
static int keyed_digest(struct db *db, const char *purpose, const char *text,
                        unsigned char out[EVP_MAX_MD_SIZE], unsigned *len_r, char **error_r)
{
    const char *key = secret_get(db, error_r);
    if (!key)
        return -1;
    char *message = xasprintf("%s:%s", purpose, text);
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)message, strlen(message), out,
         len_r);
    free(message);
    return 0;
}

static char *keyed_literal(struct db *db, const char *purpose, const char *text, char **error_r)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (keyed_digest(db, purpose, text, digest, &len, error_r) < 0)
        return NULL;
    return hex_literal(digest, len);
}

int login_challenge_create(struct db *db, int64_t person_id, int64_t contact_id, const char *kind,
                           char **secret_r, int64_t *challenge_id_r, char **error_r)
{
    *secret_r = NULL;
    *challenge_id_r = 0;
    char person[DB_PARAM_SIZE], contact[DB_PARAM_SIZE], window[DB_PARAM_SIZE];
    snprintf(window, sizeof(window), "%d", SESSION_LOGIN_MINUTES);
    const char *count_params[] = {db_param_int(contact_id, contact), window};
    /* The lock makes two simultaneous requests count each other. */
    PGresult *res = db_exec(db,
                            "SELECT count(*) FROM (SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE)"
                            " c, login_challenges l WHERE l.contact_id = $1"
                            " AND l.created_at > now() - $2::int * interval '1 minute'",
                            2, count_params, error_r);
    if (!res)
        return -1;
    long recent = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (recent >= SESSION_LOGIN_PER_WINDOW)
        return 0;
    char *secret;
    if (strcmp(kind, "code") == 0) {
        char code[7];
        session_random_code(code);
        secret = xstrdup(code);
        const char *void_params[] = {contact};
        if (db_run(db,
                   "UPDATE login_challenges SET used_at = now() WHERE contact_id = $1"
                   " AND kind = 'code' AND used_at IS NULL",
                   1, void_params, error_r) < 0) {
            free(secret);
            return -1;
        }
    } else {
        secret = session_random_text(32);
    }
    char *hash = keyed_literal(db, kind, secret, error_r);
    if (!hash) {
        free(secret);
        return -1;
    }
    const char *params[] = {db_param_int(person_id, person), contact, kind, hash, window};
    res = db_exec(db,
                  "INSERT INTO login_challenges (person_id, contact_id, kind, secret_hash,"
                  " expires_at) VALUES ($1, $2, $3, $4::bytea,"
                  " now() + $5::int * interval '1 minute') RETURNING id",
                  5, params, error_r);
    free(hash);
    if (!res) {
        free(secret);
        return -1;
    }
    *challenge_id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    *secret_r = secret;
    return 0;
}

/* A link token is 43 base64url characters; anything else is refused before hashing. */
static bool link_token_plausible(const char *token)
{
    size_t n = token ? strlen(token) : 0;
    if (n != 43)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = token[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int link_query(struct db *db, const char *sql, const char *token, int64_t *person_r,
                      char **error_r)
{
    if (!link_token_plausible(token))
        return 0;
    char *hash = keyed_literal(db, "link", token, error_r);
    if (!hash)
        return -1;
    const char *params[] = {hash};
    PGresult *res = db_exec(db, sql, 1, params, error_r);
    free(hash);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        *person_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return found;
}

int login_link_peek(struct db *db, const char *token, int64_t *person_r, char **error_r)
{
    return link_query(db,
                      "SELECT person_id FROM login_challenges WHERE kind = 'link'"
                      " AND secret_hash = $1::bytea AND used_at IS NULL AND expires_at > now()",
                      token, person_r, error_r);
}

int login_link_redeem(struct db *db, const char *token, int64_t *person_r, char **error_r)
{
    return link_query(db,
                      "UPDATE login_challenges SET used_at = now() WHERE kind = 'link'"
                      " AND secret_hash = $1::bytea AND used_at IS NULL AND expires_at > now()"
                      " RETURNING person_id",
                      token, person_r, error_r);
}

static bool code_plausible(const char *code)
{
    if (!code || strlen(code) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    return true;
}

int login_code_redeem(struct db *db, int64_t contact_id, const char *code,
                      enum login_code_result *result_r, int64_t *person_r, char **error_r)
{
    *result_r = LOGIN_CODE_VOID;
    char contact[DB_PARAM_SIZE], tries[DB_PARAM_SIZE];
    snprintf(tries, sizeof(tries), "%d", SESSION_LOGIN_MAX_TRIES);
    const char *params[] = {db_param_int(contact_id, contact), tries};
    if (db_begin(db, error_r) < 0)
        return -1;
    PGresult *res = db_exec(db,
                            "SELECT id, person_id, secret_hash, attempts FROM login_challenges"
                            " WHERE contact_id = $1 AND kind = 'code' AND used_at IS NULL"
                            " AND expires_at > now() AND attempts < $2::int"
                            " ORDER BY id DESC LIMIT 1 FOR UPDATE",
                            2, params, error_r);
    if (!res)
        goto fail;
    if (PQntuples(res) == 0) {
        PQclear(res);
        db_rollback(db);
        return 0;
    }
    char *id = xstrdup(PQgetvalue(res, 0, 0));
    int64_t person = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    size_t stored_len = 0;
    unsigned char *stored =
        PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 2), &stored_len);
    int attempts = (int)strtol(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    unsigned char want[EVP_MAX_MD_SIZE];
    unsigned want_len = 0;
    bool match = false;
    /* Whatever the input, one HMAC and one constant-time comparison. */
    if (keyed_digest(db, "code", code_plausible(code) ? code : "-", want, &want_len, error_r) == 0)
        match = code_plausible(code) && stored && stored_len == want_len &&
                CRYPTO_memcmp(stored, want, want_len) == 0;
    else
        want_len = 0;
    PQfreemem(stored);
    if (want_len == 0) {
        free(id);
        goto fail;
    }
    const char *up[] = {id};
    int rc = match ? db_run(db, "UPDATE login_challenges SET used_at = now() WHERE id = $1", 1, up,
                            error_r)
                   : db_run(db, "UPDATE login_challenges SET attempts = attempts + 1 WHERE id = $1",
                            1, up, error_r);
    free(id);
    if (rc < 0 || db_commit(db, error_r) < 0)
        goto fail;
    if (match) {
        *result_r = LOGIN_CODE_OK;
        *person_r = person;
    } else {
        *result_r = attempts + 1 >= SESSION_LOGIN_MAX_TRIES ? LOGIN_CODE_VOID : LOGIN_CODE_WRONG;
    }
    return 0;
fail:
    db_rollback(db);
    return -1;
}

int session_create(struct db *db, int64_t person_id, char **session_id_r, char **error_r)
{
    *session_id_r = NULL;
    char person[DB_PARAM_SIZE], lifetime[DB_PARAM_SIZE], idle[DB_PARAM_SIZE];
    snprintf(lifetime, sizeof(lifetime), "%ld", config_int("http", "session_lifetime"));
    snprintf(idle, sizeof(idle), "%ld", config_int("http", "session_idle"));
    /* Sessions that ended are of no use to anyone: clear them as new ones are made. */
    const char *sweep[] = {idle};
    if (db_run(db,
               "DELETE FROM sessions WHERE expires_at < now()"
               " OR last_seen_at < now() - $1::int * interval '1 second'",
               1, sweep, error_r) < 0)
        return -1;
    char *id = session_random_text(32);
    char *hash = session_sha256_literal(id);
    const char *params[] = {hash, db_param_int(person_id, person), lifetime};
    int rc = db_run(db,
                    "INSERT INTO sessions (id_hash, person_id, expires_at)"
                    " VALUES ($1::bytea, $2, now() + $3::int * interval '1 second')",
                    3, params, error_r);
    free(hash);
    if (rc < 0) {
        free(id);
        return -1;
    }
    *session_id_r = id;
    return 0;
}

int session_lookup(struct db *db, const char *session_id, int64_t *person_r, char **error_r)
{
    if (!link_token_plausible(session_id))
        return 0;
    char idle[DB_PARAM_SIZE];
    snprintf(idle, sizeof(idle), "%ld", config_int("http", "session_idle"));
    char *hash = session_sha256_literal(session_id);
    const char *params[] = {hash, idle};
    PGresult *res = db_exec(db,
                            "WITH s AS (SELECT id_hash, person_id, last_seen_at FROM sessions"
                            "  WHERE id_hash = $1::bytea AND expires_at > now()"
                            "  AND last_seen_at > now() - $2::int * interval '1 second'),"
                            " touched AS (UPDATE sessions x SET last_seen_at = now() FROM s"
                            "  WHERE x.id_hash = s.id_hash"
                            "  AND s.last_seen_at < now() - interval '" TOUCH_SECONDS " seconds')"
                            " SELECT person_id FROM s",
                            2, params, error_r);
    free(hash);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        *person_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return found;
}

int session_delete(struct db *db, const char *session_id, char **error_r)
{
    char *hash = session_sha256_literal(session_id ? session_id : "");
    const char *params[] = {hash};
    int rc = db_run(db, "DELETE FROM sessions WHERE id_hash = $1::bytea", 1, params, error_r);
    free(hash);
    return rc;
}

int session_delete_person(struct db *db, int64_t person_id, char **error_r)
{
    char person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person)};
    return db_run(db, "DELETE FROM sessions WHERE person_id = $1", 1, params, error_r);
}

char *session_csrf(struct db *db, const char *session_id, char **error_r)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (keyed_digest(db, "csrf", session_id, digest, &len, error_r) < 0)
        return NULL;
    return base64url(digest, len);
}

bool session_csrf_ok(struct db *db, const char *session_id, const char *token)
{
    if (!session_id || !token)
        return false;
    char *error = NULL;
    char *want = session_csrf(db, session_id, &error);
    free(error);
    bool ok =
        want && strlen(token) == strlen(want) && CRYPTO_memcmp(want, token, strlen(want)) == 0;
    free(want);
    return ok;
}

int api_token_create(struct db *db, int64_t person_id, const char *name, int64_t created_by,
                     char **token_r, int64_t *id_r, char **error_r)
{
    *token_r = NULL;
    char *random = session_random_text(32);
    char *token = xasprintf(API_TOKEN_PREFIX "%s", random);
    free(random);
    char *hash = session_sha256_literal(token);
    char *shown = xstrndup(token, API_TOKEN_SHOWN);
    char person[DB_PARAM_SIZE], creator[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person), name, shown, hash,
                            db_param_id_or_null(created_by, creator)};
    PGresult *res = db_exec(db,
                            "INSERT INTO api_tokens (person_id, name, prefix, token_hash,"
                            " created_by) VALUES ($1, $2, $3, $4::bytea, $5) RETURNING id",
                            5, params, error_r);
    free(hash);
    free(shown);
    if (!res) {
        free(token);
        return -1;
    }
    *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    *token_r = token;
    return 0;
}

int api_token_lookup(struct db *db, const char *token, int64_t *person_r, int64_t *token_id_r,
                     char **error_r)
{
    if (!token || !str_starts_with(token, API_TOKEN_PREFIX) || strlen(token) > 128)
        return 0;
    char *hash = session_sha256_literal(token);
    const char *params[] = {hash};
    PGresult *res = db_exec(db,
                            "WITH t AS (SELECT id, person_id, last_used_at FROM api_tokens"
                            "  WHERE token_hash = $1::bytea AND revoked_at IS NULL),"
                            " touched AS (UPDATE api_tokens x SET last_used_at = now() FROM t"
                            "  WHERE x.id = t.id AND (t.last_used_at IS NULL"
                            "  OR t.last_used_at < now() - interval '" TOUCH_SECONDS " seconds'))"
                            " SELECT id, person_id FROM t",
                            1, params, error_r);
    free(hash);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        *token_id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *person_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return found;
}
