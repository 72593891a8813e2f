/*
 * import — `tocsin import people FILE.csv`.
 *
 * Each row is validated in C (email, E.164 phone, locale, time zone, duplicates inside
 * the file); bad rows are reported with their line number and skipped. Valid rows are
 * streamed with COPY into a temporary staging table and applied set-based, one
 * transaction per batch of IMPORT_BATCH rows: match existing people by email then phone,
 * create the rest, add missing contacts with an opt-in recorded in the consent ledger,
 * merge tags, add team memberships. Unknown team slugs are reported, the row is kept.
 */
#include "lib/buf.h"
#include "lib/csv.h"
#include "lib/log.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"
#include "cli/cli.h"

#include <ctype.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#define IMPORT_BATCH 10000

enum column {
    COL_EMAIL,
    COL_PHONE,
    COL_NAME,
    COL_LOCALE,
    COL_TIMEZONE,
    COL_TEAMS,
    COL_TAGS,
    NCOLS
};
static const char *const column_names[NCOLS] = {"email",    "phone", "name", "locale",
                                                "timezone", "teams", "tags"};

struct import {
    struct db *db;
    const char *file;
    struct buf copy; /* COPY text rows of the current batch */
    long batch_rows;
    long imported, rejected, created;
    void *seen; /* tsearch tree of struct seen: emails and phones in the file */
};

static void report(struct import *im, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct import *im, long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%ld: ", im->file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* COPY text format: backslash, tab, newline and carriage return must be escaped. */
static void copy_field(struct buf *out, const char *value, bool last)
{
    if (!value || !*value) {
        buf_adds(out, "\\N");
    } else {
        for (const char *p = value; *p; p++) {
            switch (*p) {
            case '\\':
                buf_adds(out, "\\\\");
                break;
            case '\t':
                buf_adds(out, "\\t");
                break;
            case '\n':
                buf_adds(out, "\\n");
                break;
            case '\r':
                buf_adds(out, "\\r");
                break;
            default:
                buf_addch(out, *p);
            }
        }
    }
    buf_addch(out, last ? '\n' : '\t');
}

static bool timezone_valid(const char *tz)
{
    if (!*tz || tz[0] == '/' || strstr(tz, ".."))
        return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p))
            return false;
    char *path = xasprintf("/usr/share/zoneinfo/%s", tz);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return ok || strcmp(tz, "UTC") == 0;
}

struct seen {
    long line;
    char key[];
};

static int compare_seen(const void *a, const void *b)
{
    return strcmp(((const struct seen *)a)->key, ((const struct seen *)b)->key);
}

/* Remember `key` for line `line`; return the earlier line if it was seen, else 0. */
static long seen_before(struct import *im, const char *key, long line)
{
    size_t len = strlen(key);
    struct seen *entry = xmalloc(sizeof(*entry) + len + 1);
    entry->line = line;
    memcpy(entry->key, key, len + 1);
    struct seen **node = tsearch(entry, &im->seen, compare_seen);
    if (*node != entry) {
        free(entry);
        return (*node)->line;
    }
    return 0;
}

static const char *const staging_sql =
    "CREATE TEMP TABLE import_rows ("
    " line bigint, email text, phone text, name text, locale text, timezone text,"
    " teams text, tags text, person_id bigint, is_new boolean DEFAULT false"
    ") ON COMMIT DELETE ROWS";

