/* test_http_client.c: the outbound HTTP client (runtime/http_client.c)
 * against libevent's own HTTP server, in this process on 127.0.0.1:0 and the
 * same event base: requests reach the server as sent (method, target,
 * headers, body), answers come back with their status and body, and every
 * failure (a refused port, a server slower than the timeout, a body over
 * the limit, the client freed while requests wait) ends in exactly one call
 * with status 0 and an error; a URL that is not http:// is refused at once
 * and nobody is called. sb_http_client_send: a Content-Type of the
 * caller's, and https:// failing cleanly (its successes and certificate
 * checks are in tests/therapy/sms_senders.test.mjs, against node's TLS).
 *
 * Two tests failed before their fixes (an empty host accepted; a callback
 * from inside the request, after a blocking name lookup). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_client.h"

/* The server --------------------------------------------------------------- */

#define MAX_SEEN 8

/* What one request brought to the server. */
typedef struct seen {
    char method[8];
    char uri[256];
    char host[64];
    char content_type[64];
    char content_length[16];
    char x_test[64];
    char authorization[64];
    bool has_no_colon; /* a header named "NoColon" arrived */
    bool has_evil;     /* a header named "X-Evil" arrived */
    char body[256];
    size_t body_len;
} seen;

typedef struct world {
    struct event_base *base;
    struct evhttp *http;
    int port;
    seen seen[MAX_SEEN];
    int n_seen;
} world;

static void copy_header(struct evkeyvalq *h, const char *name, char *dst, size_t cap)
{
    const char *v = evhttp_find_header(h, name);
    snprintf(dst, cap, "%s", v ? v : "");
}

/* /echo: 200, "got:" + the body; /status/404: 404 "nope"; /big: 10000
 * bytes; /empty: 204; /slow: never answered (freed with the server). */
static void serve(struct evhttp_request *req, void *arg)
{
    world *w = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (w->n_seen < MAX_SEEN) {
        seen *s = &w->seen[w->n_seen++];
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        snprintf(s->method, sizeof s->method, "%s",
                 cmd == EVHTTP_REQ_GET    ? "GET"
                 : cmd == EVHTTP_REQ_POST ? "POST"
                                          : "OTHER");
        snprintf(s->uri, sizeof s->uri, "%s", uri);
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        copy_header(h, "Host", s->host, sizeof s->host);
        copy_header(h, "Content-Type", s->content_type, sizeof s->content_type);
        copy_header(h, "Content-Length", s->content_length, sizeof s->content_length);
        copy_header(h, "X-Test", s->x_test, sizeof s->x_test);
        copy_header(h, "Authorization", s->authorization, sizeof s->authorization);
        s->has_no_colon = evhttp_find_header(h, "NoColon") != NULL;
        s->has_evil = evhttp_find_header(h, "X-Evil") != NULL;
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        s->body_len = evbuffer_get_length(in);
        assert_true(s->body_len < sizeof s->body);
        evbuffer_copyout(in, s->body, s->body_len);
    }
    struct evbuffer *out = evbuffer_new();
    assert_non_null(out);
    if (strncmp(uri, "/echo", 5) == 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        evbuffer_add(out, "got:", 4);
        evbuffer_add_buffer(out, in);
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/status/404") == 0) {
        evbuffer_add(out, "nope", 4);
        evhttp_send_reply(req, 404, "Not Found", out);
    } else if (strcmp(uri, "/big") == 0) {
        char chunk[1000];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 10; i++)
            evbuffer_add(out, chunk, sizeof chunk);
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/empty") == 0) {
        evhttp_send_reply(req, 204, "No Content", NULL);
    } else if (strcmp(uri, "/slow") != 0) {
        evhttp_send_reply(req, 500, "Unexpected", NULL);
    }
    evbuffer_free(out);
}

