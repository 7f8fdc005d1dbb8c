/*
 * server.c: libwebsockets 4.1 on our libevent base (a "foreign loop"), one
 * port for HTTP/1.1 and WebSocket, routed by path. See server.h for the API.
 *
 * lws calls callback() for everything. Its traps, and how we meet them
 * (docs/architecture.md, "Why it is built this way"; the measurements are in
 * docs/performance.md):
 *  - lws ignores the URL path when it picks a WebSocket protocol: we route
 *    the upgrade on the path ourselves (HTTP_CONFIRM_UPGRADE) and refuse
 *    unknown paths with a 404 before the upgrade.
 *  - lws advises one lws_write() per WRITEABLE callback, but it buffers what
 *    the socket does not take: each connection keeps a queue of whole frames
 *    (framed by us) and writes as many as fit in WRITE_BURST in one
 *    LWS_WRITE_RAW write per callback, asking for another while any remain.
 *  - a connection can only be closed from inside one of its own callbacks:
 *    sb_conn_close() marks it and asks for WRITEABLE, where we return -1.
 *  - lws frees per-session HTTP data between keep-alive requests, so request
 *    state lives in the per-session struct for one transaction only.
 *  - a POST without Content-Length makes lws expect an endless body: we
 *    answer 411 before reading it (server_http.c).
 *
 * Every client is an sb_conn with an ID: a WebSocket for its lifetime, an
 * HTTP request from its headers to its answer. Protocol code holds IDs.
 */
#include <libwebsockets.h>

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "server_int.h"

static void resume_all(sb_server *s);
static void flush_unlink(sb_conn *c);

static unsigned char *frame_start(sb_out *o)
{
    return o->data + FRAME_HEADER_MAX - (o->frame - o->len);
}

/* Write a server frame's header (FIN, text or binary, unmasked) in front of the
 * payload at o->data + FRAME_HEADER_MAX (RFC 6455, 5.2). */
static void frame_header(sb_out *o, bool binary)
{
    unsigned char *p = o->data + FRAME_HEADER_MAX;
    size_t n = o->len, h;
    if (n < 126) {
        h = 2;
        p[-1] = (unsigned char)n;
    } else if (n < 65536) {
        h = 4;
        p[-3] = 126;
        p[-2] = (unsigned char)(n >> 8);
        p[-1] = (unsigned char)n;
    } else {
        h = 10;
        p[-9] = 127;
        for (int i = 0; i < 8; i++)
            p[-1 - i] = (unsigned char)(n >> (8 * i));
    }
    p[-(ptrdiff_t)h] = binary ? 0x82 : 0x81; /* FIN + text or binary */
    o->frame = h + n;
}

/* Connections: id hash and idle list ------------------------------------ */

static sb_conn **bucket(sb_server *s, uint64_t id)
{
    return &s->buckets[id & (CONN_BUCKETS - 1)];
}

sb_conn *sb_conn_find(sb_server *s, uint64_t id)
{
    for (sb_conn *c = *bucket(s, id); c; c = c->hash_next)
        if (c->id == id)
            return c;
    return NULL;
}

