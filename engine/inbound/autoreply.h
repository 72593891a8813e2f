/*
 * autoreply — is this mail from a machine? (RFC 3834 and what real systems send)
 *
 * autoreply_detect() looks only at the top-level headers: Auto-Submitted other than "no",
 * Precedence bulk/list/junk/auto_reply, X-Autoreply, X-Autorespond, X-Auto-Response-Suppress,
 * X-MS-Exchange-Inbox-Rules-Loop (a mail an Exchange inbox rule sent), List-Id /
 * List-Unsubscribe (mailing-list traffic), an empty Return-Path (<>), senders
 * MAILER-DAEMON@, postmaster@, noreply/no-reply@, and read receipts (RFC 8098 MDNs,
 * multipart/report; report-type=disposition-notification).
 * autoreply_by_content() catches what sends none of those headers — an Outlook client-side
 * rule, a webmail's vacation reply: a Subject ("Réponse automatique :", "Automatic reply:",
 * "Absence du bureau", "Out of Office", "Auto:") or new words ("Je suis absente du bureau",
 * "I am out of the office") that say so. The caller asks it only about a mail that carries
 * no command, so a person whose reply happens to mention an absence is still heard.
 * Such mail is recorded but never executed and never answered, so two robots cannot talk
 * to each other forever. Both return true with *reason_r pointing at a static string
 * naming what decided.
 */
#ifndef TOCSIN_AUTOREPLY_H
#define TOCSIN_AUTOREPLY_H

#include "inbound/mime.h"

#include <stdbool.h>

bool autoreply_detect(const struct mime_message *m, const char **reason_r);
bool autoreply_by_content(const char *subject, const char *new_text, const char **reason_r);

#endif
