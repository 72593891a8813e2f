#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "outbound/sms_transports.h"

#include <inttypes.h>
#include <string.h>

struct transport {
    const struct sms_provider *provider;
    struct httpc *http;
    char *api_url;
};

char *sms_public_url(const char *path)
{
    const char *base = config_str("http", "public_url");
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    return xasprintf("%.*s%s", (int)len, base, path);
}

char *sms_answer_excerpt(const struct httpc_response *resp)
{
    char *text = xstrndup(buf_str(&resp->body), resp->body.len > 200 ? 200 : resp->body.len);
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return text;
}

int sms_transport_open(const struct sms_provider *provider, struct transport **t, char **error_r)
{
    const char *api = config_str("sms", "api_url");
    if (!*api)
        api = provider->default_api_url;
    if (!*api) {
        *error_r = xasprintf("[sms] api_url is required for provider %s", provider->name);
        return -1;
    }
    struct transport *tr = xcalloc(1, sizeof(*tr));
    tr->provider = provider;
    tr->http = httpc_new(config_int("sms", "timeout") * 1000L);
    if (!tr->http) {
        free(tr);
        *error_r = xstrdup("cannot initialise libcurl");
        return -1;
    }
    size_t len = strlen(api);
    while (len && api[len - 1] == '/')
        len--;
    tr->api_url = xstrndup(api, len);
    *t = tr;
    return 0;
}

static void send_one(struct transport *t, const struct outbound_msg *msg,
                     struct send_result *result)
{
    memset(result, 0, sizeof(*result));
    char *text = sms_compose(msg->body, msg->kind);
    struct sms_outgoing out = {
        .msg = msg,
        .text = text,
        .from = msg->envelope_from && *msg->envelope_from ? msg->envelope_from
                                                          : config_str("sms", "from"),
    };
    gsm_analyse(text, &out.info);
    struct buf url = BUF_INIT, body = BUF_INIT;
    struct httpc_request req = {.method = "POST"};
    struct httpc_response resp;
    t->provider->build(&out, t->api_url, &url, &body, &req);
    int64_t started = now_monotonic_ms();
    httpc_perform(t->http, &req, &resp);
    switch (resp.outcome) {
    case HTTPC_NOT_SENT:
        result->status = SEND_TRANSIENT;
        result->error = xasprintf("%s: %s", t->provider->name, resp.error);
        break;
    case HTTPC_AMBIGUOUS:
        result->status = SEND_AMBIGUOUS;
        result->error = xasprintf("%s: %s", t->provider->name, resp.error);
        break;
    case HTTPC_ANSWERED:
        if (resp.status == 429 || resp.status >= 500) {
            char *excerpt = sms_answer_excerpt(&resp);
            result->status = SEND_TRANSIENT;
            result->retry_after_s = (int)resp.retry_after_s;
            result->error = xasprintf("%s: HTTP %ld %s", t->provider->name, resp.status, excerpt);
            free(excerpt);
        } else {
            t->provider->answer(&out, &resp, result);
        }
        break;
    }
    static const char *const names[] = {"ok", "transient", "permanent", "ambiguous"};
    char *series = xasprintf("tocsin_sms_sent_total{provider=\"%s\",result=\"%s\"}",
                             t->provider->name, names[result->status]);
    metrics_add(series, 1);
    free(series);
    log_info("sms_send",
             "provider=%s outbound_id=%" PRId64 " status=%s http=%ld encoding=%s "
             "segments=%d ms=%lld provider_id=%s error=%s",
             t->provider->name, msg->id, names[result->status], resp.status,
             gsm_encoding_name(out.info.encoding), out.info.segments,
             (long long)(now_monotonic_ms() - started),
             log_q(result->provider_id ? result->provider_id : ""),
             log_q(result->error ? result->error : ""));
    httpc_response_release(&resp);
    buf_release(&url);
    buf_release(&body);
    free(text);
}

void sms_transport_send(struct transport *t, const struct outbound_msg *msgs, size_t n,
                        struct send_result *results)
{
    for (size_t i = 0; i < n; i++)
        send_one(t, &msgs[i], &results[i]);
}

void sms_transport_close(struct transport **t)
{
    if (!*t)
        return;
    httpc_free(&(*t)->http);
    free((*t)->api_url);
    free(*t);
    *t = NULL;
}

enum probe_result sms_transport_probe(const struct sms_provider *provider, char **report_r)
{
    struct buf report = BUF_INIT;
    const char *api = config_str("sms", "api_url");
    if (!*api)
        api = provider->default_api_url;
    size_t len = strlen(api);
    while (len && api[len - 1] == '/')
        len--;
    char *base = xstrndup(api, len);
    buf_printf(&report, "sms gateway %s at %s\n", provider->name, *base ? base : "(no api_url)");
    enum probe_result result = PROBE_REFUSED;
    struct httpc *http = NULL;
    struct buf url = BUF_INIT;
    struct httpc_request req = {.method = "GET"};
    struct httpc_response resp = {0};
    if (!*base) {
        buf_adds(&report, "no [sms] api_url to reach\n");
        goto out;
    }
    http = httpc_new(config_int("sms", "timeout") * 1000L);
    if (!http) {
        buf_adds(&report, "cannot initialise libcurl\n");
        result = PROBE_UNREACHABLE;
        goto out;
    }
    provider->probe_build(base, &url, &req);
    httpc_perform(http, &req, &resp);
    if (resp.outcome != HTTPC_ANSWERED) {
        buf_printf(&report, "%s\n", resp.error);
        result = PROBE_UNREACHABLE;
    } else if (resp.status == 429 || resp.status >= 500) {
        char *excerpt = sms_answer_excerpt(&resp);
        buf_printf(&report, "the gateway answered HTTP %ld, credentials not checked: %s\n",
                   resp.status, excerpt);
        free(excerpt);
        result = PROBE_UNREACHABLE;
    } else {
        char *detail = NULL;
        result = provider->probe_answer(&resp, &detail);
        buf_printf(&report, "%s\n", detail ? detail : "");
        free(detail);
    }
out:
    httpc_response_release(&resp);
    httpc_free(&http);
    buf_release(&url);
    free(base);
    *report_r = buf_detach(&report);
    return result;
}
