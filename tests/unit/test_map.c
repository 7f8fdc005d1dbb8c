/* test_map.c: sb_map against a plain array, through inserts, replacements
 * and deletions (deletion moves entries back within their cluster). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "map.h"

#define KEYS 2000

static void test_map_against_array(void **state)
{
    (void)state;
    static int values[KEYS + 1];
    static int present[KEYS + 1];
    sb_map m;
    sb_map_init(&m);
    uint64_t x = 12345;
    size_t live = 0;
    for (int op = 0; op < 200000; op++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t key = (int64_t)(x >> 33) % KEYS + 1;
        if ((x >> 20) % 3 == 0) {
            void *v = sb_map_del(&m, key);
            assert_ptr_equal(v, present[key] ? &values[key] : NULL);
            live -= present[key];
            present[key] = 0;
        } else {
            assert_int_equal(sb_map_put(&m, key, &values[key]), 0);
            live += !present[key];
            present[key] = 1;
        }
        if (op % 1000 == 0) {
            for (int64_t k = 1; k <= KEYS; k++)
                assert_ptr_equal(sb_map_get(&m, k), present[k] ? &values[k] : NULL);
            assert_int_equal(m.used, live);
        }
    }
    assert_null(sb_map_del(&m, KEYS + 5));
    sb_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_map_against_array)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
