/*
 * spool — the transport of `make run` and tests: one file per message under
 * [engine] spool_dir/mail/ID.eml or spool_dir/sms/ID.txt.
 *
 * A file appears complete or not at all: it is written under a temporary name in the
 * same directory and renamed into place, so a reader (a developer's `ls`, a test)
 * never sees half a message, and a retried message overwrites its own file instead of
 * leaving a second copy. Every error (disk full, read-only file system, a path that is
 * not a directory) is transient: the operator fixes the disk and the row is sent on a
 * later attempt, with the reason kept in last_error meanwhile.
 */
#include "lib/util.h"
#include "core/config.h"
#include "outbound/gsm.h"
#include "outbound/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct transport {
    char *dir; /* spool_dir/mail or spool_dir/sms */
    const char *suffix;
    bool mail;
};

/* mkdir -p; 0 or -1 with errno set. */
static int make_dirs(const char *path)
{
    char *copy = xstrdup(path);
    int rc = 0;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *p = '/';
    }
    if (rc == 0 && mkdir(copy, 0755) < 0 && errno != EEXIST)
        rc = -1;
    int saved = errno;
    free(copy);
    errno = saved;
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int spool_open(struct transport **t_r, bool mail, char **error_r)
{
    (void)error_r;
    struct transport *t = xcalloc(1, sizeof(*t));
    t->mail = mail;
    t->suffix = mail ? ".eml" : ".txt";
    t->dir = xasprintf("%s/%s", config_str("engine", "spool_dir"), mail ? "mail" : "sms");
    *t_r = t;
    return 0;
}

static int spool_open_mail(struct transport **t, char **error_r)
{
    return spool_open(t, true, error_r);
}

static int spool_open_sms(struct transport **t, char **error_r)
{
    return spool_open(t, false, error_r);
}

/* Write one message; NULL on success, else the reason (caller frees). */
static char *spool_one(struct transport *t, const struct outbound_msg *m)
{
    char *tmp = xasprintf("%s/.tmp-%" PRId64 "-%d", t->dir, m->id, (int)gettid());
    char *path = xasprintf("%s/%" PRId64 "%s", t->dir, m->id, t->suffix);
    char *reason = NULL;
    int fd = -1;
    if (make_dirs(t->dir) < 0) {
        reason = xasprintf("spool: cannot create %s: %s", t->dir, strerror(errno));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        reason = xasprintf("spool: cannot write in %s: %s", t->dir, strerror(errno));
        goto out;
    }
    char *head = t->mail ? xasprintf("Return-Path: <%s>\r\n", m->envelope_from)
                         : xasprintf("From: %s\nTo: %s\n\n", m->envelope_from, m->recipient);
    int rc = write_all(fd, head, strlen(head));
    free(head);
    /* A text is written as a gateway would get it (sms_compose(): the configured STOP
     * mention, transliteration), so what a developer reads is what would leave. */
    char *text = t->mail ? NULL : sms_compose(m->body, m->kind);
    const char *body = text ? text : m->body;
    if (rc == 0)
        rc = write_all(fd, body, strlen(body));
    free(text);
    if (rc == 0 && !t->mail)
        rc = write_all(fd, "\n", 1);
    if (rc < 0 || close(fd) < 0) {
        reason = xasprintf("spool: writing %s: %s", tmp, strerror(errno));
        fd = -1;
        unlink(tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        reason = xasprintf("spool: rename to %s: %s", path, strerror(errno));
        unlink(tmp);
    }
out:
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(path);
    return reason;
}

static void spool_send(struct transport *t, const struct outbound_msg *msgs, size_t n,
                       struct send_result *results)
{
    for (size_t i = 0; i < n; i++) {
        char *reason = spool_one(t, &msgs[i]);
        results[i] = (struct send_result){
            .status = reason ? SEND_TRANSIENT : SEND_OK,
            .error = reason,
            .provider_id = reason ? NULL : xasprintf("spool-%" PRId64, msgs[i].id)};
    }
}

static void spool_close(struct transport **t)
{
    if (!*t)
        return;
    free((*t)->dir);
    free(*t);
    *t = NULL;
}

const struct transport_ops spool_mail_transport = {
    .name = "spool",
    .channel = "email",
    .open = spool_open_mail,
    .send = spool_send,
    .close = spool_close,
};

const struct transport_ops spool_sms_transport = {
    .name = "spool",
    .channel = "sms",
    .open = spool_open_sms,
    .send = spool_send,
    .close = spool_close,
};
