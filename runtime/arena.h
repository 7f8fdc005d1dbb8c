/*
 * arena.h: a bump allocator for everything that lives as long as one message.
 *
 * A parsed message points into its input buffer where it can (strings without
 * escapes) and into an arena for the rest (decoded strings, arrays, nested
 * structs). Freeing the message is one sb_arena_reset(). The arena has a byte
 * limit so that a hostile message cannot make the server allocate without
 * bound: past the limit sb_arena_alloc() returns NULL and the parser reports
 * SB_ERR_MEMORY with the path it was at.
 */
#ifndef SB_ARENA_H
#define SB_ARENA_H

#include <stddef.h>

typedef struct sb_arena_block sb_arena_block;

typedef struct sb_arena {
    sb_arena_block *head; /* newest block first */
    size_t used;          /* bytes handed out since the last reset */
    size_t limit;         /* most bytes handed out between resets; 0 = none */
} sb_arena;

#define SB_ARENA_DEFAULT_LIMIT ((size_t)16 << 20) /* 16 MiB */

void sb_arena_init(sb_arena *a, size_t limit);
/* 16-byte aligned, zero-filled memory; NULL past the limit or on OOM. The
 * limit counts the bytes asked for. size 0 gives a valid non-NULL pointer
 * (an empty array is not a failure). */
void *sb_arena_alloc(sb_arena *a, size_t size);
/* Forget every allocation; keeps one block for reuse. */
void sb_arena_reset(sb_arena *a);
/* A NUL-terminated copy of s[0..len), or NULL (arena full). */
char *sb_arena_strndup(sb_arena *a, const char *s, size_t len);
void sb_arena_free(sb_arena *a);

#endif
