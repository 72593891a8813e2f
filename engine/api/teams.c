#include "api/teams.h"
#include "lib/util.h"
#include "core/config.h"
#include "api/v1.h"

#include <string.h>

json_t *teams_list(struct db *db, const struct caller *who, struct api_error *e)
{
    char *teams = caller_teams_literal(who), *events = caller_events_literal(who);
    const char *params[] = {teams, events};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT t.id, t.slug, t.name, t.region,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.status = 'active')"
        "   AS members,"
        " (SELECT count(*) FROM events e WHERE e.team_id = t.id AND e.starts_at > now()"
        "   AND e.status = 'scheduled') AS upcoming_events"
        " FROM teams t WHERE $1::bigint[] IS NULL OR t.id = ANY($1::bigint[])"
        "  OR t.id IN (SELECT team_id FROM events WHERE id = ANY($2::bigint[]))"
        " ORDER BY t.slug",
        2, params, &error);
    free(teams);
    free(events);
    if (!res) {
        api_error_db(e, db, "teams list", error);
        return NULL;
    }
    json_t *out = json_pack("{s:o,s:n}", "items", model_rows(res), "next");
    PQclear(res);
    return out;
}

json_t *team_show(struct db *db, const struct caller *who, const char *slug, struct api_error *e)
{
    (void)who;
    const char *params[] = {slug};
    char *error = NULL;
    PGresult *res = db_exec(
        db,
        "SELECT t.id, t.slug, t.name, t.region, t.created_at,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.status = 'active')"
        "   AS members,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.status = 'pending')"
        "   AS pending,"
        " (SELECT count(*) FROM memberships m WHERE m.team_id = t.id"
        "   AND m.created_at > now() - interval '7 days') AS joined_this_week,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name)"
        "   ORDER BY p.name), '[]') FROM memberships m"
        "   JOIN people p ON p.id = m.person_id WHERE m.team_id = t.id AND m.role = 'organiser'"
        "   AND m.status = 'active') AS organisers,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('slug', e.slug, 'title', e.title,"
        "   'starts_at', e.starts_at) ORDER BY e.starts_at), '[]') FROM events e"
        "   WHERE e.team_id = t.id AND e.starts_at > now() AND e.status = 'scheduled')"
        "   AS upcoming_events"
        " FROM teams t WHERE t.slug = lower($1)",
        1, params, &error);
    if (!res) {
        api_error_db(e, db, "team show", error);
        return NULL;
    }
    json_t *out = NULL;
    if (PQntuples(res) == 1)
        out = model_row(res, 0);
    else
        api_error_set(e, 404, "no team %s", slug);
    PQclear(res);
    return out;
}

json_t *team_members(struct db *db, const struct caller *who, const char *slug,
                     const struct members_filter *f, struct api_error *e)
{
    (void)who;
    if (model_check_time(db, f->since, "since", e) < 0)
        return NULL;
    char after[24], limit[24];
    model_id(f->page.after, after);
    snprintf(limit, sizeof(limit), "%d", f->page.limit);
    const char *params[] = {slug,     after,
                            f->since, f->pending ? "t" : "f",
                            limit,    config_str("engine", "default_timezone")};
    char *error = NULL;
    PGresult *res =
        db_exec(db,
                "SELECT p.id, p.name,"
                " (SELECT c.address FROM contacts c WHERE c.person_id = p.id AND c.kind = 'email'"
                "  ORDER BY c.id LIMIT 1) AS email,"
                " (SELECT c.address FROM contacts c WHERE c.person_id = p.id AND c.kind = 'phone'"
                "  ORDER BY c.id LIMIT 1) AS phone,"
                " m.role, m.status, m.created_at AS joined_at"
                " FROM memberships m JOIN people p ON p.id = m.person_id"
                " WHERE m.team_id = (SELECT id FROM teams WHERE slug = lower($1))"
                " AND m.person_id > $2::bigint"
                " AND ($3::text IS NULL OR m.created_at >= ($3::timestamp AT TIME ZONE $6))"
                " AND (NOT $4::boolean OR m.status = 'pending')"
                " ORDER BY m.person_id LIMIT $5::int",
                6, params, &error);
    if (!res) {
        api_error_db(e, db, "team members", error);
        return NULL;
    }
    json_t *out = model_page(model_rows(res), "id", f->page.limit);
    PQclear(res);
    return out;
}