static void idle_unlink(sb_server *s, sb_conn *c)
{
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else if (s->idle_head == c)
        s->idle_head = c->idle_next;
    else
        return; /* not in the list (new, or already timed out) */
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        s->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

static void idle_touch(sb_server *s, sb_conn *c, int64_t now)
{
    c->last_active_ms = now;
    if (s->idle_tail == c)
        return;
    idle_unlink(s, c);
    c->idle_prev = s->idle_tail;
    if (s->idle_tail)
        s->idle_tail->idle_next = c;
    else
        s->idle_head = c;
    s->idle_tail = c;
}

int64_t sb_now_ms(void)
{
    return sb_mono_us() / 1000;
}

uint64_t sb_server_new_id(sb_server *s)
{
    return ++s->next_id;
}

sb_conn *sb_conn_new(sb_server *s, struct lws *wsi, const sb_ws_route *route, int kind)
{
    sb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->wsi = wsi;
    c->srv = s;
    c->kind = kind;
    c->route = route;
    c->id = ++s->next_id;
    sb_conn **b = bucket(s, c->id);
    c->hash_next = *b;
    *b = c;
    if (kind == CONN_HTTP) {
        s->n_requests++;
        return c;
    }
    idle_touch(s, c, sb_now_ms());
    s->n_conns++;
    sb_gauge_set(s->m_open, (int64_t)s->n_conns);
    return c;
}

void sb_conn_free(sb_conn *c)
{
    sb_server *s = c->srv;
    if (c->kind == CONN_HTTP) {
        for (sb_conn **p = bucket(s, c->id); *p; p = &(*p)->hash_next) {
            if (*p == c) {
                *p = c->hash_next;
                break;
            }
        }
        s->n_requests--;
        if (c->gone_ev)
            event_free(c->gone_ev);
        free(c->reply);
        free(c);
        return;
    }
    for (sb_conn **p = &s->paused; *p; p = &(*p)->paused_next) {
        if (*p == c) {
            *p = c->paused_next;
            break;
        }
    }
    for (sb_conn **p = &s->turn_held; *p; p = &(*p)->turn_next) {
        if (*p == c) {
            *p = c->turn_next;
            break;
        }
    }
    if (c->congested)
        resume_all(s); /* whoever waited for this queue waits no more */
    for (sb_conn **p = bucket(s, c->id); *p; p = &(*p)->hash_next) {
        if (*p == c) {
            *p = c->hash_next;
            break;
        }
    }
    idle_unlink(s, c);
    flush_unlink(c);
    while (c->head) {
        sb_out *o = c->head;
        c->head = o->next;
        free(o);
    }
    free(c->rx);
    free(c->close_reason);
    s->n_conns--;
    sb_gauge_set(s->m_open, (int64_t)s->n_conns);
    free(c);
}

uint64_t sb_conn_id(const sb_conn *c)
{
    return c->id;
}

bool sb_conn_is_http(const sb_conn *c)
{
    return c->kind == CONN_HTTP;
}

void sb_conn_set_user(sb_conn *c, void *user)
{
    c->user = user;
}

void *sb_conn_user(const sb_conn *c)
{
    return c->user;
}

size_t sb_server_connections(const sb_server *s)
{
    return s->n_conns;
}

static void drop_queue(sb_conn *c)
{
    while (c->head) {
        sb_out *o = c->head;
        c->head = o->next;
        free(o);
    }
    c->tail = NULL;
    c->queued = 0;
    if (c->congested) {
        c->congested = false;
        resume_all(c->srv); /* nobody waits for this queue any more */
    }
}

void sb_conn_close(sb_conn *c, int code, const char *reason)
{
    if (c->kind != CONN_WS || c->close_code)
        return;
    c->close_code = code;
    size_t n = reason ? strlen(reason) : 0, m = n > 123 ? 123 : n;
    while (m < n && m > 0 && ((unsigned char)reason[m] & 0xC0) == 0x80)
        m--; /* not inside a UTF-8 character */
    c->close_reason = malloc(m + 1);
    if (c->close_reason) {
        memcpy(c->close_reason, reason ? reason : "", m);
        c->close_reason[m] = '\0';
    }
    /* Read again if reading was held: the peer's close reply must get in,
     * or the socket is closed with its data unread, a reset that may reach
     * the peer before our last frames (it sees 1006). What it still sends
     * is dropped by the routes (the connection is closing). */
    if (c->hold)
        lws_rx_flow_control(c->wsi, 1);
    lws_callback_on_writable(c->wsi);
    /* A peer that does not read never lets the close frame out (lws holds a
     * partial write and asks for no WRITEABLE): drop it without one then. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_WAIT_S);
}

/* Frames queued in a turn are written at its end (sb_server_flush), each
 * connection's in one send(2), straight from here when the socket has room:
 * no POLLOUT round through epoll (two epoll_ctl and a WRITEABLE callback per
 * connection; at a fan-out to 10,000 connections those cost more than the
 * write). What does not fit, lws keeps and sends when the socket drains. */
static void flush_link(sb_conn *c)
{
    sb_server *s = c->srv;
    if (c->flush_pending)
        return;
    if (s->n_flush == s->cap_flush) {
        size_t cap = s->cap_flush ? s->cap_flush * 2 : 256;
        sb_conn **p = realloc(s->flush, cap * sizeof *p);
        if (!p) { /* the WRITEABLE round instead */
            lws_callback_on_writable(c->wsi);
            return;
        }
        s->flush = p;
        s->cap_flush = cap;
    }
    c->flush_pending = true;
    c->flush_at = s->n_flush;
    s->flush[s->n_flush++] = c;
    if (!s->flush_armed && s->flush_ev) {
        s->flush_armed = true;
        event_active(s->flush_ev, 0, 0);
    }
}

static void flush_unlink(sb_conn *c)
{
    if (!c->flush_pending)
        return;
    c->srv->flush[c->flush_at] = NULL;
    c->flush_pending = false;
}

static int write_batch(sb_conn *c);

/* An array, not a list: walking it is not a chain of cache misses, and the
 * connections a few places ahead are prefetched (with their first frame). */
void sb_server_flush(sb_server *s)
{
    for (size_t i = 0; i < s->n_flush; i++) {
        if (i + 8 < s->n_flush && s->flush[i + 8])
            __builtin_prefetch(s->flush[i + 8]);
        if (i + 4 < s->n_flush && s->flush[i + 4])
            __builtin_prefetch(s->flush[i + 4]->head);
        sb_conn *c = s->flush[i];
        if (!c)
            continue; /* closed since */
        c->flush_pending = false;
        /* a close, or bytes lws still holds: the WRITEABLE round does it */
        if (c->close_code || !c->head || lws_partial_buffered(c->wsi)) {
            lws_callback_on_writable(c->wsi);
            continue;
        }
        if (write_batch(c) != 0) /* the socket is gone: lws closes it */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
    s->n_flush = 0;
}

static void flush_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_server *s = arg;
    s->flush_armed = false;
    sb_server_flush(s);
}

/* A frame for c's queue: at its tail, or at its head (first). */
static int enqueue(sb_conn *c, const char *data, size_t len, bool binary, bool first)
{
    sb_out *o = malloc(sizeof *o + FRAME_HEADER_MAX + len);
    if (!o) {
        sb_conn_close(c, SB_CLOSE_TRY_AGAIN, "out of memory");
        return -1;
    }
    o->len = len;
    memcpy(o->data + FRAME_HEADER_MAX, data, len);
    frame_header(o, binary);
    if (first) {
        o->next = c->head;
        c->head = o;
        if (!c->tail)
            c->tail = o;
    } else {
        o->next = NULL;
        if (c->tail)
            c->tail->next = o;
        else
            c->head = o;
        c->tail = o;
    }
    if (!c->queued)
        c->last_write_ms = sb_now_ms(); /* the stall clock starts with the first byte */
    c->queued += len;
    flush_link(c);
    return 0;
}

int sb_conn_send_frame(sb_conn *c, const char *data, size_t len, bool binary)
{
    if (c->kind != CONN_WS || c->close_code)
        return -1;
    if (c->queued + len > c->srv->cfg.max_queue_bytes) {
        /* A consumer that does not read: drop what it has not taken and close
         * it, rather than hold an unbounded backlog for it. */
        sb_counter_add(c->srv->m_closed_queue, 1);
        sb_log(SB_LOG_WARN, "queue_full", "conn=%llu channel=%s queued=%zu cap=%zu",
               (unsigned long long)c->id, c->route->channel, c->queued,
               c->srv->cfg.max_queue_bytes);
        drop_queue(c);
        sb_conn_close(c, SB_CLOSE_POLICY, "outbound queue full");
        return -1;
    }
    if (enqueue(c, data, len, binary, false) != 0)
        return -1;
    if (c->queued > c->srv->cfg.max_queue_bytes / 2)
        c->congested = true;
    return 0;
}

int sb_conn_send_first(sb_conn *c, const char *data, size_t len, bool binary)
{
    if (c->kind != CONN_WS || c->close_code)
        return -1;
    return enqueue(c, data, len, binary, true);
}

bool sb_conn_congested(const sb_conn *c)
{
    return c->congested;
}

/* Reading stops while any hold bit is set; lws is told only on a change. */
static void set_hold(sb_conn *c, unsigned bit, bool on)
{
    unsigned before = c->hold;
    c->hold = on ? before | bit : before & ~bit;
    if (!before != !c->hold && !c->close_code)
        lws_rx_flow_control(c->wsi, c->hold ? 0 : 1);
}

void sb_conn_pause_reading(sb_conn *c)
{
    if ((c->hold & HOLD_CONGESTION) || c->close_code)
        return;
    set_hold(c, HOLD_CONGESTION, true);
    c->paused_next = c->srv->paused;
    c->srv->paused = c;
}

/* Some queue drained (or its connection went): let every paused sender read
 * again. One that still feeds a congested queue is paused again by the next
 * delivery; this is simpler than tracking who waits for whom, and pauses are
 * rare. */
static void resume_all(sb_server *s)
{
    sb_conn *c = s->paused;
    s->paused = NULL;
    while (c) {
        sb_conn *next = c->paused_next;
        c->paused_next = NULL;
        set_hold(c, HOLD_CONGESTION, false);
        c = next;
    }
}

/* The end of a loop turn (rt.c): the connections held for the turn read
 * again. */
void sb_server_release_turn(sb_server *s)
{
    s->turn++;
    sb_conn *c = s->turn_held;
    s->turn_held = NULL;
    while (c) {
        sb_conn *next = c->turn_next;
        c->turn_next = NULL;
        set_hold(c, HOLD_TURN, false);
        c = next;
    }
}

/* Count one received message against the connection's share of this turn. */
static void turn_account(sb_conn *c, size_t len)
{
    sb_server *s = c->srv;
    sb_server_input(s);
    if (c->turn != s->turn) {
        c->turn = s->turn;
        c->turn_msgs = 0;
        c->turn_bytes = 0;
    }
    c->turn_msgs++;
    c->turn_bytes += len;
    if (!(c->hold & HOLD_TURN) &&
        (c->turn_msgs >= TURN_MAX_MESSAGES ||
         c->turn_bytes >= s->cfg.max_queue_bytes / TURN_MAX_QUEUE_SHARE)) {
        set_hold(c, HOLD_TURN, true);
        c->turn_next = s->turn_held;
        s->turn_held = c;
    }
}

void sb_server_input(sb_server *s)
{
    if (s->input_hook)
        s->input_hook(s->input_arg);
}

void sb_server_set_input_hook(sb_server *s, void (*fn)(void *arg), void *arg)
{
    s->input_hook = fn;
    s->input_arg = arg;
}

void sb_conn_on_drain(sb_conn *c, void (*fn)(sb_conn *c, void *arg), void *arg)
{
    c->on_drain = fn;
    c->drain_arg = arg;
    if (fn)
        lws_callback_on_writable(c->wsi); /* already low: called from the next WRITEABLE */
}

static void low_water(sb_conn *c)
{
    if (c->queued > c->srv->cfg.max_queue_bytes / 4)
        return;
    if (c->congested) {
        c->congested = false;
        resume_all(c->srv);
    }
    if (c->on_drain && !c->close_code) {
        void (*fn)(sb_conn *, void *) = c->on_drain;
        c->on_drain = NULL; /* one-shot: fn may ask again */
        fn(c, c->drain_arg);
    }
}

/* Returns -1 when lws must close the connection. */
/* Write what is queued. lws 4.1 wants one lws_write per WRITEABLE callback
 * for its own framing; we frame the messages ourselves (frame_header) and
 * write several at once as raw bytes: a chat message is three frames to two
 * connections, and one send(2) and one loop turn per connection instead of
 * one per frame took the CPU per message from 43 us to 16 (bench/load).
 * Returns -1 when lws must close the connection. */
static int write_batch(sb_conn *c)
{
    sb_server *s = c->srv;
    sb_out *o = c->head;
    {
        /* The frames that fit in WRITE_BURST, side by side in one buffer,
         * go out in one write (one send(2), as few TCP segments as can be);
         * a lone frame is written from where it is. */
        const unsigned char *out = frame_start(o);
        size_t total = o->frame, count = 1;
        for (sb_out *p = o->next; p && total + p->frame <= WRITE_BURST; p = p->next) {
            total += p->frame;
            count++;
        }
        if (count > 1) {
            if (s->batch_cap < LWS_PRE + total) {
                unsigned char *b = realloc(s->batch, LWS_PRE + total);
                if (!b)
                    return -1;
                s->batch = b;
                s->batch_cap = LWS_PRE + total;
            }
            size_t at = LWS_PRE;
            for (sb_out *p = o; at < LWS_PRE + total; p = p->next) {
                memcpy(s->batch + at, frame_start(p), p->frame);
                at += p->frame;
            }
            out = s->batch + LWS_PRE;
        }
        /* LWS_WRITE_RAW: the bytes are whole frames already. lws keeps what
         * the socket does not take and sends it before anything else. */
        if (lws_write(c->wsi, (unsigned char *)out, total, LWS_WRITE_RAW) < (int)total)
            return -1;
        for (size_t i = 0; i < count; i++) {
            o = c->head;
            sb_counter_add(s->m_bytes_out, o->len);
            c->head = o->next;
            c->queued -= o->len;
            free(o);
        }
        if (!c->head)
            c->tail = NULL;
        c->last_write_ms = sb_now_ms();
        low_water(c);
        if (c->head || c->close_code)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
}

static int conn_writeable(sb_conn *c)
{
    flush_unlink(c); /* written now: the flush has nothing left for it */
    if (c->head)
        return write_batch(c);
    low_water(c); /* an empty queue asked for a drain callback */
    if (c->close_code) {
        const char *r = c->close_reason ? c->close_reason : "";
        lws_close_reason(c->wsi, (enum lws_close_status)c->close_code, (unsigned char *)r,
                         strlen(r));
        return -1;
    }
    return 0;
}

/* lws checks UTF-8 as frames arrive, but a message whose last frame ends
 * inside a character passes (lws would object only at the next frame).
 * True when the last character of p[0..n) is complete. */
static bool utf8_tail_complete(const unsigned char *p, size_t n)
{
    size_t cont = 0;
    while (cont < n && cont < 4 && (p[n - 1 - cont] & 0xC0) == 0x80)
        cont++;
    if (cont == n)
        return cont == 0;
    unsigned char lead = p[n - 1 - cont];
    size_t need = lead < 0x80         ? 1
                  : (lead >> 5) == 6  ? 2
                  : (lead >> 4) == 14 ? 3
                  : (lead >> 3) == 30 ? 4
                                      : 0;
    return need == cont + 1;
}

static int close_bad_utf8(struct lws *wsi)
{
    static const char reason[] = "invalid UTF-8";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, (unsigned char *)reason,
                     sizeof reason - 1);
    return -1;
}

/* A message arrives in pieces (WebSocket fragments, and frames larger than
 * lws' receive buffer). Small whole messages are handed over in place. */
static int conn_receive(sb_conn *c, const char *in, size_t len)
{
    struct lws *wsi = c->wsi;
    sb_server *s = c->srv;
    bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;

    sb_counter_add(s->m_bytes_in, len);
    idle_touch(s, c, sb_now_ms());
    if (lws_is_first_fragment(wsi) && !c->rx_len) {
        c->rx_binary = lws_frame_is_binary(wsi);
        if (c->rx_binary && !c->route->accept_binary) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                             (unsigned char *)"text frames only", 16);
            return -1;
        }
    }
    size_t max = c->route->max_message ? c->route->max_message : s->cfg.max_message_bytes;
    if (c->rx_len + len > max) {
        sb_counter_add(s->m_closed_big, 1);
        char reason[64];
        int n = snprintf(reason, sizeof reason, "message over %zu bytes", max);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
                         (size_t)n);
        return -1;
    }
    if (final && c->rx_len == 0) {
        if (!c->rx_binary && !utf8_tail_complete((const unsigned char *)in, len))
            return close_bad_utf8(wsi);
        turn_account(c, len);
        if (!c->close_code)
            c->route->on_message(c, in, len, c->rx_binary, c->route->arg);
        return 0;
    }
    if (c->rx_len + len + 1 > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap * 2 : 1024;
        while (cap < c->rx_len + len + 1)
            cap *= 2;
        char *p = realloc(c->rx, cap);
        if (!p)
            return -1;
        c->rx = p;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (final) {
        size_t n = c->rx_len;
        c->rx_len = 0;
        if (!c->rx_binary && !utf8_tail_complete((const unsigned char *)c->rx, n))
            return close_bad_utf8(wsi);
        turn_account(c, n);
        if (!c->close_code)
            c->route->on_message(c, c->rx, n, c->rx_binary, c->route->arg);
        /* a large buffer is not kept for an idle connection */
        if (c->rx_cap > 4096) {
            free(c->rx);
            c->rx = NULL;
            c->rx_cap = 0;
        }
    }
    return 0;
}

