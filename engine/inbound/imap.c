#include "inbound/imap.h"
#include "lib/db.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/config.h"
#include "core/database.h"
#include "core/daemon.h"
#include "inbound/imap_apply.h"
#include "inbound/mail_inbound.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <libetpan/libetpan.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Messages fetched per round trip; their bodies are bounded by max_size each. */
#define IMAP_BATCH 200
/* RFC 2177: re-issue IDLE before the server's 30-minute inactivity timer. */
#define IMAP_IDLE_SECONDS (25 * 60)
#define IMAP_MAX_BACKOFF  60

static pthread_t reader;
static bool reader_running;
static atomic_bool reader_stop;
/* The socket of the current session, so imap_stop() can break a blocking read. */
static pthread_mutex_t socket_lock = PTHREAD_MUTEX_INITIALIZER;
static int session_fd = -1;

struct session {
    mailimap *imap;
    struct db *db;      /* transactions */
    struct db *lock_db; /* holds the advisory lock, nothing else */
    char *mailbox_key;  /* "user@host:port/MAILBOX": imap_mailboxes key and lock name */
    const char *mailbox;
    const char *done_mailbox;
    long max_size;
    uint32_t uidvalidity;
    uint32_t last_uid;
    /* After a server sent a literal over max_size in a FETCH of several bodies, bodies are
     * fetched one at a time, so the next refusal names its message, which is then skipped. */
    bool one_by_one;
    uint32_t oversized_uid;
};

static bool stopping(void)
{
    return atomic_load(&reader_stop) || daemon_stopping();
}

/* Sleep up to `seconds`, waking early when the daemon stops. */
static void nap(double seconds)
{
    for (double slept = 0; slept < seconds && !stopping(); slept += 0.1)
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
}

static const char *imap_error_text(int code)
{
    switch (code) {
    case MAILIMAP_ERROR_STREAM:
        return "connection lost";
    case MAILIMAP_ERROR_CONNECTION_REFUSED:
        return "connection refused";
    case MAILIMAP_ERROR_LOGIN:
        return "login refused";
    case MAILIMAP_ERROR_SSL:
        return "TLS failed";
    case MAILIMAP_ERROR_STARTTLS:
        return "STARTTLS failed";
    case MAILIMAP_ERROR_SELECT:
        return "mailbox cannot be selected";
    case MAILIMAP_ERROR_FETCH:
        return "FETCH failed";
    case MAILIMAP_ERROR_STORE:
        return "STORE failed";
    case MAILIMAP_ERROR_PARSE:
        return "unreadable server answer";
    default:
        return "IMAP error";
    }
}

/*
 * libetpan 1.9 does not treat end-of-file inside a literal (a message body being fetched)
 * as an error: it calls recv() again forever, spinning a core, and the daemon can no
 * longer stop. We wrap the stream's driver so that a read of 0 bytes (the peer closed)
 * is reported as an error, which turns into MAILIMAP_ERROR_STREAM and a reconnect.
 */
struct wrapped_driver {
    const mailstream_low_driver *original;
    mailstream_low_driver wrapped;
};
static struct wrapped_driver wrapped_drivers[4];
static pthread_mutex_t wrapped_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * libetpan reads a literal ("{N}" CRLF, then N bytes: a message body) into memory whatever
 * N the server announced, and RFC822.SIZE is only the server's word too. So the same
 * wrapper follows the stream's literals: outside a literal, "{N}" (or "{N+}") at the end of
 * a line announces one, and N bytes are then passed through unexamined (a quoted string
 * cannot hold a line end, so nothing else looks like that). An announcement over the limit
 * ([imap] max_size, plus room for the response around it) fails the read before libetpan
 * sees it: the session ends with an error and nothing was buffered. Only the reader thread
 * reads IMAP, one session at a time, so this state is the reader's alone.
 */
static struct {
    uint64_t limit; /* largest literal accepted; 0: not checking */
    uint64_t left;  /* bytes of the current literal not yet passed */
    char tail[24];  /* the last bytes outside literals, to find "{N}\r\n" */
    size_t ntail;
    uint64_t refused; /* the size announced when the last read was refused, else 0 */
} literals;

static void literals_reset(uint64_t limit)
{
    memset(&literals, 0, sizeof(literals));
    literals.limit = limit;
}

