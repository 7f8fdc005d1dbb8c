/*
 * chat_store.c: the chat's SQL, in the portable dialect of sql.h, so that
 * the same statements run on SQLite and on PostgreSQL. Every statement is a
 * string constant handed to sb_sql(), which prepares it once and caches it
 * by address. Where the engines need different statements (a lock only
 * PostgreSQL needs, a RETURNING SQLite pays too much for on the hot path),
 * both are here, side by side, chosen by cs->pg.
 *
 * Several writers (PostgreSQL, or several processes on one SQLite file):
 * the consistency model is in docs/decisions.md, "PostgreSQL engine",
 * "### chat". In short: message IDs become visible in ID order (one write
 * lock for all rooms, because ?since= resumes across all of a user's
 * rooms), counters change in SQL only, idempotency and direct rooms rest on
 * ON CONFLICT (no statement is ever expected to fail), and the in-memory
 * users and rooms are read again in each turn's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat_store.h"
#include "clock.h"
#include "log.h"
#include "map.h"
#include "sql.h"

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
/* PostgreSQL's history of the chat's schema, separate from SQLite's: it
 * starts from the schema SQLite's step 3 arrives at, names and columns the
 * same (every integer BIGINT, IDs from identity columns), so that every
 * statement below runs unchanged on both. The same rule: never edited once
 * released, a change is a new step. */
static const char *const pg_migrations[] = {
    /* 1: the schema of SQLite's step 3 */
    "CREATE TABLE chat_users("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  full_name TEXT NOT NULL,"
    "  avatar TEXT,"
    "  role TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE chat_services("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  created_at TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  customer_full_name TEXT,"
    "  customer_phone TEXT,"
    "  customer_address TEXT);"
    "CREATE TABLE chat_rooms("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  service_id BIGINT REFERENCES chat_services(id),"
    "  direct_key TEXT UNIQUE,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE chat_room_members("
    "  room_id BIGINT NOT NULL REFERENCES chat_rooms(id),"
    "  user_id BIGINT NOT NULL REFERENCES chat_users(id),"
    "  last_read BIGINT NOT NULL DEFAULT 0,"
    "  unread BIGINT NOT NULL DEFAULT 0 CHECK (unread >= 0),"
    "  PRIMARY KEY (room_id, user_id));"
    "CREATE INDEX chat_room_members_by_user ON chat_room_members(user_id, room_id);"
    "CREATE TABLE chat_messages("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  room_id BIGINT NOT NULL REFERENCES chat_rooms(id),"
    "  sender_id BIGINT REFERENCES chat_users(id),"
    "  text TEXT,"
    "  file_id TEXT,"
    "  replied_to BIGINT,"
    "  is_system BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  client_message_id TEXT);"
    "CREATE INDEX chat_messages_by_room ON chat_messages(room_id, id);"
    "CREATE UNIQUE INDEX chat_messages_client_id ON chat_messages(sender_id, client_message_id)"
    "  WHERE client_message_id IS NOT NULL;"
    "CREATE TABLE chat_message_status("
    "  message_id BIGINT NOT NULL,"
    "  user_id BIGINT NOT NULL,"
    "  status BIGINT NOT NULL,"
    "  PRIMARY KEY (message_id, user_id));"
    "CREATE TABLE chat_access_tokens("
    "  token_hash TEXT PRIMARY KEY,"
    "  user_id BIGINT NOT NULL REFERENCES chat_users(id),"
    "  expires_ms BIGINT NOT NULL);"
    "CREATE INDEX chat_access_tokens_expiry ON chat_access_tokens(expires_ms);",
};

/* Users and rooms in memory. An entry is trusted without a read only in the
 * transaction that last read its row (gen, below); any other use reads the
 * row again. An entry replaced because its row changed stays allocated
 * until the store is freed: a caller may still hold the pointer it was
 * given (the payloads point into it until they are written). Changes are
 * rare (no statement of this module changes a user or a membership of an
 * existing room), so the list stays short. */
typedef struct user_entry {
    chat_user_info info;
    uint64_t gen; /* the transaction that read the row; 0 none */
} user_entry;

typedef struct room_entry {
    chat_room_info info;
    uint64_t gen;
} room_entry;

typedef struct retired {
    void *entry;
    bool room;
} retired;

struct chat_store {
    sb_store *store;
    bool pg; /* PostgreSQL: the statements that differ */
    sb_map users, rooms;
    /* The turn's transaction: gen counts them; armed when the callback that
     * ends this one is registered (sb_store_after_commit) */
    uint64_t gen;
    bool armed;
    int64_t *created; /* rooms made in this transaction: never trusted */
    size_t n_created, cap_created;
    retired *retired;
    size_t n_retired, cap_retired;
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
    sb_migration m = {
        .module = "chat",
        .steps = migrations,
        .count = sizeof migrations / sizeof migrations[0],
        .pg_steps = pg_migrations,
        .pg_count = sizeof pg_migrations / sizeof pg_migrations[0],
    };
    return sb_store_migrate(store, &m, err, err_size);
}

chat_store *chat_store_new(sb_store *store)
{
    chat_store *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->store = store;
    cs->pg = sb_store_engine(store) == SB_SQL_POSTGRES;
    cs->gen = 1;
    sb_map_init(&cs->users);
    sb_map_init(&cs->rooms);
    return cs;
}

