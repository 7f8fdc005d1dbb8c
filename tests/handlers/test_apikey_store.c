/*
 * test_apikey_store.c: operator API keys (handlers/apikey.h, core_store.h)
 * against a real SQLite file, with hand-built requests.
 *
 * What is stored: the key's SHA-256, never the key; a key is "sbk_" and 64
 * hex digits, fresh each time. The check: a valid key is accepted with its
 * ID; a wrong, revoked, missing or malformed one is refused with one and the
 * same answer; a failed lookup is a storage error, not a refusal.
 * last_used_at: set on use, then written at most once a minute (no write,
 * not even a transaction, in between).
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

#include "apikey.h"
#include "core_store.h"
#include "log.h"
#include "metrics.h"
#include "store_sql.h"
#include "token.h"

#define T0 1700000000 /* a fixed clock for the checks */

typedef struct fixture {
    struct event_base *base;
    sb_store *store;
    core_store *cs;
    char dir[64];
    char key[CORE_APIKEY_LEN + 1];
    int64_t id;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256], path[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/sb-apikey-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/db.sqlite", f->dir);
    sb_log_set_level(SB_LOG_ERROR);
    f->base = event_base_new();
    f->store = sb_store_open(path, false, err, sizeof err);
    if (!f->store || core_store_migrate(f->store, err, sizeof err) != 0)
        return -1;
    if (core_store_migrate(f->store, err, sizeof err) != 0) /* twice: a no-op */
        return -1;
    f->cs = core_store_new(f->store);
    if (!f->cs || core_apikey_add(f->cs, "ci", T0 - 3600, f->key, &f->id) != CORE_APIKEY_ADDED)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    sb_store_commit(f->store);
    core_store_free(f->cs);
    sb_store_close(f->store);
    event_base_free(f->base);
    sb_metrics_reset_all_for_tests();
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* The check against one Authorization header (NULL: none), with another
 * header beside it as a real request has. */
static core_apikey_status check(fixture *f, const char *authorization, int64_t now, int64_t *key_id)
{
    sb_header headers[2] = {{"host", "localhost"}, {"authorization", authorization}};
    sb_http_request req = {
        .method = "POST",
        .path = "/api/v1/realtime/updates",
        .headers = headers,
        .n_headers = authorization ? 2 : 1,
        .body = "",
    };
    return core_apikey_check_at(f->cs, &req, now, key_id);
}

static core_apikey_status check_key(fixture *f, const char *key, int64_t now, int64_t *key_id)
{
    char h[256];
    snprintf(h, sizeof h, "Bearer %s", key);
    return check(f, h, now, key_id);
}

static int64_t last_used(fixture *f, const char *name)
{
    core_apikey_row row;
    assert_int_equal(core_apikey_by_name(f->cs, name, &row), 1);
    return row.last_used_at;
}

static void test_key_shape_and_stored_hash(void **state)
{
    fixture *f = *state;
    assert_int_equal(strlen(f->key), CORE_APIKEY_LEN);
    assert_memory_equal(f->key, "sbk_", 4);
    for (size_t i = 4; i < CORE_APIKEY_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", f->key[i]));

    char key2[CORE_APIKEY_LEN + 1];
    int64_t id2;
    assert_int_equal(core_apikey_add(f->cs, "dashboard", T0, key2, &id2), CORE_APIKEY_ADDED);
    assert_int_not_equal(id2, f->id);
    assert_string_not_equal(key2, f->key);

    /* the row holds the SHA-256 of the whole key text, and the key nowhere */
    char want[SB_TOKEN_HEX_LEN + 1];
    sb_token_hash(f->key, CORE_APIKEY_LEN, want);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(sb_store_db(f->store),
                                        "SELECT name, key_hash, created_at, last_used_at, "
                                        "revoked_at FROM core_api_keys WHERE id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, f->id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ci");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), want);
    assert_int_equal(sqlite3_column_int64(st, 2), T0 - 3600);
    assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
    assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
    for (int c = 0; c < 5; c++) {
        const unsigned char *t = sqlite3_column_text(st, c);
        assert_true(!t || !strstr((const char *)t, f->key + 4));
    }
    sqlite3_finalize(st);
}

