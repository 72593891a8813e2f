/*
 * `tocsin campaign create|send|pause|resume|cancel|retry|status|list|preview|tick`: the
 * operator's commands over campaigns/campaign.h (the organisers' API calls the same).
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
    "                              [--title T] [--subject S] [--at 'YYYY-MM-DD HH:MM' "
    "[--timezone TZ]] [--urgent]\n"
    "                              [--event SLUG]   (an invitation: a bare OUI answers it)\n"
    "       tocsin campaign send ID [--now]   (--now: through quiet hours)\n"
    "       tocsin campaign pause|resume|cancel ID\n"
    "       tocsin campaign retry ID [--error TEXT]\n"
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

/* The options of `campaign create` into *c and *file_r; 0, or an exit code after saying
 * what is wrong. */
static int create_options(int argc, char **argv, struct campaign_new *c, const char **file_r)
{
    static const struct option opts[] = {
        {"channel", required_argument, NULL, 'c'}, {"segment", required_argument, NULL, 's'},
        {"subject", required_argument, NULL, 'S'}, {"template", required_argument, NULL, 't'},
        {"at", required_argument, NULL, 'a'},      {"timezone", required_argument, NULL, 'z'},
        {"urgent", no_argument, NULL, 'u'},        {"title", required_argument, NULL, 'T'},
        {"event", required_argument, NULL, 'e'},   {0}};
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char **slot = opt == 'c'   ? &c->channel
                            : opt == 's' ? &c->segment
                            : opt == 'S' ? &c->subject
                            : opt == 't' ? file_r
                            : opt == 'a' ? &c->at
                            : opt == 'z' ? &c->timezone
                            : opt == 'T' ? &c->title
                            : opt == 'e' ? &c->event
                                         : NULL;
        if (opt == 'u')
            c->urgent = true;
        else if (slot)
            *slot = optarg;
        else
            return cli_fail(EX_USAGE, "campaign create", "usage: %s", campaign_usage);
    }
    if (optind != argc || !c->channel || !c->segment || !*file_r)
        return cli_fail(EX_USAGE, "campaign create", "needs --channel, --segment and --template");
    if (c->timezone && !c->at)
        return cli_fail(EX_USAGE, "campaign create", "--timezone goes with --at");
    return EX_OK;
}

/* What the organiser should know before sending; the id is the last line, for scripts. */
static void print_created(const struct campaign_new *c, const struct campaign_summary *summary,
                          int64_t id)
{
    printf("campaign: %s to %s (%s)%s%s\n", c->channel, c->segment, c->at ? "scheduled" : "draft",
           c->event ? ", an invitation to " : "", c->event ? c->event : "");
    printf("recipients: %" PRId64 "\n", summary->recipients);
    if (summary->missing)
        printf("warning: unknown variables, they will render empty: %s\n", summary->missing);
    if (summary->sms_encoding)
        printf("sms: %s, %d segment%s per message, %" PRId64 " segments in total\n",
               summary->sms_encoding, summary->sms_segments, summary->sms_segments == 1 ? "" : "s",
               summary->recipients * summary->sms_segments);
    if (summary->lacks_stop)
        printf("warning: this text does not say how to opt out: no [sms] stop_mention applies "
               "and it does not mention STOP (carriers and the CNIL expect one)\n");
    printf("%" PRId64 "\n", id);
}

