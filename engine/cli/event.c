/*
 * event — `tocsin event add|list|show|edit|move|cancel|attendees|checkin`. The start time is
 * read in the event's time zone. Changes go through campaigns/event.h, the door list and
 * check-in through api/events.h: the same functions the organisers' API calls.
 */
#include "lib/buf.h"
#include "lib/util.h"
#include "core/account.h"
#include "core/config.h"
#include "campaigns/event.h"
#include "api/events.h"
#include "cli/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const event_usage =
    "tocsin event add --team SLUG --slug SLUG --title TITLE --starts 'YYYY-MM-DD HH:MM'\n"
    "                        [--timezone IANA] [--capacity N] [--location TEXT] [--past]\n"
    "       tocsin event list [--team SLUG] [--all] [--json]\n"
    "       tocsin event show SLUG [--json]\n"
    "       tocsin event edit SLUG [--title T] [--location L] [--capacity N|none]\n"
    "       tocsin event move SLUG --starts 'YYYY-MM-DD HH:MM' [--timezone IANA] [--location L]\n"
    "                        [--note TEXT] [--past]\n"
    "       tocsin event cancel SLUG [--note TEXT]   (move and cancel notify those who said yes)\n"
    "       tocsin event attendees SLUG [--csv|--json]   (the door list)\n"
    "       tocsin event checkin SLUG CONTACT\n"
    "       tocsin event checkin SLUG --name NAME [--phone P] [--email E]   (a walk-in)";

/* A refusal from campaigns/event.h as the CLI says it; EVENT_OK prints the id. */
static int event_outcome_exit(struct db *db, const char *what, enum event_outcome outcome,
                              char *error, int64_t id)
{
    int rc = EX_OK;
    switch (outcome) {
    case EVENT_OK:
        printf("%" PRId64 "\n", id);
        break;
    case EVENT_FAILED:
        rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, what, "%s", error);
        break;
    default:
        rc = cli_fail(EX_DATAERR, what, "%s", error);
    }
    free(error);
    return rc;
}

static int event_add(struct db *db, int argc, char **argv)
{
    static const struct option opts[] = {{"team", required_argument, NULL, 't'},
                                         {"slug", required_argument, NULL, 's'},
                                         {"title", required_argument, NULL, 'T'},
                                         {"starts", required_argument, NULL, 'S'},
                                         {"timezone", required_argument, NULL, 'z'},
                                         {"capacity", required_argument, NULL, 'c'},
                                         {"location", required_argument, NULL, 'l'},
                                         {"past", no_argument, NULL, 'p'},
                                         {0}};
    struct event_new ev = {0};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            ev.team = optarg;
            break;
        case 's':
            ev.slug = optarg;
            break;
        case 'T':
            ev.title = optarg;
            break;
        case 'S':
            ev.starts = optarg;
            break;
        case 'z':
            ev.timezone = optarg;
            break;
        case 'c':
            ev.capacity = optarg;
            break;
        case 'l':
            ev.location = optarg;
            break;
        case 'p':
            ev.past = true;
            break;
        default:
            return cli_fail(EX_USAGE, "event add", "usage: %s", event_usage);
        }
    }
    if (optind != argc || !ev.team || !ev.slug || !ev.title || !ev.starts)
        return cli_fail(EX_USAGE, "event add", "needs --team, --slug, --title and --starts");
    long cap;
    if (ev.capacity && str_to_long(ev.capacity, 0, 1000000, &cap) < 0)
        return cli_fail(EX_USAGE, "event add", "--capacity must be a whole number");
    struct caller operator;
    caller_operator(&operator);
    char *error = NULL;
    int64_t id = 0;
    enum event_outcome outcome = event_create(db, &operator.actor, &ev, &id, &error);
    caller_release(&operator);
    return event_outcome_exit(db, "event add", outcome, error, id);
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

static int event_show_cli(struct db *db, int argc, char **argv)
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

static int event_move_cli(struct db *db, int argc, char **argv)
{
    bool past = cli_take_flag(&argc, argv, "--past");
    const char *starts = cli_take_option(&argc, argv, "--starts");
    const char *tz = cli_take_option(&argc, argv, "--timezone");
    const char *location = cli_take_option(&argc, argv, "--location");
    const char *note = cli_take_option(&argc, argv, "--note");
    if (argc != 2 || !starts)
        return cli_fail(EX_USAGE, "event move",
                        "needs SLUG and --starts 'YYYY-MM-DD HH:MM' (the event's local time, "
                        "e.g. '2031-06-07 10:00')");
    const char *slug = argv[1];
    struct caller operator;
    caller_operator(&operator);
    char *error = NULL;
    int notified = 0;
    enum event_outcome outcome = event_move_to(db, &operator.actor, slug, starts, tz, location,
                                               past, note, &notified, &error);
    caller_release(&operator);
    if (outcome != EVENT_OK)
        return event_outcome_exit(db, "event move", outcome, error, 0);
    printf("event %s moved: %d %s notified\n", slug, notified, notified == 1 ? "person" : "people");
    return EX_OK;
}

