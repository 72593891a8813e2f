#include "campaigns/organiser.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"
#include "outbound/gsm.h"
#include "campaigns/campaign.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* How long a code stays valid: long enough to find the phone again, short enough that an
 * old code seen over a shoulder is worthless. */
#define DRAFT_TTL "15 minutes"

static const char *id_text(int64_t id, char slot[24])
{
    snprintf(slot, 24, "%" PRId64, id);
    return slot;
}

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

int organiser_draft(struct db *db, int64_t person_id, const char *team_slug, const char *channel,
                    const char *subject, const char *text, struct organiser_outcome *out,
                    char **error_r)
{
    memset(out, 0, sizeof(*out));
    char p[24];
    const char *params[] = {id_text(person_id, p), team_slug};
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
    char team_id[24];
    snprintf(team_id, sizeof(team_id), "%s", PQgetvalue(res, 0, 0));
    out->team_name = xstrdup(PQgetvalue(res, 0, 1));
    bool organiser = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (!organiser) {
        out->result = ORGANISER_NOT_ORGANISER;
        return activity(db, team_id, "organiser_refused",
                        json_pack("{s:I, s:s}", "person_id", (json_int_t)person_id, "reason",
                                  "not an organiser"),
                        error_r);
    }
    char *trimmed = xstrdup(text ? text : "");
    const char *body = str_trim(trimmed);
    int rc = -1;
    if (!*body) {
        out->result = ORGANISER_EMPTY;
        rc = 0;
        goto out;
    }
    char *source = as_template(subject, body);
    char *compile_error = NULL;
    struct message_template *m = template_message_compile(source, "message", &compile_error);
    free(source);
    if (!m) {
        free(compile_error);
        out->result = ORGANISER_BAD_TEXT;
        rc = 0;
        goto out;
    }
    template_message_free(&m);
    if (strcmp(channel, "sms") == 0)
        out->lacks_stop = sms_lacks_stop(body, config_str("engine", "default_locale"));
    char *segment = xasprintf("team:%s", team_slug);
    str_lower(segment);
    int count_rc = campaign_count(db, channel, segment, &out->recipients, NULL, error_r);
    free(segment);
    if (count_rc < 0)
        goto out;
    uint32_t random = 0;
    if (getrandom(&random, sizeof(random), 0) != sizeof(random)) {
        *error_r = xstrdup("no randomness for the confirmation code");
        goto out;
    }
    snprintf(out->code, sizeof(out->code), "%06u", (unsigned)(random % 1000000));
    char recipients[24];
    const char *ins[] = {out->code,
                         p,
                         team_id,
                         channel,
                         subject ? subject : "",
                         body,
                         id_text(out->recipients, recipients)};
    res = db_exec(db,
                  "INSERT INTO organiser_drafts (code, person_id, team_id, channel, subject, body,"
                  " recipients, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                  " tocsin_now() + interval '" DRAFT_TTL "') RETURNING id",
                  7, ins, error_r);
    if (!res)
        goto out;
    json_int_t draft = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (activity(db, team_id, "organiser_draft",
                 json_pack("{s:I, s:I, s:s, s:I}", "person_id", (json_int_t)person_id, "draft",
                           draft, "channel", channel, "recipients", (json_int_t)out->recipients),
                 error_r) < 0)
        goto out;
    out->result = ORGANISER_OK;
    rc = 0;
out:
    free(trimmed);
    return rc;
}

int organiser_confirm(struct db *db, int64_t person_id, const char *code,
                      struct organiser_outcome *out, char **error_r)
{
    memset(out, 0, sizeof(*out));
    char p[24];
    const char *params[] = {id_text(person_id, p), code};
    /* The newest unused draft of this sender with this code; locked so two CONFIRMs of the
     * same code (a resent SMS) make one campaign. */
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
    if (PQntuples(res) == 0) {
        PQclear(res);
        out->result = ORGANISER_UNKNOWN_CODE;
        return 0;
    }
    char draft[24], team_id[24];
    snprintf(draft, sizeof(draft), "%s", PQgetvalue(res, 0, 0));
    snprintf(team_id, sizeof(team_id), "%s", PQgetvalue(res, 0, 1));
    out->team_name = xstrdup(PQgetvalue(res, 0, 3));
    if (PQgetvalue(res, 0, 7)[0] == 't') {
        PQclear(res);
        out->result = ORGANISER_EXPIRED;
        return activity(db, team_id, "organiser_refused",
                        json_pack("{s:I, s:s, s:s}", "person_id", (json_int_t)person_id, "reason",
                                  "code expired", "draft", draft),
                        error_r);
    }
    char *segment = xasprintf("team:%s", PQgetvalue(res, 0, 2));
    char *template_text = as_template(PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6));
    char *text = xstrdup(PQgetvalue(res, 0, 6));
    char *channel = xstrdup(PQgetvalue(res, 0, 4));
    char *subject = xstrdup(PQgetvalue(res, 0, 5));
    PQclear(res);
    struct campaign_new c = {.channel = channel,
                             .segment = segment,
                             .subject = *subject ? subject : NULL,
                             .template = template_text,
                             .start_now = true,
                             .created_by = person_id,
                             .source = channel};
    if (!c.subject && strcmp(channel, "email") == 0)
        c.subject = out->team_name;
    struct campaign_summary summary;
    int rc = -1;
    if (campaign_create(db, &c, &out->campaign_id, &summary, error_r) < 0)
        goto out;
    out->recipients = summary.recipients;
    campaign_summary_release(&summary);
    char campaign[24];
    const char *up[] = {draft, id_text(out->campaign_id, campaign)};
    if (db_run(db, "UPDATE organiser_drafts SET campaign_id = $2 WHERE id = $1", 2, up, error_r) <
        0)
        goto out;
    if (activity(db, team_id, "organiser_confirmed",
                 json_pack("{s:I, s:I, s:I}", "person_id", (json_int_t)person_id, "campaign_id",
                           (json_int_t)out->campaign_id, "recipients", (json_int_t)out->recipients),
                 error_r) < 0 ||
        activity(db, team_id, "organiser_message",
                 json_pack("{s:I, s:s, s:I}", "person_id", (json_int_t)person_id, "text", text,
                           "campaign_id", (json_int_t)out->campaign_id),
                 error_r) < 0)
        goto out;
    out->result = ORGANISER_OK;
    rc = 0;
out:
    free(segment);
    free(template_text);
    free(text);
    free(channel);
    free(subject);
    return rc;
}
