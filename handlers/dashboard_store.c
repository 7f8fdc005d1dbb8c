/*
 * dashboard_store.c: the dashboard module's SQL (dashboard_store.h), in the
 * portable dialect of sql.h: the same statements on SQLite and PostgreSQL.
 * Several nodes may share the database: whatever must hold across them (a
 * ticket used once, a version moved on once, a session's expiry) is decided
 * by one statement's WHERE, never by a row read first and judged in C.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "dashboard_store.h"
#include "sql.h"

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

/* PostgreSQL's history starts at the schema above, in one step. */
static const char *const pg_migrations[] = {
    "CREATE TABLE dashboard_tickets("
    "  hash TEXT PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  expires_ms BIGINT NOT NULL,"
    "  used BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE dashboard_sessions("
    "  hash TEXT PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  used_ms BIGINT NOT NULL,"
    "  expires_ms BIGINT NOT NULL);"
    "CREATE TABLE dashboard_cases("
    "  case_id TEXT PRIMARY KEY,"
    "  version BIGINT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL);"
    "CREATE TABLE dashboard_data("
    "  case_id TEXT NOT NULL,"
    "  component_id TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY(case_id, component_id));"
    "CREATE TABLE dashboard_views("
    "  case_id TEXT NOT NULL,"
    "  view TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY(case_id, view));"
    "CREATE TABLE dashboard_chats("
    "  case_id TEXT PRIMARY KEY,"
    "  room_id BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL);",
};

int dashboard_store_migrate(sb_store *s, char *err, size_t err_size)
{
    sb_migration m = {.module = "dashboard",
                      .steps = migrations,
                      .count = sizeof migrations / sizeof migrations[0],
                      .pg_steps = pg_migrations,
                      .pg_count = sizeof pg_migrations / sizeof pg_migrations[0]};
    return sb_store_migrate(s, &m, err, err_size);
}

/* A statement for a write, in a unit of its own (the turn's transaction
 * opened first): a write may wait for a row lock another node holds (a
 * ticket, a case's dashboard, a session), and on PostgreSQL a wait that
 * fails (lock_timeout, a deadlock with a lock another handler of this turn
 * took) aborts what shares its transaction: the unit keeps that to this
 * write, and its caller answers 503, instead of losing the turn's other
 * writes. End it with done() or sb_store_unit_end. */
static sb_stmt *write_stmt(sb_store *s, const char *sql)
{
    if (sb_store_unit_begin(s) != SB_STORE_OK)
        return NULL;
    sb_stmt *st = sb_sql(s, sql);
    if (!st)
        sb_store_unit_end(s, false);
    return st;
}

/* Run a write to its end and close its unit: 0, or -1. */
static int done(sb_store *s, sb_stmt *st)
{
    bool ok = sb_sql_step(st) == SB_SQL_DONE;
    sb_store_unit_end(s, ok);
    return ok ? 0 : -1;
}

static void copy_col(char *dst, size_t size, sb_stmt *st, int col)
{
    const char *t = sb_sql_text(st, col, NULL);
    snprintf(dst, size, "%s", t ? t : "");
}

/* One text column of a one-row query into the arena: 0, 1 no row, -1. */
static int text_row(sb_stmt *st, struct sb_arena *a, const char **json, size_t *len)
{
    int rc = sb_sql_step(st);
    int out = rc == SB_SQL_DONE ? 1 : -1;
    if (rc == SB_SQL_ROW) {
        size_t n;
        const char *t = sb_sql_text(st, 0, &n);
        char *copy = t ? sb_arena_strndup(a, t, n) : NULL;
        if (copy) {
            *json = copy;
            *len = n;
            out = 0;
        }
    }
    sb_sql_reset(st);
    return out;
}

