/* test_msgpack.c: the MessagePack reader and its JSON (runtime/msgpack.h):
 * every format of the specification, each one's JSON, truncation at every
 * byte of a message that holds them all, the limits (depth, output size,
 * attachments, counts larger than the input), trailing bytes, and what has
 * no JSON form (map keys, invalid UTF-8, bad timestamps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msgpack.h"

#define B(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

static sb_str att[16];

/* The JSON of one whole value (attachments allowed), or NULL with the
 * error's class in *err. */
static const char *json_of(const unsigned char *p, size_t n, sb_mp_err *err, char *msg)
{
    static char text[4096];
    sb_mp_reader r;
    sb_mp_reader_init(&r, p, n);
    sb_buf out;
    sb_buf_init(&out);
    sb_mp_json j = {.attachments = att, .max_attachments = 16};
    bool ok = sb_mp_to_json(&r, &out, &j) && sb_mp_end(&r);
    if (err)
        *err = r.err;
    if (msg)
        snprintf(msg, SB_MP_ERR_MAX, "%s", r.err_msg);
    if (!ok) {
        sb_buf_free(&out);
        return NULL;
    }
    snprintf(text, sizeof text, "%.*s", (int)out.len, out.data);
    sb_buf_free(&out);
    return text;
}

static void expect_json(const unsigned char *p, size_t n, const char *want)
{
    char msg[SB_MP_ERR_MAX];
    const char *got = json_of(p, n, NULL, msg);
    if (!got)
        fail_msg("expected %s, got error %s", want, msg);
    assert_string_equal(got, want);
}

static void expect_err(const unsigned char *p, size_t n, sb_mp_err want, const char *part)
{
    sb_mp_err e;
    char msg[SB_MP_ERR_MAX];
    const char *got = json_of(p, n, &e, msg);
    if (got)
        fail_msg("expected an error, got %s", got);
    assert_int_equal(e, want);
    if (part && !strstr(msg, part))
        fail_msg("error \"%s\" does not say \"%s\"", msg, part);
}

