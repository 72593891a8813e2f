/*
 * event — what organisers do to events: create, edit, move, cancel. Shared by
 * `tocsin event …` and the organisers' API, so both check and record the same way.
 *
 * Each runs in one transaction of its own, with a line in activity made by `actor`
 * (event_created, event_updated, event_moved, event_cancelled). Moving or cancelling also
 * enqueues, in that transaction, a notice to everyone who said yes
 * (scheduler_event_changed(); *notified_r counts them), with the organiser's `note` when
 * one is given (NULL or "": none; at most EVENT_NOTE_MAX bytes).
 *
 * Times are local: 'YYYY-MM-DD HH:MM' read in the event's time zone (an IANA name,
 * [engine] default_timezone when none is given). A start that is not that, or not a date
 * (2031-02-30), is refused saying the format with an example; a start in the past is
 * refused unless `past` (an event recorded after the fact): nobody could answer it, and
 * its reminders would never go.
 *
 * Return EVENT_OK; a refusal (with *error_r, a sentence for people, caller frees); or
 * EVENT_FAILED (a database error in *error_r: db_transient(db) says whether to retry).
 */
#ifndef TOCSIN_EVENT_H
#define TOCSIN_EVENT_H

#include "lib/db.h"
#include "core/activity.h"

#include <stdbool.h>
#include <stdint.h>

enum event_outcome {
    EVENT_OK,
    EVENT_FAILED,    /* database error */
    EVENT_INVALID,   /* a value is malformed: slug, time, time zone, capacity */
    EVENT_NOT_FOUND, /* no such team, or no scheduled event of that slug */
    EVENT_EXISTS,    /* the slug is taken */
    EVENT_CANCELLED, /* moving or cancelling an event that is already cancelled */
};

struct event_new {
    const char *team; /* slug */
    const char *slug;
    const char *title;
    const char *starts;   /* 'YYYY-MM-DD HH:MM' local */
    const char *timezone; /* NULL: [engine] default_timezone */
    const char *capacity; /* whole number as text, or NULL */
    const char *location;
    bool past; /* a start in the past is what is meant */
};

/* Fields left NULL keep their value; an empty capacity ("") removes the limit. */
struct event_edit {
    const char *title;
    const char *location;
    const char *capacity;
};

enum event_outcome event_create(struct db *db, const struct actor *actor,
                                const struct event_new *ev, int64_t *id_r, char **error_r);
enum event_outcome event_update(struct db *db, const struct actor *actor, const char *slug,
                                const struct event_edit *edit, char **error_r);
#define EVENT_NOTE_MAX 500

enum event_outcome event_move(struct db *db, const struct actor *actor, const char *slug,
                              const char *starts, const char *timezone, const char *note,
                              int *notified_r, char **error_r);
/* event_move() that may also change the place (`location`, NULL: unchanged) and accept a
 * start in the past (`past`); the notice tells the new place too. */
enum event_outcome event_move_to(struct db *db, const struct actor *actor, const char *slug,
                                 const char *starts, const char *timezone, const char *location,
                                 bool past, const char *note, int *notified_r, char **error_r);
enum event_outcome event_cancel(struct db *db, const struct actor *actor, const char *slug,
                                const char *note, int *notified_r, char **error_r);

#endif
