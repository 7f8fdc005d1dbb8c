/*
 * therapy_store.c: the therapy module's SQL (therapy_store.h).
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "store_sql.h"
#include "therapy_store.h"

/* Steps are never edited once released: a change is a new step at the end. */
static const char *const migrations[] = {
    /* 1: users, therapy sessions, the action log, login state */
    "CREATE TABLE therapy_users("
    "  id TEXT PRIMARY KEY,"
    "  phone TEXT NOT NULL,"
    "  last_name_key TEXT NOT NULL,"
    "  last_name TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  UNIQUE(phone, last_name_key));"
    "CREATE TABLE therapy_sessions("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL,"
    "  date TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE therapy_members("
    "  ts_id INTEGER NOT NULL REFERENCES therapy_sessions(id),"
    "  user_id TEXT NOT NULL REFERENCES therapy_users(id),"
    "  role TEXT NOT NULL,"
    "  present_ms INTEGER,"
    "  PRIMARY KEY(ts_id, user_id));"
    "CREATE INDEX therapy_members_user ON therapy_members(user_id);"
    "CREATE TABLE therapy_assessments("
    "  ts_id INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  url TEXT,"
    "  PRIMARY KEY(ts_id, user_id, name));"
    "CREATE TABLE therapy_actions("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  ts_id INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  author TEXT,"
    "  target INTEGER,"
    "  audience TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  json TEXT NOT NULL DEFAULT '',"
    "  client_json TEXT,"
    "  deleted INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX therapy_actions_ts ON therapy_actions(ts_id, id);"
    "CREATE TABLE therapy_reactions("
    "  target INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  icon TEXT NOT NULL,"
    "  action_id INTEGER NOT NULL,"
    "  PRIMARY KEY(target, user_id));"
    "CREATE TABLE therapy_reads("
    "  target INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  action_id INTEGER NOT NULL,"
    "  PRIMARY KEY(target, user_id));"
    "CREATE TABLE therapy_logins("
    "  token_hash TEXT PRIMARY KEY,"
    "  user_id TEXT,"
    "  phone_key TEXT NOT NULL,"
    "  code_hash TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX therapy_logins_phone ON therapy_logins(phone_key);"
    "CREATE TABLE therapy_events("
    "  kind TEXT NOT NULL,"
    "  phone_key TEXT,"
    "  ip TEXT,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX therapy_events_phone ON therapy_events(kind, phone_key, at_ms);"
    "CREATE INDEX therapy_events_ip ON therapy_events(kind, ip, at_ms);"
    "CREATE INDEX therapy_events_at ON therapy_events(kind, at_ms);"
    "CREATE TABLE therapy_auth("
    "  token_hash TEXT PRIMARY KEY,"
    "  user_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL,"
    "  ts_id INTEGER);"
    "CREATE INDEX therapy_auth_user ON therapy_auth(user_id);",
};

int therapy_store_migrate(sb_store *s, char *err, size_t err_size)
{
    sb_migration m = {"therapy", migrations, sizeof migrations / sizeof migrations[0]};
    return sb_store_migrate(s, &m, err, err_size);
}

/* Small helpers: bind text or NULL; run a statement that returns no rows. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int exec_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", v ? v : "");
}

/* Users ------------------------------------------------------------------ */

int therapy_user_add(sb_store *s, const char *id, const char *phone, const char *last_name_key,
                     const char *last_name, const char *name, const char *role)
{
    sqlite3_stmt *st = sb_store_stmt(s, "INSERT INTO therapy_users(id, phone, last_name_key, "
                                        "last_name, name, role) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return -1;
    bind_text(st, 1, id);
    bind_text(st, 2, phone);
    bind_text(st, 3, last_name_key);
    bind_text(st, 4, last_name);
    bind_text(st, 5, name);
    bind_text(st, 6, role);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_CONSTRAINT ? 1 : -1;
}

static int user_row(sqlite3_stmt *st, therapy_user *u, char phone_out[33])
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(u->id, sizeof u->id, st, 0);
        copy_col(u->name, sizeof u->name, st, 1);
        copy_col(u->role, sizeof u->role, st, 2);
        if (phone_out)
            copy_col(phone_out, 33, st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int therapy_user_find(sb_store *s, const char *phone, const char *last_name_key, therapy_user *u,
                      char phone_out[33])
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT id, name, role, phone FROM therapy_users WHERE "
                                        "phone = ?1 AND last_name_key = ?2");
    if (!st)
        return -1;
    bind_text(st, 1, phone);
    bind_text(st, 2, last_name_key);
    return user_row(st, u, phone_out);
}