static void free_user(user_entry *u)
{
    if (!u)
        return;
    free(u->info.full_name);
    free(u->info.avatar);
    free(u);
}

static void free_room(room_entry *r)
{
    if (!r)
        return;
    free(r->info.members);
    free(r);
}

void chat_store_free(chat_store *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->users.cap; i++)
        if (cs->users.slots[i].key)
            free_user(cs->users.slots[i].value);
    for (size_t i = 0; i < cs->rooms.cap; i++)
        if (cs->rooms.slots[i].key)
            free_room(cs->rooms.slots[i].value);
    for (size_t i = 0; i < cs->n_retired; i++) {
        if (cs->retired[i].room)
            free_room(cs->retired[i].entry);
        else
            free_user(cs->retired[i].entry);
    }
    sb_map_free(&cs->users);
    sb_map_free(&cs->rooms);
    free(cs->retired);
    free(cs->created);
    free(cs->unread);
    free(cs);
}

/* Take an entry out of its map for good, keeping it allocated (above). */
static void retire(chat_store *cs, sb_map *map, int64_t id, bool room)
{
    void *old = sb_map_get(map, id);
    if (!old)
        return;
    if (cs->n_retired == cs->cap_retired) {
        size_t cap = cs->cap_retired ? cs->cap_retired * 2 : 8;
        retired *p = realloc(cs->retired, cap * sizeof *p);
        if (!p)
            return; /* left in the map: stale, but never freed under a caller */
        cs->retired = p;
        cs->cap_retired = cap;
    }
    sb_map_del(map, id);
    cs->retired[cs->n_retired++] = (retired){old, room};
}

/* The turn's transaction ended (committed or not): no entry is trusted now. */
static void turn_over(void *arg, int rc)
{
    (void)rc;
    chat_store *cs = arg;
    cs->gen++;
    cs->armed = false;
    cs->n_created = 0;
}

/* Register turn_over for the open transaction; false when none is open. */
static bool arm(chat_store *cs)
{
    if (!sb_store_in_tx(cs->store))
        return false;
    if (!cs->armed) {
        cs->armed = true; /* before: the callback may run at once */
        sb_store_after_commit(cs->store, turn_over, cs);
    }
    return cs->armed;
}

/* An entry whose row was just read: trusted for the rest of this
 * transaction, if one is open. */
static void checked(chat_store *cs, uint64_t *gen)
{
    *gen = arm(cs) ? cs->gen : 0;
}

static bool trusted(const chat_store *cs, uint64_t gen)
{
    /* in_tx too: between an asynchronous COMMIT's sending and its answer
     * (store.h, sb_store_commit_start) the transaction is over, and
     * turn_over has not run yet */
    return cs->armed && gen == cs->gen && sb_store_in_tx(cs->store);
}

static bool created_here(const chat_store *cs, int64_t room)
{
    for (size_t i = 0; i < cs->n_created; i++)
        if (cs->created[i] == room)
            return true;
    return false;
}

static sb_str str_col(sb_stmt *st, int col)
{
    size_t n;
    const char *t = sb_sql_text(st, col, &n);
    return (sb_str){t, t ? n : 0};
}

static char *dup_col(sb_stmt *st, int col)
{
    sb_str s = str_col(st, col);
    if (!s.ptr)
        return NULL;
    char *p = malloc(s.len + 1);
    if (p) {
        memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static bool same_text(const char *cached, sb_str row)
{
    if (!cached || !row.ptr)
        return !cached && !row.ptr;
    return strlen(cached) == row.len && memcmp(cached, row.ptr, row.len) == 0;
}

static void bind_str(sb_stmt *st, int i, sb_str s)
{
    if (s.ptr)
        sb_sql_bind_text(st, i, s.ptr, s.len);
    else
        sb_sql_bind_null(st, i);
}

/* Users and rooms ----------------------------------------------------------
 *
 * Another node (or another process on the same SQLite file) may change a
 * user or a room's members at any time, so an entry is trusted only inside
 * the transaction that read its row: the first use in each turn reads the
 * row again (one indexed statement), and the turn's later messages use the
 * entry as read. A turn's transaction sees other nodes' commits between its
 * statements anyway (READ COMMITTED), so this is no staler than reading
 * every time, and under load a turn carries about a hundred messages.
 * Measured with bench/load/callgrind.sh (docs/decisions.md, "### chat"):
 * reading on every use cost 29% more instructions per message than the
 * cache before the port; once per turn, 4.9% more (mostly the statement
 * layer, not the reads). Outside a transaction (a ?since= replay, REST on
 * an idle node) every use reads. An unchanged row keeps its entry: the
 * pointer stays valid across calls. */

int chat_user_get(chat_store *cs, int64_t id, const chat_user_info **out)
{
    *out = NULL;
    if (id <= 0)
        return 0;
    user_entry *e = sb_map_get(&cs->users, id);
    if (e && trusted(cs, e->gen)) {
        *out = &e->info;
        return 1;
    }
    static const char sql[] = "SELECT full_name, avatar, role FROM chat_users WHERE id = ?1";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, id);
    chat_user_info *u = e ? &e->info : NULL;
    int rc = sb_sql_step(st);
    if (rc != SB_SQL_ROW) {
        sb_sql_reset(st);
        if (rc != SB_SQL_DONE)
            return -1;                     /* the read failed: the entry may still be right */
        retire(cs, &cs->users, id, false); /* gone, or never committed */
        return 0;
    }
    sb_str name = str_col(st, 0), avatar = str_col(st, 1), role_s = str_col(st, 2);
    chat_role role = chat_role_from(role_s.ptr ? role_s.ptr : "", role_s.len);
    if (!role)
        role = CHAT_ROLE_UNKNOWN;
    if (u && u->role == role && same_text(u->full_name, name) && same_text(u->avatar, avatar)) {
        sb_sql_reset(st);
        checked(cs, &e->gen);
        *out = u;
        return 1;
    }
    retire(cs, &cs->users, id, false);
    e = calloc(1, sizeof *e);
    if (!e) {
        sb_sql_reset(st);
        return -1;
    }
    u = &e->info;
    u->id = id;
    u->full_name = dup_col(st, 0);
    u->avatar = dup_col(st, 1);
    u->role = role;
    bool ok = u->full_name && (!avatar.ptr || u->avatar);
    sb_sql_reset(st);
    if (!ok || sb_map_put(&cs->users, id, e) != 0) {
        free_user(e);
        return -1;
    }
    checked(cs, &e->gen);
    *out = u;
    return 1;
}

int chat_user_direct_ok(chat_store *cs, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM chat_users WHERE id = ?1 "
                              "AND role IN ('TECHNICIAN', 'ADMIN', 'SUPER_ADMIN')";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, id);
    int rc = sb_sql_step(st);
    sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 1 : rc == SB_SQL_DONE ? 0 : -1;
}

