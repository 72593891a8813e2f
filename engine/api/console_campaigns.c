/*
 * Campaigns: the list; the composer (a segment builder with a live count, the parts with
 * help for merge fields, warnings and the SMS cost as the organiser types); one campaign
 * with its preview as a recipient, a test copy to oneself, the actions its state allows,
 * live progress and results.
 *
 * The segment builder's fields (seg_all, seg_teams, seg_tags, seg_events) become the
 * `segment` field when the form is read (console_segment_build(), called by the
 * console's body reader), so that the dispatcher decides on the segment — an organiser's
 * count, check or campaign outside their teams is refused before any handler runs.
 */
#include "api/console_pages.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "api/campaigns.h"
#include "api/console_model.h"
#include "api/events.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CAMPAIGNS_PAGE 30
#define PREVIEW_PEOPLE 20

/* ---- the segment builder ---- */

static void strings_of(json_t *body, const char *name, json_t *out)
{
    json_t *v = json_object_get(body, name);
    if (json_is_string(v) && json_string_length(v)) {
        json_array_append(out, v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s)
            if (json_is_string(s) && json_string_length(s))
                json_array_append(out, s);
    }
}

void console_segment_build(json_t *body)
{
    json_t *given = json_object_get(body, "segment");
    if (json_is_string(given) && json_string_length(given))
        return;
    json_t *teams = json_array(), *tags = json_array(), *events = json_array();
    strings_of(body, "seg_teams", teams);
    strings_of(body, "seg_tags", tags);
    strings_of(body, "seg_events", events);
    bool all = json_is_string(json_object_get(body, "seg_all"));
    /* The bases are united; the tags narrow each base (any of them). */
    json_t *bases = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(teams, i, v) {
        char *atom = xasprintf("team:%s", json_string_value(v));
        json_array_append_new(bases, json_string(atom));
        free(atom);
    }
    json_array_foreach(events, i, v) {
        char *atom = xasprintf("event:%s", json_string_value(v));
        json_array_append_new(bases, json_string(atom));
        free(atom);
    }
    if (json_array_size(bases) == 0 && all)
        json_array_append_new(bases, json_string("all"));
    struct buf seg = BUF_INIT;
    if (json_array_size(bases) == 0) {
        json_array_foreach(tags, i, v)
            buf_printf(&seg, "%stag:%s", seg.len ? "," : "", json_string_value(v));
    } else {
        size_t b;
        json_t *base;
        json_array_foreach(bases, b, base) {
            if (json_array_size(tags) == 0) {
                buf_printf(&seg, "%s%s", seg.len ? "," : "", json_string_value(base));
                continue;
            }
            json_array_foreach(tags, i, v)
                buf_printf(&seg, "%s%s+tag:%s", seg.len ? "," : "", json_string_value(base),
                           json_string_value(v));
        }
    }
    if (seg.len)
        json_object_set_new(body, "segment", json_string(buf_str(&seg)));
    buf_release(&seg);
    json_decref(bases);
    json_decref(teams);
    json_decref(tags);
    json_decref(events);
}

/* ---- the list ---- */

void page_campaigns(struct api_call *c)
{
    long before = 0;
    const char *b = http_query(c->req, "before");
    if (b && str_to_long(b, 0, INT64_MAX, &before) < 0)
        before = 0;
    struct api_error e = {0};
    json_t *list = console_campaigns_recent(c->db, &c->who, before, CAMPAIGNS_PAGE, false, &e);
    if (!list) {
        console_error(c, &e);
        return;
    }
    json_t *items = json_object_get(list, "items");
    size_t i;
    json_t *camp;
    json_array_foreach(items, i, camp)
        console_campaign_progress(camp);
    static const char *const when[] = {"created_at", "finished_at", NULL};
    console_add_when(items, when);
    json_t *data = json_pack("{s:O,s:O,s:b}", "campaigns", items, "next",
                             json_object_get(list, "next"), "paged", before > 0);
    json_decref(list);
    console_page(c, 200, "campaigns", "campaigns", console_t("nav_campaigns"), data);
}

/* ---- composing ---- */

static bool in_list(json_t *list, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (value && strcmp(json_string_value(v), value) == 0)
            return true;
    return false;
}

