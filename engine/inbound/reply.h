/*
 * reply — the new words of an email reply, and the command lines among them.
 *
 * Both functions read the whole text of a reply (UTF-8, as mime_parse() gives it) and
 * find the sender's own words in it, wherever they are: above the quote, below it
 * (bottom-posting) or between quoted lines. Never read: "> " quoted lines and their
 * attribution ("On … wrote:" / "Le … a écrit :", also wrapped over up to three lines, and
 * the K-9/Android "Name <addr> wrote:" form); a signature after "-- " and mobile footers
 * ("Sent from my …", "Envoyé de mon …", "Get Outlook for …") up to the next quote; and
 * everything from the start of an original that is not quoted line by line — Outlook
 * "-----Original Message-----", "De : … Envoyé : …" / "From: … Sent: …" header blocks and
 * the "____" rule above them, forwarded-message banners, an attribution followed by
 * unquoted text (Yahoo).
 *
 * reply_new_text() returns those words, one blank line between runs separated by quotes.
 * reply_commands() reads each run from its start: blank lines and lines that only open a
 * mail ("Bonjour Marie,", "Merci pour l'invitation !") are skipped, lines `is_command`
 * accepts are kept, and the first other line ends that run — a name, a signature without
 * its "-- ", a sentence. When there are no new words at all it tries the Subject instead
 * (without its "Re:"/"TR:" prefixes) and sets *from_subject_r. It returns the command
 * lines ('\n'-separated), or NULL when there is none.
 * reply_is_command_word() is a matcher by first keyword — the keywords every handler
 * declares (handlers/handlers.h), case- and accent-insensitive, a short line only — for
 * callers without the grammar at hand.
 * Every function is pure; every string returned is the caller's to free.
 */
#ifndef TOCSIN_REPLY_H
#define TOCSIN_REPLY_H

#include <stdbool.h>

typedef bool (*reply_is_command_fn)(const char *line);

char *reply_new_text(const char *text);
char *reply_commands(const char *text, const char *subject, reply_is_command_fn is_command,
                     bool *from_subject_r);
/* "Re: TR: Fwd: JOIN paris-10" → "JOIN paris-10". */
char *reply_clean_subject(const char *subject);
bool reply_is_command_word(const char *line);

#endif
