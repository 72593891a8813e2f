#include "api/v1.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/session.h"
#include "campaigns/segment.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest path parameter accepted: slugs are 63 characters, ids 19 digits. */
#define PATH_PARAM_MAX 128

static void respond_json(struct http_request *req, unsigned status, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII);
    http_respond(req, status, "application/json", text, strlen(text));
    free(text);
}

static void respond_error(struct http_request *req, unsigned status, const char *message)
{
    json_t *body =
        json_pack("{s:{s:s,s:s}}", "error", "code", api_error_code(status), "message", message);
    respond_json(req, status, body);
    json_decref(body);
}

void api_reply(struct api_call *c, unsigned status, json_t *value)
{
    respond_json(c->req, status, value);
    json_decref(value);
}

/* A refusal in the manner of the call's surface: JSON for the API, a page for the console. */
static void refuse(struct api_call *c, unsigned status, const char *message)
{
    if (c->surface && c->surface->refuse)
        c->surface->refuse(c, status, message);
    else
        respond_error(c->req, status, message);
}

void api_fail(struct api_call *c, struct api_error *e)
{
    refuse(c, e->status ? e->status : 500, e->message ? e->message : "internal error");
    api_error_release(e);
}

void api_fail_status(struct api_call *c, unsigned status, const char *message)
{
    refuse(c, status, message);
}

void api_answer(struct api_call *c, json_t *value, struct api_error *e)
{
    if (value)
        api_reply(c, 200, value);
    else
        api_fail(c, e);
}

static const char *path_param(const struct api_call *c, const char *name)
{
    for (int i = 0; i < c->npath; i++)
        if (strcmp(c->path_names[i], name) == 0)
            return c->path_values[i];
    return NULL;
}

const char *api_arg(const struct api_call *c, const char *name)
{
    /* The path first: it is what the authorisation was decided on. */
    const char *p = path_param(c, name);
    if (p)
        return p;
    json_t *v = c->body ? json_object_get(c->body, name) : NULL;
    if (json_is_string(v))
        return json_string_value(v);
    return http_query(c->req, name);
}

bool api_flag(const struct api_call *c, const char *name)
{
    json_t *v = c->body ? json_object_get(c->body, name) : NULL;
    if (json_is_boolean(v))
        return json_is_true(v);
    const char *s = api_arg(c, name);
    return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0 ||
                 strcmp(s, "on") == 0);
}

bool api_page(struct api_call *c, struct page *p)
{
    struct api_error e = {0};
    if (page_parse(http_query(c->req, "after"), http_query(c->req, "limit"), p, &e) < 0) {
        api_fail(c, &e);
        return false;
    }
    return true;
}

/* Match "/api/v1/teams/{team}" against a path, capturing parameters. */
static bool match_pattern(const char *pattern, const char *path, struct api_call *c)
{
    c->npath = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t len = strcspn(s, "/");
            if (!close || len == 0 || len > PATH_PARAM_MAX || c->npath == API_MAX_PATH_PARAMS)
                goto no;
            c->path_names[c->npath] = xstrndup(p + 1, (size_t)(close - p - 1));
            c->path_values[c->npath] = xstrndup(s, len);
            c->npath++;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            goto no;
        p++;
        s++;
    }
    if (*p == '\0' && *s == '\0')
        return true;
no:
    for (int i = 0; i < c->npath; i++) {
        free(c->path_names[i]);
        free(c->path_values[i]);
    }
    c->npath = 0;
    return false;
}

static void release_path(struct api_call *c)
{
    for (int i = 0; i < c->npath; i++) {
        free(c->path_names[i]);
        free(c->path_values[i]);
    }
    c->npath = 0;
}

