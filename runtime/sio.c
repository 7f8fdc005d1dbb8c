/*
 * sio.c: Socket.IO v5 (sio.h) over Engine.IO sessions (eio.c).
 *
 * A packet is <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]. Text
 * messages are parsed here (parse()); a BINARY_EVENT or BINARY_ACK waits in
 * `pending` for the binary messages it announced, then goes up like any
 * other event. Per Engine.IO session there is one `conn`, with the sockets
 * of the namespaces it joined.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "socketio.h" /* generated: the framing's JSON (schema/socketio.lua) */
#include "ctx.h"
#include "log.h"
#include "sio.h"
#include "sio_packet.h"
#include "token.h"

#define SOCKET_ID_LEN 20

struct sb_sio {
    sb_rt *rt;
    sb_sio_config cfg;
    sb_eio *eio;
};

typedef struct conn conn;

struct sb_sio_socket {
    conn *c;
    const sb_sio_namespace *ns;
    char sid[SOCKET_ID_LEN + 1];
    void *user;
    bool pending; /* CONNECT answered later (sb_sio_accept / sb_sio_refuse) */
    sb_sio_socket *next;
};

/* A binary packet waiting for its attachments. */
typedef struct pending {
    int type;
    const sb_sio_namespace *ns;
    int64_t ack;
    char *json; /* the JSON part, copied */
    size_t json_len;
    int expected, got;
    sb_str *attachments; /* copies */
} pending;

struct conn {
    sb_sio *sio;
    uint64_t session;
    /* the peer's address, then the handshake's query as key, value pairs,
     * each NUL-terminated: an idle connection is the server's most
     * numerous object, and a whole sb_query is 520 bytes */
    char *handshake;
    unsigned query_count;
    sb_sio_socket *sockets;
    sb_timer *connect_timer;
    pending *pending;
    bool dead;     /* a protocol error: closing, nothing more is read */
    bool kicked;   /* the server disconnected a socket: what was in flight is dropped */
    unsigned gone; /* sockets freed so far: a callback may disconnect its own */
};

/* Packets ------------------------------------------------------------------- */

static void put_nsp(sb_buf *b, const char *nsp)
{
    if (nsp && strcmp(nsp, "/") != 0) {
        sb_buf_put(b, nsp, strlen(nsp));
        sb_buf_putc(b, ',');
    }
}

void sb_sio_event_begin(sb_buf *b, const char *nsp, const char *event, int attachments)
{
    sb_buf_putc(b, '4');
    if (attachments > 0) {
        sb_buf_putc(b, '5');
        sb_write_int64(b, attachments);
        sb_buf_putc(b, '-');
    } else {
        sb_buf_putc(b, '2');
    }
    put_nsp(b, nsp);
    sb_buf_putc(b, '[');
    sb_write_string(b, (sb_str){event, strlen(event)});
}

void sb_sio_event_end(sb_buf *b)
{
    sb_buf_putc(b, ']');
}

void sb_sio_ack_begin(sb_buf *b, const char *nsp, int64_t ack, int attachments)
{
    sb_buf_putc(b, '4');
    if (attachments > 0) {
        sb_buf_putc(b, '6');
        sb_write_int64(b, attachments);
        sb_buf_putc(b, '-');
    } else {
        sb_buf_putc(b, '3');
    }
    put_nsp(b, nsp);
    sb_write_int64(b, ack);
    sb_buf_putc(b, '[');
}

void sb_sio_ack_end(sb_buf *b)
{
    sb_buf_putc(b, ']');
}

static void connect_error_to(struct sb_ctx *ctx, uint64_t session, const char *nsp,
                             const char *message, const char *data)
{
    sb_buf *b = sb_outbox_conn(ctx->out, session, NULL);
    SB_BUF_PUT_LIT(b, "44");
    put_nsp(b, nsp);
    socketio_socket_io_connect_error e = {.message = {message, strlen(message)}};
    if (data && data[0]) {
        e.data = (sb_str){data, strlen(data)};
        e.has.data = SB_SET;
    }
    socketio_socket_io_connect_error_write(b, &e);
}

