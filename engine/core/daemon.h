/*
 * daemon — the life of `tocsin run`: wait for the database, refuse a schema with pending
 * migrations, start the duties, wait for SIGTERM/SIGINT, stop them in reverse.
 *
 * daemon_run() takes a table of duties ended by a row whose name is NULL (the table is
 * engine/cli/run.c's, which knows every subsystem; this module knows none). `start`
 * returns 0 or -1 with *error_r (the daemon then stops what already started); `stop` must
 * stop taking work, finish or release what is in flight, and return. Duties that need
 * the database open their own connections. daemon_run() returns a sysexits code, with
 * *error_r (caller frees) when it is not EX_OK.
 *
 * daemon_stopping() tells long loops to wind down; daemon_request_stop() sets it (tests,
 * tools that run a duty without the daemon).
 */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

#include <stdbool.h>

struct daemon_duty {
    const char *name;
    int (*start)(char **error_r);
    void (*stop)(void);
};

int daemon_run(const struct daemon_duty *duties, char **error_r);
bool daemon_stopping(void);
void daemon_request_stop(void);

#endif
