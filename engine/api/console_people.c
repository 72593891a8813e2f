/*
 * People: the list with its filters (team, tag, consent, a search), a page at a time,
 * the export (the API's CSV route, which the session cookie opens), and a profile.
 */
#include "api/console_pages.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "api/console_model.h"
#include "api/people.h"

#include <stdio.h>
#include <string.h>

#define PEOPLE_PAGE 50

/* "team=a&tag=b" of the filters that are set, percent-encoded (caller frees). */
static char *filter_query(const struct people_filter *f)
{
    struct buf q = BUF_INIT;
    const char *names[] = {"team", "tag", "search", "opted_out"};
    const char *values[] = {f->team, f->tag, f->search, f->opted_out};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (!values[i])
            continue;
        buf_printf(&q, "%s%s=", q.len ? "&" : "", names[i]);
        console_urlencode(&q, values[i]);
    }
    return buf_detach(&q);
}

static json_t *options(json_t *items, const char *key, const char *selected)
{
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        const char *v = json_string_value(json_object_get(item, key));
        json_object_set_new(item, "selected", json_boolean(selected && v && strcmp(v, selected) == 0));
    }
    return items;
}

void page_people(struct api_call *c)
{
    struct people_filter f = {.team = console_arg(c, "team"),
                              .tag = console_arg(c, "tag"),
                              .search = console_arg(c, "search"),
                              .opted_out = console_arg(c, "opted_out"),
                              .page = {.after = console_after(c), .limit = PEOPLE_PAGE}};
    if (f.opted_out && strcmp(f.opted_out, "email") != 0 && strcmp(f.opted_out, "sms") != 0)
        f.opted_out = NULL;
    struct api_error e = {0};
    json_t *list = people_list(c->db, &c->who, &f, &e);
    if (!list) {
        console_error(c, &e);
        return;
    }
    json_t *tags = console_tags(c->db, &c->who, &e);
    if (!tags) {
        json_decref(list);
        console_error(c, &e);
        return;
    }
    char *query = filter_query(&f);
    json_t *data = json_pack("{s:O,s:O,s:s?,s:s?,s:b,s:b,s:b,s:s,s:b}", "people",
                             json_object_get(list, "items"), "next", json_object_get(list, "next"),
                             "search", f.search, "tag", f.tag, "filtered",
                             f.team || f.tag || f.search || f.opted_out, "opted_out_email",
                             f.opted_out && strcmp(f.opted_out, "email") == 0, "opted_out_sms",
                             f.opted_out && strcmp(f.opted_out, "sms") == 0, "query", query,
                             "paged", f.page.after > 0);
    free(query);
    json_object_set_new(data, "teams", console_team_options(c, f.team));
    json_object_set_new(data, "tags",
                        json_incref(options(json_object_get(tags, "items"), "tag", f.tag)));
    json_object_set_new(data, "count", json_integer((json_int_t)json_array_size(
                                           json_object_get(list, "items"))));
    json_decref(tags);
    json_decref(list);
    console_page(c, 200, "people", "people", console_t("nav_people"), data);
}

void page_person(struct api_call *c)
{
    struct api_error e = {0};
    json_t *p = people_show(c->db, &c->who, c->person_id, &e);
    if (!p) {
        console_error(c, &e);
        return;
    }
    console_add_label(json_object_get(p, "contacts"), "consent", "consent_", "consent_label");
    console_add_label(json_object_get(p, "contacts"), "kind", "contact_", "kind_label");
    console_add_label(json_object_get(p, "memberships"), "role", "role_", "role_label");
    console_add_label(json_object_get(p, "memberships"), "status", "membership_", "status_label");
    console_add_label(json_object_get(p, "rsvps"), "status", "rsvp_", "status_label");
    console_add_label(json_object_get(p, "consent"), "action", "consent_", "action_label");
    console_add_label(json_object_get(p, "consent"), "channel", "channel_", "channel_label");
    console_add_label(json_object_get(p, "messages"), "channel", "channel_", "channel_label");
    static const char *const when[] = {"created_at", "starts_at", "checked_in_at", "at", NULL};
    console_add_when(json_object_get(p, "memberships"), when);
    console_add_when(json_object_get(p, "rsvps"), when);
    console_add_when(json_object_get(p, "consent"), when);
    console_add_when(json_object_get(p, "messages"), when);
    console_add_when(p, when);
    static const char *const guests[] = {"guests", NULL};
    console_flag_nonzero(json_object_get(p, "rsvps"), guests);
    /* The conversation reads oldest first, like a phone's. */
    json_object_set_new(p, "thread", console_thread(json_object_get(p, "messages")));
    const char *name = json_string_value(json_object_get(p, "name"));
    char *title = xstrdup(name && *name ? name : console_t("person_no_name"));
    console_page(c, 200, "person", "people", title, p);
    free(title);
}
