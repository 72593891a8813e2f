#include "campaigns/campaign.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "outbound/gsm.h"
#include "outbound/queue.h"
#include "campaigns/segment.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* Person ids per fan-out transaction: large enough that per-statement overhead vanishes,
 * small enough that a chunk commits in well under a second and a pause takes effect. */
#define FANOUT_CHUNK 100000

bool campaign_quiet_valid(const char *v)
{
    if (strcmp(v, "off") == 0)
        return true;
    int h1, m1, h2, m2, n = 0;
    return sscanf(v, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) == 4 && v[n] == '\0' && h1 >= 0 &&
           h1 < 24 && h2 >= 0 && h2 < 24 && m1 >= 0 && m1 < 60 && m2 >= 0 && m2 < 60;
}

const char *campaign_quiet_hours(void)
{
    const char *v = config_str("engine", "quiet_hours");
    if (!campaign_quiet_valid(v)) {
        /* Holding every message forever would be worse than sending in the evening. */
        log_warn("quiet_hours_invalid", "value=%s using=21:00-09:00", log_q(v));
        return "21:00-09:00";
    }
    return v;
}

/*
 * The recipients of a segment as SQL: FROM people p, the person's contact of the channel
 * (c), their consent scope (s); WHERE the segment, not only a pending member, consent.
 * Every piece is a fixed fragment; the values are parameters: $1 channel, $2 contact kind,
 * then `extra` parameters of the caller, then the scope team (when needed) and the
 * segment's values. `params` gets every value in order; the caller frees the array only.
 * `whole`: the statement reads every person at once (a count) rather than a chunk of
 * person ids (a fan-out), and takes each person's contact from one ordered pass over the
 * contacts' (person, kind, id) index, merged with the people in id order, instead of one
 * index probe per person: a million recipients are counted in two seconds instead of
 * eight on two busy cores.
 */
struct recipients_sql {
    struct buf from_where;
    const char **params;
    int nparams;
    struct segment segment;
};

static int recipients_build(const char *channel, const char *segment_text, bool whole, int extra,
                            const char *const *extra_values, struct recipients_sql *r,
                            char **error_r)
{
    memset(r, 0, sizeof(*r));
    int first = 3 + extra;
    /* The scope parameter, when there is one, comes right before the segment's values. */
    struct segment probe;
    if (segment_compile(segment_text, first, &probe, error_r) < 0)
        return -1;
    bool need_scope_param = probe.single_team || strcmp(probe.teams, "{}") != 0;
    segment_release(&probe);
    int scope_param = need_scope_param ? first : 0;
    if (segment_compile(segment_text, first + need_scope_param, &r->segment, error_r) < 0)
        return -1;

    r->nparams = 2 + extra + need_scope_param + r->segment.nparams;
    r->params = xcalloc((size_t)r->nparams, sizeof(char *));
    r->params[0] = channel;
    r->params[1] = strcmp(channel, "sms") == 0 ? "phone" : "email";
    for (int i = 0; i < extra; i++)
        r->params[2 + i] = extra_values[i];
    if (need_scope_param)
        r->params[2 + extra] = r->segment.single_team ? NULL : r->segment.teams;
    for (int i = 0; i < r->segment.nparams; i++)
        r->params[2 + extra + need_scope_param + i] = r->segment.params[i];

    struct buf *q = &r->from_where;
    /* The person's first contact of the channel's kind (a forgotten one has no address). */
    if (whole)
        buf_adds(q, " FROM people p JOIN (SELECT DISTINCT ON (person_id) person_id, id"
                    "  FROM contacts WHERE kind = $2 AND address IS NOT NULL"
                    "  ORDER BY person_id, id) c"
                    " ON c.person_id = p.id");
    else
        buf_adds(q, " FROM people p"
                    " CROSS JOIN LATERAL (SELECT c.id, c.address FROM contacts c"
                    "  WHERE c.person_id = p.id AND c.kind = $2 AND c.address IS NOT NULL"
                    "  ORDER BY c.id LIMIT 1) c");
    buf_adds(q, " CROSS JOIN LATERAL (SELECT ");
    if (r->segment.single_team) {
        /* One team: its id, looked up once. The parameter is the slug. */
        r->params[2 + extra] = r->segment.single_team;
        buf_printf(q, "(SELECT id FROM teams WHERE slug = $%d)", scope_param);
    } else if (need_scope_param) {
        /* Several teams: the first of them the person is an active member of. */
        buf_printf(q,
                   "(SELECT min(m.team_id) FROM memberships m JOIN teams t ON t.id = m.team_id"
                   " WHERE m.person_id = p.id AND m.status = 'active'"
                   " AND t.slug = ANY($%d::text[]))",
                   scope_param);
    } else {
        buf_adds(q, "NULL::bigint");
    }
    buf_adds(q, " AS scope) s WHERE ");
    buf_adds(q, r->segment.where);
    /* Pending members (double opt-in not confirmed) receive nothing but the confirmation.
     * Consent: exactly consent_allows(channel, address, scope) — the latest global or team
     * entry decides, i.e. refused when an opt-out has no later opt-in — written as an anti-join
     * so PostgreSQL reads the ledger once per chunk instead of calling the function (two
     * index probes) per recipient: 4x faster on a million rows. t0007 checks both agree. */
    buf_adds(q, " AND NOT EXISTS (SELECT 1 FROM memberships pm WHERE pm.person_id = p.id"
                " AND pm.status = 'pending' AND NOT EXISTS (SELECT 1 FROM memberships am"
                " WHERE am.person_id = p.id AND am.status = 'active'))"
                " AND NOT EXISTS (SELECT 1 FROM consent k WHERE k.contact_id = c.id"
                "  AND k.channel = $1 AND k.action = 'opt_out'"
                "  AND (k.scope IS NULL OR k.scope = s.scope)"
                "  AND NOT EXISTS (SELECT 1 FROM consent k2 WHERE k2.contact_id = k.contact_id"
                "   AND k2.channel = k.channel AND (k2.scope IS NULL OR k2.scope = s.scope)"
                "   AND k2.id > k.id AND k2.action = 'opt_in'))");
    return 0;
}

