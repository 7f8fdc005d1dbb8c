/*
 * eio.c: Engine.IO v4 (eio.h).
 *
 * A session lives in two maps: by its sid (the client's name for it, a
 * random string) and by its endpoint ID (the runtime's). Its transport is a
 * long poll (a held GET, with the packets waiting for it in `queue`) or a
 * WebSocket (packets go straight into the connection's queue). While a
 * WebSocket probes for an upgrade, the session still polls; the probe's
 * "5" moves it, and what waited for a poll goes out on the WebSocket first.
 *
 * Every entry point is a runtime callback (an HTTP request, a WebSocket
 * message or close, a timer), so the layer above is always called with a
 * ctx of the runtime's, re-addressed to the session (upcall()). The one
 * exception is the outbox delivering to the session: its close operation
 * only schedules the end of the session, on a timer, to get a ctx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "clock.h"
#include "ctx.h"
#include "eio.h"
#include "log.h"
#include "map.h"
#include "server.h"
#include "socketio.h" /* generated: the framing's JSON (schema/socketio.lua) */
#include "token.h"
#include "topics.h"

/* A sid is the session's endpoint ID (12 hex digits) and 20 random ones: the
 * ID finds it in the runtime's map (no map of our own), the random part
 * makes it unguessable, and the whole is compared in constant time. With a
 * sid_prefix (the node's name, eio.h) it comes first, then '-': a reverse
 * proxy routes "sid=n2-..." to node n2 (docs/deployment.md). */
#define SID_ID_LEN 12
#define SID_LEN (SID_ID_LEN + 20)
#define SID_PREFIX_MAX 31 /* the open packet's sid: 64 at most (schema/socketio.lua) */
#define SID_MAX (SID_PREFIX_MAX + 1 + SID_LEN)

/* The protocol's error codes (the reference server's), with their texts. */
enum {
    E_TRANSPORT_UNKNOWN = 0,
    E_UNKNOWN_SID = 1,
    E_BAD_HANDSHAKE_METHOD = 2,
    E_BAD_REQUEST = 3,
    E_FORBIDDEN = 4,
    E_UNSUPPORTED_VERSION = 5,
};
static const char *const error_text[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version"};

typedef enum { T_POLLING, T_WEBSOCKET } transport;

typedef struct session {
    const sb_endpoint_ops *ops; /* first: the runtime's endpoint (rt.h) */
    sb_eio *eio;
    uint64_t id; /* the runtime endpoint */
    char sid[SID_MAX + 1];
    transport t;
    uint64_t ws;    /* T_WEBSOCKET: the connection */
    sb_conn *wsc;   /* the same, while it is open (ws_close clears it) */
    uint64_t probe; /* a WebSocket probing for the upgrade */
    uint64_t get;   /* the held GET */
    uint64_t post;  /* the POST whose body is arriving */
    bool probed;    /* the probe answered 3probe: polls get a noop */
    bool ending;    /* scheduled to end (endpoint close) */
    bool timed_out; /* ... for a missed pong */
    bool restart;   /* ... with SB_CLOSE_SERVICE_RESTART */
    bool lingering; /* ended, its last packets waiting for one more poll */
    struct session *linger_next;
    bool flushing; /* a flush of the queue into the held GET is scheduled */
    sb_buf queue;  /* waiting for a poll: records [binary:1][len:4][bytes] */
    /* the heartbeat: two queues of the eio's, in due order (every session
     * pings at the same interval and waits the same time for a pong, so a
     * queue is a timer wheel of one slot: no timer per session) */
    int64_t ping_due, pong_due; /* µs, monotonic */
    struct session *ping_prev, *ping_next, *pong_prev, *pong_next;
    bool in_ping, in_pong; /* queued; in_pong: a ping is unanswered */
    sb_timer *upgrade;
    void *user; /* the layer above's */
} session;

/* What a WebSocket of ours remembers in its ctx->session: the session's ID
 * itself, not a pointer (the session may end before the connection closes)
 * and not an allocation (an idle connection is the most numerous object). */
_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "a session ID fits in a pointer");

static uint64_t bound(const struct sb_ctx *ctx)
{
    return (uint64_t)(uintptr_t)ctx->session;
}

static void bind_to(struct sb_ctx *ctx, uint64_t session_id)
{
    ctx->session = (void *)(uintptr_t)session_id;
}

struct sb_eio {
    sb_rt *rt;
    sb_eio_config cfg;
    char path_slash[128];
    char prefix[SID_PREFIX_MAX + 2]; /* "NODE-", or "" */
    size_t prefix_len;
    sb_map by_get, by_post; /* held GET, POST -> session (by ID, or sid: the runtime's
                             * endpoints) */
    size_t n;
    /* the heartbeat queues (session.h's ping_*, pong_*) and their one timer */
    struct session *ping_head, *ping_tail, *pong_head, *pong_tail;
    uint64_t beat_owner;
    sb_timer *beat;
    struct session *lingering; /* ended polling sessions, until their last poll */
    int64_t beat_due;
    bool freeing; /* sb_eio_free: the server is gone, only the sessions are left */
};

static const sb_endpoint_ops endpoint_ops;

/* Sessions ------------------------------------------------------------------ */

static void ep_close(void *obj, int code, const char *reason);

