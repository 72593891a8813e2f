/*
 * buf — a growable byte string, the one string type for untrusted bytes.
 *
 * Invariant: `data` is always NUL-terminated (also when empty after buf_init) and `len`
 * counts the bytes before that NUL; embedded NULs are allowed. A buf owns `data`;
 * buf_release() frees it and leaves an empty, reusable buf. buf_detach() hands the
 * string to the caller (free() it) and resets the buf.
 */
#ifndef TOCSIN_BUF_H
#define TOCSIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        0                                                                                          \
    }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
char *buf_detach(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The contents, never NULL (an empty buf gives ""). */
const char *buf_str(const struct buf *b);

#endif