static int bound_port(evutil_socket_t fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->base = event_base_new();
    w->http = evhttp_new(w->base);
    assert_non_null(w->http);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(w->http, "127.0.0.1", 0);
    assert_non_null(bs);
    w->port = bound_port(evhttp_bound_socket_get_fd(bs));
    evhttp_set_gencb(w->http, serve, w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    evhttp_free(w->http);
    event_base_free(w->base);
    free(w);
    return 0;
}

/* The client's side -------------------------------------------------------- */

/* One request's callback calls: exactly one is expected. */
typedef struct result {
    int calls;
    int status;
    char body[16384];
    size_t len;
    char error[128];
} result;

static void done(int status, const char *body, size_t len, const char *error, void *arg)
{
    result *r = arg;
    r->calls++;
    r->status = status;
    r->len = len;
    assert_true(len < sizeof r->body);
    if (len) {
        assert_non_null(body);
        memcpy(r->body, body, len);
    }
    r->body[len] = '\0';
    snprintf(r->error, sizeof r->error, "%s", error ? error : "");
    if (status == 0)
        assert_non_null(error);
    else
        assert_null(error);
}

static void deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* Turn the loop until every result has its call, or timeout_ms passed:
 * returns the milliseconds it took. */
static long run(world *w, result **rs, size_t n, int timeout_ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool late = false;
    struct event *t = evtimer_new(w->base, deadline, &late);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(t, &tv);
    for (;;) {
        size_t waiting = 0;
        for (size_t i = 0; i < n; i++)
            waiting += rs[i]->calls == 0;
        if (!waiting || late)
            break;
        event_base_loop(w->base, EVLOOP_ONCE);
    }
    event_free(t);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

static long run1(world *w, result *r, int timeout_ms)
{
    return run(w, &r, 1, timeout_ms);
}

static void url(char *buf, size_t cap, int port, const char *target)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", port, target);
}

/* Tests --------------------------------------------------------------------- */

static void test_get_with_headers(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 2, 2000, 0);
    assert_non_null(c);
    char u[128];
    url(u, sizeof u, w->port, "/echo?x=1&y=two%20words");
    const char *headers[] = {"X-Test: hello", "Authorization:   Bearer abc.def", "NoColon", NULL};
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "GET", u, headers, NULL, 0, done, &r), 0);
    assert_int_equal(sb_http_client_pending(c), 1);
    run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "got:");
    assert_int_equal(sb_http_client_pending(c), 0);
    assert_int_equal(w->n_seen, 1);
    seen *s = &w->seen[0];
    assert_string_equal(s->method, "GET");
    assert_string_equal(s->uri, "/echo?x=1&y=two%20words");
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", w->port);
    assert_string_equal(s->host, host);
    assert_string_equal(s->x_test, "hello");
    assert_string_equal(s->authorization, "Bearer abc.def");
    assert_false(s->has_no_colon); /* a line without a colon is no header */
    assert_int_equal(s->body_len, 0);
    sb_http_client_free(c);
    assert_int_equal(r.calls, 1);
}

static void test_post_body(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 2, 2000, 0);
    char u[128];
    url(u, sizeof u, w->port, "/echo");
    static const char body[] = "{\"a\":1,\"s\":\"x\\u0000y\"}\0tail"; /* a NUL inside */
    const size_t len = sizeof body - 1;
    const char *headers[] = {"X-Test: post", NULL};
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "POST", u, headers, body, len, done, &r), 0);
    run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 4 + len);
    assert_memory_equal(r.body, "got:", 4);
    assert_memory_equal(r.body + 4, body, len);
    seen *s = &w->seen[0];
    assert_string_equal(s->method, "POST");
    assert_string_equal(s->uri, "/echo");
    assert_string_equal(s->content_type, "application/json");
    char cl[16];
    snprintf(cl, sizeof cl, "%zu", len);
    assert_string_equal(s->content_length, cl);
    assert_string_equal(s->x_test, "post");
    assert_int_equal(s->body_len, len);
    assert_memory_equal(s->body, body, len);
    sb_http_client_free(c);
}