static void recipients_release(struct recipients_sql *r)
{
    buf_release(&r->from_where);
    free(r->params);
    segment_release(&r->segment);
}

/* The tags in use, for the error about one nobody has: read only then, since it scans
 * people. Caller frees; "" when nobody has any. */
static char *tags_in_use(struct db *db, char **error_r)
{
    PGresult *res = db_exec(db,
                            "SELECT coalesce(string_agg(tag, ', ' ORDER BY tag), '')"
                            " FROM (SELECT DISTINCT unnest(tags) AS tag FROM people"
                            "  ORDER BY 1 LIMIT 20) known",
                            0, NULL, error_r);
    if (!res)
        return NULL;
    char *known = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return known;
}

/* A tag nobody has is a typo too ("tag:tractge"): refused, with the tags in use. */
static int check_tags(struct db *db, const struct segment *s, char **error_r)
{
    for (int i = 0; i < s->ntags; i++) {
        const char *params[] = {s->tags[i]};
        PGresult *res =
            db_exec(db, "SELECT EXISTS (SELECT 1 FROM people WHERE tags @> ARRAY[$1::text])", 1,
                    params, error_r);
        if (!res)
            return -1;
        bool known = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (known)
            continue;
        char *in_use = tags_in_use(db, error_r);
        if (!in_use)
            return -1;
        *error_r = *in_use
                       ? xasprintf("no one has the tag %s (tags in use: %s)", s->tags[i], in_use)
                       : xasprintf("no one has the tag %s (no one has any tag)", s->tags[i]);
        free(in_use);
        return -1;
    }
    return 0;
}

/* Every team and event a segment names must exist: a typo must not send to nobody. */
static int check_names(struct db *db, const struct segment *s, char **error_r)
{
    const char *params[] = {s->teams, s->events};
    PGresult *res = db_exec(db,
                            "SELECT 'team ' || n FROM unnest($1::text[]) n"
                            " WHERE NOT EXISTS (SELECT 1 FROM teams WHERE slug = n)"
                            " UNION ALL SELECT 'event ' || n FROM unnest($2::text[]) n"
                            " WHERE NOT EXISTS (SELECT 1 FROM events WHERE slug = n)",
                            2, params, error_r);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0) {
        *error_r = xasprintf("no %s", PQgetvalue(res, 0, 0));
        rc = -1;
    }
    PQclear(res);
    return rc == 0 ? check_tags(db, s, error_r) : rc;
}

int campaign_count(struct db *db, const char *channel, const char *segment, int64_t *count_r,
                   int64_t *sample_person_r, char **error_r)
{
    struct recipients_sql r;
    if (recipients_build(channel, segment, true, 0, NULL, &r, error_r) < 0)
        return -1;
    int rc = -1;
    if (check_names(db, &r.segment, error_r) < 0)
        goto out;
    /* JIT would compile this one-off statement for most of a second, for nothing, and a
     * million people are hashed in memory rather than in batches on disk: both set for
     * the statement's own transaction (never for the session, which may be a pooler's). */
    bool own_tx = !db_in_transaction(db);
    if (own_tx &&
        (db_begin(db, error_r) < 0 || db_run(db, "SET LOCAL jit = off", 0, NULL, error_r) < 0 ||
         db_run(db, "SET LOCAL work_mem = '64MB'", 0, NULL, error_r) < 0))
        goto out;
    struct buf q = BUF_INIT;
    buf_adds(&q, "SELECT count(*), coalesce(min(p.id), 0)");
    buf_adds(&q, buf_str(&r.from_where));
    PGresult *res = db_exec_once(db, buf_str(&q), r.nparams, r.params, error_r);
    buf_release(&q);
    if (own_tx && res && db_commit(db, error_r) < 0) {
        PQclear(res);
        res = NULL;
    }
    if (!res)
        goto out;
    *count_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (sample_person_r)
        *sample_person_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    rc = 0;
out:
    if (rc < 0)
        db_rollback(db);
    recipients_release(&r);
    return rc;
}

void campaign_summary_release(struct campaign_summary *s)
{
    free(s->missing);
    free(s->sms_encoding);
    memset(s, 0, sizeof(*s));
}

