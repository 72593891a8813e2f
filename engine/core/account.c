#include "core/account.h"
#include "lib/buf.h"
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void caller_operator(struct caller *c)
{
    memset(c, 0, sizeof(*c));
    c->admin = true;
    c->name = xstrdup("operator");
    c->actor.via = "cli";
}

/* "{1,2,3}" into an array the caller frees. */
static int64_t *parse_array(const char *text, size_t *n_r)
{
    *n_r = 0;
    if (!text)
        return NULL;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    int64_t *out = xcalloc(cap, sizeof(*out));
    const char *p = text + (*text == '{');
    while (*p && *p != '}') {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        out[(*n_r)++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return out;
}

int account_load(struct db *db, int64_t person_id, const char *via, struct caller *c,
                 char **error_r)
{
    memset(c, 0, sizeof(*c));
    char person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person)};
    PGresult *res =
        db_exec(db,
                "SELECT p.name, coalesce(bool_or(a.role = 'admin'), false),"
                " array_agg(a.team_id ORDER BY a.team_id) FILTER (WHERE a.role = 'organiser'),"
                " array_agg(a.event_id ORDER BY a.event_id) FILTER (WHERE a.role = 'host'),"
                " count(a.role)"
                " FROM people p LEFT JOIN accounts a ON a.person_id = p.id WHERE p.id = $1"
                " GROUP BY p.id",
                1, params, error_r);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1 && strtol(PQgetvalue(res, 0, 4), NULL, 10) > 0) {
        c->person_id = person_id;
        c->name = xstrdup(PQgetvalue(res, 0, 0));
        c->admin = PQgetvalue(res, 0, 1)[0] == 't';
        c->teams = parse_array(db_value(res, 0, 2), &c->nteams);
        c->events = parse_array(db_value(res, 0, 3), &c->nevents);
        c->actor.person_id = person_id;
        c->actor.via = via;
        rc = 1;
    }
    PQclear(res);
    return rc;
}

void caller_release(struct caller *c)
{
    free(c->name);
    free(c->teams);
    free(c->events);
    free(c->session_id);
    memset(c, 0, sizeof(*c));
}

bool caller_is_account(const struct caller *c)
{
    return c->admin || c->nteams > 0 || c->nevents > 0;
}

bool caller_organises(const struct caller *c, int64_t team_id)
{
    if (c->admin)
        return true;
    for (size_t i = 0; i < c->nteams; i++)
        if (c->teams[i] == team_id)
            return true;
    return false;
}

bool caller_hosts(const struct caller *c, int64_t event_id)
{
    if (c->admin)
        return true;
    for (size_t i = 0; i < c->nevents; i++)
        if (c->events[i] == event_id)
            return true;
    return false;
}

static char *array_literal(const int64_t *ids, size_t n)
{
    struct buf b = BUF_INIT;
    buf_addch(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%" PRId64, i ? "," : "", ids[i]);
    buf_addch(&b, '}');
    return buf_detach(&b);
}

char *caller_teams_literal(const struct caller *c)
{
    return c->admin ? NULL : array_literal(c->teams, c->nteams);
}

char *caller_events_literal(const struct caller *c)
{
    return c->admin ? NULL : array_literal(c->events, c->nevents);
}

char *contact_normalise(const char *input, const char **kind_r, const char **reason_r)
{
    if (!input || !*input) {
        *reason_r = "no contact given";
        return NULL;
    }
    if (strchr(input, '@')) {
        *kind_r = "email";
        return email_normalise(input, reason_r);
    }
    *kind_r = "phone";
    return phone_normalise(input, config_str("engine", "default_country"), reason_r);
}

int contact_find(struct db *db, const char *input, int64_t *contact_id_r, int64_t *person_id_r,
                 const char **reason_r, char **error_r)
{
    const char *kind = NULL;
    char *address = contact_normalise(input, &kind, reason_r);
    if (!address)
        return 0;
    const char *params[] = {kind, address};
    PGresult *res =
        db_exec(db, "SELECT id, person_id FROM contacts WHERE kind = $1 AND address = $2", 2,
                params, error_r);
    free(address);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        *contact_id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *person_id_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    } else {
        *reason_r = "no such contact";
    }
    PQclear(res);
    return found;
}

int account_forget_if_none(struct db *db, int64_t person_id, char **error_r)
{
    char person[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person)};
    if (db_run(db,
               "DELETE FROM sessions WHERE person_id = $1"
               " AND NOT EXISTS (SELECT 1 FROM accounts WHERE person_id = $1)",
               1, params, error_r) < 0)
        return -1;
    return db_run(db,
                  "UPDATE api_tokens SET revoked_at = now() WHERE person_id = $1"
                  " AND revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM accounts"
                  " WHERE person_id = $1)",
                  1, params, error_r);
}
