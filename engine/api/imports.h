/*
 * imports — supporters from CSV through the organisers' API: core/import.h over a file in
 * memory, with its reports as JSON.
 *
 * import_csv_json(): a dry run (nothing changes) or a real import of `csv`; `team` is
 * joined by every row. An organiser's import must name one of their teams and its rows may
 * name only their teams (others are rejected with a reason); an admin's may do anything.
 * The answer: imported, new, updated, rejected, conflicts, and the reports
 * [{line, reason}] (the first IMPORT_REPORTS_MAX; `reports_truncated` says if more).
 */
#ifndef TOCSIN_API_IMPORTS_H
#define TOCSIN_API_IMPORTS_H

#include "core/account.h"
#include "api/model.h"

#include <stdbool.h>
#include <stddef.h>

#define IMPORT_REPORTS_MAX 1000

json_t *import_csv_json(struct db *db, const struct caller *who, const char *csv, size_t len,
                        const char *name, const char *team, bool dry_run, struct api_error *e);

struct api_call;
void route_import(struct api_call *c);

#endif
