/*
 * console_model — the questions and actions the console asks that the API had no function
 * for, in the manner of api/model.h: a model function takes the database, the caller and
 * its arguments and returns new JSON (caller decrefs), or NULL with *e. They are scoped
 * by the caller's roles like the API's.
 *
 * console_queue_health(): the outbound queue in words' worth of numbers — due now and how
 * late the oldest is, held until later (quiet hours: the earliest release time, in the
 * session's time zone), held by paused campaigns, being sent, and retrying with their
 * most frequent errors. Admins see the whole queue; organisers the messages to members of
 * their teams (an error text can name an address).
 * console_tags(): the tags carried by people in the caller's reach, most used first.
 * console_compose_check(): a campaign as it is being composed (nothing stored): the
 * segment's recipients on the channel, variables no message provides, the SMS text as it
 * will leave with its encoding, characters outside GSM-7, segments and total cost in
 * segments, and warnings (keys of the console's strings, with a detail).
 * console_campaigns_recent(): the campaigns the caller reaches (as campaigns_list():
 * their teams' and their own), newest first, before the id `before` (0: from the newest),
 * only those in flight (scheduled, sending, paused) when `in_flight`; those sending or
 * paused carry their progress counts (enqueued, sent, failed, left).
 * console_segment_people(): up to `limit` people of a campaign's segment in the caller's
 * reach, to preview the campaign as one of them.
 * console_campaign_results(): what followed a campaign in the 7 days after it started:
 * bounces, opt-outs of the contacts it reached, replies from its recipients (and how many
 * need a human).
 * console_campaign_schedule(): a draft or scheduled campaign scheduled for `at` (local
 * 'YYYY-MM-DD HH:MM' in `timezone`, default [engine] default_timezone); 409 otherwise.
 * Records activity.
 *
 * console_inbox_thread(): one message of the inbox (in the view `inbox`, so only what
 * needs a human; its reach was decided by the dispatcher) and the conversation with its
 * sender — every message both ways with that address on that channel, the last
 * INBOX_THREAD of them, oldest first.
 *
 * Uploads (the import's first step): console_upload_store() keeps a CSV file for its
 * uploader (table console_uploads, migration 0070; uploads older than a day are
 * dropped), console_upload_get() reads one back — the uploader's own only, 404 otherwise
 * — and console_upload_drop() deletes it once imported.
 */
#ifndef TOCSIN_API_CONSOLE_MODEL_H
#define TOCSIN_API_CONSOLE_MODEL_H

#include "core/account.h"
#include "api/campaigns.h"
#include "api/model.h"

json_t *console_queue_health(struct db *db, const struct caller *who, struct api_error *e);
json_t *console_tags(struct db *db, const struct caller *who, struct api_error *e);
json_t *console_compose_check(struct db *db, const struct caller *who,
                              const struct campaign_form *form, struct api_error *e);
json_t *console_campaigns_recent(struct db *db, const struct caller *who, int64_t before,
                                 int limit, bool in_flight, struct api_error *e);
json_t *console_segment_people(struct db *db, const struct caller *who, int64_t campaign_id,
                               int limit, struct api_error *e);
json_t *console_campaign_results(struct db *db, const struct caller *who, int64_t campaign_id,
                                 struct api_error *e);
json_t *console_campaign_schedule(struct db *db, const struct caller *who, int64_t campaign_id,
                                  const char *at, const char *timezone, struct api_error *e);

#define INBOX_THREAD 30
json_t *console_inbox_thread(struct db *db, const struct caller *who, int64_t id,
                             struct api_error *e);

json_t *console_upload_store(struct db *db, const struct caller *who, const char *filename,
                             const char *team, const char *body, struct api_error *e);
json_t *console_upload_get(struct db *db, const struct caller *who, const char *id,
                           struct api_error *e);
int console_upload_drop(struct db *db, const struct caller *who, int64_t id,
                        struct api_error *e);

#endif
