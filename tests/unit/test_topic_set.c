/* test_topic_set.c: sb_topic_set (runtime/topic_set.h), the union of
 * topics' connections minus others': one entry per connection whatever the
 * number of its topics, exclusion whatever the order of the calls, unknown
 * and empty topics, single connections, reuse after a reset, and a set big
 * enough to grow its arrays several times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topic_set.h"

static void expect(sb_topic_set *s, const uint64_t *want, size_t n_want)
{
    size_t n = 99;
    const uint64_t *got = sb_topic_set_finish(s, &n);
    assert_non_null(got);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_union_once(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    assert_non_null(t);
    /* 1 and 2 in a, 2 and 3 in b; 2 twice in a (a counted subscription) */
    assert_int_equal(sb_topics_subscribe(t, "a", 1), 0);
    assert_int_equal(sb_topics_subscribe(t, "a", 2), 0);
    assert_int_equal(sb_topics_subscribe(t, "a", 2), 0);
    assert_int_equal(sb_topics_subscribe(t, "b", 3), 0);
    assert_int_equal(sb_topics_subscribe(t, "b", 2), 0);
    sb_topic_set s;
    sb_topic_set_init(&s);
    sb_topic_set_add(&s, t, "b");
    sb_topic_set_add(&s, t, "a");
    sb_topic_set_add(&s, t, "a"); /* named twice */
    sb_topic_set_add(&s, t, "nobody");
    expect(&s, (const uint64_t[]){1, 2, 3}, 3);
    sb_topic_set_free(&s);
    sb_topics_free(t);
}

static void test_except(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    for (uint64_t c = 1; c <= 6; c++)
        assert_int_equal(sb_topics_subscribe(t, "company", c), 0);
    assert_int_equal(sb_topics_subscribe(t, "art", 2), 0);
    assert_int_equal(sb_topics_subscribe(t, "art", 5), 0);
    assert_int_equal(sb_topics_subscribe(t, "art", 99), 0); /* not in the union */
    assert_int_equal(sb_topics_subscribe(t, "other", 6), 0);
    sb_topic_set s;
    sb_topic_set_init(&s);
    /* except before add: the order does not matter */
    sb_topic_set_except(&s, t, "art");
    sb_topic_set_add(&s, t, "company");
    sb_topic_set_except(&s, t, "other");
    sb_topic_set_except(&s, t, "nobody");
    expect(&s, (const uint64_t[]){1, 3, 4}, 3);
    /* everything excluded */
    sb_topic_set_reset(&s);
    sb_topic_set_add(&s, t, "art");
    sb_topic_set_except(&s, t, "art");
    expect(&s, NULL, 0);
    /* nothing added */
    sb_topic_set_reset(&s);
    sb_topic_set_except(&s, t, "art");
    expect(&s, NULL, 0);
    sb_topic_set_free(&s);
    sb_topics_free(t);
}

static void test_conns(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    assert_int_equal(sb_topics_subscribe(t, "x", 7), 0);
    sb_topic_set s;
    sb_topic_set_init(&s);
    sb_topic_set_add_conn(&s, 9);
    sb_topic_set_add_conn(&s, 7);
    sb_topic_set_add_conn(&s, 9);
    sb_topic_set_add_conn(&s, UINT64_MAX);
    sb_topic_set_add_conn(&s, 0);
    expect(&s, (const uint64_t[]){0, 7, 9, UINT64_MAX}, 4);
    sb_topic_set_reset(&s);
    sb_topic_set_add_conn(&s, 7);
    sb_topic_set_add_conn(&s, 8);
    sb_topic_set_except(&s, t, "x");
    expect(&s, (const uint64_t[]){8}, 1);
    sb_topic_set_free(&s);
    sb_topic_set_free(&s); /* twice is fine */
    sb_topics_free(t);
}

static void test_many(void **state)
{
    (void)state;
    sb_topics *t = sb_topics_new();
    char key[32];
    /* 20 topics of 500 connections each, overlapping by half; the odd
     * connections subscribe to "odd" */
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof key, "t%d", k);
        for (uint64_t c = (uint64_t)k * 250; c < (uint64_t)k * 250 + 500; c++)
            assert_int_equal(sb_topics_subscribe(t, key, c), 0);
    }
    for (uint64_t c = 1; c < 6000; c += 2)
        assert_int_equal(sb_topics_subscribe(t, "odd", c), 0);
    sb_topic_set s;
    sb_topic_set_init(&s);
    for (int k = 19; k >= 0; k--) {
        snprintf(key, sizeof key, "t%d", k);
        sb_topic_set_add(&s, t, key);
    }
    sb_topic_set_except(&s, t, "odd");
    size_t n;
    const uint64_t *got = sb_topic_set_finish(&s, &n);
    assert_non_null(got);
    /* 0 .. 19*250+499 = 5249, the even ones */
    assert_int_equal(n, 2625);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], 2 * i);
    sb_topic_set_free(&s);
    sb_topics_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_union_once),
        cmocka_unit_test(test_except),
        cmocka_unit_test(test_conns),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
