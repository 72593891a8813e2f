/*
 * The inbox: what supporters wrote that tocsin did not understand (or refused), newest
 * first; one message with the conversation around it, a reply on the channel it came
 * by, and "done".
 */
#include "api/console_pages.h"
#include "lib/util.h"
#include "api/console_model.h"
#include "api/inbox.h"

#include <inttypes.h>
#include <string.h>

#define INBOX_PAGE 50

void page_inbox(struct api_call *c)
{
    bool all = api_flag(c, "all");
    struct page page = {.after = console_after(c), .limit = INBOX_PAGE};
    struct api_error e = {0};
    json_t *inbox = inbox_list(c->db, &c->who, all, &page, &e);
    if (!inbox) {
        console_error(c, &e);
        return;
    }
    json_t *items = json_object_get(inbox, "items");
    static const char *const when[] = {"received_at", "handled_at", NULL};
    console_add_when(items, when);
    console_add_label(items, "channel", "channel_", "channel_label");
    console_add_label(items, "status", "inbound_", "status_label");
    json_t *data = json_pack("{s:O,s:O,s:O,s:b,s:b}", "messages", items, "next",
                             json_object_get(inbox, "next"), "open", json_object_get(inbox, "open"),
                             "all", all, "paged", page.after > 0);
    console_add_done(c, data);
    json_decref(inbox);
    console_page(c, 200, "inbox", "inbox", console_t("nav_inbox"), data);
}

static void message_page(struct api_call *c, unsigned status, const char *error, const char *text)
{
    struct api_error e = {0};
    json_t *data = console_inbox_thread(c->db, &c->who, c->inbox_id, &e);
    if (!data) {
        console_error(c, &e);
        return;
    }
    json_t *m = json_object_get(data, "message");
    static const char *const when[] = {"received_at", "handled_at", "at", NULL};
    console_add_when(m, when);
    json_object_set_new(data, "thread", console_thread(json_object_get(data, "thread")));
    console_add_when(json_object_get(data, "thread"), when);
    console_add_label(m, "channel", "channel_", "channel_label");
    console_add_label(m, "status", "inbound_", "status_label");
    console_add_done(c, data);
    if (error)
        json_object_set_new(data, "error", json_string(error));
    if (text)
        json_object_set_new(data, "text", json_string(text));
    json_object_set_new(data, "is_sms",
                        json_boolean(strcmp(json_string_value(json_object_get(m, "channel")), "sms") == 0));
    const char *name = json_string_value(json_object_get(m, "name"));
    char *title = xstrdup(name && *name ? name : json_string_value(json_object_get(m, "sender")));
    console_page(c, status, "inbox_message", "inbox", title, data);
    free(title);
}

void page_inbox_message(struct api_call *c)
{
    message_page(c, 200, NULL, NULL);
}

void page_inbox_reply(struct api_call *c)
{
    const char *text = console_arg(c, "text");
    struct api_error e = {0};
    json_t *out = inbox_reply(c->db, &c->who, c->inbox_id, text, &e);
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
            return;
        }
        message_page(c, e.status, e.message, text);
        api_error_release(&e);
        return;
    }
    json_decref(out);
    /* Replying and being done are often one gesture: the form may ask for both. */
    if (api_flag(c, "done")) {
        out = inbox_done(c->db, &c->who, c->inbox_id, &e);
        if (!out) {
            console_error(c, &e);
            return;
        }
        json_decref(out);
        console_redirect(c, "/admin/inbox?done=inbox_replied_done");
        return;
    }
    char *to = xasprintf("/admin/inbox/%" PRId64 "?done=inbox_replied", c->inbox_id);
    console_redirect(c, to);
    free(to);
}

void page_inbox_done(struct api_call *c)
{
    struct api_error e = {0};
    json_t *out = inbox_done(c->db, &c->who, c->inbox_id, &e);
    if (!out) {
        console_error(c, &e);
        return;
    }
    json_decref(out);
    console_redirect(c, "/admin/inbox?done=inbox_done");
}