/* Who is asking: a bearer token, else the session cookie. 0, or -1 after answering. */
static int authenticate(struct api_call *c)
{
    const char *authorization = http_header(c->req, "Authorization");
    char *error = NULL;
    int64_t person = 0;
    if (authorization) {
        int64_t token_id = 0;
        int found = strncasecmp(authorization, "Bearer ", 7) == 0
                        ? api_token_lookup(c->db, authorization + 7, &person, &token_id, &error)
                        : 0;
        if (found < 0)
            goto db_error;
        if (found == 0) {
            refuse(c, 401, "the bearer token is not valid (revoked, or mistyped)");
            return -1;
        }
        int rc = account_load(c->db, person, "api", &c->who, &error);
        if (rc < 0)
            goto db_error;
        c->who.token_id = token_id;
        return 0;
    }
    const char *cookie = http_cookie(c->req, API_SESSION_COOKIE);
    if (!cookie)
        return 0;
    int found = session_lookup(c->db, cookie, &person, &error);
    if (found < 0)
        goto db_error;
    if (found == 0)
        return 0;
    if (account_load(c->db, person, "api", &c->who, &error) < 0)
        goto db_error;
    c->who.session_id = xstrdup(cookie);
    return 0;
db_error:
    log_warn("api_auth", "error=%s", log_q(error));
    free(error);
    refuse(c, db_transient(c->db) ? 503 : 500,
           db_transient(c->db) ? "the database is unavailable, try again" : "internal error");
    return -1;
}

static bool is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static bool takes_json_body(const struct api_route *r)
{
    /* A route whose body is not a JSON schema (the CSV import) reads it itself. */
    return is_write(r->method) && !(r->body && r->body[0] != '{');
}

/* Read the JSON body of a write; 0, or -1 after answering 400. */
static int read_body(struct api_call *c)
{
    size_t len = 0;
    const char *body = http_body(c->req, &len);
    if (!takes_json_body(c->route) || len == 0)
        return 0;
    json_error_t jerr;
    c->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!c->body || !json_is_object(c->body)) {
        char *message = c->body
                            ? xstrdup("the body must be a JSON object")
                            : xasprintf("the body is not JSON: %s (line %d)", jerr.text, jerr.line);
        json_decref(c->body);
        c->body = NULL;
        refuse(c, 400, message);
        free(message);
        return -1;
    }
    return 0;
}

static int query_ids(struct api_call *c, const char *sql, const char *value, PGresult **res_r,
                     struct api_error *e)
{
    const char *params[] = {value};
    char *error = NULL;
    *res_r = db_exec(c->db, sql, 1, params, &error);
    if (!*res_r) {
        api_error_db(e, c->db, "api resolve", error);
        return -1;
    }
    return PQntuples(*res_r);
}

