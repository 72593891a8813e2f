#include "core/import.h"
#include "lib/buf.h"
#include "lib/csv.h"
#include "lib/fold.h"
#include "lib/log.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/consent.h"
#include "core/secret.h"

#include <ctype.h>
#include <jansson.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum column {
    COL_EMAIL,
    COL_PHONE,
    COL_NAME,
    COL_LOCALE,
    COL_TIMEZONE,
    COL_TEAMS,
    COL_TAGS,
    COL_FIRST_NAME,
    COL_LAST_NAME,
    NCOLS
};
static const char *const column_names[NCOLS] = {
    "email", "phone", "name", "locale", "timezone", "teams", "tags", "first_name", "last_name"};

/* What a header may say for each column, as header_key() writes it (folded, letters and
 * digits only): English and French spreadsheets name them in many ways. "nom" alone is a
 * family name in French; with no prénom column it is the whole name (see take_row()). */
static const struct {
    const char *header;
    enum column column;
} header_aliases[] = {
    {"email", COL_EMAIL},
    {"mail", COL_EMAIL},
    {"courriel", COL_EMAIL},
    {"adresseemail", COL_EMAIL},
    {"adressemail", COL_EMAIL},
    {"adressecourriel", COL_EMAIL},
    {"phone", COL_PHONE},
    {"mobile", COL_PHONE},
    {"telephone", COL_PHONE},
    {"tel", COL_PHONE},
    {"portable", COL_PHONE},
    {"telephoneportable", COL_PHONE},
    {"numerodetelephone", COL_PHONE},
    {"gsm", COL_PHONE},
    {"name", COL_NAME},
    {"fullname", COL_NAME},
    {"nomcomplet", COL_NAME},
    {"nometprenom", COL_NAME},
    {"prenometnom", COL_NAME},
    {"firstname", COL_FIRST_NAME},
    {"givenname", COL_FIRST_NAME},
    {"prenom", COL_FIRST_NAME},
    {"lastname", COL_LAST_NAME},
    {"surname", COL_LAST_NAME},
    {"familyname", COL_LAST_NAME},
    {"nom", COL_LAST_NAME},
    {"nomdefamille", COL_LAST_NAME},
    {"locale", COL_LOCALE},
    {"language", COL_LOCALE},
    {"langue", COL_LOCALE},
    {"timezone", COL_TIMEZONE},
    {"fuseau", COL_TIMEZONE},
    {"fuseauhoraire", COL_TIMEZONE},
    {"teams", COL_TEAMS},
    {"team", COL_TEAMS},
    {"equipe", COL_TEAMS},
    {"equipes", COL_TEAMS},
    {"groupe", COL_TEAMS},
    {"groupes", COL_TEAMS},
    {"group", COL_TEAMS},
    {"groups", COL_TEAMS},
    {"tags", COL_TAGS},
    {"tag", COL_TAGS},
    {"etiquette", COL_TAGS},
    {"etiquettes", COL_TAGS},
    {"labels", COL_TAGS},
};

/* A header as it is compared: accents and case folded, only letters and digits kept
 * ("Adresse e-mail" → "adresseemail", "Équipe(s)" → "equipes"). Caller frees. */
static char *header_key(const char *header)
{
    struct buf folded = BUF_INIT, key = BUF_INIT;
    fold_text(header, strlen(header), &folded);
    for (const char *p = buf_str(&folded); *p; p++)
        if (isalnum((unsigned char)*p))
            buf_addch(&key, *p);
    buf_release(&folded);
    return buf_detach(&key);
}

struct import {
    struct db *db;
    const struct import_options *o;
    struct import_result *result;
    struct buf copy; /* COPY text rows of the current batch */
    long batch_rows;
    void *seen; /* tsearch tree of struct seen: emails and phones in the file */
    /* The keyed hashes ("kind:hash") of forgotten contacts (campaigns/forget.h), and the key
     * they are made with; NULL when nobody was ever forgotten. */
    void *forgotten;
    const char *key;
};

