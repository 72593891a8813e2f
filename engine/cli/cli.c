#include "cli/cli.h"
#include "cli/config_check.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/account.h"
#include "core/config.h"
#include "core/database.h"
#include "core/migrate.h"
#include "outbound/queue.h"
#include "api/model.h"

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* One row per subcommand; `tocsin --help` walks this table. */
const struct cli_command cli_commands[] = {
    {"migrate", cli_migrate, "tocsin migrate", "apply pending database migrations"},
    {"run", cli_run, "tocsin run", "the daemon: HTTP webhooks, IMAP reader, outbound workers"},
    {"inject", cli_inject, "tocsin inject < MESSAGE",
     "process one email from stdin (for an MTA pipe)"},
    {"import", cli_import, "tocsin import people [--encoding NAME] FILE.csv",
     "import or update supporters"},
    {"team", cli_team, "tocsin team add|list|show ...", "local teams"},
    {"event", cli_event, "tocsin event add|list|show ...", "events and their RSVPs"},
    {"campaign", cli_campaign, "tocsin campaign create|send|pause|resume|cancel|status ...",
     "newsletters to a segment, and the scheduler's tick"},
    {"people", cli_people, "tocsin people list|show|export|forget|forgotten ...",
     "supporters: filtered lists, one person's record, CSV export, erasure on request"},
    {"optouts", cli_optouts, "tocsin optouts [--since DATE] [--channel email|sms]",
     "current opt-outs with their scope and source"},
    {"inbox", cli_inbox, "tocsin inbox [--all] | inbox reply ID TEXT | inbox done ID",
     "messages that need a human, and answering them"},
    {"user", cli_user, "tocsin user add|list|remove|login-link ...",
     "organisers' accounts: roles and sign-in links"},
    {"token", cli_token, "tocsin token add|list|revoke ...", "API tokens for integrations"},
    {"config", cli_config, "tocsin config example|check [--connect]",
     "print the example config, or check one (--connect: try the database, relay and SMS gateway)"},
    {"queue", cli_queue, "tocsin queue status [--json]", "outbound queue: counts and delay"},
    {"upkeep", cli_upkeep, "tocsin upkeep [--json]",
     "fold the queue counters, add monthly partitions, drop what keep_messages allows"},
    {"demo", cli_demo, "tocsin demo", "load the demo team, event and people (once)"},
    {"sms-estimate", cli_sms_estimate, "tocsin sms-estimate [--recipients N] [--kind K] TEXT",
     "what a text costs as SMS: GSM-7 or UCS-2, segments, total for N recipients"},
    {"sms-test", cli_sms_test, "tocsin sms-test [--provider P] --to NUMBER TEXT",
     "send one text now through the SMS gateway (outside the queue) and show its answer"},
    {"sms-inject", cli_sms_inject, "tocsin sms-inject --from N --to N --text T [--id ID]",
     "process one SMS as if a gateway had posted it; print the reply"},
    {"commands", cli_commands_table, "tocsin commands",
     "the supporters' commands, as the Markdown table of docs/commands.md"},
    {"help", cli_help, "tocsin help [COMMAND]", "this list, or a command's options"},
    {"version", cli_version, "tocsin version", "the version of this binary"},
    {"man", cli_man, "tocsin man tocsin|tocsin.conf",
     "the manual pages, generated from the tables"},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tocsin [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\n`tocsin COMMAND --help` shows a command's options.\n");
}

int cli_fail(int code, const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tocsin: %s: ", command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

bool cli_wants_help(int argc, char **argv, const char *text)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s\n", text);
            return true;
        }
    return false;
}

const char *cli_config_source(void)
{
    return strcmp(config_source(), "(none)") == 0
               ? "the defaults and environment (no ./tocsin.conf nor /etc/tocsin/tocsin.conf)"
               : config_source();
}

/* Say where the connection string came from: a command run from another directory than
 * the checkout otherwise fails with a socket path that explains nothing. Frees what it was
 * given before exiting (LeakSanitizer under make check). */
