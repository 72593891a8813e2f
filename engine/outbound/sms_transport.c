#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/daemon.h"
#include "outbound/sms_transports.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

/* How long to hold back when a gateway throttles without a Retry-After. */
#define THROTTLE_DEFAULT_S 1

struct transport {
    const struct sms_provider *provider;
    char *api_url;
};

/* A batch handed to the sender by a worker, who waits until `remaining` is 0; its
 * messages start in order, `started` is the next one. */
struct sms_job {
    const struct transport *t;
    const struct outbound_msg *msgs;
    struct send_result *results;
    size_t n, started, remaining;
    struct sms_job *next;
};

/* One message from its request to its answer. */
struct sms_request {
    struct sms_job *job;
    size_t index;
    char *text;
    struct sms_outgoing out;
    int64_t started_ms;
};

/*
 * The sender: one thread per process runs the requests of every worker's batches on one
 * HTTP client, at most [sms] concurrency at a time, so the connections (or HTTP/2 streams)
 * are shared and a worker recording its results never leaves the gateway idle while
 * another worker's batch is waiting. `lock` guards everything below it but `http`, which
 * only the sender thread drives (httpc_wakeup() aside). `life` serialises starting and
 * stopping the thread as transports are opened and closed.
 */
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
static struct {
    struct httpc *http;
    pthread_t thread;
    int users; /* open transports */
    pthread_mutex_t lock;
    pthread_cond_t progress; /* some job's `remaining` went down */
    bool stop;
    long concurrency, in_flight;
    int64_t paused_until_ms; /* a gateway asked us to wait until then (monotonic) */
    struct sms_job *jobs;    /* jobs with messages not started yet, oldest first */
} sender = {.lock = PTHREAD_MUTEX_INITIALIZER, .progress = PTHREAD_COND_INITIALIZER};

static const char *const status_names[] = {"ok", "transient", "permanent", "ambiguous"};

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

/* One message of a job is settled: its worker may be waiting for the last one. Called with
 * `lock` held. */
static void settled(struct sms_job *job)
{
    job->remaining--;
    if (job->remaining == 0)
        pthread_cond_broadcast(&sender.progress);
}

/* A message not sent at all: it goes back to the queue without counting an attempt. Called
 * with `lock` held. */
static void hold_back(struct sms_job *job, size_t i, int retry_after_s, const char *why)
{
    struct send_result *result = &job->results[i];
    *result =
        (struct send_result){.status = SEND_TRANSIENT,
                             .throttled = true,
                             .retry_after_s = retry_after_s,
                             .error = xasprintf("%s: not sent, %s", job->t->provider->name, why)};
    settled(job);
}

/* Build and start message i of a job. Called with `lock` held. */
static void start_one(struct sms_job *job, size_t i)
{
    const struct transport *t = job->t;
    const struct outbound_msg *msg = &job->msgs[i];
    struct sms_request *r = xcalloc(1, sizeof(*r));
    r->job = job;
    r->index = i;
    r->text = sms_compose(msg->body, msg->kind);
    r->out = (struct sms_outgoing){
        .msg = msg,
        .text = r->text,
        .from = msg->envelope_from && *msg->envelope_from ? msg->envelope_from
                                                          : config_str("sms", "from"),
    };
    gsm_analyse(r->text, &r->out.info);
    struct buf url = BUF_INIT, body = BUF_INIT;
    struct httpc_request req = {.method = "POST"};
    t->provider->build(&r->out, t->api_url, &url, &body, &req);
    r->started_ms = now_monotonic_ms();
    /* httpc_start() copies the request: the scratch bufs can go now. */
    if (httpc_start(sender.http, &req, r) == 0) {
        sender.in_flight++;
    } else {
        job->results[i] = (struct send_result){
            .status = SEND_TRANSIENT,
            .error = xasprintf("%s: the HTTP client refused the request", t->provider->name)};
        settled(job);
        free(r->text);
        free(r);
    }
    buf_release(&url);
    buf_release(&body);
}

/* Read one answer into its message's result. Called without `lock`. */
static void read_answer(struct sms_request *r, const struct httpc_response *resp,
                        struct send_result *result)
{
    const struct sms_provider *provider = r->job->t->provider;
    *result = (struct send_result){.status = SEND_TRANSIENT};
    switch (resp->outcome) {
    case HTTPC_NOT_SENT:
        result->error = xasprintf("%s: %s", provider->name, resp->error);
        break;
    case HTTPC_AMBIGUOUS:
        result->status = SEND_AMBIGUOUS;
        result->error = xasprintf("%s: %s", provider->name, resp->error);
        break;
    case HTTPC_ANSWERED:
        if (resp->status == 429 || resp->status >= 500) {
            char *excerpt = sms_answer_excerpt(resp);
            result->retry_after_s = (int)resp->retry_after_s;
            /* 429 always means "too fast"; a 503 does when it says when to come back. */
            result->throttled =
                resp->status == 429 || (resp->status == 503 && resp->retry_after_s > 0);
            result->error = xasprintf("%s: HTTP %ld %s", provider->name, resp->status, excerpt);
            free(excerpt);
        } else {
            provider->answer(&r->out, resp, result);
        }
        break;
    }
    if (result->throttled && result->retry_after_s <= 0)
        result->retry_after_s = THROTTLE_DEFAULT_S;
}

/* A request finished: fill its result, slow the sender down if the gateway asked, count
 * it, log it, and settle it. Called without `lock`. */
