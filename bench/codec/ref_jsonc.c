/*
 * ref_jsonc.c: json-c doing the benchmark's work (see bench.h, ref_extract.h).
 *
 * Parse: json_tokener_parse_ex on a tokener made once and reset per message
 * (cheaper than json_tokener_parse, which makes one per call). Extract mode
 * uses the default flags; validate mode sets JSON_TOKENER_STRICT and
 * JSON_TOKENER_VALIDATE_UTF8 and checks that the value ends the input.
 * json-c keeps the last of duplicate keys, so validate cannot see them.
 * Members are found with json_object_object_get_ex (a hash table; JSON null
 * is a NULL value); strings are json_object_get_string + _get_string_len.
 *
 * Write: json_object_to_json_string_length(PLAIN | NOSLASHESCAPE): the text
 * belongs to the object and its buffer is reused when the same DOM is
 * printed again, so there is no separate "reused buffer" variant.
 * NOSLASHESCAPE keeps '/' as is, as every other writer here does (json-c
 * otherwise writes "\/"). DOMs are built with json_object_object_add_ex
 * (KEY_IS_NEW | CONSTANT_KEY): no look-up and no copy of constant keys.
 */
#include <json-c/json.h>
#include <string.h>

#include "bench.h"

static inline sb_str jc_str(json_object *v)
{
    return (sb_str){json_object_get_string(v), (size_t)json_object_get_string_len(v)};
}

#define D_T json_object *
#define D_GET(o, k, v) json_object_object_get_ex(o, k, v)
#define D_IS_NULL(v) ((v) == NULL)
#define D_IS_OBJ(v) json_object_is_type(v, json_type_object)
#define D_IS_STR(v) json_object_is_type(v, json_type_string)
#define D_IS_INT(v) json_object_is_type(v, json_type_int)
#define D_IS_BOOL(v) json_object_is_type(v, json_type_boolean)
#define D_STR(v) jc_str(v)
#define D_INT(v) ((int64_t)json_object_get_int64(v))
#define D_BOOL(v) (json_object_get_boolean(v) != 0)
#define D_COUNT(o) ((size_t)json_object_object_length(o))

#define X(name) jsonc_x_##name
#define X_VALIDATE 0
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define X(name) jsonc_v_##name
#define X_VALIDATE 1
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define B(name) jsonc_b_##name
#define B_T json_object *
#define B_OBJ() json_object_new_object()
#define B_ADD(o, k, v)                                                                             \
    json_object_object_add_ex(o, k, v,                                                             \
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)
#define B_STR(s) json_object_new_string_len((s).ptr, (int)(s).len)
#define B_NULL() NULL
#define B_INT(x) json_object_new_int64(x)
#define B_BOOL(b) json_object_new_boolean(b)
#include "ref_build.h"

static json_tokener *tok_extract, *tok_validate;

static bool read_dom(json_object *root, bool validate, bench_msg *m)
{
    if (m->dir == DIR_IN)
        return validate ? jsonc_v_parse_in(root, &m->u.in) : jsonc_x_parse_in(root, &m->u.in);
    return validate ? jsonc_v_parse_out(root, &m->u.out) : jsonc_x_parse_out(root, &m->u.out);
}

static json_object *parse_dom(const char *buf, size_t len, bool validate)
{
    json_tokener *tok = validate ? tok_validate : tok_extract;
    json_tokener_reset(tok);
    json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    if (root && validate && json_tokener_get_parse_end(tok) != len) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

static bool jsonc_parse(const char *buf, size_t len, bool validate, bench_msg *m, sb_buf *echo)
{
    json_object *root = parse_dom(buf, len, validate);
    if (!root)
        return false;
    bool ok = read_dom(root, validate, m);
    if (ok) {
        bench_consume(m);
        if (echo)
            bench_write(echo, m);
    }
    json_object_put(root);
    return ok;
}

static void *jsonc_parse_keep(const char *buf, size_t len, bench_msg *m)
{
    json_object *root = parse_dom(buf, len, true);
    if (root && !read_dom(root, true, m)) {
        json_object_put(root);
        root = NULL;
    }
    return root;
}

static void *jsonc_build(const bench_msg *m)
{
    return m->dir == DIR_IN ? jsonc_b_build_in(&m->u.in) : jsonc_b_build_out(&m->u.out);
}

static size_t jsonc_print(void *dom, print_how how, sb_buf *echo)
{
    size_t n;
    (void)how;
    const char *s = json_object_to_json_string_length(
        dom, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s)
        return 0;
    bench_consume_text(s, n);
    if (echo)
        sb_buf_put(echo, s, n);
    return n;
}

static void jsonc_free_dom(void *dom)
{
    json_object_put(dom);
}

static void jsonc_init(void)
{
    if (!tok_extract) {
        tok_extract = json_tokener_new();
        tok_validate = json_tokener_new();
        json_tokener_set_flags(tok_validate, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    }
}

static void jsonc_fini(void)
{
    if (tok_extract) {
        json_tokener_free(tok_extract);
        json_tokener_free(tok_validate);
        tok_extract = tok_validate = NULL;
    }
}

const ref_lib ref_jsonc = {
    .name = "json-c",
    .version = json_c_version,
    .parse_call = "json_tokener_parse_ex (reused tokener) + json_object_object_get_ex, "
                  "json_object_put",
    .print_alloc_call = "json_object_to_json_string_length(PLAIN|NOSLASHESCAPE)",
    .print_reuse_call = NULL,
    .init = jsonc_init,
    .fini = jsonc_fini,
    .parse = jsonc_parse,
    .parse_keep = jsonc_parse_keep,
    .build = jsonc_build,
    .print = jsonc_print,
    .free_dom = jsonc_free_dom,
};
