/*
 * test_routes.c: the generated HTTP route adapters (generated/c/chat_routes.c,
 * therapy_routes.c), called through their sb_http_handler tables with
 * hand-built requests. The handlers, the authenticate hooks and the two
 * runtime functions the adapters call (sb_rt_add_http, sb_outbox_http) are
 * this file's, so nothing of handlers/ or of the server is linked: what is
 * tested is what the generator wrote. Every answer is compared byte for byte.
 */
#include "rt.h" /* first: the http.h types */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chat_handlers.h"
#include "ctx.h"
#include "therapy_handlers.h"

/* Test doubles ----------------------------------------------------------- */

static struct {
    int rc;    /* what the next handler returns */
    int calls; /* handler calls */
    int auth_calls;
    char room_id[128];
    int64_t limit, before;
    bool has_limit, has_before;
    char code[16];
    size_t n_actions;
    int operator_calls; /* therapy_http_authenticate_operator */
    int timeouts, aborts;
    const char *detail; /* what the next handler puts in ctx->http_detail */
    bool csrf;          /* the session hook refuses with CSRF_FAILED */
} t;

/* Like the chat's: "?token=good" or "Authorization: Bearer good". */
static int authenticate(const sb_http_request *req)
{
    t.auth_calls++;
    const char *token = req->query ? sb_query_get(req->query, "token") : NULL;
    if (token && strcmp(token, "good") == 0)
        return 0;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i].name, "authorization") == 0 &&
            strcmp(req->headers[i].value, "Bearer good") == 0)
            return 0;
    return -1;
}

int chat_http_authenticate(struct sb_ctx *ctx, const struct sb_http_request *req)
{
    (void)ctx;
    return authenticate(req);
}

int therapy_http_authenticate(struct sb_ctx *ctx, const struct sb_http_request *req)
{
    int rc = authenticate(req);
    if (rc == 0 && t.csrf) {
        ctx->http_detail = t.detail;
        return -THERAPY_ERROR_CSRF_FAILED;
    }
    return rc;
}

/* auth = "operator": only "Authorization: Bearer operator" */
int therapy_http_authenticate_operator(struct sb_ctx *ctx, const struct sb_http_request *req)
{
    (void)ctx;
    t.operator_calls++;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i].name, "authorization") == 0 &&
            strcmp(req->headers[i].value, "Bearer operator") == 0)
            return 0;
    return -1;
}

