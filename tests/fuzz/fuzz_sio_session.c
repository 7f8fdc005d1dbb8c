/*
 * fuzz_sio_session.c: Engine.IO v4 sessions (runtime/eio.c) and Socket.IO v5
 * sockets (runtime/sio.c) on hostile input, through the routes they register
 * on the runtime, with no network. fuzz_sio reads the same inputs with the
 * packet parser alone (runtime/sio_packet.c); this target runs everything
 * around it: polling and WebSocket transports, the upgrade, namespaces,
 * binary attachments, acks, server-side disconnects, deferred CONNECTs, the
 * runtime's outbox and end of turn.
 *
 * How the parsers are reached. eio.c and sio.c register HTTP and WebSocket
 * routes on an sb_rt, which binds them to the transport (sb_server_add_http,
 * sb_server_add_ws). The transport is the one part that needs a socket: lws
 * calls server.c, which calls the routes. This harness takes lws' place:
 * server_int.h gives it the server's route arrays and sb_conn, and it calls
 * the registered sb_http_route / sb_ws_route callbacks the way server.c and
 * server_http.c do (sb_http_on_request + dispatch, ws_established,
 * conn_receive, conn_writeable, ws_closed, sb_http_on_closed), with the
 * same checks in front (body limits, on_body, UTF-8 of text frames, the
 * message size). Everything from the route callbacks on is the real code:
 * rt.c (units, outbox, end of turn, timers), eio.c, sio.c, the store.
 * Connections have no lws object (wsi NULL); the few lws calls the
 * transport makes on them (ask for WRITEABLE, timeouts, flow control, a
 * header lookup, the write of a batch of frames) are redirected by the
 * linker (--wrap, CMakeLists.txt) to stand-ins here: the write is the
 * client reading, the rest do nothing. The loop is turned by hand (pump()):
 * the event base without blocking, for the end of turn, the transport's
 * flush and 0 ms timers, and sb_rt_flush.
 *
 * Each input is played three ways, as a client would send it:
 *   A. long polling: a handshake, a poll that waits, the whole input as one
 *      POST body, another poll;
 *   B. a WebSocket opened directly: the input split on 0x1e (the polling
 *      separator), one frame per packet; "b<base64>" is a binary frame of
 *      the decoded bytes (the raw bytes when it is not base64);
 *   C. when a packet is exactly "2probe": polling with what comes before it
 *      POSTed, then a WebSocket probe of that session carrying the rest
 *      (the upgrade: "2probe", "5", then packets), with a poll waiting
 *      meanwhile when the input's length is even.
 * The namespaces "/" and "/custom" echo like handlers/conformance.c (an
 * "auth" event on connect, "message" -> "message-back", "message-with-ack"
 * acknowledged); "/refuse" refuses every CONNECT; "/later" and
 * "/later-refuse" answer a CONNECT later (on_connect returns 1; a 0 ms timer
 * calls sb_sio_accept / sb_sio_refuse). Events "disconnect-me" / "close-me"
 * make the handler call sb_sio_disconnect (of the namespace / and of the
 * session) from inside on_event, as handlers/realtime.c does on rate-limit
 * strikes; "disconnect-later" / "close-later" do it from a timer, as it does
 * on token expiry.
 *
 * The server, store, runtime and namespaces are made once (the server's
 * metrics register once per process); each play ends its session, so that
 * one input does not see another's.
 *
 * Checked, beyond ASan/UBSan: every text packet the server sends has a
 * packet type first and is valid UTF-8 when what the client sent was
 * (SB_FUZZ_SIO_STRICT_UTF8=1: always, see tests/fuzz/repro/sio_session); every
 * poll's answer is a well-formed payload; at the end of each play every
 * socket has been disconnected, every connection and request is gone, and
 * the session's sid is unknown. SB_FUZZ_SIO_TRACE=1 prints the exchange.
 */
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "ctx.h"
#include "eio.h"
#include "log.h"
#include "outbox.h"
#include "rt.h"
#include "server_int.h"
#include "sio.h"
#include "store.h"

