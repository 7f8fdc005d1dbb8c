/*
 * dashboard_store.c: the dashboard module's SQL (dashboard_store.h).
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "dashboard_store.h"
#include "store_sql.h"

/* Steps are never edited once released: a change is a new step at the end. */
static const char *const migrations[] = {
    /* 1: tickets, sessions, dashboards, component data, views, chat rooms */
    "CREATE TABLE dashboard_tickets("
    "  hash TEXT PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE dashboard_sessions("
    "  hash TEXT PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE dashboard_cases("
    "  case_id TEXT PRIMARY KEY,"
    "  version INTEGER NOT NULL,"
    "  json TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE dashboard_data("
    "  case_id TEXT NOT NULL,"
    "  component_id TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(case_id, component_id)) WITHOUT ROWID;"
    "CREATE TABLE dashboard_views("
    "  case_id TEXT NOT NULL,"
    "  view TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(case_id, view)) WITHOUT ROWID;"
    "CREATE TABLE dashboard_chats("
    "  case_id TEXT PRIMARY KEY,"
    "  room_id INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;",
};

int dashboard_store_migrate(sb_store *s, char *err, size_t err_size)
{
    sb_migration m = {"dashboard", migrations, sizeof migrations / sizeof migrations[0]};
    return sb_store_migrate(s, &m, err, err_size);
}

/* Run a prepared write to its end: 0, or -1. */
static int done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static sqlite3_stmt *write_stmt(sb_store *s, const char *sql)
{
    if (sb_store_begin(s) != SB_STORE_OK)
        return NULL;
    return sb_store_stmt(s, sql);
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* One text column of a one-row query into the arena: 0, 1 no row, -1. */
static int text_row(sqlite3_stmt *st, struct sb_arena *a, const char **json, size_t *len)
{
    int rc = sqlite3_step(st);
    int out = -1;
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        char *copy = t ? sb_arena_strndup(a, t, n) : NULL;
        if (copy) {
            *json = copy;
            *len = n;
            out = 0;
        }
    } else if (rc == SQLITE_DONE) {
        out = 1;
    }
    sqlite3_reset(st);
    return out;
}

int dashboard_ticket_add(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                         int64_t expires_ms)
{
    sqlite3_stmt *st = write_stmt(s, "INSERT INTO dashboard_tickets(hash, case_id, user_id, "
                                     "expires_ms) VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, expires_ms);
    return done(st);
}

int dashboard_ticket_take(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                          int64_t now_ms)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT case_id, user_id, expires_ms, used "
                                        "FROM dashboard_tickets WHERE hash = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 1 : -1;
    }
    char c[DASHBOARD_ID_MAX + 1], u[DASHBOARD_ID_MAX + 1];
    copy_col(c, sizeof c, st, 0);
    copy_col(u, sizeof u, st, 1);
    int64_t expires = sqlite3_column_int64(st, 2);
    int used = sqlite3_column_int(st, 3);
    sqlite3_reset(st);
    if (used)
        return 1;
    st = write_stmt(s, "UPDATE dashboard_tickets SET used = 1 WHERE hash = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if (done(st) != 0)
        return -1;
    return expires > now_ms && strcmp(c, case_id) == 0 && strcmp(u, user_id) == 0 ? 0 : 1;
}