json_t *team_activity(struct db *db, const struct caller *who, const char *slug,
                      const struct page *page, struct api_error *e)
{
    (void)who;
    char after[24], limit[24];
    model_id(page->after, after);
    snprintf(limit, sizeof(limit), "%d", page->limit);
    const char *params[] = {slug, after, limit};
    char *error = NULL;
    /* Newest first: `after` is the last id of the previous page, so the next is older. */
    PGresult *res = db_exec(db,
                            "SELECT a.id, a.kind, a.payload, a.created_at, a.via,"
                            " a.actor_id, p.name AS actor FROM activity a"
                            " LEFT JOIN people p ON p.id = a.actor_id"
                            " WHERE a.team_id = (SELECT id FROM teams WHERE slug = lower($1))"
                            " AND ($2::bigint = 0 OR a.id < $2::bigint)"
                            " ORDER BY a.id DESC LIMIT $3::int",
                            3, params, &error);
    if (!res) {
        api_error_db(e, db, "team activity", error);
        return NULL;
    }
    json_t *out = model_page(model_rows(res), "id", page->limit);
    PQclear(res);
    return out;
}

json_t *team_create(struct db *db, const struct caller *who, const char *slug, const char *name,
                    const char *region, struct api_error *e)
{
    if (!slug || !*slug || !name || !*name) {
        api_error_set(e, 400, "a team needs a slug and a name");
        return NULL;
    }
    if (model_begin(db, e) < 0)
        return NULL;
    const char *params[] = {slug, name, region};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "INSERT INTO teams (slug, name, region) VALUES (lower($1), $2, $3) "
                            "ON CONFLICT (slug) DO NOTHING RETURNING id, slug, name, region",
                            3, params, &error);
    if (!res) {
        if (strcmp(db_sqlstate(db), "23514") == 0) {
            db_rollback(db);
            free(error);
            api_error_set(e, 422, "slug %s: use lower-case letters, digits and dashes", slug);
        } else {
            model_abort(db, e, "team create", error);
        }
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        db_rollback(db);
        api_error_set(e, 409, "team %s already exists", slug);
        return NULL;
    }
    json_t *out = model_row(res, 0);
    int64_t id = model_int(res, 0, 0);
    PQclear(res);
    if (model_activity(db, who, id, "team_created", json_pack("{s:s}", "slug", slug), e) < 0 ||
        model_commit(db, e) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *team_organiser_set(struct db *db, const struct caller *who, const char *slug,
                           const char *contact, int64_t person_id, bool organiser,
                           struct api_error *e)
{
    char *error = NULL;
    const char *reason = NULL;
    int64_t contact_id = 0;
    if (contact) {
        int found = contact_find(db, contact, &contact_id, &person_id, &reason, &error);
        if (found < 0) {
            api_error_db(e, db, "organiser contact", error);
            return NULL;
        }
        if (found == 0) {
            api_error_set(e, 404, "no contact %s (%s)", contact, reason);
            return NULL;
        }
    }
    if (model_begin(db, e) < 0)
        return NULL;
    char person[24];
    const char *params[] = {slug, model_id(person_id, person)};
    PGresult *res =
        organiser ? db_exec(db,
                            "INSERT INTO memberships (person_id, team_id, role, status)"
                            " SELECT p.id, t.id, 'organiser', 'active' FROM people p, teams t"
                            " WHERE t.slug = lower($1) AND p.id = $2"
                            " ON CONFLICT (person_id, team_id)"
                            " DO UPDATE SET role = 'organiser', status = 'active'"
                            " RETURNING team_id, person_id, xmax = 0",
                            2, params, &error)
                  : db_exec(db,
                            "UPDATE memberships m SET role = 'member' FROM teams t"
                            " WHERE t.id = m.team_id AND t.slug = lower($1) AND m.person_id = $2"
                            " AND m.role = 'organiser' RETURNING m.team_id, m.person_id, false",
                            2, params, &error);
    if (!res) {
        model_abort(db, e, "organiser", error);
        return NULL;
    }
    int n = PQntuples(res);
    int64_t team_id = n ? model_int(res, 0, 0) : 0;
    /* xmax = 0 on the row INSERT … ON CONFLICT returns: it was inserted, not updated. */
    bool added = n && PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (n == 0) {
        db_rollback(db);
        if (organiser)
            api_error_set(e, 404, "no team %s or no person %s", slug, person);
        else
            api_error_set(e, 404, "person %s is not an organiser of %s", person, slug);
        return NULL;
    }
    if (!organiser && account_forget_if_none(db, person_id, &error) < 0) {
        model_abort(db, e, "organiser", error);
        return NULL;
    }
    if (model_activity(db, who, team_id, organiser ? "organiser_added" : "organiser_removed",
                       json_pack("{s:I}", "person_id", (json_int_t)person_id), e) < 0 ||
        model_commit(db, e) < 0)
        return NULL;
    return json_pack("{s:s,s:I,s:s,s:b}", "team", slug, "person_id", (json_int_t)person_id, "role",
                     organiser ? "organiser" : "member", "added_as_member", added);
}

json_t *team_digest_set(struct db *db, const struct caller *who, const char *slug,
                        const char *period, struct api_error *e)
{
    bool clear = period && strcmp(period, "default") == 0;
    if (!period || (!clear && strcmp(period, "daily") != 0 && strcmp(period, "weekly") != 0 &&
                    strcmp(period, "never") != 0)) {
        api_error_set(e, 422, "digest %s: expected daily, weekly, never or default",
                      period ? period : "(none)");
        return NULL;
    }
    if (model_begin(db, e) < 0)
        return NULL;
    const char *params[] = {slug, clear ? NULL : period};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "UPDATE teams SET digest = $2 WHERE slug = lower($1)"
                            " RETURNING id, slug, coalesce(digest, 'default') AS digest",
                            2, params, &error);
    if (!res) {
        model_abort(db, e, "team digest", error);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        db_rollback(db);
        api_error_set(e, 404, "no team %s", slug);
        return NULL;
    }
    json_t *out = model_row(res, 0);
    int64_t id = model_int(res, 0, 0);
    PQclear(res);
    if (model_activity(db, who, id, "team_digest", json_pack("{s:s}", "digest", period), e) < 0 ||
        model_commit(db, e) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

void route_teams_list(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, teams_list(c->db, &c->who, &e), &e);
}

void route_team_show(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, team_show(c->db, &c->who, api_arg(c, "team"), &e), &e);
}