static void test_name_taken(void **state)
{
    fixture *f = *state;
    char key[CORE_APIKEY_LEN + 1];
    int64_t id = 0;
    assert_int_equal(core_apikey_add(f->cs, "ci", T0, key, &id), CORE_APIKEY_NAME_TAKEN);
    assert_int_equal(core_apikey_revoke(f->cs, f->id, T0), 1);
    /* a revoked key keeps its name */
    assert_int_equal(core_apikey_add(f->cs, "ci", T0, key, &id), CORE_APIKEY_NAME_TAKEN);
}

static void test_valid_key_accepted(void **state)
{
    fixture *f = *state;
    int64_t id = 0;
    assert_int_equal(check_key(f, f->key, T0, &id), CORE_APIKEY_OK);
    assert_int_equal(id, f->id);
    assert_int_equal(check_key(f, f->key, T0, NULL), CORE_APIKEY_OK); /* key_id optional */
    /* the scheme is case-insensitive (RFC 7235), extra spaces before the key too */
    char h[128];
    snprintf(h, sizeof h, "bearer   %s", f->key);
    assert_int_equal(check(f, h, T0, &id), CORE_APIKEY_OK);
}

static void test_refused(void **state)
{
    fixture *f = *state;
    char other[CORE_APIKEY_LEN + 1], upper[CORE_APIKEY_LEN + 1], longer[CORE_APIKEY_LEN + 2],
        h[160];
    int64_t id = -7;

    /* a well-formed key that is not ours: one hex digit changed */
    memcpy(other, f->key, sizeof other);
    other[10] = other[10] == '0' ? '1' : '0';
    assert_int_equal(check_key(f, other, T0, &id), CORE_APIKEY_REFUSED);
    /* no header, another scheme, an empty bearer */
    assert_int_equal(check(f, NULL, T0, &id), CORE_APIKEY_REFUSED);
    snprintf(h, sizeof h, "Basic %s", f->key);
    assert_int_equal(check(f, h, T0, &id), CORE_APIKEY_REFUSED);
    assert_int_equal(check(f, "Bearer ", T0, &id), CORE_APIKEY_REFUSED);
    assert_int_equal(check(f, "Bearer", T0, &id), CORE_APIKEY_REFUSED);
    assert_int_equal(check(f, f->key, T0, &id), CORE_APIKEY_REFUSED); /* no scheme */
    /* malformed: without its prefix, another prefix, short, long, upper case */
    assert_int_equal(check_key(f, f->key + 4, T0, &id), CORE_APIKEY_REFUSED);
    snprintf(h, sizeof h, "sbx_%s", f->key + 4);
    assert_int_equal(check_key(f, h, T0, &id), CORE_APIKEY_REFUSED);
    snprintf(h, sizeof h, "%.*s", CORE_APIKEY_LEN - 1, f->key);
    assert_int_equal(check_key(f, h, T0, &id), CORE_APIKEY_REFUSED);
    snprintf(longer, sizeof longer, "%s0", f->key);
    assert_int_equal(check_key(f, longer, T0, &id), CORE_APIKEY_REFUSED);
    snprintf(h, sizeof h, "%s ", f->key);
    assert_int_equal(check_key(f, h, T0, &id), CORE_APIKEY_REFUSED);
    memcpy(upper, f->key, sizeof upper);
    for (size_t i = 4; i < CORE_APIKEY_LEN; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f')
            upper[i] = (char)(upper[i] - 'a' + 'A');
    if (strcmp(upper, f->key) != 0) /* (a key of digits only is as good as any) */
        assert_int_equal(check_key(f, upper, T0, &id), CORE_APIKEY_REFUSED);
    /* the stored hash itself is not a key */
    char hash[SB_TOKEN_HEX_LEN + 1];
    sb_token_hash(f->key, CORE_APIKEY_LEN, hash);
    snprintf(h, sizeof h, "sbk_%s", hash);
    assert_int_equal(check_key(f, h, T0, &id), CORE_APIKEY_REFUSED);
    assert_int_equal(check_key(f, hash, T0, &id), CORE_APIKEY_REFUSED);

    /* revoked: refused like an unknown key, from the revocation on */
    assert_int_equal(check_key(f, f->key, T0, &id), CORE_APIKEY_OK);
    assert_int_equal(core_apikey_revoke(f->cs, f->id, T0 + 1), 1);
    assert_int_equal(core_apikey_revoke(f->cs, f->id, T0 + 2), 0); /* already */
    id = -7;
    assert_int_equal(check_key(f, f->key, T0 + 3, &id), CORE_APIKEY_REFUSED);
    assert_int_equal(id, -7); /* untouched when refused */
    /* refusals write nothing */
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_int_equal(last_used(f, "ci"), T0);
}

static void test_last_used_rate_limited(void **state)
{
    fixture *f = *state;
    assert_int_equal(last_used(f, "ci"), 0);
    assert_int_equal(check_key(f, f->key, T0, NULL), CORE_APIKEY_OK);
    /* written inside the turn's transaction */
    assert_true(sb_store_in_tx(f->store));
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_int_equal(last_used(f, "ci"), T0);

    /* within the minute: no write, not even a transaction opened */
    assert_int_equal(check_key(f, f->key, T0 + 1, NULL), CORE_APIKEY_OK);
    assert_int_equal(check_key(f, f->key, T0 + 59, NULL), CORE_APIKEY_OK);
    assert_false(sb_store_in_tx(f->store));
    assert_int_equal(last_used(f, "ci"), T0);

    /* a minute on: written again */
    assert_int_equal(check_key(f, f->key, T0 + 60, NULL), CORE_APIKEY_OK);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_int_equal(last_used(f, "ci"), T0 + 60);

    /* one key's use does not touch another's */
    char key2[CORE_APIKEY_LEN + 1];
    int64_t id2;
    assert_int_equal(core_apikey_add(f->cs, "other", T0, key2, &id2), CORE_APIKEY_ADDED);
    assert_int_equal(check_key(f, f->key, T0 + 200, NULL), CORE_APIKEY_OK);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_int_equal(last_used(f, "other"), 0);

    /* a lost transaction loses the write, and the next use makes it again */
    assert_int_equal(check_key(f, f->key, T0 + 300, NULL), CORE_APIKEY_OK);
    assert_int_equal(sqlite3_exec(sb_store_db(f->store), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_int_equal(last_used(f, "ci"), T0 + 200);
    assert_int_equal(check_key(f, f->key, T0 + 301, NULL), CORE_APIKEY_OK);
    assert_int_equal(sb_store_commit(f->store), SB_STORE_OK);
    assert_int_equal(last_used(f, "ci"), T0 + 301);
}

static void test_list_shows_no_secret(void **state)
{
    fixture *f = *state;
    char key2[CORE_APIKEY_LEN + 1];
    int64_t id2;
    assert_int_equal(core_apikey_add(f->cs, "dashboard", T0, key2, &id2), CORE_APIKEY_ADDED);
    assert_int_equal(core_apikey_revoke(f->cs, f->id, T0 + 5), 1);
    sb_cursor cur = SB_CURSOR_INIT;
    core_apikey_row row;
    assert_int_equal(core_apikey_list(f->cs, &cur, &row), 1);
    assert_int_equal(row.id, f->id);
    assert_string_equal(row.name, "ci");
    assert_int_equal(row.created_at, T0 - 3600);
    assert_int_equal(row.revoked_at, T0 + 5);
    assert_int_equal(core_apikey_list(f->cs, &cur, &row), 1);
    assert_int_equal(row.id, id2);
    assert_string_equal(row.name, "dashboard");
    assert_int_equal(row.revoked_at, 0);
    assert_int_equal(core_apikey_list(f->cs, &cur, &row), 0);
    assert_null(cur.impl);
}

/* A lookup that fails is not a refusal: the endpoint answers 503, not 401. */
static void test_store_error(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        sqlite3_exec(sb_store_db(f->store), "DROP TABLE core_api_keys", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(check_key(f, f->key, T0, NULL), CORE_APIKEY_STORE_ERROR);
    /* a malformed key is refused before any lookup */
    assert_int_equal(check(f, "Bearer nope", T0, NULL), CORE_APIKEY_REFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_shape_and_stored_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_key_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_used_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_shows_no_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
