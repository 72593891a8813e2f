/*
 * `tocsin queue status [--json]` — what the outbound queue holds, per channel and status,
 * and how late the oldest due message is (a growing figure means the workers or the
 * relay cannot keep up, or no daemon is running). Below the table, when receivers refused
 * our mail for policy or reputation in the last week (bounces with status bounce_policy,
 * engine/inbound/bounce.h), one line says how often and quotes the newest refusal: the
 * relay or the domain needs attention, the addresses do not.
 */
#include "outbound/queue.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define POLICY_WINDOW "7 days"

static int print_policy_rejections(struct db *db)
{
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT count(*), to_char(max(received_at), 'YYYY-MM-DD HH24:MI'),"
                            " (array_agg(body ORDER BY id DESC))[1] FROM inbound_messages"
                            " WHERE channel = 'email' AND status = 'bounce_policy'"
                            " AND received_at > now() - interval '" POLICY_WINDOW "'",
                            0, NULL, &error);
    if (!res) {
        int rc = cli_fail(EX_SOFTWARE, "queue status", "%s", error);
        free(error);
        return rc;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        printf("\npolicy rejections in the last " POLICY_WINDOW ": %s, newest %s (%s)\n"
               "  receivers refused our relay or domain, not these addresses (none was "
               "suppressed):\n  check its IP on blocklists, and SPF, DKIM and DMARC\n",
               PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    return EX_OK;
}

static int queue_status(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc > 1)
        return cli_fail(EX_USAGE, "queue status", "unexpected argument %s", argv[1]);
    int rc = cli_query_print(
        db,
        "SELECT channel, status, count(*) AS messages,"
        "  round(extract(epoch FROM now() - min(next_attempt_at)"
        "    FILTER (WHERE status = 'queued' AND next_attempt_at <= now())))::bigint"
        "    AS oldest_due_seconds,"
        "  count(*) FILTER (WHERE status = 'sending' AND lease_until < now())"
        "    AS expired_leases"
        " FROM outbound_messages GROUP BY channel, status ORDER BY channel, status",
        0, NULL, json, "queue status");
    /* --json stays the table's rows alone, the contract scripts read. */
    if (rc != EX_OK || json)
        return rc;
    return print_policy_rejections(db);
}

int cli_queue(int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"status", queue_status},
        {NULL, NULL},
    };
    return cli_dispatch(argc, argv, subs, "tocsin queue status [--json]");
}
