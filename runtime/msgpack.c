/*
 * msgpack.c: the MessagePack reader and its JSON writer (msgpack.h).
 *
 * Formats (the specification's table): positive fixint 0x00-0x7f, fixmap
 * 0x80-0x8f, fixarray 0x90-0x9f, fixstr 0xa0-0xbf, nil 0xc0, (never used)
 * 0xc1, false/true 0xc2/0xc3, bin 8/16/32 0xc4-0xc6, ext 8/16/32
 * 0xc7-0xc9, float 32/64 0xca/0xcb, uint 8..64 0xcc-0xcf, int 8..64
 * 0xd0-0xd3, fixext 1/2/4/8/16 0xd4-0xd8, str 8/16/32 0xd9-0xdb, array
 * 16/32 0xdc/0xdd, map 16/32 0xde/0xdf, negative fixint 0xe0-0xff. All
 * integers big-endian.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msgpack.h"

const char *sb_mp_type_name(sb_mp_type t)
{
    switch (t) {
    case SB_MP_NIL:
        return "nil";
    case SB_MP_BOOL:
        return "bool";
    case SB_MP_INT:
    case SB_MP_UINT:
        return "integer";
    case SB_MP_FLOAT:
        return "float";
    case SB_MP_STR:
        return "str";
    case SB_MP_BIN:
        return "bin";
    case SB_MP_ARRAY:
        return "array";
    case SB_MP_MAP:
        return "map";
    case SB_MP_EXT:
        return "ext";
    }
    return "?";
}

const char *sb_mp_err_name(sb_mp_err e)
{
    static const char *const names[] = {"ok", "malformed", "shape", "limit", "json", "memory"};
    return (unsigned)e < sizeof names / sizeof *names ? names[e] : "?";
}

void sb_mp_reader_init(sb_mp_reader *r, const void *buf, size_t len)
{
    memset(r, 0, sizeof *r);
    static const unsigned char empty[1];
    r->begin = r->p = buf ? buf : empty;
    r->end = r->begin + (buf ? len : 0);
}

bool sb_mp_fail(sb_mp_reader *r, sb_mp_err code, const char *fmt, ...)
{
    if (r->err)
        return false;
    r->err = code;
    r->err_offset = (size_t)(r->p - r->begin);
    int n = snprintf(r->err_msg, sizeof r->err_msg, "offset %zu: ", r->err_offset);
    if (n < 0 || (size_t)n >= sizeof r->err_msg)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg + n, sizeof r->err_msg - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

size_t sb_mp_left(const sb_mp_reader *r)
{
    return (size_t)(r->end - r->p);
}

static uint64_t be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The n bytes after the format byte and its length field: *at, or an error
 * naming what needed them (what starts at `start`). */
static bool take(sb_mp_reader *r, const unsigned char *start, size_t n, const char *what,
                 const unsigned char **at)
{
    if (n > (size_t)(r->end - r->p)) {
        size_t left = (size_t)(r->end - r->p);
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_MALFORMED, "truncated: %s needs %zu bytes, %zu left", what,
                          n, left);
    }
    *at = r->p;
    r->p += n;
    return true;
}

