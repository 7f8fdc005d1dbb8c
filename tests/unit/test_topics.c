/* test_topics.c: sb_topics, the topic -> connections index: counted
 * subscriptions, unsubscribe, leave_all, topics freed when empty, enough
 * topics and connections to rehash both tables, and the key size limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topics.h"

static bool has_conn(const sb_topics *t, const char *topic, uint64_t conn)
{
    size_t n;
    const uint64_t *c = sb_topics_conns(t, topic, &n);
    for (size_t i = 0; i < n; i++)
        if (c[i] == conn)
            return true;
    return false;
}

static size_t n_conns(const sb_topics *t, const char *topic)
{
    size_t n;
    sb_topics_conns(t, topic, &n);
    return n;
}

static void test_subscribe_counts(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    assert_non_null(t);
    assert_int_equal(sb_topics_count(t), 0);
    assert_int_equal(n_conns(t, "a"), 0);

    assert_int_equal(sb_topics_subscribe(t, "a", 1), 0);
    assert_int_equal(sb_topics_subscribe(t, "a", 2), 0);
    assert_int_equal(sb_topics_subscribe(t, "b", 1), 0);
    assert_int_equal(sb_topics_count(t), 2);
    assert_int_equal(n_conns(t, "a"), 2);
    assert_int_equal(n_conns(t, "b"), 1);

    /* twice: still one entry, but two unsubscribes to leave */
    assert_int_equal(sb_topics_subscribe(t, "a", 1), 0);
    assert_int_equal(n_conns(t, "a"), 2);
    sb_topics_unsubscribe(t, "a", 1);
    assert_true(has_conn(t, "a", 1));
    sb_topics_unsubscribe(t, "a", 1);
    assert_false(has_conn(t, "a", 1));
    assert_true(has_conn(t, "a", 2));
    assert_int_equal(sb_topics_count(t), 2);

    /* the last subscriber gone: the topic is freed */
    sb_topics_unsubscribe(t, "a", 2);
    assert_int_equal(n_conns(t, "a"), 0);
    assert_null(sb_topics_conns(t, "a", &(size_t){0}));
    assert_int_equal(sb_topics_count(t), 1);

    /* unsubscribing what is not there is harmless */
    sb_topics_unsubscribe(t, "a", 2);
    sb_topics_unsubscribe(t, "b", 99);
    sb_topics_unsubscribe(t, "nope", 1);
    assert_int_equal(sb_topics_count(t), 1);
    assert_true(has_conn(t, "b", 1));

    /* a prefix is another topic */
    assert_int_equal(sb_topics_subscribe(t, "user:1", 5), 0);
    assert_int_equal(n_conns(t, "user:10"), 0);
    assert_int_equal(n_conns(t, "user:"), 0);
    sb_topics_free(t);
}

static void test_leave_all(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    const char *keys[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sb_topics_subscribe(t, keys[i], 7), 0);
        assert_int_equal(sb_topics_subscribe(t, keys[i], 7), 0); /* counted twice */
    }
    assert_int_equal(sb_topics_subscribe(t, "b", 8), 0);
    assert_int_equal(sb_topics_count(t), 4);
    sb_topics_leave_all(t, 7);
    for (size_t i = 0; i < 4; i++)
        assert_false(has_conn(t, keys[i], 7));
    assert_int_equal(sb_topics_count(t), 1); /* b keeps 8 */
    assert_true(has_conn(t, "b", 8));
    /* again, and for a connection with nothing: harmless */
    sb_topics_leave_all(t, 7);
    sb_topics_leave_all(t, 12345);
    /* it can come back */
    assert_int_equal(sb_topics_subscribe(t, "a", 7), 0);
    assert_true(has_conn(t, "a", 7));
    sb_topics_leave_all(t, 8);
    sb_topics_leave_all(t, 7);
    assert_int_equal(sb_topics_count(t), 0);
    sb_topics_free(t);
}

/* Past both tables' 256 buckets, against a plain matrix. */
#define CONNS 700
#define TOPICS 900
static void test_many(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    static unsigned char sub[CONNS][TOPICS];
    memset(sub, 0, sizeof sub);
    char key[SB_TOPIC_MAX];
    uint64_t x = 42;
    for (int i = 0; i < 60000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned c = (unsigned)(x >> 33) % CONNS, k = (unsigned)(x >> 13) % TOPICS;
        sb_topic_id(key, "room", k);
        if (sub[c][k] && (x >> 7) % 3 == 0) {
            sb_topics_unsubscribe(t, key, c + 1);
            sub[c][k]--;
        } else if (sub[c][k] < 3) {
            assert_int_equal(sb_topics_subscribe(t, key, c + 1), 0);
            sub[c][k]++;
        }
    }
    /* every third connection leaves everything */
    for (unsigned c = 0; c < CONNS; c += 3) {
        sb_topics_leave_all(t, c + 1);
        memset(sub[c], 0, sizeof sub[c]);
    }
    size_t live = 0;
    for (unsigned k = 0; k < TOPICS; k++) {
        sb_topic_id(key, "room", k);
        size_t want = 0;
        for (unsigned c = 0; c < CONNS; c++) {
            want += sub[c][k] > 0;
            assert_int_equal(has_conn(t, key, c + 1), sub[c][k] > 0);
        }
        assert_int_equal(n_conns(t, key), want);
        live += want > 0;
    }
    assert_int_equal(sb_topics_count(t), live);
    assert_true(live > 256);
    /* everyone leaves: nothing is left */
    for (unsigned c = 0; c < CONNS; c++)
        sb_topics_leave_all(t, c + 1);
    assert_int_equal(sb_topics_count(t), 0);
    sb_topics_free(t);
}

