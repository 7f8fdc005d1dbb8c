/*
 * bench_codec.c: throughput of the generated chat codecs against cJSON,
 * jansson and json-c, measured in the same run (see bench/README.md and
 * docs/performance.md).
 *
 * What is timed, per message:
 *   parse  switchboard: sb_reader_init + sb_parse_document(chat_in_parse or
 *          chat_out_parse) + sb_arena_reset, as the server will run it.
 *          references: parse the same bytes to a DOM, read the same fields
 *          into the same structs ("extract", or "validate" with the checks
 *          our parser makes, see ref_extract.h), free the DOM.
 *   write  switchboard: chat_*_write into one reused sb_buf.
 *          references: print a DOM built beforehand ("DOM once"), or build
 *          the DOM from the structs, print it and free both ("build + print",
 *          what a server that keeps its data in C structs must do).
 *          Every writer starts from the same structs, whose strings sit in
 *          one compact pool (relocate.c says why).
 *
 * Method: every implementation runs once untimed (warm-up), then `runs`
 * rounds; each round times one pass of every implementation, starting from
 * a different one each round so that no implementation always runs right
 * after the same neighbour. The report gives the median pass
 * (CLOCK_MONOTONIC; the thread's CPU time is kept beside it). Ratios are
 * what to read: absolute numbers move with the machine and its load.
 *
 * Nothing is timed before every implementation has been checked on every
 * message: references must read exactly the values our parser reads (their
 * structs, written back with our writer, give the same bytes) and every
 * writer must print exactly the bytes our writer prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef SB_BENCH_SEEDS_DIR
#define SB_BENCH_SEEDS_DIR "generated/fuzz/corpus/chat"
#endif
#ifndef SB_BENCH_BUILD_INFO
#define SB_BENCH_BUILD_INFO "unknown build"
#endif

/* ---- sinks and helpers shared with the ref_*.c files --------------------- */

static volatile uint64_t sink;

void bench_consume(const bench_msg *m)
{
    sink += m->dir == DIR_IN ? (uint64_t)m->u.in.kind : (uint64_t)m->u.out.kind;
}

void bench_consume_text(const char *p, size_t n)
{
    sink += n + (n ? (unsigned char)p[n - 1] : 0);
}

void bench_write(sb_buf *b, const bench_msg *m)
{
    if (m->dir == DIR_IN)
        chat_in_write(b, &m->u.in);
    else
        chat_out_write(b, &m->u.out);
}

static bool parse_in_any(sb_reader *r, void *out)
{
    return chat_in_parse(r, out);
}

