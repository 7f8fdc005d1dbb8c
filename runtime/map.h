/*
 * map.h: int64 -> pointer, open addressing, for caches keyed by row ID.
 * Keys must not be 0 (SQLite row IDs start at 1). Caches here grow with the
 * rows of their table; sb_map_del takes back an entry whose row was rolled
 * back.
 */
#ifndef SB_MAP_H
#define SB_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_map {
    struct sb_map_slot {
        int64_t key;
        void *value;
    } * slots;
    size_t cap, used;
} sb_map;

void sb_map_init(sb_map *m);
void sb_map_free(sb_map *m); /* the values are the caller's */
void *sb_map_get(const sb_map *m, int64_t key);
int sb_map_put(sb_map *m, int64_t key, void *value); /* replaces; -1 on OOM */
void *sb_map_del(sb_map *m, int64_t key);            /* the value removed, or NULL */

#endif
