/*
 * `tocsin campaign create|send|pause|resume|cancel|status|list|preview|tick`: the
 * organiser's commands over campaigns/campaign.h.
 */
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/template.h"
#include "outbound/campaign_render.h"
#include "outbound/gsm.h"
#include "campaigns/campaign.h"
#include "campaigns/scheduler.h"
#include "cli/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* Largest template file `campaign create` reads. */
#define TEMPLATE_MAX (1024 * 1024)

static const char *const campaign_usage =
    "tocsin campaign create --channel email|sms --segment SEGMENT --template FILE\n"
    "                              [--subject S] [--at 'YYYY-MM-DD HH:MM' [--timezone TZ]] "
    "[--urgent]\n"
    "       tocsin campaign send ID\n"
    "       tocsin campaign pause|resume|cancel ID\n"
    "       tocsin campaign status ID [--json] [--follow]\n"
    "       tocsin campaign list [--json]\n"
    "       tocsin campaign preview ID --to EMAIL|PHONE\n"
    "       tocsin campaign tick   (run the scheduler once: due campaigns, reminders, digests)\n"
    "SEGMENT: all, team:SLUG, tag:NAME, event:SLUG; ',' = union, '+' = intersection";

static int fail_db(struct db *db, const char *what, char *error)
{
    int rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_DATAERR, what, "%s", error);
    free(error);
    return rc;
}

static char *read_file(const char *path, char **error_r)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        *error_r = xasprintf("%s: cannot read", path);
        return NULL;
    }
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_add(&b, chunk, n);
        if (b.len > TEMPLATE_MAX) {
            *error_r = xasprintf("%s: larger than %d bytes", path, TEMPLATE_MAX);
            buf_release(&b);
            if (f != stdin)
                fclose(f);
            return NULL;
        }
    }
    if (f != stdin)
        fclose(f);
    if (memchr(b.data ? b.data : "", '\0', b.len)) {
        *error_r = xasprintf("%s: not a text file", path);
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

static int campaign_create_cli(struct db *db, int argc, char **argv)
{
    static const struct option opts[] = {
        {"channel", required_argument, NULL, 'c'}, {"segment", required_argument, NULL, 's'},
        {"subject", required_argument, NULL, 'S'}, {"template", required_argument, NULL, 't'},
        {"at", required_argument, NULL, 'a'},      {"timezone", required_argument, NULL, 'z'},
        {"urgent", no_argument, NULL, 'u'},        {0}};
    struct campaign_new c = {.source = "cli"};
    const char *file = NULL;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            c.channel = optarg;
            break;
        case 's':
            c.segment = optarg;
            break;
        case 'S':
            c.subject = optarg;
            break;
        case 't':
            file = optarg;
            break;
        case 'a':
            c.at = optarg;
            break;
        case 'z':
            c.timezone = optarg;
            break;
        case 'u':
            c.urgent = true;
            break;
        default:
            return cli_fail(EX_USAGE, "campaign create", "usage: %s", campaign_usage);
        }
    }
    if (optind != argc || !c.channel || !c.segment || !file)
        return cli_fail(EX_USAGE, "campaign create", "needs --channel, --segment and --template");
    if (c.timezone && !c.at)
        return cli_fail(EX_USAGE, "campaign create", "--timezone goes with --at");
    char *error = NULL;
    char *text = read_file(file, &error);
    if (!text) {
        int rc = cli_fail(EX_NOINPUT, "campaign create", "%s", error);
        free(error);
        return rc;
    }
    c.template = text;
    int64_t id = 0;
    struct campaign_summary summary;
    int rc = EX_OK;
    if (campaign_create(db, &c, &id, &summary, &error) < 0) {
        rc = fail_db(db, "campaign create", error);
        goto out;
    }
    printf("campaign: %s to %s (%s)\n", c.channel, c.segment, c.at ? "scheduled" : "draft");
    printf("recipients: %" PRId64 "\n", summary.recipients);
    if (summary.missing)
        printf("warning: unknown variables, they will render empty: %s\n", summary.missing);
    if (summary.sms_encoding)
        printf("sms: %s, %d segment%s per message, %" PRId64 " segments in total\n",
               summary.sms_encoding, summary.sms_segments, summary.sms_segments == 1 ? "" : "s",
               summary.recipients * summary.sms_segments);
    printf("%" PRId64 "\n", id);
    campaign_summary_release(&summary);
out:
    free(text);
    return rc;
}

static bool parse_id(const char *s, int64_t *id_r)
{
    long v;
    if (str_to_long(s, 1, INT64_MAX, &v) < 0)
        return false;
    *id_r = v;
    return true;
}