int therapy_user_get(sb_store *s, const char *id, therapy_user *u, char phone_out[33])
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "SELECT id, name, role, phone FROM therapy_users WHERE id = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, id);
    return user_row(st, u, phone_out);
}

int64_t therapy_user_count(sb_store *s)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT count(*) FROM therapy_users");
    if (!st)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

/* Therapy sessions ------------------------------------------------------- */

int64_t therapy_session_add(sb_store *s, const char *name, const char *date, int64_t now_ms)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "INSERT INTO therapy_sessions(name, date, created_ms) VALUES(?1, ?2, ?3)");
    if (!st)
        return -1;
    bind_text(st, 1, name);
    bind_text(st, 2, date);
    sqlite3_bind_int64(st, 3, now_ms);
    if (exec_done(st) != 0)
        return -1;
    return sqlite3_last_insert_rowid(sb_store_db(s));
}

int therapy_session_get(sb_store *s, int64_t ts_id, therapy_session_row *row)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "SELECT id, name, date FROM therapy_sessions WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64(st, 0);
        copy_col(row->name, sizeof row->name, st, 1);
        copy_col(row->date, sizeof row->date, st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int therapy_member_add(sb_store *s, int64_t ts_id, const char *user, const char *role)
{
    sqlite3_stmt *st = sb_store_stmt(
        s, "INSERT OR REPLACE INTO therapy_members(ts_id, user_id, role) VALUES(?1, ?2, ?3)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    bind_text(st, 2, user);
    bind_text(st, 3, role);
    return exec_done(st);
}

int therapy_member_role(sb_store *s, int64_t ts_id, const char *user, char role[16])
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "SELECT role FROM therapy_members WHERE ts_id = ?1 AND user_id = ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    bind_text(st, 2, user);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(role, 16, st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int therapy_member_present(sb_store *s, int64_t ts_id, const char *user, int64_t now_ms)
{
    sqlite3_stmt *st = sb_store_stmt(
        s, "UPDATE therapy_members SET present_ms = ?3 WHERE ts_id = ?1 AND user_id = ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    bind_text(st, 2, user);
    sqlite3_bind_int64(st, 3, now_ms);
    return exec_done(st);
}

/* A cursor's next row: 1, 0 done (closed), -1 error (closed). */
static int cursor_step(sb_cursor *cur, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    sb_cursor_close(cur);
    return rc == SQLITE_DONE ? 0 : -1;
}

int therapy_sessions_of(sb_store *s, const char *user, sb_cursor *cur, therapy_session_row *row)
{
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    if (!st) {
        st = sb_store_stmt(s, "SELECT t.id, t.name, t.date FROM therapy_sessions t JOIN "
                              "therapy_members m ON m.ts_id = t.id WHERE m.user_id = ?1 "
                              "ORDER BY t.date DESC, t.id DESC LIMIT 1000");
        if (!st)
            return -1;
        bind_text(st, 1, user);
        sb_cursor_start(cur, st);
    }
    int rc = cursor_step(cur, st);
    if (rc == 1) {
        row->id = sqlite3_column_int64(st, 0);
        copy_col(row->name, sizeof row->name, st, 1);
        copy_col(row->date, sizeof row->date, st, 2);
    }
    return rc;
}

int therapy_members_of(sb_store *s, int64_t ts_id, sb_cursor *cur, therapy_member_row *row)
{
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    if (!st) {
        st = sb_store_stmt(s, "SELECT u.id, u.name, m.role FROM therapy_members m JOIN "
                              "therapy_users u ON u.id = m.user_id WHERE m.ts_id = ?1 "
                              "ORDER BY m.role DESC, u.name, u.id LIMIT 100");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, ts_id);
        sb_cursor_start(cur, st);
    }
    int rc = cursor_step(cur, st);
    if (rc == 1) {
        row->id = (const char *)sqlite3_column_text(st, 0);
        row->name = (const char *)sqlite3_column_text(st, 1);
        row->role = (const char *)sqlite3_column_text(st, 2);
    }
    return rc;
}

int therapy_assessment_set(sb_store *s, int64_t ts_id, const char *user, const char *name,
                           const char *status, const char *url)
{
    sqlite3_stmt *st = sb_store_stmt(s, "INSERT OR REPLACE INTO therapy_assessments(ts_id, "
                                        "user_id, name, status, url) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    bind_text(st, 2, user);
    bind_text(st, 3, name);
    bind_text(st, 4, status);
    bind_text(st, 5, url);
    return exec_done(st);
}

int therapy_assessments_of(sb_store *s, int64_t ts_id, const char *user, sb_cursor *cur,
                           therapy_assessment_row *row)
{
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    if (!st) {
        st = sb_store_stmt(s, "SELECT name, status, url FROM therapy_assessments WHERE "
                              "ts_id = ?1 AND user_id = ?2 ORDER BY rowid LIMIT 64");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, ts_id);
        bind_text(st, 2, user);
        sb_cursor_start(cur, st);
    }
    int rc = cursor_step(cur, st);
    if (rc == 1) {
        row->name = (const char *)sqlite3_column_text(st, 0);
        row->status = (const char *)sqlite3_column_text(st, 1);
        row->url = (const char *)sqlite3_column_text(st, 2);
    }
    return rc;
}

/* The action log ---------------------------------------------------------- */

int64_t therapy_action_insert(sb_store *s, int64_t ts_id, const char *type, const char *author,
                              int64_t target, const char *audience, int64_t now_ms,
                              const char *client_json)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "INSERT INTO therapy_actions(ts_id, type, author, target, audience, "
                         "created_ms, client_json) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    bind_text(st, 2, type);
    bind_text(st, 3, author);
    if (target > 0)
        sqlite3_bind_int64(st, 4, target);
    else
        sqlite3_bind_null(st, 4);
    bind_text(st, 5, audience);
    sqlite3_bind_int64(st, 6, now_ms);
    bind_text(st, 7, client_json);
    if (exec_done(st) != 0)
        return -1;
    return sqlite3_last_insert_rowid(sb_store_db(s));
}

int therapy_action_set_json(sb_store *s, int64_t id, const char *json, size_t len)
{
    sqlite3_stmt *st = sb_store_stmt(s, "UPDATE therapy_actions SET json = ?2 WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, json, (int)len, SQLITE_TRANSIENT);
    return exec_done(st);
}

static void action_row(sqlite3_stmt *st, therapy_action_row *row)
{
    row->id = sqlite3_column_int64(st, 0);
    row->type = (const char *)sqlite3_column_text(st, 1);
    row->author = (const char *)sqlite3_column_text(st, 2);
    row->target = sqlite3_column_int64(st, 3);
    row->audience = (const char *)sqlite3_column_text(st, 4);
    row->json = (const char *)sqlite3_column_text(st, 5);
    row->json_len = (size_t)sqlite3_column_bytes(st, 5);
    row->deleted = sqlite3_column_int(st, 6) != 0;
}

#define ACTION_COLUMNS "id, type, author, target, audience, json, deleted"

int therapy_action_get(sb_store *s, int64_t ts_id, int64_t id, sb_arena *a, therapy_action_row *row)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT " ACTION_COLUMNS " FROM therapy_actions WHERE "
                                        "id = ?1 AND ts_id = ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, ts_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        action_row(st, row);
        /* copies: the statement's text is gone at its reset */
        row->type = sb_arena_strndup(a, row->type, strlen(row->type));
        row->author = row->author ? sb_arena_strndup(a, row->author, strlen(row->author)) : NULL;
        row->audience =
            row->audience ? sb_arena_strndup(a, row->audience, strlen(row->audience)) : NULL;
        row->json = sb_arena_strndup(a, row->json, row->json_len);
        if (!row->type || !row->json)
            rc = SQLITE_NOMEM;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int therapy_action_scrub(sb_store *s, int64_t id, const char *json, size_t len)
{
    sqlite3_stmt *st = sb_store_stmt(
        s, "UPDATE therapy_actions SET json = ?2, client_json = NULL, deleted = 1 WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, json, (int)len, SQLITE_TRANSIENT);
    return exec_done(st);
}

int therapy_actions_since(sb_store *s, int64_t ts_id, int64_t after, int limit, sb_cursor *cur,
                          therapy_action_row *row)
{
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    if (!st) {
        st = sb_store_stmt(s, "SELECT " ACTION_COLUMNS " FROM therapy_actions WHERE ts_id = ?1 "
                              "AND id > ?2 ORDER BY id LIMIT ?3");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, ts_id);
        sqlite3_bind_int64(st, 2, after);
        sqlite3_bind_int(st, 3, limit);
        sb_cursor_start(cur, st);
    }
    int rc = cursor_step(cur, st);
    if (rc == 1)
        action_row(st, row);
    return rc;
}

int64_t therapy_actions_max(sb_store *s, int64_t ts_id)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT max(id) FROM therapy_actions WHERE ts_id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return v;
}

int64_t therapy_action_find(sb_store *s, int64_t ts_id, const char *type, int64_t target)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT min(id) FROM therapy_actions WHERE ts_id = ?1 "
                                        "AND type = ?2 AND target = ?3");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ts_id);
    bind_text(st, 2, type);
    sqlite3_bind_int64(st, 3, target);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return v;
}

