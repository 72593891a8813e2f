/*
 * event_change — `tocsin event cancel SLUG` and `tocsin event move SLUG --starts …`: the
 * change and the notice to everyone who said yes, in one transaction, and a line in
 * activity. The notices go through scheduler_event_changed() (dedupe keys there).
 */
#include "lib/util.h"
#include "campaigns/scheduler.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static int finish(struct db *db, const char *what, const char *slug, int64_t event_id,
                  const char *kind, char **error_r)
{
    int notified = 0;
    if (scheduler_event_changed(db, event_id, kind, &notified, error_r) < 0)
        return -1;
    char id[DB_PARAM_SIZE], count[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(event_id, id),
                            strcmp(kind, "moved") == 0 ? "event_moved" : "event_cancelled",
                            db_param_int(notified, count)};
    if (db_run(db,
               "INSERT INTO activity (team_id, kind, payload)"
               " SELECT team_id, $2, jsonb_build_object('event_id', id, 'slug', slug,"
               "  'starts_at', starts_at, 'notified', $3::int) FROM events WHERE id = $1",
               3, params, error_r) < 0)
        return -1;
    if (db_commit(db, error_r) < 0)
        return -1;
    printf("event %s %s: %d %s notified\n", slug, what, notified,
           notified == 1 ? "person" : "people");
    return 0;
}

static int fail(struct db *db, const char *what, char *error)
{
    db_rollback(db);
    int rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, what, "%s", error);
    free(error);
    return rc;
}

int event_cancel_cli(struct db *db, int argc, char **argv)
{
    if (argc != 2)
        return cli_fail(EX_USAGE, "event cancel", "usage: tocsin event cancel SLUG");
    char *error = NULL;
    if (db_begin(db, &error) < 0)
        return fail(db, "event cancel", error);
    const char *params[] = {argv[1]};
    PGresult *res = db_exec(db,
                            "UPDATE events SET status = 'cancelled' WHERE slug = lower($1)"
                            " AND status = 'scheduled' RETURNING id",
                            1, params, &error);
    if (!res)
        return fail(db, "event cancel", error);
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        return cli_fail(EX_DATAERR, "event cancel", "no scheduled event %s", argv[1]);
    }
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (finish(db, "cancelled", argv[1], id, "cancelled", &error) < 0)
        return fail(db, "event cancel", error);
    return EX_OK;
}

int event_move_cli(struct db *db, int argc, char **argv)
{
    static const struct option opts[] = {
        {"starts", required_argument, NULL, 'S'}, {"timezone", required_argument, NULL, 'z'}, {0}};
    const char *starts = NULL, *tz = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'S')
            starts = optarg;
        else if (c == 'z')
            tz = optarg;
        else
            return cli_fail(EX_USAGE, "event move",
                            "usage: tocsin event move SLUG --starts "
                            "'YYYY-MM-DD HH:MM' [--timezone TZ]");
    }
    if (optind + 1 != argc || !starts)
        return cli_fail(EX_USAGE, "event move", "needs SLUG and --starts 'YYYY-MM-DD HH:MM'");
    const char *slug = argv[optind];
    char *error = NULL;
    if (tz) {
        const char *tzp[] = {tz};
        PGresult *res =
            db_exec(db, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, tzp, &error);
        if (!res)
            return fail(db, "event move", error);
        bool ok = PQntuples(res) > 0;
        PQclear(res);
        if (!ok)
            return cli_fail(EX_DATAERR, "event move", "unknown time zone %s", tz);
    }
    if (db_begin(db, &error) < 0)
        return fail(db, "event move", error);
    const char *params[] = {slug, starts, tz};
    PGresult *res =
        db_exec(db,
                "UPDATE events SET timezone = coalesce($3, timezone),"
                " starts_at = to_timestamp($2, 'YYYY-MM-DD HH24:MI')::timestamp"
                "  AT TIME ZONE coalesce($3, timezone)"
                " WHERE slug = lower($1) AND status = 'scheduled'"
                "  AND $2 ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2}$' RETURNING id",
                3, params, &error);
    if (!res)
        return fail(db, "event move", error);
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        return cli_fail(EX_DATAERR, "event move",
                        "no scheduled event %s, or --starts %s is not 'YYYY-MM-DD HH:MM'", slug,
                        starts);
    }
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (finish(db, "moved", slug, id, "moved", &error) < 0)
        return fail(db, "event move", error);
    return EX_OK;
}
