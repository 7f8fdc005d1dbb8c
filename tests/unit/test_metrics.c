/* test_metrics.c: the registry and its Prometheus text (metrics.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "metrics.h"

static sb_buf buf;
static FILE *log_file;

static int setup(void **state)
{
    (void)state;
    sb_buf_init(&buf);
    log_file = tmpfile(); /* rejections are logged; keep them off the console */
    assert_non_null(log_file);
    sb_log_set_output(log_file);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_metrics_reset_all_for_tests();
    sb_buf_free(&buf);
    sb_log_set_output(NULL);
    fclose(log_file);
    return 0;
}

static const char *render(void)
{
    sb_buf_reset(&buf);
    sb_metrics_render(&buf);
    sb_buf_putc(&buf, '\0');
    assert_false(buf.oom);
    return buf.data;
}

/* The log written since the last call. */
static const char *logged(void)
{
    static char text[4096];
    int fd = fileno(log_file);
    off_t end = lseek(fd, 0, SEEK_CUR);
    assert_true(end >= 0 && (size_t)end < sizeof text);
    assert_int_equal(pread(fd, text, (size_t)end, 0), end);
    text[end] = '\0';
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return text;
}

static void test_empty(void **state)
{
    (void)state;
    assert_string_equal(render(), "");
}

static void test_families_group_their_series(void **state)
{
    (void)state;
    sb_counter *send = sb_counter_new("sb_messages_total", "Messages received, by type.",
                                      "channel=\"chat\",type=\"send_message\"");
    sb_gauge *conns = sb_gauge_new("sb_connections", "Open connections.", NULL);
    /* Same family, registered after another one: still rendered under it.
     * The family keeps its first help. */
    sb_counter *read =
        sb_counter_new("sb_messages_total", "other help", "channel=\"chat\",type=\"mark_read\"");
    sb_counter *plain = sb_counter_new("sb_requests_total", NULL, "");
    assert_non_null(send);
    assert_non_null(conns);
    assert_non_null(read);
    assert_non_null(plain);

    sb_counter_add(send, 2);
    sb_counter_add(send, 1);
    sb_counter_add(read, 1);
    sb_gauge_set(conns, 5);
    sb_gauge_add(conns, -7);
    assert_int_equal(sb_counter_value(send), 3);
    assert_int_equal(sb_gauge_value(conns), -2);

    assert_string_equal(render(), "# HELP sb_messages_total Messages received, by type.\n"
                                  "# TYPE sb_messages_total counter\n"
                                  "sb_messages_total{channel=\"chat\",type=\"send_message\"} 3\n"
                                  "sb_messages_total{channel=\"chat\",type=\"mark_read\"} 1\n"
                                  "# HELP sb_connections Open connections.\n"
                                  "# TYPE sb_connections gauge\n"
                                  "sb_connections -2\n"
                                  "# TYPE sb_requests_total counter\n"
                                  "sb_requests_total 0\n");
}

static void test_histogram(void **state)
{
    (void)state;
    static const double bounds[] = {0.5, 1, 2.5};
    sb_histogram *h =
        sb_histogram_new("sb_handler_seconds", "Handler time.", "channel=\"chat\"", bounds, 3);
    sb_histogram *bare = sb_histogram_new("sb_handler_seconds", NULL, NULL, bounds, 3);
    assert_non_null(h);
    assert_non_null(bare);
    sb_histogram_observe(h, 0.25);
    sb_histogram_observe(h, 0.5); /* a bound is inside its own bucket (le) */
    sb_histogram_observe(h, 1);
    sb_histogram_observe(h, 2);
    sb_histogram_observe(h, 8);
    sb_histogram_observe(h, NAN); /* ignored */
    sb_histogram_observe(bare, -1);

    assert_string_equal(render(), "# HELP sb_handler_seconds Handler time.\n"
                                  "# TYPE sb_handler_seconds histogram\n"
                                  "sb_handler_seconds_bucket{channel=\"chat\",le=\"0.5\"} 2\n"
                                  "sb_handler_seconds_bucket{channel=\"chat\",le=\"1\"} 3\n"
                                  "sb_handler_seconds_bucket{channel=\"chat\",le=\"2.5\"} 4\n"
                                  "sb_handler_seconds_bucket{channel=\"chat\",le=\"+Inf\"} 5\n"
                                  "sb_handler_seconds_sum{channel=\"chat\"} 11.75\n"
                                  "sb_handler_seconds_count{channel=\"chat\"} 5\n"
                                  "sb_handler_seconds_bucket{le=\"0.5\"} 1\n"
                                  "sb_handler_seconds_bucket{le=\"1\"} 1\n"
                                  "sb_handler_seconds_bucket{le=\"2.5\"} 1\n"
                                  "sb_handler_seconds_bucket{le=\"+Inf\"} 1\n"
                                  "sb_handler_seconds_sum -1\n"
                                  "sb_handler_seconds_count 1\n");
}