static void report(struct import *im, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct import *im, long line, const char *fmt, ...)
{
    if (!im->o->report)
        return;
    va_list ap;
    va_start(ap, fmt);
    struct buf text = BUF_INIT;
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    im->o->report(im->o->ctx, line, buf_str(&text));
    buf_release(&text);
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
    char *row; /* the whole row as read, to tell a copy of it from another row */
    char key[];
};

static void free_seen_entry(void *p)
{
    struct seen *entry = p;
    free(entry->row);
    free(entry);
}

static int compare_seen(const void *a, const void *b)
{
    return strcmp(((const struct seen *)a)->key, ((const struct seen *)b)->key);
}

/* Remember `key` (and its whole `row`) for line `line`; return the earlier entry if the
 * key was seen, else NULL. */
static const struct seen *seen_before(struct import *im, const char *key, const char *row,
                                      long line)
{
    size_t len = strlen(key);
    struct seen *entry = xmalloc(sizeof(*entry) + len + 1);
    entry->line = line;
    entry->row = xstrdup(row);
    memcpy(entry->key, key, len + 1);
    struct seen **node = tsearch(entry, &im->seen, compare_seen);
    if (*node != entry) {
        free_seen_entry(entry);
        return *node;
    }
    return NULL;
}

/* Kept for the server connection's life (the daemon's connections import again and
 * again), and made sure of inside each batch's transaction: through a transaction pooler
 * that transaction may run on another server connection than the one before. */
static const char *const staging_sql =
    "CREATE TEMP TABLE IF NOT EXISTS import_rows ("
    " line bigint, email text, phone text, name text, locale text, timezone text,"
    " teams text, tags text, first_name text, person_id bigint, is_new boolean DEFAULT false"
    ") ON COMMIT DELETE ROWS";

/* The set-based apply, in order; each statement reads import_rows. The conflicts query
 * runs after the match by email (IMPORT_CONFLICTS_AFTER). */
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
    "INSERT INTO people (id, name, first_name, locale, timezone, tags, source)"
    " SELECT person_id, coalesce(name, ''), first_name, coalesce(locale, $1),"
    "        coalesce(timezone, $2), coalesce(regexp_split_to_array(tags, '[\\s,]+'), '{}'),"
    "        'import'"
    " FROM import_rows WHERE is_new",
    /* Someone known: what the file says fills what is empty; with --overwrite ($1) it
     * replaces the name, first name, locale and time zone. Tags only ever add up. */
    "UPDATE people p SET"
    "       name = CASE WHEN $1::bool OR p.name = '' THEN coalesce(r.name, p.name) ELSE p.name END,"
    "       first_name = CASE WHEN $1::bool OR p.first_name IS NULL"
    "                    THEN coalesce(r.first_name, p.first_name) ELSE p.first_name END,"
    "       locale = CASE WHEN $1::bool THEN coalesce(r.locale, p.locale) ELSE p.locale END,"
    "       timezone = CASE WHEN $1::bool THEN coalesce(r.timezone, p.timezone)"
    "                  ELSE p.timezone END,"
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
#define IMPORT_CONFLICTS_AFTER 1
#define IMPORT_CREATED_BY      3

/* Rows matched by email whose phone is already another person's: the phone stays theirs. */
static const char *const conflicts_sql =
    "SELECT r.line, r.phone FROM import_rows r JOIN contacts c"
    " ON c.kind = 'phone' AND c.address = r.phone"
    " WHERE r.person_id IS NOT NULL AND c.person_id <> r.person_id ORDER BY r.line";

/* An organiser's import: rows naming a team outside theirs ($1, ids) are refused. */
static const char *const outside_teams_sql =
    "SELECT r.line, min(s.slug) FROM import_rows r,"
    " unnest(regexp_split_to_array(r.teams, '\\s+')) AS s(slug)"
    " JOIN teams t ON t.slug = lower(s.slug)"
    " WHERE NOT t.id = ANY($1::bigint[]) GROUP BY r.line ORDER BY r.line";

