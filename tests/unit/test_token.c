/* test_token.c: token generation, hashing and comparison (token.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void test_new_token_shape(void **state)
{
    (void)state;
    char a[SB_TOKEN_HEX_LEN + 1], b[SB_TOKEN_HEX_LEN + 1];
    assert_int_equal(sb_token_new(a), 0);
    assert_int_equal(sb_token_new(b), 0);
    assert_int_equal(strlen(a), 64);
    assert_true(is_lower_hex(a, 64));
    assert_true(is_lower_hex(b, 64));
    assert_string_not_equal(a, b); /* 2^-256 odds of a false failure */
}

/* Over many tokens every hex digit shows up in every position's nibble
 * range: a stuck byte or a constant half would not. */
static void test_new_tokens_vary(void **state)
{
    (void)state;
    char t[SB_TOKEN_HEX_LEN + 1];
    unsigned seen[SB_TOKEN_HEX_LEN] = {0}; /* bit d set: digit d seen at that position */
    for (int round = 0; round < 400; round++) {
        assert_int_equal(sb_token_new(t), 0);
        for (int i = 0; i < SB_TOKEN_HEX_LEN; i++)
            seen[i] |= 1u << (t[i] <= '9' ? t[i] - '0' : t[i] - 'a' + 10);
    }
    /* 400 draws miss a given digit at a position with odds (15/16)^400 ~ 6e-12 */
    for (int i = 0; i < SB_TOKEN_HEX_LEN; i++)
        assert_int_equal(seen[i], 0xffff);
}

static void test_hash(void **state)
{
    (void)state;
    char out[SB_TOKEN_HEX_LEN + 1];
    sb_token_hash("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* only len bytes count */
    sb_token_hash("abcdef", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sb_token_hash("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* a fresh token hashes to 64 hex digits that are not the token */
    char token[SB_TOKEN_HEX_LEN + 1];
    assert_int_equal(sb_token_new(token), 0);
    sb_token_hash(token, strlen(token), out);
    assert_int_equal(strlen(out), 64);
    assert_true(is_lower_hex(out, 64));
    assert_string_not_equal(out, token);
}

static void test_equal(void **state)
{
    (void)state;
    const char *a = "0123456789abcdef";
    assert_true(sb_token_equal(a, "0123456789abcdef", 16));
    assert_false(sb_token_equal(a, "x123456789abcdef", 16)); /* first byte */
    assert_false(sb_token_equal(a, "0123456789abcdeX", 16)); /* last byte */
    assert_false(sb_token_equal(a, "0123456789abcdeg", 16)); /* one bit */
    assert_true(sb_token_equal(a, "0123XXXX", 4));           /* only n bytes */
    assert_true(sb_token_equal(a, "zzz", 0));
    /* bytes past the first NUL count too: it compares bytes, not strings */
    assert_false(sb_token_equal("a\0b", "a\0c", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_token_shape),
        cmocka_unit_test(test_new_tokens_vary),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
