#include "api/console_model.h"
#include "api/campaigns.h"
#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "outbound/gsm.h"
#include "campaigns/campaign.h"
#include "campaigns/segment.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the queue in words ---- */

/* Rows in reach: everything for admins, else messages to members of the caller's teams. */
#define QUEUE_SCOPE(n)                                                                             \
    " ($" #n "::bigint[] IS NULL OR o.person_id IN (SELECT m.person_id FROM memberships m"         \
    "  WHERE m.team_id = ANY($" #n "::bigint[])))"

json_t *console_queue_health(struct db *db, const struct caller *who, struct api_error *e)
{
    char *teams = caller_teams_literal(who);
    const char *params[] = {teams};
    char *error = NULL;
    json_t *out = NULL;
    /* Each count reads the partial indexes of the queue (status = 'queued' or 'sending'),
     * never the sent history. */
    PGresult *res = db_exec(
        db,
        "SELECT count(*) FILTER (WHERE o.next_attempt_at <= now()) AS due,"
        " coalesce(extract(epoch FROM now() - min(o.next_attempt_at)"
        "  FILTER (WHERE o.next_attempt_at <= now()))::bigint, 0) AS oldest_due_s,"
        " count(*) FILTER (WHERE o.next_attempt_at > now() AND o.next_attempt_at < 'infinity'"
        "  AND o.attempts = 0) AS held,"
        " to_char(min(o.next_attempt_at) FILTER (WHERE o.next_attempt_at > now()"
        "  AND o.next_attempt_at < 'infinity' AND o.attempts = 0), 'HH24:MI') AS held_until,"
        " count(*) FILTER (WHERE o.next_attempt_at = 'infinity') AS paused,"
        " count(*) FILTER (WHERE o.attempts > 0 AND o.next_attempt_at < 'infinity') AS retrying"
        " FROM outbound_messages o WHERE o.status = 'queued' AND" QUEUE_SCOPE(1),
        1, params, &error);
    if (!res)
        goto db_error;
    out = model_row(res, 0);
    PQclear(res);
    res = db_exec(db,
                  "SELECT count(*) AS sending FROM outbound_messages o"
                  " WHERE o.status = 'sending' AND" QUEUE_SCOPE(1),
                  1, params, &error);
    if (!res)
        goto db_error;
    json_object_set_new(out, "sending", json_integer(model_int(res, 0, 0)));
    PQclear(res);
    res = db_exec(db,
                  "SELECT o.last_error AS reason, count(*) AS count FROM outbound_messages o"
                  " WHERE o.status = 'queued' AND o.attempts > 0 AND o.last_error IS NOT NULL"
                  " AND o.next_attempt_at < 'infinity' AND" QUEUE_SCOPE(
                      1) " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
                  1, params, &error);
    if (!res)
        goto db_error;
    json_object_set_new(out, "failing", model_rows(res));
    PQclear(res);
    json_int_t due = json_integer_value(json_object_get(out, "due"));
    json_int_t late = json_integer_value(json_object_get(out, "oldest_due_s"));
    json_int_t retrying = json_integer_value(json_object_get(out, "retrying"));
    /* Late: something due for more than five minutes is waiting for a worker. */
    json_object_set_new(out, "late", json_boolean(due > 0 && late > 300));
    json_object_set_new(out, "late_minutes", json_integer(late / 60));
    json_object_set_new(out, "all_clear",
                        json_boolean(due == 0 && retrying == 0 &&
                                     json_integer_value(json_object_get(out, "held")) == 0 &&
                                     json_integer_value(json_object_get(out, "paused")) == 0 &&
                                     json_integer_value(json_object_get(out, "sending")) == 0));
    goto out;
db_error:
    json_decref(out);
    out = NULL;
    api_error_db(e, db, "queue health", error);
out:
    free(teams);
    return out;
}

