/*
 * web.c: the realtime test client page and the socket.io-client bundle, the
 * therapy web client's page, script and style sheet, and the case dashboard's
 * pages, scripts and style sheet (web.h), answered
 * from the bytes embedded at build time (web_embed.h, written by
 * cmake/embed.lua into the build directory).
 *
 * Each file's ETag is the first 16 hex digits of its SHA-256, computed once
 * when the routes are added: it changes exactly when a rebuild embeds other
 * bytes. Cache-Control: no-cache lets a browser keep a copy but ask first,
 * so a new binary's page is seen at once and an unchanged one costs a 304.
 * (The transport sends its own Cache-Control: no-store as well, on every
 * answer; a browser obeys the stricter one and stores nothing, so until a
 * route may replace that default, browsers fetch these files each time and
 * only a client that asks with If-None-Match gets the 304.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ctx.h"
#include "sha256.h"
#include "token.h"
#include "web.h"
#include "web_embed.h"

#define ETAG_HEX 16

typedef struct web_file {
    const char *path;
    const char *content_type;
    const unsigned char *data;
    const size_t *len;
    const char *csp;         /* an HTML page: its Content-Security-Policy (+ Referrer-Policy) */
    char etag[ETAG_HEX + 3]; /* "hex", quotes included */
} web_file;

/* The realtime page runs its own inline script and style, loads the bundle
 * from this server and talks only to it: nothing else may load, and a pasted
 * token cannot be sent anywhere else by injected markup. */
#define REALTIME_PAGE_CSP                                                                          \
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "           \
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "              \
    "frame-ancestors 'none'"

/* The therapy page has no inline script or style at all (app.js and
 * style.css come from this server), so injected markup can neither run a
 * script nor restyle the page, and the page talks only to this server.
 * img-src data: is for the empty favicon (no request for /favicon.ico). */
#define THERAPY_PAGE_CSP                                                                           \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The dashboard page is the therapy page's policy, plus frames: its IFRAME
 * components show whatever page an operator names (http: or https:; app.js
 * refuses other schemes too). connect-src 'self' covers the page's own
 * WebSocket (ws: and wss: on this host match 'self' in CSP Level 3). */
#define DASHBOARD_PAGE_CSP                                                                         \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src data:; frame-src 'self' http: https:; base-uri 'none'; form-action 'none'; "          \
    "frame-ancestors 'none'"

/* The chat page and the button/FAQ page live in the dashboard's iframes:
 * framed by this server's pages only, otherwise the therapy page's policy. */
#define DASHBOARD_FRAMED_CSP                                                                       \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

#define HTML "text/html; charset=utf-8"
#define JS "application/javascript; charset=utf-8"
#define CSS "text/css; charset=utf-8"

static web_file files[] = {
    {.path = WEB_TEST_CLIENT_PATH,
     .content_type = "text/html; charset=utf-8",
     .data = web_test_client_html,
     .len = &web_test_client_html_len,
     .csp = REALTIME_PAGE_CSP},
    {.path = WEB_SIO_BUNDLE_PATH,
     .content_type = "application/javascript",
     .data = web_sio_bundle,
     .len = &web_sio_bundle_len},
    {.path = WEB_THERAPY_PAGE_PATH,
     .content_type = "text/html; charset=utf-8",
     .data = web_therapy_html,
     .len = &web_therapy_html_len,
     .csp = THERAPY_PAGE_CSP},
    {.path = WEB_THERAPY_APP_PATH,
     .content_type = "application/javascript; charset=utf-8",
     .data = web_therapy_js,
     .len = &web_therapy_js_len},
    {.path = WEB_THERAPY_STYLE_PATH,
     .content_type = "text/css; charset=utf-8",
     .data = web_therapy_css,
     .len = &web_therapy_css_len},
    {.path = WEB_DASHBOARD_PAGE_PATH,
     .content_type = HTML,
     .data = web_dashboard_html,
     .len = &web_dashboard_html_len,
     .csp = DASHBOARD_PAGE_CSP},
    {.path = WEB_DASHBOARD_APP_PATH,
     .content_type = JS,
     .data = web_dashboard_js,
     .len = &web_dashboard_js_len},
    {.path = WEB_DASHBOARD_STYLE_PATH,
     .content_type = CSS,
     .data = web_dashboard_css,
     .len = &web_dashboard_css_len},
    {.path = WEB_DASHBOARD_CHAT_JS_PATH,
     .content_type = JS,
     .data = web_dashboard_chat_js,
     .len = &web_dashboard_chat_js_len},
    {.path = WEB_DASHBOARD_VIEW_JS_PATH,
     .content_type = JS,
     .data = web_dashboard_view_js,
     .len = &web_dashboard_view_js_len},
    {.path = WEB_DASHBOARD_CHAT_PATH,
     .content_type = HTML,
     .data = web_dashboard_chat_html,
     .len = &web_dashboard_chat_html_len,
     .csp = DASHBOARD_FRAMED_CSP},
    {.path = WEB_DASHBOARD_BUTTON_VIEW_PATH,
     .content_type = HTML,
     .data = web_dashboard_view_html,
     .len = &web_dashboard_view_html_len,
     .csp = DASHBOARD_FRAMED_CSP},
    {.path = WEB_DASHBOARD_FAQ_VIEW_PATH,
     .content_type = HTML,
     .data = web_dashboard_view_html,
     .len = &web_dashboard_view_html_len,
     .csp = DASHBOARD_FRAMED_CSP},
};

