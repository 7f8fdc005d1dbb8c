/*
 * round_trip.h: the property every generated fuzz target checks
 * (generated/fuzz/fuzz_<channel>.c): whatever a parser accepts, its writer
 * writes as text the parser accepts again, and writing that back gives the
 * same bytes. A failure must say why. Anything else aborts.
 */
#ifndef SB_FUZZ_ROUND_TRIP_H
#define SB_FUZZ_ROUND_TRIP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static inline void sb_fuzz_round_trip(const uint8_t *data, size_t size, sb_parse_fn parse,
                                      sb_write_fn write, size_t struct_size)
{
    sb_arena arena;
    sb_reader r;
    sb_buf first, second;
    void *a = calloc(1, struct_size), *b = calloc(1, struct_size);
    if (!a || !b)
        abort();
    sb_arena_init(&arena, (size_t)4 << 20);
    sb_buf_init(&first);
    sb_buf_init(&second);
    sb_reader_init(&r, (const char *)data, size, &arena, NULL);
    if (parse(&r, a) && sb_read_end(&r)) {
        write(&first, a);
        sb_reader_init(&r, first.data, first.len, &arena, NULL);
        if (!parse(&r, b) || !sb_read_end(&r))
            abort(); /* the writer produced something its parser refuses */
        write(&second, b);
        if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
            abort(); /* not a fixed point */
    } else if (r.err == SB_OK || r.err_msg[0] == '\0') {
        abort(); /* a failure must say why */
    }
    sb_buf_free(&first);
    sb_buf_free(&second);
    sb_arena_free(&arena);
    free(a);
    free(b);
}

#endif
