/*
 * chat_store.c: the chat's SQL. Every statement is a string constant handed
 * to sb_store_stmt(), which prepares it once and caches it by address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "chat_store.h"
#include "log.h"
#include "map.h"
#include "store_sql.h"

/* Steps are never edited once released: a database made by an older binary
 * has run them as they were. A change is a new step at the end. */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE users("
    "  id INTEGER PRIMARY KEY,"
    "  full_name TEXT NOT NULL,"
    "  avatar TEXT,"
    "  role TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE services("
    "  id INTEGER PRIMARY KEY,"
    "  created_at TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  customer_full_name TEXT,"
    "  customer_phone TEXT,"
    "  customer_address TEXT);"
    "CREATE TABLE rooms("
    "  id INTEGER PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  service_id INTEGER REFERENCES services(id),"
    "  direct_key TEXT UNIQUE," /* 'low:high' user IDs of a direct room */
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE room_members("
    "  room_id INTEGER NOT NULL REFERENCES rooms(id),"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  last_read INTEGER NOT NULL DEFAULT 0," /* watermark: newest message ID read */
    "  unread INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0),"
    "  PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX room_members_by_user ON room_members(user_id, room_id);"
    "CREATE TABLE messages("
    "  id INTEGER PRIMARY KEY,"
    "  room_id INTEGER NOT NULL REFERENCES rooms(id),"
    "  sender_id INTEGER REFERENCES users(id),"
    "  text TEXT,"
    "  file_id TEXT,"
    "  replied_to INTEGER,"
    "  is_system INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  client_message_id TEXT);"
    "CREATE INDEX messages_by_room ON messages(room_id, id);"
    "CREATE UNIQUE INDEX messages_client_id ON messages(sender_id, client_message_id)"
    "  WHERE client_message_id IS NOT NULL;"
    "CREATE TABLE message_status("
    "  message_id INTEGER NOT NULL,"
    "  user_id INTEGER NOT NULL,"
    "  status INTEGER NOT NULL," /* 1 delivered, 2 read */
    "  PRIMARY KEY (message_id, user_id)) WITHOUT ROWID;",
    /* 2: the module's prefix on every name, so that other modules' tables
     * cannot collide. RENAME (legacy_alter_table off, as it is by default)
     * also rewrites the REFERENCES of the other tables and any trigger
     * naming the table; an index keeps its name, so each is made again
     * under the new one. Every row stays. */
    "PRAGMA legacy_alter_table = OFF;"
    "ALTER TABLE users RENAME TO chat_users;"
    "ALTER TABLE services RENAME TO chat_services;"
    "ALTER TABLE rooms RENAME TO chat_rooms;"
    "ALTER TABLE room_members RENAME TO chat_room_members;"
    "ALTER TABLE messages RENAME TO chat_messages;"
    "ALTER TABLE message_status RENAME TO chat_message_status;"
    "DROP INDEX room_members_by_user;"
    "CREATE INDEX chat_room_members_by_user ON chat_room_members(user_id, room_id);"
    "DROP INDEX messages_by_room;"
    "CREATE INDEX chat_messages_by_room ON chat_messages(room_id, id);"
    "DROP INDEX messages_client_id;"
    "CREATE UNIQUE INDEX chat_messages_client_id ON chat_messages(sender_id, client_message_id)"
    "  WHERE client_message_id IS NOT NULL;",
    /* 3: short-lived access tokens for a user, beside the user's own token
     * (the dashboard's chat page: chat_access_token_add) */
    "CREATE TABLE chat_access_tokens("
    "  token_hash TEXT PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES chat_users(id),"
    "  expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX chat_access_tokens_expiry ON chat_access_tokens(expires_ms);",
};

struct chat_store {
    sb_store *store;
    sb_map users, rooms;
    chat_unread *unread; /* of the last insert */
    size_t n_unread, cap_unread;
};

int64_t chat_parse_id(const char *s, size_t n)
{
    int64_t v = 0;
    if (n == 0 || n > 19 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return 0; /* past INT64_MAX: no row has it */
        v = v * 10 + d;
    }
    return v;
}

int chat_store_migrate(sb_store *store, char *err, size_t err_size)
{
    sb_migration m = {"chat", migrations, sizeof migrations / sizeof migrations[0]};
    return sb_store_migrate(store, &m, err, err_size);
}

chat_store *chat_store_new(sb_store *store)
{
    chat_store *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->store = store;
    sb_map_init(&cs->users);
    sb_map_init(&cs->rooms);
    return cs;
}

static void free_user(chat_user_info *u)
{
    free(u->full_name);
    free(u->avatar);
    free(u);
}

void chat_store_free(chat_store *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->users.cap; i++)
        if (cs->users.slots[i].key)
            free_user(cs->users.slots[i].value);
    for (size_t i = 0; i < cs->rooms.cap; i++) {
        chat_room_info *r = cs->rooms.slots[i].value;
        if (cs->rooms.slots[i].key) {
            free(r->members);
            free(r);
        }
    }
    sb_map_free(&cs->users);
    sb_map_free(&cs->rooms);
    free(cs->unread);
    free(cs);
}

