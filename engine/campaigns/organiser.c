#include "campaigns/organiser.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/template.h"
#include "campaigns/campaign.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* How long a code stays valid: long enough to find the phone again, short enough that an
 * old code seen over a shoulder is worthless. */
#define DRAFT_TTL "15 minutes"

static int activity(struct db *db, const char *team_id, const char *kind, json_t *payload,
                    char **error_r)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    const char *params[] = {team_id, kind, text};
    int rc = db_run(db, "INSERT INTO activity (team_id, kind, payload) VALUES ($1, $2, $3::jsonb)",
                    3, params, error_r);
    free(text);
    return rc;
}

/* The organiser's text as a campaign template file: a text part, and the subject line. */
static char *as_template(const char *subject, const char *text)
{
    struct buf t = BUF_INIT;
    if (subject && *subject)
        buf_printf(&t, "subject: %s\n", subject);
    buf_adds(&t, "--- text\n");
    buf_adds(&t, text);
    buf_addch(&t, '\n');
    return buf_detach(&t);
}

/* Whether the sender is an active organiser of the team: 1 yes (team_id and the team's
 * name set), 0 no (out->result says why, the refusal is logged), -1 error. */
static int check_organiser(struct db *db, int64_t person_id, const char *team_slug,
                           char team_id[DB_PARAM_SIZE], struct organiser_outcome *out,
                           char **error_r)
{
    char p[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, p), team_slug};
    PGresult *res = db_exec(db,
                            "SELECT t.id, t.name, coalesce((SELECT m.role = 'organiser'"
                            " AND m.status = 'active' FROM memberships m WHERE m.team_id = t.id"
                            " AND m.person_id = $1::bigint), false)"
                            " FROM teams t WHERE t.slug = lower($2)",
                            2, params, error_r);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        out->result = ORGANISER_NO_TEAM;
        return 0;
    }
    snprintf(team_id, DB_PARAM_SIZE, "%s", PQgetvalue(res, 0, 0));
    out->team_name = xstrdup(PQgetvalue(res, 0, 1));
    bool organiser = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (organiser)
        return 1;
    out->result = ORGANISER_NOT_ORGANISER;
    int rc = activity(
        db, team_id, "organiser_refused",
        json_pack("{s:I, s:s}", "person_id", (json_int_t)person_id, "reason", "not an organiser"),
        error_r);
    return rc < 0 ? -1 : 0;
}

/* Store the checked text under a fresh code, and log it. */
static int store_draft(struct db *db, int64_t person_id, const char *team_id, const char *channel,
                       const char *subject, const char *body, struct organiser_outcome *out,
                       char **error_r)
{
    uint32_t random = 0;
    if (getrandom(&random, sizeof(random), 0) != sizeof(random)) {
        *error_r = xstrdup("no randomness for the confirmation code");
        return -1;
    }
    snprintf(out->code, sizeof(out->code), "%06u", (unsigned)(random % 1000000));
    char person[DB_PARAM_SIZE], recipients[DB_PARAM_SIZE];
    const char *params[] = {out->code,
                            db_param_int(person_id, person),
                            team_id,
                            channel,
                            subject ? subject : "",
                            body,
                            db_param_int(out->recipients, recipients)};
    PGresult *res =
        db_exec(db,
                "INSERT INTO organiser_drafts (code, person_id, team_id, channel, subject, body,"
                " recipients, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                " tocsin_now() + interval '" DRAFT_TTL "') RETURNING id",
                7, params, error_r);
    if (!res)
        return -1;
    json_int_t draft = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return activity(db, team_id, "organiser_draft",
                    json_pack("{s:I, s:I, s:s, s:I}", "person_id", (json_int_t)person_id, "draft",
                              draft, "channel", channel, "recipients", (json_int_t)out->recipients),
                    error_r);
}

/* Whether the text compiles as a message template ("{{" does not). */
static bool text_compiles(const char *subject, const char *body)
{
    char *source = as_template(subject, body);
    char *compile_error = NULL;
    struct message_template *m = template_message_compile(source, "message", &compile_error);
    free(source);
    free(compile_error);
    bool ok = m != NULL;
    template_message_free(&m);
    return ok;
}

int organiser_draft(struct db *db, int64_t person_id, const char *team_slug, const char *channel,
                    const char *subject, const char *text, struct organiser_outcome *out,
                    char **error_r)
{
    memset(out, 0, sizeof(*out));
    char team_id[DB_PARAM_SIZE];
    int organiser = check_organiser(db, person_id, team_slug, team_id, out, error_r);
    if (organiser <= 0)
        return organiser;
    char *trimmed = xstrdup(text ? text : "");
    const char *body = str_trim(trimmed);
    int rc = 0;
    if (!*body) {
        out->result = ORGANISER_EMPTY;
    } else if (!text_compiles(subject, body)) {
        out->result = ORGANISER_BAD_TEXT;
    } else {
        char *segment = xasprintf("team:%s", team_slug);
        str_lower(segment);
        rc = campaign_count(db, channel, segment, &out->recipients, NULL, error_r);
        free(segment);
        if (rc == 0)
            rc = store_draft(db, person_id, team_id, channel, subject, body, out, error_r);
        if (rc == 0)
            out->result = ORGANISER_OK;
    }
    free(trimmed);
    return rc;
}

