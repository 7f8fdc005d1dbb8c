/* test_log.c: logfmt lines and value escaping (log.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* ---- capturing what sb_log writes ---------------------------------------- */

static FILE *capture;
static char captured[2 * SB_LOG_LINE_MAX];

static int setup(void **state)
{
    (void)state;
    capture = tmpfile();
    assert_non_null(capture);
    sb_log_set_output(capture);
    sb_log_set_level(SB_LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_log_set_output(NULL);
    sb_log_set_level(SB_LOG_INFO);
    fclose(capture);
    return 0;
}

/* Everything written since the last call, then start over. sb_log writes to
 * the descriptor, so read it with pread rather than through the FILE. */
static const char *output(void)
{
    int fd = fileno(capture);
    off_t end = lseek(fd, 0, SEEK_CUR);
    assert_true(end >= 0 && (size_t)end < sizeof captured);
    assert_int_equal(pread(fd, captured, (size_t)end, 0), end);
    captured[end] = '\0';
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return captured;
}

/* The line after "ts=YYYY-MM-DDTHH:MM:SS.mmmZ", which is checked here. */
static const char *after_ts(const char *line)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    assert_memory_equal(line, "ts=", 3);
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        char c = line[3 + i];
        if (shape[i] == 'd')
            assert_true(c >= '0' && c <= '9');
        else
            assert_int_equal(c, shape[i]);
    }
    return line + 3 + sizeof shape - 1;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- lines --------------------------------------------------------------- */

static void test_line_shape(void **state)
{
    (void)state;
    sb_log(SB_LOG_INFO, "listen", "addr=%s port=%d", "127.0.0.1", 8080);
    assert_string_equal(after_ts(output()), " level=info event=listen addr=127.0.0.1 port=8080\n");
}

static void test_no_pairs(void **state)
{
    (void)state;
    sb_log(SB_LOG_WARN, "shutdown", NULL);
    assert_string_equal(after_ts(output()), " level=warn event=shutdown\n");
}

static void test_level_filter(void **state)
{
    (void)state;
    sb_log(SB_LOG_DEBUG, "hidden", NULL);
    assert_string_equal(output(), "");

    sb_log_set_level(SB_LOG_WARN);
    assert_int_equal(sb_log_get_level(), SB_LOG_WARN);
    sb_log(SB_LOG_INFO, "hidden", NULL);
    assert_string_equal(output(), "");
    sb_log(SB_LOG_ERROR, "shown", "code=%d", 7);
    assert_string_equal(after_ts(output()), " level=error event=shown code=7\n");

    sb_log_set_level(SB_LOG_DEBUG);
    sb_log(SB_LOG_DEBUG, "shown", NULL);
    assert_string_equal(after_ts(output()), " level=debug event=shown\n");
}

static void test_level_names(void **state)
{
    (void)state;
    bool ok = false;
    assert_int_equal(sb_log_level_from("debug", &ok), SB_LOG_DEBUG);
    assert_true(ok);
    assert_int_equal(sb_log_level_from("INFO", &ok), SB_LOG_INFO);
    assert_true(ok);
    assert_int_equal(sb_log_level_from("Warn", &ok), SB_LOG_WARN);
    assert_int_equal(sb_log_level_from("error", NULL), SB_LOG_ERROR);
    assert_int_equal(sb_log_level_from("loud", &ok), SB_LOG_INFO);
    assert_false(ok);
    ok = true;
    sb_log_level_from(NULL, &ok);
    assert_false(ok);
    assert_string_equal(sb_log_level_name(SB_LOG_DEBUG), "debug");
    assert_string_equal(sb_log_level_name(SB_LOG_ERROR), "error");
}

/* A raw control byte that skipped sb_log_kv_str must not start a new line
 * (which could forge an entry). */
static void test_raw_newline_cannot_forge_a_line(void **state)
{
    (void)state;
    sb_log(SB_LOG_INFO, "login", "user=%s", "bob\nts=x level=error event=pwned\r");
    const char *out = output();
    assert_int_equal(count_lines(out), 1);
    assert_string_equal(after_ts(out),
                        " level=info event=login user=bob?ts=x level=error event=pwned?\n");
}

