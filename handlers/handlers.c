/*
 * What the command files share: the grammar built from handlers[], finding teams and
 * events, the context of a bare answer, "did you mean" slugs, activity rows, messages to
 * other people.
 */
#include "handlers/handlers.h"
#include "lib/util.h"
#include "core/template.h"
#include "outbound/queue.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

const struct handler *handler_find(const char *name)
{
    for (const struct handler *const *h = handlers; *h; h++)
        if (strcmp((*h)->name, name) == 0)
            return *h;
    return NULL;
}

const struct handler_text *handler_text_for(const struct handler *h, const char *locale)
{
    return strncmp(locale, "fr", 2) == 0 ? &h->fr : &h->en;
}

static pthread_once_t grammar_once = PTHREAD_ONCE_INIT;
static struct grammar *grammar;
static char *grammar_error;

/* The grammar sees only {command, patterns} of each row; that copy, like the compiled
 * grammar, lives for the whole process. */
static void grammar_build(void)
{
    size_t n = 0;
    while (handlers[n])
        n++;
    struct grammar_rule *rules = xcalloc(n + 1, sizeof(*rules));
    for (size_t i = 0; i < n; i++)
        rules[i] = (struct grammar_rule){handlers[i]->name, handlers[i]->patterns};
    grammar = grammar_new(rules, &grammar_error);
}

const struct grammar *handlers_grammar(char **error_r)
{
    pthread_once(&grammar_once, grammar_build);
    if (!grammar)
        *error_r = xstrdup(grammar_error ? grammar_error : "grammar: not compiled");
    return grammar;
}

void handler_reply(struct handler_ctx *ctx, const char *template_name, const char *kind)
{
    ctx->reply_template = template_name;
    ctx->reply_kind = kind ? kind : "reply";
}

void event_info_release(struct event_info *e)
{
    free(e->slug);
    free(e->title);
    free(e->when_en);
    free(e->when_fr);
    free(e->location);
    memset(e, 0, sizeof(*e));
}

#define EVENT_COLUMNS                                                                              \
    "id, team_id, slug, title,"                                                                    \
    " to_char(starts_at AT TIME ZONE timezone, 'YYYY-MM-DD HH24:MI'),"                             \
    " to_char(starts_at AT TIME ZONE timezone, 'DD/MM/YYYY HH24\"h\"MI'),"                         \
    " coalesce(location, ''), capacity, status = 'scheduled' AND starts_at > now()"

/* Columns of EVENT_COLUMNS, in order. */
enum {
    EVENT_ID,
    EVENT_TEAM,
    EVENT_SLUG,
    EVENT_TITLE,
    EVENT_WHEN_EN,
    EVENT_WHEN_FR,
    EVENT_LOCATION,
    EVENT_CAPACITY,
    EVENT_OPEN
};

static void event_from_row(const PGresult *res, struct event_info *e)
{
    e->id = strtoll(PQgetvalue(res, 0, EVENT_ID), NULL, 10);
    e->team_id =
        db_value(res, 0, EVENT_TEAM) ? strtoll(PQgetvalue(res, 0, EVENT_TEAM), NULL, 10) : 0;
    e->slug = xstrdup(PQgetvalue(res, 0, EVENT_SLUG));
    e->title = xstrdup(PQgetvalue(res, 0, EVENT_TITLE));
    e->when_en = xstrdup(PQgetvalue(res, 0, EVENT_WHEN_EN));
    e->when_fr = xstrdup(PQgetvalue(res, 0, EVENT_WHEN_FR));
    e->location = xstrdup(PQgetvalue(res, 0, EVENT_LOCATION));
    e->capacity = db_value(res, 0, EVENT_CAPACITY) ? atoi(PQgetvalue(res, 0, EVENT_CAPACITY)) : -1;
    e->open = PQgetvalue(res, 0, EVENT_OPEN)[0] == 't';
}

int handler_load_event(struct handler_ctx *ctx, int64_t id, bool lock, struct event_info *e,
                       char **error_r)
{
    char slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, slot)};
    PGresult *res =
        lock ? db_exec(ctx->db, "SELECT " EVENT_COLUMNS " FROM events WHERE id = $1 FOR UPDATE", 1,
                       params, error_r)
             : db_exec(ctx->db, "SELECT " EVENT_COLUMNS " FROM events WHERE id = $1", 1, params,
                       error_r);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        event_from_row(res, e);
    PQclear(res);
    return found;
}