json_t *console_tags(struct db *db, const struct caller *who, struct api_error *e)
{
    char *teams = caller_teams_literal(who);
    const char *params[] = {teams};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT tag, count(*) AS people FROM people p, unnest(p.tags) tag"
                            " WHERE $1::bigint[] IS NULL OR p.id IN (SELECT m.person_id"
                            "  FROM memberships m WHERE m.team_id = ANY($1::bigint[]))"
                            " GROUP BY tag ORDER BY 2 DESC, 1 LIMIT 100",
                            1, params, &error);
    free(teams);
    if (!res) {
        api_error_db(e, db, "tags", error);
        return NULL;
    }
    json_t *out = json_pack("{s:o}", "items", model_rows(res));
    PQclear(res);
    return out;
}

/* ---- composing ---- */

static void warn(json_t *warnings, const char *key, const char *detail)
{
    json_array_append_new(warnings, json_pack("{s:s,s:s?}", "key", key, "detail", detail));
}

/* The distinct characters of `text` that GSM-7 cannot carry (what makes a text UCS-2). */
static char *non_gsm_chars(const char *text)
{
    struct buf out = BUF_INIT;
    size_t len = strlen(text);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode((const unsigned char *)text + i, len - i, &cp);
        if (n == 0) {
            i++;
            continue;
        }
        char one[5] = {0};
        memcpy(one, text + i, n);
        struct gsm_info info;
        gsm_analyse(one, &info);
        if (info.encoding == SMS_UCS2 && !(out.len && strstr(buf_str(&out), one)) &&
            out.len < 120) {
            if (out.len)
                buf_addch(&out, ' ');
            buf_adds(&out, one);
        }
        i += n;
    }
    return out.len ? buf_detach(&out) : (buf_release(&out), NULL);
}

static bool mentions_stop(const char *text)
{
    return strcasestr(text, "STOP") || strcasestr(text, "ARRET") || strcasestr(text, "ARRÊT") ||
           strstr(text, "{{stop_keyword}}");
}

/* The audience: its count on the channel (-1 when the segment cannot be read), or -1
 * after a database error (*e set, *failed_r true). */
static int64_t check_audience(struct db *db, const struct campaign_form *form, bool sms,
                              json_t *out, bool *failed_r, struct api_error *e)
{
    json_t *warnings = json_object_get(out, "warnings");
    int64_t recipients = -1;
    char *error = NULL;
    *failed_r = false;
    if (!form->segment || !*form->segment) {
        warn(warnings, "warn_no_segment", NULL);
        return -1;
    }
    if (campaign_count(db, sms ? "sms" : "email", form->segment, &recipients, NULL, &error) < 0) {
        if (db_transient(db)) {
            api_error_db(e, db, "compose check", error);
            *failed_r = true;
            return -1;
        }
        warn(warnings, "warn_segment", error);
        free(error);
        return -1;
    }
    json_object_set_new(out, "recipients", json_integer(recipients));
    if (recipients == 0)
        warn(warnings, "warn_nobody", NULL);
    return recipients;
}

/* Variables the parts and the subject use that no message provides (caller frees). */
static char *unknown_variables(const struct message_template *m, const char *subject_text,
                               const json_t *sample, json_t *warnings)
{
    char *missing = template_message_missing(m, sample), *error = NULL;
    if (!subject_text || !*subject_text)
        return missing;
    struct template *subject = template_compile(subject_text, &error);
    if (!subject) {
        warn(warnings, "warn_template", error);
        free(error);
        return missing;
    }
    char *more = template_missing(subject, sample);
    template_free(&subject);
    if (more) {
        char *all = missing ? xasprintf("%s, %s", missing, more) : xstrdup(more);
        free(missing);
        free(more);
        missing = all;
    }
    return missing;
}