/* "{3,7}" from a result column into a scope set (a person may be in any number of teams). */
static void add_set_from_array(struct authz_scope *scope, const char *literal)
{
    size_t n = 0, cap = 8;
    int64_t *ids = xcalloc(cap, sizeof(*ids));
    const char *p = literal ? literal : "";
    while (*p) {
        while (*p && !isdigit((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char *end;
        int64_t id = strtoll(p, &end, 10);
        p = end;
        if (n == cap)
            ids = xrealloc(ids, (cap *= 2) * sizeof(*ids));
        ids[n++] = id;
    }
    authz_scope_add(scope, ids, n);
    free(ids);
}

static int resolve_team(struct api_call *c, const char *slug, struct authz_scope *scope,
                        struct api_error *e)
{
    PGresult *res;
    int n = query_ids(c, "SELECT id FROM teams WHERE slug = lower($1)", slug, &res, e);
    if (n < 0)
        return -1;
    if (n == 1)
        c->team_id = model_int(res, 0, 0);
    PQclear(res);
    if (n != 1) {
        api_error_set(e, 404, "no team %s", slug);
        return -1;
    }
    if (scope)
        authz_scope_add(scope, &c->team_id, 1);
    return 0;
}

static int resolve_event(struct api_call *c, const char *slug, struct authz_scope *scope,
                         struct api_error *e)
{
    PGresult *res;
    int n = query_ids(c, "SELECT id, team_id FROM events WHERE slug = lower($1)", slug, &res, e);
    if (n < 0)
        return -1;
    int64_t team = 0;
    if (n == 1) {
        c->event_id = model_int(res, 0, 0);
        team = model_int(res, 0, 1);
    }
    PQclear(res);
    if (n != 1) {
        api_error_set(e, 404, "no event %s", slug);
        return -1;
    }
    if (scope) {
        scope->event_id = c->event_id;
        authz_scope_add(scope, &team, team ? 1 : 0);
    }
    return 0;
}

static bool id_valid(const char *text, int64_t *id_r)
{
    long v;
    if (!text || str_to_long(text, 1, INT64_MAX, &v) < 0)
        return false;
    *id_r = v;
    return true;
}

/* One row by numeric id: its first column is an array of team ids, the scope's set. */
static int resolve_by_id(struct api_call *c, const char *sql, const char *id, int64_t *id_r,
                         const char *what, struct authz_scope *scope, struct api_error *e)
{
    if (!id_valid(id, id_r)) {
        api_error_set(e, 404, "no %s %s", what, id);
        return -1;
    }
    PGresult *res;
    int n = query_ids(c, sql, id, &res, e);
    if (n < 0)
        return -1;
    if (n == 1)
        add_set_from_array(scope, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (n != 1) {
        api_error_set(e, 404, "no %s %s", what, id);
        return -1;
    }
    return 0;
}

static int resolve_person(struct api_call *c, const char *id, struct authz_scope *scope,
                          struct api_error *e)
{
    return resolve_by_id(c,
                         "SELECT array(SELECT team_id FROM memberships WHERE person_id = p.id)"
                         " FROM people p WHERE p.id = $1",
                         id, &c->person_id, "person", scope, e);
}

static int resolve_inbox(struct api_call *c, const char *id, struct authz_scope *scope,
                         struct api_error *e)
{
    return resolve_by_id(c,
                         "SELECT array(SELECT team_id FROM memberships m"
                         "  WHERE m.person_id = i.person_id) FROM inbox i WHERE i.id = $1",
                         id, &c->inbox_id, "inbox message", scope, e);
}

/* Each term of a segment: the teams it names and the teams of the events it names. */
static int resolve_segment(struct api_call *c, const char *text, struct authz_scope *scope,
                           struct api_error *e)
{
    struct segment seg;
    char *error = NULL;
    if (segment_compile(text, 1, &seg, &error) < 0) {
        api_error_set(e, 422, "%s", error);
        free(error);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < seg.nterms && rc == 0; i++) {
        const char *params[] = {seg.terms[i].teams, seg.terms[i].events};
        PGresult *res = db_exec(c->db,
                                "SELECT array(SELECT id FROM teams WHERE slug = ANY($1::text[])"
                                " UNION SELECT team_id FROM events WHERE slug = ANY($2::text[])"
                                " AND team_id IS NOT NULL)",
                                2, params, &error);
        if (!res) {
            api_error_db(e, c->db, "api segment", error);
            rc = -1;
            break;
        }
        add_set_from_array(scope, PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    segment_release(&seg);
    return rc;
}

static int resolve_campaign(struct api_call *c, const char *id, struct authz_scope *scope,
                            struct api_error *e)
{
    PGresult *res = NULL;
    int n = id_valid(id, &c->campaign_id)
                ? query_ids(c, "SELECT segment FROM campaigns WHERE id = $1", id, &res, e)
                : 0;
    if (n < 0)
        return -1;
    char *segment = n == 1 ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
    if (res)
        PQclear(res);
    if (n != 1) {
        api_error_set(e, 404, "no campaign %s", id);
        return -1;
    }
    int rc = resolve_segment(c, segment, scope, e);
    free(segment);
    return rc;
}

/*
 * The resource the route names, into ids (for the handler) and a scope (for the
 * decision); the need that applies (a route whose optional resource is absent falls back
 * to its `if_absent` need). 0, or -1 with *e.
 */
static int resolve(struct api_call *c, enum authz_need *need_r, struct authz_scope *scope,
                   struct api_error *e)
{
    const struct api_route *r = c->route;
    enum authz_need need = r->need;
    const char *team = path_param(c, "team"), *event = path_param(c, "event");
    const char *id = path_param(c, "id");
    if (team && resolve_team(c, team, need == AUTHZ_TEAM ? scope : NULL, e) < 0)
        return -1;
    if (event &&
        resolve_event(c, event, need == AUTHZ_EVENT || need == AUTHZ_EVENT_DOOR ? scope : NULL, e) <
            0)
        return -1;
    if (id && need == AUTHZ_PERSON && resolve_person(c, id, scope, e) < 0)
        return -1;
    if (id && need == AUTHZ_INBOX && resolve_inbox(c, id, scope, e) < 0)
        return -1;
    if (id && need == AUTHZ_CAMPAIGN && resolve_campaign(c, id, scope, e) < 0)
        return -1;
    if (r->scope) {
        const char *value = api_arg(c, r->scope);
        if (!value || !*value) {
            need = r->if_absent;
        } else if (strcmp(r->scope, "team") == 0) {
            if (resolve_team(c, value, need == AUTHZ_TEAM ? scope : NULL, e) < 0)
                return -1;
        } else if (strcmp(r->scope, "event") == 0) {
            if (resolve_event(c, value, scope, e) < 0)
                return -1;
        } else if (strcmp(r->scope, "segment") == 0) {
            if (resolve_segment(c, value, scope, e) < 0)
                return -1;
        }
    }
    *need_r = need;
    return 0;
}

static void allow_header(struct http_request *req, const struct api_route *routes,
                         const char *path)
{
    struct buf allow = BUF_INIT;
    struct api_call probe = {0};
    for (const struct api_route *r = routes; r->pattern; r++)
        if (match_pattern(r->pattern, path, &probe)) {
            buf_printf(&allow, "%s%s", allow.len ? ", " : "", r->method);
            release_path(&probe);
        }
    http_add_header(req, "Allow", buf_str(&allow));
    buf_release(&allow);
}

const struct api_surface api_v1_surface = {.routes = api_routes};

void api_dispatch(struct http_request *req)
{
    api_dispatch_surface(req, &api_v1_surface);
}

void api_dispatch_surface(struct http_request *req, const struct api_surface *surface)
{
    struct api_call c = {.req = req, .surface = surface};
    const char *method = http_method(req), *path = http_path(req);
    bool path_known = false;
    /* HEAD is GET without a body (libmicrohttpd drops it). */
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (const struct api_route *r = surface->routes; r->pattern; r++) {
        if (!match_pattern(r->pattern, path, &c))
            continue;
        if (strcmp(r->method, as) == 0) {
            c.route = r;
            break;
        }
        path_known = true;
        release_path(&c);
    }
    if (!c.route) {
        if (path_known) {
            allow_header(req, surface->routes, path);
            refuse(&c, 405, "method not allowed");
        } else {
            refuse(&c, 404, "no such route; see /api/v1/openapi.json");
        }
        return;
    }
    struct authz_scope scope = {0};
    struct api_error e = {0};
    c.db = http_db(req);
    if (!c.db) {
        refuse(&c, 503, "the database is unavailable, try again");
        goto out;
    }
    if (authenticate(&c) < 0)
        goto out;
    if (c.route->need != AUTHZ_PUBLIC && !caller_is_account(&c.who)) {
        refuse(&c, 401, "sign in first (session cookie or Authorization: Bearer)");
        goto out;
    }
    if (c.who.session_id && is_write(method) && c.route->need != AUTHZ_PUBLIC &&
        !session_csrf_ok(c.db, c.who.session_id,
                         surface->csrf_presented ? surface->csrf_presented(&c)
                                                 : http_header(req, "X-CSRF-Token"))) {
        refuse(&c, 403, "missing or wrong X-CSRF-Token (GET /api/v1/me gives it)");
        goto out;
    }
    if ((surface->read_body ? surface->read_body(&c) : read_body(&c)) < 0)
        goto out;
    enum authz_need need = c.route->need;
    if (resolve(&c, &need, &scope, &e) < 0) {
        refuse(&c, e.status, e.message);
        goto out;
    }
    if (authz_decide(&c.who, need, &scope) != AUTHZ_ALLOW) {
        log_info("api_denied", "person=%" PRId64 " method=%s path=%s need=%s", c.who.person_id,
                 method, log_q(path), authz_need_name(need));
        refuse(&c, 403, "your roles do not reach this");
        goto out;
    }
    if (surface->run)
        surface->run(&c);
    else
        c.route->handle(&c);
out:
    api_error_release(&e);
    authz_scope_release(&scope);
    json_decref(c.body);
    release_path(&c);
    caller_release(&c.who);
}

/* ---- OpenAPI 3.1, from the same rows ---- */

static json_t *error_response(const char *description)
{
    return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", description, "content",
                     "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static char *operation_id(const struct api_route *r)
{
    struct buf b = BUF_INIT;
    for (const char *m = r->method; *m; m++)
        buf_addch(&b, (char)tolower((unsigned char)*m));
    for (const char *p = r->pattern + strlen("/api/v1"); *p; p++) {
        if (*p == '/' || *p == '.' || *p == '-')
            buf_addch(&b, '_');
        else if (*p != '{' && *p != '}')
            buf_addch(&b, *p);
    }
    return buf_detach(&b);
}

static json_t *operation(const struct api_route *r)
{
    json_t *op = json_object();
    char *opid = operation_id(r);
    json_object_set_new(op, "operationId", json_string(opid));
    free(opid);
    json_object_set_new(op, "summary", json_string(r->summary));
    json_object_set_new(op, "x-tocsin-need", json_string(authz_need_name(r->need)));
    json_t *params = json_array();
    for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
        char *name = xstrndup(p + 1, strcspn(p + 1, "}"));
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "path",
                                                "required", 1, "schema", "type",
                                                strcmp(name, "id") == 0 ? "integer" : "string"));
        free(name);
    }
    if (r->query) {
        char *copy = xstrdup(r->query), *save = NULL;
        for (char *q = strtok_r(copy, " ", &save); q; q = strtok_r(NULL, " ", &save)) {
            bool integer =
                strcmp(q, "after") == 0 || strcmp(q, "limit") == 0 || strcmp(q, "person") == 0;
            json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", q, "in",
                                                    "query", "required", 0, "schema", "type",
                                                    integer ? "integer" : "string"));
        }
        free(copy);
    }
    json_object_set_new(op, "parameters", params);
    if (r->body) {
        json_t *schema = r->body[0] == '{' ? json_loads(r->body, 0, NULL) : NULL;
        json_t *content = schema ? json_pack("{s:{s:o}}", "application/json", "schema", schema)
                                 : json_pack("{s:{s:{s:s}}}", r->body, "schema", "type", "string");
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:o}", "required", 1, "content", content));
    }
    json_t *ok_content =
        r->produces ? json_pack("{s:{s:{s:s}}}", r->produces, "schema", "type", "string")
                    : json_pack("{s:{s:{s:s}}}", "application/json", "schema", "type", "object");
    json_t *responses =
        json_pack("{s:{s:s,s:o}}", "200", "description", "success", "content", ok_content);
    json_object_set_new(responses, "400", error_response("malformed request"));
    if (r->need != AUTHZ_PUBLIC) {
        json_object_set_new(responses, "401", error_response("not signed in"));
        json_object_set_new(responses, "403",
                            error_response("the caller's roles do not reach this"));
        json_object_set_new(op, "security", json_pack("[{s:[]},{s:[]}]", "bearer", "session"));
    } else {
        json_object_set_new(op, "security", json_array());
    }
    if (strchr(r->pattern, '{') || r->scope)
        json_object_set_new(responses, "404", error_response("no such resource"));
    if (is_write(r->method)) {
        json_object_set_new(responses, "409", error_response("conflicts with the current state"));
        json_object_set_new(responses, "422", error_response("well-formed but not acceptable"));
    }
    json_object_set_new(op, "responses", responses);
    return op;
}

json_t *api_openapi(void)
{
    json_t *paths = json_object();
    for (const struct api_route *r = api_routes; r->pattern; r++) {
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char *method = xstrdup(r->method);
        str_lower(method);
        json_object_set_new(item, method, operation(r));
        free(method);
    }
    json_t *doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o}", "openapi", "3.1.0", "info", "title",
        "tocsin organisers' API", "version", "1", "description",
        "Every organiser question and action as JSON. Errors are "
        "{\"error\": {\"code\", \"message\"}}; lists are {\"items\", \"next\"} with keyset "
        "pagination (?after=NEXT&limit=N). See docs/api.md.",
        "servers", "url", config_str("http", "public_url"), "paths", paths);
    json_object_set_new(
        doc, "components",
        json_pack("{s:{s:{s:s,s:s},s:{s:s,s:s,s:s}},s:{s:{s:s,s:[s],s:{s:{s:s,s:[s,s],s:{s:{s:s},"
                  "s:{s:s}}}}}}}",
                  "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "session",
                  "type", "apiKey", "in", "cookie", "name", API_SESSION_COOKIE, "schemas", "Error",
                  "type", "object", "required", "error", "properties", "error", "type", "object",
                  "required", "code", "message", "properties", "code", "type", "string", "message",
                  "type", "string"));
    return doc;
}
