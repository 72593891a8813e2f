/*
 * events — the organisers' questions and actions about events.
 *
 * events_list(): events the caller reaches (admins: all; organisers: their teams';
 * hosts: theirs), upcoming unless `all`, optionally of one team, by start time; each with
 * its local start, capacity and answers (yes, maybe, no, waitlist, attending = yes plus
 * guests, checked_in).
 * event_show(): one event with the same counts.
 * event_attendees(): the door list: everyone who answered — yes, maybe, waitlist, then no
 * — with guests, contacts and check-in time, and the event's counts (not paginated: an
 * event's answers fit in one response).
 * event_attendees_csv(): the same list as CSV (status,name,guests,email,phone,
 * checked_in_at,person_id).
 * event_checkin(): mark someone present — a known contact (as typed), or a walk-in by
 * name (with a phone or an email when they give one: an existing contact is reused, never
 * duplicated). A person with no answer gets a `yes`. Checking in twice keeps the first
 * time (`already` true). Records activity.
 * event_create_json(), event_update_json(), event_move_json(), event_cancel_json():
 * campaigns/event.h with answers in JSON and refusals as 404/409/422.
 */
#ifndef TOCSIN_API_EVENTS_H
#define TOCSIN_API_EVENTS_H

#include "lib/buf.h"
#include "core/account.h"
#include "campaigns/event.h"
#include "api/model.h"

#include <stdbool.h>

struct checkin {
    const char *contact; /* a known person's email or phone */
    const char *name;    /* a walk-in */
    const char *phone;
    const char *email;
};

json_t *events_list(struct db *db, const struct caller *who, const char *team, bool all,
                    struct api_error *e);
json_t *event_show(struct db *db, const struct caller *who, const char *slug, struct api_error *e);
json_t *event_attendees(struct db *db, const struct caller *who, const char *slug,
                        struct api_error *e);
int event_attendees_csv(struct db *db, const struct caller *who, const char *slug, struct buf *out,
                        struct api_error *e);
json_t *event_checkin(struct db *db, const struct caller *who, const char *slug,
                      const struct checkin *in, struct api_error *e);

json_t *event_create_json(struct db *db, const struct caller *who, const struct event_new *ev,
                          struct api_error *e);
json_t *event_update_json(struct db *db, const struct caller *who, const char *slug,
                          const struct event_edit *edit, struct api_error *e);
/* A move, as `tocsin event move`: the new start (local, in `timezone`, NULL: the event's
 * own), a new place (NULL or empty: the same), `past` when a start in the past is meant,
 * and a note for those who said yes. */
struct event_move_form {
    const char *starts, *timezone, *location, *note;
    bool past;
};
json_t *event_move_json(struct db *db, const struct caller *who, const char *slug,
                        const struct event_move_form *move, struct api_error *e);
json_t *event_cancel_json(struct db *db, const struct caller *who, const char *slug,
                          const char *note, struct api_error *e);

/* Their /api/v1 routes (rows in routes.c). */
struct api_call;
void route_events_list(struct api_call *c);
void route_event_show(struct api_call *c);
void route_event_attendees(struct api_call *c);
void route_event_checkin(struct api_call *c);
void route_event_create(struct api_call *c);
void route_event_update(struct api_call *c);
void route_event_move(struct api_call *c);
void route_event_cancel(struct api_call *c);

#endif
