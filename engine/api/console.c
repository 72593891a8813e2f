#include "api/console.h"
#include "lib/buf.h"
#include "lib/embedded.h"
#include "lib/form.h"
#include "lib/log.h"
#include "lib/mustache.h"
#include "lib/utf8.h"
#include "lib/util.h"
#include "core/session.h"
#include "api/inbox.h"
#include "api/teams.h"

#include <ctype.h>
#include <iconv.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * What a page needs besides its data, set up once per request by console_run() (and, for
 * a refusal made before any handler ran, by the refusal itself): the language, its
 * strings, the CSRF token of the session. One request runs on one thread from start to
 * answer, so a thread-local pointer carries it.
 */
struct console_ctx {
    const char *lang;
    const json_t *strings;
    char *csrf;
};

static __thread struct console_ctx *current;

/* ---- strings and templates, loaded from the binary once ---- */

static json_t *strings_en, *strings_fr;
static pthread_once_t strings_once = PTHREAD_ONCE_INIT;

static json_t *load_strings(const char *name)
{
    const struct embedded_file *f = embedded_find(name);
    json_error_t jerr;
    json_t *v = f ? json_loadb(f->data, f->len, 0, &jerr) : NULL;
    if (!v) {
        log_error("console_strings", "file=%s error=%s", name, log_q(f ? jerr.text : "missing"));
        v = json_object();
    }
    return v;
}

static void strings_load(void)
{
    strings_en = load_strings("web/console/en.json");
    strings_fr = load_strings("web/console/fr.json");
    /* A key missing in French falls back to English. */
    const char *key;
    json_t *value;
    json_object_foreach(strings_en, key, value)
        if (!json_object_get(strings_fr, key))
            json_object_set(strings_fr, key, value);
}

static const json_t *strings_of(const char *lang)
{
    pthread_once(&strings_once, strings_load);
    return strcmp(lang, "fr") == 0 ? strings_fr : strings_en;
}

struct cached_template {
    char *name;
    struct template *t;
};

static pthread_mutex_t templates_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_template *templates;
static size_t ntemplates;

/* A compiled template of web/console/, kept for the life of the process; NULL when it is
 * missing or does not compile (logged: a bug of the build, not of the request). */
static const struct template *template_get(const char *name)
{
    const struct template *found = NULL;
    pthread_mutex_lock(&templates_lock);
    for (size_t i = 0; i < ntemplates; i++)
        if (strcmp(templates[i].name, name) == 0) {
            found = templates[i].t;
            goto out;
        }
    char *path = xasprintf("web/console/%s.html", name);
    const struct embedded_file *f = embedded_find(path);
    char *error = NULL;
    struct template *t = f ? template_compile(f->data, &error) : NULL;
    if (!t) {
        log_error("console_template", "file=%s error=%s", path, log_q(f ? error : "missing"));
        free(error);
    } else {
        templates = xrealloc(templates, (ntemplates + 1) * sizeof(*templates));
        templates[ntemplates].name = xstrdup(name);
        templates[ntemplates].t = t;
        ntemplates++;
        found = t;
    }
    free(path);
out:
    pthread_mutex_unlock(&templates_lock);
    return found;
}

/* ---- the request's language ---- */

/* "fr-FR,fr;q=0.9,en;q=0.8": the first language named, when it is one we speak. */
static const char *lang_of_header(const char *accept)
{
    for (const char *p = accept ? accept : ""; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncasecmp(p, "fr", 2) == 0)
            return "fr";
        if (strncasecmp(p, "en", 2) == 0)
            return "en";
        p += strcspn(p, ",");
    }
    return "en";
}

static const char *lang_of_locale(const char *locale)
{
    return locale && strncmp(locale, "fr", 2) == 0 ? "fr" : "en";
}

const char *console_lang(void)
{
    return current ? current->lang : "en";
}