int dashboard_ticket_add(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                         int64_t expires_ms)
{
    sb_stmt *st = write_stmt(s, "INSERT INTO dashboard_tickets(hash, case_id, user_id, "
                                "expires_ms) VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, hash, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, case_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 3, user_id, SB_SQL_NUL);
    sb_sql_bind_int64(st, 4, expires_ms);
    return done(s, st);
}

int dashboard_ticket_take(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                          int64_t now_ms)
{
    /* Used up and read back in one statement: of two nodes presenting the
     * same ticket at once, the second's UPDATE waits for the first's row
     * lock, then finds used = 1 and returns no row (PostgreSQL re-checks
     * the WHERE on the row the first committed; SQLite's writers take
     * turns). A SELECT first and an UPDATE after would let both pass. */
    sb_stmt *st = write_stmt(s, "UPDATE dashboard_tickets SET used = 1 WHERE hash = ?1 AND "
                                "used = 0 RETURNING case_id, user_id, expires_ms");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, hash, SB_SQL_NUL);
    int rc = sb_sql_step(st);
    if (rc != SB_SQL_ROW) {
        sb_store_unit_end(s, rc == SB_SQL_DONE);
        return rc == SB_SQL_DONE ? 1 : -1; /* unknown, or used already */
    }
    char c[DASHBOARD_ID_MAX + 1], u[DASHBOARD_ID_MAX + 1];
    copy_col(c, sizeof c, st, 0);
    copy_col(u, sizeof u, st, 1);
    int64_t expires = sb_sql_int64(st, 2);
    /* to its end: the write is done once the statement is */
    rc = sb_sql_step(st);
    sb_sql_reset(st);
    sb_store_unit_end(s, rc == SB_SQL_DONE);
    if (rc != SB_SQL_DONE)
        return -1;
    return expires > now_ms && strcmp(c, case_id) == 0 && strcmp(u, user_id) == 0 ? 0 : 1;
}

int dashboard_fin_add(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                      int64_t now_ms, int64_t expires_ms)
{
    sb_stmt *st = write_stmt(s, "INSERT INTO dashboard_sessions(hash, case_id, user_id, "
                                "created_ms, used_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?4, ?5)");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, hash, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, case_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 3, user_id, SB_SQL_NUL);
    sb_sql_bind_int64(st, 4, now_ms);
    sb_sql_bind_int64(st, 5, expires_ms);
    return done(s, st);
}

int dashboard_fin_get(sb_store *s, const char *hash, int64_t now_ms, int64_t idle_ms,
                      dashboard_fin *out)
{
    /* live: before its absolute end, and used within idle_ms (by any node:
     * the row is the one clock of its use) */
    sb_stmt *st = sb_sql(s, "SELECT case_id, user_id, created_ms, used_ms, expires_ms "
                            "FROM dashboard_sessions WHERE hash = ?1 AND expires_ms > ?2 AND "
                            "used_ms > ?3");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, hash, SB_SQL_NUL);
    sb_sql_bind_int64(st, 2, now_ms);
    sb_sql_bind_int64(st, 3, now_ms - idle_ms);
    int rc = sb_sql_step(st);
    if (rc == SB_SQL_ROW) {
        copy_col(out->case_id, sizeof out->case_id, st, 0);
        copy_col(out->user_id, sizeof out->user_id, st, 1);
        out->created_ms = sb_sql_int64(st, 2);
        out->used_ms = sb_sql_int64(st, 3);
        out->expires_ms = sb_sql_int64(st, 4);
    }
    sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 0 : rc == SB_SQL_DONE ? 1 : -1;
}

int dashboard_fin_touch(sb_store *s, const char *hash, int64_t now_ms)
{
    /* forward only: a node whose clock is behind, or whose touch commits
     * after a later one, does not move the last use back */
    sb_stmt *st = write_stmt(s, "UPDATE dashboard_sessions SET used_ms = ?2 WHERE hash = ?1 AND "
                                "used_ms < ?2");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, hash, SB_SQL_NUL);
    sb_sql_bind_int64(st, 2, now_ms);
    return done(s, st);
}

int64_t dashboard_prune(sb_store *s, int64_t now_ms, int64_t idle_ms)
{
    sb_stmt *st = write_stmt(s, "DELETE FROM dashboard_tickets WHERE expires_ms <= ?1");
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, now_ms);
    if (done(s, st) != 0)
        return -1;
    int64_t n = sb_sql_changes(st);
    st = write_stmt(s, "DELETE FROM dashboard_sessions WHERE expires_ms <= ?1 OR used_ms <= ?2");
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, now_ms);
    sb_sql_bind_int64(st, 2, now_ms - idle_ms);
    if (done(s, st) != 0)
        return -1;
    return n + sb_sql_changes(st);
}

int dashboard_case_get(sb_store *s, struct sb_arena *a, const char *case_id, int64_t *version,
                       const char **json, size_t *len)
{
    sb_stmt *st = sb_sql(s, "SELECT json, version FROM dashboard_cases WHERE case_id = ?1");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    int rc = sb_sql_step(st);
    int out = rc == SB_SQL_DONE ? 1 : -1;
    if (rc == SB_SQL_ROW) {
        size_t n;
        const char *t = sb_sql_text(st, 0, &n);
        char *copy = t ? sb_arena_strndup(a, t, n) : NULL;
        if (copy) {
            *json = copy;
            *len = n;
            *version = sb_sql_int64(st, 1);
            out = 0;
        }
    }
    sb_sql_reset(st);
    return out;
}

