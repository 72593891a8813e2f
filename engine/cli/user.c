/*
 * user — `tocsin user add|list|remove|login-link`: organisers' accounts (api/users.h,
 * api/signin.h). The operator's shell may do anything; what it does is recorded in
 * activity as the operator's.
 */
#include "lib/util.h"
#include "core/account.h"
#include "api/signin.h"
#include "api/users.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const user_usage =
    "tocsin user add CONTACT --role admin|organiser|host [--team SLUG] [--event SLUG]"
    " [--name NAME]\n"
    "       tocsin user list [--json]\n"
    "       tocsin user remove CONTACT [--role R [--team SLUG | --event SLUG]]\n"
    "       tocsin user login-link CONTACT   (print a one-time sign-in link, 15 minutes)\n"
    "CONTACT: an email, or a phone number as people type it (06 12 34 56 78)";

static struct grant take_grant(int *argc, char **argv)
{
    return (struct grant){.role = cli_take_option(argc, argv, "--role"),
                          .team = cli_take_option(argc, argv, "--team"),
                          .event = cli_take_option(argc, argv, "--event")};
}

static int user_add_cli(struct db *db, int argc, char **argv)
{
    struct grant g = take_grant(&argc, argv);
    const char *name = cli_take_option(&argc, argv, "--name");
    if (argc != 2 || !g.role)
        return cli_fail(EX_USAGE, "user add", "usage: %s", user_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = user_add(db, &operator, argv[1], name, &g, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("user add", &e);
    printf("%s is %s%s%s%s\n", argv[1], g.role, g.team || g.event ? " of " : "",
           g.team ? g.team : "", g.event ? g.event : "");
    json_decref(answer);
    return EX_OK;
}

static int user_list_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 1)
        return cli_fail(EX_USAGE, "user list", "usage: tocsin user list [--json]");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = users_list(db, &operator, & e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("user list", &e);
    if (!json) {
        /* One line per account: its roles in words ("organiser:paris-10 host:marche"). */
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(answer, "items"), i, item)
        {
            json_t *roles = json_object_get(item, "roles"), *role;
            size_t j;
            char *words = NULL;
            json_array_foreach(roles, j, role)
            {
                const char *where = json_string_value(json_object_get(role, "team"));
                if (!where)
                    where = json_string_value(json_object_get(role, "event"));
                char *word =
                    where ? xasprintf("%s:%s", json_string_value(json_object_get(role, "role")),
                                      where)
                          : xstrdup(json_string_value(json_object_get(role, "role")));
                char *joined = words ? xasprintf("%s %s", words, word) : xstrdup(word);
                free(words);
                free(word);
                words = joined;
            }
            json_object_set_new(item, "roles", json_string(words ? words : ""));
            free(words);
        }
    }
    cli_print_json(answer, json);
    json_decref(answer);
    return EX_OK;
}

static int user_remove_cli(struct db *db, int argc, char **argv)
{
    struct grant g = take_grant(&argc, argv);
    if (argc != 2)
        return cli_fail(EX_USAGE, "user remove", "usage: %s", user_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = user_remove(db, &operator, argv[1], 0, &g, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("user remove", &e);
    printf("%s: %" JSON_INTEGER_FORMAT " role%s removed\n", argv[1],
           json_integer_value(json_object_get(answer, "removed")),
           json_integer_value(json_object_get(answer, "removed")) == 1 ? "" : "s");
    json_decref(answer);
    return EX_OK;
}

static int user_login_link_cli(struct db *db, int argc, char **argv)
{
    if (argc != 2)
        return cli_fail(EX_USAGE, "user login-link", "usage: tocsin user login-link CONTACT");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = signin_link_create(db, &operator, argv[1], &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("user login-link", &e);
    printf("%s\n", json_string_value(json_object_get(answer, "url")));
    json_decref(answer);
    return EX_OK;
}

int cli_user(int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"add", user_add_cli},
                                          {"list", user_list_cli},
                                          {"remove", user_remove_cli},
                                          {"login-link", user_login_link_cli},
                                          {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, user_usage);
}