int chat_on_list_rooms(struct sb_ctx *ctx, chat_rooms_response *resp, chat_chat_http_error *err)
{
    (void)ctx, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int chat_on_room_messages(struct sb_ctx *ctx, const chat_room_messages_path *path,
                          const chat_room_messages_query *query, chat_messages_response *resp,
                          chat_chat_http_error *err)
{
    (void)ctx, (void)err;
    t.calls++;
    snprintf(t.room_id, sizeof t.room_id, "%.*s", (int)path->room_id.len, path->room_id.ptr);
    t.has_limit = query->has.limit == SB_SET;
    t.limit = query->limit;
    t.has_before = query->has.before == SB_SET;
    t.before = query->before;
    resp->room_id = path->room_id;
    resp->has_more = true;
    return t.rc;
}

int therapy_on_login(struct sb_ctx *ctx, const therapy_login_request *req,
                     therapy_login_response *resp, therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp;
    t.calls++;
    err->retry_after = 42; /* an extra field of the error body */
    err->has.retry_after = SB_SET;
    return t.rc;
}

int therapy_on_verify_code(struct sb_ctx *ctx, const therapy_verify_code_request *req,
                           therapy_verify_code_response *resp, therapy_therapy_error_response *err)
{
    (void)ctx, (void)resp, (void)err;
    t.calls++;
    snprintf(t.code, sizeof t.code, "%.*s", (int)req->code.len, req->code.ptr);
    return t.rc;
}

int therapy_on_get_therapy_sessions(struct sb_ctx *ctx, therapy_therapy_sessions_response *resp,
                                    therapy_therapy_error_response *err)
{
    (void)ctx, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_enter_therapy_session(struct sb_ctx *ctx,
                                     const therapy_enter_therapy_session_request *req,
                                     therapy_enter_therapy_session_response *resp,
                                     therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_get_therapy_session_detail(struct sb_ctx *ctx,
                                          const therapy_therapy_session_detail_request *req,
                                          therapy_therapy_session_detail_response *resp,
                                          therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_get_therapy_session_assessments(
    struct sb_ctx *ctx, const therapy_therapy_session_assessments_request *req,
    therapy_therapy_session_assessments_response *resp, therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_get_actions(struct sb_ctx *ctx, const therapy_get_actions_request *req,
                           therapy_get_actions_response *resp, therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_save_actions(struct sb_ctx *ctx, const therapy_save_actions_request *req,
                            therapy_save_actions_response *resp,
                            therapy_therapy_error_response *err)
{
    (void)resp, (void)err;
    t.calls++;
    t.n_actions = req->count;
    ctx->http_detail = t.detail;
    return t.rc;
}

int therapy_on_get_actions_timeout(struct sb_ctx *ctx, uint64_t request,
                                   therapy_get_actions_response *resp,
                                   therapy_therapy_error_response *err)
{
    (void)ctx, (void)err;
    t.timeouts++;
    resp->result = SB_STR_LIT("ok");
    resp->max_id = (int64_t)request;
    return t.rc;
}

void therapy_on_get_actions_abort(struct sb_ctx *ctx, uint64_t request)
{
    (void)ctx, (void)request;
    t.aborts++;
}

int therapy_on_get_session(struct sb_ctx *ctx, therapy_session_response *resp,
                           therapy_therapy_error_response *err)
{
    (void)ctx, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_logout(struct sb_ctx *ctx, therapy_logout_response *resp,
                      therapy_therapy_error_response *err)
{
    (void)ctx, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_operator_notice(struct sb_ctx *ctx, const therapy_operator_notice_request *req,
                               therapy_operator_action_response *resp,
                               therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)err;
    t.calls++;
    resp->result = SB_STR_LIT("ok");
    resp->id = 9;
    return t.rc;
}

int therapy_on_operator_signal(struct sb_ctx *ctx, const therapy_operator_signal_request *req,
                               therapy_operator_action_response *resp,
                               therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

int therapy_on_operator_assessment(struct sb_ctx *ctx,
                                   const therapy_operator_assessment_request *req,
                                   therapy_operator_action_response *resp,
                                   therapy_therapy_error_response *err)
{
    (void)ctx, (void)req, (void)resp, (void)err;
    t.calls++;
    return t.rc;
}

/* The runtime's side: routes registered, deferred answers queued. */
static struct {
    int n;
    sb_http_handler h[16];
    uint64_t request;
    int status;
    char body[1024];
    int answers;
} rt_seen;

int sb_rt_add_http(sb_rt *rt, const sb_http_handler *h, char *err, size_t err_size)
{
    (void)rt;
    if (rt_seen.n == 1 && strcmp(h->path, "/refuse") == 0) {
        snprintf(err, err_size, "refused");
        return -1;
    }
    rt_seen.h[rt_seen.n++] = *h;
    return 0;
}

void sb_outbox_http(sb_outbox *o, uint64_t request, sb_http_response *resp)
{
    (void)o;
    rt_seen.answers++;
    rt_seen.request = request;
    rt_seen.status = resp->status;
    snprintf(rt_seen.body, sizeof rt_seen.body, "%.*s", (int)resp->body.len, resp->body.data);
    sb_buf_free(&resp->body);
    sb_buf_free(&resp->headers);
}

/* Requests --------------------------------------------------------------- */

static sb_arena arena;

typedef struct call {
    sb_query params, query;
    sb_header headers[4];
    size_t n_headers;
    const char *body;
    bool no_params; /* req->params NULL, as for a route without {parameters} */
    sb_http_request req;
    sb_http_response resp;
    int rc;
} call;

static void add(sb_query *q, const char *k, const char *v)
{
    q->item[q->count].key = (char *)k;
    q->item[q->count].value = (char *)v;
    q->count++;
}

static const sb_http_handler *route(const sb_http_handler *table, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].path, path) == 0)
            return &table[i];
    fail_msg("no route %s", path);
    return NULL;
}

static void run(call *c, const sb_http_handler *h)
{
    struct sb_ctx ctx = {.arena = &arena};
    sb_arena_reset(&arena);
    c->req = (sb_http_request){.id = 7,
                               .method = h->method,
                               .path = h->path,
                               .params = c->no_params ? NULL : &c->params,
                               .query = &c->query,
                               .headers = c->headers,
                               .n_headers = c->n_headers,
                               .body = c->body ? c->body : "",
                               .body_len = c->body ? strlen(c->body) : 0};
    memset(&c->resp, 0, sizeof c->resp);
    c->resp.status = 200;
    sb_buf_init(&c->resp.headers);
    sb_buf_init(&c->resp.body);
    c->rc = h->handle(&ctx, &c->req, &c->resp);
}

static void done(call *c)
{
    sb_buf_free(&c->resp.body);
    sb_buf_free(&c->resp.headers);
}

#define ASSERT_ANSWER(c, want_status, want_body)                                                   \
    do {                                                                                           \
        assert_int_equal((c)->rc, SB_HTTP_ANSWERED);                                               \
        assert_int_equal((c)->resp.status, (want_status));                                         \
        assert_string_equal((c)->resp.content_type, "application/json");                           \
        char got_[1024];                                                                           \
        snprintf(got_, sizeof got_, "%.*s", (int)(c)->resp.body.len, (c)->resp.body.data);         \
        assert_string_equal(got_, (want_body));                                                    \
    } while (0)

static const sb_http_handler *chat_route(const char *path)
{
    return route(chat_http_routes, chat_http_routes_count, path);
}

static const sb_http_handler *therapy_route(const char *path)
{
    return route(therapy_http_routes, therapy_http_routes_count, path);
}

static int setup(void **state)
{
    (void)state;
    memset(&t, 0, sizeof t);
    memset(&rt_seen, 0, sizeof rt_seen);
    t.rc = 200;
    return 0;
}

/* Chat ------------------------------------------------------------------- */

static void test_chat_table(void **state)
{
    (void)state;
    assert_int_equal(chat_http_routes_count, 2);
    assert_string_equal(chat_http_routes[0].method, "GET");
    assert_string_equal(chat_http_routes[0].path, "/api/v1/rooms");
    assert_string_equal(chat_http_routes[1].path, "/api/v1/rooms/{room_id}/messages");
    assert_string_equal(chat_http_routes[1].channel, "chat");
    int app;
    sb_failure storage = {.arg = &app};
    char err[64] = "";
    assert_int_equal(chat_routes_register(NULL, &app, &storage, err, sizeof err), 0);
    assert_int_equal(rt_seen.n, 2);
    assert_ptr_equal(rt_seen.h[0].app, &app);
    assert_ptr_equal(rt_seen.h[1].storage_error.arg, &app);
    assert_ptr_equal(rt_seen.h[1].handle, chat_http_routes[1].handle);
}

static void test_chat_list_rooms(void **state)
{
    (void)state;
    call c = {.n_headers = 1};
    c.headers[0] = (sb_header){"authorization", "Bearer good"};
    run(&c, chat_route("/api/v1/rooms"));
    ASSERT_ANSWER(&c, 200, "{\"rooms\":[]}");
    assert_int_equal(t.calls, 1);
    done(&c);

    call q = {0};
    add(&q.query, "token", "good");
    t.rc = 203;
    run(&q, chat_route("/api/v1/rooms"));
    ASSERT_ANSWER(&q, 203, "{\"rooms\":[]}");
    done(&q);
}

/* 401 before anything is parsed: a stranger learns nothing about parameters. */
static void test_chat_auth_before_parsing(void **state)
{
    (void)state;
    const char *paths[] = {"/api/v1/rooms", "/api/v1/rooms/{room_id}/messages"};
    for (int i = 0; i < 2; i++) {
        call c = {.n_headers = 1};
        c.headers[0] = (sb_header){"authorization", "Bearer bad"};
        add(&c.query, "token", "nope");
        add(&c.query, "limit", "abc");
        run(&c, chat_route(paths[i]));
        ASSERT_ANSWER(&c, 401, "{\"error\":\"Authentication required\"}");
        done(&c);
    }
    assert_int_equal(t.calls, 0);
    assert_int_equal(t.auth_calls, 2);
}

static void test_chat_room_messages_params(void **state)
{
    (void)state;
    call c = {0};
    add(&c.params, "room_id", "42");
    add(&c.query, "token", "good");
    add(&c.query, "limit", "5");
    add(&c.query, "before", "17");
    add(&c.query, "_", "cache buster, ignored");
    run(&c, chat_route("/api/v1/rooms/{room_id}/messages"));
    ASSERT_ANSWER(&c, 200, "{\"room_id\":\"42\",\"messages\":[],\"has_more\":true}");
    assert_string_equal(t.room_id, "42");
    assert_true(t.has_limit);
    assert_int_equal(t.limit, 5);
    assert_true(t.has_before);
    assert_int_equal(t.before, 17);
    done(&c);

    call d = {0};
    add(&d.params, "room_id", "7");
    add(&d.query, "token", "good");
    run(&d, chat_route("/api/v1/rooms/{room_id}/messages"));
    assert_false(t.has_limit);
    assert_false(t.has_before);
    done(&d);
}

/* The exact answers handlers/chat_http.c gives today: 400 with the parser's
 * message alone. */
static void test_chat_invalid_parameters(void **state)
{
    (void)state;
    static const struct {
        const char *room_id, *key, *value, *body;
    } cases[] = {
        {"1", "limit", "0", "{\"error\":\"limit: out of range\"}"},
        {"1", "limit", "201", "{\"error\":\"limit: out of range\"}"},
        {"1", "limit", "abc", "{\"error\":\"limit: expected integer\"}"},
        {"1", "before", "0", "{\"error\":\"before: out of range\"}"},
        {"1", "before", "abc", "{\"error\":\"before: expected integer\"}"},
        {"1", "limit", "", "{\"error\":\"limit: expected integer\"}"},
        {"1234567890123456789012345678901234567890123456789012345678901234X", "limit", "5",
         "{\"error\":\"room_id: longer than 64 bytes\"}"},
        {NULL, "limit", "5", "{\"error\":\"room_id: missing required field\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call c = {0};
        if (cases[i].room_id)
            add(&c.params, "room_id", cases[i].room_id);
        add(&c.query, "token", "good");
        add(&c.query, cases[i].key, cases[i].value);
        run(&c, chat_route("/api/v1/rooms/{room_id}/messages"));
        ASSERT_ANSWER(&c, 400, cases[i].body);
        done(&c);
    }
    /* no params at all (a route registered without them) */
    call c = {.no_params = true};
    add(&c.query, "token", "good");
    run(&c, chat_route("/api/v1/rooms/{room_id}/messages"));
    ASSERT_ANSWER(&c, 400, "{\"error\":\"room_id: missing required field\"}");
    done(&c);
    assert_int_equal(t.calls, 0);
}

static void test_chat_declared_errors(void **state)
{
    (void)state;
    static const struct {
        int rc, status;
        const char *body;
    } cases[] = {
        {-CHAT_ERROR_ROOM_NOT_FOUND, 404, "{\"error\":\"Room not found\"}"},
        {-CHAT_ERROR_AUTH_REQUIRED, 401, "{\"error\":\"Authentication required\"}"},
        {-CHAT_ERROR_INVALID_PARAMETER, 400, "{\"error\":\"\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call c = {0};
        add(&c.params, "room_id", "999");
        add(&c.query, "token", "good");
        t.rc = cases[i].rc;
        run(&c, chat_route("/api/v1/rooms/{room_id}/messages"));
        ASSERT_ANSWER(&c, cases[i].status, cases[i].body);
        done(&c);
    }
}

/* Anything a handler returns that its endpoint does not declare is a bug. */
static void test_chat_undeclared_answers_500(void **state)
{
    (void)state;
    int rcs[] = {-CHAT_ERROR_ROOM_NOT_FOUND, -CHAT_ERROR_STORAGE, 0, 302, 500, -999, 2};
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
        call c = {0};
        add(&c.query, "token", "good");
        t.rc = rcs[i];
        run(&c, chat_route("/api/v1/rooms")); /* ListRooms declares AUTH_REQUIRED only */
        ASSERT_ANSWER(&c, 500, "{\"error\":\"Internal server error\"}");
        done(&c);
    }
}

static void test_chat_deferred(void **state)
{
    (void)state;
    call c = {0};
    add(&c.params, "room_id", "1");
    add(&c.query, "token", "good");
    t.rc = SB_HTTP_DEFERRED;
    run(&c, chat_route("/api/v1/rooms/{room_id}/messages"));
    assert_int_equal(c.rc, SB_HTTP_DEFERRED);
    assert_int_equal(c.resp.body.len, 0);
    assert_int_equal(c.resp.status, 200); /* untouched */
    assert_null(c.resp.content_type);
    done(&c);

    chat_messages_response m = {.room_id = {"1", 1}};
    chat_room_messages_answer(NULL, 99, 200, &m);
    assert_int_equal(rt_seen.request, 99);
    assert_int_equal(rt_seen.status, 200);
    assert_string_equal(rt_seen.body, "{\"room_id\":\"1\",\"messages\":[],\"has_more\":false}");
    chat_room_messages_answer(NULL, 100, -CHAT_ERROR_ROOM_NOT_FOUND, NULL);
    assert_int_equal(rt_seen.request, 100);
    assert_int_equal(rt_seen.status, 404);
    assert_string_equal(rt_seen.body, "{\"error\":\"Room not found\"}");
    chat_list_rooms_answer(NULL, 101, -CHAT_ERROR_ROOM_NOT_FOUND, NULL);
    assert_int_equal(rt_seen.status, 500);
    assert_int_equal(rt_seen.answers, 3);
}

/* Therapy: bodies, the error's name, extra error fields --------------------- */

static void test_therapy_body_parsed(void **state)
{
    (void)state;
    call c = {.body = "{\"code\": \"042917\"}"};
    t.rc = -THERAPY_ERROR_INVALID_CODE;
    run(&c, therapy_route("/api/therapy/verifyCode")); /* auth = false */
    ASSERT_ANSWER(&c, 401,
                  "{\"result\":\"Invalid code, please start over\",\"error\":\"INVALID_CODE\"}");
    assert_string_equal(t.code, "042917");
    assert_int_equal(t.auth_calls, 0);
    done(&c);

    call s = {
        .body =
            "[{\"client_ts\": \"2023-08-02T22:02:53.375Z\", \"type\": \"delete\", \"target\": 3}]"};
    add(&s.query, "token", "good");
    t.rc = 200;
    run(&s, therapy_route("/api/therapy/saveActions"));
    assert_int_equal(s.resp.status, 200);
    assert_int_equal(t.n_actions, 1);
    done(&s);
}

static void test_therapy_invalid_body(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"code\": \"12345a\"}", "{\"result\":\"Invalid request: code: does not match pattern "
                                   "^[0-9]{6}$\",\"error\":\"INVALID_REQUEST\"}"},
        {"{\"code\": \"12345\"}", "{\"result\":\"Invalid request: code: shorter than 6 "
                                  "bytes\",\"error\":\"INVALID_REQUEST\"}"},
        {"{}", "{\"result\":\"Invalid request: code: missing required field\",\"error\":\"INVALID_"
               "REQUEST\"}"},
        {"{\"code\": \"042917\"} x", NULL},
        {"", NULL},
        {"{\"code\": \"042917\", \"x\": 1}",
         "{\"result\":\"Invalid request: x: unknown field\",\"error\":\"INVALID_REQUEST\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call c = {.body = cases[i].body};
        run(&c, therapy_route("/api/therapy/verifyCode"));
        assert_int_equal(c.resp.status, 400);
        char got[1024];
        snprintf(got, sizeof got, "%.*s", (int)c.resp.body.len, c.resp.body.data);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else
            assert_non_null(strstr(got, "{\"result\":\"Invalid request: $: "));
        done(&c);
    }
    assert_int_equal(t.calls, 0);
}

static void test_therapy_error_extra_fields(void **state)
{
    (void)state;
    call c = {.body = "{\"phone\": \"+15555550123\", \"last_name\": \"Doe\"}"};
    t.rc = -THERAPY_ERROR_CODE_RESEND_TOO_SOON;
    run(&c, therapy_route("/api/therapy/login"));
    ASSERT_ANSWER(&c, 429,
                  "{\"result\":\"Please wait one minute before requesting a new code\","
                  "\"error\":\"CODE_RESEND_TOO_SOON\",\"retry_after\":42}");
    done(&c);

    call a = {0};
    run(&a, therapy_route("/api/therapy/getTherapySessions"));
    ASSERT_ANSWER(&a, 401, "{\"result\":\"Authentication required\",\"error\":\"AUTH_REQUIRED\"}");
    done(&a);
    t.rc = -THERAPY_ERROR_INVALID_CODE; /* not getTherapySessions' */
    call b = {0};
    add(&b.query, "token", "good");
    run(&b, therapy_route("/api/therapy/getTherapySessions"));
    ASSERT_ANSWER(&b, 500, "{\"result\":\"Internal server error\",\"error\":\"INTERNAL_ERROR\"}");
    done(&b);
}

/* auth = "operator": the endpoint calls its own hook, never the session's */
static void test_therapy_operator_hook(void **state)
{
    (void)state;
    call a = {.body = "{\"ts_id\": 77, \"body\": \"Foo has left the session\"}"};
    add(&a.query, "token", "good"); /* the session hook's credential: not enough */
    run(&a, therapy_route("/api/therapy/operator/notice"));
    ASSERT_ANSWER(&a, 401, "{\"result\":\"Authentication required\",\"error\":\"AUTH_REQUIRED\"}");
    assert_int_equal(t.operator_calls, 1);
    assert_int_equal(t.auth_calls, 0);
    assert_int_equal(t.calls, 0);
    done(&a);

    call b = {.body = "{\"ts_id\": 77, \"body\": \"Foo has left the session\"}"};
    b.headers[b.n_headers++] = (sb_header){"authorization", "Bearer operator"};
    t.rc = 200;
    run(&b, therapy_route("/api/therapy/operator/notice"));
    ASSERT_ANSWER(&b, 200, "{\"result\":\"ok\",\"id\":9}");
    assert_int_equal(t.operator_calls, 2);
    assert_int_equal(t.auth_calls, 0);
    done(&b);
}

/* ctx->http_detail follows the error's text, from a hook or a handler */
static void test_therapy_error_detail(void **state)
{
    (void)state;
    call a = {.body = "[]"};
    add(&a.query, "token", "good");
    t.detail = "cross-site request (Sec-Fetch-Site: cross-site)";
    t.csrf = true;
    run(&a, therapy_route("/api/therapy/saveActions"));
    ASSERT_ANSWER(
        &a, 403,
        "{\"result\":\"Request refused: cross-site request (Sec-Fetch-Site: cross-site)\","
        "\"error\":\"CSRF_FAILED\"}");
    assert_int_equal(t.calls, 0);
    done(&a);

    call b = {.body = "[]"};
    add(&b.query, "token", "good");
    t.csrf = false;
    t.detail = "[0].user: not the logged-in user";
    t.rc = -THERAPY_ERROR_ACTION_REFUSED;
    run(&b, therapy_route("/api/therapy/saveActions"));
    ASSERT_ANSWER(&b, 403,
                  "{\"result\":\"Action refused: [0].user: not the logged-in user\","
                  "\"error\":\"ACTION_REFUSED\"}");
    done(&b);
}

/* a long_poll endpoint's table row carries on_timeout and on_abort */
static void test_therapy_long_poll(void **state)
{
    (void)state;
    const sb_http_handler *h = therapy_route("/api/therapy/getActions");
    assert_non_null(h->on_timeout);
    assert_non_null(h->on_abort);
    assert_null(therapy_route("/api/therapy/saveActions")->on_timeout);
    /* every row carries the channel's error answers, for the transport's own errors */
    for (size_t i = 0; i < therapy_http_routes_count; i++)
        assert_ptr_equal(therapy_http_routes[i].errors, therapy_http_errors);
    sb_buf b;
    sb_buf_init(&b);
    assert_int_equal(
        sb_http_transport_error(&b, therapy_http_errors, 415, "unsupported Content-Type"), 0);
    char body[128];
    snprintf(body, sizeof body, "%.*s", (int)b.len, b.data);
    assert_string_equal(
        body, "{\"result\":\"unsupported Content-Type\",\"error\":\"UNSUPPORTED_MEDIA_TYPE\"}");
    sb_buf_free(&b);
    struct sb_ctx ctx = {.arena = &arena};
    sb_http_response r;
    sb_http_response_init(&r);
    t.rc = 200;
    h->on_timeout(&ctx, 12353, &r);
    assert_int_equal(t.timeouts, 1);
    assert_int_equal(r.status, 200);
    char got[256];
    snprintf(got, sizeof got, "%.*s", (int)r.body.len, r.body.data);
    assert_string_equal(got,
                        "{\"result\":\"ok\",\"server_time\":0,\"max_id\":12353,\"actions\":[]}");
    sb_http_response_free(&r);
    sb_http_response_init(&r);
    t.rc = -THERAPY_ERROR_UNAVAILABLE;
    h->on_timeout(&ctx, 1, &r);
    assert_int_equal(r.status, 503);
    sb_http_response_free(&r);
    h->on_abort(&ctx, 1);
    assert_int_equal(t.aborts, 1);
}

int main(void)
{
    sb_arena_init(&arena, 1 << 20);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_chat_table, setup),
        cmocka_unit_test_setup(test_chat_list_rooms, setup),
        cmocka_unit_test_setup(test_chat_auth_before_parsing, setup),
        cmocka_unit_test_setup(test_chat_room_messages_params, setup),
        cmocka_unit_test_setup(test_chat_invalid_parameters, setup),
        cmocka_unit_test_setup(test_chat_declared_errors, setup),
        cmocka_unit_test_setup(test_chat_undeclared_answers_500, setup),
        cmocka_unit_test_setup(test_chat_deferred, setup),
        cmocka_unit_test_setup(test_therapy_body_parsed, setup),
        cmocka_unit_test_setup(test_therapy_invalid_body, setup),
        cmocka_unit_test_setup(test_therapy_error_extra_fields, setup),
        cmocka_unit_test_setup(test_therapy_operator_hook, setup),
        cmocka_unit_test_setup(test_therapy_error_detail, setup),
        cmocka_unit_test_setup(test_therapy_long_poll, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sb_arena_free(&arena);
    return rc;
}