/* Once a second: idle connections (the least recently active are at the
 * head of the list) and stalled consumers (a queue that has not moved for
 * --send-timeout: the client stopped reading, and the senders talking to it
 * are paused, so its queue may never reach the cap by itself). */
static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_server *s = arg;
    int64_t now = sb_now_ms();
    if (s->cfg.idle_timeout_s > 0) {
        int64_t limit = (int64_t)s->cfg.idle_timeout_s * 1000;
        for (sb_conn *c = s->idle_head; c && now - c->last_active_ms >= limit;) {
            sb_conn *next = c->idle_next;
            if (!c->close_code) {
                sb_counter_add(s->m_closed_idle, 1);
                sb_conn_close(c, SB_CLOSE_GOING_AWAY, "idle timeout");
            }
            idle_unlink(s, c); /* checked once; the close is under way */
            c = next;
        }
    }
    for (size_t i = 0; i < CONN_BUCKETS; i++) {
        for (sb_conn *c = s->buckets[i]; c; c = c->hash_next) {
            if (c->kind == CONN_WS && c->queued && !c->close_code &&
                now - c->last_write_ms >= (int64_t)s->cfg.send_timeout_s * 1000) {
                sb_counter_add(s->m_closed_stalled, 1);
                sb_log(SB_LOG_WARN, "consumer_stalled", "conn=%llu channel=%s queued=%zu",
                       (unsigned long long)c->id, c->route->channel, c->queued);
                drop_queue(c);
                sb_conn_close(c, SB_CLOSE_POLICY, "consumer too slow");
            }
        }
    }
}

