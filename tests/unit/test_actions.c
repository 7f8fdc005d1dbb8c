/*
 * test_actions.c: the generated action table of the realtime channel
 * (generated/c/realtime_actions.c, runtime/action.h), through
 * realtime_action_find() and each sb_action_def's run() and validate(),
 * with this file's own handlers: nothing of handlers/ is linked, so what is
 * tested is what the generator wrote. Errors are compared as the client would
 * read them ("data.artifactId: longer than 256 bytes"), results byte for byte.
 * The generated action cases (each example's data broken one rule at a time,
 * generated/tests/action_cases.c) run through validate() as well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "ctx.h"
#include "realtime_handlers.h"

/* Test doubles ----------------------------------------------------------- */

static struct {
    int rc;    /* what the next handler returns */
    int calls; /* handler calls */
    char artifact[300];
    size_t artifact_len;
    bool with_artifact; /* whoami: the handshake gave an artifactId */
} t;

static void remember(sb_str s)
{
    assert_true(s.len < sizeof t.artifact);
    memcpy(t.artifact, s.ptr, s.len);
    t.artifact_len = s.len;
}

int realtime_action_ping(struct sb_ctx *ctx, realtime_ping_result *result)
{
    (void)ctx;
    t.calls++;
    result->time = INT64_C(1700000000000);
    return t.rc;
}

int realtime_action_whoami(struct sb_ctx *ctx, realtime_whoami_result *result)
{
    static sb_str subs[] = {SB_STR_LIT("a-7"), SB_STR_LIT("a-\"8\"")};
    static sb_str perms[] = {SB_STR_LIT("processData")};
    (void)ctx;
    t.calls++;
    result->userId = SB_STR_LIT("u-1");
    result->companyId = SB_STR_LIT("c-42");
    result->sessionId = SB_STR_LIT("s-9");
    if (t.with_artifact) {
        result->artifactId = SB_STR_LIT("a-7");
        result->has.artifactId = SB_SET;
    }
    result->subscriptions.items = subs;
    result->subscriptions.count = 2;
    result->permissions.items = perms;
    result->permissions.count = 1;
    return t.rc;
}

int realtime_action_subscribe_artifact(struct sb_ctx *ctx,
                                       const realtime_subscribe_artifact_data *data,
                                       realtime_subscribe_artifact_result *result)
{
    (void)ctx;
    t.calls++;
    remember(data->artifactId);
    result->artifactId = data->artifactId;
    return t.rc;
}

int realtime_action_unsubscribe_artifact(struct sb_ctx *ctx,
                                         const realtime_unsubscribe_artifact_data *data,
                                         realtime_unsubscribe_artifact_result *result)
{
    (void)ctx;
    t.calls++;
    remember(data->artifactId);
    result->artifactId = data->artifactId;
    return t.rc;
}

/* Fixture ---------------------------------------------------------------- */

static sb_arena arena;
static struct sb_ctx ctx;
static sb_buf out;
static char err[256];

static int setup(void **state)
{
    (void)state;
    memset(&t, 0, sizeof t);
    memset(&ctx, 0, sizeof ctx);
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    ctx.arena = &arena;
    sb_buf_init(&out);
    memset(err, 'x', sizeof err);
    err[sizeof err - 1] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_buf_free(&out);
    sb_arena_free(&arena);
    return 0;
}

static const sb_action_def *find(const char *name)
{
    return realtime_action_find(name, strlen(name));
}

/* run() of the named action on data (NULL: absent) */
static int run(const char *name, const char *data)
{
    const sb_action_def *a = find(name);
    assert_non_null(a);
    assert_non_null(a->run);
    return a->run(&ctx, data, data ? strlen(data) : 0, &out, err, sizeof err);
}

static int validate(const char *name, const char *data)
{
    const sb_action_def *a = find(name);
    assert_non_null(a);
    return a->validate(&ctx, data, data ? strlen(data) : 0, err, sizeof err);
}

static void assert_result(const char *want)
{
    assert_false(out.oom);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
}

/* run() refuses the data with INVALID_DATA and this message, without
 * calling the handler or writing a result; validate() says the same (a
 * proxied action has validate() only). */
static void assert_invalid(const char *name, const char *data, const char *want)
{
    int calls = t.calls;
    if (!find(name)->proxy) {
        assert_int_equal(run(name, data), -REALTIME_ERROR_INVALID_DATA);
        assert_string_equal(err, want);
        assert_int_equal(t.calls, calls);
        assert_int_equal(out.len, 0);
        memset(err, 'x', sizeof err - 1);
    }
    assert_int_equal(validate(name, data), -REALTIME_ERROR_INVALID_DATA);
    assert_string_equal(err, want);
}