static void test_key_limits(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    char key[SB_TOPIC_MAX + 2];
    memset(key, 'k', sizeof key);
    key[SB_TOPIC_MAX - 1] = '\0'; /* 127 bytes: the longest */
    assert_int_equal(sb_topics_subscribe(t, key, 1), 0);
    assert_true(has_conn(t, key, 1));
    key[SB_TOPIC_MAX - 1] = 'k';
    key[SB_TOPIC_MAX] = '\0'; /* 128: over */
    assert_int_equal(sb_topics_subscribe(t, key, 1), -1);
    key[SB_TOPIC_MAX + 1] = '\0';
    key[SB_TOPIC_MAX] = 'k';
    assert_int_equal(sb_topics_subscribe(t, key, 1), -1);
    assert_int_equal(sb_topics_subscribe(t, "", 1), -1);
    assert_int_equal(sb_topics_count(t), 1);
    sb_topics_leave_all(t, 1);
    assert_int_equal(sb_topics_count(t), 0);

    /* sb_topic_id: prefix:id, cut to fit */
    char buf[SB_TOPIC_MAX];
    assert_string_equal(sb_topic_id(buf, "user", 5), "user:5");
    assert_string_equal(sb_topic_id(buf, "case", -9223372036854775807LL - 1),
                        "case:-9223372036854775808");
    char prefix[200];
    memset(prefix, 'p', sizeof prefix - 1);
    prefix[sizeof prefix - 1] = '\0';
    assert_int_equal(strlen(sb_topic_id(buf, prefix, 1)), SB_TOPIC_MAX - 1);
    assert_int_equal(sb_topics_subscribe(t, buf, 1), 0);
    sb_topics_free(t); /* with a subscription left: freed all the same */
}

/* The bus' watch: told of a topic's first subscriber and of its last one
 * leaving, once each, whatever the counts and however it leaves. */
typedef struct watched {
    char log[512];
    size_t len;
} watched;

static void on_first(void *arg, const char *topic)
{
    watched *w = arg;
    w->len += (size_t)snprintf(w->log + w->len, sizeof w->log - w->len, "+%s ", topic);
}

static void on_last(void *arg, const char *topic)
{
    watched *w = arg;
    w->len += (size_t)snprintf(w->log + w->len, sizeof w->log - w->len, "-%s ", topic);
}

static void each(void *arg, const char *topic)
{
    on_first(arg, topic);
}

static void test_watch(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    watched w = {{0}, 0};
    sb_topics_set_watch(t, on_first, on_last, &w);
    assert_int_equal(sb_topics_subscribe(t, "user:1", 10), 0);
    assert_int_equal(sb_topics_subscribe(t, "user:1", 10), 0); /* counted: no news */
    assert_int_equal(sb_topics_subscribe(t, "user:1", 11), 0); /* a second connection */
    assert_int_equal(sb_topics_subscribe(t, "room:2", 10), 0);
    assert_string_equal(w.log, "+user:1 +room:2 ");
    sb_topics_unsubscribe(t, "user:1", 10); /* one of two counts */
    sb_topics_unsubscribe(t, "user:1", 11);
    assert_string_equal(w.log, "+user:1 +room:2 ");
    sb_topics_leave_all(t, 10); /* user:1 (its last count) and room:2 */
    assert_non_null(strstr(w.log, "-user:1 "));
    assert_non_null(strstr(w.log, "-room:2 "));
    assert_int_equal(sb_topics_count(t), 0);
    /* a refused key is never announced */
    w.len = 0;
    w.log[0] = '\0';
    assert_int_equal(sb_topics_subscribe(t, "", 1), -1);
    assert_string_equal(w.log, "");
    /* each: every topic with subscribers */
    assert_int_equal(sb_topics_subscribe(t, "a", 1), 0);
    assert_int_equal(sb_topics_subscribe(t, "b", 2), 0);
    sb_topics_set_watch(t, NULL, NULL, NULL);
    w.len = 0;
    w.log[0] = '\0';
    sb_topics_each(t, each, &w);
    assert_true(strcmp(w.log, "+a +b ") == 0 || strcmp(w.log, "+b +a ") == 0);
    sb_topics_unsubscribe(t, "a", 1); /* no watch: nothing told */
    sb_topics_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_counts),
        cmocka_unit_test(test_leave_all),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_key_limits),
        cmocka_unit_test(test_watch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
