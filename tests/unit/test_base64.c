/* test_base64.c: standard base64 with padding (runtime/base64.c), what
 * Engine.IO's "b" + base64 packets are written and read with: RFC 4648's
 * test vectors both ways, the whole alphabet, the strict decoder's
 * refusals (length, characters, padding, unused bits), and round trips of
 * random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

/* Encoded, as a NUL-terminated string the caller frees. */
static char *encode(const void *data, size_t len)
{
    sb_buf b;
    sb_buf_init(&b);
    sb_b64_encode(&b, data, len);
    assert_false(b.oom);
    char *s = malloc(b.len + 1);
    assert_non_null(s);
    if (b.len)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    sb_buf_free(&b);
    return s;
}

/* Decoded into a buffer of exactly the size the header promises is enough
 * (len / 4 * 3: ASan sees any write past it). Returns the count or -1. */
static long decode(const char *in, size_t len, unsigned char **out)
{
    size_t cap = len / 4 * 3;
    *out = malloc(cap ? cap : 1);
    assert_non_null(*out);
    return sb_b64_decode(in, len, *out);
}

static void expect_refused(const char *in, size_t len)
{
    unsigned char *out;
    long n = decode(in, len, &out);
    if (n != -1)
        fail_msg("\"%.*s\" (%zu bytes) decoded to %ld bytes; want -1", (int)len, in, len, n);
    free(out);
}

static void expect_decoded(const char *in, const void *want, size_t want_len)
{
    unsigned char *out;
    long n = decode(in, strlen(in), &out);
    assert_int_equal(n, (long)want_len);
    if (want_len)
        assert_memory_equal(out, want, want_len);
    free(out);
}

/* RFC 4648, section 10. */
static const struct {
    const char *plain, *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof *rfc4648; i++) {
        char *s = encode(rfc4648[i].plain, strlen(rfc4648[i].plain));
        assert_string_equal(s, rfc4648[i].encoded);
        free(s);
    }
}

static void test_rfc4648_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof *rfc4648; i++)
        expect_decoded(rfc4648[i].encoded, rfc4648[i].plain, strlen(rfc4648[i].plain));
}

/* The two characters beyond letters and digits are '+' and '/' (not the
 * URL-safe '-' and '_'), and bytes of every value come through. */
