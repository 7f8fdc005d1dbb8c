/*
 * test_pattern.c: runtime/pattern.c against the generator.
 *
 * pattern_cases.c (written at build time by pattern_cases.lua from
 * generator/pattern.lua) holds compiled programs and, for each input, what
 * the generator's own matcher and validate.lua answered: the C matcher and
 * format checks must answer the same. The rest are properties of the C side
 * alone: bounded time on inputs that make backtracking matchers explode,
 * malformed programs refused, and the parser's error message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "codec.h"
#include "pattern.h"
#include "pattern_cases.h"

static void test_cases_agree_with_generator(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < sb_pattern_n_cases; i++) {
        const sb_pattern_case *c = &sb_pattern_cases[i];
        bool got = false;
        switch (c->kind) {
        case SB_CASE_PATTERN:
            got = sb_pattern_match(c->pattern, c->input, c->len);
            break;
        case SB_CASE_URI:
            got = sb_is_uri(c->input, c->len);
            break;
        case SB_CASE_EMAIL:
            got = sb_is_email(c->input, c->len);
            break;
        case SB_CASE_ISO8601:
            got = sb_is_iso8601((sb_str){c->input, c->len});
            break;
        }
        if (got != c->accept)
            fail_msg("%s on \"%.*s\": C says %d, the generator %d", c->source, (int)c->len,
                     c->input, got, c->accept);
        checked++;
    }
    assert_true(checked > 150);
}

/* ^(a*)*b$ on a long run of a's: exponential for a backtracking matcher. */
/* sb_is_uri checks 16 bytes per SSE2 step with folded compares: every
 * byte value, at every position of a step and of the scalar tail, must get
 * the answer of the RFC 3986 set spelled out byte by byte. */
static void test_uri_every_byte_every_position(void **state)
{
    (void)state;
    static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=";
    char uri[64];
    for (int c = 0; c < 256; c++) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr(allowed, c) != NULL);
        for (size_t at = 6; at < 44; at++) {
            memcpy(uri, "https://example.com/abcdefghijklmnopqrstuvwxyz0123456789", 44);
            uri[at] = (char)c;
            /* '%' must start an escape: followed by hex digits it is fine */
            bool want = ok;
            if (c == '%') {
                uri[at + 1] = '4';
                uri[at + 2] = '1';
                want = at + 2 < 44;
            }
            if (sb_is_uri(uri, 44) != want)
                fail_msg("byte 0x%02X at %zu: %s", c, at, want ? "refused" : "accepted");
        }
    }
}

static void test_no_exponential_backtracking(void **state)
{
    (void)state;
    const sb_pattern *p = NULL;
    for (size_t i = 0; i < sb_pattern_n_cases; i++)
        if (sb_pattern_cases[i].kind == SB_CASE_PATTERN &&
            strcmp(sb_pattern_cases[i].source, "^(a*)*b$") == 0)
            p = sb_pattern_cases[i].pattern;
    assert_non_null(p);
    static char s[200001];
    memset(s, 'a', sizeof s - 1);
    clock_t t0 = clock();
    assert_false(sb_pattern_match(p, s, sizeof s - 1));
    s[sizeof s - 2] = 'b';
    assert_true(sb_pattern_match(p, s, sizeof s - 1));
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* linear: 400 kB through a 7-instruction program takes milliseconds */
    assert_true(secs < 2.0);
}

static const uint32_t digit_sets[][8] = {{0, 0x03ff0000, 0, 0, 0, 0, 0, 0}};

static void test_malformed_program_refused(void **state)
{
    (void)state;
    static const sb_pattern_inst ok[] = {{SB_PAT_SET, 0, 0}, {SB_PAT_MATCH, 0, 0}};
    static const sb_pattern_inst bad_set[] = {{SB_PAT_SET, 1, 0}, {SB_PAT_MATCH, 0, 0}};
    static const sb_pattern_inst bad_jump[] = {{SB_PAT_JMP, 9, 0}, {SB_PAT_MATCH, 0, 0}};
    static const sb_pattern_inst no_match[] = {{SB_PAT_SET, 0, 0}};
    sb_pattern p = {"^[0-9]$", ok, 2, digit_sets, 1};
    assert_true(sb_pattern_match(&p, "7", 1));
    assert_false(sb_pattern_match(&p, "x", 1));
    p.prog = bad_set;
    assert_false(sb_pattern_match(&p, "7", 1));
    p.prog = bad_jump;
    assert_false(sb_pattern_match(&p, "", 0));
    p.prog = no_match;
    p.n_insts = 1;
    assert_false(sb_pattern_match(&p, "7", 1));
}

static void test_check_messages(void **state)
{
    (void)state;
    static const sb_pattern_inst prog[] = {{SB_PAT_SET, 0, 0}, {SB_PAT_MATCH, 0, 0}};
    sb_pattern p = {"^[0-9]$", prog, 2, digit_sets, 1};
    sb_reader r;
    sb_reader_init(&r, "", 0, NULL, NULL);
    sb_path_push_key(&r, "code", 4);
    assert_false(sb_check_pattern(&r, (sb_str){"x", 1}, &p));
    assert_int_equal(r.err, SB_ERR_FORMAT);
    assert_string_equal(r.err_msg, "code: does not match pattern ^[0-9]$");
    sb_reader_init(&r, "", 0, NULL, NULL);
    sb_path_push_key(&r, "src", 3);
    assert_false(sb_check_uri(&r, (sb_str){"no uri", 6}));
    assert_string_equal(r.err_msg, "src: expected a URI");
    sb_reader_init(&r, "", 0, NULL, NULL);
    sb_path_push_key(&r, "to", 2);
    assert_false(sb_check_email(&r, (sb_str){"a@b", 3}));
    assert_string_equal(r.err_msg, "to: expected an email address");
    sb_reader_init(&r, "", 0, NULL, NULL);
    assert_true(sb_check_pattern(&r, (sb_str){"5", 1}, &p));
    assert_true(sb_check_uri(&r, (sb_str){"a:b", 3}));
    assert_true(sb_check_email(&r, (sb_str){"a@b.c", 5}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_agree_with_generator),
        cmocka_unit_test(test_uri_every_byte_every_position),
        cmocka_unit_test(test_no_exponential_backtracking),
        cmocka_unit_test(test_malformed_program_refused),
        cmocka_unit_test(test_check_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
