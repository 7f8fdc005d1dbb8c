/*
 * hub.c: user -> connection IDs, an open-addressing hash of small arrays.
 * Most users have one or two devices, so each entry's array is tiny and a
 * linear scan to remove is cheaper than anything cleverer.
 */
#include <stdlib.h>
#include <string.h>

#include "hub.h"

typedef struct entry {
    int64_t user; /* 0: empty slot (user IDs start at 1) */
    uint64_t *conns;
    size_t count, cap;
} entry;

struct sb_hub {
    entry *slots;
    size_t cap, used; /* cap is a power of two */
};

static size_t slot_of(const sb_hub *h, int64_t user)
{
    uint64_t x = (uint64_t)user * 0x9e3779b97f4a7c15ULL;
    return (size_t)(x >> 32) & (h->cap - 1);
}

static entry *find(const sb_hub *h, int64_t user)
{
    for (size_t i = slot_of(h, user);; i = (i + 1) & (h->cap - 1)) {
        entry *e = &h->slots[i];
        if (e->user == user || e->user == 0)
            return e;
    }
}

sb_hub *sb_hub_new(void)
{
    sb_hub *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->cap = 1024;
    h->slots = calloc(h->cap, sizeof *h->slots);
    if (!h->slots) {
        free(h);
        return NULL;
    }
    return h;
}

void sb_hub_free(sb_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->cap; i++)
        free(h->slots[i].conns);
    free(h->slots);
    free(h);
}

static int grow(sb_hub *h)
{
    sb_hub bigger = {calloc(h->cap * 2, sizeof(entry)), h->cap * 2, h->used};
    if (!bigger.slots)
        return -1;
    for (size_t i = 0; i < h->cap; i++)
        if (h->slots[i].user)
            *find(&bigger, h->slots[i].user) = h->slots[i];
    free(h->slots);
    *h = bigger;
    return 0;
}

int sb_hub_add(sb_hub *h, int64_t user, uint64_t conn)
{
    if ((h->used + 1) * 2 > h->cap && grow(h) != 0)
        return -1;
    entry *e = find(h, user);
    if (e->user == 0) {
        e->user = user;
        h->used++;
    }
    if (e->count == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 2;
        uint64_t *p = realloc(e->conns, cap * sizeof *p);
        if (!p)
            return -1;
        e->conns = p;
        e->cap = cap;
    }
    e->conns[e->count++] = conn;
    return 0;
}

void sb_hub_remove(sb_hub *h, int64_t user, uint64_t conn)
{
    entry *e = find(h, user);
    if (e->user == 0)
        return;
    for (size_t i = 0; i < e->count; i++) {
        if (e->conns[i] == conn) {
            e->conns[i] = e->conns[--e->count];
            break;
        }
    }
    /* Entries stay once made (a user who connected once is likely back);
     * their array is freed when empty. Deleting from open addressing would
     * need tombstones for no real gain here. */
    if (e->count == 0) {
        free(e->conns);
        e->conns = NULL;
        e->cap = 0;
    }
}

const uint64_t *sb_hub_conns(const sb_hub *h, int64_t user, size_t *count)
{
    entry *e = find(h, user);
    *count = e->user ? e->count : 0;
    return e->conns;
}
