#include "outbound/campaign_render.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/token.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * The compiled templates of the campaigns this process rendered recently. A handful of
 * campaigns run at once; the list is short and kept most-recent-first, the tail dropped
 * beyond CACHE_MAX. Entries are never changed once made, so a renderer holds the lock only
 * while it looks one up: the entry it gets is kept alive by a reference count.
 */
#define CACHE_MAX 16

struct cached_campaign {
    int64_t id;
    struct message_template *message;
    struct template *subject; /* campaigns.subject when set: it wins over the file's line */
    int refs;
    struct cached_campaign *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_campaign *cache;

static void cached_put(struct cached_campaign *c)
{
    pthread_mutex_lock(&cache_lock);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&cache_lock);
    if (last) {
        template_message_free(&c->message);
        template_free(&c->subject);
        free(c);
    }
}

static struct cached_campaign *load_campaign(struct db *db, int64_t id, char **error_r)
{
    char slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, slot)};
    PGresult *res =
        db_exec(db, "SELECT template, subject FROM campaigns WHERE id = $1", 1, params, error_r);
    if (!res)
        return NULL;
    struct cached_campaign *c = NULL;
    if (PQntuples(res) != 1) {
        *error_r = xasprintf("no campaign %" PRId64, id);
        goto out;
    }
    char *label = xasprintf("campaign %" PRId64, id);
    struct message_template *m = template_message_compile(PQgetvalue(res, 0, 0), label, error_r);
    free(label);
    if (!m)
        goto out;
    c = xcalloc(1, sizeof(*c));
    c->id = id;
    c->message = m;
    c->refs = 1; /* the cache's own reference */
    const char *subject = PQgetvalue(res, 0, 1);
    if (*subject && !(c->subject = template_compile(subject, error_r))) {
        template_message_free(&c->message);
        free(c);
        c = NULL;
    }
out:
    PQclear(res);
    return c;
}

static struct cached_campaign *cached_get(struct db *db, int64_t id, char **error_r)
{
    pthread_mutex_lock(&cache_lock);
    for (struct cached_campaign *c = cache; c; c = c->next)
        if (c->id == id) {
            c->refs++;
            pthread_mutex_unlock(&cache_lock);
            return c;
        }
    pthread_mutex_unlock(&cache_lock);

    /* Compiled outside the lock; if another thread raced us, keep theirs. */
    struct cached_campaign *fresh = load_campaign(db, id, error_r);
    if (!fresh)
        return NULL;
    pthread_mutex_lock(&cache_lock);
    struct cached_campaign *found = NULL;
    for (struct cached_campaign *c = cache; c && !found; c = c->next)
        if (c->id == id)
            found = c;
    struct cached_campaign *dropped = NULL;
    if (!found) {
        fresh->next = cache;
        cache = fresh;
        found = fresh;
        fresh = NULL;
        int n = 0;
        for (struct cached_campaign **p = &cache; *p; p = &(*p)->next)
            if (++n == CACHE_MAX) {
                dropped = (*p)->next;
                (*p)->next = NULL;
                break;
            }
    }
    found->refs++;
    pthread_mutex_unlock(&cache_lock);
    if (fresh)
        cached_put(fresh);
    while (dropped) {
        struct cached_campaign *next = dropped->next;
        cached_put(dropped);
        dropped = next;
    }
    return found;
}

static void set_string(json_t *obj, const char *key, const char *value)
{
    json_object_set_new(obj, key, json_string(value ? value : ""));
}

json_t *campaign_sample_vars(void)
{
    json_t *v = json_object();
    set_string(v, "name", "Camille Martin");
    set_string(v, "first_name", "Camille");
    set_string(v, "email", "camille@example.org");
    set_string(v, "phone", "+33612345678");
    set_string(v, "locale", "fr");
    set_string(v, "unsubscribe_url", "https://example.org/u/1-abcdefghijklmnop");
    set_string(v, "help_keyword", "AIDE");
    set_string(v, "stop_keyword", "STOP");
    json_object_set_new(v, "team",
                        json_pack("{s:s, s:s}", "slug", "paris-10", "name", "Paris 10e"));
    return v;
}

/* Columns of the person query of campaign_person_vars(), in order. */
enum { PERSON_NAME, PERSON_LOCALE, PERSON_EMAIL, PERSON_PHONE, TEAM_SLUG, TEAM_NAME };