/* The literal announced by a line ending in `tail` ("…{123}\r\n"), or -1. */
static int64_t announced_literal(const char *tail, size_t n)
{
    if (n < 5 || tail[n - 1] != '\n' || tail[n - 2] != '\r' || tail[n - 3] != '}')
        return -1;
    size_t end = n - 3, i = end;
    if (i > 0 && tail[i - 1] == '+') /* LITERAL+ */
        end = --i;
    while (i > 0 && tail[i - 1] >= '0' && tail[i - 1] <= '9')
        i--;
    if (i == 0 || tail[i - 1] != '{' || i == end || end - i > 18)
        return -1;
    int64_t v = 0;
    for (size_t k = i; k < end; k++)
        v = v * 10 + (tail[k] - '0');
    return v;
}

/* 0 when the bytes may go on to libetpan, -1 when they announce a literal over the limit. */
static int follow_literals(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (literals.left) {
            size_t skip = n - i < literals.left ? n - i : (size_t)literals.left;
            literals.left -= skip;
            i += skip - 1;
            continue;
        }
        if (literals.ntail == sizeof(literals.tail)) {
            memmove(literals.tail, literals.tail + 1, sizeof(literals.tail) - 1);
            literals.ntail--;
        }
        literals.tail[literals.ntail++] = (char)p[i];
        int64_t size = announced_literal(literals.tail, literals.ntail);
        if (size < 0)
            continue;
        literals.ntail = 0;
        if (literals.limit && (uint64_t)size > literals.limit) {
            literals.refused = (uint64_t)size;
            return -1;
        }
        literals.left = (uint64_t)size;
    }
    return 0;
}

static ssize_t eof_is_error_read(mailstream_low *low, void *buf, size_t count)
{
    const mailstream_low_driver *original = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(wrapped_drivers); i++)
        if (low->driver == &wrapped_drivers[i].wrapped)
            original = wrapped_drivers[i].original;
    ssize_t n = original->mailstream_read(low, buf, count);
    if (n > 0 && follow_literals(buf, (size_t)n) < 0)
        return -1;
    return n == 0 && count > 0 ? -1 : n;
}

static void wrap_stream(mailimap *imap)
{
    mailstream_low *low = imap->imap_stream ? mailstream_get_low(imap->imap_stream) : NULL;
    if (!low)
        return;
    pthread_mutex_lock(&wrapped_lock);
    for (size_t i = 0; i < ARRAY_SIZE(wrapped_drivers); i++) {
        struct wrapped_driver *w = &wrapped_drivers[i];
        if (low->driver == &w->wrapped)
            break;
        if (!w->original || w->original == low->driver) {
            if (!w->original) {
                w->original = low->driver;
                w->wrapped = *low->driver;
                w->wrapped.mailstream_read = eof_is_error_read;
            }
            low->driver = &w->wrapped;
            break;
        }
    }
    pthread_mutex_unlock(&wrapped_lock);
    pthread_mutex_lock(&socket_lock);
    session_fd = mailstream_low_get_fd(low);
    pthread_mutex_unlock(&socket_lock);
}

static void sni_callback(struct mailstream_ssl_context *ctx, void *host)
{
    mailstream_ssl_set_server_name(ctx, host);
}

/* Verify the server's certificate chain against the system's trust store and its name
 * against [imap] host; libetpan hands us the chain but checks nothing itself. */