static void connect_error(struct sb_ctx *ctx, const char *nsp, const char *message,
                          const char *data)
{
    connect_error_to(ctx, ctx->conn, nsp, message, data);
}

/* Sockets ------------------------------------------------------------------- */

void *sb_sio_user(const sb_sio_socket *so)
{
    return so->user;
}

uint64_t sb_sio_session(const sb_sio_socket *so)
{
    return so->c->session;
}

const char *sb_sio_namespace_name(const sb_sio_socket *so)
{
    return so->ns->name;
}

const char *sb_sio_id(const sb_sio_socket *so)
{
    return so->sid;
}

const char *sb_sio_query(const sb_sio_socket *so, const char *key)
{
    const char *p = so->c->handshake;
    p += strlen(p) + 1; /* the peer */
    for (unsigned i = 0; i < so->c->query_count; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, key) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

void sb_sio_handshake_query(const sb_sio_socket *so, sb_query *out)
{
    char *p = so->c->handshake;
    p += strlen(p) + 1;
    out->count = so->c->query_count;
    for (unsigned i = 0; i < so->c->query_count; i++) {
        out->item[i].key = p;
        p += strlen(p) + 1;
        out->item[i].value = p;
        p += strlen(p) + 1;
    }
}

const char *sb_sio_peer(const sb_sio_socket *so)
{
    return so->c->handshake;
}

const char *sb_sio_transport(const sb_sio_socket *so)
{
    const char *t = sb_eio_transport(so->c->sio->eio, so->c->session);
    return t ? t : "closed";
}

static sb_sio_socket *socket_of(conn *c, const sb_sio_namespace *ns)
{
    for (sb_sio_socket *so = c->sockets; so; so = so->next)
        if (so->ns == ns)
            return so;
    return NULL;
}

static void socket_unlink(conn *c, sb_sio_socket *so)
{
    for (sb_sio_socket **p = &c->sockets; *p; p = &(*p)->next) {
        if (*p == so) {
            *p = so->next;
            return;
        }
    }
}

/* The socket's callbacks run with ctx->session its own state. */
static struct sb_ctx socket_ctx(const struct sb_ctx *ctx, sb_sio_socket *so)
{
    struct sb_ctx sc = *ctx;
    sc.session = so->user;
    sc.app = so->c->sio->cfg.app;
    return sc;
}

static void socket_gone(const struct sb_ctx *ctx, sb_sio_socket *so, const char *reason)
{
    so->c->gone++;
    socket_unlink(so->c, so);
    if (so->ns->on_disconnect) {
        struct sb_ctx sc = socket_ctx(ctx, so);
        so->ns->on_disconnect(&sc, so, reason);
    }
    free(so);
}

/* The session of a kicked client, if the client has not closed it itself. */
static void close_kicked(struct sb_ctx *ctx, void *arg)
{
    conn *c = arg;
    if (!c->sockets)
        sb_rt_close(ctx, SB_CLOSE_NORMAL, "server disconnect");
}

#define KICK_GRACE_MS 1000

void sb_sio_disconnect(struct sb_ctx *ctx, sb_sio_socket *so, bool close_session)
{
    conn *c = so->c;
    c->kicked = true;
    sb_buf *b = sb_outbox_conn(ctx->out, c->session, NULL);
    SB_BUF_PUT_LIT(b, "41");
    put_nsp(b, so->ns->name);
    socket_gone(ctx, so, "server namespace disconnect");
    /* socket.io-client closes the session itself once its last socket is
     * kicked; closing it from here would race the DISCONNECT (the client
     * handles a closed transport at once but a packet on its next tick, so
     * it would report "transport close" and reconnect). A client that does
     * not close within the grace is closed. */
    if (close_session && !c->sockets)
        sb_rt_timer(c->sio->rt, c->session, KICK_GRACE_MS, false, close_kicked, c);
}

/* Parsing ------------------------------------------------------------------- */

static void fail(struct sb_ctx *ctx, conn *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    sb_log(SB_LOG_DEBUG, "sio_protocol_error", "session=%llu reason=\"%s\"",
           (unsigned long long)c->session, why);
    sb_rt_close(ctx, SB_CLOSE_POLICY, why);
}

static void deliver_event(struct sb_ctx *ctx, conn *c, sb_sio_socket *so, int type, int64_t ack,
                          const char *json, size_t len, const sb_str *att, size_t n_att)
{
    sb_sio_event ev = {.ack = ack, .attachments = att, .n_attachments = n_att};
    sb_str *items;
    size_t n;
    if (!sb_sio_array(ctx->arena, json, len, &items, &n, &ev.args_raw))
        return fail(ctx, c, "payload is not a JSON array");
    if (type == SB_SIO_ACK || type == SB_SIO_BINARY_ACK)
        return; /* the server asks for no acks: nothing waits for one */
    if (n == 0 || !sb_sio_event_name(ctx->arena, items[0], &ev.name))
        return fail(ctx, c, "an event needs a name");
    ev.args = items + 1;
    ev.n_args = n - 1;
    /* args_raw: what follows the name and its comma */
    const char *after = items[0].ptr + items[0].len;
    const char *end = ev.args_raw.ptr + ev.args_raw.len;
    while (after < end && (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r'))
        after++;
    if (after < end && *after == ',')
        after++;
    ev.args_raw = (sb_str){after, (size_t)(end - after)};
    if (so->ns->on_event) {
        struct sb_ctx sc = socket_ctx(ctx, so);
        unsigned gone = c->gone;
        so->ns->on_event(&sc, so, &ev);
        if (c->gone == gone) /* else the handler disconnected it: so is freed */
            so->user = sc.session;
    }
}

static const sb_sio_namespace *find_ns(const sb_sio *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->cfg.n_namespaces; i++) {
        const char *n = s->cfg.namespaces[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &s->cfg.namespaces[i];
    }
    return NULL;
}

/* The CONNECT reply, then what the namespace sends first. */
static void accepted(struct sb_ctx *ctx, sb_sio_socket *so, const char *pid)
{
    conn *c = so->c;
    sb_rt_timer_cancel(c->sio->rt, c->connect_timer);
    c->connect_timer = NULL;
    sb_buf *b = sb_outbox_conn(ctx->out, c->session, NULL);
    SB_BUF_PUT_LIT(b, "40");
    put_nsp(b, so->ns->name);
    socketio_socket_io_connect ok = {.sid = {so->sid, SOCKET_ID_LEN}};
    if (pid[0]) {
        ok.pid = (sb_str){pid, strlen(pid)};
        ok.has.pid = SB_SET;
    }
    socketio_socket_io_connect_write(b, &ok);
    if (so->ns->on_ready) {
        struct sb_ctx sc = socket_ctx(ctx, so);
        unsigned gone = c->gone;
        so->ns->on_ready(&sc, so);
        if (c->gone == gone) /* else the handler disconnected it: so is freed */
            so->user = sc.session;
    }
}

static void on_connect(struct sb_ctx *ctx, conn *c, const sb_sio_namespace *ns, const char *nsp,
                       const char *json, size_t len)
{
    if (!ns) {
        connect_error(ctx, nsp, "Invalid namespace", NULL);
        return;
    }
    sb_str auth = {"", 0};
    if (len) {
        sb_reader r;
        sb_reader_init(&r, json, len, ctx->arena, NULL);
        if (sb_peek(&r) != '{' || !sb_read_any(&r, &auth) || !sb_read_end(&r))
            return fail(ctx, c, "CONNECT payload is not an object");
    }
    if (socket_of(c, ns))
        return fail(ctx, c, "CONNECT to a namespace already joined");
    sb_sio_socket *so = calloc(1, sizeof *so);
    char token[SB_TOKEN_HEX_LEN + 1];
    if (!so || sb_token_new(token) != 0) {
        free(so);
        connect_error(ctx, nsp, "server error", NULL);
        return;
    }
    memcpy(so->sid, token, SOCKET_ID_LEN);
    so->c = c;
    so->ns = ns;
    sb_sio_reply reply;
    memset(&reply, 0, sizeof reply);
    struct sb_ctx sc = socket_ctx(ctx, so);
    sc.session = NULL;
    int rc = ns->on_connect ? ns->on_connect(&sc, so, auth, &reply) : 0;
    if (rc < 0) {
        connect_error(ctx, nsp, reply.message[0] ? reply.message : "refused", reply.data);
        free(so);
        return;
    }
    so->user = sc.session;
    so->next = c->sockets;
    c->sockets = so;
    if (rc == 1) { /* answered later: sb_sio_accept or sb_sio_refuse */
        so->pending = true;
        return;
    }
    accepted(ctx, so, reply.pid);
}

void sb_sio_accept(struct sb_ctx *ctx, sb_sio_socket *so, const char *pid)
{
    if (so->pending) {
        so->pending = false;
        accepted(ctx, so, pid ? pid : "");
    }
}

void sb_sio_refuse(struct sb_ctx *ctx, sb_sio_socket *so, const char *message, const char *data)
{
    if (!so->pending)
        return;
    connect_error_to(ctx, so->c->session, so->ns->name, message, data);
    socket_gone(ctx, so, "connect refused");
}

sb_sio_socket *sb_sio_find(sb_sio *s, uint64_t session, const char *nsp)
{
    conn *c = sb_eio_session_user(s->eio, session);
    const sb_sio_namespace *ns = find_ns(s, nsp, strlen(nsp));
    return c && ns ? socket_of(c, ns) : NULL;
}

/* One text message of the session: a packet. */
static void parse(struct sb_ctx *ctx, conn *c, const char *p, size_t len)
{
    sb_sio *s = c->sio;
    if (c->pending)
        return fail(ctx, c, "a text packet before the attachments announced");
    sb_sio_packet pk;
    const char *bad = sb_sio_packet_parse(p, len, s->cfg.max_attachments, &pk);
    if (bad)
        return fail(ctx, c, bad);
    int type = pk.type, attachments = pk.attachments;
    const char *nsp = pk.nsp;
    int64_t ack = pk.ack;
    const char *json = pk.json;
    size_t json_len = pk.json_len;
    const sb_sio_namespace *ns = find_ns(s, nsp, strlen(nsp));
    switch (type) {
    case SB_SIO_CONNECT:
        on_connect(ctx, c, ns, nsp, json, json_len);
        return;
    case SB_SIO_DISCONNECT: {
        if (json_len)
            return fail(ctx, c, "DISCONNECT carries no payload");
        sb_sio_socket *so = ns ? socket_of(c, ns) : NULL;
        if (!so)
            return fail(ctx, c, "DISCONNECT of a namespace not joined");
        socket_gone(ctx, so, "client namespace disconnect");
        return;
    }
    case SB_SIO_CONNECT_ERROR:
        return fail(ctx, c, "CONNECT_ERROR from a client");
    default:
        break;
    }
    if ((type == SB_SIO_ACK || type == SB_SIO_BINARY_ACK) && ack < 0)
        return fail(ctx, c, "an ACK without an ID");
    if (!json_len)
        return fail(ctx, c, "no payload");
    sb_sio_socket *so = ns ? socket_of(c, ns) : NULL;
    if (!so && c->kicked)
        return; /* sent before the client heard of its DISCONNECT */
    if (!so || so->pending)
        return fail(ctx, c, "a packet for a namespace not joined");
    if (attachments > 0) {
        if (!sb_sio_placeholders_ok(ctx->arena, json, json_len, attachments))
            return fail(ctx, c, "a binary packet's placeholders do not match its attachments");
        pending *pd = calloc(1, sizeof *pd);
        if (!pd || !(pd->json = malloc(json_len)) ||
            !(pd->attachments = calloc((size_t)attachments, sizeof *pd->attachments))) {
            if (pd)
                free(pd->json);
            free(pd);
            return fail(ctx, c, "out of memory");
        }
        memcpy(pd->json, json, json_len);
        *pd = (pending){type,     so ? ns : NULL, ack, pd->json,
                        json_len, attachments,    0,   pd->attachments};
        c->pending = pd;
        return;
    }
    deliver_event(ctx, c, so, type, ack, json, json_len, NULL, 0);
}

static void pending_free(pending *pd)
{
    if (!pd)
        return;
    for (int i = 0; i < pd->got; i++)
        free((void *)pd->attachments[i].ptr);
    free(pd->attachments);
    free(pd->json);
    free(pd);
}

static void attachment(struct sb_ctx *ctx, conn *c, const char *data, size_t len)
{
    pending *pd = c->pending;
    if (!pd)
        return fail(ctx, c, "a binary message nobody announced");
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return fail(ctx, c, "out of memory");
    memcpy(copy, data, len);
    pd->attachments[pd->got++] = (sb_str){copy, len};
    if (pd->got < pd->expected)
        return;
    c->pending = NULL;
    sb_sio_socket *so = pd->ns ? socket_of(c, pd->ns) : NULL;
    if (so)
        deliver_event(ctx, c, so, pd->type, pd->ack, pd->json, pd->json_len, pd->attachments,
                      (size_t)pd->expected);
    pending_free(pd);
}

/* Engine.IO callbacks ---------------------------------------------------- */

static void connect_expired(struct sb_ctx *ctx, void *arg)
{
    conn *c = arg;
    c->connect_timer = NULL;
    if (!c->sockets)
        sb_rt_close(ctx, SB_CLOSE_POLICY, "no CONNECT in time");
}

static bool copy_handshake(conn *c, const char *peer, const sb_query *q)
{
    peer = peer ? peer : "";
    size_t need = strlen(peer) + 1;
    for (size_t i = 0; i < q->count; i++)
        need += strlen(q->item[i].key) + strlen(q->item[i].value) + 2;
    c->handshake = malloc(need);
    if (!c->handshake)
        return false;
    char *p = c->handshake;
    size_t n = strlen(peer) + 1;
    memcpy(p, peer, n);
    p += n;
    c->query_count = (unsigned)q->count;
    for (size_t i = 0; i < q->count; i++) {
        size_t k = strlen(q->item[i].key) + 1, v = strlen(q->item[i].value) + 1;
        memcpy(p, q->item[i].key, k);
        p += k;
        memcpy(p, q->item[i].value, v);
        p += v;
    }
    return true;
}

static int eio_open(struct sb_ctx *ctx, const sb_eio_handshake *hs)
{
    sb_sio *s = ctx->app;
    conn *c = calloc(1, sizeof *c);
    if (!c || !copy_handshake(c, hs->peer, hs->query)) {
        free(c);
        return -1;
    }
    c->sio = s;
    c->session = ctx->conn;
    c->connect_timer =
        sb_rt_timer(s->rt, ctx->conn, s->cfg.connect_timeout_ms, false, connect_expired, c);
    ctx->session = c;
    return 0;
}

static void eio_message(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    conn *c = ctx->session;
    if (!c || c->dead)
        return;
    if (binary)
        attachment(ctx, c, data, len);
    else
        parse(ctx, c, data, len);
}

static void eio_close(struct sb_ctx *ctx, const char *reason)
{
    conn *c = ctx->session;
    if (!c)
        return;
    while (c->sockets)
        socket_gone(ctx, c->sockets, reason);
    pending_free(c->pending);
    free(c->handshake);
    free(c); /* the connect timer went with the session's timers */
    ctx->session = NULL;
}

sb_sio *sb_sio_new(sb_rt *rt, const sb_sio_config *cfg, char *err, size_t err_size)
{
    sb_sio *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->rt = rt;
    s->cfg = *cfg;
    if (!s->cfg.connect_timeout_ms)
        s->cfg.connect_timeout_ms = 45000;
    if (!s->cfg.max_attachments)
        s->cfg.max_attachments = 10;
    sb_eio_config e = cfg->eio;
    e.on_open = eio_open;
    e.on_message = eio_message;
    e.on_close = eio_close;
    e.app = s;
    s->eio = sb_eio_new(rt, &e, err, err_size);
    if (!s->eio) {
        free(s);
        return NULL;
    }
    return s;
}

void sb_sio_free(sb_sio *s)
{
    if (!s)
        return;
    sb_eio_free(s->eio); /* every session's on_close runs */
    free(s);
}
