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

/* Recovery records (docs/decisions.md, realtime): one per connection
 * offered a pid, by the pid's SHA-256 (hex). Live, it names its node and
 * connection, and counts as alive while the node's row in realtime_nodes
 * does; lost gracefully, node is '' and expires_ms alone decides. Every
 * call writes with the turn's transaction (in a unit of the caller's):
 * 0 (or 1: taken), or -1. */
typedef struct realtime_recovery_rec {
    const char *pid_hash, *user, *company, *session;
    const char *subs; /* a JSON array of artifact IDs */
    size_t subs_len;
    const char *node;
    int64_t conn, expires_ms;
} realtime_recovery_rec;
int realtime_recovery_put(sb_store *s, const realtime_recovery_rec *r);
/* The next four touch only the row of (node, conn): a pid recovered on
 * another node since is not this connection's any more. */
int realtime_recovery_set_subs(sb_store *s, const char *pid_hash, const char *node, int64_t conn,
                               const char *subs, size_t len);
int realtime_recovery_detach(sb_store *s, const char *pid_hash, const char *node, int64_t conn,
                             int64_t expires_ms);
int realtime_recovery_drop(sb_store *s, const char *pid_hash, const char *node, int64_t conn);
/* Consumes the record once (a single DELETE ... RETURNING): when it is the
 * same user, company and session, and it has not expired (expires_ms >
 * now, or its node alive after alive_after_ms). 1 with *subs (malloc'd,
 * NUL-terminated), 0 none, -1 error. */
int realtime_recovery_take(sb_store *s, const char *pid_hash, const char *user, const char *company,
                           const char *session, int64_t now_ms, int64_t alive_after_ms, char **subs,
                           size_t *subs_len);
/* This node is alive at now_ms (the sweep's heartbeat). */
int realtime_node_alive(sb_store *s, const char *node, int64_t now_ms);
/* Drops the records past their end, then the nodes' rows that no record
 * can count on any more: how many records, or -1. */
int realtime_recovery_prune(sb_store *s, int64_t now_ms, int64_t alive_after_ms);

#endif
