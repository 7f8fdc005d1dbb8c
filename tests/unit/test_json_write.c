/* test_json_write.c: sb_buf and the JSON writer, checked against the reader. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static sb_buf buf;

static int setup(void **state)
{
    (void)state;
    sb_buf_init(&buf);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_buf_free(&buf);
    return 0;
}

/* The buffer's text so far, NUL-terminated for comparisons. */
static const char *text(void)
{
    sb_buf_putc(&buf, '\0');
    buf.len--;
    return buf.data;
}

static void test_buf(void **state)
{
    (void)state;
    sb_buf b;
    sb_buf_init(&b);
    assert_null(b.data);
    sb_buf_put(&b, "", 0);
    assert_int_equal(b.len, 0);
    for (int i = 0; i < 10000; i++)
        sb_buf_putc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 10000);
    assert_true(b.cap >= 10000 && b.cap < 40000);
    assert_int_equal(b.data[9999], 'a' + 9999 % 26);
    SB_BUF_PUT_LIT(&b, "xyz");
    assert_memory_equal(b.data + 10000, "xyz", 3);
    char *data = b.data;
    size_t cap = b.cap;
    sb_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_true(sb_buf_reserve(&b, cap));
    assert_ptr_equal(b.data, data);

    /* An impossible reservation sets oom; later writes are dropped. */
    assert_false(sb_buf_reserve(&b, SIZE_MAX));
    assert_true(b.oom);
    sb_buf_putc(&b, 'x');
    sb_write_int64(&b, 5);
    assert_int_equal(b.len, 0);
    assert_false(sb_buf_reserve(&b, 1));
    sb_buf_reset(&b); /* a new message */
    assert_false(b.oom);
    sb_buf_putc(&b, 'x');
    assert_int_equal(b.len, 1);
    sb_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

static void check_string(const char *in, size_t len, const char *want)
{
    sb_buf_reset(&buf);
    sb_write_string(&buf, (sb_str){in, len});
    assert_string_equal(text(), want);
}
#define STRING(lit, want) check_string((lit), sizeof(lit) - 1, (want))

