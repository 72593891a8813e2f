/*
 * consent — the append-only ledger of opt-ins and opt-outs (table `consent`), and its only
 * writer.
 *
 * consent_append() adds one row inside the caller's transaction: `scope` is a team id or
 * 0 for "every team"; `source` says how we learnt it (sms_keyword, email_command,
 * one_click, bounce, carrier, import) and `evidence` what proves it (the provider message
 * id, a Message-ID). consent_opt_out() appends a global opt-out for a contact on the
 * contact's own channel unless the ledger already says it is opted out, so a repeated
 * unsubscribe or bounce is written once. Rows are never updated: the newest row for a
 * contact, channel and scope (or global) decides, which is what the SQL function
 * consent_allows() reads. consent_allows_address() asks that function for an address
 * (no contact: allowed). All return 0, or -1 with *error_r (caller frees).
 *
 * The SQL function consent_append(consent_entry[]) (migrations/0007_…) belongs to this
 * module: it is the one INSERT INTO consent, which consent_append() calls for one row and
 * which statements appending a set of rows (an import's new contacts, confirmed members,
 * a send batch's hard bounces, a carrier's opt-out report) call once with
 * array_agg(ROW(contact_id, channel, scope, action, source, evidence)::consent_entry).
 * Nothing else inserts into `consent`; the test t0000-layers checks it.
 */
#ifndef TOCSIN_CONSENT_H
#define TOCSIN_CONSENT_H

#include "lib/db.h"

#include <stdbool.h>
#include <stdint.h>

int consent_append(struct db *db, int64_t contact_id, const char *channel, int64_t scope,
                   const char *action, const char *source, const char *evidence, char **error_r);
int consent_opt_out(struct db *db, int64_t contact_id, const char *source, const char *evidence,
                    char **error_r);
int consent_allows_address(struct db *db, const char *channel, const char *address, int64_t scope,
                           bool *allowed_r, char **error_r);
/* The source recorded for a keyword received on `channel`. */
const char *consent_keyword_source(const char *channel);

#endif
