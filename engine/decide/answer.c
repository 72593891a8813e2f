#include "decide/answer.h"
#include "decide/courtesy.h"
#include "lib/util.h"

#include <string.h>

/* Normalised words: "I'll" is "i ll", "can't" is "can t", "j'y" is "j y". */

/* Words after "no" that make it something else than a refusal. */
static const char *const not_after_no[] = {
    "problem",   "problems", "problemo", "prob",      "probs", "pb",     "probleme",
    "problemes", "souci",    "soucis",   "worries",   "worry", "idea",   "clue",
    "need",      "matter",   "rush",     "hurry",     "one",   "body",   "more",
    "longer",    "doubt",    "plus",     "seulement", "way",   "stress", NULL,
};

/* What people write after an answer to say it again in their own words. */
static const char *const say_yes[] = {
    "je serai la",
    "je serai present",
    "je serai presente",
    "je serai des votres",
    "j y serai",
    "j y vais",
    "je viens",
    "je viendrai",
    "je participe",
    "je participerai",
    "je confirme",
    "je suis partant",
    "je suis partante",
    "je suis dispo",
    "je suis disponible",
    "nous serons la",
    "nous serons presents",
    "nous viendrons",
    "nous venons",
    "on sera la",
    "on vient",
    "on viendra",
    "avec plaisir",
    "bien sur",
    "volontiers",
    "absolument",
    "carrement",
    "evidemment",
    "sans probleme",
    "sans souci",
    "pas de souci",
    "pas de probleme",
    "compte sur moi",
    "comptez sur moi",
    "comptez sur nous",
    "partant",
    "partante",
    "present",
    "presente",
    "d accord",
    "ok",
    "c est bon",
    "c est note",
    "i ll be there",
    "i will be there",
    "i ll come",
    "i will come",
    "i m coming",
    "i am coming",
    "i ll join",
    "i will join",
    "i can come",
    "i can make it",
    "i m bringing",
    "i am bringing",
    "i ll bring",
    "i will bring",
    "we ll bring",
    "j amene",
    "j emmene",
    "je ramene",
    "i ll make it",
    "i confirm",
    "we ll be there",
    "we will be there",
    "we ll come",
    "we will come",
    "we re coming",
    "we are coming",
    "count me in",
    "count us in",
    "i m in",
    "i am in",
    "we re in",
    "of course",
    "sure",
    "definitely",
    "absolutely",
    "happy to",
    "with pleasure",
    "sounds good",
    "looking forward",
    "confirmed",
    "yes",
    NULL,
};

static const char *const say_no[] = {
    "desole",
    "desolee",
    "desoles",
    "desolees",
    "je suis desole",
    "je suis desolee",
    "malheureusement",
    "helas",
    "je ne peux pas",
    "je ne pourrai pas",
    "je ne pourrais pas",
    "je ne serai pas",
    "je ne viendrai pas",
    "je ne suis pas disponible",
    "je ne suis pas dispo",
    "je suis pas dispo",
    "je peux pas",
    "je pourrai pas",
    "je serai absent",
    "je serai absente",
    "je suis indisponible",
    "nous ne pourrons pas",
    "nous ne serons pas",
    "on ne pourra pas",
    "on pourra pas",
    "pas cette fois",
    "pas dispo",
    "pas disponible",
    "pas possible",
    "impossible",
    "indisponible",
    "empeche",
    "empechee",
    "sorry",
    "i m sorry",
    "i am sorry",
    "unfortunately",
    "i can t",
    "i cannot",
    "i can not",
    "i won t",
    "i will not",
    "i m not available",
    "i am not available",
    "i m busy",
    "i am busy",
    "i ll be away",
    "i will be away",
    "i m away",
    "we can t",
    "we cannot",
    "we won t",
    "can t make it",
    "cannot make it",
    "not this time",
    "not available",
    NULL,
};

static const char *const say_maybe[] = {
    "je ne sais pas encore",
    "je sais pas encore",
    "je ne sais pas",
    "pas encore sur",
    "pas encore sure",
    "pas sur",
    "pas sure",
    "je verrai",
    "on verra",
    "je vous dirai",
    "je te dirai",
    "je vous redis",
    "si je peux",
    "ca depend",
    "probablement",
    "not sure",
    "i m not sure",
    "i ll let you know",
    "i will let you know",
    "i ll see",
    "if i can",
    "it depends",
    "depends",
    "probably",
    NULL,
};

/* Words counted after a number of guests: "oui +2 personnes". */
static const char *const guest_words[] = {
    "personne", "personnes", "people", "persons", "guests", "guest", "invites",
    "adultes",  "enfants",   "amis",   "friends", "kids",   NULL,
};

/* The answer words of each meaning that may be repeated ("oui oui", "yes yes"). */
static const char *const yes_words[] = {"yes", "yeah", "yep", "oui", "ouais", NULL};
static const char *const no_words[] = {"no", "non", "nope", "nan", NULL};

/* A word of symbols only (an emoji, "👍"): bytes outside ASCII and nothing else. */
static size_t symbol_word_at(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != ' ') {
        if ((unsigned char)s[n] < 0x80)
            return 0;
        n++;
    }
    return n;
}

static const char *const *same_answer_words(const char *answer)
{
    if (strcmp(answer, "yes") == 0)
        return yes_words;
    if (strcmp(answer, "no") == 0)
        return no_words;
    return NULL;
}

const char *answer_verdict_name(enum answer_verdict v)
{
    switch (v) {
    case ANSWER_CLEAR:
        return "clear";
    case ANSWER_UNSURE:
        return "unsure";
    case ANSWER_NOT:
        return "not";
    }
    return "?";
}

enum answer_verdict answer_judge(const char *word, const char *answer, const char *rest,
                                 bool question)
{
    bool letter = strlen(word) == 1;
    /* "N'hésitez pas", "Y a-t-il un parking ?", "O.K.": a letter is an answer alone. */
    if (letter)
        return *rest || question ? ANSWER_NOT : ANSWER_CLEAR;
    if (strcmp(answer, "no") == 0 && courtesy_longest_at(rest, not_after_no))
        return ANSWER_NOT;
    /* Thanks, sign-offs, the same answer again, emoji: "Oui merci !", "yes yes 👍". */
    const char *p = rest;
    bool see_you_seen = false;
    const char *const *repeats = same_answer_words(answer);
    for (;;) {
        bool see_you = false;
        size_t n = courtesy_closing_length(p, &see_you);
        if (!n && repeats)
            n = courtesy_longest_at(p, repeats);
        if (!n)
            n = courtesy_longest_at(p, guest_words);
        if (!n)
            n = symbol_word_at(p);
        if (!n)
            break;
        see_you_seen |= see_you;
        p = courtesy_after(p, n);
    }
    /* "Non, à samedi" says no and looks forward to meeting: which is it? */
    if (see_you_seen && strcmp(answer, "yes") != 0)
        return ANSWER_UNSURE;
    if (question)
        return ANSWER_UNSURE;
    if (!*p)
        return ANSWER_CLEAR;
    bool yes = courtesy_longest_at(p, say_yes) > 0, no = courtesy_longest_at(p, say_no) > 0,
         maybe = courtesy_longest_at(p, say_maybe) > 0;
    if ((strcmp(answer, "yes") == 0 && yes) || (strcmp(answer, "no") == 0 && no) ||
        (strcmp(answer, "maybe") == 0 && maybe))
        return ANSWER_CLEAR;
    return ANSWER_UNSURE;
}
