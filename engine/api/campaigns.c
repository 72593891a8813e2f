#include "api/campaigns.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "outbound/queue.h"
#include "campaigns/campaign.h"
#include "api/v1.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

json_t *campaigns_list(struct db *db, const struct caller *who, const struct page *page,
                       struct api_error *e)
{
    char after[24], limit[24], me[24];
    model_id(page->after, after);
    snprintf(limit, sizeof(limit), "%d", page->limit);
    char *teams = caller_teams_literal(who);
    const char *params[] = {after, limit, teams, model_id(who->person_id, me)};
    char *error = NULL;
    /* Each campaign's count from the counters (outbound_totals): a year of weekly
     * newsletters is fifty million rows, and retention drops the old ones. */
    PGresult *res = db_exec(
        db,
        "SELECT c.id, c.status, c.channel, c.segment, c.title, c.subject, c.recipients, c.urgent,"
        " to_char(c.scheduled_at AT TIME ZONE coalesce(c.timezone, 'UTC'), 'YYYY-MM-DD HH24:MI')"
        "  AS scheduled, c.source,"
        " (SELECT coalesce(sum(t.messages), 0)::bigint FROM outbound_totals t"
        "   WHERE t.campaign_id = c.id) AS enqueued"
        " FROM campaigns c WHERE c.id > $1::bigint"
        " AND ($3::bigint[] IS NULL OR c.team_id = ANY($3::bigint[]) OR c.created_by = $4)"
        " ORDER BY c.id LIMIT $2::int",
        4, params, &error);
    free(teams);
    if (!res) {
        api_error_db(e, db, "campaigns list", error);
        return NULL;
    }
    json_t *out = model_page(model_rows(res), "id", page->limit);
    PQclear(res);
    return out;
}

char *campaign_form_assemble(const struct campaign_form *form)
{
    struct buf b = BUF_INIT;
    const char *text = form->text && *form->text ? form->text : form->sms;
    buf_printf(&b, "--- text\n%s\n", text ? text : "");
    if (form->html && *form->html)
        buf_printf(&b, "--- html\n%s\n", form->html);
    if (form->sms && *form->sms)
        buf_printf(&b, "--- sms\n%s\n", form->sms);
    return buf_detach(&b);
}

json_t *campaign_create_json(struct db *db, const struct caller *who,
                             const struct campaign_form *form, struct api_error *e)
{
    if (!form->channel || !form->segment) {
        api_error_set(e, 400, "a campaign needs a channel (email or sms) and a segment");
        return NULL;
    }
    if (!form->template && !(form->text && *form->text) && !(form->sms && *form->sms)) {
        api_error_set(e, 400, "a campaign needs a template, or a text (or sms) part");
        return NULL;
    }
    if (form->timezone && !form->at) {
        api_error_set(e, 400, "timezone goes with at");
        return NULL;
    }
    char *assembled = form->template ? NULL : campaign_form_assemble(form);
    struct campaign_new c = {.channel = form->channel,
                             .segment = form->segment,
                             .title = form->title && *form->title ? form->title : NULL,
                             .subject = form->subject && *form->subject ? form->subject : NULL,
                             .template = form->template ? form->template : assembled,
                             .at = form->at,
                             .timezone = form->timezone,
                             .urgent = form->urgent,
                             .created_by = who->person_id,
                             .source = "api",
                             .event = form->event && *form->event ? form->event : NULL};
    struct campaign_summary summary = {0};
    int64_t id = 0;
    char *error = NULL;
    json_t *out = NULL;
    if (model_begin(db, e) < 0)
        goto out;
    if (campaign_create(db, &c, &id, &summary, &error) < 0) {
        /* A refusal (bad segment, template, time) leaves the connection healthy. */
        if (db_transient(db) || (db_sqlstate(db)[0] && !str_starts_with(db_sqlstate(db), "22"))) {
            model_abort(db, e, "campaign create", error);
        } else {
            db_rollback(db);
            api_error_set(e, 422, "%s", error);
            free(error);
        }
        goto out;
    }
    if (form->dry_run) {
        db_rollback(db);
    } else {
        if (campaign_record(db, &who->actor, id, "campaign_created", &error) < 0) {
            model_abort(db, e, "campaign create", error);
            goto out;
        }
        if (model_commit(db, e) < 0)
            goto out;
    }
    out = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s?,s:s?,s:i}", "id",
                    (json_int_t)(form->dry_run ? 0 : id), "status",
                    form->dry_run ? "dry_run"
                    : form->at    ? "scheduled"
                                  : "draft",
                    "channel", form->channel, "segment", form->segment, "recipients",
                    (json_int_t)summary.recipients, "unknown_variables", summary.missing,
                    "sms_encoding", summary.sms_encoding, "sms_segments", summary.sms_segments);
