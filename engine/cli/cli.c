#include "cli/cli.h"
#include "cli/config_check.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/migrate.h"
#include "outbound/queue.h"

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
    {"import", cli_import, "tocsin import people FILE.csv", "import or update supporters"},
    {"team", cli_team, "tocsin team add|list|show ...", "local teams"},
    {"event", cli_event, "tocsin event add|list|show ...", "events and their RSVPs"},
    {"campaign", cli_campaign, "tocsin campaign create|send|pause|resume|cancel|status ...",
     "newsletters to a segment, and the scheduler's tick"},
    {"config", cli_config, "tocsin config example|check", "print the example config, or check one"},
    {"queue", cli_queue, "tocsin queue status [--json]", "outbound queue: counts and delay"},
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

struct db *cli_db(void)
{
    char *url = config_database_url();
    char *error = NULL;
    struct db *db = db_open(url, &error);
    if (!db) {
        /* Say where the connection string came from: a command run from another directory
         * than the checkout otherwise fails with a socket path that explains nothing. */
        str_trim(error); /* libpq ends its messages with a newline */
        if (*config_str("database", "url"))
            die(EX_UNAVAILABLE, "database: %s (url from %s)", error,
                config_origin("database", "url"));
        die(EX_UNAVAILABLE,
            "database: %s\n(no [database] url in %s, so tocsin tried the `make run` cluster of "
            "the current directory: %s)",
            error, cli_config_source(), url);
    }
    free(url);
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
    const char *text = "tocsin config example | tocsin [-c FILE] config check";
    if (cli_wants_help(argc, argv, text))
        return EX_OK;
    if (argc == 2 && strcmp(argv[1], "example") == 0) {
        config_write_example(stdout);
        return EX_OK;
    }
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        /* Loading validated each key's type; config_check() what `tocsin run` checks. */
        int errors = config_check(stderr);
        if (errors)
            return cli_fail(EX_CONFIG, "config", "%d error%s in %s", errors, errors == 1 ? "" : "s",
                            cli_config_source());
        printf("ok: %s\n", cli_config_source());
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
    struct db *db = cli_db();
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
