/*
 * test_therapy_store.c: the therapy protocol's pieces below its endpoints,
 * against a real SQLite file (no server): phone and name folding, audiences,
 * the action log's order and audiences, the login state and the rate-limit
 * log's counts, and the CLI's user and session helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "log.h"
#include "metrics.h"
#include "sql.h"
#include "store.h"
#include "test_db.h"
#include "therapy_app.h"
#include "therapy_store.h"

typedef struct fixture {
    char dir[64];
    char pg_name[64]; /* and this test's database in it */
    char path[320];   /* the database: a file or a URL */
    sb_store *store;
    sb_arena arena;
} fixture;

/* SB_TEST_DB=postgres runs the same tests on a fresh PostgreSQL database
 * (test_db.h), dropped at teardown. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256], path[320];
    snprintf(f->dir, sizeof f->dir, "/tmp/sb-therapy-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/db.sqlite", f->dir);
    sb_log_set_level(SB_LOG_ERROR);
    if (sb_test_db_on_pg()) {
        static int seq;
        snprintf(f->pg_name, sizeof f->pg_name, "sb_therapy_store_%d_%d", (int)getpid(), ++seq);
        if (sb_test_db_create(f->pg_name, path, sizeof path) != 0)
            return -1;
    }
    snprintf(f->path, sizeof f->path, "%s", path);
    f->store = sb_store_open(path, false, err, sizeof err);
    if (!f->store || therapy_store_migrate(f->store, err, sizeof err) != 0 ||
        therapy_store_migrate(f->store, err, sizeof err) != 0) { /* twice: a no-op */
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

static void test_phone(void **state)
{
    (void)state;
    char out[THERAPY_PHONE_MAX + 1];
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        {"+15555550101", "+15555550101"},
        {"+1 555 555-0101", "+15555550101"},
        {"(555) 555.0101", "+15555550101"}, /* ten digits: North American */
        {"+44 20 7946 0958", "+442079460958"},
        {"5555550101x", NULL},
        {"+1555555O101", NULL},      /* a letter O */
        {"+١٥٥٥٥٥٥٠١٠١", NULL},      /* Arabic-Indic digits */
        {"555 0101", NULL},          /* no country, not ten digits */
        {"+1234567", NULL},          /* 7 digits */
        {"+1234567890123456", NULL}, /* 16 digits */
        {"1+5555550101", NULL},      /* + not first */
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = therapy_phone_normalize(cases[i].in, strlen(cases[i].in), out);
        if (cases[i].want) {
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].want);
        } else {
            assert_int_equal(rc, -1);
        }
    }
}

static void test_name_key(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(therapy_name_key("  Doe ", 6, out, sizeof out), 0);
    assert_string_equal(out, "doe");
    assert_int_equal(therapy_name_key("McDONALD", 8, out, sizeof out), 0);
    assert_string_equal(out, "mcdonald");
    assert_int_equal(therapy_name_key("   ", 3, out, sizeof out), -1);
    assert_int_equal(therapy_name_key("abcdefghijklmnopq", 17, out, sizeof out), -1);
}

static void test_audience(void **state)
{
    (void)state;
    assert_true(therapy_audience_has(NULL, "P1"));
    assert_true(therapy_audience_has(",P1,P22,", "P22"));
    assert_true(therapy_audience_has(",P1,P22,", "P1"));
    assert_false(therapy_audience_has(",P1,P22,", "P2")); /* a prefix of P22 */
    assert_false(therapy_audience_has(",P12,", "P1"));    /* a prefix of P12 */
    assert_false(therapy_audience_has(",XP1,", "P1"));    /* a suffix of XP1 */
}

