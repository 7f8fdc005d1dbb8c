/*
 * json.h: the strict JSON reader and the JSON writer that generated codecs call.
 *
 * The reader is a pull scanner over one contiguous buffer. Generated parsers
 * drive it token by token ("an object begins", "next key", "a string") and
 * put each value straight into its struct slot; nothing builds a DOM.
 *
 * Strictness is RFC 8259 exactly: UTF-8 is validated, escapes and surrogate
 * pairs are decoded (a lone surrogate is an error), and trailing commas,
 * leading zeros, NaN/Infinity, comments, single quotes, control characters
 * in strings and trailing garbage are all rejected. Depth and size limits are
 * explicit (sb_json_limits). Duplicate keys are legal JSON and sb_read_any()
 * accepts them (JSONTestSuite lists them under y_); a schema-typed object
 * rejects a field that appears twice (generated code does that check).
 *
 * Errors: every failing call returns false (or -1) after recording the first
 * error in the reader: a code, the byte offset, and a message of the form
 * "PATH: REASON", where PATH is built from the path stack that generated
 * parsers push as they descend ("data.message.timestamp", "actions[3].icon",
 * "$" at the root). Later errors never overwrite the first.
 */
#ifndef SB_JSON_H
#define SB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "arena.h"

/* Branch hints for the hot paths: errors and buffer growth are rare, and
 * saying so keeps the common path a straight line of code. */
#if defined(__GNUC__)
#define SB_LIKELY(x) __builtin_expect(!!(x), 1)
#define SB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SB_LIKELY(x) (x)
#define SB_UNLIKELY(x) (x)
#endif

/* Inline even where the compiler's estimate says no: the cursor-passing
 * helpers below take the address of the caller's cursor, and a call that is
 * not inlined would send that cursor to memory at every step. */
#if defined(__GNUC__)
#define SB_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SB_ALWAYS_INLINE inline
#endif

/* A length-delimited string: JSON strings may contain NUL (\u0000). */
typedef struct sb_str {
    const char *ptr;
    size_t len;
} sb_str;

#define SB_STR_LIT(s) ((sb_str){(s), sizeof(s) - 1})

/* Presence of a non-required field: absent, explicit null, or set. */
typedef enum sb_presence { SB_ABSENT = 0, SB_NULL = 1, SB_SET = 2 } sb_presence;

/* Error codes. Keep sb_json_err_name() in json_read.c in step. */
typedef enum sb_json_err {
    SB_OK = 0,
    SB_ERR_SYNTAX,                /* not JSON */
    SB_ERR_DEPTH,                 /* nested deeper than limits.max_depth */
    SB_ERR_SIZE,                  /* input longer than limits.max_input */
    SB_ERR_TYPE,                  /* valid JSON, wrong type ("expected integer") */
    SB_ERR_MISSING,               /* a required field is absent */
    SB_ERR_DUPLICATE,             /* a schema field appears twice */
    SB_ERR_UNKNOWN_FIELD,         /* a field the schema does not declare */
    SB_ERR_LITERAL,               /* a literal field holds another value */
    SB_ERR_ENUM,                  /* a string outside its enumeration */
    SB_ERR_RANGE,                 /* a number outside its declared range */
    SB_ERR_TOO_LONG,              /* a string over its max length (bytes) */
    SB_ERR_TOO_MANY,              /* an array over its max count */
    SB_ERR_FORMAT,                /* e.g. a timestamp that is not ISO-8601 */
    SB_ERR_NO_DISCRIMINATOR,      /* a union member without its key */
    SB_ERR_UNKNOWN_DISCRIMINATOR, /* a discriminator value no member has */
    SB_ERR_MEMORY,                /* the arena limit was reached */
    SB_ERR__COUNT
} sb_json_err;

const char *sb_json_err_name(sb_json_err e); /* "syntax", "type", ... */

typedef struct sb_json_limits {
    size_t max_input;  /* bytes of one document */
    int max_depth;     /* arrays + objects open at once */
    size_t max_string; /* bytes of any one decoded string, key or value, schema
                          or not; over it: SB_ERR_TOO_LONG */
} sb_json_limits;

/* 1 MiB documents, depth 64, 1 MiB strings. */
extern const sb_json_limits sb_json_default_limits;

#define SB_PATH_MAX 32     /* path segments kept; deeper ones print as "..." */
#define SB_ERR_MSG_MAX 256 /* bytes of the formatted error, NUL included */

