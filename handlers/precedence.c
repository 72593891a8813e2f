/*
 * The precedence of supporter commands: one row per handler (handlers/NAME.c defines
 * handler_NAME), first match wins. This list is the only place besides its own file that
 * names a command. docs/commands.md says why each row is where it is; read it before
 * moving one. In short: opt-outs first (a stop word anywhere beats every other reading),
 * bare answers last (they also accept chatter after the answer).
 */
#include "handlers/handlers.h"

#define PRECEDENCE(ROW)                                                                            \
    ROW(stop)                                                                                      \
    ROW(start)                                                                                     \
    ROW(help)                                                                                      \
    ROW(events)                                                                                    \
    ROW(where)                                                                                     \
    ROW(join)                                                                                      \
    ROW(leave)                                                                                     \
    ROW(cancel)                                                                                    \
    ROW(msg)                                                                                       \
    ROW(confirm)                                                                                   \
    ROW(digest_answer)                                                                             \
    ROW(rsvp)

#define DECLARE(name) extern const struct handler handler_##name;
PRECEDENCE(DECLARE)

#define ENTRY(name) &handler_##name,
const struct handler *const handlers[] = {PRECEDENCE(ENTRY) NULL};