static void test_actions(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    assert_int_equal(sb_store_begin(s), SB_STORE_OK);
    int64_t a = therapy_action_insert(s, 7, "message", "P1", 0, NULL, 1000, "{}");
    int64_t b = therapy_action_insert(s, 8, "message", "P2", 0, NULL, 1000, NULL);
    int64_t c = therapy_action_insert(s, 7, "message", "P1", 0, ",P1,P3,", 1001, NULL);
    assert_true(a > 0 && b > a && c > b);
    assert_int_equal(therapy_action_set_json(s, a, "{\"x\":1}", 7), 0);
    /* session 7's, in order, with their audiences; never session 8's */
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_action_row row;
    int64_t seen[4];
    int n = 0;
    while (therapy_actions_since(s, 7, 0, 1000, &cur, &row) == 1)
        seen[n++] = row.id;
    assert_int_equal(n, 2);
    assert_true(seen[0] == a && seen[1] == c);
    assert_int_equal(therapy_actions_max(s, 7), c);
    /* one action, copied out of the statement */
    assert_int_equal(therapy_action_get(s, 7, c, &f->arena, &row), 0);
    assert_string_equal(row.audience, ",P1,P3,");
    assert_string_equal(row.author, "P1");
    assert_int_equal(therapy_action_get(s, 7, b, &f->arena, &row), 1); /* another session's */
    assert_int_equal(therapy_action_get(s, 7, a, &f->arena, &row), 0);
    assert_string_equal(row.json, "{\"x\":1}");
    assert_false(row.deleted);
    assert_int_equal(therapy_action_scrub(s, a, "{}", 2), 0);
    assert_int_equal(therapy_action_get(s, 7, a, &f->arena, &row), 0);
    assert_true(row.deleted);
    assert_int_equal(therapy_action_find(s, 7, "delete", a), 0);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

static void test_login_state(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    assert_int_equal(sb_store_begin(s), SB_STORE_OK);
    assert_int_equal(therapy_login_put(s, "tok1", "P1", "ph1", "code1", 100, 700), 0);
    assert_int_equal(therapy_login_put(s, "tok2", NULL, "ph1", "code2", 100, 700), 0);
    therapy_login_row l;
    assert_int_equal(therapy_login_get(s, "tok1", &l), 0);
    assert_string_equal(l.user, "P1");
    assert_int_equal(l.state, 0);
    assert_int_equal(therapy_login_get(s, "tok2", &l), 0);
    assert_string_equal(l.user, ""); /* nobody matched: the row is the same shape */
    assert_int_equal(therapy_login_mark_used(s, "tok1"), 0);
    assert_int_equal(therapy_login_get(s, "tok1", &l), 0);
    assert_int_equal(l.state, 1);
    /* only the latest code of a phone: the older logins go */
    assert_int_equal(therapy_login_drop_phone(s, "ph1"), 0);
    assert_int_equal(therapy_login_get(s, "tok1", &l), 1);
    assert_int_equal(therapy_login_get(s, "tok2", &l), 1);

    /* the rate-limit log: per phone, per address, everyone, within the window */
    assert_int_equal(therapy_event_add(s, "send", "ph1", "1.2.3.4", 1000), 0);
    assert_int_equal(therapy_event_add(s, "send", "ph1", "1.2.3.4", 2000), 0);
    assert_int_equal(therapy_event_add(s, "send", "ph2", "5.6.7.8", 3000), 0);
    assert_int_equal(therapy_event_add(s, "fail", "ph1", "1.2.3.4", 3000), 0);
    int64_t oldest = 0, newest = 0;
    assert_int_equal(therapy_event_count(s, "send", "ph1", NULL, 0, &oldest, &newest), 2);
    assert_int_equal(oldest, 1000);
    assert_int_equal(newest, 2000);
    assert_int_equal(therapy_event_count(s, "send", "ph1", NULL, 1500, NULL, NULL), 1);
    assert_int_equal(therapy_event_count(s, "send", NULL, "1.2.3.4", 0, NULL, NULL), 2);
    assert_int_equal(therapy_event_count(s, "send", NULL, NULL, 0, NULL, NULL), 3);
    assert_int_equal(therapy_event_count(s, "fail", "ph1", NULL, 0, NULL, NULL), 1);
    assert_int_equal(therapy_event_prune(s, 2500), 0);
    assert_int_equal(therapy_event_count(s, "send", NULL, NULL, 0, NULL, NULL), 1);

    /* sessions: made, touched, pruned by idle and by age */
    therapy_auth_row a;
    assert_int_equal(therapy_auth_put(s, "h1", "P1", 1000), 0);
    assert_int_equal(therapy_auth_put(s, "h2", "P2", 5000), 0);
    assert_int_equal(therapy_auth_set_ts(s, "h1", 7), 0);
    assert_int_equal(therapy_auth_touch(s, "h1", 9000), 0);
    assert_int_equal(therapy_auth_get(s, "h1", &a), 0);
    assert_int_equal(a.ts_id, 7);
    assert_int_equal(a.last_ms, 9000);
    assert_int_equal(a.created_ms, 1000);
    assert_int_equal(therapy_auth_prune(s, 6000, 0), 0); /* h2 idle since 5000 */
    assert_int_equal(therapy_auth_get(s, "h2", &a), 1);
    assert_int_equal(therapy_auth_prune(s, 0, 2000), 0); /* h1 made at 1000 */
    assert_int_equal(therapy_auth_get(s, "h1", &a), 1);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

static void test_people(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    char id[THERAPY_ID_MAX + 1], err[256];
    assert_int_equal(sb_store_begin(s), SB_STORE_OK);
    assert_int_equal(therapy_add_user(s, "T1", "+1 555 555 0100", "Rivera", "Dr. Rivera",
                                      "therapist", id, err, sizeof err),
                     0);
    assert_int_equal(
        therapy_add_user(s, NULL, "5555550101", " Lee ", "Sam", "participant", id, err, sizeof err),
        0);
    assert_int_equal(id[0], 'P');
    assert_int_equal(strlen(id), 7);
    char p1[THERAPY_ID_MAX + 1];
    snprintf(p1, sizeof p1, "%s", id);
    /* the same phone and last name again: refused */
    assert_int_equal(therapy_add_user(s, NULL, "+15555550101", "LEE", "Sam 2", "participant", id,
                                      err, sizeof err),
                     -1);
    assert_int_equal(
        therapy_add_user(s, "bad id", "+15555550102", "X", "X", "participant", id, err, sizeof err),
        -1);
    assert_int_equal(
        therapy_add_user(s, NULL, "+15555550102", "X", "X", "admin", id, err, sizeof err), -1);
    /* found by the normalized phone and the folded name */
    therapy_user u;
    char phone[33];
    assert_int_equal(therapy_user_find(s, "+15555550101", "lee", &u, phone), 0);
    assert_string_equal(u.id, p1);
    assert_string_equal(phone, "+15555550101");

    const char *parts[] = {p1};
    const char *assess[] = {"location:complete", "survey:incomplete:https://example.com/s?a=1"};
    int64_t ts = therapy_add_session(s, "Group", "2026-12-10T18:00:00Z", parts, 1, "T1", assess, 2,
                                     err, sizeof err);
    assert_true(ts > 0);
    char role[16];
    assert_int_equal(therapy_member_role(s, ts, "T1", role), 0);
    assert_string_equal(role, "therapist");
    assert_int_equal(therapy_member_role(s, ts, p1, role), 0);
    assert_string_equal(role, "participant");
    assert_int_equal(therapy_member_role(s, ts + 1, p1, role), 1);
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_assessment_row row;
    assert_int_equal(therapy_assessments_of(s, ts, p1, &cur, &row), 1);
    assert_string_equal(row.name, "location");
    assert_null(row.url);
    assert_int_equal(therapy_assessments_of(s, ts, p1, &cur, &row), 1);
    assert_string_equal(row.url, "https://example.com/s?a=1"); /* ':' in the URL kept */
    assert_int_equal(therapy_assessments_of(s, ts, p1, &cur, &row), 0);
    /* refusals: a participant as therapist, a bad date, an unknown participant */
    assert_true(therapy_add_session(s, "G", "2026-12-10T18:00:00Z", parts, 1, p1, NULL, 0, err,
                                    sizeof err) < 0);
    assert_true(
        therapy_add_session(s, "G", "next tuesday", parts, 1, "T1", NULL, 0, err, sizeof err) < 0);
    const char *nobody[] = {"P0"};
    assert_true(therapy_add_session(s, "G", "2026-12-10T18:00:00Z", nobody, 1, "T1", NULL, 0, err,
                                    sizeof err) < 0);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

/* Several writers: the code's one try is one conditional update (a second
 * claim gets nothing, whoever makes it); a rate-limit key's row counts its
 * locks and goes with the events it guarded; a session's last activity only
 * moves forward; a user's ID or phone taken is answered 1 without failing
 * the transaction (PostgreSQL would abort the rest of it). */
static void test_several_writers(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    assert_int_equal(sb_store_begin(s), SB_STORE_OK);
    assert_int_equal(therapy_login_put(s, "tok", "P1", "ph1", "code", 100, 700), 0);
    therapy_login_row l;
    assert_int_equal(therapy_login_claim(s, "tok", &l), 0);
    assert_string_equal(l.user, "P1");
    assert_string_equal(l.code_hash, "code");
    assert_int_equal(l.expires_ms, 700);
    assert_int_equal(l.state, 1);
    assert_int_equal(therapy_login_claim(s, "tok", &l), 1); /* used */
    assert_int_equal(therapy_login_claim(s, "none", &l), 1);
    /* a new code on the same cookie has its try again */
    assert_int_equal(therapy_login_put(s, "tok", "P1", "ph1", "code2", 200, 800), 0);
    assert_int_equal(therapy_login_claim(s, "tok", &l), 0);
    assert_string_equal(l.code_hash, "code2");

    assert_int_equal(therapy_limit_lock(s, "phone:ph1", 1000), 1);
    assert_int_equal(therapy_limit_lock(s, "phone:ph1", 2000), 2);
    assert_int_equal(therapy_limit_lock(s, "phone:ph2", 3000), 1);
    assert_int_equal(therapy_event_prune(s, 2500), 0); /* ph1 last locked at 2000 */
    assert_int_equal(therapy_limit_lock(s, "phone:ph1", 4000), 1);
    assert_int_equal(therapy_limit_lock(s, "phone:ph2", 4000), 2);

    therapy_auth_row a;
    assert_int_equal(therapy_auth_put(s, "h1", "P1", 1000), 0);
    assert_int_equal(therapy_auth_touch(s, "h1", 9000), 0);
    assert_int_equal(therapy_auth_touch(s, "h1", 8000), 0); /* an older node's touch */
    assert_int_equal(therapy_auth_get(s, "h1", &a), 0);
    assert_int_equal(a.last_ms, 9000);

    /* an expired session goes only if it is still expired in the row */
    assert_int_equal(therapy_auth_expire(s, "h1", 8500, 0), 0); /* touched at 9000 since */
    assert_int_equal(therapy_auth_get(s, "h1", &a), 0);
    assert_int_equal(therapy_auth_expire(s, "h1", 0, 500), 0); /* made at 1000 */
    assert_int_equal(therapy_auth_get(s, "h1", &a), 0);
    assert_int_equal(therapy_auth_expire(s, "h1", 9500, 0), 0);
    assert_int_equal(therapy_auth_get(s, "h1", &a), 1);

    /* the action log's lock answers its max, and appends go on after it */
    int64_t ts = therapy_session_add(s, "G", "2026-12-10T18:00:00Z", 1);
    assert_true(ts > 0);
    assert_int_equal(therapy_actions_lock(s, ts), 0);
    int64_t id = therapy_action_insert(s, ts, "message", "P1", 0, NULL, 1000, NULL);
    assert_true(id > 0);
    assert_int_equal(therapy_actions_lock(s, ts), id);

    assert_int_equal(therapy_user_add(s, "U1", "+15550000001", "doe", "Doe", "U", "participant"),
                     0);
    assert_int_equal(therapy_user_add(s, "U1", "+15550000002", "doe", "Doe", "U", "participant"),
                     1);
    assert_int_equal(therapy_user_add(s, "U2", "+15550000001", "doe", "Doe", "U", "participant"),
                     1);
    assert_int_equal(therapy_user_add(s, "U2", "+15550000002", "doe", "Doe", "U", "participant"),
                     0);
    assert_int_equal(therapy_user_count(s), 2);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

/* An assessment's update keeps its place (it used to move to the end: a
 * replace made a new rowid); a new one goes last. */
static void test_assessment_order(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    assert_int_equal(sb_store_begin(s), SB_STORE_OK);
    assert_int_equal(therapy_assessment_set(s, 5, "P1", "b-first", "incomplete", NULL), 0);
    assert_int_equal(therapy_assessment_set(s, 5, "P1", "a-second", "incomplete", "https://x"), 0);
    assert_int_equal(therapy_assessment_set(s, 5, "P2", "other", "incomplete", NULL), 0);
    assert_int_equal(therapy_assessment_set(s, 5, "P1", "b-first", "complete", NULL), 0);
    assert_int_equal(therapy_assessment_set(s, 5, "P1", "c-third", "incomplete", NULL), 0);
    const char *want[] = {"b-first", "a-second", "c-third"};
    const char *status[] = {"complete", "incomplete", "incomplete"};
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_assessment_row row;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(therapy_assessments_of(s, 5, "P1", &cur, &row), 1);
        assert_string_equal(row.name, want[i]);
        assert_string_equal(row.status, status[i]);
    }
    assert_int_equal(therapy_assessments_of(s, 5, "P1", &cur, &row), 0);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
}

/* Two nodes starting on one empty database seed the demo once: the second
 * counts the users under the first's lock, after its commit (it counted
 * first and then added the same users: refused, the demo reported failed,
 * or on PostgreSQL its turn lost). Here the first holds the lock while a
 * child process (another node) seeds, then commits one user of its own. */
static void test_demo_seeded_once(void **state)
{
    fixture *f = *state;
    sb_store *s = f->store;
    /* forked before any lock is taken (SQLite keeps a process's locks in
     * memory the child would inherit); the child starts on a byte sent
     * once the lock is held */
    int go[2];
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char err[256], c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        sb_store *other = sb_store_open(f->path, false, err, sizeof err);
        int out = open("/dev/null", O_WRONLY); /* the demo's printout */
        if (out >= 0)
            dup2(out, 1);
        _exit(other && therapy_seed_demo(other, f->path) == 0 ? 0 : 1);
    }
    close(go[0]);
    assert_int_equal(sb_store_begin(s), SB_STORE_OK);
    assert_true(therapy_limit_lock(s, "demo", 1) > 0);
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    /* the child waits for the lock meanwhile: on SQLite within the busy
     * timeout (200 ms), on PostgreSQL as long as it takes */
    struct timespec wait = {0, (sb_test_db_on_pg() ? 300 : 100) * 1000 * 1000};
    nanosleep(&wait, NULL);
    assert_int_equal(therapy_user_add(s, "X1", "+15550009999", "x", "X", "X", "participant"), 0);
    assert_int_equal(sb_store_commit(s), SB_STORE_OK);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(therapy_user_count(s), 1); /* the child found X1 and added nobody */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_name_key),
        cmocka_unit_test(test_audience),
        cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assessment_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_seeded_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
