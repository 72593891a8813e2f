#include "outbound/httpc.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

struct httpc {
    CURL *curl;
    long timeout_ms;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct httpc *httpc_new(long timeout_ms)
{
    pthread_once(&global_once, global_init);
    struct httpc *c = xcalloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    c->timeout_ms = timeout_ms;
    return c;
}

void httpc_free(struct httpc **client)
{
    if (!*client)
        return;
    curl_easy_cleanup((*client)->curl);
    free(*client);
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

void httpc_perform(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    CURL *curl = c->curl;
    struct curl_slist *headers = NULL;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tocsin");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
    /* Expect: 100-continue would add a round trip per message for nothing. */
    headers = curl_slist_append(headers, "Expect:");
    if (req->header)
        headers = curl_slist_append(headers, req->header);
    if (strcmp(req->method, "POST") == 0) {
        char *type = xasprintf("Content-Type: %s", req->content_type);
        headers = curl_slist_append(headers, type);
        free(type);
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (req->user) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_off_t retry_after = 0;
        resp->outcome = HTTPC_ANSWERED;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
        if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
            resp->retry_after_s = (long)retry_after;
    } else {
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
    curl_slist_free_all(headers);
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
