/*
 * confirm — double opt-in for people who join by email from an address we did not know.
 *
 * Their membership is kept with status 'pending' until they confirm, by the one-click link
 * (POST /c/TOKEN; a GET only shows the button, as link scanners fetch links) or by
 * replying CONFIRM. Until then segments, reminders and digests skip them: the
 * confirmation is the only message they get.
 *
 * confirm_url() is the one-click link for a person: [http] public_url + /c/ +
 * token_make("confirm", person id); caller frees; NULL with *error_r.
 * The JOIN handler (handlers/join.c) keeps the membership pending and answers with the
 * template join_confirm (kind 'confirmation', context {"prompt": "confirm"}).
 * confirm_apply() runs in the caller's transaction: every pending membership of the
 * person becomes active, the consent ledger gets an email opt-in for their address
 * (source `source`, evidence `evidence`), activity a 'member_confirmed' row per team.
 * *confirmed_r counts memberships activated (0: nothing was pending).
 * confirm_apply() returns 0, or -1 with *error_r (caller frees).
 */
#ifndef TOCSIN_CONFIRM_H
#define TOCSIN_CONFIRM_H

#include "lib/db.h"

#include <stdint.h>

char *confirm_url(struct db *db, int64_t person_id, char **error_r);
int confirm_apply(struct db *db, int64_t person_id, const char *source, const char *evidence,
                  int *confirmed_r, char **error_r);

#endif
