/*
 * Vonage SMS API: POST {api_url}/sms/json with the form api_key, api_secret, from, to
 * (international digits, no '+'), text, type (text or unicode), status-report-req,
 * callback (our /sms/vonage/dlr) and client-ref (our outbound id, which every part's
 * receipt echoes). The answer is HTTP 200 with one entry per part; status "0" is
 * accepted (the first part's message-id is our provider_id), "1" (throttled) is
 * retried, anything else is permanent with Vonage's error-text.
 */
#include "lib/util.h"
#include "core/config.h"
#include "outbound/sms_transports.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void vonage_build(const struct sms_outgoing *out, const char *api_url, struct buf *url,
                         struct buf *body, struct httpc_request *req)
{
    char *callback = sms_public_url("/sms/vonage/dlr");
    char ref[24];
    snprintf(ref, sizeof(ref), "%" PRId64, out->msg->id);
    const char *to = out->msg->recipient;
    buf_printf(url, "%s/sms/json", api_url);
    httpc_form_add(body, "api_key", config_str("sms", "account"));
    httpc_form_add(body, "api_secret", config_str("sms", "token"));
    httpc_form_add(body, "from", *out->from == '+' ? out->from + 1 : out->from);
    httpc_form_add(body, "to", *to == '+' ? to + 1 : to);
    httpc_form_add(body, "text", out->text);
    httpc_form_add(body, "type", out->info.encoding == SMS_UCS2 ? "unicode" : "text");
    httpc_form_add(body, "status-report-req", "1");
    httpc_form_add(body, "callback", callback);
    httpc_form_add(body, "client-ref", ref);
    free(callback);
    req->url = buf_str(url);
    req->content_type = "application/x-www-form-urlencoded";
    req->body = buf_str(body);
    req->body_len = body->len;
}

static void vonage_answer(const struct sms_outgoing *out, const struct httpc_response *resp,
                          struct send_result *result)
{
    (void)out;
    json_t *root = json_loadb(buf_str(&resp->body), resp->body.len, 0, NULL);
    json_t *messages = json_object_get(root, "messages");
    if (resp->status != 200 || !json_is_array(messages) || json_array_size(messages) == 0) {
        char *excerpt = sms_answer_excerpt(resp);
        result->status =
            resp->status >= 200 && resp->status < 300 ? SEND_AMBIGUOUS : SEND_PERMANENT;
        result->error = xasprintf("vonage: HTTP %ld %s", resp->status, excerpt);
        free(excerpt);
        goto out;
    }
    size_t i;
    json_t *part;
    json_array_foreach(messages, i, part)
    {
        const char *status = json_string_value(json_object_get(part, "status"));
        if (status && strcmp(status, "0") == 0)
            continue;
        const char *text = json_string_value(json_object_get(part, "error-text"));
        /* A failed part after an accepted one: the text is partly out; retrying would
         * send the accepted parts twice, so only a whole refusal is retried. */
        bool throttled = status && strcmp(status, "1") == 0;
        result->status = throttled && i == 0 ? SEND_TRANSIENT
                         : i == 0            ? SEND_PERMANENT
                                             : SEND_AMBIGUOUS;
        /* Status 1 is the account's rate: slow down, as for an HTTP 429. */
        result->throttled = throttled && i == 0;
        result->error = xasprintf("vonage %s: %s", status ? status : "?", text ? text : "");
        goto out;
    }
    const char *id = json_string_value(json_object_get(json_array_get(messages, 0), "message-id"));
    result->status = SEND_OK;
    result->provider_id = id ? xstrdup(id) : NULL;
out:
    json_decref(root);
}

/* The Account API: GET /account/get-balance?api_key=…&api_secret=… answers {"value": 10.28,
 * "autoReload": false} to valid credentials, 401 otherwise. */
static void vonage_probe_build(const char *api_url, struct buf *url, struct httpc_request *req)
{
    buf_printf(url, "%s/account/get-balance?", api_url);
    struct buf query = BUF_INIT;
    httpc_form_add(&query, "api_key", config_str("sms", "account"));
    httpc_form_add(&query, "api_secret", config_str("sms", "token"));
    buf_adds(url, buf_str(&query));
    buf_release(&query);
    req->url = buf_str(url);
}

static enum probe_result vonage_probe_answer(const struct httpc_response *resp, char **detail_r)
{
    json_t *root = json_loadb(buf_str(&resp->body), resp->body.len, 0, NULL);
    json_t *value = json_object_get(root, "value");
    enum probe_result result = PROBE_REFUSED;
    if (resp->status == 200 && json_is_number(value)) {
        *detail_r =
            xasprintf("[sms] account and token accepted; balance %.2f", json_number_value(value));
        result = PROBE_OK;
    } else if (resp->status == 401 || resp->status == 403) {
        *detail_r = xasprintf("Vonage refused [sms] account (API key) and token (API secret), "
                              "HTTP %ld",
                              resp->status);
    } else {
        char *excerpt = sms_answer_excerpt(resp);
        *detail_r = xasprintf("Vonage answered HTTP %ld: %s", resp->status, excerpt);
        free(excerpt);
    }
    json_decref(root);
    return result;
}

static const struct sms_provider vonage_provider = {
    .name = "vonage",
    .default_api_url = "https://rest.nexmo.com",
    .build = vonage_build,
    .answer = vonage_answer,
    .probe_build = vonage_probe_build,
    .probe_answer = vonage_probe_answer,
};

static enum probe_result vonage_probe(char **report_r)
{
    return sms_transport_probe(&vonage_provider, report_r);
}

static int vonage_open(struct transport **t, char **error_r)
{
    if (!*config_str("sms", "account") || !*config_str("sms", "token")) {
        *error_r = xstrdup("vonage needs [sms] account (API key) and token (API secret)");
        return -1;
    }
    return sms_transport_open(&vonage_provider, t, error_r);
}

const struct transport_ops vonage_transport = {
    .name = "vonage",
    .channel = "sms",
    .open = vonage_open,
    .send = sms_transport_send,
    .close = sms_transport_close,
    .probe = vonage_probe,
};
