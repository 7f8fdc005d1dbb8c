/* test_arena.c: the bump allocator's promises (arena.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return false;
    return true;
}

static void test_alignment_and_zero(void **state)
{
    (void)state;
    sb_arena a;
    sb_arena_init(&a, 0);
    for (size_t n = 0; n < 200; n++) {
        unsigned char *p = sb_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_true(all_zero(p, n));
        memset(p, 0xAB, n); /* dirty it so reuse after reset is tested */
    }
    sb_arena_reset(&a);
    for (size_t n = 1; n < 200; n++) {
        unsigned char *p = sb_arena_alloc(&a, n);
        assert_non_null(p);
        assert_true(all_zero(p, n));
    }
    sb_arena_free(&a);
}

static void test_allocations_do_not_overlap(void **state)
{
    (void)state;
    sb_arena a;
    sb_arena_init(&a, 0);
    unsigned char *ptrs[64];
    size_t sizes[64];
    for (int i = 0; i < 64; i++) {
        sizes[i] = (size_t)(i * 97 % 3000) + 1;
        ptrs[i] = sb_arena_alloc(&a, sizes[i]);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], i + 1, sizes[i]);
    }
    for (int i = 0; i < 64; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            assert_int_equal(ptrs[i][j], i + 1);
    sb_arena_free(&a);
}

static void test_oversize_gets_own_block(void **state)
{
    (void)state;
    sb_arena a;
    sb_arena_init(&a, 0);
    char *small1 = sb_arena_alloc(&a, 16);
    char *big = sb_arena_alloc(&a, (size_t)3 << 20); /* 3 MiB */
    char *small2 = sb_arena_alloc(&a, 16);
    assert_non_null(small1);
    assert_non_null(big);
    assert_non_null(small2);
    assert_true(all_zero(big, (size_t)3 << 20));
    /* The small allocations keep bumping through the first block. */
    assert_ptr_equal(small2, small1 + 16);
    assert_int_equal(a.used, 32 + ((size_t)3 << 20));
    sb_arena_reset(&a);
    assert_int_equal(a.used, 0);
    /* Reset keeps exactly one (normal) block. */
    assert_non_null(a.head);
    char *again = sb_arena_alloc(&a, 16);
    assert_ptr_equal(again, small1);
    sb_arena_free(&a);
    assert_null(a.head);
}

static void test_limit(void **state)
{
    (void)state;
    sb_arena a;
    sb_arena_init(&a, 100);
    assert_non_null(sb_arena_alloc(&a, 60));
    assert_non_null(sb_arena_alloc(&a, 40)); /* exactly at the limit */
    assert_null(sb_arena_alloc(&a, 1));      /* one past */
    assert_non_null(sb_arena_alloc(&a, 0));  /* nothing asked, nothing refused */
    sb_arena_reset(&a);
    assert_non_null(sb_arena_alloc(&a, 100));
    assert_null(sb_arena_alloc(&a, SIZE_MAX));
    sb_arena_free(&a);

    sb_arena_init(&a, 0);
    assert_null(sb_arena_alloc(&a, SIZE_MAX)); /* no limit, still no wraparound */
    assert_null(sb_arena_alloc(&a, SIZE_MAX - 8));
    sb_arena_free(&a);
}

static void test_many_blocks(void **state)
{
    (void)state;
    sb_arena a;
    sb_arena_init(&a, SB_ARENA_DEFAULT_LIMIT);
    size_t total = 0;
    for (int round = 0; round < 3; round++) {
        total = 0;
        while (total < ((size_t)4 << 20)) {
            char *p = sb_arena_alloc(&a, 1000);
            assert_non_null(p);
            p[999] = 1;
            total += 1000;
        }
        assert_int_equal(a.used, total);
        sb_arena_reset(&a);
    }
    sb_arena_free(&a);
    sb_arena_free(&a); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_zero),
        cmocka_unit_test(test_allocations_do_not_overlap),
        cmocka_unit_test(test_oversize_gets_own_block),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_many_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