out:
    campaign_summary_release(&summary);
    free(assembled);
    return out;
}

json_t *campaign_show_json(struct db *db, const struct caller *who, int64_t id, struct api_error *e)
{
    (void)who;
    char *error = NULL;
    PGresult *res = campaign_status(db, id, &error);
    if (!res) {
        api_error_db(e, db, "campaign status", error);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 404, "no campaign %" PRId64, id);
        return NULL;
    }
    json_t *out = model_row(res, 0);
    PQclear(res);
    char text[24];
    const char *params[] = {model_id(id, text)};
    res = db_exec(db,
                  "SELECT title, subject, template, urgent, source, created_at, started_at,"
                  " finished_at, (SELECT slug FROM events WHERE id = campaigns.event_id) AS event,"
                  " (SELECT title FROM events WHERE id = campaigns.event_id) AS event_title,"
                  " (SELECT coalesce(jsonb_agg(jsonb_build_object('reason', r, 'count', n)"
                  "  ORDER BY n DESC), '[]') FROM (SELECT coalesce(last_error, status) AS r,"
                  "  count(*) AS n FROM outbound_messages WHERE campaign_id = $1"
                  "  AND status IN ('failed', 'bounced') GROUP BY 1 ORDER BY 2 DESC LIMIT 10) f)"
                  "  AS failures"
                  " FROM campaigns WHERE id = $1",
                  1, params, &error);
    if (!res) {
        json_decref(out);
        api_error_db(e, db, "campaign show", error);
        return NULL;
    }
    json_t *more = model_row(res, 0);
    json_object_update(out, more);
    json_decref(more);
    PQclear(res);
    return out;
}

/* The person's contact on the campaign's channel and the campaign's scope. 1, 0 when the
 * person has no such contact, -1 with *e. */
static int recipient_of(struct db *db, int64_t id, int64_t person, int64_t *contact_r,
                        int64_t *scope_r, char **channel_r, struct api_error *e)
{
    char campaign[24], person_text[24];
    const char *params[] = {model_id(id, campaign), model_id(person, person_text)};
    char *error = NULL;
    PGresult *res =
        db_exec(db,
                "SELECT (SELECT ct.id FROM contacts ct WHERE ct.person_id = $2"
                "  AND ct.kind = CASE c.channel WHEN 'sms' THEN 'phone' ELSE 'email' END"
                "  AND ct.address IS NOT NULL ORDER BY ct.id LIMIT 1), coalesce(c.team_id, 0),"
                " c.channel"
                " FROM campaigns c WHERE c.id = $1",
                2, params, &error);
    if (!res) {
        api_error_db(e, db, "campaign recipient", error);
        return -1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error_set(e, 404, "no campaign %s", campaign);
        return -1;
    }
    *contact_r = model_int(res, 0, 0);
    *scope_r = model_int(res, 0, 1);
    *channel_r = xstrdup(PQgetvalue(res, 0, 2));
    int found = db_value(res, 0, 0) != NULL;
    PQclear(res);
    return found;
}