bool sb_mp_read(sb_mp_reader *r, sb_mp_value *v)
{
    if (r->err)
        return false;
    memset(v, 0, sizeof *v);
    const unsigned char *start = r->p, *q = NULL;
    if (r->p >= r->end)
        return sb_mp_fail(r, SB_MP_ERR_MALFORMED, "truncated: a value expected, no bytes left");
    unsigned c = *r->p++;
    v->format = (uint8_t)c;
    size_t len_bytes = 0, count_mul = 1;
    if (c <= 0x7f) {
        v->type = SB_MP_INT;
        v->i = (int64_t)c;
        return true;
    }
    if (c >= 0xe0) {
        v->type = SB_MP_INT;
        v->i = (int64_t)c - 256;
        return true;
    }
    if (c <= 0x8f || (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd || c == 0xde || c == 0xdf) {
        bool map = c <= 0x8f || c == 0xde || c == 0xdf;
        v->type = map ? SB_MP_MAP : SB_MP_ARRAY;
        if (c <= 0x9f) {
            v->n = c & 0x0f;
        } else {
            len_bytes = (c == 0xdc || c == 0xde) ? 2 : 4;
            if (!take(r, start, len_bytes, map ? "map count" : "array count", &q))
                return false;
            v->n = (uint32_t)be(q, len_bytes);
        }
        count_mul = map ? 2 : 1;
        /* every element takes a byte at least */
        if ((uint64_t)v->n * count_mul > sb_mp_left(r)) {
            uint32_t n = v->n;
            size_t left = sb_mp_left(r);
            r->p = start;
            return sb_mp_fail(r, SB_MP_ERR_MALFORMED, "%s of %u %s in %zu bytes",
                              map ? "map" : "array", n, map ? "pairs" : "elements", left);
        }
        return true;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        v->type = SB_MP_STR;
        v->len = c & 0x1f;
        if (!take(r, start, v->len, "fixstr", &q))
            return false;
        v->ptr = (const char *)q;
        return true;
    }
    switch (c) {
    case 0xc0:
        v->type = SB_MP_NIL;
        return true;
    case 0xc1:
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_MALFORMED, "byte 0xc1 is never used");
    case 0xc2:
    case 0xc3:
        v->type = SB_MP_BOOL;
        v->boolean = c == 0xc3;
        return true;
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0xd9:
    case 0xda:
    case 0xdb: {
        bool bin = c <= 0xc6;
        v->type = bin ? SB_MP_BIN : SB_MP_STR;
        len_bytes = (size_t)1 << (bin ? c - 0xc4 : c - 0xd9);
        static const char *const names[] = {"bin 8", "bin 16", "", "bin 32"};
        static const char *const snames[] = {"str 8", "str 16", "", "str 32"};
        const char *what = bin ? names[len_bytes - 1] : snames[len_bytes - 1];
        if (!take(r, start, len_bytes, what, &q))
            return false;
        v->len = (size_t)be(q, len_bytes);
        if (!take(r, start, v->len, what, &q))
            return false;
        v->ptr = (const char *)q;
        return true;
    }
    case 0xc7:
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: {
        v->type = SB_MP_EXT;
        const char *what = "ext";
        if (c <= 0xc9) {
            len_bytes = (size_t)1 << (c - 0xc7);
            if (!take(r, start, len_bytes + 1, what, &q))
                return false;
            v->len = (size_t)be(q, len_bytes);
            v->ext = (int8_t)q[len_bytes];
        } else {
            what = "fixext";
            if (!take(r, start, 1, what, &q))
                return false;
            v->len = (size_t)1 << (c - 0xd4);
            v->ext = (int8_t)q[0];
        }
        if (!take(r, start, v->len, what, &q))
            return false;
        v->ptr = (const char *)q;
        return true;
    }
    case 0xca:
    case 0xcb:
        v->type = SB_MP_FLOAT;
        if (!take(r, start, c == 0xca ? 4 : 8, c == 0xca ? "float 32" : "float 64", &q))
            return false;
        if (c == 0xca) {
            uint32_t bits = (uint32_t)be(q, 4);
            float f;
            memcpy(&f, &bits, sizeof f);
            v->f = f;
        } else {
            uint64_t bits = be(q, 8);
            memcpy(&v->f, &bits, sizeof v->f);
        }
        return true;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
        size_t n = (size_t)1 << (c - 0xcc);
        static const char *const names[] = {"uint 8", "uint 16", "", "uint 32",
                                            "",       "",        "", "uint 64"};
        if (!take(r, start, n, names[n - 1], &q))
            return false;
        uint64_t u = be(q, n);
        if (u > (uint64_t)INT64_MAX) {
            v->type = SB_MP_UINT;
            v->u = u;
        } else {
            v->type = SB_MP_INT;
            v->i = (int64_t)u;
        }
        return true;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t n = (size_t)1 << (c - 0xd0);
        static const char *const names[] = {"int 8", "int 16", "", "int 32", "", "", "", "int 64"};
        if (!take(r, start, n, names[n - 1], &q))
            return false;
        uint64_t u = be(q, n);
        /* sign-extend from n bytes */
        if (n < 8 && (u >> (8 * n - 1)))
            u |= ~(uint64_t)0 << (8 * n);
        v->type = SB_MP_INT;
        memcpy(&v->i, &u, sizeof v->i);
        return true;
    }
    }
    r->p = start; /* unreachable: every byte is a format */
    return sb_mp_fail(r, SB_MP_ERR_MALFORMED, "byte 0x%02x", c);
}