/* The sender's newest unused draft with a code. */
struct draft {
    char id[DB_PARAM_SIZE], team_id[DB_PARAM_SIZE];
    char *team_slug, *channel, *subject, *body;
    bool expired;
};

static void draft_release(struct draft *d)
{
    free(d->team_slug);
    free(d->channel);
    free(d->subject);
    free(d->body);
}

/* Columns of the draft query, in order. */
enum {
    DRAFT_ID,
    DRAFT_TEAM,
    DRAFT_TEAM_SLUG,
    DRAFT_TEAM_NAME,
    DRAFT_CHANNEL,
    DRAFT_SUBJECT,
    DRAFT_BODY,
    DRAFT_EXPIRED
};

/* The newest unused draft of this sender with this code; locked so two CONFIRMs of the
 * same code (a resent SMS) make one campaign. 1 found (the team's name set), 0 none, -1. */
static int load_draft(struct db *db, int64_t person_id, const char *code, struct draft *d,
                      struct organiser_outcome *out, char **error_r)
{
    char p[DB_PARAM_SIZE];
    const char *params[] = {db_param_int(person_id, p), code};
    PGresult *res = db_exec(db,
                            "SELECT d.id, d.team_id, t.slug, t.name, d.channel, d.subject, d.body,"
                            " d.expires_at < tocsin_now()"
                            " FROM organiser_drafts d JOIN teams t ON t.id = d.team_id"
                            " WHERE d.person_id = $1::bigint AND d.code = $2"
                            "  AND d.campaign_id IS NULL"
                            " ORDER BY d.id DESC LIMIT 1 FOR UPDATE OF d",
                            2, params, error_r);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found) {
        snprintf(d->id, sizeof(d->id), "%s", PQgetvalue(res, 0, DRAFT_ID));
        snprintf(d->team_id, sizeof(d->team_id), "%s", PQgetvalue(res, 0, DRAFT_TEAM));
        d->team_slug = xstrdup(PQgetvalue(res, 0, DRAFT_TEAM_SLUG));
        d->channel = xstrdup(PQgetvalue(res, 0, DRAFT_CHANNEL));
        d->subject = xstrdup(PQgetvalue(res, 0, DRAFT_SUBJECT));
        d->body = xstrdup(PQgetvalue(res, 0, DRAFT_BODY));
        d->expired = PQgetvalue(res, 0, DRAFT_EXPIRED)[0] == 't';
        out->team_name = xstrdup(PQgetvalue(res, 0, DRAFT_TEAM_NAME));
    }
    PQclear(res);
    return found;
}

/* The draft as a campaign scheduled for now, the draft marked used, and both logged. */
static int send_draft(struct db *db, int64_t person_id, const struct draft *d,
                      struct organiser_outcome *out, char **error_r)
{
    char *segment = xasprintf("team:%s", d->team_slug);
    char *template_text = as_template(d->subject, d->body);
    struct campaign_new c = {.channel = d->channel,
                             .segment = segment,
                             .subject = *d->subject ? d->subject : NULL,
                             .template = template_text,
                             .start_now = true,
                             .created_by = person_id,
                             .source = d->channel};
    if (!c.subject && strcmp(d->channel, "email") == 0)
        c.subject = out->team_name;
    struct campaign_summary summary;
    int rc = campaign_create(db, &c, &out->campaign_id, &summary, error_r);
    free(segment);
    free(template_text);
    if (rc < 0)
        return -1;
    out->recipients = summary.recipients;
    campaign_summary_release(&summary);
    char campaign[DB_PARAM_SIZE];
    const char *up[] = {d->id, db_param_int(out->campaign_id, campaign)};
    if (db_run(db, "UPDATE organiser_drafts SET campaign_id = $2 WHERE id = $1", 2, up, error_r) <
            0 ||
        activity(db, d->team_id, "organiser_confirmed",
                 json_pack("{s:I, s:I, s:I}", "person_id", (json_int_t)person_id, "campaign_id",
                           (json_int_t)out->campaign_id, "recipients", (json_int_t)out->recipients),
                 error_r) < 0 ||
        activity(db, d->team_id, "organiser_message",
                 json_pack("{s:I, s:s, s:I}", "person_id", (json_int_t)person_id, "text", d->body,
                           "campaign_id", (json_int_t)out->campaign_id),
                 error_r) < 0)
        return -1;
    out->result = ORGANISER_OK;
    return 0;
}

int organiser_confirm(struct db *db, int64_t person_id, const char *code,
                      struct organiser_outcome *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    struct draft d = {0};
    int rc = load_draft(db, person_id, code, &d, out, error_r);
    if (rc == 0) {
        out->result = ORGANISER_UNKNOWN_CODE;
    } else if (rc > 0 && d.expired) {
        out->result = ORGANISER_EXPIRED;
        rc = activity(db, d.team_id, "organiser_refused",
                      json_pack("{s:I, s:s, s:s}", "person_id", (json_int_t)person_id, "reason",
                                "code expired", "draft", d.id),
                      error_r);
    } else if (rc > 0) {
        rc = send_draft(db, person_id, &d, out, error_r);
    }
    draft_release(&d);
    return rc < 0 ? -1 : 0;
}