/* Find ------------------------------------------------------------------- */

static void test_find_every_action(void **state)
{
    static const char *names[] = {"ping", "whoami", "subscribeArtifact", "unsubscribeArtifact",
                                  "processData"};
    (void)state;
    assert_int_equal(realtime_action_count, 5);
    for (size_t i = 0; i < 5; i++) {
        const sb_action_def *a = find(names[i]);
        assert_ptr_equal(a, &realtime_actions[i]);
        assert_string_equal(a->name, names[i]);
        assert_non_null(a->validate);
    }
    /* by length, not by NUL: a name inside a longer buffer */
    assert_ptr_equal(realtime_action_find("pingpong", 4), &realtime_actions[0]);
}

static void test_find_unknown(void **state)
{
    (void)state;
    assert_null(find(""));
    assert_null(find("pin"));
    assert_null(find("pingg"));
    assert_null(find("Ping"));
    assert_null(find("pong"));                /* same length as ping */
    assert_null(find("subscribeArtifacts"));  /* one byte more */
    assert_null(find("unsubscribeArtifacT")); /* same length, last byte */
    assert_null(find("someAction"));          /* the seed's placeholder */
    assert_null(realtime_action_find("ping\0", 5));
    assert_null(realtime_action_find("subscribeArtifact", 9));
}

static void test_table(void **state)
{
    (void)state;
    /* permission strings: only processData needs one */
    assert_string_equal(find("processData")->permission, "processData");
    assert_null(find("ping")->permission);
    assert_null(find("whoami")->permission);
    assert_null(find("subscribeArtifact")->permission);
    assert_null(find("unsubscribeArtifact")->permission);
    /* proxied: no run, validate only */
    assert_true(find("processData")->proxy);
    assert_null(find("processData")->run);
    for (size_t i = 0; i < 4; i++) {
        assert_false(realtime_actions[i].proxy);
        assert_non_null(realtime_actions[i].run);
    }
    /* the framework's codes, named by the channel's actions.errors */
    assert_int_equal(REALTIME_ACTION_ERROR_INVALID, REALTIME_ERROR_INVALID_DATA);
    assert_int_equal(REALTIME_ACTION_ERROR_UNKNOWN, REALTIME_ERROR_UNKNOWN_ACTION);
    assert_int_equal(REALTIME_ACTION_ERROR_DENIED, REALTIME_ERROR_ACTION_NOT_ALLOWED);
    assert_int_equal(REALTIME_ACTION_ERROR_INTERNAL, REALTIME_ERROR_INTERNAL);
}

/* Data ------------------------------------------------------------------- */

static void test_data_missing_field(void **state)
{
    (void)state;
    assert_invalid("subscribeArtifact", "{}", "data.artifactId: missing required field");
    /* no data at all, for an action that takes some */
    assert_invalid("subscribeArtifact", NULL, "data: missing required field");
    assert_invalid("processData", "{}", "data.input: missing required field");
}

static void test_data_wrong_type(void **state)
{
    (void)state;
    assert_invalid("subscribeArtifact", "{\"artifactId\": 7}",
                   "data.artifactId: expected string, got number");
    assert_invalid("subscribeArtifact", "{\"artifactId\": null}",
                   "data.artifactId: expected string, got null");
    assert_invalid("unsubscribeArtifact", "\"a-7\"", "data: expected object, got string");
    assert_invalid("subscribeArtifact", "null", "data: expected object, got null");
    assert_invalid("subscribeArtifact", "[]", "data: expected object, got array");
    assert_invalid("processData", "{\"input\": {\"a\": 1}}",
                   "data.input: expected string, got object");
}

static void test_data_too_long(void **state)
{
    char data[400];
    (void)state;
    snprintf(data, sizeof data, "{\"artifactId\": \"%0256d\"}", 0);
    assert_int_equal(run("subscribeArtifact", data), 0); /* 256 bytes: the limit */
    assert_int_equal(t.artifact_len, 256);
    sb_buf_reset(&out);
    snprintf(data, sizeof data, "{\"artifactId\": \"%0257d\"}", 0);
    assert_invalid("subscribeArtifact", data, "data.artifactId: longer than 256 bytes");
    assert_invalid("subscribeArtifact", "{\"artifactId\": \"\"}",
                   "data.artifactId: shorter than 1 bytes");
    /* bytes, not characters: 129 two-byte characters are 258 bytes */
    char *p = data + snprintf(data, sizeof data, "{\"artifactId\": \"");
    for (int i = 0; i < 129; i++) {
        *p++ = (char)0xc3;
        *p++ = (char)0xa9;
    }
    snprintf(p, 4, "\"}");
    assert_invalid("subscribeArtifact", data, "data.artifactId: longer than 256 bytes");
}