/* `event edit`: what changes no date, so nobody is notified. */
static int event_edit_cli(struct db *db, int argc, char **argv)
{
    struct event_edit edit = {.title = cli_take_option(&argc, argv, "--title"),
                              .location = cli_take_option(&argc, argv, "--location"),
                              .capacity = cli_take_option(&argc, argv, "--capacity")};
    if (argc != 2 || (!edit.title && !edit.location && !edit.capacity))
        return cli_fail(EX_USAGE, "event edit",
                        "usage: tocsin event edit SLUG [--title T] [--location L] "
                        "[--capacity N|none]");
    if (edit.capacity && strcmp(edit.capacity, "none") == 0)
        edit.capacity = "";
    struct caller operator;
    caller_operator(&operator);
    char *error = NULL;
    enum event_outcome outcome = event_update(db, &operator.actor, argv[1], &edit, &error);
    caller_release(&operator);
    if (outcome != EVENT_OK)
        return event_outcome_exit(db, "event edit", outcome, error, 0);
    printf("event %s edited\n", argv[1]);
    return EX_OK;
}

static int event_cancel_cli(struct db *db, int argc, char **argv)
{
    const char *note = NULL;
    if (argc == 4 && strcmp(argv[2], "--note") == 0)
        note = argv[3];
    else if (argc != 2)
        return cli_fail(EX_USAGE, "event cancel", "usage: tocsin event cancel SLUG [--note TEXT]");
    struct caller operator;
    caller_operator(&operator);
    char *error = NULL;
    int notified = 0;
    enum event_outcome outcome =
        event_cancel(db, &operator.actor, argv[1], note, &notified, &error);
    caller_release(&operator);
    if (outcome != EVENT_OK)
        return event_outcome_exit(db, "event cancel", outcome, error, 0);
    printf("event %s cancelled: %d %s notified\n", argv[1], notified,
           notified == 1 ? "person" : "people");
    return EX_OK;
}

static int event_attendees_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    bool csv = cli_take_flag(&argc, argv, "--csv");
    if (argc != 2 || (json && csv))
        return cli_fail(EX_USAGE, "event attendees",
                        "usage: tocsin event attendees SLUG [--csv|--json]");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    int rc = EX_OK;
    if (csv) {
        struct buf out = BUF_INIT;
        if (event_attendees_csv(db, &operator, argv[1], &out, &e) < 0)
            rc = cli_model_fail("event attendees", &e);
        else
            fwrite(out.data ? out.data : "", 1, out.len, stdout);
        buf_release(&out);
    } else {
        json_t *answer = event_attendees(db, &operator, argv[1], &e);
        if (!answer) {
            rc = cli_model_fail("event attendees", &e);
        } else if (json) {
            cli_print_json(answer, true);
        } else {
            json_t *ev = json_object_get(answer, "event");
            printf("%s (%s): %" JSON_INTEGER_FORMAT " yes (%" JSON_INTEGER_FORMAT
                   " with guests), %" JSON_INTEGER_FORMAT " maybe, %" JSON_INTEGER_FORMAT
                   " waitlist, %" JSON_INTEGER_FORMAT " no; %" JSON_INTEGER_FORMAT " checked in\n",
                   json_string_value(json_object_get(ev, "title")),
                   json_string_value(json_object_get(ev, "starts")),
                   json_integer_value(json_object_get(ev, "yes")),
                   json_integer_value(json_object_get(ev, "attending")),
                   json_integer_value(json_object_get(ev, "maybe")),
                   json_integer_value(json_object_get(ev, "waitlist")),
                   json_integer_value(json_object_get(ev, "no")),
                   json_integer_value(json_object_get(ev, "checked_in")));
            cli_print_json(answer, false);
        }
        json_decref(answer);
    }
    caller_release(&operator);
    return rc;
}

static int event_checkin_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    struct checkin in = {.name = cli_take_option(&argc, argv, "--name"),
                         .phone = cli_take_option(&argc, argv, "--phone"),
                         .email = cli_take_option(&argc, argv, "--email")};
    if (argc == 3 && !in.name && !in.phone && !in.email)
        in.contact = argv[2];
    else if (argc != 2 || !in.name)
        return cli_fail(EX_USAGE, "event checkin",
                        "usage: tocsin event checkin SLUG CONTACT"
                        " | tocsin event checkin SLUG --name NAME [--phone P] [--email E]");
    struct caller operator;
    caller_operator(&operator);
    struct api_error e = {0};
    json_t *answer = event_checkin(db, &operator, argv[1], &in, &e);
    caller_release(&operator);
    if (!answer)
        return cli_model_fail("event checkin", &e);
    if (json)
        cli_print_json(answer, true);
    else
        printf("%s %s %s (%" JSON_INTEGER_FORMAT " checked in)\n",
               json_string_value(json_object_get(answer, "name")),
               json_is_true(json_object_get(answer, "already"))   ? "was already checked in at"
               : json_is_true(json_object_get(answer, "walk_in")) ? "checked in as a walk-in at"
                                                                  : "checked in at",
               json_string_value(json_object_get(answer, "checked_in_at")),
               json_integer_value(json_object_get(answer, "checked_in")));
    json_decref(answer);
    return EX_OK;
}

int cli_event(int argc, char **argv)
{
    static const struct cli_sub subs[] = {{"add", event_add},
                                          {"edit", event_edit_cli},
                                          {"list", event_list},
                                          {"show", event_show_cli},
                                          {"move", event_move_cli},
                                          {"cancel", event_cancel_cli},
                                          {"attendees", event_attendees_cli},
                                          {"checkin", event_checkin_cli},
                                          {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, event_usage);
}