int chat_room_get(chat_store *cs, int64_t id, const chat_room_info **out)
{
    *out = NULL;
    if (id <= 0)
        return 0;
    room_entry *e = sb_map_get(&cs->rooms, id);
    if (e && trusted(cs, e->gen) && !created_here(cs, id)) {
        *out = &e->info;
        return 1;
    }
    /* the room and its members in one statement; a room without members
     * still has its one row (user_id NULL) */
    static const char sql[] =
        "SELECT r.type, r.service_id, m.user_id FROM chat_rooms r "
        "LEFT JOIN chat_room_members m ON m.room_id = r.id WHERE r.id = ?1 ORDER BY m.user_id";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, id);
    chat_room_info *cached = e ? &e->info : NULL;
    int rc = sb_sql_step(st);
    if (rc != SB_SQL_ROW) {
        sb_sql_reset(st);
        if (rc != SB_SQL_DONE)
            return -1;                    /* the read failed: the entry may still be right */
        retire(cs, &cs->rooms, id, true); /* gone, or never committed */
        return 0;
    }
    sb_str type_s = str_col(st, 0);
    chat_room_type type = chat_room_type_from(type_s.ptr ? type_s.ptr : "", type_s.len);
    int64_t service = sb_sql_int64(st, 1);
    /* Compare with the cached entry while reading; build a new one only
     * from the first difference on. */
    bool same = cached && cached->type == type && cached->service_id == service;
    size_t n = 0, cap = 0;
    int64_t *members = NULL;
    for (; rc == SB_SQL_ROW; rc = sb_sql_step(st)) {
        if (sb_sql_is_null(st, 2))
            continue;
        int64_t user = sb_sql_int64(st, 2);
        if (same && n < cached->n_members && cached->members[n] == user) {
            n++;
            continue;
        }
        if (same) { /* the first difference: copy what matched */
            same = false;
            cap = n + 4;
            members = malloc(cap * sizeof *members);
            if (!members)
                break;
            if (n)
                memcpy(members, cached->members, n * sizeof *members);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            int64_t *p = realloc(members, cap * sizeof *p);
            if (!p)
                break;
            members = p;
        }
        members[n++] = user;
    }
    sb_sql_reset(st);
    if (rc < 0 || (rc == SB_SQL_ROW)) { /* a failed step, or out of memory */
        free(members);
        return -1;
    }
    if (same && n == cached->n_members) {
        checked(cs, &e->gen);
        *out = cached;
        return 1;
    }
    if (same) { /* fewer members than cached: a prefix of them */
        members = malloc((n ? n : 1) * sizeof *members);
        if (!members)
            return -1;
        if (n)
            memcpy(members, cached->members, n * sizeof *members);
    }
    room_entry *r = calloc(1, sizeof *r);
    if (!r) {
        free(members);
        return -1;
    }
    r->info = (chat_room_info){id, type, service, members, n};
    retire(cs, &cs->rooms, id, true);
    if (sb_map_put(&cs->rooms, id, r) != 0) {
        free_room(r);
        return -1;
    }
    checked(cs, &r->gen);
    *out = &r->info;
    return 1;
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
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, token_hash, SB_SQL_NUL);
    sb_sql_bind_int64(st, 2, sb_wall_ms());
    int rc = sb_sql_step(st);
    int64_t id = rc == SB_SQL_ROW ? sb_sql_int64(st, 0) : rc == SB_SQL_DONE ? 0 : -1;
    sb_sql_reset(st);
    return id;
}