/* A POST without a body sends an empty one (Content-Length: 0). */
static void test_post_empty(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char u[128];
    url(u, sizeof u, w->port, "/echo");
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "POST", u, NULL, NULL, 0, done, &r), 0);
    run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "got:");
    assert_string_equal(w->seen[0].content_length, "0");
    sb_http_client_free(c);
}

/* The answer's status comes back as it is, with its body (or none). */
static void test_status_and_body(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 2, 2000, 0);
    char u[128];
    result r404 = {0}, r204 = {0};
    url(u, sizeof u, w->port, "/status/404");
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &r404), 0);
    url(u, sizeof u, w->port, "/empty");
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &r204), 0);
    result *rs[] = {&r404, &r204};
    run(w, rs, 2, 5000);
    assert_int_equal(r404.calls, 1);
    assert_int_equal(r404.status, 404);
    assert_string_equal(r404.body, "nope");
    assert_int_equal(r204.calls, 1);
    assert_int_equal(r204.status, 204);
    assert_int_equal(r204.len, 0);
    sb_http_client_free(c);
}

/* With one connection per origin, requests queue on it and are all answered. */
static void test_requests_queue_on_a_connection(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char u[128];
    result r[4] = {{0}};
    result *rs[4];
    for (int i = 0; i < 4; i++) {
        char target[32];
        snprintf(target, sizeof target, "/echo?n=%d", i);
        url(u, sizeof u, w->port, target);
        char body[8];
        int n = snprintf(body, sizeof body, "%d", i);
        assert_int_equal(sb_http_client_request(c, "POST", u, NULL, body, (size_t)n, done, &r[i]),
                         0);
        rs[i] = &r[i];
    }
    assert_int_equal(sb_http_client_pending(c), 4);
    run(w, rs, 4, 5000);
    for (int i = 0; i < 4; i++) {
        char want[16];
        snprintf(want, sizeof want, "got:%d", i);
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].status, 200);
        assert_string_equal(r[i].body, want);
    }
    assert_int_equal(w->n_seen, 4);
    assert_int_equal(sb_http_client_pending(c), 0);
    sb_http_client_free(c);
}

/* A free port: bound, read back, closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int port = bound_port(fd);
    close(fd);
    return port;
}

static void test_refused_port(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char u[128];
    url(u, sizeof u, closed_port(), "/echo");
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &r), 0);
    long ms = run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.error[0] != '\0');
    assert_true(ms < 1900); /* refused at once, not timed out */
    assert_int_equal(sb_http_client_pending(c), 0);
    sb_http_client_free(c);
    assert_int_equal(r.calls, 1);
}

/* A server slower than the timeout: status 0 after about the timeout; the
 * connection serves the next request afterwards. */
static void test_timeout(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 300, 0);
    char u[128];
    url(u, sizeof u, w->port, "/slow");
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &r), 0);
    long ms = run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.error[0] != '\0');
    assert_true(ms >= 200 && ms < 4000);
    result again = {0};
    url(u, sizeof u, w->port, "/echo");
    assert_int_equal(sb_http_client_request(c, "POST", u, NULL, "x", 1, done, &again), 0);
    run1(w, &again, 5000);
    assert_int_equal(again.calls, 1);
    assert_int_equal(again.status, 200);
    assert_string_equal(again.body, "got:x");
    sb_http_client_free(c);
    assert_int_equal(r.calls, 1);
}

/* An answer over max_body: status 0; one at the limit comes through. */
static void test_body_over_max(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 1024);
    char u[128];
    url(u, sizeof u, w->port, "/big");
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &r), 0);
    run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.error[0] != '\0');
    sb_http_client_free(c);

    c = sb_http_client_new(w->base, 1, 2000, 10000);
    result fits = {0};
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &fits), 0);
    run1(w, &fits, 5000);
    assert_int_equal(fits.calls, 1);
    assert_int_equal(fits.status, 200);
    assert_int_equal(fits.len, 10000);
    sb_http_client_free(c);
}

/* Freed with requests waiting (sent and not yet sent): each callback once,
 * status 0, "shutting down"; the loop calls nobody afterwards. */