/* The SMS as it will leave (for the sample person): encoding, length, cost, warnings. */
static void check_sms(const char *text, int64_t recipients, json_t *out)
{
    json_t *warnings = json_object_get(out, "warnings");
    struct sms_estimate est;
    char *composed = NULL;
    sms_estimate(text, recipients > 0 ? recipients : 0, &est, &composed);
    char *odd = est.info.encoding == SMS_UCS2 ? non_gsm_chars(composed) : NULL;
    json_object_set_new(
        out, "sms",
        json_pack("{s:s,s:b,s:I,s:I,s:i,s:I,s:s,s:s?}", "encoding",
                  est.info.encoding == SMS_GSM7 ? "GSM-7" : "UCS-2", "ucs2",
                  est.info.encoding == SMS_UCS2, "chars", (json_int_t)est.info.chars, "units",
                  (json_int_t)est.info.units, "segments", est.info.segments, "total",
                  (json_int_t)est.total_segments, "composed", composed, "non_gsm", odd));
    if (est.info.encoding == SMS_UCS2)
        warn(warnings, "warn_ucs2", odd);
    if (est.info.segments > 2)
        warn(warnings, "warn_long_sms", NULL);
    if (!*config_str("sms", "stop_mention") && !mentions_stop(composed))
        warn(warnings, "warn_no_stop", NULL);
    free(odd);
    free(composed);
}

json_t *console_compose_check(struct db *db, const struct caller *who,
                              const struct campaign_form *form, struct api_error *e)
{
    (void)who;
    bool sms = form->channel && strcmp(form->channel, "sms") == 0, failed = false;
    json_t *out = json_pack("{s:s,s:s,s:o}", "channel", sms ? "sms" : "email", "segment",
                            form->segment ? form->segment : "", "warnings", json_array());
    json_t *warnings = json_object_get(out, "warnings");
    int64_t recipients = check_audience(db, form, sms, out, &failed, e);
    if (failed) {
        json_decref(out);
        return NULL;
    }
    if (!(form->text && *form->text) && !(form->sms && *form->sms)) {
        warn(warnings, "warn_no_text", NULL);
        return out;
    }
    if (!sms && !(form->subject && *form->subject))
        warn(warnings, "warn_no_subject", NULL);
    char *source = campaign_form_assemble(form), *error = NULL;
    struct message_template *m = template_message_compile(source, "template", &error);
    free(source);
    if (!m) {
        warn(warnings, "warn_template", error);
        free(error);
        return out;
    }
    json_t *sample = campaign_sample_vars();
    char *missing = unknown_variables(m, form->subject, sample, warnings);
    if (missing) {
        json_object_set_new(out, "unknown_variables", json_string(missing));
        warn(warnings, "warn_unknown_variables", missing);
        free(missing);
    }
    struct rendered_message r = {0};
    template_message_render(m, sample, &r);
    if (sms)
        check_sms(r.sms ? r.sms : "", recipients, out);
    else if (!strstr(form->text ? form->text : "", "unsubscribe_url") &&
             !strstr(form->html ? form->html : "", "unsubscribe_url"))
        warn(warnings, "warn_no_unsubscribe", "{{unsubscribe_url}}");
    const char *quiet = campaign_quiet_hours();
    if (!form->urgent && strcmp(quiet, "off") != 0)
        warn(warnings, "warn_quiet_hours", quiet);
    template_message_release(&r);
    json_decref(sample);
    template_message_free(&m);
    return out;
}

/* ---- campaigns: whom to preview as, what followed, when ---- */

