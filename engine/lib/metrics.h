/*
 * metrics — process-wide counters, gauges and latency histograms for GET /metrics.
 *
 * A series is named by its Prometheus name plus labels, e.g.
 * metrics_add("tocsin_inbound_total{channel=\"sms\",result=\"ok\"}", 1). Series are
 * created on first use; every call is thread-safe. metrics_observe_ms() feeds a histogram
 * (buckets from 1 ms to 10 s). metrics_render() appends the Prometheus text exposition.
 */
#ifndef TOCSIN_METRICS_H
#define TOCSIN_METRICS_H

#include "lib/buf.h"

#include <stdint.h>

void metrics_add(const char *series, int64_t delta);
void metrics_set(const char *series, int64_t value);
void metrics_observe_ms(const char *histogram, int64_t ms);
void metrics_render(struct buf *out);

#endif
