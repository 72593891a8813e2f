#include "lib/fold.h"

#include <stdint.h>
#include <string.h>

/*
 * U+00C0..U+017F folded to ASCII, two bytes per code point ("\0" in the second byte for a
 * single letter). Derived from the Unicode decompositions of Latin-1 Supplement and Latin
 * Extended-A; the few letters without a decomposition (Æ, Ø, Ð, Þ, ß, Œ, Ł, ı, ĸ, ŉ) use
 * the usual transliteration.
 */
static const char latin_fold[][2] = {
    /* C0 */ "a",  "a", "a",  "a",  "a", "a", "ae", "c",
    "e",           "e", "e",  "e",  "i", "i", "i",  "i",
    /* D0 */ "d",  "n", "o",  "o",  "o", "o", "o",  "x",
    "o",           "u", "u",  "u",  "u", "y", "th", "ss",
    /* E0 */ "a",  "a", "a",  "a",  "a", "a", "ae", "c",
    "e",           "e", "e",  "e",  "i", "i", "i",  "i",
    /* F0 */ "d",  "n", "o",  "o",  "o", "o", "o",  "/",
    "o",           "u", "u",  "u",  "u", "y", "th", "y",
    /* 100 */ "a", "a", "a",  "a",  "a", "a", "c",  "c",
    "c",           "c", "c",  "c",  "c", "c", "d",  "d",
    /* 110 */ "d", "d", "e",  "e",  "e", "e", "e",  "e",
    "e",           "e", "e",  "e",  "g", "g", "g",  "g",
    /* 120 */ "g", "g", "g",  "g",  "h", "h", "h",  "h",
    "i",           "i", "i",  "i",  "i", "i", "i",  "i",
    /* 130 */ "i", "i", "ij", "ij", "j", "j", "k",  "k",
    "k",           "l", "l",  "l",  "l", "l", "l",  "l",
    /* 140 */ "l", "l", "l",  "n",  "n", "n", "n",  "n",
    "n",           "n", "n",  "n",  "o", "o", "o",  "o",
    /* 150 */ "o", "o", "oe", "oe", "r", "r", "r",  "r",
    "r",           "r", "s",  "s",  "s", "s", "s",  "s",
    /* 160 */ "s", "s", "t",  "t",  "t", "t", "t",  "t",
    "u",           "u", "u",  "u",  "u", "u", "u",  "u",
    /* 170 */ "u", "u", "u",  "u",  "w", "w", "y",  "y",
    "y",           "z", "z",  "z",  "z", "z", "z",  "s",
};

/* Punctuation and spaces that phones and mail clients substitute for ASCII ones. */
static const char *punctuation_fold(uint32_t cp)
{
    switch (cp) {
    case 0x00A0:
    case 0x2000:
    case 0x2001:
    case 0x2002:
    case 0x2003:
    case 0x2004:
    case 0x2005:
    case 0x2006:
    case 0x2007:
    case 0x2008:
    case 0x2009:
    case 0x200A:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFFFD: /* the replacement character: a byte that was not text */
        return " ";
    case 0x200B:
    case 0x200C:
    case 0x200D:
    case 0x2060:
    case 0xFEFF:
        return ""; /* zero-width: invisible, so it must not split or join words */
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:
    case 0x2212:
        return "-";
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x2032:
        return "'";
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x00AB:
    case 0x00BB:
        return "\"";
    case 0x2026:
        return "...";
    default:
        return NULL;
    }
}

void fold_text(const char *in, size_t len, struct buf *out)
{
    const unsigned char *s = (const unsigned char *)in;
    buf_grow(out, len);
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            buf_addch(out, ' ');
            i++;
            continue;
        }
        if (cp < 0x80) {
            if (cp >= 'A' && cp <= 'Z')
                buf_addch(out, (char)(cp + 'a' - 'A'));
            else if (cp < 0x20 && cp != '\n' && cp != '\t')
                buf_addch(out, cp == '\r' ? '\n' : ' ');
            else if (cp == 0x7F)
                buf_addch(out, ' ');
            else
                buf_addch(out, (char)cp);
        } else if (cp >= 0xC0 && cp <= 0x17F && cp != 0xD7 && cp != 0xF7) {
            const char *f = latin_fold[cp - 0xC0];
            buf_add(out, f, f[1] ? 2 : 1);
        } else if (cp < 0xA0) {
            buf_addch(out, ' '); /* C1 controls */
        } else {
            const char *p = punctuation_fold(cp);
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                /* Fullwidth forms (East Asian keyboards) are ASCII in disguise. */
                char c = (char)(cp - 0xFEE0);
                buf_addch(out, c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c);
            } else if (p)
                buf_adds(out, p);
            else
                buf_add(out, s + i, n);
        }
        i += n;
    }
}
