/*
 * json_read.c: the strict pull reader behind every generated parser.
 *
 * The reader never builds a tree. Each call looks at the bytes at r->p,
 * checks them against RFC 8259 and moves r->p past what it consumed. There is
 * no tokenizer state beyond r->p and r->depth, which is what lets
 * sb_find_discriminator() look ahead by saving and restoring just those two.
 *
 * Errors are sticky: the first one is formatted into r->err_msg and every
 * later call fails at once. Generated code therefore checks only the calls it
 * must branch on, and the message always describes the first problem.
 *
 * The hot loops (whitespace, string bodies, the iterative skip behind
 * sb_read_any) work on raw pointers and test eight bytes at a time where the
 * input allows it; nothing allocates unless a string holds escapes.
 */
#include "json.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const sb_json_limits sb_json_default_limits = {
    .max_input = (size_t)1 << 20,
    .max_depth = 64,
    .max_string = (size_t)1 << 20,
};

static const char *const err_names[SB_ERR__COUNT] = {
    [SB_OK] = "ok",
    [SB_ERR_SYNTAX] = "syntax",
    [SB_ERR_DEPTH] = "depth",
    [SB_ERR_SIZE] = "size",
    [SB_ERR_TYPE] = "type",
    [SB_ERR_MISSING] = "missing",
    [SB_ERR_DUPLICATE] = "duplicate",
    [SB_ERR_UNKNOWN_FIELD] = "unknown_field",
    [SB_ERR_LITERAL] = "literal",
    [SB_ERR_ENUM] = "enum",
    [SB_ERR_RANGE] = "range",
    [SB_ERR_TOO_LONG] = "too_long",
    [SB_ERR_TOO_MANY] = "too_many",
    [SB_ERR_FORMAT] = "format",
    [SB_ERR_NO_DISCRIMINATOR] = "no_discriminator",
    [SB_ERR_UNKNOWN_DISCRIMINATOR] = "unknown_discriminator",
    [SB_ERR_MEMORY] = "memory",
};

const char *sb_json_err_name(sb_json_err e)
{
    if ((unsigned)e >= SB_ERR__COUNT || !err_names[e])
        return "unknown";
    return err_names[e];
}

/* ---- error messages ------------------------------------------------- */

/* The path is at most this many bytes of the message, so that the reason,
 * which says what went wrong, is never squeezed out by a deep path. */
#define PATH_SHOW_MAX 128
/* Bytes of one key shown before it is cut with "...". */
#define KEY_SHOW_MAX 32

/* Length of the valid UTF-8 sequence at u (avail bytes), or 0 if there is
 * none; *why then says what is wrong. Table 3-7 of the Unicode standard:
 * the second byte's range excludes overlongs (E0, F0), UTF-16 surrogates
 * (ED) and code points past U+10FFFF (F4). */
static inline size_t utf8_seq(const unsigned char *u, size_t avail, const char **why)
{
    unsigned c = u[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c < 0xC0) {
        *why = "unexpected continuation byte";
        return 0;
    }
    if (c < 0xC2) {
        *why = "overlong encoding";
        return 0;
    }
    if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c < 0xF5) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else if (c < 0xF8) {
        *why = "code point above U+10FFFF";
        return 0;
    } else {
        *why = "invalid byte";
        return 0;
    }
    /* A missing continuation byte is reported as truncation before the
     * range of a present one is judged. */
    for (size_t i = 1; i < n; i++) {
        if (i >= avail || (u[i] & 0xC0) != 0x80) {
            *why = "truncated sequence";
            return 0;
        }
    }
    if (u[1] < lo) {
        *why = "overlong encoding";
        return 0;
    }
    if (u[1] > hi) {
        *why = c == 0xED ? "surrogate encoded in UTF-8" : "code point above U+10FFFF";
        return 0;
    }
    return n;
}

/* A bounded appender for building messages: it never overflows and
 * remembers that it had to cut. */
typedef struct sink {
    char *buf;
    size_t len, cap;
    bool cut;
} sink;

static void sink_put(sink *s, const char *src, size_t n)
{
    if (n > s->cap - s->len) {
        n = s->cap - s->len;
        s->cut = true;
    }
    memcpy(s->buf + s->len, src, n);
    s->len += n;
}

bool sb_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    const char *why;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq(u + i, len - i, &why);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Length of s[0..len) once a UTF-8 sequence cut short at its end is
 * dropped, so that a truncated message is still valid UTF-8. */
static size_t utf8_trim(const char *s, size_t len)
{
    size_t i = len;
    size_t back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return len;
    unsigned c = (unsigned char)s[i - 1];
    if (c < 0xC0)
        return i; /* stray continuation bytes: drop them */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return need == back + 1 ? len : i - 1;
}

/* Keys come from the input (validated UTF-8) or from generated code, but
 * the message may travel back to a client inside JSON, so anything that is
 * not printable ASCII or valid UTF-8 is shown as \xNN. */
static void render_key(sink *s, const char *key, size_t len)
{
    const unsigned char *k = (const unsigned char *)key;
    size_t i = 0;
    if (len == 0) {
        sink_put(s, "\"\"", 2);
        return;
    }
    while (i < len) {
        if (i >= KEY_SHOW_MAX) {
            sink_put(s, "...", 3);
            return;
        }
        const char *why;
        size_t n = k[i] >= 0x20 && k[i] < 0x7F ? 1
                   : k[i] >= 0x80              ? utf8_seq(k + i, len - i, &why)
                                               : 0;
        if (n > 0) {
            sink_put(s, key + i, n);
            i += n;
        } else {
            char hex[5];
            snprintf(hex, sizeof hex, "\\x%02X", k[i]);
            sink_put(s, hex, 4);
            i++;
        }
    }
}

