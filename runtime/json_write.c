/*
 * json_write.c: the growable buffer and the JSON writer behind generated
 * serializers.
 *
 * Writers never fail one call at a time: an allocation failure sets b->oom
 * and every later write is dropped, so a serializer checks once at the end.
 * That keeps generated code a straight line of calls.
 */
#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- sb_buf ----------------------------------------------------------- */

#define BUF_MIN_CAP 64

void sb_buf_init(sb_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

void sb_buf_free(sb_buf *b)
{
    free(b->data);
    sb_buf_init(b);
}

/* Also clears oom: a reset buffer starts a new message. */
void sb_buf_reset(sb_buf *b)
{
    b->len = 0;
    b->oom = false;
}

static bool buf_grow(sb_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap < need) {
        if (cap > (size_t)PTRDIFF_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

bool sb_buf_reserve(sb_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    /* No object may exceed PTRDIFF_MAX; refusing here also keeps an absurd
     * request from ever reaching realloc. */
    if (extra > (size_t)PTRDIFF_MAX - b->len) {
        b->oom = true;
        return false;
    }
    if (b->len + extra <= b->cap)
        return true;
    return buf_grow(b, b->len + extra);
}

/* The slow halves of the inline sb_buf_put / sb_buf_putc (json.h): the
 * buffer must grow, or has failed. */
void sb_buf_put_slow(sb_buf *b, const void *data, size_t len)
{
    if (len == 0 || !sb_buf_reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void sb_buf_putc_slow(sb_buf *b, char c)
{
    if (!sb_buf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
}

/* ---- strings ---------------------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t has_zero(uint64_t v)
{
    return (v - ONES) & ~v & HIGHS;
}

/* Nonzero iff one of 8 bytes must be escaped: '"', '\\' or < 0x20. */
static inline uint64_t needs_escape8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t ctl = (x - ONES * 0x20) & ~x & HIGHS;
    return ctl | has_zero(x ^ (ONES * '"')) | has_zero(x ^ (ONES * '\\'));
}

/* For each byte: 0 = copy as is, 'u' = \u00XX, else the letter of its
 * short escape. */
/* clang-format off */
static const char escape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};
/* clang-format on */

static const char hex[] = "0123456789abcdef";

/* A long string into a buffer without room for its worst case: growing a
 * buffer that may live long (a connection's queue) to six times the string
 * is not worth the speed, so this reserves run by run as it goes. */
static void write_string_long(sb_buf *b, const unsigned char *p, const unsigned char *end)
{
    sb_buf_putc(b, '"');
    while (p < end) {
        const unsigned char *run = p;
        while (end - p >= 8 && !needs_escape8(p))
            p += 8;
        while (p < end && !escape[*p])
            p++;
        if (p > run)
            sb_buf_put(b, run, (size_t)(p - run));
        if (p >= end)
            break;
        char e = escape[*p];
        if (e == 'u') {
            char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            sb_buf_put(b, u, 6);
        } else {
            char two[2] = {'\\', e};
            sb_buf_put(b, two, 2);
        }
        p++;
    }
    sb_buf_putc(b, '"');
}

/* Strings up to this long reserve their worst case (6 bytes a byte) at
 * once; longer ones do only when the buffer has that room already. */
#define STRING_RESERVE_MAX 4096

void sb_write_string(sb_buf *b, sb_str s)
{
    if (s.len == 0) { /* s.ptr may be NULL, and NULL + 0 is undefined */
        SB_BUF_PUT_LIT(b, "\"\"");
        return;
    }
    const unsigned char *p = (const unsigned char *)s.ptr;
    const unsigned char *end = p + s.len;
    if (s.len > STRING_RESERVE_MAX &&
        (s.len > (b->cap - b->len) / 6 || b->cap - b->len - s.len * 6 < 2)) {
        write_string_long(b, p, end);
        return;
    }
    /* One reserve for the worst case (every byte a 6-byte \u00XX), then
     * plain stores through a local cursor: no capacity test per run or per
     * escape. The slack is returned at once (len is set at the end). */
    if (SB_UNLIKELY(!sb_buf_reserve(b, s.len * 6 + 2)))
        return;
    char *d = b->data + b->len;
    *d++ = '"';
    for (;;) {
#if defined(__SSE2__)
        /* 16 bytes per step: the store is unconditional (the reserve covers
         * it), the cursor advances only past the bytes that need nothing. */
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        const __m128i space = _mm_set1_epi8(0x20), high = _mm_set1_epi8((char)0x80);
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            _mm_storeu_si128((__m128i *)(void *)d, v);
            /* controls: v < 0x20 as unsigned; signed compare after a bias */
            __m128i ctl = _mm_cmplt_epi8(_mm_xor_si128(v, high), _mm_xor_si128(space, high));
            __m128i hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)), ctl);
            unsigned mask = (unsigned)_mm_movemask_epi8(hit);
            if (mask) {
                unsigned n = (unsigned)__builtin_ctz(mask);
                p += n;
                d += n;
                goto special;
            }
            p += 16;
            d += 16;
        }
#endif
        while (end - p >= 8 && !needs_escape8(p)) {
            memcpy(d, p, 8);
            p += 8;
            d += 8;
        }
        while (p < end && !escape[*p])
            *d++ = (char)*p++;
        if (p >= end)
            break;
#if defined(__SSE2__)
    special :
#endif
    {
        char e = escape[*p];
        d[0] = '\\';
        if (e == 'u') {
            d[1] = 'u';
            d[2] = '0';
            d[3] = '0';
            d[4] = hex[*p >> 4];
            d[5] = hex[*p & 15];
            d += 6;
        } else {
            d[1] = e;
            d += 2;
        }
        p++;
    }
    }
    *d++ = '"';
    b->len = (size_t)(d - b->data);
}