static const char *const default_team_sql =
    "INSERT INTO memberships (person_id, team_id, role, status)"
    " SELECT DISTINCT r.person_id, t.id, 'member', 'active' FROM import_rows r, teams t"
    " WHERE t.slug = lower($1) ON CONFLICT (person_id, team_id) DO NOTHING";

static const char *const unknown_teams_sql =
    "SELECT r.line, s.slug FROM import_rows r,"
    " unnest(regexp_split_to_array(r.teams, '\\s+')) AS s(slug)"
    " WHERE s.slug <> '' AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.slug = lower(s.slug))"
    " ORDER BY r.line";

/* What report_rows() does with the rows it reports. */
enum rows_are {
    ROWS_NOTED,     /* reported, kept */
    ROWS_CONFLICTS, /* reported, kept, counted as conflicts */
    ROWS_REJECTED,  /* reported, removed from the batch, counted as rejected */
};

/* Report the rows a query returns (line, value) with `format`. */
static int report_rows(struct import *im, const char *sql, int nparams, const char *const *params,
                       const char *format, enum rows_are are, char **error_r)
{
    PGresult *res = db_exec(im->db, sql, nparams, params, error_r);
    if (!res)
        return -1;
    struct buf lines = BUF_INIT;
    for (int i = 0; i < PQntuples(res); i++) {
        long line = strtol(PQgetvalue(res, i, 0), NULL, 10);
        char *text = xasprintf(format, PQgetvalue(res, i, 1));
        report(im, line, "%s", text);
        free(text);
        buf_printf(&lines, "%s%ld", lines.len ? "," : "", line);
    }
    int n = PQntuples(res);
    PQclear(res);
    int rc = 0;
    if (are == ROWS_REJECTED && n > 0) {
        char *array = xasprintf("{%s}", buf_str(&lines));
        const char *dp[] = {array};
        rc = db_run(im->db, "DELETE FROM import_rows WHERE line = ANY($1::bigint[])", 1, dp,
                    error_r);
        free(array);
        im->result->rejected += n;
        im->batch_rows -= n;
    }
    if (are == ROWS_CONFLICTS)
        im->result->conflicts += n;
    buf_release(&lines);
    return rc;
}

static int copy_batch(struct import *im, char **error_r)
{
    PGconn *conn = db_conn(im->db);
    PGresult *res = PQexec(conn, "COPY import_rows (line, email, phone, name, locale, timezone,"
                                 " teams, tags, first_name) FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        *error_r = xstrdup(PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    if (PQputCopyData(conn, im->copy.data, (int)im->copy.len) != 1 ||
        PQputCopyEnd(conn, NULL) != 1) {
        *error_r = xstrdup(PQerrorMessage(conn));
        return -1;
    }
    int rc = 0;
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *error_r = xstrdup(PQerrorMessage(conn));
        rc = -1;
    }
    PQclear(res);
    while ((res = PQgetResult(conn)))
        PQclear(res);
    return rc;
}