/* Whether the caller may see this person (for a preview as them). */
static int reaches_person(struct db *db, const struct caller *who, int64_t person,
                          struct api_error *e)
{
    if (who->admin || person == who->person_id)
        return 1;
    char *teams = caller_teams_literal(who);
    char text[24];
    const char *params[] = {model_id(person, text), teams};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT 1 FROM memberships WHERE person_id = $1"
                            " AND team_id = ANY($2::bigint[]) LIMIT 1",
                            2, params, &error);
    free(teams);
    if (!res) {
        api_error_db(e, db, "preview person", error);
        return -1;
    }
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found;
}

static json_t *rendered_json(const struct rendered_message *m, const char *channel, int64_t person)
{
    return json_pack("{s:s,s:I,s:s,s:s,s:s?,s:s}", "channel", channel, "person_id",
                     (json_int_t)person, "subject", m->subject ? m->subject : "", "text",
                     m->text ? m->text : "", "html", m->html, "sms", m->sms ? m->sms : "");
}

json_t *campaign_preview_json(struct db *db, const struct caller *who, int64_t id,
                              int64_t person_id, struct api_error *e)
{
    int64_t person = person_id ? person_id : who->person_id;
    if (!person) {
        api_error_set(e, 400, "preview as whom? give a person");
        return NULL;
    }
    int reach = reaches_person(db, who, person, e);
    if (reach < 0)
        return NULL;
    if (!reach) {
        api_error_set(e, 403, "person %" PRId64 " is not in your teams", person);
        return NULL;
    }
    int64_t contact = 0, scope = 0;
    char *channel = NULL;
    if (recipient_of(db, id, person, &contact, &scope, &channel, e) < 0)
        return NULL;
    struct rendered_message m = {0};
    char *error = NULL;
    json_t *out = NULL;
    if (campaign_render_for(db, id, person, contact, scope, &m, &error) < 0)
        api_error_db(e, db, "campaign preview", error);
    else
        out = rendered_json(&m, channel, person);
    template_message_release(&m);
    free(channel);
    return out;
}

json_t *campaign_test_json(struct db *db, const struct caller *who, int64_t id, struct api_error *e)
{
    if (!who->person_id) {
        api_error_set(e, 400, "a test copy goes to the caller: sign in as an organiser");
        return NULL;
    }
    int64_t contact = 0, scope = 0;
    char *channel = NULL;
    int found = recipient_of(db, id, who->person_id, &contact, &scope, &channel, e);
    if (found < 0)
        return NULL;
    json_t *out = NULL;
    struct rendered_message m = {0};
    char *error = NULL, *subject = NULL, *key = NULL, *address = NULL;
    if (!found) {
        api_error_set(e, 422, "you have no %s to send a test to",
                      strcmp(channel, "sms") == 0 ? "phone number" : "email address");
        goto out;
    }
    if (campaign_render_for(db, id, who->person_id, contact, scope, &m, &error) < 0) {
        api_error_db(e, db, "campaign test", error);
        goto out;
    }
    char contact_text[24];
    const char *params[] = {model_id(contact, contact_text)};
    PGresult *res = db_exec(db, "SELECT address FROM contacts WHERE id = $1", 1, params, &error);
    if (!res) {
        api_error_db(e, db, "campaign test", error);
        goto out;
    }
    address = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    bool sms = strcmp(channel, "sms") == 0;
    subject = xasprintf("[TEST] %s", m.subject ? m.subject : "");
    /* One test a minute per campaign and organiser: a double click sends one. */
    key = xasprintf("campaign-test:%" PRId64 ":%" PRId64 ":%lld", id, who->person_id,
                    (long long)(time(NULL) / 60));
    struct queue_new q = {.channel = channel,
                          .recipient = address,
                          .subject = sms ? NULL : subject,
                          .body = sms ? m.sms : m.text,
                          .html = sms ? NULL : m.html,
                          .kind = "campaign_test",
                          .dedupe_key = key,
                          .person_id = who->person_id,
                          .contact_id = contact,
                          .scope = scope};
    int64_t outbound = 0;
    bool created = false;
    if (model_begin(db, e) < 0)
        goto out;
    if (queue_enqueue(db, &q, &outbound, &created, &error) < 0) {
        model_abort(db, e, "campaign test", error);
        goto out;
    }
    if ((created && model_activity(db, who, scope, "campaign_test",
                                   json_pack("{s:I,s:I}", "campaign_id", (json_int_t)id,
                                             "outbound_id", (json_int_t)outbound),
                                   e) < 0) ||
        model_commit(db, e) < 0)
        goto out;
    out = rendered_json(&m, channel, who->person_id);
    json_object_set_new(out, "recipient", json_string(address));
    json_object_set_new(out, "outbound_id", json_integer(outbound));
    json_object_set_new(out, "created", json_boolean(created));
out:
    template_message_release(&m);
    free(channel);
    free(subject);
    free(key);
    free(address);
    return out;
}

