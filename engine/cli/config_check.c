#include "cli/config_check.h"
#include "lib/util.h"
#include "core/config.h"
#include "outbound/mail.h"
#include "outbound/transport.h"
#include "campaigns/campaign.h"
#include "campaigns/scheduler.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    bool leaves = config_str("smtp", "host")[0] || strcmp(config_str("sms", "provider"), "spool");
    if (leaves && host_is_loopback(url))
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
    check_transport(&r, "email", "smtp", "host");
    check_transport(&r, "sms", "sms", "provider");
    return r.errors;
}
