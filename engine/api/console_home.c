/*
 * Home: what an organiser looks at first — their teams, the next events with answers
 * against capacity, campaigns in flight with their progress (polled), the open inbox and
 * the queue's health in words.
 */
#include "api/console_pages.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "api/console_model.h"
#include "api/events.h"
#include "api/inbox.h"
#include "api/teams.h"

#include <stdio.h>
#include <string.h>

#define HOME_EVENTS 6
#define HOME_INBOX 3

/* Attending against capacity: "12 / 30" with a percentage for the bar. */
void console_event_fill(json_t *ev)
{
    json_int_t attending = json_integer_value(json_object_get(ev, "attending"));
    json_t *cap = json_object_get(ev, "capacity");
    if (json_is_integer(cap) && json_integer_value(cap) > 0) {
        json_int_t capacity = json_integer_value(cap);
        json_int_t pct = attending * 100 / capacity;
        json_object_set_new(ev, "fill_pct", json_integer(pct > 100 ? 100 : pct));
        json_object_set_new(ev, "full", json_boolean(attending >= capacity));
        json_object_set_new(ev, "has_capacity", json_true());
    }
    console_add_label(ev, "status", "event_status_", "status_label");
    static const char *const counts[] = {"waitlist", "maybe", "checked_in", "attending", NULL};
    console_flag_nonzero(ev, counts);
    static const char *const when[] = {"starts", NULL};
    console_add_when(ev, when);
}

/* A sentence of the queue's state; `vars` is stolen. */
static void say(json_t *lines, const char *level, const char *key, json_t *vars)
{
    char *text = console_say(key, vars);
    json_array_append_new(lines, json_pack("{s:s,s:s}", "level", level, "text", text));
    free(text);
}

/* The queue's numbers as sentences in the organiser's language. */
static json_t *queue_words(json_t *q)
{
    json_t *lines = json_array();
    json_int_t due = json_integer_value(json_object_get(q, "due"));
    json_int_t held = json_integer_value(json_object_get(q, "held"));
    json_int_t paused = json_integer_value(json_object_get(q, "paused"));
    json_int_t sending = json_integer_value(json_object_get(q, "sending"));
    if (json_is_true(json_object_get(q, "all_clear"))) {
        say(lines, "ok", "queue_all_clear", json_object());
        return lines;
    }
    if (due + sending > 0) {
        bool late = json_is_true(json_object_get(q, "late"));
        say(lines, late ? "bad" : "ok", late ? "queue_due_late" : "queue_due",
            json_pack("{s:I,s:O}", "count", (json_int_t)(due + sending), "minutes",
                      json_object_get(q, "late_minutes")));
    }
    if (held > 0)
        say(lines, "ok", "queue_held",
            json_pack("{s:I,s:O}", "count", held, "until", json_object_get(q, "held_until")));
    if (paused > 0)
        say(lines, "warn", "queue_paused", json_pack("{s:I}", "count", paused));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(q, "failing"), i, f)
        say(lines, "bad", "queue_failing",
            json_pack("{s:O,s:O}", "count", json_object_get(f, "count"), "reason",
                      json_object_get(f, "reason")));
    return lines;
}

/* The campaign's name as organisers read it, in `display_title`: its title (else its
 * subject, else its number), each {{variable}} shown as ‹what it stands for› rather than
 * as template syntax ("Samedi au marché, ‹prénom› ?"). */
static void add_display_title(json_t *camp)
{
    const char *title = json_string_value(json_object_get(camp, "title"));
    if (!title || !*title)
        title = json_string_value(json_object_get(camp, "subject"));
    struct buf out = BUF_INIT;
    if (!title || !*title)
        buf_printf(&out, "%s #%" JSON_INTEGER_FORMAT, console_t("campaign"),
                   json_integer_value(json_object_get(camp, "id")));
    for (const char *p = title ? title : ""; *p;) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            buf_adds(&out, p);
            break;
        }
        buf_add(&out, p, (size_t)(open - p));
        const char *a = open + 2, *b = close;
        while (a < b && (*a == ' ' || *a == '{'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '}'))
            b--;
        char *key = xasprintf("short_var_%.*s", (int)(b - a), a);
        const char *label = console_t(key);
        if (label == key) /* console_t() answers the key itself when it has no text */
            buf_printf(&out, "‹%.*s›", (int)(b - a), a);
        else
            buf_printf(&out, "‹%s›", label);
        free(key);
        p = close + 2;
        while (*p == '}') /* the third brace of {{{raw}}} */
            p++;
    }
    json_object_set_new(camp, "display_title", json_string(buf_str(&out)));
    buf_release(&out);
}