/* ---- numbers ---------------------------------------------------------- */

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

void sb_write_int64(sb_buf *b, int64_t v)
{
    char tmp[20];
    char *p = tmp + sizeof tmp;
    /* Negate in unsigned arithmetic: -INT64_MIN does not fit in int64_t. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    while (u >= 100) {
        unsigned i = (unsigned)(u % 100) * 2;
        u /= 100;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (u >= 10) {
        unsigned i = (unsigned)u * 2;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    sb_buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

void sb_write_double(sb_buf *b, double v)
{
    if (isnan(v) || isinf(v)) {
        SB_BUF_PUT_LIT(b, "null");
        return;
    }
    if (v == 0) {
        if (signbit(v))
            SB_BUF_PUT_LIT(b, "-0");
        else
            sb_buf_putc(b, '0');
        return;
    }
    /* Whole numbers below 2^53 are exact as integers: skip printf. */
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
        sb_write_int64(b, (int64_t)v);
        return;
    }
    /* 17 significant digits always round-trip; fewer often do and read
     * better ("0.1", not "0.10000000000000001"). %g never yields anything
     * JSON rejects for a finite value in the "C" locale. */
    char tmp[32];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    sb_buf_put(b, tmp, (size_t)n);
}

void sb_write_bool(sb_buf *b, bool v)
{
    if (v)
        SB_BUF_PUT_LIT(b, "true");
    else
        SB_BUF_PUT_LIT(b, "false");
}

void sb_write_null(sb_buf *b)
{
    SB_BUF_PUT_LIT(b, "null");
}

/* ---- minify ----------------------------------------------------------- */

/* Validation first, with limits wide open: the value was already checked
 * against the real limits by whoever read it, and this pass only guards the
 * copy below, which trusts the grammar. */
static bool valid_any(sb_str json)
{
    static const sb_json_limits open = {SIZE_MAX, INT_MAX, SIZE_MAX};
    return sb_json_validate(json.ptr, json.len, &open, NULL, NULL, 0);
}

bool sb_write_minified(sb_buf *b, sb_str json)
{
    if (!valid_any(json))
        return false;
    const char *p = json.ptr, *end = p + json.len;
    while (p < end) {
        const char *run = p;
        /* Copy everything up to whitespace or a string in one go. */
        while (p < end && *p != '"' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
            p++;
        if (p < end && *p == '"') {
            /* Strings are copied verbatim, escapes and all; the input is
             * valid, so the closing quote is the first one not escaped. */
            p++;
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                size_t bs = 0;
                while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
                    bs++;
                p = q + 1;
                if (bs % 2 == 0)
                    break;
            }
        }
        sb_buf_put(b, run, (size_t)(p - run));
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
    }
    return !b->oom;
}