static void test_scalars(void **state)
{
    (void)state;
    expect_json(B(0x00), "0");
    expect_json(B(0x7f), "127");
    expect_json(B(0xe0), "-32");
    expect_json(B(0xff), "-1");
    expect_json(B(0xc0), "null");
    expect_json(B(0xc2), "false");
    expect_json(B(0xc3), "true");
    expect_json(B(0xcc, 0xff), "255");
    expect_json(B(0xcd, 0x01, 0x00), "256");
    expect_json(B(0xce, 0xff, 0xff, 0xff, 0xff), "4294967295");
    expect_json(B(0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00), "4294967296");
    expect_json(B(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "18446744073709551615");
    expect_json(B(0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "9223372036854775807");
    expect_json(B(0xd0, 0x80), "-128");
    expect_json(B(0xd0, 0x7f), "127");
    expect_json(B(0xd1, 0x80, 0x00), "-32768");
    expect_json(B(0xd2, 0x80, 0x00, 0x00, 0x00), "-2147483648");
    expect_json(B(0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), "-9223372036854775808");
    expect_json(B(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), "-2");
    /* float 32: 1.5; 0.1f widened as JavaScript widens it */
    expect_json(B(0xca, 0x3f, 0xc0, 0x00, 0x00), "1.5");
    expect_json(B(0xca, 0x3d, 0xcc, 0xcc, 0xcd), "0.10000000149011612");
    /* float 64: 0.1, -0 (written 0), NaN and infinity (null), 1e300 */
    expect_json(B(0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a), "0.1");
    expect_json(B(0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0), "0");
    expect_json(B(0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0), "null");
    expect_json(B(0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0), "null");
    expect_json(B(0xcb, 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c), "1e+300");
    expect_json(B(0xcb, 0xc0, 0x45, 0x00, 0, 0, 0, 0, 0), "-42");
}

static void test_strings(void **state)
{
    (void)state;
    expect_json(B(0xa0), "\"\"");
    expect_json(B(0xa3, 'a', 'b', 'c'), "\"abc\"");
    /* escapes: quote, backslash, newline, a control byte, NUL */
    expect_json(B(0xa5, '"', '\\', '\n', 0x01, 0x00), "\"\\\"\\\\\\n\\u0001\\u0000\"");
    /* UTF-8 kept as is: é, €, 😀 */
    expect_json(B(0xd9, 9, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80),
                "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    expect_json(B(0xda, 0x00, 0x02, 'h', 'i'), "\"hi\"");
    expect_json(B(0xdb, 0x00, 0x00, 0x00, 0x01, 'x'), "\"x\"");
    /* str 8/16/32 of 300 bytes */
    unsigned char big[310];
    big[0] = 0xda;
    big[1] = 0x01;
    big[2] = 0x2c;
    memset(big + 3, 'q', 300);
    const char *got = json_of(big, 303, NULL, NULL);
    assert_non_null(got);
    assert_int_equal(strlen(got), 302);
    /* not UTF-8: a lone continuation byte, an overlong form, a surrogate */
    expect_err(B(0xa1, 0x80), SB_MP_ERR_JSON, "str: not valid UTF-8");
    expect_err(B(0xa2, 0xc0, 0x80), SB_MP_ERR_JSON, "UTF-8");
    expect_err(B(0xa3, 0xed, 0xa0, 0x80), SB_MP_ERR_JSON, "UTF-8");
}

static void test_containers(void **state)
{
    (void)state;
    expect_json(B(0x90), "[]");
    expect_json(B(0x80), "{}");
    expect_json(B(0x93, 0x01, 0xc0, 0xa1, 'x'), "[1,null,\"x\"]");
    expect_json(B(0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0xc3, 0x80), "{\"a\":1,\"b\":[true,{}]}");
    expect_json(B(0xdc, 0x00, 0x02, 0x01, 0x02), "[1,2]");
    expect_json(B(0xdd, 0x00, 0x00, 0x00, 0x01, 0x05), "[5]");
    expect_json(B(0xde, 0x00, 0x01, 0xa1, 'k', 0x07), "{\"k\":7}");
    expect_json(B(0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 'k', 0x08), "{\"k\":8}");
    /* integer keys are written as JavaScript names them */
    expect_json(B(0x82, 0x01, 0xa1, 'a', 0xd0, 0xfe, 0xa1, 'b'), "{\"1\":\"a\",\"-2\":\"b\"}");
    /* duplicate keys pass through (JSON.parse keeps the last, as notepack does) */
    expect_json(B(0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02), "{\"k\":1,\"k\":2}");
    /* undefined (fixext 1 of type 0): null in an array, left out of a map */
    expect_json(B(0x92, 0xd4, 0x00, 0x00, 0x01), "[null,1]");
    expect_json(B(0x83, 0xa1, 'a', 0xd4, 0x00, 0x00, 0xa1, 'b', 0x02, 0xa1, 'c', 0xd4, 0x00, 0x00),
                "{\"b\":2}");
    expect_json(B(0xd4, 0x00, 0x00), "null");
    /* keys with no JSON form */
    expect_err(B(0x81, 0xc3, 0x01), SB_MP_ERR_JSON, "map key: a bool has no JSON form");
    expect_err(B(0x81, 0xc0, 0x01), SB_MP_ERR_JSON, "map key: a nil");
    expect_err(B(0x81, 0x90, 0x01), SB_MP_ERR_JSON, "map key: a array");
    expect_err(B(0x81, 0xca, 0, 0, 0, 0, 0x01), SB_MP_ERR_JSON, "float");
    expect_err(B(0x81, 0xa1, 0xff, 0x01), SB_MP_ERR_JSON, "map key: not valid UTF-8");
}

static void test_binary(void **state)
{
    (void)state;
    expect_json(B(0x92, 0xc4, 0x02, 0xde, 0xad, 0xc5, 0x00, 0x01, 0x07),
                "[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    assert_int_equal(att[0].len, 2);
    assert_memory_equal(att[0].ptr, "\xde\xad", 2);
    assert_int_equal(att[1].len, 1);
    expect_json(B(0xc6, 0x00, 0x00, 0x00, 0x00), "{\"_placeholder\":true,\"num\":0}");
    assert_int_equal(att[0].len, 0);
    /* ext 0 as ext 8/16/32: notepack's ArrayBuffer */
    expect_json(B(0xc7, 0x01, 0x00, 0x41), "{\"_placeholder\":true,\"num\":0}");
    assert_memory_equal(att[0].ptr, "A", 1);
    expect_json(B(0xc8, 0x00, 0x01, 0x00, 0x42), "{\"_placeholder\":true,\"num\":0}");
    expect_json(B(0xc9, 0x00, 0x00, 0x00, 0x01, 0x00, 0x43), "{\"_placeholder\":true,\"num\":0}");
    /* other ext types: [type, bytes]; fixext 1/2/4/8/16 */
    expect_json(B(0xd4, 0x05, 0x01), "[5,{\"_placeholder\":true,\"num\":0}]");
    expect_json(B(0xd5, 0xfe, 0x01, 0x02), "[-2,{\"_placeholder\":true,\"num\":0}]");
    assert_int_equal(att[0].len, 2);
    expect_json(B(0xd6, 0x07, 1, 2, 3, 4), "[7,{\"_placeholder\":true,\"num\":0}]");
    expect_json(B(0xd7, 0x07, 1, 2, 3, 4, 5, 6, 7, 8), "[7,{\"_placeholder\":true,\"num\":0}]");
    expect_json(B(0xd8, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
                "[7,{\"_placeholder\":true,\"num\":0}]");
    assert_int_equal(att[0].len, 16);
    /* no attachments allowed: refused */
    sb_mp_reader r;
    sb_mp_reader_init(&r, "\xc4\x01x", 3);
    sb_buf out;
    sb_buf_init(&out);
    sb_mp_json none = {0};
    assert_false(sb_mp_to_json(&r, &out, &none));
    assert_int_equal(r.err, SB_MP_ERR_JSON);
    assert_non_null(strstr(r.err_msg, "bin: binary data has no JSON form"));
    /* more than allowed */
    sb_mp_reader_init(&r, "\x93\xc4\x00\xc4\x00\xc4\x00", 7);
    sb_buf_reset(&out);
    sb_str two[2];
    sb_mp_json j = {.attachments = two, .max_attachments = 2};
    assert_false(sb_mp_to_json(&r, &out, &j));
    assert_int_equal(r.err, SB_MP_ERR_LIMIT);
    assert_string_equal(r.err_msg, "offset 5: more than 2 binary attachments");
    sb_buf_free(&out);
}

static void test_dates(void **state)
{
    (void)state;
    expect_json(B(0xd6, 0xff, 0, 0, 0, 0), "\"1970-01-01T00:00:00.000Z\"");
    /* 2026-12-04T18:58:17Z = 1796410697 s */
    expect_json(B(0xd6, 0xff, 0x6b, 0x13, 0x0d, 0x49), "\"2026-12-04T18:58:17.000Z\"");
    /* timestamp 64: 123456789 ns (123 ms), same second */
    uint64_t x = ((uint64_t)123456789 << 34) | 1796410697u;
    unsigned char t64[10] = {0xd7, 0xff};
    for (int i = 0; i < 8; i++)
        t64[2 + i] = (unsigned char)(x >> (56 - 8 * i));
    expect_json(t64, sizeof t64, "\"2026-12-04T18:58:17.123Z\"");
    /* timestamp 96: -1 s + 500 ms -> 1969-12-31T23:59:59.500Z */
    expect_json(
        B(0xc7, 12, 0xff, 0x1d, 0xcd, 0x65, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
        "\"1969-12-31T23:59:59.500Z\"");
    /* year 10000 and before year 0: the extended years */
    expect_json(B(0xc7, 12, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x3a, 0xff, 0xf4, 0x41, 0x80),
                "\"+010000-01-01T00:00:00.000Z\"");
    char buf[40];
    assert_true(sb_mp_iso_date(-62198755200000LL, buf, sizeof buf));
    assert_string_equal(buf, "-000001-01-01T00:00:00.000Z");
    assert_true(sb_mp_iso_date(8640000000000000LL, buf, sizeof buf));
    assert_string_equal(buf, "+275760-09-13T00:00:00.000Z");
    assert_false(sb_mp_iso_date(8640000000000001LL, buf, sizeof buf));
    /* past Date's range: null, as an Invalid Date's toJSON */
    expect_json(B(0xc7, 12, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
                "null");
    /* notepack's old Date (fixext 8 of type 0): milliseconds */
    expect_json(B(0xd7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8),
                "\"1970-01-01T00:00:01.000Z\"");
    expect_json(B(0xd7, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
                "\"1969-12-31T23:59:59.999Z\"");
    /* not timestamps */
    expect_err(B(0xc7, 4, 0xff, 0, 0, 0, 0), SB_MP_ERR_JSON, "timestamp of 4 bytes");
    expect_err(B(0xc7, 12, 0xff, 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0, 0, 0, 0, 0), SB_MP_ERR_JSON,
               "timestamp with 1000000000 nanoseconds");
}

/* One message with every format, then every prefix of it refused as
 * truncated (and nothing read past the prefix: ASan's copy per prefix). */
static void test_truncation(void **state)
{
    (void)state;
    static const unsigned char all[] = {
        0xdc, 0x00, 0x1b,                                           /* array 16 of 27 */
        0x05, 0xf0, 0xc0, 0xc2, 0xc3,                               /* fixints, nil, bools */
        0xcc, 0x01, 0xcd, 0x01, 0x02, 0xce, 0,    0,    0,    1,    /* uint 8/16/32 */
        0xcf, 0,    0,    0,    0,    0,    0,    0,    1,          /* uint 64 */
        0xd0, 0xff, 0xd1, 0xff, 0xff, 0xd2, 0xff, 0xff, 0xff, 0xff, /* int 8/16/32 */
        0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,       /* int 64 */
        0xca, 0x3f, 0xc0, 0,    0,    0xcb, 0x3f, 0xf8, 0,    0,    0,    0, 0,    0, /* floats */
        0xa2, 'h',  'i',  0xd9, 0x01, 'a',  0xda, 0x00, 0x01, 'b',  0xdb, 0, 0,    0,
        1,    'c',                                                                 /* strs */
        0xc4, 0x01, 0x01, 0xc5, 0x00, 0x01, 0x02, 0xc6, 0,    0,    0,    1, 0x03, /* bins */
        0x81, 0xa1, 'k',  0x91, 0x01,    /* fixmap, fixarray */
        0xde, 0x00, 0x01, 0x01, 0xc0,    /* map 16 */
        0xd6, 0xff, 0,    0,    0,    1, /* timestamp 32 */
        0xd4, 0x09, 0x01,                /* fixext 1 */
        0xc7, 0x01, 0x09, 0x02,          /* ext 8 */
    };
    const char *whole = json_of(all, sizeof all, NULL, NULL);
    assert_non_null(whole);
    assert_non_null(strstr(whole, "\"1970-01-01T00:00:01.000Z\""));
    for (size_t n = 0; n < sizeof all; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, all, n);
        sb_mp_err e;
        char msg[SB_MP_ERR_MAX];
        if (json_of(copy, n, &e, msg))
            fail_msg("prefix of %zu bytes accepted", n);
        if (e != SB_MP_ERR_MALFORMED)
            fail_msg("prefix of %zu bytes: %s (%s)", n, sb_mp_err_name(e), msg);
        sb_mp_reader r;
        sb_mp_reader_init(&r, copy, n);
        assert_false(sb_mp_skip(&r, 0) && sb_mp_end(&r));
        free(copy);
    }
    /* truncation in each length field names the format */
    expect_err(B(0xd9), SB_MP_ERR_MALFORMED, "truncated: str 8 needs 1 bytes, 0 left");
    expect_err(B(0xda, 0x00, 0x05, 'a'), SB_MP_ERR_MALFORMED, "str 16 needs 5 bytes, 1 left");
    expect_err(B(0xc6, 0xff, 0xff, 0xff, 0xff), SB_MP_ERR_MALFORMED, "bin 32 needs 4294967295");
    expect_err(B(0xc9, 0x00, 0x00, 0x00, 0x02), SB_MP_ERR_MALFORMED, "ext needs 5 bytes");
    expect_err(B(0xd8, 0x01, 0x00), SB_MP_ERR_MALFORMED, "fixext needs 16 bytes, 1 left");
    expect_err(B(), SB_MP_ERR_MALFORMED, "no bytes left");
}

static void test_malformed(void **state)
{
    (void)state;
    expect_err(B(0xc1), SB_MP_ERR_MALFORMED, "offset 0: byte 0xc1 is never used");
    expect_err(B(0x92, 0x01, 0xc1), SB_MP_ERR_MALFORMED, "offset 2: byte 0xc1");
    /* counts larger than the bytes left, refused before any element is read */
    expect_err(B(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), SB_MP_ERR_MALFORMED,
               "offset 0: array of 4294967295 elements in 1 bytes");
    expect_err(B(0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01), SB_MP_ERR_MALFORMED,
               "map of 2 pairs in 3 bytes");
    expect_err(B(0x81, 0xa1), SB_MP_ERR_MALFORMED, "map of 1 pairs in 1 bytes");
    /* trailing bytes */
    expect_err(B(0x01, 0x02), SB_MP_ERR_MALFORMED, "offset 1: 1 bytes after the value");
    /* the first error stays */
    sb_mp_reader r;
    sb_mp_reader_init(&r, "\xc1", 1);
    sb_mp_value v;
    assert_false(sb_mp_read(&r, &v));
    assert_false(sb_mp_fail(&r, SB_MP_ERR_SHAPE, "later"));
    assert_int_equal(r.err, SB_MP_ERR_MALFORMED);
    assert_false(sb_mp_read(&r, &v));
    /* read_str names what it expected */
    sb_str s;
    sb_mp_reader_init(&r, "\x01", 1);
    assert_false(sb_mp_read_str(&r, "uid", &s));
    assert_int_equal(r.err, SB_MP_ERR_SHAPE);
    assert_string_equal(r.err_msg, "offset 0: uid: expected str, got integer");
    sb_mp_reader_init(&r, "\xa2hi", 3);
    assert_true(sb_mp_read_str(&r, "uid", &s));
    assert_int_equal(s.len, 2);
    assert_true(sb_mp_end(&r));
    sb_mp_reader_init(&r, NULL, 0);
    assert_false(sb_mp_read(&r, &v));
}

static void nested(unsigned char *buf, int depth, unsigned char open)
{
    memset(buf, open, (size_t)depth);
    buf[depth] = 0xc0;
}

static void test_limits(void **state)
{
    (void)state;
    unsigned char buf[200];
    /* 64 arrays deep pass, 65 do not; maps the same */
    nested(buf, 64, 0x91);
    assert_non_null(json_of(buf, 65, NULL, NULL));
    nested(buf, 65, 0x91);
    expect_err(buf, 66, SB_MP_ERR_LIMIT, "offset 64: nested deeper than 64");
    for (int i = 0; i < 65; i++) {
        buf[2 * i] = 0x81;
        buf[2 * i + 1] = 0x00; /* key 0 */
    }
    buf[130] = 0xc0;
    expect_err(buf, 131, SB_MP_ERR_LIMIT, "nested deeper than 64");
    /* skip: the same limit, its own */
    sb_mp_reader r;
    nested(buf, 10, 0x91);
    sb_mp_reader_init(&r, buf, 11);
    assert_false(sb_mp_skip(&r, 9));
    assert_int_equal(r.err, SB_MP_ERR_LIMIT);
    sb_mp_reader_init(&r, buf, 11);
    assert_true(sb_mp_skip(&r, 10));
    assert_true(sb_mp_end(&r));
    /* a depth of our own */
    sb_mp_reader_init(&r, buf, 11);
    sb_buf out;
    sb_buf_init(&out);
    sb_mp_json j = {.max_depth = 3};
    assert_false(sb_mp_to_json(&r, &out, &j));
    assert_string_equal(r.err_msg, "offset 3: nested deeper than 3");
    /* the output's size: "[1,1,1]" is 7 bytes */
    sb_mp_reader_init(&r, "\x93\x01\x01\x01", 4);
    sb_buf_reset(&out);
    j = (sb_mp_json){.max_out = 7};
    assert_true(sb_mp_to_json(&r, &out, &j));
    sb_mp_reader_init(&r, "\x93\x01\x01\x01", 4);
    sb_buf_reset(&out);
    j = (sb_mp_json){.max_out = 6};
    assert_false(sb_mp_to_json(&r, &out, &j));
    assert_int_equal(r.err, SB_MP_ERR_LIMIT);
    assert_non_null(strstr(r.err_msg, "the JSON is over 6 bytes"));
    /* a string of control bytes grows six times: the limit holds */
    unsigned char ctl[40] = {0xd9, 30};
    memset(ctl + 2, 0x01, 30);
    sb_mp_reader_init(&r, ctl, 32);
    sb_buf_reset(&out);
    j = (sb_mp_json){.max_out = 100};
    assert_false(sb_mp_to_json(&r, &out, &j));
    assert_int_equal(r.err, SB_MP_ERR_LIMIT);
    sb_buf_free(&out);
    assert_string_equal(sb_mp_err_name(SB_MP_ERR_JSON), "json");
    assert_string_equal(sb_mp_type_name(SB_MP_UINT), "integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),    cmocka_unit_test(test_strings),
        cmocka_unit_test(test_containers), cmocka_unit_test(test_binary),
        cmocka_unit_test(test_dates),      cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_malformed),  cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
