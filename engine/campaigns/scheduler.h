/*
 * scheduler — what happens because time passes: scheduled campaigns, event reminders,
 * digests; and the notices sent when an event moves or is cancelled.
 *
 * scheduler_start()/scheduler_stop() are the daemon duty: a thread that every
 * [engine] scheduler_interval seconds runs scheduler_tick(), but only in the one process
 * that holds the scheduler's PostgreSQL advisory lock (pg_try_advisory_lock on its own
 * connection): run more daemons on one database and exactly one schedules; when it dies,
 * its connection and lock go, and another takes over at its next tick.
 *
 * scheduler_tick() does one round (also `tocsin campaign tick`): fan out campaigns whose
 * scheduled time came (or whose fan-out was interrupted), mark campaigns 'sent' when their
 * queue drained, enqueue due reminders and digests. Everything it enqueues has a dedupe_key,
 * so two ticks at once, or a tick repeated after a crash, send nothing twice:
 *     reminder:<event id>:<person id>:<offset seconds>
 *     digest:<person id>:<YYYY-MM-DD>
 * Time is tocsin_now() (SQL), which tests may move (docs/campaigns.md). Returns 0 and a
 * report of what it did, or -1 with *error_r (caller frees).
 *
 * scheduler_event_changed() enqueues, in the caller's transaction, a notice to every `yes`
 * RSVP of the event: kind "moved" (dedupe event_moved:<event>:<person>:<new start epoch>)
 * or "cancelled" (event_cancelled:<event>:<person>). `note` (NULL or "": none) is the
 * organiser's word to them, the templates' {{note}}. *notified_r counts new rows.
 *
 * scheduler_reminder_offsets() parses "24h,2h" style lists (d, h, m units) into seconds,
 * largest first; -1 on a malformed list.
 */
#ifndef TOCSIN_SCHEDULER_H
#define TOCSIN_SCHEDULER_H

#include "lib/db.h"

#include <stdint.h>

struct scheduler_report {
    int campaigns; /* fan-outs run */
    int finished;  /* campaigns marked sent */
    int reminders; /* reminder messages enqueued */
    int digests;   /* digests enqueued */
};

int scheduler_start(char **error_r);
void scheduler_stop(void);

int scheduler_tick(struct db *db, struct scheduler_report *report, char **error_r);

int scheduler_event_changed(struct db *db, int64_t event_id, const char *kind, const char *note,
                            int *notified_r, char **error_r);

#define SCHEDULER_MAX_OFFSETS 8
int scheduler_reminder_offsets(const char *text, long offsets_r[SCHEDULER_MAX_OFFSETS]);

#endif