/* Progress of a campaign from its counts: done (sent or failed) over what it will send. */
void console_campaign_progress(json_t *camp)
{
    add_display_title(camp);
    json_int_t sent = json_integer_value(json_object_get(camp, "sent"));
    json_int_t failed = json_integer_value(json_object_get(camp, "failed"));
    json_int_t suppressed = json_integer_value(json_object_get(camp, "suppressed"));
    json_int_t enqueued = json_integer_value(json_object_get(camp, "enqueued"));
    json_int_t recipients = json_integer_value(json_object_get(camp, "recipients"));
    json_int_t total = json_is_true(json_object_get(camp, "fanout_done")) || enqueued > recipients
                           ? enqueued
                           : recipients;
    json_int_t cancelled = json_integer_value(json_object_get(camp, "cancelled"));
    json_int_t done = sent + failed + suppressed + cancelled;
    json_int_t pct = total > 0 ? done * 100 / total : 0;
    const char *status = json_string_value(json_object_get(camp, "status"));
    if (status && strcmp(status, "sent") == 0)
        pct = 100;
    json_object_set_new(camp, "pct", json_integer(pct > 100 ? 100 : pct));
    json_object_set_new(camp, "done_count", json_integer(done));
    json_object_set_new(camp, "total", json_integer(total));
    console_add_label(camp, "status", "campaign_status_", "status_label");
    console_add_label(camp, "channel", "channel_", "channel_label");
    bool sending = status && strcmp(status, "sending") == 0;
    bool live = sending || (status && strcmp(status, "scheduled") == 0);
    json_object_set_new(camp, "live", json_boolean(live));
    /* A scheduled campaign may wait days: it is asked about less often. */
    json_object_set_new(camp, "poll", json_string(sending ? "every 2s" : "every 10s"));
}

void page_home(struct api_call *c)
{
    struct api_error e = {0};
    json_t *data = json_object();
    bool organiser = c->who.admin || c->who.nteams > 0;

    json_t *teams = teams_list(c->db, &c->who, &e);
    if (!teams)
        goto fail;
    json_object_set_new(data, "teams", json_incref(json_object_get(teams, "items")));
    json_decref(teams);

    json_t *events = events_list(c->db, &c->who, NULL, false, &e);
    if (!events)
        goto fail;
    json_t *items = json_object_get(events, "items"), *upcoming = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(items, i, ev) {
        if (json_array_size(upcoming) == HOME_EVENTS)
            break;
        console_event_fill(ev);
        json_array_append(upcoming, ev);
    }
    json_object_set_new(data, "more_events", json_boolean(json_array_size(items) > HOME_EVENTS));
    json_object_set_new(data, "events", upcoming);
    json_decref(events);

    if (organiser) {
        json_t *flight = console_campaigns_recent(c->db, &c->who, 0, 10, true, &e);
        if (!flight)
            goto fail;
        json_t *camp;
        json_array_foreach(json_object_get(flight, "items"), i, camp) {
            console_campaign_progress(camp);
            char *bar = console_render("progress_compact", camp);
            json_object_set_new(camp, "progress_html", json_string(bar));
            free(bar);
        }
        json_object_set_new(data, "campaigns", json_incref(json_object_get(flight, "items")));
        json_decref(flight);

        struct page page = {.after = 0, .limit = HOME_INBOX};
        json_t *inbox = inbox_list(c->db, &c->who, false, &page, &e);
        if (!inbox)
            goto fail;
        static const char *const when[] = {"received_at", NULL};
        console_add_when(json_object_get(inbox, "items"), when);
        json_object_set_new(data, "inbox", json_incref(json_object_get(inbox, "items")));
        json_object_set(data, "inbox_open", json_object_get(inbox, "open"));
        static const char *const open[] = {"inbox_open", NULL};
        console_flag_nonzero(data, open);
        json_decref(inbox);

        json_t *queue = console_queue_health(c->db, &c->who, &e);
        if (!queue)
            goto fail;
        json_object_set_new(data, "queue", queue_words(queue));
        json_decref(queue);
        json_object_set_new(data, "organiser", json_true());
    }
    char *hello = console_say("home_hello", json_pack("{s:s}", "name", c->who.name ? c->who.name : ""));
    json_object_set_new(data, "hello", json_string(hello));
    free(hello);
    console_page(c, 200, "home", "home", console_t("nav_home"), data);
    return;
fail:
    json_decref(data);
    console_error(c, &e);
}
