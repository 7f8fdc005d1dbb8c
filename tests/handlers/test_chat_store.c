/*
 * test_chat_store.c: the chat's room cache against rolled-back rooms.
 *
 * A direct room made inside a transaction that then fails (a rolled-back
 * savepoint, or a transaction SQLite lost) must not stay cached: SQLite
 * gives its row ID to the next room made, and a stale entry would hand that
 * room's messages to the wrong members.
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
#include "store_sql.h"

typedef struct fixture {
    struct event_base *base;
    sb_store *store;
    chat_store *cs;
    char dir[64];
    int64_t user[4];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256], path[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/sb-chatstore-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/db.sqlite", f->dir);
    sb_log_set_level(SB_LOG_ERROR);
    f->base = event_base_new();
    f->store = sb_store_open(f->base, path, false, err, sizeof err);
    if (!f->store || chat_store_migrate(f->store, err, sizeof err) != 0)
        return -1;
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
    assert_members(chat_room_get(f->cs, first), f->user[0], f->user[1]);
    sb_store_unit_end(f->store, false); /* the message failed: the room goes too */

    assert_int_equal(sb_store_unit_begin(f->store), SB_STORE_OK);
    int64_t second = chat_direct_room(f->cs, f->user[2], f->user[3], &created);
    sb_store_unit_end(f->store, true);
    assert_int_equal(second, first); /* SQLite reuses the row ID */
    assert_members(chat_room_get(f->cs, second), f->user[2], f->user[3]);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_members(chat_room_get(f->cs, second), f->user[2], f->user[3]);
}

static void test_lost_transaction(void **state)
{
    fixture *f = *state;
    bool created;
    assert_int_equal(sb_store_unit_begin(f->store), SB_STORE_OK);
    int64_t id = chat_direct_room(f->cs, f->user[0], f->user[2], &created);
    assert_true(created);
    assert_non_null(chat_room_get(f->cs, id));
    sb_store_unit_end(f->store, true);
    /* as SQLITE_FULL does: SQLite rolls the whole transaction back */
    assert_int_equal(sqlite3_exec(sb_store_db(f->store), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_null(chat_room_get(f->cs, id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rolled_back_savepoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_transaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
