/*
 * server_int.h: what the transport's two files share (server.c: the lws
 * context, connections and WebSockets; server_http.c: HTTP requests). Not
 * for anyone else: protocol code sees server.h and rt.h only.
 */
#ifndef SB_SERVER_INT_H
#define SB_SERVER_INT_H

#include <libwebsockets.h>

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "bucket.h"
#include "metrics.h"
#include "peers.h"
#include "server.h"

#define CONN_BUCKETS                                                                               \
    65536 /* id -> conn hash; power of two (20,000 connections and their requests) */
/* Reading from a connection stops for the rest of a loop turn once it has
 * sent this many messages, or this share of the queue cap, in the turn: its
 * fan-out is delivered (after the turn's commit) before it can add more, so
 * the back-pressure below can act before any queue overflows. */
#define TURN_MAX_MESSAGES 16
#define TURN_MAX_QUEUE_SHARE 8 /* 1/8 of max_queue_bytes */

enum { HOLD_CONGESTION = 1, HOLD_TURN = 2 };

#define CLOSE_WAIT_S 3 /* how long a close may wait for its frame to go out */

/* Bytes written in one WRITEABLE callback. lws 4.1 keeps whatever the socket
 * does not take in its own buffer (and asks for no WRITEABLE until that is
 * sent), so back-to-back writes are safe; this bounds that buffer. Checking
 * lws_send_pipe_choked() between frames would cost a poll(2) each. */
#define WRITE_BURST 65536

/* One queued message, stored as the whole WebSocket frame that carries it:
 * the header ends where the payload starts, so the frame is written as is. */
#define FRAME_HEADER_MAX 10 /* 0x81, then 127 and an 8-byte length at most */

typedef struct sb_out {
    struct sb_out *next;
    size_t len;           /* payload bytes */
    size_t frame;         /* header + payload bytes, starting at data + FRAME_HEADER_MAX - header */
    unsigned char data[]; /* FRAME_HEADER_MAX bytes for the header, then the payload */
} sb_out;

enum { CONN_WS = 1, CONN_HTTP = 2 };

struct sb_conn {
    struct lws *wsi;
    sb_server *srv;
    const sb_ws_route *route; /* CONN_WS */
    uint64_t id;
    void *user;
    int kind;       /* CONN_WS or CONN_HTTP */
    int close_code; /* nonzero: close once the queue is empty */
    unsigned hold;  /* why reading is stopped: HOLD_* bits; 0 = reading */
    unsigned turn_msgs;
    bool rx_binary;     /* the message arriving is binary */
    bool opened;        /* on_open was called: on_close is owed */
    bool congested;     /* queue went past the high-water mark; not yet drained */
    bool head_only;     /* CONN_HTTP: a HEAD request, the answer has no body */
    bool answered;      /* CONN_HTTP: sb_server_http_respond was called */
    char *close_reason; /* a copy, at most 123 bytes (a close frame's limit) */
    int64_t last_active_ms;
    int64_t last_write_ms; /* when the queue last moved (or became non-empty) */
    sb_conn *paused_next;  /* on srv->paused while HOLD_CONGESTION is set */
    sb_conn *turn_next;    /* on srv->turn_held while HOLD_TURN is set */
    uint64_t turn;         /* the loop turn turn_msgs and turn_bytes count for */
    size_t turn_bytes;
    void (*on_drain)(sb_conn *c, void *arg); /* one-shot, when the queue runs low */
    void *drain_arg;
    sb_conn *idle_prev, *idle_next; /* least recently active first */
    sb_conn *hash_next;
    sb_bucket pings; /* CONN_WS: --max-ping-rate */
    /* A connection is one or the other for its whole life (kind), so what
     * only one kind needs shares the memory: an idle WebSocket is the
     * server's most numerous object. */
    union {
        struct {                 /* CONN_WS */
            sb_out *head, *tail; /* outbound queue */
            size_t queued;       /* bytes in the queue */
            char *rx;            /* a message arriving in fragments */
            size_t rx_len, rx_cap;
            size_t flush_at; /* its place in srv->flush while flush_pending */
            bool flush_pending;
        };
        struct { /* CONN_HTTP: one request, from its headers to its answer */
            const sb_http_route *http_route;
            struct session *ss;   /* lws' per-session memory, while the request lives */
            unsigned char *reply; /* LWS_PRE, then the whole answer */
            size_t reply_len;
            struct event *gone_ev; /* a deferred request: the client hung up */
        };
    };
};