static void test_data_unknown_field(void **state)
{
    (void)state;
    assert_invalid("subscribeArtifact", "{\"artifactId\": \"a-7\", \"artifactid\": \"a-8\"}",
                   "data.artifactid: unknown field");
    assert_invalid("processData", "{\"input\": \"v\", \"extra\": 1}", "data.extra: unknown field");
    assert_invalid("subscribeArtifact", "{\"artifactId\": \"a-7\", \"artifactId\": \"a-8\"}",
                   "data.artifactId: duplicate field");
}

static void test_data_for_an_action_without_data(void **state)
{
    (void)state;
    assert_invalid("ping", "{}", "data: the action takes no data");
    assert_invalid("whoami", "{\"x\": 1}", "data: the action takes no data");
    assert_invalid("ping", "0", "data: the action takes no data");
    assert_invalid("ping", "false", "data: the action takes no data");
    assert_invalid("ping", "\"\"", "data: the action takes no data");
    /* absent and null are both no data */
    assert_int_equal(run("ping", NULL), 0);
    assert_int_equal(run("ping", "null"), 0);
    assert_int_equal(run("whoami", " null "), 0);
    assert_int_equal(validate("ping", "null"), 0);
    assert_int_equal(t.calls, 3);
}

static void test_data_not_json(void **state)
{
    (void)state;
    /* the transport passes the envelope's raw value, which is valid JSON;
     * anything else is still refused, never read past */
    assert_int_equal(run("ping", "nul"), -REALTIME_ERROR_INVALID_DATA);
    assert_int_equal(run("ping", "null x"), -REALTIME_ERROR_INVALID_DATA);
    assert_int_equal(run("subscribeArtifact", "{\"artifactId\": \"a-7\""),
                     -REALTIME_ERROR_INVALID_DATA);
    assert_int_equal(run("subscribeArtifact", "{\"artifactId\": \"a-7\"} {}"),
                     -REALTIME_ERROR_INVALID_DATA);
    assert_int_equal(strncmp(err, "data", 4), 0);
    assert_int_equal(t.calls, 0);
}

static void test_proxy_validate(void **state)
{
    char data[4200];
    (void)state;
    const sb_action_def *a = find("processData");
    assert_int_equal(a->validate(&ctx, "{\"input\": \"value\"}", 18, err, sizeof err), 0);
    assert_string_equal(err, "");
    snprintf(data, sizeof data, "{\"input\": \"%04096d\"}", 0);
    assert_int_equal(validate("processData", data), 0);
    snprintf(data, sizeof data, "{\"input\": \"%04097d\"}", 0);
    assert_invalid("processData", "{\"input\": 5}", "data.input: expected string, got number");
    assert_int_equal(validate("processData", data), -REALTIME_ERROR_INVALID_DATA);
    assert_string_equal(err, "data.input: longer than 4096 bytes");
    assert_invalid("processData", NULL, "data: missing required field");
}

/* Results ---------------------------------------------------------------- */

static void test_results_byte_for_byte(void **state)
{
    (void)state;
    assert_int_equal(run("ping", NULL), 0);
    assert_string_equal(err, "");
    assert_result("{\"time\":1700000000000}");

    sb_buf_reset(&out);
    assert_int_equal(run("whoami", NULL), 0);
    assert_result("{\"userId\":\"u-1\",\"companyId\":\"c-42\",\"sessionId\":\"s-9\","
                  "\"subscriptions\":[\"a-7\",\"a-\\\"8\\\"\"],\"permissions\":[\"processData\"]}");
    sb_buf_reset(&out);
    t.with_artifact = true;
    assert_int_equal(run("whoami", "null"), 0);
    assert_result(
        "{\"userId\":\"u-1\",\"companyId\":\"c-42\",\"sessionId\":\"s-9\",\"artifactId\":\"a-7\","
        "\"subscriptions\":[\"a-7\",\"a-\\\"8\\\"\"],\"permissions\":[\"processData\"]}");

    /* the data reaches the handler decoded, and is written back escaped */
    sb_buf_reset(&out);
    assert_int_equal(run("subscribeArtifact", "{ \"artifactId\" : \"a-\\u0037\\n\\\"x\\\"\" }"), 0);
    assert_int_equal(t.artifact_len, 7);
    assert_memory_equal(t.artifact, "a-7\n\"x\"", 7);
    assert_result("{\"artifactId\":\"a-7\\n\\\"x\\\"\"}");

    /* run() appends to what the buffer holds */
    sb_buf_reset(&out);
    SB_BUF_PUT_LIT(&out, "[");
    assert_int_equal(run("unsubscribeArtifact", "{\"artifactId\":\"a-7\"}"), 0);
    assert_result("[{\"artifactId\":\"a-7\"}");
    assert_int_equal(t.calls, 5);
}