#define PATH "/socket.io/"
#define MAX_PAYLOAD 4096 /* small, so that both 413 paths are reached */
#define MAX_QUEUE 5120   /* small, so that echoes can fill a session's or a connection's queue */
#define LONG_MS 3600000  /* heartbeat and timeouts: never within an input */
#define SID_MAX 64       /* an Engine.IO sid, with room */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sio_session: %s:%d: check failed: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* lws, for connections without one ------------------------------------------- */

/* The linker sends the transport's calls of these here (-Wl,--wrap=...).
 * A connection of this harness has wsi NULL: nothing to ask of lws. */
int __real_lws_callback_on_writable(struct lws *wsi);
int __wrap_lws_callback_on_writable(struct lws *wsi);
void __real_lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs);
void __wrap_lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs);
int __real_lws_rx_flow_control(struct lws *wsi, int enable);
int __wrap_lws_rx_flow_control(struct lws *wsi, int enable);
int __real_lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h);
int __wrap_lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h);

int __real_lws_partial_buffered(struct lws *wsi);
int __wrap_lws_partial_buffered(struct lws *wsi);
int __real_lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp);
int __wrap_lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp);

static void check_frames(const unsigned char *p, size_t len);

int __wrap_lws_callback_on_writable(struct lws *wsi)
{
    return wsi ? __real_lws_callback_on_writable(wsi) : 0;
}

void __wrap_lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
    if (wsi)
        __real_lws_set_timeout(wsi, reason, secs);
}

int __wrap_lws_rx_flow_control(struct lws *wsi, int enable)
{
    return wsi ? __real_lws_rx_flow_control(wsi, enable) : 0;
}

int __wrap_lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h)
{
    return wsi ? __real_lws_hdr_copy(wsi, dest, len, h) : -1; /* no such header */
}

int __wrap_lws_partial_buffered(struct lws *wsi)
{
    return wsi ? __real_lws_partial_buffered(wsi) : 0;
}

/* The transport's batch of whole frames (LWS_WRITE_RAW): the client reads
 * them all. */
int __wrap_lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp)
{
    if (wsi)
        return __real_lws_write(wsi, buf, len, wp);
    check_frames(buf, len);
    return (int)len;
}

/* The protocol: namespaces that echo --------------------------------------- */

static int sockets_open; /* CONNECTs accepted minus disconnects: 0 after each play */
static bool trace;       /* SB_FUZZ_SIO_TRACE=1: what the server answers, on stderr */
/* The server's text must be valid UTF-8 whatever the client sent (a POST
 * body that is not UTF-8 ends the session; a namespace with a control byte
 * is refused). SB_FUZZ_SIO_STRICT_UTF8=0: only when what the client sent
 * was (the check before the fix of nsp_raw_bytes_reflected, now a seed). */
static bool strict_utf8, check_utf8;

static void trace_bytes(const char *what, const char *p, size_t n)
{
    if (!trace)
        return;
    fprintf(stderr, "  %s ", what);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f)
            fputc(ch, stderr);
        else
            fprintf(stderr, "\\x%02x", ch);
    }
    fprintf(stderr, "%s\n", n > 200 ? "..." : "");
}

typedef struct socket_state {
    size_t len;
    char auth[];
} socket_state;

static sb_sio *the_sio;
static sb_rt *the_rt;

/* What a timer does to a socket later, found again by its session and
 * namespace (sb_sio_find). In a static table: a timer cancelled with its
 * session (sb_rt_endpoint_remove) never frees its argument. Emptied after
 * each play. */
typedef enum { L_DISCONNECT, L_CLOSE, L_ACCEPT, L_REFUSE } later_kind;
typedef struct later {
    uint64_t session;
    const char *nsp;
    later_kind what;
} later;
#define MAX_LATER 64
static later laters[MAX_LATER];
static size_t n_laters;

static void later_due(struct sb_ctx *ctx, void *arg)
{
    later *l = arg;
    sb_sio_socket *so = sb_sio_find(the_sio, l->session, l->nsp);
    if (!so)
        return;
    switch (l->what) {
    case L_DISCONNECT:
    case L_CLOSE:
        sb_sio_disconnect(ctx, so, l->what == L_CLOSE);
        break;
    case L_ACCEPT:
        sb_sio_accept(ctx, so, "");
        break;
    case L_REFUSE:
        sb_sio_refuse(ctx, so, "refused later", "{\"later\":true}");
        break;
    }
}