/* Per-session data lws allocates for every wsi, HTTP or WebSocket. */
typedef struct session {
    sb_conn *conn; /* WebSocket: ours, after ESTABLISHED; HTTP: the request */
    /* HTTP: the request being read */
    char method[8];
    char *path; /* copied only while a body is read: lws' own copy is gone by then */
    char *body;
    size_t body_len, body_cap;
    bool empty_body; /* dispatched with Content-Length: 0; lws still reports the body done */
} session;

struct sb_server {
    struct event_base *base;
    sb_config cfg;
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    sb_ws_route **ws_routes; /* each allocated once: connections point at them */
    size_t n_ws;
    sb_http_route **http_routes;
    size_t n_http;
    void (*input_hook)(void *arg);
    void *input_arg;
    char custom_header[1024]; /* sb_http_header's answer for an uncommon header */
    sb_peers *peers;          /* TCP connections by address, from accept on */
    int fd_budget;            /* descriptors lws may use for clients */
    sb_log_every_state refuse_log, refuse_max_log, ping_log;
    sb_error_writer error_writer;
    int port;
    uint64_t next_id;
    size_t n_conns;    /* WebSockets */
    size_t n_requests; /* HTTP requests in progress */
    sb_conn *buckets[CONN_BUCKETS];
    sb_conn *idle_head, *idle_tail;
    unsigned char *batch; /* frames written together (conn_writeable) */
    size_t batch_cap;
    sb_conn *paused; /* held by HOLD_CONGESTION (sb_conn_pause_reading) */
    sb_conn **flush; /* WebSockets with frames queued since the last flush (NULL: gone) */
    size_t n_flush, cap_flush;
    struct event *flush_ev; /* the flush, should no end of turn call it first */
    bool flush_armed;
    sb_conn *turn_held; /* held by HOLD_TURN until the turn ends */
    uint64_t turn;
    struct event *idle_timer;
    /* shutdown */
    bool shutting_down;
    struct event *grace_timer;
    void (*shutdown_done)(void *);
    void *shutdown_arg;
    /* metrics */
    sb_gauge *m_open;
    sb_counter *m_accepted, *m_closed_queue, *m_closed_stalled, *m_closed_big, *m_closed_idle,
        *m_closed_pings;
    sb_counter *m_http, *m_refused_ip, *m_refused_pending, *m_refused_max;
    sb_counter *m_bytes_in, *m_bytes_out;
};

/* server.c */
int64_t sb_now_ms(void);
sb_conn *sb_conn_new(sb_server *s, struct lws *wsi, const sb_ws_route *ws, int kind);
void sb_conn_free(sb_conn *c);
void sb_read_query(struct lws *wsi, sb_query *q, char *store, size_t store_size);
void sb_server_input(sb_server *s);

/* server_http.c: the LWS_CALLBACK_*HTTP* reasons */
int sb_http_on_request(struct lws *wsi, sb_server *s, session *ss, const char *path);
int sb_http_on_body(struct lws *wsi, session *ss, const char *in, size_t len);
int sb_http_on_body_done(struct lws *wsi, sb_server *s, session *ss);
int sb_http_on_writeable(struct lws *wsi, session *ss);
void sb_http_on_closed(session *ss);
/* Answer now, from inside an lws callback; returns what the callback must. */
int sb_http_error_now(struct lws *wsi, int status, const char *message);
int sb_http_error_headers_now(struct lws *wsi, int status, const char *headers,
                              const char *message);
/* Answer with resp (status, type, headers, body); returns like the above. */
int sb_http_answer_now(struct lws *wsi, const sb_http_response *resp);
/* Answer with Connection: close and return -1: lws closes the connection. */
int sb_http_refuse_now(struct lws *wsi, int status, const char *message);
/* Why the request line is malformed (version, control bytes in the path), or NULL. */
const char *sb_http_request_line_error(struct lws *wsi, const char *path);

#endif
