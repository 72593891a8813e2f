/*
 * forget — erase a person on request while the consent ledger stays as evidence
 * (`tocsin people forget CONTACT`; docs/operations.md, "Forgetting someone").
 *
 * people_forget() finds the person one of whose contacts is `address` (E.164 or a
 * lower-case email: the caller normalises it) and, in one transaction of its own:
 *   - empties what they wrote and what was written to them: inbound bodies, raw messages
 *     and senders; outbound subjects, bodies and recipients (queue_forget(): what was still
 *     queued is cancelled); delivery reports' raw text; SMS parts awaiting reassembly;
 *   - deletes their memberships, RSVPs (the seats are freed; nobody on a waitlist is
 *     offered them by this), digest state, unsent organiser drafts and bounce scores, and
 *     an organiser's account: roles, sign-in challenges, sessions, console uploads; their
 *     API tokens are revoked and lose their names;
 *   - replaces each contact's address by its keyed hash (token_digest("forget",
 *     "KIND:ADDRESS"), under the engine secret) and clears the address out of the
 *     ledger's evidence (consent_forget_evidence()); the ledger's rows stay, pointing at
 *     the contact: who opted in or out, when, how, on which channel and scope;
 *   - clears the person's name, tags and choices, sets people.forgotten_at, and writes an
 *     activity row "person_forgotten" with counts only.
 * The team newsletters an organiser sent (campaigns, the activity row of their text) are
 * the team's and stay. Each contact's sender lock (the one inbound_process() takes) is
 * held, so a message from them being processed finishes first, and a later one finds a
 * stranger. With `dry_run` everything is done and rolled back: the counts say what would
 * be erased.
 *
 * Returns FORGET_DONE with *report_r filled, FORGET_NOT_FOUND (no contact has that
 * address and none was forgotten), FORGET_ALREADY (that address was forgotten:
 * report->forgotten_at says when), or -1 with *error_r (caller frees; rolled back).
 *
 * forget_history() prints nothing and changes nothing: it finds the contacts forgotten
 * with that address (by its keyed hash) and returns their ledger rows, oldest first —
 * contact id, channel, scope (team slug or NULL), action, source, evidence, created_at,
 * forgotten_at — as a PGresult the caller PQclear()s (NULL with *error_r).
 */
#ifndef TOCSIN_FORGET_H
#define TOCSIN_FORGET_H

#include "lib/db.h"

#include <stdbool.h>
#include <stdint.h>

enum forget_result { FORGET_DONE = 1, FORGET_NOT_FOUND = 0, FORGET_ALREADY = 2 };

struct forget_report {
    int64_t person_id;
    long contacts, inbound, outbound, memberships, rsvps, consent_rows;
    char *forgotten_at; /* FORGET_ALREADY: when, as PostgreSQL writes a timestamptz */
};

int people_forget(struct db *db, const char *address, bool dry_run, struct forget_report *report_r,
                  char **error_r);
void forget_report_release(struct forget_report *r);

PGresult *forget_history(struct db *db, const char *address, char **error_r);

/* The keyed hash a contact of `kind` ("email" or "phone") with `address` is kept under. */
char *forget_hash(struct db *db, const char *kind, const char *address, char **error_r);

#endif