const char *console_t(const char *key)
{
    const json_t *strings = current ? current->strings : strings_of("en");
    const char *s = json_string_value(json_object_get(strings, key));
    return s ? s : key;
}

char *console_say(const char *key, json_t *vars)
{
    char *error = NULL;
    struct template *t = template_compile(console_t(key), &error);
    struct buf out = BUF_INIT;
    if (t) {
        template_render(t, vars, false, &out);
        template_free(&t);
    } else {
        log_error("console_say", "key=%s error=%s", key, log_q(error));
        free(error);
    }
    json_decref(vars);
    return buf_detach(&out);
}

/* ---- answers ---- */

static void security_headers(struct http_request *req)
{
    http_add_header(req, "Content-Security-Policy",
                    "default-src 'none'; script-src 'self'; style-src 'self';"
                    " img-src 'self' data:; connect-src 'self'; frame-src 'self';"
                    " form-action 'self';"
                    " base-uri 'none'; frame-ancestors 'none'");
    http_add_header(req, "X-Frame-Options", "DENY");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    http_add_header(req, "Referrer-Policy", "same-origin");
}

bool console_htmx(const struct api_call *c)
{
    const char *hx = http_header(c->req, "HX-Request");
    const char *boosted = http_header(c->req, "HX-Boosted");
    return hx && strcmp(hx, "true") == 0 && !(boosted && strcmp(boosted, "true") == 0);
}

char *console_render(const char *name, json_t *data)
{
    const struct template *t = template_get(name);
    struct buf out = BUF_INIT;
    if (!json_object_get(data, "t") && current)
        json_object_set(data, "t", (json_t *)current->strings);
    if (!json_object_get(data, "csrf") && current && current->csrf)
        json_object_set_new(data, "csrf", json_string(current->csrf));
    if (t)
        template_render(t, data, true, &out);
    return buf_detach(&out);
}

static void respond_html(struct api_call *c, unsigned status, const char *html)
{
    security_headers(c->req);
    http_respond(c->req, status, "text/html; charset=utf-8", html, strlen(html));
}

void console_fragment(struct api_call *c, unsigned status, const char *name, json_t *data)
{
    char *html = console_render(name, data);
    json_decref(data);
    respond_html(c, status, html);
    free(html);
}

/* The open inbox count for the navigation badge; 0 when it cannot be read. */
static json_int_t inbox_open(struct api_call *c)
{
    struct page page = {.after = 0, .limit = 1};
    struct api_error e = {0};
    json_t *inbox = inbox_list(c->db, &c->who, false, &page, &e);
    api_error_release(&e);
    json_int_t n = json_integer_value(json_object_get(inbox, "open"));
    json_decref(inbox);
    return n;
}

void console_page(struct api_call *c, unsigned status, const char *name, const char *section,
                  const char *title, json_t *data)
{
    if (!data)
        data = json_object();
    struct console_ctx fallback = {0};
    if (!current) {
        fallback.lang = lang_of_header(http_header(c->req, "Accept-Language"));
        fallback.strings = strings_of(fallback.lang);
        current = &fallback;
    }
    json_object_set(data, "t", (json_t *)current->strings);
    bool account = caller_is_account(&c->who);
    bool organiser = account && (c->who.admin || c->who.nteams > 0);
    json_t *layout = json_pack("{s:s,s:s,s:O,s:b,s:b,s:b}", "lang", current->lang, "title",
                               title ? title : "", "t", json_object_get(data, "t"), "signed_in",
                               account, "organiser", organiser, "admin", account && c->who.admin);
    if (account) {
        json_object_set_new(layout, "me_name",
                            json_string(c->who.name && *c->who.name ? c->who.name : "?"));
        if (organiser && c->db) {
            json_int_t open = inbox_open(c);
            if (open > 0)
                json_object_set_new(layout, "inbox_open", json_integer(open));
        }
    }
    if (current->csrf)
        json_object_set_new(layout, "csrf", json_string(current->csrf));
    if (section) {
        char *key = xasprintf("nav_%s", section);
        json_object_set_new(layout, key, json_true());
        free(key);
    }
    if (current->csrf)
        json_object_set_new(data, "csrf", json_string(current->csrf));
    char *body = console_render(name, data);
    json_object_set_new(layout, "body", json_string(body));
    free(body);
    char *html = console_render("layout", layout);
    respond_html(c, status, html);
    free(html);
    json_decref(layout);
    json_decref(data);
    if (current == &fallback)
        current = NULL;
}

