#include "outbound/gsm.h"
#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/util.h"
#include "core/config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

/* The GSM 03.38 default alphabet outside printable ASCII, as Unicode code points. */
static const uint32_t gsm_basic_non_ascii[] = {
    0x00a3, 0x00a5, 0x00e8, 0x00e9, 0x00f9, 0x00ec, 0x00f2, 0x00c7, 0x00d8, 0x00f8,
    0x00c5, 0x00e5, 0x0394, 0x03a6, 0x0393, 0x039b, 0x03a9, 0x03a0, 0x03a8, 0x03a3,
    0x0398, 0x039e, 0x00c6, 0x00e6, 0x00df, 0x00c9, 0x00a4, 0x00a1, 0x00c4, 0x00d6,
    0x00d1, 0x00dc, 0x00a7, 0x00bf, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0,
};

/* Septets a code point costs in GSM-7: 1 (default alphabet), 2 (escape + extension
 * table), or 0 when it has no GSM-7 form. */
static int gsm_cost(uint32_t cp)
{
    if (cp == '\n' || cp == '\r')
        return 1;
    if (cp == 0x0c || cp == 0x20ac)
        return 2;
    if (cp >= 0x20 && cp < 0x7f) {
        if (strchr("^{}\\[]~|", (int)cp))
            return 2;
        return cp == '`' ? 0 : 1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(gsm_basic_non_ascii); i++)
        if (gsm_basic_non_ascii[i] == cp)
            return 1;
    return 0;
}

/* Decode one code point at *s (advancing it); a malformed byte gives U+FFFD. The text is
 * NUL-terminated, and the decoder stops at the NUL, which is no continuation byte. */
static uint32_t utf8_next(const unsigned char **s)
{
    uint32_t cp;
    size_t n = utf8_decode(*s, SIZE_MAX, &cp);
    if (n == 0) {
        *s += 1;
        return 0xfffd;
    }
    *s += n;
    return cp;
}

/* Pack costs into segments of `per_segment` units without splitting a pair. */
static int pack_segments(const char *utf8, bool gsm, size_t per_segment)
{
    const unsigned char *s = (const unsigned char *)utf8;
    int segments = 1;
    size_t used = 0;
    while (*s) {
        uint32_t cp = utf8_next(&s);
        size_t cost = gsm ? (size_t)gsm_cost(cp) : (cp > 0xffff ? 2 : 1);
        if (used + cost > per_segment) {
            segments++;
            used = 0;
        }
        used += cost;
    }
    return segments;
}

void gsm_analyse(const char *utf8, struct gsm_info *info_r)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t septets = 0, utf16 = 0, chars = 0;
    bool gsm = true;
    while (*s) {
        uint32_t cp = utf8_next(&s);
        int cost = gsm_cost(cp);
        if (cost == 0)
            gsm = false;
        septets += (size_t)cost;
        utf16 += cp > 0xffff ? 2 : 1;
        chars++;
    }
    info_r->chars = chars;
    info_r->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    info_r->units = gsm ? septets : utf16;
    size_t single = gsm ? 160 : 70;
    info_r->segments = info_r->units <= single ? 1 : pack_segments(utf8, gsm, gsm ? 153 : 67);
}

const char *gsm_encoding_name(enum sms_encoding encoding)
{
    return encoding == SMS_GSM7 ? "gsm7" : "ucs2";
}

struct translit {
    uint32_t cp;
    const char *to;
};

/* Typography that has a plain GSM-7 form. Letters with diacritics are not here on
 * purpose: "Hélène" must not become "Helene" behind the organiser's back. */
static const struct translit translit_table[] = {
    {0x0009, " "},  {0x0060, "'"},  {0x00a0, " "},  {0x00ab, "\""}, {0x00ad, ""},   {0x00b4, "'"},
    {0x00bb, "\""}, {0x0152, "OE"}, {0x0153, "oe"}, {0x02bc, "'"},  {0x02c6, "^"},  {0x02dc, "~"},
    {0x2000, " "},  {0x2001, " "},  {0x2002, " "},  {0x2003, " "},  {0x2004, " "},  {0x2005, " "},
    {0x2006, " "},  {0x2007, " "},  {0x2008, " "},  {0x2009, " "},  {0x200a, " "},  {0x200b, ""},
    {0x200c, ""},   {0x200d, ""},   {0x2010, "-"},  {0x2011, "-"},  {0x2012, "-"},  {0x2013, "-"},
    {0x2014, "-"},  {0x2015, "-"},  {0x2018, "'"},  {0x2019, "'"},  {0x201a, "'"},  {0x201b, "'"},
    {0x201c, "\""}, {0x201d, "\""}, {0x201e, "\""}, {0x201f, "\""}, {0x2022, "-"},  {0x2026, "..."},
    {0x202f, " "},  {0x2032, "'"},  {0x2033, "\""}, {0x2039, "'"},  {0x203a, "'"},  {0x205f, " "},
    {0x2060, ""},   {0x2212, "-"},  {0x3000, " "},  {0xfb01, "fi"}, {0xfb02, "fl"}, {0xfeff, ""},
};