/* The subject line's variables that no message provides, added to summary->missing. */
static int check_subject(const char *subject_text, const json_t *sample,
                         struct campaign_summary *summary, char **error_r)
{
    struct template *subject = template_compile(subject_text, error_r);
    if (!subject)
        return -1;
    char *missing = template_missing(subject, sample);
    template_free(&subject);
    if (missing) {
        char *all =
            summary->missing ? xasprintf("%s, %s", summary->missing, missing) : xstrdup(missing);
        free(summary->missing);
        free(missing);
        summary->missing = all;
    }
    return 0;
}

/* The SMS encoding and segments per message, into the summary. Names differ per person:
 * one real recipient (else the sample) gives the estimate. */
static void estimate_sms(struct db *db, const struct message_template *m,
                         const struct rendered_message *preview, int64_t sample_person,
                         struct campaign_summary *summary)
{
    char *text = xstrdup(preview->sms);
    char *locale = xstrdup(config_str("engine", "default_locale"));
    json_t *vars = NULL;
    char *ignored = NULL;
    if (sample_person && campaign_person_vars(db, sample_person, 0, 0, &vars, &ignored) == 0) {
        struct rendered_message mine = {0};
        template_message_render(m, vars, &mine);
        free(text);
        text = xstrdup(mine.sms);
        free(locale);
        locale = xstrdup(json_string_value(json_object_get(vars, "locale")));
        template_message_release(&mine);
        json_decref(vars);
    }
    free(ignored);
    summary->lacks_stop = sms_lacks_stop(text, locale);
    free(locale);
    /* Estimated on the text as it will be sent: composed like every campaign SMS (the
     * STOP mention appended, transliterated when configured). */
    struct sms_estimate est;
    sms_estimate(text, summary->recipients, &est, NULL);
    free(text);
    summary->sms_encoding = xstrdup(est.info.encoding == SMS_GSM7 ? "GSM-7" : "UCS-2");
    summary->sms_segments = est.info.segments;
}

/* --at in time zone `tz`: both must make sense before anything is stored. */
static int check_schedule(struct db *db, const char *at, const char *tz, char **error_r)
{
    const char *params[] = {at, tz};
    PGresult *res = db_exec(db,
                            "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $2),"
                            " CASE WHEN $1 ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2}$'"
                            " THEN to_timestamp($1, 'YYYY-MM-DD HH24:MI')::timestamp END",
                            2, params, error_r);
    if (!res)
        return -1;
    bool tz_ok = PQgetvalue(res, 0, 0)[0] == 't', at_ok = db_value(res, 0, 1) != NULL;
    PQclear(res);
    if (!tz_ok) {
        *error_r = xasprintf("unknown time zone %s", tz);
        return -1;
    }
    if (!at_ok) {
        *error_r = xasprintf("--at %s: expected 'YYYY-MM-DD HH:MM'", at);
        return -1;
    }
    return 0;
}

/* An invitation's event: it must be ahead, or nobody could answer it. Its id in
 * *event_id_r (0 without --event). */
