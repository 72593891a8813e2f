/*
 * bounce — delivery reports: recognise them, classify them, suppress dead addresses.
 *
 * bounce_detect() recognises RFC 3464 reports (multipart/report; report-type=
 * delivery-status) and the common non-DSN forms (Exim, qmail, Exchange and Gmail texts
 * from MAILER-DAEMON/postmaster), and fills *info: hard (5.x.x) or soft (4.x.x, delays,
 * or no code at all — we never suppress on a guess), the failed recipient and diagnostic
 * when the report gives them, and the VERP token from `bounce+TOKEN@` found in the
 * envelope headers, the returned headers or the text. Returns false for anything else;
 * a DSN that says "delivered" or "relayed" is a report but not a bounce (kind NONE).
 * A rejection for policy or reputation is kind POLICY: a 5.7.x (or 4.7.x) status with a
 * blocklist, spam, policy or authentication text, any status naming a blocklist
 * ("blocked using zen.spamhaus.org", "blacklisted"), or a 5.7.x from a large mailbox
 * provider (Gmail, Microsoft, Yahoo, Apple, Orange, Free …). The address is fine; our
 * relay or domain is refused.
 *
 * bounce_apply() runs inside the caller's transaction: the token must carry a valid
 * signature for purpose "bounce" (a forged token changes nothing, outcome "forged"); a
 * hard bounce, or a soft one that brings the address's score to the threshold (one point
 * per day with a soft bounce, reset after a week without, as Mailman scores), appends an
 * opt_out to the consent ledger (source "bounce", the DSN as evidence) and marks the
 * outbound row 'bounced'. A policy rejection scores like no soft bounce and never
 * suppresses: it only writes the server's words to the outbound row's last_error; the
 * caller tells the operator. *outcome_r is a static word: forged, unknown (valid token, no
 * such outbound mail), report (not a failure), hard, soft (counted), suppressed (a soft
 * bounce that reached the threshold), policy. Returns 0, or -1 with *error_r set.
 */
#ifndef TOCSIN_BOUNCE_H
#define TOCSIN_BOUNCE_H

#include "lib/db.h"
#include "inbound/mime.h"

#include <stdbool.h>

enum bounce_kind { BOUNCE_NONE, BOUNCE_SOFT, BOUNCE_HARD, BOUNCE_POLICY };

struct bounce_info {
    enum bounce_kind kind;
    char *status;     /* "5.1.1", or NULL */
    char *recipient;  /* the address that failed, or NULL */
    char *diagnostic; /* the server's words, or NULL */
    char *token;      /* VERP token, or NULL */
};

#define BOUNCE_SOFT_THRESHOLD 3
#define BOUNCE_STALE_DAYS     7

bool bounce_detect(const struct mime_message *m, struct bounce_info *info_r);
void bounce_info_release(struct bounce_info *info);
/* "hard", "soft", "policy" or "report". */
const char *bounce_kind_name(enum bounce_kind kind);
int bounce_apply(struct db *db, const struct bounce_info *info, const char *evidence,
                 const char **outcome_r, char **error_r);

#endif
