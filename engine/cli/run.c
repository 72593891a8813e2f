/*
 * `tocsin run`: the daemon's duties, in the order they start. The HTTP server starts last
 * and stops first, so no webhook is taken while the rest is not ready or already winding
 * down.
 */
#include "core/daemon.h"
#include "core/http.h"
#include "outbound/queue.h"
#include "campaigns/scheduler.h"
#include "inbound/imap.h"
#include "inbound/sms_backlog.h"
#include "cli/cli.h"
#include "cli/config_check.h"
#include "core/config.h"

#include <stdlib.h>
#include <sysexits.h>

/* One duty per line, in the order they start. */
/* clang-format off */
static const struct daemon_duty duties[] = {
    {"outbound", queue_start, queue_stop},
    {"scheduler", scheduler_start, scheduler_stop},
    {"imap", imap_start, imap_stop},
    {"sms_backlog", sms_backlog_start, sms_backlog_stop},
    {"http", http_start, http_stop},
    {NULL, NULL, NULL},
};
/* clang-format on */

int cli_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, "tocsin run   (the daemon; SIGTERM or SIGINT stops it)"))
        return EX_OK;
    if (argc > 1)
        return cli_fail(EX_USAGE, "run", "takes no arguments");
    /* The same checks as `tocsin config check`: a daemon never starts on a value that
     * would fail later, and a configuration error is EX_CONFIG, as sysexits says. */
    int errors = config_check(stderr);
    if (errors)
        return cli_fail(EX_CONFIG, "run", "%d configuration error%s in %s", errors,
                        errors == 1 ? "" : "s", cli_config_source());
    char *error = NULL;
    int rc = daemon_run(duties, &error);
    if (rc != EX_OK)
        cli_fail(rc, "run", "%s", error ? error : "failed");
    free(error);
    return rc;
}
