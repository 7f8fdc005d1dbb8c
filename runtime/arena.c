/*
 * arena.c: the bump allocator behind every parsed message (see arena.h).
 *
 * Blocks form a singly linked list, newest first. Normal blocks start at
 * 8 KiB and double up to 1 MiB, so a message costs a handful of malloc calls
 * at most and a steady stream of similar messages costs none after the first
 * (reset keeps one block). A request too large for the next normal block gets
 * a block of its own, linked behind the head so that the head's free space is
 * still used by the small allocations that follow.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_FIRST_BLOCK ((size_t)8 << 10) /* 8 KiB */
#define ARENA_MAX_BLOCK ((size_t)1 << 20)   /* 1 MiB: normal blocks stop doubling here */

struct sb_arena_block {
    sb_arena_block *next;
    char *base;  /* first ARENA_ALIGN-aligned byte after this header */
    size_t size; /* usable bytes from base */
    size_t used; /* bytes of base handed out, rounded up to ARENA_ALIGN */
    int big;     /* holds one oversize allocation; never kept by reset */
};

static size_t align_up(size_t n)
{
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

/* A block with at least `size` usable aligned bytes, or NULL. malloc only
 * promises alignof(max_align_t), which may be 8, so the base is aligned by
 * hand inside an allocation padded by ARENA_ALIGN. */
static sb_arena_block *block_new(size_t size, int big)
{
    if (size > (size_t)PTRDIFF_MAX - sizeof(sb_arena_block) - ARENA_ALIGN)
        return NULL; /* no object may be larger than PTRDIFF_MAX */
    size_t total = sizeof(sb_arena_block) + ARENA_ALIGN + size;
    sb_arena_block *b = malloc(total);
    if (!b)
        return NULL;
    uintptr_t raw = (uintptr_t)(b + 1);
    uintptr_t aligned = (raw + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    b->base = (char *)b + (aligned - (uintptr_t)b);
    b->size = size;
    b->used = 0;
    b->big = big;
    b->next = NULL;
    return b;
}

void sb_arena_init(sb_arena *a, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
}

/* Size of the next normal block: double the current head, within bounds. */
static size_t next_block_size(const sb_arena *a)
{
    if (!a->head || a->head->big)
        return ARENA_FIRST_BLOCK;
    size_t n = a->head->size * 2;
    return n > ARENA_MAX_BLOCK ? ARENA_MAX_BLOCK : n;
}

static void *alloc_big(sb_arena *a, size_t size)
{
    sb_arena_block *b = block_new(size, 1);
    if (!b)
        return NULL;
    b->used = size;
    if (a->head) {
        b->next = a->head->next;
        a->head->next = b;
    } else {
        a->head = b;
    }
    return b->base;
}

void *sb_arena_alloc(sb_arena *a, size_t size)
{
    if (a->limit && (size > a->limit || a->used > a->limit - size))
        return NULL;
    size_t need = align_up(size);
    if (need < size)
        return NULL; /* size near SIZE_MAX */
    sb_arena_block *h = a->head;
    void *p;
    if (h && !h->big && h->size - h->used >= need) {
        p = h->base + h->used;
        h->used += need;
    } else {
        size_t bsize = next_block_size(a);
        if (need > bsize / 2) {
            p = alloc_big(a, need);
        } else {
            sb_arena_block *b = block_new(bsize, 0);
            if (!b)
                return NULL;
            b->next = a->head;
            a->head = b;
            b->used = need;
            p = b->base;
        }
        if (!p)
            return NULL;
    }
    a->used += size;
    /* A zero-byte request still gets a valid, non-NULL pointer: callers
     * test NULL for failure, and an empty array is not a failure. */
    memset(p, 0, size);
    return p;
}

void sb_arena_reset(sb_arena *a)
{
    /* Keep the largest normal block: the next message is likely to need
     * about as much as this one did. Oversize blocks are never kept, so one
     * huge message does not pin its memory for the life of the arena. */
    sb_arena_block *keep = a->head;
    if (!keep || (!keep->next && !keep->big)) { /* the usual case: one block or none */
        if (keep)
            keep->used = 0;
        a->used = 0;
        return;
    }
    keep = NULL;
    for (sb_arena_block *b = a->head; b; b = b->next)
        if (!b->big && (!keep || b->size > keep->size))
            keep = b;
    sb_arena_block *b = a->head;
    while (b) {
        sb_arena_block *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used = 0;
}

void sb_arena_free(sb_arena *a)
{
    sb_arena_block *b = a->head;
    while (b) {
        sb_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

char *sb_arena_strndup(sb_arena *a, const char *s, size_t len)
{
    char *p = sb_arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}
