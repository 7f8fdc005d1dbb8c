/*
 * rand.h: a seeded generator of random valid values for the generated
 * random-instance functions (generated/c/CHANNEL_random.c). Deterministic for a
 * seed, so a failing round trip can be replayed.
 */
#ifndef SB_TEST_RAND_H
#define SB_TEST_RAND_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"

typedef struct sb_rand {
    uint64_t s;
} sb_rand;

void sb_rand_seed(sb_rand *g, uint64_t seed);
uint64_t sb_rand_u64(sb_rand *g);
uint32_t sb_rand_below(sb_rand *g, uint32_t n); /* 0..n-1 */
int64_t sb_rand_int(sb_rand *g, int64_t min, int64_t max);
double sb_rand_double(sb_rand *g, bool has_min, double min, bool has_max, double max);
/* Valid UTF-8 of min..max bytes mixing ASCII, characters that need escaping,
 * NUL, and 2-, 3- and 4-byte sequences. */
sb_str sb_rand_str(sb_rand *g, sb_arena *a, size_t min, size_t max);
sb_str sb_rand_iso8601(sb_rand *g, sb_arena *a);
/* A small valid JSON value, minified. */
sb_str sb_rand_any(sb_rand *g, sb_arena *a);

#endif
