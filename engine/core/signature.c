#include "core/signature.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static int compare_fields(const void *x, const void *y)
{
    const struct form_field *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->value, b->value);
}

static struct form_field *sorted_fields(const struct form *params)
{
    struct form_field *sorted = xmalloc((params->n + 1) * sizeof(*sorted));
    memcpy(sorted, params->fields, params->n * sizeof(*sorted));
    qsort(sorted, params->n, sizeof(*sorted), compare_fields);
    return sorted;
}

static void hex_encode(const unsigned char *mac, unsigned len, struct buf *out)
{
    for (unsigned i = 0; i < len; i++)
        buf_printf(out, "%02x", mac[i]);
}

char *twilio_signature(const char *token, const char *url, const struct form *params)
{
    struct buf data = BUF_INIT;
    buf_adds(&data, url);
    struct form_field *sorted = sorted_fields(params);
    for (size_t i = 0; i < params->n; i++) {
        buf_adds(&data, sorted[i].name);
        buf_adds(&data, sorted[i].value);
    }
    free(sorted);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)buf_str(&data), data.len,
         mac, &len);
    buf_release(&data);
    char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, mac, (int)len);
    return b64;
}

char *vonage_signature(const char *secret, const struct form *params)
{
    struct buf data = BUF_INIT;
    struct form_field *sorted = sorted_fields(params);
    for (size_t i = 0; i < params->n; i++) {
        if (strcmp(sorted[i].name, "sig") == 0)
            continue;
        buf_printf(&data, "&%s=", sorted[i].name);
        for (const char *v = sorted[i].value; *v; v++)
            buf_addch(&data, *v == '&' || *v == '=' ? '_' : *v);
    }
    free(sorted);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)buf_str(&data), data.len,
         mac, &len);
    buf_release(&data);
    struct buf out = BUF_INIT;
    hex_encode(mac, len, &out);
    return buf_detach(&out);
}

char *generic_signature(const char *secret, const char *body, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
         &mac_len);
    struct buf out = BUF_INIT;
    buf_adds(&out, "sha256=");
    hex_encode(mac, mac_len, &out);
    return buf_detach(&out);
}

bool signature_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

bool signature_fresh(const char *timestamp, long long now, long long window_s)
{
    long v;
    if (!timestamp || str_to_long(timestamp, 0, 0x7fffffffffffL, &v) < 0)
        return false;
    long long age = now - (long long)v;
    return age <= window_s && age >= -window_s;
}
