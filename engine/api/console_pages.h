/*
 * console_pages — the page handlers of console_routes[] (api/console.h), one file per
 * part of the console: sign-in, home, people, teams, events, campaigns, inbox, import.
 * Each reads its arguments with api_arg() (path, form field, query), calls model
 * functions, and answers once with console_page(), console_fragment(),
 * console_redirect() or console_error().
 */
#ifndef TOCSIN_API_CONSOLE_PAGES_H
#define TOCSIN_API_CONSOLE_PAGES_H

#include "api/console.h"

struct api_call;

/* Shared decorations: an event's fill against capacity, words for its state and start;
 * a campaign's progress (pct, done, total) and words for its state and channel. */
void console_event_fill(json_t *ev);
void console_campaign_progress(json_t *camp);

void page_login(struct api_call *c);
void page_login_ask(struct api_call *c);
void page_login_code(struct api_call *c);
void page_logout(struct api_call *c);

void page_home(struct api_call *c);

void page_people(struct api_call *c);
void page_person(struct api_call *c);

void page_teams(struct api_call *c);
void page_team(struct api_call *c);
void page_team_organiser_add(struct api_call *c);
void page_team_organiser_remove(struct api_call *c);

void page_events(struct api_call *c);
void page_event_new(struct api_call *c);
void page_event_create(struct api_call *c);
void page_event(struct api_call *c);
void page_event_edit(struct api_call *c);
void page_event_move(struct api_call *c);
void page_event_cancel(struct api_call *c);
void page_event_door(struct api_call *c);
void page_event_checkin(struct api_call *c);

void page_campaigns(struct api_call *c);
void page_campaign_new(struct api_call *c);
void page_campaign_audience(struct api_call *c);
void page_campaign_check(struct api_call *c);
void page_campaign_create(struct api_call *c);
void page_campaign(struct api_call *c);
void page_campaign_progress(struct api_call *c);
void page_campaign_preview(struct api_call *c);
void page_campaign_preview_html(struct api_call *c);
void page_campaign_test(struct api_call *c);
void page_campaign_act(struct api_call *c);

void page_inbox(struct api_call *c);
void page_inbox_message(struct api_call *c);
void page_inbox_reply(struct api_call *c);
void page_inbox_done(struct api_call *c);

void page_import(struct api_call *c);
void page_import_upload(struct api_call *c);
void page_import_mapping(struct api_call *c);
void page_import_run(struct api_call *c);

#endif
