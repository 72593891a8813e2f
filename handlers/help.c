/*
 * HELP — who we are, the commands (walked from handlers[]), how to stop. Answered even
 * after STOP, as carriers require: the queue lets kind "help" through.
 *
 * The same walk writes the command table of docs/commands.md (help_markdown_table(),
 * printed by `tocsin commands`); tests/unit/test_handlers.c fails when the two differ.
 */
#include "lib/util.h"
#include "handlers/handlers.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void help_set_vars(json_t *vars, const char *locale)
{
    json_t *list = json_array();
    struct buf sms = BUF_INIT;
    for (const struct handler *const *h = handlers; *h; h++) {
        const struct handler_text *t = handler_text_for(*h, locale);
        json_array_append_new(list, json_pack("{s:s, s:s}", "usage", t->usage, "help", t->help));
        if (t->sms) {
            if (sms.len)
                buf_adds(&sms, ", ");
            buf_adds(&sms, t->sms);
        }
    }
    json_object_set_new(vars, "commands", list);
    json_object_set_new(vars, "sms_commands", json_string(buf_str(&sms)));
    buf_release(&sms);
}

static int check_help(struct handler_ctx *ctx, char **error_r)
{
    (void)ctx;
    (void)error_r;
    return 0;
}

static int run_help(struct handler_ctx *ctx, char **error_r)
{
    (void)error_r;
    help_set_vars(ctx->vars, ctx->locale);
    handler_reply(ctx, "help", "help");
    return 0;
}

/*
 * A stranger's command other than JOIN, RSVP or STOP is answered with this help, but at
 * most once an hour, counted with the unknown-text replies (kind "unknown"): an
 * auto-responder that happens to start with INFO must not loop with us.
 */
int check_stranger_help(struct handler_ctx *ctx, char **error_r)
{
    return check_unknown(ctx, error_r);
}

int run_stranger_help(struct handler_ctx *ctx, char **error_r)
{
    if (run_help(ctx, error_r) < 0)
        return -1;
    handler_reply(ctx, "help", "unknown");
    return 0;
}

static bool keyword_in_language(const struct handler_keyword *k, const char *locale)
{
    return !*k->locale || strcmp(k->locale, locale) == 0;
}

/* True when `word` (lower case) is one of the words of `usage` ("OUI|NON|PEUT-ETRE
 * [evenement]"): the usage already shows it, the table need not repeat it. */
static bool usage_shows(const char *usage, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = usage; *p;) {
        size_t len = strcspn(p, " |");
        if (len == n && strncasecmp(p, word, n) == 0)
            return true;
        p += len;
        p += strspn(p, " |");
    }
    return false;
}

/* Text inside a table cell: a '|' would end the cell, even between backquotes. */
static void add_cell_text(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            buf_addch(out, '\\');
        buf_addch(out, *s);
    }
}

/* One cell: the usage, then the other keywords of that language in upper case. */
static void add_cell(struct buf *out, const struct handler *h, const char *locale)
{
    const struct handler_text *t = handler_text_for(h, locale);
    buf_adds(out, " `");
    add_cell_text(out, t->usage);
    buf_addch(out, '`');
    bool first = true;
    for (const struct handler_keyword *k = h->keywords; k->words; k++) {
        if (!keyword_in_language(k, locale) || usage_shows(t->usage, k->words))
            continue;
        buf_adds(out, first ? "; also `" : ", `");
        first = false;
        for (const char *c = k->words; *c; c++)
            buf_addch(out, (char)toupper((unsigned char)*c));
        buf_addch(out, '`');
        if (k->flags & HANDLER_KEYWORD_ALONE)
            buf_adds(out, " (alone)");
    }
    buf_adds(out, " |");
}

void help_markdown_table(struct buf *out)
{
    buf_adds(out, "| command | English | French | what it does |\n");
    buf_adds(out, "|---|---|---|---|\n");
    for (const struct handler *const *h = handlers; *h; h++) {
        buf_printf(out, "| %s |", (*h)->name);
        add_cell(out, *h, "en");
        add_cell(out, *h, "fr");
        buf_addch(out, ' ');
        add_cell_text(out, (*h)->en.help);
        buf_adds(out, " |\n");
    }
}

static const struct grammar_pattern patterns[] = {
    {"en", "^help(?: .*)?$", 0},
    {"fr", "^(?:aide|aidez-moi)(?: .*)?$", 0},
    {"", "^(?:infos|info)(?: .*)?$", 0},
    {NULL, NULL, 0},
};

static const struct handler_keyword keywords[] = {
    {"help", "en", HANDLER_KEYWORD_SUGGEST},
    {"aide", "fr", HANDLER_KEYWORD_SUGGEST},
    {"aidez-moi", "fr", 0},
    {"info", "", 0},
    {"infos", "", 0},
    {NULL, NULL, 0},
};

const struct handler handler_help = {
    .name = "help",
    .patterns = patterns,
    .keywords = keywords,
    .check = check_help,
    .run = run_help,
    .en = {"HELP", "this help", NULL},
    .fr = {"AIDE", "cette aide", NULL},
};
