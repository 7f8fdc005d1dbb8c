/* test_form.c: percent-encoding and form bodies (runtime/form.c), what the
 * Twilio SMS sender's requests are written with: the unreserved set kept,
 * every other byte as %XX (upper case), space as %20, UTF-8 byte by byte,
 * '&' between pairs, and a decode of every byte back to itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"

/* The buffer as a NUL-terminated string the caller frees. */
static char *take(sb_buf *b)
{
    assert_false(b->oom);
    char *s = malloc(b->len + 1);
    assert_non_null(s);
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    sb_buf_free(b);
    return s;
}

static char *encode(const char *s, size_t len)
{
    sb_buf b;
    sb_buf_init(&b);
    sb_percent_encode(&b, s, len);
    return take(&b);
}

static void check(const char *in, const char *want)
{
    char *got = encode(in, strlen(in));
    assert_string_equal(got, want);
    free(got);
}

static void test_unreserved_kept(void **state)
{
    (void)state;
    check("ABCXYZabcxyz0189-._~", "ABCXYZabcxyz0189-._~");
    check("", "");
}

static void test_reserved_encoded(void **state)
{
    (void)state;
    check(" ", "%20");
    check("+", "%2B");
    check("a b+c", "a%20b%2Bc");
    check("&=?#/:@", "%26%3D%3F%23%2F%3A%40");
    check("%", "%25");
    check("\"'<>\\", "%22%27%3C%3E%5C");
    check("\n\r\t", "%0A%0D%09");
    check("!*()", "%21%2A%28%29"); /* sub-delims are reserved in RFC 3986 */
}

static void test_utf8_bytes(void **state)
{
    (void)state;
    check("\xc3\xa9", "%C3%A9");               /* é */
    check("\xf0\x9f\x98\x80", "%F0%9F%98%80"); /* U+1F600 */
    check("\xff", "%FF");
}

static void test_nul_inside(void **state)
{
    (void)state;
    char *got = encode("a\0b", 3);
    assert_string_equal(got, "a%00b");
    free(got);
}

static void test_form_pairs(void **state)
{
    (void)state;
    sb_buf b;
    sb_buf_init(&b);
    sb_form_append(&b, "To", "+15555550123");
    sb_form_append(&b, "From", "+15555550100");
    sb_form_append(&b, "Body", "Your code is 042917. Don't share it & bye=now");
    sb_form_append(&b, "Empty", NULL);
    sb_form_append(&b, "a key", "");
    char *got = take(&b);
    assert_string_equal(got,
                        "To=%2B15555550123&From=%2B15555550100"
                        "&Body=Your%20code%20is%20042917.%20Don%27t%20share%20it%20%26%20bye%3Dnow"
                        "&Empty=&a%20key=");
    free(got);
}

static int unhex(char c)
{
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - '0';
}

/* Every byte encodes to itself or to %XX, and decodes back. */
static void test_every_byte_round_trips(void **state)
{
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    char *got = encode(all, sizeof all);
    size_t n = 0;
    for (const char *p = got; *p; n++) {
        if (*p == '%') {
            assert_true((p[1] >= '0' && p[1] <= '9') || (p[1] >= 'A' && p[1] <= 'F'));
            assert_true((p[2] >= '0' && p[2] <= '9') || (p[2] >= 'A' && p[2] <= 'F'));
            assert_int_equal(unhex(p[1]) * 16 + unhex(p[2]), n);
            p += 3;
        } else {
            assert_int_equal((unsigned char)*p, n);
            p++;
        }
    }
    assert_int_equal(n, 256);
    /* 66 unreserved bytes kept, 190 encoded */
    assert_int_equal(strlen(got), 66 + 190 * 3);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreserved_kept), cmocka_unit_test(test_reserved_encoded),
        cmocka_unit_test(test_utf8_bytes),      cmocka_unit_test(test_nul_inside),
        cmocka_unit_test(test_form_pairs),      cmocka_unit_test(test_every_byte_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