/* Options of the builder, checked as the form last said. */
static void mark(json_t *items, const char *key, json_t *chosen)
{
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
        json_object_set_new(item, "checked",
                            json_boolean(in_list(chosen, json_string_value(json_object_get(item, key)))));
}

static void compose_form(struct api_call *c, unsigned status, const char *error)
{
    struct api_error e = {0};
    json_t *tags = console_tags(c->db, &c->who, &e);
    json_t *events = tags ? events_list(c->db, &c->who, NULL, false, &e) : NULL;
    if (!events) {
        json_decref(tags);
        console_error(c, &e);
        return;
    }
    json_t *chosen_teams = console_args(c, "seg_teams"), *chosen_tags = console_args(c, "seg_tags"),
           *chosen_events = console_args(c, "seg_events");
    json_t *teams = console_team_options(c, NULL);
    mark(teams, "slug", chosen_teams);
    json_t *tag_items = json_object_get(tags, "items");
    mark(tag_items, "tag", chosen_tags);
    json_t *event_items = json_object_get(events, "items"), *open_events = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(event_items, i, ev) {
        const char *st = json_string_value(json_object_get(ev, "status"));
        if (st && strcmp(st, "cancelled") == 0)
            continue;
        /* Organisers reach their teams' events only (hosts' events are not theirs to mail). */
        json_array_append(open_events, ev);
    }
    mark(open_events, "slug", chosen_events);
    static const char *const when[] = {"starts", NULL};
    console_add_when(open_events, when);
    const char *channel = console_arg(c, "channel");
    bool sms = channel && strcmp(channel, "sms") == 0;
    /* A segment typed by hand shows in the advanced field; a built one does not. */
    const char *typed = http_query(c->req, "segment");
    json_t *data = json_pack(
        "{s:o,s:O,s:o,s:b,s:b,s:b,s:s?,s:s?,s:s?,s:s?,s:s?,s:b,s:s?,s:o}", "teams", teams, "tags",
        tag_items, "events", open_events, "sms", sms, "email", !sms, "admin", c->who.admin,
        "subject", console_arg(c, "subject"), "text", console_arg(c, "text"), "html",
        console_arg(c, "html"), "sms_text", console_arg(c, "sms"), "segment",
        typed ? typed : NULL, "urgent", api_flag(c, "urgent"), "error", error, "variables", json_array());
    /* The merge fields, as an organiser types them ("{{first_name}}": data, not markup). */
    static const char *const variables[] = {"first_name", "name", "email", "phone", "team.name",
                                            "unsubscribe_url", "stop_keyword", "help_keyword"};
    for (size_t k = 0; k < ARRAY_SIZE(variables); k++) {
        char *code = xasprintf("{{%s}}", variables[k]), *key = xasprintf("var_%s", variables[k]);
        for (char *p = key; *p; p++)
            if (*p == '.')
                *p = '_';
        json_array_append_new(json_object_get(data, "variables"),
                              json_pack("{s:s,s:s}", "code", code, "about", console_t(key)));
        free(code);
        free(key);
    }
    json_object_set_new(data, "seg_all", json_boolean(json_object_get(c->body, "seg_all") != NULL));
    json_object_set_new(data, "title", json_string(console_arg(c, "title") ? console_arg(c, "title") : ""));
    /* An invitation: one of the same upcoming events, which a bare OUI then answers. */
    const char *invited = console_arg(c, "event");
    json_t *invitations = json_array();
    json_array_foreach(open_events, i, ev) {
        const char *slug = json_string_value(json_object_get(ev, "slug"));
        json_array_append_new(invitations,
                              json_pack("{s:s,s:O,s:O,s:b}", "slug", slug, "title", json_object_get(ev, "title"),
                                        "starts_h", json_object_get(ev, "starts_h"), "selected",
                                        invited && slug && strcmp(invited, slug) == 0));
    }
    json_object_set_new(data, "invitations", invitations);
    json_decref(chosen_teams);
    json_decref(chosen_tags);
    json_decref(chosen_events);
    json_decref(tags);
    json_decref(events);
    console_page(c, status, "compose", "campaigns", console_t("campaign_new"), data);
}

void page_campaign_new(struct api_call *c)
{
    compose_form(c, 200, NULL);
}