static int campaign_create_cli(struct db *db, int argc, char **argv)
{
    struct campaign_new c = {.source = "cli"};
    const char *file = NULL;
    int rc = create_options(argc, argv, &c, &file);
    if (rc != EX_OK)
        return rc;
    char *error = NULL;
    char *text = read_file(file, &error);
    if (!text) {
        rc = cli_fail(EX_NOINPUT, "campaign create", "%s", error);
        free(error);
        return rc;
    }
    c.template = text;
    int64_t id = 0;
    struct campaign_summary summary;
    static const struct actor operator= {0, "cli"};
    if (campaign_create(db, &c, &id, &summary, &error) < 0) {
        rc = fail_db(db, "campaign create", error);
    } else if (campaign_record(db, &operator, id, "campaign_created", &error) < 0) {
        campaign_summary_release(&summary);
        rc = fail_db(db, "campaign create", error);
    } else {
        print_created(&c, &summary, id);
        campaign_summary_release(&summary);
    }
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

/* Say what a change did, in the words `tocsin campaign` always used. */
static int change_result(struct db *db, const char *what, int rc, enum campaign_change change,
                         char *error, const char *id, const char *refused)
{
    if (rc < 0)
        return fail_db(db, what, error);
    if (change != CAMPAIGN_CHANGED)
        return cli_fail(EX_DATAERR, what, refused, id);
    return EX_OK;
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
    STATUS_ETA,
    STATUS_HELD_UNTIL,
    STATUS_NEXT_RETRY,
    STATUS_TIMEZONE,
    STATUS_ERRORS
};

/* Quiet hours hold messages until morning: say how many, until when, and how not to wait.
 * Returns an exit code (a database error is one). */
static int say_held(struct db *db, int64_t id, const char *what)
{
    int64_t held = 0;
    char *until = NULL, *error = NULL;
    PGresult *res = campaign_status(db, id, &error);
    if (!res)
        return fail_db(db, what, error);
    char *tz = PQntuples(res) ? xstrdup(PQgetvalue(res, 0, STATUS_TIMEZONE)) : xstrdup("UTC");
    PQclear(res);
    int rc = campaign_held(db, id, tz, &held, &until, &error);
    if (rc < 0) {
        free(tz);
        return fail_db(db, what, error);
    }
    if (held > 0)
        printf("%" PRId64 " message%s held by quiet hours until %s (%s); "
               "`tocsin campaign send %" PRId64 " --now` sends %s now\n",
               held, held == 1 ? "" : "s", until, tz, id, held == 1 ? "it" : "them");
    free(until);
    free(tz);
    return EX_OK;
}

static int campaign_send_cli(struct db *db, int argc, char **argv)
{
    bool now = cli_take_flag(&argc, argv, "--now");
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign send", "usage: tocsin campaign send ID [--now]");
    char *error = NULL;
    int64_t enqueued = 0, released = 0;
    static const struct actor operator= {0, "cli"};
    if (now) {
        /* Through quiet hours: what is held goes now, and the fan-out holds nothing. */
        enum campaign_change change = CAMPAIGN_NOT_FOUND;
        int rc = campaign_release_held(db, &operator, id, &change, &released, &error);
        rc = change_result(db, "campaign send", rc, change, error, argv[1],
                           "campaign %s is paused or cancelled");
        if (rc != EX_OK)
            return rc;
    }
    int64_t start = now_monotonic_ms();
    if (campaign_fanout(db, id, fanout_progress, &enqueued, &error) < 0) {
        if (isatty(STDOUT_FILENO))
            putchar('\n');
        return fail_db(db, "campaign send", error);
    }
    if (isatty(STDOUT_FILENO))
        putchar('\n');
    if (campaign_record(db, &operator, id, "campaign_sent", &error) < 0)
        return fail_db(db, "campaign send", error);
    printf("campaign %" PRId64 ": %" PRId64 " enqueued in %.1f s\n", id, enqueued,
           (double)(now_monotonic_ms() - start) / 1000.0);
    if (now)
        printf("%" PRId64 " held message%s released: quiet hours do not apply to it any more\n",
               released, released == 1 ? "" : "s");
    return say_held(db, id, "campaign send");
}

static int campaign_pause_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign pause", "usage: tocsin campaign pause ID");
    struct actor operator= {0, "cli"};
    enum campaign_change change = CAMPAIGN_NOT_FOUND;
    int64_t rows = 0;
    char *error = NULL;
    int rc = campaign_pause(db, &operator, id, &change, &rows, &error);
    rc = change_result(db, "campaign pause", rc, change, error, argv[1],
                       "campaign %s is not draft, scheduled or sending");
    if (rc == EX_OK)
        printf("campaign %s paused: %" PRId64 " messages held\n", argv[1], rows);
    return rc;
}

static int campaign_resume_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign resume", "usage: tocsin campaign resume ID");
    struct actor operator= {0, "cli"};
    enum campaign_change change = CAMPAIGN_NOT_FOUND;
    int64_t rows = 0;
    char *error = NULL, *status = NULL;
    bool pending = false;
    int rc = campaign_resume(db, &operator, id, &change, &rows, &status, &pending, &error);
    rc = change_result(db, "campaign resume", rc, change, error, argv[1],
                       "campaign %s is not paused");
    if (rc != EX_OK)
        return rc;
    printf("campaign %s resumed (%s): %" PRId64 " messages released\n", argv[1], status, rows);
    free(status);
    if (pending) {
        /* The fan-out stopped half-way when it was paused: finish it now. */
        int64_t enqueued = 0;
        if (campaign_fanout(db, id, fanout_progress, &enqueued, &error) < 0)
            return fail_db(db, "campaign resume", error);
        printf("%s%" PRId64 " more enqueued\n", isatty(STDOUT_FILENO) ? "\n" : "", enqueued);
    }
    return say_held(db, id, "campaign resume");
}