/* A progress bar on a terminal, nothing otherwise (logs and pipes stay clean). */
static void draw_bar(const char *label, double fraction, const char *detail)
{
    if (!isatty(STDOUT_FILENO))
        return;
    if (fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    int width = 30, full = (int)(fraction * width + 0.5);
    printf("\r%s [", label);
    for (int i = 0; i < width; i++)
        putchar(i < full ? '#' : '.');
    printf("] %3d%% %s\033[K", (int)(fraction * 100 + 0.5), detail);
    fflush(stdout);
}

static void fanout_progress(int64_t done, int64_t total, int64_t enqueued)
{
    char detail[64];
    snprintf(detail, sizeof(detail), "%" PRId64 " enqueued", enqueued);
    draw_bar("fan-out", total ? (double)done / (double)total : 1.0, detail);
}

static int campaign_send_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign send", "usage: tocsin campaign send ID");
    char *error = NULL;
    int64_t enqueued = 0;
    int64_t start = now_monotonic_ms();
    if (campaign_fanout(db, id, fanout_progress, &enqueued, &error) < 0) {
        if (isatty(STDOUT_FILENO))
            putchar('\n');
        return fail_db(db, "campaign send", error);
    }
    if (isatty(STDOUT_FILENO))
        putchar('\n');
    printf("campaign %" PRId64 ": %" PRId64 " enqueued in %.1f s\n", id, enqueued,
           (double)(now_monotonic_ms() - start) / 1000.0);
    return EX_OK;
}

/*
 * One state change of a campaign and of its queued rows, in one transaction:
 * `campaign_sql` returns the id only when the campaign was in a state that allows the
 * change, then `rows_sql` acts on its queued messages and `done` (a printf format taking
 * the id and the row count) says what happened.
 */
struct transition {
    const char *what;         /* "campaign pause" */
    const char *campaign_sql; /* $1 = id */
    const char *rows_sql;     /* $1 = id */
    const char *refused;      /* printf format taking the id */
    const char *done;         /* printf format taking the id and the row count */
};

static int campaign_transition(struct db *db, int argc, char **argv, const struct transition *t)
{
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, t->what, "usage: tocsin %s ID", t->what);
    const char *params[] = {argv[1]};
    char *error = NULL;
    if (db_begin(db, &error) < 0)
        return fail_db(db, t->what, error);
    PGresult *res = db_exec(db, t->campaign_sql, 1, params, &error);
    if (!res)
        goto fail;
    bool changed = PQntuples(res) == 1;
    PQclear(res);
    if (!changed) {
        db_rollback(db);
        return cli_fail(EX_DATAERR, t->what, t->refused, argv[1]);
    }
    res = db_exec(db, t->rows_sql, 1, params, &error);
    if (!res)
        goto fail;
    char *rows = xstrdup(PQcmdTuples(res));
    PQclear(res);
    if (db_commit(db, &error) < 0) {
        free(rows);
        goto fail;
    }
    printf(t->done, argv[1], rows);
    free(rows);
    return EX_OK;
fail:
    db_rollback(db);
    return fail_db(db, t->what, error);
}

static int campaign_pause_cli(struct db *db, int argc, char **argv)
{
    /* Held rows stay queued with no due time; the workers' claim never reaches them. */
    static const struct transition pause = {
        "campaign pause",
        "UPDATE campaigns SET status = 'paused' WHERE id = $1"
        " AND status IN ('draft', 'scheduled', 'sending') RETURNING id",
        "UPDATE outbound_messages SET next_attempt_at = 'infinity'"
        " WHERE campaign_id = $1 AND status = 'queued'",
        "campaign %s is not draft, scheduled or sending",
        "campaign %s paused: %s messages held\n",
    };
    return campaign_transition(db, argc, argv, &pause);
}

static int campaign_resume_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign resume", "usage: tocsin campaign resume ID");
    char *error = NULL;
    if (db_begin(db, &error) < 0)
        return fail_db(db, "campaign resume", error);
    const char *params[] = {argv[1]};
    /* Back to what it was: scheduled if its time has not come and it never started. */
    PGresult *res = db_exec(
        db,
        "UPDATE campaigns SET status = CASE WHEN started_at IS NULL AND scheduled_at IS NOT NULL"
        "  THEN 'scheduled' WHEN started_at IS NULL THEN 'draft' ELSE 'sending' END"
        " WHERE id = $1 AND status = 'paused' RETURNING status, urgent, fanout_done",
        1, params, &error);
    if (!res)
        goto fail;
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback(db);
        return cli_fail(EX_DATAERR, "campaign resume", "campaign %s is not paused", argv[1]);
    }
    char *status = xstrdup(PQgetvalue(res, 0, 0));
    bool urgent = PQgetvalue(res, 0, 1)[0] == 't';
    bool done = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    const char *rp[] = {argv[1], urgent ? "off" : campaign_quiet_hours()};
    res = db_exec(db,
                  "UPDATE outbound_messages o SET next_attempt_at ="
                  " quiet_release(tocsin_now(), p.timezone, $2)"
                  " FROM people p WHERE p.id = o.person_id AND o.campaign_id = $1"
                  " AND o.status = 'queued'",
                  2, rp, &error);
    if (!res) {
        free(status);
        goto fail;
    }
    printf("campaign %s resumed (%s): %s messages released\n", argv[1], status, PQcmdTuples(res));
    PQclear(res);
    if (db_commit(db, &error) < 0) {
        free(status);
        goto fail;
    }
    int rc = EX_OK;
    if (strcmp(status, "sending") == 0 && !done) {
        /* The fan-out stopped half-way when it was paused: finish it now. */
        int64_t enqueued = 0;
        if (campaign_fanout(db, id, fanout_progress, &enqueued, &error) < 0)
            rc = fail_db(db, "campaign resume", error);
        else
            printf("%s%" PRId64 " more enqueued\n", isatty(STDOUT_FILENO) ? "\n" : "", enqueued);
    }
    free(status);
    return rc;
