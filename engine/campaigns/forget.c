#include "campaigns/forget.h"
#include "lib/util.h"
#include "core/consent.h"
#include "core/secret.h"
#include "outbound/queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *forget_hash(struct db *db, const char *kind, const char *address, char **error_r)
{
    const char *key = secret_get(db, error_r);
    return key ? consent_address_hash(key, kind, address) : NULL;
}

static const char *kind_of(const char *address)
{
    return strchr(address, '@') ? "email" : "phone";
}

/* Run a statement and add the rows it touched to *count (NULL: not counted). */
static int run_counted(struct db *db, const char *sql, const char *person, long *count,
                       char **error_r)
{
    const char *params[] = {person};
    PGresult *res = db_exec(db, sql, 1, params, error_r);
    if (!res)
        return -1;
    if (count)
        *count += atol(PQcmdTuples(res));
    PQclear(res);
    return 0;
}

/* The person's contacts still holding an address, so as to pseudonymise them (caller
 * PQclear()s): id, kind, address, the channel the kind is used on. */
static PGresult *live_contacts(struct db *db, const char *person, char **error_r)
{
    const char *params[] = {person};
    return db_exec(db,
                   "SELECT id, kind, address, CASE kind WHEN 'phone' THEN 'sms' ELSE 'email' END"
                   " FROM contacts WHERE person_id = $1 AND address IS NOT NULL"
                   " ORDER BY id FOR UPDATE",
                   1, params, error_r);
}

/* What else ties the person to the organisation and holds nothing the ledger needs,
 * erased without counting: delivery reports' raw text, SMS parts awaiting reassembly, texts
 * a busy webhook stored and not applied yet (or given up),
 * digest state, unsent drafts, bounce scores, and an organiser's account — roles, sign-in
 * challenges, sessions, API tokens (revoked, their names cleared) and console uploads —
 * and what the reply budgets and proofs kept: the number answered once, pending requests
 * to confirm, failed codes. */
static const char *const uncounted_sql[] = {
    "UPDATE sms_delivery_reports SET raw = NULL WHERE raw IS NOT NULL AND outbound_id IN"
    " (SELECT o.id FROM outbound_messages o WHERE o.person_id = $1 OR o.contact_id IN"
    "   (SELECT id FROM contacts WHERE person_id = $1))",
    "DELETE FROM sms_parts WHERE sender IN"
    " (SELECT address FROM contacts WHERE person_id = $1 AND kind = 'phone')",
    "DELETE FROM sms_backlog WHERE sender IN"
    " (SELECT address FROM contacts WHERE person_id = $1 AND kind = 'phone')",
    "DELETE FROM digest_state WHERE person_id = $1",
    "DELETE FROM organiser_drafts WHERE person_id = $1 AND campaign_id IS NULL",
    "DELETE FROM bounce_scores WHERE contact_id IN (SELECT id FROM contacts WHERE person_id = $1)",
    "DELETE FROM account_roles WHERE person_id = $1",
    "DELETE FROM login_challenges WHERE person_id = $1",
    "DELETE FROM sessions WHERE person_id = $1",
    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()), name = 'forgotten'"
    " WHERE person_id = $1",
    "DELETE FROM console_uploads WHERE person_id = $1",
    "DELETE FROM sms_answered_numbers WHERE number IN"
    " (SELECT address FROM contacts WHERE person_id = $1 AND kind = 'phone')",
    "DELETE FROM confirmation_requests WHERE contact_id IN"
    " (SELECT id FROM contacts WHERE person_id = $1)",
    "DELETE FROM organiser_code_failures WHERE person_id = $1",
};

/* Everything but the contacts themselves: what they wrote and what was written to them,
 * and what ties them to teams, events and the console. Order matters: the rows addressed
 * to them are found through the addresses, which go last. */
static int erase_traces(struct db *db, const char *person, struct forget_report *r, char **error_r)
{
    static const char inbound_sql[] =
        "UPDATE inbound_messages i SET sender = '[forgotten]', body = '', raw = NULL"
        " WHERE i.person_id = $1 OR EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = $1"
        "  AND c.address = i.sender"
        "  AND c.kind = CASE i.channel WHEN 'sms' THEN 'phone' ELSE 'email' END)";
    static const char memberships_sql[] = "DELETE FROM memberships WHERE person_id = $1";
    static const char rsvps_sql[] = "DELETE FROM rsvps WHERE person_id = $1";
    for (size_t i = 0; i < ARRAY_SIZE(uncounted_sql); i++)
        if (run_counted(db, uncounted_sql[i], person, NULL, error_r) < 0)
            return -1;
    if (run_counted(db, inbound_sql, person, &r->inbound, error_r) < 0 ||
        queue_forget(db, r->person_id, &r->outbound, error_r) < 0 ||
        run_counted(db, memberships_sql, person, &r->memberships, error_r) < 0 ||
        run_counted(db, rsvps_sql, person, &r->rsvps, error_r) < 0)
        return -1;
    return 0;
}