void console_redirect(struct api_call *c, const char *location)
{
    security_headers(c->req);
    if (console_htmx(c)) {
        http_add_header(c->req, "HX-Redirect", location);
        http_respond(c->req, 200, "text/plain; charset=utf-8", "", 0);
        return;
    }
    http_add_header(c->req, "Location", location);
    http_respond(c->req, 303, "text/plain; charset=utf-8", "", 0);
}

static const char *status_key(unsigned status)
{
    switch (status) {
    case 400:
    case 422:
        return "error_invalid";
    case 403:
        return "error_forbidden";
    case 404:
        return "error_not_found";
    case 405:
        return "error_not_found";
    case 409:
        return "error_conflict";
    case 413:
        return "error_too_large";
    case 503:
        return "error_unavailable";
    default:
        return "error_internal";
    }
}

static void refuse_page(struct api_call *c, unsigned status, const char *message)
{
    if (console_htmx(c)) {
        json_t *data = json_pack("{s:s,s:s?}", "headline", console_t(status_key(status)),
                                 "detail", status >= 500 ? NULL : message);
        console_fragment(c, status, "error_inline", data);
        return;
    }
    json_t *data = json_pack("{s:s,s:s?,s:i}", "headline", console_t(status_key(status)),
                             "detail", status >= 500 || !c->route ? NULL : message, "status",
                             status);
    console_page(c, status, "error", NULL, console_t(status_key(status)), data);
}

void console_error(struct api_call *c, struct api_error *e)
{
    refuse_page(c, e->status ? e->status : 500, e->message ? e->message : "");
    api_error_release(e);
}

/* The surface's refusals: signing in first is a redirect to the sign-in page. */
static void console_refuse(struct api_call *c, unsigned status, const char *message)
{
    struct console_ctx fallback = {0};
    bool own = false;
    if (!current) {
        fallback.lang = lang_of_header(http_header(c->req, "Accept-Language"));
        fallback.strings = strings_of(fallback.lang);
        current = &fallback;
        own = true;
    }
    if (status == 401) {
        security_headers(c->req);
        if (console_htmx(c)) {
            http_add_header(c->req, "HX-Redirect", "/admin/login");
            http_respond(c->req, 401, "text/plain; charset=utf-8", "", 0);
        } else {
            http_add_header(c->req, "Location", "/admin/login");
            http_respond(c->req, 303, "text/plain; charset=utf-8", "", 0);
        }
    } else {
        refuse_page(c, status, message);
    }
    if (own)
        current = NULL;
}

/* ---- form bodies ---- */

/* Windows-1252 (what spreadsheets in French locales save) to UTF-8; NULL on failure. */
static char *from_cp1252(const char *s)
{
    iconv_t cd = iconv_open("UTF-8", "WINDOWS-1252");
    if (cd == (iconv_t)-1)
        return NULL;
    size_t left = strlen(s), room = left * 3 + 1;
    char *out = xmalloc(room), *in = (char *)s, *o = out;
    size_t rc = iconv(cd, &in, &left, &o, &room);
    iconv_close(cd);
    if (rc == (size_t)-1) {
        free(out);
        return NULL;
    }
    *o = '\0';
    return out;
}

/* A field's value as valid UTF-8 text: an uploaded file that is not UTF-8 is read as
 * Windows-1252; any other invalid byte becomes U+FFFD. */
