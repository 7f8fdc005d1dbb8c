/*
 * metrics.c: the metric registry and its Prometheus text rendering.
 *
 * Families form a list in registration order; each holds its series in a
 * list in registration order. Look-ups walk the lists: they happen at
 * registration only (a few hundred series at most), while updates go
 * straight through the pointer the caller keeps.
 */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

typedef struct series series;

typedef struct family {
    struct family *next;
    series *first, *last;
    metric_kind kind;
    char *name;
    char *help; /* NULL: no # HELP line */
} family;

/* The head of every series type, so that lists and look-ups are shared. */
struct series {
    series *next;
    family *fam;
    char *labels; /* "" when there are none */
};

struct sb_counter {
    series s;
    uint64_t value;
};

struct sb_gauge {
    series s;
    int64_t value;
};

struct sb_histogram {
    series s;
    size_t nbounds;
    double *bounds;
    uint64_t *buckets; /* nbounds + 1 (the last is +Inf), not cumulative */
    uint64_t count;
    double sum;
};

static family *families, *families_last;

/* ---- checks ------------------------------------------------------------ */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static bool valid_metric_name(const char *s)
{
    if (!s || !*s || is_digit(*s))
        return false;
    for (; *s; s++)
        if (!is_alpha(*s) && !is_digit(*s) && *s != ':')
            return false;
    return true;
}

/* One label name at *p ([a-zA-Z_][a-zA-Z0-9_]*, not reserved); advances *p. */
static bool scan_label_name(const char **p, bool is_histogram)
{
    const char *start = *p, *s = *p;
    if (!is_alpha(*s))
        return false;
    while (is_alpha(*s) || is_digit(*s))
        s++;
    *p = s;
    if (s - start >= 2 && start[0] == '_' && start[1] == '_')
        return false; /* names starting "__" belong to Prometheus */
    return !(is_histogram && s - start == 2 && memcmp(start, "le", 2) == 0);
}

/* One quoted label value at *p, with the exposition's escapes (\\ \" \n)
 * only; advances *p past the closing quote. */
static bool scan_label_value(const char **p)
{
    const char *s = *p;
    if (*s++ != '"')
        return false;
    while (*s != '"') {
        if (*s == '\0' || *s == '\n')
            return false;
        if (*s == '\\') {
            s++;
            if (*s != '\\' && *s != '"' && *s != 'n')
                return false;
        }
        s++;
    }
    *p = s + 1;
    return true;
}

/* name="value",name="value": what goes between the braces, or "". */
static bool valid_labels(const char *s, bool is_histogram)
{
    if (!*s)
        return true;
    for (;;) {
        if (!scan_label_name(&s, is_histogram) || *s++ != '=' || !scan_label_value(&s))
            return false;
        if (*s == '\0')
            return true;
        if (*s++ != ',')
            return false;
    }
}

static bool valid_bounds(const double *bounds, size_t n)
{
    if (n > 0 && !bounds)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return false;
    return true;
}

static void *reject(const char *name, const char *labels, const char *reason)
{
    char n[128], l[256];
    sb_log(SB_LOG_ERROR, "metric_error", "name=%s labels=%s reason=\"%s\"",
           sb_log_kv_str(n, sizeof n, name), sb_log_kv_str(l, sizeof l, labels), reason);
    return NULL;
}

/* ---- registry ---------------------------------------------------------- */

