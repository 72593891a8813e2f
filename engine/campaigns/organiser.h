/*
 * organiser — newsletters sent by SMS or email: `MSG <team> <text>` (or a mail with
 * `Subject: MSG <team>` and the text as its body), then `CONFIRM <code>`.
 *
 * organiser_draft() checks that the sender is an active organiser of the team, counts the
 * recipients a team newsletter on `channel` would reach now, and stores the text under a
 * fresh 6-digit code valid 15 minutes (organiser_drafts), drawn from the kernel's CSPRNG
 * without modulo bias; the sender's older open drafts are void, so a code belongs to one
 * draft. organiser_confirm() turns the sender's open draft into a campaign (segment
 * team:SLUG, the channel the MSG came in on) scheduled for now when the code is its code:
 * the scheduler fans it out at its next round. A wrong code counts against the draft and
 * the sender: the fifth voids the draft (ORGANISER_VOIDED), and a sender with five wrong
 * codes within 15 minutes has every CONFIRM refused for an hour (ORGANISER_LOCKED, the code
 * not even compared); `locked` says whether this answer leaves the sender locked. Both run in
 * the caller's (inbound) transaction and write a line in activity at every step
 * (organiser_draft, organiser_refused, organiser_confirmed, organiser_message — the last is
 * what digests show).
 *
 * Return 0 with *result_r (and the fields it fills), or -1 with *error_r (caller frees).
 */
#ifndef TOCSIN_ORGANISER_H
#define TOCSIN_ORGANISER_H

#include "lib/db.h"

#include <stdbool.h>
#include <stdint.h>

enum organiser_result {
    ORGANISER_OK,            /* draft stored (code, recipients) or campaign created */
    ORGANISER_NOT_ORGANISER, /* the sender is not an organiser of that team */
    ORGANISER_NO_TEAM,       /* no such team */
    ORGANISER_EMPTY,         /* MSG without text */
    ORGANISER_BAD_TEXT,      /* the text does not compile as a template (e.g. "{{") */
    ORGANISER_UNKNOWN_CODE,  /* CONFIRM with a code this sender never got, or used */
    ORGANISER_EXPIRED,       /* the code is older than 15 minutes */
    ORGANISER_VOIDED,        /* a fifth wrong code: the draft is void, nothing will be sent */
    ORGANISER_LOCKED,        /* the sender is refused for an hour after too many wrong codes */
};

struct organiser_outcome {
    enum organiser_result result;
    char code[8];
    int64_t recipients;
    int64_t campaign_id;
    bool lacks_stop;  /* an SMS draft that would leave without saying how to opt out */
    int64_t held;     /* CONFIRM: recipients quiet hours hold until held_until */
    char *held_until; /* 'HH:MM' in [engine] default_timezone; caller frees */
    char *team_name;  /* caller frees */
    bool locked;      /* the sender's CONFIRMs are now refused for an hour */
};

int organiser_draft(struct db *db, int64_t person_id, const char *team_slug, const char *channel,
                    const char *subject, const char *text, struct organiser_outcome *out,
                    char **error_r);
int organiser_confirm(struct db *db, int64_t person_id, const char *code,
                      struct organiser_outcome *out, char **error_r);

#endif
