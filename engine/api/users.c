#include "api/users.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/session.h"
#include "api/v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

json_t *users_list(struct db *db, const struct caller *who, struct api_error *e)
{
    (void)who;
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT p.id, p.name,"
        " (SELECT c.address FROM contacts c WHERE c.person_id = p.id AND c.kind = 'email'"
        "  ORDER BY c.id LIMIT 1) AS email,"
        " (SELECT c.address FROM contacts c WHERE c.person_id = p.id AND c.kind = 'phone'"
        "  ORDER BY c.id LIMIT 1) AS phone,"
        " (SELECT jsonb_agg(jsonb_build_object('role', a.role, 'team', t.slug, 'event', e.slug,"
        "   'since', a.since) ORDER BY a.role, t.slug, e.slug) FROM accounts a"
        "  LEFT JOIN teams t ON t.id = a.team_id LEFT JOIN events e ON e.id = a.event_id"
        "  WHERE a.person_id = p.id) AS roles,"
        " (SELECT max(s.last_seen_at) FROM sessions s WHERE s.person_id = p.id) AS last_seen_at"
        " FROM people p WHERE p.id IN (SELECT person_id FROM accounts) ORDER BY p.id",
        0, NULL, &error);
    if (!res) {
        api_error_db(e, db, "users list", error);
        return NULL;
    }
    json_t *out = json_pack("{s:o,s:n}", "items", model_rows(res), "next");
    PQclear(res);
    return out;
}

/* The person of a contact, created with that contact when it is new. */
static int person_for_contact(struct db *db, const char *contact, const char *name,
                              int64_t *person_r, bool *created_r, struct api_error *e)
{
    const char *kind = NULL, *reason = NULL;
    char *address = contact_normalise(contact, &kind, &reason);
    if (!address) {
        api_error_set(e, 422, "%s: %s", contact ? contact : "", reason);
        return -1;
    }
    const char *params[] = {kind, address, name ? name : "", config_str("engine", "default_locale"),
                            config_str("engine", "default_timezone")};
    char *error = NULL;
    /* The existing contact, else a new person with it; ON CONFLICT covers a race. */
    PGresult *res = db_exec(db,
                            "WITH found AS (SELECT person_id FROM contacts"
                            "  WHERE kind = $1 AND address = $2),"
                            " p AS (INSERT INTO people (name, locale, timezone, source)"
                            "  SELECT $3, $4, $5, 'account' WHERE NOT EXISTS (SELECT 1 FROM found)"
                            "  RETURNING id),"
                            " c AS (INSERT INTO contacts (person_id, kind, address)"
                            "  SELECT id, $1, $2 FROM p RETURNING person_id)"
                            " SELECT person_id, false FROM found"
                            " UNION ALL SELECT person_id, true FROM c",
                            5, params, &error);
    free(address);
    if (!res) {
        model_abort(db, e, "user contact", error);
        return -1;
    }
    *person_r = model_int(res, 0, 0);
    *created_r = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return 0;
}

/* A grant to add names exactly one role; one to remove may leave out what it applies to
 * (every team, every event), or the role itself (all of them). */
static int check_grant(const struct grant *g, bool for_add, struct api_error *e)
{
    if (!g->role) {
        if (for_add)
            api_error_set(e, 400, "role is required: admin, organiser or host");
        else if (g->team || g->event)
            api_error_set(e, 400, "a team or an event goes with a role");
        return for_add || g->team || g->event ? -1 : 0;
    }
    if (strcmp(g->role, "admin") == 0) {
        if (g->team || g->event) {
            api_error_set(e, 422, "an admin has every team and event: no team or event");
            return -1;
        }
    } else if (strcmp(g->role, "organiser") == 0) {
        if ((for_add && !g->team) || g->event) {
            api_error_set(e, 422, "an organiser is an organiser of a team: team, no event");
            return -1;
        }
    } else if (strcmp(g->role, "host") == 0) {
        if ((for_add && !g->event) || g->team) {
            api_error_set(e, 422, "a host is a host of an event: event, no team");
            return -1;
        }
    } else {
        api_error_set(e, 422, "role %s: expected admin, organiser or host", g->role);
        return -1;
    }
    return 0;
}