static int check_event(struct db *db, const char *slug, int64_t *event_id_r, char **error_r)
{
    *event_id_r = 0;
    if (!slug)
        return 0;
    const char *params[] = {slug};
    PGresult *res = db_exec(db,
                            "SELECT id, status = 'scheduled' AND starts_at > tocsin_now()"
                            " FROM events WHERE slug = lower($1)",
                            1, params, error_r);
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 0)
        *error_r = xasprintf("--event %s: no such event", slug);
    else if (PQgetvalue(res, 0, 1)[0] != 't')
        *error_r = xasprintf("--event %s: the event is over or cancelled", slug);
    else {
        *event_id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Store the checked campaign: 'scheduled' (at its time, or now) or 'draft'. */
static int store_campaign(struct db *db, const struct campaign_new *c, const char *tz,
                          int64_t recipients, int64_t event_id, int64_t *id_r, char **error_r)
{
    struct segment seg;
    if (segment_compile(c->segment, 1, &seg, error_r) < 0)
        return -1;
    char creator[DB_PARAM_SIZE], count[DB_PARAM_SIZE], event[DB_PARAM_SIZE];
    /* The subject is stored even when it stays in the file, so lists and SQL show it. */
    char *file_subject = c->subject ? NULL : template_source_subject(c->template);
    const char *subject = c->subject ? c->subject : file_subject ? file_subject : "";
    char *first_line = template_source_first_line(c->template, 60);
    const char *title = c->title && *c->title ? c->title
                        : *subject            ? subject
                        : first_line          ? first_line
                                              : "";
    const char *params[] = {c->channel,
                            c->segment,
                            subject,
                            c->template,
                            c->at,
                            tz,
                            c->urgent ? "t" : "f",
                            db_param_int(recipients, count),
                            db_param_id_or_null(c->created_by, creator),
                            c->source ? c->source : "cli",
                            c->at || c->start_now ? "scheduled" : "draft",
                            seg.single_team,
                            title,
                            db_param_id_or_null(event_id, event)};
    PGresult *res = db_exec(
        db,
        "INSERT INTO campaigns (channel, segment, subject, template, scheduled_at, timezone,"
        " urgent, recipients, created_by, source, status, team_id, title, event_id)"
        " VALUES ($1, $2, $3, $4, coalesce(to_timestamp($5, 'YYYY-MM-DD HH24:MI')::timestamp"
        " AT TIME ZONE $6, CASE WHEN $11 = 'scheduled' THEN tocsin_now() END), $6, $7::boolean, "
        "$8::integer, $9::bigint, $10, $11,"
        " (SELECT t.id FROM teams t WHERE t.slug = $12), $13, $14::bigint)"
        " RETURNING id",
        14, params, error_r);
    segment_release(&seg);
    free(file_subject);
    free(first_line);
    if (!res)
        return -1;
    *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int campaign_create(struct db *db, const struct campaign_new *c, int64_t *id_r,
                    struct campaign_summary *summary, char **error_r)
{
    memset(summary, 0, sizeof(*summary));
    if (strcmp(c->channel, "email") != 0 && strcmp(c->channel, "sms") != 0) {
        *error_r = xasprintf("channel %s: expected email or sms", c->channel);
        return -1;
    }
    struct message_template *m = template_message_compile(c->template, "template", error_r);
    if (!m)
        return -1;
    int rc = -1;
    json_t *sample = campaign_sample_vars();
    if (c->event)
        json_object_set_new(sample, "event", campaign_sample_event_vars());
    int64_t event_id = 0;
    summary->missing = template_message_missing(m, sample);
    struct rendered_message preview = {0};
    template_message_render(m, sample, &preview);
    if (c->subject) {
        if (check_subject(c->subject, sample, summary, error_r) < 0)
            goto out;
    } else if (strcmp(c->channel, "email") == 0 && !*preview.subject) {
        *error_r =
            xstrdup("an email campaign needs --subject or a `subject:` line in the template");
        goto out;
    }
    int64_t sample_person = 0;
    if (campaign_count(db, c->channel, c->segment, &summary->recipients, &sample_person, error_r) <
        0)
        goto out;
    if (strcmp(c->channel, "sms") == 0)
        estimate_sms(db, m, &preview, sample_person, summary);
    const char *tz = c->timezone ? c->timezone : config_str("engine", "default_timezone");
    if ((c->at && check_schedule(db, c->at, tz, error_r) < 0) ||
        check_event(db, c->event, &event_id, error_r) < 0)
        goto out;
    rc = store_campaign(db, c, tz, summary->recipients, event_id, id_r, error_r);
out:
    template_message_release(&preview);
    json_decref(sample);
    template_message_free(&m);
    if (rc < 0)
        campaign_summary_release(summary);
    return rc;
}

static int load_state(struct db *db, const char *id, char **status_r, int64_t *cursor_r,
                      char **error_r)
{
    const char *params[] = {id};
    PGresult *res =
        db_exec(db, "SELECT status, fanout_cursor FROM campaigns WHERE id = $1 FOR UPDATE", 1,
                params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *error_r = xasprintf("no campaign %s", id);
        return -1;
    }
    *status_r = xstrdup(PQgetvalue(res, 0, 0));
    *cursor_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

/* One fan-out in progress: the campaign as it was marked 'sending', and the recipients'
 * SELECT with its parameters ($3..$4 the chunk of person ids, $5 the chunk's
 * tocsin_now(), $6 the quiet hours, then those of recipients_build()). */
struct fanout {
    int64_t campaign;
    char id[DB_PARAM_SIZE], lo[DB_PARAM_SIZE], hi[DB_PARAM_SIZE], now[64];
    char *channel, *segment;
    bool urgent, done;
    int64_t max_id; /* people ids up to here, as when the fan-out started */
    struct recipients_sql recipients;
    struct buf select;
};

static void fanout_release(struct fanout *f)
{
    free(f->channel);
    free(f->segment);
    recipients_release(&f->recipients);
    buf_release(&f->select);
}

/* After the campaign refused to become 'sending': 0 when it was sent already (everything
 * was enqueued before: nothing twice), else -1 with *error_r saying why not. */
static int explain_not_sending(struct db *db, const char *id, char **error_r)
{
    const char *params[] = {id};
    PGresult *res = db_exec(db, "SELECT status FROM campaigns WHERE id = $1", 1, params, error_r);
    if (!res)
        return -1;
    const char *status = PQntuples(res) ? PQgetvalue(res, 0, 0) : NULL;
    int rc = -1;
    if (!status)
        *error_r = xasprintf("no campaign %s", id);
    else if (strcmp(status, "sent") == 0)
        rc = 0;
    else if (strcmp(status, "paused") == 0)
        *error_r = xasprintf("campaign %s is paused: `tocsin campaign resume %s`", id, id);
    else
        *error_r = xasprintf("campaign %s is %s", id, status);
    PQclear(res);
    return rc;
}

/* Mark the campaign 'sending' and read what the fan-out needs. 1: go on; 0: it was sent
 * already; -1: it cannot be sent (paused, cancelled, unknown) or a database error. */
static int fanout_begin(struct db *db, struct fanout *f, char **error_r)
{
    const char *params[] = {f->id};
    PGresult *res = db_exec(
        db,
        "UPDATE campaigns SET status = 'sending', started_at = coalesce(started_at, tocsin_now())"
        " WHERE id = $1 AND status IN ('draft', 'scheduled', 'sending')"
        " RETURNING channel, segment, urgent, fanout_done,"
        "  (SELECT coalesce(max(id), 0) FROM people)",
        1, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return explain_not_sending(db, f->id, error_r);
    }
    f->channel = xstrdup(PQgetvalue(res, 0, 0));
    f->segment = xstrdup(PQgetvalue(res, 0, 1));
    f->urgent = PQgetvalue(res, 0, 2)[0] == 't';
    f->done = PQgetvalue(res, 0, 3)[0] == 't';
    f->max_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    PQclear(res);
    return 1;
}

/* The recipients of one chunk as the queue wants them (queue_enqueue_campaign()):
 * address, person, contact, scope, and the end of the person's quiet hours. */
static int fanout_recipients(struct fanout *f, char **error_r)
{
    const char *extra[] = {f->lo, f->hi, f->now, f->urgent ? "off" : campaign_quiet_hours()};
    if (recipients_build(f->channel, f->segment, false, 4, extra, &f->recipients, error_r) < 0)
        return -1;
    buf_adds(&f->select, "SELECT c.address, p.id, c.id, s.scope,"
                         " quiet_release($5::timestamptz, p.timezone, $6)");
    buf_adds(&f->select, buf_str(&f->recipients.from_where));
    buf_adds(&f->select, " AND p.id > $3::bigint AND p.id <= $4::bigint");
    return 0;
}

/* One chunk in one transaction: enqueue it and move the cursor past it, or finish.
 * 1: a chunk was done, go on; 0: finished, paused or cancelled; -1: error (rolled back). */
static int fanout_chunk(struct db *db, struct fanout *f, campaign_progress_fn progress,
                        int64_t *enqueued_r, char **error_r)
{
    const char *idp[] = {f->id};
    char *status = NULL;
    int64_t cursor;
    if (db_begin(db, error_r) < 0)
        return -1;
    if (load_state(db, f->id, &status, &cursor, error_r) < 0)
        goto fail;
    bool sending = strcmp(status, "sending") == 0;
    free(status);
    if (!sending) {
        /* Paused or cancelled meanwhile: stop here, the cursor says where. */
        db_rollback(db);
        return 0;
    }
    if (cursor >= f->max_id) {
        if (db_run(db,
                   "UPDATE campaigns SET fanout_done = true, finished_at = tocsin_now()"
                   " WHERE id = $1",
                   1, idp, error_r) < 0 ||
            db_commit(db, error_r) < 0)
            goto fail;
        return 0;
    }
    /* JIT compiles this statement anew every chunk, for more than it saves. */
    if (db_run(db, "SET LOCAL jit = off", 0, NULL, error_r) < 0)
        goto fail;
    PGresult *t = db_exec(db, "SELECT tocsin_now()", 0, NULL, error_r);
    if (!t)
        goto fail;
    snprintf(f->now, sizeof(f->now), "%s", PQgetvalue(t, 0, 0));
    PQclear(t);
    int64_t next = cursor + FANOUT_CHUNK < f->max_id ? cursor + FANOUT_CHUNK : f->max_id;
    db_param_int(cursor, f->lo);
    db_param_int(next, f->hi);
    int64_t enqueued = 0;
    if (queue_enqueue_campaign(db, f->channel, f->campaign, buf_str(&f->select),
                               f->recipients.nparams, f->recipients.params, &enqueued, error_r) < 0)
        goto fail;
    *enqueued_r += enqueued;
    const char *cp[] = {f->id, f->hi};
    if (db_run(db, "UPDATE campaigns SET fanout_cursor = $2 WHERE id = $1", 2, cp, error_r) < 0 ||
        db_commit(db, error_r) < 0)
        goto fail;
    if (progress)
        progress(next, f->max_id, *enqueued_r);
    return 1;
fail:
    db_rollback(db);
    return -1;
}

int campaign_fanout(struct db *db, int64_t campaign, campaign_progress_fn progress,
                    int64_t *enqueued_r, char **error_r)
{
    *enqueued_r = 0;
    struct fanout f = {.campaign = campaign, .select = BUF_INIT};
    db_param_int(campaign, f.id);
    int rc = fanout_begin(db, &f, error_r);
    if (rc <= 0 || f.done)
        goto out;
    if ((rc = fanout_recipients(&f, error_r)) < 0)
        goto out;
    while ((rc = fanout_chunk(db, &f, progress, enqueued_r, error_r)) > 0)
        ;
    if (rc == 0)
        log_info("campaign_fanout", "campaign=%s enqueued=%" PRId64, f.id, *enqueued_r);
    /* Millions of new rows: fresh statistics now rather than on autovacuum's next round. */
    if (rc == 0 && *enqueued_r > 0)
        rc = queue_after_fanout(db, campaign, *enqueued_r, error_r);
out:
    fanout_release(&f);
    return rc < 0 ? -1 : 0;
}

/*
 * One state change of a campaign and of its queued rows, in one transaction:
 * `campaign_sql` returns the campaign's team only when its state allows the change, then
 * `rows_sql` acts on its messages; both take $1 = id.
 */
/* One change of a campaign's state and of its queued rows, in one transaction: campaign_sql
 * ($1 the id) must return the campaign's team when it applied; rows_sql then runs with the
 * id and, when rows_nparams is 2, `rows_param` as $2. */
static int transition(struct db *db, const struct actor *actor, int64_t id, const char *kind,
                      const char *campaign_sql, const char *rows_sql, int rows_nparams,
                      const char *rows_param, enum campaign_change *change_r, int64_t *rows_r,
                      char **error_r)
{
    *rows_r = 0;
    char text[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, text), rows_param};
    if (db_begin(db, error_r) < 0)
        return -1;
    PGresult *res = db_exec(db, campaign_sql, 1, params, error_r);
    if (!res)
        goto fail;
    bool changed = PQntuples(res) == 1;
    int64_t team = changed ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    if (!changed) {
        db_rollback(db);
        res = db_exec(db, "SELECT 1 FROM campaigns WHERE id = $1", 1, params, error_r);
        if (!res)
            return -1;
        *change_r = PQntuples(res) ? CAMPAIGN_REFUSED : CAMPAIGN_NOT_FOUND;
        PQclear(res);
        return 0;
    }
    if (rows_sql) {
        res = db_exec(db, rows_sql, rows_nparams, params, error_r);
        if (!res)
            goto fail;
        *rows_r = strtoll(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    json_t *payload =
        json_pack("{s:I,s:I}", "campaign_id", (json_int_t)id, "messages", (json_int_t)*rows_r);
    if (activity_record(db, actor, team, kind, payload, error_r) < 0 || db_commit(db, error_r) < 0)
        goto fail;
    *change_r = CAMPAIGN_CHANGED;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

int campaign_pause(struct db *db, const struct actor *actor, int64_t id,
                   enum campaign_change *change_r, int64_t *rows_r, char **error_r)
{
    /* Held rows stay queued with no due time; the workers' claim never reaches them. */
    return transition(db, actor, id, "campaign_paused",
                      "UPDATE campaigns SET status = 'paused' WHERE id = $1"
                      " AND status IN ('draft', 'scheduled', 'sending')"
                      " RETURNING coalesce(team_id, 0)",
                      "UPDATE outbound_messages SET next_attempt_at = 'infinity'"
                      " WHERE campaign_id = $1 AND status = 'queued'",
                      1, NULL, change_r, rows_r, error_r);
}

int campaign_cancel(struct db *db, const struct actor *actor, int64_t id,
                    enum campaign_change *change_r, int64_t *rows_r, char **error_r)
{
    return transition(db, actor, id, "campaign_cancelled",
                      "UPDATE campaigns SET status = 'cancelled', finished_at = tocsin_now()"
                      " WHERE id = $1 AND status IN ('draft', 'scheduled', 'sending', 'paused')"
                      " RETURNING coalesce(team_id, 0)",
                      "UPDATE outbound_messages SET status = 'cancelled',"
                      " last_error = 'campaign cancelled'"
                      " WHERE campaign_id = $1 AND status = 'queued'",
                      1, NULL, change_r, rows_r, error_r);
}

int campaign_retry(struct db *db, const struct actor *actor, int64_t id, const char *error_like,
                   enum campaign_change *change_r, int64_t *rows_r, char **error_r)
{
    /* Consent is checked again when the rows are claimed: a STOP since then still wins.
     * Bounces are not failures: the address does not exist, retrying cannot help. */
    return transition(db, actor, id, "campaign_retried",
                      "UPDATE campaigns SET status = 'sending', finished_at = NULL"
                      " WHERE id = $1 AND status IN ('sending', 'sent')"
                      " RETURNING coalesce(team_id, 0)",
                      "UPDATE outbound_messages SET status = 'queued', attempts = 0,"
                      " next_attempt_at = now(), last_error = NULL, lease_until = NULL"
                      " WHERE campaign_id = $1 AND status = 'failed'"
                      " AND ($2::text IS NULL"
                      "  OR strpos(lower(coalesce(last_error, '')), lower($2::text)) > 0)",
                      2, error_like, change_r, rows_r, error_r);
}

int campaign_send_now(struct db *db, const struct actor *actor, int64_t id,
                      enum campaign_change *change_r, char **error_r)
{
    int64_t rows = 0;
    return transition(db, actor, id, "campaign_sent",
                      "UPDATE campaigns SET status = 'scheduled', scheduled_at = tocsin_now()"
                      " WHERE id = $1 AND status IN ('draft', 'scheduled')"
                      " RETURNING coalesce(team_id, 0)",
                      NULL, 0, NULL, change_r, &rows, error_r);
}

int campaign_release_held(struct db *db, const struct actor *actor, int64_t id,
                          enum campaign_change *change_r, int64_t *rows_r, char **error_r)
{
    /* Urgent from now on, so what is fanned out later is not held either. Only rows never
     * tried are released: a retry's backoff protects a relay that is failing. */
    return transition(db, actor, id, "campaign_sent_now",
                      "UPDATE campaigns SET urgent = true WHERE id = $1"
                      " AND status IN ('draft', 'scheduled', 'sending', 'sent')"
                      " RETURNING coalesce(team_id, 0)",
                      "UPDATE outbound_messages SET next_attempt_at = tocsin_now()"
                      " WHERE campaign_id = $1 AND status = 'queued' AND attempts = 0"
                      " AND next_attempt_at > tocsin_now() AND next_attempt_at < 'infinity'",
                      1, NULL, change_r, rows_r, error_r);
}

int campaign_quiet_forecast(struct db *db, int64_t id, const char *timezone, int64_t *held_r,
                            char **until_r, char **error_r)
{
    *held_r = 0;
    *until_r = NULL;
    char text[DB_PARAM_SIZE];
    const char *cp[] = {db_param_int(id, text)};
    PGresult *res =
        db_exec(db, "SELECT channel, segment, urgent FROM campaigns WHERE id = $1", 1, cp, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1 || PQgetvalue(res, 0, 2)[0] == 't') {
        PQclear(res);
        return 0;
    }
    const char *extra[] = {campaign_quiet_hours(), timezone};
    struct recipients_sql r;
    /* The segment's parameters point into `campaign`: it lives until the count is made. */
    PGresult *campaign = res;
    int rc = recipients_build(PQgetvalue(campaign, 0, 0), PQgetvalue(campaign, 0, 1), false, 2,
                              extra, &r, error_r);
    if (rc < 0) {
        PQclear(campaign);
        return -1;
    }
    struct buf q = BUF_INIT;
    buf_adds(&q, "SELECT count(*) FILTER (WHERE quiet_release(tocsin_now(), p.timezone, $3)"
                 " > tocsin_now()), to_char(max(quiet_release(tocsin_now(), p.timezone, $3))"
                 " AT TIME ZONE $4, 'HH24:MI')");
    buf_adds(&q, buf_str(&r.from_where));
    res = db_exec_once(db, buf_str(&q), r.nparams, r.params, error_r);
    buf_release(&q);
    recipients_release(&r);
    PQclear(campaign);
    if (!res)
        return -1;
    *held_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (*held_r)
        *until_r = xstrdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int campaign_held(struct db *db, int64_t id, const char *timezone, int64_t *held_r, char **until_r,
                  char **error_r)
{
    char text[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, text), timezone};
    PGresult *res = db_exec(db,
                            "SELECT count(*), to_char(max(next_attempt_at) AT TIME ZONE $2,"
                            "  'YYYY-MM-DD HH24:MI')"
                            " FROM outbound_messages WHERE campaign_id = $1 AND status = 'queued'"
                            " AND attempts = 0 AND next_attempt_at > tocsin_now()"
                            " AND next_attempt_at < 'infinity'",
                            2, params, error_r);
    if (!res)
        return -1;
    *held_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *until_r = *held_r ? xstrdup(PQgetvalue(res, 0, 1)) : NULL;
    PQclear(res);
    return 0;
}

int campaign_resume(struct db *db, const struct actor *actor, int64_t id,
                    enum campaign_change *change_r, int64_t *rows_r, char **status_r,
                    bool *fanout_pending_r, char **error_r)
{
    *rows_r = 0;
    *status_r = NULL;
    *fanout_pending_r = false;
    char text[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, text)};
    if (db_begin(db, error_r) < 0)
        return -1;
    /* Back to what it was: scheduled if its time has not come and it never started. */
    PGresult *res = db_exec(
        db,
        "UPDATE campaigns SET status = CASE WHEN started_at IS NULL AND scheduled_at IS NOT NULL"
        "  THEN 'scheduled' WHEN started_at IS NULL THEN 'draft' ELSE 'sending' END"
        " WHERE id = $1 AND status = 'paused'"
        " RETURNING status, urgent, fanout_done, coalesce(team_id, 0)",
        1, params, error_r);
    if (!res)
        goto fail;
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        res = db_exec(db, "SELECT 1 FROM campaigns WHERE id = $1", 1, params, error_r);
        if (!res)
            return -1;
        *change_r = PQntuples(res) ? CAMPAIGN_REFUSED : CAMPAIGN_NOT_FOUND;
        PQclear(res);
        return 0;
    }
    char *status = xstrdup(PQgetvalue(res, 0, 0));
    bool urgent = PQgetvalue(res, 0, 1)[0] == 't';
    bool done = PQgetvalue(res, 0, 2)[0] == 't';
    int64_t team = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    const char *rp[] = {text, urgent ? "off" : campaign_quiet_hours()};
    res = db_exec(db,
                  "UPDATE outbound_messages o SET next_attempt_at ="
                  " quiet_release(tocsin_now(), p.timezone, $2)"
                  " FROM people p WHERE p.id = o.person_id AND o.campaign_id = $1"
                  " AND o.status = 'queued'",
                  2, rp, error_r);
    if (!res) {
        free(status);
        goto fail;
    }
    *rows_r = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    json_t *payload =
        json_pack("{s:I,s:I}", "campaign_id", (json_int_t)id, "messages", (json_int_t)*rows_r);
    if (activity_record(db, actor, team, "campaign_resumed", payload, error_r) < 0 ||
        db_commit(db, error_r) < 0) {
        free(status);
        goto fail;
    }
    *change_r = CAMPAIGN_CHANGED;
    *fanout_pending_r = strcmp(status, "sending") == 0 && !done;
    *status_r = status;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

/* Counts from the maintained counters (outbound_totals: they outlive the rows that
 * retention drops), not a GROUP BY over the campaign's rows; held from the campaign's index
 * of queued rows. Rate: rows that became sent in the last minute (the counter changes not
 * yet folded); ETA: what is left at that rate. */
static const char campaign_status_sql[] =
    "WITH t AS (SELECT status, sum(messages)::bigint AS n FROM outbound_totals"
    "  WHERE campaign_id = $1 GROUP BY status),"
    " s AS (SELECT coalesce(sum(n), 0)::bigint AS enqueued,"
    "  coalesce(sum(n) FILTER (WHERE status = 'queued'), 0)::bigint AS queued,"
    "  coalesce(sum(n) FILTER (WHERE status = 'sending'), 0)::bigint AS sending,"
    "  coalesce(sum(n) FILTER (WHERE status IN ('sent', 'delivered')), 0)::bigint AS sent,"
    "  coalesce(sum(n) FILTER (WHERE status IN ('failed', 'bounced')), 0)::bigint"
    "   AS failed,"
    "  coalesce(sum(n) FILTER (WHERE status = 'suppressed'), 0)::bigint AS suppressed,"
    "  coalesce(sum(n) FILTER (WHERE status = 'cancelled'), 0)::bigint AS cancelled"
    "  FROM t),"
    " r AS (SELECT coalesce(sum(messages), 0)::bigint AS last_minute"
    "  FROM outbound_count_changes WHERE campaign_id = $1 AND status = 'sent'"
    "   AND messages > 0 AND at > now() - interval '1 minute')"
    "SELECT c.id, c.status, c.channel, c.segment, c.recipients, c.fanout_done,"
    " to_char(c.scheduled_at AT TIME ZONE coalesce(c.timezone, 'UTC'),"
    "  'YYYY-MM-DD HH24:MI') AS scheduled,"
    " s.enqueued, s.queued,"
    " (SELECT count(*) FROM outbound_messages o WHERE o.campaign_id = c.id"
    "   AND o.status = 'queued' AND o.next_attempt_at > now()) AS held,"
    " s.sending, s.sent, s.failed, s.suppressed, s.cancelled,"
    " round(r.last_minute / 60.0, 1) AS rate_per_s,"
    " CASE WHEN r.last_minute > 0"
    "  THEN round((s.queued + s.sending) * 60.0 / r.last_minute)::bigint END AS eta_s,"
    /* Held by quiet hours (never tried, due later, not paused): until when, locally. */
    " (SELECT to_char(max(o.next_attempt_at) AT TIME ZONE coalesce(c.timezone, 'UTC'),"
    "   'YYYY-MM-DD HH24:MI') FROM outbound_messages o WHERE o.campaign_id = c.id"
    "   AND o.status = 'queued' AND o.attempts = 0 AND o.next_attempt_at > tocsin_now()"
    "   AND o.next_attempt_at < 'infinity') AS held_until,"
    " (SELECT to_char(min(o.next_attempt_at) AT TIME ZONE coalesce(c.timezone, 'UTC'),"
    "   'YYYY-MM-DD HH24:MI') FROM outbound_messages o WHERE o.campaign_id = c.id"
    "   AND o.status = 'queued' AND o.attempts > 0) AS next_retry,"
    " coalesce(c.timezone, 'UTC') AS timezone,"
    /* Why messages failed or wait for a retry: the most frequent reasons first. */
    " (SELECT coalesce(jsonb_agg(jsonb_build_object('error', e.last_error, 'count', e.n,"
    "   'failed', e.failed, 'next_attempt', e.next) ORDER BY e.n DESC, e.last_error), '[]')"
    "  FROM (SELECT x.last_error, count(*) AS n,"
    "   count(*) FILTER (WHERE x.status IN ('failed', 'bounced')) AS failed,"
    "   to_char(min(x.next_attempt_at) FILTER (WHERE x.status = 'queued')"
    "    AT TIME ZONE coalesce(c.timezone, 'UTC'), 'YYYY-MM-DD HH24:MI') AS next"
    "   FROM outbound_messages x WHERE x.campaign_id = c.id AND x.last_error IS NOT NULL"
    "    AND x.status IN ('failed', 'bounced', 'queued')"
    "   GROUP BY x.last_error ORDER BY count(*) DESC, x.last_error LIMIT 5) e) AS errors"
    " FROM campaigns c, s, r WHERE c.id = $1";

PGresult *campaign_status(struct db *db, int64_t id, char **error_r)
{
    char text[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, text)};
    return db_exec(db, campaign_status_sql, 1, params, error_r);
}

int campaign_record(struct db *db, const struct actor *actor, int64_t id, const char *kind,
                    char **error_r)
{
    char text[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(id, text)};
    PGresult *res = db_exec(db,
                            "SELECT coalesce(team_id, 0), channel, segment FROM campaigns"
                            " WHERE id = $1",
                            1, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *error_r = xasprintf("no campaign %s", text);
        return -1;
    }
    int64_t team = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    json_t *payload = json_pack("{s:I,s:s,s:s}", "campaign_id", (json_int_t)id, "channel",
                                PQgetvalue(res, 0, 1), "segment", PQgetvalue(res, 0, 2));
    PQclear(res);
    return activity_record(db, actor, team, kind, payload, error_r);
}