static int flush_batch(struct import *im, char **error_r)
{
    if (im->batch_rows == 0)
        return 0;
    /* A dry run is one transaction opened by import_people(), rolled back at the end; the
     * staging table is emptied by hand between its batches (ON COMMIT never comes). */
    if (!im->o->dry_run && db_begin(im->db, error_r) < 0)
        return -1;
    if (db_run(im->db, staging_sql, 0, NULL, error_r) < 0 ||
        (im->o->dry_run && db_run(im->db, "TRUNCATE import_rows", 0, NULL, error_r) < 0))
        goto fail;
    if (copy_batch(im, error_r) < 0)
        goto fail;
    if (im->o->allowed_teams) {
        const char *ap[] = {im->o->allowed_teams};
        if (report_rows(im, outside_teams_sql, 1, ap, "team %s is not one of yours", ROWS_REJECTED,
                        error_r) < 0)
            goto fail;
    }
    if (report_rows(im, unknown_teams_sql, 0, NULL, "unknown team %s (row kept)", ROWS_NOTED,
                    error_r) < 0)
        goto fail;

    char *evidence = xasprintf("import:%s", im->o->source);
    const char *defaults[] = {config_str("engine", "default_locale"),
                              config_str("engine", "default_timezone")};
    const char *evidence_param[] = {evidence};
    const char *overwrite_param[] = {im->o->overwrite ? "t" : "f"};
    /* Which parameters each statement of apply_sql[] takes. */
    const struct {
        int n;
        const char *const *params;
    } args[] = {{0, NULL},           {0, NULL},     {0, NULL},
                {0, NULL},           {2, defaults}, {1, overwrite_param},
                {1, evidence_param}, {0, NULL}};
    for (size_t i = 0; i < ARRAY_SIZE(apply_sql); i++) {
        PGresult *res = db_exec(im->db, apply_sql[i], args[i].n, args[i].params, error_r);
        if (!res) {
            free(evidence);
            goto fail;
        }
        if (i == IMPORT_CREATED_BY)
            im->result->created += strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        if (i == IMPORT_CONFLICTS_AFTER &&
            report_rows(im, conflicts_sql, 0, NULL,
                        "phone %s belongs to another person: left with them", ROWS_CONFLICTS,
                        error_r) < 0) {
            free(evidence);
            goto fail;
        }
    }
    free(evidence);
    const char *tp[] = {im->o->team};
    if (im->o->team && db_run(im->db, default_team_sql, 1, tp, error_r) < 0)
        goto fail;
    if (!im->o->dry_run && db_commit(im->db, error_r) < 0)
        goto fail;
    im->result->imported += im->batch_rows;
    im->batch_rows = 0;
    buf_reset(&im->copy);
    return 0;
fail:
    db_rollback(im->db);
    return -1;
}

/* A phone as typed. In France a spreadsheet that took a number for a number dropped its
 * leading 0 ("612345678"): nine digits are read as the national number they were, with a
 * note. NULL (reported) when it is no number. Caller frees. */
static char *read_phone(struct import *im, long line, const char *typed)
{
    const char *country = config_str("engine", "default_country");
    const char *reason = NULL;
    char *phone = NULL;
    if (strcasecmp(country, "FR") == 0 && strlen(typed) == 9 && strspn(typed, "0123456789") == 9 &&
        typed[0] != '0') {
        char *national = xasprintf("0%s", typed);
        phone = phone_normalise(national, country, &reason);
        if (phone)
            report(im, line, "phone %s: read as %s (a spreadsheet had dropped its leading 0)",
                   typed, national);
        free(national);
        if (phone)
            return phone;
    }
    phone = phone_normalise(typed, country, &reason);
    if (!phone)
        report(im, line, "phone %s: %s", typed, reason);
    return phone;
}

/* The name: the name column, else "Prénom Nom" from the first and last name columns.
 * Caller frees; NULL when the row gives none. */
static char *compose_name(char *const *field)
{
    if (field[COL_NAME] && *field[COL_NAME])
        return xstrdup(field[COL_NAME]);
    const char *first = field[COL_FIRST_NAME] ? field[COL_FIRST_NAME] : "";
    const char *last = field[COL_LAST_NAME] ? field[COL_LAST_NAME] : "";
    if (!*first && !*last)
        return NULL;
    return xasprintf("%s%s%s", first, *first && *last ? " " : "", last);
}

/* The same email or phone on an earlier line: a copy of that row (a spreadsheet pasted
 * twice) is skipped with a note; another row with it is an error. 0 new, 1 a copy, -1
 * refused (reported). */
static int check_duplicate(struct import *im, long line, const char *email, const char *phone,
                           const char *row)
{
    const char *keys[] = {email, phone};
    const char *what[] = {"email", "phone"};
    for (int k = 0; k < 2; k++) {
        if (!keys[k])
            continue;
        const struct seen *earlier = seen_before(im, keys[k], row, line);
        if (!earlier)
            continue;
        if (strcmp(earlier->row, row) == 0) {
            report(im, line, "same row as line %ld: skipped", earlier->line);
            return 1;
        }
        report(im, line, "%s %s already on line %ld", what[k], keys[k], earlier->line);
        return -1;
    }
    return 0;
}