int handler_find_event(struct handler_ctx *ctx, const char *ref, bool lock, struct event_info *e,
                       char **error_r)
{
    /* A slug first (slugs may be all digits), then a number as reminders print it. The
     * two are separate queries because SQL does not promise to test "is it a number"
     * before casting it. */
    const char *params[] = {ref};
    PGresult *res = db_exec(ctx->db, "SELECT id FROM events WHERE slug = $1", 1, params, error_r);
    if (!res)
        return -1;
    int64_t id = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    size_t len = strlen(ref);
    if (!id && len > 0 && len <= 18 && strspn(ref, "0123456789") == len)
        id = strtoll(ref, NULL, 10);
    if (!id)
        return 0;
    return handler_load_event(ctx, id, lock, e, error_r);
}

int handler_context_event(struct handler_ctx *ctx, int64_t *event_id_r, char **error_r)
{
    *event_id_r = 0;
    PGresult *res;
    if (ctx->msg->reply_to_id) {
        char slot[DB_PARAM_SIZE];
        const char *params[] = {db_param_int(ctx->msg->reply_to_id, slot)};
        res = db_exec(ctx->db,
                      "SELECT (context->>'event_id')::bigint FROM outbound_messages"
                      " WHERE id = $1 AND context ? 'event_id'",
                      1, params, error_r);
    } else {
        const char *params[] = {ctx->msg->channel, ctx->msg->sender};
        res = db_exec(ctx->db,
                      "SELECT (context->>'event_id')::bigint FROM outbound_messages"
                      " WHERE channel = $1 AND recipient = $2 AND context ? 'event_id'"
                      " ORDER BY created_at DESC, id DESC LIMIT 1",
                      2, params, error_r);
    }
    if (!res)
        return -1;
    if (PQntuples(res) && db_value(res, 0, 0))
        *event_id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int handler_find_team(struct handler_ctx *ctx, const char *slug, int64_t *id_r, char **name_r,
                      char **error_r)
{
    const char *params[] = {slug};
    PGresult *res =
        db_exec(ctx->db, "SELECT id, name FROM teams WHERE slug = $1", 1, params, error_r);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found) {
        *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (name_r)
            *name_r = xstrdup(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

int edit_distance(const char *a, const char *b, int max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return max + 1;
    if ((int)(la > lb ? la - lb : lb - la) > max)
        return max + 1;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0], best;
        row[0] = (int)i;
        best = row[0];
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = diag + cost;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1;
    }
    return row[lb] > max ? max + 1 : row[lb];
}

int handler_use_event(struct handler_ctx *ctx, struct event_info *e)
{
    json_object_set_new(ctx->vars, "event", handler_event_vars(e, ctx->locale));
    ctx->event_id = e->id;
    ctx->team_id = e->team_id;
    bool open = e->open;
    event_info_release(e);
    if (!open) {
        handler_reply(ctx, "event_closed", NULL);
        return 1;
    }
    return 0;
}

int handler_reply_unknown(struct handler_ctx *ctx, const char *target, bool teams, bool events,
                          const char *template, char **error_r)
{
    bool is_team = false;
    char *close = handler_suggest(ctx, target, teams, events, &is_team, error_r);
    if (!close && *error_r)
        return -1;
    json_object_set_new(ctx->vars, "target", json_string(target));
    if (close)
        json_object_set_new(ctx->vars, "suggestion", json_string(close));
    free(close);
    handler_reply(ctx, template, NULL);
    return 1;
}

char *handler_suggest(struct handler_ctx *ctx, const char *line, bool teams, bool events,
                      bool *is_team_r, char **error_r)
{
    PGresult *res = db_exec(ctx->db,
                            "SELECT slug, true FROM teams WHERE $1"
                            " UNION ALL SELECT slug, false FROM events WHERE $2"
                            " AND status = 'scheduled' AND starts_at > now()"
                            " ORDER BY 2 DESC, 1 LIMIT 5000",
                            2, (const char *[]){teams ? "t" : "f", events ? "t" : "f"}, error_r);
    if (!res)
        return NULL;
    char *best = NULL;
    int best_d = 3;
    char *copy = xstrdup(line);
    char *save = NULL;
    int words = 0;
    for (char *w = strtok_r(copy, " ", &save); w && words < 12; w = strtok_r(NULL, " ", &save)) {
        words++;
        size_t len = strlen(w);
        if (len < 3)
            continue;
        /* Short words tolerate one typo, longer ones two. */
        int max = len <= 5 ? 1 : 2;
        for (int r = 0; r < PQntuples(res); r++) {
            int d = edit_distance(w, PQgetvalue(res, r, 0), max);
            if (d <= max && d < best_d) {
                best_d = d;
                free(best);
                best = xstrdup(PQgetvalue(res, r, 0));
                *is_team_r = PQgetvalue(res, r, 1)[0] == 't';
            }
        }
    }
    free(copy);
    PQclear(res);
    return best;
}

json_t *handler_event_vars(const struct event_info *e, const char *locale)
{
    const char *when = strncmp(locale, "fr", 2) == 0 ? e->when_fr : e->when_en;
    return json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)e->id, "slug", e->slug, "title",
                     e->title, "when", when, "location", e->location);
}

