/*
 * utf8 — the one UTF-8 decoder: strict (no overlong forms, no surrogates, nothing past
 * U+10FFFF — how filters get bypassed), and never reading past `left` bytes or past a NUL.
 *
 * utf8_decode() returns the length in bytes of the code point at `s` and stores it in
 * *cp_r, or returns 0 when the bytes there are not UTF-8. utf8_valid() checks `len` bytes.
 * utf8_sanitised() returns NULL when `s` is valid (what PostgreSQL's text accepts), else a
 * copy the caller frees in which every invalid byte is U+FFFD, so hostile bytes are kept
 * visible instead of failing a transaction forever.
 */
#ifndef TOCSIN_UTF8_H
#define TOCSIN_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t utf8_decode(const unsigned char *s, size_t left, uint32_t *cp_r);
bool utf8_valid(const char *s, size_t len);
char *utf8_sanitised(const char *s);

#endif