static void __attribute__((noreturn)) die_unreachable(char *error, const char *key, char *url)
{
    str_trim(error); /* libpq ends its messages with a newline */
    char *where = *config_str("database", key)
                      ? xasprintf("(%s from %s)", key, config_origin("database", key))
                      : xasprintf("\n(no [database] url in %s, so tocsin tried the `make run` "
                                  "cluster of the current directory: %s)",
                                  cli_config_source(), url);
    fprintf(stderr, "tocsin: database: %s %s\n", error, where);
    free(where);
    free(error);
    free(url);
    exit(EX_UNAVAILABLE);
}

struct db *cli_db(void)
{
    char *error = NULL;
    struct db *db = database_open(&error);
    if (!db)
        die_unreachable(error, "url", config_database_url());
    return db;
}

struct db *cli_db_session(void)
{
    char *error = NULL;
    struct db *db = database_open_session(&error);
    if (!db)
        die_unreachable(error, config_database_pooled() ? "direct_url" : "url",
                        config_direct_url());
    return db;
}

static bool is_numeric_type(Oid type)
{
    /* int2, int4, int8, float4, float8, numeric, oid */
    return type == 20 || type == 21 || type == 23 || type == 700 || type == 701 || type == 1700 ||
           type == 26;
}

static void print_json(const PGresult *res)
{
    json_t *rows = json_array();
    int nf = PQnfields(res);
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *obj = json_object();
        for (int f = 0; f < nf; f++) {
            const char *v = db_value(res, r, f);
            Oid type = PQftype(res, f);
            json_t *value;
            if (!v)
                value = json_null();
            else if (type == 16) /* bool */
                value = json_boolean(v[0] == 't');
            else if (type == 20 || type == 21 || type == 23)
                value = json_integer(strtoll(v, NULL, 10));
            else if (is_numeric_type(type))
                value = json_real(strtod(v, NULL));
            else if (type == 3802 || type == 114) /* jsonb, json */
                value = json_loads(v, JSON_DECODE_ANY, NULL);
            else
                value = json_string(v);
            json_object_set_new(obj, PQfname(res, f), value ? value : json_null());
        }
        json_array_append_new(rows, obj);
    }
    char *text = json_dumps(rows, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    puts(text);
    free(text);
    json_decref(rows);
}

/* Display width of a UTF-8 string, counting code points. */
static int display_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

void cli_print_result(const PGresult *res, bool json)
{
    if (json) {
        print_json(res);
        return;
    }
    int nf = PQnfields(res), nr = PQntuples(res);
    int *width = xcalloc((size_t)nf, sizeof(int));
    for (int f = 0; f < nf; f++) {
        width[f] = display_width(PQfname(res, f));
        for (int r = 0; r < nr; r++) {
            int w = display_width(PQgetvalue(res, r, f));
            if (w > width[f])
                width[f] = w;
        }
    }
    for (int f = 0; f < nf; f++)
        printf("%s%s%*s", f ? "  " : "", PQfname(res, f),
               f + 1 < nf ? width[f] - display_width(PQfname(res, f)) : 0, "");
    putchar('\n');
    for (int r = 0; r < nr; r++) {
        for (int f = 0; f < nf; f++) {
            const char *v = PQgetvalue(res, r, f);
            printf("%s%s%*s", f ? "  " : "", v, f + 1 < nf ? width[f] - display_width(v) : 0, "");
        }
        putchar('\n');
    }
    free(width);
}

