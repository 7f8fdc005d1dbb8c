/*
 * conformance.c: `serve --socketio-conformance`, what the official Engine.IO
 * v4 and Socket.IO v5 test suites (socket.io repository, docs/) expect of a
 * server: a bare Engine.IO echo at /engine.io/, and at /socket.io/ the
 * namespaces / and /custom, whose sockets are sent their CONNECT payload as
 * event "auth", get "message" back as "message-back" and have
 * "message-with-ack" acknowledged with the same arguments. Pings every
 * 300 ms with a 200 ms timeout, 1 MB payloads, a 1 s connect timeout.
 *
 * tests/socketio/ runs our own suite against it, and official.sh the
 * official ones.
 */
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "ctx.h"
#include "eio.h"
#include "outbox.h"
#include "sio.h"

struct conformance {
    sb_eio *echo;
    sb_sio *sio;
};

/* What the CONNECT carried, kept for on_ready. */
typedef struct socket_state {
    size_t len;
    char auth[];
} socket_state;

static void echo(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
    if (!binary)
        sb_buf_putc(b, SB_EIO_MESSAGE);
    sb_buf_put(b, data, len);
    if (binary)
        sb_outbox_binary(ctx->out);
}

static int on_connect(struct sb_ctx *ctx, sb_sio_socket *so, sb_str auth, sb_sio_reply *reply)
{
    (void)so;
    (void)reply;
    if (!auth.len)
        auth = (sb_str){"{}", 2};
    socket_state *st = malloc(sizeof *st + auth.len);
    if (!st)
        return -1;
    st->len = auth.len;
    memcpy(st->auth, auth.ptr, auth.len);
    ctx->session = st;
    return 0;
}

static void on_ready(struct sb_ctx *ctx, sb_sio_socket *so)
{
    socket_state *st = ctx->session;
    sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
    sb_sio_event_begin(b, sb_sio_namespace_name(so), "auth", 0);
    sb_buf_putc(b, ',');
    sb_buf_put(b, st->auth, st->len);
    sb_sio_event_end(b);
}

static void attachments(struct sb_ctx *ctx, const sb_sio_event *ev)
{
    for (size_t i = 0; i < ev->n_attachments; i++) {
        sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
        sb_buf_put(b, ev->attachments[i].ptr, ev->attachments[i].len);
        sb_outbox_binary(ctx->out);
    }
}

static void on_event(struct sb_ctx *ctx, sb_sio_socket *so, const sb_sio_event *ev)
{
    const char *nsp = sb_sio_namespace_name(so);
    int n = (int)ev->n_attachments;
    if (ev->name.len == 7 && memcmp(ev->name.ptr, "message", 7) == 0) {
        sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
        sb_sio_event_begin(b, nsp, "message-back", n);
        if (ev->args_raw.len) {
            sb_buf_putc(b, ',');
            sb_buf_put(b, ev->args_raw.ptr, ev->args_raw.len);
        }
        sb_sio_event_end(b);
        attachments(ctx, ev);
    } else if (ev->name.len == 16 && memcmp(ev->name.ptr, "message-with-ack", 16) == 0 &&
               ev->ack >= 0) {
        sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
        sb_sio_ack_begin(b, nsp, ev->ack, n);
        sb_buf_put(b, ev->args_raw.ptr, ev->args_raw.len);
        sb_sio_ack_end(b);
        attachments(ctx, ev);
    }
}

static void on_disconnect(struct sb_ctx *ctx, sb_sio_socket *so, const char *reason)
{
    (void)so;
    (void)reason;
    free(ctx->session);
    ctx->session = NULL;
}

static const sb_sio_namespace namespaces[] = {
    {"/", on_connect, on_ready, on_event, on_disconnect},
    {"/custom", on_connect, on_ready, on_event, on_disconnect},
};

conformance *conformance_start(sb_rt *rt, char *err, size_t err_size)
{
    conformance *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    sb_eio_config timing = {
        .ping_interval_ms = 300, .ping_timeout_ms = 200, .max_payload = 1000000};
    sb_eio_config e = timing;
    e.path = "/engine.io";
    e.channel = "conformance";
    e.on_message = echo;
    c->echo = sb_eio_new(rt, &e, err, err_size);
    sb_sio_config s = {.eio = timing,
                       .namespaces = namespaces,
                       .n_namespaces = sizeof namespaces / sizeof *namespaces,
                       .connect_timeout_ms = 1000};
    s.eio.path = "/socket.io";
    s.eio.channel = "conformance";
    c->sio = c->echo ? sb_sio_new(rt, &s, err, err_size) : NULL;
    if (!c->sio) {
        conformance_stop(c);
        return NULL;
    }
    return c;
}

void conformance_stop(conformance *c)
{
    if (!c)
        return;
    sb_sio_free(c->sio);
    sb_eio_free(c->echo);
    free(c);
}
