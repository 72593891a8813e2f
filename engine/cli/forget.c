/*
 * `tocsin people forget CONTACT [--dry-run]` — erase a person on request, keeping the
 * consent ledger as pseudonymised evidence (campaigns/forget.h says what goes and what
 * stays; docs/operations.md, "Forgetting someone", says why). CONTACT is any of their
 * addresses, typed as people type them (06 12 34 56 78). --dry-run does it all and rolls
 * back: the counts say what would be erased. Exit 0 forgotten (or already forgotten, said
 * with the date), 65 when no one has that address or it is not one, 69/75 database.
 *
 * `tocsin people forgotten CONTACT [--json]` — the ledger kept for an address that was
 * forgotten, found through its keyed hash: how to answer "did this person agree, and
 * when?" after the person is gone.
 */
#include "lib/util.h"
#include "campaigns/forget.h"
#include "cli/cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char forget_usage[] = "tocsin people forget CONTACT [--dry-run]";
static const char forgotten_usage[] = "tocsin people forgotten CONTACT [--json]";

static int fail_db(struct db *db, const char *command, char *error)
{
    int code = db_lost(db) ? EX_TEMPFAIL : EX_SOFTWARE;
    int rc = cli_fail(code, command, "%s", error ? error : "database error");
    free(error);
    return rc;
}

int cli_people_forget(struct db *db, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, forget_usage))
        return EX_OK;
    bool dry_run = cli_take_flag(&argc, argv, "--dry-run");
    if (argc != 2)
        return cli_fail(EX_USAGE, "people forget", "usage: %s", forget_usage);
    const char *kind = NULL;
    char *address = cli_contact("people forget", "CONTACT", argv[1], &kind);
    if (!address)
        return EX_DATAERR;
    struct forget_report r;
    char *error = NULL;
    int result = people_forget(db, address, dry_run, &r, &error);
    int rc = EX_OK;
    if (result < 0) {
        rc = fail_db(db, "people forget", error);
    } else if (result == FORGET_NOT_FOUND) {
        rc = cli_fail(EX_DATAERR, "people forget", "no one has the %s %s", kind, address);
    } else if (result == FORGET_ALREADY) {
        printf("person %" PRId64 ": %s was already forgotten, on %s\n", r.person_id, address,
               r.forgotten_at);
    } else {
        printf("person %" PRId64 " %s: %ld contact%s pseudonymised, %ld message%s received and "
               "%ld sent emptied, %ld membership%s and %ld RSVP%s removed; %ld consent row%s "
               "kept as evidence\n",
               r.person_id, dry_run ? "would be forgotten (dry run, nothing changed)" : "forgotten",
               r.contacts, r.contacts == 1 ? "" : "s", r.inbound, r.inbound == 1 ? "" : "s",
               r.outbound, r.memberships, r.memberships == 1 ? "" : "s", r.rsvps,
               r.rsvps == 1 ? "" : "s", r.consent_rows, r.consent_rows == 1 ? "" : "s");
    }
    forget_report_release(&r);
    free(address);
    return rc;
}

int cli_people_forgotten(struct db *db, int argc, char **argv)
{
    if (cli_wants_help(argc, argv, forgotten_usage))
        return EX_OK;
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 2)
        return cli_fail(EX_USAGE, "people forgotten", "usage: %s", forgotten_usage);
    const char *kind = NULL;
    char *address = cli_contact("people forgotten", "CONTACT", argv[1], &kind);
    if (!address)
        return EX_DATAERR;
    char *error = NULL;
    PGresult *res = forget_history(db, address, &error);
    int rc = EX_OK;
    if (!res)
        rc = fail_db(db, "people forgotten", error);
    else if (PQntuples(res) == 0 && !json)
        rc = cli_fail(EX_DATAERR, "people forgotten", "no forgotten contact had the %s %s", kind,
                      address);
    else
        cli_print_result(res, json);
    PQclear(res);
    free(address);
    return rc;
}