/* Locale and time zone of a row: NULL when empty; -1 (reported) when wrong. */
static int read_locale_zone(struct import *im, long line, char *const *field, char **locale_r,
                            char **tz_r)
{
    if (field[COL_LOCALE] && *field[COL_LOCALE]) {
        *locale_r = str_lower(xstrndup(field[COL_LOCALE], 2));
        if (strlen(field[COL_LOCALE]) < 2 || !isalpha((unsigned char)(*locale_r)[0]) ||
            !isalpha((unsigned char)(*locale_r)[1])) {
            report(im, line, "locale %s: expected a language code such as fr or en",
                   field[COL_LOCALE]);
            return -1;
        }
    }
    if (field[COL_TIMEZONE] && *field[COL_TIMEZONE]) {
        if (!timezone_valid(field[COL_TIMEZONE])) {
            report(im, line, "timezone %s: not an IANA time zone", field[COL_TIMEZONE]);
            return -1;
        }
        *tz_r = xstrdup(field[COL_TIMEZONE]);
    }
    return 0;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Someone forgotten on request is not imported again from an old spreadsheet: their
 * addresses' keyed hashes are read once, each row's addresses checked against them. */
static int load_forgotten(struct import *im, char **error_r)
{
    PGresult *res = db_exec(im->db,
                            "SELECT kind || ':' || address_hash FROM contacts"
                            " WHERE address_hash IS NOT NULL",
                            0, NULL, error_r);
    if (!res)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        char *entry = xstrdup(PQgetvalue(res, i, 0));
        if (*(char **)tsearch(entry, &im->forgotten, compare_text) != entry)
            free(entry);
    }
    PQclear(res);
    if (n > 0 && !(im->key = secret_get(im->db, error_r)))
        return -1;
    return 0;
}

/* True (reported) when the row's email or phone was forgotten. */
static bool was_forgotten(struct import *im, long line, const char *email, const char *phone)
{
    if (!im->forgotten)
        return false;
    const char *kinds[] = {"email", "phone"};
    const char *addresses[] = {email, phone};
    for (int k = 0; k < 2; k++) {
        if (!addresses[k])
            continue;
        char *hash = consent_address_hash(im->key, kinds[k], addresses[k]);
        char *entry = xasprintf("%s:%s", kinds[k], hash);
        bool found = tfind(entry, &im->forgotten, compare_text) != NULL;
        free(entry);
        free(hash);
        if (found) {
            report(im, line, "%s %s was forgotten on request (people forget): not imported again",
                   kinds[k], addresses[k]);
            return true;
        }
    }
    return false;
}

/* Validate one record; append it to the batch or report why not. */
static void take_row(struct import *im, long line, char **fields, int nfields, const int *map)
{
    char *field[NCOLS] = {0}; /* trimmed */
    for (int c = 0; c < NCOLS; c++)
        if (map[c] >= 0 && map[c] < nfields) {
            char *t = str_trim(fields[map[c]]);
            field[c] = xstrdup(t);
        }
    char *email = NULL, *phone = NULL, *locale = NULL, *tz = NULL, *teams = NULL, *name = NULL;
    char *row = NULL;
    const char *reason = NULL;
    if (field[COL_EMAIL] && *field[COL_EMAIL] &&
        !(email = email_normalise(field[COL_EMAIL], &reason))) {
        report(im, line, "email %s: %s", field[COL_EMAIL], reason);
        goto reject;
    }
    if (field[COL_PHONE] && *field[COL_PHONE] && !(phone = read_phone(im, line, field[COL_PHONE])))
        goto reject;
    if (!email && !phone) {
        report(im, line, "no email and no phone");
        goto reject;
    }
    if (read_locale_zone(im, line, field, &locale, &tz) < 0)
        goto reject;
    if (was_forgotten(im, line, email, phone)) {
        im->result->forgotten++;
        goto out;
    }
    if (field[COL_TEAMS] && *field[COL_TEAMS])
        teams = str_lower(xstrdup(field[COL_TEAMS]));
    name = compose_name(field);
    const char *first =
        field[COL_FIRST_NAME] && *field[COL_FIRST_NAME] ? field[COL_FIRST_NAME] : NULL;
    row = xasprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", email ? email : "",
                    phone ? phone : "", name ? name : "", first ? first : "", locale ? locale : "",
                    tz ? tz : "", teams ? teams : "", field[COL_TAGS] ? field[COL_TAGS] : "");
    int duplicate = check_duplicate(im, line, email, phone, row);
    if (duplicate < 0)
        goto reject;
    if (duplicate > 0) {
        im->result->duplicates++;
        goto out;
    }
    char number[32];
    snprintf(number, sizeof(number), "%ld", line);
    copy_field(&im->copy, number, false);
    copy_field(&im->copy, email, false);
    copy_field(&im->copy, phone, false);
    copy_field(&im->copy, name, false);
    copy_field(&im->copy, locale, false);
    copy_field(&im->copy, tz, false);
    copy_field(&im->copy, teams, false);
    copy_field(&im->copy, field[COL_TAGS], false);
    copy_field(&im->copy, first, true);
    im->batch_rows++;
    goto out;