/* "$", "data.message.timestamp", "actions[3].icon", "$[2].id", with "..."
 * for segments past SB_PATH_MAX and a cut at PATH_SHOW_MAX bytes. */
static void render_path(const sb_reader *r, char *out, size_t cap)
{
    sink s = {out, 0, cap - 1, false};
    int shown = r->path_len < SB_PATH_MAX ? r->path_len : SB_PATH_MAX;
    if (shown <= 0 || !r->path[0].key)
        sink_put(&s, "$", 1);
    for (int i = 0; i < shown; i++) {
        const sb_path_seg *seg = &r->path[i];
        if (seg->key) {
            if (i > 0)
                sink_put(&s, ".", 1);
            render_key(&s, seg->key, seg->len);
        } else {
            char idx[32];
            int n = snprintf(idx, sizeof idx, "[%zu]", seg->len);
            sink_put(&s, idx, (size_t)n);
        }
    }
    if (r->path_len > SB_PATH_MAX)
        sink_put(&s, "...", 3);
    if (s.cut) {
        s.len = utf8_trim(s.buf, s.cap - 3);
        s.cut = false;
        sink_put(&s, "...", 3);
    }
    out[s.len] = '\0';
}

bool sb_fail(sb_reader *r, sb_json_err code, const char *fmt, ...)
{
    if (r->err != SB_OK)
        return false;
    r->err = code;
    r->err_offset = (size_t)(r->p - r->begin);
    char path[PATH_SHOW_MAX + 1];
    render_path(r, path, sizeof path);
    int n = snprintf(r->err_msg, sizeof r->err_msg, "%s: ", path);
    if (n < 0 || (size_t)n >= sizeof r->err_msg)
        n = (int)strlen(r->err_msg);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(r->err_msg + n, sizeof r->err_msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (m >= 0 && (size_t)n + (size_t)m >= sizeof r->err_msg) {
        size_t len = utf8_trim(r->err_msg, sizeof r->err_msg - 1);
        r->err_msg[len] = '\0';
    }
    return false;
}

/* A syntax error at `at`, with the byte offset in the reason. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool
syntax_at(sb_reader *r, const char *at, const char *fmt, ...)
{
    char reason[96];
    if (r->err != SB_OK)
        return false;
    r->p = at;
    if (at >= r->end) {
        snprintf(reason, sizeof reason, "unexpected end of input");
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
    }
    return sb_fail(r, SB_ERR_SYNTAX, "invalid JSON at byte %zu: %s", (size_t)(at - r->begin),
                   reason);
}

static bool depth_error(sb_reader *r, const char *at)
{
    r->p = at;
    return sb_fail(r, SB_ERR_DEPTH, "nested deeper than %d levels at byte %zu", r->limits.max_depth,
                   (size_t)(at - r->begin));
}

static bool memory_error(sb_reader *r, const char *at)
{
    r->p = at;
    return sb_fail(r, SB_ERR_MEMORY, "out of memory (arena limit reached)");
}

/* ---- paths ------------------------------------------------------------ */

/* sb_path_push_key, sb_path_push_index and sb_path_pop are inline in
 * json.h: generated parsers call them around every field. */

/* ---- scanning primitives ---------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Nonzero iff some byte of v is zero (exact as a yes/no answer). */
static inline uint64_t has_zero(uint64_t v)
{
    return (v - ONES) & ~v & HIGHS;
}

/* Nonzero iff one of the 8 bytes needs a look inside a string: a quote, a
 * backslash, a control character or a non-ASCII byte. */
static inline uint64_t string_special(uint64_t x)
{
    uint64_t ctl = (x - ONES * 0x20) & ~x & HIGHS;
    return ctl | has_zero(x ^ (ONES * '"')) | has_zero(x ^ (ONES * '\\')) | (x & HIGHS);
}

/* 1 for bytes that stand for themselves inside a string: printable ASCII
 * other than '"' and '\\'. */
/* clang-format off */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

static const char *skip_ws_slow(const char *p, const char *end)
{
#if defined(__SSE2__)
    /* Pretty-printed JSON puts a newline and an indentation run before
     * most tokens: find the first non-space byte 16 at a time. */
    const __m128i sp = _mm_set1_epi8(' '), nl = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), tab = _mm_set1_epi8('\t');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, nl)),
                                  _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, tab)));
        unsigned other = ~(unsigned)_mm_movemask_epi8(ws) & 0xFFFF;
        if (other)
            return p + __builtin_ctz(other);
        p += 16;
    }
#else
    while (end - p >= 8 && load64(p) == ONES * ' ')
        p += 8;
#endif
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* Compact JSON has no whitespace at all, and pretty JSON has one space
 * after each ':': two compares decide those cases. */
static inline const char *skip_ws(const char *p, const char *end)
{
    if (p >= end || (unsigned char)*p > ' ') /* a token, or the end (sb_read_end) */
        return p;
    if (end - p >= 2 && *p == ' ' && (unsigned char)p[1] > ' ')
        return p + 1;
    return skip_ws_slow(p, end);
}

static inline int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The four hex digits after "\u" at p, or -1 (with an error) if they are
 * not there. */