/* The chat's write lock (PostgreSQL), taken by every write of a message,
 * a status, a read mark or a direct room before anything else.
 *
 * Clients resume with ?since=ID across all of their rooms, so message IDs
 * must become visible in ID order across rooms: an identity column hands
 * out 10 then 11 to two transactions, 11 commits first, a reader resumes
 * after 11 and never sees 10. Taken before a message is inserted, the lock
 * makes IDs allocated and committed in one order. A lock per room would not
 * do (the reader spans rooms), nor one per member (a turn writes to many
 * rooms: member sets taken in different orders on two nodes deadlock).
 *
 * Taken first by the chat's other writes too, so that no transaction holds
 * a chat row lock while it waits for this one: otherwise node A (holding
 * it, bumping a member's unread count) and node B (holding that member's
 * row from a mark_read, or a direct room it has just inserted, and waiting
 * for the lock) would wait on each other. And a recount (mark_read) made
 * under it sees every bump before it committed.
 *
 * It is held to the end of the turn's transaction (its savepoint's end, if
 * that rolls back), taken again at no cost by the turn's later writes: the
 * chat's writes of all nodes go one turn at a time, as SQLite's one writer
 * always did. A transaction-level advisory lock: no row to write and no
 * WAL, nothing for vacuum to wait on. SQLite needs none: BEGIN IMMEDIATE
 * holds the database until the commit. The keys: 'chat' in ASCII, then 1. */
static int write_lock(chat_store *cs)
{
    if (!cs->pg)
        return 0;
    sb_stmt *st = sb_sql(cs->store, "SELECT pg_advisory_xact_lock(1667785076, 1)");
    int rc = st ? sb_sql_step(st) : SB_STORE_ERROR;
    if (st)
        sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 0 : -1;
}

int64_t chat_direct_room(chat_store *cs, int64_t a, int64_t b, bool *created)
{
    char key[48];
    snprintf(key, sizeof key, "%lld:%lld", (long long)(a < b ? a : b), (long long)(a < b ? b : a));
    *created = false;
    static const char find[] = "SELECT id FROM chat_rooms WHERE direct_key = ?1";
    /* Two nodes may make the same pair's room at once: the second INSERT
     * waits for the first transaction, then does nothing (no error, which
     * on PostgreSQL would abort the transaction), and the room is the one
     * found afterwards. */
    static const char make[] =
        "INSERT INTO chat_rooms(type, direct_key, created_at) VALUES('TECHNICIAN_DIRECT', ?1, ?2) "
        "ON CONFLICT(direct_key) DO NOTHING RETURNING id";
    static const char member[] = "INSERT INTO chat_room_members(room_id, user_id) VALUES(?1, ?2)";
    for (int attempt = 0; attempt < 2; attempt++) {
        sb_stmt *st = sb_sql(cs->store, find);
        if (!st)
            return 0;
        sb_sql_bind_text(st, 1, key, SB_SQL_NUL);
        int rc = sb_sql_step(st);
        int64_t id = rc == SB_SQL_ROW ? sb_sql_int64(st, 0) : 0;
        sb_sql_reset(st);
        if (id || rc < 0 || attempt)
            return id;

        if (write_lock(cs) != 0)
            return 0;
        st = sb_sql(cs->store, make);
        if (!st)
            return 0;
        sb_sql_bind_text(st, 1, key, SB_SQL_NUL);
        sb_sql_bind_int64(st, 2, sb_wall_ms() / 1000);
        rc = sb_sql_step(st);
        id = rc == SB_SQL_ROW ? sb_sql_int64(st, 0) : 0;
        sb_sql_reset(st);
        if (rc < 0)
            return 0;
        if (!id)
            continue; /* made by another node meanwhile: find it */
        int64_t users[2] = {a, b};
        for (int i = 0; i < 2; i++) {
            st = sb_sql(cs->store, member);
            if (!st)
                return 0;
            sb_sql_bind_int64(st, 1, id);
            sb_sql_bind_int64(st, 2, users[i]);
            if (sb_sql_step(st) != SB_SQL_DONE)
                return 0;
        }
        /* Until the commit, the room is read on every use: a savepoint
         * rolled back takes it away, and SQLite then gives its ID to the
         * next room made (test_chat_store.c). */
        if (cs->n_created == cs->cap_created) {
            size_t cap = cs->cap_created ? cs->cap_created * 2 : 8;
            int64_t *p = realloc(cs->created, cap * sizeof *p);
            if (!p)
                return 0;
            cs->created = p;
            cs->cap_created = cap;
        }
        if (arm(cs)) /* outside a transaction nothing is trusted anyway */
            cs->created[cs->n_created++] = id;
        *created = true;
        return id;
    }
    return 0;
}

bool chat_send_needs_unit(const chat_store *cs)
{
    return cs->pg;
}

