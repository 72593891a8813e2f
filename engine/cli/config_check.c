#include "cli/config_check.h"
#include "lib/buf.h"
#include "lib/db.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/migrate.h"
#include "outbound/gsm.h"
#include "outbound/mail.h"
#include "outbound/transport.h"
#include "campaigns/campaign.h"
#include "campaigns/scheduler.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

struct report {
    FILE *out;
    int errors;
};

static bool is_secret(const char *section, const char *key)
{
    for (int i = 0; config_keys[i].section; i++)
        if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].key, key) == 0)
            return config_keys[i].type == CONFIG_SECRET;
    return false;
}

/* "ORIGIN: [section] key = value: reason"; a secret's value is never printed. */
static void problem(struct report *r, bool warning, const char *section, const char *key,
                    const char *reason)
{
    fprintf(r->out, "%s%s: [%s] %s", warning ? "warning: " : "", config_origin(section, key),
            section, key);
    if (!is_secret(section, key))
        fprintf(r->out, " = %s", config_str(section, key));
    fprintf(r->out, ": %s\n", reason);
    r->errors += !warning;
}

static void check_from(struct report *r)
{
    char *display = NULL, *address = NULL;
    const char *reason = NULL;
    if (mail_address_parse(config_str("smtp", "from"), &display, &address, &reason) < 0) {
        problem(r, false, "smtp", "from", reason);
        return;
    }
    const char *at = strrchr(address, '@');
    if (config_str("smtp", "host")[0] && at && strcmp(at + 1, "localhost") == 0)
        problem(r, true, "smtp", "from",
                "the sender is @localhost: receiving servers reject it or file it as spam");
    free(display);
    free(address);
}

static void check_quiet_hours(struct report *r)
{
    if (!campaign_quiet_valid(config_str("engine", "quiet_hours")))
        problem(r, false, "engine", "quiet_hours", "expected HH:MM-HH:MM or off");
}

static void check_reminders(struct report *r)
{
    long offsets[SCHEDULER_MAX_OFFSETS];
    if (scheduler_reminder_offsets(config_str("engine", "reminders"), offsets) < 0)
        problem(r, false, "engine", "reminders", "expected offsets like 24h,2h,90m");
}