static bool skip(sb_mp_reader *r, int depth, int max_depth)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type != SB_MP_ARRAY && v.type != SB_MP_MAP)
        return true;
    if (depth >= max_depth) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_LIMIT, "nested deeper than %d", max_depth);
    }
    uint64_t n = (uint64_t)v.n * (v.type == SB_MP_MAP ? 2 : 1);
    for (uint64_t i = 0; i < n; i++)
        if (!skip(r, depth + 1, max_depth))
            return false;
    return true;
}

bool sb_mp_skip(sb_mp_reader *r, int max_depth)
{
    return skip(r, 0, max_depth > 0 ? max_depth : SB_MP_MAX_DEPTH);
}

bool sb_mp_read_str(sb_mp_reader *r, const char *what, sb_str *out)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type != SB_MP_STR) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_SHAPE, "%s: expected str, got %s", what,
                          sb_mp_type_name(v.type));
    }
    *out = (sb_str){v.ptr, v.len};
    return true;
}

bool sb_mp_end(sb_mp_reader *r)
{
    if (r->err)
        return false;
    if (r->p != r->end)
        return sb_mp_fail(r, SB_MP_ERR_MALFORMED, "%zu bytes after the value", sb_mp_left(r));
    return true;
}

/* Dates ------------------------------------------------------------------- */

/* Howard Hinnant's civil_from_days: days since 1970-01-01 -> y, m, d. */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

#define DATE_MAX_MS 8640000000000000LL

bool sb_mp_iso_date(int64_t ms, char *buf, size_t size)
{
    if (ms > DATE_MAX_MS || ms < -DATE_MAX_MS)
        return false;
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil(days, &y, &mo, &d);
    unsigned h = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60),
             s = (unsigned)(rem / 1000 % 60), mil = (unsigned)(rem % 1000);
    if (y >= 0 && y <= 9999)
        snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, mo, d, h, mi, s,
                 mil);
    else
        snprintf(buf, size, "%c%06lld-%02u-%02uT%02u:%02u:%02u.%03uZ", y < 0 ? '-' : '+',
                 (long long)(y < 0 ? -y : y), mo, d, h, mi, s, mil);
    return true;
}

/* JSON -------------------------------------------------------------------- */

static bool conv(sb_mp_reader *r, sb_buf *out, sb_mp_json *j, int depth);

/* notepack's old `undefined`: fixext 1 of type 0 */
static bool at_undefined(const sb_mp_reader *r)
{
    return sb_mp_left(r) >= 3 && r->p[0] == 0xd4 && r->p[1] == 0x00;
}

static bool attachment(sb_mp_reader *r, const unsigned char *start, sb_buf *out, sb_mp_json *j,
                       const char *ptr, size_t len, const char *what)
{
    if (!j->attachments) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_JSON, "%s: binary data has no JSON form", what);
    }
    if (j->n_attachments >= j->max_attachments) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_LIMIT, "more than %zu binary attachments",
                          j->max_attachments);
    }
    j->attachments[j->n_attachments] = (sb_str){ptr, len};
    SB_BUF_PUT_LIT(out, "{\"_placeholder\":true,\"num\":");
    sb_write_int64(out, (int64_t)j->n_attachments++);
    sb_buf_putc(out, '}');
    return true;
}