static void test_errno_kept(void **state)
{
    (void)state;
    errno = ENOENT;
    sb_log(SB_LOG_INFO, "x", NULL);
    assert_int_equal(errno, ENOENT);
    output();
}

/* ---- long lines ---------------------------------------------------------- */

static char big[3 * SB_LOG_LINE_MAX];

static const char *fill(char c, size_t n)
{
    assert_true(n < sizeof big);
    memset(big, c, n);
    big[n] = '\0';
    return big;
}

/* Exactly SB_LOG_LINE_MAX bytes with the newline fits; one more does not. */
static void test_longest_line(void **state)
{
    (void)state;
    sb_log(SB_LOG_INFO, "e", NULL);
    size_t prefix = strlen(output()) - 1; /* "ts=... level=info event=e" */
    size_t room = SB_LOG_LINE_MAX - 1 - prefix - strlen(" v=");

    sb_log(SB_LOG_INFO, "e", "v=%s", fill('x', room));
    const char *out = output();
    assert_int_equal(strlen(out), SB_LOG_LINE_MAX);
    assert_string_equal(out + strlen(out) - 3, "xx\n");

    sb_log(SB_LOG_INFO, "e", "v=%s", fill('x', room + 1));
    assert_string_equal(after_ts(output()), " level=info event=e truncated=true\n");
}

/* A cut line keeps its whole pairs only: never half a quoted value. */
static void test_truncation_keeps_whole_pairs(void **state)
{
    (void)state;
    sb_log(SB_LOG_INFO, "big", "a=1 b=%s c=2", fill('x', 5000));
    assert_string_equal(after_ts(output()), " level=info event=big a=1 truncated=true\n");

    /* Spaces inside quotes are not places to cut. */
    for (size_t i = 1; i < 5000; i += 2)
        big[i] = ' ';
    sb_log(SB_LOG_INFO, "big", "a=1 b=\"%s\" c=2", big);
    assert_string_equal(after_ts(output()), " level=info event=big a=1 truncated=true\n");

    /* Even an absurd event name cannot overrun the line. */
    sb_log(SB_LOG_INFO, fill('e', 5000), "a=%d", 1);
    assert_string_equal(after_ts(output()), " level=info truncated=true\n");

    /* A pair that ends exactly where the cut falls survives whole. */
    sb_log(SB_LOG_INFO, "big", NULL);
    size_t prefix = strlen(output()) - 1;
    size_t keep = SB_LOG_LINE_MAX - sizeof " truncated=true";
    char *a = malloc(keep);
    assert_non_null(a);
    memset(a, 'a', keep - prefix - 3);
    a[keep - prefix - 3] = '\0';
    sb_log(SB_LOG_INFO, "big", "a=%s b=%s", a, fill('b', 100));
    const char *out = output();
    assert_int_equal(strlen(out), SB_LOG_LINE_MAX);
    assert_memory_equal(out + prefix, " a=", 3);
    assert_memory_equal(out + prefix + 3, a, strlen(a));
    assert_string_equal(out + prefix + 3 + strlen(a), " truncated=true\n");
    free(a);
}

/* ---- values -------------------------------------------------------------- */

static void check_kv(const char *value, const char *want)
{
    char dst[128];
    assert_ptr_equal(sb_log_kv_str(dst, sizeof dst, value), dst);
    assert_string_equal(dst, want);
}