int dashboard_fin_add(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                      int64_t now_ms, int64_t expires_ms)
{
    sqlite3_stmt *st =
        write_stmt(s, "INSERT INTO dashboard_sessions(hash, case_id, user_id, created_ms, "
                      "used_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?4, ?5)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    sqlite3_bind_int64(st, 5, expires_ms);
    return done(st);
}

int dashboard_fin_get(sb_store *s, const char *hash, dashboard_fin *out)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT case_id, user_id, created_ms, used_ms, expires_ms "
                                        "FROM dashboard_sessions WHERE hash = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(out->case_id, sizeof out->case_id, st, 0);
        copy_col(out->user_id, sizeof out->user_id, st, 1);
        out->created_ms = sqlite3_column_int64(st, 2);
        out->used_ms = sqlite3_column_int64(st, 3);
        out->expires_ms = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int dashboard_fin_touch(sb_store *s, const char *hash, int64_t now_ms)
{
    sqlite3_stmt *st = write_stmt(s, "UPDATE dashboard_sessions SET used_ms = ?2 WHERE hash = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    return done(st);
}

int64_t dashboard_prune(sb_store *s, int64_t now_ms, int64_t idle_ms)
{
    sqlite3_stmt *st = write_stmt(s, "DELETE FROM dashboard_tickets WHERE expires_ms <= ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms);
    if (done(st) != 0)
        return -1;
    int64_t n = sqlite3_changes(sb_store_db(s));
    st = write_stmt(s, "DELETE FROM dashboard_sessions WHERE expires_ms <= ?1 OR used_ms <= ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, now_ms - idle_ms);
    if (done(st) != 0)
        return -1;
    return n + sqlite3_changes(sb_store_db(s));
}

int dashboard_case_get(sb_store *s, struct sb_arena *a, const char *case_id, int64_t *version,
                       const char **json, size_t *len)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "SELECT json, version FROM dashboard_cases WHERE case_id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 1 : -1;
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        char *copy = t ? sb_arena_strndup(a, t, n) : NULL;
        if (copy) {
            *json = copy;
            *len = n;
            *version = sqlite3_column_int64(st, 1);
            out = 0;
        }
    }
    sqlite3_reset(st);
    return out;
}

int dashboard_case_put(sb_store *s, const char *case_id, int64_t version, const char *json,
                       size_t len, int64_t now_ms)
{
    sqlite3_stmt *st = write_stmt(
        s,
        "INSERT INTO dashboard_cases(case_id, version, json, updated_ms) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT(case_id) DO UPDATE SET version = ?2, json = ?3, updated_ms = ?4");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_text(st, 3, json, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    return done(st);
}

int dashboard_data_put(sb_store *s, const char *case_id, const char *component_id, const char *json,
                       size_t len, const char *key, int64_t now_ms)
{
    sqlite3_stmt *st =
        write_stmt(s, "INSERT INTO dashboard_data(case_id, component_id, json, key, updated_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(case_id, component_id) "
                      "DO UPDATE SET json = ?3, key = ?4, updated_ms = ?5");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, component_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, json, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms);
    return done(st);
}

int dashboard_data_get(sb_store *s, struct sb_arena *a, const char *case_id,
                       const char *component_id, const char **json, size_t *len)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT json FROM dashboard_data "
                                        "WHERE case_id = ?1 AND component_id = ?2");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, component_id, -1, SQLITE_STATIC);
    return text_row(st, a, json, len);
}

int dashboard_view_put(sb_store *s, const char *case_id, const char *view, const char *json,
                       size_t len, int64_t now_ms)
{
    sqlite3_stmt *st = write_stmt(s, "INSERT INTO dashboard_views(case_id, view, json, updated_ms) "
                                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(case_id, view) "
                                     "DO UPDATE SET json = ?3, updated_ms = ?4");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, view, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, json, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    return done(st);
}

int dashboard_view_get(sb_store *s, struct sb_arena *a, const char *case_id, const char *view,
                       const char **json, size_t *len)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "SELECT json FROM dashboard_views WHERE case_id = ?1 AND view = ?2");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, view, -1, SQLITE_STATIC);
    return text_row(st, a, json, len);
}

int dashboard_chat_set(sb_store *s, const char *case_id, int64_t room_id, int64_t now_ms)
{
    sqlite3_stmt *st = write_stmt(
        s, "INSERT INTO dashboard_chats(case_id, room_id, updated_ms) VALUES (?1, ?2, ?3) "
           "ON CONFLICT(case_id) DO UPDATE SET room_id = ?2, updated_ms = ?3");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, room_id);
    sqlite3_bind_int64(st, 3, now_ms);
    return done(st);
}

int dashboard_chat_get(sb_store *s, const char *case_id, int64_t *room_id)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT room_id FROM dashboard_chats WHERE case_id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *room_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}
