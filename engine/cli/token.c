/*
 * token — `tocsin token add|list|revoke`: API tokens for integrations (api/users.h). A
 * token is printed once, when it is made; only its hash is kept.
 */
#include "lib/util.h"
#include "core/account.h"
#include "api/users.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const token_usage = "tocsin token add --user CONTACT --name NAME\n"
                                       "       tocsin token list [--json]\n"
                                       "       tocsin token revoke ID";

static int token_add_cli(struct db *db, int argc, char **argv)
{
    const char *user = cli_take_option(&argc, argv, "--user");
    const char *name = cli_take_option(&argc, argv, "--name");
    if (argc != 1 || !user || !name)
        return cli_fail(EX_USAGE, "token add", "usage: %s", token_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = token_add(db, &operator, user, name, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("token add", &e);
    printf("%s\n", json_string_value(json_object_get(answer, "token")));
    fprintf(stderr,
            "token %" JSON_INTEGER_FORMAT " for %s: shown once, keep it now"
            " (use it as Authorization: Bearer TOKEN)\n",
            json_integer_value(json_object_get(answer, "id")), user);
    json_decref(answer);
    return EX_OK;
}

static int token_list_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 1)
        return cli_fail(EX_USAGE, "token list", "usage: tocsin token list [--json]");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = tokens_list(db, &operator, & e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("token list", &e);
    cli_print_json(answer, json);
    json_decref(answer);
    return EX_OK;
}

static int token_revoke_cli(struct db *db, int argc, char **argv)
{
    long id;
    if (argc != 2 || str_to_long(argv[1], 1, INT64_MAX, &id) < 0)
        return cli_fail(EX_USAGE, "token revoke", "usage: tocsin token revoke ID");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = token_revoke(db, &operator, id, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("token revoke", &e);
    printf("token %ld revoked\n", id);
    json_decref(answer);
    return EX_OK;
}

int cli_token(int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"add", token_add_cli},
                                          {"list", token_list_cli},
                                          {"revoke", token_revoke_cli},
                                          {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, token_usage);
}