static void put_date(sb_buf *out, double t)
{
    /* the Date's time value: JavaScript's arithmetic, then TimeClip */
    char tmp[40];
    if (!(fabs(t) <= (double)DATE_MAX_MS) || !sb_mp_iso_date((int64_t)t, tmp, sizeof tmp)) {
        SB_BUF_PUT_LIT(out, "null"); /* an Invalid Date's toJSON */
        return;
    }
    sb_write_string(out, (sb_str){tmp, strlen(tmp)});
}

static bool ext(sb_mp_reader *r, const unsigned char *start, sb_buf *out, sb_mp_json *j,
                const sb_mp_value *v)
{
    const unsigned char *q = (const unsigned char *)v->ptr;
    if (v->ext == -1 && (v->format == 0xd6 || v->format == 0xd7 || v->format == 0xc7)) {
        /* the timestamp extension, in notepack's arithmetic */
        if (v->format == 0xd6) {
            put_date(out, (double)be(q, 4) * 1e3);
            return true;
        }
        uint64_t ns;
        double sec;
        if (v->format == 0xd7) {
            uint64_t x = be(q, 8);
            ns = x >> 34;
            sec = (double)(x & 0x3ffffffffULL);
        } else {
            if (v->len != 12) {
                r->p = start;
                return sb_mp_fail(r, SB_MP_ERR_JSON, "timestamp of %zu bytes (4, 8 or 12)", v->len);
            }
            ns = be(q, 4);
            uint64_t s = be(q + 4, 8);
            int64_t si;
            memcpy(&si, &s, sizeof si);
            sec = (double)si;
        }
        if (ns > 999999999) {
            r->p = start;
            return sb_mp_fail(r, SB_MP_ERR_JSON, "timestamp with %llu nanoseconds",
                              (unsigned long long)ns);
        }
        put_date(out, sec * 1e3 + (double)ns / 1e6);
        return true;
    }
    if (v->ext == 0 && v->format == 0xd4) {
        SB_BUF_PUT_LIT(out, "null"); /* undefined, where JSON.stringify writes null */
        return true;
    }
    if (v->ext == 0 && v->format == 0xd7) { /* notepack's old Date: ms, int 64 */
        uint64_t x = be(q, 8);
        int64_t hi = (int32_t)(uint32_t)(x >> 32);
        put_date(out, (double)hi * 4294967296.0 + (double)(x & 0xffffffffu));
        return true;
    }
    if (v->ext == 0 && v->format >= 0xc7 && v->format <= 0xc9) /* an ArrayBuffer */
        return attachment(r, start, out, j, v->ptr, v->len, "ext 0");
    /* any other: [type, Buffer], as notepack decodes it */
    sb_buf_putc(out, '[');
    sb_write_int64(out, v->ext);
    sb_buf_putc(out, ',');
    char what[24];
    snprintf(what, sizeof what, "ext %d", v->ext);
    if (!attachment(r, start, out, j, v->ptr, v->len, what))
        return false;
    sb_buf_putc(out, ']');
    return true;
}

static bool utf8(sb_mp_reader *r, const unsigned char *start, const sb_mp_value *v,
                 const char *what)
{
    if (sb_utf8_valid(v->ptr, v->len))
        return true;
    r->p = start;
    return sb_mp_fail(r, SB_MP_ERR_JSON, "%s: not valid UTF-8", what);
}

