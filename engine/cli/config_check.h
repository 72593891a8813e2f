/*
 * config_check — what `tocsin config check` and `tocsin run` both check before anything
 * starts, beyond the per-key types the parser already enforced: values that must parse
 * (the [smtp] from address, quiet hours, an IANA time zone, the public URL), the keys a
 * configured transport needs (each transport's own open() is run and closed, without
 * connecting), and warnings for settings that work but are almost certainly wrong (a
 * loopback public_url when mail or texts leave the machine, a …@localhost sender, SMTP
 * AUTH without TLS, no organisation named, texts that cannot say how to opt out).
 *
 * config_check() prints one line per problem on `out`, errors as
 * "FILE:LINE: [section] key: reason" (or "environment TOCSIN_…: …", or "default: …") and
 * warnings prefixed "warning: ". It returns the number of errors; a caller exits
 * EX_CONFIG (78) when it is not 0. Warnings never fail.
 *
 * config_check_connect() (`config check --connect`) then tries what the configuration
 * points at, without sending anything: the database (connect, server version, migrations
 * pending), the SMTP relay when [smtp] host is set (EHLO, STARTTLS, AUTH, QUIT) and the SMS
 * gateway when [sms] provider is not the spool (the provider's account or balance
 * endpoint: each transport's probe()). One line per target on `out` — "database: ok: …",
 * "relay: refused: …", "sms: unreachable: …" — followed by what was seen, indented; no
 * secret is ever printed. Returns EX_OK, EX_CONFIG (78) when something answered and said
 * no (a password, a certificate, a suspended account: the configuration must change) or
 * EX_UNAVAILABLE (69) when something did not answer (try again, or fix the network).
 */
#ifndef TOCSIN_CONFIG_CHECK_H
#define TOCSIN_CONFIG_CHECK_H

#include <stdio.h>

int config_check(FILE *out);
int config_check_connect(FILE *out);

#endif
