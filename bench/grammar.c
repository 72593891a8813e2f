/*
 * bench/grammar — commands parsed per second by tocsin's grammar (fold, normalise, the
 * whole pattern table in precedence order), beside the anchor measured in the same run:
 * PCRE2 JIT matching one pattern against an already-normalised line.
 *
 * Usage: bench/grammar [SECONDS per measurement, default 2]
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lib/util.h"
#include "decide/grammar.h"
#include "handlers/handlers.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What supporters actually send, mixed: hits early and late in the table, misses. */
static const char *const inputs[] = {
    "OUI",
    "RSVP 12 oui +2",
    "STOP",
    "JOIN paris-10",
    "Arrêt",
    "Peut-être\n\nEnvoyé de mon iPhone",
    "Bonjour, je voudrais des infos sur la réunion",
    "annuler porte-a-porte",
};

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    char *error = NULL;
    const struct grammar *g = handlers_grammar(&error);
    if (!g) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }

    /* Anchor: one JIT-compiled pattern, one short subject, no allocation in the loop. */
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) "^join(?: (?<target>[a-z0-9][a-z0-9-]{0,62}))?$",
                                   PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    const char *subject = "join paris-10";
    size_t slen = strlen(subject);
    long n = 0, hits = 0;
    double start = now_s(), elapsed;
    do {
        for (int i = 0; i < 10000; i++)
            hits += pcre2_jit_match(re, (PCRE2_SPTR)subject, slen, 0, 0, md, NULL) > 0;
        n += 10000;
    } while ((elapsed = now_s() - start) < seconds);
    double anchor_ns = elapsed * 1e9 / (double)n;
    if (hits != n)
        fprintf(stderr, "anchor pattern did not match\n");

    size_t lens[ARRAY_SIZE(inputs)];
    for (size_t i = 0; i < ARRAY_SIZE(inputs); i++)
        lens[i] = strlen(inputs[i]);
    struct grammar_match m;
    grammar_match_init(&m);
    n = 0;
    start = now_s();
    do {
        for (int i = 0; i < 10000; i++) {
            size_t k = (size_t)i % ARRAY_SIZE(inputs);
            grammar_match(g, inputs[k], lens[k], &m);
        }
        n += 10000;
    } while ((elapsed = now_s() - start) < seconds);
    double tocsin_ns = elapsed * 1e9 / (double)n;
    grammar_match_release(&m);

    printf("grammar: tocsin %.0f ns/command (%.2f M/s: fold, normalise, the whole table, "
           "%zu-message mix) | anchor PCRE2 JIT, one pattern, normalised input %.1f ns/match "
           "(%.1f M/s) | ratio %.1f\n",
           tocsin_ns, 1e3 / tocsin_ns, ARRAY_SIZE(inputs), anchor_ns, 1e3 / anchor_ns,
           tocsin_ns / anchor_ns);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return 0;
}
