/*
 * routes — the tables of HTTP routes served by `tocsin run`: http_routes[] (webhooks,
 * pages, the /api/v1/ prefix) and api_routes[] (the organisers' API, each row with the
 * need checked before its handler), and the small routes that belong to no other module
 * (health, metrics). A route is one row here plus a handler in the module that owns the
 * work.
 */
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/http.h"
#include "core/signature.h"
#include "api/campaigns.h"
#include "api/console.h"
#include "api/events.h"
#include "api/imports.h"
#include "api/inbox.h"
#include "api/optouts.h"
#include "api/people.h"
#include "api/signin.h"
#include "api/teams.h"
#include "api/users.h"
#include "api/v1.h"
#include "inbound/confirm_page.h"
#include "inbound/sms_backlog.h"
#include "inbound/sms_webhook.h"
#include "inbound/unsubscribe.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

static void handle_healthz(struct http_request *req)
{
    struct db *db = http_db(req);
    char *error = NULL;
    PGresult *res = db ? db_exec(db, "SELECT 1", 0, NULL, &error) : NULL;
    if (!res) {
        free(error);
        http_respond_text(req, 503, "database unreachable");
        return;
    }
    PQclear(res);
    http_respond_text(req, 200, "ok");
}

/* Queue depth and age are read from the database at scrape time: they are shared by every
 * daemon, so a per-process counter could not tell them. The depth comes from the
 * maintained counters (outbound_queue_totals), the age from the partial index of queued rows:
 * a scrape never groups the table. */
static void queue_gauges(struct http_request *req, struct buf *out)
{
    struct db *db = http_db(req);
    char *error = NULL;
    PGresult *res =
        db ? db_exec(db,
                     "SELECT t.channel, t.status, t.messages,"
                     " coalesce((SELECT extract(epoch FROM now() - min(o.next_attempt_at))"
                     "  FROM outbound_messages o WHERE o.status = 'queued'"
                     "   AND o.channel = t.channel AND o.next_attempt_at <= now()), 0)::bigint"
                     " FROM outbound_queue_totals t WHERE t.status IN ('queued', 'sending')"
                     " ORDER BY t.channel, t.status",
                     0, NULL, &error)
           : NULL;
    buf_adds(out, "# TYPE tocsin_database_up gauge\n");
    buf_printf(out, "tocsin_database_up %d\n", res ? 1 : 0);
    if (!res) {
        log_warn("metrics_queue", "error=%s", log_q(error));
        free(error);
        return;
    }
    buf_adds(out, "# TYPE tocsin_queue_depth gauge\n");
    for (int i = 0; i < PQntuples(res); i++)
        buf_printf(out, "tocsin_queue_depth{channel=\"%s\",status=\"%s\"} %s\n",
                   PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    buf_adds(out, "# TYPE tocsin_queue_oldest_due_seconds gauge\n");
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 1), "queued") == 0)
            buf_printf(out, "tocsin_queue_oldest_due_seconds{channel=\"%s\"} %s\n",
                       PQgetvalue(res, i, 0), PQgetvalue(res, i, 3));
    PQclear(res);
    struct sms_backlog_state backlog;
    if (sms_backlog_state(db, &backlog, &error) < 0) {
        log_warn("metrics_sms_backlog", "error=%s", log_q(error));
        free(error);
        return;
    }
    buf_adds(out, "# TYPE tocsin_sms_backlog_texts gauge\n");
    buf_printf(out,
               "tocsin_sms_backlog_texts{state=\"waiting\"} %" PRId64 "\n"
               "tocsin_sms_backlog_texts{state=\"failing\"} %" PRId64 "\n"
               "tocsin_sms_backlog_texts{state=\"given_up\"} %" PRId64 "\n",
               backlog.waiting, backlog.failing, backlog.given_up);
    buf_adds(out, "# TYPE tocsin_sms_backlog_oldest_seconds gauge\n");
    buf_printf(out, "tocsin_sms_backlog_oldest_seconds %" PRId64 "\n", backlog.oldest_seconds);
}

/* /metrics tells who writes to us and how much: on the public listener it takes the bearer
 * token of [http] metrics_token; the admin listener is the operator's own network. */
