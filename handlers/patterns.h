/*
 * patterns — regular-expression fragments the command files share.
 *
 * Patterns see the normalised command line (decide/grammar.h): lower-case ASCII words
 * separated by one space, no punctuation but '+' and '-'. The named groups `target`,
 * `answer` and `guests` are what the grammar hands to a handler (struct grammar_match).
 */
#ifndef TOCSIN_HANDLER_PATTERNS_H
#define TOCSIN_HANDLER_PATTERNS_H

/* A team or event slug, or an event number. */
#define PATTERN_SLUG  "[a-z0-9][a-z0-9-]{0,62}"
#define PATTERN_YES   "yes|yeah|yep|y|oui|ouais|o"
#define PATTERN_NO    "nope|non|nan|no|n"
#define PATTERN_MAYBE "maybe|perhaps|peut-etre|peut etre|peutetre|ptet|p-e|pe"
/* An RSVP answer; the grammar canonicalises it by its first letter (grammar.c). */
#define PATTERN_ANSWER "(?:" PATTERN_YES "|" PATTERN_NO "|" PATTERN_MAYBE ")"
/* A target word that is not itself an answer: "RSVP oui" answers, it names no event. */
#define PATTERN_TARGET "(?<target>(?!" PATTERN_ANSWER "(?: |$))" PATTERN_SLUG ")"
#define PATTERN_GUESTS "(?: ?\\+ ?(?<guests>[0-9]{1,3}))?"

#endif
