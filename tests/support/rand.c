/* rand.c: see rand.h. splitmix64: tiny, fast, and good enough for tests. */
#include <stdio.h>
#include <string.h>

#include "rand.h"

void sb_rand_seed(sb_rand *g, uint64_t seed)
{
    g->s = seed;
}

uint64_t sb_rand_u64(sb_rand *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t sb_rand_below(sb_rand *g, uint32_t n)
{
    return n ? (uint32_t)(sb_rand_u64(g) % n) : 0;
}

int64_t sb_rand_int(sb_rand *g, int64_t min, int64_t max)
{
    /* the edges are where codecs break: pick them often */
    switch (sb_rand_below(g, 8)) {
    case 0:
        return min;
    case 1:
        return max;
    case 2:
        return (min <= 0 && max >= 0) ? 0 : min;
    default: {
        uint64_t span = (uint64_t)max - (uint64_t)min;
        uint64_t v = sb_rand_u64(g);
        if (sb_rand_below(g, 2))
            v %= 100000; /* small numbers are common too */
        if (span != UINT64_MAX)
            v %= span + 1;
        return (int64_t)((uint64_t)min + v);
    }
    }
}

double sb_rand_double(sb_rand *g, bool has_min, double min, bool has_max, double max)
{
    double v;
    switch (sb_rand_below(g, 4)) {
    case 0:
        v = (double)(int64_t)(sb_rand_u64(g) % 2000001) - 1000000.0;
        break;
    case 1:
        v = (double)sb_rand_u64(g) / 1e10 - 9e8;
        break;
    case 2: { /* any finite bit pattern */
        uint64_t bits;
        do {
            bits = sb_rand_u64(g);
            memcpy(&v, &bits, sizeof v);
        } while (v != v || v - v != 0);
        break;
    }
    default:
        v = 0.1 * (double)sb_rand_below(g, 100);
        break;
    }
    if (has_min && v < min)
        v = min;
    if (has_max && v > max)
        v = max;
    return v;
}

static const char *const pieces[] = {
    "a",
    "Z",
    "0",
    " ",
    "\"",
    "\\",
    "/",
    "\n",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    "\xc3\xa9",         /* é */
    "\xe2\x82\xac",     /* € */
    "\xf0\x9f\x98\x80", /* 😀 */
    "\xe2\x80\xa8",     /* U+2028 */
};

sb_str sb_rand_str(sb_rand *g, sb_arena *a, size_t min, size_t max)
{
    size_t target = min + sb_rand_below(g, (uint32_t)((max - min < 40 ? max - min : 40) + 1));
    char *p = sb_arena_alloc(a, target + 1);
    size_t n = 0;
    if (sb_rand_below(g, 16) == 0 && target > 0)
        p[n++] = '\0'; /* NUL is legal inside JSON strings */
    while (n < target) {
        const char *piece = pieces[sb_rand_below(g, sizeof pieces / sizeof pieces[0])];
        size_t len = strlen(piece);
        if (n + len > target)
            piece = "x", len = 1;
        memcpy(p + n, piece, len);
        n += len;
    }
    return (sb_str){p, n};
}

sb_str sb_rand_iso8601(sb_rand *g, sb_arena *a)
{
    char *p = sb_arena_alloc(a, 40);
    int n;
    if (sb_rand_below(g, 2))
        n = snprintf(p, 40, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", 1970 + sb_rand_below(g, 100),
                     1 + sb_rand_below(g, 12), 1 + sb_rand_below(g, 28), sb_rand_below(g, 24),
                     sb_rand_below(g, 60), sb_rand_below(g, 60), sb_rand_below(g, 1000));
    else
        n = snprintf(p, 40, "%04u-%02u-%02uT%02u:%02u:%02u+%02u:30", 1970 + sb_rand_below(g, 100),
                     1 + sb_rand_below(g, 12), 1 + sb_rand_below(g, 28), sb_rand_below(g, 24),
                     sb_rand_below(g, 60), sb_rand_below(g, 60), sb_rand_below(g, 14));
    return (sb_str){p, (size_t)n};
}

static const char *const any_values[] = {
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "1e+100",
    "\"x\"",
    "\"\\u0000\\\"\"",
    "[]",
    "{}",
    "[1,2,3]",
    "{\"a\":1,\"b\":[true,null]}",
    "{\"nested\":{\"deep\":[[],[{}]]}}",
    "\"\xc3\xa9\xf0\x9f\x98\x80\"",
    "{\"a\":1,\"a\":2}",
};

sb_str sb_rand_any(sb_rand *g, sb_arena *a)
{
    (void)a;
    const char *v = any_values[sb_rand_below(g, sizeof any_values / sizeof any_values[0])];
    return (sb_str){v, strlen(v)};
}