int64_t chat_message_insert(chat_store *cs, const chat_new_msg *m, int64_t *existing)
{
#define INSERT_MESSAGE                                                                             \
    "INSERT INTO chat_messages(room_id, sender_id, text, file_id, replied_to, created_at, "        \
    "client_message_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "                                       \
    "ON CONFLICT(sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING"
    static const char ins[] = INSERT_MESSAGE;
    static const char ins_pg[] = INSERT_MESSAGE " RETURNING id";
#undef INSERT_MESSAGE
    static const char again[] =
        "SELECT id, room_id FROM chat_messages WHERE sender_id = ?1 AND client_message_id = ?2";
    static const char bump[] =
        "UPDATE chat_room_members SET unread = unread + 1 WHERE room_id = ?1 AND user_id <> ?2";
    static const char bump_pg[] = "UPDATE chat_room_members SET unread = unread + 1 "
                                  "WHERE room_id = ?1 AND user_id <> ?2 RETURNING user_id, unread";
    /* SQLite: no RETURNING on the hot path (SQLite 3.40 builds two ephemeral
     * b-trees for every RETURNING, half of the server's instructions per
     * message: bench/load/callgrind.sh). The new ID is last_insert_rowid(),
     * read in the statement that reads the counts (the UPDATE between does
     * not change it): no statement more than before the port. One row even
     * when no one else is in the room. */
    static const char counts[] = "SELECT last_insert_rowid(), m.user_id, m.unread "
                                 "FROM (SELECT 1) AS one LEFT JOIN chat_room_members m "
                                 "ON m.room_id = ?1 AND m.user_id <> ?2";
    static const char undo[] = "DELETE FROM chat_messages WHERE id = last_insert_rowid()";
    sb_stmt *st;
    cs->n_unread = 0;
    if (cs->pg) {
        /* PostgreSQL's text cannot hold a NUL byte (sql.h): refused before
         * the lock is taken (the INSERT would be refused without a word
         * sent, the lock then held to the end of the turn for nothing) */
        const sb_str texts[] = {m->text, m->file_id, m->client_message_id};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            if (texts[i].ptr && memchr(texts[i].ptr, '\0', texts[i].len))
                return -1;
    }
    if (write_lock(cs) != 0)
        return -1;
    st = sb_sql(cs->store, cs->pg ? ins_pg : ins);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, m->room_id);
    sb_sql_bind_int64(st, 2, m->sender_id);
    bind_str(st, 3, m->text);
    bind_str(st, 4, m->file_id);
    if (m->replied_to)
        sb_sql_bind_int64(st, 5, m->replied_to);
    else
        sb_sql_bind_null(st, 5);
    sb_sql_bind_int64(st, 6, m->created_at);
    bind_str(st, 7, m->client_message_id);
    int rc = sb_sql_step(st);
    int64_t id = 0;
    bool inserted = rc == SB_SQL_ROW || (rc == SB_SQL_DONE && !cs->pg && sb_sql_changes(st) > 0);
    if (rc == SB_SQL_ROW)
        id = sb_sql_int64(st, 0);
    sb_sql_reset(st);
    if (rc < 0)
        return -1;
    if (!inserted) {
        /* a retried send: the first one is stored already (on PostgreSQL
         * the INSERT waited for its transaction, if it was another node's) */
        st = sb_sql(cs->store, again);
        if (!st)
            return -1;
        sb_sql_bind_int64(st, 1, m->sender_id);
        bind_str(st, 2, m->client_message_id);
        int64_t room = 0;
        *existing = 0;
        if (sb_sql_step(st) == SB_SQL_ROW) {
            *existing = sb_sql_int64(st, 0);
            room = sb_sql_int64(st, 1);
        }
        sb_sql_reset(st);
        if (*existing && room != m->room_id)
            return CHAT_INSERT_OTHER_ROOM; /* not a retry of that message */
        return *existing ? 0 : -1;
    }
    if (!cs->pg) {
        st = sb_sql(cs->store, bump);
        if (st) {
            sb_sql_bind_int64(st, 1, m->room_id);
            sb_sql_bind_int64(st, 2, m->sender_id);
        }
        if (!st || sb_sql_step(st) != SB_SQL_DONE) {
            /* callers use no savepoint here: take the message back by hand
             * (if SQLite rolled the whole transaction back, there is nothing
             * to undo and this fails harmlessly; the store notices) */
            sb_stmt *u = sb_sql(cs->store, undo);
            if (u) {
                sb_sql_step(u);
                sb_sql_reset(u);
            }
            return -1;
        }
    }
    /* PostgreSQL: the counts as the UPDATE left them. A failure there has
     * aborted the transaction (or the caller's savepoint): nothing to undo,
     * and the store reports the transaction lost. */
    st = sb_sql(cs->store, cs->pg ? bump_pg : counts);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, m->room_id);
    sb_sql_bind_int64(st, 2, m->sender_id);
    while ((rc = sb_sql_step(st)) == SB_SQL_ROW) {
        int col = cs->pg ? 0 : 1;
        if (!cs->pg)
            id = sb_sql_int64(st, 0);
        if (sb_sql_is_null(st, col))
            continue; /* SQLite: the one row of an otherwise empty room */
        if (cs->n_unread == cs->cap_unread) {
            size_t cap = cs->cap_unread ? cs->cap_unread * 2 : 8;
            chat_unread *p = realloc(cs->unread, cap * sizeof *p);
            if (!p) {
                sb_sql_reset(st);
                return -1;
            }
            cs->unread = p;
            cs->cap_unread = cap;
        }
        cs->unread[cs->n_unread++] =
            (chat_unread){sb_sql_int64(st, col), sb_sql_int64(st, col + 1)};
    }
    sb_sql_reset(st);
    return rc == SB_SQL_DONE && id > 0 ? id : -1;
}