static void form_of(struct api_call *c, struct campaign_form *f)
{
    const char *channel = console_arg(c, "channel");
    *f = (struct campaign_form){.channel = channel && strcmp(channel, "sms") == 0 ? "sms" : "email",
                                .segment = console_arg(c, "segment"),
                                .title = console_arg(c, "title"),
                                .event = console_arg(c, "event"),
                                .subject = console_arg(c, "subject"),
                                .text = console_arg(c, "text"),
                                .html = console_arg(c, "html"),
                                .sms = console_arg(c, "sms"),
                                .urgent = api_flag(c, "urgent")};
}

void page_campaign_audience(struct api_call *c)
{
    const char *segment = console_arg(c, "segment");
    const char *channel = console_arg(c, "channel");
    bool sms = channel && strcmp(channel, "sms") == 0;
    if (!segment) {
        console_fragment(c, 200, "audience", json_pack("{s:b}", "empty", 1));
        return;
    }
    struct campaign_form f = {.channel = sms ? "sms" : "email", .segment = segment};
    struct api_error e = {0};
    json_t *check = console_compose_check(c->db, &c->who, &f, &e);
    if (!check) {
        console_error(c, &e);
        return;
    }
    /* Only the count and what is wrong with the segment itself. */
    json_t *warnings = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(check, "warnings"), i, w) {
        const char *key = json_string_value(json_object_get(w, "key"));
        if (strcmp(key, "warn_segment") == 0 || strcmp(key, "warn_nobody") == 0) {
            json_object_set_new(w, "text", json_string(console_t(key)));
            json_array_append(warnings, w);
        }
    }
    json_object_set_new(check, "problems", warnings);
    json_object_set_new(check, "channel_label", json_string(console_t(sms ? "channel_sms" : "channel_email")));
    console_fragment(c, 200, "audience", check);
}

void page_campaign_check(struct api_call *c)
{
    struct campaign_form f;
    form_of(c, &f);
    struct api_error e = {0};
    json_t *check = console_compose_check(c->db, &c->who, &f, &e);
    if (!check) {
        console_error(c, &e);
        return;
    }
    json_t *warnings = json_object_get(check, "warnings");
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w) {
        const char *key = json_string_value(json_object_get(w, "key"));
        const char *detail = json_string_value(json_object_get(w, "detail"));
        char *text = console_say(key, json_pack("{s:s?}", "detail", detail));
        json_object_set_new(w, "text", json_string(text));
        free(text);
    }
    json_object_set_new(check, "is_sms", json_boolean(strcmp(f.channel, "sms") == 0));
    static const char *const counts[] = {"recipients", NULL};
    console_flag_nonzero(check, counts);
    console_fragment(c, 200, "compose_check", check);
}

void page_campaign_create(struct api_call *c)
{
    struct campaign_form f;
    form_of(c, &f);
    struct api_error e = {0};
    json_t *out = campaign_create_json(c->db, &c->who, &f, &e);
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
            return;
        }
        compose_form(c, e.status ? e.status : 422, e.message);
        api_error_release(&e);
        return;
    }
    char *to = xasprintf("/admin/campaigns/%" JSON_INTEGER_FORMAT "?done=campaign_created",
                         json_integer_value(json_object_get(out, "id")));
    json_decref(out);
    console_redirect(c, to);
    free(to);
}

/* ---- one campaign ---- */

/* The progress fragment's data: counts, the bar, whether to keep polling. */
static json_t *progress_data(struct api_call *c, struct api_error *e)
{
    json_t *camp = campaign_show_json(c->db, &c->who, c->campaign_id, e);
    if (!camp)
        return NULL;
    console_campaign_progress(camp);
    /* The rate is of the last minute: news while messages leave, not once the campaign has
     * sent its last one (three messages a minute ago would read "0.1 / s"). */
    const char *status = json_string_value(json_object_get(camp, "status"));
    if (!status || strcmp(status, "sending") != 0) {
        json_object_del(camp, "rate_per_s");
        json_object_del(camp, "eta_s");
    }
    static const char *const counts[] = {"failed", "held", "suppressed", "cancelled", "queued",
                                         "rate_per_s", "eta_s", NULL};
    console_flag_nonzero(camp, counts);
    json_int_t eta = json_integer_value(json_object_get(camp, "eta_s"));
    if (eta > 0) {
        char *words = console_say(eta >= 120 ? "campaign_eta_minutes" : "campaign_eta_seconds",
                                  json_pack("{s:I}", "n", eta >= 120 ? eta / 60 : eta));
        json_object_set_new(camp, "eta_words", json_string(words));
        free(words);
    }
    return camp;
}