/* A JSON value as one table cell: strings as they are, arrays of strings as words. */
static char *cell_text(json_t *v)
{
    if (!v || json_is_null(v))
        return xstrdup("");
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_array(v)) {
        struct buf b = BUF_INIT;
        size_t i;
        json_t *item;
        bool words = true;
        json_array_foreach(v, i, item) words = words && json_is_string(item);
        if (words) {
            json_array_foreach(v, i, item)
            {
                if (i)
                    buf_addch(&b, ' ');
                buf_adds(&b, json_string_value(item));
            }
            return buf_detach(&b);
        }
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void print_table(json_t *items)
{
    json_t *first = json_array_get(items, 0);
    if (!first)
        return;
    size_t ncols = json_object_size(first), nrows = json_array_size(items);
    const char **names = xcalloc(ncols, sizeof(*names));
    int *width = xcalloc(ncols, sizeof(*width));
    char **cells = xcalloc(ncols * nrows, sizeof(*cells));
    size_t c = 0;
    const char *key;
    json_t *value;
    json_object_foreach(first, key, value)
    {
        names[c] = key;
        width[c] = display_width(key);
        c++;
    }
    for (size_t r = 0; r < nrows; r++)
        for (c = 0; c < ncols; c++) {
            char *cell = cell_text(json_object_get(json_array_get(items, r), names[c]));
            /* A cell is one line: newlines in supporters' texts would break the table. */
            for (char *p = cell; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                    *p = ' ';
            cells[r * ncols + c] = cell;
            if (display_width(cell) > width[c])
                width[c] = display_width(cell);
        }
    for (c = 0; c < ncols; c++)
        printf("%s%s%*s", c ? "  " : "", names[c],
               c + 1 < ncols ? width[c] - display_width(names[c]) : 0, "");
    putchar('\n');
    for (size_t r = 0; r < nrows; r++) {
        for (c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];
            printf("%s%s%*s", c ? "  " : "", v, c + 1 < ncols ? width[c] - display_width(v) : 0,
                   "");
        }
        putchar('\n');
    }
    for (size_t i = 0; i < ncols * nrows; i++)
        free(cells[i]);
    free(cells);
    free(width);
    free(names);
}

void cli_print_json(json_t *answer, bool json)
{
    json_t *items = json_object_get(answer, "items");
    if (json) {
        char *text = json_dumps(answer, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        puts(text);
        free(text);
    } else if (json_is_array(items)) {
        print_table(items);
    } else {
        const char *key;
        json_t *value;
        json_object_foreach(answer, key, value)
        {
            char *cell = cell_text(value);
            printf("%-16s %s\n", key, cell);
            free(cell);
        }
    }
    json_t *next = json_object_get(answer, "next");
    if (json_is_integer(next))
        fprintf(stderr, "(more: --after %" JSON_INTEGER_FORMAT ")\n", json_integer_value(next));
}

int cli_model_fail(const char *what, struct api_error *e)
{
    int code;
    switch (e->status) {
    case 400:
    case 404:
    case 409:
    case 422:
        code = EX_DATAERR;
        break;
    case 401:
    case 403:
        code = EX_NOPERM;
        break;
    case 503:
        code = EX_TEMPFAIL;
        break;
    default:
        code = EX_SOFTWARE;
    }
    cli_fail(code, what, "%s", e->message ? e->message : "failed");
    api_error_release(e);
    return code;
}

const char *cli_take_option(int *argc, char **argv, const char *name)
{
    const char *value = NULL;
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], name) == 0 && i + 1 < *argc) {
            value = argv[++i];
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return value;
}

bool cli_page_options(int *argc, char **argv, struct page *page, const char *what)
{
    const char *after = cli_take_option(argc, argv, "--after");
    const char *limit = cli_take_option(argc, argv, "--limit");
    struct api_error e = {0};
    if (page_parse(after, limit ? limit : "1000", page, &e) < 0) {
        cli_model_fail(what, &e);
        return false;
    }
    return true;
}

bool cli_take_flag(int *argc, char **argv, const char *flag)
{
    bool found = false;
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], flag) == 0)
            found = true;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    return found;
}

int cli_query_print(struct db *db, const char *sql, int nparams, const char *const *params,
                    bool json, const char *what)
{
    char *error = NULL;
    PGresult *res = db_exec(db, sql, nparams, params, &error);
    if (!res) {
        int rc = cli_fail(EX_SOFTWARE, what, "%s", error);
        free(error);
        return rc;
    }
    cli_print_result(res, json);
    PQclear(res);
    return EX_OK;
}

int cli_dispatch(int argc, char **argv, const struct cli_sub *subs, const char *text)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: %s\n", text);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    for (const struct cli_sub *s = subs; s->name; s++)
        if (strcmp(argv[1], s->name) == 0) {
            if (cli_wants_help(argc - 1, argv + 1, text))
                return EX_OK;
            struct db *db = cli_db();
            int rc = s->run(db, argc - 1, argv + 1);
            db_close(&db);
            return rc;
        }
    return cli_fail(EX_USAGE, argv[0], "unknown subcommand %s\nusage: %s", argv[1], text);
}