static void test_free_with_pending(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 2, 10000, 0);
    char u[128];
    url(u, sizeof u, w->port, "/slow");
    result r[3] = {{0}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &r[i]), 0);
    /* let two reach the server (the third queues behind one of them) */
    result never = {0};
    result *rs[] = {&never};
    for (int i = 0; i < 50 && w->n_seen < 2; i++)
        run(w, rs, 1, 100);
    assert_int_equal(w->n_seen, 2);
    result late = {0}; /* and one not sent at all */
    url(u, sizeof u, w->port, "/echo");
    assert_int_equal(sb_http_client_request(c, "GET", u, NULL, NULL, 0, done, &late), 0);
    assert_int_equal(sb_http_client_pending(c), 4);
    sb_http_client_free(c);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].status, 0);
        assert_string_equal(r[i].error, "shutting down");
    }
    assert_int_equal(late.calls, 1);
    assert_string_equal(late.error, "shutting down");
    run(w, rs, 1, 200);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].calls, 1);
    assert_int_equal(late.calls, 1);
}

/* Only http:// URLs with a host: -1, and no callback, ever. */
static void test_not_http(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    static const char *const bad[] = {
        "https://127.0.0.1/x",
        "ftp://127.0.0.1/x",
        "HTTPS://example.com/",
        "ws://127.0.0.1/",
        "127.0.0.1:80/x",
        "/relative/path",
        "",
        "not a url at all",
        "http:/x",
    };
    result r = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (sb_http_client_request(c, "GET", bad[i], NULL, NULL, 0, done, &r) != -1)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    assert_int_equal(sb_http_client_pending(c), 0);
    result *rs[] = {&r};
    run(w, rs, 1, 100);
    sb_http_client_free(c);
    assert_int_equal(r.calls, 0);
    assert_int_equal(w->n_seen, 0);
}

/* A header value with CR or LF is not sent (libevent refuses it), so a
 * value taken from a client (realtime_proxy.c's X-Request-Id) cannot add
 * headers of its own; the request goes without it. */
static void test_header_injection(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char u[128];
    url(u, sizeof u, w->port, "/echo");
    const char *headers[] = {"X-Test: a\r\nX-Evil: 1", "Authorization: b\nX-Evil: 2", NULL};
    result r = {0};
    assert_int_equal(sb_http_client_request(c, "POST", u, headers, "{}", 2, done, &r), 0);
    run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(w->n_seen, 1);
    assert_false(w->seen[0].has_evil);
    assert_string_equal(w->seen[0].x_test, "");
    assert_string_equal(w->seen[0].authorization, "");
    assert_int_equal(w->seen[0].body_len, 2);
    sb_http_client_free(c);
}

/* Known bugs ---------------------------------------------------------------- */

static int in_request; /* inside sb_http_client_request */

static void done_outside(int status, const char *body, size_t len, const char *error, void *arg)
{
    assert_false(in_request); /* never from inside sb_http_client_request */
    done(status, body, len, error, arg);
}

/* "http://" with an empty host is no http:// URL: -1 and no callback
 * (it was accepted, and failed inside the call). */
static void test_empty_host_refused(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    static const char *const bad[] = {"http://", "http://:8080/x", "http://@/x"};
    result r = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sb_http_client_request(c, "GET", bad[i], NULL, NULL, 0, done, &r) != -1)
            fail_msg("\"%s\" was accepted", bad[i]);
    sb_http_client_free(c);
    assert_int_equal(r.calls, 0);
}

/* The callback comes from the loop, after sb_http_client_request has
 * returned 0, however soon the request fails: names are resolved on the
 * loop (evdns). It used to be a blocking getaddrinfo on the loop, and a
 * name that did not resolve called back from inside the call. */