void page_campaign_progress(struct api_call *c)
{
    struct api_error e = {0};
    json_t *camp = progress_data(c, &e);
    if (!camp) {
        console_error(c, &e);
        return;
    }
    const char *compact = http_query(c->req, "compact");
    console_fragment(c, 200, compact ? "progress_compact" : "progress", camp);
}

static void preview_data(struct api_call *c, json_t *data, int64_t person, struct api_error *e)
{
    json_t *p = campaign_preview_json(c->db, &c->who, c->campaign_id, person, e);
    if (!p) {
        /* A person without an address on this channel, or out of reach: said in place. */
        json_object_set_new(data, "preview_error", json_string(e->message ? e->message : ""));
        api_error_release(e);
        return;
    }
    json_object_set_new(data, "preview", p);
}

static int64_t person_arg(struct api_call *c)
{
    long person = 0;
    const char *p = console_arg(c, "person");
    if (p && str_to_long(p, 1, INT64_MAX, &person) < 0)
        person = 0;
    return person;
}

/*
 * The HTML part alone, as the mail will show it: inline styles and images from anywhere,
 * which the console's own policy refuses. It is shown in a frame the console sandboxes
 * (no script, no same-origin), and its own policy says the same: sandbox, no script,
 * framed only by the console.
 */
void page_campaign_preview_html(struct api_call *c)
{
    struct api_error e = {0};
    json_t *p = campaign_preview_json(c->db, &c->who, c->campaign_id, person_arg(c), &e);
    const char *html = p ? json_string_value(json_object_get(p, "html")) : NULL;
    api_error_release(&e);
    http_add_header(c->req, "Content-Security-Policy",
                    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:;"
                    " frame-ancestors 'self'");
    http_add_header(c->req, "X-Frame-Options", "SAMEORIGIN");
    http_add_header(c->req, "X-Content-Type-Options", "nosniff");
    http_add_header(c->req, "Referrer-Policy", "no-referrer");
    http_respond(c->req, html ? 200 : 404, "text/html; charset=utf-8", html ? html : "",
                 html ? strlen(html) : 0);
    json_decref(p);
}

void page_campaign_preview(struct api_call *c)
{
    int64_t person = person_arg(c);
    struct api_error e = {0};
    json_t *data = json_pack("{s:I}", "campaign_id", (json_int_t)c->campaign_id);
    preview_data(c, data, person, &e);
    json_t *pv = json_object_get(data, "preview");
    if (pv)
        json_object_set_new(pv, "is_sms", json_boolean(strcmp(json_string_value(json_object_get(pv, "channel")), "sms") == 0));
    console_fragment(c, 200, "preview", data);
}