/* HTTP ------------------------------------------------------------------ */

static const sb_ws_route *ws_find(sb_server *s, struct lws *wsi)
{
    char uri[512];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return NULL;
    for (size_t i = 0; i < s->n_ws; i++)
        if (strcmp(uri, s->ws_routes[i]->path) == 0)
            return s->ws_routes[i];
    return NULL;
}

/* RFC 6455 4.1: Sec-WebSocket-Key is 16 bytes in base64, i.e. 22 characters
 * of the alphabet and "==" (lws takes any value and hashes it). */
static bool ws_key_valid(struct lws *wsi)
{
    char key[32];
    if (lws_hdr_copy(wsi, key, sizeof key, WSI_TOKEN_KEY) != 24 || strcmp(key + 22, "==") != 0)
        return false;
    for (int i = 0; i < 22; i++) {
        char ch = key[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '/'))
            return false;
    }
    return true;
}

/* What a WebSocket route is told of its upgrade request, and the bytes it
 * points into (on the stack of the callback that reads it). */
typedef struct ws_request_store {
    char qstore[2048], auth[512], peer[64], cookie[4096], origin[256], host[256];
    sb_query query;
} ws_request_store;

static const char *ws_header(struct lws *wsi, char *buf, int cap, enum lws_token_indexes h)
{
    return lws_hdr_copy(wsi, buf, cap, h) > 0 ? buf : NULL;
}