/* Handler return codes --------------------------------------------------- */

static void test_handler_codes(void **state)
{
    (void)state;
    const char *data = "{\"artifactId\": \"a-7\"}";
    /* its declared errors, and INVALID_DATA and INTERNAL, pass through */
    static const int passed[] = {REALTIME_ERROR_TOO_MANY_SUBSCRIPTIONS,
                                 REALTIME_ERROR_ACTION_NOT_ALLOWED, REALTIME_ERROR_INVALID_DATA,
                                 REALTIME_ERROR_INTERNAL};
    for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++) {
        t.rc = -passed[i];
        assert_int_equal(run("subscribeArtifact", data), -passed[i]);
        assert_string_equal(err, "");
        assert_int_equal(out.len, 0); /* no result on failure */
    }
    /* an error it does not declare is its bug: INTERNAL, with a message for the log */
    t.rc = -REALTIME_ERROR_RATE_LIMITED;
    assert_int_equal(run("subscribeArtifact", data), -REALTIME_ERROR_INTERNAL);
    assert_string_equal(err, "action subscribeArtifact: the handler returned -6");
    t.rc = -REALTIME_ERROR_TOO_MANY_SUBSCRIPTIONS; /* declared by subscribeArtifact only */
    assert_int_equal(run("unsubscribeArtifact", data), -REALTIME_ERROR_INTERNAL);
    char expect[80];
    snprintf(expect, sizeof expect, "action unsubscribeArtifact: the handler returned -%d",
             REALTIME_ERROR_TOO_MANY_SUBSCRIPTIONS);
    assert_string_equal(err, expect);
    t.rc = 1;
    assert_int_equal(run("ping", NULL), -REALTIME_ERROR_INTERNAL);
    assert_string_equal(err, "action ping: the handler returned 1");
    t.rc = -1000;
    assert_int_equal(run("whoami", NULL), -REALTIME_ERROR_INTERNAL);
    t.rc = -REALTIME_ERROR_INTERNAL;
    assert_int_equal(run("ping", NULL), -REALTIME_ERROR_INTERNAL);
    assert_string_equal(err, "");
    assert_int_equal(out.len, 0);
    assert_int_equal(t.calls, 9);
}

static void test_err_may_be_null(void **state)
{
    (void)state;
    const sb_action_def *a = find("subscribeArtifact");
    assert_int_equal(a->run(&ctx, "{}", 2, &out, NULL, 0), -REALTIME_ERROR_INVALID_DATA);
    assert_int_equal(a->validate(&ctx, "{}", 2, NULL, 0), -REALTIME_ERROR_INVALID_DATA);
    t.rc = 5;
    assert_int_equal(a->run(&ctx, "{\"artifactId\":\"a\"}", 18, &out, NULL, 0),
                     -REALTIME_ERROR_INTERNAL);
    /* a short err is truncated, NUL-terminated */
    char small[8];
    assert_int_equal(a->validate(&ctx, "{}", 2, small, sizeof small), -REALTIME_ERROR_INVALID_DATA);
    assert_string_equal(small, "data.ar");
}

/* Generated cases ------------------------------------------------------- */

/* Every realtime case of generated/tests/action_cases.c: validate() accepts
 * what validate.lua accepts and refuses the rest with INVALID_DATA and an
 * error at the same path. */
static void test_generated_cases(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < sb_action_cases_count; i++) {
        const sb_case *c = &sb_action_cases[i];
        if (strncmp(c->target, "realtime:", 9) != 0)
            continue;
        const sb_action_def *a = find(c->target + 9);
        if (!a)
            fail_msg("%s: no action %s", c->name, c->target);
        int rc = a->validate(&ctx, c->input, c->input_len, err, sizeof err);
        if (c->expect == SB_OK) {
            if (rc != 0)
                fail_msg("%s: refused: %s", c->name, err);
        } else {
            /* broken JSON: somewhere under data; the rest: at the path */
            const char *path = c->path ? c->path : "data";
            size_t pl = strlen(path);
            if (rc != -REALTIME_ERROR_INVALID_DATA || strncmp(err, path, pl) != 0 ||
                (c->path && strncmp(err + pl, ": ", 2) != 0))
                fail_msg("%s: want INVALID_DATA at %s, got %d \"%s\"", c->name, path, rc, err);
        }
        sb_arena_reset(&arena);
        n++;
    }
    /* ping, whoami: 3 each; the others: 2 + their examples' mutations */
    assert_true(n >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_every_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_missing_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_unknown_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_for_an_action_without_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_byte_for_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_may_be_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_cases, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