static void campaign_page(struct api_call *c, unsigned http_status, const char *error)
{
    struct api_error e = {0};
    json_t *camp = progress_data(c, &e);
    if (!camp) {
        console_error(c, &e);
        return;
    }
    json_t *results = console_campaign_results(c->db, &c->who, c->campaign_id, &e);
    json_t *people = results ? console_segment_people(c->db, &c->who, c->campaign_id,
                                                      PREVIEW_PEOPLE, &e)
                             : NULL;
    if (!people) {
        json_decref(camp);
        json_decref(results);
        console_error(c, &e);
        return;
    }
    json_object_set_new(camp, "results", results);
    json_object_set(camp, "people", json_object_get(people, "items"));
    json_decref(people);
    /* What the state allows. */
    const char *status = json_string_value(json_object_get(camp, "status"));
    bool draft = strcmp(status, "draft") == 0, scheduled = strcmp(status, "scheduled") == 0,
         sending = strcmp(status, "sending") == 0, paused = strcmp(status, "paused") == 0,
         sent = strcmp(status, "sent") == 0;
    json_int_t failed = json_integer_value(json_object_get(camp, "failed"));
    json_object_set_new(camp, "can_send", json_boolean(draft || scheduled));
    json_object_set_new(camp, "can_schedule", json_boolean(draft || scheduled));
    json_object_set_new(camp, "can_pause", json_boolean(scheduled || sending));
    json_object_set_new(camp, "can_resume", json_boolean(paused));
    json_object_set_new(camp, "can_cancel", json_boolean(!sent && strcmp(status, "cancelled") != 0));
    json_object_set_new(camp, "can_retry", json_boolean((sending || sent) && failed > 0));
    json_object_set_new(camp, "can_test", json_boolean(draft || scheduled || paused));
    /* Progress shows from the moment it is scheduled: "send now" is scheduled for now. */
    json_object_set_new(camp, "started", json_boolean(!draft));
    json_object_set_new(camp, "is_sms", json_boolean(strcmp(json_string_value(json_object_get(camp, "channel")), "sms") == 0));
    static const char *const when[] = {"created_at", "started_at", "finished_at", "scheduled", NULL};
    console_add_when(camp, when);
    static const char *const counts[] = {"bounces", "optouts", "replies", "replies_for_a_human", NULL};
    console_flag_nonzero(json_object_get(camp, "results"), counts);
    console_add_done(c, camp);
    if (error)
        json_object_set_new(camp, "error", json_string(error));
    json_object_set(camp, "campaign_id", json_object_get(camp, "id"));
    preview_data(c, camp, 0, &e);
    json_t *pv = json_object_get(camp, "preview");
    if (pv)
        json_object_set_new(pv, "is_sms", json_boolean(strcmp(json_string_value(json_object_get(pv, "channel")), "sms") == 0));
    char *progress = console_render("progress", camp);
    json_object_set_new(camp, "progress_html", json_string(progress));
    free(progress);
    char *preview = console_render("preview", camp);
    json_object_set_new(camp, "preview_html", json_string(preview));
    free(preview);
    char *title = xstrdup(json_string_value(json_object_get(camp, "display_title")));
    json_object_set_new(camp, "title", json_string(title));
    console_page(c, http_status, "campaign", "campaigns", title, camp);
    free(title);
}

void page_campaign(struct api_call *c)
{
    campaign_page(c, 200, NULL);
}

void page_campaign_test(struct api_call *c)
{
    struct api_error e = {0};
    json_t *out = campaign_test_json(c->db, &c->who, c->campaign_id, &e);
    json_t *data;
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
            return;
        }
        data = json_pack("{s:s}", "error", e.message ? e.message : "");
        api_error_release(&e);
    } else {
        char *said = console_say("campaign_test_sent",
                                 json_pack("{s:O}", "recipient", json_object_get(out, "recipient")));
        data = json_pack("{s:s}", "notice", said);
        free(said);
        json_decref(out);
    }
    if (console_htmx(c)) {
        console_fragment(c, 200, "test_result", data);
        return;
    }
    json_decref(data);
    char *to = xasprintf("/admin/campaigns/%" PRId64 "?done=campaign_test", c->campaign_id);
    console_redirect(c, to);
    free(to);
}

void page_campaign_act(struct api_call *c)
{
    const char *action = strrchr(c->route->pattern, '/') + 1;
    struct api_error e = {0};
    json_t *out;
    if (strcmp(action, "schedule") == 0) {
        /* The form sends a date and a time; the API's way is one `at`. */
        const char *date = console_arg(c, "date"), *time = console_arg(c, "time");
        char *at = date && time ? xasprintf("%s %s", date, time) : NULL;
        out = console_campaign_schedule(c->db, &c->who, c->campaign_id,
                                        at ? at : console_arg(c, "at"),
                                        console_arg(c, "timezone"), &e);
        free(at);
    } else {
        out = campaign_act_json(c->db, &c->who, c->campaign_id, action, NULL, &e);
    }
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
            return;
        }
        campaign_page(c, e.status, e.message);
        api_error_release(&e);
        return;
    }
    json_decref(out);
    char *to = xasprintf("/admin/campaigns/%" PRId64 "?done=campaign_%s", c->campaign_id, action);
    console_redirect(c, to);
    free(to);
}
