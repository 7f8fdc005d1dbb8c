/* test_config.c: flags, environment, precedence and errors (config.h). */
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

#include "config.h"
#include "log.h"

static const char *const env_names[] = {
    "SB_BIND",          "SB_PORT",         "SB_DB",
    "SB_DEMO",          "SB_LOG_LEVEL",    "SB_MAX_MESSAGE",
    "SB_MAX_QUEUE",     "SB_IDLE_TIMEOUT", "SB_MAX_CONNECTIONS",
    "SB_MAX_HTTP_BODY", "SB_SYNC",         "SB_REDIS",
    "SB_NODE_ID",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    return 0;
}

static sb_config cfg;
static char err[256];

/* Parses a NULL-terminated list of arguments after "serve". */
#define PARSE(...) parse((const char *[]){"serve", __VA_ARGS__, NULL})

static int parse(const char **args)
{
    int argc = 0;
    while (args[argc])
        argc++;
    return sb_config_parse(&cfg, argc, (char **)args, err, sizeof err);
}

static void expect_error(int rc, const char *message)
{
    assert_int_equal(rc, -1);
    assert_string_equal(err, message);
}

/* ---- values -------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse((const char *[]){"serve", NULL}), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.bind, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.db_path, "./var/switchboard.db");
    assert_true(cfg.demo);
    assert_int_equal(cfg.log_level, SB_LOG_INFO);
    assert_int_equal(cfg.max_message_bytes, 65536);
    assert_int_equal(cfg.max_queue_bytes, 1048576);
    assert_int_equal(cfg.idle_timeout_s, 300);
    assert_int_equal(cfg.max_connections, 19000);
    assert_int_equal(cfg.max_http_body, 1048576);
    assert_int_equal(cfg.sync_full, 0);

    /* argc 0 (no argv[0] at all) is the defaults too */
    assert_int_equal(sb_config_parse(&cfg, 0, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.port, 8080);
}

static void test_every_flag(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "0.0.0.0", "--port=9001", "--db", "/tmp/x y.db", "--no-demo",
                           "--log-level", "debug", "--max-message=8k", "--max-queue", "2M",
                           "--idle-timeout", "0", "--max-connections", "100", "--max-http-body",
                           "4096", "--sync", "full"),
                     0);
    assert_string_equal(cfg.bind, "0.0.0.0");
    assert_int_equal(cfg.port, 9001);
    assert_string_equal(cfg.db_path, "/tmp/x y.db");
    assert_false(cfg.demo);
    assert_int_equal(cfg.log_level, SB_LOG_DEBUG);
    assert_int_equal(cfg.max_message_bytes, 8192);
    assert_int_equal(cfg.max_queue_bytes, 2 << 20);
    assert_int_equal(cfg.idle_timeout_s, 0);
    assert_int_equal(cfg.max_connections, 100);
    assert_int_equal(cfg.max_http_body, 4096);
    assert_int_equal(cfg.sync_full, 1);
}

static void test_ranges_edges(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "0"), 0); /* the kernel picks */
    assert_int_equal(cfg.port, 0);
    assert_int_equal(PARSE("--port", "65535", "--max-message", "1", "--max-queue", "1024m"), 0);
    assert_int_equal(cfg.port, 65535);
    assert_int_equal(cfg.max_message_bytes, 1);
    assert_int_equal(cfg.max_queue_bytes, (size_t)1 << 30);
    assert_int_equal(PARSE("--max-http-body", "1048576k", "--idle-timeout", "86400"), 0);
    assert_int_equal(cfg.max_http_body, (size_t)1 << 30);
    assert_int_equal(PARSE("--port", "00080", "--sync", "normal", "--demo"), 0);
    assert_int_equal(cfg.port, 80);
    assert_int_equal(cfg.sync_full, 0);
    assert_true(cfg.demo);
}

