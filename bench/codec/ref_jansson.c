/*
 * ref_jansson.c: jansson doing the benchmark's work (see bench.h, ref_extract.h).
 *
 * Parse: json_loadb (which already rejects anything after the value); in
 * validate mode with JSON_REJECT_DUPLICATES and an error record, as a
 * validating server would use it. jansson checks UTF-8 while parsing.
 * Members are found with json_object_get (a hash table); strings are taken
 * as json_string_value + json_string_length.
 *
 * Write: json_dumps(JSON_COMPACT) (fresh string, freed) or json_dumpb into
 * one reused buffer. DOMs are built with json_object_set_new_nocheck
 * (constant keys need no UTF-8 check) and json_stringn (values are checked,
 * as jansson requires unless told otherwise).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static inline bool jn_get(const json_t *o, const char *k, json_t **v)
{
    *v = json_object_get(o, k);
    return *v != NULL;
}

static inline sb_str jn_str(const json_t *v)
{
    return (sb_str){json_string_value(v), json_string_length(v)};
}

#define D_T json_t *
#define D_GET(o, k, v) jn_get(o, k, v)
#define D_IS_NULL(v) json_is_null(v)
#define D_IS_OBJ(v) json_is_object(v)
#define D_IS_STR(v) json_is_string(v)
#define D_IS_INT(v) json_is_integer(v)
#define D_IS_BOOL(v) json_is_boolean(v)
#define D_STR(v) jn_str(v)
#define D_INT(v) ((int64_t)json_integer_value(v))
#define D_BOOL(v) json_is_true(v)
#define D_COUNT(o) json_object_size(o)

#define X(name) jansson_x_##name
#define X_VALIDATE 0
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define X(name) jansson_v_##name
#define X_VALIDATE 1
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define B(name) jansson_b_##name
#define B_T json_t *
#define B_OBJ() json_object()
#define B_ADD(o, k, v) json_object_set_new_nocheck(o, k, v)
#define B_STR(s) json_stringn((s).ptr, (s).len)
#define B_NULL() json_null()
#define B_INT(x) json_integer((json_int_t)(x))
#define B_BOOL(b) json_boolean(b)
#include "ref_build.h"

static bool read_dom(json_t *root, bool validate, bench_msg *m)
{
    if (m->dir == DIR_IN)
        return validate ? jansson_v_parse_in(root, &m->u.in) : jansson_x_parse_in(root, &m->u.in);
    return validate ? jansson_v_parse_out(root, &m->u.out) : jansson_x_parse_out(root, &m->u.out);
}

static json_t *parse_dom(const char *buf, size_t len, bool validate)
{
    if (validate) {
        json_error_t err;
        return json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    }
    return json_loadb(buf, len, 0, NULL);
}

static bool jansson_parse(const char *buf, size_t len, bool validate, bench_msg *m, sb_buf *echo)
{
    json_t *root = parse_dom(buf, len, validate);
    if (!root)
        return false;
    bool ok = read_dom(root, validate, m);
    if (ok) {
        bench_consume(m);
        if (echo)
            bench_write(echo, m);
    }
    json_decref(root);
    return ok;
}

static void *jansson_parse_keep(const char *buf, size_t len, bench_msg *m)
{
    json_t *root = parse_dom(buf, len, true);
    if (root && !read_dom(root, true, m)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

static void *jansson_build(const bench_msg *m)
{
    return m->dir == DIR_IN ? jansson_b_build_in(&m->u.in) : jansson_b_build_out(&m->u.out);
}

#define SCRATCH_SIZE (1 << 20)
static char *scratch;

static size_t jansson_print(void *dom, print_how how, sb_buf *echo)
{
    size_t n;
    if (how == PRINT_REUSE) {
        n = json_dumpb(dom, scratch, SCRATCH_SIZE, JSON_COMPACT);
        if (n == 0 || n > SCRATCH_SIZE)
            return 0;
        bench_consume_text(scratch, n);
        if (echo)
            sb_buf_put(echo, scratch, n);
        return n;
    }
    char *s = json_dumps(dom, JSON_COMPACT);
    if (!s)
        return 0;
    n = strlen(s); /* a sender needs the length */
    bench_consume_text(s, n);
    if (echo)
        sb_buf_put(echo, s, n);
    free(s);
    return n;
}

static void jansson_free_dom(void *dom)
{
    json_decref(dom);
}

static void jansson_init(void)
{
    if (!scratch)
        scratch = malloc(SCRATCH_SIZE);
}

static void jansson_fini(void)
{
    free(scratch);
    scratch = NULL;
}

const ref_lib ref_jansson = {
    .name = "jansson",
    .version = jansson_version_str,
    .parse_call = "json_loadb + json_object_get, json_decref",
    .print_alloc_call = "json_dumps(JSON_COMPACT) + strlen + free",
    .print_reuse_call = "json_dumpb(JSON_COMPACT)",
    .init = jansson_init,
    .fini = jansson_fini,
    .parse = jansson_parse,
    .parse_keep = jansson_parse_keep,
    .build = jansson_build,
    .print = jansson_print,
    .free_dom = jansson_free_dom,
};