static void test_kv_escaping(void **state)
{
    (void)state;
    check_kv("plain", "plain");
    check_kv("127.0.0.1:8080/chat?x", "127.0.0.1:8080/chat?x");
    check_kv("", "\"\"");
    check_kv(NULL, "\"\"");
    check_kv("two words", "\"two words\"");
    check_kv("a=b", "\"a=b\"");
    check_kv("say \"hi\"", "\"say \\\"hi\\\"\"");
    check_kv("x\"", "\"x\\\"\"");
    check_kv("line\nbreak", "\"line\\nbreak\"");
    check_kv("cr\rtab\t", "\"cr\\rtab\\t\"");
    check_kv("bell\x07", "\"bell\\u0007\"");
    check_kv("del\x7f", "\"del\\u007f\"");
    check_kv("esc\x1b[31m", "\"esc\\u001b[31m\"");
    /* A backslash alone needs no quotes; inside quotes it is escaped. */
    check_kv("C:\\dir", "C:\\dir");
    check_kv("C:\\my dir", "\"C:\\\\my dir\"");
    check_kv("h\xc3\xa9llo", "h\xc3\xa9llo");
}

static void test_kv_with_nul(void **state)
{
    (void)state;
    char dst[32];
    assert_string_equal(sb_log_kv_strn(dst, sizeof dst, "a\0b", 3), "\"a\\u0000b\"");
    assert_string_equal(sb_log_kv_strn(dst, sizeof dst, "abcdef", 3), "abc");
}

static void test_kv_cut(void **state)
{
    (void)state;
    char dst[16];
    /* unquoted that fits exactly (5 bytes and the NUL) */
    assert_string_equal(sb_log_kv_str(dst, 6, "abcde"), "abcde");
    /* one more byte: cut, quoted, marked */
    assert_string_equal(sb_log_kv_str(dst, 8, "abcdefghij"), "\"ab...\"");
    assert_string_equal(sb_log_kv_str(dst, 6, "abcdef"), "\"...\"");
    /* too small for a marked cut: empty */
    assert_string_equal(sb_log_kv_str(dst, 5, "abcdef"), "");
    /* nowhere to write at all: a static "" */
    assert_string_equal(sb_log_kv_str(dst, 0, "abc"), "");
    /* a quoted value that fits exactly, and one that does not */
    assert_string_equal(sb_log_kv_str(dst, 6, "a b"), "\"a b\"");
    assert_string_equal(sb_log_kv_str(dst, 7, "a b c"), "\"a...\"");
    /* an escape is never split */
    assert_string_equal(sb_log_kv_str(dst, 8, "\n\n\n\n"), "\"\\n...\"");
    assert_string_equal(sb_log_kv_str(dst, 10, "\x01\x01"), "\"...\"");
    /* nor a UTF-8 character: e-acute is c3 a9 */
    assert_string_equal(sb_log_kv_str(dst, 9, "\xc3\xa9\xc3\xa9\xc3\xa9 x"), "\"\xc3\xa9...\"");
    assert_string_equal(sb_log_kv_str(dst, 8, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"), "\"...\"");
}

/* Reads back one logfmt value; returns its length, or -1 if malformed. */
static int unquote(const char *s, char *out)
{
    size_t n = 0;
    if (*s != '"') {
        for (; *s; s++) {
            if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=')
                return -1;
            out[n++] = *s;
        }
        return (int)n;
    }
    for (s++; *s != '"'; s++) {
        if (*s == '\0' || (unsigned char)*s < 0x20)
            return -1;
        if (*s != '\\') {
            out[n++] = *s;
            continue;
        }
        s++;
        if (*s == 'n')
            out[n++] = '\n';
        else if (*s == 'r')
            out[n++] = '\r';
        else if (*s == 't')
            out[n++] = '\t';
        else if (*s == '"' || *s == '\\')
            out[n++] = *s;
        else if (*s == 'u' && s[1] == '0' && s[2] == '0') {
            out[n++] = (char)strtol((char[]){s[3], s[4], 0}, NULL, 16);
            s += 4;
        } else
            return -1;
    }
    return s[1] == '\0' ? (int)n : -1;
}

/* Every value, at every size, reads back as itself or as a marked prefix. */
static void test_kv_always_reads_back(void **state)
{
    (void)state;
    static const char *const values[] = {
        "",
        "x",
        "hello world",
        "k=v",
        "\"\"\"",
        "\\\\",
        "a\nb\rc\td",
        "\x01\x02\x7f",
        "\xc3\xa9t\xc3\xa9 \xe2\x82\xac",
        "mixed \"quotes\" and = and \\ and \n",
    };
    char dst[64], back[64];
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        size_t len = strlen(values[v]);
        for (size_t n = 1; n <= sizeof dst; n++) {
            sb_log_kv_str(dst, n, values[v]);
            size_t out_len = strlen(dst);
            assert_true(out_len < n);
            if (out_len == 0)
                continue; /* too small to hold anything */
            int got = unquote(dst, back);
            assert_true(got >= 0);
            bool cut = out_len >= 5 && strcmp(dst + out_len - 4, "...\"") == 0 &&
                       !((size_t)got == len && memcmp(back, values[v], len) == 0);
            if (cut)
                got -= 3; /* the "..." marker */
            else
                assert_int_equal(got, len);
            assert_memory_equal(back, values[v], (size_t)got);
        }
    }
}

