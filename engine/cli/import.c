/*
 * import — `tocsin import people FILE.csv`: core/import.h with its reports on stderr as
 * FILE:LINE: reason. Exit 65 when a row was rejected (the valid rows are kept).
 */
#include "lib/util.h"
#include "core/import.h"
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static void print_report(void *ctx, long line, const char *reason)
{
    fprintf(stderr, "%s:%ld: %s\n", (const char *)ctx, line, reason);
}

int cli_import(int argc, char **argv)
{
    const char *text =
        "tocsin import people FILE.csv [--dry-run] [--overwrite] [--team SLUG] [--encoding NAME]\n"
        "  columns (header row, any order, English or French): email (e-mail, courriel),\n"
        "  phone (téléphone, portable), name, or first_name (prénom) and last_name (nom),\n"
        "  locale (langue), timezone, teams (équipe(s), groupe: space-separated slugs),\n"
        "  tags (étiquettes); separator , or ;\n"
        "  --dry-run: check and count everything, change nothing\n"
        "  --overwrite: replace the names, locale and zone of people already known\n"
        "               (without it an import only fills what is empty)\n"
        "  --team: every row also joins that team\n"
        "  --encoding: the file's (latin1, windows-1252...); else detected";
    if (cli_wants_help(argc, argv, text))
        return EX_OK;
    bool dry_run = cli_take_flag(&argc, argv, "--dry-run");
    bool overwrite = cli_take_flag(&argc, argv, "--overwrite");
    const char *team = cli_take_option(&argc, argv, "--team");
    const char *encoding = cli_take_option(&argc, argv, "--encoding");
    if (argc != 3 || strcmp(argv[1], "people") != 0)
        return cli_fail(EX_USAGE, "import", "usage: %s", text);
    FILE *in = strcmp(argv[2], "-") == 0 ? stdin : fopen(argv[2], "r");
    if (!in)
        return cli_fail(EX_NOINPUT, "import", "%s: cannot open: %s", argv[2], strerror(errno));
    struct db *db = cli_db();
    struct import_options o = {.source = argv[2],
                               .dry_run = dry_run,
                               .overwrite = overwrite,
                               .team = team,
                               .encoding = encoding,
                               .report = print_report,
                               .ctx = argv[2]};
    struct import_result r;
    char *error = NULL;
    int rc = EX_OK;
    switch (import_people(db, in, &o, &r, &error)) {
    case IMPORT_OK:
        printf("%ld %s (%ld new), %ld rejected", r.imported,
               dry_run ? "would be imported" : "imported", r.created, r.rejected);
        if (r.duplicates)
            printf(", %ld repeated row%s skipped", r.duplicates, r.duplicates == 1 ? "" : "s");
        if (r.forgotten)
            printf(", %ld forgotten address%s skipped", r.forgotten, r.forgotten == 1 ? "" : "es");
        if (r.conflicts)
            printf(", %ld conflict%s left as they were", r.conflicts, r.conflicts == 1 ? "" : "s");
        printf("%s\n", dry_run ? " (dry run: nothing changed)" : "");
        if (r.rejected)
            rc = EX_DATAERR;
        break;
    case IMPORT_BAD_FILE:
        rc = cli_fail(EX_DATAERR, "import", "%s", error);
        break;
    case IMPORT_FAILED:
        rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "import",
                      "%s (%ld rows were imported before this)", error, dry_run ? 0 : r.imported);
        break;
    }
    free(error);
    db_close(&db);
    if (in != stdin)
        fclose(in);
    return rc;
}
