/*
 * `tocsin queue status [--json]` — what the outbound queue holds, per channel and status,
 * how late the oldest due message is (a growing figure means the workers or the relay
 * cannot keep up, or no daemon is running), and how many rows are still 'sending' for a
 * daemon that is gone (the next claim takes them). Below the table, when receivers refused
 * our mail for policy or reputation in the last week (bounces with status bounce_policy,
 * engine/inbound/bounce.h), one line says how often and quotes the newest refusal: the
 * relay or the domain needs attention, the addresses do not. Inbound texts a busy daemon
 * stored and has not applied yet (inbound/sms_backlog.h) get a line too, when there are any.
 */
#include "outbound/queue.h"
#include "inbound/sms_backlog.h"
#include "cli/cli.h"

#include <inttypes.h>
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

/* Inbound texts a busy daemon answered and has not applied yet (docs/sms.md, Bursts): a
 * line only when there are some. */
static int print_sms_backlog(struct db *db)
{
    struct sms_backlog_state st;
    char *error = NULL;
    if (sms_backlog_state(db, &st, &error) < 0) {
        int rc = cli_fail(EX_SOFTWARE, "queue status", "%s", error);
        free(error);
        return rc;
    }
    if (st.waiting + st.failing > 0)
        printf("\ninbound texts stored, not applied yet: %" PRId64 " (the oldest answered %" PRId64
               " s ago), %" PRId64 " of them failing and retried\n",
               st.waiting + st.failing, st.oldest_seconds, st.failing);
    if (st.given_up > 0)
        printf("\ninbound texts given up after %d attempts: %" PRId64
               " (SELECT id, sender, last_error FROM sms_backlog WHERE attempts >= %d)\n",
               SMS_BACKLOG_GIVE_UP, st.given_up, SMS_BACKLOG_GIVE_UP);
    return EX_OK;
}

static int queue_status(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc > 1)
        return cli_fail(EX_USAGE, "queue status", "unexpected argument %s", argv[1]);
    /* The counts come from the maintained counters (outbound_queue_totals: the months
     * still stored), not from grouping the table; the oldest due message and the orphaned
     * claims are read from the partial indexes of queued and sending rows, which hold only
     * the rows still in flight. */
    int rc = cli_query_print(
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
    /* --json stays the table's rows alone, the contract scripts read. */
    if (rc != EX_OK || json)
        return rc;
    rc = print_sms_backlog(db);
    return rc == EX_OK ? print_policy_rejections(db) : rc;
}

int cli_queue(int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"status", queue_status},
        {NULL, NULL},
    };
    return cli_dispatch(argc, argv, subs, "tocsin queue status [--json]");
}
