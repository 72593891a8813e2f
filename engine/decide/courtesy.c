#include "decide/courtesy.h"
#include "lib/util.h"

#include <string.h>

/* Word lists are written normalised: an apostrophe is a space ("l equipe"), accents are
 * gone. Where one phrase is the start of another, both are listed and the longest wins. */

static const char *const greetings[] = {
    "bonjour",      "bonsoir",        "salut",        "coucou", "hello", "hi",
    "hey",          "hallo",          "bjr",          "slt",    "hola",  "buongiorno",
    "good morning", "good afternoon", "good evening", NULL,
};

/* Who a greeting is for, when it is not a name: "Bonjour a tous", "Hi everyone". */
static const char *const audiences[] = {
    "a tous",
    "a toutes",
    "a tous et a toutes",
    "tout le monde",
    "a toute l equipe",
    "l equipe",
    "all",
    "everyone",
    "everybody",
    "team",
    "the team",
    "there",
    "folks",
    "les amis",
    "a vous",
    "chers amis",
    NULL,
};

static const char *const thanks[] = {
    "merci",
    "merci beaucoup",
    "merci bien",
    "merci encore",
    "encore merci",
    "mille mercis",
    "grand merci",
    "un grand merci",
    "merci mille fois",
    "thanks",
    "thank you",
    "many thanks",
    "thanks a lot",
    "thanks so much",
    "thanks again",
    "thank you very much",
    "thank you so much",
    "thx",
    "ty",
    NULL,
};

/* Greetings that need a name after them to open a mail ("Dear Marie", "Chère équipe"). */
static const char *const salutations[] = {
    "dear", "cher", "chere", "chers", "cheres", "madame", "monsieur", "mesdames", NULL,
};

/* Sign-offs and politeness that add nothing to an answer. */
static const char *const closings[] = {
    "cordialement",
    "bien cordialement",
    "tres cordialement",
    "bien a vous",
    "bien a toi",
    "amities",
    "amicalement",
    "bises",
    "bisous",
    "grosses bises",
    "bonne journee",
    "bonne soiree",
    "bon week-end",
    "bon weekend",
    "bonne fin de journee",
    "bonne semaine",
    "bonne continuation",
    "best",
    "best regards",
    "regards",
    "kind regards",
    "warm regards",
    "cheers",
    "cdlt",
    "salutations",
    "sinceres salutations",
    "take care",
    "have a nice day",
    "have a good day",
    "have a good weekend",
    "svp",
    "stp",
    "s il vous plait",
    "s il te plait",
    "please",
    NULL,
};

/* Phrases that look forward to the meeting: only a yes can be followed by them. */
static const char *const see_you[] = {
    "a bientot",        "a tres bientot",
    "a plus",           "a+",
    "a toute",          "a demain",
    "a tout a l heure", "a tout de suite",
    "a ce soir",        "a la prochaine",
    "see you",          "see you soon",
    "see you there",    "see you then",
    "see you tomorrow", "see you tonight",
    "see ya",           NULL,
};

static const char *const days[] = {
    "lundi",   "mardi",     "mercredi", "jeudi",  "vendredi", "samedi", "dimanche", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", NULL,
};

size_t courtesy_phrase_at(const char *s, const char *phrase)
{
    size_t n = strlen(phrase);
    if (strncmp(s, phrase, n) == 0 && (s[n] == ' ' || s[n] == '\0'))
        return n;
    return 0;
}

size_t courtesy_longest_at(const char *s, const char *const *list)
{
    size_t best = 0;
    for (; *list; list++) {
        size_t n = courtesy_phrase_at(s, *list);
        if (n > best)
            best = n;
    }
    return best;
}

const char *courtesy_after(const char *s, size_t n)
{
    s += n;
    return *s == ' ' ? s + 1 : s;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    for (bool in_word = false; *s; s++) {
        if (*s != ' ' && !in_word)
            n++;
        in_word = *s != ' ';
    }
    return n;
}

size_t courtesy_skip_opening(const char *line)
{
    const char *p = line;
    for (;;) {
        size_t n = courtesy_longest_at(p, greetings);
        if (n) {
            p = courtesy_after(p, n);
            p = courtesy_after(p, courtesy_longest_at(p, audiences));
            continue;
        }
        n = courtesy_longest_at(p, thanks);
        if (!n)
            break;
        p = courtesy_after(p, n);
    }
    return *p ? (size_t)(p - line) : 0;
}

bool courtesy_is_opening_line(const char *line)
{
    size_t words = count_words(line);
    if (words == 0)
        return false;
    /* "Bonjour Marie", "Hello everyone", "Dear Tocsin team": a greeting and a few words. */
    if ((courtesy_longest_at(line, greetings) || courtesy_longest_at(line, salutations)) &&
        words <= 5)
        return true;
    /* "Merci pour l'invitation !", "Thanks for organising this": a sentence of thanks. */
    return courtesy_longest_at(line, thanks) && words <= 12;
}

/* "a samedi", "see you saturday", "see you on saturday": the length, or 0. */
static size_t see_you_day(const char *s)
{
    static const char *const before[] = {"a", "see you on", "see you", NULL};
    for (const char *const *b = before; *b; b++) {
        size_t n = courtesy_phrase_at(s, *b);
        if (!n || !s[n])
            continue;
        size_t d = courtesy_longest_at(s + n + 1, days);
        if (d)
            return n + 1 + d;
    }
    return 0;
}

size_t courtesy_closing_length(const char *s, bool *see_you_r)
{
    *see_you_r = false;
    size_t n = courtesy_longest_at(s, closings);
    size_t t = courtesy_longest_at(s, thanks);
    if (t > n)
        n = t;
    size_t seeing = courtesy_longest_at(s, see_you);
    size_t day = see_you_day(s);
    if (day > seeing)
        seeing = day;
    if (seeing > n) {
        *see_you_r = true;
        n = seeing;
    }
    return n;
}
