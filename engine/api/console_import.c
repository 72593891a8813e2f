/*
 * Import: upload a CSV (kept in console_uploads for its uploader), map its columns to
 * tocsin's (guessed from French and English headers: "Prénom" and "Nom" both feed the
 * name, "Courriel" is the email), a dry run that reports what would change (new, updated,
 * conflicts, rejected rows with their line and reason), then the import itself.
 *
 * The file is rewritten with the mapped header — columns mapped to the same target
 * joined with a space, ignored ones dropped — and handed to the API's import
 * (api/imports.h), so the checks and the reports are the API's and the CLI's. Report line
 * numbers are translated back to the lines of the file the organiser uploaded.
 */
#include "api/console_pages.h"
#include "lib/buf.h"
#include "lib/csv.h"
#include "lib/fold.h"
#include "lib/util.h"
#include "api/console_model.h"
#include "api/imports.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SAMPLE_ROWS 3
#define MAX_COLUMNS 60

static const char *const targets[] = {"email", "phone", "name", "locale", "timezone", "teams",
                                      "tags"};

const char *console_column_guess(const char *header)
{
    static const struct {
        const char *target;
        const char *words[14];
    } known[] = {
        {"email", {"email", "e-mail", "mail", "courriel", "adresse e-mail", "adresse email",
                   "adresse mail", "email address", "e-mail address", "adresse electronique",
                   NULL}},
        {"phone", {"phone", "telephone", "tel", "tel.", "mobile", "portable", "numero",
                   "phone number", "numero de telephone", "gsm", "cell", "mobile phone", NULL}},
        {"name", {"name", "nom", "prenom", "first name", "last name", "firstname", "lastname",
                  "full name", "nom complet", "prenom nom", "nom prenom", "surname",
                  "given name", NULL}},
        {"locale", {"locale", "language", "langue", "lang", NULL}},
        {"timezone", {"timezone", "time zone", "fuseau horaire", "fuseau", NULL}},
        {"teams", {"teams", "team", "equipe", "equipes", "groupe", "groupes", "group",
                   "groups", NULL}},
        {"tags", {"tags", "tag", "etiquette", "etiquettes", "mots-cles", "mots cles", "labels",
                  "label", NULL}},
    };
    struct buf f = BUF_INIT;
    fold_text(header, strlen(header), &f);
    char *h = str_trim(f.data ? f.data : (char *)"");
    const char *found = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(known) && !found; i++)
        for (size_t w = 0; known[i].words[w]; w++)
            if (strcmp(h, known[i].words[w]) == 0) {
                found = known[i].target;
                break;
            }
    buf_release(&f);
    return found;
}

static bool target_known(const char *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        if (strcmp(t, targets[i]) == 0)
            return true;
    return false;
}

/* The header and the first rows of an upload; NULL and *error_r (static) when unreadable. */
static json_t *read_head(const char *body, const char **error_r)
{
    FILE *in = fmemopen((void *)body, strlen(body), "r");
    if (!in) {
        *error_r = "import_unreadable";
        return NULL;
    }
    struct csv *csv = csv_open(in, 0);
    char **fields;
    int n;
    const char *reason = NULL;
    json_t *out = NULL;
    if (csv_next(csv, &fields, &n, &reason) != 1 || n == 0 || n > MAX_COLUMNS) {
        *error_r = n > MAX_COLUMNS ? "import_too_many_columns" : "import_no_header";
        goto out;
    }
    json_t *columns = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(columns, json_pack("{s:i,s:s,s:o}", "index", i, "header",
                                                 fields[i], "samples", json_array()));
    long rows = 0;
    int rc;
    while ((rc = csv_next(csv, &fields, &n, &reason)) != 0) {
        if (rc < 0)
            continue;
        if (rows < SAMPLE_ROWS)
            for (int i = 0; i < n && i < (int)json_array_size(columns); i++)
                json_array_append_new(
                    json_object_get(json_array_get(columns, (size_t)i), "samples"),
                    json_string(fields[i]));
        rows++;
    }
    out = json_pack("{s:o,s:I}", "columns", columns, "rows", (json_int_t)rows);
out:
    csv_close(&csv);
    fclose(in);
    return out;
}