int handler_list_events(struct handler_ctx *ctx, int limit, char **error_r)
{
    char person[DB_PARAM_SIZE], lim[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(ctx->person_id, person), db_param_int(limit, lim),
                            strcmp(ctx->locale, "fr") == 0 ? "t" : "f"};
    /* The events of my teams; someone in no team sees every upcoming event. */
    PGresult *res = db_exec(
        ctx->db,
        "SELECT e.id, e.slug, e.title,"
        " CASE WHEN $3::bool THEN to_char(e.starts_at AT TIME ZONE e.timezone, 'DD/MM HH24\"h\"MI')"
        " ELSE to_char(e.starts_at AT TIME ZONE e.timezone, 'YYYY-MM-DD HH24:MI') END"
        " FROM events e WHERE e.status = 'scheduled' AND e.starts_at > now()"
        " AND (e.team_id IN (SELECT team_id FROM memberships WHERE person_id = $1)"
        "  OR NOT EXISTS (SELECT 1 FROM memberships WHERE person_id = $1))"
        " ORDER BY e.starts_at, e.id LIMIT $2",
        3, params, error_r);
    if (!res)
        return -1;
    json_t *list = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(list,
                              json_pack("{s:I, s:s, s:s, s:s}", "id",
                                        (json_int_t)strtoll(PQgetvalue(res, r, 0), NULL, 10),
                                        "slug", PQgetvalue(res, r, 1), "title",
                                        PQgetvalue(res, r, 2), "when", PQgetvalue(res, r, 3)));
    json_object_set_new(ctx->vars, "events", list);
    PQclear(res);
    return 0;
}

int handler_activity(struct handler_ctx *ctx, int64_t team_id, const char *kind, json_t *payload,
                     char **error_r)
{
    if (!payload)
        payload = json_object();
    json_object_set_new(payload, "person_id", json_integer(ctx->person_id));
    json_object_set_new(payload, "inbound_id", json_integer(ctx->inbound_id));
    json_object_set_new(payload, "channel", json_string(ctx->msg->channel));
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    char team[DB_PARAM_SIZE];
    const char *params[] = {db_param_id_or_null(team_id, team), kind, text};
    int rc = db_run(ctx->db, "INSERT INTO activity (team_id, kind, payload) VALUES ($1, $2, $3)", 3,
                    params, error_r);
    free(text);
    return rc;
}

int handler_enqueue_person(struct handler_ctx *ctx, int64_t person_id, int64_t scope,
                           const char *template_name, json_t *vars, const char *kind,
                           const char *context, const char *dedupe_key, char **error_r)
{
    char person[DB_PARAM_SIZE], team[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, person), ctx->msg->channel,
                            db_param_id_or_null(scope, team)};
    /* A contact that may receive it, on the channel the seat was freed on if possible:
     * an offer nobody can receive must not hold seats for a day. */
    PGresult *res = db_exec(ctx->db,
                            "SELECT c.id, c.kind, c.address, p.locale, p.name FROM people p"
                            " CROSS JOIN LATERAL contact_choice(p.id, $2, $3::bigint) c"
                            " WHERE p.id = $1::bigint",
                            3, params, error_r);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 0)
        goto out;
    const char *channel = strcmp(PQgetvalue(res, 0, 1), "phone") == 0 ? "sms" : "email";
    json_object_set_new(vars, "name", json_string(PQgetvalue(res, 0, 4)));
    struct rendered_message m;
    if (template_message(template_name, PQgetvalue(res, 0, 3), vars, &m, error_r) < 0) {
        rc = -1;
        goto out;
    }
    struct queue_new q = {
        .channel = channel,
        .recipient = PQgetvalue(res, 0, 2),
        .subject = strcmp(channel, "email") == 0 ? m.subject : NULL,
        .body = strcmp(channel, "sms") == 0 ? m.sms : m.text,
        .kind = kind,
        .dedupe_key = dedupe_key,
        .context = context,
        .person_id = person_id,
        .contact_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
        .inbound_id = ctx->inbound_id,
        .scope = scope,
    };
    /* The queue checks consent again at send time. */
    rc = queue_enqueue(ctx->db, &q, NULL, NULL, error_r) < 0 ? -1 : 1;
    template_message_release(&m);
out:
    PQclear(res);
    return rc;
}
