#include "core/upkeep.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

/* One value of a one-row statement, as an integer. */
static int scalar(struct db *db, const char *sql, int nparams, const char *const *params,
                  int64_t *value_r, char **error_r)
{
    PGresult *res = db_exec(db, sql, nparams, params, error_r);
    if (!res)
        return -1;
    *value_r = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

/* Run `verb` (a DDL statement with one %s for a partition's name) on the partition. The
 * name comes from our own catalog query; it is quoted all the same. */
static int partition_ddl(struct db *db, const char *verb, const char *partition, char **error_r)
{
    char *quoted = PQescapeIdentifier(db_conn(db), partition, strlen(partition));
    if (!quoted) {
        *error_r = xasprintf("cannot quote %s", partition);
        return -1;
    }
    char *sql = xasprintf(verb, quoted);
    PQfreemem(quoted);
    PGresult *res = db_exec_once(db, sql, 0, NULL, error_r);
    free(sql);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

/* A detach interrupted half-way (the daemon stopped, the connection dropped) leaves the
 * partition "detach pending"; finish it before anything else. */
static int finish_pending_detaches(struct db *db, char **error_r)
{
    PGresult *res =
        db_exec(db,
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'outbound_messages'::regclass AND i.inhdetachpending",
                0, NULL, error_r);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = partition_ddl(db, "ALTER TABLE outbound_messages DETACH PARTITION %s FINALIZE",
                           PQgetvalue(res, i, 0), error_r);
    PQclear(res);
    return rc;
}

static void note_dropped(struct upkeep_report *r, const char *month)
{
    size_t used = strlen(r->dropped);
    if (used + 9 < sizeof(r->dropped))
        snprintf(r->dropped + used, sizeof(r->dropped) - used, "%s%.7s", used ? " " : "", month);
}

/* Detach and drop every expired month that holds nothing still to send. */
static int drop_expired_months(struct db *db, const char *keep, struct upkeep_report *r,
                               char **error_r)
{
    if (finish_pending_detaches(db, error_r) < 0)
        return -1;
    const char *params[] = {keep};
    PGresult *res = db_exec(db,
                            "SELECT partition, month, unsent"
                            " FROM outbound_partitions_expired($1::interval) ORDER BY month",
                            1, params, error_r);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *partition = PQgetvalue(res, i, 0), *month = PQgetvalue(res, i, 1);
        if (strtoll(PQgetvalue(res, i, 2), NULL, 10) > 0) {
            log_warn("upkeep_month_kept", "month=%s unsent=%s reason=%s", month,
                     PQgetvalue(res, i, 2), log_q("messages still queued or sending"));
            r->months_kept_unsent++;
            continue;
        }
        const char *mp[] = {month};
        rc = partition_ddl(db, "ALTER TABLE outbound_messages DETACH PARTITION %s CONCURRENTLY",
                           partition, error_r);
        if (rc == 0)
            rc = partition_ddl(db, "DROP TABLE %s", partition, error_r);
        /* The queue's own counters of that month go with it; a campaign's stay. */
        if (rc == 0)
            rc = db_run(db, "DELETE FROM outbound_counts WHERE campaign_id = 0 AND month = $1", 1,
                        mp, error_r);
        if (rc == 0) {
            r->months_dropped++;
            note_dropped(r, month);
            log_info("upkeep_month_dropped", "month=%s partition=%s", month, partition);
        }
    }
    PQclear(res);
    return rc;
}

/* Delete rows older than `keep` from a table, a batch at a time, up to the round's limit.
 * `sql` deletes one batch ($1 the interval) and returns the number deleted. */
static int delete_old(struct db *db, const char *sql, const char *keep, int64_t *deleted_r,
                      char **error_r)
{
    const char *params[] = {keep};
    int64_t n;
    do {
        if (scalar(db, sql, 1, params, &n, error_r) < 0)
            return -1;
        *deleted_r += n;
    } while (n >= 10000 && *deleted_r < UPKEEP_MAX_DELETE);
    return 0;
}

int upkeep_run(struct db *db, long keep_days, struct upkeep_report *r, char **error_r)
{
    memset(r, 0, sizeof(*r));
    int64_t created;
    if (scalar(db, "SELECT outbound_counts_fold()", 0, NULL, &r->counters_folded, error_r) < 0 ||
        scalar(db,
               "SELECT outbound_partitions_ensure(tocsin_month(now()),"
               " tocsin_month(now() + interval '3 months'))",
               0, NULL, &created, error_r) < 0)
        return -1;
    r->partitions_created = (int)created;
    if (keep_days <= 0)
        return 0;
    char keep[32];
    snprintf(keep, sizeof(keep), "%ld days", keep_days);
    if (drop_expired_months(db, keep, r, error_r) < 0 ||
        delete_old(db,
                   "WITH gone AS (DELETE FROM inbound_messages WHERE id IN ("
                   " SELECT id FROM inbound_messages WHERE received_at < now() - $1::interval"
                   " LIMIT 10000) RETURNING 1) SELECT count(*) FROM gone",
                   keep, &r->inbound_deleted, error_r) < 0 ||
        delete_old(db,
                   "WITH gone AS (DELETE FROM sms_delivery_reports WHERE id IN ("
                   " SELECT id FROM sms_delivery_reports WHERE received_at < now() - $1::interval"
                   " LIMIT 10000) RETURNING 1) SELECT count(*) FROM gone",
                   keep, &r->reports_deleted, error_r) < 0 ||
        /* Texts stored by a busy webhook are applied within seconds, retried within a day:
         * one as old as what is kept was given up, and goes with the inbound messages. */
        delete_old(db,
                   "WITH gone AS (DELETE FROM sms_backlog WHERE id IN ("
                   " SELECT id FROM sms_backlog WHERE accepted_at < now() - $1::interval"
                   " LIMIT 10000) RETURNING 1) SELECT count(*) FROM gone",
                   keep, &r->inbound_deleted, error_r) < 0)
        return -1;
    return 0;
}
