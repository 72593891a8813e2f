/*
 * console — the organisers' console under /admin/: HTML pages rendered on the server over
 * the same model functions, and the same JSON, as the API (the other files of api/).
 *
 * console_routes[] (console_routes.c) is a table of the same rows as api_routes[]: every
 * page and every form names the need it is checked against, and the one dispatcher of
 * api/v1.h (api_dispatch_surface()) authenticates, checks the CSRF token of every write,
 * resolves the resource and runs authz_decide() before any page handler runs. What the
 * console changes is the manner of the answers: a refusal is a page (401 sends the browser
 * to the sign-in page), a body is a form (urlencoded or multipart) rather than JSON — its
 * fields are read with api_arg() like the API's — and the CSRF token may come in the
 * `csrf_token` field as well as in X-CSRF-Token (htmx sends the header).
 *
 * A page handler calls one model function, passes its JSON to console_page() with the
 * name of a template (web/console/NAME.html, compiled into the binary), which renders it
 * inside the layout with the organiser's strings (web/console/en.json, fr.json: {{t.key}}),
 * the CSRF token and the navigation; console_fragment() renders a template alone (htmx
 * swaps). Mustache escapes every {{value}}: supporters' names and messages are hostile.
 * console_redirect() answers 303 (htmx: HX-Redirect). Every answer carries a
 * Content-Security-Policy with no inline script and frame-ancestors 'none'.
 *
 * During a request, console_lang() is "en" or "fr" (the organiser's locale, else the
 * browser's Accept-Language) and the database session's TimeZone is the organiser's, so
 * times the model returns are theirs; console_when() turns them into words.
 */
#ifndef TOCSIN_API_CONSOLE_H
#define TOCSIN_API_CONSOLE_H

#include "core/http.h"
#include "api/model.h"
#include "api/v1.h"

#include <jansson.h>
#include <stdbool.h>

extern const struct api_route console_routes[];
extern const struct api_surface console_surface;

/* http routes: /admin/… pages and /admin/static/… files. */
void console_dispatch(struct http_request *req);
void console_static(struct http_request *req);

const char *console_lang(void);
/* A string of the organiser's language (the key itself when missing). */
const char *console_t(const char *key);

/* The string `key` rendered as a (text) mustache template over `vars` (stolen): sentences
 * with numbers, "{{count}} held until {{until}}". Caller frees. */
char *console_say(const char *key, json_t *vars);

/* Render web/console/NAME.html over `data` (stolen) inside the layout; `section` marks the
 * navigation entry ("people"…), `title` is the page's title (already in words). */
void console_page(struct api_call *c, unsigned status, const char *name, const char *section,
                  const char *title, json_t *data);
/* Render web/console/NAME.html alone (an htmx swap). */
void console_fragment(struct api_call *c, unsigned status, const char *name, json_t *data);
/* Render a template into a string (caller frees), to compose pages from pieces. */
char *console_render(const char *name, json_t *data);
void console_redirect(struct api_call *c, const char *location);
/* A model error as a page (or, for htmx, a fragment saying it): 4xx/5xx with the reason. */
void console_error(struct api_call *c, struct api_error *e);
/* Whether the request came from htmx (HX-Request), and not as a boosted navigation. */
bool console_htmx(const struct api_call *c);

/* "2031-06-07 10:00[:00…]" as "Saturday 7 June 2031, 10:00" in the organiser's language
 * (caller frees); `with_year` false drops the year. NULL or unreadable: a copy of it. */
char *console_when(const char *timestamp, bool with_year);
/* Add KEY_h (console_when) for each of `keys` (NULL-terminated) present in obj, and in
 * every object of obj's array `list` when list is not NULL. */
void console_add_when(json_t *obj, const char *const *keys);
/* obj[label_key] = t[prefix + obj[key]] (a status in words). */
void console_add_label(json_t *obj, const char *key, const char *prefix, const char *label_key);

/* api_arg() with an empty value read as absent (a form's empty field, "?team="). */
const char *console_arg(const struct api_call *c, const char *name);
/* Every value of a field that may repeat (checkboxes): a new JSON array of strings. */
json_t *console_args(const struct api_call *c, const char *name);
/* The page's `after` (0 when absent or unreadable). */
int64_t console_after(const struct api_call *c);

/* After a redirect that followed an action (?done=WORD): data.done = the string
 * "done_WORD" when there is one, and data.done_key = WORD (nothing else from the URL is
 * ever shown; WORD is lower-case letters and underscores). The page's script
 * (web/static/console.js) then takes ?done= out of the address, so a reload does not show
 * the notice again. */
void console_add_done(const struct api_call *c, json_t *data);

/* Append `s` percent-encoded for a query string (unreserved characters kept). */
void console_urlencode(struct buf *out, const char *s);

/* For each of `keys` (NULL-terminated) whose value is a number above 0, KEY_any = true
 * (mustache shows a section for 0 too); in obj, or in each object of an array. */
void console_flag_nonzero(json_t *obj, const char *const *keys);

/* The composer's segment builder (console_campaigns.c): its fields of a form body into the
 * `segment` field, unless one was typed — teams and events united, each narrowed by the
 * tags chosen (any of them). The body reader calls it for the campaign routes. */
void console_segment_build(json_t *body);

/* A conversation (items with `at` and `direction`), oldest first: sorted by time, and at
 * the same time (a reply is queued in the transaction that recorded the message) what
 * came in before what went out. A new array of the same items. */
json_t *console_thread(json_t *messages);

/* The import's guess (console_import.c): the tocsin column a CSV header names, as people
 * write it in French or English, in any case, with or without accents ("Prénom" and
 * "Nom": name; "Courriel": email; "Étiquettes": tags); NULL when none (ignore it). */
const char *console_column_guess(const char *header);

/* Form helpers: the caller's teams as [{slug, name, selected}], for select boxes. */
json_t *console_team_options(struct api_call *c, const char *selected);

#endif
