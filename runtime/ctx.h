/*
 * ctx.h: what a handler is given for one message or request (the
 * `struct sb_ctx *` of the generated handler prototypes). Handlers reach the
 * world only through it: storage, the connection, presence.
 */
#ifndef SB_CTX_H
#define SB_CTX_H

#include "arena.h"
#include "hub.h"
#include "json.h"
#include "server.h"
#include "store.h"

struct sb_ctx {
    sb_server *server;
    sb_store *store;
    sb_hub *hub;                 /* user -> connections */
    sb_conn *conn;               /* WebSocket handlers: the sender's connection */
    const sb_http_request *http; /* HTTP handlers: the request */
    sb_http_response *http_resp; /* and its response (status, headers) */
    void *user;                  /* the authenticated user, the protocol's own type */
    sb_arena *arena;             /* freed after the message */
    sb_buf *out;                 /* scratch for serializing */
};

#endif