static void test_histogram_edges(void **state)
{
    (void)state;
    static const double tiny[] = {0.001};
    sb_histogram *none = sb_histogram_new("h_none", NULL, NULL, NULL, 0);
    sb_histogram *inf = sb_histogram_new("h_inf", NULL, NULL, tiny, 1);
    assert_non_null(none);
    assert_non_null(inf);
    sb_histogram_observe(none, 3);
    sb_histogram_observe(inf, INFINITY);
    assert_string_equal(render(), "# TYPE h_none histogram\n"
                                  "h_none_bucket{le=\"+Inf\"} 1\n"
                                  "h_none_sum 3\n"
                                  "h_none_count 1\n"
                                  "# TYPE h_inf histogram\n"
                                  "h_inf_bucket{le=\"0.001\"} 0\n"
                                  "h_inf_bucket{le=\"+Inf\"} 1\n"
                                  "h_inf_sum +Inf\n"
                                  "h_inf_count 1\n");
}

static void test_values_at_the_limits(void **state)
{
    (void)state;
    sb_counter *c = sb_counter_new("big_total", NULL, NULL);
    sb_gauge *g = sb_gauge_new("low", NULL, NULL);
    sb_counter_add(c, UINT64_MAX);
    sb_gauge_set(g, INT64_MIN);
    assert_string_equal(render(), "# TYPE big_total counter\n"
                                  "big_total 18446744073709551615\n"
                                  "# TYPE low gauge\n"
                                  "low -9223372036854775808\n");
    /* gauges wrap rather than overflow (no UB under -fsanitize=undefined) */
    sb_gauge_add(g, -1);
    assert_int_equal(sb_gauge_value(g), INT64_MAX);
}

static void test_help_escaping(void **state)
{
    (void)state;
    sb_counter_new("x_total", "a \\ backslash\nand a newline, \"quotes\" kept", NULL);
    assert_string_equal(render(),
                        "# HELP x_total a \\\\ backslash\\nand a newline, \"quotes\" kept\n"
                        "# TYPE x_total counter\n"
                        "x_total 0\n");
}

/* Label values may carry the exposition's own escapes. */
static void test_escaped_label_values(void **state)
{
    (void)state;
    assert_non_null(sb_counter_new("e_total", NULL, "path=\"C:\\\\x\",q=\"say \\\"hi\\\"\\n\""));
    assert_non_null(sb_counter_new("e_total", NULL, "_a1=\"\",b=\"=,{}\""));
    assert_string_equal(render(), "# TYPE e_total counter\n"
                                  "e_total{path=\"C:\\\\x\",q=\"say \\\"hi\\\"\\n\"} 0\n"
                                  "e_total{_a1=\"\",b=\"=,{}\"} 0\n");
}

static void test_get_finds_or_registers(void **state)
{
    (void)state;
    sb_counter *a = sb_counter_get("sb_in_total", "In.", "type=\"a\"");
    sb_counter *b = sb_counter_get("sb_in_total", "In.", "type=\"b\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(sb_counter_get("sb_in_total", "In.", "type=\"a\""), a);
    assert_ptr_equal(sb_counter_get("sb_in_total", NULL, "type=\"b\""), b);
    /* NULL and "" are the same (empty) label set */
    sb_counter *none = sb_counter_get("sb_in_total", NULL, NULL);
    assert_ptr_equal(sb_counter_get("sb_in_total", NULL, ""), none);
    sb_counter_add(b, 4);
    assert_string_equal(render(), "# HELP sb_in_total In.\n"
                                  "# TYPE sb_in_total counter\n"
                                  "sb_in_total{type=\"a\"} 0\n"
                                  "sb_in_total{type=\"b\"} 4\n"
                                  "sb_in_total 0\n");
    assert_string_equal(logged(), "");
}