reject:
    im->result->rejected++;
out:
    for (int c = 0; c < NCOLS; c++)
        free(field[c]);
    free(email);
    free(phone);
    free(locale);
    free(tz);
    free(teams);
    free(name);
    free(row);
}

static void free_seen(struct import *im)
{
    tdestroy(im->seen, free_seen_entry);
    im->seen = NULL;
    tdestroy(im->forgotten, free);
    im->forgotten = NULL;
}

static int record_import(struct db *db, const struct import_options *o,
                         const struct import_result *r, char **error_r)
{
    int64_t team = 0;
    if (o->team) {
        const char *params[] = {o->team};
        PGresult *res =
            db_exec(db, "SELECT id FROM teams WHERE slug = lower($1)", 1, params, error_r);
        if (!res)
            return -1;
        team = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
    }
    json_t *payload = json_pack("{s:s,s:I,s:I,s:I,s:I}", "source", o->source, "imported",
                                (json_int_t)r->imported, "new", (json_int_t)r->created, "rejected",
                                (json_int_t)r->rejected, "conflicts", (json_int_t)r->conflicts);
    static const struct actor operator= {0, "cli"};
    return activity_record(db, o->actor ? o->actor : &operator, team, "import", payload, error_r);
}

/* The planner's statistics are stale right after a bulk import: autovacuum analyses the
 * tables on its next round, a minute or more later, and until then a campaign to the new
 * people is planned as if the tables were small (387 s instead of 0.4 s to count 100,000
 * recipients). Analyse what the import wrote now, when it is a tenth of the people or more
 * — autovacuum's own threshold — or when the tables were never analysed. */
static int analyze_if_changed(struct db *db, const struct import_result *r, char **error_r)
{
    if (r->imported == 0)
        return 0;
    PGresult *res =
        db_exec(db, "SELECT reltuples::bigint FROM pg_class WHERE oid = 'people'::regclass", 0,
                NULL, error_r);
    if (!res)
        return -1;
    long long estimate = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (estimate >= 0 && r->imported * 10 < estimate)
        return 0;
    int64_t started = now_monotonic_ms();
    if (db_run(db, "ANALYZE people, contacts, memberships, consent", 0, NULL, error_r) < 0)
        return -1;
    log_info("import_analyzed", "imported=%ld people_before=%lld ms=%lld", r->imported, estimate,
             (long long)(now_monotonic_ms() - started));
    return 0;
}

/* Map each column to its field from the header row: IMPORT_OK, or IMPORT_BAD_FILE with
 * *error_r (no header, an unknown column, neither email nor phone). */
