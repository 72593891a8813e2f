#include "api/model.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/account.h"
#include "core/activity.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* PostgreSQL type oids the JSON conversion knows (pg_type.h). */
enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_INT2_ARRAY = 1005,
    OID_INT4_ARRAY = 1007,
    OID_TEXT_ARRAY = 1009,
    OID_INT8_ARRAY = 1016,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_JSONB = 3802,
};

const char *api_error_code(unsigned status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 413:
        return "too_large";
    case 422:
        return "unprocessable";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

void api_error_set(struct api_error *e, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct buf b = BUF_INIT;
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(e->message);
    e->status = status;
    e->code = api_error_code(status);
    e->message = buf_detach(&b);
}

void api_error_db(struct api_error *e, struct db *db, const char *what, char *error)
{
    if (db_transient(db)) {
        api_error_set(e, 503, "the database is unavailable, try again");
    } else {
        log_error("api_db", "what=%s error=%s", what, log_q(error));
        api_error_set(e, 500, "internal error");
    }
    free(error);
}

void api_error_release(struct api_error *e)
{
    free(e->message);
    memset(e, 0, sizeof(*e));
}

int page_parse(const char *after, const char *limit, struct page *p, struct api_error *e)
{
    p->after = 0;
    p->limit = PAGE_DEFAULT;
    long v;
    if (after && *after) {
        if (str_to_long(after, 0, INT64_MAX, &v) < 0) {
            api_error_set(e, 400, "after must be an id (a whole number)");
            return -1;
        }
        p->after = v;
    }
    if (limit && *limit) {
        if (str_to_long(limit, 1, PAGE_MAX, &v) < 0) {
            api_error_set(e, 400, "limit must be a whole number from 1 to %d", PAGE_MAX);
            return -1;
        }
        p->limit = (int)v;
    }
    return 0;
}

/* A PostgreSQL array literal of plain elements ({a,"b c",NULL}) into a JSON array. */
static json_t *array_value(const char *text, bool integers)
{
    json_t *out = json_array();
    const char *p = text;
    if (*p != '{')
        return out;
    p++;
    struct buf item = BUF_INIT;
    while (*p && *p != '}') {
        buf_reset(&item);
        bool quoted = *p == '"';
        if (quoted) {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                buf_addch(&item, *p++);
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '}')
                buf_addch(&item, *p++);
        }
        if (!quoted && strcmp(buf_str(&item), "NULL") == 0)
            json_array_append_new(out, json_null());
        else if (integers)
            json_array_append_new(out, json_integer(strtoll(buf_str(&item), NULL, 10)));
        else
            json_array_append_new(out, json_string(buf_str(&item)));
        if (*p == ',')
            p++;
    }
    buf_release(&item);
    return out;
}

char *model_words(const char *array_literal)
{
    json_t *words = array_value(array_literal, false);
    struct buf b = BUF_INIT;
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        if (i)
            buf_addch(&b, ' ');
        buf_adds(&b, json_string_value(w) ? json_string_value(w) : "");
    }
    json_decref(words);
    return buf_detach(&b);
}

/* PostgreSQL's "2026-03-14 17:30:00.5+01" as RFC 3339: "2026-03-14T17:30:00.5+01:00". */
static json_t *time_value(const char *v)
{
    struct buf b = BUF_INIT;
    buf_adds(&b, v);
    char *s = b.data;
    if (b.len > 10 && s[10] == ' ')
        s[10] = 'T';
    /* The offset is the last + or - after the time; PostgreSQL may give only hours. */
    char *sign = NULL;
    for (char *p = s + 11; *p && b.len > 11; p++)
        if (*p == '+' || *p == '-')
            sign = p;
    if (sign && strlen(sign) == 3)
        buf_adds(&b, ":00");
    json_t *out = json_string(buf_str(&b));
    buf_release(&b);
    return out;
}

json_t *model_row(const PGresult *res, int row)
{
    json_t *obj = json_object();
    for (int f = 0; f < PQnfields(res); f++) {
        const char *v = db_value(res, row, f);
        Oid type = PQftype(res, f);
        json_t *value = NULL;
        if (!v)
            value = json_null();
        else if (type == OID_BOOL)
            value = json_boolean(v[0] == 't');
        else if (type == OID_INT8 || type == OID_INT2 || type == OID_INT4)
            value = json_integer(strtoll(v, NULL, 10));
        else if (type == OID_FLOAT4 || type == OID_FLOAT8 || type == OID_NUMERIC)
            value = json_real(strtod(v, NULL));
        else if (type == OID_JSON || type == OID_JSONB)
            value = json_loads(v, JSON_DECODE_ANY, NULL);
        else if (type == OID_TIMESTAMPTZ || type == OID_TIMESTAMP)
            value = time_value(v);
        else if (type == OID_TEXT_ARRAY)
            value = array_value(v, false);
        else if (type == OID_INT2_ARRAY || type == OID_INT4_ARRAY || type == OID_INT8_ARRAY)
            value = array_value(v, true);
        else
            value = json_string(v);
        /* Text that is not UTF-8 cannot come from PostgreSQL, but never answer NULL. */
        json_object_set_new(obj, PQfname(res, f), value ? value : json_null());
    }
    return obj;
}

