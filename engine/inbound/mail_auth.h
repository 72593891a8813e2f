/*
 * mail_auth — whether the receiving mail server vouches for a mail's From: (DMARC).
 *
 * A From: header proves nothing: anyone can write any address there. What can prove it is
 * the DMARC verdict of the mail server that received the message from the Internet, which
 * it writes as an RFC 8601 Authentication-Results header:
 *     Authentication-Results: mx.example.org; dkim=pass header.d=example.net;
 *         dmarc=pass (p=reject dis=none) header.from=example.net
 * mail_auth_dmarc_pass() trusts only headers whose authserv-id (the first word) equals
 * `trusted` ([imap] trusted_authserv_id), and of those only the first one, the topmost: the
 * one the receiving server added last. It says whether that header holds dmarc=pass for the
 * domain of `from_address`. Anyone can also write an Authentication-Results header into the
 * mail they send, with any authserv-id: the receiving server must delete the ones bearing its
 * own (RFC 8601 section 5), and an empty `trusted` trusts none. Pure: no I/O.
 */
#ifndef TOCSIN_MAIL_AUTH_H
#define TOCSIN_MAIL_AUTH_H

#include "inbound/mime.h"

#include <stdbool.h>

bool mail_auth_dmarc_pass(const struct mime_message *m, const char *trusted,
                          const char *from_address);
/* The same over one header value (tests, fuzzing). */
bool mail_auth_value_dmarc_pass(const char *value, const char *trusted, const char *from_domain,
                                bool *from_trusted_r);

#endif