int cli_config(int argc, char **argv)
{
    const char *text = "tocsin config example | tocsin [-c FILE] config check [--connect]";
    if (cli_wants_help(argc, argv, text))
        return EX_OK;
    if (argc == 2 && strcmp(argv[1], "example") == 0) {
        config_write_example(stdout);
        return EX_OK;
    }
    bool connect = argc == 3 && strcmp(argv[2], "--connect") == 0;
    if ((argc == 2 || connect) && strcmp(argv[1], "check") == 0) {
        /* Loading validated each key's type; config_check() what `tocsin run` checks. */
        int errors = config_check(stderr);
        if (errors)
            return cli_fail(EX_CONFIG, "config", "%d error%s in %s", errors, errors == 1 ? "" : "s",
                            cli_config_source());
        printf("ok: %s\n", cli_config_source());
        if (!connect)
            return EX_OK;
        /* Only a configuration that parses is worth trying against the world. */
        int code = config_check_connect(stdout);
        if (code != EX_OK)
            return cli_fail(code, "config", "%s",
                            code == EX_CONFIG ? "a server refused what the configuration says"
                                              : "a server did not answer");
        return EX_OK;
    }
    return cli_fail(EX_USAGE, "config", "usage: %s", text);
}

int cli_migrate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, "tocsin migrate   (apply pending migrations; safe to repeat)"))
        return EX_OK;
    if (argc > 1)
        return cli_fail(EX_USAGE, "migrate", "takes no arguments");
    /* Migrations hold a session advisory lock: never through a transaction pooler. */
    struct db *db = cli_db_session();
    char *error = NULL;
    int n = migrate_apply(db, &error);
    int rc = EX_OK;
    if (n < 0) {
        rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "migrate", "%s", error);
        free(error);
    } else {
        printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
    }
    db_close(&db);
    return rc;
}

int cli_version(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, "tocsin version"))
        return EX_OK;
    printf("tocsin %s\n", TOCSIN_VERSION);
    return EX_OK;
}

int cli_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return EX_OK;
    }
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0) {
            /* Every command answers --help itself, with its full usage. */
            char *args[] = {argv[1], "--help", NULL};
            return c->run(2, args);
        }
    return cli_fail(EX_USAGE, "help", "unknown command %s (tocsin help lists them)", argv[1]);
}

int cli_main(int argc, char **argv)
{
    const char *config_path = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("tocsin %s\n", TOCSIN_VERSION);
            return EX_OK;
        } else {
            fprintf(stderr, "tocsin: unknown option %s\n", argv[i]);
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    /* Help, version and the manual need no configuration: they work with a broken one. */
    if (strcmp(argv[i], "help") == 0 || strcmp(argv[i], "version") == 0 ||
        strcmp(argv[i], "man") == 0) {
        for (const struct cli_command *c = cli_commands; c->name; c++)
            if (strcmp(c->name, argv[i]) == 0)
                return c->run(argc - i, argv + i);
    }
    char *error = NULL;
    if (config_load(config_path, &error) < 0) {
        fprintf(stderr, "tocsin: config: %s\n", error);
        free(error);
        return EX_CONFIG;
    }
    log_set_level(config_str("engine", "log_level"));
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, argv[i]) == 0)
            return c->run(argc - i, argv + i);
    fprintf(stderr, "tocsin: unknown command %s\n", argv[i]);
    usage(stderr);
    return EX_USAGE;
}

char *cli_contact(const char *command, const char *argument, const char *typed, const char **kind_r)
{
    const char *reason = NULL;
    char *contact = contact_normalise(typed, kind_r, &reason);
    if (!contact)
        cli_fail(EX_DATAERR, command,
                 "%s %s: %s (expected an email address, or a phone number "
                 "such as 06 12 34 56 78 or +33612345678)",
                 argument, typed, reason);
    return contact;
}