static family *find_family(const char *name)
{
    for (family *f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static series *find_series(const family *f, const char *labels)
{
    for (series *s = f->first; s; s = s->next)
        if (strcmp(s->labels, labels) == 0)
            return s;
    return NULL;
}

static family *add_family(const char *name, const char *help, metric_kind kind)
{
    family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->kind = kind;
    f->name = strdup(name);
    f->help = help ? strdup(help) : NULL;
    if (!f->name || (help && !f->help)) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    if (families_last)
        families_last->next = f;
    else
        families = f;
    families_last = f;
    return f;
}

/* The series (name, labels) of `kind`, `size` bytes, zero-filled when new.
 * An existing one is returned when `reuse`, refused otherwise. */
static series *find_or_add(metric_kind kind, const char *name, const char *help, const char *labels,
                           size_t size, bool reuse)
{
    if (!labels)
        labels = "";
    if (!valid_metric_name(name))
        return reject(name, labels, "bad metric name");
    if (!valid_labels(labels, kind == KIND_HISTOGRAM))
        return reject(name, labels, "malformed or reserved labels");
    family *f = find_family(name);
    if (f && f->kind != kind)
        return reject(name, labels, "name already used by another metric type");
    series *s = f ? find_series(f, labels) : NULL;
    if (s)
        return reuse ? s : reject(name, labels, "series registered twice");
    if (!f && !(f = add_family(name, help, kind)))
        return reject(name, labels, "out of memory");
    s = calloc(1, size);
    if (!s || !(s->labels = strdup(labels))) {
        free(s);
        return reject(name, labels, "out of memory");
    }
    s->fam = f;
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    return s;
}

sb_counter *sb_counter_new(const char *name, const char *help, const char *labels)
{
    return (sb_counter *)find_or_add(KIND_COUNTER, name, help, labels, sizeof(sb_counter), false);
}

sb_counter *sb_counter_get(const char *name, const char *help, const char *labels)
{
    return (sb_counter *)find_or_add(KIND_COUNTER, name, help, labels, sizeof(sb_counter), true);
}

sb_gauge *sb_gauge_new(const char *name, const char *help, const char *labels)
{
    return (sb_gauge *)find_or_add(KIND_GAUGE, name, help, labels, sizeof(sb_gauge), false);
}

sb_histogram *sb_histogram_new(const char *name, const char *help, const char *labels,
                               const double *bounds, size_t nbounds)
{
    if (!valid_bounds(bounds, nbounds))
        return reject(name, labels, "bounds must be finite and increasing");
    double *b = malloc((nbounds ? nbounds : 1) * sizeof *b);
    uint64_t *buckets = calloc(nbounds + 1, sizeof *buckets);
    sb_histogram *h = NULL;
    if (b && buckets)
        h = (sb_histogram *)find_or_add(KIND_HISTOGRAM, name, help, labels, sizeof *h, false);
    else
        reject(name, labels, "out of memory");
    if (!h) {
        free(b);
        free(buckets);
        return NULL;
    }
    if (nbounds)
        memcpy(b, bounds, nbounds * sizeof *b);
    h->bounds = b;
    h->buckets = buckets;
    h->nbounds = nbounds;
    return h;
}

/* ---- updates (the hot path) -------------------------------------------- */

void sb_counter_add(sb_counter *c, uint64_t n)
{
    if (c)
        c->value += n;
}

uint64_t sb_counter_value(const sb_counter *c)
{
    return c ? c->value : 0;
}

void sb_gauge_set(sb_gauge *g, int64_t v)
{
    if (g)
        g->value = v;
}

/* Wraps instead of overflowing (signed overflow is undefined). */
void sb_gauge_add(sb_gauge *g, int64_t n)
{
    if (g)
        g->value = (int64_t)((uint64_t)g->value + (uint64_t)n);
}

int64_t sb_gauge_value(const sb_gauge *g)
{
    return g ? g->value : 0;
}

/* A linear scan: bucket lists are short (about a dozen) and the branch is
 * well predicted; a binary search would not pay for itself. */
void sb_histogram_observe(sb_histogram *h, double v)
{
    size_t i = 0;
    if (!h || isnan(v))
        return;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += v;
}

/* ---- rendering --------------------------------------------------------- */

static void put_str(sb_buf *out, const char *s)
{
    sb_buf_put(out, s, strlen(s));
}

static void put_u64(sb_buf *out, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    sb_buf_put(out, tmp, (size_t)n);
}

/* Prometheus spells the values JSON lacks as +Inf, -Inf and NaN. */
static void put_double(sb_buf *out, double v)
{
    if (isnan(v))
        SB_BUF_PUT_LIT(out, "NaN");
    else if (isinf(v))
        put_str(out, v > 0 ? "+Inf" : "-Inf");
    else
        sb_write_double(out, v);
}

/* In HELP text only backslash and newline are escaped. */
static void put_help(sb_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            SB_BUF_PUT_LIT(out, "\\\\");
        else if (*s == '\n')
            SB_BUF_PUT_LIT(out, "\\n");
        else
            sb_buf_putc(out, *s);
    }
}

/* `name{labels} ` or `name ` (suffix such as "_sum" appended to the name). */
static void put_series_name(sb_buf *out, const series *s, const char *suffix)
{
    put_str(out, s->fam->name);
    put_str(out, suffix);
    if (s->labels[0]) {
        sb_buf_putc(out, '{');
        put_str(out, s->labels);
        sb_buf_putc(out, '}');
    }
    sb_buf_putc(out, ' ');
}

/* `name_bucket{labels,le="bound"} ` */
static void put_bucket_name(sb_buf *out, const series *s, const double *bound)
{
    put_str(out, s->fam->name);
    SB_BUF_PUT_LIT(out, "_bucket{");
    if (s->labels[0]) {
        put_str(out, s->labels);
        sb_buf_putc(out, ',');
    }
    SB_BUF_PUT_LIT(out, "le=\"");
    put_double(out, bound ? *bound : INFINITY);
    SB_BUF_PUT_LIT(out, "\"} ");
}

static void render_histogram(sb_buf *out, const sb_histogram *h)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += h->buckets[i];
        put_bucket_name(out, &h->s, i < h->nbounds ? &h->bounds[i] : NULL);
        put_u64(out, cumulative);
        sb_buf_putc(out, '\n');
    }
    put_series_name(out, &h->s, "_sum");
    put_double(out, h->sum);
    sb_buf_putc(out, '\n');
    put_series_name(out, &h->s, "_count");
    put_u64(out, h->count);
    sb_buf_putc(out, '\n');
}