static void finish(struct sms_request *r, struct httpc_response *resp)
{
    struct sms_job *job = r->job;
    const char *provider = job->t->provider->name;
    struct send_result *result = &job->results[r->index];
    read_answer(r, resp, result);
    if (result->throttled)
        log_warn("sms_throttled", "provider=%s http=%ld retry_after_s=%d", provider, resp->status,
                 result->retry_after_s);
    char *series = xasprintf("tocsin_sms_sent_total{provider=\"%s\",result=\"%s\"}", provider,
                             status_names[result->status]);
    metrics_add(series, 1);
    free(series);
    log_info("sms_send",
             "provider=%s outbound_id=%" PRId64 " status=%s http=%ld encoding=%s "
             "segments=%d ms=%lld provider_id=%s error=%s",
             provider, job->msgs[r->index].id, status_names[result->status], resp->status,
             gsm_encoding_name(r->out.info.encoding), r->out.info.segments,
             (long long)(now_monotonic_ms() - r->started_ms),
             log_q(result->provider_id ? result->provider_id : ""),
             log_q(result->error ? result->error : ""));
    pthread_mutex_lock(&sender.lock);
    sender.in_flight--;
    if (result->throttled) {
        int64_t until = now_monotonic_ms() + (int64_t)result->retry_after_s * 1000;
        if (until > sender.paused_until_ms)
            sender.paused_until_ms = until;
    }
    settled(job);
    pthread_mutex_unlock(&sender.lock);
    free(r->text);
    free(r);
}

/*
 * Start what may start — messages in order, while [sms] concurrency allows — then let the
 * transfers run and settle those that finished. While a gateway's pause is in force, or
 * when the daemon stops, the messages not started are handed back at once, unsent: the
 * worker records them and the queue holds them until the gateway is ready, rather than a
 * worker waiting here with its batch in hand.
 */
static void *sender_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sender.lock);
    while (!sender.stop) {
        int64_t pause_ms = sender.paused_until_ms - now_monotonic_ms();
        bool quitting = daemon_stopping();
        struct sms_job *job;
        while ((job = sender.jobs) && job->started < job->n &&
               (quitting || pause_ms > 0 || sender.in_flight < sender.concurrency)) {
            size_t i = job->started++;
            if (job->started == job->n)
                sender.jobs = job->next; /* all started: only its answers are awaited */
            if (quitting)
                hold_back(job, i, 0, "the daemon is stopping");
            else if (pause_ms > 0)
                hold_back(job, i, (int)((pause_ms + 999) / 1000),
                          "the gateway asked us to slow down");
            else
                start_one(job, i);
        }
        pthread_mutex_unlock(&sender.lock);
        httpc_run(sender.http, 1000);
        struct httpc_response resp;
        void *tag;
        while (httpc_done(sender.http, &resp, &tag)) {
            finish(tag, &resp);
            httpc_response_release(&resp);
        }
        pthread_mutex_lock(&sender.lock);
    }
    pthread_mutex_unlock(&sender.lock);
    return NULL;
}

static int sender_acquire(char **error_r)
{
    int rc = 0;
    pthread_mutex_lock(&life);
    if (sender.users == 0) {
        sender.concurrency = config_int("sms", "concurrency");
        sender.http = httpc_new(config_int("sms", "timeout") * 1000L, sender.concurrency);
        sender.stop = false;
        sender.in_flight = 0;
        sender.paused_until_ms = 0;
        if (!sender.http) {
            *error_r = xstrdup("cannot initialise libcurl");
            rc = -1;
        } else if (pthread_create(&sender.thread, NULL, sender_main, NULL) != 0) {
            httpc_free(&sender.http);
            *error_r = xstrdup("cannot start the SMS sender thread");
            rc = -1;
        }
    }
    if (rc == 0)
        sender.users++;
    pthread_mutex_unlock(&life);
    return rc;
}

static void sender_release(void)
{
    pthread_mutex_lock(&life);
    if (--sender.users == 0) {
        pthread_mutex_lock(&sender.lock);
        sender.stop = true;
        pthread_mutex_unlock(&sender.lock);
        httpc_wakeup(sender.http);
        pthread_join(sender.thread, NULL);
        httpc_free(&sender.http);
    }
    pthread_mutex_unlock(&life);
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
    if (sender_acquire(error_r) < 0)
        return -1;
    struct transport *tr = xcalloc(1, sizeof(*tr));
    tr->provider = provider;
    size_t len = strlen(api);
    while (len && api[len - 1] == '/')
        len--;
    tr->api_url = xstrndup(api, len);
    *t = tr;
    return 0;
}

void sms_transport_send(struct transport *t, const struct outbound_msg *msgs, size_t n,
                        struct send_result *results)
{
    if (n == 0)
        return;
    memset(results, 0, n * sizeof(*results));
    struct sms_job job = {.t = t, .msgs = msgs, .results = results, .n = n, .remaining = n};
    pthread_mutex_lock(&sender.lock);
    struct sms_job **tail = &sender.jobs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = &job;
    pthread_mutex_unlock(&sender.lock);
    httpc_wakeup(sender.http);
    pthread_mutex_lock(&sender.lock);
    while (job.remaining > 0)
        pthread_cond_wait(&sender.progress, &sender.lock);
    pthread_mutex_unlock(&sender.lock);
}

void sms_transport_close(struct transport **t)
{
    if (!*t)
        return;
    free((*t)->api_url);
    free(*t);
    *t = NULL;
    sender_release();
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
    http = httpc_new(config_int("sms", "timeout") * 1000L, 1);
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
