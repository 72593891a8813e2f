/*
 * demo — `tocsin demo`: one team, one event and a few people, loaded once.
 *
 * `make run` calls it after migrating so a first-time user has something to reply to.
 * A settings row remembers that the demo was loaded, so deleting the demo team later
 * does not bring it back at the next start.
 */
#include "lib/util.h"
#include "cli/cli.h"

#include <stdio.h>
#include <sysexits.h>

static const char *const demo_sql[] = {
    "INSERT INTO teams (slug, name, region) VALUES ('paris-10', 'Paris 10e', 'Île-de-France')"
    " ON CONFLICT (slug) DO NOTHING",
    "INSERT INTO events (slug, team_id, title, starts_at, timezone, capacity, location)"
    " SELECT 'porte-a-porte', t.id, 'Porte-à-porte au marché Saint-Quentin',"
    "  (date_trunc('day', now() AT TIME ZONE 'Europe/Paris') + interval '3 days 10 hours')"
    "   AT TIME ZONE 'Europe/Paris', 'Europe/Paris', 12, '85 bis boulevard de Magenta'"
    " FROM teams t WHERE t.slug = 'paris-10' ON CONFLICT (slug) DO NOTHING",
    "WITH p AS (INSERT INTO people (name, locale, timezone, source) VALUES"
    "  ('Camille Martin', 'fr', 'Europe/Paris', 'demo'),"
    "  ('Louis Bernard', 'fr', 'Europe/Paris', 'demo'),"
    "  ('Ana Lopes', 'en', 'Europe/Paris', 'demo') RETURNING id, name),"
    " c AS (INSERT INTO contacts (person_id, kind, address)"
    "  SELECT id, 'email', CASE name WHEN 'Camille Martin' THEN 'camille@example.org'"
    "   WHEN 'Louis Bernard' THEN 'louis@example.org' ELSE 'ana@example.org' END FROM p"
    "  UNION ALL SELECT id, 'phone', CASE name WHEN 'Camille Martin' THEN '+33612345601'"
    "   WHEN 'Louis Bernard' THEN '+33612345602' ELSE '+33612345603' END FROM p"
    "  RETURNING id, person_id, kind),"
    " m AS (INSERT INTO memberships (person_id, team_id, role)"
    "  SELECT p.id, t.id, CASE p.name WHEN 'Camille Martin' THEN 'organiser' ELSE 'member' END"
    "  FROM p, teams t WHERE t.slug = 'paris-10')"
    " SELECT consent_append(array_agg(ROW(id, CASE kind WHEN 'email' THEN 'email' ELSE 'sms'"
    "  END, NULL, 'opt_in', 'import', 'demo')::consent_entry)) FROM c",
    "INSERT INTO settings (name, value) VALUES ('demo_loaded', now()::text)",
};

int cli_demo(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, "tocsin demo   (load the demo data unless loaded before)"))
        return EX_OK;
    struct db *db = cli_db();
    char *error = NULL;
    int rc = EX_OK;
    if (db_begin(db, &error) < 0)
        goto fail;
    PGresult *res = db_exec(db, "SELECT 1 FROM settings WHERE name = 'demo_loaded' FOR UPDATE", 0,
                            NULL, &error);
    if (!res)
        goto fail;
    bool loaded = PQntuples(res) > 0;
    PQclear(res);
    if (loaded) {
        db_rollback(db);
        printf("demo already loaded\n");
        goto out;
    }
    for (size_t i = 0; i < ARRAY_SIZE(demo_sql); i++)
        if (db_run(db, demo_sql[i], 0, NULL, &error) < 0)
            goto fail;
    if (db_commit(db, &error) < 0)
        goto fail;
    printf("demo loaded: team paris-10, event porte-a-porte, 3 people\n");
    goto out;
fail:
    db_rollback(db);
    rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "demo", "%s", error);
    free(error);
out:
    db_close(&db);
    return rc;
}