/* The set-based apply, in order; each statement reads import_rows. */
static const char *const apply_sql[] = {
    /* Temporary tables are never auto-analysed; without statistics the planner picks
     * nested loops over 10,000 rows. */
    "ANALYZE import_rows",
    "UPDATE import_rows r SET person_id = c.person_id FROM contacts c"
    " WHERE c.kind = 'email' AND c.address = r.email",
    "UPDATE import_rows r SET person_id = c.person_id FROM contacts c"
    " WHERE r.person_id IS NULL AND c.kind = 'phone' AND c.address = r.phone",
    "UPDATE import_rows SET person_id = nextval('people_id_seq'), is_new = true"
    " WHERE person_id IS NULL",
    "INSERT INTO people (id, name, locale, timezone, tags, source)"
    " SELECT person_id, coalesce(name, ''), coalesce(locale, $1), coalesce(timezone, $2),"
    "        coalesce(regexp_split_to_array(tags, '[\\s,]+'), '{}'), 'import'"
    " FROM import_rows WHERE is_new",
    "UPDATE people p SET name = coalesce(r.name, p.name), locale = coalesce(r.locale, p.locale),"
    "       timezone = coalesce(r.timezone, p.timezone),"
    "       tags = ARRAY(SELECT DISTINCT t FROM unnest(p.tags ||"
    "              coalesce(regexp_split_to_array(r.tags, '[\\s,]+'), '{}')) t ORDER BY t),"
    "       updated_at = now()"
    " FROM import_rows r WHERE r.person_id = p.id AND NOT r.is_new",
    "WITH added AS ("
    "  INSERT INTO contacts (person_id, kind, address)"
    "  SELECT person_id, 'email', email FROM import_rows WHERE email IS NOT NULL"
    "  UNION ALL"
    "  SELECT person_id, 'phone', phone FROM import_rows WHERE phone IS NOT NULL"
    "  ON CONFLICT (kind, address) DO NOTHING RETURNING id, kind)"
    " SELECT consent_append(array_agg(ROW(id, CASE kind WHEN 'email' THEN 'email' ELSE 'sms'"
    "  END, NULL, 'opt_in', 'import', $1::text)::consent_entry)) FROM added",
    "INSERT INTO memberships (person_id, team_id, role, status)"
    " SELECT DISTINCT r.person_id, t.id, 'member', 'active'"
    " FROM import_rows r, unnest(regexp_split_to_array(r.teams, '\\s+')) AS s(slug)"
    " JOIN teams t ON t.slug = lower(s.slug)"
    " ON CONFLICT (person_id, team_id) DO NOTHING",
};

static const char *const unknown_teams_sql =
    "SELECT r.line, s.slug FROM import_rows r,"
    " unnest(regexp_split_to_array(r.teams, '\\s+')) AS s(slug)"
    " WHERE s.slug <> '' AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.slug = lower(s.slug))"
    " ORDER BY r.line";

