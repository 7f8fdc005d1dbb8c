/*
 * core_store.c: the core module's SQL (core_store.h). Every statement is a
 * string constant handed to sb_store_stmt(), which prepares it once.
 */
#include <stdlib.h>
#include <string.h>

#include "core_store.h"
#include "store_sql.h"

/* Steps are never edited once released: a change is a new step at the end. */
static const char *const migrations[] = {
    /* 1: operator API keys. The key is never stored: key_hash is the hex
     * SHA-256 of the whole key text. A revoked key keeps its row (and its
     * name), so that the list still shows it. */
    "CREATE TABLE core_api_keys("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  revoked_at INTEGER);",
};

struct core_store {
    sb_store *store;
};

int core_store_migrate(sb_store *store, char *err, size_t err_size)
{
    sb_migration m = {
        .module = "core", .steps = migrations, .count = sizeof migrations / sizeof migrations[0]};
    return sb_store_migrate(store, &m, err, err_size);
}

core_store *core_store_new(sb_store *store)
{
    core_store *cs = calloc(1, sizeof *cs);
    if (cs)
        cs->store = store;
    return cs;
}

void core_store_free(core_store *cs)
{
    free(cs);
}

sb_store *core_store_store(core_store *cs)
{
    return cs->store;
}

static int64_t int_col(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

int64_t core_apikey_insert(core_store *cs, const char *name, const char *key_hash, int64_t now)
{
    static const char sql[] =
        "INSERT INTO core_api_keys(name, key_hash, created_at) VALUES(?1, ?2, ?3)";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return 0;
    return sqlite3_last_insert_rowid(sb_store_db(cs->store));
}

int core_apikey_by_name(core_store *cs, const char *name, core_apikey_row *row)
{
    static const char sql[] = "SELECT id, created_at, last_used_at, revoked_at "
                              "FROM core_api_keys WHERE name = ?1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *row = (core_apikey_row){
            .id = sqlite3_column_int64(st, 0),
            .created_at = int_col(st, 1),
            .last_used_at = int_col(st, 2),
            .revoked_at = int_col(st, 3),
        };
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int core_apikey_by_hash(core_store *cs, const char *key_hash, int64_t *id,
                        char stored_hash[SB_TOKEN_HEX_LEN + 1], int64_t *last_used_at)
{
    static const char sql[] = "SELECT id, key_hash, last_used_at FROM core_api_keys "
                              "WHERE key_hash = ?1 AND revoked_at IS NULL";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key_hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (found == 1) {
        const unsigned char *h = sqlite3_column_text(st, 1);
        if (h && sqlite3_column_bytes(st, 1) == SB_TOKEN_HEX_LEN) {
            *id = sqlite3_column_int64(st, 0);
            memcpy(stored_hash, h, SB_TOKEN_HEX_LEN + 1);
            *last_used_at = int_col(st, 2);
        } else {
            found = 0; /* not a hash we wrote */
        }
    }
    sqlite3_reset(st);
    return found;
}

int core_apikey_touch(core_store *cs, int64_t id, int64_t now, int64_t min_gap)
{
    static const char sql[] = "UPDATE core_api_keys SET last_used_at = ?2 WHERE id = ?1 AND "
                              "(last_used_at IS NULL OR last_used_at <= ?2 - ?3)";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, min_gap);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int core_apikey_revoke(core_store *cs, int64_t id, int64_t now)
{
    static const char sql[] =
        "UPDATE core_api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(sb_store_db(cs->store)) > 0 ? 1 : 0;
}

int core_apikey_list(core_store *cs, sb_cursor *cur, core_apikey_row *row)
{
    static const char sql[] = "SELECT id, name, created_at, last_used_at, revoked_at "
                              "FROM core_api_keys ORDER BY id";
    if (!sb_cursor_stmt(cur)) {
        sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
        if (!st)
            return -1;
        sb_cursor_start(cur, st);
    }
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *row = (core_apikey_row){
            .id = sqlite3_column_int64(st, 0),
            .name = (const char *)sqlite3_column_text(st, 1),
            .created_at = int_col(st, 2),
            .last_used_at = int_col(st, 3),
            .revoked_at = int_col(st, 4),
        };
        return 1;
    }
    sb_cursor_close(cur);
    return rc == SQLITE_DONE ? 0 : -1;
}
