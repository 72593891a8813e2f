/*
 * handlers — supporter commands: one file per command, each defining its whole handler.
 *
 * handlers/X.c defines `const struct handler handler_X`: its name, its patterns (the
 * grammar), the keywords that start it, check() and run(), and what HELP and the docs
 * say about it in English and French. handlers[] (precedence.c) lists them in precedence
 * order: the grammar tries their patterns row by row, first match wins
 * (docs/commands.md gives the reasons for the order). That list is the only other place
 * that names a command; HELP, "did you mean", reply extraction's command words and the
 * table in docs/commands.md are all walked from it.
 *
 * For each command inbound_process() calls check() — parse and validate; it may read
 * but never writes — then, if check() returned 0, run(), which acts inside the inbound
 * transaction. check() returns 1 when it already set a reply that answers the problem
 * (unknown team, no such event): run() is skipped and nothing changes. Both return -1
 * with *error_r (caller frees) on a database error; the transaction is then rolled back.
 *
 * A handler answers by naming a template and filling ctx->vars (handler_reply()); the
 * caller renders it in ctx->locale and enqueues it. Other messages (a waitlist offer to
 * someone else) go through handler_enqueue_person().
 */
#ifndef TOCSIN_HANDLERS_H
#define TOCSIN_HANDLERS_H

#include "lib/buf.h"
#include "lib/db.h"
#include "decide/grammar.h"
#include "decide/message.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct handler_ctx {
    struct db *db;
    const struct inbound_message *msg;
    const struct grammar_match *match;
    int64_t inbound_id;
    int64_t person_id, contact_id; /* 0 while the sender is unknown */
    const char *locale;            /* "en" or "fr": the reply's language */
    const char *source;            /* consent source: sms_keyword or email_command */
    /* The reply: template name (NULL: no reply), variables, queue kind, context. */
    const char *reply_template;
    json_t *vars;
    const char *reply_kind;
    char *reply_context;
    const char *status; /* inbound_messages.status to record; NULL: "applied" */
    /* What check() resolved for run(). */
    int64_t event_id, team_id;
    char *team_name;
};

/* A word that starts a command, as the grammar sees it: folded, lower-case ASCII
 * ("arret" is ARRET and ARRÊT; "peut etre" is two words). */
struct handler_keyword {
    const char *words;
    const char *locale; /* "en", "fr", or "" when both languages use it */
    unsigned flags;     /* HANDLER_KEYWORD_* */
};
#define HANDLER_KEYWORD_ALONE         1u /* a command only as the whole line (END, QUIT) */
#define HANDLER_KEYWORD_SUGGEST       2u /* "did you mean" offers it for a typo of it */
#define HANDLER_KEYWORD_SUGGEST_TEAM  4u /* offered before a team slug the text resembles */
#define HANDLER_KEYWORD_SUGGEST_EVENT 8u /* offered before an event slug the text resembles */
/* Reply extraction without the grammar (inbound/reply.c) reads a mail line that starts
 * with a keyword as a command when it is short: three words ("Non merci", "STOP paris-10"),
 * six for a keyword with this flag ("RSVP concert-12 YES +2"); longer is a sentence. */
#define HANDLER_KEYWORD_LONG 16u

/* What readers of one language are told about a command. */
struct handler_text {
    const char *usage; /* "JOIN <team>": HELP and the docs */
    const char *help;  /* "join a local team" */
    const char *sms;   /* its entry in the one-segment SMS HELP; NULL: not listed there */
};

struct handler {
    const char *name; /* the grammar's command, inbound_messages.command, a metrics label */
    const struct grammar_pattern *patterns; /* terminated by a {NULL, NULL, 0} row */
    const struct handler_keyword *keywords; /* terminated by a NULL `words` */
    int (*check)(struct handler_ctx *ctx, char **error_r);
    int (*run)(struct handler_ctx *ctx, char **error_r);
    bool creates_sender; /* an unknown sender becomes a person (JOIN, RSVP, STOP) */
    struct handler_text en, fr;
};

/* Every handler, in precedence order, terminated by NULL (precedence.c). */
extern const struct handler *const handlers[];