typedef struct sb_path_seg {
    const char *key; /* NULL for an array index */
    size_t len;      /* key length, or the array index */
} sb_path_seg;

typedef struct sb_reader {
    const char *begin, *p, *end;
    sb_arena *arena;
    sb_json_limits limits;
    int depth;
    int path_len;
    sb_path_seg path[SB_PATH_MAX];
    sb_json_err err;
    size_t err_offset;
    char err_msg[SB_ERR_MSG_MAX];
} sb_reader;

/* The reader reads buf[0..len) and nothing after it: no padding or sentinel
 * is asked of the caller (the wide loads of the scanners stop 16 bytes
 * before the end and finish byte by byte; see docs/performance.md for why
 * a padded variant was measured and not added).
 * limits may be NULL for sb_json_default_limits. Fails with SB_ERR_SIZE
 * (reported at the first read) when len > limits->max_input. arena may be
 * NULL when no string with escapes will be decoded (sb_read_any and
 * validation never decode); a decode then fails with SB_ERR_MEMORY. */
void sb_reader_init(sb_reader *r, const char *buf, size_t len, sb_arena *arena,
                    const sb_json_limits *limits);

/* Record an error "PATH: REASON" (printf-style reason) unless one is already
 * recorded. Always returns false so that callers can `return sb_fail(...)`. */
bool sb_fail(sb_reader *r, sb_json_err code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Path stack. Pushing past SB_PATH_MAX is safe (the extra depth is counted
 * and printed as "..."). Keys must stay valid until popped. */
static inline void sb_path_push_key(sb_reader *r, const char *key, size_t len)
{
    if (SB_LIKELY(r->path_len >= 0 && r->path_len < SB_PATH_MAX))
        r->path[r->path_len] = (sb_path_seg){key, len};
    r->path_len++;
}

static inline void sb_path_push_index(sb_reader *r, size_t index)
{
    if (SB_LIKELY(r->path_len >= 0 && r->path_len < SB_PATH_MAX))
        r->path[r->path_len] = (sb_path_seg){NULL, index};
    r->path_len++;
}

static inline void sb_path_pop(sb_reader *r)
{
    if (SB_LIKELY(r->path_len > 0))
        r->path_len--;
}

/* The path of a generated parser's schema-order fields: `at` is the path
 * length when the object's members began; the key becomes segment `at` and
 * the length at + 1. Nothing is popped between two such fields (the next
 * one overwrites the segment); the parser sets r->path_len back to `at`
 * after the last. Stores only: no load of path_len per field. */
static SB_ALWAYS_INLINE void sb_path_put_key(sb_reader *r, int at, const char *key, size_t len)
{
    if (SB_LIKELY(at >= 0 && at < SB_PATH_MAX))
        r->path[at] = (sb_path_seg){key, len};
    r->path_len = at + 1;
}

/* Kind of the next value, after skipping whitespace, without consuming it:
 * one of '{' '[' '"' 'n' 't' 'f' '0' (any number), or 0 at end of input or
 * on a byte that cannot start a value. */
char sb_peek(sb_reader *r); /* also 0 once an error is recorded */

/* Objects. sb_read_object_begin consumes '{'. sb_read_object_next consumes a
 * separating ',' when needed and then either '}' (returns 0) or a key and its
 * ':' (returns 1, *key decoded). -1 on error. */
bool sb_read_object_begin(sb_reader *r);
int sb_read_object_next(sb_reader *r, sb_str *key);

/* Arrays, the same way: 1 = a value follows (read it), 0 = ']' consumed. */
bool sb_read_array_begin(sb_reader *r);
int sb_read_array_next(sb_reader *r);

/* Scalars. Each fails with SB_ERR_TYPE naming what it expected when the next
 * value is valid JSON of another kind. */
bool sb_read_string(sb_reader *r, sb_str *out); /* decoded; may point into the input */
/* sb_read_string, then its decoded length must be within [min, max]
 * (SB_ERR_TOO_LONG "longer than N bytes" / "shorter than N bytes", as
 * sb_check_str): one call per string field of a generated parser. */
bool sb_read_string_len(sb_reader *r, sb_str *out, size_t min, size_t max);
bool sb_read_int64(sb_reader *r,
                   int64_t *out); /* no fraction, no exponent; SB_ERR_RANGE past int64 */
bool sb_read_double(sb_reader *r, double *out); /* any JSON number; SB_ERR_RANGE if it overflows */
bool sb_read_bool(sb_reader *r, bool *out);
/* Consumes a null and returns true if the next value is null; else touches nothing.
 * A value that starts with 'n' but is not "null" records SB_ERR_SYNTAX. */
bool sb_read_null_slow(sb_reader *r);
static inline bool sb_read_null(sb_reader *r)
{
    /* Called before every nullable field: a value right at the cursor that
     * does not start with 'n' is the usual answer, decided inline. */
    if (SB_LIKELY(r->p < r->end && (unsigned char)*r->p > ' ')) {
        if (*r->p != 'n')
            return false;
        if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0 && r->err == SB_OK) {
            r->p += 4;
            return true;
        }
    }
    return sb_read_null_slow(r);
}

