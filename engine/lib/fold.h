/*
 * fold — accent- and case-folding of UTF-8 text, so `ARRÊT`, `Arrêt` and `arret` compare
 * equal and a keyword grammar can be written in lower-case ASCII.
 *
 * fold_text() appends to `out` a copy of `len` bytes of `in` where: ASCII letters are
 * lower-cased; Latin letters with diacritics (Latin-1 Supplement, Latin Extended-A) become
 * their base letters (é→e, Ç→c, œ→oe, ß→ss); typographic quotes, dashes and spaces become
 * their ASCII forms (’→', –→-, NBSP→space), fullwidth forms their ASCII letters; other valid code
 * points are copied unchanged; invalid UTF-8 bytes and control characters (except \n and \t) become
 * a space. It never fails and never reads past `len`; the output is at most 2×len bytes.
 */
#ifndef TOCSIN_FOLD_H
#define TOCSIN_FOLD_H

#include "lib/buf.h"

#include <stddef.h>

void fold_text(const char *in, size_t len, struct buf *out);

#include "lib/utf8.h"

#endif