int campaign_person_vars(struct db *db, int64_t person_id, int64_t contact_id, int64_t scope,
                         json_t **vars_r, char **error_r)
{
    char p_slot[DB_PARAM_SIZE], t_slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, p_slot), db_param_id_or_null(scope, t_slot)};
    PGresult *res = db_exec(
        db,
        "SELECT p.name, p.locale,"
        " (SELECT address FROM contacts WHERE person_id = p.id AND kind = 'email' ORDER BY id"
        "   LIMIT 1),"
        " (SELECT address FROM contacts WHERE person_id = p.id AND kind = 'phone' ORDER BY id"
        "   LIMIT 1),"
        " t.slug, t.name"
        " FROM people p LEFT JOIN teams t ON t.id = $2::bigint WHERE p.id = $1",
        2, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *error_r = xasprintf("no person %" PRId64, person_id);
        return -1;
    }
    json_t *v = json_object();
    const char *name = PQgetvalue(res, 0, PERSON_NAME), *locale = PQgetvalue(res, 0, PERSON_LOCALE);
    set_string(v, "name", name);
    size_t first = strcspn(name, " ");
    json_object_set_new(v, "first_name", json_stringn(name, first));
    set_string(v, "locale", locale);
    set_string(v, "email", db_value(res, 0, PERSON_EMAIL));
    set_string(v, "phone", db_value(res, 0, PERSON_PHONE));
    bool french = strncmp(locale, "fr", 2) == 0;
    set_string(v, "help_keyword", french ? "AIDE" : "HELP");
    set_string(v, "stop_keyword", "STOP");
    if (db_value(res, 0, TEAM_SLUG))
        json_object_set_new(v, "team",
                            json_pack("{s:s, s:s}", "slug", PQgetvalue(res, 0, TEAM_SLUG), "name",
                                      PQgetvalue(res, 0, TEAM_NAME)));
    PQclear(res);
    if (contact_id) {
        char *token = token_make(db, "unsub", contact_id, error_r);
        if (!token) {
            json_decref(v);
            return -1;
        }
        char *url = xasprintf("%s/u/%s", config_str("http", "public_url"), token);
        set_string(v, "unsubscribe_url", url);
        free(url);
        free(token);
    } else {
        set_string(v, "unsubscribe_url", "");
    }
    *vars_r = v;
    return 0;
}

int campaign_render_for(struct db *db, int64_t campaign_id, int64_t person_id, int64_t contact_id,
                        int64_t scope, struct rendered_message *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    json_t *vars = NULL;
    if (campaign_person_vars(db, person_id, contact_id, scope, &vars, error_r) < 0)
        return -1;
    struct cached_campaign *c = cached_get(db, campaign_id, error_r);
    if (!c) {
        json_decref(vars);
        return -1;
    }
    template_message_render(c->message, vars, out);
    if (c->subject) {
        struct buf subject = BUF_INIT;
        template_render(c->subject, vars, false, &subject);
        free(out->subject);
        out->subject = buf_detach(&subject);
    }
    cached_put(c);
    json_decref(vars);
    return 0;
}

int campaign_render(struct db *db, int64_t outbound_id, struct rendered_message *out,
                    char **error_r)
{
    char slot[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(outbound_id, slot)};
    PGresult *res = db_exec(db,
                            "SELECT campaign_id, person_id, coalesce(contact_id, 0),"
                            " coalesce(scope, 0) FROM outbound_messages WHERE id = $1",
                            1, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1 || !db_value(res, 0, 0) || !db_value(res, 0, 1)) {
        PQclear(res);
        *error_r = xasprintf("outbound %" PRId64 " is not a campaign message", outbound_id);
        return -1;
    }
    int64_t campaign = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    int64_t person = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    int64_t contact = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    int64_t scope = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    return campaign_render_for(db, campaign, person, contact, scope, out, error_r);
}

char *campaign_format_time(const char *fields, const char *locale)
{
    static const char *const fr_days[] = {"lundi",    "mardi",  "mercredi", "jeudi",
                                          "vendredi", "samedi", "dimanche"};
    static const char *const en_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};
    static const char *const fr_months[] = {"janvier",   "février", "mars",     "avril",
                                            "mai",       "juin",    "juillet",  "août",
                                            "septembre", "octobre", "novembre", "décembre"};
    static const char *const en_months[] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};
    int year, month, day, hour, minute, dow;
    if (!fields ||
        sscanf(fields, "%d %d %d %d %d %d", &year, &month, &day, &hour, &minute, &dow) != 6 ||
        month < 1 || month > 12 || dow < 1 || dow > 7)
        return xstrdup(fields ? fields : "");
    if (locale && strncmp(locale, "fr", 2) == 0) {
        if (minute)
            return xasprintf("%s %d %s à %dh%02d", fr_days[dow - 1], day, fr_months[month - 1],
                             hour, minute);
        return xasprintf("%s %d %s à %dh", fr_days[dow - 1], day, fr_months[month - 1], hour);
    }
    return xasprintf("%s %d %s at %02d:%02d", en_days[dow - 1], day, en_months[month - 1], hour,
                     minute);
}
