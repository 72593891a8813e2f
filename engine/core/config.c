#include "core/config.h"
#include "lib/log.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The one table of configuration keys. Keep it in the order the example file should show.
 * A key added here is parsed, validated, overridable from the environment and documented.
 */
const struct config_key config_keys[] = {
    {"database", "url", CONFIG_SECRET, "", NULL,
     "libpq connection string or URI. Empty: the checkout's private cluster in ./var "
     "(started by `make run`)."},
    {"database", "direct_url", CONFIG_SECRET, "", NULL,
     "Set when url goes through a transaction-mode pooler (PgBouncer): a direct connection "
     "string for what needs a session of its own (the presence and scheduler locks, LISTEN, "
     "migrate, upkeep). Statements on url are then sent unnamed. Empty: url is direct and "
     "serves both."},

    {"http", "listen", CONFIG_STRING, "127.0.0.1:8025", NULL,
     "Address and port the webhook and unsubscribe server listens on."},
    {"http", "public_url", CONFIG_STRING, "http://127.0.0.1:8025", NULL,
     "The URL the world reaches this server at (used for Twilio signatures and links)."},
    {"http", "max_body", CONFIG_INT, "65536", "1024..16777216",
     "Largest request body accepted, in bytes; larger requests get 413."},
    {"http", "timeout", CONFIG_INT, "10", "1..300",
     "Seconds a client may stay idle before its connection is closed."},
    {"http", "threads", CONFIG_INT, "2", "1..64",
     "HTTP worker threads, each with its own database connection."},
    {"http", "header_timeout", CONFIG_INT, "10", "1..300",
     "Seconds a client has to send a request's headers, however slowly it trickles them; "
     "then the connection is closed."},
    {"http", "body_timeout", CONFIG_INT, "30", "1..3600",
     "Seconds a client has to send a request's body once its headers are in."},
    {"http", "max_connections", CONFIG_INT, "1024", "8..100000",
     "Connections held at once; beyond, new ones are refused."},
    {"http", "max_connections_per_ip", CONFIG_INT, "64", "1..100000",
     "Connections one client address may hold: keep it well below max_connections so that "
     "one abusive address leaves room for the gateway."},
    {"http", "metrics_token", CONFIG_SECRET, "", NULL,
     "Bearer token that /metrics requires on [http] listen. Empty: /metrics is only served on "
     "admin_listen."},
    {"http", "admin_listen", CONFIG_STRING, "", NULL,
     "A second address (e.g. 127.0.0.1:9025) serving only /healthz and /metrics, without a "
     "token. Empty: none."},
    {"http", "max_upload", CONFIG_INT, "10485760", "1024..1073741824",
     "Largest CSV accepted by the organisers' import route (/api/v1/import), in bytes."},
    {"http", "session_idle", CONFIG_INT, "28800", "60..31536000",
     "Seconds an organiser's session survives without a request (sign-in again after)."},
    {"http", "session_lifetime", CONFIG_INT, "2592000", "300..31536000",
     "Seconds an organiser's session lasts at most, however active."},

    {"imap", "host", CONFIG_STRING, "", NULL, "IMAP server. Empty: no IMAP reader."},
    {"imap", "port", CONFIG_INT, "993", "1..65535",
     "IMAP port (993 implicit TLS, 143 plain/STARTTLS)."},
    {"imap", "tls", CONFIG_CHOICE, "on", "on|starttls|off", "Implicit TLS, STARTTLS or none."},
    {"imap", "tls_verify", CONFIG_BOOL, "on", NULL, "Verify the server certificate."},
    {"imap", "user", CONFIG_STRING, "", NULL, "IMAP login."},
    {"imap", "password", CONFIG_SECRET, "", NULL, "IMAP password."},
    {"imap", "mailbox", CONFIG_STRING, "INBOX", NULL, "Mailbox to read replies from."},
    {"imap", "done_mailbox", CONFIG_STRING, "", NULL,
     "Move processed mail here. Empty: flag it \\Seen and leave it."},
    {"imap", "max_size", CONFIG_INT, "1048576", "1024..104857600",
     "Messages larger than this many bytes are skipped with a log line."},
    {"imap", "poll_interval", CONFIG_INT, "60", "1..3600",
     "Seconds between polls when the server has no IDLE."},
    {"imap", "trusted_authserv_id", CONFIG_STRING, "", NULL,
     "authserv-id of the receiving MTA whose Authentication-Results header is trusted: "
     "dmarc=pass for the From: domain then proves the sender. Empty: only signed reply "
     "addresses prove a sender."},
    {"imap", "connections", CONFIG_INT, "2", "1..16",
     "Database connections applying fetched mail at once (one sender's mail always goes "
     "through the same one, in order), while the next batch is fetched and parsed."},

    {"smtp", "host", CONFIG_STRING, "", NULL,
     "SMTP relay. Empty: outbound mail is written to the spool directory."},
    {"smtp", "port", CONFIG_INT, "25", "1..65535", "SMTP port."},
    {"smtp", "tls", CONFIG_CHOICE, "off", "starttls|on|off", "STARTTLS, implicit TLS, or none."},
    {"smtp", "tls_verify", CONFIG_BOOL, "on", NULL,
     "Verify the relay's certificate and name under STARTTLS."},
    {"smtp", "user", CONFIG_STRING, "", NULL, "SMTP AUTH user. Empty: no AUTH."},
    {"smtp", "password", CONFIG_SECRET, "", NULL, "SMTP AUTH password."},
    {"smtp", "from", CONFIG_STRING, "tocsin@localhost", NULL, "From address of outbound mail."},
    {"smtp", "return_path_domain", CONFIG_STRING, "localhost", NULL,
     "Domain of VERP bounce addresses (bounce+ID@domain) and reply+TOKEN@domain."},
    {"smtp", "connections", CONFIG_INT, "4", "1..64", "Parallel SMTP sessions."},
    {"smtp", "rate", CONFIG_INT, "0", "0..1000000",
     "Messages per second through SMTP, across all daemons (0: unlimited)."},
    {"smtp", "timeout", CONFIG_INT, "60", "1..600",
     "Seconds to wait for the SMTP server at each step before giving up (retried later)."},
    {"smtp", "nodelay", CONFIG_BOOL, "on", NULL,
     "Set TCP_NODELAY on SMTP connections (off only to measure the Nagle stall)."},

    {"sms", "provider", CONFIG_CHOICE, "spool", "twilio|vonage|kannel|generic|spool",
     "SMS gateway for outbound texts; spool writes files."},
    {"sms", "api_url", CONFIG_STRING, "", NULL,
     "Base URL of the provider's API (each has a default)."},
    {"sms", "account", CONFIG_STRING, "", NULL,
     "Twilio Account SID, Vonage API key, Kannel sendsms username."},
    {"sms", "token", CONFIG_SECRET, "", NULL,
     "Twilio auth token, Vonage API secret, Kannel sendsms password."},
    {"sms", "from", CONFIG_STRING, "", NULL, "Sender number or alphanumeric id."},
    {"sms", "kannel_secret", CONFIG_SECRET, "", NULL,
     "Shared secret Kannel's get-url and our dlr-url carry (secret=...). Empty: /sms/kannel "
     "refuses every request."},
    {"sms", "vonage_signature_secret", CONFIG_SECRET, "", NULL,
     "Vonage signature secret (HMAC SHA-256 method). Empty: /sms/vonage refuses every request."},
    {"sms", "generic_secret", CONFIG_SECRET, "", NULL,
     "HMAC key of the generic gateway, both directions. Empty: /sms/generic refuses every "
     "request."},
    {"sms", "transliterate", CONFIG_BOOL, "off", NULL,
     "Replace typographic quotes, dashes and similar to stay in GSM-7."},
    {"sms", "stop_mention", CONFIG_STRING, "", NULL,
     "How to opt out, appended to campaign and organiser texts, e.g. \"STOP au 36173\". "
     "Empty: in the recipient's language, \"STOP au <[sms] from>\" or \"Reply STOP to opt "
     "out\" when [sms] from is a number people can text; off: none."},
    {"sms", "timeout", CONFIG_INT, "10", "1..120",
     "Seconds an SMS API request may take; a timeout after sending is recorded as ambiguous, "
     "never resent blindly."},
    {"sms", "rate", CONFIG_INT, "10", "0..100000",
     "Messages per second for the SMS transport, across all daemons (0: unlimited)."},
    {"sms", "reply_countries", CONFIG_STRING, "", NULL,
     "ISO countries whose numbers get SMS replies, comma-separated, or * for all. Empty: "
     "[engine] default_country and its overseas territories. Texts from elsewhere are "
     "applied but not answered."},
    {"sms", "new_number_replies_per_hour", CONFIG_INT, "100", "1..1000000",
     "Replies to numbers never answered before, per hour across all daemons, beyond which "
     "each further one logs a warning (SMS pumping)."},
    {"sms", "concurrency", CONFIG_INT, "64", "1..1024",
     "SMS API requests in flight at once in this daemon (keep-alive connections, or streams "
     "of one HTTP/2 connection when the gateway offers it)."},
    {"sms", "apply_inline", CONFIG_INT, "1", "0..1024",
     "Inbound texts this daemon applies while their gateway waits for the answer. Beyond that "
     "many at once, a text is stored, answered at once and applied moments later by the "
     "appliers, in order per sender (0: every text is stored first)."},
    {"sms", "appliers", CONFIG_INT, "2", "1..64",
     "Threads applying stored inbound texts, each with its own database connection."},

    {"engine", "secret", CONFIG_SECRET, "", NULL,
     "Key for signed tokens (unsubscribe, reply, VERP). Empty: one generated and stored in "
     "the database at first migrate."},
    {"engine", "organisation", CONFIG_STRING, "", NULL,
     "Who is writing: the organisation's name, given in HELP/AIDE answers and on the "
     "unsubscribe page (the CNIL asks that a message say who sends it)."},
    {"engine", "organisation_contact", CONFIG_STRING, "", NULL,
     "How to reach the organisation (an address, a phone number or a web page), given with "
     "its name."},
    {"engine", "default_locale", CONFIG_CHOICE, "fr", "fr|en", "Locale of people who have none."},
    {"engine", "default_timezone", CONFIG_STRING, "Europe/Paris", NULL,
     "IANA time zone of people and events that have none."},
    {"engine", "default_country", CONFIG_STRING, "FR", NULL,
     "ISO country for phone numbers written without +."},
    {"engine", "quiet_hours", CONFIG_STRING, "21:00-09:00", NULL,
     "No automatic message in this local-time window; `off` disables."},
    {"engine", "workers", CONFIG_INT, "4", "0..256", "Outbound worker threads."},
    {"engine", "replies_per_hour", CONFIG_INT, "10", "1..100000",
     "Replies one number or address may get in an hour, HELP included (the STOP "
     "confirmation excepted); more messages are applied but not answered."},
    {"engine", "replies_per_day", CONFIG_INT, "30", "1..100000",
     "Replies one number or address may get in 24 hours."},
    {"engine", "max_attempts", CONFIG_INT, "8", "1..100",
     "Attempts before a transiently failing message is marked failed."},
    {"engine", "retry_base", CONFIG_INT, "60", "1..86400",
     "Seconds before the first retry; each later retry waits twice as long, with jitter."},
    {"engine", "retry_max", CONFIG_INT, "21600", "1..604800",
     "Longest wait between retries, in seconds."},
    {"engine", "batch", CONFIG_INT, "250", "1..10000",
     "Messages a worker claims at once (and sends over one SMTP connection)."},
    {"engine", "lease_seconds", CONFIG_INT, "300", "1..86400",
     "The last resort: how long a claim holds when it could not name the daemon's presence "
     "lock. Otherwise the rows of a daemon that died are claimed again at once, and those of "
     "a live one never."},
    {"engine", "poll_interval", CONFIG_INT, "5", "1..3600",
     "Seconds between queue polls when no notification arrives (retries become due)."},
    {"engine", "keep_messages", CONFIG_DAYS, "off", "32..36500",
     "Drop inbound and outbound messages older than this many days, a month at a time "
     "(e.g. 400d); campaign results and the consent ledger are kept. off: keep everything."},
    {"engine", "shutdown_timeout", CONFIG_INT, "20", "1..600",
     "On SIGTERM, seconds in-flight sends may take before their rows are released."},
    {"engine", "reminders", CONFIG_STRING, "24h,2h", NULL,
     "Event reminder offsets before the start (d, h, m units)."},
    {"engine", "scheduler_interval", CONFIG_INT, "30", "1..3600",
     "Seconds between scheduler rounds (scheduled campaigns, reminders, digests)."},
    {"engine", "digest_default", CONFIG_CHOICE, "never", "never|daily|weekly",
     "Digest of people who chose none (imported people, for instance) in teams that set none "
     "(`tocsin team digest`): never, unless the organisers turn digests on."},
    {"engine", "templates_dir", CONFIG_STRING, "", NULL,
     "Directory whose <locale>/<name> files override the built-in templates."},
    {"engine", "spool_dir", CONFIG_STRING, "var/spool", NULL,
     "Where the spool transports write outbound mail and SMS."},
    {"engine", "log_level", CONFIG_CHOICE, "info", "debug|info|warn|error",
     "Least severe level logged."},
    {NULL, NULL, 0, NULL, NULL, NULL},
};

