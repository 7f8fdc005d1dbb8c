/* test_sio_packet.c: base64 (RFC 4648 vectors, strictness, round trips) and
 * Socket.IO packet headers, arrays, names and placeholders (sio_packet.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "sio_packet.h"

static void enc(const char *in, const char *want)
{
    sb_buf b;
    sb_buf_init(&b);
    sb_b64_encode(&b, in, strlen(in));
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    unsigned char out[64];
    long n = sb_b64_decode(want, strlen(want), out);
    assert_int_equal(n, (long)strlen(in));
    assert_memory_equal(out, in, (size_t)n);
    sb_buf_free(&b);
}

static void test_base64_vectors(void **state)
{
    (void)state;
    /* RFC 4648, 10 */
    enc("", "");
    enc("f", "Zg==");
    enc("fo", "Zm8=");
    enc("foo", "Zm9v");
    enc("foob", "Zm9vYg==");
    enc("fooba", "Zm9vYmE=");
    enc("foobar", "Zm9vYmFy");
}

static void test_base64_strict(void **state)
{
    (void)state;
    unsigned char out[16];
    const char *bad[] = {"Zg=", "Zg", "Z===", "Zm9v!A==", "Z=g=", "Zh==", "Zm9=", "=AAA"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(sb_b64_decode(bad[i], strlen(bad[i]), out), -1);
    /* random bytes round trip */
    srand(7);
    for (int t = 0; t < 200; t++) {
        unsigned char in[40];
        size_t n = (size_t)(rand() % 40);
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)rand();
        sb_buf b;
        sb_buf_init(&b);
        sb_b64_encode(&b, in, n);
        unsigned char back[40];
        assert_int_equal(sb_b64_decode(b.data ? b.data : "", b.len, back), (long)n);
        assert_memory_equal(back, in, n);
        sb_buf_free(&b);
    }
}

static void test_packet_headers(void **state)
{
    (void)state;
    sb_sio_packet p;
    assert_null(sb_sio_packet_parse("0", 1, 10, &p)); /* CONNECT (the Engine.IO "4" is gone) */
    assert_int_equal(p.type, SB_SIO_CONNECT);
    assert_string_equal(p.nsp, "/");
    assert_int_equal(p.ack, -1);
    assert_int_equal(p.json_len, 0);
    const char *c = "0/custom,{\"a\":1}";
    assert_null(sb_sio_packet_parse(c, strlen(c), 10, &p));
    assert_string_equal(p.nsp, "/custom");
    assert_int_equal(p.json_len, 7);
    assert_null(sb_sio_packet_parse("1/custom", 8, 10, &p)); /* no comma */
    assert_string_equal(p.nsp, "/custom");
    const char *e = "2/a,12[\"x\"]";
    assert_null(sb_sio_packet_parse(e, strlen(e), 10, &p));
    assert_int_equal(p.ack, 12);
    assert_int_equal(p.type, SB_SIO_EVENT);
    const char *b = "52-[{\"_placeholder\":true,\"num\":1}]";
    assert_null(sb_sio_packet_parse(b, strlen(b), 10, &p));
    assert_int_equal(p.attachments, 2);
    assert_string_equal(sb_sio_packet_parse("7", 1, 10, &p), "unknown packet type");
    assert_string_equal(sb_sio_packet_parse("", 0, 10, &p), "unknown packet type");
    assert_string_equal(sb_sio_packet_parse("5[]", 3, 10, &p), "bad attachment count");
    assert_string_equal(sb_sio_packet_parse("511-[]", 6, 10, &p), "too many attachments");
    assert_string_equal(sb_sio_packet_parse("50-[]", 5, 10, &p),
                        "a binary packet without attachments");
    assert_string_equal(sb_sio_packet_parse("012{}", 5, 10, &p),
                        "an ack ID on a packet that takes none");
    assert_string_equal(sb_sio_packet_parse("21234567890123456[]", 19, 10, &p), "ack ID too long");
    char longnsp[200] = "2/";
    memset(longnsp + 2, 'n', 150);
    longnsp[152] = '\0';
    assert_string_equal(sb_sio_packet_parse(longnsp, strlen(longnsp), 10, &p),
                        "namespace too long");
}

static void test_arrays_names_placeholders(void **state)
{
    (void)state;
    sb_arena a;
    sb_arena_init(&a, 1 << 20);
    sb_str *items, inner, name;
    size_t n;
    const char *j = "[\"message\", 1, {\"k\":[2]}]";
    assert_true(sb_sio_array(&a, j, strlen(j), &items, &n, &inner));
    assert_int_equal(n, 3);
    assert_true(sb_sio_event_name(&a, items[0], &name));
    assert_int_equal(name.len, 7);
    assert_memory_equal(name.ptr, "message", 7);
    assert_int_equal(items[2].len, 9);
    assert_false(sb_sio_array(&a, "{}", 2, &items, &n, &inner));
    assert_false(sb_sio_array(&a, "[1,", 3, &items, &n, &inner));
    assert_false(sb_sio_array(&a, "[1] x", 5, &items, &n, &inner));
    const char *reserved[] = {"\"connect\"",       "\"connect_error\"", "\"disconnect\"",
                              "\"disconnecting\"", "\"newListener\"",   "\"removeListener\""};
    for (size_t i = 0; i < 6; i++)
        assert_false(sb_sio_event_name(&a, (sb_str){reserved[i], strlen(reserved[i])}, &name));
    assert_true(sb_sio_event_name(&a, (sb_str){"42", 2}, &name));
    assert_false(sb_sio_event_name(&a, (sb_str){"null", 4}, &name));
    const char *ok =
        "[\"m\",{\"_placeholder\":true,\"num\":0},[{\"_placeholder\":true,\"num\":1}]]";
    assert_true(sb_sio_placeholders_ok(&a, ok, strlen(ok), 2));
    assert_false(sb_sio_placeholders_ok(&a, ok, strlen(ok), 1)); /* num 1 of 1 */
    const char *neg = "[{\"_placeholder\":true,\"num\":-1}]";
    assert_false(sb_sio_placeholders_ok(&a, neg, strlen(neg), 2));
    assert_false(sb_sio_placeholders_ok(&a, "{}", 2, 1));
    sb_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_packet_headers),
        cmocka_unit_test(test_arrays_names_placeholders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