static bool metrics_allowed(struct http_request *req)
{
    if (http_on_admin_listener(req))
        return true;
    const char *token = config_str("http", "metrics_token");
    if (!*token) {
        http_respond_text(req, 403,
                          "/metrics needs [http] metrics_token (Authorization: Bearer TOKEN) "
                          "or [http] admin_listen");
        return false;
    }
    const char *auth = http_header(req, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && signature_equal(auth + 7, token))
        return true;
    metrics_add("tocsin_metrics_refused_total", 1);
    http_add_header(req, "WWW-Authenticate", "Bearer realm=\"tocsin metrics\"");
    http_respond_text(req, 401, auth ? "bad bearer token" : "bearer token required");
    return false;
}

static void handle_metrics(struct http_request *req)
{
    if (!metrics_allowed(req))
        return;
    struct buf out = BUF_INIT;
    queue_gauges(req, &out);
    metrics_render(&out);
    http_respond(req, 200, "text/plain; version=0.0.4", buf_str(&out), out.len);
    buf_release(&out);
}

const struct http_route http_routes[] = {
    {"GET", "/healthz", handle_healthz, 0},
    {"GET", "/metrics", handle_metrics, 0},
    {"POST", "/sms/twilio", webhook_twilio, 0},
    {"POST", "/sms/twilio/status", webhook_twilio_status, 0},
    {"GET|POST", "/sms/vonage", webhook_vonage, 0},
    {"GET|POST", "/sms/vonage/dlr", webhook_vonage_dlr, 0},
    {"GET|POST", "/sms/kannel", webhook_kannel, 0},
    {"GET|POST", "/sms/kannel/dlr", webhook_kannel_dlr, 0},
    {"POST", "/sms/generic", webhook_generic, 0},
    {"GET|POST", "/c/", confirm_handle, HTTP_SECRET_PATH},
    {"GET|POST", "/u/", unsubscribe_handle, HTTP_SECRET_PATH},
    {"GET|POST", "/login/", login_page, HTTP_SECRET_PATH},
    /* The organisers' console: its files, its pages (api/console.h); a CSV upload takes
     * [http] max_upload. */
    {"GET|HEAD", "/admin/static/", console_static, 0},
    {"POST", "/admin/import", console_dispatch, HTTP_UPLOAD},
    {"GET|HEAD|POST", "/admin/", console_dispatch, 0},
    {"GET|HEAD", "/admin", console_dispatch, 0},
    /* The import takes a CSV file: [http] max_upload rather than max_body. */
    {"POST", "/api/v1/import", api_dispatch, HTTP_UPLOAD},
    {"GET|HEAD|POST|PATCH|PUT|DELETE", "/api/v1/", api_dispatch, 0},
    {NULL, NULL, NULL, 0},
};

/*
 * The organisers' API: every route with the need checked before its handler runs
 * (core/authz.h), in the order docs/api.md presents them. The OpenAPI document
 * (/api/v1/openapi.json) is generated from these rows, and the tests walk them.
 */
#define Q_PAGE "after limit"
#define B_CONTACT                                                                                  \
    "{\"type\":\"object\",\"required\":[\"contact\"],\"properties\":{\"contact\":{\"type\":"       \
    "\"string\"}}}"

