/*
 * id_set.h: a bounded set of 64-bit IDs, sorted, each once.
 *
 * What a connection was sent while two paths can carry the same frame (a
 * replay from the database and live frames from the bus): membership, never
 * a watermark, since another node's frames may arrive out of ID order (the
 * chat's sent message IDs, handlers/chat.c: its replay goes in batches, as
 * the connection drains, and live messages from several nodes arrive in
 * between).
 *
 * Bounded: past `max` IDs nothing more is recorded and sb_id_set_add
 * answers "new" (a duplicate may then get through, never a loss), and the
 * set says it overflowed; out of memory does the same without the flag.
 * Lookups are a binary search; an add moves the IDs above it (the IDs come
 * mostly in order, so mostly nothing).
 */
#ifndef SB_ID_SET_H
#define SB_ID_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_id_set {
    int64_t *ids;
    size_t n, cap;
    size_t max;    /* 0: SB_ID_SET_MAX */
    bool overflow; /* an add found it full: IDs after it were not recorded */
} sb_id_set;

#define SB_ID_SET_MAX 65536 /* 512 KiB */

/* Zeroed is empty, with the default bound. */
#define SB_ID_SET_INIT                                                                             \
    {                                                                                              \
        0                                                                                          \
    }

bool sb_id_set_has(const sb_id_set *s, int64_t id);
/* Record id: false when it was there already (the frame is a duplicate). */
bool sb_id_set_add(sb_id_set *s, int64_t id);
/* Empty it and give its memory back (the bound stays). */
void sb_id_set_clear(sb_id_set *s);

#endif
