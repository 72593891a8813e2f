/*
 * mail — compose the RFC 5322 message tocsin sends, from a rendered subject and body.
 *
 * mail_compose() appends the complete message (CRLF line ends, 7-bit clean) to `out`:
 * Date, From, To, Subject (RFC 2047 encoded-words when not plain ASCII), Message-ID,
 * then the optional In-Reply-To, References, Reply-To, Auto-Submitted, List-Unsubscribe
 * and List-Unsubscribe-Post (always on one line, so a relay's DKIM signature covers
 * them unchanged), MIME-Version and a UTF-8 text/plain part in quoted-printable — or a
 * multipart/alternative of text and HTML when `html` is set. CR and LF inside header
 * values are replaced by spaces: a subject can never add a header. Pure: no I/O, no
 * allocation the caller must free besides `out`.
 *
 * The From header is written by mail_add_address_header(): "Name <local@domain>" with the
 * display name as RFC 2047 encoded-words when it is not plain ASCII ("Équipe Paris 10e"),
 * or as a quoted string when it holds RFC 5322 specials ("Paris, 10e"). The address is
 * never encoded. mail_address_parse() splits such a value (display "" when there is
 * none; both strings the caller frees) or returns -1 with a static *reason_r: what
 * `config check` and the daemon's start-up use to refuse a malformed [smtp] from.
 *
 * mail_kind_is_transactional() says whether a kind of message is an answer to the
 * person's own action (no List-Unsubscribe) or bulk mail that must carry one.
 */
#ifndef TOCSIN_MAIL_H
#define TOCSIN_MAIL_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct mail_parts {
    const char *from;
    const char *to;
    const char *subject;
    const char *text;
    const char *html;             /* NULL: text/plain only */
    const char *message_id;       /* "<…@domain>" */
    const char *in_reply_to;      /* NULL or "<…>" */
    const char *references;       /* NULL or "<…> <…>" */
    const char *reply_to;         /* NULL or an address */
    const char *auto_submitted;   /* NULL, "auto-replied" or "auto-generated" */
    const char *list_unsubscribe; /* NULL or "<https://…>, <mailto:…>" */
    const char *boundary_seed;    /* makes the MIME boundary unique (the row id) */
    time_t date;
};

void mail_compose(const struct mail_parts *p, struct buf *out);

/* "Subject: value" with RFC 2047 encoding as needed, folded, CRLF-terminated. */
void mail_add_header(struct buf *out, const char *name, const char *value);
/* Quoted-printable body, CRLF line ends (input may use LF or CRLF). */
void mail_add_qp(struct buf *out, const char *text);
/* RFC 5322 date-time in UTC. */
void mail_add_date(struct buf *out, time_t when);

bool mail_kind_is_transactional(const char *kind);

int mail_address_parse(const char *value, char **display_r, char **address_r,
                       const char **reason_r);
void mail_add_address_header(struct buf *out, const char *name, const char *value);

#endif
