#include "outbound/httpc.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

/* One request on its way: what must outlive curl_multi_add_handle(). */
struct transfer {
    CURL *easy;
    struct curl_slist *headers;
    struct buf body;
    void *tag;
    struct transfer *prev, *next; /* the client's running transfers, for httpc_free() */
};

struct httpc {
    CURLM *multi;
    long timeout_ms;
    struct transfer *running;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct httpc *httpc_new(long timeout_ms, long max_in_flight)
{
    pthread_once(&global_once, global_init);
    CURLM *multi = curl_multi_init();
    if (!multi)
        return NULL;
    /* Many requests to one host: multiplexed on one HTTP/2 connection when the server
     * speaks it, else one keep-alive connection per request in flight, kept for the next. */
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_in_flight);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_in_flight);
    curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, max_in_flight);
    struct httpc *c = xcalloc(1, sizeof(*c));
    c->multi = multi;
    c->timeout_ms = timeout_ms;
    return c;
}

static void transfer_free(struct httpc *c, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        c->running = t->next;
    if (t->next)
        t->next->prev = t->prev;
    curl_multi_remove_handle(c->multi, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    buf_release(&t->body);
    free(t);
}

void httpc_free(struct httpc **client)
{
    struct httpc *c = *client;
    if (!c)
        return;
    while (c->running)
        transfer_free(c, c->running);
    curl_multi_cleanup(c->multi);
    free(c);
    *client = NULL;
}

static size_t on_data(char *data, size_t size, size_t n, void *user)
{
    struct buf *b = user;
    /* A provider's answer is a few hundred bytes; refuse to buffer megabytes. */
    if (b->len + size * n > 1024 * 1024)
        return 0;
    buf_add(b, data, size * n);
    return size * n;
}

int httpc_start(struct httpc *c, const struct httpc_request *req, void *tag)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    struct transfer *t = xcalloc(1, sizeof(*t));
    t->easy = curl;
    t->tag = tag;
    curl_easy_setopt(curl, CURLOPT_PRIVATE, t);
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tocsin");
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Wait for the first connection to say whether it multiplexes rather than opening
     * one connection per request at once to a server that would have taken them all on one. */
    curl_easy_setopt(curl, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t->body);
    /* Expect: 100-continue would add a round trip per message for nothing. */
    t->headers = curl_slist_append(t->headers, "Expect:");
    if (req->header)
        t->headers = curl_slist_append(t->headers, req->header);
    if (strcmp(req->method, "POST") == 0) {
        char *type = xasprintf("Content-Type: %s", req->content_type);
        t->headers = curl_slist_append(t->headers, type);
        free(type);
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, req->body);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, t->headers);
    if (req->user) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    t->next = c->running;
    if (c->running)
        c->running->prev = t;
    c->running = t;
    if (curl_multi_add_handle(c->multi, curl) != CURLM_OK) {
        transfer_free(c, t);
        return -1;
    }
    return 0;
}

void httpc_run(struct httpc *c, int wait_ms)
{
    int running = 0;
    curl_multi_perform(c->multi, &running);
    curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
    curl_multi_perform(c->multi, &running);
}

void httpc_wakeup(struct httpc *c)
{
    curl_multi_wakeup(c->multi);
}

/* Whether the request reached the server, and what it answered. */
static void read_outcome(CURL *curl, CURLcode rc, struct httpc_response *resp)
{
    if (rc == CURLE_OK) {
        curl_off_t retry_after = 0;
        resp->outcome = HTTPC_ANSWERED;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
        if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
            resp->retry_after_s = (long)retry_after;
        return;
    }
    long request_size = 0;
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
    bool never_sent = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
                      rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR ||
                      rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
                      request_size == 0;
    resp->outcome = never_sent ? HTTPC_NOT_SENT : HTTPC_AMBIGUOUS;
    resp->error = xasprintf("%s%s", curl_easy_strerror(rc),
                            never_sent ? "" : " (after the request was sent)");
}