static void do_later(sb_sio_socket *so, later_kind what)
{
    if (n_laters == MAX_LATER)
        return;
    later *l = &laters[n_laters++];
    *l = (later){sb_sio_session(so), sb_sio_namespace_name(so), what};
    sb_rt_timer(the_rt, l->session, 0, false, later_due, l);
}

static int ns_connect(struct sb_ctx *ctx, sb_sio_socket *so, sb_str auth, sb_sio_reply *reply)
{
    if (!auth.len)
        auth = (sb_str){"{}", 2};
    socket_state *st = malloc(sizeof *st + auth.len);
    if (!st)
        return -1;
    st->len = auth.len;
    memcpy(st->auth, auth.ptr, auth.len);
    ctx->session = st;
    /* what a protocol may ask of its socket */
    const char *t = sb_sio_transport(so);
    CHECK(strcmp(t, "polling") == 0 || strcmp(t, "websocket") == 0);
    sb_query q;
    sb_sio_handshake_query(so, &q);
    CHECK(strcmp(sb_sio_query(so, "EIO"), "4") == 0 && q.count >= 2);
    CHECK(strcmp(sb_sio_peer(so), "127.0.0.1") == 0 && strlen(sb_sio_id(so)) > 0);
    const char *nsp = sb_sio_namespace_name(so);
    sockets_open++; /* on_disconnect follows, whatever the answer to a later CONNECT */
    if (strcmp(nsp, "/custom") == 0)
        snprintf(reply->pid, sizeof reply->pid, "pid-%s", sb_sio_id(so));
    if (strncmp(nsp, "/later", 6) == 0) {
        do_later(so, strcmp(nsp, "/later") == 0 ? L_ACCEPT : L_REFUSE);
        return 1;
    }
    return 0;
}

static int ns_refuse(struct sb_ctx *ctx, sb_sio_socket *so, sb_str auth, sb_sio_reply *reply)
{
    (void)ctx;
    (void)so;
    (void)auth;
    snprintf(reply->message, sizeof reply->message, "not here");
    snprintf(reply->data, sizeof reply->data, "{\"code\":1}");
    return -1;
}

static void ns_ready(struct sb_ctx *ctx, sb_sio_socket *so)
{
    socket_state *st = ctx->session;
    CHECK(st && st == sb_sio_user(so));
    sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
    sb_sio_event_begin(b, sb_sio_namespace_name(so), "auth", 0);
    sb_buf_putc(b, ',');
    sb_buf_put(b, st->auth, st->len);
    sb_sio_event_end(b);
}

static void echo_attachments(struct sb_ctx *ctx, const sb_sio_event *ev)
{
    for (size_t i = 0; i < ev->n_attachments; i++) {
        sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
        sb_buf_put(b, ev->attachments[i].ptr, ev->attachments[i].len);
        sb_outbox_binary(ctx->out);
    }
}

