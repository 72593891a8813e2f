/*
 * event — `tocsin event add|list|show`. The start time is read in the event's time zone.
 */
#include "lib/util.h"
#include "core/config.h"
#include "campaigns/scheduler.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const event_usage =
    "tocsin event add --team SLUG --slug SLUG --title TITLE --starts 'YYYY-MM-DD HH:MM'\n"
    "                        [--timezone IANA] [--capacity N] [--location TEXT]\n"
    "       tocsin event list [--team SLUG] [--all] [--json]\n"
    "       tocsin event show SLUG [--json]\n"
    "       tocsin event move SLUG --starts 'YYYY-MM-DD HH:MM' [--timezone IANA]\n"
    "       tocsin event cancel SLUG   (both notify everyone who said yes)";

static int event_add(struct db *db, int argc, char **argv)
{
    static const struct option opts[] = {
        {"team", required_argument, NULL, 't'},     {"slug", required_argument, NULL, 's'},
        {"title", required_argument, NULL, 'T'},    {"starts", required_argument, NULL, 'S'},
        {"timezone", required_argument, NULL, 'z'}, {"capacity", required_argument, NULL, 'c'},
        {"location", required_argument, NULL, 'l'}, {0}};
    const char *team = NULL, *slug = NULL, *title = NULL, *starts = NULL, *capacity = NULL,
               *location = NULL;
    const char *tz = config_str("engine", "default_timezone");
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            team = optarg;
            break;
        case 's':
            slug = optarg;
            break;
        case 'T':
            title = optarg;
            break;
        case 'S':
            starts = optarg;
            break;
        case 'z':
            tz = optarg;
            break;
        case 'c':
            capacity = optarg;
            break;
        case 'l':
            location = optarg;
            break;
        default:
            return cli_fail(EX_USAGE, "event add", "usage: %s", event_usage);
        }
    }
    if (optind != argc || !team || !slug || !title || !starts)
        return cli_fail(EX_USAGE, "event add", "needs --team, --slug, --title and --starts");
    long cap;
    if (capacity && str_to_long(capacity, 0, 1000000, &cap) < 0)
        return cli_fail(EX_USAGE, "event add", "--capacity must be a whole number");
    char *error = NULL;
    const char *tzp[] = {tz};
    PGresult *res = db_exec(db, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, tzp, &error);
    if (!res)
        goto db_error;
    bool tz_ok = PQntuples(res) > 0;
    PQclear(res);
    if (!tz_ok)
        return cli_fail(EX_DATAERR, "event add", "unknown time zone %s", tz);

    const char *params[] = {team, slug, title, starts, tz, capacity, location};
    res =
        db_exec(db,
                "INSERT INTO events (team_id, slug, title, starts_at, timezone, capacity, location)"
                " SELECT t.id, lower($2), $3, ($4::timestamp AT TIME ZONE $5), $5, $6::integer, $7"
                " FROM teams t WHERE t.slug = lower($1)"
                " ON CONFLICT (slug) DO NOTHING RETURNING id, starts_at",
                7, params, &error);
    if (!res) {
        const char *state = db_sqlstate(db);
        if (str_starts_with(state, "22"))
            return cli_fail(EX_DATAERR, "event add", "--starts %s: expected 'YYYY-MM-DD HH:MM'",
                            starts);
        if (strcmp(state, "23514") == 0)
            return cli_fail(EX_DATAERR, "event add",
                            "slug %s: use lower-case letters, digits and dashes", slug);
        goto db_error;
    }
    int rc = EX_OK;
    if (PQntuples(res) == 0) {
        /* Either the team is unknown or the slug is taken: say which. */
        const char *tp[] = {team};
        PGresult *t = db_exec(db, "SELECT 1 FROM teams WHERE slug = lower($1)", 1, tp, &error);
        bool team_exists = t && PQntuples(t) > 0;
        PQclear(t);
        free(error);
        rc = team_exists ? cli_fail(EX_DATAERR, "event add", "event %s already exists", slug)
                         : cli_fail(EX_DATAERR, "event add", "no team %s", team);
    } else {
        printf("%s\n", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return rc;
db_error:
    c = cli_fail(EX_SOFTWARE, "event add", "%s", error);
    free(error);
    return c;
}

static int event_list(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    bool all = cli_take_flag(&argc, argv, "--all");
    const char *team = NULL;
    if (argc == 3 && strcmp(argv[1], "--team") == 0)
        team = argv[2];
    else if (argc != 1)
        return cli_fail(EX_USAGE, "event list", "usage: %s", event_usage);
    const char *params[] = {team, all ? "t" : "f"};
    return cli_query_print(
        db,
        "SELECT e.id, e.slug, t.slug AS team, e.title,"
        " to_char(e.starts_at AT TIME ZONE e.timezone, 'YYYY-MM-DD HH24:MI') AS starts,"
        " e.timezone, e.capacity, e.location, e.status,"
        " (SELECT coalesce(sum(1 + r.guests), 0) FROM rsvps r"
        "   WHERE r.event_id = e.id AND r.status = 'yes') AS attending"
        " FROM events e LEFT JOIN teams t ON t.id = e.team_id"
        " WHERE ($1::text IS NULL OR t.slug = lower($1))"
        "   AND ($2::boolean OR e.starts_at > now() - interval '1 day')"
        " ORDER BY e.starts_at",
        2, params, json, "event list");
}

static int event_show(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 2)
        return cli_fail(EX_USAGE, "event show", "usage: tocsin event show SLUG [--json]");
    const char *params[] = {argv[1]};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT e.id, e.slug, t.slug AS team, e.title,"
        " to_char(e.starts_at AT TIME ZONE e.timezone, 'YYYY-MM-DD HH24:MI') AS starts,"
        " e.starts_at, e.timezone, e.capacity, e.location, e.status,"
        " (SELECT coalesce(sum(1 + r.guests), 0) FROM rsvps r"
        "   WHERE r.event_id = e.id AND r.status = 'yes') AS attending,"
        " (SELECT count(*) FROM rsvps r WHERE r.event_id = e.id AND r.status = 'yes') AS yes,"
        " (SELECT count(*) FROM rsvps r WHERE r.event_id = e.id AND r.status = 'no') AS no,"
        " (SELECT count(*) FROM rsvps r WHERE r.event_id = e.id AND r.status = 'maybe') AS maybe,"
        " (SELECT count(*) FROM rsvps r WHERE r.event_id = e.id AND r.status = 'waitlist')"
        "   AS waitlist"
        " FROM events e LEFT JOIN teams t ON t.id = e.team_id WHERE e.slug = lower($1)",
        1, params, &error);
    if (!res) {
        int rc = cli_fail(EX_SOFTWARE, "event show", "%s", error);
        free(error);
        return rc;
    }
    int rc = EX_OK;
    if (PQntuples(res) == 0)
        rc = cli_fail(EX_DATAERR, "event show", "no event %s", argv[1]);
    else if (json)
        cli_print_result(res, true);
    else
        for (int f = 0; f < PQnfields(res); f++)
            printf("%-12s %s\n", PQfname(res, f), PQgetvalue(res, 0, f));
    PQclear(res);
    return rc;
}

int cli_event(int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"add", event_add},           {"list", event_list},
                                          {"show", event_show},         {"move", event_move_cli},
                                          {"cancel", event_cancel_cli}, {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, event_usage);
}