static void test_environment(void **state)
{
    (void)state;
    setenv("SB_BIND", "::1", 1);
    setenv("SB_PORT", "7000", 1);
    setenv("SB_DB", "/data/sb.db", 1);
    setenv("SB_DEMO", "0", 1);
    setenv("SB_LOG_LEVEL", "WARN", 1);
    setenv("SB_MAX_MESSAGE", "1k", 1);
    setenv("SB_MAX_QUEUE", "3m", 1);
    setenv("SB_IDLE_TIMEOUT", "60", 1);
    setenv("SB_MAX_CONNECTIONS", "500", 1);
    setenv("SB_MAX_HTTP_BODY", "10k", 1);
    setenv("SB_SYNC", "full", 1);
    assert_int_equal(parse((const char *[]){"serve", NULL}), 0);
    assert_string_equal(cfg.bind, "::1");
    assert_int_equal(cfg.port, 7000);
    assert_string_equal(cfg.db_path, "/data/sb.db");
    assert_false(cfg.demo);
    assert_int_equal(cfg.log_level, SB_LOG_WARN);
    assert_int_equal(cfg.max_message_bytes, 1024);
    assert_int_equal(cfg.max_queue_bytes, 3 << 20);
    assert_int_equal(cfg.idle_timeout_s, 60);
    assert_int_equal(cfg.max_connections, 500);
    assert_int_equal(cfg.max_http_body, 10240);
    assert_int_equal(cfg.sync_full, 1);
}

static void test_flags_override_environment(void **state)
{
    (void)state;
    setenv("SB_PORT", "7000", 1);
    setenv("SB_DEMO", "0", 1);
    setenv("SB_SYNC", "full", 1);
    setenv("SB_MAX_QUEUE", "3m", 1);
    assert_int_equal(PARSE("--port", "9000", "--demo", "--sync=normal"), 0);
    assert_int_equal(cfg.port, 9000);
    assert_true(cfg.demo);
    assert_int_equal(cfg.sync_full, 0);
    assert_int_equal(cfg.max_queue_bytes, 3 << 20); /* no flag: the environment's */
    assert_false(cfg.pg_wait_block);
    assert_int_equal(PARSE("--pg-wait", "block"), 0);
    assert_true(cfg.pg_wait_block);
    setenv("SB_PG_WAIT", "block", 1);
    assert_int_equal(PARSE("--pg-wait=loop"), 0);
    assert_false(cfg.pg_wait_block);
    unsetenv("SB_PG_WAIT");

    setenv("SB_DEMO", "1", 1);
    assert_int_equal(PARSE("--no-demo"), 0);
    assert_false(cfg.demo);

    /* the last of repeated flags wins */
    assert_int_equal(PARSE("--port", "1", "--port", "2"), 0);
    assert_int_equal(cfg.port, 2);
}

static void test_empty_environment_is_unset(void **state)
{
    (void)state;
    setenv("SB_PORT", "", 1);
    setenv("SB_BIND", "", 1);
    setenv("SB_DEMO", "", 1);
    assert_int_equal(parse((const char *[]){"serve", NULL}), 0);
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.bind, "127.0.0.1");
    assert_true(cfg.demo);
}

/* ---- errors -------------------------------------------------------------- */

#define PORT_RANGE "expected an integer 0..65535"
#define SIZE_RANGE "expected a byte count 1..1073741824, optionally with a k or m suffix"

static void test_number_errors(void **state)
{
    (void)state;
    expect_error(PARSE("--port", "70000"), "--port: invalid value '70000': " PORT_RANGE);
    expect_error(PARSE("--port", "65536"), "--port: invalid value '65536': " PORT_RANGE);
    expect_error(PARSE("--port", "80x"), "--port: invalid value '80x': " PORT_RANGE);
    expect_error(PARSE("--port", "-1"), "--port: invalid value '-1': " PORT_RANGE);
    expect_error(PARSE("--port", "+80"), "--port: invalid value '+80': " PORT_RANGE);
    expect_error(PARSE("--port", " 80"), "--port: invalid value ' 80': " PORT_RANGE);
    expect_error(PARSE("--port", "0x50"), "--port: invalid value '0x50': " PORT_RANGE);
    expect_error(PARSE("--port="), "--port: invalid value '': " PORT_RANGE);
    expect_error(PARSE("--port", "99999999999999999999999"),
                 "--port: invalid value '99999999999999999999999': " PORT_RANGE);
    expect_error(PARSE("--idle-timeout", "86401"),
                 "--idle-timeout: invalid value '86401': expected an integer 0..86400");
    expect_error(PARSE("--max-connections", "0"),
                 "--max-connections: invalid value '0': expected an integer 1..1000000");

    expect_error(PARSE("--max-message", "0"), "--max-message: invalid value '0': " SIZE_RANGE);
    expect_error(PARSE("--max-message", "0k"), "--max-message: invalid value '0k': " SIZE_RANGE);
    expect_error(PARSE("--max-queue", "2g"), "--max-queue: invalid value '2g': " SIZE_RANGE);
    expect_error(PARSE("--max-queue", "64kb"), "--max-queue: invalid value '64kb': " SIZE_RANGE);
    expect_error(PARSE("--max-queue", "k"), "--max-queue: invalid value 'k': " SIZE_RANGE);
    expect_error(PARSE("--max-queue", "1025m"), "--max-queue: invalid value '1025m': " SIZE_RANGE);
    expect_error(PARSE("--max-http-body", "1.5m"),
                 "--max-http-body: invalid value '1.5m': " SIZE_RANGE);
}

