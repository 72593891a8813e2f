/*
 * team — `tocsin team add|list|show`. Listing commands accept --json.
 */
#include "lib/util.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const team_usage =
    "tocsin team add SLUG --name NAME [--region REGION]\n"
    "       tocsin team list [--json]\n"
    "       tocsin team show SLUG [--json]\n"
    "       tocsin team organiser SLUG EMAIL|PHONE   (make a member an organiser)";

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
    const char *params[] = {argv[optind], name, region};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "INSERT INTO teams (slug, name, region) VALUES (lower($1), $2, $3) "
                            "ON CONFLICT (slug) DO NOTHING RETURNING id",
                            3, params, &error);
    if (!res) {
        bool bad_slug = strcmp(db_sqlstate(db), "23514") == 0;
        int rc = bad_slug
                     ? cli_fail(EX_DATAERR, "team add",
                                "slug %s: use lower-case letters, digits and dashes", argv[optind])
                     : cli_fail(EX_SOFTWARE, "team add", "%s", error);
        free(error);
        return rc;
    }
    int rc = EX_OK;
    if (PQntuples(res) == 0)
        rc = cli_fail(EX_DATAERR, "team add", "team %s already exists", argv[optind]);
    else
        printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
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

static int team_show(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 2)
        return cli_fail(EX_USAGE, "team show", "usage: tocsin team show SLUG [--json]");
    const char *params[] = {argv[1]};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT t.id, t.slug, t.name, t.region, t.created_at,"
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
    if (argc != 3)
        return cli_fail(EX_USAGE, "team organiser", "usage: tocsin team organiser SLUG CONTACT");
    const char *params[] = {argv[1], argv[2]};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "INSERT INTO memberships (person_id, team_id, role, status)"
        " SELECT c.person_id, t.id, 'organiser', 'active' FROM contacts c, teams t"
        " WHERE t.slug = lower($1) AND c.address = lower($2)"
        " ON CONFLICT (person_id, team_id) DO UPDATE SET role = 'organiser', status = 'active'"
        " RETURNING person_id",
        2, params, &error);
    if (!res) {
        int rc = cli_fail(EX_SOFTWARE, "team organiser", "%s", error);
        free(error);
        return rc;
    }
    int rc = PQntuples(res) ? EX_OK
                            : cli_fail(EX_DATAERR, "team organiser", "no team %s or no contact %s",
                                       argv[1], argv[2]);
    PQclear(res);
    return rc;
}

int cli_team(int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"add", team_add},
                                          {"list", team_list},
                                          {"show", team_show},
                                          {"organiser", team_organiser},
                                          {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, team_usage);
}