static void test_no_callback_inside_request(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    result r = {0};
    in_request = 1;
    int rc = sb_http_client_request(c, "GET", "http://nonexistent.invalid/x", NULL, NULL, 0,
                                    done_outside, &r);
    in_request = 0;
    assert_int_equal(rc, 0);
    run1(w, &r, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    sb_http_client_free(c);
}

/* sb_http_client_send: a POST with a Content-Type of the caller's (a form,
 * for Twilio), and the answer of any status comes back with its body. */
static void test_send_content_type(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char u[128];
    url(u, sizeof u, w->port, "/echo");
    static const char form[] = "To=%2B1555&Body=a%20b";
    sb_http_client_req req = {
        "POST", u, NULL, form, sizeof form - 1, "application/x-www-form-urlencoded"};
    result r = {0};
    assert_int_equal(sb_http_client_send(c, &req, done, &r), 0);
    run1(w, &r, 5000);
    assert_int_equal(r.status, 200);
    assert_string_equal(w->seen[0].content_type, "application/x-www-form-urlencoded");
    assert_string_equal(r.body, "got:To=%2B1555&Body=a%20b");
    url(u, sizeof u, w->port, "/status/404");
    sb_http_client_req get = {"GET", u, NULL, NULL, 0, NULL};
    result nf = {0};
    assert_int_equal(sb_http_client_send(c, &get, done, &nf), 0);
    run1(w, &nf, 5000);
    assert_int_equal(nf.status, 404);
    assert_string_equal(nf.body, "nope");
    sb_http_client_free(c);
}

/* A CA file that cannot be read is refused with its name; without one, the
 * system's CAs are set up. */
static void test_tls_ca_file(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char err[256] = "";
    assert_int_equal(sb_http_client_tls(c, "/nonexistent/ca.pem", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    assert_int_equal(sb_http_client_tls(c, "", err, sizeof err), 0);
    assert_int_equal(sb_http_client_tls(c, NULL, err, sizeof err), 0);
    sb_http_client_free(c);
}

/* https:// to a server that speaks plain HTTP, and to a closed port: one
 * call each, status 0. (Real TLS answers: tests/therapy/sms_senders.test.mjs.) */
static void test_https_failures(void **state)
{
    world *w = *state;
    sb_http_client *c = sb_http_client_new(w->base, 1, 2000, 0);
    char u[128];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/echo", w->port);
    sb_http_client_req req = {"POST", u, NULL, "x", 1, NULL};
    result plain = {0};
    assert_int_equal(sb_http_client_send(c, &req, done, &plain), 0);
    snprintf(u, sizeof u, "https://127.0.0.1:1/x");
    result closed = {0};
    assert_int_equal(sb_http_client_send(c, &req, done, &closed), 0);
    result *rs[] = {&plain, &closed};
    run(w, rs, 2, 5000);
    assert_int_equal(plain.calls, 1);
    assert_int_equal(plain.status, 0);
    assert_int_equal(closed.calls, 1);
    assert_int_equal(closed.status, 0);
    assert_int_equal(sb_http_client_pending(c), 0);
    result none = {0};
    result *rn[] = {&none};
    run(w, rn, 1, 100); /* the dead connections reaped */
    sb_http_client_free(c);
    assert_int_equal(plain.calls, 1);
    assert_int_equal(closed.calls, 1);
}

/* Freed while a TLS handshake waits on a server that never answers: one
 * call, "shutting down", and the connection freed (valgrind, ASan). */
static void test_https_free_pending(void **state)
{
    world *w = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0); /* never accepted: the handshake stalls */
    sb_http_client *c = sb_http_client_new(w->base, 1, 10000, 0);
    char u[128];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/x", bound_port(fd));
    sb_http_client_req req = {"GET", u, NULL, NULL, 0, NULL};
    result r = {0};
    assert_int_equal(sb_http_client_send(c, &req, done, &r), 0);
    result *rs[] = {&r};
    run(w, rs, 1, 200);
    assert_int_equal(r.calls, 0);
    sb_http_client_free(c);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.error, "shutting down");
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_with_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_queue_on_a_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_host_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_callback_inside_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_ca_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_free_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
