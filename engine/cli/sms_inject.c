/*
 * sms-inject — `tocsin sms-inject --from N --to N --text T [--id ID] [--json]`: one SMS
 * through inbound_process() exactly as a gateway webhook would hand it over (provider
 * "cli"), then print the reply it queued. Without --id a random one is made, so running
 * the same line twice is two messages; with the same --id, the second is a replay.
 * Exit 0 processed (also a replay or an ignored message), 64 usage, 65 a bad number,
 * 75 database unreachable or a transient failure (try again), 70 anything else.
 */
#include "lib/phone.h"
#include "lib/util.h"
#include "core/config.h"
#include "decide/process.h"
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char *const inject_usage =
    "tocsin sms-inject --from NUMBER --to NUMBER --text TEXT [--id ID] [--json]";

static const char *status_name(enum inbound_status s)
{
    switch (s) {
    case INBOUND_APPLIED:
        return "applied";
    case INBOUND_DUPLICATE:
        return "duplicate";
    case INBOUND_IGNORED:
        return "ignored";
    }
    return "?";
}

static char *random_id(void)
{
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return NULL;
    char *id = xmalloc(4 + 2 * sizeof(raw) + 1);
    strcpy(id, "cli-");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 4 + 2 * i, 3, "%02x", raw[i]);
    return id;
}

/* The command line, as given. */
struct inject_args {
    const char *from, *to, *text, *id;
    bool json;
};

/* Read the options: -1 with the exit status in *exit_r when the command ends here
 * (usage error, or --help). */
static int parse_args(int argc, char **argv, struct inject_args *a, int *exit_r)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"text", required_argument, NULL, 'x'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    memset(a, 0, sizeof(*a));
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            a->from = optarg;
            break;
        case 't':
            a->to = optarg;
            break;
        case 'x':
            a->text = optarg;
            break;
        case 'i':
            a->id = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            printf("usage: %s\n", inject_usage);
            *exit_r = EX_OK;
            return -1;
        default:
            *exit_r = cli_fail(EX_USAGE, "sms-inject", "usage: %s", inject_usage);
            return -1;
        }
    }
    if (optind != argc || !a->from || !a->to || !a->text)
        *exit_r = cli_fail(EX_USAGE, "sms-inject", "needs --from, --to and --text");
    else if (a->id && !*a->id)
        *exit_r = cli_fail(EX_USAGE, "sms-inject", "--id must not be empty");
    else
        return 0;
    return -1;
}

/* What inbound_process() did, as --json or as the reply text (stdout). */
static void print_outcome(const struct inbound_outcome *outcome, bool json)
{
    if (json) {
        json_t *o =
            json_pack("{s:s, s:I, s:s?, s:s?, s:I}", "status", status_name(outcome->status),
                      "inbound_id", (json_int_t)outcome->inbound_id, "command", outcome->command,
                      "reply", outcome->reply, "reply_id", (json_int_t)outcome->reply_id);
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        puts(s);
        free(s);
        json_decref(o);
    } else if (outcome->reply) {
        puts(outcome->reply);
    }
    if (!json && outcome->status != INBOUND_APPLIED)
        fprintf(stderr, "tocsin: sms-inject: %s, no new reply\n", status_name(outcome->status));
}

/* Process the message and print the outcome; the exit status. */
static int inject(const struct inbound_message *msg, bool json)
{
    char *url = config_database_url();
    char *error = NULL;
    struct db *db = db_open(url, &error);
    free(url);
    int rc = EX_OK;
    struct inbound_outcome outcome;
    if (!db) {
        rc = cli_fail(EX_TEMPFAIL, "sms-inject", "database: %s", error);
        free(error);
    } else if (inbound_process(db, msg, &outcome, &error) < 0) {
        rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "sms-inject", "%s", error);
        free(error);
    } else {
        print_outcome(&outcome, json);
        inbound_outcome_release(&outcome);
    }
    db_close(&db);
    return rc;
}

int cli_sms_inject(int argc, char **argv)
{
    struct inject_args a;
    int rc = EX_OK;
    if (parse_args(argc, argv, &a, &rc) < 0)
        return rc;
    const char *country = config_str("engine", "default_country");
    const char *reason = NULL;
    char *sender = phone_normalise(a.from, country, &reason);
    if (!sender)
        return cli_fail(EX_DATAERR, "sms-inject", "--from %s: %s", a.from, reason);
    /* Our own number may be a short code, which is not E.164: keep it as given then. */
    char *recipient = phone_normalise(a.to, country, &reason);
    if (!recipient)
        recipient = xstrdup(a.to);
    char *generated = a.id ? NULL : random_id();
    if (!a.id && !generated) {
        rc = cli_fail(EX_SOFTWARE, "sms-inject", "no random bytes for a message id");
    } else {
        struct inbound_message msg = {
            .channel = "sms",
            .provider = "cli",
            .provider_id = a.id ? a.id : generated,
            .sender = sender,
            .recipient = recipient,
            .body = a.text,
            .raw = a.text,
        };
        rc = inject(&msg, a.json);
    }
    free(generated);
    free(sender);
    free(recipient);
    return rc;
}