/* ---- rate-limited lines -------------------------------------------------- */

static void test_every_first_line_at_once(void **state)
{
    (void)state;
    sb_log_every_state st = SB_LOG_EVERY_INIT;
    assert_true(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", "max=%d", 5));
    assert_string_equal(after_ts(output()), " level=warn event=refused max=5 count=1\n");
}

static void test_every_counts_what_it_holds_back(void **state)
{
    (void)state;
    sb_log_every_state st = SB_LOG_EVERY_INIT;
    assert_true(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", NULL));
    assert_string_equal(after_ts(output()), " level=warn event=refused count=1\n");
    /* within the interval: counted, nothing written */
    for (int i = 0; i < 4; i++)
        assert_false(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", "i=%d", i));
    assert_string_equal(output(), "");
    assert_int_equal(st.pending, 4);
    /* a second later: one line for those four and itself */
    st.last_ms -= 1000;
    assert_true(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", "i=%d", 9));
    assert_string_equal(after_ts(output()), " level=warn event=refused i=9 count=5\n");
    assert_int_equal(st.pending, 0);
    /* and the interval starts again from that line */
    assert_false(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", NULL));
    assert_string_equal(output(), "");
    /* 900 ms back, not 999: the clock moves between the calls, and a
     * millisecond there made this test fail once in a while */
    st.last_ms -= 900;
    assert_false(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", NULL));
    st.last_ms -= 100;
    assert_true(sb_log_every(&st, 1000, SB_LOG_WARN, "refused", NULL));
    assert_string_equal(after_ts(output()), " level=warn event=refused count=3\n");
}

static void test_every_separate_states(void **state)
{
    (void)state;
    sb_log_every_state a = SB_LOG_EVERY_INIT, b = SB_LOG_EVERY_INIT;
    assert_true(sb_log_every(&a, 1000, SB_LOG_INFO, "a", NULL));
    assert_true(sb_log_every(&b, 1000, SB_LOG_INFO, "b", NULL));
    assert_int_equal(count_lines(output()), 2);
    /* interval 0: every call writes */
    for (int i = 0; i < 3; i++)
        assert_true(sb_log_every(&a, 0, SB_LOG_INFO, "a", NULL));
    assert_int_equal(count_lines(output()), 3);
}

static void test_every_below_level_still_limits(void **state)
{
    (void)state;
    sb_log_every_state st = SB_LOG_EVERY_INIT;
    assert_true(sb_log_every(&st, 1000, SB_LOG_DEBUG, "quiet", NULL));
    assert_false(sb_log_every(&st, 1000, SB_LOG_DEBUG, "quiet", NULL));
    assert_string_equal(output(), "");
    assert_int_equal(st.pending, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_newline_cannot_forge_a_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errno_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_keeps_whole_pairs, setup, teardown),
        cmocka_unit_test(test_kv_escaping),
        cmocka_unit_test(test_kv_with_nul),
        cmocka_unit_test(test_kv_cut),
        cmocka_unit_test(test_kv_always_reads_back),
        cmocka_unit_test_setup_teardown(test_every_first_line_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_counts_what_it_holds_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_separate_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_below_level_still_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