static int verify_certificate(mailimap *imap, const char *host, char **error_r)
{
    carray *chain = mailstream_get_certificate_chain(imap->imap_stream);
    if (!chain || carray_count(chain) == 0) {
        if (chain)
            mailstream_certificate_chain_free(chain);
        *error_r = xstrdup("TLS: the server sent no certificate");
        return -1;
    }
    X509 *leaf = NULL;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (unsigned i = 0; i < carray_count(chain); i++) {
        MMAPString *der = carray_get(chain, i);
        const unsigned char *p = (const unsigned char *)der->str;
        X509 *cert = d2i_X509(NULL, &p, (long)der->len);
        if (!cert)
            continue;
        if (!leaf)
            leaf = cert;
        else
            sk_X509_push(untrusted, cert);
    }
    mailstream_certificate_chain_free(chain);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_set_default_paths(store);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;
    if (!leaf) {
        *error_r = xstrdup("TLS: unreadable server certificate");
        goto out;
    }
    X509_STORE_CTX_init(ctx, store, leaf, untrusted);
    if (X509_verify_cert(ctx) != 1) {
        *error_r = xasprintf("TLS: certificate not trusted (%s)",
                             X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if ((is_ip ? X509_check_ip_asc(leaf, host, 0) : X509_check_host(leaf, host, 0, 0, NULL)) != 1) {
        *error_r = xasprintf("TLS: certificate does not name %s", host);
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    sk_X509_pop_free(untrusted, X509_free);
    return rc;
}

static int imap_connect(struct session *s, char **error_r)
{
    /* Room for a FETCH response's own words around the largest body accepted. */
    literals_reset((uint64_t)s->max_size + 4096);
    const char *host = config_str("imap", "host");
    const char *tls = config_str("imap", "tls");
    uint16_t port = (uint16_t)config_int("imap", "port");
    s->imap = mailimap_new(0, NULL);
    mailimap_set_timeout(s->imap, 120);
    int r;
    if (strcmp(tls, "on") == 0)
        r = mailimap_ssl_connect_with_callback(s->imap, host, port, sni_callback, (void *)host);
    else
        r = mailimap_socket_connect(s->imap, host, port);
    if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
        *error_r = xasprintf("connect to %s:%u: %s", host, port, imap_error_text(r));
        return -1;
    }
    wrap_stream(s->imap);
    if (strcmp(tls, "starttls") == 0) {
        r = mailimap_socket_starttls_with_callback(s->imap, sni_callback, (void *)host);
        if (r != MAILIMAP_NO_ERROR) {
            *error_r = xasprintf("STARTTLS with %s: %s", host, imap_error_text(r));
            return -1;
        }
        wrap_stream(s->imap);
    }
    if (strcmp(tls, "off") != 0 && config_bool("imap", "tls_verify") &&
        verify_certificate(s->imap, host, error_r) < 0)
        return -1;
    const char *user = config_str("imap", "user");
    const char *password = config_str("imap", "password");
    r = mailimap_login(s->imap, user, password);
    if (r != MAILIMAP_NO_ERROR)
        r = mailimap_authenticate(s->imap, "PLAIN", host, NULL, NULL, user, user, password, NULL);
    if (r != MAILIMAP_NO_ERROR) {
        *error_r = xasprintf("login as %s: %s", user, imap_error_text(r));
        return -1;
    }
    /* Capabilities may change after login (IDLE, MOVE). */
    struct mailimap_capability_data *caps = NULL;
    if (mailimap_capability(s->imap, &caps) == MAILIMAP_NO_ERROR)
        mailimap_capability_data_free(caps);
    r = mailimap_select(s->imap, s->mailbox);
    if (r != MAILIMAP_NO_ERROR || !s->imap->imap_selection_info) {
        *error_r = xasprintf("select %s: %s", s->mailbox, imap_error_text(r));
        return -1;
    }
    s->uidvalidity = s->imap->imap_selection_info->sel_uidvalidity;
    return 0;
}

static void imap_disconnect(struct session *s)
{
    if (!s->imap)
        return;
    pthread_mutex_lock(&socket_lock);
    session_fd = -1;
    pthread_mutex_unlock(&socket_lock);
    if (s->imap->imap_stream)
        mailimap_logout(s->imap);
    mailimap_free(s->imap);
    s->imap = NULL;
}

/* Read the high-water mark; a new UIDVALIDITY starts it again at 0. */
static int load_mark(struct session *s, char **error_r)
{
    const char *params[] = {s->mailbox_key};
    PGresult *res =
        db_exec(s->db, "SELECT uidvalidity, last_uid FROM imap_mailboxes WHERE mailbox = $1", 1,
                params, error_r);
    if (!res)
        return -1;
    s->last_uid = 0;
    if (PQntuples(res) == 1) {
        uint32_t validity = (uint32_t)strtoul(db_value(res, 0, 0), NULL, 10);
        if (validity == s->uidvalidity) {
            s->last_uid = (uint32_t)strtoul(db_value(res, 0, 1), NULL, 10);
        } else {
            log_warn("imap_uidvalidity_changed",
                     "mailbox=%s old=%" PRIu32 " new=%" PRIu32
                     " action=rescan_with_message_id_dedupe",
                     log_q(s->mailbox_key), validity, s->uidvalidity);
        }
    }
    PQclear(res);
    return 0;
}

/* UIDs from `first` on (ascending; "first:*" may answer the last UID even if below). */
static int search_from(struct session *s, uint32_t first, bool unseen_only, uint32_t last,
                       uint32_t **uids_r, size_t *n_r, char **error_r)
{
    struct mailimap_set *set = mailimap_set_new_interval(first, last);
    struct mailimap_search_key *key = mailimap_search_key_new_uid(set);
    if (unseen_only) {
        struct mailimap_search_key *both = mailimap_search_key_new_multiple_empty();
        mailimap_search_key_multiple_add(both, key);
        mailimap_search_key_multiple_add(
            both, mailimap_search_key_new(MAILIMAP_SEARCH_KEY_UNSEEN, NULL, NULL, NULL, NULL, NULL,
                                          NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                                          NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL));
        key = both;
    }
    clist *result = NULL;
    int r = mailimap_uid_search(s->imap, NULL, key, &result);
    mailimap_search_key_free(key);
    if (r != MAILIMAP_NO_ERROR) {
        *error_r = xasprintf("UID SEARCH: %s", imap_error_text(r));
        return -1;
    }
    size_t n = 0;
    uint32_t *uids = xcalloc((size_t)clist_count(result) + 1, sizeof(uint32_t));
    for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
        uint32_t uid = *(uint32_t *)clist_content(it);
        if (uid >= first && (last == 0 || uid <= last))
            uids[n++] = uid;
    }
    mailimap_search_result_free(result);
    for (size_t i = 1; i < n; i++) /* insertion sort: servers answer nearly sorted */
        for (size_t j = i; j > 0 && uids[j - 1] > uids[j]; j--) {
            uint32_t t = uids[j];
            uids[j] = uids[j - 1];
            uids[j - 1] = t;
        }
    *uids_r = uids;
    *n_r = n;
    return 0;
}

/* Flag \Seen or move to done_mailbox: the effect of these UIDs is committed. */
static int mark_done(struct session *s, const uint32_t *uids, size_t n, char **error_r)
{
    if (n == 0)
        return 0;
    struct mailimap_set *set = mailimap_set_new_empty();
    for (size_t i = 0; i < n; i++)
        mailimap_set_add_single(set, uids[i]);
    int r;
    if (*s->done_mailbox) {
        if (mailimap_has_extension(s->imap, "MOVE")) {
            r = mailimap_uid_move(s->imap, set, s->done_mailbox);
        } else {
            r = mailimap_uid_copy(s->imap, set, s->done_mailbox);
            if (r == MAILIMAP_NO_ERROR) {
                struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
                mailimap_flag_list_add(flags, mailimap_flag_new_deleted());
                struct mailimap_store_att_flags *store =
                    mailimap_store_att_flags_new_add_flags_silent(flags);
                r = mailimap_uid_store(s->imap, set, store);
                mailimap_store_att_flags_free(store);
                if (r == MAILIMAP_NO_ERROR)
                    r = mailimap_has_extension(s->imap, "UIDPLUS")
                            ? mailimap_uid_expunge(s->imap, set)
                            : mailimap_expunge(s->imap);
            }
        }
    } else {
        struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
        mailimap_flag_list_add(flags, mailimap_flag_new_seen());
        struct mailimap_store_att_flags *store =
            mailimap_store_att_flags_new_add_flags_silent(flags);
        r = mailimap_uid_store(s->imap, set, store);
        mailimap_store_att_flags_free(store);
    }
    mailimap_set_free(set);
    if (r != MAILIMAP_NO_ERROR) {
        *error_r =
            xasprintf("%s: %s", *s->done_mailbox ? "MOVE" : "STORE \\Seen", imap_error_text(r));
        return -1;
    }
    return 0;
}

/* After a crash between a commit and its flag, mail at or below the mark is still there
 * unflagged (or unmoved): finish that step first. */
static int repair(struct session *s, char **error_r)
{
    if (s->last_uid == 0)
        return 0;
    uint32_t *uids = NULL;
    size_t n = 0;
    if (search_from(s, 1, !*s->done_mailbox, s->last_uid, &uids, &n, error_r) < 0)
        return -1;
    int rc = mark_done(s, uids, n, error_r);
    if (rc == 0 && n > 0)
        log_info("imap_repaired", "mailbox=%s messages=%zu", log_q(s->mailbox_key), n);
    free(uids);
    return rc;
}

struct fetched {
    uint32_t uid;
    uint32_t size;
    const char *body;
    size_t len;
};

/* One FETCH for a set of UIDs: either (UID RFC822.SIZE) or (UID BODY.PEEK[]). */
static int fetch(struct session *s, const uint32_t *uids, size_t n, bool bodies, clist **result_r,
                 struct fetched *out, char **error_r)
{
    struct mailimap_set *set = mailimap_set_new_empty();
    for (size_t i = 0; i < n; i++)
        mailimap_set_add_single(set, uids[i]);
    struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid());
    if (bodies)
        mailimap_fetch_type_new_fetch_att_list_add(
            type, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
    else
        mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_rfc822_size());
    literals.refused = 0;
    int r = mailimap_uid_fetch(s->imap, set, type, result_r);
    mailimap_fetch_type_free(type);
    mailimap_set_free(set);
    if (r != MAILIMAP_NO_ERROR && literals.refused) {
        log_error("imap_literal_too_large",
                  "mailbox=%s uid=%" PRIu32 " messages=%zu announced=%" PRIu64 " max_size=%ld",
                  log_q(s->mailbox_key), uids[0], n, literals.refused, s->max_size);
        if (n == 1)
            s->oversized_uid = uids[0];
        s->one_by_one = true;
        *error_r = xasprintf("UID FETCH: the server announced %" PRIu64
                             " bytes for one item, over [imap] max_size",
                             literals.refused);
        return -1;
    }
    if (r != MAILIMAP_NO_ERROR) {
        *error_r = xasprintf("UID FETCH: %s", imap_error_text(r));
        return -1;
    }
    for (clistiter *it = clist_begin(*result_r); it; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);
        struct fetched f = {0};
        for (clistiter *j = clist_begin(att->att_list); j; j = clist_next(j)) {
            struct mailimap_msg_att_item *item = clist_content(j);
            if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
                continue;
            struct mailimap_msg_att_static *st = item->att_data.att_static;
            if (st->att_type == MAILIMAP_MSG_ATT_UID)
                f.uid = st->att_data.att_uid;
            else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
                f.size = st->att_data.att_rfc822_size;
            else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
                     st->att_data.att_body_section) {
                f.body = st->att_data.att_body_section->sec_body_part;
                f.len = st->att_data.att_body_section->sec_length;
            }
        }
        for (size_t i = 0; i < n; i++)
            if (uids[i] == f.uid) {
                out[i].uid = f.uid;
                if (bodies) {
                    out[i].body = f.body;
                    out[i].len = f.len;
                } else {
                    out[i].size = f.size;
                }
            }
    }
    return 0;
}

