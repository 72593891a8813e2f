/*
 * campaign — newsletters to a segment: `tocsin campaign create|send|pause|resume|cancel|
 * status|list|preview|tick`, and the fan-out the scheduler and organiser commands share.
 *
 * campaign_create() checks and stores a campaign (template compiled, segment compiled, the
 * teams and events it names known) and returns its id; nothing is enqueued. `at` (local
 * time 'YYYY-MM-DD HH:MM' in `timezone`) makes it 'scheduled', else 'draft'. The summary
 * says what the organiser should know before sending: who it reaches, variables that
 * render empty, what an SMS costs and whether it would leave without a STOP mention.
 * With `event`, the campaign is an invitation: the event must be scheduled and ahead, its
 * messages carry that event's RSVP context (a bare OUI +1 answers it) and see `event`.
 *
 * campaign_fanout() enqueues the campaign's recipients SET-BASED: one INSERT … SELECT per
 * chunk of person ids, each chunk its own transaction that also advances
 * campaigns.fanout_cursor, so an interrupted fan-out resumes where it stopped. Rows get
 * dedupe_key 'campaign:<id>:<person id>', an empty body (rendered at send time by
 * campaign_render()), and next_attempt_at after the person's quiet hours unless the
 * campaign is urgent. People whose consent_allows() is false are skipped. Running it again
 * enqueues nothing twice. It stops early, without error, when the campaign is paused or
 * cancelled. *enqueued_r counts rows inserted now. 0, or -1 with *error_r (caller frees).
 *
 * campaign_quiet_hours() is [engine] quiet_hours as quiet_release() reads it ("off" or
 * "HH:MM-HH:MM"); campaign_quiet_valid() checks a value.
 *
 * What organisers do to a campaign once it exists, shared by `tocsin campaign` and the
 * organisers' API; each is one transaction over the campaign and its queued rows, with a
 * line in activity made by `actor`, and reports in *change_r whether it applied
 * (CAMPAIGN_NOT_FOUND, or CAMPAIGN_REFUSED when the campaign's state does not allow it)
 * and in *rows_r how many queued messages it touched:
 *   campaign_pause()   draft/scheduled/sending -> paused; queued rows held (due 'infinity')
 *   campaign_resume()  paused -> what it was (scheduled if it never started, draft, or
 *                      sending); held rows released after quiet hours. *status_r (caller
 *                      frees) is the new status; *fanout_pending_r says the fan-out stopped
 *                      half-way and must be finished (campaign_fanout(), or the scheduler)
 *   campaign_cancel()  anything not sent or cancelled -> cancelled; queued rows withdrawn
 *   campaign_retry()   failed messages queued again (not bounces: those are permanent),
 *                      only those whose last_error contains `error_like` (any case) when it
 *                      is not NULL; a sent campaign goes back to sending until they are out
 *   campaign_release_held() the campaign becomes urgent and its messages held by quiet
 *                      hours (queued, never tried, due later) are due now: `send --now`
 *   campaign_send_now() draft or scheduled -> scheduled for now: the scheduler's next
 *                      round fans it out (the API answers at once; `tocsin campaign send`
 *                      fans out itself)
 * campaign_record() writes a line of activity about campaign `id` (kind e.g.
 * "campaign_created"), under the campaign's team, with its channel and segment.
 * campaign_status() runs the status question (counts by state, rate, ETA, until when the
 * held messages wait, the most frequent errors): one row, or none for an unknown id; the
 * caller PQclear()s it. campaign_held() counts the messages held by quiet hours (queued,
 * never tried, due later; not a pause) and, when there are some, *until_r (caller frees)
 * is when the last is due, 'YYYY-MM-DD HH:MM' in `timezone`.
 */
#ifndef TOCSIN_CAMPAIGN_H
#define TOCSIN_CAMPAIGN_H

#include "lib/db.h"
#include "core/activity.h"

#include <stdbool.h>
#include <stdint.h>

struct campaign_new {
    const char *channel; /* "email" or "sms" */
    const char *segment;
    const char *title;    /* NULL: the subject, else the first line of the text */
    const char *subject;  /* may be NULL: the template's own subject line */
    const char *template; /* the message file text */
    const char *at;       /* NULL: now (draft) */
    const char *timezone; /* of `at`; NULL: [engine] default_timezone */
    bool urgent;
    bool start_now;     /* 'scheduled' for tocsin_now(): the scheduler's next round sends it */
    int64_t created_by; /* person id of an organiser, 0 for the CLI */
    const char *source; /* "cli", "sms", "email" */
    const char *event;  /* an invitation: the slug of an upcoming event, or NULL */
};

struct campaign_summary {
    int64_t recipients;
    char *missing;      /* variables the template uses that no message provides, or NULL */
    char *sms_encoding; /* SMS only: "GSM-7" or "UCS-2" (estimated on one recipient) */
    int sms_segments;   /* per message */
    bool lacks_stop;    /* SMS only: the text would leave without saying how to opt out */
};

int campaign_create(struct db *db, const struct campaign_new *c, int64_t *id_r,
                    struct campaign_summary *summary, char **error_r);
void campaign_summary_release(struct campaign_summary *s);

/* Count who a segment reaches on a channel now (consent and pending members applied). */
int campaign_count(struct db *db, const char *channel, const char *segment, int64_t *count_r,
                   int64_t *sample_person_r, char **error_r);

typedef void (*campaign_progress_fn)(int64_t done_ids, int64_t total_ids, int64_t enqueued);

int campaign_fanout(struct db *db, int64_t id, campaign_progress_fn progress, int64_t *enqueued_r,
                    char **error_r);

enum campaign_change { CAMPAIGN_CHANGED, CAMPAIGN_NOT_FOUND, CAMPAIGN_REFUSED };

int campaign_pause(struct db *db, const struct actor *actor, int64_t id,
                   enum campaign_change *change_r, int64_t *rows_r, char **error_r);
int campaign_resume(struct db *db, const struct actor *actor, int64_t id,
                    enum campaign_change *change_r, int64_t *rows_r, char **status_r,
                    bool *fanout_pending_r, char **error_r);
int campaign_cancel(struct db *db, const struct actor *actor, int64_t id,
                    enum campaign_change *change_r, int64_t *rows_r, char **error_r);
int campaign_retry(struct db *db, const struct actor *actor, int64_t id, const char *error_like,
                   enum campaign_change *change_r, int64_t *rows_r, char **error_r);
int campaign_release_held(struct db *db, const struct actor *actor, int64_t id,
                          enum campaign_change *change_r, int64_t *rows_r, char **error_r);
int campaign_held(struct db *db, int64_t id, const char *timezone, int64_t *held_r, char **until_r,
                  char **error_r);
/* Before the fan-out: how many of the campaign's recipients quiet hours would hold if it
 * went out now, and until when ('HH:MM' in `timezone`, caller frees; NULL when none). */
int campaign_quiet_forecast(struct db *db, int64_t id, const char *timezone, int64_t *held_r,
                            char **until_r, char **error_r);
int campaign_send_now(struct db *db, const struct actor *actor, int64_t id,
                      enum campaign_change *change_r, char **error_r);
PGresult *campaign_status(struct db *db, int64_t id, char **error_r);
int campaign_record(struct db *db, const struct actor *actor, int64_t id, const char *kind,
                    char **error_r);

const char *campaign_quiet_hours(void);
bool campaign_quiet_valid(const char *value);

#endif
