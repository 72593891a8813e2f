/*
 * Twilio Programmable Messaging: POST {api_url}/2010-04-01/Accounts/{account}/Messages.json
 * with the form To, From, Body, StatusCallback and HTTP Basic auth account:token.
 * 201 gives {"sid": "SM…"}, our provider_id; 4xx gives {"code": 21211, "message": …},
 * recorded as "twilio 21211: …" and never retried.
 */
#include "lib/util.h"
#include "core/config.h"
#include "outbound/sms_transports.h"

#include <jansson.h>
#include <string.h>

static void twilio_build(const struct sms_outgoing *out, const char *api_url, struct buf *url,
                         struct buf *body, struct httpc_request *req)
{
    const char *account = config_str("sms", "account");
    char *callback = sms_public_url("/sms/twilio/status");
    buf_printf(url, "%s/2010-04-01/Accounts/%s/Messages.json", api_url, account);
    httpc_form_add(body, "To", out->msg->recipient);
    httpc_form_add(body, "From", out->from);
    httpc_form_add(body, "Body", out->text);
    httpc_form_add(body, "StatusCallback", callback);
    free(callback);
    req->url = buf_str(url);
    req->content_type = "application/x-www-form-urlencoded";
    req->body = buf_str(body);
    req->body_len = body->len;
    req->user = account;
    req->password = config_str("sms", "token");
}

static void twilio_answer(const struct sms_outgoing *out, const struct httpc_response *resp,
                          struct send_result *result)
{
    (void)out;
    json_t *root = json_loadb(buf_str(&resp->body), resp->body.len, 0, NULL);
    const char *sid = json_string_value(json_object_get(root, "sid"));
    if (resp->status >= 200 && resp->status < 300 && sid) {
        result->status = SEND_OK;
        result->provider_id = xstrdup(sid);
    } else if (resp->status >= 200 && resp->status < 300) {
        /* Accepted, but we cannot tell which message it became: do not send it again. */
        result->status = SEND_AMBIGUOUS;
        result->error = xstrdup("twilio: accepted without a sid");
    } else {
        json_t *code = json_object_get(root, "code");
        const char *message = json_string_value(json_object_get(root, "message"));
        char *excerpt = sms_answer_excerpt(resp);
        result->status = SEND_PERMANENT;
        if (json_is_integer(code))
            result->error = xasprintf("twilio %lld: %s", (long long)json_integer_value(code),
                                      message ? message : excerpt);
        else
            result->error = xasprintf("twilio: HTTP %ld %s", resp->status, excerpt);
        free(excerpt);
    }
    json_decref(root);
}

/* The Accounts resource: GET /2010-04-01/Accounts/{AccountSid}.json answers the account's
 * friendly_name and status (active, suspended, closed) to its own credentials only. */
static void twilio_probe_build(const char *api_url, struct buf *url, struct httpc_request *req)
{
    buf_printf(url, "%s/2010-04-01/Accounts/%s.json", api_url, config_str("sms", "account"));
    req->url = buf_str(url);
    req->user = config_str("sms", "account");
    req->password = config_str("sms", "token");
}

static enum probe_result twilio_probe_answer(const struct httpc_response *resp, char **detail_r)
{
    json_t *root = json_loadb(buf_str(&resp->body), resp->body.len, 0, NULL);
    const char *status = json_string_value(json_object_get(root, "status"));
    const char *name = json_string_value(json_object_get(root, "friendly_name"));
    const char *message = json_string_value(json_object_get(root, "message"));
    enum probe_result result = PROBE_REFUSED;
    if (resp->status == 200 && status && strcmp(status, "active") == 0) {
        *detail_r = xasprintf("account %s (%s) is active: [sms] account and token accepted",
                              config_str("sms", "account"), name ? name : "");
        result = PROBE_OK;
    } else if (resp->status == 200) {
        *detail_r = xasprintf("account %s is %s: Twilio will not send for it",
                              config_str("sms", "account"), status ? status : "of unknown status");
    } else if (resp->status == 401 || resp->status == 403) {
        *detail_r = xasprintf("Twilio refused [sms] account and token (HTTP %ld: %s)", resp->status,
                              message ? message : "not authenticated");
    } else {
        char *excerpt = sms_answer_excerpt(resp);
        *detail_r = xasprintf("Twilio answered HTTP %ld for account %s: %s", resp->status,
                              config_str("sms", "account"), message ? message : excerpt);
        free(excerpt);
    }
    json_decref(root);
    return result;
}

static const struct sms_provider twilio_provider = {
    .name = "twilio",
    .default_api_url = "https://api.twilio.com",
    .build = twilio_build,
    .answer = twilio_answer,
    .probe_build = twilio_probe_build,
    .probe_answer = twilio_probe_answer,
};

static enum probe_result twilio_probe(char **report_r)
{
    return sms_transport_probe(&twilio_provider, report_r);
}

static int twilio_open(struct transport **t, char **error_r)
{
    if (!*config_str("sms", "account") || !*config_str("sms", "token")) {
        *error_r = xstrdup("twilio needs [sms] account (Account SID) and token (auth token)");
        return -1;
    }
    return sms_transport_open(&twilio_provider, t, error_r);
}

const struct transport_ops twilio_transport = {
    .name = "twilio",
    .channel = "sms",
    .open = twilio_open,
    .send = sms_transport_send,
    .close = sms_transport_close,
    .probe = twilio_probe,
};