static void test_alphabet(void **state)
{
    (void)state;
    char *s = encode("\xfb\xff", 2);
    assert_string_equal(s, "+/8=");
    free(s);
    s = encode("\xfb\xef\xbe", 3);
    assert_string_equal(s, "++++");
    free(s);
    s = encode("\xff\xff\xff", 3);
    assert_string_equal(s, "////");
    free(s);
    s = encode("\0\0\0", 3);
    assert_string_equal(s, "AAAA");
    free(s);
    unsigned char bytes[48];
    for (int i = 0; i < 48; i++)
        bytes[i] = (unsigned char)i;
    s = encode(bytes, sizeof bytes);
    assert_string_equal(s, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v");
    free(s);
    /* each of the 64 characters decodes to its own value and back */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *out;
    long n = decode(alphabet, 64, &out);
    assert_int_equal(n, 48);
    s = encode(out, 48);
    assert_string_equal(s, alphabet);
    free(s);
    free(out);
}

/* The encoder appends to what the buffer holds. */
static void test_encode_appends(void **state)
{
    (void)state;
    sb_buf b;
    sb_buf_init(&b);
    SB_BUF_PUT_LIT(&b, "b");
    sb_b64_encode(&b, "hi", 2);
    sb_b64_encode(&b, "", 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "baGk=", 5);
    sb_buf_free(&b);
}

/* Padding: always to a multiple of 4, and only as much as the last group
 * needs: one '=' for two bytes, two for one. */
static void test_padding(void **state)
{
    (void)state;
    expect_refused("Zg", 2);
    expect_refused("Zg=", 3);
    expect_refused("Zm8", 3);
    expect_refused("Zg===", 5);
    expect_refused("Zm9vYg", 6);
    expect_refused("Zm9vYg=", 7);
    expect_refused("Zm8==", 5);
    /* "Zm8=" is "fo"; "Zm==" would be one byte with unused bits set */
    expect_decoded("Zm8=", "fo", 2);
    expect_refused("Zm==", 4);
    expect_refused("Zg=A", 4);
    expect_refused("Z===", 4);
    expect_refused("====", 4);
    expect_refused("=Zg=", 4);
}

static void test_bad_length(void **state)
{
    (void)state;
    const char *s = "Zm9vYmFyZm9v";
    for (size_t len = 1; len <= strlen(s); len++)
        if (len % 4)
            expect_refused(s, len);
}

/* '=' anywhere but the end of the last group. */
static void test_padding_in_the_middle(void **state)
{
    (void)state;
    expect_refused("Zg==Zg==", 8);
    expect_refused("Zm8=Zm9v", 8);
    expect_refused("Z=9v", 4);
    expect_refused("Zm=v", 4);
    expect_refused("Zm9vZ=9v", 8);
    expect_refused("Zm9v=m9v", 8);
}

/* Every byte outside the alphabet, in every position of a group, and in
 * a group before the last. */
static void test_bad_characters(void **state)
{
    (void)state;
    for (int ch = 0; ch < 256; ch++) {
        bool in = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
        if (in || ch == '=')
            continue;
        for (int pos = 0; pos < 8; pos++) {
            char s[9] = "Zm9vYmFy";
            s[pos] = (char)ch;
            expect_refused(s, 8);
        }
    }
    /* the URL-safe alphabet, whitespace and line breaks are not base64 here */
    expect_refused("-_8=", 4);
    expect_refused("Zm9v\nYmFy", 9);
    expect_refused("Zm9v YmFy", 9);
    expect_refused("Zm9v\0YmF", 8);
}

/* The bits of the last character that encode no byte must be zero: one
 * string per byte sequence (RFC 4648 3.5: a decoder MAY refuse others). */
static void test_nonzero_unused_bits(void **state)
{
    (void)state;
    /* "f" is Zg==: g = 100000, its low four bits unused */
    for (const char *c = "hijklmnopqrstuv"; *c; c++) {
        char s[5] = {'Z', *c, '=', '=', 0};
        expect_refused(s, 4);
    }
    expect_decoded("Zg==", "f", 1);
    expect_decoded("Zw==", "g", 1); /* w = 110000: the low four bits zero */
    /* "fo" is Zm8=: 8 = 111100, its low two bits unused */
    expect_refused("Zm9=", 4);
    expect_refused("Zm+=", 4);
    expect_refused("Zm/=", 4);
    expect_decoded("Zm8=", "fo", 2);
    /* and in the last group of a longer string */
    expect_refused("Zm9vYh==", 8);
    expect_refused("Zm9vYmF=", 8);
}

/* Random bytes of every length up to 300 go and come back unchanged, in
 * 4 * ceil(n / 3) characters of the alphabet with the padding at the end. */
static void test_round_trips(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15u; /* xorshift64: the same bytes every run */
    unsigned char data[300];
    for (int round = 0; round < 4; round++) {
        for (size_t n = 0; n <= sizeof data; n++) {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data[i] = (unsigned char)(round == 3 ? 0xff : x);
            }
            char *s = encode(data, n);
            size_t len = strlen(s);
            assert_int_equal(len, (n + 2) / 3 * 4);
            size_t pad = n % 3 ? 3 - n % 3 : 0;
            for (size_t i = 0; i < len; i++) {
                char ch = s[i];
                bool ok = i >= len - pad ? ch == '='
                                         : (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                                               (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
                assert_true(ok);
            }
            unsigned char *out;
            long got = decode(s, len, &out);
            assert_int_equal(got, (long)n);
            if (n)
                assert_memory_equal(out, data, n);
            free(out);
            free(s);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_encode),
        cmocka_unit_test(test_rfc4648_decode),
        cmocka_unit_test(test_alphabet),
        cmocka_unit_test(test_encode_appends),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_padding_in_the_middle),
        cmocka_unit_test(test_bad_characters),
        cmocka_unit_test(test_nonzero_unused_bits),
        cmocka_unit_test(test_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
