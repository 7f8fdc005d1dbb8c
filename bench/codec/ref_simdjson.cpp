/*
 * ref_simdjson.cpp: simdjson's On-Demand API doing the benchmark's parse
 * work (see bench.h, ref_extract.h): the state-of-the-art reference. C++,
 * benchmark only (Debian: libsimdjson-dev); without it CMake leaves it out.
 *
 * Parse: one reused ondemand::parser; parser.iterate over the message
 * copied into a buffer with SIMDJSON_PADDING bytes after it (the library
 * requires them, and our corpus and the bench's invalid documents do not
 * promise them: the copy is part of what a caller pays); the root as a
 * value; members with find_field_unordered (any order, as the others look
 * up). Validate adds count_fields for the no-undeclared-member check and
 * at_end for "nothing after the value". On-Demand validates only what it
 * visits (plus UTF-8 and the structure of the whole input in its first
 * stage), and every field is visited, so the checks match the others'.
 *
 * There is no DOM to print: simdjson has parse rows only, no write rows.
 */
#include <simdjson.h>

#include <cstdlib>
#include <cstring>

extern "C" {
#include "bench.h"
}

using namespace simdjson;

namespace
{

ondemand::parser *parser;
char *padded;      /* the copy of one message, SIMDJSON_PADDING after it */
size_t padded_cap; /* bytes of padded */
int64_t last_int;  /* D_IS_INT reads the number once; D_INT returns it */

inline bool sj_get(ondemand::value &o, const char *k, ondemand::value *v)
{
    return o.find_field_unordered(k).get(*v) == SUCCESS;
}

inline bool sj_is(ondemand::value &v, ondemand::json_type t)
{
    ondemand::json_type got;
    return v.type().get(got) == SUCCESS && got == t;
}

inline bool sj_is_null(ondemand::value &v)
{
    return sj_is(v, ondemand::json_type::null) && v.is_null();
}

inline bool sj_is_int(ondemand::value &v)
{
    return sj_is(v, ondemand::json_type::number) && v.get_int64().get(last_int) == SUCCESS;
}

inline sb_str sj_str(ondemand::value &v)
{
    std::string_view s;
    if (v.get_string().get(s) != SUCCESS)
        return sb_str{"", 0};
    return sb_str{s.data(), s.size()};
}

inline bool sj_bool(ondemand::value &v)
{
    bool b = false;
    if (v.get_bool().get(b) != SUCCESS)
        return false;
    return b;
}

/* count_fields must start from the object's beginning: after the look-ups,
 * the object is taken again and reset first. */
inline size_t sj_count(ondemand::value &o)
{
    ondemand::object obj;
    size_t n = 0;
    if (o.get_object().get(obj) != SUCCESS || obj.reset().error() != SUCCESS ||
        obj.count_fields().get(n) != SUCCESS)
        return SIZE_MAX;
    return n;
}

/* Nothing after the root value: simdjson 3.0 has no document::at_end, so
 * the root object is skipped over (raw_json) and the document must then
 * have no current location; then it is rewound for the extraction. */
bool nothing_after(ondemand::document &doc)
{
    ondemand::object obj;
    std::string_view raw;
    if (doc.get_object().get(obj) != SUCCESS || obj.raw_json().get(raw) != SUCCESS)
        return false;
    const char *loc;
    bool at_end = doc.current_location().get(loc) != SUCCESS;
    doc.rewind();
    return at_end;
}

} // namespace

#define D_T ondemand::value
#define D_GET(o, k, v) sj_get(o, k, v)
#define D_IS_NULL(v) sj_is_null(v)
#define D_IS_OBJ(v) sj_is(v, ondemand::json_type::object)
#define D_IS_STR(v) sj_is(v, ondemand::json_type::string)
#define D_IS_INT(v) sj_is_int(v)
#define D_IS_BOOL(v) sj_is(v, ondemand::json_type::boolean)
#define D_STR(v) sj_str(v)
#define D_INT(v) last_int
#define D_BOOL(v) sj_bool(v)
#define D_COUNT(o) sj_count(o)

#define X(name) sj_x_##name
#define X_VALIDATE 0
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

#define X(name) sj_v_##name
#define X_VALIDATE 1
#include "ref_extract.h"
#undef X
#undef X_VALIDATE

static bool sj_parse(const char *buf, size_t len, bool validate, bench_msg *m, sb_buf *echo)
{
    if (len + SIMDJSON_PADDING > padded_cap) {
        free(padded);
        padded_cap = (len + SIMDJSON_PADDING) * 2;
        padded = static_cast<char *>(malloc(padded_cap));
        if (!padded)
            return false;
    }
    memcpy(padded, buf, len);
    ondemand::document doc;
    if (parser->iterate(padded, len, padded_cap).get(doc) != SUCCESS)
        return false;
    if (validate && !nothing_after(doc))
        return false;
    ondemand::value root;
    if (doc.get_value().get(root) != SUCCESS)
        return false;
    bool ok;
    if (m->dir == DIR_IN)
        ok = validate ? sj_v_parse_in(root, &m->u.in) : sj_x_parse_in(root, &m->u.in);
    else
        ok = validate ? sj_v_parse_out(root, &m->u.out) : sj_x_parse_out(root, &m->u.out);
    if (ok) {
        bench_consume(m);
        if (echo)
            bench_write(echo, m);
    }
    return ok;
}

static const char *sj_version(void)
{
#define SB_STR2(x) #x
#define SB_STR(x) SB_STR2(x)
    return SB_STR(SIMDJSON_VERSION);
}

static void sj_init(void)
{
    if (!parser)
        parser = new ondemand::parser();
}

static void sj_fini(void)
{
    delete parser;
    parser = nullptr;
    free(padded);
    padded = nullptr;
    padded_cap = 0;
}

extern "C" const ref_lib ref_simdjson = {
    "simdjson",
    sj_version,
    "ondemand::parser::iterate (copy into a padded buffer) + find_field_unordered",
    nullptr,
    nullptr,
    sj_init,
    sj_fini,
    sj_parse,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};