/* Keys that once existed: a file or an environment that still sets one is refused with what
 * replaced it, rather than silently ignored (a secret that stops applying fails open). */
static const struct {
    const char *section, *key, *instead;
} retired_keys[] = {
    {"sms", "signing_secret",
     "one secret per integration now: set kannel_secret, vonage_signature_secret or "
     "generic_secret in [sms]"},
};

static const char *retired_hint(const char *section, const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(retired_keys); i++)
        if (strcmp(retired_keys[i].section, section) == 0 && strcmp(retired_keys[i].key, key) == 0)
            return retired_keys[i].instead;
    return NULL;
}

static char *values[ARRAY_SIZE(config_keys)];
/* Where each value came from: "FILE:LINE", "environment TOCSIN_…"; NULL for the default. */
static char *origins[ARRAY_SIZE(config_keys)];
static char *source_path;

static int key_index(const char *section, const char *key)
{
    for (int i = 0; config_keys[i].section; i++)
        if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].key, key) == 0)
            return i;
    return -1;
}

static bool section_known(const char *section)
{
    for (int i = 0; config_keys[i].section; i++)
        if (strcmp(config_keys[i].section, section) == 0)
            return true;
    return false;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "yes", "true", "1"};
    static const char *const no[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* "off" is 0; "400d" is 400 when inside min..max. */
static int parse_days(const char *v, long min, long max, long *days_r)
{
    if (strcmp(v, "off") == 0) {
        *days_r = 0;
        return 0;
    }
    size_t n = strlen(v);
    if (n < 2 || v[n - 1] != 'd')
        return -1;
    char *digits = xstrndup(v, n - 1);
    int rc = str_to_long(digits, min, max, days_r);
    free(digits);
    return rc;
}

/* Check `value` against key i's type; on failure set *reason (static text or allocated). */
static int validate(int i, const char *value, char **reason_r)
{
    const struct config_key *k = &config_keys[i];
    switch (k->type) {
    case CONFIG_INT: {
        long min = LONG_MIN, max = LONG_MAX, v;
        if (k->choices)
            sscanf(k->choices, "%ld..%ld", &min, &max);
        if (str_to_long(value, min, max, &v) < 0) {
            *reason_r =
                xasprintf("expected a whole number in %s", k->choices ? k->choices : "range");
            return -1;
        }
        return 0;
    }
    case CONFIG_DAYS: {
        long min = 1, max = LONG_MAX, days;
        if (k->choices)
            sscanf(k->choices, "%ld..%ld", &min, &max);
        if (parse_days(value, min, max, &days) < 0) {
            *reason_r = xasprintf("expected off or a number of days in %s followed by d (400d)",
                                  k->choices ? k->choices : "range");
            return -1;
        }
        return 0;
    }
    case CONFIG_BOOL: {
        bool b;
        if (parse_bool(value, &b) < 0) {
            *reason_r = xstrdup("expected on or off");
            return -1;
        }
        return 0;
    }
    case CONFIG_CHOICE: {
        size_t n = strlen(value);
        for (const char *c = k->choices; c && *c;) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && strncmp(c, value, n) == 0)
                return 0;
            c = bar ? bar + 1 : c + len;
        }
        *reason_r = xasprintf("expected one of %s", k->choices);
        return -1;
    }
    default:
        return 0;
    }
}