static json_t *field_string(const char *name, const char *value)
{
    if (utf8_valid(value, strlen(value)))
        return json_string(value);
    char *fixed = strcmp(name, "file") == 0 ? from_cp1252(value) : NULL;
    if (!fixed)
        fixed = utf8_sanitised(value);
    json_t *v = json_string(fixed);
    free(fixed);
    return v;
}

/* The form into c->body: one string per field, an array for a repeated field. */
static int console_read_body(struct api_call *c)
{
    if (c->body)
        return 0;
    struct form form;
    const char *reason = NULL;
    if (http_form(c->req, &form, &reason) < 0) {
        console_refuse(c, 400, reason);
        return -1;
    }
    json_t *body = json_object();
    for (size_t i = 0; i < form.n; i++) {
        const char *name = form.fields[i].name;
        json_t *value = field_string(name, form.fields[i].value);
        json_t *prev = json_object_get(body, name);
        if (!prev) {
            json_object_set_new(body, name, value);
        } else if (json_is_array(prev)) {
            json_array_append_new(prev, value);
        } else {
            json_t *list = json_pack("[O,o]", prev, value);
            json_object_set_new(body, name, list);
        }
    }
    form_release(&form);
    /* The composer's segment builder names teams, tags and events: the segment they make
     * is what the dispatcher decides on. */
    if (c->route && str_starts_with(c->route->pattern, "/admin/campaigns"))
        console_segment_build(body);
    c->body = body;
    return 0;
}

static const char *console_csrf_presented(struct api_call *c)
{
    const char *header = http_header(c->req, "X-CSRF-Token");
    if (header)
        return header;
    if (!c->body) {
        struct form form;
        const char *reason = NULL;
        if (http_form(c->req, &form, &reason) < 0)
            return NULL;
        form_release(&form);
        /* Parsed for real (into c->body) now that it is known to parse. */
        if (console_read_body(c) < 0)
            return NULL;
    }
    return json_string_value(json_object_get(c->body, "csrf_token"));
}

/* Every page runs with the organiser's language, time zone and CSRF token. */
static void console_run(struct api_call *c)
{
    struct console_ctx cx = {0};
    char *error = NULL;
    bool zoned = false;
    cx.lang = lang_of_header(http_header(c->req, "Accept-Language"));
    if (caller_is_account(&c->who)) {
        char person[24];
        const char *params[] = {model_id(c->who.person_id, person)};
        PGresult *res = db_exec(c->db,
                                "SELECT p.locale, set_config('TimeZone', p.timezone, false)"
                                " FROM people p WHERE p.id = $1",
                                1, params, &error);
        if (res && PQntuples(res) == 1) {
            cx.lang = lang_of_locale(PQgetvalue(res, 0, 0));
            zoned = true;
        } else if (!res) {
            log_warn("console_locale", "error=%s", log_q(error));
            free(error);
            error = NULL;
        }
        PQclear(res);
    }
    cx.strings = strings_of(cx.lang);
    if (c->who.session_id) {
        cx.csrf = session_csrf(c->db, c->who.session_id, &error);
        if (!cx.csrf) {
            log_warn("console_csrf", "error=%s", log_q(error));
            free(error);
            error = NULL;
        }
    }
    current = &cx;
    c->route->handle(c);
    current = NULL;
    if (zoned) {
        if (db_in_transaction(c->db))
            db_rollback(c->db);
        if (db_run(c->db, "RESET TimeZone", 0, NULL, &error) < 0) {
            log_warn("console_timezone", "error=%s", log_q(error));
            free(error);
        }
    }
    free(cx.csrf);
}

const struct api_surface console_surface = {
    .routes = console_routes,
    .refuse = console_refuse,
    .csrf_presented = console_csrf_presented,
    .read_body = console_read_body,
    .run = console_run,
};