/* One batch of new UIDs on its way from the server to the database: their sizes (meta),
 * the bodies fetched for those not too large, and each mail as the appliers take it
 * (imap_apply.h). */
struct imap_batch {
    struct session *s;
    const uint32_t *uids;
    size_t n;
    struct fetched *meta, *got;
    const struct fetched **body;
    clist *sizes, *bodies; /* libetpan's lists the fetched pointers point into */
    struct imap_mail *mails;
    struct imap_apply_batch apply;
};

static struct imap_batch *imap_batch_new(struct session *s, const uint32_t *uids, size_t n)
{
    struct imap_batch *b = xcalloc(1, sizeof(*b));
    *b = (struct imap_batch){.s = s, .uids = uids, .n = n};
    b->meta = xcalloc(n, sizeof(*b->meta));
    b->got = xcalloc(n, sizeof(*b->got));
    b->body = xcalloc(n, sizeof(*b->body));
    b->mails = xcalloc(n, sizeof(*b->mails));
    b->apply = (struct imap_apply_batch){
        .mails = b->mails, .n = n, .mailbox = s->mailbox_key, .uidvalidity = s->uidvalidity};
    return b;
}

static void imap_batch_free(struct imap_batch **bp)
{
    struct imap_batch *b = *bp;
    if (!b)
        return;
    if (b->sizes)
        mailimap_fetch_list_free(b->sizes);
    if (b->bodies)
        mailimap_fetch_list_free(b->bodies);
    for (size_t i = 0; i < b->n; i++)
        if (b->mails[i].raw)
            mail_parsed_release(&b->mails[i].parsed);
    free(b->meta);
    free(b->got);
    free(b->body);
    free(b->mails);
    free(b);
    *bp = NULL;
}

