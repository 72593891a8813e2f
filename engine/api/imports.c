#include "api/imports.h"
#include "lib/util.h"
#include "core/import.h"
#include "api/v1.h"

#include <stdio.h>
#include <string.h>

struct reports {
    json_t *list;
    bool truncated;
};

static void collect(void *ctx, long line, const char *reason)
{
    struct reports *r = ctx;
    if (json_array_size(r->list) >= IMPORT_REPORTS_MAX) {
        r->truncated = true;
        return;
    }
    json_array_append_new(r->list,
                          json_pack("{s:I,s:s}", "line", (json_int_t)line, "reason", reason));
}

json_t *import_csv_json(struct db *db, const struct caller *who, const char *csv, size_t len,
                        const char *name, const char *team, bool dry_run, struct api_error *e)
{
    if (!who->admin && !team) {
        api_error_set(e, 403, "an organiser's import names one of their teams (?team=SLUG)");
        return NULL;
    }
    if (len == 0) {
        api_error_set(e, 400, "the body is empty: send the CSV file as the request body");
        return NULL;
    }
    /* fmemopen() wants a buffer it may read to its end: the request body is one. */
    FILE *in = fmemopen((void *)csv, len, "r");
    if (!in) {
        api_error_set(e, 500, "cannot read the body");
        return NULL;
    }
    char *allowed = caller_teams_literal(who);
    char *source = xasprintf("%s", name && *name ? name : "upload.csv");
    struct reports reports = {.list = json_array()};
    struct import_options o = {.source = source,
                               .dry_run = dry_run,
                               .team = team,
                               .allowed_teams = allowed,
                               .report = collect,
                               .ctx = &reports,
                               .actor = &who->actor};
    struct import_result r;
    char *error = NULL;
    json_t *out = NULL;
    switch (import_people(db, in, &o, &r, &error)) {
    case IMPORT_OK:
        out = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:O,s:b}", "dry_run", dry_run, "imported",
                        (json_int_t)r.imported, "new", (json_int_t)r.created, "updated",
                        (json_int_t)(r.imported - r.created), "rejected", (json_int_t)r.rejected,
                        "conflicts", (json_int_t)r.conflicts, "reports", reports.list,
                        "reports_truncated", reports.truncated);
        break;
    case IMPORT_BAD_FILE:
        api_error_set(e, 422, "%s", error);
        free(error);
        break;
    case IMPORT_FAILED:
        api_error_db(e, db, "import", error);
        break;
    }
    json_decref(reports.list);
    free(allowed);
    free(source);
    fclose(in);
    return out;
}

void route_import(struct api_call *c)
{
    size_t len = 0;
    const char *body = http_body(c->req, &len);
    const char *name = http_query(c->req, "filename");
    if (name && strlen(name) > 200) {
        api_fail_status(c, 400, "filename is at most 200 bytes");
        return;
    }
    struct api_error e = {0};
    api_answer(c,
               import_csv_json(c->db, &c->who, body, len, name, http_query(c->req, "team"),
                               api_flag(c, "dry_run"), &e),
               &e);
}
