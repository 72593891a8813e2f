/*
 * Generic JSON gateway: POST {api_url} with {"id", "to", "from", "text", "encoding",
 * "segments", "kind"} and X-Tocsin-Signature: sha256=HEX (HMAC-SHA256 of the body with
 * [sms] generic_secret), the same scheme as our inbound /sms/generic. Any 2xx accepts;
 * an "id" in a JSON answer becomes our provider_id, else "tocsin-<outbound id>".
 */
#include "lib/util.h"
#include "core/config.h"
#include "core/signature.h"
#include "outbound/sms_transports.h"

#include <jansson.h>
#include <string.h>

static void generic_build(const struct sms_outgoing *out, const char *api_url, struct buf *url,
                          struct buf *body, struct httpc_request *req)
{
    json_t *root = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:s}", "id", (json_int_t)out->msg->id,
                             "to", out->msg->recipient, "from", out->from, "text", out->text,
                             "encoding", gsm_encoding_name(out->info.encoding), "segments",
                             out->info.segments, "kind", out->msg->kind ? out->msg->kind : "");
    char *json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    buf_adds(body, json);
    free(json);
    buf_adds(url, api_url);
    char *signature =
        generic_signature(config_str("sms", "generic_secret"), buf_str(body), body->len);
    /* The header string must outlive the request: keep it after the body's NUL. */
    size_t header_at = body->len + 1;
    buf_addch(body, '\0');
    buf_printf(body, "X-Tocsin-Signature: %s", signature);
    free(signature);
    req->url = buf_str(url);
    req->content_type = "application/json";
    req->body = body->data;
    req->body_len = header_at - 1;
    req->header = body->data + header_at;
}

static void generic_answer(const struct sms_outgoing *out, const struct httpc_response *resp,
                           struct send_result *result)
{
    if (resp->status >= 200 && resp->status < 300) {
        json_t *root = json_loadb(buf_str(&resp->body), resp->body.len, 0, NULL);
        json_t *id = json_object_get(root, "id");
        result->status = SEND_OK;
        if (json_is_string(id))
            result->provider_id = xstrdup(json_string_value(id));
        else
            result->provider_id = xasprintf("tocsin-%lld", (long long)out->msg->id);
        json_decref(root);
    } else {
        char *excerpt = sms_answer_excerpt(resp);
        result->status = SEND_PERMANENT;
        result->error = xasprintf("generic: HTTP %ld %s", resp->status, excerpt);
        free(excerpt);
    }
}

/* The generic protocol defines sending only: no request can prove the secret without
 * sending a text. The probe shows the gateway answers at all (any HTTP answer to a GET);
 * `tocsin sms-test` is the way to try the secret. */
static void generic_probe_build(const char *api_url, struct buf *url, struct httpc_request *req)
{
    buf_adds(url, api_url);
    req->url = buf_str(url);
}

static enum probe_result generic_probe_answer(const struct httpc_response *resp, char **detail_r)
{
    *detail_r = xasprintf("the gateway answers (HTTP %ld to a GET); the generic protocol has no "
                          "way to check the secret without sending: try `tocsin sms-test`",
                          resp->status);
    return PROBE_OK;
}

static const struct sms_provider generic_provider = {
    .name = "generic",
    .default_api_url = "",
    .build = generic_build,
    .answer = generic_answer,
    .probe_build = generic_probe_build,
    .probe_answer = generic_probe_answer,
};

static enum probe_result generic_probe(char **report_r)
{
    return sms_transport_probe(&generic_provider, report_r);
}

static int generic_open(struct transport **t, char **error_r)
{
    if (!*config_str("sms", "generic_secret")) {
        *error_r = xstrdup("generic needs [sms] generic_secret to sign its requests");
        return -1;
    }
    return sms_transport_open(&generic_provider, t, error_r);
}

const struct transport_ops generic_transport = {
    .name = "generic",
    .channel = "sms",
    .open = generic_open,
    .send = sms_transport_send,
    .close = sms_transport_close,
    .probe = generic_probe,
};
