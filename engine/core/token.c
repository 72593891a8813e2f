#include "core/token.h"
#include "lib/util.h"
#include "core/secret.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define MAC_CHARS 16

static void mac_text(const char *key, const char *purpose, const char *id36,
                     char out[MAC_CHARS + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    char *message = xasprintf("%s:%s", purpose, id36);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)message, strlen(message), mac,
         &len);
    free(message);
    /* 16 base-32 characters = 80 bits of the MAC. */
    uint64_t bits = 0;
    int nbits = 0, o = 0;
    for (unsigned i = 0; i < len && o < MAC_CHARS; i++) {
        bits = (bits << 8) | mac[i];
        nbits += 8;
        while (nbits >= 5 && o < MAC_CHARS) {
            out[o++] = alphabet[(bits >> (nbits - 5)) & 31];
            nbits -= 5;
        }
    }
    out[o] = '\0';
}

static void base36(int64_t id, char out[16])
{
    char tmp[16];
    int n = 0;
    uint64_t v = (uint64_t)id;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v && n < 15);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

char *token_make_with(const char *key, const char *purpose, int64_t id)
{
    char id36[16], mac[MAC_CHARS + 1];
    base36(id, id36);
    mac_text(key, purpose, id36, mac);
    return xasprintf("%s-%s", id36, mac);
}

int token_check_with(const char *key, const char *purpose, const char *token, int64_t *id_r)
{
    if (!token)
        return -1;
    const char *dash = strchr(token, '-');
    if (!dash || dash == token || dash - token > 12 || strlen(dash + 1) != MAC_CHARS)
        return -1;
    char id36[16];
    size_t n = (size_t)(dash - token);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)token[i]);
        if (!isdigit((unsigned char)c) && !(c >= 'a' && c <= 'z'))
            return -1;
        id36[i] = c;
    }
    id36[n] = '\0';
    char lowered[MAC_CHARS + 1];
    for (int i = 0; i < MAC_CHARS; i++)
        lowered[i] = (char)tolower((unsigned char)dash[1 + i]);
    lowered[MAC_CHARS] = '\0';
    char want[MAC_CHARS + 1];
    mac_text(key, purpose, id36, want);
    if (CRYPTO_memcmp(want, lowered, MAC_CHARS) != 0)
        return -1;
    int64_t id = 0;
    for (size_t i = 0; i < n; i++) {
        int d = isdigit((unsigned char)id36[i]) ? id36[i] - '0' : id36[i] - 'a' + 10;
        id = id * 36 + d;
    }
    *id_r = id;
    return 0;
}

char *token_make(struct db *db, const char *purpose, int64_t id, char **error_r)
{
    const char *key = secret_get(db, error_r);
    return key ? token_make_with(key, purpose, id) : NULL;
}

int token_check(struct db *db, const char *purpose, const char *token, int64_t *id_r)
{
    char *error = NULL;
    const char *key = secret_get(db, &error);
    free(error);
    return key ? token_check_with(key, purpose, token, id_r) : -1;
}

char *token_digest_with(const char *key, const char *purpose, const char *text)
{
    char *message = xasprintf("%s:%s", purpose, text);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)message, strlen(message), mac,
         &len);
    free(message);
    char *hex = xcalloc(2 * (size_t)len + 1, 1);
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return hex;
}

char *token_digest(struct db *db, const char *purpose, const char *text, char **error_r)
{
    const char *key = secret_get(db, error_r);
    return key ? token_digest_with(key, purpose, text) : NULL;
}