const struct api_route api_routes[] = {
    /* Signing in */
    {"POST", "/api/v1/auth/login", AUTHZ_PUBLIC, NULL, AUTHZ_PUBLIC, route_auth_login,
     "Ask for a sign-in link (email) or code (SMS)", NULL, B_CONTACT, NULL},
    {"POST", "/api/v1/auth/code", AUTHZ_PUBLIC, NULL, AUTHZ_PUBLIC, route_auth_code,
     "Sign in with the 6-digit code; sets the session cookie", NULL,
     "{\"type\":\"object\",\"required\":[\"contact\",\"code\"],\"properties\":{"
     "\"contact\":{\"type\":\"string\"},\"code\":{\"type\":\"string\",\"pattern\":\"^[0-9]{6}$\"}}"
     "}",
     NULL},
    {"POST", "/api/v1/auth/link", AUTHZ_PUBLIC, NULL, AUTHZ_PUBLIC, route_auth_link,
     "Sign in with the token of a sign-in link; sets the session cookie", NULL,
     "{\"type\":\"object\",\"required\":[\"token\"],\"properties\":{\"token\":{\"type\":\"string\"}"
     "}}",
     NULL},
    {"POST", "/api/v1/auth/logout", AUTHZ_ACCOUNT, NULL, AUTHZ_ACCOUNT, route_auth_logout,
     "Sign out: the session ends", NULL, NULL, NULL},
    {"GET", "/api/v1/me", AUTHZ_ACCOUNT, NULL, AUTHZ_ACCOUNT, route_me,
     "Who am I: roles, teams, events, and the CSRF token of my session", NULL, NULL, NULL},
    {"GET", "/api/v1/openapi.json", AUTHZ_PUBLIC, NULL, AUTHZ_PUBLIC, route_openapi,
     "This API as an OpenAPI 3.1 document", NULL, NULL, NULL},

    /* Accounts (admins) */
    {"GET", "/api/v1/users", AUTHZ_ADMIN, NULL, AUTHZ_ADMIN, route_users_list,
     "Every account with its roles", NULL, NULL, NULL},
    {"POST", "/api/v1/users", AUTHZ_ADMIN, NULL, AUTHZ_ADMIN, route_user_add,
     "Give a role (admin, organiser of a team, host of an event) to a contact's person", NULL,
     "{\"type\":\"object\",\"required\":[\"contact\",\"role\"],\"properties\":{"
     "\"contact\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"role\":{\"enum\":[\"admin\",\"organiser\",\"host\"]},"
     "\"team\":{\"type\":\"string\"},\"event\":{\"type\":\"string\"}}}",
     NULL},
    {"DELETE", "/api/v1/users/{id}", AUTHZ_ADMIN, NULL, AUTHZ_ADMIN, route_user_remove,
     "Take away a role (?role=&team=&event=) or all of them", "role team event", NULL, NULL},

    /* Teams */
    {"GET", "/api/v1/teams", AUTHZ_ACCOUNT, NULL, AUTHZ_ACCOUNT, route_teams_list,
     "The teams I reach, with member and event counts", NULL, NULL, NULL},
    {"POST", "/api/v1/teams", AUTHZ_ADMIN, NULL, AUTHZ_ADMIN, route_team_create, "Create a team",
     NULL,
     "{\"type\":\"object\",\"required\":[\"slug\",\"name\"],\"properties\":{"
     "\"slug\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"region\":{\"type\":\"string\"}}}",
     NULL},
    {"GET", "/api/v1/teams/{team}", AUTHZ_TEAM, NULL, AUTHZ_TEAM, route_team_show,
     "One team: counts, organisers, upcoming events", NULL, NULL, NULL},
    {"GET", "/api/v1/teams/{team}/members", AUTHZ_TEAM, NULL, AUTHZ_TEAM, route_team_members,
     "Members, in person order (?since=DATE, ?pending=true)", "since pending " Q_PAGE, NULL, NULL},
    {"GET", "/api/v1/teams/{team}/activity", AUTHZ_TEAM, NULL, AUTHZ_TEAM, route_team_activity,
     "What happened in the team, newest first, and who did it", Q_PAGE, NULL, NULL},
    {"POST", "/api/v1/teams/{team}/organisers", AUTHZ_ADMIN, NULL, AUTHZ_ADMIN,
     route_team_organiser_add, "Make a contact's person an organiser of the team", NULL, B_CONTACT,
     NULL},
    {"DELETE", "/api/v1/teams/{team}/organisers/{person}", AUTHZ_ADMIN, NULL, AUTHZ_ADMIN,
     route_team_organiser_remove, "Make an organiser a plain member again", NULL, NULL, NULL},

    /* People */
    {"GET", "/api/v1/people", AUTHZ_TEAM, "team", AUTHZ_ORGANISER, route_people_list,
     "People in my teams, filtered", "team tag search opted_out " Q_PAGE, NULL, NULL},
    {"GET", "/api/v1/people/export", AUTHZ_TEAM, "team", AUTHZ_ORGANISER, route_people_export,
     "The same as CSV, every page", "team tag search opted_out", NULL, "text/csv"},
    {"GET", "/api/v1/people/{id}", AUTHZ_PERSON, NULL, AUTHZ_PERSON, route_people_show,
     "One person: contacts, memberships, RSVPs, consent history, last messages", NULL, NULL, NULL},
    {"GET", "/api/v1/optouts", AUTHZ_ORGANISER, NULL, AUTHZ_ORGANISER, route_optouts_list,
     "Current opt-outs, newest first", "since channel " Q_PAGE, NULL, NULL},

    /* Events */
    {"GET", "/api/v1/events", AUTHZ_ACCOUNT, NULL, AUTHZ_ACCOUNT, route_events_list,
     "Events I reach (upcoming; ?all=true for past ones too)", "team all", NULL, NULL},
    {"POST", "/api/v1/events", AUTHZ_TEAM, "team", AUTHZ_TEAM, route_event_create,
     "Create an event in one of my teams", NULL,
     "{\"type\":\"object\",\"required\":[\"team\",\"slug\",\"title\",\"starts\"],"
     "\"properties\":{\"team\":{\"type\":\"string\"},\"slug\":{\"type\":\"string\"},"
     "\"title\":{\"type\":\"string\"},\"starts\":{\"type\":\"string\",\"description\":"
     "\"YYYY-MM-DD HH:MM, local time\"},\"timezone\":{\"type\":\"string\"},"
     "\"capacity\":{\"type\":[\"integer\",\"null\"]},\"location\":{\"type\":\"string\"}}}",
     NULL},
    {"GET", "/api/v1/events/{event}", AUTHZ_EVENT_DOOR, NULL, AUTHZ_EVENT_DOOR, route_event_show,
     "One event with its answers", NULL, NULL, NULL},
    {"PATCH", "/api/v1/events/{event}", AUTHZ_EVENT, NULL, AUTHZ_EVENT, route_event_update,
     "Edit title, location, capacity (null: no limit)", NULL,
     "{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\"},"
     "\"location\":{\"type\":\"string\"},\"capacity\":{\"type\":[\"integer\",\"null\"]}}}",
     NULL},
    {"POST", "/api/v1/events/{event}/move", AUTHZ_EVENT, NULL, AUTHZ_EVENT, route_event_move,
     "Move the event; everyone who said yes is told (with the note, when given)", NULL,
     "{\"type\":\"object\",\"required\":[\"starts\"],\"properties\":{"
     "\"starts\":{\"type\":\"string\"},\"timezone\":{\"type\":\"string\"},"
     "\"note\":{\"type\":\"string\",\"maxLength\":500}}}",
     NULL},
    {"POST", "/api/v1/events/{event}/cancel", AUTHZ_EVENT, NULL, AUTHZ_EVENT, route_event_cancel,
     "Cancel the event; everyone who said yes is told (with the note, when given)", NULL,
     "{\"type\":\"object\",\"properties\":{\"note\":{\"type\":\"string\","
     "\"maxLength\":500}}}",
     NULL},
    {"GET", "/api/v1/events/{event}/attendees", AUTHZ_EVENT_DOOR, NULL, AUTHZ_EVENT_DOOR,
     route_event_attendees, "The door list (?format=csv for a spreadsheet)", "format", NULL, NULL},
    {"POST", "/api/v1/events/{event}/checkin", AUTHZ_EVENT_DOOR, NULL, AUTHZ_EVENT_DOOR,
     route_event_checkin, "Check someone in: a contact, or a walk-in by name", NULL,
     "{\"type\":\"object\",\"properties\":{\"contact\":{\"type\":\"string\"},"
     "\"name\":{\"type\":\"string\"},\"phone\":{\"type\":\"string\"},"
     "\"email\":{\"type\":\"string\"}}}",
     NULL},

    /* Inbox */
    {"GET", "/api/v1/inbox", AUTHZ_ORGANISER, NULL, AUTHZ_ORGANISER, route_inbox_list,
     "Messages that need a human, newest first (?all=true: handled ones too)", "all " Q_PAGE, NULL,
     NULL},
    {"POST", "/api/v1/inbox/{id}/reply", AUTHZ_INBOX, NULL, AUTHZ_INBOX, route_inbox_reply,
     "Reply on the supporter's channel (threaded for email)", NULL,
     "{\"type\":\"object\",\"required\":[\"text\"],\"properties\":{\"text\":{\"type\":\"string\"}}"
     "}",
     NULL},
    {"POST", "/api/v1/inbox/{id}/done", AUTHZ_INBOX, NULL, AUTHZ_INBOX, route_inbox_done,
     "Mark the message handled", NULL, NULL, NULL},

    /* Campaigns */
    {"GET", "/api/v1/campaigns", AUTHZ_ORGANISER, NULL, AUTHZ_ORGANISER, route_campaigns_list,
     "Campaigns of my teams and mine, in id order", Q_PAGE, NULL, NULL},
    {"POST", "/api/v1/campaigns", AUTHZ_CAMPAIGN, "segment", AUTHZ_CAMPAIGN, route_campaign_create,
     "Create a draft (or scheduled) campaign to a segment of my teams (?dry_run=true: check"
     " and count only)",
     "dry_run",
     "{\"type\":\"object\",\"required\":[\"channel\",\"segment\"],\"properties\":{"
     "\"channel\":{\"enum\":[\"email\",\"sms\"]},\"segment\":{\"type\":\"string\"},"
     "\"subject\":{\"type\":\"string\"},\"template\":{\"type\":\"string\",\"description\":"
     "\"a whole message file; else text, html, sms\"},\"text\":{\"type\":\"string\"},"
     "\"html\":{\"type\":\"string\"},\"sms\":{\"type\":\"string\"},"
     "\"at\":{\"type\":\"string\"},\"timezone\":{\"type\":\"string\"},"
     "\"urgent\":{\"type\":\"boolean\"}}}",
     NULL},
    {"GET", "/api/v1/campaigns/{id}", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN, route_campaign_show,
     "Status, progress, failure reasons", NULL, NULL, NULL},
    {"GET", "/api/v1/campaigns/{id}/preview", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_preview, "The campaign as one person will read it (default: me)", "person",
     NULL, NULL},
    {"POST", "/api/v1/campaigns/{id}/test", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_test, "Send a test copy to myself", NULL, NULL, NULL},
    {"POST", "/api/v1/campaigns/{id}/send", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_send, "Send now (the scheduler's next round fans it out)", NULL, NULL, NULL},
    {"POST", "/api/v1/campaigns/{id}/pause", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_pause, "Pause: queued messages are held", NULL, NULL, NULL},
    {"POST", "/api/v1/campaigns/{id}/resume", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_resume, "Resume a paused campaign", NULL, NULL, NULL},
    {"POST", "/api/v1/campaigns/{id}/cancel", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_cancel, "Cancel: queued messages are withdrawn", NULL, NULL, NULL},
    {"POST", "/api/v1/campaigns/{id}/retry", AUTHZ_CAMPAIGN, NULL, AUTHZ_CAMPAIGN,
     route_campaign_retry, "Queue the failed messages again", NULL, NULL, NULL},

    /* Import */
    {"POST", "/api/v1/import", AUTHZ_TEAM, "team", AUTHZ_ADMIN, route_import,
     "Import supporters from CSV (?dry_run=true first); organisers name their team",
     "team dry_run filename", "text/csv", NULL},
    {NULL, NULL, AUTHZ_PUBLIC, NULL, AUTHZ_PUBLIC, NULL, NULL, NULL, NULL, NULL},
};

bool http_route_served(const struct http_route *r, bool admin_listener)
{
    if (admin_listener)
        return strcmp(r->path, "/healthz") == 0 || strcmp(r->path, "/metrics") == 0;
    /* A gateway's webhooks (/sms/NAME and below) exist only while NAME is the configured
     * provider: nobody may speak for a gateway this deployment does not use. */
    if (strncmp(r->path, "/sms/", 5) != 0)
        return true;
    const char *name = r->path + 5;
    const char *provider = config_str("sms", "provider");
    size_t n = strlen(provider);
    return strncmp(name, provider, n) == 0 && (name[n] == '\0' || name[n] == '/');
}