const struct handler *handler_find(const char *name);
/* The grammar compiled from handlers[] once per process; NULL with *error_r on failure. */
const struct grammar *handlers_grammar(char **error_r);
/* The English or French texts of `h` for `locale`. */
const struct handler_text *handler_text_for(const struct handler *h, const char *locale);

/* Set the reply (kind "reply" unless `kind`). */
void handler_reply(struct handler_ctx *ctx, const char *template_name, const char *kind);

struct event_info {
    int64_t id, team_id;
    char *slug, *title, *location;
    char *when_en, *when_fr; /* local start time, written for each language */
    int capacity;            /* -1: unlimited */
    bool open;               /* scheduled and not started */
};
void event_info_release(struct event_info *e);
/* Find an event by number or slug: 1 found, 0 not found, -1 error. */
int handler_find_event(struct handler_ctx *ctx, const char *ref, bool lock, struct event_info *e,
                       char **error_r);
/* Load event `id` (FOR UPDATE when lock): 1 found, 0 not, -1 error. */
int handler_load_event(struct handler_ctx *ctx, int64_t id, bool lock, struct event_info *e,
                       char **error_r);
/* The event a bare answer refers to: the newest prompt sent to the sender on this channel
 * (SMS) or the message it replies to (mail token). *event_id_r = 0 when none. */
int handler_context_event(struct handler_ctx *ctx, int64_t *event_id_r, char **error_r);
/* Find a team by slug: 1 found (id and name set, name caller frees), 0 not, -1 error. */
int handler_find_team(struct handler_ctx *ctx, const char *slug, int64_t *id_r, char **name_r,
                      char **error_r);
/* The closest team or event slug to any word of `line` within a small edit distance, or
 * NULL (caller frees). *is_team_r says which. */
char *handler_suggest(struct handler_ctx *ctx, const char *line, bool teams, bool events,
                      bool *is_team_r, char **error_r);
/* Answer "no team/event TARGET" with the closest slug as a suggestion, using `template`
 * (team_unknown, event_unknown). Returns 1 (answered), or -1 with *error_r. */
int handler_reply_unknown(struct handler_ctx *ctx, const char *target, bool teams, bool events,
                          const char *template, char **error_r);
/* Make `e` the event this command is about (context, template variables) and release it.
 * Returns 1 when the event no longer takes answers (the reply says so), else 0. */
int handler_use_event(struct handler_ctx *ctx, struct event_info *e);
/* Template variables describing an event for a reader of `locale` (new reference). */
json_t *handler_event_vars(const struct event_info *e, const char *locale);
/* List upcoming events of the sender's teams (or all, when none) into ctx->vars "events". */
int handler_list_events(struct handler_ctx *ctx, int limit, char **error_r);

int handler_activity(struct handler_ctx *ctx, int64_t team_id, const char *kind, json_t *payload,
                     char **error_r);
/* Enqueue a templated message about team `scope` (0: none) to another person, on the
 * sender's channel if they have it, else their other one, skipping contacts whose consent
 * refuses it. 1 queued, 0 nobody reachable, -1 error. */
int handler_enqueue_person(struct handler_ctx *ctx, int64_t person_id, int64_t scope,
                           const char *template_name, json_t *vars, const char *kind,
                           const char *context, const char *dedupe_key, char **error_r);
/* Levenshtein distance, bounded: returns max+1 as soon as it exceeds max. */
int edit_distance(const char *a, const char *b, int max);

/* HELP's variables for `locale`: "commands" (usage and help of every handler) and
 * "sms_commands" (the short list for one SMS), set into `vars` (help.c). */
void help_set_vars(json_t *vars, const char *locale);
/* The command table of docs/commands.md, in Markdown, appended to `out` (help.c). */
void help_markdown_table(struct buf *out);

/* Not in handlers[]: a stranger's command that may not create them (help, rate-limited). */
int check_stranger_help(struct handler_ctx *ctx, char **error_r);
int run_stranger_help(struct handler_ctx *ctx, char **error_r);
/* Not in handlers[]: text no pattern matched. */
int check_unknown(struct handler_ctx *ctx, char **error_r);
int run_unknown(struct handler_ctx *ctx, char **error_r);

#endif
