/*
 * config_check — what `tocsin config check` and `tocsin run` both check before anything
 * starts, beyond the per-key types the parser already enforced: values that must parse
 * (the [smtp] from address, quiet hours, an IANA time zone, the public URL), the keys a
 * configured transport needs (each transport's own open() is run and closed, without
 * connecting), and warnings for settings that work but are almost certainly wrong (a
 * loopback public_url when mail or texts leave the machine, a …@localhost sender, SMTP
 * AUTH without TLS).
 *
 * config_check() prints one line per problem on `out`, errors as
 * "FILE:LINE: [section] key: reason" (or "environment TOCSIN_…: …", or "default: …") and
 * warnings prefixed "warning: ". It returns the number of errors; a caller exits
 * EX_CONFIG (78) when it is not 0. Warnings never fail.
 */
#ifndef TOCSIN_CONFIG_CHECK_H
#define TOCSIN_CONFIG_CHECK_H

#include <stdio.h>

int config_check(FILE *out);

#endif