json_t *user_add(struct db *db, const struct caller *who, const char *contact, const char *name,
                 const struct grant *g, struct api_error *e)
{
    if (check_grant(g, true, e) < 0)
        return NULL;
    if (model_begin(db, e) < 0)
        return NULL;
    int64_t person = 0;
    bool created = false;
    if (person_for_contact(db, contact, name, &person, &created, e) < 0)
        return NULL;
    char person_text[24], by[24];
    const char *params[] = {model_id(person, person_text), g->role, g->team ? g->team : g->event,
                            who->person_id ? model_id(who->person_id, by) : NULL};
    char *error = NULL;
    PGresult *res = NULL;
    const char *organiser_params[] = {params[0], g->team};
    if (strcmp(g->role, "organiser") == 0)
        res = db_exec(db,
                      "INSERT INTO memberships (person_id, team_id, role, status)"
                      " SELECT $1, t.id, 'organiser', 'active' FROM teams t"
                      " WHERE t.slug = lower($2) ON CONFLICT (person_id, team_id)"
                      " DO UPDATE SET role = 'organiser', status = 'active'"
                      " RETURNING team_id",
                      2, organiser_params, &error);
    else
        res = db_exec(db,
                      "WITH target AS (SELECT NULL::bigint AS event_id WHERE $2 = 'admin'"
                      "  UNION ALL SELECT id FROM events WHERE $2 = 'host' AND slug = lower($3)),"
                      " added AS (INSERT INTO account_roles (person_id, role, event_id, created_by)"
                      "  SELECT $1, $2, event_id, $4 FROM target ON CONFLICT DO NOTHING)"
                      " SELECT (SELECT team_id FROM events WHERE id = target.event_id)"
                      " FROM target",
                      4, params, &error);
    if (!res) {
        model_abort(db, e, "user add", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        if (strcmp(g->role, "organiser") == 0)
            api_error_set(e, 404, "no team %s", g->team);
        else
            api_error_set(e, 404, "no event %s", g->event);
        return NULL;
    }
    int64_t team = model_int(res, 0, 0);
    PQclear(res);
    json_t *payload = json_pack("{s:I,s:s,s:s?,s:s?}", "person_id", (json_int_t)person, "role",
                                g->role, "team", g->team, "event", g->event);
    if (model_activity(db, who, team, "user_added", payload, e) < 0 || model_commit(db, e) < 0)
        return NULL;
    return json_pack("{s:I,s:s,s:s?,s:s?,s:b}", "person_id", (json_int_t)person, "role", g->role,
                     "team", g->team, "event", g->event, "created", created);
}

json_t *user_remove(struct db *db, const struct caller *who, const char *contact, int64_t person_id,
                    const struct grant *g, struct api_error *e)
{
    if (check_grant(g, false, e) < 0)
        return NULL;
    char *error = NULL;
    if (contact) {
        int64_t contact_id;
        const char *reason = NULL;
        int found = contact_find(db, contact, &contact_id, &person_id, &reason, &error);
        if (found < 0) {
            api_error_db(e, db, "user remove", error);
            return NULL;
        }
        if (found == 0) {
            api_error_set(e, 404, "%s: %s", contact, reason);
            return NULL;
        }
    }
    if (model_begin(db, e) < 0)
        return NULL;
    char person[24];
    const char *params[] = {model_id(person_id, person), g->role, g->team, g->event};
    PGresult *res = db_exec(
        db,
        "WITH roles AS (DELETE FROM account_roles r WHERE r.person_id = $1"
        "  AND ($2::text IS NULL OR r.role = $2)"
        "  AND ($4::text IS NULL OR r.event_id = (SELECT id FROM events WHERE slug = lower($4)))"
        "  RETURNING r.role),"
        " organised AS (UPDATE memberships m SET role = 'member' WHERE m.person_id = $1"
        "  AND m.role = 'organiser' AND ($2::text IS NULL OR $2 = 'organiser')"
        "  AND ($3::text IS NULL OR m.team_id = (SELECT id FROM teams WHERE slug = lower($3)))"
        "  RETURNING m.team_id)"
        " SELECT (SELECT count(*) FROM roles) + (SELECT count(*) FROM organised),"
        "  (SELECT min(team_id) FROM organised)",
        4, params, &error);
    if (!res) {
        model_abort(db, e, "user remove", error);
        return NULL;
    }
    int64_t removed = model_int(res, 0, 0), team = model_int(res, 0, 1);
    PQclear(res);
    if (removed == 0) {
        db_rollback(db);
        api_error_set(e, 404, "person %s has no such role", person);
        return NULL;
    }
    if (account_forget_if_none(db, person_id, &error) < 0) {
        model_abort(db, e, "user remove", error);
        return NULL;
    }
    json_t *payload = json_pack("{s:I,s:s?,s:s?,s:s?}", "person_id", (json_int_t)person_id, "role",
                                g->role, "team", g->team, "event", g->event);
    if (model_activity(db, who, team, "user_removed", payload, e) < 0 || model_commit(db, e) < 0)
        return NULL;
    return json_pack("{s:I,s:I}", "person_id", (json_int_t)person_id, "removed",
                     (json_int_t)removed);
}

json_t *token_add(struct db *db, const struct caller *who, const char *contact, const char *name,
                  struct api_error *e)
{
    if (!name || !*name || strlen(name) > 200) {
        api_error_set(e, 400, "a token needs a name (at most 200 bytes) saying what uses it");
        return NULL;
    }
    char *error = NULL;
    const char *reason = NULL;
    int64_t contact_id, person;
    int found = contact_find(db, contact, &contact_id, &person, &reason, &error);
    if (found < 0) {
        api_error_db(e, db, "token add", error);
        return NULL;
    }
    if (found == 0) {
        api_error_set(e, 404, "%s: %s", contact ? contact : "", reason);
        return NULL;
    }
    if (model_begin(db, e) < 0)
        return NULL;
    char person_text[24];
    const char *params[] = {model_id(person, person_text)};
    PGresult *res =
        db_exec(db, "SELECT 1 FROM accounts WHERE person_id = $1 LIMIT 1", 1, params, &error);
    if (!res) {
        model_abort(db, e, "token add", error);
        return NULL;
    }
    bool account = PQntuples(res) == 1;
    PQclear(res);
    if (!account) {
        db_rollback(db);
        api_error_set(e, 422, "%s has no role: `tocsin user add` first", contact);
        return NULL;
    }
    char *token = NULL;
    int64_t id = 0;
    if (api_token_create(db, person, name, who->person_id, &token, &id, &error) < 0) {
        model_abort(db, e, "token add", error);
        return NULL;
    }
    if (model_activity(db, who, 0, "token_added",
                       json_pack("{s:I,s:I,s:s}", "token_id", (json_int_t)id, "person_id",
                                 (json_int_t)person, "name", name),
                       e) < 0 ||
        model_commit(db, e) < 0) {
        free(token);
        return NULL;
    }
    json_t *out = json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)id, "person_id",
                            (json_int_t)person, "name", name, "token", token);
    free(token);
    return out;
}