/* The mapping of each column: the form's map_N when given, else the guess. */
static void apply_mapping(struct api_call *c, json_t *columns, bool from_form)
{
    size_t i;
    json_t *col;
    json_array_foreach(columns, i, col) {
        char key[32];
        snprintf(key, sizeof(key), "map_%zu", i);
        const char *chosen = from_form ? console_arg(c, key) : NULL;
        const char *target =
            chosen ? (strcmp(chosen, "ignore") == 0 || !target_known(chosen) ? NULL : chosen)
                   : console_column_guess(json_string_value(json_object_get(col, "header")));
        json_t *options = json_array();
        json_array_append_new(options, json_pack("{s:s,s:s,s:b}", "value", "ignore", "label",
                                                 console_t("import_ignore"), "selected", !target));
        for (size_t t = 0; t < ARRAY_SIZE(targets); t++) {
            char label[32];
            snprintf(label, sizeof(label), "import_col_%s", targets[t]);
            json_array_append_new(options,
                                  json_pack("{s:s,s:s,s:b}", "value", targets[t], "label",
                                            console_t(label), "selected",
                                            target && strcmp(target, targets[t]) == 0));
        }
        json_object_set_new(col, "options", options);
        if (target)
            json_object_set_new(col, "target", json_string(target));
    }
}

struct rewritten {
    struct buf csv;
    json_t *bad; /* records the CSV reader refused: [{line, reason}] of the uploaded file */
    long *lines; /* lines[k]: the uploaded line of the record that starts rewritten line k */
    size_t nlines;
};

