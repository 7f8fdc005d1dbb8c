/*
 * test_chat_store.c: the chat's store against a real SQLite file.
 *
 * The room cache against rolled-back rooms: a direct room made inside a
 * transaction that then fails (a rolled-back savepoint, or a transaction
 * SQLite lost) must not stay cached: SQLite gives its row ID to the next
 * room made, and a stale entry would hand that room's messages to the wrong
 * members.
 *
 * The migrations: a database as the binary before the chat_ prefix left it
 * (migration 1 only, kept here verbatim) comes through the upgrade with
 * every row, and with the schema a new database gets.
 *
 * Wire IDs: the whole int64 range parses.
 *
 * SB_TEST_DB=postgres runs the tests that are not about SQLite itself on a
 * fresh PostgreSQL database in the cluster of tests/support/pg_cluster.sh
 * (SB_TEST_PG_URL, or the file SB_TEST_PG_URL_FILE holding it), dropped at
 * teardown; another writer is psql there.
 */
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chat_store.h"
#include "log.h"
#include "metrics.h"
#include "sql.h"
#include "store_sql.h"
#include "test_db.h"
#include "token.h"

/* The entry, or NULL when there is none; a failed read fails the test (the
 * tests that make reads fail call the store directly). */
static const chat_room_info *room_get(chat_store *cs, int64_t id)
{
    const chat_room_info *r;
    int rc = chat_room_get(cs, id, &r);
    assert_true(rc >= 0);
    return r;
}

static const chat_user_info *user_get(chat_store *cs, int64_t id)
{
    const chat_user_info *u;
    int rc = chat_user_get(cs, id, &u);
    assert_true(rc >= 0);
    return u;
}

typedef struct fixture {
    struct event_base *base;
    sb_store *store;
    chat_store *cs;
    char dir[64];
    char pg_name[64]; /* and this test's database in it */
    char path[320];   /* the SQLite file, or the database's URL */
    int64_t user[4];
} fixture;

/* SQL through psql (PostgreSQL: another connection, as another node's) */
static int psql(const char *url, const char *sql)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "psql -X -q -v ON_ERROR_STOP=1 -d '%s' -c \"%s\" >/dev/null", url,
             sql);
    return system(cmd) == 0 ? 0 : -1;
}