bool httpc_done(struct httpc *c, struct httpc_response *resp, void **tag_r)
{
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *curl = msg->easy_handle;
        CURLcode rc = msg->data.result;
        struct transfer *t = NULL;
        curl_easy_getinfo(curl, CURLINFO_PRIVATE, (char **)&t);
        memset(resp, 0, sizeof(*resp));
        read_outcome(curl, rc, resp);
        resp->body = t->body;
        t->body = (struct buf)BUF_INIT;
        *tag_r = t->tag;
        transfer_free(c, t);
        return true;
    }
    return false;
}

void httpc_perform(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (httpc_start(c, req, NULL) != 0) {
        resp->outcome = HTTPC_NOT_SENT;
        resp->error = xstrdup("libcurl refused the request");
        return;
    }
    void *tag;
    while (!httpc_done(c, resp, &tag))
        httpc_run(c, 1000);
}

void httpc_response_release(struct httpc_response *resp)
{
    buf_release(&resp->body);
    xfree(&resp->error);
}

void httpc_form_add(struct buf *form, const char *name, const char *value)
{
    char *n = curl_easy_escape(NULL, name, 0);
    char *v = curl_easy_escape(NULL, value ? value : "", 0);
    buf_printf(form, "%s%s=%s", form->len ? "&" : "", n, v);
    curl_free(n);
    curl_free(v);
}

/* What the relay said, and which command we sent: enough to see where a session stopped.
 * Our own lines are cut to their first word, so AUTH PLAIN's base64 credentials and the
 * answers to a LOGIN challenge never reach a terminal or a log. */
static int on_smtp_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *user)
{
    (void)curl;
    struct buf *transcript = user;
    if (type == CURLINFO_HEADER_IN) {
        buf_adds(transcript, "< ");
        buf_add(transcript, data, size);
        if (size == 0 || data[size - 1] != '\n')
            buf_addch(transcript, '\n');
    } else if (type == CURLINFO_HEADER_OUT) {
        size_t word = strcspn(data, " \r\n");
        if (word > size)
            word = size;
        /* A LOGIN answer is base64 without a command word: show nothing of it. */
        bool command = word >= 4 && word <= 8;
        for (size_t i = 0; command && i < word; i++)
            command = data[i] >= 'A' && data[i] <= 'Z';
        buf_adds(transcript, "> ");
        if (command)
            buf_add(transcript, data, word);
        else
            buf_adds(transcript, "(credentials)");
        buf_addch(transcript, '\n');
    }
    return 0;
}

enum httpc_probe httpc_smtp_probe(const struct httpc_smtp *relay, struct buf *transcript,
                                  char **error_r)
{
    pthread_once(&global_once, global_init);
    CURL *curl = curl_easy_init();
    if (!curl) {
        *error_r = xstrdup("cannot initialise libcurl");
        return HTTPC_PROBE_UNREACHABLE;
    }
    bool implicit = strcmp(relay->tls, "on") == 0;
    /* The URL's path is the EHLO domain. */
    char *url = xasprintf("%s://%s:%ld/%s", implicit ? "smtps" : "smtp", relay->host, relay->port,
                          relay->helo_domain ? relay->helo_domain : "");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, relay->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     strcmp(relay->tls, "starttls") == 0 ? (long)CURLUSESSL_ALL
                                                         : (long)CURLUSESSL_NONE);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, relay->verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, relay->verify ? 2L : 0L);
    if (relay->user && *relay->user) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, relay->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, relay->password ? relay->password : "");
    }
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_smtp_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, transcript);
    CURLcode rc = curl_easy_perform(curl);
    enum httpc_probe result = HTTPC_PROBE_OK;
    if (rc != CURLE_OK) {
        bool unreachable = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
                           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
                           rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING;
        result = unreachable ? HTTPC_PROBE_UNREACHABLE : HTTPC_PROBE_REFUSED;
        const char *why = rc == CURLE_LOGIN_DENIED ? "AUTH refused: check [smtp] user and password"
                          : rc == CURLE_USE_SSL_FAILED ? "the relay does not offer STARTTLS"
                          : rc == CURLE_PEER_FAILED_VERIFICATION
                              ? "the relay's certificate does not verify (its name or its issuer)"
                              : curl_easy_strerror(rc);
        *error_r = xstrdup(why);
    }
    /* Cleanup ends the session with QUIT. */
    curl_easy_cleanup(curl);
    free(url);
    return result;
}
