/*
 * mail_proof — what proves that a mail comes from its From: address.
 *
 * A From: header proves nothing. mail_sender_proof() returns how a mail proves its sender,
 * or NULL:
 *   "reply_token"  it answers, through its signed reply+TOKEN@ address (or a token-shaped id
 *                  in In-Reply-To/References), a message tocsin sent to that very address:
 *                  only that address's owner received the token;
 *   "dmarc"        [imap] trusted_authserv_id is set and that server's Authentication-Results
 *                  says dmarc=pass for the From: domain (mail_auth.h).
 * A token of a message sent to another address proves nothing, nor does a token that does
 * not verify. The answer is a static string; a database error counts as no proof (and is
 * logged): the request then waits for its owner's confirmation, it is not lost.
 */
#ifndef TOCSIN_MAIL_PROOF_H
#define TOCSIN_MAIL_PROOF_H

#include "lib/db.h"
#include "inbound/mime.h"

/* `sender` is the From: address (lower case), `reply_token` the token of a reply+TOKEN@
 * recipient or NULL, `thread_ids` In-Reply-To and References or NULL. */
const char *mail_sender_proof(struct db *db, const struct mime_message *m, const char *sender,
                              const char *reply_token, const char *thread_ids);

#endif