size_t chat_last_unread(chat_store *cs, const chat_unread **out)
{
    *out = cs->unread;
    return cs->n_unread;
}

static void read_msg(sb_stmt *st, chat_msg_row *row)
{
    row->id = sb_sql_int64(st, 0);
    row->room_id = sb_sql_int64(st, 1);
    row->sender_id = sb_sql_int64(st, 2);
    row->text = str_col(st, 3);
    row->file_id = str_col(st, 4);
    row->replied_to = sb_sql_int64(st, 5);
    row->is_system = sb_sql_int64(st, 6) != 0;
    row->created_at = sb_sql_int64(st, 7);
    row->client_message_id = str_col(st, 8);
}

#define MSG_COLS                                                                                   \
    "m.id, m.room_id, m.sender_id, m.text, m.file_id, m.replied_to, m.is_system, m.created_at, "   \
    "m.client_message_id"

int chat_message_get(chat_store *cs, int64_t id, chat_msg_row *row)
{
    static const char sql[] = "SELECT " MSG_COLS " FROM chat_messages m WHERE m.id = ?1";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, id);
    int rc = sb_sql_step(st);
    if (rc == SB_SQL_ROW) {
        read_msg(st, row); /* the texts stay valid until the statement is reused */
        return 1;
    }
    return rc == SB_SQL_DONE ? 0 : -1;
}

int chat_status_set(chat_store *cs, int64_t message_id, int64_t user_id, int status)
{
    /* one statement, atomic on both engines even when two nodes mark the
     * same message: the status only moves up */
    static const char sql[] =
        "INSERT INTO chat_message_status(message_id, user_id, status) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(message_id, user_id) DO UPDATE SET status = excluded.status "
        "WHERE excluded.status > chat_message_status.status";
    if (write_lock(cs) != 0)
        return -1;
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, message_id);
    sb_sql_bind_int64(st, 2, user_id);
    sb_sql_bind_int64(st, 3, status);
    if (sb_sql_step(st) != SB_SQL_DONE)
        return -1;
    return sb_sql_changes(st) > 0;
}

int64_t chat_unread_count(chat_store *cs, int64_t room_id, int64_t user_id)
{
    static const char sql[] =
        "SELECT unread FROM chat_room_members WHERE room_id = ?1 AND user_id = ?2";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, room_id);
    sb_sql_bind_int64(st, 2, user_id);
    int rc = sb_sql_step(st);
    int64_t n = rc == SB_SQL_ROW ? sb_sql_int64(st, 0) : rc == SB_SQL_DONE ? 0 : -1;
    sb_sql_reset(st);
    return n;
}

int64_t chat_last_read(chat_store *cs, int64_t room_id, int64_t user_id)
{
    static const char sql[] =
        "SELECT last_read FROM chat_room_members WHERE room_id = ?1 AND user_id = ?2";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, room_id);
    sb_sql_bind_int64(st, 2, user_id);
    int rc = sb_sql_step(st);
    int64_t n = rc == SB_SQL_ROW ? sb_sql_int64(st, 0) : rc == SB_SQL_DONE ? 0 : -1;
    sb_sql_reset(st);
    return n;
}

int chat_mark_read(chat_store *cs, int64_t room_id, int64_t user_id, int64_t message_id,
                   int64_t *unread)
{
    /* The watermark only moves up; the count is recomputed from it, so it
     * is exact and never negative whatever order marks arrive in. */
    static const char sql[] = "UPDATE chat_room_members SET "
                              "last_read = CASE WHEN last_read > ?3 THEN last_read ELSE ?3 END, "
                              "unread = (SELECT count(*) FROM chat_messages m WHERE m.room_id = ?1 "
                              "          AND m.id > CASE WHEN chat_room_members.last_read > ?3 "
                              "                     THEN chat_room_members.last_read ELSE ?3 END "
                              "          AND (m.sender_id IS NULL OR m.sender_id <> ?2)) "
                              "WHERE room_id = ?1 AND user_id = ?2 RETURNING unread";
    /* PostgreSQL, READ COMMITTED: a message appended on another node bumps
     * this row's count and holds the row until its commit. An UPDATE that
     * waited for it would apply to the bumped row but count with the
     * snapshot from before the wait, without that message: one unread too
     * few. Under the write lock no other node's bump is pending, and the
     * UPDATE's snapshot, taken after the lock, holds every bump committed.
     * (SQLite's one writer sees everything committed.) */
    if (write_lock(cs) != 0)
        return -1;
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, room_id);
    sb_sql_bind_int64(st, 2, user_id);
    sb_sql_bind_int64(st, 3, message_id);
    int rc = sb_sql_step(st);
    if (rc == SB_SQL_ROW)
        *unread = sb_sql_int64(st, 0);
    sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 0 : -1;
}

static int next_row(sb_cursor *cur, chat_msg_row *row)
{
    sb_stmt *st = sb_cursor_sql(cur);
    int rc = sb_sql_step(st);
    if (rc == SB_SQL_ROW) {
        read_msg(st, row);
        return 1;
    }
    sb_cursor_close(cur);
    return rc == SB_SQL_DONE ? 0 : -1;
}

