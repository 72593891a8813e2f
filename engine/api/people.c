#include "api/people.h"
#include "lib/log.h"
#include "lib/util.h"
#include "api/v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool channel_valid(const char *channel)
{
    return strcmp(channel, "email") == 0 || strcmp(channel, "sms") == 0;
}

/*
 * The list query, built from fixed fragments so that each case gets the plan it needs:
 * with a team, the walk starts from that team's memberships in person order (an index
 * range, however large the team); without, from people in id order. The page's lower
 * bound is written on both sides of the join: a merge join would otherwise read people
 * from the first id to reach a page deep in the list.
 */
struct list_query {
    struct buf sql;
    struct model_params params;
    char after[24], limit[24];
    char *scope;   /* the caller's teams, "{…}", or NULL for admins */
    char *like;    /* search as a LIKE pattern */
    char *address; /* search as a contact address */
};

static void list_query_release(struct list_query *q)
{
    buf_release(&q->sql);
    free(q->scope);
    free(q->like);
    free(q->address);
}

static int list_query_build(const struct caller *who, const struct people_filter *f, int64_t after,
                            int limit, struct list_query *q, struct api_error *e)
{
    memset(q, 0, sizeof(*q));
    if (f->opted_out && !channel_valid(f->opted_out)) {
        api_error_set(e, 400, "opted_out must be email or sms");
        return -1;
    }
    model_id(after, q->after);
    snprintf(q->limit, sizeof(q->limit), "%d", limit);
    struct model_params *p = &q->params;
    int after_n = model_param(p, q->after), limit_n = model_param(p, q->limit);
    q->scope = caller_teams_literal(who);
    int scope_n = q->scope ? model_param(p, q->scope) : 0;
    int team_n = f->team ? model_param(p, f->team) : 0;
    struct buf *s = &q->sql;

    buf_adds(s, "SELECT p.id, p.name, p.locale, p.timezone, p.tags,"
                " (SELECT c.address FROM contacts c WHERE c.person_id = p.id"
                "  AND c.kind = 'email' ORDER BY c.id LIMIT 1) AS email,"
                " (SELECT c.address FROM contacts c WHERE c.person_id = p.id"
                "  AND c.kind = 'phone' ORDER BY c.id LIMIT 1) AS phone,"
                " ARRAY(SELECT t.slug FROM memberships m JOIN teams t ON t.id = m.team_id"
                "  WHERE m.person_id = p.id");
    if (scope_n)
        buf_printf(s, " AND m.team_id = ANY($%d::bigint[])", scope_n);
    buf_adds(s, " ORDER BY t.slug) AS teams, p.created_at");
    if (team_n)
        buf_printf(s,
                   " FROM memberships tm JOIN people p ON p.id = tm.person_id"
                   " WHERE tm.team_id = (SELECT id FROM teams WHERE slug = lower($%d))"
                   " AND tm.person_id > $%d::bigint AND p.id > $%d::bigint",
                   team_n, after_n, after_n);
    else
        buf_printf(s, " FROM people p WHERE p.id > $%d::bigint", after_n);
    /* Someone forgotten (campaigns/forget.h) is nobody to list any more. */
    buf_adds(s, " AND p.forgotten_at IS NULL");
    if (scope_n && !team_n)
        buf_printf(s,
                   " AND EXISTS (SELECT 1 FROM memberships sm WHERE sm.person_id = p.id"
                   " AND sm.team_id = ANY($%d::bigint[]))",
                   scope_n);
    if (f->tag)
        buf_printf(s, " AND p.tags @> ARRAY[$%d::text]", model_param(p, f->tag));
    if (f->search) {
        q->like = model_like_pattern(f->search);
        const char *kind = NULL, *reason = NULL;
        q->address = contact_normalise(f->search, &kind, &reason);
        int like_n = model_param(p, q->like);
        buf_printf(s, " AND (p.name ILIKE $%d", like_n);
        if (q->address)
            buf_printf(s,
                       " OR EXISTS (SELECT 1 FROM contacts sc WHERE sc.person_id = p.id"
                       " AND sc.address = $%d)",
                       model_param(p, q->address));
        buf_adds(s, ")");
    }
    if (f->opted_out) {
        int channel_n = model_param(p, f->opted_out);
        buf_printf(s,
                   " AND EXISTS (SELECT 1 FROM contacts oc WHERE oc.person_id = p.id"
                   " AND oc.kind = CASE $%d WHEN 'sms' THEN 'phone' ELSE 'email' END"
                   " AND NOT consent_allows($%d, oc.address, ",
                   channel_n, channel_n);
        if (team_n)
            buf_printf(s, "(SELECT id FROM teams WHERE slug = lower($%d))))", team_n);
        else
            buf_adds(s, "NULL))");
    }
    buf_printf(s, " ORDER BY p.id LIMIT $%d::int", limit_n);
    return 0;
}