static bool parse_out_any(sb_reader *r, void *out)
{
    return chat_out_parse(r, out);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench_codec: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static double clock_sec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- implementations ----------------------------------------------------- */

/* simdjson (On-Demand) when CMake found it: parse rows only, it has no
 * DOM to build or print (ref_lib.build is NULL). */
#if defined(SB_BENCH_SIMDJSON)
enum { NLIBS = 4 };
static const ref_lib *const libs[NLIBS] = {&ref_cjson, &ref_jansson, &ref_jsonc, &ref_simdjson};
#else
enum { NLIBS = 3 };
static const ref_lib *const libs[NLIBS] = {&ref_cjson, &ref_jansson, &ref_jsonc};
#endif

typedef enum op { OP_PARSE, OP_WRITE } op;
typedef enum how {
    H_SB,          /* switchboard */
    H_EXTRACT,     /* reference parse + extract */
    H_VALIDATE,    /* reference parse + validate */
    H_PRINT_ONCE,  /* reference print of a DOM built beforehand, fresh string */
    H_REUSE_ONCE,  /* same, into a reused buffer */
    H_BUILD_PRINT, /* reference build + print + free, per message */
} how;

typedef struct impl {
    const char *id; /* for --impl */
    op op;
    how how;
    int lib; /* index in libs[], -1 for switchboard */
    bool on;
} impl;

static impl impls[] = {
    {"sb", OP_PARSE, H_SB, -1, true},
    {"cjson-x", OP_PARSE, H_EXTRACT, 0, true},
    {"cjson-v", OP_PARSE, H_VALIDATE, 0, true},
    {"jansson-x", OP_PARSE, H_EXTRACT, 1, true},
    {"jansson-v", OP_PARSE, H_VALIDATE, 1, true},
    {"jsonc-x", OP_PARSE, H_EXTRACT, 2, true},
    {"jsonc-v", OP_PARSE, H_VALIDATE, 2, true},
#if defined(SB_BENCH_SIMDJSON)
    {"simdjson-x", OP_PARSE, H_EXTRACT, 3, true},
    {"simdjson-v", OP_PARSE, H_VALIDATE, 3, true},
#endif
    {"sb-write", OP_WRITE, H_SB, -1, true},
    {"cjson-print", OP_WRITE, H_PRINT_ONCE, 0, true},
    {"cjson-prealloc", OP_WRITE, H_REUSE_ONCE, 0, true},
    {"jansson-dumps", OP_WRITE, H_PRINT_ONCE, 1, true},
    {"jansson-dumpb", OP_WRITE, H_REUSE_ONCE, 1, true},
    {"jsonc-print", OP_WRITE, H_PRINT_ONCE, 2, true},
    {"cjson-build", OP_WRITE, H_BUILD_PRINT, 0, true},
    {"jansson-build", OP_WRITE, H_BUILD_PRINT, 1, true},
    {"jsonc-build", OP_WRITE, H_BUILD_PRINT, 2, true},
};
enum { NIMPLS = sizeof impls / sizeof impls[0] };

/* The row label of an implementation in the report. */
static void impl_label(const impl *im, char *out, size_t cap)
{
    const char *lib = im->lib >= 0 ? libs[im->lib]->name : "switchboard";
    switch (im->how) {
    case H_SB:
        snprintf(out, cap,
                 im->op == OP_PARSE ? "**switchboard parse + validate**"
                                    : "**switchboard write (reused sb_buf)**");
        break;
    case H_EXTRACT:
        snprintf(out, cap, "%s parse + extract", lib);
        break;
    case H_VALIDATE:
        snprintf(out, cap, "%s parse + validate", lib);
        break;
    case H_PRINT_ONCE:
        snprintf(out, cap, "%s print, DOM built once", lib);
        break;
    case H_REUSE_ONCE:
        snprintf(out, cap, "%s print into reused buffer, DOM built once", lib);
        break;
    case H_BUILD_PRINT:
        snprintf(out, cap, "%s build DOM + print + free, per message", lib);
        break;
    }
}

/* ---- sets ----------------------------------------------------------------- */

typedef struct set {
    corpus c;
    size_t reps;             /* passes over the messages per timed pass */
    bench_msg *src;          /* every message read (validated), strings NUL-terminated */
    char *pool;              /* src's strings (relocate.c) */
    void **doms[NLIBS];      /* DOM of each message per library, built once */
    size_t out_bytes;        /* bytes our writer makes of one pass */
    double secs[NIMPLS][64]; /* wall clock (CLOCK_MONOTONIC) per round */
    double cpu[NIMPLS][64];  /* this thread's CPU time per round */
    size_t bytes[NIMPLS];    /* bytes per pass (input for parse, output for write) */
} set;

static set sets[3];
static size_t seeds_note; /* seed examples that are not WebSocket messages */
static sb_arena arena;    /* switchboard's per-message arena, reset per message */
static sb_buf wbuf;       /* switchboard's reused output buffer */

/* ---- the timed loops ------------------------------------------------------ */

static size_t pass_sb_parse(const corpus *c, size_t reps)
{
    bench_msg m;
    size_t fails = 0;
    for (size_t k = 0; k < reps; k++) {
        for (size_t i = 0; i < c->count; i++) {
            sb_reader r;
            m.dir = c->dir[i];
            sb_reader_init(&r, c->data + c->off[i], c->len[i], &arena, NULL);
            if (!sb_parse_document(&r, m.dir == DIR_IN ? parse_in_any : parse_out_any, &m.u))
                fails++;
            bench_consume(&m);
            sb_arena_reset(&arena);
        }
    }
    return fails;
}

static size_t pass_ref_parse(const ref_lib *lib, bool validate, const corpus *c, size_t reps)
{
    bench_msg m;
    size_t fails = 0;
    for (size_t k = 0; k < reps; k++) {
        for (size_t i = 0; i < c->count; i++) {
            m.dir = c->dir[i];
            if (!lib->parse(c->data + c->off[i], c->len[i], validate, &m, NULL))
                fails++;
        }
    }
    return fails;
}

static size_t pass_sb_write(const set *s)
{
    size_t out = 0;
    for (size_t k = 0; k < s->reps; k++) {
        for (size_t i = 0; i < s->c.count; i++) {
            sb_buf_reset(&wbuf);
            bench_write(&wbuf, &s->src[i]);
            bench_consume_text(wbuf.data, wbuf.len);
            out += wbuf.len;
        }
    }
    return out;
}

static size_t pass_ref_print(const ref_lib *lib, void **doms, print_how ph, const set *s)
{
    size_t out = 0;
    for (size_t k = 0; k < s->reps; k++)
        for (size_t i = 0; i < s->c.count; i++)
            out += lib->print(doms[i], ph, NULL);
    return out;
}

static size_t pass_ref_build(const ref_lib *lib, const set *s)
{
    size_t out = 0;
    for (size_t k = 0; k < s->reps; k++) {
        for (size_t i = 0; i < s->c.count; i++) {
            void *d = lib->build(&s->src[i]);
            out += lib->print(d, PRINT_ALLOC, NULL);
            lib->free_dom(d);
        }
    }
    return out;
}

/* One pass of one implementation. *bytes: input bytes (parse) or output
 * bytes (write). Returns false if a message failed. */
static bool run_pass(const impl *im, set *s, size_t *bytes)
{
    const ref_lib *lib = im->lib >= 0 ? libs[im->lib] : NULL;
    size_t fails = 0;
    switch (im->how) {
    case H_SB:
        if (im->op == OP_PARSE) {
            fails = pass_sb_parse(&s->c, s->reps);
            *bytes = s->c.bytes * s->reps;
        } else {
            *bytes = pass_sb_write(s);
        }
        break;
    case H_EXTRACT:
    case H_VALIDATE:
        fails = pass_ref_parse(lib, im->how == H_VALIDATE, &s->c, s->reps);
        *bytes = s->c.bytes * s->reps;
        break;
    case H_PRINT_ONCE:
    case H_REUSE_ONCE:
        *bytes = pass_ref_print(lib, s->doms[im->lib],
                                im->how == H_REUSE_ONCE ? PRINT_REUSE : PRINT_ALLOC, s);
        break;
    case H_BUILD_PRINT:
        *bytes = pass_ref_build(lib, s);
        break;
    }
    return fails == 0;
}

/* The only function whose cost is measured (and, under callgrind, the one
 * to collect: --toggle-collect=timed_pass). Wall-clock seconds are the
 * result; *cpu gets the thread's CPU time, which leaves out the time the
 * thread waited for a core (on a busy 2-core machine, much of the noise). */
__attribute__((noinline)) double timed_pass(const impl *im, set *s, size_t *bytes, double *cpu);
__attribute__((noinline)) double timed_pass(const impl *im, set *s, size_t *bytes, double *cpu)
{
    double c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
    double t0 = clock_sec(CLOCK_MONOTONIC);
    bool ok = run_pass(im, s, bytes);
    double t1 = clock_sec(CLOCK_MONOTONIC);
    *cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
    if (!ok)
        die("%s: a message failed during a timed pass", im->id);
    return t1 - t0;
}

/* ---- setup and checks (untimed) ------------------------------------------ */

/* Keep the seeds that are chat actions (chat_in) or events (chat_out), each
 * with its direction; the others (bodies of the REST endpoints, which are
 * not WebSocket messages) are dropped and counted in *skipped. */
static void classify(corpus *c, size_t *skipped)
{
    corpus kept;
    bench_msg m;
    corpus_init(&kept, c->name);
    *skipped = 0;
    for (size_t i = 0; i < c->count; i++) {
        const char *p = c->data + c->off[i];
        sb_reader r;
        sb_reader_init(&r, p, c->len[i], &arena, NULL);
        if (sb_parse_document(&r, parse_in_any, &m.u)) {
            corpus_add(&kept, p, c->len[i], DIR_IN);
        } else {
            sb_arena_reset(&arena);
            sb_reader_init(&r, p, c->len[i], &arena, NULL);
            if (sb_parse_document(&r, parse_out_any, &m.u))
                corpus_add(&kept, p, c->len[i], DIR_OUT);
            else
                (*skipped)++;
        }
        sb_arena_reset(&arena);
    }
    corpus_free(c);
    *c = kept;
}

static bool same(const sb_buf *a, size_t a_off, size_t a_len, const sb_buf *b)
{
    return a_len == b->len && memcmp(a->data + a_off, b->data, a_len) == 0;
}

static void report_mismatch(const char *what, const corpus *c, size_t i, const sb_buf *want,
                            size_t off, size_t len, const sb_buf *got)
{
    fprintf(stderr, "bench_codec: %s differs from switchboard on %s message %zu\n", what, c->name,
            i);
    fprintf(stderr, "  input: %.*s\n", (int)c->len[i], c->data + c->off[i]);
    fprintf(stderr, "  ours:  %.*s\n", (int)len, want->data + off);
    fprintf(stderr, "  got:   %.*s\n", (int)got->len, got->data);
    exit(1);
}

/* Builds what the write benchmarks need and, when verify, checks every
 * implementation against ours on every message. */
static void prepare(set *s, bool verify)
{
    corpus *c = &s->c;
    sb_buf canon, got;
    size_t *coff = malloc((c->count + 1) * sizeof *coff);
    sb_buf_init(&canon);
    sb_buf_init(&got);
    if (!coff)
        die("%s: out of memory", c->name);

    /* Our parse, written back: the canonical text of every message. */
    for (size_t i = 0; i < c->count; i++) {
        bench_msg m;
        sb_reader r;
        m.dir = c->dir[i];
        sb_reader_init(&r, c->data + c->off[i], c->len[i], &arena, NULL);
        if (!sb_parse_document(&r, m.dir == DIR_IN ? parse_in_any : parse_out_any, &m.u)) {
            fprintf(stderr, "bench_codec: %s message %zu: %s\n", c->name, i, r.err_msg);
            exit(1);
        }
        coff[i] = canon.len;
        bench_write(&canon, &m);
        sb_arena_reset(&arena);
    }
    coff[c->count] = canon.len;
    s->out_bytes = canon.len;

    /* Source structs for the writers: read by cJSON (validating), whose
     * strings are NUL-terminated as cJSON_CreateString needs, then moved to
     * a compact pool (see relocate.c) and the DOM freed. */
    s->src = calloc(c->count, sizeof *s->src);
    s->pool = malloc(2 * c->bytes + 64 * c->count);
    if (!s->src || !s->pool)
        die("%s: out of memory", c->name);
    char *pool = s->pool;
    for (size_t i = 0; i < c->count; i++) {
        s->src[i].dir = c->dir[i];
        void *dom = ref_cjson.parse_keep(c->data + c->off[i], c->len[i], &s->src[i]);
        if (!dom)
            die("%s: cJSON rejects message %zu", c->name, i);
        bench_relocate(&s->src[i], &pool);
        ref_cjson.free_dom(dom);
        sb_buf_reset(&got);
        bench_write(&got, &s->src[i]);
        if (!same(&canon, coff[i], coff[i + 1] - coff[i], &got))
            report_mismatch("cJSON source struct", c, i, &canon, coff[i], coff[i + 1] - coff[i],
                            &got);
    }

    /* DOMs built once, for the "DOM once" rows. */
    for (int l = 0; l < NLIBS; l++) {
        s->doms[l] = calloc(c->count, sizeof *s->doms[l]);
        if (!s->doms[l])
            die("%s: out of memory", c->name);
        for (size_t i = 0; i < c->count && libs[l]->build; i++)
            s->doms[l][i] = libs[l]->build(&s->src[i]);
    }

    if (verify) {
        for (int l = 0; l < NLIBS; l++) {
            const ref_lib *lib = libs[l];
            for (size_t i = 0; i < c->count; i++) {
                size_t off = coff[i], len = coff[i + 1] - coff[i];
                for (int v = 0; v < 2; v++) {
                    bench_msg m;
                    m.dir = c->dir[i];
                    sb_buf_reset(&got);
                    if (!lib->parse(c->data + c->off[i], c->len[i], v == 1, &m, &got))
                        die("%s rejects %s message %zu", lib->name, c->name, i);
                    if (!same(&canon, off, len, &got))
                        report_mismatch(v ? "validate" : "extract", c, i, &canon, off, len, &got);
                }
                if (!lib->build)
                    continue; /* parse only (simdjson) */
                for (int h = 0; h < 2; h++) {
                    if (h == PRINT_REUSE && !lib->print_reuse_call)
                        continue;
                    sb_buf_reset(&got);
                    if (!lib->print(s->doms[l][i], (print_how)h, &got))
                        die("%s cannot print %s message %zu", lib->name, c->name, i);
                    if (!same(&canon, off, len, &got))
                        report_mismatch("print", c, i, &canon, off, len, &got);
                }
                void *d = lib->build(&s->src[i]);
                sb_buf_reset(&got);
                lib->print(d, PRINT_ALLOC, &got);
                lib->free_dom(d);
                if (!same(&canon, off, len, &got))
                    report_mismatch("build + print", c, i, &canon, off, len, &got);
            }
        }
    }
    sb_buf_free(&canon);
    sb_buf_free(&got);
    free(coff);
}

static void release(set *s)
{
    for (int l = 0; l < NLIBS; l++) {
        for (size_t i = 0; s->doms[l] && libs[l]->free_dom && i < s->c.count; i++)
            libs[l]->free_dom(s->doms[l][i]);
        free(s->doms[l]);
    }
    free(s->pool);
    free(s->src);
    corpus_free(&s->c);
}

/* ---- what "validate" rejects ---------------------------------------------- */

typedef struct bad_doc {
    const char *what;
    msg_dir dir;
    const char *json;
} bad_doc;

static const bad_doc bad_docs[] = {
    {"syntax: trailing comma", DIR_IN, "{\"action\":\"heartbeat\",}"},
    {"syntax: data after the value", DIR_IN, "{\"action\":\"heartbeat\"} x"},
    {"no discriminator", DIR_IN, "{\"room_id\":\"1\"}"},
    {"unknown discriminator", DIR_IN, "{\"action\":\"fly\"}"},
    {"missing required field", DIR_IN, "{\"action\":\"mark_read\"}"},
    {"wrong type (number for string)", DIR_IN, "{\"action\":\"send_message\",\"room_id\":5}"},
    {"null where not nullable", DIR_IN, "{\"action\":\"send_message\",\"client_message_id\":null}"},
    {"unknown field", DIR_IN, "{\"action\":\"mark_read\",\"message_id\":\"m\",\"x\":1}"},
    {"duplicate field", DIR_IN,
     "{\"action\":\"mark_read\",\"message_id\":\"a\",\"message_id\":\"b\"}"},
    {"string over max length", DIR_IN,
     "{\"action\":\"new_room\",\"room_id\":"
     "\"0123456789012345678901234567890123456789012345678901234567890123X\"}"},
    {"string under min length", DIR_IN, "{\"action\":\"send_message\",\"client_message_id\":\"\"}"},
    {"enum value unknown", DIR_OUT,
     "{\"type\":\"new_room\",\"data\":{\"room_id\":\"1\",\"type\":\"BOGUS\","
     "\"unread_messages_count\":0}}"},
    {"integer below minimum", DIR_OUT,
     "{\"type\":\"unread_message_count\",\"data\":{\"room_id\":\"1\",\"unread_count\":-1}}"},
    {"fraction for integer", DIR_OUT,
     "{\"type\":\"unread_message_count\",\"data\":{\"room_id\":\"1\",\"unread_count\":1.0}}"},
    {"timestamp not ISO-8601", DIR_OUT,
     "{\"type\":\"new_room\",\"data\":{\"room_id\":\"1\",\"type\":\"SERVICE\","
     "\"unread_messages_count\":0,\"service\":{\"id\":\"s\",\"created_at\":\"yesterday\","
     "\"status\":\"open\"}}}"},
    {"one-of rule (error or data)", DIR_OUT, "{\"type\":\"error\"}"},
    {"invalid UTF-8", DIR_IN, "{\"action\":\"new_room\",\"room_id\":\"\xff\"}"},
    {"lone surrogate escape", DIR_IN, "{\"action\":\"new_room\",\"room_id\":\"\\udc00\"}"},
    {"control character in string", DIR_IN, "{\"action\":\"new_room\",\"room_id\":\"a\tb\"}"},
};
enum { NBAD = sizeof bad_docs / sizeof bad_docs[0] };

static void print_validation_table(void)
{
    printf("### What \"validate\" rejects\n\n");
    printf("Invalid documents, each run through every validating parser "
           "(reject = correct).\n\n");
    printf("| invalid document | switchboard |");
    for (int l = 0; l < NLIBS; l++)
        printf(" %s |", libs[l]->name);
    printf("\n| --- | --- |");
    for (int l = 0; l < NLIBS; l++)
        printf(" --- |");
    printf("\n");
    int rejected[1 + NLIBS] = {0};
    for (int k = 0; k < NBAD; k++) {
        const bad_doc *d = &bad_docs[k];
        size_t len = strlen(d->json);
        bool acc[1 + NLIBS];
        sb_reader r;
        bench_msg m;
        m.dir = d->dir;
        sb_reader_init(&r, d->json, len, &arena, NULL);
        acc[0] = sb_parse_document(&r, d->dir == DIR_IN ? parse_in_any : parse_out_any, &m.u);
        sb_arena_reset(&arena);
        for (int l = 0; l < NLIBS; l++) {
            /* The docs are string literals: NUL-terminated, as cJSON's check needs. */
            acc[1 + l] = libs[l]->parse(d->json, len, true, &m, NULL);
        }
        printf("| %s |", d->what);
        for (int j = 0; j < 1 + NLIBS; j++) {
            printf(" %s |", acc[j] ? "**accepts**" : "rejects");
            rejected[j] += !acc[j];
        }
        printf("\n");
    }
    printf("| **rejected** |");
    for (int j = 0; j < 1 + NLIBS; j++)
        printf(" %d / %d |", rejected[j], NBAD);
    printf("\n\n");
}

/* ---- report ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double tmp[64];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static int find_impl(const char *id)
{
    for (int k = 0; k < NIMPLS; k++)
        if (strcmp(impls[k].id, id) == 0)
            return k;
    return -1;
}

/* Median over rounds of time(ref) / time(ours): the speed-up measured within
 * each round, so slow drift of the machine cancels; min and max too, and
 * the same median by CPU time. */
static bool run_ratio(const set *s, int ours, int ref, int runs, double *med, double *lo,
                      double *hi, double *cpu_med)
{
    double r[64], c[64];
    if (ours < 0 || ref < 0 || !impls[ours].on || !impls[ref].on)
        return false;
    for (int k = 0; k < runs; k++) {
        r[k] = s->secs[ref][k] / s->secs[ours][k];
        c[k] = s->cpu[ref][k] / s->cpu[ours][k];
    }
    *med = median(r, runs);
    *cpu_med = median(c, runs);
    *lo = *hi = r[0];
    for (int k = 1; k < runs; k++) {
        *lo = r[k] < *lo ? r[k] : *lo;
        *hi = r[k] > *hi ? r[k] : *hi;
    }
    return true;
}

static void print_table(const set *s, op o, int runs, const char *ref_id)
{
    int ref = find_impl(ref_id);
    double ref_thr = 0;
    bool any = false;
    for (int k = 0; k < NIMPLS; k++)
        any |= impls[k].op == o && impls[k].on;
    if (!any)
        return;
    if (ref >= 0 && impls[ref].on)
        ref_thr = (double)s->bytes[ref] / median(s->secs[ref], runs);
    printf("| %s | MB/s | messages/s | vs %s |\n",
           o == OP_PARSE ? "parse (input bytes)" : "write (output bytes)",
           ref_id && ref >= 0 ? (o == OP_PARSE ? "cJSON extract" : "cJSON print") : "-");
    printf("| --- | ---: | ---: | ---: |\n");
    for (int k = 0; k < NIMPLS; k++) {
        const impl *im = &impls[k];
        if (im->op != o || !im->on)
            continue;
        char label[128];
        impl_label(im, label, sizeof label);
        double t = median(s->secs[k], runs);
        double thr = (double)s->bytes[k] / t;
        double msgs = (double)(s->c.count * s->reps) / t;
        if (ref_thr > 0)
            printf("| %s | %.1f | %.0f | %.2f |\n", label, thr / 1e6, msgs, thr / ref_thr);
        else
            printf("| %s | %.1f | %.0f | - |\n", label, thr / 1e6, msgs);
    }
    printf("\n");
}

static void print_set(const set *s, int runs)
{
    double med, lo, hi, cpu_med;
    printf("### %s\n\n", s->c.name);
    if (s == &sets[0] && seeds_note)
        printf("The %zu examples that are REST bodies (not chat actions or events) are left "
               "out.\n",
               seeds_note);
    printf("%zu messages, %zu bytes in, %zu bytes out (%.0f bytes per message in)%s", s->c.count,
           s->c.bytes, s->out_bytes, (double)s->c.bytes / (double)s->c.count,
           s->reps > 1 ? "" : ".\n\n");
    if (s->reps > 1)
        printf("; each timed pass goes over them %zu times (%zu messages).\n\n", s->reps,
               s->c.count * s->reps);
    print_table(s, OP_PARSE, runs, "cjson-x");
    print_table(s, OP_WRITE, runs, "cjson-print");
    printf("Speed-up of switchboard: median of the per-round ratios of wall-clock times "
           "(min-max over the %d rounds), and the same median by CPU time:\n\n",
           runs);
    static const struct {
        const char *ours, *ref, *text;
    } pairs[] = {
        {"sb", "cjson-x", "parse + validate vs cJSON parse + extract"},
        {"sb", "cjson-v", "parse + validate vs cJSON parse + validate"},
        {"sb", "jansson-v", "parse + validate vs jansson parse + validate"},
        {"sb", "jsonc-v", "parse + validate vs json-c parse + validate"},
        {"sb", "simdjson-x", "parse + validate vs simdjson On-Demand parse + extract"},
        {"sb", "simdjson-v", "parse + validate vs simdjson On-Demand parse + validate"},
        {"sb-write", "cjson-print", "write vs cJSON_PrintUnformatted, DOM built once"},
        {"sb-write", "cjson-prealloc", "write vs cJSON_PrintPreallocated, DOM built once"},
        {"sb-write", "cjson-build", "write vs cJSON build + print + free"},
        {"sb-write", "jansson-build", "write vs jansson build + print + free"},
        {"sb-write", "jsonc-build", "write vs json-c build + print + free"},
    };
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        if (run_ratio(s, find_impl(pairs[k].ours), find_impl(pairs[k].ref), runs, &med, &lo, &hi,
                      &cpu_med))
            printf("- %s: **%.2fx** (%.2f-%.2f; CPU time %.2fx)\n", pairs[k].text, med, lo, hi,
                   cpu_med);
    }
    printf("\n");
}