json_t *model_rows(const PGresult *res)
{
    json_t *rows = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(rows, model_row(res, r));
    return rows;
}

json_t *model_page(json_t *items, const char *key, int limit)
{
    json_t *next = json_null();
    size_t n = json_array_size(items);
    if (limit > 0 && n == (size_t)limit) {
        json_t *last = json_object_get(json_array_get(items, n - 1), key);
        if (last)
            next = json_incref(last);
    }
    return json_pack("{s:o,s:o}", "items", items, "next", next);
}

const char *model_id(int64_t id, char buf[24])
{
    snprintf(buf, 24, "%" PRId64, id);
    return buf;
}

int64_t model_int(const PGresult *res, int row, int col)
{
    const char *v = db_value(res, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

int model_check_time(struct db *db, const char *value, const char *what, struct api_error *e)
{
    if (!value)
        return 0;
    const char *params[] = {value};
    char *error = NULL;
    /* A cast that fails is an error of the statement: catch it as a bad value. */
    PGresult *res = db_exec(db,
                            "SELECT $1 ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{1,2}:[0-9]{2})?$'"
                            " AND $1::timestamp IS NOT NULL",
                            1, params, &error);
    if (!res) {
        if (str_starts_with(db_sqlstate(db), "22")) {
            free(error);
            api_error_set(e, 400, "%s %s: expected YYYY-MM-DD or 'YYYY-MM-DD HH:MM'", what, value);
        } else {
            api_error_db(e, db, what, error);
        }
        return -1;
    }
    bool ok = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!ok) {
        api_error_set(e, 400, "%s %s: expected YYYY-MM-DD or 'YYYY-MM-DD HH:MM'", what, value);
        return -1;
    }
    return 0;
}

void model_csv_field(struct buf *out, const char *value, bool free_text, bool last)
{
    if (!value)
        value = "";
    bool guard = free_text && strchr("=+-@\t\r", value[0]) && value[0];
    bool quote = guard || strpbrk(value, ",;\"\r\n") != NULL;
    if (quote)
        buf_addch(out, '"');
    if (guard)
        buf_addch(out, '\'');
    for (const char *p = value; *p; p++) {
        if (*p == '"')
            buf_addch(out, '"');
        buf_addch(out, *p);
    }
    if (quote)
        buf_addch(out, '"');
    buf_adds(out, last ? "\r\n" : ",");
}

int model_param(struct model_params *p, const char *value)
{
    /* The number of parameters is fixed by the code that builds a query, never by input. */
    if (p->n == MODEL_MAX_PARAMS)
        die(70, "model_param: more than %d parameters", MODEL_MAX_PARAMS);
    p->values[p->n++] = value;
    return p->n;
}

char *model_like_pattern(const char *text)
{
    struct buf b = BUF_INIT;
    buf_addch(&b, '%');
    for (const char *c = text; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            buf_addch(&b, '\\');
        buf_addch(&b, *c);
    }
    buf_addch(&b, '%');
    return buf_detach(&b);
}

int model_begin(struct db *db, struct api_error *e)
{
    char *error = NULL;
    if (db_begin(db, &error) < 0) {
        api_error_db(e, db, "begin", error);
        return -1;
    }
    return 0;
}

int model_commit(struct db *db, struct api_error *e)
{
    char *error = NULL;
    if (db_commit(db, &error) < 0) {
        model_abort(db, e, "commit", error);
        return -1;
    }
    return 0;
}

void model_abort(struct db *db, struct api_error *e, const char *what, char *error)
{
    /* Read the failure before the rollback: its state is what tells transient from not. */
    api_error_db(e, db, what, error);
    db_rollback(db);
}

int model_activity(struct db *db, const struct caller *who, int64_t team_id, const char *kind,
                   json_t *payload, struct api_error *e)
{
    char *error = NULL;
    if (activity_record(db, &who->actor, team_id, kind, payload, &error) < 0) {
        model_abort(db, e, "activity", error);
        return -1;
    }
    return 0;
}