void console_dispatch(struct http_request *req)
{
    if (strcmp(http_path(req), "/admin") == 0) {
        http_add_header(req, "Location", "/admin/");
        http_respond(req, 301, "text/plain; charset=utf-8", "", 0);
        return;
    }
    api_dispatch_surface(req, &console_surface);
}

/* ---- static files: htmx, Pico, the console's own CSS ---- */

static const char *content_type_of(const char *name)
{
    if (str_ends_with(name, ".css"))
        return "text/css; charset=utf-8";
    if (str_ends_with(name, ".js"))
        return "text/javascript; charset=utf-8";
    if (str_ends_with(name, ".svg"))
        return "image/svg+xml";
    if (str_ends_with(name, ".png"))
        return "image/png";
    return "application/octet-stream";
}

void console_static(struct http_request *req)
{
    const char *name = http_path(req) + strlen("/admin/static/");
    const struct embedded_file *f = NULL;
    if (*name && !strchr(name, '/') && name[0] != '.') {
        char *path = xasprintf("web/static/%s", name);
        f = embedded_find(path);
        free(path);
    }
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    if (!f) {
        http_respond_text(req, 404, "not found");
        return;
    }
    http_add_header(req, "Cache-Control", "public, max-age=3600");
    http_respond(req, 200, content_type_of(name), f->data, f->len);
}

/* ---- words for times and states ---- */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

char *console_when(const char *timestamp, bool with_year)
{
    int y, mo, d, h, mi, n = 0;
    if (!timestamp || sscanf(timestamp, "%4d-%2d-%2d%*1[ T]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 ||
        mo < 1 || mo > 12 || d < 1 || d > 31)
        return xstrdup(timestamp ? timestamp : "");
    const json_t *strings = current ? current->strings : strings_of("en");
    long days = days_from_civil(y, mo, d);
    int weekday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday: 4 */
    const char *day = json_string_value(json_array_get(json_object_get(strings, "days"), (size_t)weekday));
    const char *month = json_string_value(json_array_get(json_object_get(strings, "months"), (size_t)mo - 1));
    if (with_year)
        return xasprintf("%s %d %s %d, %02d:%02d", day ? day : "", d, month ? month : "", y, h, mi);
    return xasprintf("%s %d %s, %02d:%02d", day ? day : "", d, month ? month : "", h, mi);
}

static void add_when_one(json_t *obj, const char *const *keys)
{
    if (!json_is_object(obj))
        return;
    for (const char *const *k = keys; *k; k++) {
        const char *value = json_string_value(json_object_get(obj, *k));
        if (!value)
            continue;
        char *words = console_when(value, true);
        char *key = xasprintf("%s_h", *k);
        json_object_set_new(obj, key, json_string(words));
        free(key);
        free(words);
    }
}

void console_add_when(json_t *obj, const char *const *keys)
{
    if (json_is_array(obj)) {
        size_t i;
        json_t *item;
        json_array_foreach(obj, i, item)
            add_when_one(item, keys);
        return;
    }
    add_when_one(obj, keys);
}

void console_add_label(json_t *obj, const char *key, const char *prefix, const char *label_key)
{
    if (json_is_array(obj)) {
        size_t i;
        json_t *item;
        json_array_foreach(obj, i, item)
            console_add_label(item, key, prefix, label_key);
        return;
    }
    const char *value = json_string_value(json_object_get(obj, key));
    if (!value)
        return;
    char *k = xasprintf("%s%s", prefix, value);
    json_object_set_new(obj, label_key, json_string(console_t(k)));
    /* And a flag per value, for templates: {{#status_is_yes}}. */
    char *flag = xasprintf("%s_is_%s", key, value);
    json_object_set_new(obj, flag, json_true());
    free(flag);
    free(k);
}

const char *console_arg(const struct api_call *c, const char *name)
{
    const char *v = api_arg(c, name);
    return v && *v ? v : NULL;
}

json_t *console_args(const struct api_call *c, const char *name)
{
    json_t *out = json_array();
    json_t *v = c->body ? json_object_get(c->body, name) : NULL;
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
            if (json_is_string(item) && json_string_length(item))
                json_array_append(out, item);
    } else if (json_is_string(v) && json_string_length(v)) {
        json_array_append(out, v);
    } else if (!v) {
        const char *q = http_query(c->req, name);
        if (q && *q)
            json_array_append_new(out, json_string(q));
    }
    return out;
}

