/* libFuzzer target: the GSM-7/UCS-2 encoder (engine/outbound/gsm.c), against an oracle
 * written here from 3GPP TS 23.038 itself: the default alphabet in its table order and the
 * extension table, not gsm.c's lists. For any bytes, gsm_analyse() must agree with the oracle
 * on the encoding, the units, the characters and the segments (a segment never splitting an
 * escape or a surrogate pair); transliteration keeps UTF-8 valid, changes no GSM-7 text and
 * is idempotent; composing a campaign text twice adds the STOP mention once. */
#include "lib/utf8.h"
#include "outbound/gsm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* TS 23.038 6.2.1: the 128 septets of the default alphabet; 0x1B is the escape (none). */
static const uint32_t default_alphabet[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9,     0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x000A,
    0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, 0x0394,     0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9,
    0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E, 0xFFFFFFFF, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x0020,
    0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026,     0x0027, 0x0028, 0x0029, 0x002A, 0x002B,
    0x002C, 0x002D, 0x002E, 0x002F, 0x0030, 0x0031,     0x0032, 0x0033, 0x0034, 0x0035, 0x0036,
    0x0037, 0x0038, 0x0039, 0x003A, 0x003B, 0x003C,     0x003D, 0x003E, 0x003F, 0x00A1, 0x0041,
    0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,     0x0048, 0x0049, 0x004A, 0x004B, 0x004C,
    0x004D, 0x004E, 0x004F, 0x0050, 0x0051, 0x0052,     0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1,     0x00DC, 0x00A7, 0x00BF, 0x0061, 0x0062,
    0x0063, 0x0064, 0x0065, 0x0066, 0x0067, 0x0068,     0x0069, 0x006A, 0x006B, 0x006C, 0x006D,
    0x006E, 0x006F, 0x0070, 0x0071, 0x0072, 0x0073,     0x0074, 0x0075, 0x0076, 0x0077, 0x0078,
    0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC,     0x00E0,
};
/* TS 23.038 6.2.1.1: what the escape reaches (form feed ^ { } \ [ ~ ] | €). */
static const uint32_t extension[] = {0x000C, 0x005E, 0x007B, 0x007D, 0x005C,
                                     0x005B, 0x007E, 0x005D, 0x007C, 0x20AC};

static int septets(uint32_t cp)
{
    for (size_t i = 0; i < 128; i++)
        if (default_alphabet[i] == cp)
            return 1;
    for (size_t i = 0; i < sizeof(extension) / sizeof(extension[0]); i++)
        if (extension[i] == cp)
            return 2;
    return 0;
}

/* Code points as gsm.c reads them: a byte that starts no UTF-8 sequence is U+FFFD. */
static size_t decode(const char *s, uint32_t *cps)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        size_t len = utf8_decode(p, strlen((const char *)p), &cps[n]);
        if (!len) {
            cps[n] = 0xFFFD;
            len = 1;
        }
        p += len;
    }
    return n;
}

static void oracle(const char *s, struct gsm_info *want)
{
    size_t len = strlen(s);
    uint32_t *cps = malloc((len + 1) * sizeof(*cps));
    size_t n = decode(s, cps);
    bool gsm = true;
    size_t units = 0;
    for (size_t i = 0; i < n && gsm; i++)
        gsm = septets(cps[i]) > 0;
    for (size_t i = 0; i < n; i++)
        units += gsm ? (size_t)septets(cps[i]) : cps[i] > 0xFFFF ? 2 : 1;
    size_t single = gsm ? 160 : 70, per = gsm ? 153 : 67, used = 0;
    int segments = 1;
    if (units > single)
        for (size_t i = 0; i < n; i++) {
            size_t cost = gsm ? (size_t)septets(cps[i]) : cps[i] > 0xFFFF ? 2 : 1;
            if (used + cost > per) {
                segments++;
                used = 0;
            }
            used += cost;
        }
    want->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    want->units = units;
    want->chars = n;
    want->segments = segments;
    free(cps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct gsm_info got, want;
    gsm_analyse(text, &got);
    oracle(text, &want);
    if (got.encoding != want.encoding || got.units != want.units || got.chars != want.chars ||
        got.segments != want.segments)
        abort();
    size_t per = got.encoding == SMS_GSM7 ? 153 : 67;
    /* A pair is never split, so a segment loses at most one unit to it. */
    if (got.segments > 1 && (got.units > (size_t)got.segments * per ||
                             got.units <= (size_t)(got.segments - 1) * (per - 1)))
        abort();

    char *t = gsm_transliterate(text);
    char *tt = gsm_transliterate(t);
    if (strcmp(t, tt) != 0)
        abort();
    if (utf8_valid(text, strlen(text)) && !utf8_valid(t, strlen(t)))
        abort();
    if (got.encoding == SMS_GSM7 && strcmp(t, text) != 0)
        abort();

    bool translit = size > 0 && (data[0] & 1);
    char *once = gsm_compose(text, "campaign", translit, "STOP au 36173");
    char *twice = gsm_compose(once, "campaign", translit, "STOP au 36173");
    char *reply = gsm_compose(text, "reply", false, "STOP au 36173");
    if (strcmp(once, twice) != 0 || strcmp(reply, text) != 0)
        abort();
    free(reply);
    free(twice);
    free(once);
    free(tt);
    free(t);
    free(text);
    return 0;
}
