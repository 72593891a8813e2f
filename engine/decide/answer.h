/*
 * answer — is a line that starts with yes, no or maybe really an answer?
 *
 * A bare answer ("OUI", "no +2") is taken as it stands, but a line that merely starts with
 * an answer word often is not one: "No problem, see you Saturday!", "No idea yet",
 * "N'hésitez pas…", "Y a-t-il un parking ?". answer_judge() reads what follows the
 * answer word (its `rest`, normalised as grammar.h says, the "+N" guests already taken
 * out) and says:
 *   ANSWER_CLEAR  the line is an answer: nothing follows, or only thanks and sign-offs
 *                 ("Oui merci", "yes, see you there"), or words that say the same thing
 *                 ("Oui, je serai là", "Yes I'll come", "Non désolé, je ne peux pas");
 *   ANSWER_NOT    it is not an answer: a single letter followed by anything ("N'hésitez",
 *                 "Y a-t-il"), or an idiom ("no problem", "no idea", "non plus");
 *   ANSWER_UNSURE anything else ("Oui mais je serai en retard", "Non, je serai là",
 *                 a question): the caller asks rather than acts.
 * `word` is the answer word as written (normalised: "oui", "n", "peut-etre"), `answer`
 * its meaning ("yes", "no", "maybe"), `question` whether the line had a '?'. Pure.
 */
#ifndef TOCSIN_ANSWER_H
#define TOCSIN_ANSWER_H

#include <stdbool.h>

enum answer_verdict {
    ANSWER_CLEAR,
    ANSWER_UNSURE,
    ANSWER_NOT,
};

enum answer_verdict answer_judge(const char *word, const char *answer, const char *rest,
                                 bool question);
const char *answer_verdict_name(enum answer_verdict v);

#endif