static void read_ws_request(struct lws *wsi, const sb_ws_route *route, ws_request_store *st,
                            sb_ws_request *req)
{
    sb_read_query(wsi, &st->query, st->qstore, sizeof st->qstore);
    lws_get_peer_simple(wsi, st->peer, sizeof st->peer);
    *req = (sb_ws_request){
        .path = route->path,
        .query = &st->query,
        .authorization = ws_header(wsi, st->auth, sizeof st->auth, WSI_TOKEN_HTTP_AUTHORIZATION),
        .peer = st->peer,
        .cookie = ws_header(wsi, st->cookie, sizeof st->cookie, WSI_TOKEN_HTTP_COOKIE),
        .origin = ws_header(wsi, st->origin, sizeof st->origin, WSI_TOKEN_ORIGIN),
        .host = ws_header(wsi, st->host, sizeof st->host, WSI_TOKEN_HOST),
    };
}

/* The route's own check before the upgrade: 0 to upgrade, or its refusal
 * answered (1, or -1 to close). */
static int ws_ask_route(struct lws *wsi, const sb_ws_route *route)
{
    ws_request_store st;
    sb_ws_request req;
    read_ws_request(wsi, route, &st, &req);
    sb_http_response refusal;
    sb_http_response_init(&refusal);
    int rc = 0;
    if (route->on_upgrade(&req, route->arg, &refusal) != 0) {
        if (refusal.status < 400)
            refusal.status = 400;
        rc = sb_http_answer_now(wsi, &refusal);
        if (rc == 0)
            rc = 1;
    }
    sb_http_response_free(&refusal);
    return rc;
}

/* HTTP_CONFIRM_UPGRADE: in = the protocol asked for ("websocket"). Route on
 * the path, then check the opening handshake (RFC 6455 4.2.1), which lws
 * 4.1 does not: it upgraded any Sec-WebSocket-Version and Key, and HTTP/1.0.
 * There is no per-session memory yet (user is NULL). Returns 0 to upgrade, 1
 * when answered (keep-alive), -1 to close. */
static int ws_confirm_upgrade(struct lws *wsi, sb_server *s, const char *proto)
{
    char uri[512], version[16];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        uri[0] = '\0';
    const char *bad = sb_http_request_line_error(wsi, uri);
    if (bad)
        return sb_http_refuse_now(wsi, 400, bad);
    if (lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_HTTP) <= 0 ||
        strcmp(version, "HTTP/1.1") != 0)
        return sb_http_refuse_now(wsi, 400, "a WebSocket upgrade needs HTTP/1.1");
    int rc;
    const sb_ws_route *route = strcasecmp(proto, "websocket") == 0 ? ws_find(s, wsi) : NULL;
    if (!route)
        rc = sb_http_error_now(wsi, 404, "no WebSocket endpoint here");
    else if (lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_VERSION) <= 0 ||
             strcmp(version, "13") != 0)
        rc = sb_http_error_headers_now(wsi, 426, "Sec-WebSocket-Version: 13\r\n",
                                       "unsupported Sec-WebSocket-Version: 13 only");
    else if (!ws_key_valid(wsi))
        rc = sb_http_error_now(wsi, 400, "Sec-WebSocket-Key must be 16 bytes in base64");
    else if (route->on_upgrade && (rc = ws_ask_route(wsi, route)) != 0)
        ;
    else
        return 0;
    return rc < 0 ? -1 : 1;
}