static void note_line(struct rewritten *w, size_t at, long original)
{
    if (at >= w->nlines) {
        size_t n = at + 64;
        w->lines = xrealloc(w->lines, n * sizeof(*w->lines));
        for (size_t k = w->nlines; k < n; k++)
            w->lines[k] = 0;
        w->nlines = n;
    }
    w->lines[at] = original;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Which output column each target becomes (-1: none), in the order of targets[]; the
 * number of output columns, or -1 with a string key in *error_r. */
static int plan_columns(json_t *columns, int out_of[ARRAY_SIZE(targets)], const char **error_r)
{
    int nout = 0;
    for (size_t t = 0; t < ARRAY_SIZE(targets); t++) {
        out_of[t] = -1;
        size_t i;
        json_t *col;
        int sources = 0;
        json_array_foreach(columns, i, col) {
            const char *target = json_string_value(json_object_get(col, "target"));
            if (target && strcmp(target, targets[t]) == 0)
                sources++;
        }
        if (sources > 1 && strcmp(targets[t], "name") != 0 && strcmp(targets[t], "tags") != 0) {
            *error_r = "import_mapped_twice";
            return -1;
        }
        if (sources)
            out_of[t] = nout++;
    }
    if (out_of[0] < 0 && out_of[1] < 0) {
        *error_r = "import_need_contact";
        return -1;
    }
    return nout;
}

/* The upload with the mapped header; -1 with a string key in *error_r. */
static int rewrite(const char *body, json_t *columns, struct rewritten *w, const char **error_r)
{
    memset(w, 0, sizeof(*w));
    w->bad = json_array();
    int out_of[ARRAY_SIZE(targets)];
    int planned = plan_columns(columns, out_of, error_r);
    if (planned < 0)
        return -1;
    size_t nout = (size_t)planned;
    FILE *in = fmemopen((void *)body, strlen(body), "r");
    if (!in) {
        *error_r = "import_unreadable";
        return -1;
    }
    struct csv *csv = csv_open(in, 0);
    char **fields;
    int n;
    const char *reason = NULL;
    size_t out_line = 1; /* the rewritten file's line numbers, from 1 */
    for (size_t t = 0, k = 0; t < ARRAY_SIZE(targets); t++)
        if (out_of[t] >= 0)
            model_csv_field(&w->csv, targets[t], false, ++k == nout);
    note_line(w, out_line++, 1);
    int rc;
    bool header = true;
    struct buf cell[ARRAY_SIZE(targets)];
    for (size_t t = 0; t < ARRAY_SIZE(targets); t++)
        buf_init(&cell[t]);
    while ((rc = csv_next(csv, &fields, &n, &reason)) != 0) {
        if (header) {
            header = false;
            continue;
        }
        long original = csv_line(csv);
        if (rc < 0) {
            /* Reported here, with the uploaded file's line: the rewritten file skips it. */
            json_array_append_new(w->bad, json_pack("{s:I,s:s}", "line", (json_int_t)original,
                                                    "reason", reason));
            continue;
        }
        for (size_t t = 0; t < ARRAY_SIZE(targets); t++)
            buf_reset(&cell[t]);
        for (int i = 0; i < n && i < (int)json_array_size(columns); i++) {
            const char *target =
                json_string_value(json_object_get(json_array_get(columns, (size_t)i), "target"));
            if (!target || !*fields[i])
                continue;
            for (size_t t = 0; t < ARRAY_SIZE(targets); t++)
                if (strcmp(target, targets[t]) == 0) {
                    if (cell[t].len)
                        buf_addch(&cell[t], ' ');
                    buf_adds(&cell[t], fields[i]);
                }
        }
        note_line(w, out_line, original);
        size_t before = w->csv.len;
        for (size_t t = 0, k = 0; t < ARRAY_SIZE(targets); t++)
            if (out_of[t] >= 0)
                model_csv_field(&w->csv, buf_str(&cell[t]), false, ++k == nout);
        out_line += count_lines(w->csv.data + before);
    }
    for (size_t t = 0; t < ARRAY_SIZE(targets); t++)
        buf_release(&cell[t]);
    csv_close(&csv);
    fclose(in);
    return 0;
}

void page_import(struct api_call *c)
{
    json_t *data = json_pack("{s:b}", "admin", c->who.admin);
    json_object_set_new(data, "teams", console_team_options(c, console_arg(c, "team")));
    console_add_done(c, data);
    console_page(c, 200, "import", "import", console_t("nav_import"), data);
}

void page_import_upload(struct api_call *c)
{
    struct api_error e = {0};
    json_t *out = console_upload_store(c->db, &c->who, console_arg(c, "file.filename"),
                                       console_arg(c, "team"), console_arg(c, "file"), &e);
    if (!out) {
        if (e.status >= 500) {
            console_error(c, &e);
            return;
        }
        json_t *data = json_pack("{s:b,s:s}", "admin", c->who.admin, "error",
                                 console_t("import_choose_file"));
        json_object_set_new(data, "teams", console_team_options(c, console_arg(c, "team")));
        api_error_release(&e);
        console_page(c, 400, "import", "import", console_t("nav_import"), data);
        return;
    }
    char *to = xasprintf("/admin/import/%" JSON_INTEGER_FORMAT,
                         json_integer_value(json_object_get(out, "id")));
    json_decref(out);
    console_redirect(c, to);
    free(to);
}

/* The mapping page, with a dry run's or an import's report when there is one. */
static void mapping_page(struct api_call *c, unsigned status, json_t *upload, json_t *head,
                         json_t *report, const char *error_key, const char *error_text)
{
    json_t *data = json_pack("{s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(upload, "id"),
                             "filename", json_object_get(upload, "filename"), "team",
                             json_object_get(upload, "team"), "columns",
                             json_object_get(head, "columns"), "rows",
                             json_object_get(head, "rows"));
    if (report) {
        static const char *const counts[] = {"rejected", "conflicts", "new", "updated", NULL};
        console_flag_nonzero(report, counts);
        json_object_set_new(report, "has_reports",
                            json_boolean(json_array_size(json_object_get(report, "reports")) > 0));
        json_object_set(data, "report", report);
        json_object_set_new(data, "dry_run_done",
                            json_boolean(json_is_true(json_object_get(report, "dry_run"))));
        json_object_set_new(data, "committed",
                            json_boolean(!json_is_true(json_object_get(report, "dry_run"))));
    }
    if (error_key || error_text)
        json_object_set_new(data, "error",
                            json_string(error_text ? error_text : console_t(error_key)));
    console_page(c, status, "import_mapping", "import", console_t("nav_import"), data);
}

void page_import_mapping(struct api_call *c)
{
    struct api_error e = {0};
    json_t *upload = console_upload_get(c->db, &c->who, api_arg(c, "upload"), &e);
    if (!upload) {
        console_error(c, &e);
        return;
    }
    const char *error = NULL;
    json_t *head = read_head(json_string_value(json_object_get(upload, "body")), &error);
    if (!head) {
        json_decref(upload);
        struct api_error bad = {0};
        api_error_set(&bad, 422, "%s", console_t(error));
        console_error(c, &bad);
        return;
    }
    apply_mapping(c, json_object_get(head, "columns"), false);
    mapping_page(c, 200, upload, head, NULL, NULL, NULL);
    json_decref(head);
    json_decref(upload);
}

/* Report lines of the rewritten file as lines of the uploaded one, with the records the
 * CSV reader refused among them, in line order. */
static void translate_lines(json_t *report, const struct rewritten *w)
{
    size_t i;
    json_t *r, *reports = json_object_get(report, "reports");
    json_array_foreach(reports, i, r) {
        json_int_t line = json_integer_value(json_object_get(r, "line"));
        if (line > 0 && (size_t)line < w->nlines && w->lines[line])
            json_object_set_new(r, "line", json_integer(w->lines[line]));
    }
    json_array_extend(reports, w->bad);
    json_object_set_new(report, "rejected",
                        json_integer(json_integer_value(json_object_get(report, "rejected")) +
                                     (json_int_t)json_array_size(w->bad)));
    /* Insertion sort by line: reports are few (at most IMPORT_REPORTS_MAX). */
    size_t n = json_array_size(reports);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0; b--) {
            json_t *x = json_array_get(reports, b - 1), *y = json_array_get(reports, b);
            if (json_integer_value(json_object_get(x, "line")) <=
                json_integer_value(json_object_get(y, "line")))
                break;
            json_incref(x);
            json_array_set(reports, b - 1, y);
            json_array_set_new(reports, b, x);
        }
}

