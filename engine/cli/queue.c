/*
 * `tocsin queue status [--json]` — what the outbound queue holds, per channel and status,
 * and how late the oldest due message is (a growing figure means the workers or the
 * relay cannot keep up, or no daemon is running).
 */
#include "outbound/queue.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static int queue_status(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc > 1)
        return cli_fail(EX_USAGE, "queue status", "unexpected argument %s", argv[1]);
    return cli_query_print(
        db,
        "SELECT channel, status, count(*) AS messages,"
        "  round(extract(epoch FROM now() - min(next_attempt_at)"
        "    FILTER (WHERE status = 'queued' AND next_attempt_at <= now())))::bigint"
        "    AS oldest_due_seconds,"
        "  count(*) FILTER (WHERE status = 'sending' AND lease_until < now())"
        "    AS expired_leases"
        " FROM outbound_messages GROUP BY channel, status ORDER BY channel, status",
        0, NULL, json, "queue status");
}

int cli_queue(int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"status", queue_status},
        {NULL, NULL},
    };
    return cli_dispatch(argc, argv, subs, "tocsin queue status [--json]");
}
