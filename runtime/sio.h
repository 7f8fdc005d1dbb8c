/*
 * sio.h: Socket.IO v5 on Engine.IO sessions (eio.h): namespaces, CONNECT
 * and its auth payload, CONNECT_ERROR, events and acks, binary attachments,
 * DISCONNECT both ways, the connect timeout.
 *
 * A protocol declares its namespaces and is called per socket (one
 * namespace of one Engine.IO session), with ctx->conn the session's
 * endpoint ID (write to it with sb_outbox_conn, subscribe it to topics)
 * and ctx->session what the protocol keeps for the socket. Packets are
 * written with the sb_sio_*_begin/end pairs below, so that a frame for a
 * topic is serialized once for every subscriber.
 *
 * Everything malformed closes the session, as the protocol says: an
 * unknown packet type, JSON that does not parse, an event that is not a
 * non-empty array starting with a name (a string that is not reserved, or
 * a number), an ack ID that is not a number, more attachments than
 * max_attachments, a binary message nobody announced.
 */
#ifndef SB_SIO_H
#define SB_SIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "eio.h"

struct sb_ctx;
typedef struct sb_sio sb_sio;
typedef struct sb_sio_socket sb_sio_socket;

typedef struct sb_sio_event {
    sb_str name;        /* decoded (a number's digits when the name is a number) */
    const sb_str *args; /* each argument after the name, as raw JSON */
    size_t n_args;
    sb_str args_raw;           /* the same, as written: "a,b" ("" when none) */
    int64_t ack;               /* the ack ID the client waits for, or -1 */
    const sb_str *attachments; /* binary events: the attachments, in order */
    size_t n_attachments;
} sb_sio_event;

/* What a namespace answers to a CONNECT. */
typedef struct sb_sio_reply {
    /* refusal: the CONNECT_ERROR's message and optional data (raw JSON) */
    char message[512];
    char data[512];
    /* acceptance: a pid offered for connection state recovery ("": none) */
    char pid[64];
} sb_sio_reply;

typedef struct sb_sio_namespace {
    const char *name; /* "/" or "/name" */
    /* CONNECT with its auth payload (raw JSON of an object, or "" when
     * none). Return 0 to accept (ctx->session: the socket's state; reply->pid
     * may be set), -1 with reply->message set to refuse, or 1 to answer
     * later with sb_sio_accept or sb_sio_refuse (ctx->session is kept; the
     * socket's packets are refused until then). */
    int (*on_connect)(struct sb_ctx *ctx, sb_sio_socket *so, sb_str auth, sb_sio_reply *reply);
    /* After the CONNECT reply is queued: what the socket is sent first. */
    void (*on_ready)(struct sb_ctx *ctx, sb_sio_socket *so);
    void (*on_event)(struct sb_ctx *ctx, sb_sio_socket *so, const sb_sio_event *ev);
    /* The socket is gone (reason: "client namespace disconnect", "server
     * namespace disconnect", or the session's, eio.h): free ctx->session. */
    void (*on_disconnect)(struct sb_ctx *ctx, sb_sio_socket *so, const char *reason);
} sb_sio_namespace;

typedef struct sb_sio_config {
    sb_eio_config eio; /* path, heartbeat, max_payload; its on_* are ours */
    const sb_sio_namespace *namespaces;
    size_t n_namespaces;
    int connect_timeout_ms; /* no CONNECT by then: closed; 0: 45000 */
    int max_attachments;    /* 0: 10 */
    void *app;              /* ctx->app in the namespaces' callbacks */
} sb_sio_config;

sb_sio *sb_sio_new(sb_rt *rt, const sb_sio_config *cfg, char *err, size_t err_size);
void sb_sio_free(sb_sio *s); /* before sb_rt_free */

/* The socket --------------------------------------------------------------- */

uint64_t sb_sio_session(const sb_sio_socket *so); /* the Engine.IO session's endpoint ID */
const char *sb_sio_namespace_name(const sb_sio_socket *so);
const char *sb_sio_id(const sb_sio_socket *so); /* the socket's sid, as sent to the client */
/* A parameter of the handshake's query (the client's own, e.g. sessionId). */
const char *sb_sio_query(const sb_sio_socket *so, const char *key);
/* The whole query, pointing into the socket's copy (out is the caller's). */
void sb_sio_handshake_query(const sb_sio_socket *so, sb_query *out);
const char *sb_sio_peer(const sb_sio_socket *so);
/* "polling" or "websocket". */
const char *sb_sio_transport(const sb_sio_socket *so);
/* Server-side DISCONNECT of the socket's namespace (the client does not
 * reconnect); with close_session the Engine.IO session ends too, once what
 * is queued has gone. on_disconnect is called. */
void sb_sio_disconnect(struct sb_ctx *ctx, sb_sio_socket *so, bool close_session);

/* A socket by its session and namespace (NULL: gone), for an answer that
 * comes later (on_connect returned 1). */
sb_sio_socket *sb_sio_find(sb_sio *s, uint64_t session, const char *nsp);
/* The late answers to a CONNECT: the reply (with pid, may be "") and
 * on_ready; or a CONNECT_ERROR, and on_disconnect ("connect refused"). */
void sb_sio_accept(struct sb_ctx *ctx, sb_sio_socket *so, const char *pid);
void sb_sio_refuse(struct sb_ctx *ctx, sb_sio_socket *so, const char *message, const char *data);
/* The socket's state (what on_connect left in ctx->session). */
void *sb_sio_user(const sb_sio_socket *so);

/* Writing packets ------------------------------------------------------------ */

/* An EVENT: begin writes 4 2 [nsp,] ["event" and the caller appends each
 * argument as ",<json>"; end closes the array. With attachments > 0 it is
 * a BINARY_EVENT (placeholders {"_placeholder":true,"num":i} in the
 * arguments), to be followed by that many binary frames. */
void sb_sio_event_begin(sb_buf *b, const char *nsp, const char *event, int attachments);
void sb_sio_event_end(sb_buf *b);
/* An ACK: begin writes 4 3 [nsp,] id [ and the caller appends the arguments,
 * comma-separated (no leading comma); end closes the array. */
void sb_sio_ack_begin(sb_buf *b, const char *nsp, int64_t ack, int attachments);
void sb_sio_ack_end(sb_buf *b);

#endif
