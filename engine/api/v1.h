/*
 * v1 — the organisers' JSON API under /api/v1/: one dispatcher in front of the rows of
 * api_routes[] (routes.c).
 *
 * api_dispatch() is the http route of the /api/v1/ prefix. For every request, in order:
 *   1. match a row by method and path pattern ("/api/v1/events/{event}/attendees"):
 *      404 when no pattern matches, 405 (with Allow) when only the method differs;
 *   2. authenticate: `Authorization: Bearer tocsin_…` (an API token; a bad one is 401),
 *      else the session cookie; a cookie-authenticated write (any method but GET/HEAD)
 *      must carry the session's CSRF token in `X-CSRF-Token` (403 otherwise);
 *   3. read the body: a JSON object for POST/PATCH/DELETE that send one (400 otherwise);
 *      the import route takes its CSV as is;
 *   4. resolve the resource the row's need names — {team} and {event} in the path always,
 *      a team/event given in the query or body, {id} of a person, inbox message or
 *      campaign, a campaign's segment — into ids and a scope (404 when it does not exist);
 *   5. authz_decide() on the row's need (core/authz.h): 401 without an account, 403 when
 *      the need is not met;
 * and only then runs the row's handler with a struct api_call. Errors are
 * {"error": {"code": "...", "message": "..."}} with 400/401/403/404/405/409/413/422/503.
 *
 * Handlers read arguments with api_arg() (path parameter, else body field, else query
 * parameter: the path wins, since the authorisation was decided on it) and answer once with
 * api_reply() (takes the JSON value) or api_fail(). api_openapi() builds the OpenAPI 3.1 document
 * from the same rows (caller decrefs).
 */
#ifndef TOCSIN_API_V1_H
#define TOCSIN_API_V1_H

#include "lib/db.h"
#include "core/account.h"
#include "core/authz.h"
#include "core/http.h"
#include "api/model.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define API_SESSION_COOKIE  "tocsin_session"
#define API_MAX_PATH_PARAMS 4

struct api_call;

struct api_route {
    const char *method;
    const char *pattern;       /* "/api/v1/teams/{team}/members" */
    enum authz_need need;      /* checked before the handler runs */
    const char *scope;         /* optional resource named in the query or body ("team"); NULL */
    enum authz_need if_absent; /* the need when `scope` is not given */
    void (*handle)(struct api_call *c);
    const char *summary;
    const char *query;    /* documented query parameters, space-separated */
    const char *body;     /* JSON Schema of the request body, or NULL */
    const char *produces; /* NULL: application/json; else e.g. "text/csv" */
};

extern const struct api_route api_routes[];

/*
 * A surface: a table of routes and the manner of its answers. The organisers' API is one
 * (JSON errors); the console (api/console.h) is another (HTML pages, form bodies), so one
 * dispatcher — authentication, CSRF, resolution of the resource, authz_decide() — guards
 * both. NULL hooks take the API's ways.
 */
struct api_surface {
    const struct api_route *routes;
    /* Answer a refusal (401, 403, 404 …) made by the dispatcher or by api_fail(). */
    void (*refuse)(struct api_call *c, unsigned status, const char *message);
    /* The CSRF token a cookie-authenticated write presents; NULL: X-CSRF-Token. */
    const char *(*csrf_presented)(struct api_call *c);
    /* Read a write's body into c->body: 0, or -1 after answering; NULL: a JSON object. */
    int (*read_body)(struct api_call *c);
    /* Run the route's handler once everything is checked; NULL: c->route->handle(c). */
    void (*run)(struct api_call *c);
};

extern const struct api_surface api_v1_surface;

struct api_call {
    const struct api_surface *surface;
    struct http_request *req;
    struct db *db;
    struct caller who;
    const struct api_route *route;
    json_t *body; /* the JSON object sent, or NULL */
    char *path_names[API_MAX_PATH_PARAMS];
    char *path_values[API_MAX_PATH_PARAMS];
    int npath;
    /* Resolved before the handler: 0 when the route names no such resource. */
    int64_t team_id, event_id, person_id, inbox_id, campaign_id;
};

void api_dispatch(struct http_request *req);
void api_dispatch_surface(struct http_request *req, const struct api_surface *surface);

const char *api_arg(const struct api_call *c, const char *name);
/* A boolean argument: true, 1, yes, on (JSON true too). */
bool api_flag(const struct api_call *c, const char *name);
/* ?after=&limit= into a page; false after answering 400. */
bool api_page(struct api_call *c, struct page *p);

void api_reply(struct api_call *c, unsigned status, json_t *value);
/* Answer with the model's result: 200 and the value, or the error. */
void api_answer(struct api_call *c, json_t *value, struct api_error *e);
void api_fail(struct api_call *c, struct api_error *e);
void api_fail_status(struct api_call *c, unsigned status, const char *message);

json_t *api_openapi(void);

#endif
