/*
 * Kannel smsbox sendsms: GET {api_url}/cgi-bin/sendsms with username, password, from,
 * to, text (UTF-8, charset=UTF-8), coding (0 GSM-7, 2 UCS-2), dlr-mask=31 (every report:
 * delivered, undelivered, buffered, SMSC accepted, SMSC rejected) and dlr-url pointing
 * at our /sms/kannel/dlr with the outbound id and [sms] kannel_secret, without which our
 * webhook refuses the report (so the transport refuses to open without it).
 * Kannel answers 202 "0: Accepted for delivery" or "3: Queued for later delivery" and
 * gives no message id: our provider_id is "tocsin-<outbound id>", which the dlr-url
 * carries back.
 */
#include "lib/util.h"
#include "core/config.h"
#include "outbound/sms_transports.h"

#include <inttypes.h>
#include <string.h>

static void kannel_build(const struct sms_outgoing *out, const char *api_url, struct buf *url,
                         struct buf *body, struct httpc_request *req)
{
    (void)body;
    struct buf query = BUF_INIT;
    char *dlr_base = sms_public_url("/sms/kannel/dlr");
    /* %d and %A are Kannel's: the report type and the SMSC's answer. */
    char *dlr = xasprintf("%s?id=%" PRId64 "&type=%%d&reply=%%A", dlr_base, out->msg->id);
    struct buf with_secret = BUF_INIT;
    buf_adds(&with_secret, dlr); /* httpc_form_add() puts the '&' */
    httpc_form_add(&with_secret, "secret", config_str("sms", "kannel_secret"));
    free(dlr);
    dlr = buf_detach(&with_secret);
    httpc_form_add(&query, "username", config_str("sms", "account"));
    httpc_form_add(&query, "password", config_str("sms", "token"));
    httpc_form_add(&query, "from", out->from);
    httpc_form_add(&query, "to", out->msg->recipient);
    httpc_form_add(&query, "text", out->text);
    httpc_form_add(&query, "charset", "UTF-8");
    httpc_form_add(&query, "coding", out->info.encoding == SMS_UCS2 ? "2" : "0");
    httpc_form_add(&query, "dlr-mask", "31");
    httpc_form_add(&query, "dlr-url", dlr);
    buf_printf(url, "%s/cgi-bin/sendsms?%s", api_url, buf_str(&query));
    buf_release(&query);
    free(dlr);
    free(dlr_base);
    req->method = "GET";
    req->url = buf_str(url);
}

static void kannel_answer(const struct sms_outgoing *out, const struct httpc_response *resp,
                          struct send_result *result)
{
    char *excerpt = sms_answer_excerpt(resp);
    if (resp->status >= 200 && resp->status < 300) {
        result->status = SEND_OK;
        result->provider_id = xasprintf("tocsin-%" PRId64, out->msg->id);
    } else {
        result->status = SEND_PERMANENT;
        result->error = xasprintf("kannel: HTTP %ld %s", resp->status, excerpt);
    }
    free(excerpt);
}

/* Kannel has no account endpoint, but smsbox checks the sendsms user before anything else:
 * a sendsms request without a receiver is refused with 403 "Authorization failed for
 * sendsms" for a wrong user or password, and with "Missing receiver number" otherwise —
 * nothing is sent either way. */
static void kannel_probe_build(const char *api_url, struct buf *url, struct httpc_request *req)
{
    buf_printf(url, "%s/cgi-bin/sendsms?", api_url);
    struct buf query = BUF_INIT;
    httpc_form_add(&query, "username", config_str("sms", "account"));
    httpc_form_add(&query, "password", config_str("sms", "token"));
    buf_adds(url, buf_str(&query));
    buf_release(&query);
    req->url = buf_str(url);
}

static enum probe_result kannel_probe_answer(const struct httpc_response *resp, char **detail_r)
{
    char *excerpt = sms_answer_excerpt(resp);
    enum probe_result result = PROBE_OK;
    if (resp->status == 403 || resp->status == 401) {
        *detail_r = xasprintf("smsbox refused the sendsms user [sms] account and token "
                              "(HTTP %ld: %s)",
                              resp->status, excerpt);
        result = PROBE_REFUSED;
    } else if (resp->status == 404) {
        *detail_r = xasprintf("no /cgi-bin/sendsms there (HTTP 404): is [sms] api_url the "
                              "smsbox sendsms-port?");
        result = PROBE_REFUSED;
    } else {
        *detail_r = xasprintf("sendsms user accepted (smsbox: HTTP %ld %s)", resp->status, excerpt);
    }
    free(excerpt);
    return result;
}

static const struct sms_provider kannel_provider = {
    .name = "kannel",
    .default_api_url = "http://127.0.0.1:13013",
    .build = kannel_build,
    .answer = kannel_answer,
    .probe_build = kannel_probe_build,
    .probe_answer = kannel_probe_answer,
};

static enum probe_result kannel_probe(char **report_r)
{
    return sms_transport_probe(&kannel_provider, report_r);
}

static int kannel_open(struct transport **t, char **error_r)
{
    if (!*config_str("sms", "kannel_secret")) {
        *error_r = xstrdup("kannel needs [sms] kannel_secret: the dlr-url carries it back, and "
                           "/sms/kannel refuses requests without it");
        return -1;
    }
    return sms_transport_open(&kannel_provider, t, error_r);
}

const struct transport_ops kannel_transport = {
    .name = "kannel",
    .channel = "sms",
    .open = kannel_open,
    .send = sms_transport_send,
    .close = sms_transport_close,
    .probe = kannel_probe,
};