int chat_messages_since(chat_store *cs, int64_t user_id, int64_t after_id, int limit,
                        sb_cursor *cur, chat_msg_row *row)
{
    static const char sql[] = "SELECT " MSG_COLS " FROM chat_messages m "
                              "WHERE m.id > ?2 AND m.room_id IN (SELECT room_id FROM "
                              "chat_room_members WHERE user_id = ?1) "
                              "ORDER BY m.id LIMIT ?3";
    if (!sb_cursor_sql(cur)) {
        sb_stmt *st = sb_sql(cs->store, sql);
        if (!st)
            return -1;
        sb_sql_bind_int64(st, 1, user_id);
        sb_sql_bind_int64(st, 2, after_id);
        sb_sql_bind_int64(st, 3, limit);
        sb_cursor_start_sql(cur, st);
    }
    return next_row(cur, row);
}

int chat_room_history(chat_store *cs, int64_t room_id, int64_t before_id, int limit, sb_cursor *cur,
                      chat_msg_row *row)
{
    static const char sql[] = "SELECT " MSG_COLS " FROM chat_messages m "
                              "WHERE m.room_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
    if (!sb_cursor_sql(cur)) {
        sb_stmt *st = sb_sql(cs->store, sql);
        if (!st)
            return -1;
        sb_sql_bind_int64(st, 1, room_id);
        sb_sql_bind_int64(st, 2, before_id > 0 ? before_id : INT64_MAX);
        sb_sql_bind_int64(st, 3, limit);
        sb_cursor_start_sql(cur, st);
    }
    return next_row(cur, row);
}

int chat_user_rooms(chat_store *cs, int64_t user_id, sb_cursor *cur, chat_room_row *row)
{
    /* a derived table: PostgreSQL takes an output column's name in ORDER BY
     * only alone, not inside an expression */
    static const char sql[] =
        "SELECT room_id, unread, last_id FROM ("
        "  SELECT rm.room_id AS room_id, rm.unread AS unread, "
        "    (SELECT max(id) FROM chat_messages m WHERE m.room_id = rm.room_id) AS last_id "
        "  FROM chat_room_members rm WHERE rm.user_id = ?1) AS r "
        "ORDER BY coalesce(last_id, 0) DESC, room_id DESC";
    sb_stmt *st = sb_cursor_sql(cur);
    if (!st) {
        st = sb_sql(cs->store, sql);
        if (!st)
            return -1;
        sb_sql_bind_int64(st, 1, user_id);
        sb_cursor_start_sql(cur, st);
    }
    int rc = sb_sql_step(st);
    if (rc == SB_SQL_ROW) {
        row->room_id = sb_sql_int64(st, 0);
        row->unread = sb_sql_int64(st, 1);
        row->last_message_id = sb_sql_int64(st, 2);
        return 1;
    }
    sb_cursor_close(cur);
    return rc == SB_SQL_DONE ? 0 : -1;
}

int chat_service_get(chat_store *cs, int64_t id, chat_service_row *row)
{
    static const char sql[] = "SELECT created_at, status, customer_full_name, customer_phone, "
                              "customer_address FROM chat_services WHERE id = ?1";
    sb_stmt *st = sb_sql(cs->store, sql);
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, id);
    int rc = sb_sql_step(st);
    if (rc != SB_SQL_ROW)
        return rc == SB_SQL_DONE ? 0 : -1;
    row->created_at = str_col(st, 0);
    row->status = str_col(st, 1);
    row->customer_full_name = str_col(st, 2);
    row->customer_phone = str_col(st, 3);
    row->customer_address = str_col(st, 4);
    return 1; /* texts valid until the statement is reused */
}

/* Administration --------------------------------------------------------- */

/* The one row of an INSERT ... RETURNING id: the ID, or 0. */
static int64_t returned_id(sb_stmt *st)
{
    int64_t id = sb_sql_step(st) == SB_SQL_ROW ? sb_sql_int64(st, 0) : 0;
    sb_sql_reset(st);
    return id;
}

int64_t chat_user_create(sb_store *store, const char *full_name, chat_role role, const char *avatar,
                         const char *token_hash)
{
    static const char sql[] =
        "INSERT INTO chat_users(full_name, avatar, role, token_hash, created_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5) RETURNING id";
    sb_stmt *st = sb_sql(store, sql);
    if (!st)
        return 0;
    sb_str r = chat_role_name(role);
    sb_sql_bind_text(st, 1, full_name, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, avatar, SB_SQL_NUL); /* NULL: none */
    sb_sql_bind_text(st, 3, r.ptr, r.len);
    sb_sql_bind_text(st, 4, token_hash, SB_SQL_NUL);
    sb_sql_bind_int64(st, 5, sb_wall_ms() / 1000);
    return returned_id(st);
}