static bool is(sb_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static void ns_event(struct sb_ctx *ctx, sb_sio_socket *so, const sb_sio_event *ev)
{
    const char *nsp = sb_sio_namespace_name(so);
    int n = (int)ev->n_attachments;
    if (is(ev->name, "message")) {
        sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
        sb_sio_event_begin(b, nsp, "message-back", n);
        if (ev->args_raw.len) {
            sb_buf_putc(b, ',');
            sb_buf_put(b, ev->args_raw.ptr, ev->args_raw.len);
        }
        sb_sio_event_end(b);
        echo_attachments(ctx, ev);
    } else if (is(ev->name, "message-with-ack") && ev->ack >= 0) {
        sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
        sb_sio_ack_begin(b, nsp, ev->ack, n);
        sb_buf_put(b, ev->args_raw.ptr, ev->args_raw.len);
        sb_sio_ack_end(b);
        echo_attachments(ctx, ev);
    } else if (is(ev->name, "disconnect-me") || is(ev->name, "close-me")) {
        /* from inside on_event, as handlers/realtime.c's rate limit does: the
         * socket is gone when this returns */
        sb_sio_disconnect(ctx, so, is(ev->name, "close-me"));
    } else if (is(ev->name, "disconnect-later") || is(ev->name, "close-later")) {
        do_later(so, is(ev->name, "close-later") ? L_CLOSE : L_DISCONNECT);
    }
}

static void ns_disconnect(struct sb_ctx *ctx, sb_sio_socket *so, const char *reason)
{
    (void)so;
    (void)reason;
    free(ctx->session);
    ctx->session = NULL;
    sockets_open--;
}

static const sb_sio_namespace namespaces[] = {
    {"/", ns_connect, ns_ready, ns_event, ns_disconnect},
    {"/custom", ns_connect, ns_ready, ns_event, ns_disconnect},
    {"/refuse", ns_refuse, NULL, NULL, NULL},
    {"/later", ns_connect, ns_ready, ns_event, ns_disconnect},
    {"/later-refuse", ns_connect, ns_ready, ns_event, ns_disconnect},
};

/* The world, made once ----------------------------------------------------- */

static struct event_base *base;
static sb_server *srv;
static const sb_http_route *route_get, *route_post;
static const sb_ws_route *route_ws;

static const sb_http_route *http_route(const char *method)
{
    for (size_t i = 0; i < srv->n_http; i++)
        if (strcmp(srv->http_routes[i]->method, method) == 0 &&
            strcmp(srv->http_routes[i]->path, PATH) == 0)
            return srv->http_routes[i];
    return NULL;
}

static void setup(void)
{
    sb_log_set_level(SB_LOG_ERROR);
    const char *env = getenv("SB_FUZZ_SIO_TRACE");
    trace = env && strcmp(env, "1") == 0;
    env = getenv("SB_FUZZ_SIO_STRICT_UTF8");
    strict_utf8 = !(env && strcmp(env, "0") == 0); /* the default since the fix */
    sb_config cfg;
    sb_config_defaults(&cfg);
    /* the per-connection limits go by the clock: off, for reproducible runs */
    cfg.max_message_rate = 0;
    cfg.max_byte_rate = 0;
    cfg.max_invalid = 0;
    cfg.commit_window_us = 0;
    cfg.cors_origins[0] = '\0';
    cfg.max_queue_bytes = MAX_QUEUE;
    char err[256];
    base = event_base_new();
    CHECK(base && event_base_priority_init(base, 3) == 0);
    srv = sb_server_new(base, &cfg);
    sb_store *store = sb_store_open(":memory:", false, err, sizeof err);
    CHECK(srv && store);
    the_rt = sb_rt_new(base, srv, store, &cfg);
    CHECK(the_rt);
    sb_sio_config sc = {
        .eio = {.path = "/socket.io",
                .channel = "fuzz",
                .ping_interval_ms = LONG_MS,
                .ping_timeout_ms = LONG_MS,
                .upgrade_timeout_ms = LONG_MS,
                .max_payload = MAX_PAYLOAD,
                .max_queue = MAX_QUEUE},
        .namespaces = namespaces,
        .n_namespaces = sizeof namespaces / sizeof *namespaces,
        .connect_timeout_ms = LONG_MS,
    };
    the_sio = sb_sio_new(the_rt, &sc, err, sizeof err);
    CHECK(the_sio);
    route_get = http_route("GET");
    route_post = http_route("POST");
    CHECK(route_get && route_post && srv->n_ws == 2);
    for (size_t i = 0; i < srv->n_ws; i++)
        if (strcmp(srv->ws_routes[i]->path, PATH) == 0)
            route_ws = srv->ws_routes[i];
    CHECK(route_ws);
}

/* Checks of what the server sends -------------------------------------------- */

/* RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF (what lws'
 * LWS_SERVER_OPTION_VALIDATE_UTF8 enforces on text frames). */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (n - i - 1 < need || p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        i += need + 1;
    }
    return true;
}

/* A text packet from the server: a known type, valid UTF-8. */
static void check_text_packet(const char *p, size_t n)
{
    CHECK(n > 0 && p[0] >= '0' && p[0] <= '6');
    if (p[0] == '4') /* a Socket.IO packet */
        CHECK(n > 1 && p[1] >= '0' && p[1] <= '6');
    if (check_utf8)
        CHECK(utf8_valid((const unsigned char *)p, n));
}

/* What the transport writes: whole server frames (FIN, text or binary,
 * unmasked; server.c's frame_header), one after the other. */