static void test_write_string(void **state)
{
    (void)state;
    STRING("", "\"\"");
    check_string(NULL, 0, "\"\"");
    STRING("abc", "\"abc\"");
    STRING("\"", "\"\\\"\"");
    STRING("\\", "\"\\\\\"");
    STRING("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    STRING("\0", "\"\\u0000\"");
    STRING("\x01\x0b\x0e\x1f", "\"\\u0001\\u000b\\u000e\\u001f\"");
    STRING("/\x7F \x20", "\"/\x7F  \"");
    STRING("caf\xC3\xA9 \xF0\x9F\x98\x80", "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
    /* Escapes inside and across the eight-byte fast path. */
    STRING("0123456789abcdef\"0123456\n89abcdef\\",
           "\"0123456789abcdef\\\"0123456\\n89abcdef\\\\\"");
    STRING("01234567\t", "\"01234567\\t\"");
    /* Appends, never replaces. */
    sb_buf_reset(&buf);
    SB_BUF_PUT_LIT(&buf, "[");
    sb_write_string(&buf, SB_STR_LIT("a"));
    SB_BUF_PUT_LIT(&buf, ",");
    sb_write_string(&buf, SB_STR_LIT("b"));
    SB_BUF_PUT_LIT(&buf, "]");
    assert_string_equal(text(), "[\"a\",\"b\"]");
}

/* Strings of every length around the 16-byte SSE2 step and past the size
 * up to which the worst case is reserved at once (4096), with an escape at
 * each position: the same text as a byte-by-byte reference. A long string
 * must not grow a fresh buffer to six times its size. */
static void test_write_string_steps(void **state)
{
    (void)state;
    static char src[9000], want[9000 * 6 + 2];
    for (size_t n = 1; n < sizeof src; n += n < 80 ? 1 : 997) {
        for (size_t at = 0; at < n; at += n < 80 ? 1 : 613) {
            for (size_t i = 0; i < n; i++)
                src[i] = (char)('a' + i % 26);
            src[at] = at % 3 == 0 ? '"' : at % 3 == 1 ? '\n' : '\x01';
            size_t w = 0;
            want[w++] = '"';
            for (size_t i = 0; i < n; i++) {
                if (src[i] == '"')
                    want[w++] = '\\', want[w++] = '"';
                else if (src[i] == '\n')
                    want[w++] = '\\', want[w++] = 'n';
                else if (src[i] == '\x01')
                    memcpy(want + w, "\\u0001", 6), w += 6;
                else
                    want[w++] = src[i];
            }
            want[w++] = '"';
            sb_buf b;
            sb_buf_init(&b);
            sb_write_string(&b, (sb_str){src, n});
            assert_false(b.oom);
            assert_int_equal(b.len, w);
            assert_memory_equal(b.data, want, w);
            if (n > 4096)
                assert_true(b.cap < 2 * (n + 64)); /* grown run by run, not 6n */
            sb_buf_free(&b);
        }
    }
}

/* Whatever the writer writes, the reader reads back as the same bytes. */
static void test_string_round_trip(void **state)
{
    (void)state;
    sb_arena arena;
    sb_arena_init(&arena, 0);
    srand(7);
    char in[300];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % 300);
        for (size_t j = 0; j < len; j++) {
            int k = rand() % 10;
            in[j] = k == 0   ? (char)(rand() % 0x20)
                    : k == 1 ? '"'
                    : k == 2 ? '\\'
                             : (char)(0x20 + rand() % 0x60);
        }
        sb_buf_reset(&buf);
        sb_write_string(&buf, (sb_str){in, len});
        sb_reader r;
        sb_str out;
        sb_arena_reset(&arena);
        sb_reader_init(&r, buf.data, buf.len, &arena, NULL);
        if (!sb_read_string(&r, &out) || !sb_read_end(&r))
            fail_msg("%s", r.err_msg);
        assert_int_equal(out.len, len);
        assert_memory_equal(out.ptr, in, len);
    }
    sb_arena_free(&arena);
}

static void check_int(int64_t v)
{
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, v);
    sb_buf_reset(&buf);
    sb_write_int64(&buf, v);
    assert_string_equal(text(), want);
}

static void test_write_int64(void **state)
{
    (void)state;
    static const int64_t fixed[] = {
        0,   1,   -1,   9,     10,      11,        99,        100,           101,
        -10, -99, -100, 12345, 1000000, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_int(fixed[i]);
    int64_t p = 1;
    for (int i = 0; i < 18; i++, p *= 10) {
        check_int(p);
        check_int(p - 1);
        check_int(-p);
        check_int(-p + 1);
    }
    srand(3);
    for (int i = 0; i < 100000; i++) {
        uint64_t u = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
        u >>= rand() % 64;
        check_int((int64_t)u * (rand() & 1 ? 1 : -1));
    }
}

static void check_double(double v, const char *want)
{
    sb_buf_reset(&buf);
    sb_write_double(&buf, v);
    assert_string_equal(text(), want);
}

/* Writes v, checks the text is valid JSON, and reads it back. */
static void round_trip_double(double v)
{
    sb_buf_reset(&buf);
    sb_write_double(&buf, v);
    sb_reader r;
    double back;
    sb_reader_init(&r, buf.data, buf.len, NULL, NULL);
    if (!sb_read_double(&r, &back) || !sb_read_end(&r))
        fail_msg("%.17g wrote %.*s: %s", v, (int)buf.len, buf.data, r.err_msg);
    if (memcmp(&back, &v, sizeof v) != 0)
        fail_msg("%.17g wrote %.*s, read %.17g", v, (int)buf.len, buf.data, back);
}

static void test_write_double(void **state)
{
    (void)state;
    check_double(0.0, "0");
    check_double(-0.0, "-0");
    check_double(1.0, "1");
    check_double(-3.0, "-3");
    check_double(0.1, "0.1");
    check_double(1.5, "1.5");
    check_double(-2.25, "-2.25");
    check_double(1e308, "1e+308");
    check_double(1e-7, "1e-07");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1.0 / 3.0, "0.3333333333333333");
    check_double(9007199254740992.0, "9007199254740992");
    check_double(5e-324, "4.94065645841247e-324");
    check_double(NAN, "null");
    check_double(-NAN, "null");
    check_double(INFINITY, "null");
    check_double(-INFINITY, "null");

    static const double fixed[] = {0.1,
                                   1e308,
                                   1.7976931348623157e308,
                                   1e-320,
                                   5e-324,
                                   2.2250738585072014e-308,
                                   2.2250738585072009e-308,
                                   123456.789,
                                   -0.0,
                                   1e21,
                                   1e22,
                                   1e23,
                                   4503599627370496.5,
                                   0.3};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        round_trip_double(fixed[i]);
        round_trip_double(-fixed[i]);
    }
    srand(11);
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = (uint64_t)rand() << 62 ^ (uint64_t)rand() << 31 ^ (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isnan(v) || isinf(v))
            continue;
        round_trip_double(v);
    }
}

