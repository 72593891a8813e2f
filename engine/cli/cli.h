/*
 * cli — the subcommand table and what every subcommand shares.
 *
 * cli_main() parses the global options (-c FILE, --help, --version), loads the
 * configuration and dispatches to a row of cli_commands[] (cli.c). A command function
 * gets argv with argv[0] = its own name and returns a sysexits.h code; it prints results
 * on stdout and a one-line reason on stderr on failure.
 *
 * cli_db() opens the configured database or exits EX_UNAVAILABLE with the reason;
 * cli_db_session() opens the direct connection ([database] direct_url) for commands
 * that need a session of their own (migrate's advisory lock, upkeep's detaching).
 * cli_print_result() prints rows as an aligned table, or as a JSON array of objects with
 * numbers, booleans and jsonb columns typed (--json).
 */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

#include "lib/db.h"

#include <jansson.h>
#include <stdbool.h>

#define TOCSIN_VERSION "0.2.0"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
};

extern const struct cli_command cli_commands[];

int cli_main(int argc, char **argv);
struct db *cli_db(void);
struct db *cli_db_session(void);
/* The configuration file read, or a phrase saying none was found and where we looked. */
const char *cli_config_source(void);
void cli_print_result(const PGresult *res, bool json);
/* Print "tocsin: NAME: MESSAGE" on stderr and return `code`. */
int cli_fail(int code, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True if argv holds -h or --help (then the usage was printed). */
bool cli_wants_help(int argc, char **argv, const char *usage);

/* Remove every `flag` from argv (shifting the rest); true if it was there. */
bool cli_take_flag(int *argc, char **argv, const char *flag);
/* Run a query and print its rows (table or --json); returns a sysexits code. */
int cli_query_print(struct db *db, const char *sql, int nparams, const char *const *params,
                    bool json, const char *what);

/* A contact typed as an argument (`--to 06 12 34 56 78`, `CONTACT`), normalised the one
 * way tocsin stores contacts (contact_normalise(), core/account.h; [engine] default_country
 * for numbers without +). NULL after printing "tocsin COMMAND: ARGUMENT VALUE: reason …"
 * on stderr, naming the argument; the caller returns EX_DATAERR. *kind_r: "email" or
 * "phone". Caller frees. */
char *cli_contact(const char *command, const char *argument, const char *typed,
                  const char **kind_r);

/*
 * The organisers' questions (api/) answer JSON; these print it. cli_print_json() prints a
 * model's answer: a list ({"items": [...], "next": …}) as an aligned table, or any answer
 * as JSON with --json; after a full page it says on stderr how to ask for the next one.
 * cli_model_fail() prints a model's error and maps its status to an exit code (400/422
 * usage or data 65, 404 and 409 data 65, 403 77, 503 75, else 70) and releases it.
 * cli_page_options() reads --after ID and --limit N (removing them from argv).
 */
struct api_error;
struct page;
void cli_print_json(json_t *answer, bool json);
int cli_model_fail(const char *what, struct api_error *e);
bool cli_page_options(int *argc, char **argv, struct page *page, const char *what);
/* The value of `--name VALUE` (removed from argv), or NULL. */
const char *cli_take_option(int *argc, char **argv, const char *name);

/* Second-level commands (`team add`): argv[1] picks a row; each gets the database. */
struct cli_sub {
    const char *name;
    int (*run)(struct db *db, int argc, char **argv);
};
int cli_dispatch(int argc, char **argv, const struct cli_sub *subs, const char *usage);

/* Subcommands implemented in their own modules. */
int cli_migrate(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_team(int argc, char **argv);
int cli_event(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_sms_estimate(int argc, char **argv);
int cli_sms_test(int argc, char **argv);
int cli_campaign(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_people(int argc, char **argv);
int cli_optouts(int argc, char **argv);
int cli_inbox(int argc, char **argv);
int cli_inject(int argc, char **argv);
int cli_sms_inject(int argc, char **argv);
int cli_commands_table(int argc, char **argv);
int cli_upkeep(int argc, char **argv);
int cli_help(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_man(int argc, char **argv);
/* `people forget` and `people forgotten` (forget.c), subcommands of `people`. */
int cli_people_forget(struct db *db, int argc, char **argv);
int cli_people_forgotten(struct db *db, int argc, char **argv);

#endif