/* The team named must exist: an unknown slug is a 404, not an empty list. */
static int check_team(struct db *db, const char *slug, struct api_error *e)
{
    if (!slug)
        return 0;
    const char *params[] = {slug};
    char *error = NULL;
    PGresult *res = db_exec(db, "SELECT 1 FROM teams WHERE slug = lower($1)", 1, params, &error);
    if (!res) {
        api_error_db(e, db, "people team", error);
        return -1;
    }
    bool found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        api_error_set(e, 404, "no team %s", slug);
        return -1;
    }
    return 0;
}

static PGresult *run_list(struct db *db, const struct caller *who, const struct people_filter *f,
                          int64_t after, int limit, struct api_error *e)
{
    struct list_query q;
    if (list_query_build(who, f, after, limit, &q, e) < 0)
        return NULL;
    char *error = NULL;
    /* Planned with the actual values: a small team and a huge one want different plans. */
    PGresult *res = db_exec_once(db, buf_str(&q.sql), q.params.n, q.params.values, &error);
    if (!res)
        api_error_db(e, db, "people list", error);
    list_query_release(&q);
    /* Only an empty answer can hide an unknown team: ask then, not on every page. */
    if (res && PQntuples(res) == 0 && check_team(db, f->team, e) < 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

json_t *people_list(struct db *db, const struct caller *who, const struct people_filter *f,
                    struct api_error *e)
{
    PGresult *res = run_list(db, who, f, f->page.after, f->page.limit, e);
    if (!res)
        return NULL;
    json_t *out = model_page(model_rows(res), "id", f->page.limit);
    PQclear(res);
    return out;
}

int people_export_page(struct db *db, const struct caller *who, const struct people_filter *f,
                       int64_t after, struct buf *out, int64_t *next_r, struct api_error *e)
{
    *next_r = 0;
    PGresult *res = run_list(db, who, f, after, PEOPLE_EXPORT_PAGE, e);
    if (!res)
        return -1;
    if (after == 0)
        buf_adds(out, "id,name,email,phone,locale,timezone,teams,tags,created_at\r\n");
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        model_csv_field(out, PQgetvalue(res, r, 0), false, false);
        model_csv_field(out, PQgetvalue(res, r, 1), true, false);
        model_csv_field(out, PQgetvalue(res, r, 5), false, false);
        model_csv_field(out, PQgetvalue(res, r, 6), false, false);
        model_csv_field(out, PQgetvalue(res, r, 2), false, false);
        model_csv_field(out, PQgetvalue(res, r, 3), false, false);
        /* Arrays as space-separated words, the form `tocsin import` reads back. */
        char *teams = model_words(PQgetvalue(res, r, 7));
        char *tags = model_words(PQgetvalue(res, r, 4));
        model_csv_field(out, teams, true, false);
        model_csv_field(out, tags, true, false);
        free(teams);
        free(tags);
        model_csv_field(out, PQgetvalue(res, r, 8), false, true);
    }
    if (n == PEOPLE_EXPORT_PAGE)
        *next_r = strtoll(PQgetvalue(res, n - 1, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* One part of a person's profile: a query whose rows become a JSON array under `key`. */
static int add_part(struct db *db, json_t *obj, const char *key, const char *sql, int nparams,
                    const char *const *params, struct api_error *e)
{
    char *error = NULL;
    PGresult *res = db_exec(db, sql, nparams, params, &error);
    if (!res) {
        api_error_db(e, db, key, error);
        return -1;
    }
    json_object_set_new(obj, key, model_rows(res));
    PQclear(res);
    return 0;
}

json_t *people_show(struct db *db, const struct caller *who, int64_t person_id, struct api_error *e)
{
    char id[24];
    model_id(person_id, id);
    char *scope = caller_teams_literal(who);
    const char *params[] = {id, scope};
    char *error = NULL;
    json_t *out = NULL;
    PGresult *res = db_exec(db,
                            "SELECT id, name, locale, timezone, tags, digest, channel, source,"
                            " created_at, updated_at FROM people WHERE id = $1",
                            1, params, &error);
    if (!res) {
        api_error_db(e, db, "people show", error);
        goto out;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 404, "no person %s", id);
        goto out;
    }
    out = model_row(res, 0);
    PQclear(res);
    /* $2 is the caller's teams ("{…}") or NULL for an admin: the same filter everywhere. */
    if (add_part(db, out, "contacts",
                 "SELECT c.id, c.kind, c.address, c.created_at,"
                 " CASE WHEN consent_allows(CASE c.kind WHEN 'phone' THEN 'sms' ELSE 'email' END,"
                 "  c.address, NULL) THEN 'allowed' ELSE 'opted_out' END AS consent"
                 " FROM contacts c WHERE c.person_id = $1 ORDER BY c.id",
                 1, params, e) < 0 ||
        add_part(db, out, "memberships",
                 "SELECT t.slug AS team, t.name AS team_name, m.role, m.status, m.created_at"
                 " FROM memberships m JOIN teams t ON t.id = m.team_id WHERE m.person_id = $1"
                 " AND ($2::bigint[] IS NULL OR m.team_id = ANY($2::bigint[])) ORDER BY t.slug",
                 2, params, e) < 0 ||
        add_part(db, out, "rsvps",
                 "SELECT e.slug AS event, e.title, e.starts_at, r.status, r.guests,"
                 " r.checked_in_at, r.updated_at FROM rsvps r JOIN events e ON e.id = r.event_id"
                 " WHERE r.person_id = $1"
                 " AND ($2::bigint[] IS NULL OR e.team_id = ANY($2::bigint[]))"
                 " ORDER BY e.starts_at DESC",
                 2, params, e) < 0 ||
        add_part(db, out, "consent",
                 "SELECT k.id, k.channel, c.address, t.slug AS team, k.action, k.source,"
                 " k.evidence, k.created_at FROM consent k JOIN contacts c ON c.id = k.contact_id"
                 " LEFT JOIN teams t ON t.id = k.scope WHERE c.person_id = $1"
                 " AND ($2::bigint[] IS NULL OR k.scope IS NULL OR k.scope = ANY($2::bigint[]))"
                 " ORDER BY k.id DESC",
                 2, params, e) < 0 ||
        add_part(db, out, "messages",
                 "(SELECT 'in' AS direction, i.id, i.channel, i.received_at AS at, i.sender AS"
                 "  address, '' AS subject, i.body, i.status, i.command AS kind"
                 "  FROM inbound_messages i WHERE i.person_id = $1 ORDER BY i.id DESC LIMIT 20)"
                 " UNION ALL"
                 " (SELECT 'out', o.id, o.channel, o.created_at, o.recipient, o.subject, o.body,"
                 "  o.status, o.kind FROM outbound_messages o WHERE o.person_id = $1"
                 "  AND ($2::bigint[] IS NULL OR o.scope IS NULL OR o.scope = ANY($2::bigint[]))"
                 "  ORDER BY o.id DESC LIMIT 20)"
                 " ORDER BY at DESC, id DESC",
                 2, params, e) < 0) {
        json_decref(out);
        out = NULL;
    }
out:
    free(scope);
    return out;
}

static void filter_args(struct api_call *c, struct people_filter *f)
{
    f->team = api_arg(c, "team");
    f->tag = api_arg(c, "tag");
    f->search = api_arg(c, "search");
    f->opted_out = api_arg(c, "opted_out");
}

void route_people_list(struct api_call *c)
{
    struct people_filter f = {0};
    filter_args(c, &f);
    if (!api_page(c, &f.page))
        return;
    struct api_error e = {0};
    api_answer(c, people_list(c->db, &c->who, &f, &e), &e);
}

void route_people_show(struct api_call *c)
{
    struct api_error e = {0};
    api_answer(c, people_show(c->db, &c->who, c->person_id, &e), &e);
}

/* An export in progress: its own copies of what the request held, which ends before the
 * stream does. */
struct export
{
    struct caller who;
    struct people_filter filter;
    char *strings[4];
    struct buf first; /* the page read before answering, sent first */
    int64_t after;    /* the next page; 0 when none is left */
};

static char *copy_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static int export_fill(void *ctx, struct http_request *req, struct buf *out)
{
    struct export *x = ctx;
    if (x->first.len) {
        buf_add(out, x->first.data, x->first.len);
        buf_release(&x->first);
        return 1;
    }
    if (x->after == 0)
        return 0;
    struct db *db = http_db(req);
    struct api_error e = {0};
    int64_t next = 0;
    if (!db || people_export_page(db, &x->who, &x->filter, x->after, out, &next, &e) < 0) {
        log_warn("people_export", "error=%s", log_q(e.message ? e.message : "no database"));
        api_error_release(&e);
        return -1;
    }
    x->after = next;
    return 1;
}

static void export_release(void *ctx)
{
    struct export *x = ctx;
    caller_release(&x->who);
    buf_release(&x->first);
    for (size_t i = 0; i < ARRAY_SIZE(x->strings); i++)
        free(x->strings[i]);
    free(x);
}

void route_people_export(struct api_call *c)
{
    struct people_filter f = {0};
    filter_args(c, &f);
    /* The first page is read now, so that a bad filter is a clean 400, not a cut stream. */
    struct buf first = BUF_INIT;
    struct api_error e = {0};
    int64_t next = 0;
    if (people_export_page(c->db, &c->who, &f, 0, &first, &next, &e) < 0) {
        buf_release(&first);
        api_fail(c, &e);
        return;
    }
    http_add_header(c->req, "Content-Disposition", "attachment; filename=\"people.csv\"");
    if (next == 0) {
        http_respond(c->req, 200, "text/csv; charset=utf-8", buf_str(&first), first.len);
        buf_release(&first);
        return;
    }
    struct export *x = xcalloc(1, sizeof(*x));
    /* The caller is moved into the stream: the request's copy is left empty. */
    x->who = c->who;
    memset(&c->who, 0, sizeof(c->who));
    x->filter.team = x->strings[0] = copy_or_null(f.team);
    x->filter.tag = x->strings[1] = copy_or_null(f.tag);
    x->filter.search = x->strings[2] = copy_or_null(f.search);
    x->filter.opted_out = x->strings[3] = copy_or_null(f.opted_out);
    x->first = first;
    x->after = next;
    http_respond_stream(c->req, 200, "text/csv; charset=utf-8", export_fill, x, export_release);
}
