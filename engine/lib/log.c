#include "lib/log.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* Registered secrets (log_secret), guarded by log_lock. */
static char **secrets;
static size_t nsecrets;

#define SECRET_MIN_LEN 6

void log_secret(const char *secret)
{
    if (!secret || strlen(secret) < SECRET_MIN_LEN)
        return;
    pthread_mutex_lock(&log_lock);
    bool known = false;
    for (size_t i = 0; i < nsecrets && !known; i++)
        known = strcmp(secrets[i], secret) == 0;
    if (!known) {
        secrets = xrealloc(secrets, (nsecrets + 1) * sizeof(*secrets));
        secrets[nsecrets++] = xstrdup(secret);
    }
    pthread_mutex_unlock(&log_lock);
}

/* Replace every registered secret in `line`; the caller holds log_lock. */
static void redact_locked(struct buf *line)
{
    static const char mark[] = "[redacted]";
    for (size_t i = 0; i < nsecrets; i++) {
        size_t n = strlen(secrets[i]);
        char *hit;
        size_t from = 0;
        while (line->len && (hit = memmem(line->data + from, line->len - from, secrets[i], n))) {
            size_t at = (size_t)(hit - line->data);
            struct buf out = BUF_INIT;
            buf_add(&out, line->data, at);
            buf_adds(&out, mark);
            buf_add(&out, line->data + at + n, line->len - at - n);
            buf_release(line);
            *line = out;
            from = at + sizeof(mark) - 1;
        }
    }
}

char *log_redacted(const char *text)
{
    struct buf out = BUF_INIT;
    buf_adds(&out, text ? text : "");
    pthread_mutex_lock(&log_lock);
    redact_locked(&out);
    pthread_mutex_unlock(&log_lock);
    return buf_detach(&out);
}
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) {
            min_level = (enum log_level)i;
            return 0;
        }
    return -1;
}

int log_enabled(enum log_level level)
{
    return level >= min_level;
}

void log_write(enum log_level level, const char *event, const char *fmt, ...)
{
    if (level < min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    struct buf line = BUF_INIT;
    buf_printf(&line, "ts=%s.%03ldZ level=%s event=%s", stamp, ts.tv_nsec / 1000000,
               level_names[level], event);
    if (fmt && *fmt) {
        buf_addch(&line, ' ');
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(&line, fmt, ap);
        va_end(ap);
    }
    buf_addch(&line, '\n');
    pthread_mutex_lock(&log_lock);
    redact_locked(&line);
    fwrite(line.data, 1, line.len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    buf_release(&line);
}

#define LOG_Q_SLOTS 8
#define LOG_Q_MAX   200

const char *log_q(const char *value)
{
    static __thread char slots[LOG_Q_SLOTS][LOG_Q_MAX * 4 + 8];
    static __thread unsigned next;
    char *out = slots[next++ % LOG_Q_SLOTS];
    size_t o = 0;
    out[o++] = '"';
    if (!value)
        value = "";
    size_t i = 0;
    for (; value[i] && i < LOG_Q_MAX; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (value[i]) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