int64_t chat_service_create(sb_store *store, const char *status, const char *customer_name,
                            const char *phone, const char *address)
{
    static const char sql[] = "INSERT INTO chat_services(created_at, status, customer_full_name, "
                              "customer_phone, customer_address) "
                              "VALUES(?1, ?2, ?3, ?4, ?5) RETURNING id";
    sb_stmt *st = sb_sql(store, sql);
    if (!st)
        return 0;
    /* the time in C (sql.h): an engine's own clock function differs */
    char now[32];
    time_t t = (time_t)(sb_wall_ms() / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return 0;
    sb_sql_bind_text(st, 1, now, SB_SQL_NUL);
    sb_sql_bind_text(st, 2, status, SB_SQL_NUL);
    sb_sql_bind_text(st, 3, customer_name, SB_SQL_NUL);
    sb_sql_bind_text(st, 4, phone, SB_SQL_NUL);
    sb_sql_bind_text(st, 5, address, SB_SQL_NUL);
    return returned_id(st);
}

int64_t chat_service_room_create(sb_store *store, int64_t service_id, const int64_t *members,
                                 size_t n)
{
    static const char room[] = "INSERT INTO chat_rooms(type, service_id, created_at) "
                               "VALUES('SERVICE', ?1, ?2) RETURNING id";
    static const char member[] = "INSERT INTO chat_room_members(room_id, user_id) VALUES(?1, ?2)";
    sb_stmt *st = sb_sql(store, room);
    if (!st)
        return 0;
    sb_sql_bind_int64(st, 1, service_id);
    sb_sql_bind_int64(st, 2, sb_wall_ms() / 1000);
    int64_t id = returned_id(st);
    if (!id)
        return 0;
    for (size_t i = 0; i < n; i++) {
        st = sb_sql(store, member);
        if (!st)
            return 0;
        sb_sql_bind_int64(st, 1, id);
        sb_sql_bind_int64(st, 2, members[i]);
        if (sb_sql_step(st) != SB_SQL_DONE)
            return 0;
    }
    return id;
}

int64_t chat_user_count(sb_store *store)
{
    static const char sql[] = "SELECT count(*) FROM chat_users";
    sb_stmt *st = sb_sql(store, sql);
    return st ? sb_sql_one_int64(st, -1) : -1;
}

int64_t chat_newest_message_id(sb_store *store)
{
    static const char sql[] = "SELECT COALESCE(MAX(id), 0) FROM chat_messages";
    sb_stmt *st = sb_sql(store, sql);
    return st ? sb_sql_one_int64(st, -1) : -1;
}

int chat_seed_lock(sb_store *store)
{
    if (sb_store_engine(store) != SB_SQL_POSTGRES)
        return 0; /* BEGIN IMMEDIATE holds the database */
    /* 'chat', then 2: the demo's seeding */
    sb_stmt *st = sb_sql(store, "SELECT pg_advisory_xact_lock(1667785076, 2)");
    int rc = st ? sb_sql_step(st) : SB_STORE_ERROR;
    if (st)
        sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 0 : -1;
}

int chat_access_token_add(sb_store *store, int64_t user_id, const char *token_hash,
                          int64_t expires_ms, int64_t now_ms)
{
    if (sb_store_begin(store) != SB_STORE_OK)
        return -1;
    sb_stmt *st = sb_sql(store, "DELETE FROM chat_access_tokens WHERE expires_ms <= ?1");
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, now_ms);
    int rc = sb_sql_step(st);
    sb_sql_reset(st);
    if (rc != SB_SQL_DONE)
        return -1;
    st = sb_sql(store, "INSERT INTO chat_access_tokens(token_hash, user_id, expires_ms) "
                       "VALUES (?1, ?2, ?3)");
    if (!st)
        return -1;
    sb_sql_bind_text(st, 1, token_hash, SB_SQL_NUL);
    sb_sql_bind_int64(st, 2, user_id);
    sb_sql_bind_int64(st, 3, expires_ms);
    rc = sb_sql_step(st);
    sb_sql_reset(st);
    return rc == SB_SQL_DONE ? 0 : -1;
}

int chat_room_member_of(sb_store *store, int64_t room_id, int64_t user_id)
{
    sb_stmt *st = sb_sql(store, "SELECT 1 FROM chat_room_members "
                                "WHERE room_id = ?1 AND user_id = ?2");
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, room_id);
    sb_sql_bind_int64(st, 2, user_id);
    int rc = sb_sql_step(st);
    sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 1 : rc == SB_SQL_DONE ? 0 : -1;
}

int chat_room_exists(sb_store *store, int64_t room_id)
{
    sb_stmt *st = sb_sql(store, "SELECT 1 FROM chat_rooms WHERE id = ?1");
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, room_id);
    int rc = sb_sql_step(st);
    sb_sql_reset(st);
    return rc == SB_SQL_ROW ? 1 : rc == SB_SQL_DONE ? 0 : -1;
}

int64_t chat_first_room_of(sb_store *store, int64_t user_id)
{
    sb_stmt *st = sb_sql(store, "SELECT room_id FROM chat_room_members "
                                "WHERE user_id = ?1 ORDER BY room_id LIMIT 1");
    if (!st)
        return -1;
    sb_sql_bind_int64(st, 1, user_id);
    int rc = sb_sql_step(st);
    int64_t id = rc == SB_SQL_ROW ? sb_sql_int64(st, 0) : rc == SB_SQL_DONE ? 0 : -1;
    sb_sql_reset(st);
    return id;
}