/* The expected-key fast path of generated parsers: if the input at the
 * cursor is exactly `lit` (a quoted key and its colon, `"room_id":`), after
 * a ',' when `comma`, consume it and return true; else touch nothing. The
 * general member loop (sb_read_object_next) handles everything else:
 * whitespace, escaped keys, other orders. */
/* a[0..n) == b[0..n) for the short constant n of a key literal: two
 * overlapping loads per side instead of a call to memcmp (n is a constant
 * at every call site, so only one branch below survives). */
static SB_ALWAYS_INLINE bool sb_mem_eq(const char *a, const char *b, size_t n)
{
    uint64_t x0, x1, y0, y1;
    if (n >= 8 && n <= 16) {
        memcpy(&x0, a, 8), memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8), memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n > 16 && n <= 24) {
        uint64_t x2, y2;
        memcpy(&x0, a, 8), memcpy(&y0, b, 8);
        memcpy(&x1, a + 8, 8), memcpy(&y1, b + 8, 8);
        memcpy(&x2, a + n - 8, 8), memcpy(&y2, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1) | (x2 ^ y2)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t u0, u1, v0, v1;
        memcpy(&u0, a, 4), memcpy(&v0, b, 4);
        memcpy(&u1, a + n - 4, 4), memcpy(&v1, b + n - 4, 4);
        return ((u0 ^ v0) | (u1 ^ v1)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

static inline bool sb_key_at(sb_reader *r, const char *lit, size_t n, bool comma)
{
    const char *p = r->p;
    if ((size_t)(r->end - p) < n + comma || (comma && *p != ','))
        return false;
    p += comma;
    if (!sb_mem_eq(p, lit, n))
        return false;
    r->p = p + n;
    return true;
}

/* The fast path of generated union parsers: if the input at the cursor is
 * exactly `lit` ('{', the discriminator key, ':' and one member's quoted
 * value), open the object and consume it. Else touch nothing. */
static inline bool sb_union_tag_at(sb_reader *r, const char *lit, size_t n)
{
    if ((size_t)(r->end - r->p) <= n || !sb_mem_eq(r->p, lit, n) || r->err != SB_OK ||
        r->depth >= r->limits.max_depth)
        return false;
    r->depth++;
    r->p += n;
    return true;
}

/* After a member (or right after '{'): if '}' is at the cursor, consume it
 * and close the object. The general loop handles whitespace before it. */
static inline bool sb_object_end_at(sb_reader *r)
{
    if (r->p < r->end && *r->p == '}' && r->err == SB_OK) {
        r->p++;
        r->depth--;
        return true;
    }
    return false;
}

/* Cursor-passing forms of the fast path, for generated parsers that keep
 * the read position in a local (a register) across a run of fields instead
 * of storing and reloading r->p around every step. Each takes the cursor p
 * and the end, and leaves r->p alone on success; the caller writes the
 * cursor back (r->p = p) before any call that takes only the reader, and
 * every failure leaves r->p where the r->p-based call would have left it. */
static SB_ALWAYS_INLINE bool sb_key_p(const char **pp, const char *end, const char *lit, size_t n,
                                      bool comma)
{
    const char *p = *pp;
    if ((size_t)(end - p) < n + comma || (comma && *p != ','))
        return false;
    p += comma;
    if (!sb_mem_eq(p, lit, n))
        return false;
    *pp = p + n;
    return true;
}

/* sb_read_null at the cursor *pp. */
static SB_ALWAYS_INLINE bool sb_null_p(sb_reader *r, const char **pp, const char *end)
{
    const char *p = *pp;
    if (SB_LIKELY(p < end && (unsigned char)*p > ' ')) {
        if (*p != 'n')
            return false;
        if (end - p >= 4 && memcmp(p, "null", 4) == 0 && r->err == SB_OK) {
            *pp = p + 4;
            return true;
        }
    }
    r->p = p;
    bool null = sb_read_null_slow(r);
    *pp = r->p;
    return null;
}

/* sb_read_string_len at the cursor p: returns the cursor after the string,
 * or NULL with the error recorded (and r->p set as sb_read_string_len sets
 * it). */
const char *sb_read_string_len_p(sb_reader *r, const char *p, sb_str *out, size_t min, size_t max);

/* Validate one whole value of any kind and return its raw bytes (without the
 * surrounding whitespace). Duplicate keys are accepted (RFC 8259 allows them). */
bool sb_read_any(sb_reader *r, sb_str *raw);

/* After the top-level value: only whitespace may remain. */
bool sb_read_end(sb_reader *r);

/* Looks ahead, without consuming anything, for the member `key` of the object
 * that starts at the reader's position, and returns its string value in *val.
 * Returns 1 found (string), 0 not a member, -1 error (syntax, or the member
 * is not a string: SB_ERR_TYPE with the key in the path). Used by union
 * dispatch, because a discriminator need not be the first key. If the key
 * appears twice the first wins (the typed parse then reports the duplicate).
 * Escaped keys and values are decoded into the arena. */
int sb_find_discriminator(sb_reader *r, const char *key, size_t key_len, sb_str *val);

/* s[0..len) is valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF). */
bool sb_utf8_valid(const char *s, size_t len);

/* Whole-document validation: one value, then only whitespace. err and msg
 * may be NULL; on success *err is SB_OK and msg is "". */
bool sb_json_validate(const char *buf, size_t len, const sb_json_limits *limits, sb_json_err *err,
                      char *msg, size_t msg_size);

/* ---- writer ---------------------------------------------------------- */

/* A growable byte buffer. Allocation failure sets `oom`, after which writes
 * are dropped; check it once at the end. */
typedef struct sb_buf {
    char *data;
    size_t len, cap;
    bool oom;
} sb_buf;

void sb_buf_init(sb_buf *b);
void sb_buf_free(sb_buf *b);
void sb_buf_reset(sb_buf *b); /* len = 0, keeps memory, clears oom */
bool sb_buf_reserve(sb_buf *b, size_t extra);
void sb_buf_put_slow(sb_buf *b, const void *data, size_t len);
void sb_buf_putc_slow(sb_buf *b, char c);

/* Inline, because generated writers call these per key with constant
 * lengths: with room in the buffer the copy is a few plain stores. */
static inline void sb_buf_put(sb_buf *b, const void *data, size_t len)
{
    if (SB_LIKELY(len <= b->cap - b->len && !b->oom)) {
        if (len) /* data may be NULL with len 0 (and NULL + 0 is undefined) */
            memcpy(b->data + b->len, data, len);
        b->len += len;
        return;
    }
    sb_buf_put_slow(b, data, len);
}

static inline void sb_buf_putc(sb_buf *b, char c)
{
    if (SB_LIKELY(b->len < b->cap && !b->oom)) {
        b->data[b->len++] = c;
        return;
    }
    sb_buf_putc_slow(b, c);
}
#define SB_BUF_PUT_LIT(b, s) sb_buf_put((b), (s), sizeof(s) - 1)

/* Quoted and escaped: '"' '\\' and bytes < 0x20 are escaped (\n \t ... or
 * \u00XX); other bytes, UTF-8 included, are copied. */
void sb_write_string(sb_buf *b, sb_str s);
void sb_write_int64(sb_buf *b, int64_t v);
/* Shortest text that reads back as the same double. NaN and infinities have
 * no JSON form: they are written as null. */
void sb_write_double(sb_buf *b, double v);
void sb_write_bool(sb_buf *b, bool v);
void sb_write_null(sb_buf *b);

/* Re-emit a valid JSON text with insignificant whitespace removed (used for
 * `any` values and for canonical comparisons in tests). Input must already
 * be valid (sb_read_any); returns false otherwise. */
bool sb_write_minified(sb_buf *b, sb_str json);

#endif