/* The value of a hex digit, -1 for any other byte. */
/* clang-format off */
static const signed char hex_digit[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
/* clang-format on */

/* The four hex digits at p as a number, or -1 if one is not a digit: one
 * table load per digit and one test for all four. */
static inline long hex4_fast(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    int a = hex_digit[u[0]], b = hex_digit[u[1]], c = hex_digit[u[2]], d = hex_digit[u[3]];
    if ((a | b | c | d) < 0)
        return -1;
    return (long)a << 12 | b << 8 | c << 4 | d;
}

static long hex4_slow(sb_reader *r, const char *esc, const char *p);

static inline long hex4(sb_reader *r, const char *esc, const char *p)
{
    if (SB_LIKELY(r->end - p >= 4)) {
        long v = hex4_fast(p);
        if (SB_LIKELY(v >= 0))
            return v;
    }
    return hex4_slow(r, esc, p); /* the error, and where */
}

static long hex4_slow(sb_reader *r, const char *esc, const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        if (p + i >= r->end) {
            syntax_at(r, p + i, "truncated \\u escape");
            return -1;
        }
        int h = hex_val(p[i]);
        if (h < 0) {
            syntax_at(r, esc, "invalid \\u escape");
            return -1;
        }
        v = v << 4 | h;
    }
    return v;
}

static inline size_t utf8_len(long cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Checks the escape at p (a backslash) and returns the byte after it, or
 * NULL. *saved grows by how much shorter the decoded form is. */
static const char *scan_escape(sb_reader *r, const char *p, size_t *saved)
{
    if (p + 1 >= r->end) {
        syntax_at(r, p + 1, "unterminated string");
        return NULL;
    }
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        *saved += 1;
        return p + 2;
    case 'u':
        break;
    default:
        syntax_at(r, p, "invalid escape '\\%c'", p[1] >= 0x20 && p[1] < 0x7F ? p[1] : '?');
        return NULL;
    }
    long cp = hex4(r, p, p + 2);
    if (cp < 0)
        return NULL;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* A high surrogate is only half a character: the low half must
         * follow at once as another \u escape. */
        long lo = -1;
        if (r->end - p >= 12 && p[6] == '\\' && p[7] == 'u') {
            lo = hex4(r, p + 6, p + 8);
            if (lo < 0)
                return NULL;
        }
        if (lo < 0xDC00 || lo > 0xDFFF) {
            syntax_at(r, p, "lone surrogate \\u%04lX", cp);
            return NULL;
        }
        *saved += 12 - 4;
        return p + 12;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        syntax_at(r, p, "lone surrogate \\u%04lX", cp);
        return NULL;
    }
    *saved += 6 - utf8_len(cp);
    return p + 6;
}

/* What scan_string learned about one string. */
typedef struct str_scan {
    const char *close; /* the closing quote */
    size_t len;        /* decoded length in bytes */
    bool escaped;      /* decoding needs a copy */
} str_scan;

#if defined(__SSE2__)
/* One bit per byte of at[0..16) that find_special stops at. */
static inline unsigned special16(const char *at)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)at);
    __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/* The first byte at or after p (before end) that a string body cannot
 * simply pass over: '"', '\\', a control character or a non-ASCII byte; end
 * if there is none. This loop is where a parser spends most of its time, so
 * it looks at 16 bytes per step with SSE2 (one signed compare catches both
 * controls and bytes >= 0x80) or 8 with plain 64-bit arithmetic. */
static inline const char *find_special(const char *p, const char *end, const char *begin)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        unsigned mask = special16(p);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
    /* Fewer than 16 bytes left (the last string of a document ends here):
     * one load of the buffer's last 16 bytes, which are inside it when the
     * document is that long, with the bytes before p shifted out. */
    if (p < end && end - begin >= 16) {
        unsigned mask = special16(end - 16) >> (16 - (end - p));
        return mask ? p + __builtin_ctz(mask) : end;
    }
#else
    (void)begin;
#endif
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The lowest flagged byte is exact: the bit tricks can only misflag a
     * byte above a real hit. */
    while (end - p >= 8) {
        uint64_t m = string_special(load64(p));
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && plain[(unsigned char)*p])
        p++;
    return p;
}

/* Non-ASCII text is runs of multi-byte characters between spaces and
 * punctuation: validate the common forms (2 bytes, and 3 bytes other than
 * E0 and ED, whose second byte has a narrower range) one after another
 * here, without going back to find_special per character. Returns false,
 * with *pp unmoved, when the first character needs utf8_seq (4 bytes, E0,
 * ED or invalid); else *pp is past the run. */
static inline bool utf8_run(const char **pp, const char *end)
{
    const unsigned char *u = (const unsigned char *)*pp;
    const unsigned char *stop = (const unsigned char *)end - 3;
    const unsigned char *start = u;
    while (u < stop) {
        unsigned c = u[0];
        if (c >= 0xC2 && c < 0xE0) {
            if ((u[1] & 0xC0) != 0x80)
                break;
            u += 2;
        } else if (c > 0xE0 && c < 0xF0 && c != 0xED) {
            if (((u[1] & 0xC0) != 0x80) | ((u[2] & 0xC0) != 0x80))
                break;
            u += 3;
        } else {
            break;
        }
    }
    *pp = (const char *)u;
    return u != start;
}

/* Validates the string whose opening quote is at s, from p on: the bytes
 * between are known to be plain (callers try the plain case inline first
 * and hand over where it stopped, so nothing is scanned twice). */
