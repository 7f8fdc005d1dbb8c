/*
 * realtime_store.c: the realtime module's SQL (realtime_store.h).
 */
#include <string.h>

#include "realtime_store.h"
#include "store_sql.h"

/* Steps are never edited once released: a change is a new step at the end. */
static const char *const migrations[] = {
    /* 1: recent UPDATEs, for connection state recovery */
    "CREATE TABLE realtime_updates("
    "  offset INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  company TEXT NOT NULL,"
    "  artifact TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  envelope TEXT NOT NULL);"
    "CREATE INDEX realtime_updates_company ON realtime_updates(company, offset);"
    "CREATE INDEX realtime_updates_created ON realtime_updates(created_ms);",
};

int realtime_store_migrate(sb_store *store, char *err, size_t err_size)
{
    sb_migration m = {"realtime", migrations, sizeof migrations / sizeof migrations[0]};
    return sb_store_migrate(store, &m, err, err_size);
}

int64_t realtime_update_insert(sb_store *s, const char *company, const char *artifact,
                               int64_t now_ms, const char *envelope, size_t len)
{
    static const char sql[] = "INSERT INTO realtime_updates(company, artifact, created_ms, "
                              "envelope) VALUES(?1, ?2, ?3, ?4)";
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, company, -1, SQLITE_TRANSIENT);
    if (artifact)
        sqlite3_bind_text(st, 2, artifact, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_text(st, 4, envelope, (int)len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(sb_store_db(s)) : 0;
}

int realtime_update_prune(sb_store *s, int64_t before_ms, int limit)
{
    static const char sql[] =
        "DELETE FROM realtime_updates WHERE offset IN (SELECT offset FROM "
        "realtime_updates WHERE created_ms < ?1 ORDER BY created_ms LIMIT ?2)";
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, limit);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int realtime_updates_since(sb_store *s, const char *company, int64_t after, int64_t upto,
                           int64_t since_ms, sb_cursor *cur, realtime_update_row *row)
{
    static const char sql[] = "SELECT offset, artifact, envelope FROM realtime_updates WHERE "
                              "company = ?1 AND offset > ?2 AND offset <= ?3 AND created_ms >= ?4 "
                              "ORDER BY offset";
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    if (!st) {
        st = sb_store_stmt(s, sql);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, company, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, after);
        sqlite3_bind_int64(st, 3, upto);
        sqlite3_bind_int64(st, 4, since_ms);
        sb_cursor_start(cur, st);
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sb_cursor_close(cur);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    row->offset = sqlite3_column_int64(st, 0);
    row->artifact = (const char *)sqlite3_column_text(st, 1);
    row->envelope = (const char *)sqlite3_column_text(st, 2);
    row->len = (size_t)sqlite3_column_bytes(st, 2);
    return 1;
}

int64_t realtime_update_oldest(sb_store *s, const char *company)
{
    static const char sql[] = "SELECT min(offset) FROM realtime_updates WHERE company = ?1";
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, company, -1, SQLITE_TRANSIENT);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

int64_t realtime_update_newest(sb_store *s)
{
    static const char sql[] = "SELECT max(offset) FROM realtime_updates";
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return 0;
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}