/* A script run by another writer: another connection to the same database. */
static void other_writer(const fixture *f, const char *sql)
{
    if (sb_test_db_on_pg()) {
        assert_int_equal(psql(f->path, sql), 0);
        return;
    }
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/sb-chatstore-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/db.sqlite", f->dir);
    sb_log_set_level(SB_LOG_ERROR);
    if (sb_test_db_on_pg()) {
        static int seq;
        snprintf(f->pg_name, sizeof f->pg_name, "sb_chat_store_%d_%d", (int)getpid(), ++seq);
        if (sb_test_db_create(f->pg_name, f->path, sizeof f->path) != 0)
            return -1;
    }
    f->base = event_base_new();
    f->store = sb_store_open(f->path, false, err, sizeof err);
    if (!f->store || chat_store_migrate(f->store, err, sizeof err) != 0 ||
        chat_store_migrate(f->store, err, sizeof err) != 0) { /* twice: a no-op */
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char name[16], hash[65];
        snprintf(name, sizeof name, "u%d", i);
        snprintf(hash, sizeof hash, "%064d", i);
        f->user[i] = chat_user_create(f->store, name, CHAT_ROLE_TECHNICIAN, NULL, hash);
        if (!f->user[i])
            return -1;
    }
    f->cs = chat_store_new(f->store);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    sb_store_commit(f->store);
    chat_store_free(f->cs);
    sb_store_close(f->store);
    event_base_free(f->base);
    sb_metrics_reset_all_for_tests(); /* the next test's store registers them again */
    if (f->pg_name[0] && sb_test_db_drop(f->pg_name) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void assert_members(const chat_room_info *r, int64_t a, int64_t b)
{
    assert_non_null(r);
    assert_int_equal(r->n_members, 2);
    assert_true((r->members[0] == a && r->members[1] == b) ||
                (r->members[0] == b && r->members[1] == a));
}

static void test_rolled_back_savepoint(void **state)
{
    fixture *f = *state;
    bool created;
    assert_int_equal(sb_store_unit_begin(f->store), SB_STORE_OK);
    int64_t first = chat_direct_room(f->cs, f->user[0], f->user[1], &created);
    assert_true(created);
    assert_members(room_get(f->cs, first), f->user[0], f->user[1]);
    sb_store_unit_end(f->store, false); /* the message failed: the room goes too */

    assert_int_equal(sb_store_unit_begin(f->store), SB_STORE_OK);
    int64_t second = chat_direct_room(f->cs, f->user[2], f->user[3], &created);
    sb_store_unit_end(f->store, true);
    if (sb_test_db_on_pg()) { /* no ID is handed out twice: the first is simply gone */
        assert_true(second > first);
        assert_null(room_get(f->cs, first));
    } else {
        assert_int_equal(second, first); /* SQLite reuses the row ID */
    }
    assert_members(room_get(f->cs, second), f->user[2], f->user[3]);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_members(room_get(f->cs, second), f->user[2], f->user[3]);
}

static void test_lost_transaction(void **state)
{
    fixture *f = *state;
    bool created;
    assert_int_equal(sb_store_unit_begin(f->store), SB_STORE_OK);
    int64_t id = chat_direct_room(f->cs, f->user[0], f->user[2], &created);
    assert_true(created);
    assert_non_null(room_get(f->cs, id));
    sb_store_unit_end(f->store, true);
    /* as SQLITE_FULL does: SQLite rolls the whole transaction back */
    assert_int_equal(sqlite3_exec(sb_store_db(f->store), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_null(room_get(f->cs, id));
}

/* Another writer (another node, here a second connection to the same file)
 * adds a member to a room and renames a user that this store has read: the
 * next transaction sees both, while the entries handed out before stay
 * valid. Inside one transaction the entries read in it are used as read. */
static void test_changed_by_another_writer(void **state)
{
    fixture *f = *state;
    char sql[256];
    bool created;
    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    int64_t room = chat_direct_room(f->cs, f->user[0], f->user[1], &created);
    assert_true(created);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);

    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    const chat_room_info *before = room_get(f->cs, room);
    assert_members(before, f->user[0], f->user[1]);
    const chat_user_info *u0 = user_get(f->cs, f->user[0]);
    assert_string_equal(u0->full_name, "u0");
    assert_ptr_equal(room_get(f->cs, room), before); /* read once in the turn */
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    /* unchanged rows: the same entries in the next turn */
    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    assert_ptr_equal(room_get(f->cs, room), before);
    assert_ptr_equal(user_get(f->cs, f->user[0]), u0);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);

    snprintf(sql, sizeof sql,
             "INSERT INTO chat_room_members(room_id, user_id) VALUES(%lld, %lld);"
             "UPDATE chat_users SET full_name = 'renamed' WHERE id = %lld;",
             (long long)room, (long long)f->user[2], (long long)f->user[0]);
    other_writer(f, sql);

    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    const chat_room_info *after = room_get(f->cs, room);
    assert_non_null(after);
    assert_int_equal(after->n_members, 3);
    assert_true(chat_room_has_member(after, f->user[2]));
    assert_string_equal(user_get(f->cs, f->user[0])->full_name, "renamed");
    /* what was handed out before is still readable */
    assert_int_equal(before->n_members, 2);
    assert_string_equal(u0->full_name, "u0");
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);

    /* and a member removed, outside any transaction */
    snprintf(sql, sizeof sql,
             "DELETE FROM chat_room_members WHERE room_id = %lld AND user_id = %lld",
             (long long)room, (long long)f->user[1]);
    other_writer(f, sql);
    after = room_get(f->cs, room);
    assert_false(chat_room_has_member(after, f->user[1]));
    assert_int_equal(after->n_members, 2);
}

/* Statements that differ by engine, on SQLite: the new message's ID read
 * beside the counts, and a room where no one else is (one row, no count). */
static void test_insert_ids_and_counts(void **state)
{
    fixture *f = *state;
    int64_t existing = 0, members[1] = {f->user[0]};
    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    int64_t service = chat_service_create(f->store, "OPEN", "Ann", "+1 555 0101", "1 Main St");
    assert_true(service > 0);
    chat_service_row svc;
    assert_int_equal(chat_service_get(f->cs, service, &svc), 1);
    assert_int_equal(svc.created_at.len, 20); /* 2026-12-04T19:08:00Z, made in C */
    assert_int_equal(svc.created_at.ptr[10], 'T');
    int64_t alone = chat_service_room_create(f->store, service, members, 1);
    assert_true(alone > 0);
    chat_new_msg m = {
        .room_id = alone, .sender_id = f->user[0], .text = {"solo", 4}, .created_at = 1};
    int64_t first = chat_message_insert(f->cs, &m, &existing);
    assert_true(first > 0);
    const chat_unread *unread;
    assert_int_equal(chat_last_unread(f->cs, &unread), 0);
    bool created;
    int64_t room = chat_direct_room(f->cs, f->user[0], f->user[1], &created);
    m.room_id = room;
    m.client_message_id = (sb_str){"k-1", 3};
    int64_t second = chat_message_insert(f->cs, &m, &existing);
    assert_true(second > first);
    assert_int_equal(chat_last_unread(f->cs, &unread), 1);
    assert_int_equal(unread[0].user_id, f->user[1]);
    assert_int_equal(unread[0].unread, 1);
    /* the retry: nothing written, the stored ID */
    assert_int_equal(chat_message_insert(f->cs, &m, &existing), 0);
    assert_int_equal(existing, second);
    assert_int_equal(chat_unread_count(f->cs, room, f->user[1]), 1);
    m.room_id = alone;
    assert_int_equal(chat_message_insert(f->cs, &m, &existing), CHAT_INSERT_OTHER_ROOM);
    m.client_message_id = (sb_str){"k-2", 3};
    m.room_id = room;
    int64_t third = chat_message_insert(f->cs, &m, &existing);
    assert_true(third > second);
    assert_int_equal(chat_last_unread(f->cs, &unread), 1);
    assert_int_equal(unread[0].unread, 2);
    /* read up to the first: one left, and the watermark never goes down */
    int64_t left = -1;
    assert_int_equal(chat_mark_read(f->cs, room, f->user[1], second, &left), 0);
    assert_int_equal(left, 1);
    assert_int_equal(chat_mark_read(f->cs, room, f->user[1], first, &left), 0);
    assert_int_equal(left, 1);
    assert_int_equal(chat_last_read(f->cs, room, f->user[1]), second);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    /* the rooms, newest first */
    sb_cursor cur = SB_CURSOR_INIT;
    chat_room_row rr;
    assert_int_equal(chat_user_rooms(f->cs, f->user[0], &cur, &rr), 1);
    assert_int_equal(rr.room_id, room);
    assert_int_equal(rr.last_message_id, third);
    assert_int_equal(chat_user_rooms(f->cs, f->user[0], &cur, &rr), 1);
    assert_int_equal(rr.room_id, alone);
    assert_int_equal(chat_user_rooms(f->cs, f->user[0], &cur, &rr), 0);
}

/* A send that fails inside its unit (here: a room that does not exist, the
 * foreign key refuses it) takes nothing else with it: the turn's other
 * messages are stored. On PostgreSQL a failed statement aborts the
 * transaction, so sends run in units there (chat_send_needs_unit). */
static void test_failed_send_keeps_the_turn(void **state)
{
    fixture *f = *state;
    int64_t existing = 0;
    bool created;
    assert_int_equal(chat_send_needs_unit(f->cs), sb_test_db_on_pg());
    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    int64_t room = chat_direct_room(f->cs, f->user[0], f->user[1], &created);
    chat_new_msg m = {
        .room_id = room, .sender_id = f->user[0], .text = {"one", 3}, .created_at = 1};
    int64_t one = chat_message_insert(f->cs, &m, &existing);
    assert_true(one > 0);
    assert_int_equal(sb_store_unit_begin(f->store), SB_STORE_OK);
    m.room_id = INT64_C(999999999);
    m.text = (sb_str){"nowhere", 7};
    assert_int_equal(chat_message_insert(f->cs, &m, &existing), -1);
    sb_store_unit_end(f->store, false);
    m.room_id = room;
    m.text = (sb_str){"two", 3};
    int64_t two = chat_message_insert(f->cs, &m, &existing);
    assert_true(two > one);
    assert_false(sb_store_lost(f->store));
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    chat_msg_row row;
    assert_int_equal(chat_message_get(f->cs, one, &row), 1);
    assert_int_equal(chat_message_get(f->cs, two, &row), 1);
    assert_int_equal(chat_unread_count(f->cs, room, f->user[1]), 2);
}

/* Health (store.h, sb_store_health): a lost transaction makes the store
 * degraded, and the next commit that succeeds makes it healthy again. */
static void test_health_after_lost_transaction(void **state)
{
    fixture *f = *state;
    const char *reason = "unset";
    assert_true(sb_store_health(f->store, &reason));
    assert_null(reason);
    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    assert_int_equal(sqlite3_exec(sb_store_db(f->store), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_false(sb_store_health(f->store, &reason));
    assert_non_null(reason);
    assert_memory_equal(reason, "commit failed: ", 15);
    /* no commit since: still degraded (the probe is for locks only) */
    assert_false(sb_store_health(f->store, NULL));
    assert_int_equal(sb_store_begin(f->store), SB_STORE_OK);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_true(sb_store_health(f->store, &reason));
    assert_null(reason);
}

/* A lock held by another connection: begin fails, health says so, and
 * recovers through the probe as soon as the lock is free. */
static void test_health_locked(void **state)
{
    fixture *f = *state;
    char path[128];
    sqlite3 *other;
    const char *reason = NULL;
    snprintf(path, sizeof path, "%s/db.sqlite", f->dir);
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sb_store_begin(f->store), SB_STORE_BUSY);
    assert_false(sb_store_health(f->store, &reason));
    assert_string_equal(reason, "begin failed: database is locked");
    /* still held: the probe does not wait, and fails */
    assert_false(sb_store_health(f->store, NULL));
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_true(sb_store_health(f->store, &reason));
    assert_null(reason);
    assert_false(sb_store_in_tx(f->store)); /* the probe gave the lock back */
    sqlite3_close(other);
}

/* Migration 1 of the chat as released before the chat_ prefix, verbatim:
 * what every existing database has run. Never edit. */
static const char OLD_SCHEMA_V1[] =
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
    "  direct_key TEXT UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE room_members("
    "  room_id INTEGER NOT NULL REFERENCES rooms(id),"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  last_read INTEGER NOT NULL DEFAULT 0,"
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
    "  status INTEGER NOT NULL,"
    "  PRIMARY KEY (message_id, user_id)) WITHOUT ROWID;";

#define BIG INT64_C(1099511627776) /* 2^40: past what an int holds */

/* The rows, in the old names; %s: the token hashes of alice, bob, big. */
static const char OLD_ROWS[] =
    "CREATE TABLE IF NOT EXISTS sb_migrations("
    "module TEXT PRIMARY KEY, version INTEGER NOT NULL);"
    "INSERT INTO sb_migrations VALUES('chat', 1);"
    "INSERT INTO users VALUES(1, 'Alice', 'https://x/a.png', 'TECHNICIAN', '%s', 1700000000);"
    "INSERT INTO users VALUES(2, 'Bob', NULL, 'ADMIN', '%s', 1700000001);"
    "INSERT INTO users VALUES(1099511627776, 'Big', NULL, 'SUPER_ADMIN', '%s', 1700000002);"
    "INSERT INTO services VALUES(7, '2026-01-02T03:04:05Z', 'IN_PROGRESS', 'Maria Rivera',"
    "  '+1 555 0100', '12 Harbour Street');"
    "INSERT INTO rooms VALUES(1, 'SERVICE', 7, NULL, 1700000010);"
    "INSERT INTO rooms VALUES(2, 'TECHNICIAN_DIRECT', NULL, '1:1099511627776', 1700000011);"
    "INSERT INTO room_members VALUES(1, 1, 10, 1), (1, 2, 11, 1), (2, 1, 0, 1),"
    "  (2, 1099511627776, 0, 0);"
    "INSERT INTO messages VALUES(10, 1, 1, 'hello', NULL, NULL, 0, 1700000100, 'c-1');"
    "INSERT INTO messages VALUES(11, 1, 2, 'reply', 'file-9', 10, 0, 1700000101, NULL);"
    "INSERT INTO messages VALUES(12, 2, 1099511627776, 'big says hi', NULL, NULL, 0,"
    "  1700000102, 'c-2');"
    "INSERT INTO messages VALUES(13, 1, NULL, 'system note', NULL, NULL, 1, 1700000103, NULL);"
    "INSERT INTO message_status VALUES(10, 2, 2), (12, 1, 1);";

static const char *const TABLES[] = {"users",        "services", "rooms",
                                     "room_members", "messages", "message_status"};
enum { N_TABLES = sizeof TABLES / sizeof TABLES[0] };

/* Every row of a query, as text: columns split by '|', rows by '\n'. */
static char *dump(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "|" : "",
                                    t ? (const char *)t : "<null>");
            assert_true(len < cap - 64);
        }
        out[len++] = '\n';
    }
    sqlite3_finalize(st);
    return out;
}