static bool map(sb_mp_reader *r, sb_buf *out, sb_mp_json *j, int depth, uint32_t n)
{
    sb_buf_putc(out, '{');
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *start = r->p;
        sb_mp_value k;
        if (!sb_mp_read(r, &k))
            return false;
        char num[24];
        sb_str key;
        if (k.type == SB_MP_STR) {
            if (!utf8(r, start, &k, "map key"))
                return false;
            key = (sb_str){k.ptr, k.len};
        } else if (k.type == SB_MP_INT || k.type == SB_MP_UINT) {
            int len = k.type == SB_MP_INT
                          ? snprintf(num, sizeof num, "%lld", (long long)k.i)
                          : snprintf(num, sizeof num, "%llu", (unsigned long long)k.u);
            key = (sb_str){num, (size_t)len};
        } else {
            r->p = start;
            return sb_mp_fail(r, SB_MP_ERR_JSON,
                              "map key: a %s has no JSON form (keys are strings or integers)",
                              sb_mp_type_name(k.type));
        }
        if (at_undefined(r)) { /* JSON.stringify leaves the pair out */
            r->p += 3;
            continue;
        }
        if (!first)
            sb_buf_putc(out, ',');
        first = false;
        sb_write_string(out, key);
        sb_buf_putc(out, ':');
        if (!conv(r, out, j, depth + 1))
            return false;
    }
    sb_buf_putc(out, '}');
    return true;
}

static bool conv(sb_mp_reader *r, sb_buf *out, sb_mp_json *j, int depth)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    int max_depth = j->max_depth > 0 ? j->max_depth : SB_MP_MAX_DEPTH;
    switch (v.type) {
    case SB_MP_NIL:
        SB_BUF_PUT_LIT(out, "null");
        break;
    case SB_MP_BOOL:
        sb_write_bool(out, v.boolean);
        break;
    case SB_MP_INT:
        sb_write_int64(out, v.i);
        break;
    case SB_MP_UINT: {
        char num[24];
        int len = snprintf(num, sizeof num, "%llu", (unsigned long long)v.u);
        sb_buf_put(out, num, (size_t)len);
        break;
    }
    case SB_MP_FLOAT:
        if (v.f == 0)
            sb_buf_putc(out, '0'); /* -0 too: JSON.stringify(-0) is "0" */
        else
            sb_write_double(out, v.f);
        break;
    case SB_MP_STR:
        if (!utf8(r, start, &v, "str"))
            return false;
        sb_write_string(out, (sb_str){v.ptr, v.len});
        break;
    case SB_MP_BIN:
        if (!attachment(r, start, out, j, v.ptr, v.len, "bin"))
            return false;
        break;
    case SB_MP_EXT:
        if (!ext(r, start, out, j, &v))
            return false;
        break;
    case SB_MP_ARRAY:
    case SB_MP_MAP:
        if (depth >= max_depth) {
            r->p = start;
            return sb_mp_fail(r, SB_MP_ERR_LIMIT, "nested deeper than %d", max_depth);
        }
        if (v.type == SB_MP_MAP) {
            if (!map(r, out, j, depth, v.n))
                return false;
            break;
        }
        sb_buf_putc(out, '[');
        for (uint32_t i = 0; i < v.n; i++) {
            if (i)
                sb_buf_putc(out, ',');
            if (!conv(r, out, j, depth + 1))
                return false;
        }
        sb_buf_putc(out, ']');
        break;
    }
    if (out->oom)
        return sb_mp_fail(r, SB_MP_ERR_MEMORY, "out of memory");
    if (j->max_out && out->len > j->max_out)
        return sb_mp_fail(r, SB_MP_ERR_LIMIT, "the JSON is over %zu bytes", j->max_out);
    return true;
}

bool sb_mp_to_json(sb_mp_reader *r, sb_buf *out, sb_mp_json *j)
{
    if (r->err)
        return false;
    if (at_undefined(r)) {
        r->p += 3;
        SB_BUF_PUT_LIT(out, "null");
        return true;
    }
    return conv(r, out, j, 0);
}
