/*
 * random_instances.c: random valid instances of every message and union, as
 * the generated writer prints them, for tests outside C.
 *
 *   random_instances SEED COUNT
 *
 * prints COUNT lines "TARGET<TAB>JSON" per entry of sb_random_table (the
 * generated random-instance functions, generated/c/<channel>_random.c),
 * deterministic for a SEED. tests/exports/differential.test.mjs feeds them,
 * and mutations of them, to the C parser and to the JSON Schema export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rand.h"
#include "random_gen.h"
#include "registry.h"

static sb_write_fn find_writer(const char *name, size_t *size)
{
    const char *colon = strchr(name, ':');
    if (colon) {
        char channel[64];
        size_t n = (size_t)(colon - name);
        if (n >= sizeof channel)
            return NULL;
        memcpy(channel, name, n);
        channel[n] = '\0';
        const sb_union_info *u = sb_union_find(channel, colon + 1);
        if (!u)
            return NULL;
        *size = u->size;
        return u->write;
    }
    const sb_message_info *m = sb_message_find(name);
    if (!m)
        return NULL;
    *size = m->size;
    return m->write;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: random_instances SEED COUNT\n", stderr);
        return 2;
    }
    unsigned long long seed = strtoull(argv[1], NULL, 10);
    long count = strtol(argv[2], NULL, 10);
    sb_rand g;
    sb_rand_seed(&g, (uint64_t)seed);
    sb_arena arena;
    sb_arena_init(&arena, 0);
    sb_buf out;
    sb_buf_init(&out);
    int rc = 0;
    for (size_t i = 0; i < sb_random_table_count && rc == 0; i++) {
        const sb_random_info *ri = &sb_random_table[i];
        size_t size = 0;
        sb_write_fn write = find_writer(ri->name, &size);
        void *m = write ? calloc(1, size) : NULL;
        if (!m) {
            fprintf(stderr, "random_instances: %s: no writer\n", ri->name);
            rc = 1;
            break;
        }
        for (long k = 0; k < count; k++) {
            sb_arena_reset(&arena);
            ri->random(&g, &arena, m);
            sb_buf_reset(&out);
            write(&out, m);
            if (out.oom) {
                rc = 1;
                break;
            }
            printf("%s\t%.*s\n", ri->name, (int)out.len, out.data);
        }
        free(m);
    }
    sb_buf_free(&out);
    sb_arena_free(&arena);
    return rc;
}
