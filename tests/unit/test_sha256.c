/* test_sha256.c: SHA-256 against the FIPS 180 / NIST example vectors, and
 * the streaming interface against the one-shot one (sha256.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void hex(const uint8_t d[SB_SHA256_LEN], char out[2 * SB_SHA256_LEN + 1])
{
    for (int i = 0; i < SB_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const void *data, size_t len, const char *want)
{
    uint8_t d[SB_SHA256_LEN];
    char got[2 * SB_SHA256_LEN + 1];
    sb_sha256(data, len, d);
    hex(d, got);
    assert_string_equal(got, want);
}

/* The examples of FIPS 180-2 appendix B / NIST's SHA-256 example file. */
static void test_nist_abc(void **state)
{
    (void)state;
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* 448 bits: the padding no longer fits the block and needs a second one. */
static void test_nist_two_blocks(void **state)
{
    (void)state;
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(m), 56);
    check(m, 56, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_nist_896_bits(void **state)
{
    (void)state;
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_int_equal(strlen(m), 112);
    check(m, 112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_nist_million_a(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *m = malloc(n);
    assert_non_null(m);
    memset(m, 'a', n);
    check(m, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    /* the same million, fed in uneven pieces */
    static const size_t pieces[] = {1, 63, 64, 65, 127, 1000, 4096, 55, 56, 57};
    sb_sha256_ctx c;
    uint8_t d[SB_SHA256_LEN];
    char got[2 * SB_SHA256_LEN + 1];
    size_t done = 0;
    sb_sha256_init(&c);
    for (size_t i = 0; done < n; i++) {
        size_t take = pieces[i % (sizeof pieces / sizeof pieces[0])];
        if (take > n - done)
            take = n - done;
        sb_sha256_update(&c, m + done, take);
        done += take;
    }
    sb_sha256_final(&c, d);
    hex(d, got);
    assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

static void test_empty(void **state)
{
    (void)state;
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Lengths around the 55/56/64-byte edges of padding, of bytes i % 251.
 * Expected digests from an independent implementation (Python hashlib). */
static void test_padding_edges(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *digest;
    } cases[] = {
        {1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
        {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
        {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
        {57, "2fe741af801cc238602ac0ec6a7b0c3a8a87c7fc7d7f02a3fe03d1c12eac4d8f"},
        {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
        {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
        {65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"},
        {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
        {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
        {127, "92ca0fa6651ee2f97b884b7246a562fa71250fedefe5ebf270d31c546bfea976"},
        {128, "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5"},
        {129, "5099c6a56203f9687f7d33f4bfdf576d31dc91f6b695ecea38b2770c87631135"},
        {1000, "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d"},
    };
    uint8_t m[1000];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i % 251);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(m, cases[i].len, cases[i].digest);
}

/* Every split of every short message gives the one-shot digest. */
static void test_streaming_matches_one_shot(void **state)
{
    (void)state;
    uint8_t m[200], whole[SB_SHA256_LEN], parts[SB_SHA256_LEN];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof m; len++) {
        sb_sha256(m, len, whole);
        for (size_t cut = 0; cut <= len; cut += 13) {
            sb_sha256_ctx c;
            sb_sha256_init(&c);
            sb_sha256_update(&c, m, cut);
            sb_sha256_update(&c, NULL, 0);
            sb_sha256_update(&c, m + cut, len - cut);
            sb_sha256_final(&c, parts);
            assert_memory_equal(whole, parts, SB_SHA256_LEN);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_abc),
        cmocka_unit_test(test_nist_two_blocks),
        cmocka_unit_test(test_nist_896_bits),
        cmocka_unit_test(test_nist_million_a),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_padding_edges),
        cmocka_unit_test(test_streaming_matches_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
