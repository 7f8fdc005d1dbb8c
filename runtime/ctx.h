/*
 * ctx.h: what a handler is given for one message, request or timer (the
 * `struct sb_ctx *` of the generated handler prototypes). Handlers reach the
 * world only through it: the app's state, the session, storage, the outbox.
 */
#ifndef SB_CTX_H
#define SB_CTX_H

#include "arena.h"
#include "http.h"
#include "json.h"
#include "outbox.h"
#include "rt.h"

struct sb_ctx {
    sb_rt *rt;
    sb_store *store;             /* writes join the turn's transaction */
    sb_outbox *out;              /* deliveries, sent after the commit */
    void *app;                   /* the protocol's state (the route's app) */
    void *session;               /* the connection's session (WebSocket), or what an
                                  * HTTP authenticate hook found; NULL: none */
    uint64_t conn;               /* the origin: a WebSocket connection, an HTTP request,
                                  * or a timer's owner */
    const sb_http_request *http; /* HTTP handlers: the request */
    sb_http_response *http_resp; /* and its response */
    sb_arena *arena;             /* freed after the message */
    int defer_ms;                /* set by sb_rt_defer() */
    const char *http_detail;     /* HTTP: what follows an error's text (a handler's
                                  * "PATH: REASON"; NULL: nothing); in the arena */
    struct ws_binding *binding;  /* the runtime's: the WebSocket route called */
};

#endif
