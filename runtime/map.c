/* map.c: see map.h. Linear probing, kept at most half full. */
#include <stdbool.h>
#include <stdlib.h>

#include "map.h"

static size_t home(size_t cap, int64_t key)
{
    uint64_t x = (uint64_t)key * 0x9e3779b97f4a7c15ULL;
    return (size_t)(x >> 29) & (cap - 1);
}

void sb_map_init(sb_map *m)
{
    m->slots = NULL;
    m->cap = m->used = 0;
}

void sb_map_free(sb_map *m)
{
    free(m->slots);
    sb_map_init(m);
}

void *sb_map_get(const sb_map *m, int64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = home(m->cap, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return m->slots[i].value;
        if (m->slots[i].key == 0)
            return NULL;
    }
}

static void insert(struct sb_map_slot *slots, size_t cap, int64_t key, void *value)
{
    size_t i = home(cap, key);
    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].value = value;
}

int sb_map_put(sb_map *m, int64_t key, void *value)
{
    if ((m->used + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct sb_map_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                insert(slots, cap, m->slots[i].key, m->slots[i].value);
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    if (!sb_map_get(m, key))
        m->used++;
    insert(m->slots, m->cap, key, value);
    return 0;
}

/* Linear probing without tombstones: after emptying a slot, the entries of
 * the same cluster that follow it move back if their home allows, so that
 * every lookup still finds them before an empty slot. */
void *sb_map_del(sb_map *m, int64_t key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = home(m->cap, key);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return NULL;
        i = (i + 1) & mask;
    }
    void *value = m->slots[i].value;
    m->slots[i].key = 0;
    m->slots[i].value = NULL;
    m->used--;
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t h = home(m->cap, m->slots[j].key);
        /* move j back to i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = 0;
            m->slots[j].value = NULL;
            i = j;
        }
    }
    return value;
}