static void check_frames(const unsigned char *p, size_t len)
{
    size_t at = 0;
    while (at < len) {
        CHECK(len - at >= 2 && (p[at] == 0x81 || p[at] == 0x82) && !(p[at + 1] & 0x80));
        bool text = p[at] == 0x81;
        size_t n = p[at + 1], h = 2;
        if (n == 126) {
            CHECK(len - at >= 4);
            n = (size_t)p[at + 2] << 8 | p[at + 3];
            h = 4;
        } else if (n == 127) {
            CHECK(len - at >= 10);
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | p[at + 2 + i];
            h = 10;
        }
        CHECK(len - at - h >= n);
        trace_bytes(text ? "<- ws text" : "<- ws binary", (const char *)p + at + h, n);
        if (text)
            check_text_packet((const char *)p + at + h, n);
        at += h + n;
    }
}

/* A poll's answer: packets joined with 0x1e, binary ones "b" + base64. */
static void check_payload(const char *p, size_t n)
{
    const char *end = p + n;
    while (p <= end) {
        const char *sep = memchr(p, '\x1e', (size_t)(end - p));
        const char *stop = sep ? sep : end;
        size_t len = (size_t)(stop - p);
        if (len && p[0] == 'b') {
            unsigned char *bin = malloc(len);
            CHECK(bin && sb_b64_decode(p + 1, len - 1, bin) >= 0);
            free(bin);
        } else {
            check_text_packet(p, len);
        }
        if (!sep)
            break;
        p = sep + 1;
    }
}

/* HTTP, as server_http.c hands it to a route ---------------------------------- */

typedef enum { R_HANDSHAKE, R_POLL, R_POST } req_kind;

typedef struct request {
    uint64_t id;
    req_kind kind;
    bool live;     /* sent, neither answered nor aborted */
    bool answered; /* status and body are set */
    int status;
    char *body;
    size_t len;
} request;

#define MAX_REQUESTS 32
static request reqs[MAX_REQUESTS];
static size_t n_reqs;

static void reqs_reset(void)
{
    for (size_t i = 0; i < n_reqs; i++)
        free(reqs[i].body);
    memset(reqs, 0, sizeof reqs);
    n_reqs = 0;
}

/* The answer, written: what conn_writeable would send, then finish(). */
static void take_answer(request *r, sb_conn *c)
{
    const char *text = (const char *)c->reply + LWS_PRE;
    size_t n = c->reply_len;
    CHECK(n > 12 && memcmp(text, "HTTP/1.1 ", 9) == 0);
    r->status = atoi(text + 9);
    const char *body = NULL;
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(text + i, "\r\n\r\n", 4) == 0) {
            body = text + i + 4;
            break;
        }
    }
    CHECK(body);
    r->len = (size_t)(text + n - body);
    r->body = malloc(r->len + 1);
    CHECK(r->body);
    memcpy(r->body, body, r->len);
    r->body[r->len] = '\0';
    r->answered = true;
    r->live = false;
    sb_conn_free(c);
    if (trace) {
        char what[32];
        snprintf(what, sizeof what, "<- HTTP %d", r->status);
        trace_bytes(what, r->body, r->len);
    }
    if (r->kind == R_POLL && r->status == 200)
        check_payload(r->body, r->len);
}

static void collect_answers(void)
{
    for (size_t i = 0; i < n_reqs; i++) {
        request *r = &reqs[i];
        if (!r->live)
            continue;
        sb_conn *c = sb_conn_find(srv, r->id);
        CHECK(c && c->kind == CONN_HTTP);
        if (c->answered)
            take_answer(r, c);
    }
}

/* A poll of the client's waits for its answer: a client sends no other
 * then (two at once end the session). */
static bool poll_waiting(void)
{
    for (size_t i = 0; i < n_reqs; i++)
        if (reqs[i].live && reqs[i].kind == R_POLL)
            return true;
    return false;
}

/* The client went away (sb_http_on_closed). */
static void abort_request(request *r)
{
    if (!r->live)
        return;
    r->live = false;
    sb_conn *c = sb_conn_find(srv, r->id);
    CHECK(c);
    const sb_http_route *route = c->http_route;
    bool pending = !c->answered && route;
    sb_conn_free(c);
    if (pending && route->on_abort)
        route->on_abort(r->id, route->arg);
}