char *gsm_transliterate(const char *utf8)
{
    struct buf out = BUF_INIT;
    const unsigned char *s = (const unsigned char *)utf8;
    while (*s) {
        const unsigned char *start = s;
        uint32_t cp = utf8_next(&s);
        const char *to = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(translit_table); i++)
            if (translit_table[i].cp == cp) {
                to = translit_table[i].to;
                break;
            }
        if (to)
            buf_adds(&out, to);
        else
            buf_add(&out, start, (size_t)(s - start));
    }
    return buf_detach(&out);
}

char *gsm_compose(const char *body, const char *kind, bool transliterate, const char *stop_mention)
{
    struct buf out = BUF_INIT;
    if (transliterate) {
        char *t = gsm_transliterate(body);
        buf_adds(&out, t);
        free(t);
    } else {
        buf_adds(&out, body);
    }
    if (kind && strcmp(kind, "campaign") == 0 && stop_mention && *stop_mention &&
        !str_ends_with(buf_str(&out), stop_mention)) {
        if (out.len && out.data[out.len - 1] != ' ' && out.data[out.len - 1] != '\n')
            buf_addch(&out, ' ');
        buf_adds(&out, stop_mention);
    }
    return buf_detach(&out);
}

/* [sms] stop_mention as the operator wrote it; "" for none and for the language default. */
static const char *configured_mention(void)
{
    const char *m = config_str("sms", "stop_mention");
    return strcmp(m, "off") == 0 ? "" : m;
}

char *sms_compose(const char *body, const char *kind)
{
    return gsm_compose(body, kind, config_bool("sms", "transliterate"), configured_mention());
}

/* A sender people can text back: digits, maybe a leading +, short code or phone number. */
static bool textable(const char *sender)
{
    const char *digits = sender[0] == '+' ? sender + 1 : sender;
    size_t n = strlen(digits);
    return n >= 3 && n <= 15 && strspn(digits, "0123456789") == n;
}

char *gsm_default_stop_mention(const char *locale, const char *sender)
{
    if (!sender || !textable(sender))
        return xstrdup("");
    if (locale && strncmp(locale, "fr", 2) == 0) {
        /* A French reader writes a French number the national way. */
        if (strncmp(sender, "+33", 3) == 0 && strlen(sender) == 12)
            return xasprintf("STOP au 0%s", sender + 3);
        return xasprintf("STOP au %s", sender);
    }
    return xstrdup("Reply STOP to opt out");
}

char *sms_stop_mention(const char *locale)
{
    const char *m = config_str("sms", "stop_mention");
    if (strcmp(m, "off") == 0)
        return xstrdup("");
    if (*m)
        return xstrdup(m);
    return gsm_default_stop_mention(locale, config_str("sms", "from"));
}

bool gsm_mentions_stop(const char *text)
{
    for (const char *p = text; (p = strcasestr(p, "stop")) != NULL; p += 4) {
        bool starts = p == text || !isalnum((unsigned char)p[-1]);
        bool ends = !isalnum((unsigned char)p[4]);
        if (starts && ends)
            return true;
    }
    return false;
}

bool sms_lacks_stop(const char *text, const char *locale)
{
    char *mention = sms_stop_mention(locale);
    bool lacks = !*mention && !gsm_mentions_stop(text);
    free(mention);
    return lacks;
}

char *sms_append_default_mention(const char *text, const char *locale)
{
    if (*config_str("sms", "stop_mention") || gsm_mentions_stop(text))
        return xstrdup(text);
    char *mention = sms_stop_mention(locale);
    char *out = gsm_compose(text, "campaign", false, mention);
    free(mention);
    return out;
}

void sms_estimate(const char *body, long long recipients, struct sms_estimate *est_r,
                  char **composed_r)
{
    /* As a campaign text leaves: the default mention added when rendered, then composed. */
    char *rendered = sms_append_default_mention(body, config_str("engine", "default_locale"));
    char *composed = sms_compose(rendered, "campaign");
    free(rendered);
    gsm_analyse(composed, &est_r->info);
    est_r->recipients = recipients;
    est_r->total_segments = recipients * est_r->info.segments;
    if (composed_r)
        *composed_r = composed;
    else
        free(composed);
}