/* `send` with `now`, as `tocsin campaign send --now`: through quiet hours (the campaign
 * becomes urgent and what they hold is due now), then scheduled for now unless it is
 * already sending or sent. */
static int send_through_quiet_hours(struct db *db, const struct caller *who, int64_t id,
                                    enum campaign_change *change_r, int64_t *rows_r,
                                    char **error_r)
{
    if (campaign_release_held(db, &who->actor, id, change_r, rows_r, error_r) < 0)
        return -1;
    if (*change_r != CAMPAIGN_CHANGED)
        return 0;
    char text[24];
    const char *params[] = {model_id(id, text)};
    bool started = false;
    if (db_query_bool(db, "SELECT status IN ('sending', 'sent') FROM campaigns WHERE id = $1", 1,
                      params, &started, error_r) < 0)
        return -1;
    return started ? 0 : campaign_send_now(db, &who->actor, id, change_r, error_r);
}

json_t *campaign_act_json(struct db *db, const struct caller *who, int64_t id, const char *action,
                          const struct campaign_act_options *options, struct api_error *e)
{
    enum campaign_change change = CAMPAIGN_NOT_FOUND;
    int64_t rows = 0;
    char *error = NULL, *status = NULL;
    bool pending = false;
    int rc;
    const char *refused;
    if (strcmp(action, "send") == 0 && options && options->now) {
        rc = send_through_quiet_hours(db, who, id, &change, &rows, &error);
        refused = "campaign %" PRId64 " is paused or cancelled";
    } else if (strcmp(action, "send") == 0) {
        rc = campaign_send_now(db, &who->actor, id, &change, &error);
        refused = "campaign %" PRId64 " is not a draft or scheduled";
    } else if (strcmp(action, "pause") == 0) {
        rc = campaign_pause(db, &who->actor, id, &change, &rows, &error);
        refused = "campaign %" PRId64 " is not draft, scheduled or sending";
    } else if (strcmp(action, "resume") == 0) {
        rc = campaign_resume(db, &who->actor, id, &change, &rows, &status, &pending, &error);
        refused = "campaign %" PRId64 " is not paused";
    } else if (strcmp(action, "cancel") == 0) {
        rc = campaign_cancel(db, &who->actor, id, &change, &rows, &error);
        refused = "campaign %" PRId64 " is already sent or cancelled";
    } else if (strcmp(action, "retry") == 0) {
        rc = campaign_retry(db, &who->actor, id, options ? options->error_like : NULL, &change,
                            &rows, &error);
        refused = "campaign %" PRId64 " is not sending or sent";
    } else {
        api_error_set(e, 404, "no action %s", action);
        return NULL;
    }
    if (rc < 0) {
        free(status);
        api_error_db(e, db, action, error);
        return NULL;
    }
    if (change == CAMPAIGN_NOT_FOUND || change == CAMPAIGN_REFUSED) {
        free(status);
        if (change == CAMPAIGN_NOT_FOUND)
            api_error_set(e, 404, "no campaign %" PRId64, id);
        else
            api_error_set(e, 409, refused, id);
        return NULL;
    }
    /* A resumed fan-out that stopped half-way is finished by the scheduler's next round,
     * which picks up campaigns sending with their fan-out not done. */
    json_t *out = campaign_show_json(db, who, id, e);
    if (out) {
        json_object_set_new(out, "messages_changed", json_integer(rows));
        /* The answer says what this request did: the scheduler, woken by it, may already
         * have moved the campaign on (GET shows where it is now). */
        const char *left = strcmp(action, "send") == 0     ? "scheduled"
                           : strcmp(action, "pause") == 0  ? "paused"
                           : strcmp(action, "cancel") == 0 ? "cancelled"
                           : strcmp(action, "retry") == 0  ? "sending"
                                                           : status;
        if (left)
            json_object_set_new(out, "status", json_string(left));
    }
    free(status);
    return out;
}

