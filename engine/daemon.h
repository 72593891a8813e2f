/*
 * daemon — `tocsin run`: start the duties, wait for SIGTERM/SIGINT, stop them in reverse.
 *
 * A duty is one row of daemon_duties[] (daemon.c): `start` returns 0 or -1 with *error_r
 * (the daemon then stops what already started and exits non-zero); `stop` must stop taking
 * work, finish or release what is in flight, and return. Duties that need the database
 * open their own connections. daemon_stopping() tells long loops to wind down.
 */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

#include <stdbool.h>

struct daemon_duty {
    const char *name;
    int (*start)(char **error_r);
    void (*stop)(void);
};

extern const struct daemon_duty daemon_duties[];

bool daemon_stopping(void);

#endif
