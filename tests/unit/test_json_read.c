/* test_json_read.c: the strict reader, its limits and its error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static sb_arena arena;
static sb_reader r;

static int setup(void **state)
{
    (void)state;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_arena_free(&arena);
    return 0;
}

/* Point the shared reader at a literal (which may hold NUL bytes). */
#define READ(lit) start((lit), sizeof(lit) - 1, NULL)
#define READ_LIMITS(lit, lim) start((lit), sizeof(lit) - 1, (lim))

static void start(const char *json, size_t len, const sb_json_limits *lim)
{
    sb_arena_reset(&arena);
    sb_reader_init(&r, json, len, &arena, lim);
}

static void check_valid(const char *json, size_t len, const sb_json_limits *lim)
{
    sb_json_err e = SB_ERR_MEMORY;
    char msg[SB_ERR_MSG_MAX] = "x";
    if (!sb_json_validate(json, len, lim, &e, msg, sizeof msg))
        fail_msg("rejected %.*s: %s", (int)len, json, msg);
    assert_int_equal(e, SB_OK);
    assert_string_equal(msg, "");
}

static void check_invalid(const char *json, size_t len, const sb_json_limits *lim, sb_json_err code,
                          const char *want)
{
    sb_json_err e = SB_OK;
    char msg[SB_ERR_MSG_MAX];
    if (sb_json_validate(json, len, lim, &e, msg, sizeof msg))
        fail_msg("accepted %.*s", (int)len, json);
    assert_string_equal(msg, want);
    assert_string_equal(sb_json_err_name(e), sb_json_err_name(code));
}

#define GOOD(lit) check_valid((lit), sizeof(lit) - 1, NULL)
#define BAD(lit, code, want) check_invalid((lit), sizeof(lit) - 1, NULL, (code), (want))
#define GOOD_LIM(lit, lim) check_valid((lit), sizeof(lit) - 1, (lim))
#define BAD_LIM(lit, lim, code, want) check_invalid((lit), sizeof(lit) - 1, (lim), (code), (want))

static void assert_str(sb_str s, const char *want, size_t want_len)
{
    assert_int_equal(s.len, want_len);
    assert_memory_equal(s.ptr, want, want_len);
}
#define ASSERT_STR(s, lit) assert_str((s), (lit), sizeof(lit) - 1)

/* Reads one string document and checks its decoded value. */
static void check_string(const char *json, size_t len, const char *want, size_t want_len)
{
    sb_str s;
    start(json, len, NULL);
    if (!sb_read_string(&r, &s))
        fail_msg("%s", r.err_msg);
    assert_true(sb_read_end(&r));
    assert_str(s, want, want_len);
}
#define STRING(lit, want) check_string((lit), sizeof(lit) - 1, (want), sizeof(want) - 1)

/* ---- strings ---------------------------------------------------------- */