/* Fetch the sizes, then in one more FETCH the bodies of the mails small enough. */
static int fetch_batch(struct imap_batch *b, char **error_r)
{
    size_t n = b->n, nwanted = 0;
    if (fetch(b->s, b->uids, n, false, &b->sizes, b->meta, error_r) < 0)
        return -1;
    uint32_t *wanted = xcalloc(n, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        if (b->meta[i].uid == 0)
            continue; /* expunged meanwhile */
        if (b->meta[i].size > (uint32_t)b->s->max_size || b->uids[i] == b->s->oversized_uid)
            continue;
        wanted[nwanted++] = b->uids[i];
    }
    int rc = nwanted > 0 ? fetch(b->s, wanted, nwanted, true, &b->bodies, b->got, error_r) : 0;
    free(wanted);
    if (rc < 0)
        return -1;
    /* got[] follows wanted[]: line each body up with its UID. */
    for (size_t i = 0, w = 0; i < n; i++)
        if (b->meta[i].uid != 0 && b->meta[i].size <= (uint32_t)b->s->max_size &&
            b->uids[i] != b->s->oversized_uid)
            b->body[i] = w < nwanted ? &b->got[w++] : NULL;
    return 0;
}

/* Mail i as the appliers take it: parsed and pending, or settled here already — expunged
 * meanwhile (passed), too large (skipped with a log line, never fetched, flagged), not a
 * mail (rejected with a log line, flagged). Parsing is pure: the reader does it while the
 * appliers are busy with the previous batch. 0, or -1 with *error_r. */