static void test_word_errors(void **state)
{
    (void)state;
    expect_error(PARSE("--log-level", "loud"),
                 "--log-level: invalid value 'loud': expected debug, info, warn or error");
    expect_error(PARSE("--sync", "FULL"), "--sync: invalid value 'FULL': expected normal or full");
    expect_error(PARSE("--pg-wait", "async"),
                 "--pg-wait: invalid value 'async': expected loop or block");
    expect_error(PARSE("--bind="), "--bind: invalid value '': expected a non-empty value");

    char long_bind[80];
    memset(long_bind, '1', 64);
    long_bind[64] = '\0';
    expect_error(PARSE("--bind", long_bind), "--bind: value too long (64 bytes, at most 63)");
    long_bind[63] = '\0';
    assert_int_equal(PARSE("--bind", long_bind), 0);
    assert_string_equal(cfg.bind, long_bind);
}

static void test_usage_errors(void **state)
{
    (void)state;
    expect_error(PARSE("--frobnicate"), "unknown option '--frobnicate' (see --help)");
    expect_error(PARSE("--frob=1"), "unknown option '--frob' (see --help)");
    expect_error(PARSE("--Port", "1"), "unknown option '--Port' (see --help)");
    expect_error(PARSE("stray"), "unexpected argument 'stray' (see --help)");
    expect_error(PARSE("-p", "1"), "unexpected argument '-p' (see --help)");
    expect_error(PARSE("--port"), "--port: missing value");
    expect_error(PARSE("--db", "--port", "1"), "--db: missing value");
    expect_error(PARSE("--no-demo=1"), "--no-demo: takes no value");
    expect_error(PARSE("--demo=0"), "--demo: takes no value");
    /* ...but an explicit --flag=VALUE may start with dashes */
    assert_int_equal(PARSE("--db=--odd"), 0);
    assert_string_equal(cfg.db_path, "--odd");
}

static void test_environment_errors_name_the_variable(void **state)
{
    (void)state;
    setenv("SB_PORT", "http", 1);
    expect_error(PARSE("--bind", "::"), "SB_PORT: invalid value 'http': " PORT_RANGE);
    unsetenv("SB_PORT");
    setenv("SB_DEMO", "yes", 1);
    expect_error(parse((const char *[]){"serve", NULL}),
                 "SB_DEMO: invalid value 'yes': expected 0 or 1");
    unsetenv("SB_DEMO");
    setenv("SB_MAX_QUEUE", "-5", 1);
    expect_error(parse((const char *[]){"serve", NULL}),
                 "SB_MAX_QUEUE: invalid value '-5': " SIZE_RANGE);
    /* a bad variable is an error even when a flag would override it: the
     * environment is read, and checked, first */
    expect_error(PARSE("--max-queue", "1k"), "SB_MAX_QUEUE: invalid value '-5': " SIZE_RANGE);
}

static void test_error_buffer_is_bounded(void **state)
{
    (void)state;
    char small[12];
    const char *args[] = {"serve", "--port", "123456789", NULL};
    memset(small, 'x', sizeof small);
    assert_int_equal(sb_config_parse(&cfg, 3, (char **)args, small, sizeof small), -1);
    assert_string_equal(small, "--port: inv");
    assert_int_equal(sb_config_parse(&cfg, 3, (char **)args, NULL, 0), -1);
}

/* ---- help, usage, log ---------------------------------------------------- */

/* Runs parse with stdout sent to a file; returns what was printed. */
static const char *stdout_of_parse(const char **args, int *rc)
{
    static char text[8192];
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), STDOUT_FILENO) >= 0);
    *rc = parse(args);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    size_t n = (size_t)pread(fileno(f), text, sizeof text - 1, 0);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_help(void **state)
{
    (void)state;
    int rc;
    const char *out =
        stdout_of_parse((const char *[]){"serve", "--port", "1", "--help", NULL}, &rc);
    assert_int_equal(rc, 1);
    assert_memory_equal(out, "usage: switchboard serve [options]\n", 35);

    /* --help wins over errors anywhere, the environment's included */
    setenv("SB_PORT", "bad", 1);
    stdout_of_parse((const char *[]){"serve", "--nonsense", "-h", NULL}, &rc);
    assert_int_equal(rc, 1);
}

