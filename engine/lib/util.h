/*
 * util — allocation that succeeds or exits, and small string helpers.
 *
 * x*alloc() and xstrdup() never return NULL: on exhaustion they log and exit(EX_OSERR),
 * so callers own a valid pointer and free it with free(). die() is for start-up and
 * configuration errors only, never once the daemon serves traffic.
 */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh allocation owned by the caller. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "tocsin: MESSAGE" to stderr and exit with `code` (a sysexits.h value). */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Free *p and set it to NULL. */
void xfree(void *p);

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* Lower-case ASCII letters in place; returns s. */
char *str_lower(char *s);
/* Strip leading and trailing ASCII white space in place; returns the new start. */
char *str_trim(char *s);
/* A new string: the `len` bytes at s without leading and trailing ASCII white space. */
char *xstrndup_trim(const char *s, size_t len);
/* Parse a base-10 integer in [min, max]; 0 on success, -1 otherwise. */
int str_to_long(const char *s, long min, long max, long *out_r);

/* Monotonic clocks in milliseconds and microseconds, the wall clock in milliseconds. */
int64_t now_monotonic_ms(void);
int64_t now_monotonic_us(void);
int64_t now_wall_ms(void);
/* The wall-clock time `ms` milliseconds from now, as pthread_cond_timedwait() takes it. */
struct timespec deadline_after_ms(int64_t ms);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