static char *dump_table(sqlite3 *db, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1, 2", table);
    return dump(db, sql);
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static const char SCHEMA_NAMES[] =
    "SELECT type, name, tbl_name FROM sqlite_master ORDER BY type, name";

static void test_migrates_pre_prefix_database(void **state)
{
    (void)state;
    char dir[64], path[128], err[256], hash[3][SB_TOKEN_HEX_LEN + 1];
    static const char *const tokens[3] = {"alice-token", "bob-token", "big-token"};
    snprintf(dir, sizeof dir, "/tmp/sb-chatmig-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/old.db", dir);
    for (int i = 0; i < 3; i++)
        sb_token_hash(tokens[i], strlen(tokens[i]), hash[i]);

    /* the database as the binary before the prefix left it */
    sqlite3 *old;
    assert_int_equal(sqlite3_open(path, &old), SQLITE_OK);
    assert_int_equal(sqlite3_exec(old, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(old, OLD_SCHEMA_V1, NULL, NULL, NULL), SQLITE_OK);
    char rows[sizeof OLD_ROWS + 3 * SB_TOKEN_HEX_LEN];
    snprintf(rows, sizeof rows, OLD_ROWS, hash[0], hash[1], hash[2]);
    assert_int_equal(sqlite3_exec(old, rows, NULL, NULL, NULL), SQLITE_OK);
    char *before[N_TABLES];
    for (size_t i = 0; i < N_TABLES; i++) {
        before[i] = dump_table(old, TABLES[i]);
        assert_true(strlen(before[i]) > 0);
    }
    assert_int_equal(sqlite3_close(old), SQLITE_OK);

    /* opened by this binary */
    struct event_base *base = event_base_new();
    sb_store *store = sb_store_open(path, false, err, sizeof err);
    assert_non_null(store);
    assert_int_equal(chat_store_migrate(store, err, sizeof err), 0);
    sqlite3 *db = sb_store_db(store);
    assert_int_equal(one_int(db, "SELECT version FROM sb_migrations WHERE module = 'chat'"), 3);

    /* every row, under the new name; nothing under the old */
    for (size_t i = 0; i < N_TABLES; i++) {
        char name[64], sql[128];
        snprintf(name, sizeof name, "chat_%s", TABLES[i]);
        char *after = dump_table(db, name);
        assert_string_equal(after, before[i]);
        free(after);
        free(before[i]);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
                 TABLES[i]);
        assert_int_equal(one_int(db, sql), 0);
    }
    /* the references follow the renames, and still hold */
    char *fks = dump(db, "SELECT p.\"table\", p.\"from\" FROM pragma_foreign_key_list("
                         "'chat_room_members') p ORDER BY 2");
    assert_string_equal(fks, "chat_rooms|room_id\nchat_users|user_id\n");
    free(fks);
    fks = dump(db, "SELECT p.\"table\", p.\"from\" FROM pragma_foreign_key_list("
                   "'chat_messages') p ORDER BY 2");
    assert_string_equal(fks, "chat_rooms|room_id\nchat_users|sender_id\n");
    free(fks);
    fks = dump(db, "SELECT p.\"table\" FROM pragma_foreign_key_list('chat_rooms') p");
    assert_string_equal(fks, "chat_services\n");
    free(fks);
    assert_int_equal(one_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    char *ok = dump(db, "PRAGMA integrity_check");
    assert_string_equal(ok, "ok\n");
    free(ok);
    /* no name without the module's prefix is left */
    assert_int_equal(one_int(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'chat_%' "
                                 "AND name NOT LIKE 'sqlite_autoindex_chat_%' "
                                 "AND name NOT LIKE 'sb_migrations' "
                                 "AND name NOT LIKE 'sqlite_autoindex_sb_migrations_%'"),
                     0);
    char *upgraded = dump(db, SCHEMA_NAMES);

    /* through the store, as the server reads it */
    chat_store *cs = chat_store_new(store);
    assert_int_equal(chat_user_by_token_hash(cs, hash[0]), 1);
    assert_int_equal(chat_user_by_token_hash(cs, hash[1]), 2);
    assert_int_equal(chat_user_by_token_hash(cs, hash[2]), BIG);
    const chat_user_info *u = user_get(cs, BIG);
    assert_non_null(u);
    assert_string_equal(u->full_name, "Big");
    assert_int_equal(u->role, CHAT_ROLE_SUPER_ADMIN);
    u = user_get(cs, 1);
    assert_string_equal(u->avatar, "https://x/a.png");
    const chat_room_info *r = room_get(cs, 2);
    assert_members(r, 1, BIG);
    assert_int_equal(r->type, CHAT_ROOM_TYPE_TECHNICIAN_DIRECT);
    r = room_get(cs, 1);
    assert_members(r, 1, 2);
    assert_int_equal(r->service_id, 7);
    bool created;
    assert_int_equal(chat_direct_room(cs, BIG, 1, &created), 2);
    assert_false(created);

    chat_service_row svc;
    assert_int_equal(chat_service_get(cs, 7, &svc), 1);
    assert_int_equal(svc.status.len, strlen("IN_PROGRESS"));
    assert_memory_equal(svc.status.ptr, "IN_PROGRESS", svc.status.len);

    sb_cursor cur = SB_CURSOR_INIT;
    chat_msg_row row;
    int64_t want[] = {13, 11, 10}, n = 0;
    int rc;
    while ((rc = chat_room_history(cs, 1, 0, 10, &cur, &row)) == 1) {
        assert_true(n < 3);
        assert_int_equal(row.id, want[n]);
        if (row.id == 11) {
            assert_int_equal(row.replied_to, 10);
            assert_int_equal(row.sender_id, 2);
            assert_memory_equal(row.file_id.ptr, "file-9", 6);
        }
        assert_int_equal(row.is_system, row.id == 13);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3);
    assert_int_equal(chat_messages_since(cs, BIG, 0, 10, &cur, &row), 1);
    assert_int_equal(row.id, 12);
    assert_int_equal(row.sender_id, BIG);
    assert_int_equal(row.client_message_id.len, 3);
    assert_int_equal(chat_messages_since(cs, BIG, 0, 10, &cur, &row), 0);

    chat_room_row rr;
    int64_t rooms_want[][3] = {{1, 1, 13}, {2, 1, 12}}; /* room, unread, last message */
    n = 0;
    while ((rc = chat_user_rooms(cs, 1, &cur, &rr)) == 1) {
        assert_true(n < 2);
        assert_int_equal(rr.room_id, rooms_want[n][0]);
        assert_int_equal(rr.unread, rooms_want[n][1]);
        assert_int_equal(rr.last_message_id, rooms_want[n][2]);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 2);
    assert_int_equal(chat_unread_count(cs, 1, 2), 1);
    assert_int_equal(chat_last_read(cs, 1, 2), 11);
    assert_int_equal(chat_last_read(cs, 1, 1), 10);

    /* statuses: read stays read, delivered becomes read */
    assert_int_equal(chat_status_set(cs, 10, 2, 1), 0);
    assert_int_equal(chat_status_set(cs, 12, 1, 2), 1);
    /* the unique index of client message IDs was made again: a retry finds
     * the stored message */
    int64_t existing = 0;
    chat_new_msg m = {.room_id = 1,
                      .sender_id = 1,
                      .text = {"again", 5},
                      .client_message_id = {"c-1", 3},
                      .created_at = 1700000200};
    assert_int_equal(chat_message_insert(cs, &m, &existing), 0);
    assert_int_equal(existing, 10);
    m.client_message_id = (sb_str){"c-3", 3};
    assert_int_equal(chat_message_insert(cs, &m, &existing), 14);
    assert_int_equal(chat_unread_count(cs, 1, 2), 2);
    chat_store_free(cs);
    sb_store_close(store);
    sb_metrics_reset_all_for_tests();

    /* a new database has exactly the schema an upgraded one has */
    snprintf(path, sizeof path, "%s/new.db", dir);
    store = sb_store_open(path, false, err, sizeof err);
    assert_non_null(store);
    assert_int_equal(chat_store_migrate(store, err, sizeof err), 0);
    char *fresh = dump(sb_store_db(store), SCHEMA_NAMES);
    assert_string_equal(fresh, upgraded);
    free(fresh);
    free(upgraded);
    sb_store_close(store);
    sb_metrics_reset_all_for_tests();
    event_base_free(base);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_parse_id(void **state)
{
    (void)state;
#define PARSE(s) chat_parse_id(s, strlen(s))
    assert_int_equal(PARSE("1"), 1);
    assert_int_equal(PARSE("1099511627776"), BIG);
    assert_int_equal(PARSE("2147483648"), INT64_C(2147483648));
    assert_int_equal(PARSE("999999999999999999"), INT64_C(999999999999999999));
    assert_int_equal(PARSE("1000000000000000000"), INT64_C(1000000000000000000));
    assert_int_equal(PARSE("9223372036854775807"), INT64_MAX);
    assert_int_equal(PARSE("9223372036854775808"), 0); /* past INT64_MAX */
    assert_int_equal(PARSE("9999999999999999999"), 0);
    assert_int_equal(PARSE("10000000000000000000"), 0); /* 20 digits */
    assert_int_equal(PARSE("0"), 0);
    assert_int_equal(PARSE("01"), 0);
    assert_int_equal(PARSE("-1"), 0);
    assert_int_equal(PARSE("+1"), 0);
    assert_int_equal(PARSE("1a"), 0);
    assert_int_equal(PARSE(""), 0);
#undef PARSE
}

int main(void)
{
    /* what runs on both engines */
    const struct CMUnitTest both[] = {
        cmocka_unit_test_setup_teardown(test_rolled_back_savepoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_by_another_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_ids_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_send_keeps_the_turn, setup, teardown),
        cmocka_unit_test(test_parse_id),
    };
    if (sb_test_db_on_pg())
        return cmocka_run_group_tests_name("chat_store on PostgreSQL", both, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rolled_back_savepoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_by_another_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_ids_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_send_keeps_the_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_after_lost_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_locked, setup, teardown),
        cmocka_unit_test(test_migrates_pre_prefix_database),
        cmocka_unit_test(test_parse_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
