/*
 * `tocsin upkeep [--json]` — the housekeeping the scheduler does every round, now: fold
 * the queue counters, create the monthly partitions ahead, and drop what [engine]
 * keep_messages allows (core/upkeep.h). Prints what it did.
 */
#include "cli/cli.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/upkeep.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <sysexits.h>

static void print_report(const struct upkeep_report *r, long keep_days, bool json)
{
    if (json) {
        json_t *o = json_pack(
            "{sI sI sI sI sI sI ss sI}", "counters_folded", (json_int_t)r->counters_folded,
            "partitions_created", (json_int_t)r->partitions_created, "months_dropped",
            (json_int_t)r->months_dropped, "months_kept_unsent", (json_int_t)r->months_kept_unsent,
            "inbound_deleted", (json_int_t)r->inbound_deleted, "reports_deleted",
            (json_int_t)r->reports_deleted, "dropped", r->dropped, "keep_days",
            (json_int_t)keep_days);
        char *text = json_dumps(o, JSON_COMPACT);
        puts(text);
        free(text);
        json_decref(o);
        return;
    }
    printf("counters folded: %" PRId64 "\n", r->counters_folded);
    printf("partitions created: %d\n", r->partitions_created);
    if (keep_days == 0) {
        printf("retention: off ([engine] keep_messages)\n");
        return;
    }
    printf("months dropped: %d%s%s\n", r->months_dropped, *r->dropped ? " " : "", r->dropped);
    if (r->months_kept_unsent)
        printf("months kept (messages still queued or sending): %d\n", r->months_kept_unsent);
    printf("inbound messages deleted: %" PRId64 "\n", r->inbound_deleted);
    printf("delivery reports deleted: %" PRId64 "\n", r->reports_deleted);
}

int cli_upkeep(int argc, char **argv)
{
    const char *text = "tocsin upkeep [--json]   (counters, partitions, [engine] keep_messages)";
    if (cli_wants_help(argc, argv, text))
        return EX_OK;
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc > 1)
        return cli_fail(EX_USAGE, "upkeep", "usage: %s", text);
    /* Detaching a partition concurrently needs a session of its own. */
    struct db *db = cli_db_session();
    long keep_days = config_days("engine", "keep_messages");
    struct upkeep_report report;
    char *error = NULL;
    int rc = EX_OK;
    if (upkeep_run(db, keep_days, &report, &error) < 0) {
        rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "upkeep", "%s", error);
        free(error);
    } else {
        print_report(&report, keep_days, json);
    }
    db_close(&db);
    return rc;
}