static void set_value(int i, const char *value)
{
    free(values[i]);
    values[i] = xstrdup(value);
}

/* set_value() for a value read from somewhere a person can fix; `origin` is taken over. */
static void set_value_from(int i, const char *value, char *origin)
{
    set_value(i, value);
    free(origins[i]);
    origins[i] = origin;
}

int config_set(const char *section, const char *key, const char *value, char **error_r)
{
    int i = key_index(section, key);
    if (i < 0) {
        *error_r = xasprintf("unknown key [%s] %s", section, key);
        return -1;
    }
    char *reason = NULL;
    if (validate(i, value, &reason) < 0) {
        *error_r = xasprintf("[%s] %s: %s", section, key, reason);
        free(reason);
        return -1;
    }
    set_value(i, value);
    return 0;
}

/* Strip one pair of matching quotes around an INI value. */
static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

static int parse_file(FILE *f, const char *path, char **error_r)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = -1;
    char *section = NULL;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (strlen(line) != (size_t)got) {
            *error_r = xasprintf("%s:%d: NUL byte in line", path, lineno);
            goto out;
        }
        char *s = str_trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1] != '\0') {
                *error_r = xasprintf("%s:%d: malformed section header", path, lineno);
                goto out;
            }
            *end = '\0';
            char *name = str_trim(s + 1);
            if (!section_known(name)) {
                *error_r = xasprintf("%s:%d: unknown section [%s]", path, lineno, name);
                goto out;
            }
            free(section);
            section = xstrdup(name);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            *error_r = xasprintf("%s:%d: expected key = value", path, lineno);
            goto out;
        }
        *eq = '\0';
        char *key = str_trim(s);
        char *value = unquote(str_trim(eq + 1));
        if (!section) {
            *error_r = xasprintf("%s:%d: key %s outside any [section]", path, lineno, key);
            goto out;
        }
        int i = key_index(section, key);
        if (i < 0 && retired_hint(section, key)) {
            *error_r = xasprintf("%s:%d: key %s in [%s] is no longer read: %s", path, lineno, key,
                                 section, retired_hint(section, key));
            goto out;
        }
        if (i < 0) {
            *error_r = xasprintf("%s:%d: unknown key %s in [%s]", path, lineno, key, section);
            goto out;
        }
        char *reason = NULL;
        if (validate(i, value, &reason) < 0) {
            *error_r = xasprintf("%s:%d: key %s: %s", path, lineno, key, reason);
            free(reason);
            goto out;
        }
        set_value_from(i, value, xasprintf("%s:%d", path, lineno));
    }
    rc = 0;