fail:
    db_rollback(db);
    return fail_db(db, "campaign resume", error);
}

static int campaign_cancel_cli(struct db *db, int argc, char **argv)
{
    static const struct transition cancel = {
        "campaign cancel",
        "UPDATE campaigns SET status = 'cancelled', finished_at = tocsin_now()"
        " WHERE id = $1 AND status IN ('draft', 'scheduled', 'sending', 'paused')"
        " RETURNING id",
        "UPDATE outbound_messages SET status = 'cancelled', last_error = 'campaign cancelled'"
        " WHERE campaign_id = $1 AND status = 'queued'",
        "campaign %s is already sent or cancelled",
        "campaign %s cancelled: %s queued messages withdrawn\n",
    };
    return campaign_transition(db, argc, argv, &cancel);
}

/* Columns of the status query, in order (printed as they come; some also read here). */
enum {
    STATUS_ID,
    STATUS_STATE,
    STATUS_CHANNEL,
    STATUS_SEGMENT,
    STATUS_RECIPIENTS,
    STATUS_FANOUT_DONE,
    STATUS_SCHEDULED,
    STATUS_ENQUEUED,
    STATUS_QUEUED,
    STATUS_HELD,
    STATUS_SENDING,
    STATUS_SENT,
    STATUS_FAILED,
    STATUS_SUPPRESSED,
    STATUS_CANCELLED,
    STATUS_RATE,
    STATUS_ETA
};

static int campaign_status_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    bool follow = cli_take_flag(&argc, argv, "--follow");
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign status",
                        "usage: tocsin campaign status ID [--json] [--follow]");
    const char *params[] = {argv[1]};
    for (;;) {
        char *error = NULL;
        /* Rate: messages sent in the last minute; ETA: what is left at that rate. */
        PGresult *res = db_exec(
            db,
            "SELECT c.id, c.status, c.channel, c.segment, c.recipients, c.fanout_done,"
            " to_char(c.scheduled_at AT TIME ZONE coalesce(c.timezone, 'UTC'),"
            "  'YYYY-MM-DD HH24:MI') AS scheduled,"
            " count(o.id) AS enqueued,"
            " count(o.id) FILTER (WHERE o.status = 'queued') AS queued,"
            " count(o.id) FILTER (WHERE o.status = 'queued' AND o.next_attempt_at > now()) AS held,"
            " count(o.id) FILTER (WHERE o.status = 'sending') AS sending,"
            " count(o.id) FILTER (WHERE o.status IN ('sent', 'delivered')) AS sent,"
            " count(o.id) FILTER (WHERE o.status IN ('failed', 'bounced')) AS failed,"
            " count(o.id) FILTER (WHERE o.status = 'suppressed') AS suppressed,"
            " count(o.id) FILTER (WHERE o.status = 'cancelled') AS cancelled,"
            " round(count(o.id) FILTER (WHERE o.sent_at > now() - interval '1 minute') / 60.0, 1)"
            "  AS rate_per_s,"
            " CASE WHEN count(o.id) FILTER (WHERE o.sent_at > now() - interval '1 minute') > 0"
            "  THEN round(count(o.id) FILTER (WHERE o.status IN ('queued', 'sending')) * 60.0"
            "   / count(o.id) FILTER (WHERE o.sent_at > now() - interval '1 minute'))::bigint"
            "  END AS eta_s"
            " FROM campaigns c LEFT JOIN outbound_messages o ON o.campaign_id = c.id"
            " WHERE c.id = $1 GROUP BY c.id",
            1, params, &error);
        if (!res)
            return fail_db(db, "campaign status", error);
        if (PQntuples(res) == 0) {
            PQclear(res);
            return cli_fail(EX_DATAERR, "campaign status", "no campaign %s", argv[1]);
        }
        long enqueued = atol(PQgetvalue(res, 0, STATUS_ENQUEUED)),
             queued = atol(PQgetvalue(res, 0, STATUS_QUEUED)),
             sending = atol(PQgetvalue(res, 0, STATUS_SENDING));
        /* Following ends when nothing is left to send now: held messages (quiet hours, a
         * pause) may wait for hours, and are shown as held. */
        bool busy = queued - atol(PQgetvalue(res, 0, STATUS_HELD)) + sending > 0 ||
                    (strcmp(PQgetvalue(res, 0, STATUS_STATE), "sending") == 0 &&
                     PQgetvalue(res, 0, STATUS_FANOUT_DONE)[0] != 't');
        if (follow && isatty(STDOUT_FILENO) && !json) {
            char detail[160];
            snprintf(detail, sizeof(detail), "%ld/%ld done, %s/s, ETA %ss",
                     enqueued - queued - sending, enqueued, PQgetvalue(res, 0, STATUS_RATE),
                     *PQgetvalue(res, 0, STATUS_ETA) ? PQgetvalue(res, 0, STATUS_ETA) : "?");
            draw_bar(PQgetvalue(res, 0, STATUS_STATE),
                     enqueued ? (double)(enqueued - queued - sending) / (double)enqueued : 0,
                     detail);
        } else if (json) {
            cli_print_result(res, true);
        } else {
            for (int f = 0; f < PQnfields(res); f++)
                printf("%-12s %s\n", PQfname(res, f), PQgetvalue(res, 0, f));
        }
        PQclear(res);
        if (!follow || !busy)
            break;
        if (!isatty(STDOUT_FILENO) || json)
            putchar('\n');
        sleep(1);
    }
    if (follow && isatty(STDOUT_FILENO) && !json)
        putchar('\n');
    return EX_OK;
}

