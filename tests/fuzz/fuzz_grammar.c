/*
 * libFuzzer target: the command grammar on arbitrary bytes. Besides not crashing, it
 * checks the promises grammar.h makes: the command line holds only [a-z0-9 +-] and
 * non-ASCII bytes, single spaces, at most GRAMMAR_MAX_LINE bytes when a rule matched;
 * answers are canonical; and utf8_sanitised() always yields valid UTF-8.
 */
#include "lib/fold.h"
#include "lib/util.h"
#include "decide/grammar.h"
#include "handlers/handlers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *error = NULL;
    const struct grammar *g = handlers_grammar(&error);
    if (!g)
        abort();
    struct grammar_match m;
    grammar_match_init(&m);
    grammar_match(g, (const char *)data, size, &m);
    for (const char *p = m.line; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
                  c >= 0x80 || (c == ' ' && p[1] != ' ' && p != m.line && p[1]);
        if (!ok)
            abort();
    }
    if (m.status == GRAMMAR_MATCHED) {
        if (!m.command || strlen(m.line) > GRAMMAR_MAX_LINE)
            abort();
        if (m.answer && strcmp(m.answer, "yes") && strcmp(m.answer, "no") &&
            strcmp(m.answer, "maybe"))
            abort();
    }
    grammar_match_release(&m);

    char *text = xstrndup((const char *)data, size);
    char *clean = utf8_sanitised(text);
    if (clean && utf8_sanitised(clean) != NULL)
        abort();
    free(clean);
    free(text);
    return 0;
}
