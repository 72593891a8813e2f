/*
 * autoreply — is this mail from a machine? (RFC 3834 and what real systems send)
 *
 * autoreply_detect() looks only at the top-level headers: Auto-Submitted other than "no",
 * Precedence bulk/list/junk/auto_reply, X-Autoreply, X-Autorespond, X-Auto-Response-Suppress,
 * List-Id / List-Unsubscribe (mailing-list traffic), an empty Return-Path (<>), and senders
 * MAILER-DAEMON@, postmaster@, noreply/no-reply@. Such mail is recorded but never executed
 * and never answered, so two robots cannot talk to each other forever.
 * Returns true with *reason_r pointing at a static string naming the header that decided.
 */
#ifndef TOCSIN_AUTOREPLY_H
#define TOCSIN_AUTOREPLY_H

#include "inbound/mime.h"

#include <stdbool.h>

bool autoreply_detect(const struct mime_message *m, const char **reason_r);

#endif
