/*
 * budget — whether a reply may be sent. Replies cost money (an SMS) or reputation (mail),
 * and whoever can make tocsin answer can make it pay: 300 texts from 300 foreign numbers
 * were 300 paid replies (SMS pumping); an auto-responder got an answer to each of its
 * messages. The command itself runs regardless; only the answer is withheld.
 *
 * reply_budget() decides in the inbound transaction, before a reply is queued (the sender's
 * advisory lock makes the counts exact), with one statement; reply_budget_many() decides
 * the replies of many senders with one statement (a group of inbound messages applied in
 * one transaction: each sender at most once, its earlier replies already written). First
 * consent: *allowed_r is false when the recipient opted out and the reply is not of a kind
 * that reaches them anyway (the STOP confirmation and HELP, which carriers require, and
 * the confirmation of a request to receive messages again: the queue lets the same kinds
 * through); then no reply is meant at all. Otherwise *withheld_r is NULL (send it) or a
 * static reason, the first that applies (reply_budget_many(): the fields of each verdict):
 *   "country"          an SMS from a number outside [sms] reply_countries (default:
 *                      [engine] default_country and its overseas territories);
 *   "help_after_stop"  HELP from an opted-out sender, already answered in the last 24 hours;
 *   "request_after_stop"  a confirmation to receive messages again (kind consent_request)
 *                      already sent to this opted-out address in the last 24 hours;
 *   "repeat"           the same text from the same sender got this very answer since that
 *                      sender last wrote anything else, within 24 hours (an auto-responder
 *                      repeating itself; OUI, NON, then OUI again is answered each time);
 *   "hourly_cap", "daily_cap"  [engine] replies_per_hour / replies_per_day reached for this
 *                      number or address, HELP included. The STOP confirmation is exempt:
 *                      carriers require it, and it is sent only when a STOP changed something.
 * A withheld reply is logged (reply_withheld) and counted
 * (tocsin_replies_withheld_total{channel,reason}).
 * reply_budget_sent() is told of each SMS reply queued (reply_budget_sent_many(): of
 * several, in the order they were queued): the first to a number never answered before
 * counts in tocsin_sms_replies_new_numbers_total, and while more than [sms]
 * new_number_replies_per_hour of those were queued in the last hour (all daemons together),
 * each further one logs the warning sms_pumping_suspected.
 * Each returns 0, or -1 with *error_r (caller frees).
 */
#ifndef TOCSIN_BUDGET_H
#define TOCSIN_BUDGET_H

#include "lib/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reply_ask {
    const char *channel;   /* "sms" or "email" */
    const char *recipient; /* the sender of the inbound message */
    const char *kind;      /* the reply's queue kind: reply, help, unknown, stop_confirmation … */
    const char *text;      /* the inbound text the reply answers */
    const char *reply;     /* the reply as it would be sent */
    int64_t inbound_id;
};

struct reply_verdict {
    bool allowed;         /* false: the recipient opted out, no reply is meant */
    const char *withheld; /* NULL: send it; otherwise the reason, a static string */
};

int reply_budget(struct db *db, const struct reply_ask *ask, bool *allowed_r,
                 const char **withheld_r, char **error_r);
int reply_budget_many(struct db *db, const struct reply_ask *asks, size_t n,
                      struct reply_verdict *verdicts, char **error_r);
int reply_budget_sent(struct db *db, const char *number, char **error_r);
int reply_budget_sent_many(struct db *db, const char *const *numbers, size_t n, char **error_r);

#endif