/* sb_http_on_request and dispatch for GET/POST PATH?EIO=4&transport=polling[&sid=]. */
static request *http(req_kind kind, const char *sid, const char *body, size_t len)
{
    CHECK(n_reqs < MAX_REQUESTS);
    request *r = &reqs[n_reqs++];
    r->kind = kind;
    const sb_http_route *route = kind == R_POST ? route_post : route_get;
    const char *method = kind == R_POST ? "POST" : "GET";
    sb_conn *c = sb_conn_new(srv, NULL, NULL, CONN_HTTP);
    CHECK(c);
    c->http_route = route;
    r->id = c->id;
    char k0[] = "EIO", v0[] = "4", k1[] = "transport", v1[] = "polling", k2[] = "sid";
    char v2[SID_MAX] = "";
    if (sid)
        snprintf(v2, sizeof v2, "%s", sid);
    sb_query query = {.count = sid ? 3 : 2};
    query.item[0].key = k0;
    query.item[0].value = v0;
    query.item[1].key = k1;
    query.item[1].value = v1;
    query.item[2].key = k2;
    query.item[2].value = v2;
    sb_query params = {.count = 0};
    if (kind == R_POST) {
        size_t max = route->max_body ? route->max_body : srv->cfg.max_http_body;
        if (len > max) { /* the transport's 413, the route never sees it */
            sb_conn_free(c);
            r->answered = true;
            r->status = 413;
            return r;
        }
        if (len > 0 && route->on_body) {
            sb_http_request head = {
                .id = c->id, .method = method, .path = PATH, .query = &query, .peer = "127.0.0.1"};
            sb_http_response refusal;
            sb_http_response_init(&refusal);
            int rc = route->on_body(&head, route->arg, &refusal);
            if (rc != 0) {
                r->answered = true;
                r->status = refusal.status >= 400 ? refusal.status : 400;
                sb_http_response_free(&refusal);
                sb_conn_free(c); /* answered there, and the connection closed */
                return r;
            }
            sb_http_response_free(&refusal);
        }
    }
    /* the body as the transport keeps it: exactly len bytes and a NUL */
    char *copy = malloc(len + 1);
    CHECK(copy);
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    sb_header headers[] = {{"host", "localhost"}, {"content-type", "text/plain;charset=UTF-8"}};
    sb_http_request req = {.id = c->id,
                           .method = method,
                           .path = PATH,
                           .params = &params,
                           .query = &query,
                           .headers = headers,
                           .n_headers = kind == R_POST ? 2 : 1,
                           .body = copy,
                           .body_len = len,
                           .peer = "127.0.0.1"};
    r->live = true;
    if (trace)
        trace_bytes(kind == R_POST ? "-> POST" : "-> GET", copy, len);
    route->on_request(c, &req, route->arg);
    free(copy);
    return r;
}

/* WebSocket, as server.c hands it to a route -------------------------------- */

#define MAX_WS 4
static uint64_t ws_ids[MAX_WS];

/* ws_closed: the route hears it, the connection is gone. */
static void ws_gone(uint64_t id)
{
    sb_conn *c = sb_conn_find(srv, id);
    if (!c || c->kind != CONN_WS)
        return;
    if (c->opened && c->route->on_close)
        c->route->on_close(c, c->route->arg);
    sb_conn_free(c);
    for (size_t i = 0; i < MAX_WS; i++)
        if (ws_ids[i] == id)
            ws_ids[i] = 0;
}

