/*
 * phone — normalise phone numbers to E.164 ("+33612345678").
 *
 * phone_normalise() accepts international forms (+33 6 12 34 56 78, 0033612345678) and
 * national ones read in `default_country` (ISO 3166 alpha-2, e.g. "FR": 06 12 34 56 78),
 * with spaces, dots, dashes and parentheses ignored. French overseas numbers written
 * nationally (0692…, 0590…) get their own country codes. Returns a string the caller
 * frees, or NULL with a static reason in *reason_r.
 */
#ifndef TOCSIN_PHONE_H
#define TOCSIN_PHONE_H

#include <stdbool.h>

char *phone_normalise(const char *input, const char *default_country, const char **reason_r);
/* Whether E.164 `number` belongs to one of `countries`: ISO codes separated by commas or
 * spaces, each also covering its overseas territories (FR: RE, YT, GP, MQ, GF, PM, BL, MF, WF,
 * NC, PF), or "*" for any. A code this module does not know matches nothing. */
bool phone_in_countries(const char *number, const char *countries);
/* True for a lower-case-able address with one @, a dot in the domain, no spaces. */
int email_valid(const char *address);
/* Lower-cased, trimmed copy of an email address, or NULL (with *reason_r) if invalid. */
char *email_normalise(const char *input, const char **reason_r);

#endif