/* An IANA name is a file under the system's zoneinfo; "../" never is. */
static void check_timezone(struct report *r)
{
    const char *tz = config_str("engine", "default_timezone");
    struct stat st;
    char *path = xasprintf("/usr/share/zoneinfo/%s", tz);
    if (!*tz || strstr(tz, "..") || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        problem(r, false, "engine", "default_timezone",
                "expected an IANA time zone name such as Europe/Paris");
    free(path);
}

static bool messages_leave(void)
{
    return config_str("smtp", "host")[0] || strcmp(config_str("sms", "provider"), "spool") != 0;
}

static bool host_is_loopback(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    return str_starts_with(host, "127.") || str_starts_with(host, "localhost") ||
           str_starts_with(host, "[::1]");
}

static void check_public_url(struct report *r)
{
    const char *url = config_str("http", "public_url");
    if (!str_starts_with(url, "http://") && !str_starts_with(url, "https://")) {
        problem(r, false, "http", "public_url", "expected http://HOST[:PORT] or https://HOST");
        return;
    }
    if (messages_leave() && host_is_loopback(url))
        problem(r, true, "http", "public_url",
                "a loopback address: the unsubscribe and confirmation links in mail and texts "
                "will not open for anyone but this machine");
}

static void check_auth_tls(struct report *r)
{
    if (config_str("smtp", "host")[0] && config_str("smtp", "user")[0] &&
        strcmp(config_str("smtp", "tls"), "off") == 0)
        problem(r, true, "smtp", "tls", "AUTH without TLS sends the password in clear text");
}

/* CNIL: a message says who sends it; HELP answers and the unsubscribe page read these. */
static void check_organisation(struct report *r)
{
    if (messages_leave() && !config_str("engine", "organisation")[0])
        problem(r, true, "engine", "organisation",
                "empty: HELP answers and the unsubscribe page will not say who is writing");
}

/* Carriers and the CNIL expect every marketing text to say how to opt out. */
static void check_stop_mention(struct report *r)
{
    if (strcmp(config_str("sms", "provider"), "spool") == 0)
        return;
    char *mention = sms_stop_mention(config_str("engine", "default_locale"));
    if (!*mention)
        problem(r, true, "sms", "stop_mention",
                strcmp(config_str("sms", "stop_mention"), "off") == 0
                    ? "off: campaign texts that do not say STOP themselves will not tell how "
                      "to opt out"
                    : "no default: [sms] from is not a number people can text back, so "
                      "campaign texts that do not say STOP will not tell how to opt out");
    free(mention);
}

/* The transports' own checks, exactly as a worker runs them at start (open prepares,
 * it does not connect). */
static void check_transport(struct report *r, const char *channel, const char *section,
                            const char *key)
{
    char *error = NULL;
    const struct transport_ops *ops = transport_for(channel, &error);
    if (ops && strcmp(ops->name, "spool") != 0) {
        struct transport *t = NULL;
        if (ops->open(&t, &error) == 0)
            ops->close(&t);
    }
    if (error)
        problem(r, false, section, key, error);
    free(error);
}

int config_check(FILE *out)
{
    struct report r = {.out = out};
    check_from(&r);
    check_quiet_hours(&r);
    check_reminders(&r);
    check_timezone(&r);
    check_public_url(&r);
    check_auth_tls(&r);
    check_organisation(&r);
    check_stop_mention(&r);
    check_transport(&r, "email", "smtp", "host");
    check_transport(&r, "sms", "sms", "provider");
    return r.errors;
}

static const char *const probe_words[] = {"ok", "refused", "unreachable"};

/* "NAME: WORD: first line", then the other lines of the report indented. */
static void print_probe(FILE *out, const char *name, enum probe_result result, const char *report)
{
    size_t first = strcspn(report, "\n");
    fprintf(out, "%s: %s: %.*s\n", name, probe_words[result], (int)first, report);
    for (const char *line = report + first; *line;) {
        line += *line == '\n';
        size_t len = strcspn(line, "\n");
        if (len)
            fprintf(out, "  %.*s\n", (int)len, line);
        line += len;
    }
}

/* libpq says why a connection failed only in words: a server that answered and refused
 * (authentication, an unknown role or database, pg_hba) is the configuration's to fix. */
static enum probe_result database_probe(char **report_r)
{
    char *url = config_database_url();
    char *error = NULL;
    struct buf report = BUF_INIT;
    enum probe_result result = PROBE_OK;
    struct db *db = db_open(url, &error);
    free(url);
    if (!db) {
        str_trim(error);
        bool refused = strstr(error, "authentication failed") || strstr(error, "does not exist") ||
                       strstr(error, "pg_hba.conf") || strstr(error, "permission denied");
        buf_printf(&report, "[database] url from %s\n%s\n", config_origin("database", "url"),
                   error);
        free(error);
        *report_r = buf_detach(&report);
        return refused ? PROBE_REFUSED : PROBE_UNREACHABLE;
    }
    PGconn *conn = db_conn(db);
    buf_printf(&report, "dbname %s on %s port %s, PostgreSQL %d.%d", PQdb(conn), PQhost(conn),
               PQport(conn), PQserverVersion(conn) / 10000, PQserverVersion(conn) % 100);
    int pending = migrate_pending(db, &error);
    if (pending < 0) {
        buf_printf(&report, "\ncannot read the migrations: %s", error);
        free(error);
        result = PROBE_REFUSED;
    } else {
        buf_printf(&report, ", %d migration%s pending%s", pending, pending == 1 ? "" : "s",
                   pending ? " (run `tocsin migrate`)" : "");
    }
    db_close(&db);
    *report_r = buf_detach(&report);
    return result;
}

static int worst(int code, enum probe_result result)
{
    if (result == PROBE_REFUSED)
        return EX_CONFIG;
    if (result == PROBE_UNREACHABLE && code != EX_CONFIG)
        return EX_UNAVAILABLE;
    return code;
}

static int probe_transport(FILE *out, const char *name, const char *channel, int code)
{
    char *error = NULL;
    const struct transport_ops *ops = transport_for(channel, &error);
    if (!ops || !ops->probe) {
        free(error);
        return code;
    }
    char *report = NULL;
    enum probe_result result = ops->probe(&report);
    print_probe(out, name, result, report);
    free(report);
    return worst(code, result);
}

int config_check_connect(FILE *out)
{
    char *report = NULL;
    enum probe_result db = database_probe(&report);
    print_probe(out, "database", db, report);
    free(report);
    int code = worst(EX_OK, db);
    code = probe_transport(out, "relay", "email", code);
    code = probe_transport(out, "sms", "sms", code);
    return code;
}