static void test_usage_lists_everything(void **state)
{
    (void)state;
    static const char *const flags[] = {
        "--bind ADDR",
        "--port N",
        "--db PATH",
        "--demo",
        "--no-demo",
        "--log-level LEVEL",
        "--max-message BYTES",
        "--max-queue BYTES",
        "--idle-timeout SECONDS",
        "--max-connections N",
        "--max-http-body BYTES",
        "--sync MODE",
        "--redis URL",
        "--node-id NAME",
        "--help",
    };
    char text[16384];
    FILE *f = tmpfile();
    assert_non_null(f);
    sb_config_usage(f);
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_non_null(strstr(text, flags[i]));
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        assert_non_null(strstr(text, env_names[i]));
}

static const char *log_of_config(const sb_config *c)
{
    static char text[4096];
    FILE *f = tmpfile();
    assert_non_null(f);
    sb_log_set_output(f);
    sb_config_log(c);
    sb_log_set_output(NULL);
    ssize_t n = pread(fileno(f), text, sizeof text - 1, 0);
    assert_true(n > 0);
    text[n] = '\0';
    fclose(f);
    /* after "ts=2026-11-22T01:02:03.123Z" */
    return text + strlen("ts=2026-11-22T01:02:03.123Z");
}

static void test_config_log_line(void **state)
{
    (void)state;
    sb_config c;
    sb_config_defaults(&c);
    assert_string_equal(log_of_config(&c),
                        " level=info event=config bind=127.0.0.1 port=8080"
                        " db=./var/switchboard.db demo=true log_level=info max_message=65536"
                        " max_queue=1048576 idle_timeout=300 send_timeout=10 commit_window=0"
                        " max_connections=19000 max_http_body=1048576 max_db_size=0 sync=normal"
                        " pg_wait=loop cors_origins=none max_ip_connections=1024 max_pending=0"
                        " max_user_connections=32 max_message_rate=100 max_byte_rate=1048576"
                        " max_invalid=30 max_ping_rate=10 redis=none node_id=default\n");

    strcpy(c.db_path, "/srv/my data/\"sb\".db");
    c.demo = false;
    c.log_level = SB_LOG_ERROR;
    c.sync_full = 1;
    c.pg_wait_block = true;
    assert_string_equal(
        log_of_config(&c),
        " level=info event=config bind=127.0.0.1 port=8080"
        " db=\"/srv/my data/\\\"sb\\\".db\" demo=false log_level=error"
        " max_message=65536 max_queue=1048576 idle_timeout=300 send_timeout=10 commit_window=0"
        " max_connections=19000 max_http_body=1048576 max_db_size=0 sync=full pg_wait=block"
        " cors_origins=none "
        "max_ip_connections=1024 max_pending=0 max_user_connections=32 max_message_rate=100 "
        "max_byte_rate=1048576 max_invalid=30 max_ping_rate=10 redis=none node_id=default\n");

    /* the bus' URL is logged without its password */
    strcpy(c.redis_url, "redis://:s3cr%40t@10.0.0.5:6380/2");
    strcpy(c.node_id, "node-a");
    const char *line = log_of_config(&c);
    assert_non_null(strstr(line, " redis=redis://:***@10.0.0.5:6380/2 node_id=node-a\n"));
    assert_null(strstr(line, "s3cr"));
}

static void test_redact_url(void **state)
{
    (void)state;
    char b[128];
    static const char *const cases[][2] = {
        {"redis://127.0.0.1:6379", "redis://127.0.0.1:6379"},
        {"redis://:pw@h:1/0", "redis://:***@h:1/0"},
        {"redis://user:pw@h", "redis://user:***@h"},
        {"redis://user@h", "redis://user@h"},
        {"redis://:p@ss@h:1", "redis://:***@h:1"}, /* the last '@' ends the credentials */
        {"unix:///run/redis.sock", "unix:///run/redis.sock"},
        {"redis://h/db@x", "redis://h/db@x"}, /* an '@' in the path is no credential */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(sb_config_redact_url(b, sizeof b, cases[i][0]), cases[i][1]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, clear_env, clear_env)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_every_flag),
        T(test_ranges_edges),
        T(test_environment),
        T(test_flags_override_environment),
        T(test_empty_environment_is_unset),
        T(test_number_errors),
        T(test_word_errors),
        T(test_usage_errors),
        T(test_environment_errors_name_the_variable),
        T(test_error_buffer_is_bounded),
        T(test_help),
        T(test_usage_lists_everything),
        T(test_config_log_line),
        T(test_redact_url),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
