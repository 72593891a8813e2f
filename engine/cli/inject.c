/*
 * `tocsin inject`: one RFC 5322 mail on stdin, processed as inbound email, for an MTA
 * pipe. Exit codes are what sendmail expects of a delivery agent.
 */
#include "lib/buf.h"
#include "lib/db.h"
#include "core/config.h"
#include "core/database.h"
#include "inbound/mail_inbound.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

int cli_inject(int argc, char **argv)
{
    if (cli_wants_help(argc, argv,
                       "tocsin inject < MESSAGE   (one RFC 5322 mail on stdin; exit 0 accepted, "
                       "65 not a mail, 75 try later)"))
        return EX_OK;
    if (argc > 1)
        return cli_fail(EX_USAGE, "inject", "takes no arguments; the message comes on stdin");
    long max = config_int("imap", "max_size");
    struct buf in = BUF_INIT;
    char chunk[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
        if (in.len + (size_t)n > (size_t)max) {
            buf_release(&in);
            return cli_fail(EX_DATAERR, "inject", "message larger than [imap] max_size (%ld bytes)",
                            max);
        }
        buf_add(&in, chunk, (size_t)n);
    }
    if (n < 0) {
        buf_release(&in);
        return cli_fail(EX_TEMPFAIL, "inject", "reading stdin failed");
    }
    char *error = NULL;
    struct db *db = database_open(&error);
    if (!db) {
        int rc = cli_fail(EX_TEMPFAIL, "inject", "database: %s", error);
        free(error);
        buf_release(&in);
        return rc;
    }
    struct mail_source src = {.provider = "inject"};
    const char *outcome = NULL;
    int rc = EX_OK;
    if (mail_inbound_process(db, buf_str(&in), in.len, &src, &outcome, &error) < 0) {
        /* Any database failure: the MTA keeps the mail and tries again later. */
        rc = cli_fail(EX_TEMPFAIL, "inject", "%s", error);
        free(error);
    } else if (strcmp(outcome, "rejected") == 0) {
        rc = cli_fail(EX_DATAERR, "inject", "not a mail message");
    } else {
        printf("%s\n", outcome);
    }
    db_close(&db);
    buf_release(&in);
    return rc;
}
