/*
 * optouts — `tocsin optouts [--since DATE] [--channel email|sms]`: current opt-outs with
 * their scope and source (api/optouts.h).
 */
#include "core/account.h"
#include "api/optouts.h"
#include "cli/cli.h"

#include <stdio.h>
#include <sysexits.h>

int cli_optouts(int argc, char **argv)
{
    const char *usage = "tocsin optouts [--since YYYY-MM-DD] [--channel email|sms]"
                        " [--after ID] [--limit N] [--json]";
    if (cli_wants_help(argc, argv, usage))
        return EX_OK;
    bool json = cli_take_flag(&argc, argv, "--json");
    const char *since = cli_take_option(&argc, argv, "--since");
    const char *channel = cli_take_option(&argc, argv, "--channel");
    struct page page;
    if (!cli_page_options(&argc, argv, &page, "optouts"))
        return EX_USAGE;
    if (argc != 1)
        return cli_fail(EX_USAGE, "optouts", "usage: %s", usage);
    struct db *db = cli_db();
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = optouts_list(db, &operator, since, channel, &page, &e);
    caller_release(&operator);
    int rc = EX_OK;
    if (answer)
        cli_print_json(answer, json);
    else
        rc = cli_model_fail("optouts", &e);
    json_decref(answer);
    db_close(&db);
    return rc;
}
