/*
 * model — what the organisers' questions and actions share, whoever calls them (the CLI,
 * the /api/v1 routes, the console).
 *
 * A model function takes the database, the caller (core/account.h) and its arguments, and
 * returns a new JSON value the caller json_decref()s — or NULL with `struct api_error`
 * filled: an HTTP status, a stable code ("not_found", "conflict" …) and a message for
 * people (caller releases with api_error_release()). Database failures become 503
 * "unavailable" when transient (try again), else 500 "internal" (the detail is logged,
 * not shown). Lists answer {"items": [...], "next": ID or null}: `next` is the `after`
 * of the following page, set when the page is full (keyset pagination on ids).
 *
 * model_row()/model_rows() turn result rows into JSON objects, typed by column type:
 * integers, numbers, booleans, json/jsonb parsed, arrays of text or integers as JSON
 * arrays, everything else as strings, SQL NULL as null.
 */
#ifndef TOCSIN_MODEL_H
#define TOCSIN_MODEL_H

#include "lib/buf.h"
#include "lib/db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct api_error {
    unsigned status; /* 0: no error */
    const char *code;
    char *message;
};

void api_error_set(struct api_error *e, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A database call failed with `error` (freed here). */
void api_error_db(struct api_error *e, struct db *db, const char *what, char *error);
void api_error_release(struct api_error *e);
/* The code of a status: 400 bad_request, 401 unauthorized, 403 forbidden, 404 not_found,
 * 405 method_not_allowed, 409 conflict, 413 too_large, 422 unprocessable, 500 internal,
 * 503 unavailable. */
const char *api_error_code(unsigned status);

#define PAGE_DEFAULT 50
#define PAGE_MAX     1000

struct page {
    int64_t after; /* 0: from the start */
    int limit;
};

/* Read ?after=ID&limit=N (either may be NULL); 0, or -1 with a 400 in *e. */
int page_parse(const char *after, const char *limit, struct page *p, struct api_error *e);

json_t *model_row(const PGresult *res, int row);
/* A PostgreSQL text array literal ("{a,b}") as words separated by spaces (caller frees). */
char *model_words(const char *array_literal);
json_t *model_rows(const PGresult *res);
/* {"items": items, "next": items[last][key] when there are `limit` items, else null}. */
json_t *model_page(json_t *items, const char *key, int limit);

/* Writes: one transaction each, with a line in activity (core/activity.h) made by the
 * caller. model_begin()/model_commit() give 0, or -1 with *e (rolled back);
 * model_abort() rolls back and fills *e from a failed call (`error` freed). */
struct caller;
int model_begin(struct db *db, struct api_error *e);
int model_commit(struct db *db, struct api_error *e);
void model_abort(struct db *db, struct api_error *e, const char *what, char *error);
int model_activity(struct db *db, const struct caller *who, int64_t team_id, const char *kind,
                   json_t *payload, struct api_error *e);

/* Helpers for building queries and parameters. */
const char *model_id(int64_t id, char buf[24]);
int64_t model_int(const PGresult *res, int row, int col);
/* A date or timestamp the user typed ('2026-03-01', '2026-03-01 18:00'), checked by
 * PostgreSQL; NULL when absent. 0, or -1 with a 400 naming `what`. */
int model_check_time(struct db *db, const char *value, const char *what, struct api_error *e);

/* Parameters of a query built from fixed fragments: model_param() adds a value and
 * returns its number ($N). The values are borrowed, not copied. */
#define MODEL_MAX_PARAMS 24
struct model_params {
    const char *values[MODEL_MAX_PARAMS];
    int n;
};
int model_param(struct model_params *p, const char *value);

/* A LIKE pattern matching `text` anywhere, its wildcards escaped (caller frees). */
char *model_like_pattern(const char *text);

/* One CSV field (RFC 4180), quoted when needed. `free_text` fields (names, tags, bodies)
 * that a spreadsheet would read as a formula (= + - @ first) get a leading apostrophe. */
void model_csv_field(struct buf *out, const char *value, bool free_text, bool last);

#endif
