/*
 * `tocsin queue status [--json]` — what the outbound queue holds, per channel and status,
 * how late the oldest due message is (a growing figure means the workers or the relay
 * cannot keep up, or no daemon is running), and how many rows are still 'sending' for a
 * daemon that is gone (the next claim takes them).
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
    /* The counts come from the maintained counters (outbound_queue_totals: the months
     * still stored), not from grouping the table; the oldest due message and the orphaned claims
     * are read from the partial indexes of queued and sending rows, which hold only the rows still
     * in flight. */
    return cli_query_print(
        db,
        "SELECT t.channel, t.status, t.messages,"
        "  CASE WHEN t.status = 'queued' THEN"
        "   (SELECT round(extract(epoch FROM now() - min(o.next_attempt_at)))::bigint"
        "    FROM outbound_messages o WHERE o.status = 'queued' AND o.channel = t.channel"
        "     AND o.next_attempt_at <= now()) END AS oldest_due_seconds,"
        "  CASE WHEN t.status = 'sending' THEN"
        "   (SELECT count(*) FROM outbound_messages o WHERE o.status = 'sending'"
        "     AND o.channel = t.channel AND CASE WHEN o.claim_key IS NULL"
        "      THEN o.lease_until < now()"
        "      ELSE o.claim_key NOT IN (SELECT tocsin_live_claimants()) END)"
        "   ELSE 0 END AS orphaned"
        " FROM outbound_queue_totals t"
        " ORDER BY t.channel, t.status",
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