/* ws_confirm_upgrade (the route's on_upgrade) and ws_established. */
static uint64_t ws_open(const char *sid)
{
    char k0[] = "EIO", v0[] = "4", k1[] = "transport", v1[] = "websocket", k2[] = "sid";
    char v2[SID_MAX] = "";
    if (sid)
        snprintf(v2, sizeof v2, "%s", sid);
    sb_query query = {.count = sid ? 3 : 2};
    query.item[0].key = k0;
    query.item[0].value = v0;
    query.item[1].key = k1;
    query.item[1].value = v1;
    query.item[2].key = k2;
    query.item[2].value = v2;
    sb_ws_request req = {.path = route_ws->path, .query = &query, .peer = "127.0.0.1"};
    if (route_ws->on_upgrade) {
        sb_http_response refusal;
        sb_http_response_init(&refusal);
        int rc = route_ws->on_upgrade(&req, route_ws->arg, &refusal);
        sb_http_response_free(&refusal);
        if (rc != 0)
            return 0;
    }
    sb_conn *c = sb_conn_new(srv, NULL, route_ws, CONN_WS);
    CHECK(c);
    uint64_t id = c->id;
    for (size_t i = 0; i < MAX_WS; i++) {
        if (!ws_ids[i]) {
            ws_ids[i] = id;
            break;
        }
    }
    c->opened = true;
    if (route_ws->on_open(c, &req, route_ws->arg) != 0 && !c->close_code)
        sb_conn_close(c, SB_CLOSE_POLICY, "refused");
    return id;
}

/* conn_receive, for one whole message: lws' checks, then the route. */
static void ws_send(uint64_t id, const char *data, size_t len, bool binary)
{
    sb_conn *c = sb_conn_find(srv, id);
    if (!c)
        return;
    size_t max = c->route->max_message ? c->route->max_message : srv->cfg.max_message_bytes;
    if ((binary && !c->route->accept_binary) || len > max ||
        (!binary && !utf8_valid((const unsigned char *)data, len))) {
        ws_gone(id); /* 1003, 1009, 1007: lws closes it */
        return;
    }
    char *copy = malloc(len ? len : 1); /* exactly the message: no slack to read into */
    CHECK(copy);
    if (len)
        memcpy(copy, data, len);
    trace_bytes(binary ? "-> ws binary" : "-> ws text", copy, len);
    sb_server_input(srv);
    if (!c->close_code)
        c->route->on_message(c, copy, len, binary, c->route->arg);
    free(copy);
}

/* conn_writeable: the client reads every frame queued; a closing
 * connection is closed once its queue is out. */
static void ws_settle(void)
{
    for (size_t i = 0; i < MAX_WS; i++) {
        uint64_t id = ws_ids[i];
        sb_conn *c = id ? sb_conn_find(srv, id) : NULL;
        if (!c) {
            ws_ids[i] = 0;
            continue;
        }
        while (c->head) {
            sb_out *o = c->head;
            const unsigned char *frame = o->data + FRAME_HEADER_MAX - (o->frame - o->len);
            trace_bytes(frame[0] == 0x81 ? "<- ws text" : "<- ws binary",
                        (const char *)o->data + FRAME_HEADER_MAX, o->len);
            if (frame[0] == 0x81)
                check_text_packet((const char *)o->data + FRAME_HEADER_MAX, o->len);
            else
                CHECK(frame[0] == 0x82);
            c->head = o->next;
            c->queued -= o->len;
            free(o);
        }
        c->tail = NULL;
        CHECK(c->queued == 0);
        if (c->congested) { /* low_water: drained, every paused reader resumes */
            c->congested = false;
            for (sb_conn *p = srv->paused, *next; p; p = next) {
                next = p->paused_next;
                p->paused_next = NULL;
                p->hold &= ~(unsigned)HOLD_CONGESTION;
            }
            srv->paused = NULL;
        }
        if (c->close_code)
            ws_gone(id);
    }
}

/* The loop, by hand: timers due now and the end of turn, then the writes. */
static void pump(void)
{
    for (int i = 0; i < 4; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        sb_rt_flush(the_rt);
        collect_answers();
        ws_settle();
    }
}

/* Plays ----------------------------------------------------------------- */

/* The polling handshake: the session's sid, or false. */
static bool handshake(char sid[SID_MAX])
{
    request *r = http(R_HANDSHAKE, NULL, NULL, 0);
    pump();
    CHECK(r->answered && r->status == 200);
    static const char open[] = "0{\"sid\":\"";
    CHECK(r->len > sizeof open - 1 && memcmp(r->body, open, sizeof open - 1) == 0);
    const char *p = r->body + sizeof open - 1, *q = strchr(p, '"');
    CHECK(q && q > p && (size_t)(q - p) < SID_MAX);
    memcpy(sid, p, (size_t)(q - p));
    sid[q - p] = '\0';
    return true;
}