static bool scan_string(sb_reader *r, const char *s, const char *p, str_scan *out)
{
    const char *end = r->end;
    size_t saved = 0;
    bool escaped = false;
    for (;; p = find_special(p, end, r->begin)) {
        if (p >= end)
            return syntax_at(r, p, "unterminated string");
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = true;
            p = scan_escape(r, p, &saved);
            if (!p)
                return false;
        } else if (c < 0x20) {
            return syntax_at(r, p, "control character 0x%02X in string", c);
        } else if (SB_LIKELY(end - p >= 4 && utf8_run(&p, end))) {
            /* a run of 2- and 3-byte characters, validated inline */
        } else {
            const char *why = "";
            size_t n = utf8_seq((const unsigned char *)p, (size_t)(end - p), &why);
            if (n == 0)
                return syntax_at(r, p, "invalid UTF-8 (%s)", why);
            p += n;
        }
    }
    out->close = p;
    out->len = (size_t)(p - (s + 1)) - saved;
    out->escaped = escaped;
    return true;
}

static char *put_utf8(char *d, long cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | cp >> 6);
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | cp >> 12);
        *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | cp >> 18);
        *d++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

static long hex4_trusted(const char *p)
{
    return hex4_fast(p);
}

/* Decodes a string body that scan_string has already validated into
 * d[0..dlen), dlen being its decoded length. */
static void decode_string(const char *p, const char *end, char *d, size_t dlen)
{
#if defined(__SSE2__)
    char *dend = d + dlen;
#else
    (void)dlen;
#endif
    while (p < end) {
#if defined(__SSE2__)
        /* The bytes up to the next backslash, 16 at a time: each block is
         * stored whole while the output has room for it (what lies past the
         * backslash is written over by what follows), so the short runs
         * between \u escapes cost no call to memchr and memcpy. */
        while (end - p >= 16 && dend - d >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
            _mm_storeu_si128((__m128i *)(void *)d, v);
            if (m) {
                unsigned n = (unsigned)__builtin_ctz(m);
                p += n;
                d += n;
                goto escape;
            }
            p += 16;
            d += 16;
        }
        /* fewer than 16 bytes to the backslash or the end */
        while (p < end && *p != '\\')
            *d++ = *p++;
#else
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs)
            bs = end;
        memcpy(d, p, (size_t)(bs - p));
        d += bs - p;
        p = bs;
#endif
        if (p >= end)
            break;
#if defined(__SSE2__)
    escape:;
#endif
        char c = p[1];
        p += 2;
        switch (c) {
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u': {
            long cp = hex4_trusted(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4_trusted(p + 2) - 0xDC00);
                p += 6;
            }
            d = put_utf8(d, cp);
            break;
        }
        default: /* '"' '\\' '/' */
            *d++ = c;
            break;
        }
    }
}

/* Reads the string at s (its opening quote) into *out and returns the byte
 * after the closing quote, or NULL. */
static bool too_long(sb_reader *r, const char *s)
{
    r->p = s;
    return sb_fail(r, SB_ERR_TOO_LONG, "string longer than %zu bytes", r->limits.max_string);
}

static const char *read_string_rest(sb_reader *r, const char *s, const char *p, sb_str *out);

static const char *read_string_at(sb_reader *r, const char *s, sb_str *out)
{
    const char *p = find_special(s + 1, r->end, r->begin);
    if (p < r->end && *p == '"' && (size_t)(p - s - 1) <= r->limits.max_string) {
        out->ptr = s + 1; /* plain ASCII: the common case */
        out->len = (size_t)(p - s - 1);
        return p + 1;
    }
    return read_string_rest(r, s, p, out);
}

/* The rest of read_string_at from p, where find_special stopped: the bytes
 * between the opening quote s and p are plain and are not looked at again. */
static const char *read_string_rest(sb_reader *r, const char *s, const char *p, sb_str *out)
{
    str_scan ss;
    if (!scan_string(r, s, p, &ss))
        return NULL;
    if (ss.len > r->limits.max_string) {
        too_long(r, s);
        return NULL;
    }
    if (!ss.escaped) {
        out->ptr = s + 1;
        out->len = ss.len;
        return ss.close + 1;
    }
    char *d = r->arena ? sb_arena_alloc(r->arena, ss.len) : NULL;
    if (!d) {
        memory_error(r, s);
        return NULL;
    }
    decode_string(s + 1, ss.close, d, ss.len);
    out->ptr = d;
    out->len = ss.len;
    return ss.close + 1;
}

/* Validates the number at p against the RFC 8259 grammar and returns the
 * byte after it, or NULL. *is_int says it had no fraction and no exponent. */
static const char *scan_number(sb_reader *r, const char *p, bool *is_int)
{
    const char *q = p, *end = r->end;
    if (*q == '-')
        q++;
    if (q >= end || !is_digit(*q)) {
        syntax_at(r, q, "expected digit after '-'");
        return NULL;
    }
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q)) {
            syntax_at(r, q - 1, "leading zeros are not allowed");
            return NULL;
        }
    } else {
        while (q < end && is_digit(*q))
            q++;
    }
    *is_int = true;
    if (q < end && *q == '.') {
        q++;
        if (q >= end || !is_digit(*q)) {
            syntax_at(r, q, "expected digit after '.'");
            return NULL;
        }
        while (q < end && is_digit(*q))
            q++;
        *is_int = false;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q)) {
            syntax_at(r, q, "expected digit in exponent");
            return NULL;
        }
        while (q < end && is_digit(*q))
            q++;
        *is_int = false;
    }
    return q;
}

/* The integer in p..q (grammar already checked, no fraction or exponent).
 * False if it does not fit in int64_t. */
static bool number_to_int64(const char *p, const char *q, int64_t *out)
{
    bool neg = *p == '-';
    p += neg;
    size_t n = (size_t)(q - p);
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    if (n <= 18) {
        /* 18 digits are below 10^18 < 2^63: no overflow possible. */
        for (; p < q; p++)
            v = v * 10 + (uint64_t)(*p - '0');
    } else {
        if (n > 19)
            return false;
        for (; p < q; p++) {
            uint64_t d = (uint64_t)(*p - '0');
            if (v > (limit - d) / 10)
                return false;
            v = v * 10 + d;
        }
    }
    if (v > limit)
        return false;
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return true;
}