static void expect_rejected(void *metric, const char *reason)
{
    assert_null(metric);
    const char *log = logged();
    assert_non_null(strstr(log, " level=error event=metric_error "));
    assert_non_null(strstr(log, reason));
}

static void test_rejections(void **state)
{
    (void)state;
    static const double up[] = {1, 2}, flat[] = {1, 1}, down[] = {2, 1}, nan[] = {NAN};
    expect_rejected(sb_counter_new("9lives", NULL, NULL), "bad metric name");
    expect_rejected(sb_counter_new("a-b", NULL, NULL), "bad metric name");
    expect_rejected(sb_counter_new("", NULL, NULL), "bad metric name");
    expect_rejected(sb_counter_new(NULL, NULL, NULL), "bad metric name");
    expect_rejected(sb_counter_new("ok", NULL, "channel=chat"), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "a=\"b"), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "a=\"b\","), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "a=\"b\" "), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "a=\"\\x\""), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "a=\"line\nbreak\""), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "1a=\"b\""), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "a:b=\"c\""), "malformed");
    expect_rejected(sb_counter_new("ok", NULL, "__name__=\"x\""), "reserved");
    expect_rejected(sb_histogram_new("h", NULL, "le=\"1\"", up, 2), "reserved");
    expect_rejected(sb_histogram_new("h", NULL, NULL, flat, 2), "increasing");
    expect_rejected(sb_histogram_new("h", NULL, NULL, down, 2), "increasing");
    expect_rejected(sb_histogram_new("h", NULL, NULL, nan, 1), "increasing");
    expect_rejected(sb_histogram_new("h", NULL, NULL, NULL, 1), "increasing");

    /* a name keeps its type; a series is registered once */
    assert_non_null(sb_counter_new("taken", NULL, "a=\"1\""));
    expect_rejected(sb_gauge_new("taken", NULL, "a=\"2\""), "another metric type");
    expect_rejected(sb_histogram_new("taken", NULL, NULL, up, 2), "another metric type");
    expect_rejected(sb_counter_new("taken", NULL, "a=\"1\""), "registered twice");
    expect_rejected(sb_counter_get("taken", NULL, "a=\"x"), "malformed");
    assert_non_null(sb_counter_get("ok:with_colon", NULL, NULL)); /* colons are legal */

    /* "le" is an ordinary label on a counter */
    assert_non_null(sb_counter_new("le_ok", NULL, "le=\"1\""));

    /* what failed to register costs nothing and renders nothing */
    sb_counter_add(NULL, 1);
    sb_gauge_set(NULL, 1);
    sb_gauge_add(NULL, 1);
    sb_histogram_observe(NULL, 1);
    assert_int_equal(sb_counter_value(NULL), 0);
    assert_int_equal(sb_gauge_value(NULL), 0);
    assert_string_equal(render(), "# TYPE taken counter\n"
                                  "taken{a=\"1\"} 0\n"
                                  "# TYPE ok:with_colon counter\n"
                                  "ok:with_colon 0\n"
                                  "# TYPE le_ok counter\n"
                                  "le_ok{le=\"1\"} 0\n");
}

/* A value from a client can not break the log line of a rejection. */
static void test_rejection_log_is_one_line(void **state)
{
    (void)state;
    assert_null(sb_counter_new("bad name\nts=forged", NULL, "x=\"1\"\n"));
    const char *log = logged();
    assert_non_null(strstr(log, "name=\"bad name\\nts=forged\" labels=\"x=\\\"1\\\"\\n\""));
    assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
}

static void test_reset_forgets_everything(void **state)
{
    (void)state;
    static const double b[] = {1};
    sb_counter_add(sb_counter_new("a_total", "A.", NULL), 1);
    sb_histogram_observe(sb_histogram_new("h", "H.", "x=\"y\"", b, 1), 0.5);
    assert_string_not_equal(render(), "");
    sb_metrics_reset_all_for_tests();
    assert_string_equal(render(), "");
    /* names are free again, with any type */
    assert_non_null(sb_gauge_new("a_total", NULL, NULL));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_empty),
        T(test_families_group_their_series),
        T(test_histogram),
        T(test_histogram_edges),
        T(test_values_at_the_limits),
        T(test_help_escaping),
        T(test_escaped_label_values),
        T(test_get_finds_or_registers),
        T(test_rejections),
        T(test_rejection_log_is_one_line),
        T(test_reset_forgets_everything),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
