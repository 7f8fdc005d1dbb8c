/*
 * fuzz_json.c: libFuzzer target for the JSON reader and the minifier.
 *
 * Every input is validated. A valid one is minified; the result must be
 * valid again, no longer than the input, and a fixed point (minifying it
 * changes nothing). Whatever the verdict, the pull API then walks the same
 * bytes (objects, arrays, scalars, discriminator look-ahead) so that its
 * paths are fuzzed too, and it must agree with the validator.
 *
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -Iruntime \
 *     tests/fuzz/fuzz_json.c runtime/arena.c runtime/json_read.c \
 *     runtime/json_write.c -lm -o fuzz_json
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads one value through the pull API, as generated code would. */
static bool walk(sb_reader *r)
{
    sb_str s;
    int64_t i;
    double d;
    bool b;
    size_t index = 0;
    int rc;
    switch (sb_peek(r)) {
    case '{':
        if (!sb_read_object_begin(r))
            return false;
        while ((rc = sb_read_object_next(r, &s)) == 1) {
            sb_path_push_key(r, s.ptr, s.len);
            if (!walk(r))
                return false;
            sb_path_pop(r);
        }
        return rc == 0;
    case '[':
        if (!sb_read_array_begin(r))
            return false;
        while ((rc = sb_read_array_next(r)) == 1) {
            sb_path_push_index(r, index++);
            if (!walk(r))
                return false;
            sb_path_pop(r);
        }
        return rc == 0;
    case '"':
        return sb_read_string(r, &s);
    case 't':
    case 'f':
        return sb_read_bool(r, &b);
    case 'n':
        return sb_read_null(r);
    case '0': {
        /* Integers first; the double reader must take what they refuse. */
        const char *p = r->p;
        if (sb_read_int64(r, &i))
            return true;
        if (r->err != SB_ERR_TYPE && r->err != SB_ERR_RANGE)
            return false;
        r->err = SB_OK;
        r->p = p;
        return sb_read_double(r, &d) || r->err == SB_ERR_RANGE;
    }
    default:
        return sb_read_any(r, &s); /* fails with the syntax error */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    sb_json_err err;
    char msg[SB_ERR_MSG_MAX];
    bool valid = sb_json_validate(json, size, NULL, &err, msg, sizeof msg);
    if (valid != (err == SB_OK) || strlen(msg) >= sizeof msg)
        abort();

    if (valid) {
        sb_buf once, twice;
        sb_buf_init(&once);
        sb_buf_init(&twice);
        if (!sb_write_minified(&once, (sb_str){json, size}) || once.len > size)
            abort();
        if (!sb_json_validate(once.data, once.len, NULL, NULL, NULL, 0))
            abort();
        if (!sb_write_minified(&twice, (sb_str){once.data, once.len}) || twice.len != once.len ||
            memcmp(once.data, twice.data, once.len) != 0)
            abort();
        sb_buf_free(&once);
        sb_buf_free(&twice);
    }

    sb_arena arena;
    sb_reader r;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);

    /* Discriminator look-ahead on a valid object: found, absent, or a
     * type error for a non-string member; never a syntax error, and the
     * position must come back untouched. */
    sb_str val;
    sb_reader_init(&r, json, size, &arena, NULL);
    if (sb_peek(&r) == '{') {
        const char *p = r.p;
        int rc = sb_find_discriminator(&r, "type", 4, &val);
        if (valid && rc < 0 && r.err != SB_ERR_TYPE)
            abort();
        if (rc >= 0 && (r.p != p || r.depth != 0))
            abort();
    }

    /* The pull reader must reach the same verdict, except that a number
     * too large for a double is valid JSON yet out of range for it. */
    sb_arena_reset(&arena);
    sb_reader_init(&r, json, size, &arena, NULL);
    bool walked = walk(&r) && sb_read_end(&r);
    if (walked && !valid)
        abort();
    if (valid && !walked && r.err != SB_ERR_RANGE)
        abort();
    sb_arena_free(&arena);
    return 0;
}
