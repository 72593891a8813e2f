/*
 * import — supporters from a CSV file: `tocsin import people` and the organisers' import.
 *
 * import_people() reads a header row naming any of the columns email, phone, name, locale,
 * timezone, teams (space-separated slugs), tags, first_name and last_name (separator , or
 * ;, a UTF-8 BOM is fine; headers folded, in English or French: e-mail, courriel,
 * téléphone, portable, prénom, nom, équipe(s), groupe, étiquettes, langue…), then one
 * supporter a row. First and last names make the name "Prénom Nom" and keep the first name
 * (people.first_name). Nine digits ("612345678") are a French number whose leading 0 a
 * spreadsheet dropped, read so with a note; a row repeated exactly is skipped with a note
 * (result->duplicates); a known person's name, first name, locale and zone are only filled
 * when empty unless `overwrite`. A row whose email or phone was forgotten on request
 * (campaigns/forget.h: its keyed hash is known) is skipped with a note (result->forgotten). The
 * file's encoding is detected (lib/csv.h: Windows-1252, what a French spreadsheet writes, is
 * transcoded; a note on line 1 says so) unless `encoding` names it; in a UTF-8 file a row that is
 * not UTF-8 or holds a NUL is rejected alone. Each row is validated in C (email, E.164 phone read
 * in [engine] default_country, locale, time zone, duplicates inside the file); a bad row is
 * reported with its line number and skipped. Valid rows are streamed with COPY into a temporary
 * staging table and applied set-based, one transaction per IMPORT_BATCH rows: match existing people
 * by email then phone, create the rest, add missing contacts with an opt-in in the consent ledger
 * (source import, evidence "import:SOURCE"), merge tags, add team memberships. Unknown team slugs
 * are reported and the row kept.
 *
 * Options: `dry_run` does all of it in one transaction rolled back at the end, so the
 * counts and reports are exactly what a real run would give; `team` (a slug) is joined by
 * every row; `allowed_teams` (an array literal of team ids, for an organiser's import)
 * rejects rows naming a team outside it. `report` is called for every rejected row and
 * every note (unknown team, a phone already someone else's) with its line number. A real
 * run ends with one line in activity made by `actor` (the counts, the source), and with
 * ANALYZE of people, contacts, memberships and consent when the rows imported are a tenth
 * of the people or more, so what follows (a campaign to them) is planned on fresh
 * statistics. Each batch makes sure of its staging table inside its own transaction: the
 * connection may go through a transaction pooler.
 *
 * Returns IMPORT_OK with the counts; IMPORT_BAD_FILE when the file cannot be read as an
 * import (no header, unknown column, neither email nor phone) with *error_r; IMPORT_FAILED
 * on a database error (*error_r; db_transient(db) says whether to retry; batches committed
 * before it stay).
 */
#ifndef TOCSIN_IMPORT_H
#define TOCSIN_IMPORT_H

#include "lib/db.h"
#include "core/activity.h"

#include <stdbool.h>
#include <stdio.h>

#define IMPORT_BATCH 10000

struct import_options {
    const char *source; /* the file's name: in reports and the ledger's evidence */
    bool dry_run;
    bool overwrite; /* a known person's name, first name, locale, zone replaced (else filled) */
    const char *encoding;      /* the file's encoding (an iconv name), or NULL: detected */
    const char *team;          /* slug every row joins, or NULL */
    const char *allowed_teams; /* "{1,2}": the only teams rows may name, or NULL */
    void (*report)(void *ctx, long line, const char *reason);
    void *ctx;
    const struct actor *actor;
};

struct import_result {
    long imported;   /* valid rows applied (or that would be, in a dry run) */
    long created;    /* of which new people */
    long rejected;   /* rows refused */
    long conflicts;  /* rows whose phone belongs to another person than their email */
    long duplicates; /* rows identical to an earlier one: skipped, not an error */
    long forgotten;  /* rows of an address forgotten on request: skipped, not an error */
};

enum import_outcome { IMPORT_OK, IMPORT_BAD_FILE, IMPORT_FAILED };

enum import_outcome import_people(struct db *db, FILE *in, const struct import_options *o,
                                  struct import_result *result, char **error_r);

#endif