static void render_series(sb_buf *out, const series *s)
{
    char tmp[24];
    switch (s->fam->kind) {
    case KIND_COUNTER:
        put_series_name(out, s, "");
        put_u64(out, ((const sb_counter *)s)->value);
        break;
    case KIND_GAUGE:
        put_series_name(out, s, "");
        snprintf(tmp, sizeof tmp, "%" PRId64, ((const sb_gauge *)s)->value);
        put_str(out, tmp);
        break;
    case KIND_HISTOGRAM:
        render_histogram(out, (const sb_histogram *)s);
        return;
    }
    sb_buf_putc(out, '\n');
}

void sb_metrics_render(sb_buf *out)
{
    for (const family *f = families; f; f = f->next) {
        if (f->help) {
            SB_BUF_PUT_LIT(out, "# HELP ");
            put_str(out, f->name);
            sb_buf_putc(out, ' ');
            put_help(out, f->help);
            sb_buf_putc(out, '\n');
        }
        SB_BUF_PUT_LIT(out, "# TYPE ");
        put_str(out, f->name);
        sb_buf_putc(out, ' ');
        put_str(out, kind_names[f->kind]);
        sb_buf_putc(out, '\n');
        for (const series *s = f->first; s; s = s->next)
            render_series(out, s);
    }
}

void sb_metrics_reset_all_for_tests(void)
{
    family *f = families;
    while (f) {
        family *next_family = f->next;
        series *s = f->first;
        while (s) {
            series *next = s->next;
            if (f->kind == KIND_HISTOGRAM) {
                free(((sb_histogram *)s)->bounds);
                free(((sb_histogram *)s)->buckets);
            }
            free(s->labels);
            free(s);
            s = next;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = next_family;
    }
    families = families_last = NULL;
}
