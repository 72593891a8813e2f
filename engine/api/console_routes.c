/*
 * console_routes — every page and form of the console with the need checked before its
 * handler runs: rows of the same struct, decided by the same dispatcher and the same
 * authz_decide() as the API's (api/v1.h, core/authz.h). A page that shows a resource has
 * the need of the API route that reads it; a form that changes one, the need of the API
 * route that changes it. The summary column says what the page is (the tests and
 * docs/console.md walk these rows).
 */
#include "api/console_pages.h"

#define PAGE(method, pattern, need, handler, summary)                                              \
    {method, pattern, need, NULL, need, handler, summary, NULL, NULL, "text/html"}
#define PAGE_SCOPED(method, pattern, need, scope, if_absent, handler, summary)                     \
    {method, pattern, need, scope, if_absent, handler, summary, NULL, NULL, "text/html"}

const struct api_route console_routes[] = {
    /* Signing in and out */
    PAGE("GET", "/admin/login", AUTHZ_PUBLIC, page_login, "Sign in: an email or a phone number"),
    PAGE("POST", "/admin/login", AUTHZ_PUBLIC, page_login_ask,
         "Ask for a sign-in link (email) or code (SMS)"),
    PAGE("POST", "/admin/login/code", AUTHZ_PUBLIC, page_login_code,
         "Sign in with the 6-digit code"),
    PAGE("POST", "/admin/logout", AUTHZ_ACCOUNT, page_logout, "Sign out"),

    /* Home */
    PAGE("GET", "/admin/", AUTHZ_ACCOUNT, page_home,
         "Home: my teams, upcoming events, campaigns in flight, inbox, queue health"),

    /* People */
    PAGE_SCOPED("GET", "/admin/people", AUTHZ_TEAM, "team", AUTHZ_ORGANISER, page_people,
                "People: search, filters by team, tag and consent; export"),
    PAGE("GET", "/admin/people/{id}", AUTHZ_PERSON, page_person,
         "A profile: contacts, memberships, RSVPs, consent history, conversation"),

    /* Teams */
    PAGE("GET", "/admin/teams", AUTHZ_ACCOUNT, page_teams, "My teams"),
    PAGE("GET", "/admin/teams/{team}", AUTHZ_TEAM, page_team,
         "A team: members, pending members, organisers"),
    PAGE("POST", "/admin/teams/{team}/organisers", AUTHZ_ADMIN, page_team_organiser_add,
         "Make someone an organiser of the team (admins)"),
    PAGE("POST", "/admin/teams/{team}/organisers/{person}/remove", AUTHZ_ADMIN,
         page_team_organiser_remove, "Make an organiser a plain member again (admins)"),

    /* Events */
    PAGE("GET", "/admin/events", AUTHZ_ACCOUNT, page_events, "Events I reach, upcoming first"),
    PAGE("GET", "/admin/events/new", AUTHZ_ORGANISER, page_event_new, "A new event: the form"),
    PAGE_SCOPED("POST", "/admin/events", AUTHZ_TEAM, "team", AUTHZ_TEAM, page_event_create,
                "Create an event in one of my teams"),
    PAGE("GET", "/admin/events/{event}", AUTHZ_EVENT_DOOR, page_event,
         "An event: details, attendees with guests and waitlist, edit, move, cancel"),
    PAGE("POST", "/admin/events/{event}", AUTHZ_EVENT, page_event_edit,
         "Edit the title, place and capacity"),
    PAGE("POST", "/admin/events/{event}/move", AUTHZ_EVENT, page_event_move,
         "Move the event; those who said yes are told"),
    PAGE("POST", "/admin/events/{event}/cancel", AUTHZ_EVENT, page_event_cancel,
         "Cancel the event; those who said yes are told"),
    PAGE("GET", "/admin/events/{event}/door", AUTHZ_EVENT_DOOR, page_event_door,
         "Check-in at the door: tap a name, add a walk-in"),
    PAGE("POST", "/admin/events/{event}/checkin", AUTHZ_EVENT_DOOR, page_event_checkin,
         "Check someone in, or a walk-in"),

    /* Campaigns */
    PAGE("GET", "/admin/campaigns", AUTHZ_ORGANISER, page_campaigns, "Campaigns"),
    PAGE("GET", "/admin/campaigns/new", AUTHZ_ORGANISER, page_campaign_new,
         "Compose a campaign: segment builder, parts, merge fields"),
    PAGE_SCOPED("POST", "/admin/campaigns/audience", AUTHZ_CAMPAIGN, "segment", AUTHZ_ORGANISER,
                page_campaign_audience, "The live recipient count of a segment"),
    PAGE("POST", "/admin/campaigns/check", AUTHZ_ORGANISER, page_campaign_check,
         "Warnings and the SMS cost of a draft, as it is typed"),
    PAGE_SCOPED("POST", "/admin/campaigns", AUTHZ_CAMPAIGN, "segment", AUTHZ_CAMPAIGN,
                page_campaign_create, "Save the campaign (a draft, or scheduled)"),
    PAGE("GET", "/admin/campaigns/{id}", AUTHZ_CAMPAIGN, page_campaign,
         "A campaign: preview, test, send, progress, results"),
    PAGE("GET", "/admin/campaigns/{id}/progress", AUTHZ_CAMPAIGN, page_campaign_progress,
         "Live progress (polled)"),
    PAGE("GET", "/admin/campaigns/{id}/preview", AUTHZ_CAMPAIGN, page_campaign_preview,
         "The campaign as one recipient reads it"),
    PAGE("GET", "/admin/campaigns/{id}/preview.html", AUTHZ_CAMPAIGN, page_campaign_preview_html,
         "Its HTML part alone, for the preview's sandboxed frame"),
    PAGE("POST", "/admin/campaigns/{id}/test", AUTHZ_CAMPAIGN, page_campaign_test,
         "Send a test copy to myself"),
    PAGE("POST", "/admin/campaigns/{id}/send", AUTHZ_CAMPAIGN, page_campaign_act, "Send now"),
    PAGE("POST", "/admin/campaigns/{id}/schedule", AUTHZ_CAMPAIGN, page_campaign_act,
         "Schedule for a date and time"),
    PAGE("POST", "/admin/campaigns/{id}/pause", AUTHZ_CAMPAIGN, page_campaign_act, "Pause"),
    PAGE("POST", "/admin/campaigns/{id}/resume", AUTHZ_CAMPAIGN, page_campaign_act, "Resume"),
    PAGE("POST", "/admin/campaigns/{id}/cancel", AUTHZ_CAMPAIGN, page_campaign_act, "Cancel"),
    PAGE("POST", "/admin/campaigns/{id}/retry", AUTHZ_CAMPAIGN, page_campaign_act,
         "Retry the failed messages"),

    /* Inbox */
    PAGE("GET", "/admin/inbox", AUTHZ_ORGANISER, page_inbox, "Messages that need a human"),
    PAGE("GET", "/admin/inbox/{id}", AUTHZ_INBOX, page_inbox_message,
         "A message and the conversation around it"),
    PAGE("POST", "/admin/inbox/{id}/reply", AUTHZ_INBOX, page_inbox_reply,
         "Reply on the supporter's channel"),
    PAGE("POST", "/admin/inbox/{id}/done", AUTHZ_INBOX, page_inbox_done, "Mark handled"),

    /* Import */
    PAGE("GET", "/admin/import", AUTHZ_ORGANISER, page_import, "Import supporters: upload a CSV"),
    PAGE_SCOPED("POST", "/admin/import", AUTHZ_TEAM, "team", AUTHZ_ADMIN, page_import_upload,
                "Upload: the file is kept for its mapping and dry run"),
    PAGE("GET", "/admin/import/{upload}", AUTHZ_ORGANISER, page_import_mapping,
         "Map the file's columns"),
    PAGE("POST", "/admin/import/{upload}/dry-run", AUTHZ_ORGANISER, page_import_run,
         "Dry run: what the import would do"),
    PAGE("POST", "/admin/import/{upload}/commit", AUTHZ_ORGANISER, page_import_run,
         "Import for real"),

    {NULL, NULL, AUTHZ_PUBLIC, NULL, AUTHZ_PUBLIC, NULL, NULL, NULL, NULL, NULL},
};
