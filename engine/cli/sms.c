/*
 * `tocsin sms-estimate` — what a text costs as SMS before anyone sends it: the text as it
 * will leave (transliterated under [sms] transliterate, with the STOP mention of a campaign
 * for a reader of --locale, default [engine] default_locale), its encoding, septets or UTF-16
 * units, segments, and segments x recipients.
 * --format prints only the fields asked for (%e encoding, %u units, %s segments, %t total),
 * which the tests use to compare with the cost PostgreSQL stores on outbound rows.
 */
#include "lib/buf.h"
#include "lib/util.h"
#include "core/config.h"
#include "outbound/gsm.h"
#include "outbound/sms_transports.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const char usage[] =
    "tocsin sms-estimate [--recipients N] [--kind campaign|reply|...] [--locale fr|en]\n"
    "                    [--format FMT] [--] TEXT";

int cli_sms_estimate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, usage))
        return 0;
    long recipients = 1;
    const char *kind = "campaign", *format = NULL, *text = NULL;
    const char *locale = config_str("engine", "default_locale");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
            text = argv[++i];
        } else if (strcmp(argv[i], "--recipients") == 0 && i + 1 < argc) {
            if (str_to_long(argv[++i], 0, 1000000000L, &recipients) < 0)
                return cli_fail(EX_USAGE, "sms-estimate", "--recipients: not a count: %s", argv[i]);
        } else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) {
            kind = argv[++i];
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--locale") == 0 && i + 1 < argc) {
            locale = argv[++i];
        } else if (!text && argv[i][0] != '-') {
            text = argv[i];
        } else {
            return cli_fail(EX_USAGE, "sms-estimate", "usage: %s", usage);
        }
    }
    if (!text)
        return cli_fail(EX_USAGE, "sms-estimate", "usage: %s", usage);
    char *rendered =
        strcmp(kind, "campaign") == 0 ? sms_append_default_mention(text, locale) : xstrdup(text);
    char *composed = sms_compose(rendered, kind);
    free(rendered);
    struct gsm_info info;
    gsm_analyse(composed, &info);
    long long total = (long long)info.segments * recipients;
    if (format) {
        struct buf out = BUF_INIT;
        for (const char *f = format; *f; f++) {
            if (*f != '%' || !f[1]) {
                buf_addch(&out, *f);
                continue;
            }
            switch (*++f) {
            case 'e':
                buf_adds(&out, gsm_encoding_name(info.encoding));
                break;
            case 'u':
                buf_printf(&out, "%zu", info.units);
                break;
            case 's':
                buf_printf(&out, "%d", info.segments);
                break;
            case 't':
                buf_printf(&out, "%lld", total);
                break;
            default:
                buf_addch(&out, *f);
            }
        }
        printf("%s\n", buf_str(&out));
        buf_release(&out);
    } else {
        printf("text: %s\nencoding: %s\n%s: %zu\ncharacters: %zu\nsegments: %d\n"
               "total: %lld SMS for %ld recipients\n",
               composed, gsm_encoding_name(info.encoding),
               info.encoding == SMS_GSM7 ? "septets" : "utf16_units", info.units, info.chars,
               info.segments, total, recipients);
    }
    free(composed);
    return 0;
}

static const char test_usage[] =
    "tocsin sms-test [--provider NAME] [--kind reply|campaign|...] [--id N] --to NUMBER TEXT";

/*
 * `tocsin sms-test` sends one text now through a gateway, outside the queue, and prints
 * what the gateway answered: for an operator checking credentials and URLs before going
 * live (and for the tests of each transport). Exit 0 accepted, 75 transient, 65
 * permanent, 69 ambiguous.
 */
int cli_sms_test(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, test_usage))
        return 0;
    const char *provider = config_str("sms", "provider"), *kind = "reply", *to = NULL;
    const char *text = NULL;
    long id = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc)
            provider = argv[++i];
        else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
            kind = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc &&
                 str_to_long(argv[i + 1], 1, 0x7fffffffffffffffL, &id) == 0)
            i++;
        else if (!text && argv[i][0] != '-')
            text = argv[i];
        else
            return cli_fail(EX_USAGE, "sms-test", "usage: %s", test_usage);
    }
    if (!to || !text)
        return cli_fail(EX_USAGE, "sms-test", "usage: %s", test_usage);
    const char *contact_kind = NULL;
    char *number = cli_contact("sms-test", "--to", to, &contact_kind);
    if (!number)
        return EX_DATAERR;
    if (strcmp(contact_kind, "phone") != 0) {
        free(number);
        return cli_fail(EX_DATAERR, "sms-test", "--to %s: expected a phone number", to);
    }
    const struct transport_ops *ops = transport_find(provider, "sms");
    struct transport *t = NULL;
    char *error = NULL;
    if (!ops || ops->open(&t, &error) < 0) {
        int rc = ops ? cli_fail(EX_CONFIG, "sms-test", "%s", error)
                     : cli_fail(EX_USAGE, "sms-test", "no SMS gateway named %s", provider);
        free(error);
        free(number);
        return rc;
    }
    struct outbound_msg msg = {
        .id = id, .channel = "sms", .recipient = number, .body = text, .kind = kind};
    struct send_result result;
    ops->send(t, &msg, 1, &result);
    ops->close(&t);
    free(number);
    static const char *const names[] = {"ok", "transient", "permanent", "ambiguous"};
    static const int codes[] = {0, EX_TEMPFAIL, EX_DATAERR, EX_UNAVAILABLE};
    printf("%s provider_id=%s retry_after=%d error=%s\n", names[result.status],
           result.provider_id ? result.provider_id : "-", result.retry_after_s,
           result.error ? result.error : "-");
    free(result.provider_id);
    free(result.error);
    return codes[result.status];
}