#if FLT_EVAL_METHOD == 0
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: when the decimal significand fits in 53 bits and the
 * power of ten is exact (10^22 is the largest), one IEEE multiply or divide
 * rounds correctly, so the result equals strtod's. False means "use
 * strtod". Needs FLT_EVAL_METHOD 0 (no x87 extended intermediates). */
static bool fast_double(const char *p, const char *q, double *out)
{
    bool neg = *p == '-';
    p += neg;
    uint64_t m = 0;
    int digits = 0, e10 = 0;
    for (; p < q && is_digit(*p); p++) {
        if (digits >= 19)
            return false;
        m = m * 10 + (uint64_t)(*p - '0');
        digits += m != 0;
    }
    if (p < q && *p == '.') {
        for (p++; p < q && is_digit(*p); p++) {
            if (digits >= 19)
                return false;
            m = m * 10 + (uint64_t)(*p - '0');
            digits += m != 0;
            e10--;
        }
    }
    if (p < q) { /* exponent */
        p++;
        bool eneg = *p == '-';
        if (*p == '-' || *p == '+')
            p++;
        int x = 0;
        for (; p < q; p++) {
            if (x > 10000)
                return false;
            x = x * 10 + (*p - '0');
        }
        e10 += eneg ? -x : x;
    }
    double d;
    if (m == 0)
        d = 0.0;
    else if (m > (uint64_t)1 << 53 || e10 < -22 || e10 > 22)
        return false;
    else
        d = e10 < 0 ? (double)m / pow10_exact[-e10] : (double)m * pow10_exact[e10];
    *out = neg ? -d : d;
    return true;
}
#else
static bool fast_double(const char *p, const char *q, double *out)
{
    (void)p, (void)q, (void)out;
    return false;
}
#endif

/* The double in p..q (grammar checked). False if it overflows. strtod needs
 * a terminated copy: the input is not NUL-terminated, and a valid number may
 * be followed by bytes strtod would take ("0x1p3" is one number to it). */
static bool number_to_double(const char *p, const char *q, double *out, bool *nomem)
{
    if (fast_double(p, q, out))
        return true;
    size_t n = (size_t)(q - p);
    char small[128];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) {
        *nomem = true;
        return false;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    /* Underflow to a subnormal or to zero is the nearest double and fine;
     * only an infinite result means the number has no double. */
    if (isinf(d))
        return false;
    *out = d;
    return true;
}

/* ---- the skipper (sb_read_any) ---------------------------------------- */

/* What kind of value starts with c, for "expected X, got Y"; NULL when no
 * JSON value starts with c. */
static const char *kind_name(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    switch (*p) {
    case '{':
        return "object";
    case '[':
        return "array";
    case '"':
        return "string";
    case 't':
    case 'f':
        return "boolean";
    case 'n':
        return "null";
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return "number";
    default:
        return NULL;
    }
}

/* Checks the literal `word` at p and returns the byte after it, or NULL. */
static inline const char *scan_literal(sb_reader *r, const char *p, const char *word, size_t n)
{
    if ((size_t)(r->end - p) >= n && memcmp(p, word, n) == 0)
        return p + n;
    syntax_at(r, p, "invalid literal");
    return NULL;
}

/* Validates the string at s and returns the byte after it, or NULL. */
static inline const char *skip_string(sb_reader *r, const char *s)
{
    str_scan ss;
    const char *p = find_special(s + 1, r->end, r->begin);
    size_t len = (size_t)(p - s - 1);
    if (p >= r->end || *p != '"') {
        if (!scan_string(r, s, p, &ss))
            return NULL;
        p = ss.close;
        len = ss.len;
    }
    if (len > r->limits.max_string) {
        too_long(r, s);
        return NULL;
    }
    return p + 1;
}

/* Open containers during a skip: 1 byte each ('{' or '['), on the stack up
 * to this many levels and on the heap beyond (only when a caller raises
 * max_depth past it). */
#define SKIP_STACK_INLINE 256

typedef struct skip_stack {
    char *kinds;
    size_t cap;
    char inline_kinds[SKIP_STACK_INLINE];
} skip_stack;

static bool skip_push(skip_stack *st, size_t depth, char kind)
{
    if (depth >= st->cap) {
        size_t cap = st->cap * 2;
        char *k = malloc(cap);
        if (!k)
            return false;
        memcpy(k, st->kinds, st->cap);
        if (st->kinds != st->inline_kinds)
            free(st->kinds);
        st->kinds = k;
        st->cap = cap;
    }
    st->kinds[depth] = kind;
    return true;
}

/* Validates one value at r->p (whitespace before it allowed) and leaves
 * r->p just past it. Iterative, so hostile nesting costs one byte per level
 * and never the C stack; depth counts from r->depth so that the limit holds
 * for the document as a whole. */