json_t *tokens_list(struct db *db, const struct caller *who, struct api_error *e)
{
    char person[24];
    const char *params[] = {who->admin ? NULL : model_id(who->person_id, person)};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT k.id, k.person_id, p.name AS person, k.name, k.prefix,"
                            " k.created_at, k.last_used_at, k.revoked_at FROM api_tokens k"
                            " JOIN people p ON p.id = k.person_id"
                            " WHERE $1::bigint IS NULL OR k.person_id = $1 ORDER BY k.id",
                            1, params, &error);
    if (!res) {
        api_error_db(e, db, "tokens list", error);
        return NULL;
    }
    json_t *out = json_pack("{s:o,s:n}", "items", model_rows(res), "next");
    PQclear(res);
    return out;
}

json_t *token_revoke(struct db *db, const struct caller *who, int64_t id, struct api_error *e)
{
    char token[24], person[24];
    const char *params[] = {model_id(id, token),
                            who->admin ? NULL : model_id(who->person_id, person)};
    if (model_begin(db, e) < 0)
        return NULL;
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
                            " WHERE id = $1 AND ($2::bigint IS NULL OR person_id = $2)"
                            " RETURNING id, name, revoked_at",
                            2, params, &error);
    if (!res) {
        model_abort(db, e, "token revoke", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        api_error_set(e, 404, "no token %s", token);
        return NULL;
    }
    json_t *out = model_row(res, 0);
    PQclear(res);
    if (model_activity(db, who, 0, "token_revoked", json_pack("{s:I}", "token_id", (json_int_t)id),
                       e) < 0 ||
        model_commit(db, e) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static struct grant grant_args(struct api_call *c)
{
    return (struct grant){
        .role = api_arg(c, "role"), .team = api_arg(c, "team"), .event = api_arg(c, "event")};
}

void route_users_list(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, users_list(c->db, &c->who, &e), &e);
}

void route_user_add(struct api_call *c)
{
    struct api_error e = {0};
    struct grant g = grant_args(c);
    json_t *out = user_add(c->db, &c->who, api_arg(c, "contact"), api_arg(c, "name"), &g, &e);
    if (out)
        api_reply(c, 201, out);
    else
        api_fail(c, &e);
}

void route_user_remove(struct api_call *c)
{
    struct api_error e = {0};
    long person;
    if (str_to_long(api_arg(c, "id"), 1, INT64_MAX, &person) < 0) {
        api_fail_status(c, 404, "no such person");
        return;
    }
    struct grant g = grant_args(c);
    api_answer(c, user_remove(c->db, &c->who, NULL, person, &g, &e), &e);
}
