#include "lib/utf8.h"
#include "lib/buf.h"

#include <string.h>

size_t utf8_decode(const unsigned char *s, size_t left, uint32_t *cp_r)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
        *cp_r = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong forms and surrogates are how filters get bypassed */
    *cp_r = cp;
    return n;
}

bool utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

char *utf8_sanitised(const char *s)
{
    size_t len = strlen(s), i = 0;
    uint32_t cp;
    while (i < len) {
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0)
            break;
        i += n;
    }
    if (i == len)
        return NULL;
    struct buf out = BUF_INIT;
    buf_add(&out, s, i);
    while (i < len) {
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0) {
            buf_adds(&out, "\xEF\xBF\xBD");
            i++;
        } else {
            buf_add(&out, s + i, n);
            i += n;
        }
    }
    return buf_detach(&out);
}