/* The client leaves: its WebSockets close, a poll that waits is dropped
 * (which ends a polling session); the session must be gone then. */
static void leave(const char *sid)
{
    for (size_t i = 0; i < MAX_WS; i++)
        if (ws_ids[i])
            ws_gone(ws_ids[i]);
    pump();
    for (size_t i = 0; i < n_reqs; i++)
        abort_request(&reqs[i]);
    pump();
    if (sid) {
        for (int i = 0; i < 4; i++) { /* polls until one waits, then drops it */
            request *r = http(R_POLL, sid, NULL, 0);
            pump();
            if (!r->answered) {
                abort_request(r);
                pump();
                break;
            }
            if (r->status != 200)
                break;
        }
        request *r = http(R_POLL, sid, NULL, 0);
        pump();
        CHECK(r->answered && r->status == 400 && strstr(r->body, "\"code\":1,") != NULL);
    }
    CHECK(sockets_open == 0);
    CHECK(srv->n_conns == 0 && srv->n_requests == 0);
    reqs_reset();
    n_laters = 0;
}

/* One packet of the input as a WebSocket frame: "b" + base64 is binary. */
static void ws_packet(uint64_t id, const char *p, size_t len)
{
    if (len && p[0] == 'b') {
        unsigned char *bin = malloc(len);
        CHECK(bin);
        long n = sb_b64_decode(p + 1, len - 1, bin);
        if (n >= 0)
            ws_send(id, (const char *)bin, (size_t)n, true);
        else
            ws_send(id, p + 1, len - 1, true);
        free(bin);
    } else {
        ws_send(id, p, len, false);
    }
    pump();
}

static void ws_packets(uint64_t id, const char *p, const char *end)
{
    while (id && sb_conn_find(srv, id)) {
        const char *sep = memchr(p, '\x1e', (size_t)(end - p));
        const char *stop = sep ? sep : end;
        ws_packet(id, p, (size_t)(stop - p));
        if (!sep)
            break;
        p = sep + 1;
    }
}

static void play_polling(const char *data, size_t size)
{
    check_utf8 = strict_utf8 || utf8_valid((const unsigned char *)data, size);
    char sid[SID_MAX];
    handshake(sid);
    http(R_POLL, sid, NULL, 0); /* waits: what the POST brings answers it */
    pump();
    http(R_POST, sid, data, size);
    pump();
    if (!poll_waiting()) {
        http(R_POLL, sid, NULL, 0);
        pump();
    }
    leave(sid);
}

static void play_websocket(const char *data, size_t size)
{
    check_utf8 = true; /* text frames are valid UTF-8: lws checks */
    uint64_t id = ws_open(NULL);
    CHECK(id);
    pump();
    ws_packets(id, data, data + size);
    leave(NULL);
}

static void play_upgrade(const char *data, size_t size)
{
    const char *end = data + size, *p = data, *probe = NULL;
    while (p <= end) {
        const char *sep = memchr(p, '\x1e', (size_t)(end - p));
        const char *stop = sep ? sep : end;
        if (stop - p == 6 && memcmp(p, "2probe", 6) == 0) {
            probe = p;
            break;
        }
        if (!sep)
            break;
        p = sep + 1;
    }
    if (!probe)
        return;
    check_utf8 = strict_utf8 || utf8_valid((const unsigned char *)data, (size_t)(probe - data));
    char sid[SID_MAX];
    handshake(sid);
    if (probe > data) {
        http(R_POST, sid, data, (size_t)(probe - 1 - data));
        pump();
    }
    /* A poll that waits while the client probes (it is told "6"); with an
     * input of odd length none, and what the POST queued goes out on the
     * WebSocket at the upgrade. */
    if (size % 2 == 0) {
        http(R_POLL, sid, NULL, 0);
        pump();
    }
    uint64_t id = ws_open(sid);
    pump();
    ws_packets(id, probe, end);
    if (!poll_waiting()) {
        http(R_POLL, sid, NULL, 0); /* a poll after the upgrade: 400 */
        pump();
    }
    leave(sid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        setup();
    const char *d = (const char *)data;
    play_polling(d, size);
    play_websocket(d, size);
    play_upgrade(d, size);
    return 0;
}