/* Each contact: its address becomes its keyed hash, and the ledger's evidence forgets it. */
static int pseudonymise(struct db *db, const PGresult *contacts, struct forget_report *r,
                        char **error_r)
{
    for (int i = 0; i < PQntuples(contacts); i++) {
        const char *id = PQgetvalue(contacts, i, 0), *kind = PQgetvalue(contacts, i, 1);
        const char *address = PQgetvalue(contacts, i, 2);
        char *hash = forget_hash(db, kind, address, error_r);
        if (!hash)
            return -1;
        const char *params[] = {id, hash};
        int rc = db_run(db, "UPDATE contacts SET address = NULL, address_hash = $2 WHERE id = $1",
                        2, params, error_r);
        free(hash);
        if (rc < 0 || consent_forget_evidence(db, strtoll(id, NULL, 10), address, error_r) < 0)
            return -1;
        r->contacts++;
    }
    return 0;
}

static int finish_person(struct db *db, const char *person, struct forget_report *r, char **error_r)
{
    const char *params[] = {person};
    PGresult *res = db_exec(db,
                            "SELECT count(*) FROM consent WHERE contact_id IN"
                            " (SELECT id FROM contacts WHERE person_id = $1)",
                            1, params, error_r);
    if (!res)
        return -1;
    r->consent_rows = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (db_run(db,
               "UPDATE people SET name = '', tags = '{}', channel = NULL, digest = NULL,"
               " forgotten_at = now(), updated_at = now() WHERE id = $1",
               1, params, error_r) < 0)
        return -1;
    char *payload = xasprintf("{\"person_id\": %" PRId64 ", \"contacts\": %ld, \"inbound\": %ld,"
                              " \"outbound\": %ld, \"memberships\": %ld, \"rsvps\": %ld,"
                              " \"consent_rows_kept\": %ld}",
                              r->person_id, r->contacts, r->inbound, r->outbound, r->memberships,
                              r->rsvps, r->consent_rows);
    const char *ins[] = {payload};
    int rc = db_run(db,
                    "INSERT INTO activity (team_id, kind, payload)"
                    " VALUES (NULL, 'person_forgotten', $1::jsonb)",
                    1, ins, error_r);
    free(payload);
    return rc;
}

/* No live contact has the address: was it forgotten? FORGET_ALREADY or FORGET_NOT_FOUND. */
static int find_forgotten(struct db *db, const char *address, struct forget_report *r,
                          char **error_r)
{
    const char *kind = kind_of(address);
    char *hash = forget_hash(db, kind, address, error_r);
    if (!hash)
        return -1;
    const char *params[] = {kind, hash};
    PGresult *res = db_exec(db,
                            "SELECT p.id, p.forgotten_at FROM contacts c"
                            " JOIN people p ON p.id = c.person_id"
                            " WHERE c.kind = $1 AND c.address_hash = $2"
                            " ORDER BY p.forgotten_at DESC LIMIT 1",
                            2, params, error_r);
    free(hash);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1 ? FORGET_ALREADY : FORGET_NOT_FOUND;
    if (found == FORGET_ALREADY) {
        r->person_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        r->forgotten_at = xstrdup(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

int people_forget(struct db *db, const char *address, bool dry_run, struct forget_report *r,
                  char **error_r)
{
    memset(r, 0, sizeof(*r));
    PGresult *contacts = NULL;
    int result = -1;
    if (db_begin(db, error_r) < 0)
        return -1;
    const char *who[] = {kind_of(address), address};
    PGresult *res = db_exec(db, "SELECT person_id FROM contacts WHERE kind = $1 AND address = $2",
                            2, who, error_r);
    if (!res)
        goto out;
    if (PQntuples(res) == 0) {
        PQclear(res);
        result = find_forgotten(db, address, r, error_r);
        goto out;
    }
    r->person_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    char person[24];
    snprintf(person, sizeof(person), "%" PRId64, r->person_id);
    if (!(contacts = live_contacts(db, person, error_r)))
        goto out;
    /* The lock inbound_process() takes per sender: a message of theirs being handled
     * finishes first; one that comes later finds a stranger. */
    for (int i = 0; i < PQntuples(contacts); i++) {
        const char *lock[] = {PQgetvalue(contacts, i, 3), PQgetvalue(contacts, i, 2)};
        if (db_run(db, "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))", 2,
                   lock, error_r) < 0)
            goto out;
    }
    if (erase_traces(db, person, r, error_r) < 0 || pseudonymise(db, contacts, r, error_r) < 0 ||
        finish_person(db, person, r, error_r) < 0)
        goto out;
    if (dry_run) {
        result = FORGET_DONE;
        goto out;
    }
    if (db_commit(db, error_r) < 0)
        goto out;
    result = FORGET_DONE;
out:
    PQclear(contacts);
    db_rollback(db);
    return result;
}

void forget_report_release(struct forget_report *r)
{
    free(r->forgotten_at);
    memset(r, 0, sizeof(*r));
}

PGresult *forget_history(struct db *db, const char *address, char **error_r)
{
    const char *kind = kind_of(address);
    char *hash = forget_hash(db, kind, address, error_r);
    if (!hash)
        return NULL;
    const char *params[] = {kind, hash};
    PGresult *res = db_exec(db,
                            "SELECT k.contact_id, k.channel, t.slug AS scope, k.action, k.source,"
                            " k.evidence, k.created_at, p.forgotten_at"
                            " FROM contacts c JOIN people p ON p.id = c.person_id"
                            " JOIN consent k ON k.contact_id = c.id"
                            " LEFT JOIN teams t ON t.id = k.scope"
                            " WHERE c.kind = $1 AND c.address_hash = $2"
                            " ORDER BY k.id",
                            2, params, error_r);
    free(hash);
    return res;
}