static enum import_outcome read_header(struct csv *csv, const char *source, int map[NCOLS],
                                       char **error_r)
{
    char **fields;
    int nfields;
    const char *reason;
    for (int c = 0; c < NCOLS; c++)
        map[c] = -1;
    if (csv_next(csv, &fields, &nfields, &reason) <= 0) {
        *error_r = xasprintf("%s: no header row", source);
        return IMPORT_BAD_FILE;
    }
    for (int f = 0; f < nfields; f++) {
        char *key = header_key(fields[f]);
        int c = -1;
        for (size_t a = 0; a < ARRAY_SIZE(header_aliases) && c < 0; a++)
            if (strcmp(header_aliases[a].header, key) == 0)
                c = (int)header_aliases[a].column;
        free(key);
        if (c < 0) {
            *error_r = xasprintf("%s:1: unknown column %s (known: email/e-mail/courriel, "
                                 "phone/téléphone/portable, name, first_name/prénom, "
                                 "last_name/nom, locale/langue, timezone, teams/équipe(s)/groupe, "
                                 "tags/étiquettes)",
                                 source, str_trim(fields[f]));
            return IMPORT_BAD_FILE;
        }
        if (map[c] >= 0) {
            *error_r = xasprintf("%s:1: columns %d and %d are both %s", source, map[c] + 1, f + 1,
                                 column_names[c]);
            return IMPORT_BAD_FILE;
        }
        map[c] = f;
    }
    if (map[COL_EMAIL] < 0 && map[COL_PHONE] < 0) {
        *error_r = xasprintf("%s:1: needs an email or a phone column", source);
        return IMPORT_BAD_FILE;
    }
    return IMPORT_OK;
}

/* The file as CSV in its encoding (o->encoding, or detected); a file not read as UTF-8 is
 * said in a note on line 1, where the reports of rows go. NULL with *error_r. */
static struct csv *open_csv(struct import *im, FILE *in, char **error_r)
{
    char *why = NULL;
    struct csv *csv = csv_open_encoded(in, 0, im->o->encoding, &why);
    if (!csv) {
        *error_r = xasprintf("%s: %s", im->o->source, why);
        free(why);
        return NULL;
    }
    if (strcmp(csv_encoding(csv), "UTF-8") != 0)
        report(im, 1, "read as %s%s", csv_encoding(csv),
               im->o->encoding && *im->o->encoding ? "" : " (detected: not UTF-8)");
    return csv;
}

enum import_outcome import_people(struct db *db, FILE *in, const struct import_options *o,
                                  struct import_result *result, char **error_r)
{
    memset(result, 0, sizeof(*result));
    struct import im = {.db = db, .o = o, .result = result};
    enum import_outcome outcome = IMPORT_FAILED;
    char **fields;
    int nfields, got;
    const char *reason;
    int map[NCOLS];
    struct csv *csv = open_csv(&im, in, error_r);
    if (!csv)
        return IMPORT_BAD_FILE;
    outcome = read_header(csv, o->source, map, error_r);
    if (outcome != IMPORT_OK)
        goto out;
    outcome = IMPORT_FAILED;
    if (db_run(db, staging_sql, 0, NULL, error_r) < 0 || load_forgotten(&im, error_r) < 0)
        goto out;
    if (o->dry_run && db_begin(db, error_r) < 0)
        goto out;
    bool failed = false;
    while (!failed && (got = csv_next(csv, &fields, &nfields, &reason)) != 0) {
        if (got < 0) {
            report(&im, csv_line(csv), "%s", reason);
            result->rejected++;
            continue;
        }
        if (nfields == 1 && fields[0][0] == '\0')
            continue;
        take_row(&im, csv_line(csv), fields, nfields, map);
        if (im.batch_rows >= IMPORT_BATCH && flush_batch(&im, error_r) < 0)
            failed = true;
    }
    if (!failed && flush_batch(&im, error_r) < 0)
        failed = true;
    if (o->dry_run)
        db_rollback(db);
    if (failed)
        goto out;
    if (!o->dry_run &&
        (record_import(db, o, result, error_r) < 0 || analyze_if_changed(db, result, error_r) < 0))
        goto out;
    log_info("import", "source=%s imported=%ld created=%ld rejected=%ld dry_run=%d",
             log_q(o->source), result->imported, result->created, result->rejected, o->dry_run);
    outcome = IMPORT_OK;
out:
    csv_close(&csv);
    free_seen(&im);
    buf_release(&im.copy);
    return outcome;
}
