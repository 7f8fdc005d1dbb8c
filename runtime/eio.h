/*
 * eio.h: Engine.IO v4 sessions on the runtime (rt.h), over HTTP long
 * polling and WebSocket, with the upgrade from one to the other.
 *
 * A session is an endpoint of the runtime (rt.h): an ID that outlives the
 * HTTP requests and the WebSocket that carry it. The layer above (sio.h,
 * or a bare protocol) is called with ctx->conn set to that ID and
 * ctx->session to what it keeps for the session, and it writes to the ID
 * like to a connection: sb_outbox_conn(ctx->out, id), topics, sb_rt_close.
 * What it writes is one Engine.IO packet per frame: a message is the byte
 * '4' followed by its text (SB_EIO_MESSAGE), or raw bytes marked binary
 * (sb_outbox_binary). Over polling the packets are joined with 0x1e and
 * binary ones sent as "b" + base64; over WebSocket each is a frame.
 *
 * Served here, so that the layer above never sees them: the handshake and
 * its open packet, the server's heartbeat (a ping every ping_interval_ms,
 * put ahead of any backlog on a WebSocket, and the session closed when no
 * pong comes within ping_timeout_ms), the probe and upgrade, the client's
 * close packet, and every rejection of the protocol (HTTP 400/403 with a
 * JSON {code, message} body).
 */
#ifndef SB_EIO_H
#define SB_EIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "rt.h"

struct sb_ctx;
typedef struct sb_eio sb_eio;

#define SB_EIO_MESSAGE '4' /* the packet type of a message */

/* Why a session ended (the layer above's on_close gets one of these). */
#define SB_EIO_TRANSPORT_CLOSE "transport close"
#define SB_EIO_TRANSPORT_ERROR "transport error"
#define SB_EIO_PING_TIMEOUT "ping timeout"
#define SB_EIO_PARSE_ERROR "parse error"
#define SB_EIO_SERVER_CLOSE "server close"
#define SB_EIO_CLIENT_CLOSE "client close"
/* Closed with SB_CLOSE_SERVICE_RESTART (a bus gap: bus.h): the client is to
 * reconnect, and a recovering one gets what it missed, so this is not an
 * explicit goodbye (the layer above keeps what recovery needs). */
#define SB_EIO_SERVER_RESTART "server restart"

typedef struct sb_eio_handshake {
    const sb_query *query; /* the handshake request's query (EIO, transport, the client's own) */
    const char *peer;      /* client address */
    bool websocket;        /* opened directly on a WebSocket (no polling) */
} sb_eio_handshake;

typedef struct sb_eio_config {
    const char *path;       /* e.g. "/realtime": served at it and at it + "/" */
    const char *channel;    /* for logs and metrics */
    int ping_interval_ms;   /* 0: 25000 */
    int ping_timeout_ms;    /* 0: 20000 */
    int upgrade_timeout_ms; /* 0: 10000 */
    size_t max_payload;     /* bytes of a POST body or of one WebSocket message; 0: 1000000 */
    size_t max_queue;       /* bytes waiting for a long poll before the session is closed;
                             * 0: 1 MiB */
    /* A new session (ctx->conn is its ID): set ctx->session, queue a
     * greeting. Return 0, or -1 to refuse it (403, code 4 "Forbidden"). */
    int (*on_open)(struct sb_ctx *ctx, const sb_eio_handshake *hs);
    /* One message: text (without the '4') or binary. */
    void (*on_message)(struct sb_ctx *ctx, const char *data, size_t len, bool binary);
    /* The session is gone (reason: one of SB_EIO_*): free ctx->session.
     * Its topics and timers are released by the runtime. */
    void (*on_close)(struct sb_ctx *ctx, const char *reason);
    void *app;
    /* Several nodes behind one proxy: every sid begins with this and '-'
     * ("n2-00000000002a..."), so the proxy can send a session's requests to
     * the node holding it (docs/deployment.md). 1..31 of A-Z a-z 0-9 _ -;
     * NULL or "": no prefix. */
    const char *sid_prefix;
} sb_eio_config;

/* Registers the routes (GET and POST for polling, the WebSocket) at path and
 * path + "/". NULL with a message in err when a route is taken. */
sb_eio *sb_eio_new(sb_rt *rt, const sb_eio_config *cfg, char *err, size_t err_size);
/* Ends every session (on_close: SB_EIO_SERVER_CLOSE) and frees. After
 * sb_server_free (whose closing connections still reach the sessions),
 * before sb_rt_free. */
void sb_eio_free(sb_eio *e);

size_t sb_eio_sessions(const sb_eio *e);
/* What the layer above keeps for a session (NULL: no such session). */
void *sb_eio_session_user(const sb_eio *e, uint64_t session);
/* "polling" or "websocket" (NULL: no such session). */
const char *sb_eio_transport(const sb_eio *e, uint64_t session);

#endif