int dashboard_case_put(sb_store *s, const char *case_id, int64_t version, const char *json,
                       size_t len, int64_t now_ms)
{
    /* The version check is the statement's own WHERE, not the caller's
     * read before it: two nodes that both read version 4 and both write 5
     * must not both succeed. The second's UPDATE waits for the first's row
     * lock, re-checks version = 4 on what the first committed, and changes
     * nothing: 1, a 409. Version 1 is the first row: an insert, which
     * finds a row only when another writer was first (DO NOTHING: no
     * failing statement, which would abort a PostgreSQL transaction). */
    sb_stmt *st;
    if (version == 1) {
        st = write_stmt(s, "INSERT INTO dashboard_cases(case_id, version, json, updated_ms) "
                           "VALUES (?1, 1, ?2, ?3) ON CONFLICT(case_id) DO NOTHING");
        if (!st)
            return -1;
        sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
        sb_sql_bind_text(st, 2, json, len);
        sb_sql_bind_int64(st, 3, now_ms);
    } else {
        st = write_stmt(s, "UPDATE dashboard_cases SET version = ?2, json = ?3, updated_ms = ?4 "
                           "WHERE case_id = ?1 AND version = ?5");
        if (!st)
            return -1;
        sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
        sb_sql_bind_int64(st, 2, version);
        sb_sql_bind_text(st, 3, json, len);
        sb_sql_bind_int64(st, 4, now_ms);
        sb_sql_bind_int64(st, 5, version - 1);
    }
    if (done(s, st) != 0)
        return -1;
    return sb_sql_changes(st) == 1 ? 0 : 1;
}

int dashboard_data_put(sb_store *s, const char *case_id, const char *component_id, const char *json,
                       size_t len, const char *key, int64_t now_ms)
{
    sb_stmt *st =
        write_stmt(s, "INSERT INTO dashboard_data(case_id, component_id, json, key, updated_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(case_id, component_id) "
                      "DO UPDATE SET json = excluded.json, key = excluded.key, "
                      "updated_ms = excluded.updated_ms");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, component_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 3, json, len);
    sb_sql_bind_text(st, 4, key, SB_SQL_NUL);
    sb_sql_bind_int64(st, 5, now_ms);
    return done(s, st);
}

int dashboard_data_get(sb_store *s, struct sb_arena *a, const char *case_id,
                       const char *component_id, const char **json, size_t *len)
{
    sb_stmt *st = sb_sql(s, "SELECT json FROM dashboard_data "
                            "WHERE case_id = ?1 AND component_id = ?2");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, component_id, SB_SQL_NUL);
    return text_row(st, a, json, len);
}

int dashboard_view_put(sb_store *s, const char *case_id, const char *view, const char *json,
                       size_t len, int64_t now_ms)
{
    sb_stmt *st = write_stmt(s, "INSERT INTO dashboard_views(case_id, view, json, updated_ms) "
                                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(case_id, view) "
                                "DO UPDATE SET json = excluded.json, "
                                "updated_ms = excluded.updated_ms");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, view, SB_SQL_NUL);
    sb_sql_bind_text(st, 3, json, len);
    sb_sql_bind_int64(st, 4, now_ms);
    return done(s, st);
}

int dashboard_view_get(sb_store *s, struct sb_arena *a, const char *case_id, const char *view,
                       const char **json, size_t *len)
{
    sb_stmt *st = sb_sql(s, "SELECT json FROM dashboard_views WHERE case_id = ?1 AND view = ?2");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, view, SB_SQL_NUL);
    return text_row(st, a, json, len);
}

int dashboard_chat_set(sb_store *s, const char *case_id, int64_t room_id, int64_t now_ms)
{
    sb_stmt *st =
        write_stmt(s, "INSERT INTO dashboard_chats(case_id, room_id, updated_ms) VALUES (?1, ?2, "
                      "?3) ON CONFLICT(case_id) DO UPDATE SET room_id = excluded.room_id, "
                      "updated_ms = excluded.updated_ms");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    sb_sql_bind_int64(st, 2, room_id);
    sb_sql_bind_int64(st, 3, now_ms);
    return done(s, st);
}

int dashboard_chat_get(sb_store *s, const char *case_id, int64_t *room_id)
{
    sb_stmt *st = sb_sql(s, "SELECT room_id FROM dashboard_chats WHERE case_id = ?1");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, case_id, SB_SQL_NUL);
    int rc = sb_sql_step(st);
    if (rc == SB_SQL_ROW)
        *room_id = sb_sql_int64(st, 0);
    sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 0 : rc == SB_SQL_DONE ? 1 : -1;
}
