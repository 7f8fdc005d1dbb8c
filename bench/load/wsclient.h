/*
 * wsclient.h: a small, fast WebSocket client (RFC 6455) for load
 * generation: many connections in one process, one epoll set, non-blocking
 * sockets, no dependency beyond libc.
 *
 * What it does: TCP connect, the HTTP/1.1 upgrade with a random
 * Sec-WebSocket-Key (the server's Sec-WebSocket-Accept is checked), masked
 * text frames out, server frames in (unmasked; fragments are joined; ping is
 * answered with pong; a close is answered and ends the connection).
 *
 * What it does not: TLS, extensions, subprotocols, redirects.
 *
 * Sending only queues: the queued bytes of every connection go out at the
 * end of ws_client_poll() (one send() per connection per turn, so a burst of
 * messages costs one system call), or at once with ws_flush().
 *
 * A connection is freed after its on_close callback has returned; do not
 * keep its pointer after that. Callbacks may send, close other connections
 * and open new ones.
 */
#ifndef SB_WSCLIENT_H
#define SB_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_client ws_client;
typedef struct ws_conn ws_conn;

typedef struct ws_callbacks {
    /* the upgrade succeeded */
    void (*on_open)(ws_conn *c, void *user);
    /* one whole text (or binary) message */
    void (*on_message)(ws_conn *c, const char *data, size_t len, int binary, void *user);
    /* the end, once: code is the server's close code, 1005 when its close
     * frame had none, 1006 when the connection failed or dropped (the reason
     * then says why) */
    void (*on_close)(ws_conn *c, int code, const char *reason, void *user);
} ws_callbacks;

ws_client *ws_client_new(const ws_callbacks *cb);
/* Closes what is still open (without callbacks) and frees everything. */
void ws_client_free(ws_client *cl);

/* Start a connection to host:port (an IPv4 address) asking for `resource`
 * (path and query, e.g. "/ws/chat?token=..."). NULL when the socket cannot
 * even be made (errno says why, e.g. EMFILE). */
ws_conn *ws_connect(ws_client *cl, const char *ipv4, int port, const char *resource, void *user);

/* Queue one text message (masked). -1 when the connection is not open. */
int ws_send_text(ws_conn *c, const char *data, size_t len);
/* Write what is queued now. -1 when the connection failed. */
int ws_flush(ws_conn *c);
/* Send a close frame; on_close comes when the server answers (or drops). */
void ws_close(ws_conn *c, int code);
/* Close the socket now; on_close is called with 1006 and `reason`. */
void ws_abort(ws_conn *c, const char *reason);

void *ws_conn_user(const ws_conn *c);
void ws_conn_set_user(ws_conn *c, void *user);
int ws_conn_is_open(const ws_conn *c);
/* bytes queued and not yet written */
size_t ws_conn_pending(const ws_conn *c);

/* Wait up to timeout_ms (0: just look, -1: forever) for socket events,
 * handle them, then flush every connection that has something queued.
 * Returns the number of events handled, -1 on an epoll error. */
int ws_client_poll(ws_client *cl, int timeout_ms);
/* The same with a timeout in nanoseconds (epoll_pwait2 where the kernel has
 * it, else rounded up to milliseconds); timeout_ns < 0: forever. */
int ws_client_poll_ns(ws_client *cl, int64_t timeout_ns);
/* connections not yet closed (connecting, upgrading or open) */
size_t ws_client_live(const ws_client *cl);
/* The client's epoll descriptor: readable when some connection has an
 * event, so that a caller can wait for it together with descriptors of its
 * own (poll(2) on this and its sockets, then ws_client_poll(cl, 0)). */
int ws_client_fd(const ws_client *cl);

#endif