static int ws_established(struct lws *wsi, sb_server *s, session *ss)
{
    /* lws may hand the upgraded connection fresh per-session memory, so the
     * route found at CONFIRM_UPGRADE is looked up again; the headers are
     * still there during ESTABLISHED */
    const sb_ws_route *route = ws_find(s, wsi);
    if (!route)
        return -1;
    if (s->shutting_down) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"shutting down", 13);
        return -1;
    }
    if ((int)s->n_conns >= s->cfg.max_connections) {
        /* Counted exactly; logged at most once a second with how many since
         * (a connection storm must not flood the log). */
        sb_counter_add(s->m_refused_max, 1);
        sb_log_every(&s->refuse_max_log, 1000, SB_LOG_WARN, "connections_refused",
                     "reason=max_connections max=%d", s->cfg.max_connections);
        lws_close_reason(wsi, (enum lws_close_status)SB_CLOSE_TRY_AGAIN,
                         (unsigned char *)"too many connections", 20);
        return -1;
    }
    sb_conn *c = sb_conn_new(s, wsi, route, CONN_WS);
    if (!c)
        return -1;
    ss->conn = c;
    sb_counter_add(s->m_accepted, 1);

    ws_request_store st;
    sb_ws_request req;
    read_ws_request(wsi, route, &st, &req);
    c->opened = true;
    if (route->on_open(c, &req, route->arg) != 0 && !c->close_code)
        sb_conn_close(c, SB_CLOSE_POLICY, "refused");
    return 0;
}

static void ws_closed(session *ss)
{
    sb_conn *c = ss->conn;
    if (!c)
        return;
    ss->conn = NULL;
    if (c->opened && c->route->on_close)
        c->route->on_close(c, c->route->arg);
    sb_server *s = c->srv;
    sb_conn_free(c);
    if (s->shutting_down && s->n_conns == 0 && s->grace_timer) {
        struct timeval now = {0, 0};
        event_add(s->grace_timer, &now); /* everyone has gone: finish at once */
    }
}

/* Admission, at accept(2) --------------------------------------------- */

/* The one server of the process: FILTER_NETWORK_CONNECTION may come with no
 * wsi to find it from. */
static sb_server *the_server;

/* A TCP connection was accepted (fd): admit it, or refuse it (lws closes it
 * at once) when its address, or the connections not yet settled, are at
 * their limit. Counted and logged, a line a second at most. */
static int admit(sb_server *s, int fd)
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char ip[SB_PEER_ADDR_MAX] = "?";
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
        else if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip, sizeof ip);
    }
    int pending = s->cfg.max_pending ? s->cfg.max_pending : s->fd_budget / 4;
    sb_peer_verdict v = sb_peers_admit(s->peers, ip, s->cfg.max_ip_connections, pending);
    if (v == SB_PEER_OK)
        return 0;
    sb_counter_add(v == SB_PEER_TOO_MANY_PENDING ? s->m_refused_pending : s->m_refused_ip, 1);
    char peer[80];
    sb_log_every(&s->refuse_log, 1000, SB_LOG_WARN, "connections_refused",
                 "reason=%s peer=%s pending=%d", sb_peer_verdict_text(v),
                 sb_log_kv_str(peer, sizeof peer, ip), sb_peers_pending(s->peers));
    return 1;
}

/* lws tells us of every ping (scripts/lws-patches/0005-ws-ping-callback.patch):
 * past --max-ping-rate (bursts of twice that) the connection is closed with
 * 1008. Returns what the callback returns (nonzero closes). */
#define SB_LWS_PING (LWS_CALLBACK_USER + 0x50)

static int conn_ping(sb_conn *c)
{
    sb_server *s = c->srv;
    double rate = s->cfg.max_ping_rate;
    if (sb_bucket_take(&c->pings, rate, 2 * rate, 1, sb_mono_us()))
        return 0;
    sb_counter_add(s->m_closed_pings, 1);
    sb_log_every(&s->ping_log, 1000, SB_LOG_WARN, "limited", "limit=pings conn=%llu channel=%s",
                 (unsigned long long)c->id, c->route->channel);
    static const char reason[] = "too many pings";
    lws_close_reason(c->wsi, (enum lws_close_status)SB_CLOSE_POLICY, (unsigned char *)reason,
                     sizeof reason - 1);
    return -1;
}