/* The first three fields of /proc/loadavg: how busy the machine was. */
static const char *loadavg(void)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        double a, b, c;
        if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
            snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
        fclose(f);
    }
    return buf;
}

static void print_header(int runs, size_t n, uint64_t seed, int argc, char **argv)
{
    char cpu[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *p = strchr(line, ':');
                if (p) {
                    p += 1 + (p[1] == ' ');
                    p[strcspn(p, "\n")] = '\0';
                    snprintf(cpu, sizeof cpu, "%s", p);
                }
                break;
            }
        }
        fclose(f);
    }
    char date[64];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    printf("## Codec benchmark results\n\n");
    printf("- date: %s\n", date);
    printf("- machine: %s, %ld online CPUs\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    printf("- build: %s, compiler %s\n", SB_BENCH_BUILD_INFO, __VERSION__);
    printf("- load average before the run: %s\n", loadavg());
    printf("- references:");
    for (int l = 0; l < NLIBS; l++)
        printf(" %s %s%s", libs[l]->name, libs[l]->version(), l + 1 < NLIBS ? "," : "\n");
    printf("- command:");
    for (int k = 0; k < argc; k++)
        printf(" %s", argv[k]);
    printf("\n- %d rounds, median reported; synthetic log: %zu messages per kind, seed %llu\n\n",
           runs, n, (unsigned long long)seed);
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
    printf("usage: bench_codec [options]\n"
           "  --runs N         timed rounds, median reported (default 5, at most 64)\n"
           "  --messages N     synthetic messages of each kind (default 100000)\n"
           "  --seed N         PRNG seed of the synthetic log (default 1)\n"
           "  --set LIST       of seeds,log_in,log_out (default all)\n"
           "  --impl LIST      implementations to run (default all):\n"
           "                   ");
    for (int k = 0; k < NIMPLS; k++)
        printf("%s%s", impls[k].id, k + 1 < NIMPLS ? "," : "\n");
    printf("  --seeds-dir DIR  the seed examples (default %s)\n"
           "  --seed-bytes N   input bytes per timed pass over the seeds (default 16000000)\n"
           "  --quick          --messages 20000 --runs 3 --seed-bytes 4000000\n"
           "  --no-verify      skip the equivalence checks before timing\n",
           SB_BENCH_SEEDS_DIR);
}