static int prepare_mail(struct imap_batch *b, size_t i, char **error_r)
{
    struct session *s = b->s;
    struct imap_mail *m = &b->mails[i];
    m->uid = b->uids[i];
    m->state = MAIL_APPLIED;
    if (b->meta[i].uid == 0) {
        m->state = MAIL_LEFT;
        return 0;
    }
    if (b->meta[i].size > (uint32_t)s->max_size || m->uid == s->oversized_uid) {
        log_warn("imap_too_large",
                 "mailbox=%s uid=%" PRIu32 " size=%" PRIu32
                 " max_size=%ld reason=%s action=skipped",
                 log_q(s->mailbox), m->uid, b->meta[i].size, s->max_size,
                 m->uid == s->oversized_uid ? "literal" : "size");
        if (m->uid == s->oversized_uid)
            s->oversized_uid = 0;
        return 0;
    }
    if (!b->body[i] || !b->body[i]->body) {
        *error_r = xasprintf("UID %" PRIu32 " came back without a body", m->uid);
        return -1;
    }
    char *reason = NULL;
    if (mail_parse(b->body[i]->body, b->body[i]->len, NULL, &m->parsed, &reason) < 0) {
        log_warn("mail_rejected", "provider=imap uid=%" PRIu32 " reason=%s", m->uid, log_q(reason));
        free(reason);
        return 0;
    }
    m->raw = b->body[i]->body;
    m->len = b->body[i]->len;
    m->state = MAIL_PENDING;
    return 0;
}

/* Fetch a batch and make its mails ready for the appliers. NULL with *error_r. */
static struct imap_batch *read_batch(struct session *s, const uint32_t *uids, size_t n,
                                     char **error_r)
{
    struct imap_batch *b = imap_batch_new(s, uids, n);
    int rc = fetch_batch(b, error_r);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = prepare_mail(b, i, error_r);
    if (rc < 0)
        imap_batch_free(&b);
    return b;
}

/* Wait for the appliers to be done with a batch, move the high-water mark past every mail
 * settled (up to the first one still pending, if the database went away), then flag the
 * mails whose effect is committed. 0, or -1 with *error_r (the first error). */