void route_campaigns_list(struct api_call *c)
{
    struct page page;
    if (!api_page(c, &page))
        return;
    struct api_error e = {0};
    api_answer(c, campaigns_list(c->db, &c->who, &page, &e), &e);
}

void route_campaign_create(struct api_call *c)
{
    struct campaign_form form = {.channel = api_arg(c, "channel"),
                                 .segment = api_arg(c, "segment"),
                                 .title = api_arg(c, "title"),
                                 .event = api_arg(c, "event"),
                                 .subject = api_arg(c, "subject"),
                                 .template = api_arg(c, "template"),
                                 .text = api_arg(c, "text"),
                                 .html = api_arg(c, "html"),
                                 .sms = api_arg(c, "sms"),
                                 .at = api_arg(c, "at"),
                                 .timezone = api_arg(c, "timezone"),
                                 .urgent = api_flag(c, "urgent"),
                                 .dry_run = api_flag(c, "dry_run")};
    struct api_error e = {0};
    json_t *out = campaign_create_json(c->db, &c->who, &form, &e);
    if (out)
        api_reply(c, form.dry_run ? 200 : 201, out);
    else
        api_fail(c, &e);
}

void route_campaign_show(struct api_call *c)
{
    int64_t id = c->campaign_id;
    struct api_error e = {0};
    api_answer(c, campaign_show_json(c->db, &c->who, id, &e), &e);
}

void route_campaign_preview(struct api_call *c)
{
    int64_t id = c->campaign_id;
    long person = 0;
    const char *p = http_query(c->req, "person");
    if (p && str_to_long(p, 1, INT64_MAX, &person) < 0) {
        api_fail_status(c, 400, "person must be a person id");
        return;
    }
    struct api_error e = {0};
    api_answer(c, campaign_preview_json(c->db, &c->who, id, person, &e), &e);
}

void route_campaign_test(struct api_call *c)
{
    int64_t id = c->campaign_id;
    struct api_error e = {0};
    api_answer(c, campaign_test_json(c->db, &c->who, id, &e), &e);
}

static void act(struct api_call *c, const char *action)
{
    int64_t id = c->campaign_id;
    struct api_error e = {0};
    const struct campaign_act_options options = {.now = api_flag(c, "now"),
                                                 .error_like = api_arg(c, "error")};
    json_t *out = campaign_act_json(c->db, &c->who, id, action, &options, &e);
    if (out)
        api_reply(c, strcmp(action, "send") == 0 ? 202 : 200, out);
    else
        api_fail(c, &e);
}

void route_campaign_send(struct api_call *c)
{
    act(c, "send");
}

void route_campaign_pause(struct api_call *c)
{
    act(c, "pause");
}

void route_campaign_resume(struct api_call *c)
{
    act(c, "resume");
}

void route_campaign_cancel(struct api_call *c)
{
    act(c, "cancel");
}

void route_campaign_retry(struct api_call *c)
{
    act(c, "retry");
}
