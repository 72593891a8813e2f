/*
 * team — `tocsin team add|list|show|organiser|digest|members|activity`. Listing commands accept
 * --json. Adding a team or an organiser, members and activity go through api/teams.h, as
 * the organisers' API does.
 */
#include "lib/util.h"
#include "core/account.h"
#include "api/teams.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const team_usage =
    "tocsin team add SLUG --name NAME [--region REGION]\n"
    "       tocsin team list [--json]\n"
    "       tocsin team show SLUG [--json]\n"
    "       tocsin team organiser SLUG CONTACT [--remove]   (make a member an organiser, or not)\n"
    "       tocsin team digest SLUG daily|weekly|never|default   (members who chose none)\n"
    "       tocsin team members SLUG [--since YYYY-MM-DD] [--pending] [--after ID] [--limit N]"
    " [--json]\n"
    "       tocsin team activity SLUG [--after ID] [--limit N] [--json]";

static int team_add(struct db *db, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'}, {"region", required_argument, NULL, 'r'}, {0}};
    const char *name = NULL, *region = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "n:r:", opts, NULL)) != -1) {
        if (c == 'n')
            name = optarg;
        else if (c == 'r')
            region = optarg;
        else
            return cli_fail(EX_USAGE, "team add", "usage: %s", team_usage);
    }
    if (optind + 1 != argc || !name)
        return cli_fail(EX_USAGE, "team add", "needs SLUG and --name");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *team = team_create(db, &operator, argv[optind], name, region, &e);
    caller_release(&operator);
    if (!team)
        return cli_model_fail("team add", &e);
    printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(team, "id")));
    json_decref(team);
    return EX_OK;
}

static int team_list(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 1)
        return cli_fail(EX_USAGE, "team list", "usage: tocsin team list [--json]");
    return cli_query_print(
        db,
        "SELECT t.id, t.slug, t.name, t.region,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.status = 'active')"
        "   AS members,"
        " (SELECT count(*) FROM events e WHERE e.team_id = t.id AND e.starts_at > now()"
        "   AND e.status = 'scheduled') AS upcoming_events"
        " FROM teams t ORDER BY t.slug",
        0, NULL, json, "team list");
}

static int team_show_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 2)
        return cli_fail(EX_USAGE, "team show", "usage: tocsin team show SLUG [--json]");
    const char *params[] = {argv[1]};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT t.id, t.slug, t.name, t.region, t.created_at,"
        " coalesce(t.digest, 'default') AS digest,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.status = 'active')"
        "   AS members,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.status = 'pending')"
        "   AS pending,"
        " (SELECT coalesce(jsonb_agg(p.name ORDER BY p.name), '[]') FROM memberships m"
        "   JOIN people p ON p.id = m.person_id WHERE m.team_id = t.id AND m.role = 'organiser')"
        "   AS organisers,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('slug', e.slug, 'title', e.title,"
        "   'starts_at', e.starts_at) ORDER BY e.starts_at), '[]') FROM events e"
        "   WHERE e.team_id = t.id AND e.starts_at > now() AND e.status = 'scheduled')"
        "   AS upcoming_events"
        " FROM teams t WHERE t.slug = lower($1)",
        1, params, &error);
    if (!res) {
        int rc = cli_fail(EX_SOFTWARE, "team show", "%s", error);
        free(error);
        return rc;
    }
    int rc = EX_OK;
    if (PQntuples(res) == 0)
        rc = cli_fail(EX_DATAERR, "team show", "no team %s", argv[1]);
    else if (json)
        cli_print_result(res, true);
    else
        for (int f = 0; f < PQnfields(res); f++)
            printf("%-16s %s\n", PQfname(res, f), PQgetvalue(res, 0, f));
    PQclear(res);
    return rc;
}

static int team_organiser(struct db *db, int argc, char **argv)
{
    bool remove = cli_take_flag(&argc, argv, "--remove");
    if (argc != 3)
        return cli_fail(EX_USAGE, "team organiser",
                        "usage: tocsin team organiser SLUG CONTACT [--remove]");
    const char *kind = NULL;
    char *contact = cli_contact("team organiser", "CONTACT", argv[2], &kind);
    if (!contact)
        return EX_DATAERR;
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *done = team_organiser_set(db, &operator, argv[1], contact, 0, !remove, &e);
    caller_release(&operator);
    int rc = EX_OK;
    if (!done)
        rc = cli_model_fail("team organiser", &e);
    else if (remove)
        printf("%s is no longer an organiser of %s (still a member)\n", contact, argv[1]);
    else if (json_is_true(json_object_get(done, "added_as_member")))
        printf("%s is now an organiser of %s: added as a member, they were not one\n", contact,
               argv[1]);
    else
        printf("%s is now an organiser of %s\n", contact, argv[1]);
    json_decref(done);
    free(contact);
    return rc;
}

static int team_digest(struct db *db, int argc, char **argv)
{
    if (argc != 3)
        return cli_fail(EX_USAGE, "team digest",
                        "usage: tocsin team digest SLUG daily|weekly|never|default");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *done = team_digest_set(db, &operator, argv[1], argv[2], &e);
    caller_release(&operator);
    if (!done)
        return cli_model_fail("team digest", &e);
    printf("team %s: digest %s for members who chose none\n", argv[1],
           json_string_value(json_object_get(done, "digest")));
    json_decref(done);
    return EX_OK;
}

static int team_members_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    struct members_filter f = {.pending = cli_take_flag(&argc, argv, "--pending"),
                               .since = cli_take_option(&argc, argv, "--since")};
    if (!cli_page_options(&argc, argv, &f.page, "team members"))
        return EX_USAGE;
    if (argc != 2)
        return cli_fail(EX_USAGE, "team members", "usage: %s", team_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *team = team_show(db, &operator, argv[1], &e);
    json_t *answer = team ? team_members(db, &operator, argv[1], &f, &e) : NULL;
    caller_release(&operator);
    json_decref(team);
    if (!answer)
        return cli_model_fail("team members", &e);
    cli_print_json(answer, json);
    json_decref(answer);
    return EX_OK;
}

static int team_activity_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    struct page page;
    if (!cli_page_options(&argc, argv, &page, "team activity"))
        return EX_USAGE;
    if (argc != 2)
        return cli_fail(EX_USAGE, "team activity", "usage: %s", team_usage);
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *team = team_show(db, &operator, argv[1], &e);
    json_t *answer = team ? team_activity(db, &operator, argv[1], &page, &e) : NULL;
    caller_release(&operator);
    json_decref(team);
    if (!answer)
        return cli_model_fail("team activity", &e);
    cli_print_json(answer, json);
    json_decref(answer);
    return EX_OK;
}

int cli_team(int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"add", team_add},
                                          {"list", team_list},
                                          {"show", team_show_cli},
                                          {"organiser", team_organiser},
                                          {"digest", team_digest},
                                          {"members", team_members_cli},
                                          {"activity", team_activity_cli},
                                          {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, team_usage);
}
