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

/* `event add` as given on the command line. */
struct event_add_args {
    const char *team, *slug, *title, *starts, *tz, *capacity, *location;
};

/* Read the options: 0, or -1 with the exit status of the usage error in *exit_r. */
static int event_add_args(int argc, char **argv, struct event_add_args *a, int *exit_r)
{
    static const struct option opts[] = {
        {"team", required_argument, NULL, 't'},     {"slug", required_argument, NULL, 's'},
        {"title", required_argument, NULL, 'T'},    {"starts", required_argument, NULL, 'S'},
        {"timezone", required_argument, NULL, 'z'}, {"capacity", required_argument, NULL, 'c'},
        {"location", required_argument, NULL, 'l'}, {0}};
    *a = (struct event_add_args){.tz = config_str("engine", "default_timezone")};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            a->team = optarg;
            break;
        case 's':
            a->slug = optarg;
            break;
        case 'T':
            a->title = optarg;
            break;
        case 'S':
            a->starts = optarg;
            break;
        case 'z':
            a->tz = optarg;
            break;
        case 'c':
            a->capacity = optarg;
            break;
        case 'l':
            a->location = optarg;
            break;
        default:
            *exit_r = cli_fail(EX_USAGE, "event add", "usage: %s", event_usage);
            return -1;
        }
    }
    long cap;
    if (optind != argc || !a->team || !a->slug || !a->title || !a->starts)
        *exit_r = cli_fail(EX_USAGE, "event add", "needs --team, --slug, --title and --starts");
    else if (a->capacity && str_to_long(a->capacity, 0, 1000000, &cap) < 0)
        *exit_r = cli_fail(EX_USAGE, "event add", "--capacity must be a whole number");
    else
        return 0;
    return -1;
}

/* Nothing was inserted: either the team is unknown or the slug is taken; say which. */
static int explain_not_added(struct db *db, const struct event_add_args *a)
{
    char *error = NULL;
    const char *params[] = {a->team};
    PGresult *t = db_exec(db, "SELECT 1 FROM teams WHERE slug = lower($1)", 1, params, &error);
    bool team_exists = t && PQntuples(t) > 0;
    PQclear(t);
    free(error);
    return team_exists ? cli_fail(EX_DATAERR, "event add", "event %s already exists", a->slug)
                       : cli_fail(EX_DATAERR, "event add", "no team %s", a->team);
}

static int event_add(struct db *db, int argc, char **argv)
{
    struct event_add_args a;
    int rc = EX_OK;
    if (event_add_args(argc, argv, &a, &rc) < 0)
        return rc;
    char *error = NULL;
    const char *tzp[] = {a.tz};
    PGresult *res = db_exec(db, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, tzp, &error);
    if (!res)
        goto db_error;
    bool tz_ok = PQntuples(res) > 0;
    PQclear(res);
    if (!tz_ok)
        return cli_fail(EX_DATAERR, "event add", "unknown time zone %s", a.tz);
    const char *params[] = {a.team, a.slug, a.title, a.starts, a.tz, a.capacity, a.location};
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
            rc = cli_fail(EX_DATAERR, "event add", "--starts %s: expected 'YYYY-MM-DD HH:MM'",
                          a.starts);
        else if (strcmp(state, "23514") == 0)
            rc = cli_fail(EX_DATAERR, "event add",
                          "slug %s: use lower-case letters, digits and dashes", a.slug);
        else
            goto db_error;
        free(error);
        return rc;
    }
    if (PQntuples(res) == 0)
        rc = explain_not_added(db, &a);
    else
        printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
db_error:
    rc = cli_fail(EX_SOFTWARE, "event add", "%s", error);
    free(error);
    return rc;
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
