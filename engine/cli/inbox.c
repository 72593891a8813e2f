/*
 * inbox — `tocsin inbox [--all]`, `inbox reply ID TEXT`, `inbox done ID`: messages that
 * need a human (api/inbox.h).
 */
#include "lib/util.h"
#include "core/account.h"
#include "api/inbox.h"
#include "cli/cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const inbox_usage = "tocsin inbox [--all] [--after ID] [--limit N] [--json]\n"
                                       "       tocsin inbox reply ID TEXT\n"
                                       "       tocsin inbox done ID";

static int inbox_list_cli(int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    bool all = cli_take_flag(&argc, argv, "--all");
    struct page page;
    if (!cli_page_options(&argc, argv, &page, "inbox"))
        return EX_USAGE;
    if (argc != 1)
        return cli_fail(EX_USAGE, "inbox", "usage: %s", inbox_usage);
    struct db *db = cli_db();
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = inbox_list(db, &operator, all, &page, &e);
    caller_release(&operator);
    int rc = EX_OK;
    if (!answer) {
        rc = cli_model_fail("inbox", &e);
    } else {
        if (!json)
            printf("%" JSON_INTEGER_FORMAT " open\n",
                   json_integer_value(json_object_get(answer, "open")));
        cli_print_json(answer, json);
    }
    json_decref(answer);
    db_close(&db);
    return rc;
}

static int inbox_act(int argc, char **argv)
{
    bool reply = strcmp(argv[1], "reply") == 0;
    long id;
    if (argc != (reply ? 4 : 3) || str_to_long(argv[2], 1, INT64_MAX, &id) < 0)
        return cli_fail(EX_USAGE, reply ? "inbox reply" : "inbox done", "usage: %s", inbox_usage);
    struct db *db = cli_db();
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer =
        reply ? inbox_reply(db, &operator, id, argv[3], &e) : inbox_done(db, &operator, id, &e);
    caller_release(&operator);
    int rc = EX_OK;
    if (!answer)
        rc = cli_model_fail(reply ? "inbox reply" : "inbox done", &e);
    else if (reply)
        printf("%s to %s: %s\n",
               json_is_true(json_object_get(answer, "created")) ? "queued" : "already queued",
               json_string_value(json_object_get(answer, "recipient")),
               json_string_value(json_object_get(answer, "channel")));
    else
        printf("message %ld done\n", id);
    json_decref(answer);
    db_close(&db);
    return rc;
}

int cli_inbox(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, inbox_usage))
        return EX_OK;
    if (argc >= 2 && (strcmp(argv[1], "reply") == 0 || strcmp(argv[1], "done") == 0))
        return inbox_act(argc, argv);
    return inbox_list_cli(argc, argv);
}