static int pair_get(sb_store *s, const char *sql, int64_t target, const char *user, char *text,
                    size_t cap, int64_t *action)
{
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, target);
    bind_text(st, 2, user);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *action = sqlite3_column_int64(st, 0);
        if (text)
            copy_col(text, cap, st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int therapy_reaction_get(sb_store *s, int64_t target, const char *user, char icon[16],
                         int64_t *action)
{
    return pair_get(s,
                    "SELECT action_id, icon FROM therapy_reactions WHERE target = ?1 AND "
                    "user_id = ?2",
                    target, user, icon, 16, action);
}

int therapy_reaction_set(sb_store *s, int64_t target, const char *user, const char *icon,
                         int64_t action)
{
    sqlite3_stmt *st = sb_store_stmt(s, "INSERT OR REPLACE INTO therapy_reactions(target, "
                                        "user_id, icon, action_id) VALUES(?1, ?2, ?3, ?4)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, target);
    bind_text(st, 2, user);
    bind_text(st, 3, icon);
    sqlite3_bind_int64(st, 4, action);
    return exec_done(st);
}

int therapy_read_get(sb_store *s, int64_t target, const char *user, int64_t *action)
{
    return pair_get(s, "SELECT action_id FROM therapy_reads WHERE target = ?1 AND user_id = ?2",
                    target, user, NULL, 0, action);
}

int therapy_read_set(sb_store *s, int64_t target, const char *user, int64_t action)
{
    sqlite3_stmt *st = sb_store_stmt(
        s, "INSERT OR REPLACE INTO therapy_reads(target, user_id, action_id) VALUES(?1, ?2, ?3)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, target);
    bind_text(st, 2, user);
    sqlite3_bind_int64(st, 3, action);
    return exec_done(st);
}

/* Login ------------------------------------------------------------------ */

int therapy_login_put(sb_store *s, const char *token_hash, const char *user, const char *phone_key,
                      const char *code_hash, int64_t now_ms, int64_t expires_ms)
{
    sqlite3_stmt *st = sb_store_stmt(
        s, "INSERT OR REPLACE INTO therapy_logins(token_hash, user_id, phone_key, code_hash, "
           "created_ms, expires_ms, state) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 0)");
    if (!st)
        return -1;
    bind_text(st, 1, token_hash);
    bind_text(st, 2, user && *user ? user : NULL);
    bind_text(st, 3, phone_key);
    bind_text(st, 4, code_hash);
    sqlite3_bind_int64(st, 5, now_ms);
    sqlite3_bind_int64(st, 6, expires_ms);
    return exec_done(st);
}

int therapy_login_get(sb_store *s, const char *token_hash, therapy_login_row *row)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT user_id, phone_key, code_hash, expires_ms, state "
                                        "FROM therapy_logins WHERE token_hash = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, token_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(row->user, sizeof row->user, st, 0);
        copy_col(row->phone_key, sizeof row->phone_key, st, 1);
        copy_col(row->code_hash, sizeof row->code_hash, st, 2);
        row->expires_ms = sqlite3_column_int64(st, 3);
        row->state = sqlite3_column_int(st, 4);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int by_text(sb_store *s, const char *sql, const char *key)
{
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return -1;
    bind_text(st, 1, key);
    return exec_done(st);
}

int therapy_login_mark_used(sb_store *s, const char *token_hash)
{
    return by_text(s, "UPDATE therapy_logins SET state = 1 WHERE token_hash = ?1", token_hash);
}

int therapy_login_delete(sb_store *s, const char *token_hash)
{
    return by_text(s, "DELETE FROM therapy_logins WHERE token_hash = ?1", token_hash);
}

int therapy_login_drop_phone(sb_store *s, const char *phone_key)
{
    return by_text(s, "DELETE FROM therapy_logins WHERE phone_key = ?1", phone_key);
}

int therapy_event_add(sb_store *s, const char *kind, const char *phone_key, const char *ip,
                      int64_t now_ms)
{
    sqlite3_stmt *st = sb_store_stmt(
        s, "INSERT INTO therapy_events(kind, phone_key, ip, at_ms) VALUES(?1, ?2, ?3, ?4)");
    if (!st)
        return -1;
    bind_text(st, 1, kind);
    bind_text(st, 2, phone_key);
    bind_text(st, 3, ip);
    sqlite3_bind_int64(st, 4, now_ms);
    return exec_done(st);
}

int64_t therapy_event_count(sb_store *s, const char *kind, const char *phone_key, const char *ip,
                            int64_t since_ms, int64_t *oldest_ms, int64_t *newest_ms)
{
    const char *sql =
        phone_key ? "SELECT count(*), min(at_ms), max(at_ms) FROM therapy_events WHERE kind = ?1 "
                    "AND phone_key = ?2 AND at_ms >= ?3"
        : ip      ? "SELECT count(*), min(at_ms), max(at_ms) FROM therapy_events WHERE kind = ?1 "
                    "AND ip = ?2 AND at_ms >= ?3"
                  : "SELECT count(*), min(at_ms), max(at_ms) FROM therapy_events WHERE kind = ?1 "
                    "AND ?2 IS NULL AND at_ms >= ?3";
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return -1;
    bind_text(st, 1, kind);
    bind_text(st, 2, phone_key ? phone_key : ip);
    sqlite3_bind_int64(st, 3, since_ms);
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        if (oldest_ms)
            *oldest_ms = sqlite3_column_int64(st, 1);
        if (newest_ms)
            *newest_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return n;
}

int therapy_event_prune(sb_store *s, int64_t before_ms)
{
    sqlite3_stmt *st = sb_store_stmt(s, "DELETE FROM therapy_events WHERE at_ms < ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, before_ms);
    if (exec_done(st) != 0)
        return -1;
    st = sb_store_stmt(s, "DELETE FROM therapy_logins WHERE expires_ms < ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, before_ms);
    return exec_done(st);
}

int therapy_auth_put(sb_store *s, const char *token_hash, const char *user, int64_t now_ms)
{
    sqlite3_stmt *st = sb_store_stmt(s, "INSERT INTO therapy_auth(token_hash, user_id, "
                                        "created_ms, last_ms) VALUES(?1, ?2, ?3, ?3)");
    if (!st)
        return -1;
    bind_text(st, 1, token_hash);
    bind_text(st, 2, user);
    sqlite3_bind_int64(st, 3, now_ms);
    return exec_done(st);
}

int therapy_auth_get(sb_store *s, const char *token_hash, therapy_auth_row *row)
{
    sqlite3_stmt *st = sb_store_stmt(s, "SELECT user_id, created_ms, last_ms, ts_id FROM "
                                        "therapy_auth WHERE token_hash = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, token_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(row->user, sizeof row->user, st, 0);
        row->created_ms = sqlite3_column_int64(st, 1);
        row->last_ms = sqlite3_column_int64(st, 2);
        row->ts_id = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int therapy_auth_touch(sb_store *s, const char *token_hash, int64_t now_ms)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "UPDATE therapy_auth SET last_ms = ?2 WHERE token_hash = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, token_hash);
    sqlite3_bind_int64(st, 2, now_ms);
    return exec_done(st);
}

int therapy_auth_set_ts(sb_store *s, const char *token_hash, int64_t ts_id)
{
    sqlite3_stmt *st = sb_store_stmt(s, "UPDATE therapy_auth SET ts_id = ?2 WHERE token_hash = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, token_hash);
    sqlite3_bind_int64(st, 2, ts_id);
    return exec_done(st);
}

int therapy_auth_delete(sb_store *s, const char *token_hash)
{
    return by_text(s, "DELETE FROM therapy_auth WHERE token_hash = ?1", token_hash);
}

int therapy_auth_prune(sb_store *s, int64_t idle_before, int64_t created_before)
{
    sqlite3_stmt *st =
        sb_store_stmt(s, "DELETE FROM therapy_auth WHERE last_ms < ?1 OR created_ms < ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, idle_before);
    sqlite3_bind_int64(st, 2, created_before);
    return exec_done(st);
}
