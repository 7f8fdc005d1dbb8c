/* test_http.c: the socket-free half of HTTP (http.h): path templates and
 * their parameters, percent-decoding, template checks, cookies in and out,
 * response headers, bearer tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static bool match(const char *tmpl, const char *path, sb_query *q)
{
    static char store[512];
    return sb_path_match(tmpl, path, q, store, sizeof store);
}

static void test_path_match(void **state)
{
    (void)state;
    sb_query q;
    assert_true(match("/healthz", "/healthz", &q));
    assert_int_equal(q.count, 0);
    assert_false(match("/healthz", "/healthz/", &q));
    assert_false(match("/healthz", "/health", &q));
    assert_false(match("/healthz", "/healthzz", &q));

    assert_true(match("/api/v1/rooms/{room_id}/messages", "/api/v1/rooms/42/messages", &q));
    assert_int_equal(q.count, 1);
    assert_string_equal(q.item[0].key, "room_id");
    assert_string_equal(sb_query_get(&q, "room_id"), "42");
    assert_false(match("/api/v1/rooms/{room_id}/messages", "/api/v1/rooms//messages", &q));
    assert_false(match("/api/v1/rooms/{room_id}/messages", "/api/v1/rooms/4/2/messages", &q));
    assert_false(match("/api/v1/rooms/{room_id}/messages", "/api/v1/rooms/42", &q));

    assert_true(match("/a/{x}/b/{y}", "/a/1/b/two", &q));
    assert_int_equal(q.count, 2);
    assert_string_equal(sb_query_get(&q, "x"), "1");
    assert_string_equal(sb_query_get(&q, "y"), "two");
    assert_false(match("/a/{x}/b/{y}", "/a/1/b/", &q));

    /* percent-decoded; '+' stays '+' */
    assert_true(match("/items/{id}", "/items/a%20b", &q));
    assert_string_equal(sb_query_get(&q, "id"), "a b");
    assert_true(match("/items/{id}", "/items/%C3%a9+%2F", &q));
    assert_string_equal(sb_query_get(&q, "id"), "\xc3\xa9+/");
    assert_true(match("/items/{id}", "/items/50%2541", &q));
    assert_string_equal(sb_query_get(&q, "id"), "50%41");
    /* malformed escapes: no match */
    assert_false(match("/items/{id}", "/items/a%2", &q));
    assert_false(match("/items/{id}", "/items/a%", &q));
    assert_false(match("/items/{id}", "/items/%zz", &q));
    assert_false(match("/items/{id}", "/items/%g0", &q));

    /* trailing '*': the prefix and anything below it */
    assert_true(match("/static/*", "/static/", &q));
    assert_true(match("/static/*", "/static/a/b/c.js", &q));
    assert_false(match("/static/*", "/static", &q));
    assert_false(match("/static/*", "/staticx/a", &q));
    assert_true(match("/u/{id}/*", "/u/7/files/x", &q));
    assert_string_equal(sb_query_get(&q, "id"), "7");

    /* parameters that do not fit the store: no match, no overflow */
    char small[8];
    assert_false(sb_path_match("/items/{id}", "/items/0123456789", &q, small, sizeof small));
    assert_true(sb_path_match("/items/{id}", "/items/ab", &q, small, sizeof small));
    assert_string_equal(sb_query_get(&q, "id"), "ab");
}

static void test_url_decode(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(sb_url_decode("a%41b", 5, out, sizeof out), 3);
    assert_string_equal(out, "aAb");
    assert_int_equal(sb_url_decode("%00x", 4, out, sizeof out), 2);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], 'x');
    assert_int_equal(sb_url_decode("", 0, out, sizeof out), 0);
    assert_int_equal(sb_url_decode("%4", 2, out, sizeof out), -1);
    assert_int_equal(sb_url_decode("%", 1, out, sizeof out), -1);
    assert_int_equal(sb_url_decode("%4g", 3, out, sizeof out), -1);
    /* n bounds the input: "%41" cut at 2 is malformed */
    assert_int_equal(sb_url_decode("%41", 2, out, sizeof out), -1);
    /* fits exactly, or not */
    assert_int_equal(sb_url_decode("abc", 3, out, 4), 3);
    assert_int_equal(sb_url_decode("abcd", 4, out, 4), -1);
}