static int settle_batch(struct imap_batch *b, char **error_r)
{
    struct session *s = b->s;
    int rc = imap_apply_wait(&b->apply, error_r);
    uint32_t *flag = xcalloc(b->n + 1, sizeof(uint32_t));
    size_t nflag = 0, settled = 0;
    while (settled < b->n && b->mails[settled].state != MAIL_PENDING)
        settled++;
    for (size_t i = 0; i < settled; i++)
        if (b->mails[i].state == MAIL_APPLIED)
            flag[nflag++] = b->mails[i].uid;
    if (settled > 0 && b->mails[settled - 1].uid > s->last_uid) {
        const struct mail_source src = {.provider = "imap",
                                        .mailbox = s->mailbox_key,
                                        .uidvalidity = s->uidvalidity,
                                        .uid = b->mails[settled - 1].uid};
        char *mark_error = NULL;
        if (mail_inbound_skip(s->db, &src, &mark_error) == 0)
            s->last_uid = b->mails[settled - 1].uid;
        else if (rc == 0)
            *error_r = mark_error, rc = -1;
        else
            free(mark_error);
    }
    /* Flag what was committed, even when a later message failed. */
    char *flag_error = NULL;
    if (mark_done(s, flag, nflag, &flag_error) < 0) {
        if (rc == 0)
            *error_r = flag_error, rc = -1;
        else
            free(flag_error);
    }
    free(flag);
    return rc;
}

/* A batch handed over after one that could not be settled: waited for, neither marked
 * nor flagged. What it applied is read again and found applied (Message-ID dedupe). */
static void abandon_batch(struct imap_batch **bp)
{
    char *error = NULL;
    imap_apply_wait(&(*bp)->apply, &error);
    free(error);
    imap_batch_free(bp);
}

/*
 * Every mail above the high-water mark, batch by batch, each batch fetched and parsed
 * while the appliers apply the previous one, and handed over before that one is settled:
 * the server's round trips, the parsing and the flagging overlap the database's work
 * instead of adding to it, and an applier done with its share of a batch goes on with the
 * next. 0, or -1 with *error_r.
 */
static int read_new_mail(struct session *s, const uint32_t *uids, size_t n, char **error_r)
{
    struct imap_batch *pending = NULL;
    int rc = 0;
    imap_apply_resume();
    for (size_t i = 0; i < n && rc == 0 && !stopping();) {
        size_t batch = s->one_by_one ? 1 : IMAP_BATCH;
        size_t count = n - i < batch ? n - i : batch;
        struct imap_batch *next = read_batch(s, uids + i, count, error_r);
        i += count;
        if (next)
            imap_apply_submit(&next->apply);
        if (pending) {
            char *settle_error = NULL;
            if (settle_batch(pending, &settle_error) < 0 && next)
                *error_r = settle_error, rc = -1;
            else if (settle_error)
                free(settle_error);
            imap_batch_free(&pending);
        }
        if (!next)
            return -1;
        if (rc < 0) {
            abandon_batch(&next);
            return -1;
        }
        pending = next;
    }
    if (pending) {
        rc = settle_batch(pending, error_r);
        imap_batch_free(&pending);
    }
    /* Every message up to the newest went through: the server's lie is behind us. */
    if (rc == 0 && n > 0)
        s->one_by_one = false;
    return rc;
}

/* Wait for new mail: IDLE when the server has it, else sleep poll_interval. */
static int wait_for_mail(struct session *s, char **error_r)
{
    if (!mailimap_has_idle(s->imap)) {
        nap((double)config_int("imap", "poll_interval"));
        return 0;
    }
    int r = mailimap_idle(s->imap);
    if (r != MAILIMAP_NO_ERROR) {
        *error_r = xasprintf("IDLE: %s", imap_error_text(r));
        return -1;
    }
    int fd = mailimap_idle_get_fd(s->imap);
    time_t until = time(NULL) + IMAP_IDLE_SECONDS;
    while (!stopping() && time(NULL) < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, 200);
        if (ready > 0)
            break;
    }
    r = mailimap_idle_done(s->imap);
    if (r != MAILIMAP_NO_ERROR) {
        *error_r = xasprintf("IDLE DONE: %s", imap_error_text(r));
        return -1;
    }
    return 0;
}

