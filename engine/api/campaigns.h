/*
 * campaigns — newsletters as organisers handle them through the API, over
 * campaigns/campaign.h (the same functions `tocsin campaign` calls).
 *
 * campaigns_list(): the campaigns the caller reaches (admins: all; organisers: those of
 * their teams and those they created), in id order, one page.
 * campaign_create_json(): check and store a draft (or a scheduled campaign with `at`),
 * created by the caller, source "api"; the template is a message file, or is assembled
 * from `subject`, `text`, `html` and `sms` parts. The answer carries the recipient count,
 * unknown variables and, for SMS, encoding and segments. With `dry_run` nothing is stored:
 * the same checks and counts, for a composer's live feedback.
 * campaign_show_json(): status and counts (campaign_status()), the template, and the most
 * frequent failure reasons.
 * campaign_preview_json(): the campaign rendered for one person (a person the caller
 * reaches; by default the caller).
 * campaign_test_json(): the campaign rendered for the caller and queued to the caller's own
 * address or phone on the campaign's channel, subject prefixed "[TEST]"; a second test
 * within the same minute is the same message.
 * campaign_act_json(): send (scheduled now: the scheduler fans it out at its next round),
 * pause, resume, cancel or retry; 404 for an unknown campaign, 409 when its state does
 * not allow the action.
 */
#ifndef TOCSIN_API_CAMPAIGNS_H
#define TOCSIN_API_CAMPAIGNS_H

#include "core/account.h"
#include "api/model.h"

#include <stdbool.h>

struct campaign_form {
    const char *channel;
    const char *segment;
    const char *title; /* NULL or empty: the subject, else the text's first line */
    const char *event; /* an invitation: an upcoming event's slug (a bare OUI answers it) */
    const char *subject;
    const char *template; /* a whole message file, or NULL to assemble the parts */
    const char *text;
    const char *html;
    const char *sms;
    const char *at;
    const char *timezone;
    bool urgent;
    bool dry_run;
};

/* The message file of a form's parts (text, html, sms; the text part defaults to the sms
 * one), as campaign_create_json() stores it when no template is given. Caller frees. */
char *campaign_form_assemble(const struct campaign_form *form);

json_t *campaigns_list(struct db *db, const struct caller *who, const struct page *page,
                       struct api_error *e);
json_t *campaign_create_json(struct db *db, const struct caller *who,
                             const struct campaign_form *form, struct api_error *e);
json_t *campaign_show_json(struct db *db, const struct caller *who, int64_t id,
                           struct api_error *e);
json_t *campaign_preview_json(struct db *db, const struct caller *who, int64_t id,
                              int64_t person_id, struct api_error *e);
json_t *campaign_test_json(struct db *db, const struct caller *who, int64_t id,
                           struct api_error *e);
/* Options of the actions, as the CLI's: `send` with `now` goes through quiet hours (the
 * campaign becomes urgent, what they hold is due now; a campaign already sending only has
 * its held messages released); `retry` with `error_like` retries only the failures whose
 * error contains that text. NULL: none. */
struct campaign_act_options {
    bool now;
    const char *error_like;
};
json_t *campaign_act_json(struct db *db, const struct caller *who, int64_t id, const char *action,
                          const struct campaign_act_options *options, struct api_error *e);

struct api_call;
void route_campaigns_list(struct api_call *c);
void route_campaign_create(struct api_call *c);
void route_campaign_show(struct api_call *c);
void route_campaign_preview(struct api_call *c);
void route_campaign_test(struct api_call *c);
void route_campaign_send(struct api_call *c);
void route_campaign_pause(struct api_call *c);
void route_campaign_resume(struct api_call *c);
void route_campaign_cancel(struct api_call *c);
void route_campaign_retry(struct api_call *c);

#endif
