/*
 * ref_cjson.c: cJSON doing the benchmark's work (see bench.h, ref_extract.h).
 *
 * Parse: cJSON_ParseWithLength (extract), cJSON_ParseWithLengthOpts with
 * require_null_terminated (validate: nothing may follow the value). Members
 * are found with cJSON_GetObjectItemCaseSensitive (JSON keys are case
 * sensitive; the case-insensitive call would also be slower). Strings are
 * taken as valuestring + strlen, integers from valuedouble (cJSON has no
 * integer type: validate accepts a number when it is integral and in range).
 *
 * Write: cJSON_PrintUnformatted (fresh string, freed with cJSON_free) or
 * cJSON_PrintPreallocated into one reused buffer. DOMs are built with
 * cJSON_AddItemToObjectCS: constant keys are not copied, the fastest way
 * cJSON offers.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static inline bool cj_get(const cJSON *o, const char *k, cJSON **v)
{
    *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return *v != NULL;
}

static inline sb_str cj_str(const cJSON *v)
{
    return (sb_str){v->valuestring, strlen(v->valuestring)};
}

/* An integral number that fits in int64_t (2^63 is exact in a double). */
static inline bool cj_is_int(const cJSON *v)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == floor(d);
}

static inline size_t cj_count(const cJSON *o)
{
    size_t n = 0;
    for (const cJSON *c = o->child; c; c = c->next)
        n++;
    return n;
}

#define D_T cJSON *
#define D_GET(o, k, v) cj_get(o, k, v)
#define D_IS_NULL(v) cJSON_IsNull(v)
#define D_IS_OBJ(v) cJSON_IsObject(v)
#define D_IS_STR(v) cJSON_IsString(v)
#define D_IS_INT(v) cj_is_int(v)
#define D_IS_BOOL(v) cJSON_IsBool(v)
#define D_STR(v) cj_str(v)
#define D_INT(v) ((int64_t)(v)->valuedouble)
#define D_BOOL(v) cJSON_IsTrue(v)
#define D_COUNT(o) cj_count(o)

#define X(name) cjson_x_##name
#define X_VALIDATE 0
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define X(name) cjson_v_##name
#define X_VALIDATE 1
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define B(name) cjson_b_##name
#define B_T cJSON *
#define B_OBJ() cJSON_CreateObject()
#define B_ADD(o, k, v) cJSON_AddItemToObjectCS(o, k, v)
#define B_STR(s) cJSON_CreateString((s).ptr)
#define B_NULL() cJSON_CreateNull()
#define B_INT(x) cJSON_CreateNumber((double)(x))
#define B_BOOL(b) cJSON_CreateBool(b)
#include "ref_build.h"

static bool read_dom(cJSON *root, bool validate, bench_msg *m)
{
    if (m->dir == DIR_IN)
        return validate ? cjson_v_parse_in(root, &m->u.in) : cjson_x_parse_in(root, &m->u.in);
    return validate ? cjson_v_parse_out(root, &m->u.out) : cjson_x_parse_out(root, &m->u.out);
}

/* The corpus guarantees buf[len] == '\0' (bench.h), which is what
 * require_null_terminated looks for after the value. */
static cJSON *parse_dom(const char *buf, size_t len, bool validate)
{
    if (validate)
        return cJSON_ParseWithLengthOpts(buf, len + 1, NULL, 1);
    return cJSON_ParseWithLength(buf, len);
}

static bool cjson_parse(const char *buf, size_t len, bool validate, bench_msg *m, sb_buf *echo)
{
    cJSON *root = parse_dom(buf, len, validate);
    if (!root)
        return false;
    bool ok = read_dom(root, validate, m);
    if (ok) {
        bench_consume(m);
        if (echo)
            bench_write(echo, m);
    }
    cJSON_Delete(root);
    return ok;
}

static void *cjson_parse_keep(const char *buf, size_t len, bench_msg *m)
{
    cJSON *root = parse_dom(buf, len, true);
    if (root && !read_dom(root, true, m)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

static void *cjson_build(const bench_msg *m)
{
    return m->dir == DIR_IN ? cjson_b_build_in(&m->u.in) : cjson_b_build_out(&m->u.out);
}

#define SCRATCH_SIZE (1 << 20)
static char *scratch;

static size_t cjson_print(void *dom, print_how how, sb_buf *echo)
{
    size_t n;
    if (how == PRINT_REUSE) {
        if (!cJSON_PrintPreallocated(dom, scratch, SCRATCH_SIZE, 0))
            return 0;
        n = strlen(scratch);
        bench_consume_text(scratch, n);
        if (echo)
            sb_buf_put(echo, scratch, n);
        return n;
    }
    char *s = cJSON_PrintUnformatted(dom);
    if (!s)
        return 0;
    n = strlen(s); /* a sender needs the length */
    bench_consume_text(s, n);
    if (echo)
        sb_buf_put(echo, s, n);
    cJSON_free(s);
    return n;
}

static void cjson_free_dom(void *dom)
{
    cJSON_Delete(dom);
}

static void cjson_init(void)
{
    if (!scratch)
        scratch = malloc(SCRATCH_SIZE);
}

static void cjson_fini(void)
{
    free(scratch);
    scratch = NULL;
}

const ref_lib ref_cjson = {
    .name = "cJSON",
    .version = cJSON_Version,
    .parse_call = "cJSON_ParseWithLength[Opts] + cJSON_GetObjectItemCaseSensitive, cJSON_Delete",
    .print_alloc_call = "cJSON_PrintUnformatted + strlen + cJSON_free",
    .print_reuse_call = "cJSON_PrintPreallocated + strlen",
    .init = cjson_init,
    .fini = cjson_fini,
    .parse = cjson_parse,
    .parse_keep = cjson_parse_keep,
    .build = cjson_build,
    .print = cjson_print,
    .free_dom = cjson_free_dom,
};