/* Keep the lock connection honest: if it died, the lock went with it. */
static int check_lock(struct session *s, char **error_r)
{
    PGresult *res = db_exec(s->lock_db, "SELECT 1", 0, NULL, error_r);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

/* One connected session: repair, then read batches and wait, until an error or stop. */
static int run_session(struct session *s, char **error_r)
{
    if (imap_connect(s, error_r) < 0 || load_mark(s, error_r) < 0 || repair(s, error_r) < 0)
        return -1;
    log_info("imap_connected", "mailbox=%s uidvalidity=%" PRIu32 " last_uid=%" PRIu32 " idle=%s",
             log_q(s->mailbox_key), s->uidvalidity, s->last_uid,
             mailimap_has_idle(s->imap) ? "yes" : "no");
    while (!stopping()) {
        uint32_t *uids = NULL;
        size_t n = 0;
        if (check_lock(s, error_r) < 0 ||
            search_from(s, s->last_uid + 1, false, 0, &uids, &n, error_r) < 0)
            return -1;
        int rc = read_new_mail(s, uids, n, error_r);
        free(uids);
        if (rc < 0)
            return -1;
        if (n == 0 && wait_for_mail(s, error_r) < 0)
            return -1;
    }
    return 0;
}

/* Take the per-mailbox advisory lock, waiting while another daemon holds it. */
static int take_lock(struct session *s, char **error_r)
{
    bool announced = false;
    while (!stopping()) {
        /* A session advisory lock: on the direct connection, never through a pooler. */
        if (!s->lock_db)
            s->lock_db = database_open_session(error_r);
        if (!s->lock_db)
            break;
        const char *params[] = {s->mailbox_key};
        PGresult *res =
            db_exec(s->lock_db, "SELECT pg_try_advisory_lock(hashtext('tocsin-imap:' || $1))", 1,
                    params, error_r);
        if (!res)
            break;
        bool got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (got)
            return 0;
        if (!announced)
            log_info("imap_standby", "mailbox=%s reason=another daemon reads it",
                     log_q(s->mailbox_key));
        announced = true;
        nap(5);
    }
    if (!*error_r)
        *error_r = xstrdup("stopping");
    return -1;
}

static void *reader_main(void *arg)
{
    (void)arg;
    struct session s = {
        .mailbox = config_str("imap", "mailbox"),
        .done_mailbox = config_str("imap", "done_mailbox"),
        .max_size = config_int("imap", "max_size"),
    };
    s.mailbox_key = xasprintf("%s@%s:%ld/%s", config_str("imap", "user"),
                              config_str("imap", "host"), config_int("imap", "port"), s.mailbox);
    char *start_error = NULL;
    if (imap_apply_start(config_int("imap", "connections"), &start_error) < 0) {
        log_error("imap_error", "mailbox=%s error=%s", log_q(s.mailbox_key), log_q(start_error));
        free(start_error);
        free(s.mailbox_key);
        return NULL;
    }
    int backoff = 1;
    while (!stopping()) {
        char *error = NULL;
        if (!s.db)
            s.db = database_open(&error);
        if (s.db && (s.lock_db || take_lock(&s, &error) == 0)) {
            time_t started = time(NULL);
            if (run_session(&s, &error) == 0) {
                imap_disconnect(&s);
                break;
            }
            /* A session that worked for a while resets the backoff. */
            if (time(NULL) - started > 60)
                backoff = 1;
        }
        imap_disconnect(&s);
        if (stopping()) {
            free(error);
            break;
        }
        log_warn("imap_error", "mailbox=%s error=%s retry_in=%ds", log_q(s.mailbox_key),
                 log_q(error ? error : "unknown"), backoff);
        free(error);
        /* A lost lock connection means the lock is gone: take it again. */
        if (s.lock_db && db_lost(s.lock_db))
            db_close(&s.lock_db);
        nap(backoff);
        backoff = backoff * 2 > IMAP_MAX_BACKOFF ? IMAP_MAX_BACKOFF : backoff * 2;
    }
    imap_apply_stop();
    db_close(&s.db);
    db_close(&s.lock_db);
    free(s.mailbox_key);
    return NULL;
}

int imap_start(char **error_r)
{
    if (!*config_str("imap", "host"))
        return 0;
    atomic_store(&reader_stop, false);
    if (pthread_create(&reader, NULL, reader_main, NULL) != 0) {
        *error_r = xstrdup("cannot start the IMAP reader thread");
        return -1;
    }
    reader_running = true;
    return 0;
}

void imap_stop(void)
{
    if (!reader_running)
        return;
    atomic_store(&reader_stop, true);
    /* A read blocked on a slow server would delay the stop by the whole timeout. */
    pthread_mutex_lock(&socket_lock);
    if (session_fd >= 0)
        shutdown(session_fd, SHUT_RDWR);
    pthread_mutex_unlock(&socket_lock);
    pthread_join(reader, NULL);
    reader_running = false;
}
