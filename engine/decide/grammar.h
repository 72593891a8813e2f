/*
 * grammar — turn a supporter's words into one command with its arguments.
 *
 * A grammar is compiled once from a table of rules (handlers_grammar() builds it from the
 * handlers, in the order of handlers/precedence.c):
 * each rule names a command and lists PCRE2 patterns, tried in table order, first match
 * wins — so the table order IS the precedence (docs/commands.md explains it). Patterns
 * are matched, with JIT, against a normalised command line, never against raw input:
 *   1. input longer than GRAMMAR_MAX_INPUT bytes is refused (GRAMMAR_TOO_LONG);
 *   2. the text is accent- and case-folded (fold.h);
 *   3. the command line is the first line with a letter or digit that is not quoted
 *      ("> …"); lines after it (a
 *      signature, "Sent from my phone", a name) are ignored, and a "-- " signature
 *      delimiter before any command means there is none;
 *   4. every character but [a-z0-9+-] and non-ASCII bytes becomes a space, words made only
 *      of dashes are dropped, and spaces are collapsed: "  Oui !! +2." → "oui +2".
 * Patterns may use the named groups `target` (a team or event slug or number), `answer`
 * (an RSVP answer, canonicalised to "yes", "no" or "maybe") and `guests` (digits).
 *
 * grammar_new() returns NULL with *error_r (caller frees) if a pattern does not compile.
 * grammar_match() is thread-safe for one grammar as long as each thread uses its own
 * struct grammar_match; the match owns its strings (grammar_match_release()).
 */
#ifndef TOCSIN_GRAMMAR_H
#define TOCSIN_GRAMMAR_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define GRAMMAR_MAX_INPUT 4096 /* bytes of body read for a command */
#define GRAMMAR_MAX_LINE  160  /* bytes of normalised command line; longer is not a command */

/* Pattern flags. */
#define GRAMMAR_LOOSE_TARGET                                                                       \
    1 /* the target word may be chatter ("oui merci"): the                                         \
         handler falls back to context when it names nothing */

struct grammar_pattern {
    const char *locale; /* "en", "fr", or "" when the words are shared */
    const char *regex;
    int flags;
};

struct grammar_rule {
    const char *command;
    const struct grammar_pattern *patterns; /* terminated by a {NULL, NULL, 0} row */
};

enum grammar_status {
    GRAMMAR_MATCHED,
    GRAMMAR_UNKNOWN,  /* words, but no rule matched */
    GRAMMAR_EMPTY,    /* nothing but spaces, punctuation or a signature */
    GRAMMAR_TOO_LONG, /* more than GRAMMAR_MAX_INPUT bytes */
};

struct grammar_match {
    enum grammar_status status;
    const char *command;                   /* the rule's command when MATCHED, else NULL */
    const struct grammar_pattern *pattern; /* the pattern that matched */
    char *line;                            /* the normalised command line ("" if none) */
    char *target;                          /* NULL when absent */
    const char *answer;                    /* "yes", "no", "maybe" or NULL */
    int guests;                            /* -1 when absent; capped at 999 */
    void *match_data;                      /* reused between matches */
};

struct grammar;

struct grammar *grammar_new(const struct grammar_rule *rules, char **error_r);
void grammar_free(struct grammar **g);

void grammar_match_init(struct grammar_match *m);
/* Fills `m` (previous contents released). Returns m->status. */
enum grammar_status grammar_match(const struct grammar *g, const char *text, size_t len,
                                  struct grammar_match *m);
void grammar_match_release(struct grammar_match *m);

/* The normalised command line of `text` (steps 1–4 above) into `out`. */
enum grammar_status grammar_normalise(const char *text, size_t len, struct buf *out);

const char *grammar_status_name(enum grammar_status s);

#endif
