/*
 * core_store.h: the core module's tables, shared by every protocol.
 *
 * Today one table, core_api_keys: the operators' API keys (apikey.h). A key
 * itself is never stored, only the hex SHA-256 of its whole text
 * ("sbk_..."), so a copy of the database lets nobody call an operator
 * endpoint. This header names no SQLite type: the SQL stays in
 * core_store.c.
 */
#ifndef SB_CORE_STORE_H
#define SB_CORE_STORE_H

#include <stdint.h>

#include "store.h"
#include "token.h"

typedef struct core_store core_store;

/* One key as the operator sees it: never the key, never its hash. Times are
 * Unix seconds; 0 when not set. */
typedef struct core_apikey_row {
    int64_t id;
    const char *name; /* the iterator's: valid until its next call */
    int64_t created_at;
    int64_t last_used_at; /* 0: never used */
    int64_t revoked_at;   /* 0: active */
} core_apikey_row;

/* Bring the core tables to their newest version. 0, or -1 with err. */
int core_store_migrate(sb_store *store, char *err, size_t err_size);
core_store *core_store_new(sb_store *store);
/* Inside the turn's transaction (sb_store_begin first): hold a demo's
 * seeding lock (which: CORE_SEED_REALTIME, CORE_SEED_DASHBOARD) until it
 * ends, so that of several nodes starting at once on one database one
 * seeds and the others, waiting, find its rows. On SQLite BEGIN IMMEDIATE
 * holds the database already. 0, or -1. */
enum { CORE_SEED_REALTIME = 1, CORE_SEED_DASHBOARD = 2 };
int core_seed_lock(sb_store *store, int which);
void core_store_free(core_store *cs);
sb_store *core_store_store(core_store *cs);

/* A new key row. Its ID, or 0 on error (a name or hash taken included). */
int64_t core_apikey_insert(core_store *cs, const char *name, const char *key_hash, int64_t now);
/* The key named `name`, revoked or not: 1 and *row filled (row->name is
 * NULL), 0 when none, -1 on error. */
int core_apikey_by_name(core_store *cs, const char *name, core_apikey_row *row);
/* The active (not revoked) key whose hash is key_hash: 1 with *id, the
 * stored hash in stored_hash and *last_used_at (0: never), 0 when none, -1
 * on error. One indexed lookup whether or not a row matches. */
int core_apikey_by_hash(core_store *cs, const char *key_hash, int64_t *id,
                        char stored_hash[SB_TOKEN_HEX_LEN + 1], int64_t *last_used_at);
/* last_used_at = now, unless it is already within the last `min_gap`
 * seconds. Joins whatever transaction is open. 0, or -1 on error. */
int core_apikey_touch(core_store *cs, int64_t id, int64_t now, int64_t min_gap);
/* revoked_at = now, when not revoked yet. 1 revoked now, 0 already revoked
 * (or no such key), -1 on error. */
int core_apikey_revoke(core_store *cs, int64_t id, int64_t now);
/* Every key, oldest first (the cursor protocol of store.h): 1 and *row, 0
 * done, -1 error. */
int core_apikey_list(core_store *cs, sb_cursor *cur, core_apikey_row *row);

#endif
