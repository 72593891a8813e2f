/*
 * cli — the subcommand table and what every subcommand shares.
 *
 * cli_main() parses the global options (-c FILE, --help, --version), loads the
 * configuration and dispatches to a row of cli_commands[] (cli.c). A command function
 * gets argv with argv[0] = its own name and returns a sysexits.h code; it prints results
 * on stdout and a one-line reason on stderr on failure.
 *
 * cli_db() opens the configured database or exits EX_UNAVAILABLE with the reason.
 * cli_print_result() prints rows as an aligned table, or as a JSON array of objects with
 * numbers, booleans and jsonb columns typed (--json).
 */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

#include "lib/db.h"

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
int cli_inject(int argc, char **argv);
int cli_sms_inject(int argc, char **argv);
int cli_commands_table(int argc, char **argv);
int cli_help(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_man(int argc, char **argv);

#endif
