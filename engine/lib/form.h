/*
 * form — application/x-www-form-urlencoded parsing (webhook bodies and query strings).
 *
 * form_parse() splits `data` (not NUL-terminated, `len` bytes) on '&', each pair on the
 * first '=', and percent-decodes names and values ('+' is a space). It is a pure function
 * with bounds: at most FORM_MAX_FIELDS pairs, and a decoded pair is never longer than its
 * input. Malformed input — a bad escape ("%G1", a truncated "%4"), an encoded NUL, bytes
 * that are not UTF-8, too many fields, an empty name — is refused with a static reason in
 * *reason_r, so the webhook can answer 400 with it. Empty pairs ("a=1&&b=2") are skipped.
 * On success the caller owns *form_r and frees it with form_release().
 * form_get() returns the first value of a name (NULL if absent); the strings live as long
 * as the form.
 */
#ifndef TOCSIN_FORM_H
#define TOCSIN_FORM_H

#include "lib/utf8.h"

#include <stdbool.h>
#include <stddef.h>

#define FORM_MAX_FIELDS 256

struct form_field {
    char *name;
    char *value;
};

struct form {
    struct form_field *fields;
    size_t n;
};

int form_parse(const char *data, size_t len, struct form *form_r, const char **reason_r);
const char *form_get(const struct form *form, const char *name);
/* Add a pair (copied); used to build a form from JSON or a query string. */
void form_add(struct form *form, const char *name, const char *value);
void form_release(struct form *form);

/* `data` (a query string or form body, `len` bytes) without the pairs whose decoded name is
 * `name`, the others kept byte for byte: a fresh string the caller frees. */
char *form_without(const char *data, size_t len, const char *name);

/* Percent-decode [s, s+len) into a fresh string; -1 (and *reason_r) on a bad escape or NUL. */
int form_decode(const char *s, size_t len, bool plus_is_space, char **out_r, const char **reason_r);

#endif