static int flush_batch(struct import *im, char **error_r)
{
    if (im->batch_rows == 0)
        return 0;
    PGconn *conn = db_conn(im->db);
    if (db_begin(im->db, error_r) < 0)
        return -1;
    PGresult *res = PQexec(conn, "COPY import_rows (line, email, phone, name, locale, timezone,"
                                 " teams, tags) FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        *error_r = xstrdup(PQerrorMessage(conn));
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    if (PQputCopyData(conn, im->copy.data, (int)im->copy.len) != 1 ||
        PQputCopyEnd(conn, NULL) != 1) {
        *error_r = xstrdup(PQerrorMessage(conn));
        goto fail;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *error_r = xstrdup(PQerrorMessage(conn));
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    while ((res = PQgetResult(conn)))
        PQclear(res);

    res = db_exec(im->db, unknown_teams_sql, 0, NULL, error_r);
    if (!res)
        goto fail;
    for (int i = 0; i < PQntuples(res); i++)
        report(im, strtol(PQgetvalue(res, i, 0), NULL, 10), "unknown team %s (row kept)",
               PQgetvalue(res, i, 1));
    PQclear(res);

    char *evidence = xasprintf("import:%s", im->file);
    const char *defaults[] = {config_str("engine", "default_locale"),
                              config_str("engine", "default_timezone")};
    const char *evidence_param[] = {evidence};
    /* Which parameters each statement of apply_sql[] takes. */
    const struct {
        int n;
        const char *const *params;
    } args[] = {{0, NULL},     {0, NULL}, {0, NULL},           {0, NULL},
                {2, defaults}, {0, NULL}, {1, evidence_param}, {0, NULL}};
    for (size_t i = 0; i < ARRAY_SIZE(apply_sql); i++) {
        res = db_exec(im->db, apply_sql[i], args[i].n, args[i].params, error_r);
        if (!res) {
            free(evidence);
            goto fail;
        }
        if (i == 3)
            im->created += strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    free(evidence);
    if (db_commit(im->db, error_r) < 0)
        goto fail;
    im->imported += im->batch_rows;
    im->batch_rows = 0;
    buf_reset(&im->copy);
    return 0;
fail:
    db_rollback(im->db);
    return -1;
}

/* Validate one record; append it to the batch or report why not. */
static void take_row(struct import *im, long line, char **fields, int nfields, const int *map)
{
    const char *raw[NCOLS] = {0};
    for (int c = 0; c < NCOLS; c++)
        if (map[c] >= 0 && map[c] < nfields)
            raw[c] = fields[map[c]];
    char *email = NULL, *phone = NULL, *locale = NULL, *tz = NULL, *teams = NULL;
    const char *reason = NULL;
    char *trimmed[NCOLS] = {0};
    for (int c = 0; c < NCOLS; c++)
        if (raw[c]) {
            trimmed[c] = xstrdup(raw[c]);
            char *t = str_trim(trimmed[c]);
            memmove(trimmed[c], t, strlen(t) + 1);
        }
    if (trimmed[COL_EMAIL] && *trimmed[COL_EMAIL] &&
        !(email = email_normalise(trimmed[COL_EMAIL], &reason))) {
        report(im, line, "email %s: %s", trimmed[COL_EMAIL], reason);
        goto reject;
    }
    if (trimmed[COL_PHONE] && *trimmed[COL_PHONE] &&
        !(phone = phone_normalise(trimmed[COL_PHONE], config_str("engine", "default_country"),
                                  &reason))) {
        report(im, line, "phone %s: %s", trimmed[COL_PHONE], reason);
        goto reject;
    }
    if (!email && !phone) {
        report(im, line, "no email and no phone");
        goto reject;
    }
    if (trimmed[COL_LOCALE] && *trimmed[COL_LOCALE]) {
        locale = str_lower(xstrndup(trimmed[COL_LOCALE], 2));
        if (strlen(trimmed[COL_LOCALE]) < 2 || !isalpha((unsigned char)locale[0]) ||
            !isalpha((unsigned char)locale[1])) {
            report(im, line, "locale %s: expected a language code such as fr or en",
                   trimmed[COL_LOCALE]);
            goto reject;
        }
    }
    if (trimmed[COL_TIMEZONE] && *trimmed[COL_TIMEZONE]) {
        if (!timezone_valid(trimmed[COL_TIMEZONE])) {
            report(im, line, "timezone %s: not an IANA time zone", trimmed[COL_TIMEZONE]);
            goto reject;
        }
        tz = xstrdup(trimmed[COL_TIMEZONE]);
    }
    if (trimmed[COL_TEAMS] && *trimmed[COL_TEAMS])
        teams = str_lower(xstrdup(trimmed[COL_TEAMS]));
    long earlier;
    if (email && (earlier = seen_before(im, email, line))) {
        report(im, line, "email %s already on line %ld", email, earlier);
        goto reject;
    }
    if (phone && (earlier = seen_before(im, phone, line))) {
        report(im, line, "phone %s already on line %ld", phone, earlier);
        goto reject;
    }
    char number[32];
    snprintf(number, sizeof(number), "%ld", line);
    copy_field(&im->copy, number, false);
    copy_field(&im->copy, email, false);
    copy_field(&im->copy, phone, false);
    copy_field(&im->copy, trimmed[COL_NAME], false);
    copy_field(&im->copy, locale, false);
    copy_field(&im->copy, tz, false);
    copy_field(&im->copy, teams, false);
    copy_field(&im->copy, trimmed[COL_TAGS], true);
    im->batch_rows++;
    goto out;
reject:
    im->rejected++;
out:
    for (int c = 0; c < NCOLS; c++)
        free(trimmed[c]);
    free(email);
    free(phone);
    free(locale);
    free(tz);
    free(teams);
}

static void free_seen(struct import *im)
{
    tdestroy(im->seen, free);
    im->seen = NULL;
}

/* Map each column to its field from the header row: EX_OK, or the exit status of the
 * error (said on stderr). */
static int read_header(struct csv *csv, const char *file, int map[NCOLS])
{
    char **fields;
    int nfields;
    const char *reason;
    for (int c = 0; c < NCOLS; c++)
        map[c] = -1;
    if (csv_next(csv, &fields, &nfields, &reason) <= 0)
        return cli_fail(EX_DATAERR, "import", "%s: no header row", file);
    for (int f = 0; f < nfields; f++) {
        char *name = str_lower(str_trim(fields[f]));
        int c = 0;
        while (c < NCOLS && strcmp(column_names[c], name) != 0)
            c++;
        if (c == NCOLS)
            return cli_fail(EX_DATAERR, "import", "%s:1: unknown column %s", file, name);
        map[c] = f;
    }
    if (map[COL_EMAIL] < 0 && map[COL_PHONE] < 0)
        return cli_fail(EX_DATAERR, "import", "%s:1: needs an email or a phone column", file);
    return EX_OK;
}

/* Every record after the header, a batch at a time: 0, or -1 with *error_r when a batch
 * could not be applied (the batches before it are kept). */
static int import_records(struct import *im, struct csv *csv, const int *map, char **error_r)
{
    char **fields;
    int nfields, got;
    const char *reason;
    while ((got = csv_next(csv, &fields, &nfields, &reason)) != 0) {
        if (got < 0) {
            report(im, csv_line(csv), "%s", reason);
            im->rejected++;
            continue;
        }
        if (nfields == 1 && fields[0][0] == '\0')
            continue;
        take_row(im, csv_line(csv), fields, nfields, map);
        if (im->batch_rows >= IMPORT_BATCH && flush_batch(im, error_r) < 0)
            return -1;
    }
    return flush_batch(im, error_r);
}

int cli_import(int argc, char **argv)
{
    const char *text = "tocsin import people FILE.csv\n"
                       "  columns (header row, any order): email, phone, name, locale, timezone,\n"
                       "  teams (space-separated slugs), tags; separator , or ;";
    if (cli_wants_help(argc, argv, text))
        return EX_OK;
    if (argc != 3 || strcmp(argv[1], "people") != 0)
        return cli_fail(EX_USAGE, "import", "usage: %s", text);
    FILE *in = strcmp(argv[2], "-") == 0 ? stdin : fopen(argv[2], "r");
    if (!in)
        return cli_fail(EX_NOINPUT, "import", "%s: cannot open", argv[2]);
    struct import im = {.file = argv[2]};
    char *error = NULL;
    struct csv *csv = csv_open(in, 0);
    int map[NCOLS];
    int rc = read_header(csv, argv[2], map);
    if (rc != EX_OK)
        goto out;
    im.db = cli_db();
    if (db_run(im.db, staging_sql, 0, NULL, &error) < 0) {
        rc = cli_fail(EX_SOFTWARE, "import", "%s", error);
        goto out;
    }
    if (import_records(&im, csv, map, &error) < 0) {
        rc = cli_fail(db_transient(im.db) ? EX_TEMPFAIL : EX_SOFTWARE, "import",
                      "%s (%ld rows were imported before this)", error, im.imported);
        goto out;
    }
    printf("%ld imported (%ld new), %ld rejected\n", im.imported, im.created, im.rejected);
    log_info("import", "file=%s imported=%ld created=%ld rejected=%ld", log_q(argv[2]), im.imported,
             im.created, im.rejected);
    if (im.rejected)
        rc = EX_DATAERR;
out:
    free(error);
    csv_close(&csv);
    free_seen(&im);
    buf_release(&im.copy);
    db_close(&im.db);
    if (in != stdin)
        fclose(in);
    return rc;
}