out:
    free(section);
    free(line);
    return rc;
}

/* TOCSIN_SECTION_KEY, upper-case, overrides the file. */
static char *environment_name(const char *section, const char *key)
{
    char *name = xasprintf("TOCSIN_%s_%s", section, key);
    for (char *p = name; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return name;
}

static int apply_environment(char **error_r)
{
    for (size_t i = 0; i < ARRAY_SIZE(retired_keys); i++) {
        char *name = environment_name(retired_keys[i].section, retired_keys[i].key);
        bool set = getenv(name) != NULL;
        if (set)
            *error_r =
                xasprintf("environment %s is no longer read: %s", name, retired_keys[i].instead);
        free(name);
        if (set)
            return -1;
    }
    for (int i = 0; config_keys[i].section; i++) {
        char *name = environment_name(config_keys[i].section, config_keys[i].key);
        const char *v = getenv(name);
        if (v) {
            char *reason = NULL;
            if (validate(i, v, &reason) < 0) {
                *error_r = xasprintf("environment %s: %s", name, reason);
                free(reason);
                free(name);
                return -1;
            }
            set_value_from(i, v, xasprintf("environment %s", name));
        }
        free(name);
    }
    return 0;
}

int config_load(const char *path, char **error_r)
{
    for (int i = 0; config_keys[i].section; i++)
        set_value_from(i, config_keys[i].default_value, NULL);
    free(source_path);
    source_path = NULL;

    const char *candidates[] = {"tocsin.conf", "/etc/tocsin/tocsin.conf"};
    FILE *f = NULL;
    if (path) {
        f = fopen(path, "r");
        if (!f) {
            *error_r = xasprintf("%s: %s", path, strerror(errno));
            return -1;
        }
    } else {
        for (size_t i = 0; i < ARRAY_SIZE(candidates) && !f; i++)
            if ((f = fopen(candidates[i], "r")))
                path = candidates[i];
    }
    if (f) {
        int rc = parse_file(f, path, error_r);
        fclose(f);
        if (rc < 0)
            return -1;
        source_path = xstrdup(path);
    }
    if (apply_environment(error_r) < 0)
        return -1;
    for (int i = 0; config_keys[i].section; i++)
        if (config_keys[i].type == CONFIG_SECRET && values[i])
            log_secret(values[i]);
    return 0;
}

const char *config_source(void)
{
    return source_path ? source_path : "(none)";
}

const char *config_origin(const char *section, const char *key)
{
    int i = key_index(section, key);
    return i >= 0 && origins[i] ? origins[i] : "default";
}

const char *config_str(const char *section, const char *key)
{
    int i = key_index(section, key);
    if (i < 0) {
        /* A programming error: the key table and the code disagree. */
        die(70, "config: no key [%s] %s", section, key);
    }
    return values[i] ? values[i] : config_keys[i].default_value;
}

long config_int(const char *section, const char *key)
{
    return strtol(config_str(section, key), NULL, 10);
}

long config_days(const char *section, const char *key)
{
    long days = 0;
    parse_days(config_str(section, key), 1, LONG_MAX, &days);
    return days;
}

bool config_bool(const char *section, const char *key)
{
    bool b = false;
    parse_bool(config_str(section, key), &b);
    return b;
}

char *config_database_url(void)
{
    const char *url = config_str("database", "url");
    if (*url)
        return xstrdup(url);
    char *cwd = getcwd(NULL, 0);
    char *local = xasprintf("host=%s/var/run dbname=tocsin user=postgres", cwd ? cwd : ".");
    free(cwd);
    return local;
}

bool config_database_pooled(void)
{
    return *config_str("database", "direct_url") != '\0';
}

char *config_direct_url(void)
{
    if (config_database_pooled())
        return xstrdup(config_str("database", "direct_url"));
    return config_database_url();
}

void config_write_example(FILE *out)
{
    fputs("# tocsin.conf — every key with its default. Generated by `tocsin config example`.\n"
          "# Any key can be overridden by the environment: TOCSIN_SECTION_KEY, e.g.\n"
          "# TOCSIN_DATABASE_URL=postgresql://tocsin@db/tocsin\n",
          out);
    const char *section = "";
    for (int i = 0; config_keys[i].section; i++) {
        const struct config_key *k = &config_keys[i];
        if (strcmp(section, k->section) != 0) {
            section = k->section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "# %s", k->help);
        if (k->type == CONFIG_CHOICE)
            fprintf(out, " (%s)", k->choices);
        else if (k->type == CONFIG_INT && k->choices)
            fprintf(out, " (%s)", k->choices);
        else if (k->type == CONFIG_DAYS && k->choices)
            fprintf(out, " (off, or %s days: Nd)", k->choices);
        else if (k->type == CONFIG_BOOL)
            fputs(" (on|off)", out);
        fputc('\n', out);
        fprintf(out, "#%s = %s\n", k->key, k->default_value);
    }
}
