/*
 * codec.h: the small helpers that generated parsers and writers call on top
 * of the JSON reader and writer (json.h), and the shapes of the generated
 * registry tables (registry.h).
 *
 * Each check records its error in the reader with the reader's current path,
 * so generated code stays one line per rule: read, then check.
 */
#ifndef SB_CODEC_H
#define SB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "pattern.h"

/* Query parameters (a URL's query string), URL-decoded, in request order:
 * what generated X_from_query() functions read. */
#define SB_QUERY_MAX 32
typedef struct sb_query {
    size_t count;
    struct {
        char *key;
        char *value;
    } item[SB_QUERY_MAX];
} sb_query;

const char *sb_query_get(const sb_query *q, const char *key);
/* A query value as a decimal int64 / "true" or "false": SB_ERR_TYPE otherwise. */
bool sb_text_int64(sb_reader *r, const char *text, int64_t *out);
bool sb_text_bool(sb_reader *r, const char *text, bool *out);

/* String length in bytes within [min, max]: SB_ERR_TOO_LONG otherwise. */
bool sb_check_str(sb_reader *r, sb_str s, size_t min, size_t max);
/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM): SB_ERR_FORMAT otherwise. */
bool sb_check_iso8601(sb_reader *r, sb_str s);
bool sb_is_iso8601(sb_str s);
/* str { pattern = ... }: "does not match pattern SOURCE"; format = "uri" /
 * "email": "expected a URI" / "expected an email address" (SB_ERR_FORMAT). */
bool sb_check_pattern(sb_reader *r, sb_str s, const sb_pattern *p);
bool sb_check_uri(sb_reader *r, sb_str s);
bool sb_check_email(sb_reader *r, sb_str s);
bool sb_check_int(sb_reader *r, int64_t v, int64_t min, int64_t max);
bool sb_check_double(sb_reader *r, double v, bool has_min, double min, bool has_max, double max);
/* Read a string that must equal `lit`: SB_ERR_LITERAL otherwise. */
bool sb_read_literal(sb_reader *r, const char *lit, size_t len);
/* Double an arena array's capacity (4 at first), copying its items. */
bool sb_array_grow(sb_reader *r, void **items, size_t *cap, size_t elem_size);
/* An undeclared key: fail with SB_ERR_UNKNOWN_FIELD when `reject`, else
 * validate and skip its value. */
bool sb_unknown_field(sb_reader *r, sb_str key, bool reject);
bool sb_missing_field(sb_reader *r, const char *name, size_t len);
/* A copy of s in the arena, by length (JSON strings may hold NUL); a NULL
 * s.ptr stays NULL (an absent value). On exhaustion: the empty string. */
sb_str sb_str_copy(sb_arena *a, sb_str s);
/* An `any` value: minified; an empty raw (never set) writes null. */
void sb_write_any(sb_buf *b, sb_str raw);

/* Generated unions. sb_union_begin finds the discriminator `key` of the
 * object at the reader and puts its value in *tag. It returns
 * SB_UNION_AT_FIELDS when the discriminator was the first key: the reader is
 * past it, inside the object (the member's field loop goes on from there);
 * SB_UNION_AT_OBJECT when it came later: the reader is back at '{'; 0 on an
 * error, recorded (not an object, no discriminator, not JSON). */
enum { SB_UNION_AT_FIELDS = 1, SB_UNION_AT_OBJECT = 2 };
int sb_union_begin(sb_reader *r, const char *key, size_t key_len, sb_str *tag);
/* The error for a discriminator value no member has; returns false. */
bool sb_union_unknown(sb_reader *r, const char *key, size_t key_len, sb_str tag);

/* A channel's errors (generated <channel>_errors[], indexed by the
 * generated error code, 1..n; row 0 is empty): name, text and the HTTP
 * status (0 when the schema gives none). */
typedef struct sb_error_def {
    const char *name;
    const char *text;
    int status;
} sb_error_def;

/* Parse one whole document with a generated parser: value, then end. */
typedef bool (*sb_parse_fn)(sb_reader *r, void *out);
typedef void (*sb_write_fn)(sb_buf *b, const void *m);
bool sb_parse_document(sb_reader *r, sb_parse_fn parse, void *out);

#endif