/* The one lws callback ------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    /* some reasons (FILTER_NETWORK_CONNECTION) come without a wsi */
    sb_server *s = wsi ? lws_context_user(lws_get_context(wsi)) : the_server;
    session *ss = user;

    if ((int)reason == SB_LWS_PING) /* not one of lws' own reasons: outside the switch */
        return ss && ss->conn && ss->conn->kind == CONN_WS ? conn_ping(ss->conn) : 0;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return s ? admit(s, (int)(intptr_t)in) : 0;
    case LWS_CALLBACK_WSI_CREATE:
        if (s)
            sb_peers_bind(s->peers, (uint64_t)(uintptr_t)wsi);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (s)
            sb_peers_gone(s->peers, (uint64_t)(uintptr_t)wsi);
        break;
    case LWS_CALLBACK_HTTP:
        return sb_http_on_request(wsi, s, ss, in);
    case LWS_CALLBACK_HTTP_BODY:
        return sb_http_on_body(wsi, ss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return sb_http_on_body_done(wsi, s, ss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return sb_http_on_writeable(wsi, ss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (ss)
            sb_http_on_closed(ss);
        break;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return ws_confirm_upgrade(wsi, s, in);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_find(s, wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
        sb_peers_settled(s->peers, (uint64_t)(uintptr_t)wsi);
        return ws_established(wsi, s, ss);
    case LWS_CALLBACK_RECEIVE:
        return ss->conn ? conn_receive(ss->conn, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ss->conn ? conn_writeable(ss->conn) : 0;
    case LWS_CALLBACK_CLOSED:
        ws_closed(ss);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Life cycle ------------------------------------------------------------ */

sb_server *sb_server_new(struct event_base *base, const sb_config *cfg)
{
    sb_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->cfg = *cfg;
    s->m_open = sb_gauge_new("switchboard_connections", "Open WebSocket connections", NULL);
    s->m_accepted = sb_counter_new("switchboard_connections_accepted_total",
                                   "WebSocket connections accepted", NULL);
    s->m_closed_queue = sb_counter_new("switchboard_connections_closed_total",
                                       "WebSocket connections closed by the server, by reason",
                                       "reason=\"queue_full\"");
    s->m_closed_stalled = sb_counter_new("switchboard_connections_closed_total",
                                         "WebSocket connections closed by the server, by reason",
                                         "reason=\"stalled\"");
    s->m_closed_big = sb_counter_new("switchboard_connections_closed_total",
                                     "WebSocket connections closed by the server, by reason",
                                     "reason=\"message_too_big\"");
    s->m_closed_pings =
        sb_counter_new("switchboard_connections_closed_total",
                       "WebSocket connections closed by the server, by reason", "reason=\"pings\"");
    s->m_closed_idle =
        sb_counter_new("switchboard_connections_closed_total",
                       "WebSocket connections closed by the server, by reason", "reason=\"idle\"");
    s->peers = sb_peers_new();
    static const char refused_help[] = "Connections refused, by reason";
    s->m_refused_ip = sb_counter_new("switchboard_connections_refused_total", refused_help,
                                     "reason=\"address_limit\"");
    s->m_refused_pending = sb_counter_new("switchboard_connections_refused_total", refused_help,
                                          "reason=\"pending_limit\"");
    s->m_refused_max = sb_counter_new("switchboard_connections_refused_total", refused_help,
                                      "reason=\"max_connections\"");
    s->m_http = sb_counter_new("switchboard_http_requests_total", "HTTP requests answered", NULL);
    s->m_bytes_in =
        sb_counter_new("switchboard_ws_bytes_total", "WebSocket payload bytes", "dir=\"in\"");
    s->m_bytes_out =
        sb_counter_new("switchboard_ws_bytes_total", "WebSocket payload bytes", "dir=\"out\"");
    return s;
}

void sb_server_set_error_writer(sb_server *s, sb_error_writer w)
{
    s->error_writer = w;
}

/* Append a copy of a route to a growing array of pointers; -1 on OOM. */
static int add_route(void ***routes, size_t *n, const void *route, size_t size, char *err,
                     size_t err_size)
{
    void **p = realloc(*routes, (*n + 1) * sizeof *p);
    void *copy = p ? malloc(size) : NULL;
    if (!copy) {
        if (p)
            *routes = p;
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    memcpy(copy, route, size);
    p[(*n)++] = copy;
    *routes = p;
    return 0;
}

int sb_server_add_ws(sb_server *s, const sb_ws_route *route, char *err, size_t err_size)
{
    if (!route->path || route->path[0] != '/' || !route->on_open || !route->on_message) {
        snprintf(err, err_size, "WebSocket route %s: a path and on_open/on_message are required",
                 route->path ? route->path : "(null)");
        return -1;
    }
    for (size_t i = 0; i < s->n_ws; i++) {
        if (strcmp(s->ws_routes[i]->path, route->path) == 0) {
            snprintf(err, err_size, "WebSocket route %s: registered twice", route->path);
            return -1;
        }
    }
    return add_route((void ***)&s->ws_routes, &s->n_ws, route, sizeof *route, err, err_size);
}

int sb_server_add_http(sb_server *s, const sb_http_route *route, char *err, size_t err_size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    const char *why = sb_path_template_error(route->path);
    bool known = false;
    for (size_t i = 0; route->method && i < sizeof methods / sizeof methods[0]; i++)
        known |= strcmp(route->method, methods[i]) == 0;
    if (why || !known || !route->on_request) {
        snprintf(err, err_size, "HTTP route %s %s: %s", route->method ? route->method : "(null)",
                 route->path ? route->path : "(null)",
                 why      ? why
                 : !known ? "unsupported method"
                          : "no handler");
        return -1;
    }
    for (size_t i = 0; i < s->n_http; i++) {
        if (strcmp(s->http_routes[i]->method, route->method) == 0 &&
            strcmp(s->http_routes[i]->path, route->path) == 0) {
            snprintf(err, err_size, "HTTP route %s %s: registered twice", route->method,
                     route->path);
            return -1;
        }
    }
    return add_route((void ***)&s->http_routes, &s->n_http, route, sizeof *route, err, err_size);
}

/* lws' own log lines, through ours. A client can make lws log (a failed
 * accept, a bad handshake), so the same line is written at most once a
 * second, with how many times it came meanwhile. */
static void lws_log_to_ours(int level, const char *line)
{
    static char last[256];
    static int64_t last_ms;
    static unsigned long repeats;
    char msg[256];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    sb_log_kv_strn(msg, sizeof msg, line, n);
    int64_t now = sb_now_ms();
    if (strcmp(msg, last) == 0 && now - last_ms < 1000) {
        repeats++;
        return;
    }
    sb_log(level & LLL_ERR ? SB_LOG_ERROR : SB_LOG_WARN, "lws", "msg=%s repeated=%lu", msg,
           strcmp(msg, last) == 0 ? repeats : 0);
    snprintf(last, sizeof last, "%s", msg);
    last_ms = now;
    repeats = 0;
}

/* Descriptors kept back from lws for everything that is not a client: the
 * database and its WAL and shared memory (twice: the checkpointer has its
 * own connection), the event loop's own, the log, a spare for accept(2)
 * errors. lws stops accepting (takes the listening socket out of its poll
 * set) when its sockets reach the rest, instead of meeting EMFILE. */
#define FD_RESERVE 64

static int fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000)
        return 1000000;
    return rl.rlim_cur > FD_RESERVE * 2 ? (int)rl.rlim_cur - FD_RESERVE : (int)rl.rlim_cur / 2;
}

int sb_server_start(sb_server *s)
{
    struct lws_context_creation_info info;
    void *loops[1] = {s->base};

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_ours);
    s->protocols[0] = (struct lws_protocols){
        .name = "switchboard",
        .callback = callback,
        .per_session_data_size = sizeof(session),
        /* lws' receive buffer per connection: small, since most messages
         * are; bigger ones arrive in several RECEIVE calls and are joined */
        .rx_buffer_size = 1024,
        /* what lws sends in one send(2): without it, rx_buffer_size, so a
         * batch of frames (conn_writeable) went out 1 KiB a call, the rest
         * buffered by lws for another WRITEABLE round */
        .tx_packet_size = WRITE_BURST,
    };
    memset(&info, 0, sizeof info);
    info.port = s->cfg.port; /* 0: the kernel picks one; we read it back below */
    info.iface = s->cfg.bind;
    info.protocols = s->protocols;
    info.options = LWS_SERVER_OPTION_LIBEVENT | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.count_threads = 1;
    info.user = s;
    info.timeout_secs = 10; /* handshakes and stuck sends */
    /* idle HTTP keep-alive: longer than the therapy poll's 5 s interval,
     * so that a polling client keeps its connection instead of reopening
     * one for about every fifth poll (bench/therapy measured the churn) */
    info.keepalive_timeout = 20;
    info.pt_serv_buf_size = 4096;
    info.max_http_header_data = 4096;
    s->fd_budget = fd_budget();
    info.fd_limit_per_thread = (unsigned int)s->fd_budget;
    the_server = s;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    sb_log(SB_LOG_INFO, "descriptors",
           "limit=%llu clients=%u reserved=%d max_pending=%d max_ip_connections=%d",
           (unsigned long long)rl.rlim_cur, info.fd_limit_per_thread, FD_RESERVE,
           s->cfg.max_pending ? s->cfg.max_pending : s->fd_budget / 4, s->cfg.max_ip_connections);
    s->ctx = lws_create_context(&info);
    if (!s->ctx)
        return -1;
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "default");
    s->port = vh ? lws_get_vhost_listen_port(vh) : s->cfg.port;
    s->idle_timer = event_new(s->base, -1, EV_PERSIST, tick, s);
    s->flush_ev = event_new(s->base, -1, 0, flush_due, s);
    struct timeval tick = {1, 0};
    event_add(s->idle_timer, &tick);
    return s->port;
}

static void grace_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_server *s = arg;
    void (*done)(void *) = s->shutdown_done;
    s->shutdown_done = NULL;
    if (done)
        done(s->shutdown_arg);
}

void sb_server_shutdown(sb_server *s, int grace_ms, void (*done)(void *arg), void *arg)
{
    if (s->shutting_down) {
        /* asked again (a second signal): finish now */
        if (s->grace_timer) {
            struct timeval now = {0, 0};
            event_add(s->grace_timer, &now);
        }
        return;
    }
    s->shutting_down = true;
    s->shutdown_done = done;
    s->shutdown_arg = arg;
    /* Stop accepting: close the listening socket. lws would also end the
     * context by raising SIGINT once no connection is left; our signal
     * handler then just finishes the shutdown that is already under way. */
    lws_context_deprecate(s->ctx, NULL);
    for (size_t i = 0; i < CONN_BUCKETS; i++)
        for (sb_conn *c = s->buckets[i]; c; c = c->hash_next)
            if (c->kind == CONN_WS)
                sb_conn_close(c, SB_CLOSE_GOING_AWAY, "server shutting down");
    s->grace_timer = evtimer_new(s->base, grace_over, s);
    struct timeval tv = {grace_ms / 1000, (grace_ms % 1000) * 1000};
    if (s->n_conns == 0)
        tv = (struct timeval){0, 0};
    event_add(s->grace_timer, &tv);
}

void sb_server_free(sb_server *s)
{
    if (!s)
        return;
    if (s->ctx)
        lws_context_destroy(s->ctx); /* before event_base_free: lws holds events on it */
    if (s->idle_timer)
        event_free(s->idle_timer);
    if (s->flush_ev)
        event_free(s->flush_ev);
    s->flush_ev = NULL;
    free(s->batch);
    free(s->flush);
    if (s->grace_timer)
        event_free(s->grace_timer);
    for (size_t i = 0; i < s->n_ws; i++)
        free(s->ws_routes[i]);
    for (size_t i = 0; i < s->n_http; i++)
        free(s->http_routes[i]);
    free(s->ws_routes);
    free(s->http_routes);
    sb_peers_free(s->peers);
    if (the_server == s)
        the_server = NULL;
    free(s);
}
