/*
 * test_dashboard_store.c: the dashboard's tables below its endpoints,
 * against a real database (no server): a ticket is used once and only
 * for its case and user (burnt by a mismatch), sessions and their prune,
 * the per-case dashboard with its version, and the upserts of component
 * data, views and the chat room; plus the refresh key's form and the
 * layout rules (dashboard_layout_problem). SB_TEST_DB=postgres runs it on a
 * fresh PostgreSQL database (test_dashboard_store_pg).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "ctx.h"
#include "dashboard_app.h"
#include "dashboard_store.h"
#include "log.h"
#include "metrics.h"
#include "sql.h"
#include "store.h"
#include "test_db.h"

typedef struct fixture {
    char dir[64];
    char pg_name[64]; /* and this test's database in it */
    sb_store *store;
    sb_arena arena;
} fixture;

/* SB_TEST_DB=postgres runs the same tests on a fresh PostgreSQL database
 * (test_db.h), dropped at teardown. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256], path[320];
    snprintf(f->dir, sizeof f->dir, "/tmp/sb-dashboard-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/db.sqlite", f->dir);
    sb_log_set_level(SB_LOG_ERROR);
    if (sb_test_db_on_pg()) {
        static int seq;
        snprintf(f->pg_name, sizeof f->pg_name, "sb_dashboard_store_%d_%d", (int)getpid(), ++seq);
        if (sb_test_db_create(f->pg_name, path, sizeof path) != 0)
            return -1;
    }
    f->store = sb_store_open(path, false, err, sizeof err);
    if (!f->store || dashboard_store_migrate(f->store, err, sizeof err) != 0 ||
        dashboard_store_migrate(f->store, err, sizeof err) != 0) { /* twice: a no-op */
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    sb_arena_init(&f->arena, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    sb_store_close(f->store);
    sb_metrics_reset_all_for_tests(); /* the next store registers its series again */
    sb_arena_free(&f->arena);
    if (f->pg_name[0] && sb_test_db_drop(f->pg_name) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void test_tickets(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    assert_int_equal(dashboard_ticket_add(s, "h1", "1", "42", 1000), 0);
    assert_int_equal(dashboard_ticket_add(s, "h2", "1", "42", 1000), 0);
    assert_int_equal(dashboard_ticket_add(s, "h3", "1", "42", 1000), 0);
    assert_int_equal(dashboard_ticket_take(s, "h1", "1", "42", 999), 0);
    assert_int_equal(dashboard_ticket_take(s, "h1", "1", "42", 999), 1);  /* used */
    assert_int_equal(dashboard_ticket_take(s, "h2", "2", "42", 999), 1);  /* another case */
    assert_int_equal(dashboard_ticket_take(s, "h2", "1", "42", 999), 1);  /* burnt by it */
    assert_int_equal(dashboard_ticket_take(s, "h3", "1", "42", 1000), 1); /* expired */
    assert_int_equal(dashboard_ticket_take(s, "nope", "1", "42", 0), 1);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
    /* the prune drops expired tickets */
    assert_int_equal(dashboard_ticket_add(s, "h4", "1", "42", 5000), 0);
    assert_int_equal(dashboard_prune(s, 2000, 1000), 3);
    assert_int_equal(dashboard_ticket_take(s, "h4", "1", "42", 2000), 0);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

static void test_sessions(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    dashboard_fin fin;
    assert_int_equal(dashboard_fin_add(s, "f1", "c", "u", 100, 10000), 0);
    assert_int_equal(dashboard_fin_add(s, "f2", "c", "u", 100, 10000), 0);
    assert_int_equal(dashboard_fin_get(s, "f1", 200, 500, &fin), 0);
    assert_string_equal(fin.case_id, "c");
    assert_string_equal(fin.user_id, "u");
    assert_int_equal(fin.used_ms, 100);
    assert_int_equal(fin.expires_ms, 10000);
    assert_int_equal(dashboard_fin_touch(s, "f1", 900), 0);
    assert_int_equal(dashboard_fin_get(s, "f1", 1000, 500, &fin), 0);
    assert_int_equal(fin.used_ms, 900);
    /* the expiry is the query's: idle (f2, used at 100, gone at 600 with
     * idle 500) and absolute (f1 at its end), before any prune */
    assert_int_equal(dashboard_fin_get(s, "f2", 599, 500, &fin), 0);
    assert_int_equal(dashboard_fin_get(s, "f2", 600, 500, &fin), 1);
    assert_int_equal(dashboard_fin_get(s, "f1", 9999, 1000000, &fin), 0);
    assert_int_equal(dashboard_fin_get(s, "f1", 10000, 1000000, &fin), 1);
    /* a touch never moves the last use back (a node with a clock behind) */
    assert_int_equal(dashboard_fin_touch(s, "f1", 800), 0);
    assert_int_equal(dashboard_fin_get(s, "f1", 1000, 500, &fin), 0);
    assert_int_equal(fin.used_ms, 900);
    /* idle 500: f2 (used at 100) goes at 700, f1 (used at 900) stays */
    assert_int_equal(dashboard_prune(s, 1000, 500), 1);
    assert_int_equal(dashboard_fin_get(s, "f2", 200, 500, &fin), 1);
    assert_int_equal(dashboard_fin_get(s, "f1", 1000, 500, &fin), 0);
    /* past its absolute end it goes, used or not */
    assert_int_equal(dashboard_prune(s, 10000, 1000000), 1);
    assert_int_equal(dashboard_fin_get(s, "f1", 1000, 500, &fin), 1);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

static void test_case_data_views(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    int64_t v;
    const char *json;
    size_t len;
    assert_int_equal(dashboard_case_get(s, &f->arena, "1", &v, &json, &len), 1);
    assert_int_equal(dashboard_case_put(s, "1", 1, "{\"a\":1}", 7, 5), 0);
    assert_int_equal(dashboard_case_put(s, "1", 2, "{\"a\":2}", 7, 6), 0);
    /* a version is moved on once: a write based on a stale one (the first,
     * or one in the middle) changes nothing and says so */
    assert_int_equal(dashboard_case_put(s, "1", 1, "{\"a\":9}", 7, 7), 1);
    assert_int_equal(dashboard_case_put(s, "1", 2, "{\"a\":9}", 7, 7), 1);
    assert_int_equal(dashboard_case_put(s, "1", 4, "{\"a\":9}", 7, 7), 1);
    assert_int_equal(dashboard_case_put(s, "2", 2, "{\"a\":9}", 7, 7), 1); /* none stored */
    assert_int_equal(dashboard_case_get(s, &f->arena, "1", &v, &json, &len), 0);
    assert_int_equal(v, 2);
    assert_int_equal(len, 7);
    assert_memory_equal(json, "{\"a\":2}", 7);
    assert_int_equal(dashboard_data_get(s, &f->arena, "1", "t", &json, &len), 1);
    assert_int_equal(dashboard_data_put(s, "1", "t", "[1]", 3, "k1", 1), 0);
    assert_int_equal(dashboard_data_put(s, "1", "t", "\"\xc3\xa9\"", 4, "k2", 2), 0);
    assert_int_equal(dashboard_data_get(s, &f->arena, "1", "t", &json, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(json, "\"\xc3\xa9\"", 4);
    assert_int_equal(dashboard_data_get(s, &f->arena, "2", "t", &json, &len), 1); /* per case */
    assert_int_equal(dashboard_view_put(s, "1", "faq", "{}", 2, 1), 0);
    assert_int_equal(dashboard_view_get(s, &f->arena, "1", "faq", &json, &len), 0);
    assert_int_equal(dashboard_view_get(s, &f->arena, "1", "buttons", &json, &len), 1);
    int64_t room = 0;
    assert_int_equal(dashboard_chat_get(s, "1", &room), 1);
    assert_int_equal(dashboard_chat_set(s, "1", 3, 1), 0);
    assert_int_equal(dashboard_chat_set(s, "1", 4, 2), 0);
    assert_int_equal(dashboard_chat_get(s, "1", &room), 0);
    assert_int_equal(room, 4);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

static void test_refresh_key(void **state)
{
    (void)state;
    char key[DASHBOARD_KEY_MAX];
    dashboard_refresh_key(key);
    assert_int_equal(strlen(key), 20);
    for (int i = 0; i < 20; i++)
        assert_true(key[i] >= '0' && key[i] <= '9');
    assert_true(strncmp(key, "20", 2) == 0);
}

static dashboard_dashboard_component comp(const char *id, dashboard_dashboard_component_type t,
                                          dashboard_dashboard_position p,
                                          dashboard_dashboard_component_name n, const char *src)
{
    dashboard_dashboard_component c = {
        .type = t, .id = {id, strlen(id)}, .position = p, .component_name = n};
    if (src) {
        c.src = (sb_str){src, strlen(src)};
        c.has.src = SB_SET;
    } else {
        c.has.src = SB_NULL;
    }
    return c;
}

static void test_layout_rules(void **state)
{
    fixture *f = *state;
    struct sb_ctx ctx = {.arena = &f->arena};
    dashboard_dashboard_component c[3] = {
        comp("w", DASHBOARD_DASHBOARD_COMPONENT_TYPE_WATERFALL,
             DASHBOARD_DASHBOARD_POSITION_RIGHT_FULL,
             DASHBOARD_DASHBOARD_COMPONENT_NAME_WATERFALL_COMPONENT, NULL),
        comp("b", DASHBOARD_DASHBOARD_COMPONENT_TYPE_BUTTERFLY,
             DASHBOARD_DASHBOARD_POSITION_TOP_LEFT,
             DASHBOARD_DASHBOARD_COMPONENT_NAME_BUTTERFLY_COMPONENT, NULL),
        comp("c", DASHBOARD_DASHBOARD_COMPONENT_TYPE_CHAT, DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT,
             DASHBOARD_DASHBOARD_COMPONENT_NAME_CHAT_COMPONENT, NULL),
    };
    dashboard_init_data_data d = {
        .dsettings = {.layout_type = DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_TALL_3,
                      .custom_layout = SB_STR_LIT(" {\"x\":1}")}};
    d.components.items = c;
    d.components.count = 3;
    assert_null(
        dashboard_layout_problem(&ctx, &d)); /* the mirrored tall set; a chat needs no src */
    c[2].position = DASHBOARD_DASHBOARD_POSITION_BOTTOM_RIGHT; /* from the other set */
    assert_string_equal(dashboard_layout_problem(&ctx, &d),
                        "components[2].position: bottom_right is not a slot of view_tall_3 here");
    c[2].position = DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT;
    d.dsettings.custom_layout = SB_STR_LIT("null");
    assert_string_equal(dashboard_layout_problem(&ctx, &d),
                        "dsettings.custom_layout: must be a JSON object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_data_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