static bool skip_value(sb_reader *r)
{
    const char *p = r->p, *end = r->end;
    size_t room = r->limits.max_depth > r->depth ? (size_t)(r->limits.max_depth - r->depth) : 0;
    size_t depth = 0;
    bool ok = false;
    bool is_int;
    skip_stack st;
    st.kinds = st.inline_kinds;
    st.cap = SKIP_STACK_INLINE;

value:
    p = skip_ws(p, end);
    if (p >= end) {
        syntax_at(r, p, "expected value");
        goto done;
    }
    switch (*p) {
    case '{':
        if (depth >= room) {
            depth_error(r, p);
            goto done;
        }
        if (!skip_push(&st, depth++, '{')) {
            memory_error(r, p);
            goto done;
        }
        p = skip_ws(p + 1, end);
        if (p < end && *p == '}') {
            p++;
            depth--;
            goto after;
        }
        goto key;
    case '[':
        if (depth >= room) {
            depth_error(r, p);
            goto done;
        }
        if (!skip_push(&st, depth++, '[')) {
            memory_error(r, p);
            goto done;
        }
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']') {
            p++;
            depth--;
            goto after;
        }
        goto value;
    case '"':
        p = skip_string(r, p);
        if (!p)
            goto done;
        goto after;
    case 't':
        p = scan_literal(r, p, "true", 4);
        break;
    case 'f':
        p = scan_literal(r, p, "false", 5);
        break;
    case 'n':
        p = scan_literal(r, p, "null", 4);
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        p = scan_number(r, p, &is_int);
        break;
    default:
        syntax_at(r, p, "expected value");
        goto done;
    }
    if (!p)
        goto done;
    goto after;

key: /* p is at a non-space byte where a key must start */
    if (p >= end || *p != '"') {
        syntax_at(r, p, "expected string key");
        goto done;
    }
    p = skip_string(r, p);
    if (!p)
        goto done;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') {
        syntax_at(r, p, "expected ':'");
        goto done;
    }
    p++;
    goto value;

after: /* just past a complete value */
    if (depth == 0) {
        ok = true;
        goto done;
    }
    p = skip_ws(p, end);
    if (p >= end) {
        syntax_at(r, p, "unexpected end of input");
        goto done;
    }
    if (st.kinds[depth - 1] == '{') {
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            if (p < end && *p == '}') {
                syntax_at(r, p, "trailing comma");
                goto done;
            }
            goto key;
        }
        if (*p == '}') {
            p++;
            depth--;
            goto after;
        }
        syntax_at(r, p, "expected ',' or '}'");
        goto done;
    }
    if (*p == ',') {
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']') {
            syntax_at(r, p, "trailing comma");
            goto done;
        }
        goto value;
    }
    if (*p == ']') {
        p++;
        depth--;
        goto after;
    }
    syntax_at(r, p, "expected ',' or ']'");

done:
    if (st.kinds != st.inline_kinds)
        free(st.kinds);
    if (ok)
        r->p = p;
    return ok;
}

/* ---- the pull API ----------------------------------------------------- */

void sb_reader_init(sb_reader *r, const char *buf, size_t len, sb_arena *arena,
                    const sb_json_limits *limits)
{
    if (!buf) /* pointer arithmetic on NULL is undefined, even "+ 0" */
        buf = "";
    r->begin = buf;
    r->p = buf;
    r->end = buf + len;
    r->arena = arena;
    r->limits = limits ? *limits : sb_json_default_limits;
    r->depth = 0;
    r->path_len = 0;
    r->err = SB_OK;
    r->err_offset = 0;
    r->err_msg[0] = '\0';
    /* Recorded now; since errors are sticky, the first read reports it. */
    if (len > r->limits.max_input)
        sb_fail(r, SB_ERR_SIZE, "input is %zu bytes, limit is %zu", len, r->limits.max_input);
}

/* Every entry point starts here: fail if an error is recorded, else skip
 * whitespace up to the next token. */
static inline bool ready(sb_reader *r)
{
    if (r->err != SB_OK)
        return false;
    r->p = skip_ws(r->p, r->end);
    return true;
}

/* Reports that the value at r->p is not of the `expected` kind. If that
 * value is not even valid JSON, the syntax error is the truer report. */
static bool type_error(sb_reader *r, const char *expected)
{
    const char *at = r->p;
    const char *got = kind_name(at, r->end);
    if (!got)
        return syntax_at(r, at, "expected value");
    if (!skip_value(r))
        return false;
    r->p = at;
    return sb_fail(r, SB_ERR_TYPE, "expected %s, got %s", expected, got);
}

char sb_peek(sb_reader *r)
{
    if (!ready(r) || r->p >= r->end)
        return 0;
    char c = *r->p;
    switch (c) {
    case '{':
    case '[':
    case '"':
    case 'n':
    case 't':
    case 'f':
        return c;
    default:
        return c == '-' || is_digit(c) ? '0' : 0;
    }
}

static bool open_container(sb_reader *r, char open, const char *kind)
{
    if (!ready(r))
        return false;
    if (r->p >= r->end || *r->p != open)
        return type_error(r, kind);
    if (r->depth >= r->limits.max_depth)
        return depth_error(r, r->p);
    r->depth++;
    r->p++;
    return true;
}

bool sb_read_object_begin(sb_reader *r)
{
    return open_container(r, '{', "object");
}

bool sb_read_array_begin(sb_reader *r)
{
    return open_container(r, '[', "array");
}

/* True if the last token before r->p is the container's opening bracket,
 * i.e. no member has been read yet. The reader keeps no per-level state:
 * no JSON value ends with '{' or '[', so the previous non-space byte tells
 * "just opened" from "after a member". */
static inline bool just_opened(const sb_reader *r, char open)
{
    const char *q = r->p;
    while (q > r->begin && is_ws(q[-1]))
        q--;
    return q > r->begin && q[-1] == open;
}

/* Common head of sb_read_object_next and sb_read_array_next: consumes the
 * closing bracket (0), or a separating comma when one is due (1, r->p at
 * the next member), or fails (-1). */