json_t *console_segment_people(struct db *db, const struct caller *who, int64_t campaign_id,
                               int limit, struct api_error *e)
{
    char id[24], *error = NULL;
    const char *p1[] = {model_id(campaign_id, id)};
    PGresult *res = db_exec(db, "SELECT segment FROM campaigns WHERE id = $1", 1, p1, &error);
    if (!res) {
        api_error_db(e, db, "segment people", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 404, "no campaign %" PRId64, campaign_id);
        return NULL;
    }
    char *text = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    struct segment seg;
    if (segment_compile(text, 3, &seg, &error) < 0) {
        api_error_set(e, 422, "%s", error);
        free(error);
        free(text);
        return NULL;
    }
    free(text);
    /* The segment's SQL is built from fixed fragments, its values are parameters from $3
     * (campaigns/segment.h); the caller's teams are $1, the limit $2. */
    char *teams = caller_teams_literal(who), lim[24];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char **params = xcalloc((size_t)seg.nparams + 2, sizeof(*params));
    params[0] = teams;
    params[1] = lim;
    for (int i = 0; i < seg.nparams; i++)
        params[i + 2] = seg.params[i];
    char *sql = xasprintf("SELECT p.id, p.name FROM people p WHERE (%s)"
                          " AND ($1::bigint[] IS NULL OR p.id IN (SELECT m.person_id"
                          "  FROM memberships m WHERE m.team_id = ANY($1::bigint[])))"
                          " ORDER BY p.id LIMIT $2::int",
                          seg.where);
    res = db_exec_once(db, sql, seg.nparams + 2, params, &error);
    free(sql);
    free(params);
    free(teams);
    segment_release(&seg);
    if (!res) {
        api_error_db(e, db, "segment people", error);
        return NULL;
    }
    json_t *out = json_pack("{s:o}", "items", model_rows(res));
    PQclear(res);
    return out;
}

json_t *console_campaign_results(struct db *db, const struct caller *who, int64_t campaign_id,
                                 struct api_error *e)
{
    (void)who;
    char id[24], *error = NULL;
    const char *params[] = {model_id(campaign_id, id)};
    PGresult *res = db_exec(
        db,
        "WITH c AS (SELECT coalesce(started_at, created_at) AS t0 FROM campaigns WHERE id = $1),"
        " r AS (SELECT DISTINCT contact_id, person_id FROM outbound_messages"
        "  WHERE campaign_id = $1 AND status IN ('sent', 'delivered'))"
        " SELECT (SELECT count(*) FROM outbound_messages WHERE campaign_id = $1"
        "   AND status = 'bounced') AS bounces,"
        "  (SELECT count(DISTINCT k.contact_id) FROM consent k, c WHERE k.action = 'opt_out'"
        "   AND k.contact_id IN (SELECT contact_id FROM r) AND k.created_at >= c.t0"
        "   AND k.created_at < c.t0 + interval '7 days') AS optouts,"
        "  (SELECT count(*) FROM inbound_messages i, c WHERE i.person_id IN"
        "   (SELECT person_id FROM r) AND i.received_at >= c.t0"
        "   AND i.received_at < c.t0 + interval '7 days') AS replies,"
        "  (SELECT count(*) FROM inbox i, c WHERE i.person_id IN (SELECT person_id FROM r)"
        "   AND i.received_at >= c.t0 AND i.received_at < c.t0 + interval '7 days')"
        "   AS replies_for_a_human",
        1, params, &error);
    if (!res) {
        api_error_db(e, db, "campaign results", error);
        return NULL;
    }
    json_t *out = model_row(res, 0);
    PQclear(res);
    return out;
}

json_t *console_campaign_schedule(struct db *db, const struct caller *who, int64_t campaign_id,
                                  const char *at, const char *timezone, struct api_error *e)
{
    const char *tz = timezone && *timezone ? timezone : config_str("engine", "default_timezone");
    int y, mo, d, h, mi, n = 0;
    if (!at || sscanf(at, "%4d-%2d-%2d%*1[ T]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 ||
        at[n] != '\0') {
        api_error_set(e, 422, "when: expected 'YYYY-MM-DD HH:MM', not %s", at ? at : "nothing");
        return NULL;
    }
    char local[32], id[24], *error = NULL;
    snprintf(local, sizeof(local), "%04d-%02d-%02d %02d:%02d", y, mo, d, h, mi);
    const char *params[] = {model_id(campaign_id, id), local, tz};
    if (model_begin(db, e) < 0)
        return NULL;
    PGresult *res = db_exec(db,
                            "UPDATE campaigns SET status = 'scheduled', timezone = $3,"
                            " scheduled_at = $2::timestamp AT TIME ZONE $3"
                            " WHERE id = $1 AND status IN ('draft', 'scheduled')"
                            " AND EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $3)"
                            " RETURNING coalesce(team_id, 0), scheduled_at < now()",
                            3, params, &error);
    if (!res) {
        if (db_transient(db) || !str_starts_with(db_sqlstate(db), "22")) {
            model_abort(db, e, "campaign schedule", error);
        } else {
            db_rollback(db);
            api_error_set(e, 422, "when: %s is not a time", local);
            free(error);
        }
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        api_error_set(e, 409,
                      "campaign %" PRId64 " is not a draft or scheduled (or the time zone"
                      " %s is unknown)",
                      campaign_id, tz);
        return NULL;
    }
    int64_t team = model_int(res, 0, 0);
    bool past = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (past) {
        db_rollback(db);
        api_error_set(e, 422, "%s is in the past", local);
        return NULL;
    }
    if (model_activity(db, who, team, "campaign_scheduled",
                       json_pack("{s:I,s:s,s:s}", "campaign_id", (json_int_t)campaign_id, "at",
                                 local, "timezone", tz),
                       e) < 0 ||
        model_commit(db, e) < 0)
        return NULL;
    return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)campaign_id, "status", "scheduled",
                     "at", local, "timezone", tz);
}