static void test_escapes(void **state)
{
    (void)state;
    STRING("\"\\\"\"", "\"");
    STRING("\"\\\\\"", "\\");
    STRING("\"\\/\"", "/");
    STRING("\"\\b\"", "\b");
    STRING("\"\\f\"", "\f");
    STRING("\"\\n\"", "\n");
    STRING("\"\\r\"", "\r");
    STRING("\"\\t\"", "\t");
    STRING("\"\\u0041\"", "A");
    STRING("\"\\u0000\"", "\0");
    STRING("\"\\u007f\\u0080\"", "\x7F\xC2\x80");
    STRING("\"\\u00e9\\u00E9\"", "\xC3\xA9\xC3\xA9");
    STRING("\"\\u07FF\\u0800\"", "\xDF\xBF\xE0\xA0\x80");
    STRING("\"\\u20AC\"", "\xE2\x82\xAC");
    STRING("\"\\uFFFF\"", "\xEF\xBF\xBF");
    STRING("\"a\\tb\\nc\\\\d\\\"e\"", "a\tb\nc\\d\"e");
    STRING("\"\"", "");
    BAD("\"\\x\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid escape '\\x'");
    BAD("\"\\U0041\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid escape '\\U'");
    BAD("\"\\'\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid escape '\\''");
    BAD("\"\\u12G4\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid \\u escape");
    BAD("\"\\u12", SB_ERR_SYNTAX, "$: invalid JSON at byte 5: unexpected end of input");
    BAD("\"\\", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected end of input");
    BAD("\"abc", SB_ERR_SYNTAX, "$: invalid JSON at byte 4: unexpected end of input");
}

static void test_surrogates(void **state)
{
    (void)state;
    STRING("\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80");
    STRING("\"\\ud800\\udc00\"", "\xF0\x90\x80\x80");     /* U+10000 */
    STRING("\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF");     /* U+10FFFF */
    STRING("\"x\\uD834\\uDD1Ey\"", "x\xF0\x9D\x84\x9Ey"); /* U+1D11E */
    BAD("\"\\uD800\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: lone surrogate \\uD800");
    BAD("\"\\uDC00\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: lone surrogate \\uDC00");
    BAD("\"ab\\uDFFF\\uD800\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: lone surrogate \\uDFFF");
    BAD("\"\\uD800\\u0041\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: lone surrogate \\uD800");
    BAD("\"\\uD800\\uD800\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: lone surrogate \\uD800");
    BAD("\"\\uD800x\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: lone surrogate \\uD800");
    BAD("\"\\uD800\\n\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: lone surrogate \\uD800");
    BAD("\"\\uD800\\uDC0G\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 7: invalid \\u escape");
}

static void test_utf8(void **state)
{
    (void)state;
    /* The edges of every sequence length and of the surrogate gap. */
    STRING("\"\xC2\x80\xDF\xBF\"", "\xC2\x80\xDF\xBF");
    STRING("\"\xE0\xA0\x80\xEF\xBF\xBF\"", "\xE0\xA0\x80\xEF\xBF\xBF");
    STRING("\"\xED\x9F\xBF\xEE\x80\x80\"", "\xED\x9F\xBF\xEE\x80\x80");
    STRING("\"\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"", "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    STRING("\"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\"", "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC");
    STRING("\"\x7F\"", "\x7F"); /* DEL is not a control character to JSON */

    BAD("\"\xC0\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (overlong encoding)");
    BAD("\"\xC1\xBF\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (overlong encoding)");
    BAD("\"\xE0\x80\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (overlong encoding)");
    BAD("\"\xE0\x9F\xBF\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (overlong encoding)");
    BAD("\"ab\xF0\x8F\xBF\xBF\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 3: invalid UTF-8 (overlong encoding)");
    BAD("\"\xED\xA0\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (surrogate encoded in UTF-8)");
    BAD("\"\xED\xBF\xBF\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (surrogate encoded in UTF-8)");
    BAD("\"\xF4\x90\x80\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (code point above U+10FFFF)");
    BAD("\"\xF5\x80\x80\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (code point above U+10FFFF)");
    BAD("\"\xF8\x88\x80\x80\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (invalid byte)");
    BAD("\"\xFF\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid UTF-8 (invalid byte)");
    BAD("\"\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (unexpected continuation byte)");
    BAD("\"\xC3\xA9\xA9\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 3: invalid UTF-8 (unexpected continuation byte)");
    BAD("\"\xC3\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid UTF-8 (truncated sequence)");
    BAD("\"\xE2\x82\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (truncated sequence)");
    BAD("\"\xF0\x9F\x98"
        "a\"",
        SB_ERR_SYNTAX, "$: invalid JSON at byte 1: invalid UTF-8 (truncated sequence)");
    BAD("\"\xF0\x9F", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 1: invalid UTF-8 (truncated sequence)");
    /* Long ASCII runs go through the eight-byte fast path: errors must
     * still land on the right byte. */
    BAD("\"0123456789abcdef0123\xC0\x80\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 21: invalid UTF-8 (overlong encoding)");
    /* Outside strings a non-ASCII byte is just not JSON. */
    BAD("\xC3\xA9", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
}

static void test_control_characters(void **state)
{
    (void)state;
    BAD("\"a\x01\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: control character 0x01 in string");
    BAD("\"a\nb\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: control character 0x0A in string");
    BAD("\"\t\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: control character 0x09 in string");
    BAD("\"\x1F\"", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: control character 0x1F in string");
    BAD("\"0123456789abcdef\x00\"", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 17: control character 0x00 in string");
}

static void test_zero_copy(void **state)
{
    (void)state;
    static const char json[] = "[\"plain text\", \"esc\\naped\"]";
    sb_str a, b;
    READ(json);
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_string(&r, &a));
    assert_int_equal(sb_read_array_next(&r), 1);
    size_t used = arena.used;
    assert_true(sb_read_string(&r, &b));
    assert_int_equal(sb_read_array_next(&r), 0);
    assert_true(sb_read_end(&r));
    ASSERT_STR(a, "plain text");
    assert_ptr_equal(a.ptr, json + 2);
    ASSERT_STR(b, "esc\naped");
    assert_true(b.ptr < json || b.ptr >= json + sizeof json);
    assert_int_equal(arena.used, used + 8);
}

/* ---- syntax ----------------------------------------------------------- */

static void test_accepts(void **state)
{
    (void)state;
    GOOD("0");
    GOOD("-0");
    GOOD("1.5e-3");
    GOOD("-12.0E+2");
    GOOD("1E5");
    GOOD("true");
    GOOD("false");
    GOOD("null");
    GOOD("\"\"");
    GOOD("[]");
    GOOD("{}");
    GOOD(" \t\r\n[ 1 , { \"a\" : [ ] , \"b\" : { } } , \"x\" ] \n");
    GOOD("{\"a\":1,\"a\":2}"); /* duplicates are legal JSON */
    GOOD("[\"\\u0000\"]");
    GOOD("                                        1                                        ");
}

static void test_rejects(void **state)
{
    (void)state;
    BAD("", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: unexpected end of input");
    BAD("   ", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: unexpected end of input");
    BAD("[1,]", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: trailing comma");
    BAD("{\"a\":1,}", SB_ERR_SYNTAX, "$: invalid JSON at byte 7: trailing comma");
    BAD("[1 2]", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: expected ',' or ']'");
    BAD("{\"a\":1 \"b\":2}", SB_ERR_SYNTAX, "$: invalid JSON at byte 7: expected ',' or '}'");
    BAD("{\"a\" 1}", SB_ERR_SYNTAX, "$: invalid JSON at byte 5: expected ':'");
    BAD("{1:1}", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: expected string key");
    BAD("{'a':1}", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: expected string key");
    BAD("'a'", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("[,1]", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: expected value");
    BAD("01", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: leading zeros are not allowed");
    BAD("-01", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: leading zeros are not allowed");
    BAD("00", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: leading zeros are not allowed");
    BAD("+1", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD(".5", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("1.", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected end of input");
    BAD("[1.]", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: expected digit after '.'");
    BAD("1.e5", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: expected digit after '.'");
    BAD("1e", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected end of input");
    BAD("1e+x", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: expected digit in exponent");
    BAD("-", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: unexpected end of input");
    BAD("-x", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: expected digit after '-'");
    BAD("NaN", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("Infinity", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("-Infinity", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: expected digit after '-'");
    BAD("tru", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: invalid literal");
    BAD("True", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("nul", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: invalid literal");
    BAD("/* c */ 1", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("[1] // c", SB_ERR_SYNTAX,
        "$: invalid JSON at byte 4: unexpected data after the JSON value");
    BAD("1 2", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected data after the JSON value");
    BAD("{}x", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected data after the JSON value");
    BAD("truex", SB_ERR_SYNTAX, "$: invalid JSON at byte 4: unexpected data after the JSON value");
    BAD("[", SB_ERR_SYNTAX, "$: invalid JSON at byte 1: unexpected end of input");
    BAD("{\"a\":", SB_ERR_SYNTAX, "$: invalid JSON at byte 5: unexpected end of input");
    BAD("[1", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected end of input");
    BAD("]", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("[1]]", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: unexpected data after the JSON value");
    BAD("\xEF\xBB\xBF{}", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value"); /* BOM */
    BAD("\f1", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    BAD("[\"a\"\x00]", SB_ERR_SYNTAX, "$: invalid JSON at byte 4: expected ',' or ']'");
}

/* ---- numbers ---------------------------------------------------------- */

static bool read_int(const char *json, size_t len, int64_t *v)
{
    start(json, len, NULL);
    return sb_read_int64(&r, v) && sb_read_end(&r);
}
#define INT_OK(lit, want)                                                                          \
    do {                                                                                           \
        int64_t v_ = 0;                                                                            \
        if (!read_int((lit), sizeof(lit) - 1, &v_))                                                \
            fail_msg("%s: %s", (lit), r.err_msg);                                                  \
        assert_true(v_ == (want));                                                                 \
    } while (0)
#define INT_BAD(lit, code, want)                                                                   \
    do {                                                                                           \
        int64_t v_ = 0;                                                                            \
        assert_false(read_int((lit), sizeof(lit) - 1, &v_));                                       \
        assert_int_equal(r.err, (code));                                                           \
        assert_string_equal(r.err_msg, (want));                                                    \
    } while (0)

static void test_int64(void **state)
{
    (void)state;
    INT_OK("0", 0);
    INT_OK("-0", 0);
    INT_OK("7", 7);
    INT_OK(" -42 ", -42);
    INT_OK("123456789012345678", INT64_C(123456789012345678));
    INT_OK("1234567890123456789", INT64_C(1234567890123456789));
    INT_OK("9223372036854775807", INT64_MAX);
    INT_OK("-9223372036854775808", INT64_MIN);
    INT_OK("9223372036854775806", INT64_MAX - 1);
    INT_OK("-9223372036854775807", INT64_MIN + 1);
    INT_BAD("9223372036854775808", SB_ERR_RANGE, "$: integer out of range");
    INT_BAD("-9223372036854775809", SB_ERR_RANGE, "$: integer out of range");
    INT_BAD("9999999999999999999", SB_ERR_RANGE, "$: integer out of range");
    INT_BAD("18446744073709551616", SB_ERR_RANGE, "$: integer out of range");
    INT_BAD("100000000000000000000000000000", SB_ERR_RANGE, "$: integer out of range");
    INT_BAD("1.0", SB_ERR_TYPE, "$: expected integer");
    INT_BAD("1e2", SB_ERR_TYPE, "$: expected integer");
    INT_BAD("-5E-1", SB_ERR_TYPE, "$: expected integer");
    INT_BAD("99999999999999999999.5", SB_ERR_TYPE, "$: expected integer");
    INT_BAD("\"1\"", SB_ERR_TYPE, "$: expected integer, got string");
    INT_BAD("true", SB_ERR_TYPE, "$: expected integer, got boolean");
    INT_BAD("null", SB_ERR_TYPE, "$: expected integer, got null");
    INT_BAD("[1]", SB_ERR_TYPE, "$: expected integer, got array");
    INT_BAD("{}", SB_ERR_TYPE, "$: expected integer, got object");
    INT_BAD("01", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: leading zeros are not allowed");
    INT_BAD("1.", SB_ERR_SYNTAX, "$: invalid JSON at byte 2: unexpected end of input");
    INT_BAD("x", SB_ERR_SYNTAX, "$: invalid JSON at byte 0: expected value");
    /* A broken value is reported as broken, not as the wrong type. */
    INT_BAD("[1,", SB_ERR_SYNTAX, "$: invalid JSON at byte 3: unexpected end of input");
    INT_BAD("\"abc", SB_ERR_SYNTAX, "$: invalid JSON at byte 4: unexpected end of input");
}

static double read_dbl(const char *json)
{
    double v = -1;
    start(json, strlen(json), NULL);
    if (!sb_read_double(&r, &v) || !sb_read_end(&r))
        fail_msg("%s: %s", json, r.err_msg);
    return v;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void test_doubles(void **state)
{
    (void)state;
    assert_true(same_bits(read_dbl("0.1"), 0.1));
    assert_true(same_bits(read_dbl("-0"), -0.0));
    assert_true(same_bits(read_dbl("-0.0e5"), -0.0));
    assert_true(same_bits(read_dbl("0e999999999"), 0.0));
    assert_true(same_bits(read_dbl("1e308"), 1e308));
    assert_true(same_bits(read_dbl("1.7976931348623157e308"), 1.7976931348623157e308));
    assert_true(same_bits(read_dbl("1e-320"), strtod("1e-320", NULL)));
    assert_true(read_dbl("1e-320") > 0);
    assert_true(same_bits(read_dbl("4.9406564584124654e-324"), 4.9406564584124654e-324));
    assert_true(same_bits(read_dbl("1e-400"), 0.0)); /* underflow is fine */
    assert_true(same_bits(read_dbl("123"), 123.0));
    assert_true(same_bits(read_dbl("9007199254740993"), 9007199254740992.0));
    assert_true(same_bits(read_dbl("3.14159265358979323846264338327950288"), 3.141592653589793));
    assert_true(same_bits(read_dbl("1e23"), 1e23));
    assert_true(same_bits(read_dbl("8.9e-22"), 8.9e-22));
    assert_true(same_bits(read_dbl("0.000001234"), 0.000001234));
    /* A long number takes the heap copy for strtod. */
    char big[400] = "0.";
    memset(big + 2, '0', 300);
    strcpy(big + 302, "15e301");
    assert_true(same_bits(read_dbl(big), 1.5));

    double v;
    READ("1e400");
    assert_false(sb_read_double(&r, &v));
    assert_int_equal(r.err, SB_ERR_RANGE);
    assert_string_equal(r.err_msg, "$: number out of range");
    READ("-1e309");
    assert_false(sb_read_double(&r, &v));
    assert_int_equal(r.err, SB_ERR_RANGE);
    READ("\"1.5\"");
    assert_false(sb_read_double(&r, &v));
    assert_string_equal(r.err_msg, "$: expected number, got string");
}

/* The Clinger fast path must agree with strtod bit for bit. */
static void test_doubles_match_strtod(void **state)
{
    (void)state;
    srand(12345);
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        int digits = 1 + rand() % 19;
        int exp = rand() % 60 - 30;
        int n = 0;
        if (rand() & 1)
            buf[n++] = '-';
        buf[n++] = (char)('1' + rand() % 9);
        int point = rand() % digits;
        for (int d = 1; d < digits; d++) {
            if (d == point + 1 && point > 0)
                buf[n++] = '.';
            buf[n++] = (char)('0' + rand() % 10);
        }
        if (rand() & 1)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "e%d", exp);
        buf[n] = '\0';
        double want = strtod(buf, NULL);
        double got = read_dbl(buf);
        if (!same_bits(got, want))
            fail_msg("%s: got %.17g want %.17g", buf, got, want);
    }
}

/* ---- limits ----------------------------------------------------------- */

static void test_depth_limit(void **state)
{
    (void)state;
    sb_json_limits lim = sb_json_default_limits;
    lim.max_depth = 3;
    GOOD_LIM("[[[]]]", &lim);
    GOOD_LIM("{\"a\":[{\"b\":1}]}", &lim);
    BAD_LIM("[[[[]]]]", &lim, SB_ERR_DEPTH, "$: nested deeper than 3 levels at byte 3");
    BAD_LIM("{\"a\":[{\"b\":{}}]}", &lim, SB_ERR_DEPTH,
            "$: nested deeper than 3 levels at byte 11");
    lim.max_depth = 0;
    GOOD_LIM("1", &lim);
    BAD_LIM("[]", &lim, SB_ERR_DEPTH, "$: nested deeper than 0 levels at byte 0");

    /* Default 64: exactly at and one past. */
    char deep[200];
    for (int n = 64; n <= 65; n++) {
        memset(deep, '[', (size_t)n);
        memset(deep + n, ']', (size_t)n);
        sb_json_err e;
        bool ok = sb_json_validate(deep, (size_t)(2 * n), NULL, &e, NULL, 0);
        assert_int_equal(ok, n == 64);
        assert_int_equal(e, n == 64 ? SB_OK : SB_ERR_DEPTH);
    }

    /* The pull API counts the levels it opened itself toward the same
     * limit as the skipper does inside them. */
    lim.max_depth = 2;
    READ_LIMITS("[[1],[[2]]]", &lim);
    sb_str raw;
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_any(&r, &raw));
    ASSERT_STR(raw, "[1]");
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_false(sb_read_array_begin(&r));
    assert_int_equal(r.err, SB_ERR_DEPTH);
    assert_string_equal(r.err_msg, "$: nested deeper than 2 levels at byte 6");

    /* Past the skipper's inline stack when a caller raises the limit. */
    size_t n = 5000;
    char *huge = malloc(2 * n);
    memset(huge, '[', n);
    memset(huge + n, ']', n);
    lim.max_depth = 5000;
    assert_true(sb_json_validate(huge, 2 * n, &lim, NULL, NULL, 0));
    lim.max_depth = 4999;
    assert_false(sb_json_validate(huge, 2 * n, &lim, NULL, NULL, 0));
    free(huge);
}

static void test_size_limit(void **state)
{
    (void)state;
    sb_json_limits lim = sb_json_default_limits;
    lim.max_input = 10;
    GOOD_LIM("[1,2,3,45]", &lim);
    BAD_LIM("[1,2,3,456]", &lim, SB_ERR_SIZE, "$: input is 11 bytes, limit is 10");
    /* Reported by the first read, whatever it is. */
    READ_LIMITS("[1,2,3,456]", &lim);
    assert_int_equal(r.err, SB_ERR_SIZE);
    assert_int_equal(sb_peek(&r), 0);
    assert_false(sb_read_array_begin(&r));
    assert_string_equal(r.err_msg, "$: input is 11 bytes, limit is 10");
}

static void test_max_string(void **state)
{
    (void)state;
    sb_json_limits lim = sb_json_default_limits;
    lim.max_string = 3;
    GOOD_LIM("\"abc\"", &lim);
    GOOD_LIM("\"\\n\\n\\n\"", &lim); /* 6 raw bytes, 3 decoded */
    GOOD_LIM("\"\\u00e9a\"", &lim);  /* 3 decoded */
    BAD_LIM("\"abcd\"", &lim, SB_ERR_TOO_LONG, "$: string longer than 3 bytes");
    BAD_LIM("\"\\u00e9\\u00e9\"", &lim, SB_ERR_TOO_LONG, "$: string longer than 3 bytes");
    BAD_LIM("{\"long\":1}", &lim, SB_ERR_TOO_LONG, "$: string longer than 3 bytes");
    sb_str s;
    READ_LIMITS("{\"k\":\"abcd\"}", &lim);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &s), 1);
    sb_path_push_key(&r, s.ptr, s.len);
    assert_false(sb_read_string(&r, &s));
    assert_int_equal(r.err, SB_ERR_TOO_LONG);
    assert_int_equal(r.err_offset, 5);
    assert_string_equal(r.err_msg, "k: string longer than 3 bytes");
}

static void test_arena_limit(void **state)
{
    (void)state;
    sb_arena small;
    sb_arena_init(&small, 4);
    static const char json[] = "{\"text\":\"ab\\ncd\"}";
    sb_reader rd;
    sb_str k, v;
    sb_reader_init(&rd, json, sizeof json - 1, &small, NULL);
    assert_true(sb_read_object_begin(&rd));
    assert_int_equal(sb_read_object_next(&rd, &k), 1);
    sb_path_push_key(&rd, k.ptr, k.len);
    assert_false(sb_read_string(&rd, &v));
    assert_int_equal(rd.err, SB_ERR_MEMORY);
    assert_string_equal(rd.err_msg, "text: out of memory (arena limit reached)");
    sb_arena_free(&small);

    /* Escaped keys need the arena too; no arena at all is the same. */
    static const char json2[] = "{\"t\\u0065xt\":1}";
    sb_reader_init(&rd, json2, sizeof json2 - 1, NULL, NULL);
    assert_true(sb_read_object_begin(&rd));
    assert_int_equal(sb_read_object_next(&rd, &k), -1);
    assert_int_equal(rd.err, SB_ERR_MEMORY);
    assert_string_equal(rd.err_msg, "$: out of memory (arena limit reached)");
}

/* ---- the pull API ----------------------------------------------------- */

static void test_pull_walk(void **state)
{
    (void)state;
    static const char json[] =
        " { \"id\" : 42 , \"name\":\"x\\u0041\", \"tags\" : [ true , false ] ,"
        " \"ratio\" : 0.5 , \"none\" : null , \"raw\" : {\"a\" : [1, 2]} } ";
    sb_str k, s, raw;
    int64_t id = 0;
    bool b1 = false, b2 = true;
    double ratio = 0;
    READ(json);
    assert_int_equal(sb_peek(&r), '{');
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "id");
    assert_int_equal(sb_peek(&r), '0');
    assert_true(sb_read_int64(&r, &id));
    assert_int_equal(id, 42);
    assert_int_equal(sb_peek(&r), 0); /* ',' cannot start a value */
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "name");
    assert_false(sb_read_null(&r));
    assert_true(sb_read_string(&r, &s));
    ASSERT_STR(s, "xA");
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "tags");
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_int_equal(sb_peek(&r), 't');
    assert_true(sb_read_bool(&r, &b1));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_int_equal(sb_peek(&r), 'f');
    assert_true(sb_read_bool(&r, &b2));
    assert_int_equal(sb_read_array_next(&r), 0);
    assert_true(b1);
    assert_false(b2);
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "ratio");
    assert_true(sb_read_double(&r, &ratio));
    assert_true(ratio == 0.5);
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "none");
    assert_int_equal(sb_peek(&r), 'n');
    assert_true(sb_read_null(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "raw");
    assert_true(sb_read_any(&r, &raw));
    ASSERT_STR(raw, "{\"a\" : [1, 2]}");
    assert_int_equal(sb_read_object_next(&r, &k), 0);
    assert_int_equal(r.depth, 0);
    assert_int_equal(sb_peek(&r), 0);
    assert_true(sb_read_end(&r));
    assert_int_equal(r.err, SB_OK);
}

static void test_pull_empty_and_nested(void **state)
{
    (void)state;
    sb_str k;
    READ("[ [ ] , { } , [ [ ] ] ]");
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_peek(&r), 0);
    assert_int_equal(sb_read_array_next(&r), 0);
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 0);
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 0);
    assert_int_equal(sb_read_array_next(&r), 0);
    assert_int_equal(sb_read_array_next(&r), 0);
    assert_true(sb_read_end(&r));
}

static void test_pull_errors(void **state)
{
    (void)state;
    sb_str k;
    int64_t v;
    READ("{\"a\":1,}");
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    assert_true(sb_read_int64(&r, &v));
    assert_int_equal(sb_read_object_next(&r, &k), -1);
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 7: trailing comma");
    assert_int_equal(r.err_offset, 7);

    READ("[1 2]");
    assert_true(sb_read_array_begin(&r));
    assert_int_equal(sb_read_array_next(&r), 1);
    assert_true(sb_read_int64(&r, &v));
    assert_int_equal(sb_read_array_next(&r), -1);
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 3: expected ',' or ']'");

    READ("{\"a\" 1}");
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), -1);
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 5: expected ':'");

    READ("[1]");
    assert_false(sb_read_object_begin(&r));
    assert_int_equal(r.err, SB_ERR_TYPE);
    assert_string_equal(r.err_msg, "$: expected object, got array");
    /* Sticky: later failures never overwrite the first. */
    assert_false(sb_read_string(&r, &k));
    assert_false(sb_fail(&r, SB_ERR_MISSING, "other"));
    assert_string_equal(r.err_msg, "$: expected object, got array");
    assert_int_equal(sb_read_array_next(&r), -1);
    assert_int_equal(sb_read_object_next(&r, &k), -1);
    assert_false(sb_read_end(&r));

    READ("\"s\"");
    assert_false(sb_read_array_begin(&r));
    assert_string_equal(r.err_msg, "$: expected array, got string");

    bool b;
    READ("1");
    assert_false(sb_read_bool(&r, &b));
    assert_string_equal(r.err_msg, "$: expected boolean, got number");
    READ("fals");
    assert_false(sb_read_bool(&r, &b));
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 0: invalid literal");

    /* The value found is checked before it is called the wrong type. */
    READ("{\"a\":tru}");
    assert_false(sb_read_string(&r, &k));
    assert_int_equal(r.err, SB_ERR_SYNTAX);
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 5: invalid literal");

    /* sb_read_null touches nothing unless it is a null... */
    READ("  \"x\"");
    assert_false(sb_read_null(&r));
    assert_int_equal(r.err, SB_OK);
    assert_true(sb_read_string(&r, &k));
    ASSERT_STR(k, "x");
    /* ...and a broken null is an error. */
    READ("nul");
    assert_false(sb_read_null(&r));
    assert_int_equal(r.err, SB_ERR_SYNTAX);
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 0: invalid literal");

    assert_true(sb_fail(&r, SB_ERR_MISSING, "x") == false);
}

static void test_type_messages_with_paths(void **state)
{
    (void)state;
    static const char json[] = "{\"data\":{\"message\":{\"timestamp\":\"soon\"}}}";
    sb_str k, s;
    int64_t ts;
    READ(json);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    sb_path_push_key(&r, k.ptr, k.len);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    sb_path_push_key(&r, k.ptr, k.len);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    sb_path_push_key(&r, k.ptr, k.len);
    assert_false(sb_read_int64(&r, &ts));
    assert_int_equal(r.err, SB_ERR_TYPE);
    assert_string_equal(r.err_msg, "data.message.timestamp: expected integer, got string");
    assert_int_equal(r.err_offset, 32);

    static const char json2[] = "{\"actions\":[{\"icon\":\"a\"},{},{},{\"icon\":5}]}";
    READ(json2);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    sb_path_push_key(&r, k.ptr, k.len);
    assert_true(sb_read_array_begin(&r));
    size_t i = 0;
    int rc;
    while ((rc = sb_read_array_next(&r)) == 1) {
        sb_path_push_index(&r, i++);
        assert_true(sb_read_object_begin(&r));
        while ((rc = sb_read_object_next(&r, &k)) == 1) {
            sb_path_push_key(&r, k.ptr, k.len);
            if (!sb_read_string(&r, &s))
                break;
            sb_path_pop(&r);
        }
        if (r.err)
            break;
        sb_path_pop(&r);
    }
    assert_int_equal(r.err, SB_ERR_TYPE);
    assert_string_equal(r.err_msg, "actions[3].icon: expected string, got number");
    assert_string_equal(sb_json_err_name(r.err), "type");

    static const char json3[] = "{\"data\":{\"room_id\":7}}";
    READ(json3);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    sb_path_push_key(&r, "data", 4);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    sb_path_push_key(&r, "room_id", 7);
    assert_false(sb_read_string(&r, &s));
    assert_string_equal(r.err_msg, "data.room_id: expected string, got number");
}

/* ---- sb_find_discriminator -------------------------------------------- */

static void check_found(const char *json, size_t len, const char *want)
{
    sb_str v = {0};
    start(json, len, NULL);
    const char *before = r.p;
    int depth = r.depth;
    if (sb_find_discriminator(&r, "type", 4, &v) != 1)
        fail_msg("%s: %s", json, r.err_msg);
    assert_ptr_equal(r.p, before);
    assert_int_equal(r.depth, depth);
    assert_int_equal(r.err, SB_OK);
    assert_str(v, want, strlen(want));
    /* Nothing was consumed: the whole document still reads. */
    sb_str raw;
    assert_true(sb_read_any(&r, &raw));
    assert_true(sb_read_end(&r));
}
#define FOUND(lit, want) check_found((lit), sizeof(lit) - 1, (want))

static void test_discriminator(void **state)
{
    (void)state;
    FOUND("{\"type\":\"send\",\"a\":1}", "send");
    FOUND(" {\"a\":[1,{\"b\":2}],\"c\":{\"type\":\"inner\"},\"type\" : \"last\" } ", "last");
    FOUND("{\"ty\\u0070e\":\"esc\\u0061ped\"}", "escaped");
    FOUND("{\"type\":\"first\",\"type\":\"second\"}", "first");

    sb_str v;
    /* Absent, even when a nested object has a member of the same name. */
    READ("{\"data\":{\"type\":\"nested\"},\"list\":[{\"type\":\"x\"}]}");
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), 0);
    assert_int_equal(r.err, SB_OK);
    assert_int_equal(r.p - r.begin, 0);
    READ("{}");
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), 0);
    /* Not a string: a type error with the key in the path. */
    READ("{\"a\":1,\"type\":5}");
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), -1);
    assert_int_equal(r.err, SB_ERR_TYPE);
    assert_string_equal(r.err_msg, "type: expected string, got number");
    assert_int_equal(r.path_len, 0);
    READ("{\"type\":null}");
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), -1);
    assert_string_equal(r.err_msg, "type: expected string, got null");
    /* The path already pushed is kept. */
    READ("{\"type\":{}}");
    sb_path_push_key(&r, "data", 4);
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), -1);
    assert_string_equal(r.err_msg, "data.type: expected string, got object");
    /* Not an object, or broken before the key. */
    READ("[\"type\"]");
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), -1);
    assert_string_equal(r.err_msg, "$: expected object, got array");
    READ("{\"a\":[1,,2],\"type\":\"x\"}");
    assert_int_equal(sb_find_discriminator(&r, "type", 4, &v), -1);
    assert_int_equal(r.err, SB_ERR_SYNTAX);
    assert_string_equal(r.err_msg, "$: invalid JSON at byte 8: expected value");

    /* Inside a document: position and depth come back as they were. */
    sb_str k;
    READ("{\"msg\":{\"x\":1,\"action\":\"go\"}}");
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    const char *p = r.p;
    assert_int_equal(sb_find_discriminator(&r, "action", 6, &v), 1);
    ASSERT_STR(v, "go");
    assert_ptr_equal(r.p, p);
    assert_int_equal(r.depth, 1);
    assert_true(sb_read_object_begin(&r));
    assert_int_equal(sb_read_object_next(&r, &k), 1);
    ASSERT_STR(k, "x");
}

/* ---- paths ------------------------------------------------------------ */

static const char *fail_now(void)
{
    r.err = SB_OK;
    sb_fail(&r, SB_ERR_MISSING, "is required");
    return r.err_msg;
}

static void test_paths(void **state)
{
    (void)state;
    READ("{}");
    assert_string_equal(fail_now(), "$: is required");
    sb_path_push_index(&r, 2);
    sb_path_push_key(&r, "id", 2);
    assert_string_equal(fail_now(), "$[2].id: is required");
    sb_path_pop(&r);
    sb_path_pop(&r);
    sb_path_pop(&r); /* popping an empty path is harmless */
    assert_int_equal(r.path_len, 0);

    sb_path_push_key(&r, "actions", 7);
    sb_path_push_index(&r, 3);
    sb_path_push_index(&r, 10);
    sb_path_push_key(&r, "icon", 4);
    assert_string_equal(fail_now(), "actions[3][10].icon: is required");
    sb_path_pop(&r);
    sb_path_pop(&r);
    sb_path_pop(&r);
    sb_path_pop(&r);

    /* Bytes that would garble a message are escaped; UTF-8 is kept. */
    sb_path_push_key(&r,
                     "a\x01"
                     "b\n",
                     4);
    sb_path_push_key(&r, "caf\xC3\xA9", 5);
    sb_path_push_key(&r, "bad\xC3", 4);
    sb_path_push_key(&r, "", 0);
    sb_path_push_key(&r, "n\0l", 3);
    assert_string_equal(fail_now(), "a\\x01b\\x0A.caf\xC3\xA9.bad\\xC3.\"\".n\\x00l: is required");
    r.path_len = 0;

    /* Long keys are cut at 32 bytes, on a character boundary. */
    char longkey[100];
    memset(longkey, 'k', sizeof longkey);
    sb_path_push_key(&r, longkey, sizeof longkey);
    assert_string_equal(fail_now(), "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...: is required");
    r.path_len = 0;

    /* Deeper than SB_PATH_MAX: the extra levels show as "...". */
    for (int i = 0; i < SB_PATH_MAX + 8; i++)
        sb_path_push_key(&r, "k", 1);
    char want[200] = "";
    for (int i = 0; i < SB_PATH_MAX; i++)
        strcat(want, i ? ".k" : "k");
    strcat(want, "...: is required");
    assert_string_equal(fail_now(), want);
    /* Popping back below the limit shows the real path again. */
    for (int i = 0; i < 9; i++)
        sb_path_pop(&r);
    want[0] = '\0';
    for (int i = 0; i < SB_PATH_MAX - 1; i++)
        strcat(want, i ? ".k" : "k");
    strcat(want, ": is required");
    assert_string_equal(fail_now(), want);
    r.path_len = 0;

    /* A path too long for the message is cut so that the reason stays. */
    for (int i = 0; i < SB_PATH_MAX; i++)
        sb_path_push_key(&r, longkey, 20);
    const char *m = fail_now();
    assert_true(strlen(m) < SB_ERR_MSG_MAX);
    assert_non_null(strstr(m, "...: is required"));
    assert_int_equal(strlen(m), 128 + strlen(": is required"));

    /* A reason too long for the message is cut, still NUL-terminated. */
    r.path_len = 0;
    r.err = SB_OK;
    char reason[400];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    sb_fail(&r, SB_ERR_FORMAT, "%s", reason);
    assert_int_equal(strlen(r.err_msg), SB_ERR_MSG_MAX - 1);
}

static void test_err_names(void **state)
{
    (void)state;
    assert_string_equal(sb_json_err_name(SB_OK), "ok");
    assert_string_equal(sb_json_err_name(SB_ERR_SYNTAX), "syntax");
    assert_string_equal(sb_json_err_name(SB_ERR_TYPE), "type");
    assert_string_equal(sb_json_err_name(SB_ERR_MISSING), "missing");
    assert_string_equal(sb_json_err_name(SB_ERR_DEPTH), "depth");
    assert_string_equal(sb_json_err_name(SB_ERR_MEMORY), "memory");
    assert_string_equal(sb_json_err_name(SB_ERR_UNKNOWN_DISCRIMINATOR), "unknown_discriminator");
    assert_string_equal(sb_json_err_name(SB_ERR__COUNT), "unknown");
    assert_string_equal(sb_json_err_name((sb_json_err)-1), "unknown");
    for (int e = 0; e < SB_ERR__COUNT; e++)
        assert_string_not_equal(sb_json_err_name((sb_json_err)e), "unknown");
}

static void test_validate_message_buffer(void **state)
{
    (void)state;
    char small[8];
    sb_json_err e;
    assert_false(sb_json_validate("[1,]", 4, NULL, &e, small, sizeof small));
    assert_string_equal(small, "$: inva");
    assert_false(sb_json_validate("[1,]", 4, NULL, NULL, NULL, 0));
    assert_true(sb_json_validate(NULL, 0, NULL, &e, NULL, 0) == false);
    assert_int_equal(e, SB_ERR_SYNTAX);
}

/* The last string of a document ends within 16 bytes of the buffer's end,
 * where the scan loads the buffer's last 16 bytes and shifts out the bytes
 * before the cursor (a quote, a backslash and non-ASCII are put there) and
 * where hex escapes may be cut short. Each document is read from a buffer of
 * exactly its length (ASan sees any read past it) and gives the same verdict,
 * message and strings as the same document with 40 spaces after it, which
 * the wide loop reads instead (but for the offset of an end of input). */
/* The same message, but where the exact document ran out (the padded one
 * goes on into its spaces). */
static bool same_msg(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return true;
    static const char *const at_end[] = {"unexpected end of input", "unterminated string",
                                         "truncated"};
    for (size_t i = 0; i < sizeof at_end / sizeof *at_end; i++)
        if (strstr(a, at_end[i]))
            return true; /* b went on over the spaces: "invalid \u escape" ... */
    return false;
}

static void tail_case(const char *doc, size_t len)
{
    char *exact = malloc(len ? len : 1), *padded = malloc(len + 40);
    assert_non_null(exact);
    assert_non_null(padded);
    memcpy(exact, doc, len);
    memcpy(padded, doc, len);
    memset(padded + len, ' ', 40);
    sb_json_err e1 = SB_OK, e2 = SB_OK;
    char m1[SB_ERR_MSG_MAX], m2[SB_ERR_MSG_MAX];
    bool ok1 = sb_json_validate(exact, len, NULL, &e1, m1, sizeof m1);
    bool ok2 = sb_json_validate(padded, len + 40, NULL, &e2, m2, sizeof m2);
    if (ok1 != ok2 || e1 != e2 || !same_msg(m1, m2))
        fail_msg("%.*s: \"%s\" / \"%s\"", (int)len, doc, m1, m2);
    /* the typed reads: the second element's decoded value, or the error */
    sb_str s1 = {0}, s2 = {0};
    bool t[2];
    for (int k = 0; k < 2; k++) {
        sb_arena_reset(&arena);
        sb_reader_init(&r, k ? padded : exact, k ? len + 40 : len, &arena, NULL);
        sb_str a;
        sb_str *out = k ? &s2 : &s1;
        t[k] = sb_read_array_begin(&r) && sb_read_array_next(&r) == 1 && sb_read_string(&r, &a) &&
               sb_read_array_next(&r) == 1 && sb_read_string_len(&r, out, 0, 64) &&
               sb_read_array_next(&r) == 0 && sb_read_end(&r);
        if (k == 0) {
            strcpy(m1, r.err_msg);
            char *copy = malloc(s1.len + 1);
            assert_non_null(copy);
            if (s1.len) /* s1.ptr is NULL when nothing was read */
                memcpy(copy, s1.ptr, s1.len);
            s1.ptr = copy;
        } else {
            strcpy(m2, r.err_msg);
        }
    }
    if (t[0] != t[1] || !same_msg(m1, m2) || s1.len != s2.len ||
        (s1.len && memcmp(s1.ptr, s2.ptr, s1.len) != 0))
        fail_msg("typed %.*s: \"%s\" / \"%s\"", (int)len, doc, m1, m2);
    assert_int_equal(t[0], ok1);
    free((void *)s1.ptr);
    free(exact);
    free(padded);
}

static void test_string_tail(void **state)
{
    (void)state;
    /* what ends the last string: inserted at every position of its body */
    static const char *const specials[] = {
        "",        "\xC3\xA9",     "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
        "\\n",     "\\\"",         "\\u00e9",      "\\ud83d\\ude00",
        "\x01",    "\x1F",         "\xC3",         "\x80",
        "\\u00",   "\\u00g9",      "\\",           "\"",
        "\\ud83d", "\xED\xA0\x80",
    };
    static const char *const heads[] = {"[\"\",", "[\"\\\"\xC3\xA9\\\\\",", "[\"\xE2\x82\xAC\",",
                                        "[\"aaaaaaaaaaaaaaaaaaaa\","};
    char doc[128];
    for (size_t h = 0; h < sizeof heads / sizeof *heads; h++)
        for (size_t sp = 0; sp < sizeof specials / sizeof *specials; sp++)
            for (size_t before = 0; before <= 20; before++)
                for (size_t after = 0; after <= 3; after++) {
                    int n = snprintf(doc, sizeof doc, "%s\"%.*s%s%.*s\"]", heads[h], (int)before,
                                     "bbbbbbbbbbbbbbbbbbbbbbbb", specials[sp], (int)after, "ccc");
                    assert_true(n > 0 && (size_t)n < sizeof doc);
                    tail_case(doc, (size_t)n);
                    tail_case(doc, (size_t)n - 1); /* no ']' */
                    tail_case(doc, (size_t)n - 2); /* no closing quote */
                }
}

/* sb_read_string_len_p (the generated parsers' cursor-passing read) against
 * sb_read_string_len: the same string, the same cursor after it, the same
 * error and offset, for plain, escaped, non-ASCII, short, long and
 * non-string values. */
static void test_read_string_len_p(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "\"abc\"",
        "\"\"",
        "\"abcdefghijklmnopq\"",
        "\"ab\\ncd\"",
        "\"\xC3\xA9t\xC3\xA9\"",
        "\"a\x01\"",
        "\"\\u00e9xyz\"",
        "12",
        "null",
        " \"abc\"",
        "\"abc",
        "\"\xC3\"",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
    };
    static const size_t bounds[][2] = {{0, 64}, {0, 3}, {4, 64}, {3, 3}, {0, 0}};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++)
        for (size_t b = 0; b < sizeof bounds / sizeof *bounds; b++) {
            size_t len = strlen(docs[d]);
            sb_str s1 = {0}, s2 = {0};
            char m1[SB_ERR_MSG_MAX];
            sb_arena_reset(&arena);
            sb_reader_init(&r, docs[d], len, &arena, NULL);
            bool ok1 = sb_read_string_len(&r, &s1, bounds[b][0], bounds[b][1]);
            const char *p1 = r.p;
            size_t off1 = r.err_offset;
            strcpy(m1, r.err_msg);
            sb_reader_init(&r, docs[d], len, &arena, NULL);
            const char *q = sb_read_string_len_p(&r, r.p, &s2, bounds[b][0], bounds[b][1]);
            if (q)
                r.p = q;
            if (ok1 != (q != NULL) || p1 != r.p || off1 != r.err_offset ||
                strcmp(m1, r.err_msg) != 0 ||
                (ok1 && (s1.len != s2.len || memcmp(s1.ptr, s2.ptr, s1.len) != 0)))
                fail_msg("%s [%zu, %zu]: \"%s\" / \"%s\"", docs[d], bounds[b][0], bounds[b][1], m1,
                         r.err_msg);
        }
}

/* Decoding copies the runs between escapes 16 bytes at a time while the
 * output has room: every length of run before, between and after escapes. */
static void test_decode_runs(void **state)
{
    (void)state;
    static const char *const esc[][2] = {{"\\n", "\n"},
                                         {"\\u00e9", "\xC3\xA9"},
                                         {"\\ud83d\\ude00", "\xF0\x9F\x98\x80"},
                                         {"\\\\", "\\"}};
    char json[256], want[256];
    for (size_t e = 0; e < sizeof esc / sizeof *esc; e++)
        for (size_t a = 0; a <= 40; a++)
            for (size_t b = 0; b <= 40; b += 3) {
                int n = snprintf(json, sizeof json, "\"%.*s%s%.*s%s\"", (int)a,
                                 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH", esc[e][0], (int)b,
                                 "HGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210", esc[e][0]);
                int m = snprintf(want, sizeof want, "%.*s%s%.*s%s", (int)a,
                                 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH", esc[e][1], (int)b,
                                 "HGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210", esc[e][1]);
                check_string(json, (size_t)n, want, (size_t)m);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),       cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_utf8),          cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_zero_copy),     cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_rejects),       cmocka_unit_test(test_int64),
        cmocka_unit_test(test_doubles),       cmocka_unit_test(test_doubles_match_strtod),
        cmocka_unit_test(test_depth_limit),   cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_max_string),    cmocka_unit_test(test_arena_limit),
        cmocka_unit_test(test_pull_walk),     cmocka_unit_test(test_pull_empty_and_nested),
        cmocka_unit_test(test_pull_errors),   cmocka_unit_test(test_type_messages_with_paths),
        cmocka_unit_test(test_discriminator), cmocka_unit_test(test_paths),
        cmocka_unit_test(test_err_names),     cmocka_unit_test(test_validate_message_buffer),
        cmocka_unit_test(test_string_tail),   cmocka_unit_test(test_read_string_len_p),
        cmocka_unit_test(test_decode_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