static char *dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

static sb_str str_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return (sb_str){(const char *)t, t ? (size_t)sqlite3_column_bytes(st, col) : 0};
}

static void bind_str(sqlite3_stmt *st, int i, sb_str s)
{
    if (s.ptr)
        sqlite3_bind_text(st, i, s.ptr, (int)s.len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

const chat_user_info *chat_user_get(chat_store *cs, int64_t id)
{
    chat_user_info *u = sb_map_get(&cs->users, id);
    if (u || id <= 0)
        return u;
    static const char sql[] = "SELECT full_name, avatar, role FROM chat_users WHERE id = ?1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return NULL;
    u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->id = id;
    u->full_name = dup_col(st, 0);
    u->avatar = dup_col(st, 1);
    sb_str role = str_col(st, 2);
    u->role = chat_role_from(role.ptr ? role.ptr : "", role.len);
    if (!u->role)
        u->role = CHAT_ROLE_UNKNOWN;
    sqlite3_reset(st);
    if (!u->full_name || sb_map_put(&cs->users, id, u) != 0) {
        free_user(u);
        return NULL;
    }
    return u;
}

bool chat_user_direct_ok(chat_store *cs, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM chat_users WHERE id = ?1 "
                              "AND role IN ('TECHNICIAN', 'ADMIN', 'SUPER_ADMIN')";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, id);
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return ok;
}

static int load_members(chat_store *cs, chat_room_info *r)
{
    static const char sql[] =
        "SELECT user_id FROM chat_room_members WHERE room_id = ?1 ORDER BY user_id";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, r->id);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (r->n_members == cap) {
            cap = cap ? cap * 2 : 4;
            int64_t *p = realloc(r->members, cap * sizeof *p);
            if (!p)
                return -1;
            r->members = p;
        }
        r->members[r->n_members++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return 0;
}

const chat_room_info *chat_room_get(chat_store *cs, int64_t id)
{
    chat_room_info *r = sb_map_get(&cs->rooms, id);
    if (r || id <= 0)
        return r;
    static const char sql[] = "SELECT type, service_id FROM chat_rooms WHERE id = ?1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = id;
    sb_str type = str_col(st, 0);
    r->type = chat_room_type_from(type.ptr ? type.ptr : "", type.len);
    r->service_id = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (load_members(cs, r) != 0 || sb_map_put(&cs->rooms, id, r) != 0) {
        free(r->members);
        free(r);
        return NULL;
    }
    return r;
}

bool chat_room_has_member(const chat_room_info *room, int64_t user)
{
    for (size_t i = 0; i < room->n_members; i++)
        if (room->members[i] == user)
            return true;
    return false;
}

int64_t chat_user_by_token_hash(chat_store *cs, const char *token_hash)
{
    static const char sql[] =
        "SELECT id FROM chat_users WHERE token_hash = ?1 UNION ALL "
        "SELECT user_id FROM chat_access_tokens WHERE token_hash = ?1 AND expires_ms > ?2 LIMIT 1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, sb_wall_ms());
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return id;
}

static void forget_room(chat_store *cs, int64_t id)
{
    chat_room_info *r = sb_map_del(&cs->rooms, id);
    if (r) {
        free(r->members);
        free(r);
    }
}

/* A room made inside a transaction is cached like any other, but the
 * transaction may still fail (or its savepoint be rolled back), and SQLite
 * then gives the same row ID to the next room made: a cached member list
 * would be served for someone else's room. So the entry is dropped if the
 * row did not survive the commit. */
typedef struct pending_room {
    chat_store *cs;
    int64_t id;
} pending_room;

static void room_settled(void *arg, int rc)
{
    pending_room *p = arg;
    static const char sql[] = "SELECT 1 FROM chat_rooms WHERE id = ?1";
    sqlite3_stmt *st = rc == SB_STORE_OK ? sb_store_stmt(p->cs->store, sql) : NULL;
    bool exists = false;
    if (st) {
        sqlite3_bind_int64(st, 1, p->id);
        exists = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    if (!exists)
        forget_room(p->cs, p->id);
    free(p);
}

int64_t chat_direct_room(chat_store *cs, int64_t a, int64_t b, bool *created)
{
    char key[48];
    snprintf(key, sizeof key, "%lld:%lld", (long long)(a < b ? a : b), (long long)(a < b ? b : a));
    *created = false;
    static const char find[] = "SELECT id FROM chat_rooms WHERE direct_key = ?1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, find);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (id)
        return id;

    static const char make[] =
        "INSERT INTO chat_rooms(type, direct_key, created_at) VALUES('TECHNICIAN_DIRECT', ?1, ?2)";
    static const char member[] = "INSERT INTO chat_room_members(room_id, user_id) VALUES(?1, ?2)";
    st = sb_store_stmt(cs->store, make);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, sb_wall_ms() / 1000);
    if (sqlite3_step(st) != SQLITE_DONE)
        return 0;
    id = sqlite3_last_insert_rowid(sb_store_db(cs->store));
    int64_t users[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        st = sb_store_stmt(cs->store, member);
        if (!st)
            return 0;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, users[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return 0;
    }
    /* a row ID rolled back earlier in this turn may be in the cache */
    forget_room(cs, id);
    pending_room *p = malloc(sizeof *p);
    if (!p)
        return 0;
    *p = (pending_room){cs, id};
    sb_store_after_commit(cs->store, room_settled, p);
    *created = true;
    return id;
}

int64_t chat_message_insert(chat_store *cs, const chat_new_msg *m, int64_t *existing)
{
    static const char ins[] =
        "INSERT INTO chat_messages(room_id, sender_id, text, file_id, replied_to, created_at, "
        "client_message_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT(sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING";
    static const char again[] =
        "SELECT id, room_id FROM chat_messages WHERE sender_id = ?1 AND client_message_id = ?2";
    /* An UPDATE then a SELECT, not UPDATE ... RETURNING: SQLite 3.40 builds
     * two ephemeral b-trees for every RETURNING, half of the server's
     * instructions per message (bench/load/callgrind.sh) */
    static const char bump[] =
        "UPDATE chat_room_members SET unread = unread + 1 WHERE room_id = ?1 AND user_id <> ?2";
    static const char counts[] =
        "SELECT user_id, unread FROM chat_room_members WHERE room_id = ?1 AND user_id <> ?2";
    static const char undo[] = "DELETE FROM chat_messages WHERE id = ?1";
    sqlite3 *db = sb_store_db(cs->store);
    sqlite3_stmt *st = sb_store_stmt(cs->store, ins);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, m->room_id);
    sqlite3_bind_int64(st, 2, m->sender_id);
    bind_str(st, 3, m->text);
    bind_str(st, 4, m->file_id);
    if (m->replied_to)
        sqlite3_bind_int64(st, 5, m->replied_to);
    sqlite3_bind_int64(st, 6, m->created_at);
    bind_str(st, 7, m->client_message_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    cs->n_unread = 0;
    if (sqlite3_changes(db) == 0) {
        /* a retried send: the first one is stored already */
        st = sb_store_stmt(cs->store, again);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, m->sender_id);
        bind_str(st, 2, m->client_message_id);
        int64_t room = 0;
        *existing = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            *existing = sqlite3_column_int64(st, 0);
            room = sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
        if (*existing && room != m->room_id)
            return CHAT_INSERT_OTHER_ROOM; /* not a retry of that message */
        return *existing ? 0 : -1;
    }
    int64_t id = sqlite3_last_insert_rowid(db);
    st = sb_store_stmt(cs->store, bump);
    if (!st || (sqlite3_bind_int64(st, 1, m->room_id), sqlite3_bind_int64(st, 2, m->sender_id),
                sqlite3_step(st)) != SQLITE_DONE) {
        /* callers use no savepoint here: take the message back by hand (if
         * SQLite rolled the whole transaction back, there is nothing to undo
         * and this fails harmlessly; the store notices) */
        sqlite3_stmt *u = sb_store_stmt(cs->store, undo);
        if (u) {
            sqlite3_bind_int64(u, 1, id);
            sqlite3_step(u);
            sqlite3_reset(u);
        }
        return -1;
    }
    st = sb_store_stmt(cs->store, counts);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, m->room_id);
    sqlite3_bind_int64(st, 2, m->sender_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cs->n_unread == cs->cap_unread) {
            size_t cap = cs->cap_unread ? cs->cap_unread * 2 : 8;
            chat_unread *p = realloc(cs->unread, cap * sizeof *p);
            if (!p)
                return -1;
            cs->unread = p;
            cs->cap_unread = cap;
        }
        cs->unread[cs->n_unread++] =
            (chat_unread){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? id : -1;
}

size_t chat_last_unread(chat_store *cs, const chat_unread **out)
{
    *out = cs->unread;
    return cs->n_unread;
}

static void read_msg(sqlite3_stmt *st, chat_msg_row *row)
{
    row->id = sqlite3_column_int64(st, 0);
    row->room_id = sqlite3_column_int64(st, 1);
    row->sender_id = sqlite3_column_int64(st, 2);
    row->text = str_col(st, 3);
    row->file_id = str_col(st, 4);
    row->replied_to = sqlite3_column_int64(st, 5);
    row->is_system = sqlite3_column_int(st, 6) != 0;
    row->created_at = sqlite3_column_int64(st, 7);
    row->client_message_id = str_col(st, 8);
}

#define MSG_COLS                                                                                   \
    "m.id, m.room_id, m.sender_id, m.text, m.file_id, m.replied_to, m.is_system, m.created_at, "   \
    "m.client_message_id"

int chat_message_get(chat_store *cs, int64_t id, chat_msg_row *row)
{
    static const char sql[] = "SELECT " MSG_COLS " FROM chat_messages m WHERE m.id = ?1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_msg(st, row); /* the texts stay valid until the statement is reused */
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

int chat_status_set(chat_store *cs, int64_t message_id, int64_t user_id, int status)
{
    static const char sql[] =
        "INSERT INTO chat_message_status(message_id, user_id, status) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(message_id, user_id) DO UPDATE SET status = excluded.status "
        "WHERE excluded.status > chat_message_status.status";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, message_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int(st, 3, status);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(sb_store_db(cs->store)) > 0;
}

int64_t chat_unread_count(chat_store *cs, int64_t room_id, int64_t user_id)
{
    static const char sql[] =
        "SELECT unread FROM chat_room_members WHERE room_id = ?1 AND user_id = ?2";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, room_id);
    sqlite3_bind_int64(st, 2, user_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

int64_t chat_last_read(chat_store *cs, int64_t room_id, int64_t user_id)
{
    static const char sql[] =
        "SELECT last_read FROM chat_room_members WHERE room_id = ?1 AND user_id = ?2";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, room_id);
    sqlite3_bind_int64(st, 2, user_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

int chat_mark_read(chat_store *cs, int64_t room_id, int64_t user_id, int64_t message_id,
                   int64_t *unread)
{
    /* The watermark only moves up; the count is recomputed from it, so it
     * is exact and never negative whatever order marks arrive in. */
    static const char sql[] =
        "UPDATE chat_room_members SET last_read = max(last_read, ?3), "
        "unread = (SELECT count(*) FROM chat_messages m WHERE m.room_id = ?1 "
        "          AND m.id > max(chat_room_members.last_read, ?3) AND m.sender_id IS NOT ?2) "
        "WHERE room_id = ?1 AND user_id = ?2 RETURNING unread";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, room_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, message_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *unread = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int next_row(sb_cursor *cur, chat_msg_row *row)
{
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_msg(st, row);
        return 1;
    }
    sb_cursor_close(cur);
    return rc == SQLITE_DONE ? 0 : -1;
}

int chat_messages_since(chat_store *cs, int64_t user_id, int64_t after_id, int limit,
                        sb_cursor *cur, chat_msg_row *row)
{
    static const char sql[] = "SELECT " MSG_COLS " FROM chat_messages m "
                              "WHERE m.id > ?2 AND m.room_id IN (SELECT room_id FROM "
                              "chat_room_members WHERE user_id = ?1) "
                              "ORDER BY m.id LIMIT ?3";
    if (!sb_cursor_stmt(cur)) {
        sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, user_id);
        sqlite3_bind_int64(st, 2, after_id);
        sqlite3_bind_int(st, 3, limit);
        sb_cursor_start(cur, st);
    }
    return next_row(cur, row);
}

int chat_room_history(chat_store *cs, int64_t room_id, int64_t before_id, int limit, sb_cursor *cur,
                      chat_msg_row *row)
{
    static const char sql[] = "SELECT " MSG_COLS " FROM chat_messages m "
                              "WHERE m.room_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
    if (!sb_cursor_stmt(cur)) {
        sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, room_id);
        sqlite3_bind_int64(st, 2, before_id > 0 ? before_id : INT64_MAX);
        sqlite3_bind_int(st, 3, limit);
        sb_cursor_start(cur, st);
    }
    return next_row(cur, row);
}

int chat_user_rooms(chat_store *cs, int64_t user_id, sb_cursor *cur, chat_room_row *row)
{
    static const char sql[] =
        "SELECT rm.room_id, rm.unread, "
        "  (SELECT max(id) FROM chat_messages m WHERE m.room_id = rm.room_id) AS last "
        "FROM chat_room_members rm WHERE rm.user_id = ?1 "
        "ORDER BY coalesce(last, 0) DESC, rm.room_id DESC";
    sqlite3_stmt *st = sb_cursor_stmt(cur);
    if (!st) {
        st = sb_store_stmt(cs->store, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, user_id);
        sb_cursor_start(cur, st);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row->room_id = sqlite3_column_int64(st, 0);
        row->unread = sqlite3_column_int64(st, 1);
        row->last_message_id = sqlite3_column_int64(st, 2);
        return 1;
    }
    sb_cursor_close(cur);
    return rc == SQLITE_DONE ? 0 : -1;
}

int chat_service_get(chat_store *cs, int64_t id, chat_service_row *row)
{
    static const char sql[] = "SELECT created_at, status, customer_full_name, customer_phone, "
                              "customer_address FROM chat_services WHERE id = ?1";
    sqlite3_stmt *st = sb_store_stmt(cs->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : -1;
    row->created_at = str_col(st, 0);
    row->status = str_col(st, 1);
    row->customer_full_name = str_col(st, 2);
    row->customer_phone = str_col(st, 3);
    row->customer_address = str_col(st, 4);
    return 1; /* texts valid until the statement is reused */
}

/* Administration --------------------------------------------------------- */

int64_t chat_user_create(sb_store *store, const char *full_name, chat_role role, const char *avatar,
                         const char *token_hash)
{
    static const char sql[] =
        "INSERT INTO chat_users(full_name, avatar, role, token_hash, created_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5)";
    sqlite3_stmt *st = sb_store_stmt(store, sql);
    if (!st)
        return 0;
    sb_str r = chat_role_name(role);
    sqlite3_bind_text(st, 1, full_name, -1, SQLITE_TRANSIENT);
    if (avatar)
        sqlite3_bind_text(st, 2, avatar, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r.ptr, (int)r.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, token_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, sb_wall_ms() / 1000);
    if (sqlite3_step(st) != SQLITE_DONE)
        return 0;
    return sqlite3_last_insert_rowid(sb_store_db(store));
}

int64_t chat_service_create(sb_store *store, const char *status, const char *customer_name,
                            const char *phone, const char *address)
{
    static const char sql[] = "INSERT INTO chat_services(created_at, status, customer_full_name, "
                              "customer_phone, customer_address) "
                              "VALUES(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?1, ?2, ?3, ?4)";
    sqlite3_stmt *st = sb_store_stmt(store, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, customer_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, phone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, address, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        return 0;
    return sqlite3_last_insert_rowid(sb_store_db(store));
}

int64_t chat_service_room_create(sb_store *store, int64_t service_id, const int64_t *members,
                                 size_t n)
{
    static const char room[] =
        "INSERT INTO chat_rooms(type, service_id, created_at) VALUES('SERVICE', ?1, ?2)";
    static const char member[] = "INSERT INTO chat_room_members(room_id, user_id) VALUES(?1, ?2)";
    sqlite3_stmt *st = sb_store_stmt(store, room);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, service_id);
    sqlite3_bind_int64(st, 2, sb_wall_ms() / 1000);
    if (sqlite3_step(st) != SQLITE_DONE)
        return 0;
    int64_t id = sqlite3_last_insert_rowid(sb_store_db(store));
    for (size_t i = 0; i < n; i++) {
        st = sb_store_stmt(store, member);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, members[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return 0;
    }
    return id;
}

int64_t chat_user_count(sb_store *store)
{
    static const char sql[] = "SELECT count(*) FROM chat_users";
    sqlite3_stmt *st = sb_store_stmt(store, sql);
    if (!st)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

int chat_access_token_add(sb_store *store, int64_t user_id, const char *token_hash,
                          int64_t expires_ms, int64_t now_ms)
{
    if (sb_store_begin(store) != SB_STORE_OK)
        return -1;
    sqlite3_stmt *st =
        sb_store_stmt(store, "DELETE FROM chat_access_tokens WHERE expires_ms <= ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    st = sb_store_stmt(store, "INSERT INTO chat_access_tokens(token_hash, user_id, expires_ms) "
                              "VALUES (?1, ?2, ?3)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, expires_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int chat_room_member_of(sb_store *store, int64_t room_id, int64_t user_id)
{
    sqlite3_stmt *st = sb_store_stmt(store, "SELECT 1 FROM chat_room_members "
                                            "WHERE room_id = ?1 AND user_id = ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, room_id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int chat_room_exists(sb_store *store, int64_t room_id)
{
    sqlite3_stmt *st = sb_store_stmt(store, "SELECT 1 FROM chat_rooms WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, room_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int64_t chat_first_room_of(sb_store *store, int64_t user_id)
{
    sqlite3_stmt *st = sb_store_stmt(store, "SELECT room_id FROM chat_room_members "
                                            "WHERE user_id = ?1 ORDER BY room_id LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return id;
}
