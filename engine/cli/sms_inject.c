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
#include "core/database.h"
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

int cli_sms_inject(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"text", required_argument, NULL, 'x'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *from = NULL, *to = NULL, *text = NULL, *id = NULL;
    bool json = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'x':
            text = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            printf("usage: %s\n", inject_usage);
            return EX_OK;
        default:
            return cli_fail(EX_USAGE, "sms-inject", "usage: %s", inject_usage);
        }
    }
    if (optind != argc || !from || !to || !text)
        return cli_fail(EX_USAGE, "sms-inject", "needs --from, --to and --text");
    if (id && !*id)
        return cli_fail(EX_USAGE, "sms-inject", "--id must not be empty");

    const char *country = config_str("engine", "default_country");
    const char *reason = NULL;
    char *sender = phone_normalise(from, country, &reason);
    if (!sender)
        return cli_fail(EX_DATAERR, "sms-inject", "--from %s: %s", from, reason);
    /* Our own number may be a short code, which is not E.164: keep it as given then. */
    char *recipient = phone_normalise(to, country, &reason);
    if (!recipient)
        recipient = xstrdup(to);
    char *generated = id ? NULL : random_id();
    int rc = EX_OK;
    struct db *db = NULL;
    if (!id && !generated) {
        rc = cli_fail(EX_SOFTWARE, "sms-inject", "no random bytes for a message id");
        goto out;
    }
    char *error = NULL;
    db = database_open(&error);
    if (!db) {
        rc = cli_fail(EX_TEMPFAIL, "sms-inject", "database: %s", error);
        free(error);
        goto out;
    }
    struct inbound_message msg = {
        .channel = "sms",
        .provider = "cli",
        .provider_id = id ? id : generated,
        .sender = sender,
        .recipient = recipient,
        .body = text,
        .raw = text,
    };
    struct inbound_outcome outcome;
    if (inbound_process(db, &msg, &outcome, &error) < 0) {
        rc = cli_fail(db_transient(db) ? EX_TEMPFAIL : EX_SOFTWARE, "sms-inject", "%s", error);
        free(error);
        goto out;
    }
    if (json) {
        json_t *o =
            json_pack("{s:s, s:I, s:s?, s:s?, s:I}", "status", status_name(outcome.status),
                      "inbound_id", (json_int_t)outcome.inbound_id, "command", outcome.command,
                      "reply", outcome.reply, "reply_id", (json_int_t)outcome.reply_id);
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        puts(s);
        free(s);
        json_decref(o);
    } else if (outcome.reply) {
        puts(outcome.reply);
    }
    if (!json && outcome.status != INBOUND_APPLIED)
        fprintf(stderr, "tocsin: sms-inject: %s, no new reply\n", status_name(outcome.status));
    inbound_outcome_release(&outcome);
out:
    db_close(&db);
    free(generated);
    free(sender);
    free(recipient);
    return rc;
}