/* ---- uploads ---- */

json_t *console_upload_store(struct db *db, const struct caller *who, const char *filename,
                             const char *team, const char *body, struct api_error *e)
{
    if (!body || !*body) {
        api_error_set(e, 400, "choose a CSV file to upload");
        return NULL;
    }
    char person[24], *error = NULL;
    const char *params[] = {model_id(who->person_id, person),
                            filename && *filename ? filename : "upload.csv",
                            team && *team ? team : NULL, body};
    if (model_begin(db, e) < 0)
        return NULL;
    if (db_run(db, "DELETE FROM console_uploads WHERE created_at < now() - interval '1 day'", 0,
               NULL, &error) < 0) {
        model_abort(db, e, "upload", error);
        return NULL;
    }
    PGresult *res = db_exec(db,
                            "INSERT INTO console_uploads (person_id, filename, team, body)"
                            " VALUES ($1, $2, lower($3), $4) RETURNING id",
                            4, params, &error);
    if (!res) {
        model_abort(db, e, "upload", error);
        return NULL;
    }
    json_t *out = json_pack("{s:I}", "id", (json_int_t)model_int(res, 0, 0));
    PQclear(res);
    if (model_commit(db, e) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *console_upload_get(struct db *db, const struct caller *who, const char *id,
                           struct api_error *e)
{
    long n;
    if (!id || str_to_long(id, 1, INT64_MAX, &n) < 0) {
        api_error_set(e, 404, "no upload %s", id ? id : "");
        return NULL;
    }
    char person[24], *error = NULL;
    const char *params[] = {id, model_id(who->person_id, person)};
    PGresult *res = db_exec(db,
                            "SELECT id, filename, team, body, created_at FROM console_uploads"
                            " WHERE id = $1 AND person_id = $2",
                            2, params, &error);
    if (!res) {
        api_error_db(e, db, "upload", error);
        return NULL;
    }
    json_t *out = NULL;
    if (PQntuples(res) == 1)
        out = model_row(res, 0);
    else
        api_error_set(e, 404, "no upload %s (uploads last a day)", id);
    PQclear(res);
    return out;
}

int console_upload_drop(struct db *db, const struct caller *who, int64_t id, struct api_error *e)
{
    char text[24], person[24], *error = NULL;
    const char *params[] = {model_id(id, text), model_id(who->person_id, person)};
    if (db_run(db, "DELETE FROM console_uploads WHERE id = $1 AND person_id = $2", 2, params,
               &error) < 0) {
        api_error_db(e, db, "upload", error);
        return -1;
    }
    return 0;
}

json_t *console_campaigns_recent(struct db *db, const struct caller *who, int64_t before, int limit,
                                 bool in_flight, struct api_error *e)
{
    char *teams = caller_teams_literal(who);
    char me[24], before_text[24], lim[24];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[] = {teams, model_id(who->person_id, me), model_id(before, before_text),
                            in_flight ? "t" : "f", lim};
    char *error = NULL;
    /* Progress only for campaigns on their way, from the counters (outbound_totals): a
     * campaign of a million messages is not recounted on every page. */
    PGresult *res = db_exec(
        db,
        "SELECT c.id, c.status, c.channel, c.segment, c.title, c.subject, c.recipients, c.urgent,"
        " to_char(c.scheduled_at AT TIME ZONE coalesce(c.timezone, 'UTC'), 'YYYY-MM-DD HH24:MI')"
        "  AS scheduled, c.created_at, c.started_at, c.finished_at,"
        " s.enqueued, s.sent, s.failed, s.left"
        " FROM campaigns c LEFT JOIN LATERAL (SELECT coalesce(sum(o.messages), 0)::bigint"
        "   AS enqueued,"
        "  coalesce(sum(o.messages) FILTER (WHERE o.status IN ('sent', 'delivered')), 0)::bigint"
        "   AS sent,"
        "  coalesce(sum(o.messages) FILTER (WHERE o.status IN ('failed', 'bounced')), 0)::bigint"
        "   AS failed,"
        "  coalesce(sum(o.messages) FILTER (WHERE o.status IN ('queued', 'sending')), 0)::bigint"
        "   AS left"
        "  FROM outbound_totals o WHERE o.campaign_id = c.id) s"
        "  ON c.status IN ('sending', 'paused')"
        " WHERE ($1::bigint[] IS NULL OR c.team_id = ANY($1::bigint[]) OR c.created_by = $2)"
        " AND ($3::bigint = 0 OR c.id < $3::bigint)"
        " AND (NOT $4::boolean OR c.status IN ('scheduled', 'sending', 'paused'))"
        " ORDER BY c.id DESC LIMIT $5::int",
        5, params, &error);
    free(teams);
    if (!res) {
        api_error_db(e, db, "campaigns", error);
        return NULL;
    }
    json_t *out = model_page(model_rows(res), "id", limit);
    PQclear(res);
    return out;
}

/* ---- the inbox ---- */

json_t *console_inbox_thread(struct db *db, const struct caller *who, int64_t id,
                             struct api_error *e)
{
    (void)who;
    char text[24], *error = NULL;
    const char *params[] = {model_id(id, text)};
    PGresult *res = db_exec(db,
                            "SELECT i.id, i.channel, i.sender, i.person_id, p.name, i.body,"
                            " i.status, i.received_at, i.handled_at, h.name AS handled_by"
                            " FROM inbox i LEFT JOIN people p ON p.id = i.person_id"
                            " LEFT JOIN people h ON h.id = i.handled_by WHERE i.id = $1",
                            1, params, &error);
    if (!res) {
        api_error_db(e, db, "inbox message", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 404, "no inbox message %" PRId64, id);
        return NULL;
    }
    json_t *message = model_row(res, 0);
    PQclear(res);
    res = db_exec(
        db,
        "SELECT * FROM ((SELECT 'in' AS direction, i.id, i.received_at AS at, '' AS subject,"
        "  i.body, i.status FROM inbound_messages i, inbound_messages m"
        "  WHERE m.id = $1 AND i.channel = m.channel AND i.sender = m.sender"
        "  ORDER BY i.id DESC LIMIT 30)"
        " UNION ALL"
        " (SELECT 'out', o.id, o.created_at, o.subject, o.body, o.status"
        "  FROM outbound_messages o, inbound_messages m WHERE m.id = $1"
        "  AND o.channel = m.channel AND o.recipient = m.sender"
        "  AND o.kind <> 'signin' ORDER BY o.id DESC LIMIT 30)) t"
        " ORDER BY at DESC, id DESC LIMIT 30",
        1, params, &error);
    if (!res) {
        json_decref(message);
        api_error_db(e, db, "inbox thread", error);
        return NULL;
    }
    json_t *thread = model_rows(res);
    PQclear(res);
    return json_pack("{s:o,s:o}", "message", message, "thread", thread);
}
