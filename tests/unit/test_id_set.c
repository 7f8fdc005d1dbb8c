/* test_id_set.c: sb_id_set (runtime/id_set.h), the bounded sorted set of IDs
 * a connection was sent: each ID once whatever the order of the adds,
 * negative and extreme IDs, the bound (past it: "new" and the overflow flag,
 * nothing recorded), a clear that empties and keeps the bound, and a set big
 * enough to grow several times, checked against a plain array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "id_set.h"

static void test_each_once(void **state)
{
    (void)state;
    sb_id_set s = SB_ID_SET_INIT;
    assert_false(sb_id_set_has(&s, 5));
    assert_true(sb_id_set_add(&s, 5));
    assert_true(sb_id_set_add(&s, 3));
    assert_true(sb_id_set_add(&s, 9));
    assert_false(sb_id_set_add(&s, 5));
    assert_false(sb_id_set_add(&s, 3));
    assert_true(sb_id_set_has(&s, 9));
    assert_false(sb_id_set_has(&s, 4));
    assert_int_equal(s.n, 3);
    /* sorted */
    assert_true(s.ids[0] == 3 && s.ids[1] == 5 && s.ids[2] == 9);
    assert_true(sb_id_set_add(&s, INT64_MIN));
    assert_true(sb_id_set_add(&s, INT64_MAX));
    assert_true(sb_id_set_add(&s, -1));
    assert_false(sb_id_set_add(&s, INT64_MIN));
    assert_true(s.ids[0] == INT64_MIN && s.ids[s.n - 1] == INT64_MAX);
    sb_id_set_clear(&s);
}

static void test_bound(void **state)
{
    (void)state;
    sb_id_set s = {.max = 4};
    for (int64_t i = 1; i <= 4; i++)
        assert_true(sb_id_set_add(&s, i * 10));
    assert_false(s.overflow);
    /* full: a new ID is "new" (sent: a duplicate may get through, never a
     * loss), not recorded, and the set says so */
    assert_true(sb_id_set_add(&s, 25));
    assert_true(s.overflow);
    assert_false(sb_id_set_has(&s, 25));
    assert_true(sb_id_set_add(&s, 25));
    /* what it holds is still known */
    assert_false(sb_id_set_add(&s, 30));
    assert_int_equal(s.n, 4);
    sb_id_set_clear(&s);
    assert_false(s.overflow);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.max, 4);
    for (int64_t i = 1; i <= 4; i++)
        assert_true(sb_id_set_add(&s, i));
    assert_true(sb_id_set_add(&s, 5));
    assert_true(s.overflow);
    sb_id_set_clear(&s);
}

static void test_default_bound(void **state)
{
    (void)state;
    sb_id_set s = SB_ID_SET_INIT;
    for (int64_t i = 0; i < SB_ID_SET_MAX; i++)
        assert_true(sb_id_set_add(&s, i));
    assert_false(s.overflow);
    assert_true(sb_id_set_add(&s, SB_ID_SET_MAX));
    assert_true(s.overflow);
    assert_int_equal(s.n, SB_ID_SET_MAX);
    sb_id_set_clear(&s);
}

/* Out of order, with repeats, against a plain array of flags. */
static void test_against_array(void **state)
{
    (void)state;
    enum { RANGE = 5000, ADDS = 20000 };
    static bool in[RANGE];
    memset(in, 0, sizeof in);
    sb_id_set s = SB_ID_SET_INIT;
    uint32_t x = 12345;
    for (int k = 0; k < ADDS; k++) {
        x = x * 1103515245u + 12345u;
        int64_t id = (int64_t)((x >> 8) % RANGE) - RANGE / 2;
        bool was = in[id + RANGE / 2];
        assert_int_equal(sb_id_set_add(&s, id), !was);
        in[id + RANGE / 2] = true;
    }
    size_t count = 0;
    for (int64_t id = -RANGE / 2; id < RANGE / 2; id++) {
        assert_int_equal(sb_id_set_has(&s, id), in[id + RANGE / 2]);
        count += in[id + RANGE / 2];
    }
    assert_int_equal(s.n, count);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.ids[i - 1] < s.ids[i]);
    sb_id_set_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_once),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_default_bound),
        cmocka_unit_test(test_against_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
