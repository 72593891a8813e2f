/*
 * reply — the new words of an email reply, and the command lines among them.
 *
 * reply_new_text() cuts a reply's text (UTF-8, as mime_parse() gives it) at the first
 * sign of quoted or automatic text: "> " lines, "On … wrote:" / "Le … a écrit :" (also
 * wrapped over up to three lines, and the K-9/Android "Name <addr> wrote:" form), Outlook
 * "-----Original Message-----", "De : … Envoyé : …" / "From: … Sent: …" header blocks and
 * the "____" rule above them, forwarded-message banners, the signature separator "-- ",
 * and mobile footers ("Sent from my …", "Envoyé de mon …", "Get Outlook for …").
 *
 * reply_commands() keeps the leading lines of that text that `is_command` accepts (blank
 * lines between them are skipped) and stops at the first line that is not a command.
 * When the new text is empty it tries the Subject instead (without its "Re:"/"TR:"
 * prefixes) and sets *from_subject_r. It returns NULL when there is no command.
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
char *reply_commands(const char *new_text, const char *subject, reply_is_command_fn is_command,
                     bool *from_subject_r);
/* "Re: TR: Fwd: JOIN paris-10" → "JOIN paris-10". */
char *reply_clean_subject(const char *subject);
bool reply_is_command_word(const char *line);

#endif