int64_t console_after(const struct api_call *c)
{
    long after = 0;
    const char *a = http_query(c->req, "after");
    if (!a || str_to_long(a, 0, INT64_MAX, &after) < 0)
        return 0;
    return after;
}

void console_add_done(const struct api_call *c, json_t *data)
{
    const char *done = http_query(c->req, "done");
    if (!done || strlen(done) > 40)
        return;
    for (const char *p = done; *p; p++)
        if (!islower((unsigned char)*p) && *p != '_')
            return;
    char *key = xasprintf("done_%s", done);
    const json_t *strings = current ? current->strings : strings_of("en");
    json_t *text = json_object_get(strings, key);
    if (json_is_string(text)) {
        json_object_set(data, "done", text);
        json_object_set_new(data, "done_key", json_string(done));
    }
    free(key);
}

void console_urlencode(struct buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            buf_addch(out, (char)*p);
        else
            buf_printf(out, "%%%02X", *p);
    }
}

void console_flag_nonzero(json_t *obj, const char *const *keys)
{
    if (json_is_array(obj)) {
        size_t i;
        json_t *item;
        json_array_foreach(obj, i, item)
            console_flag_nonzero(item, keys);
        return;
    }
    if (!json_is_object(obj))
        return;
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(obj, *k);
        if (json_is_number(v) && json_number_value(v) > 0) {
            char *flag = xasprintf("%s_any", *k);
            json_object_set_new(obj, flag, json_true());
            free(flag);
        }
    }
}

static int thread_order(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *ax = json_string_value(json_object_get(x, "at"));
    const char *ay = json_string_value(json_object_get(y, "at"));
    int c = strcmp(ax ? ax : "", ay ? ay : "");
    if (c)
        return c;
    const char *dx = json_string_value(json_object_get(x, "direction"));
    const char *dy = json_string_value(json_object_get(y, "direction"));
    bool inx = dx && strcmp(dx, "in") == 0, iny = dy && strcmp(dy, "in") == 0;
    if (inx != iny)
        return inx ? -1 : 1;
    json_int_t ix = json_integer_value(json_object_get(x, "id"));
    json_int_t iy = json_integer_value(json_object_get(y, "id"));
    return ix < iy ? -1 : ix > iy;
}

json_t *console_thread(json_t *messages)
{
    size_t n = json_array_size(messages);
    json_t **items = xcalloc(n ? n : 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(messages, i);
    /* Timestamps of one session's time zone compare as text: same offset, same format. */
    qsort(items, n, sizeof(*items), thread_order);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, items[i]);
    free(items);
    return out;
}

json_t *console_team_options(struct api_call *c, const char *selected)
{
    struct api_error e = {0};
    json_t *teams = teams_list(c->db, &c->who, &e);
    api_error_release(&e);
    json_t *items = json_object_get(teams, "items");
    json_t *out = json_array();
    size_t i;
    json_t *team;
    json_array_foreach(items, i, team) {
        int64_t id = json_integer_value(json_object_get(team, "id"));
        if (!c->who.admin && !caller_organises(&c->who, id))
            continue;
        const char *slug = json_string_value(json_object_get(team, "slug"));
        json_array_append_new(out, json_pack("{s:s?,s:O,s:b}", "slug", slug, "name",
                                             json_object_get(team, "name"), "selected",
                                             selected && slug && strcmp(selected, slug) == 0));
    }
    json_decref(teams);
    return out;
}