static int campaign_cancel_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign cancel", "usage: tocsin campaign cancel ID");
    struct actor operator= {0, "cli"};
    enum campaign_change change = CAMPAIGN_NOT_FOUND;
    int64_t rows = 0;
    char *error = NULL;
    int rc = campaign_cancel(db, &operator, id, &change, &rows, &error);
    rc = change_result(db, "campaign cancel", rc, change, error, argv[1],
                       "campaign %s is already sent or cancelled");
    if (rc == EX_OK)
        printf("campaign %s cancelled: %" PRId64 " queued messages withdrawn\n", argv[1], rows);
    return rc;
}

static int campaign_retry_cli(struct db *db, int argc, char **argv)
{
    const char *error_like = cli_take_option(&argc, argv, "--error");
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign retry",
                        "usage: tocsin campaign retry ID [--error TEXT]");
    struct actor operator= {0, "cli"};
    enum campaign_change change = CAMPAIGN_NOT_FOUND;
    int64_t rows = 0;
    char *error = NULL;
    int rc = campaign_retry(db, &operator, id, error_like, &change, &rows, &error);
    rc = change_result(db, "campaign retry", rc, change, error, argv[1],
                       "campaign %s is not sending or sent");
    if (rc == EX_OK)
        printf("campaign %s: %" PRId64 " failed message%s%s%s%s queued again\n", argv[1], rows,
               rows == 1 ? "" : "s", error_like ? " whose error says \"" : "",
               error_like ? error_like : "", error_like ? "\"" : "");
    return rc;
}

/* The status as a readable page: one "name value" line per figure, then the held messages
 * and how to send them now, then the most frequent errors with their next attempt. */
static void print_status(const PGresult *res, int64_t id)
{
    for (int f = 0; f < PQnfields(res); f++)
        if (f != STATUS_ERRORS && f != STATUS_TIMEZONE)
            printf("%-12s %s\n", PQfname(res, f), PQgetvalue(res, 0, f));
    const char *tz = PQgetvalue(res, 0, STATUS_TIMEZONE);
    if (*PQgetvalue(res, 0, STATUS_HELD_UNTIL))
        printf("quiet hours hold messages until %s (%s): `tocsin campaign send %" PRId64
               " --now` sends them now\n",
               PQgetvalue(res, 0, STATUS_HELD_UNTIL), tz, id);
    json_t *errors = json_loads(PQgetvalue(res, 0, STATUS_ERRORS), 0, NULL);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *next = json_string_value(json_object_get(e, "next_attempt"));
        long long count = json_integer_value(json_object_get(e, "count"));
        long long failed = json_integer_value(json_object_get(e, "failed"));
        printf("error %lldx: %s (%lld failed%s%s%s%s)\n", count,
               json_string_value(json_object_get(e, "error")), failed,
               next ? ", next attempt " : "", next ? next : "", next ? " " : "", next ? tz : "");
    }
    if (json_array_size(errors))
        printf("`tocsin campaign retry %" PRId64 " [--error TEXT]` queues failed messages again\n",
               id);
    json_decref(errors);
}

