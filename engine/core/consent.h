/*
 * consent — the append-only ledger of opt-ins and opt-outs (table `consent`).
 *
 * consent_append() adds one row inside the caller's transaction: `scope` is a team id or
 * 0 for "every team"; `source` says how we learnt it (sms_keyword, email_command,
 * one_click, bounce, import) and `evidence` what proves it (the provider message id, a
 * Message-ID). Rows are never updated: the newest row for a contact, channel and scope
 * (or global) decides, which is what the SQL function consent_allows() reads.
 * consent_allows_address() asks that function for an address (no contact: allowed).
 * Both return 0, or -1 with *error_r (caller frees).
 */
#ifndef TOCSIN_CONSENT_H
#define TOCSIN_CONSENT_H

#include "lib/db.h"

#include <stdbool.h>
#include <stdint.h>

int consent_append(struct db *db, int64_t contact_id, const char *channel, int64_t scope,
                   const char *action, const char *source, const char *evidence, char **error_r);
int consent_allows_address(struct db *db, const char *channel, const char *address, int64_t scope,
                           bool *allowed_r, char **error_r);
/* Forgetting a contact (campaigns/forget.h) keeps its ledger rows but not what their
 * evidence says about the address: every occurrence of `address` (any case) in the
 * evidence of contact_id's rows becomes "[forgotten]". The contact's address must already
 * be gone (the ledger's trigger allows this rewrite for such contacts only). */
int consent_forget_evidence(struct db *db, int64_t contact_id, const char *address, char **error_r);
/* The source recorded for a keyword received on `channel`. */
const char *consent_keyword_source(const char *channel);

#endif
