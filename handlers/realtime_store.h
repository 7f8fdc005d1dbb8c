/*
 * realtime_store.h: the realtime module's table: the UPDATEs of the last
 * few minutes, per company, kept for connection state recovery (a client
 * that reconnects within the window gets what it missed, in order, once).
 *
 * An update's offset is its row ID: one sequence for every company, so a
 * client's offset says where it stopped whatever it follows. Rows older
 * than the window are pruned by the recovery sweep (realtime_prune).
 *
 * With several writers (nodes on one PostgreSQL database), a company's
 * offsets still become visible in increasing order: an append locks the
 * company's row in realtime_streams before it draws its offset, so appends
 * to one company commit one after the other (docs/decisions.md,
 * "PostgreSQL engine", realtime).
 */
#ifndef SB_REALTIME_STORE_H
#define SB_REALTIME_STORE_H

#include <stdint.h>

#include "store.h"

int realtime_store_migrate(sb_store *store, char *err, size_t err_size);

/* Stores one UPDATE (its envelope, as sent); its offset, or 0 on error.
 * Writes with the turn's transaction (sb_store_begin first). */
int64_t realtime_update_insert(sb_store *s, const char *company, const char *artifact,
                               int64_t now_ms, const char *envelope, size_t len);
/* Drops the updates older than before_ms (at most `limit` rows a call):
 * how many, or -1. */
int realtime_update_prune(sb_store *s, int64_t before_ms, int limit);

typedef struct realtime_update_row {
    int64_t offset;
    const char *artifact; /* NULL: the whole company */
    const char *envelope;
    size_t len;
} realtime_update_row;

/* The company's updates with after < offset <= upto, oldest first, newer
 * than since_ms: 1 with *row, 0 done, -1 error (cur closed either way). */
int realtime_updates_since(sb_store *s, const char *company, int64_t after, int64_t upto,
                           int64_t since_ms, sb_cursor *cur, realtime_update_row *row);
/* The newest offset stored (0: none). */
int64_t realtime_update_newest(sb_store *s);
/* The oldest offset still kept for the company (0: none). */
int64_t realtime_update_oldest(sb_store *s, const char *company);

#endif