static void test_write_literals(void **state)
{
    (void)state;
    sb_buf_reset(&buf);
    sb_write_bool(&buf, true);
    sb_buf_putc(&buf, ',');
    sb_write_bool(&buf, false);
    sb_buf_putc(&buf, ',');
    sb_write_null(&buf);
    assert_string_equal(text(), "true,false,null");
}

static void check_minified(const char *in, const char *want)
{
    sb_buf_reset(&buf);
    if (!sb_write_minified(&buf, (sb_str){in, strlen(in)}))
        fail_msg("minify refused %s", in);
    assert_string_equal(text(), want);
}

static void test_minified(void **state)
{
    (void)state;
    check_minified("1", "1");
    check_minified("  \"a b\"  ", "\"a b\"");
    check_minified(" { \"a\" : [ 1 , 2.5e3 , true , null ] ,\n\t\"b\" : \"x y\\\" z\" } ",
                   "{\"a\":[1,2.5e3,true,null],\"b\":\"x y\\\" z\"}");
    check_minified("[\"\\\\\", \" \", \"\\\\\\\" \"]", "[\"\\\\\",\" \",\"\\\\\\\" \"]");
    check_minified("{\"k\\u0020\" : \"\\n \\t\"}", "{\"k\\u0020\":\"\\n \\t\"}");
    check_minified("[ [ ] , { } ]", "[[],{}]");

    sb_buf_reset(&buf);
    SB_BUF_PUT_LIT(&buf, "x=");
    assert_true(sb_write_minified(&buf, SB_STR_LIT(" [ 1 ] ")));
    assert_string_equal(text(), "x=[1]");
    /* Invalid input: refused, buffer untouched. */
    assert_false(sb_write_minified(&buf, SB_STR_LIT("[1,]")));
    assert_false(sb_write_minified(&buf, SB_STR_LIT("")));
    assert_false(sb_write_minified(&buf, SB_STR_LIT("[1] x")));
    assert_string_equal(text(), "x=[1]");
    /* Deeper than the reader's default limit is still minified. */
    char deep[402];
    memset(deep, '[', 200);
    deep[200] = ' ';
    memset(deep + 201, ']', 200);
    deep[401] = '\0';
    sb_buf_reset(&buf);
    assert_true(sb_write_minified(&buf, (sb_str){deep, 401}));
    assert_int_equal(buf.len, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_write_string),
        cmocka_unit_test(test_write_string_steps),
        cmocka_unit_test(test_string_round_trip),
        cmocka_unit_test(test_write_int64),
        cmocka_unit_test(test_write_double),
        cmocka_unit_test(test_write_literals),
        cmocka_unit_test(test_minified),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