static int campaign_list_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 1)
        return cli_fail(EX_USAGE, "campaign list", "usage: tocsin campaign list [--json]");
    return cli_query_print(
        db,
        "SELECT c.id, c.status, c.channel, c.segment, c.subject, c.recipients, c.urgent,"
        " to_char(c.scheduled_at AT TIME ZONE coalesce(c.timezone, 'UTC'), 'YYYY-MM-DD HH24:MI')"
        "  AS scheduled, c.source,"
        " (SELECT count(*) FROM outbound_messages o WHERE o.campaign_id = c.id) AS enqueued"
        " FROM campaigns c ORDER BY c.id",
        0, NULL, json, "campaign list");
}

static int campaign_preview_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 4 || strcmp(argv[2], "--to") != 0 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign preview",
                        "usage: tocsin campaign preview ID --to EMAIL|PHONE");
    const char *params[] = {argv[1], argv[3]};
    char *error = NULL;
    PGresult *res =
        db_exec(db,
                "SELECT ct.person_id, ct.id, coalesce(c.team_id, 0), c.channel FROM campaigns c,"
                " contacts ct WHERE c.id = $1 AND ct.address = lower($2)",
                2, params, &error);
    if (!res)
        return fail_db(db, "campaign preview", error);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return cli_fail(EX_DATAERR, "campaign preview", "no campaign %s or no contact %s", argv[1],
                        argv[3]);
    }
    int64_t person = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    int64_t contact = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    int64_t scope = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    bool sms = strcmp(PQgetvalue(res, 0, 3), "sms") == 0;
    PQclear(res);
    struct rendered_message m;
    if (campaign_render_for(db, id, person, contact, scope, &m, &error) < 0)
        return fail_db(db, "campaign preview", error);
    if (sms) {
        printf("%s\n", m.sms);
    } else {
        printf("Subject: %s\n\n%s\n", m.subject, m.text);
        if (m.html)
            printf("\n--- html\n%s\n", m.html);
    }
    template_message_release(&m);
    return EX_OK;
}

static int campaign_tick_cli(struct db *db, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return cli_fail(EX_USAGE, "campaign tick", "usage: tocsin campaign tick");
    char *error = NULL;
    struct scheduler_report report;
    if (scheduler_tick(db, &report, &error) < 0)
        return fail_db(db, "campaign tick", error);
    printf("campaigns %d, reminders %d, digests %d, finished %d\n", report.campaigns,
           report.reminders, report.digests, report.finished);
    return EX_OK;
}

int cli_campaign(int argc, char **argv)
{
    static const struct cli_sub subs[] = {
        {"create", campaign_create_cli}, {"send", campaign_send_cli},
        {"pause", campaign_pause_cli},   {"resume", campaign_resume_cli},
        {"cancel", campaign_cancel_cli}, {"status", campaign_status_cli},
        {"list", campaign_list_cli},     {"preview", campaign_preview_cli},
        {"tick", campaign_tick_cli},     {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, campaign_usage);
}