/* Is id in the comma-separated list? */
static bool in_list(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, id, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static const char *const set_ids[3] = {"seeds", "log_in", "log_out"};

int main(int argc, char **argv)
{
    int runs = 5;
    size_t n = 100000, seed_bytes = 16000000;
    uint64_t seed = 1;
    const char *set_list = "seeds,log_in,log_out", *impl_list = NULL;
    const char *seeds_dir = SB_BENCH_SEEDS_DIR;
    bool verify = true;
    size_t seeds_skipped = 0;

    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        const char *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else if (strcmp(a, "--no-verify") == 0) {
            verify = false;
        } else if (strcmp(a, "--quick") == 0) {
            n = 20000;
            runs = 3;
            seed_bytes = 4000000;
        } else if (v && strcmp(a, "--runs") == 0) {
            runs = atoi(v), k++;
        } else if (v && strcmp(a, "--messages") == 0) {
            n = strtoul(v, NULL, 10), k++;
        } else if (v && strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 10), k++;
        } else if (v && strcmp(a, "--set") == 0) {
            set_list = v, k++;
        } else if (v && strcmp(a, "--impl") == 0) {
            impl_list = v, k++;
        } else if (v && strcmp(a, "--seeds-dir") == 0) {
            seeds_dir = v, k++;
        } else if (v && strcmp(a, "--seed-bytes") == 0) {
            seed_bytes = strtoul(v, NULL, 10), k++;
        } else {
            usage();
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || n < 1) {
        usage();
        return 2;
    }
    if (impl_list) {
        for (int k = 0; k < NIMPLS; k++)
            impls[k].on = in_list(impl_list, impls[k].id);
    }

    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    sb_buf_init(&wbuf);
    for (int l = 0; l < NLIBS; l++)
        libs[l]->init();

    for (int k = 0; k < 3; k++) {
        set *s = &sets[k];
        if (!in_list(set_list, set_ids[k]))
            continue;
        s->reps = 1;
        if (k == 0) {
            size_t loaded;
            corpus_init(&s->c, "Seed examples (generated/fuzz/corpus/chat)");
            if (!corpus_load_dir(&s->c, seeds_dir, &loaded) || loaded == 0)
                die("no seed examples in %s", seeds_dir);
            classify(&s->c, &seeds_skipped);
            if (s->c.count == 0)
                die("no chat action or event among the seed examples in %s", seeds_dir);
            s->reps = seed_bytes / s->c.bytes + 1;
        } else if (k == 1) {
            corpus_init(&s->c, "Synthetic log, inbound: send_message actions");
            corpus_gen_send_message(&s->c, n, seed);
        } else {
            corpus_init(&s->c, "Synthetic log, outbound: new_message events");
            corpus_gen_new_message(&s->c, n, seed);
        }
        prepare(s, verify);
    }
    seeds_note = seeds_skipped;

    print_header(runs, n, seed, argc, argv);
    if (verify)
        printf("Checked before timing, on every message: each reference library reads the "
               "same values as switchboard (extract and validate), and every writer prints "
               "the same bytes.\n\n");

    for (int k = 0; k < 3; k++) {
        set *s = &sets[k];
        if (!s->c.count)
            continue;
        for (int j = 0; j < NIMPLS; j++) {
            size_t bytes;
            if (impls[j].on && !run_pass(&impls[j], s, &bytes)) /* warm-up */
                die("%s: a message failed in the warm-up", impls[j].id);
        }
        for (int r = 0; r < runs; r++) {
            for (int j = 0; j < NIMPLS; j++) {
                int i = (j + r) % NIMPLS;
                if (impls[i].on)
                    s->secs[i][r] = timed_pass(&impls[i], s, &s->bytes[i], &s->cpu[i][r]);
            }
        }
        print_set(s, runs);
        fflush(stdout);
    }

    if (verify)
        print_validation_table();
    printf("Load average after the run: %s.\n", loadavg());

    for (int k = 0; k < 3; k++)
        release(&sets[k]);
    for (int l = 0; l < NLIBS; l++)
        libs[l]->fini();
    sb_buf_free(&wbuf);
    sb_arena_free(&arena);
    return 0;
}
