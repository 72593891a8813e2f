/*
 * courtesy — the polite words people wrap a command in: greetings and thanks before it,
 * thanks and sign-offs after it.
 *
 * Every function reads a normalised line (grammar.h: folded lower-case ASCII words
 * separated by one space, no punctuation but '+' and '-') and is pure.
 * courtesy_skip_opening() is how far a line's leading greeting or thanks goes ("bonjour",
 * "hello everyone", "merci beaucoup"), so "Bonjour, oui" reads as "oui"; it returns 0
 * when there is none, or when nothing would remain ("Bonjour" alone stays a line of text).
 * courtesy_is_opening_line() says whether a whole line only opens a mail: a greeting with
 * a name ("Bonjour Marie", "Dear organisers") or a thank-you ("Merci pour l'invitation").
 * courtesy_closing_length() is the length of the thank-you or sign-off phrase at the start
 * of `s` ("merci beaucoup", "bien a vous", "a samedi"), 0 if there is none; *see_you_r
 * says whether the phrase looks forward to meeting ("a samedi", "see you there"), which
 * only a yes can be followed by.
 */
#ifndef TOCSIN_COURTESY_H
#define TOCSIN_COURTESY_H

#include <stdbool.h>
#include <stddef.h>

size_t courtesy_skip_opening(const char *line);
bool courtesy_is_opening_line(const char *line);
size_t courtesy_closing_length(const char *s, bool *see_you_r);

/* The length of `phrase` at the start of `s` when it is followed by a space or the end
 * (so "merci" is found in "merci beaucoup" but not in "mercier"), else 0. */
size_t courtesy_phrase_at(const char *s, const char *phrase);

/* The longest phrase of `list` (NULL-terminated) at the start of `s`, 0 if none. */
size_t courtesy_longest_at(const char *s, const char *const *list);
/* `s` past the phrase of length n and the space after it. */
const char *courtesy_after(const char *s, size_t n);

#endif