static void test_template_errors(void **state)
{
    (void)state;
    const char *good[] = {"/",          "/healthz",         "/a/{b}/c", "/a/{b}/{c_2}",
                          "/static/*",  "/u/{id}/*",        "/a/",      "/{_x}",
                          "/a-b/c.d_e", "/{a}/{b}/{c}/{d}", "/{A9}/x/*"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *e = sb_path_template_error(good[i]);
        if (e)
            fail_msg("%s refused: %s", good[i], e);
    }
    const char *bad[] = {
        "",
        "healthz",
        "/a//b",
        "/a/{b",
        "/a/b}",
        "/a/{}",
        "/a/{1x}",
        "/a/{b-c}",
        "/a/x{b}",
        "/a/{b}x",
        "/a/{b}/{b}",
        "/*/x",
        "/a*",
        "/a/*/",
        "/a/**",
        "/a?b",
        "/a#b",
        "/a%20b",
        "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!sb_path_template_error(bad[i]))
            fail_msg("%s accepted", bad[i]);
    assert_null(sb_path_template_error("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}")); /* 8: the most */
    assert_non_null(sb_path_template_error(NULL));
    assert_string_equal(sb_path_template_error("/a/{b}/{b}"), "a {parameter} appears twice");
}

/* A request with these headers only. */
static sb_http_request req_with(const sb_header *h, size_t n)
{
    return (sb_http_request){.method = "GET", .path = "/", .headers = h, .n_headers = n};
}

static void test_cookies(void **state)
{
    (void)state;
    char v[32];
    sb_header h1[] = {{"host", "x"}, {"cookie", "a=1; b=two;c=\"quoted val\"; empty=; ab=no"}};
    sb_http_request r = req_with(h1, 2);
    assert_true(sb_http_cookie(&r, "a", v, sizeof v));
    assert_string_equal(v, "1");
    assert_true(sb_http_cookie(&r, "b", v, sizeof v));
    assert_string_equal(v, "two");
    assert_true(sb_http_cookie(&r, "c", v, sizeof v));
    assert_string_equal(v, "quoted val");
    assert_true(sb_http_cookie(&r, "empty", v, sizeof v));
    assert_string_equal(v, "");
    assert_true(sb_http_cookie(&r, "ab", v, sizeof v));
    assert_string_equal(v, "no");
    assert_false(sb_http_cookie(&r, "x", v, sizeof v));
    assert_false(sb_http_cookie(&r, "", v, sizeof v));
    /* a prefix or a suffix of a name is not the name */
    assert_false(sb_http_cookie(&r, "em", v, sizeof v));
    assert_false(sb_http_cookie(&r, "mpty", v, sizeof v));
    /* too long for the store: not found rather than cut */
    char tiny[3];
    assert_false(sb_http_cookie(&r, "b", tiny, sizeof tiny));
    assert_true(sb_http_cookie(&r, "a", tiny, sizeof tiny));

    /* several Cookie headers: searched in order, the first wins */
    sb_header h2[] = {{"Cookie", "flag; x=1"}, {"accept", "*/*"}, {"cookie", "y=2; x=3"}};
    r = req_with(h2, 3);
    assert_true(sb_http_cookie(&r, "x", v, sizeof v));
    assert_string_equal(v, "1");
    assert_true(sb_http_cookie(&r, "y", v, sizeof v));
    assert_string_equal(v, "2");
    assert_false(sb_http_cookie(&r, "flag", v, sizeof v));
    /* a lone quote is kept as it is */
    sb_header h3[] = {{"cookie", "q=\"; z=9"}};
    r = req_with(h3, 1);
    assert_true(sb_http_cookie(&r, "q", v, sizeof v));
    assert_string_equal(v, "\"");
    assert_true(sb_http_cookie(&r, "z", v, sizeof v));
    assert_string_equal(v, "9");
    r = req_with(NULL, 0);
    assert_false(sb_http_cookie(&r, "a", v, sizeof v));
}

static const char *custom(const sb_http_request *req, const char *name)
{
    (void)req;
    return strcmp(name, "X-Custom") == 0 ? "yes" : NULL;
}

static void test_headers_and_bearer(void **state)
{
    (void)state;
    sb_header h[] = {{"authorization", "Bearer  abc.def"}, {"content-type", "text/plain"}};
    sb_http_request r = req_with(h, 2);
    assert_string_equal(sb_http_header(&r, "Content-Type"), "text/plain");
    assert_null(sb_http_header(&r, "X-Custom"));
    r.custom = custom;
    assert_string_equal(sb_http_header(&r, "X-Custom"), "yes");
    assert_string_equal(sb_http_bearer(&r), "abc.def");
    sb_header b[][1] = {{{"authorization", "bearer tok"}},
                        {{"authorization", "Bearer "}},
                        {{"authorization", "Basic dXNlcjpw"}},
                        {{"authorization", "Bearertok"}}};
    const char *want[] = {"tok", NULL, NULL, NULL};
    for (size_t i = 0; i < 4; i++) {
        r = req_with(b[i], 1);
        const char *got = sb_http_bearer(&r);
        if (want[i])
            assert_string_equal(got, want[i]);
        else
            assert_null(got);
    }
    r = req_with(NULL, 0);
    assert_null(sb_http_bearer(&r));
}

static bool headers_are(const sb_http_response *r, const char *want)
{
    return r->headers.len == strlen(want) && memcmp(r->headers.data, want, r->headers.len) == 0;
}

static void test_response_headers(void **state)
{
    (void)state;
    sb_http_response r;
    sb_http_response_init(&r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(sb_http_add_header(&r, "X-One", "1"), 0);
    assert_int_equal(sb_http_add_header(&r, "X-Empty", ""), 0);
    assert_true(headers_are(&r, "X-One: 1\r\nX-Empty: \r\n"));
    /* CR or LF anywhere: refused, nothing added */
    assert_int_equal(sb_http_add_header(&r, "X-Bad", "a\r\nSet-Cookie: evil=1"), -1);
    assert_int_equal(sb_http_add_header(&r, "X-Bad", "a\nb"), -1);
    assert_int_equal(sb_http_add_header(&r, "X-Bad", "a\rb"), -1);
    assert_int_equal(sb_http_add_header(&r, "X\r\nBad", "v"), -1);
    assert_int_equal(sb_http_add_header(&r, "X:Bad", "v"), -1);
    assert_int_equal(sb_http_add_header(&r, "", "v"), -1);
    assert_true(headers_are(&r, "X-One: 1\r\nX-Empty: \r\n"));
    sb_http_response_free(&r);
}

static void test_set_cookie(void **state)
{
    (void)state;
    sb_http_response r;
    sb_http_response_init(&r);
    assert_int_equal(sb_http_set_cookie(&r, "sid", "abc", NULL), 0);
    assert_true(headers_are(&r, "Set-Cookie: sid=abc; Path=/; SameSite=Lax; HttpOnly\r\n"));
    sb_buf_reset(&r.headers);

    sb_cookie_opts o = sb_cookie_defaults();
    o.max_age_s = 0; /* delete */
    o.path = "/api";
    o.same_site = "None"; /* implies Secure */
    o.http_only = false;
    assert_int_equal(sb_http_set_cookie(&r, "sid", "", &o), 0);
    assert_true(
        headers_are(&r, "Set-Cookie: sid=; Path=/api; Max-Age=0; SameSite=None; Secure\r\n"));
    sb_buf_reset(&r.headers);
    o = sb_cookie_defaults();
    o.max_age_s = 3600;
    o.same_site = "Strict";
    o.secure = true;
    assert_int_equal(sb_http_set_cookie(&r, "t", "v!#$%&'()*+-./:<=>?@[]^_`{|}~", &o), 0);
    assert_true(headers_are(&r, "Set-Cookie: t=v!#$%&'()*+-./:<=>?@[]^_`{|}~; Path=/; "
                                "Max-Age=3600; SameSite=Strict; HttpOnly; Secure\r\n"));
    sb_buf_reset(&r.headers);

    /* refused: bad names, bad values, bad options; nothing added */
    const char *bad_names[] = {"",    "a b",   "a=b", "a;b", "a,b",
                               "a\"", "a\r\n", "(a)", "a/b", "\x7f"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_int_equal(sb_http_set_cookie(&r, bad_names[i], "v", NULL), -1);
    const char *bad_values[] = {"a b",  "a;b",       "a,b",  "\"q\"",
                                "a\\b", "a\r\nX: y", "\x01", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        assert_int_equal(sb_http_set_cookie(&r, "n", bad_values[i], NULL), -1);
    o = sb_cookie_defaults();
    o.same_site = "lax";
    assert_int_equal(sb_http_set_cookie(&r, "n", "v", &o), -1);
    o = sb_cookie_defaults();
    o.path = "/a; Domain=evil";
    assert_int_equal(sb_http_set_cookie(&r, "n", "v", &o), -1);
    o.path = "/a\r\nX: y";
    assert_int_equal(sb_http_set_cookie(&r, "n", "v", &o), -1);
    assert_int_equal(r.headers.len, 0);

    /* too long for one header line: refused, nothing written past the line */
    char big[3000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sb_http_set_cookie(&r, "n", big, NULL), -1);
    o = sb_cookie_defaults();
    o.path = big + 2000; /* fits alone, not with the rest */
    big[1000] = '\0';
    assert_int_equal(sb_http_set_cookie(&r, "n", big, &o), -1);
    /* the name, value and path fit; Max-Age or SameSite would not */
    for (size_t len = 990; len < 1024; len++) {
        memset(big, 'v', sizeof big - 1);
        big[len] = '\0';
        o = sb_cookie_defaults();
        o.max_age_s = 2000000000;
        assert_int_equal(sb_http_set_cookie(&r, "n", big, &o), -1);
    }
    assert_int_equal(r.headers.len, 0);
    /* the longest that fits is accepted whole */
    memset(big, 'v', sizeof big - 1);
    big[1023 - strlen("n=; Path=/; SameSite=Lax; HttpOnly")] = '\0';
    assert_int_equal(sb_http_set_cookie(&r, "n", big, NULL), 0);
    assert_int_equal(r.headers.len, strlen("Set-Cookie: \r\n") + 1023);
    sb_http_response_free(&r);
}

static void test_status_text(void **state)
{
    (void)state;
    assert_string_equal(sb_http_status_text(200), "OK");
    assert_string_equal(sb_http_status_text(405), "Method Not Allowed");
    assert_string_equal(sb_http_status_text(411), "Length Required");
    assert_string_equal(sb_http_status_text(413), "Payload Too Large");
    assert_string_equal(sb_http_status_text(415), "Unsupported Media Type");
    assert_string_equal(sb_http_status_text(418), "Client Error");
    assert_string_equal(sb_http_status_text(599), "Server Error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_match),         cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_template_errors),    cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_headers_and_bearer), cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_set_cookie),         cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
