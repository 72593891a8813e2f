/*
 * upkeep — the database's housekeeping, run by the scheduler every round (one daemon at
 * a time: it holds the scheduler's lock) and by `tocsin upkeep`.
 *
 * upkeep_run() folds the counters of outbound_messages (outbound_counts_fold()), creates
 * the monthly partitions of outbound_messages up to three months ahead, and with
 * `keep_days` > 0 ([engine] keep_messages) removes what is older:
 *   - each month of outbound_messages entirely older than that is detached from the table
 *     (DETACH PARTITION … CONCURRENTLY: the queue never waits on it) and dropped, unless
 *     it still holds messages queued or sending (reported, kept);
 *   - inbound_messages and sms_delivery_reports older than that are deleted, 10,000 rows
 *     a statement, at most UPKEEP_MAX_DELETE rows a round (the next round goes on).
 * What a campaign sent stays in its counters (campaign status) and the consent ledger is
 * never touched.
 *
 * `db` must be a direct connection (database_open_session()): DETACH … CONCURRENTLY runs
 * several transactions and cannot run inside one. Returns 0 with *report filled, or -1
 * with *error_r set (caller frees); what was done before the error stays done.
 */
#ifndef TOCSIN_UPKEEP_H
#define TOCSIN_UPKEEP_H

#include "lib/db.h"

#include <stdint.h>

#define UPKEEP_MAX_DELETE 500000

struct upkeep_report {
    int64_t counters_folded;
    int partitions_created;
    int months_dropped;
    int months_kept_unsent; /* expired months still holding queued or sending rows */
    int64_t inbound_deleted;
    int64_t reports_deleted;
    char dropped[128]; /* the months dropped, "2025-10 2025-11", cut if long */
};

int upkeep_run(struct db *db, long keep_days, struct upkeep_report *report, char **error_r);

#endif
