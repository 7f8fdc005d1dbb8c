/*
 * msgpack.h: a strict, bounds-checked MessagePack reader, and MessagePack
 * to JSON text for Socket.IO events. handlers/realtime_emitter.c reads the
 * messages of @socket.io/redis-emitter (notepack.io's MessagePack) with it.
 *
 * The reader pulls one value head at a time from one contiguous buffer:
 * scalars whole, strings and binaries as pointers into the input, arrays
 * and maps as their counts (the caller reads that many values, twice as
 * many for a map). Every length is checked against the bytes left before
 * anything is read: a truncated input, the unused byte 0xc1, an array or
 * map claiming more elements than bytes remain, and (with sb_mp_end) bytes
 * after the value are errors. Nesting is bounded by the caller's max_depth.
 *
 * Errors: every failing call returns false after recording the first error
 * in the reader: a class (for metrics), the byte offset, and a message
 * ("offset 12: truncated: str 8 needs 5 bytes, 2 left"). Later errors never
 * overwrite the first.
 *
 * JSON (sb_mp_to_json): what JSON.stringify makes of what notepack.io
 * decodes, so that a client of Switchboard gets what a client of a Node
 * Socket.IO server would get:
 *
 *   nil, bool, int, float    null, true/false, the number (NaN and the
 *                            infinities as null, -0 as 0; 64-bit integers
 *                            exactly, as JavaScript reads them back)
 *   str                      a JSON string (must be valid UTF-8)
 *   array                    an array; an undefined element is null
 *   map                      an object; keys must be strings or integers
 *                            (an integer key is written as its decimal
 *                            text, as JavaScript does); a pair whose value
 *                            is undefined is left out
 *   bin, ext 0 (ArrayBuffer) a Socket.IO attachment: the placeholder
 *                            {"_placeholder":true,"num":N} and the bytes
 *                            in j->attachments (refused when NULL)
 *   ext -1 (timestamp)       its ISO-8601 text ("2026-12-04T18:58:17.123Z"),
 *                            or null out of JavaScript's Date range
 *   fixext 1 of type 0       undefined (notepack's old encoding)
 *   fixext 8 of type 0       a Date in milliseconds (notepack's old one)
 *   any other ext            [type, attachment], as notepack decodes it
 *
 * What has no JSON form (a map key of another type, a string that is not
 * UTF-8, a timestamp that is not one) is an error of class SB_MP_ERR_JSON.
 */
#ifndef SB_MSGPACK_H
#define SB_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define SB_MP_ERR_MAX 192  /* bytes of the formatted error, NUL included */
#define SB_MP_MAX_DEPTH 64 /* arrays and maps open at once, by default */

typedef enum sb_mp_type {
    SB_MP_NIL = 1,
    SB_MP_BOOL,
    SB_MP_INT,   /* any integer in int64's range (positive ones included) */
    SB_MP_UINT,  /* a uint 64 above INT64_MAX */
    SB_MP_FLOAT, /* float 32 (widened) or float 64 */
    SB_MP_STR,
    SB_MP_BIN,
    SB_MP_ARRAY,
    SB_MP_MAP,
    SB_MP_EXT,
} sb_mp_type;

const char *sb_mp_type_name(sb_mp_type t); /* "nil", "bool", ... */

typedef struct sb_mp_value {
    sb_mp_type type;
    uint8_t format; /* the first byte (0x00..0x7f: positive fixint, ...) */
    bool boolean;
    int64_t i;
    uint64_t u;
    double f;
    const char *ptr; /* SB_MP_STR, SB_MP_BIN, SB_MP_EXT: the bytes, in the input */
    size_t len;
    int8_t ext; /* SB_MP_EXT: its type */
    uint32_t n; /* SB_MP_ARRAY: elements; SB_MP_MAP: pairs (2n values follow) */
} sb_mp_value;

typedef enum sb_mp_err {
    SB_MP_OK = 0,
    SB_MP_ERR_MALFORMED, /* not MessagePack: truncated, 0xc1, bad counts, trailing bytes */
    SB_MP_ERR_SHAPE,     /* MessagePack, but not what the caller expected */
    SB_MP_ERR_LIMIT,     /* deeper than max_depth, JSON over max_out, too many attachments */
    SB_MP_ERR_JSON,      /* no JSON form */
    SB_MP_ERR_MEMORY,    /* the output buffer could not grow */
} sb_mp_err;

const char *sb_mp_err_name(sb_mp_err e); /* "malformed", "shape", ... */

typedef struct sb_mp_reader {
    const unsigned char *begin, *p, *end;
    sb_mp_err err;
    size_t err_offset;
    char err_msg[SB_MP_ERR_MAX];
} sb_mp_reader;

void sb_mp_reader_init(sb_mp_reader *r, const void *buf, size_t len);

/* Record "offset N: REASON" unless an error is recorded already. Always
 * false, so that callers can `return sb_mp_fail(...)`. */
bool sb_mp_fail(sb_mp_reader *r, sb_mp_err code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The next value's head (see above). */
bool sb_mp_read(sb_mp_reader *r, sb_mp_value *v);
/* The next value, whole, nested at most max_depth deep (<= 0: SB_MP_MAX_DEPTH). */
bool sb_mp_skip(sb_mp_reader *r, int max_depth);
/* The next value must be a string (SB_MP_ERR_SHAPE otherwise, naming `what`
 * and the type found). Not checked for UTF-8. */
bool sb_mp_read_str(sb_mp_reader *r, const char *what, sb_str *out);
/* Nothing may remain. */
bool sb_mp_end(sb_mp_reader *r);
size_t sb_mp_left(const sb_mp_reader *r);

/* MessagePack to JSON ---------------------------------------------------- */

typedef struct sb_mp_json {
    int max_depth;          /* arrays and maps open at once; <= 0: SB_MP_MAX_DEPTH */
    size_t max_out;         /* out->len may not pass it; 0: no limit */
    sb_str *attachments;    /* binaries go here; NULL: a binary is an error */
    size_t max_attachments; /* room in attachments */
    size_t n_attachments;   /* filled so far (kept across calls) */
} sb_mp_json;

/* The next value as JSON text, appended to out. */
bool sb_mp_to_json(sb_mp_reader *r, sb_buf *out, sb_mp_json *j);

/* Milliseconds since the epoch as Date.prototype.toISOString writes them
 * ("+275760-09-13T00:00:00.000Z" past year 9999); false out of Date's
 * range (|ms| > 8.64e15). buf: at least 32 bytes. */
bool sb_mp_iso_date(int64_t ms, char *buf, size_t size);

#endif