void route_team_members(struct api_call *c)
{
    struct members_filter f = {.since = http_query(c->req, "since"),
                               .pending = api_flag(c, "pending")};
    if (!api_page(c, &f.page))
        return;
    struct api_error e = {0};
    api_answer(c, team_members(c->db, &c->who, api_arg(c, "team"), &f, &e), &e);
}

void route_team_activity(struct api_call *c)
{
    struct page page;
    if (!api_page(c, &page))
        return;
    struct api_error e = {0};
    api_answer(c, team_activity(c->db, &c->who, api_arg(c, "team"), &page, &e), &e);
}

void route_team_create(struct api_call *c)
{
    struct api_error e = {0};
    json_t *out = team_create(c->db, &c->who, api_arg(c, "slug"), api_arg(c, "name"),
                              api_arg(c, "region"), &e);
    if (out)
        api_reply(c, 201, out);
    else
        api_fail(c, &e);
}

void route_team_organiser_add(struct api_call *c)
{
    struct api_error e = {0};
    const char *contact = api_arg(c, "contact");
    if (!contact) {
        api_fail_status(c, 400, "contact is required (an email or a phone number)");
        return;
    }
    api_answer(c, team_organiser_set(c->db, &c->who, api_arg(c, "team"), contact, 0, true, &e), &e);
}

void route_team_organiser_remove(struct api_call *c)
{
    struct api_error e = {0};
    long person;
    if (str_to_long(api_arg(c, "person"), 1, INT64_MAX, &person) < 0) {
        api_fail_status(c, 404, "no such person");
        return;
    }
    api_answer(c, team_organiser_set(c->db, &c->who, api_arg(c, "team"), NULL, person, false, &e),
               &e);
}