/* A bare directory path and the page it is redirected to (its relative URLs
 * resolve there). */
typedef struct web_redirect {
    const char *path;
    const char *location;
} web_redirect;

static web_redirect redirects[] = {
    {WEB_THERAPY_BARE_PATH, WEB_THERAPY_PAGE_PATH},
    {WEB_DASHBOARD_BARE_PATH, WEB_DASHBOARD_PAGE_PATH},
};

static void compute_etag(web_file *f)
{
    uint8_t digest[SB_SHA256_LEN];
    sb_sha256(f->data, *f->len, digest);
    f->etag[0] = '"';
    sb_hex(digest, ETAG_HEX / 2, f->etag + 1);
    f->etag[ETAG_HEX + 1] = '"';
    f->etag[ETAG_HEX + 2] = '\0';
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Does an If-None-Match value name `etag` (a quoted entity tag)? "*", or a
 * comma-separated list compared weakly (W/ ignored), as RFC 9110 13.1.2
 * asks of a GET. */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = inm;
    for (;;) {
        while (is_ows(*p) || *p == ',')
            p++;
        if (!*p)
            return false;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && is_ows(end[-1]))
            end--;
        size_t n = (size_t)(end - start);
        if (n == 1 && *start == '*')
            return true;
        if (n >= 2 && start[0] == 'W' && start[1] == '/') {
            start += 2;
            n -= 2;
        }
        if (n == elen && memcmp(start, etag, n) == 0)
            return true;
    }
}

static int serve_file(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    const web_file *f = ctx->app;
    resp->content_type = f->content_type;
    if (sb_http_add_header(resp, "ETag", f->etag) != 0 ||
        sb_http_add_header(resp, "Cache-Control", "no-cache") != 0 ||
        sb_http_add_header(resp, "X-Content-Type-Options", "nosniff") != 0)
        return SB_HTTP_ANSWERED; /* out of memory: the transport answers 503 */
    if (f->csp && (sb_http_add_header(resp, "Content-Security-Policy", f->csp) != 0 ||
                   sb_http_add_header(resp, "Referrer-Policy", "no-referrer") != 0))
        return SB_HTTP_ANSWERED;
    const char *inm = sb_http_header(req, "if-none-match");
    if (inm && etag_matches(inm, f->etag)) {
        resp->status = 304;
        return SB_HTTP_ANSWERED;
    }
    sb_buf_put(&resp->body, f->data, *f->len);
    return SB_HTTP_ANSWERED;
}

/* GET /therapy, GET /dashboard: 308 to the page (web_redirect). */
static int redirect_bare(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)req;
    const web_redirect *r = ctx->app;
    resp->status = 308;
    resp->content_type = "text/plain; charset=utf-8";
    if (sb_http_add_header(resp, "Location", r->location) != 0)
        return SB_HTTP_ANSWERED;
    SB_BUF_PUT_LIT(&resp->body, "See ");
    sb_buf_put(&resp->body, r->location, strlen(r->location));
    SB_BUF_PUT_LIT(&resp->body, "\n");
    return SB_HTTP_ANSWERED;
}

int web_add_routes(sb_rt *rt, char *err, size_t err_size)
{
    for (size_t i = 0; i < sizeof redirects / sizeof redirects[0]; i++) {
        sb_http_handler bare = {.method = "GET",
                                .path = redirects[i].path,
                                .channel = "web",
                                .handle = redirect_bare,
                                .immediate = true, /* no row read or written */
                                .app = &redirects[i]};
        if (sb_rt_add_http(rt, &bare, err, err_size) != 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        web_file *f = &files[i];
        compute_etag(f);
        sb_http_handler h = {.method = "GET",
                             .path = f->path,
                             .channel = "web",
                             .handle = serve_file,
                             .immediate = true, /* files compiled in */
                             .app = f};
        if (sb_rt_add_http(rt, &h, err, err_size) != 0)
            return -1;
    }
    return 0;
}