static inline int container_next(sb_reader *r, char open, char close)
{
    if (r->err != SB_OK)
        return -1;
    bool first = just_opened(r, open);
    const char *p = skip_ws(r->p, r->end);
    if (p >= r->end) {
        syntax_at(r, p, "unexpected end of input");
        return -1;
    }
    if (*p == close) {
        r->p = p + 1;
        r->depth--;
        return 0;
    }
    if (!first) {
        if (*p != ',') {
            syntax_at(r, p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
            return -1;
        }
        p = skip_ws(p + 1, r->end);
        if (p < r->end && *p == close) {
            syntax_at(r, p, "trailing comma");
            return -1;
        }
    }
    r->p = p;
    return 1;
}

int sb_read_object_next(sb_reader *r, sb_str *key)
{
    int rc = container_next(r, '{', '}');
    if (rc <= 0)
        return rc;
    const char *p = r->p;
    if (p >= r->end || *p != '"') {
        syntax_at(r, p, "expected string key");
        return -1;
    }
    p = read_string_at(r, p, key);
    if (!p)
        return -1;
    p = skip_ws(p, r->end);
    if (p >= r->end || *p != ':') {
        syntax_at(r, p, "expected ':'");
        return -1;
    }
    r->p = p + 1;
    return 1;
}

int sb_read_array_next(sb_reader *r)
{
    return container_next(r, '[', ']');
}

bool sb_read_string(sb_reader *r, sb_str *out)
{
    if (!ready(r))
        return false;
    if (r->p >= r->end || *r->p != '"')
        return type_error(r, "string");
    const char *q = read_string_at(r, r->p, out);
    if (!q)
        return false;
    r->p = q;
    return true;
}

bool sb_read_string_len(sb_reader *r, sb_str *out, size_t min, size_t max)
{
    const char *p = r->p;
    /* The common case first: a plain ASCII string right at the cursor. */
    if (SB_LIKELY(p < r->end && *p == '"' && r->err == SB_OK)) {
        const char *q = find_special(p + 1, r->end, r->begin);
        size_t n = (size_t)(q - p - 1);
        if (SB_LIKELY(q < r->end && *q == '"' && n <= r->limits.max_string)) {
            out->ptr = p + 1;
            out->len = n;
            r->p = q + 1;
            goto check;
        }
        /* Non-ASCII, escapes or an error: go on from where the scan
         * stopped, without scanning the plain prefix again. */
        q = read_string_rest(r, p, q, out);
        if (!q)
            return false;
        r->p = q;
        goto check;
    }
    if (!sb_read_string(r, out))
        return false;
check:
    if (SB_UNLIKELY(out->len > max))
        return sb_fail(r, SB_ERR_TOO_LONG, "longer than %zu bytes", max);
    if (SB_UNLIKELY(out->len < min))
        return sb_fail(r, SB_ERR_TOO_LONG, "shorter than %zu bytes", min);
    return true;
}

const char *sb_read_string_len_p(sb_reader *r, const char *p, sb_str *out, size_t min, size_t max)
{
    const char *end = r->end;
    if (SB_LIKELY(p < end && *p == '"' && r->err == SB_OK)) {
        const char *q = find_special(p + 1, end, r->begin);
        size_t n = (size_t)(q - p - 1);
        if (SB_LIKELY(q < end && *q == '"' && n <= r->limits.max_string && n <= max && n >= min)) {
            out->ptr = p + 1;
            out->len = n;
            return q + 1;
        }
        if (SB_LIKELY(q < end && *q == '"' && n <= r->limits.max_string)) {
            out->ptr = p + 1; /* plain, but outside [min, max]: the checks below */
            out->len = n;
            r->p = q + 1;
        } else {
            r->p = p;
            q = read_string_rest(r, p, q, out);
            if (!q)
                return NULL;
            r->p = q;
        }
    } else {
        r->p = p;
        if (!sb_read_string(r, out))
            return NULL;
    }
    if (SB_UNLIKELY(out->len > max))
        return sb_fail(r, SB_ERR_TOO_LONG, "longer than %zu bytes", max), NULL;
    if (SB_UNLIKELY(out->len < min))
        return sb_fail(r, SB_ERR_TOO_LONG, "shorter than %zu bytes", min), NULL;
    return r->p;
}

/* Checks the number at r->p and returns its end, or NULL; the type error
 * names `expected` when the value is not a number at all. */
static const char *number_at(sb_reader *r, const char *expected, bool *is_int)
{
    if (!ready(r))
        return NULL;
    if (r->p >= r->end || (*r->p != '-' && !is_digit(*r->p))) {
        type_error(r, expected);
        return NULL;
    }
    return scan_number(r, r->p, is_int);
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* How many of the 8 bytes of x (first byte lowest) are ASCII digits before
 * the first one that is not. A byte is a digit when its high nibble is 3
 * and adding 6 keeps it so; a carry out of a byte >= 0xFA can only spoil
 * the test of a byte after a non-digit, which is never looked at. */
static inline unsigned digit_run8(uint64_t x)
{
    uint64_t hi = (x & (ONES * 0xF0)) ^ (ONES * 0x30);
    uint64_t hi6 = ((x + ONES * 0x06) & (ONES * 0xF0)) ^ (ONES * 0x30);
    uint64_t bad = hi | hi6;
    return bad ? (unsigned)__builtin_ctzll(bad) >> 3 : 8;
}

/* The value of the first n (1..8) digits of x: shifted so that the digits
 * fill the high bytes (zeros before them change nothing), then combined
 * pairwise: 2 digits, 4, 8. */
static inline uint64_t swar_digits8(uint64_t x, unsigned n)
{
    x = (x & (ONES * 0x0F)) << (8 * (8 - n));
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFULL;
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFULL;
    return (x * 10000 + (x >> 32)) & 0xFFFFFFFFULL;
}

static const uint64_t pow10_u64[9] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};
#endif

bool sb_read_int64(sb_reader *r, int64_t *out)
{
    if (!ready(r))
        return false;
    /* Fast path: 1 to 18 digits (no overflow possible) followed by a byte
     * that cannot continue a number. Everything else takes the long way,
     * which also produces every error. */
    const char *p = r->p, *end = r->end;
    const char *q = p + (p < end && *p == '-');
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Eight digits per step (a 13-digit millisecond timestamp is two): up
     * to 15 digits, which cannot overflow, when 16 bytes can be loaded. */
    if (end - q >= 16 && *q >= '1' && *q <= '9') {
        uint64_t a = load64(q), b = load64(q + 8);
        unsigned na = digit_run8(a);
        uint64_t v;
        if (na < 8) {
            v = swar_digits8(a, na);
            q += na;
        } else {
            unsigned nb = digit_run8(b);
            if (nb == 8)
                goto slow;
            v = swar_digits8(a, 8);
            if (nb)
                v = v * pow10_u64[nb] + swar_digits8(b, nb);
            q += 8 + nb;
        }
        if (!(*q == '.' || *q == 'e' || *q == 'E')) {
            *out = *p == '-' ? -(int64_t)v : (int64_t)v;
            r->p = q;
            return true;
        }
        goto slow;
    }
#endif
    if (q < end && *q >= '1' && *q <= '9') {
        const char *stop = end - q > 18 ? q + 18 : end;
        uint64_t v = 0;
        while (q < stop && is_digit(*q))
            v = v * 10 + (uint64_t)(*q++ - '0');
        if (q == end || !(is_digit(*q) || *q == '.' || *q == 'e' || *q == 'E')) {
            *out = *p == '-' ? -(int64_t)v : (int64_t)v;
            r->p = q;
            return true;
        }
    }
    bool is_int;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
slow:
#endif
    q = number_at(r, "integer", &is_int);
    if (!q)
        return false;
    if (!is_int)
        return sb_fail(r, SB_ERR_TYPE, "expected integer");
    if (!number_to_int64(r->p, q, out))
        return sb_fail(r, SB_ERR_RANGE, "integer out of range");
    r->p = q;
    return true;
}

bool sb_read_double(sb_reader *r, double *out)
{
    bool is_int, nomem = false;
    const char *q = number_at(r, "number", &is_int);
    if (!q)
        return false;
    if (!number_to_double(r->p, q, out, &nomem)) {
        if (nomem)
            return memory_error(r, r->p);
        return sb_fail(r, SB_ERR_RANGE, "number out of range");
    }
    r->p = q;
    return true;
}

bool sb_read_bool(sb_reader *r, bool *out)
{
    if (!ready(r))
        return false;
    const char *p = r->p;
    if (p < r->end && *p == 't') {
        p = scan_literal(r, p, "true", 4);
        *out = true;
    } else if (p < r->end && *p == 'f') {
        p = scan_literal(r, p, "false", 5);
        *out = false;
    } else {
        return type_error(r, "boolean");
    }
    if (!p)
        return false;
    r->p = p;
    return true;
}

bool sb_read_null_slow(sb_reader *r)
{
    if (r->err != SB_OK)
        return false;
    const char *p = skip_ws(r->p, r->end);
    if (p >= r->end || *p != 'n')
        return false;
    p = scan_literal(r, p, "null", 4);
    if (!p)
        return false;
    r->p = p;
    return true;
}

bool sb_read_any(sb_reader *r, sb_str *raw)
{
    if (!ready(r))
        return false;
    const char *start = r->p;
    if (!skip_value(r))
        return false;
    raw->ptr = start;
    raw->len = (size_t)(r->p - start);
    return true;
}

bool sb_read_end(sb_reader *r)
{
    if (!ready(r))
        return false;
    if (r->p != r->end)
        return syntax_at(r, r->p, "unexpected data after the JSON value");
    return true;
}

int sb_find_discriminator(sb_reader *r, const char *key, size_t key_len, sb_str *val)
{
    if (r->err != SB_OK)
        return -1;
    const char *save_p = r->p;
    int save_depth = r->depth;
    int found = 0;
    sb_str k, raw;
    if (!sb_read_object_begin(r))
        return -1;
    for (;;) {
        int rc = sb_read_object_next(r, &k);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        if (k.len == key_len && (key_len == 0 || memcmp(k.ptr, key, key_len) == 0)) {
            sb_path_push_key(r, key, key_len);
            bool ok = sb_read_string(r, val);
            sb_path_pop(r);
            if (!ok)
                return -1;
            found = 1;
            break;
        }
        if (!sb_read_any(r, &raw))
            return -1;
    }
    r->p = save_p;
    r->depth = save_depth;
    return found;
}

bool sb_json_validate(const char *buf, size_t len, const sb_json_limits *limits, sb_json_err *err,
                      char *msg, size_t msg_size)
{
    sb_reader r;
    sb_str raw;
    sb_reader_init(&r, buf, len, NULL, limits);
    bool ok = sb_read_any(&r, &raw) && sb_read_end(&r);
    if (err)
        *err = r.err;
    if (msg && msg_size > 0) {
        size_t n = strlen(r.err_msg);
        if (n >= msg_size)
            n = utf8_trim(r.err_msg, msg_size - 1);
        memcpy(msg, r.err_msg, n);
        msg[n] = '\0';
    }
    return ok;
}