static session *by_id(const sb_eio *e, uint64_t id)
{
    session *s = id ? sb_rt_endpoint(e->rt, id) : NULL;
    return s && s->ops == &endpoint_ops && s->eio == e ? s : NULL;
}

static session *by_sid(const sb_eio *e, const char *sid)
{
    if (!sid || strlen(sid) != e->prefix_len + SID_LEN ||
        memcmp(sid, e->prefix, e->prefix_len) != 0)
        return NULL;
    sid += e->prefix_len;
    uint64_t id = 0;
    for (int i = 0; i < SID_ID_LEN; i++) {
        char c = sid[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return NULL;
        id = id << 4 | (uint64_t)v;
    }
    session *s = by_id(e, id);
    if (!s || !sb_token_equal(s->sid + e->prefix_len, sid, SID_LEN))
        return NULL;
    /* its pong is overdue and the heartbeat has not run yet: it is over
     * already (a client's request must not win a race with the timer) */
    if (s->in_pong && s->pong_due <= sb_mono_us()) {
        s->timed_out = true;
        ep_close(s, SB_CLOSE_NORMAL, SB_EIO_PING_TIMEOUT);
        return NULL;
    }
    return s;
}

static void queue_put(session *s, const char *data, size_t len, bool binary)
{
    unsigned char head[5] = {binary, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len};
    sb_buf_put(&s->queue, head, sizeof head);
    sb_buf_put(&s->queue, data, len);
}

/* Walk the queue's records: returns the next offset, or 0 at the end. */
static size_t queue_next(const session *s, size_t off, const char **data, size_t *len, bool *binary)
{
    if (off + 5 > s->queue.len)
        return 0;
    const unsigned char *h = (const unsigned char *)s->queue.data + off;
    *binary = h[0];
    *len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
    *data = s->queue.data + off + 5;
    return off + 5 + *len;
}

static session *session_new(sb_eio *e)
{
    session *s = calloc(1, sizeof *s);
    char token[SB_TOKEN_HEX_LEN + 1];
    if (!s || sb_token_new(token) != 0) {
        free(s);
        return NULL;
    }
    s->ops = &endpoint_ops;
    s->eio = e;
    s->id = sb_rt_new_id(e->rt);
    char head[SID_ID_LEN + 1];
    snprintf(head, sizeof head, "%012llx", (unsigned long long)(s->id & 0xffffffffffffull));
    memcpy(s->sid, e->prefix, e->prefix_len);
    memcpy(s->sid + e->prefix_len, head, SID_ID_LEN);
    memcpy(s->sid + e->prefix_len + SID_ID_LEN, token, SID_LEN - SID_ID_LEN);
    sb_buf_init(&s->queue);
    if (s->id > 0xffffffffffffull || sb_rt_endpoint_add(e->rt, s->id, s) != 0) {
        free(s);
        return NULL;
    }
    e->n++;
    return s;
}

static void stop_heartbeat(session *s);

static void session_free(session *s)
{
    sb_eio *e = s->eio;
    if (s->get)
        sb_map_del(&e->by_get, (int64_t)s->get);
    if (s->post)
        sb_map_del(&e->by_post, (int64_t)s->post);
    stop_heartbeat(s);
    sb_rt_endpoint_remove(e->rt, s->id); /* topics, timers (upgrade, flush) */
    sb_buf_free(&s->queue);
    e->n--;
    free(s);
}

/* Calls up ----------------------------------------------------------------- */

/* The runtime's ctx, re-addressed to the session for the layer above. */
static struct sb_ctx upcall_ctx(const struct sb_ctx *ctx, session *s)
{
    struct sb_ctx up = *ctx;
    up.conn = s->id;
    up.session = s->user;
    up.app = s->eio->cfg.app;
    up.binding = NULL;
    return up;
}

static void up_message(const struct sb_ctx *ctx, session *s, const char *data, size_t len,
                       bool binary)
{
    struct sb_ctx up = upcall_ctx(ctx, s);
    s->eio->cfg.on_message(&up, data, len, binary);
    s->user = up.session;
}

/* Answers held GET `id` now, outside the outbox (it holds nothing for it). */
static void answer_get(sb_eio *e, uint64_t id, const char *body, size_t len)
{
    sb_http_response r;
    sb_http_response_init(&r);
    r.content_type = "text/plain; charset=UTF-8";
    sb_buf_put(&r.body, body, len);
    sb_server_http_respond(sb_rt_server(e->rt), id, &r);
    sb_http_response_free(&r);
    sb_rt_cancel_owner(e->rt, id); /* its time-out */
}

static void release_get(session *s, const char *body, size_t len)
{
    if (!s->get)
        return;
    uint64_t id = s->get;
    sb_map_del(&s->eio->by_get, (int64_t)id);
    s->get = 0;
    answer_get(s->eio, id, body, len);
}

static void encode_payload(const session *s, sb_buf *out);
static void flush_poll(session *s);

static void linger_unlink(session *s)
{
    for (session **p = &s->eio->lingering; *p; p = &(*p)->linger_next) {
        if (*p == s) {
            *p = s->linger_next;
            break;
        }
    }
    s->lingering = false;
}

static void linger_over(struct sb_ctx *ctx, void *arg)
{
    session *s = by_id(arg, ctx->conn);
    if (s && s->lingering) {
        linger_unlink(s);
        session_free(s);
    }
}

/* A polling session ended with packets still to send (a server DISCONNECT,
 * the ERROR before it): it is over for everyone, but its next polls, within
 * the ping timeout, still get them, then the close packet. */
static void linger(session *s)
{
    sb_eio *e = s->eio;
    s->ending = true;
    s->lingering = true;
    s->user = NULL; /* the layer above has forgotten it */
    stop_heartbeat(s);
    sb_topics_leave_all(sb_rt_topics(e->rt), s->id);
    sb_rt_cancel_owner(e->rt, s->id);
    s->linger_next = e->lingering;
    e->lingering = s;
    if (!sb_rt_timer(e->rt, s->id, e->cfg.ping_timeout_ms, false, linger_over, e)) {
        linger_unlink(s);
        session_free(s);
    }
}

/* The end of a session, whatever ended it: the layer above hears it, its
 * transports are closed, and it is gone. */
static void session_end(const struct sb_ctx *ctx, session *s, const char *reason)
{
    sb_eio *e = s->eio;
    sb_server *srv = sb_rt_server(e->rt);
    if (e->cfg.on_close) {
        struct sb_ctx up = upcall_ctx(ctx, s);
        e->cfg.on_close(&up, reason);
    }
    sb_conn *c;
    if (!e->freeing) {
        if (s->t == T_WEBSOCKET && (c = sb_conn_find(srv, s->ws)) != NULL)
            sb_conn_close(c, SB_CLOSE_NORMAL, reason);
        if (s->probe && (c = sb_conn_find(srv, s->probe)) != NULL)
            sb_conn_close(c, SB_CLOSE_NORMAL, reason);
        if (s->t == T_POLLING && s->queue.len && strcmp(reason, SB_EIO_SERVER_CLOSE) == 0) {
            /* what is queued (a DISCONNECT, the ERROR before it) goes out
             * first, and the close packet in a later poll: socket.io-client
             * handles a close at once but the packets before it on its next
             * tick, so in one payload it would drop them */
            flush_poll(s);
            linger(s);
            return;
        }
        release_get(s, "1", 1); /* a close packet for the poll that waits */
    }
    session_free(s);
}

/* Packets ------------------------------------------------------------------- */

/* Sends a control packet ahead of the backlog (a WebSocket), or queues it
 * for the next poll. */
static void send_control(session *s, const char *packet, size_t len);

/* The heartbeat ----------------------------------------------------------- */

#define QUEUE_PUSH(e, s, q)                                                                        \
    do {                                                                                           \
        (s)->q##_prev = (e)->q##_tail;                                                             \
        (s)->q##_next = NULL;                                                                      \
        if ((e)->q##_tail)                                                                         \
            (e)->q##_tail->q##_next = (s);                                                         \
        else                                                                                       \
            (e)->q##_head = (s);                                                                   \
        (e)->q##_tail = (s);                                                                       \
        (s)->in_##q = true;                                                                        \
    } while (0)

#define QUEUE_UNLINK(e, s, q)                                                                      \
    do {                                                                                           \
        if ((s)->in_##q) {                                                                         \
            if ((s)->q##_prev)                                                                     \
                (s)->q##_prev->q##_next = (s)->q##_next;                                           \
            else                                                                                   \
                (e)->q##_head = (s)->q##_next;                                                     \
            if ((s)->q##_next)                                                                     \
                (s)->q##_next->q##_prev = (s)->q##_prev;                                           \
            else                                                                                   \
                (e)->q##_tail = (s)->q##_prev;                                                     \
            (s)->in_##q = false;                                                                   \
        }                                                                                          \
    } while (0)

static void beat(struct sb_ctx *ctx, void *arg);

/* The one timer, at the earliest due time of the two queues. */
static void beat_arm(sb_eio *e, int64_t now)
{
    int64_t due = INT64_MAX;
    if (e->ping_head)
        due = e->ping_head->ping_due;
    if (e->pong_head && e->pong_head->pong_due < due)
        due = e->pong_head->pong_due;
    if (due == INT64_MAX || (e->beat && e->beat_due <= due))
        return;
    sb_rt_timer_cancel(e->rt, e->beat);
    int64_t wait = due > now ? (due - now + 999) / 1000 : 0; /* never early */
    e->beat = sb_rt_timer(e->rt, e->beat_owner, (int)wait, false, beat, e);
    e->beat_due = due;
}

/* Pongs overdue end their sessions; pings due go out (not to a session
 * whose last ping is unanswered: its pong deadline decides). */
static void beat(struct sb_ctx *ctx, void *arg)
{
    sb_eio *e = arg;
    e->beat = NULL;
    int64_t now = sb_mono_us();
    session *s;
    while ((s = e->pong_head) != NULL && s->pong_due <= now)
        session_end(ctx, s, SB_EIO_PING_TIMEOUT); /* unlinks it */
    /* deadlines count from when each ping was due, not from when this
     * beat ran: a late loop does not stretch a session's time */
    while ((s = e->ping_head) != NULL && s->ping_due <= now) {
        QUEUE_UNLINK(e, s, ping);
        if (!s->in_pong) {
            send_control(s, "2", 1);
            s->pong_due = s->ping_due + (int64_t)e->cfg.ping_timeout_ms * 1000;
            QUEUE_PUSH(e, s, pong);
        }
        s->ping_due += (int64_t)e->cfg.ping_interval_ms * 1000;
        if (s->ping_due <= now) /* a beat very late: no burst of pings */
            s->ping_due = now + (int64_t)e->cfg.ping_interval_ms * 1000;
        QUEUE_PUSH(e, s, ping);
    }
    beat_arm(e, now);
}

static void start_heartbeat(session *s)
{
    sb_eio *e = s->eio;
    int64_t now = sb_mono_us();
    s->ping_due = now + (int64_t)e->cfg.ping_interval_ms * 1000;
    QUEUE_PUSH(e, s, ping);
    beat_arm(e, now);
}

static void stop_heartbeat(session *s)
{
    QUEUE_UNLINK(s->eio, s, ping);
    QUEUE_UNLINK(s->eio, s, pong);
}

static void pong_seen(session *s)
{
    QUEUE_UNLINK(s->eio, s, pong);
}

static void flush_due(struct sb_ctx *ctx, void *arg);

/* The held GET takes the queue on the next loop turn: what the rest of this
 * one delivers goes in the same answer. */
static void schedule_flush(session *s)
{
    if (!s->flushing && sb_rt_timer(s->eio->rt, s->id, 0, false, flush_due, s->eio))
        s->flushing = true;
}

/* The queue as one polling payload: packets joined with 0x1e, binary ones
 * as "b" + base64. */
static void encode_payload(const session *s, sb_buf *out)
{
    const char *data;
    size_t len, off = 0, next;
    bool binary, first = true;
    while ((next = queue_next(s, off, &data, &len, &binary)) != 0) {
        if (!first)
            sb_buf_putc(out, '\x1e');
        first = false;
        if (binary) {
            sb_buf_putc(out, 'b');
            sb_b64_encode(out, data, len);
        } else {
            sb_buf_put(out, data, len);
        }
        off = next;
    }
}

/* A held GET takes everything queued. */
static void flush_poll(session *s)
{
    if (!s->get || s->queue.len == 0)
        return;
    sb_buf body;
    sb_buf_init(&body);
    encode_payload(s, &body);
    sb_buf_reset(&s->queue);
    release_get(s, body.data ? body.data : "", body.len);
    sb_buf_free(&body);
}

static void flush_due(struct sb_ctx *ctx, void *arg)
{
    session *s = by_id(arg, ctx->conn);
    if (s) {
        s->flushing = false;
        flush_poll(s);
    }
}

static void send_control(session *s, const char *packet, size_t len)
{
    sb_conn *c = s->t == T_WEBSOCKET ? s->wsc : NULL;
    if (c) {
        sb_conn_send_first(c, packet, len, false);
        return;
    }
    queue_put(s, packet, len, false);
    schedule_flush(s);
}

static void end_later(struct sb_ctx *ctx, void *arg);

/* The runtime's outbox delivering to the session. */
static int ep_send(void *obj, const char *data, size_t len, bool binary)
{
    session *s = obj;
    sb_eio *e = s->eio;
    if (s->ending)
        return -1;
    if (s->t == T_WEBSOCKET)
        return s->wsc ? sb_conn_send_frame(s->wsc, data, len, binary) : -1;
    if (s->queue.len + len > e->cfg.max_queue) {
        sb_log(SB_LOG_WARN, "eio_queue_full", "channel=%s session=%llu queued=%zu cap=%zu",
               e->cfg.channel, (unsigned long long)s->id, s->queue.len, e->cfg.max_queue);
        s->ending = true;
        sb_rt_timer(e->rt, s->id, 0, false, end_later, e);
        return -1;
    }
    queue_put(s, data, len, binary);
    if (s->get)
        schedule_flush(s);
    return 0;
}

static void end_later(struct sb_ctx *ctx, void *arg)
{
    session *s = by_id(arg, ctx->conn);
    if (s)
        session_end(ctx, s,
                    s->timed_out ? SB_EIO_PING_TIMEOUT
                    : s->restart ? SB_EIO_SERVER_RESTART
                                 : SB_EIO_SERVER_CLOSE);
}

static void ep_close(void *obj, int code, const char *reason)
{
    (void)reason;
    session *s = obj;
    if (s->ending)
        return;
    s->ending = true;
    s->restart = code == SB_CLOSE_SERVICE_RESTART;
    sb_rt_timer(s->eio->rt, s->id, 0, false, end_later, s->eio);
}

static bool ep_congested(void *obj)
{
    session *s = obj;
    if (s->t != T_WEBSOCKET)
        return s->queue.len > s->eio->cfg.max_queue / 2;
    return s->wsc && sb_conn_congested(s->wsc);
}

static void ep_prefetch(void *obj)
{
    session *s = obj;
    if (s->wsc)
        __builtin_prefetch(s->wsc);
}

static const sb_endpoint_ops endpoint_ops = {ep_send, ep_close, ep_congested, ep_prefetch};

/* HTTP ------------------------------------------------------------------------ */

static int refuse(sb_http_response *resp, int code)
{
    resp->status = code == E_FORBIDDEN ? 403 : 400;
    resp->content_type = "application/json";
    sb_buf_reset(&resp->body);
    socketio_engine_io_error e = {.code = code,
                                  .message = {error_text[code], strlen(error_text[code])}};
    socketio_engine_io_error_write(&resp->body, &e);
    return SB_HTTP_ANSWERED;
}

static void open_packet(const sb_eio *e, const session *s, bool upgrades, sb_buf *b)
{
    sb_str websocket = SB_STR_LIT("websocket");
    socketio_engine_io_open open = {.sid = {s->sid, e->prefix_len + SID_LEN},
                                    .pingInterval = e->cfg.ping_interval_ms,
                                    .pingTimeout = e->cfg.ping_timeout_ms,
                                    .maxPayload = (int64_t)e->cfg.max_payload};
    open.upgrades.items = &websocket;
    open.upgrades.count = upgrades ? 1 : 0;
    sb_buf_putc(b, '0');
    socketio_engine_io_open_write(b, &open);
}

/* EIO=4 and a known transport: -1 (refused into resp) otherwise. */
static int check_query(const sb_query *q, const char *want, sb_http_response *resp)
{
    const char *v = sb_query_get(q, "EIO");
    if (!v || strcmp(v, "4") != 0)
        return refuse(resp, E_UNSUPPORTED_VERSION), -1;
    const char *t = sb_query_get(q, "transport");
    if (!t || (strcmp(t, "polling") != 0 && strcmp(t, "websocket") != 0))
        return refuse(resp, E_TRANSPORT_UNKNOWN), -1;
    if (strcmp(t, want) != 0)
        return refuse(resp, E_BAD_REQUEST), -1;
    return 0;
}

static int open_session(struct sb_ctx *ctx, sb_eio *e, session *s, const sb_eio_handshake *hs)
{
    if (!e->cfg.on_open)
        return 0;
    struct sb_ctx up = upcall_ctx(ctx, s);
    int rc = e->cfg.on_open(&up, hs);
    s->user = up.session;
    return rc;
}

static int poll_handshake(struct sb_ctx *ctx, sb_eio *e, const sb_http_request *req,
                          sb_http_response *resp)
{
    session *s = session_new(e);
    if (!s) {
        resp->status = 503;
        resp->content_type = "text/plain";
        SB_BUF_PUT_LIT(&resp->body, "no session could be made");
        return SB_HTTP_ANSWERED;
    }
    sb_eio_handshake hs = {req->query, req->peer, false};
    if (open_session(ctx, e, s, &hs) != 0) {
        session_free(s);
        return refuse(resp, E_FORBIDDEN);
    }
    start_heartbeat(s);
    resp->content_type = "text/plain; charset=UTF-8";
    open_packet(e, s, true, &resp->body);
    return SB_HTTP_ANSWERED;
}

static int poll_get(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    sb_eio *e = ctx->app;
    const char *sid = sb_query_get(req->query, "sid");
    /* (a WebSocket handshake without the upgrade is the transport mismatch) */
    if (check_query(req->query, "polling", resp) != 0)
        return SB_HTTP_ANSWERED;
    if (!sid)
        return poll_handshake(ctx, e, req, resp);
    session *s = by_sid(e, sid);
    if (s && s->lingering) { /* its last packets, then the close */
        resp->content_type = "text/plain; charset=UTF-8";
        if (s->queue.len) {
            encode_payload(s, &resp->body);
            sb_buf_reset(&s->queue);
        } else {
            SB_BUF_PUT_LIT(&resp->body, "1");
            linger_unlink(s);
            session_free(s);
        }
        return SB_HTTP_ANSWERED;
    }
    if (!s || s->ending)
        return refuse(resp, E_UNKNOWN_SID);
    if (s->t != T_POLLING)
        return refuse(resp, E_BAD_REQUEST);
    if (s->get) {
        /* Two polls at once: the protocol's error. The first gets a close
         * packet, this one a 400, and the session is over. */
        refuse(resp, E_BAD_REQUEST);
        session_end(ctx, s, SB_EIO_TRANSPORT_ERROR);
        return SB_HTTP_ANSWERED;
    }
    resp->content_type = "text/plain; charset=UTF-8";
    if (s->queue.len) {
        encode_payload(s, &resp->body);
        sb_buf_reset(&s->queue);
        return SB_HTTP_ANSWERED;
    }
    if (s->probed) { /* upgrading: the client is to stop polling */
        SB_BUF_PUT_LIT(&resp->body, "6");
        return SB_HTTP_ANSWERED;
    }
    s->get = req->id;
    sb_map_put(&e->by_get, (int64_t)req->id, s);
    /* a ping wakes it before this: the time-out is a safety net */
    sb_rt_defer(ctx, e->cfg.ping_interval_ms + e->cfg.ping_timeout_ms + 1000);
    return SB_HTTP_DEFERRED;
}

static void poll_timeout(struct sb_ctx *ctx, uint64_t request, sb_http_response *resp)
{
    sb_eio *e = ctx->app;
    session *s = sb_map_del(&e->by_get, (int64_t)request);
    if (s)
        s->get = 0;
    resp->content_type = "text/plain; charset=UTF-8";
    SB_BUF_PUT_LIT(&resp->body, "6");
}

static void poll_abort(struct sb_ctx *ctx, uint64_t request)
{
    sb_eio *e = ctx->app;
    session *s = sb_map_del(&e->by_get, (int64_t)request);
    if (!s)
        return;
    s->get = 0;
    session_end(ctx, s, SB_EIO_TRANSPORT_CLOSE); /* an aborted poll ends the session */
}

/* One packet of a POST body. Returns false on a protocol error. */
static bool poll_packet(struct sb_ctx *ctx, session *s, const char *p, size_t len, bool *closed)
{
    if (len == 0)
        return false;
    switch (p[0]) {
    case '4':
        up_message(ctx, s, p + 1, len - 1, false);
        return true;
    case 'b': {
        unsigned char *bin = sb_arena_alloc(ctx->arena, len);
        long n = bin ? sb_b64_decode(p + 1, len - 1, bin) : -1;
        if (n < 0)
            return false;
        up_message(ctx, s, (const char *)bin, (size_t)n, true);
        return true;
    }
    case '3':
        if (len != 1)
            return false;
        pong_seen(s);
        return true;
    case '6':
        return len == 1;
    case '1':
        if (len != 1)
            return false;
        release_get(s, "6", 1);
        session_end(ctx, s, SB_EIO_CLIENT_CLOSE);
        *closed = true;
        return true;
    default: /* 0 open, 2 ping (the server pings in v4), 5 upgrade: not over polling */
        return false;
    }
}

/* A POST's body starts arriving: one at a time per session. A second one
 * is the protocol's error: 400, and the session ends. */
static int post_body(const sb_http_request *head, void *app, sb_http_response *refusal)
{
    sb_eio *e = app;
    session *s = by_sid(e, sb_query_get(head->query, "sid"));
    if (!s)
        return 0; /* poll_post answers it */
    if (s->post) {
        refuse(refusal, E_BAD_REQUEST);
        ep_close(s, SB_CLOSE_NORMAL, "two POSTs at once");
        return -1;
    }
    s->post = head->id;
    sb_map_put(&e->by_post, (int64_t)head->id, s);
    return 0;
}

static void post_done(sb_eio *e, uint64_t request)
{
    session *s = sb_map_del(&e->by_post, (int64_t)request);
    if (s && s->post == request)
        s->post = 0;
}

static void post_abort(struct sb_ctx *ctx, uint64_t request)
{
    post_done(ctx->app, request);
}

static int poll_post(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    sb_eio *e = ctx->app;
    post_done(e, req->id);
    if (check_query(req->query, "polling", resp) != 0)
        return SB_HTTP_ANSWERED;
    const char *sid = sb_query_get(req->query, "sid");
    if (!sid)
        return refuse(resp, E_BAD_HANDSHAKE_METHOD); /* a handshake is a GET */
    session *s = by_sid(e, sid);
    if (!s || s->ending)
        return refuse(resp, E_UNKNOWN_SID);
    if (s->t != T_POLLING)
        return refuse(resp, E_BAD_REQUEST);
    if (req->body_len > e->cfg.max_payload) {
        resp->status = 413;
        resp->content_type = "text/plain";
        session_end(ctx, s, SB_EIO_TRANSPORT_ERROR);
        return SB_HTTP_ANSWERED;
    }
    const char *type = sb_http_header(req, "Content-Type");
    if (type && strncasecmp(type, "application/octet-stream", 24) == 0) {
        refuse(resp, E_BAD_REQUEST); /* binary goes as "b" + base64 in v4 */
        session_end(ctx, s, SB_EIO_PARSE_ERROR);
        return SB_HTTP_ANSWERED;
    }
    if (!sb_utf8_valid(req->body, req->body_len)) {
        /* text, like a WebSocket text frame (binary goes as "b" + base64):
         * what is not UTF-8 would be echoed into payloads and frames */
        refuse(resp, E_BAD_REQUEST);
        session_end(ctx, s, SB_EIO_PARSE_ERROR);
        return SB_HTTP_ANSWERED;
    }
    const char *p = req->body, *end = req->body + req->body_len;
    bool closed = false;
    while (!closed) {
        const char *sep = memchr(p, '\x1e', (size_t)(end - p));
        const char *stop = sep ? sep : end;
        if (!poll_packet(ctx, s, p, (size_t)(stop - p), &closed)) {
            refuse(resp, E_BAD_REQUEST);
            session_end(ctx, s, SB_EIO_PARSE_ERROR);
            return SB_HTTP_ANSWERED;
        }
        if (!sep)
            break;
        p = sep + 1;
    }
    resp->content_type = "text/html";
    SB_BUF_PUT_LIT(&resp->body, "ok");
    return SB_HTTP_ANSWERED;
}

/* Any other method: what the protocol answers (a handshake is a GET). */
static int other_method(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)ctx;
    return refuse(resp, sb_query_get(req->query, "sid") ? E_BAD_REQUEST : E_BAD_HANDSHAKE_METHOD);
}

/* WebSocket --------------------------------------------------------------- */

static int ws_upgrade(const sb_ws_request *req, void *app, sb_http_response *refusal)
{
    sb_eio *e = app;
    if (check_query(req->query, "websocket", refusal) != 0)
        return -1;
    const char *sid = sb_query_get(req->query, "sid");
    if (!sid)
        return 0;
    session *s = by_sid(e, sid);
    if (!s || s->ending)
        return refuse(refusal, E_UNKNOWN_SID), -1;
    return 0; /* a session upgraded or probing already: opened, then closed (ws_open) */
}

static void upgrade_expired(struct sb_ctx *ctx, void *arg)
{
    session *s = by_id(arg, ctx->conn);
    if (!s)
        return;
    s->upgrade = NULL;
    sb_conn *c = sb_conn_find(sb_rt_server(s->eio->rt), s->probe);
    if (c)
        sb_conn_close(c, SB_CLOSE_NORMAL, "upgrade timeout");
    s->probe = 0;
    s->probed = false;
}

static int ws_open(struct sb_ctx *ctx, const sb_ws_request *req)
{
    sb_eio *e = ctx->app;
    bind_to(ctx, 0);
    sb_server *srv = sb_rt_server(e->rt);
    sb_conn *c = sb_conn_find(srv, ctx->conn);
    const char *sid = sb_query_get(req->query, "sid");
    if (sid) { /* a probe for the upgrade of a polling session */
        session *s = by_sid(e, sid);
        if (!s || s->ending || s->t != T_POLLING || s->probe) {
            sb_rt_close(ctx, SB_CLOSE_POLICY, "no such session");
            return 0;
        }
        bind_to(ctx, s->id);
        s->probe = ctx->conn;
        s->upgrade =
            sb_rt_timer(e->rt, s->id, e->cfg.upgrade_timeout_ms, false, upgrade_expired, e);
        return 0;
    }
    session *s = session_new(e);
    if (!s) {
        sb_rt_close(ctx, SB_CLOSE_TRY_AGAIN, "no session could be made");
        return 0;
    }
    bind_to(ctx, s->id);
    s->t = T_WEBSOCKET;
    s->ws = ctx->conn;
    s->wsc = c;
    sb_buf open;
    sb_buf_init(&open);
    open_packet(e, s, false, &open);
    if (c && !open.oom)
        sb_conn_send_frame(c, open.data, open.len, false);
    sb_buf_free(&open);
    sb_eio_handshake hs = {req->query, req->peer, true};
    if (open_session(ctx, e, s, &hs) != 0) {
        s->ws = 0;
        s->wsc = NULL;
        session_free(s);
        bind_to(ctx, 0);
        sb_rt_close(ctx, SB_CLOSE_POLICY, "refused");
        return 0;
    }
    start_heartbeat(s);
    return 0;
}

/* The probe's "5": the session moves to this WebSocket, and what waited for
 * a poll goes out on it first. */
static void upgrade(session *s, sb_conn *c)
{
    sb_rt_timer_cancel(s->eio->rt, s->upgrade);
    s->upgrade = NULL;
    release_get(s, "6", 1);
    s->t = T_WEBSOCKET;
    s->ws = s->probe;
    s->wsc = c;
    s->probe = 0;
    const char *data;
    size_t len, off = 0, next;
    bool binary;
    while ((next = queue_next(s, off, &data, &len, &binary)) != 0) {
        sb_conn_send_frame(c, data, len, binary);
        off = next;
    }
    sb_buf_free(&s->queue);
    sb_buf_init(&s->queue);
}

static void ws_protocol_error(struct sb_ctx *ctx, session *s)
{
    session_end(ctx, s, SB_EIO_PARSE_ERROR);
}

static void ws_message(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    sb_eio *e = ctx->app;
    session *s = by_id(e, bound(ctx));
    if (!s)
        return;
    sb_conn *c = sb_conn_find(sb_rt_server(e->rt), ctx->conn);
    if (s->probe == ctx->conn) {
        if (!binary && len == 6 && memcmp(data, "2probe", 6) == 0) {
            if (c)
                sb_conn_send_frame(c, "3probe", 6, false);
            s->probed = true;
            release_get(s, "6", 1); /* the poll that waits is told to stop */
        } else if (!binary && len == 1 && data[0] == '5' && s->probed && c) {
            upgrade(s, c);
        } else {
            sb_rt_close(ctx, SB_CLOSE_POLICY, "bad probe");
            s->probe = 0;
            s->probed = false;
        }
        return;
    }
    if (s->t != T_WEBSOCKET || s->ws != ctx->conn)
        return;
    if (binary) {
        up_message(ctx, s, data, len, true);
        return;
    }
    if (len == 0) {
        ws_protocol_error(ctx, s);
        return;
    }
    switch (data[0]) {
    case '4':
        up_message(ctx, s, data + 1, len - 1, false);
        break;
    case '3':
        if (len == 1)
            pong_seen(s);
        else
            ws_protocol_error(ctx, s);
        break;
    case '1':
        session_end(ctx, s, SB_EIO_CLIENT_CLOSE);
        break;
    case '6':
        if (len != 1)
            ws_protocol_error(ctx, s);
        break;
    default:
        ws_protocol_error(ctx, s);
        break;
    }
}

static void ws_close(struct sb_ctx *ctx)
{
    sb_eio *e = ctx->app;
    session *s = by_id(e, bound(ctx));
    ctx->session = NULL;
    if (!s)
        return;
    if (s->probe == ctx->conn) {
        sb_rt_timer_cancel(e->rt, s->upgrade);
        s->upgrade = NULL;
        s->probe = 0;
        s->probed = false;
    } else if (s->t == T_WEBSOCKET && s->ws == ctx->conn) {
        s->ws = 0;
        s->wsc = NULL; /* the connection is being freed */
        session_end(ctx, s, SB_EIO_TRANSPORT_CLOSE);
    }
}

/* Life cycle ------------------------------------------------------------- */

void *sb_eio_session_user(const sb_eio *e, uint64_t session_id)
{
    session *s = by_id(e, session_id);
    return s ? s->user : NULL;
}

size_t sb_eio_sessions(const sb_eio *e)
{
    return e->n;
}

const char *sb_eio_transport(const sb_eio *e, uint64_t session_id)
{
    session *s = by_id(e, session_id);
    return !s ? NULL : s->t == T_WEBSOCKET ? "websocket" : "polling";
}

static int add_routes(sb_eio *e, const char *path, char *err, size_t err_size)
{
    static const char *const any_type[] = {"*", NULL};
    sb_http_handler get = {.method = "GET",
                           .path = path,
                           .channel = e->cfg.channel,
                           .handle = poll_get,
                           .on_timeout = poll_timeout,
                           .on_abort = poll_abort,
                           .app = e};
    sb_http_handler post = {.method = "POST",
                            .path = path,
                            .channel = e->cfg.channel,
                            .handle = poll_post,
                            .content_types = any_type,
                            /* up to twice maxPayload reaches poll_post, which answers 413
                             * and ends the session; more is the transport's 413 alone */
                            .max_body = 2 * e->cfg.max_payload,
                            .on_abort = post_abort,
                            .on_body = post_body,
                            .app = e};
    sb_ws_handler ws = {.path = path,
                        .channel = e->cfg.channel,
                        .on_open = ws_open,
                        .on_message = ws_message,
                        .on_close = ws_close,
                        .on_upgrade = ws_upgrade,
                        .max_message = e->cfg.max_payload,
                        .accept_binary = true,
                        .app = e};
    static const char *const others[] = {"PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        sb_http_handler h = {.method = others[i],
                             .path = path,
                             .channel = e->cfg.channel,
                             .handle = other_method,
                             .content_types = any_type,
                             .max_body = e->cfg.max_payload,
                             .app = e};
        if (sb_rt_add_http(e->rt, &h, err, err_size) != 0)
            return -1;
    }
    if (sb_rt_add_http(e->rt, &get, err, err_size) != 0 ||
        sb_rt_add_http(e->rt, &post, err, err_size) != 0 ||
        sb_rt_add_ws(e->rt, &ws, err, err_size) != 0)
        return -1;
    return 0;
}

sb_eio *sb_eio_new(sb_rt *rt, const sb_eio_config *cfg, char *err, size_t err_size)
{
    sb_eio *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    e->rt = rt;
    e->cfg = *cfg;
    if (!e->cfg.ping_interval_ms)
        e->cfg.ping_interval_ms = 25000;
    if (!e->cfg.ping_timeout_ms)
        e->cfg.ping_timeout_ms = 20000;
    if (!e->cfg.upgrade_timeout_ms)
        e->cfg.upgrade_timeout_ms = 10000;
    if (!e->cfg.max_payload)
        e->cfg.max_payload = 1000000;
    if (!e->cfg.max_queue)
        e->cfg.max_queue = 1u << 20;
    if (!e->cfg.channel)
        e->cfg.channel = "engine.io";
    if (cfg->sid_prefix && cfg->sid_prefix[0]) {
        size_t p = strlen(cfg->sid_prefix);
        bool ok = p <= SID_PREFIX_MAX;
        for (size_t i = 0; ok && i < p; i++) {
            char c = cfg->sid_prefix[i];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '_' || c == '-';
        }
        if (!ok) {
            snprintf(err, err_size,
                     "Engine.IO sid prefix (the node id) %.40s: 1 to %d of A-Z a-z 0-9 _ -",
                     cfg->sid_prefix, SID_PREFIX_MAX);
            free(e);
            return NULL;
        }
        memcpy(e->prefix, cfg->sid_prefix, p);
        e->prefix[p] = '-';
        e->prefix_len = p + 1;
    }
    e->cfg.sid_prefix = NULL; /* not kept: e->prefix is */
    e->beat_owner = sb_rt_new_id(rt);
    sb_map_init(&e->by_get);
    sb_map_init(&e->by_post);
    size_t n = strlen(cfg->path);
    if (n == 0 || n + 2 > sizeof e->path_slash) {
        snprintf(err, err_size, "Engine.IO path %s: empty or too long", cfg->path);
        sb_eio_free(e);
        return NULL;
    }
    memcpy(e->path_slash, cfg->path, n + 1);
    if (cfg->path[n - 1] != '/') {
        e->path_slash[n] = '/';
        e->path_slash[n + 1] = '\0';
        if (add_routes(e, cfg->path, err, err_size) != 0) {
            sb_eio_free(e);
            return NULL;
        }
    }
    if (add_routes(e, e->path_slash, err, err_size) != 0) {
        sb_eio_free(e);
        return NULL;
    }
    return e;
}

static void end_for_free(struct sb_ctx *ctx, void *arg)
{
    session_end(ctx, arg, SB_EIO_SERVER_CLOSE);
}

void sb_eio_free(sb_eio *e)
{
    if (!e)
        return;
    /* every session ends, its layer above told (it frees what it keeps) */
    e->freeing = true;
    while (e->ping_head) /* every session is in it, from its handshake to its end */
        sb_rt_call(e->rt, e->ping_head->id, e->cfg.app, end_for_free, e->ping_head);
    while (e->lingering) {
        session *s = e->lingering;
        linger_unlink(s);
        session_free(s);
    }
    sb_rt_cancel_owner(e->rt, e->beat_owner);
    sb_map_free(&e->by_get);
    sb_map_free(&e->by_post);
    free(e);
}
