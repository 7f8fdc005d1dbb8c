/*
 * server.h: HTTP/1.1 and WebSocket on one port, libwebsockets on our libevent
 * loop. Protocol code (handlers/) registers routes and never touches lws or
 * libevent: it sees connections (sb_conn), requests and responses.
 *
 * A WebSocket connection has an outbound queue with a byte cap: a consumer
 * that stops reading is closed with 1008 when the cap is reached, so memory
 * stays bounded. Messages over the size limit close with 1009; invalid UTF-8
 * in a text frame closes with 1007 (lws checks it); a connection idle longer
 * than the idle timeout closes with 1001.
 */
#ifndef SB_SERVER_H
#define SB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "codec.h"
#include "http.h" /* sb_ws_request too */

struct event_base;
typedef struct sb_server sb_server;
typedef struct sb_conn sb_conn;

/* Close codes (RFC 6455, 7.4.1). */
enum {
    SB_CLOSE_NORMAL = 1000,
    SB_CLOSE_GOING_AWAY = 1001,   /* shutdown, idle timeout */
    SB_CLOSE_UNACCEPTABLE = 1003, /* a binary message on a text-only route */
    SB_CLOSE_INVALID_DATA = 1007,
    SB_CLOSE_POLICY = 1008, /* authentication, outbound queue full */
    SB_CLOSE_TOO_BIG = 1009,
    SB_CLOSE_SERVICE_RESTART = 1012, /* reconnect and catch up (a bus gap: bus.h) */
    SB_CLOSE_TRY_AGAIN = 1013,       /* too many connections */
};

typedef struct sb_ws_route {
    const char *path;    /* exact path of the upgrade request, e.g. "/ws/chat" */
    const char *channel; /* for logs and metrics */
    /* After the upgrade. Return 0 to keep the connection; the route may have
     * sent something and asked to close (sb_conn_close) already. */
    int (*on_open)(sb_conn *c, const sb_ws_request *req, void *arg);
    /* One whole message (fragments joined): text (valid UTF-8), or binary
     * when the route accepts binary messages. */
    void (*on_message)(sb_conn *c, const char *data, size_t len, bool binary, void *arg);
    void (*on_close)(sb_conn *c, void *arg);
    /* Optional, before the upgrade (the request's path, query and peer are
     * known): return 0 to upgrade, or fill `refusal` (status, type, body)
     * and return -1: it is sent as the HTTP answer and no upgrade happens. */
    int (*on_upgrade)(const sb_ws_request *req, void *arg, sb_http_response *refusal);
    size_t max_message; /* largest message; 0: --max-message */
    bool accept_binary; /* false: a binary message closes with 1003 */
    void *arg;
} sb_ws_route;

/* An HTTP route. The request is a connection of its own (sb_conn, with an
 * ID): it is answered with sb_server_http_respond(), at once or later. */
typedef struct sb_http_route {
    const char *method; /* exact; a GET route answers HEAD too */
    const char *path;   /* a template (http.h) */
    void (*on_request)(sb_conn *c, const sb_http_request *req, void *arg);
    /* The client went away before the answer (a held long poll, or a body
     * still arriving). */
    void (*on_abort)(uint64_t request, void *arg);
    /* Optional: the headers announce a body (head: id, method, path, query,
     * peer; no headers, no body). 0 reads it; or fill `refusal` and return
     * -1: it is the answer, and the body is not read. */
    int (*on_body)(const sb_http_request *head, void *arg, sb_http_response *refusal);
    const char *const *content_types;    /* accepted bodies, NULL-terminated; NULL: JSON;
                                          * an entry "*" accepts any (and none) */
    size_t max_body;                     /* 0: --max-http-body */
    const struct sb_http_errors *errors; /* the transport's errors here in this shape; NULL: the
                                          * server's error writer */
    void *arg;
} sb_http_route;

sb_server *sb_server_new(struct event_base *base, const sb_config *cfg);
/* How the transport writes the body of its own errors (404, 405, 411, 413,
 * 415, 503): the binary passes the generated writer of its error message, so
 * that these bodies come from the schema like every other. */
typedef void (*sb_error_writer)(sb_buf *b, const char *message);
void sb_server_set_error_writer(sb_server *s, sb_error_writer w);
/* Register a route: -1 with a message when it is malformed or taken. */
int sb_server_add_ws(sb_server *s, const sb_ws_route *route, char *err, size_t err_size);
int sb_server_add_http(sb_server *s, const sb_http_route *route, char *err, size_t err_size);
/* Called once for every message read, before its route sees it: the
 * runtime arms its end of turn there (rt.c). */
void sb_server_set_input_hook(sb_server *s, void (*fn)(void *arg), void *arg);
/* Write what the turn queued, each connection's frames in one send(2) (the
 * end of turn, after the deliver; an event does it otherwise). */
void sb_server_flush(sb_server *s);
/* Let the connections held for the turn read again (the end of turn). */
void sb_server_release_turn(sb_server *s);
/* Listen. Returns the bound port (useful with port 0), or -1. */
int sb_server_start(sb_server *s);
/* Graceful shutdown: stop accepting, close every WebSocket with 1001, and call
 * `done` once they are gone or after `grace_ms`. */
void sb_server_shutdown(sb_server *s, int grace_ms, void (*done)(void *arg), void *arg);
/* Destroys the lws context; call before event_base_free(). */
void sb_server_free(sb_server *s);

size_t sb_server_connections(const sb_server *s); /* WebSockets */
/* IDs of connections and requests come from one sequence; this takes the
 * next one (the runtime's sessions and timers use it too). */
uint64_t sb_server_new_id(sb_server *s);

/* Answer HTTP request `id` (its status, headers and body are copied). -1
 * when the request is gone (the client left) or was answered already. */
int sb_server_http_respond(sb_server *s, uint64_t id, const sb_http_response *resp);

/* Connections ----------------------------------------------------------- */

uint64_t sb_conn_id(const sb_conn *c);
/* The connection with this id, or NULL once it closed: hold ids, not pointers,
 * across loop turns. */
sb_conn *sb_conn_find(sb_server *s, uint64_t id);
void sb_conn_set_user(sb_conn *c, void *user);
void *sb_conn_user(const sb_conn *c);
/* Queue one message (a text or a binary frame). Returns 0, or -1 when the
 * connection is closing or its outbound queue is full (it is then closed
 * with 1008). Protocols send through the outbox (outbox.h), which calls it. */
int sb_conn_send_frame(sb_conn *c, const char *data, size_t len, bool binary);
/* The same, ahead of everything queued and not yet written (a heartbeat
 * that must not wait behind a backlog). Not counted against the cap. */
int sb_conn_send_first(sb_conn *c, const char *data, size_t len, bool binary);
/* An HTTP request (not a WebSocket). */
bool sb_conn_is_http(const sb_conn *c);
/* Back-pressure. A connection whose queue passes half the cap is congested
 * until it drains below a quarter. A handler that fans out to a congested
 * connection pauses the sender's reading; every paused sender resumes when a
 * congested queue drains. A queue that does not move for 10 s is a stalled
 * consumer: closed with 1008. */
bool sb_conn_congested(const sb_conn *c);
void sb_conn_pause_reading(sb_conn *c);
/* Call fn once, when the queue is at or below a quarter of the cap (at once
 * if it is already): lets a handler send a long reply piece by piece. */
void sb_conn_on_drain(sb_conn *c, void (*fn)(sb_conn *c, void *arg), void *arg);
/* Close after what is queued has been sent. */
void sb_conn_close(sb_conn *c, int code, const char *reason);

#endif