static int campaign_status_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    bool follow = cli_take_flag(&argc, argv, "--follow");
    int64_t id;
    if (argc != 2 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign status",
                        "usage: tocsin campaign status ID [--json] [--follow]");
    for (;;) {
        char *error = NULL;
        PGresult *res = campaign_status(db, id, &error);
        if (!res)
            return fail_db(db, "campaign status", error);
        if (PQntuples(res) == 0) {
            PQclear(res);
            return cli_fail(EX_DATAERR, "campaign status", "no campaign %s", argv[1]);
        }
        long enqueued = atol(PQgetvalue(res, 0, STATUS_ENQUEUED)),
             queued = atol(PQgetvalue(res, 0, STATUS_QUEUED)),
             sending = atol(PQgetvalue(res, 0, STATUS_SENDING));
        const char *state = PQgetvalue(res, 0, STATUS_STATE);
        /* Following goes on while anything is to be sent, held until morning included;
         * a paused campaign sends nothing until resumed, so following it ends. */
        bool busy = strcmp(state, "paused") != 0 &&
                    (queued + sending > 0 || (strcmp(state, "sending") == 0 &&
                                              PQgetvalue(res, 0, STATUS_FANOUT_DONE)[0] != 't'));
        if (follow && isatty(STDOUT_FILENO) && !json) {
            char detail[200];
            const char *until = PQgetvalue(res, 0, STATUS_HELD_UNTIL);
            snprintf(detail, sizeof(detail), "%ld/%ld done, %s/s, ETA %ss%s%s",
                     enqueued - queued - sending, enqueued, PQgetvalue(res, 0, STATUS_RATE),
                     *PQgetvalue(res, 0, STATUS_ETA) ? PQgetvalue(res, 0, STATUS_ETA) : "?",
                     *until ? ", held until " : "", until);
            draw_bar(state, enqueued ? (double)(enqueued - queued - sending) / (double)enqueued : 0,
                     detail);
        } else if (json) {
            cli_print_result(res, true);
        } else {
            print_status(res, id);
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

/* The table reads like a sentence (local times with their zone, yes/no); --json keeps
 * the types (timestamps, booleans) for programs. */
static const char list_table_sql[] =
    "SELECT c.id, c.title, c.subject, c.channel, c.segment, c.status,"
    " coalesce(to_char(c.scheduled_at AT TIME ZONE coalesce(c.timezone, $1),"
    "  'YYYY-MM-DD HH24:MI ') || coalesce(c.timezone, $1), '-') AS scheduled,"
    " to_char(c.created_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI ') || $1 AS created,"
    " CASE WHEN c.urgent THEN 'yes' ELSE 'no' END AS urgent, c.recipients,"
    " (SELECT coalesce(sum(t.messages), 0)::bigint FROM outbound_totals t"
    "   WHERE t.campaign_id = c.id) AS enqueued"
    " FROM campaigns c ORDER BY c.id";
static const char list_json_sql[] =
    "SELECT c.id, c.title, c.subject, c.channel, c.segment, c.status, c.scheduled_at,"
    " coalesce(c.timezone, $1) AS timezone, c.created_at, c.urgent, c.recipients, c.source,"
    " (SELECT coalesce(sum(t.messages), 0)::bigint FROM outbound_totals t"
    "   WHERE t.campaign_id = c.id) AS enqueued"
    " FROM campaigns c ORDER BY c.id";

static int campaign_list_cli(struct db *db, int argc, char **argv)
{
    bool json = cli_take_flag(&argc, argv, "--json");
    if (argc != 1)
        return cli_fail(EX_USAGE, "campaign list", "usage: tocsin campaign list [--json]");
    const char *params[] = {config_str("engine", "default_timezone")};
    return cli_query_print(db, json ? list_json_sql : list_table_sql, 1, params, json,
                           "campaign list");
}

static int campaign_preview_cli(struct db *db, int argc, char **argv)
{
    int64_t id;
    if (argc != 4 || strcmp(argv[2], "--to") != 0 || !parse_id(argv[1], &id))
        return cli_fail(EX_USAGE, "campaign preview",
                        "usage: tocsin campaign preview ID --to EMAIL|PHONE");
    const char *kind = NULL;
    char *to = cli_contact("campaign preview", "--to", argv[3], &kind);
    if (!to)
        return EX_DATAERR;
    const char *params[] = {argv[1], to, kind};
    char *error = NULL;
    PGresult *res = db_exec(db,
                            "SELECT ct.person_id, ct.id, coalesce(c.team_id, 0), c.channel"
                            " FROM campaigns c LEFT JOIN contacts ct ON ct.kind = $3"
                            " AND ct.address = $2 WHERE c.id = $1",
                            3, params, &error);
    if (!res) {
        free(to);
        return fail_db(db, "campaign preview", error);
    }
    if (PQntuples(res) != 1 || !db_value(res, 0, 0)) {
        int rc = PQntuples(res) != 1
                     ? cli_fail(EX_DATAERR, "campaign preview", "no campaign %s", argv[1])
                     : cli_fail(EX_DATAERR, "campaign preview", "--to %s: no such contact", to);
        PQclear(res);
        free(to);
        return rc;
    }
    free(to);
    int64_t person = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    int64_t contact = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    int64_t scope = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    bool sms = strcmp(PQgetvalue(res, 0, 3), "sms") == 0;
    PQclear(res);
    struct rendered_message m;
    if (campaign_render_for(db, id, person, contact, scope, &m, &error) < 0)
        return fail_db(db, "campaign preview", error);
    if (sms) {
        /* As the gateway gets it: a configured STOP mention, transliteration. */
        char *text = sms_compose(m.sms, "campaign");
        printf("%s\n", text);
        free(text);
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
    static const struct cli_sub subs[] = {{"create", campaign_create_cli},
                                          {"send", campaign_send_cli},
                                          {"pause", campaign_pause_cli},
                                          {"resume", campaign_resume_cli},
                                          {"cancel", campaign_cancel_cli},
                                          {"status", campaign_status_cli},
                                          {"list", campaign_list_cli},
                                          {"preview", campaign_preview_cli},
                                          {"retry", campaign_retry_cli},
                                          {"tick", campaign_tick_cli},
                                          {NULL, NULL}};
    return cli_dispatch(argc, argv, subs, campaign_usage);
}
