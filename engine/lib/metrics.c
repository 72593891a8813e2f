#include "lib/metrics.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum series_kind { COUNTER, GAUGE, HISTOGRAM };

static const int64_t bucket_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define NBUCKETS ARRAY_SIZE(bucket_ms)

struct series {
    char *name;
    enum series_kind kind;
    int64_t value;             /* counter, gauge; histogram: count */
    int64_t sum_ms;            /* histogram */
    int64_t buckets[NBUCKETS]; /* histogram, cumulative at render time */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series *all;
static size_t count, cap;

static struct series *find(const char *name, enum series_kind kind)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(all[i].name, name) == 0)
            return &all[i];
    if (count == cap) {
        cap = cap ? cap * 2 : 32;
        all = xrealloc(all, cap * sizeof(*all));
    }
    struct series *s = &all[count++];
    memset(s, 0, sizeof(*s));
    s->name = xstrdup(name);
    s->kind = kind;
    return s;
}

void metrics_add(const char *series, int64_t delta)
{
    pthread_mutex_lock(&lock);
    find(series, COUNTER)->value += delta;
    pthread_mutex_unlock(&lock);
}

void metrics_set(const char *series, int64_t value)
{
    pthread_mutex_lock(&lock);
    find(series, GAUGE)->value = value;
    pthread_mutex_unlock(&lock);
}

void metrics_observe_ms(const char *histogram, int64_t ms)
{
    pthread_mutex_lock(&lock);
    struct series *s = find(histogram, HISTOGRAM);
    s->value++;
    s->sum_ms += ms;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (ms <= bucket_ms[i]) {
            s->buckets[i]++;
            break;
        }
    pthread_mutex_unlock(&lock);
}

/* The metric name without labels, for the # TYPE line. */
static void base_name(const char *series, struct buf *out)
{
    buf_add(out, series, strcspn(series, "{"));
}

/* Insert a le="…" label into a series name that may already have labels. */
static void bucket_line(struct buf *out, const char *series, const char *le, int64_t value)
{
    const char *brace = strchr(series, '{');
    if (brace)
        buf_printf(out, "%.*s_bucket{le=\"%s\",%s %lld\n", (int)(brace - series), series, le,
                   brace + 1, (long long)value);
    else
        buf_printf(out, "%s_bucket{le=\"%s\"} %lld\n", series, le, (long long)value);
}

void metrics_render(struct buf *out)
{
    pthread_mutex_lock(&lock);
    struct buf seen = BUF_INIT; /* "\nname\n" of every # TYPE line written */
    for (size_t i = 0; i < count; i++) {
        struct series *s = &all[i];
        struct buf base = BUF_INIT;
        base_name(s->name, &base);
        struct buf key = BUF_INIT;
        buf_printf(&key, "\n%s\n", base.data);
        if (!strstr(buf_str(&seen), key.data)) {
            buf_add(&seen, key.data, key.len);
            buf_printf(out, "# TYPE %s %s\n", base.data,
                       s->kind == COUNTER ? "counter"
                       : s->kind == GAUGE ? "gauge"
                                          : "histogram");
        }
        if (s->kind != HISTOGRAM) {
            buf_printf(out, "%s %lld\n", s->name, (long long)s->value);
        } else {
            int64_t cumulative = 0;
            for (size_t b = 0; b < NBUCKETS; b++) {
                cumulative += s->buckets[b];
                char le[32];
                snprintf(le, sizeof(le), "%g", (double)bucket_ms[b] / 1000.0);
                bucket_line(out, s->name, le, cumulative);
            }
            bucket_line(out, s->name, "+Inf", s->value);
            const char *brace = strchr(s->name, '{');
            buf_printf(out, "%s_sum%s %.3f\n", base.data, brace ? brace : "",
                       (double)s->sum_ms / 1000.0);
            buf_printf(out, "%s_count%s %lld\n", base.data, brace ? brace : "",
                       (long long)s->value);
        }
        buf_release(&key);
        buf_release(&base);
    }
    buf_release(&seen);
    pthread_mutex_unlock(&lock);
}