void page_import_run(struct api_call *c)
{
    bool commit = str_ends_with(c->route->pattern, "/commit");
    struct api_error e = {0};
    json_t *upload = console_upload_get(c->db, &c->who, api_arg(c, "upload"), &e);
    if (!upload) {
        console_error(c, &e);
        return;
    }
    const char *body = json_string_value(json_object_get(upload, "body"));
    const char *error = NULL;
    json_t *head = read_head(body, &error);
    if (!head) {
        json_decref(upload);
        api_error_set(&e, 422, "%s", console_t(error));
        console_error(c, &e);
        return;
    }
    json_t *columns = json_object_get(head, "columns");
    apply_mapping(c, columns, true);
    struct rewritten w;
    if (rewrite(body, columns, &w, &error) < 0) {
        mapping_page(c, 422, upload, head, NULL, error, NULL);
        goto release;
    }
    json_t *report = import_csv_json(c->db, &c->who, w.csv.data, w.csv.len,
                                     json_string_value(json_object_get(upload, "filename")),
                                     json_string_value(json_object_get(upload, "team")), !commit,
                                     &e);
    if (!report) {
        if (e.status >= 500) {
            console_error(c, &e);
        } else {
            mapping_page(c, e.status, upload, head, NULL, NULL, e.message);
            api_error_release(&e);
        }
        goto release;
    }
    translate_lines(report, &w);
    if (commit && console_upload_drop(c->db, &c->who,
                                      json_integer_value(json_object_get(upload, "id")), &e) < 0)
        api_error_release(&e); /* dropped a day later anyway */
    mapping_page(c, 200, upload, head, report, NULL, NULL);
    json_decref(report);
release:
    buf_release(&w.csv);
    free(w.lines);
    json_decref(w.bad);
    json_decref(head);
    json_decref(upload);
}
