/*
 * metrics.h: counters, gauges and histograms, rendered in the Prometheus
 * text exposition format 0.0.4 (GET /metrics).
 *
 * Metrics are registered once (at start, or lazily the first time a
 * channel/type pair is seen) and then updated by plain arithmetic through the
 * returned pointer: no lookup, no allocation, no lock on the hot path. The
 * server is single-threaded, so no atomics either.
 *
 * A name is a family: one # HELP / # TYPE block, then every series of that
 * name, each told apart by its labels. Families and the series inside them
 * are rendered in registration order, so the output is deterministic.
 *
 * labels is the inside of the braces, already formatted and escaped:
 * `channel="chat",type="new_message"`, or NULL/"" for none. Label values must
 * come from a bounded set (schema names, not client input): every distinct
 * value is a series that lives until exit.
 *
 * Registration checks what would make the exposition invalid: a bad metric
 * or label name, malformed labels, a name already used by another metric
 * type, the same series twice (for the _new functions), histogram bounds
 * that do not increase. It then logs event=metric_error and returns NULL.
 * Every update function accepts NULL and does nothing, so a metric that
 * failed to register costs its numbers, never the server.
 */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "json.h" /* sb_buf */

/* The Content-Type of a GET /metrics answer. */
#define SB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct sb_counter sb_counter;
typedef struct sb_gauge sb_gauge;
typedef struct sb_histogram sb_histogram;

/* help may be NULL (no # HELP line). A family keeps the help of its first
 * registration. Strings are copied. */
sb_counter *sb_counter_new(const char *name, const char *help, const char *labels);
/* The series (name, labels) if it exists, else a new one. Linear search:
 * meant to be called once per series and the result cached by the caller. */
sb_counter *sb_counter_get(const char *name, const char *help, const char *labels);
void sb_counter_add(sb_counter *c, uint64_t n);
uint64_t sb_counter_value(const sb_counter *c); /* 0 for NULL */

sb_gauge *sb_gauge_new(const char *name, const char *help, const char *labels);
void sb_gauge_set(sb_gauge *g, int64_t v);
void sb_gauge_add(sb_gauge *g, int64_t n); /* n may be negative */
int64_t sb_gauge_value(const sb_gauge *g); /* 0 for NULL */

/* bounds: the upper bounds of the buckets, finite and strictly increasing
 * (nbounds may be 0); the +Inf bucket is implicit. Copied. The label name
 * "le" is reserved for the buckets. */
sb_histogram *sb_histogram_new(const char *name, const char *help, const char *labels,
                               const double *bounds, size_t nbounds);
/* v lands in the first bucket whose bound is >= v. NaN is ignored: it would
 * turn _sum into NaN for the rest of the process. */
void sb_histogram_observe(sb_histogram *h, double v);

/* Appends the whole exposition to out (check out->oom). */
void sb_metrics_render(sb_buf *out);

/* Frees every metric; pointers handed out before become invalid. */
void sb_metrics_reset_all_for_tests(void);

#endif
