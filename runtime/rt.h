/*
 * rt.h: the runtime protocols are written against. It holds the loop, the
 * transport, the store, the topics, the outbox and the timers of one
 * process, calls a protocol's handlers with a struct sb_ctx (ctx.h), and owns
 * the end of every loop turn, in one place and this order (rt.c, turn_end):
 *
 *   1. commit   the turn's transaction (at once, or when --commit-window
 *               has passed since its first write);
 *   2. deliver  everything the outbox holds, in the order it was queued
 *               (after a failed commit: the storage error to each origin);
 *   3. release  the connections whose reading was held for the turn (after
 *               the reads' statements are reset: no read snapshot outlives
 *               its turn, so the checkpointer's thread can always fold the
 *               WAL back: store_checkpoint.h).
 *
 * A connection that sent its share of a turn (16 messages, or 1/8 of the
 * queue cap) is not read again until step 3 of a turn whose commit covered
 * its messages: its fan-out is delivered before it may add more, with or
 * without a commit window.
 */
#ifndef SB_RT_H
#define SB_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "outbox.h"
#include "server.h"

struct event_base;
struct sb_ctx;
typedef struct sb_rt sb_rt;
typedef struct sb_store sb_store;
typedef struct sb_topics sb_topics;

/* From cfg: commit_window_us (commit at most this long after the turn's
 * first write instead of at the end of the turn: later turns' writes join
 * the same transaction, and what they queued waits for it; 0 commits every
 * turn) and the per-connection limits (max_message_rate, max_byte_rate,
 * max_invalid, max_user_connections). */
sb_rt *sb_rt_new(struct event_base *base, sb_server *server, sb_store *store, const sb_config *cfg);
void sb_rt_free(sb_rt *rt); /* after sb_server_free: close callbacks still run before */
/* The loop has returned: finish the handler calls queued as jobs (jobs.h)
 * and run every later one at once, blocking, as on SQLite: nothing would
 * wake a call that waited now. Call it before sb_server_free (whose close
 * callbacks would otherwise be queued past the server's end). */
void sb_rt_end_jobs(sb_rt *rt);

sb_store *sb_rt_store(sb_rt *rt);
sb_topics *sb_rt_topics(sb_rt *rt);
/* The arena every handler call gets as ctx->arena (reset before each). */
struct sb_arena *sb_rt_arena(sb_rt *rt);

/* The Redis fan-out bus (bus.h), NULL when there is no --redis: several
 * nodes then share topic deliveries. */
typedef struct sb_bus sb_bus;
sb_bus *sb_rt_bus(sb_rt *rt);

/* The transport, for protocols layered on the runtime that answer HTTP
 * requests and write control frames themselves (eio.c); handlers use ctx. */
sb_server *sb_rt_server(sb_rt *rt);

/* A fresh ID from the same sequence as connection and request IDs: for
 * sessions that own timers and outlive a connection. */
uint64_t sb_rt_new_id(sb_rt *rt);

/* The limits the runtime enforces on a WebSocket (rt.c; docs/operations.md). */
typedef enum sb_limit {
    SB_LIMIT_MESSAGES = 1, /* more than --max-message-rate messages a second (burst: 2x) */
    SB_LIMIT_BYTES,        /* more than --max-byte-rate bytes a second (burst: 4x) */
    SB_LIMIT_INVALID,      /* more than --max-invalid invalid messages a minute */
    SB_LIMIT_CONNECTIONS,  /* sb_rt_claim: more connections than allowed for a key */
} sb_limit;
const char *sb_limit_name(sb_limit what); /* "messages", "bytes", ... */

/* Routes --------------------------------------------------------------- */

typedef struct sb_ws_handler {
    const char *path;    /* exact path of the upgrade request, e.g. "/ws/chat" */
    const char *channel; /* for logs and metrics */
    /* After the upgrade: authenticate, set ctx->session (kept for the
     * connection), subscribe to topics, queue a greeting. Return 0 to keep
     * the connection; sb_rt_close() it otherwise. */
    int (*on_open)(struct sb_ctx *ctx, const sb_ws_request *req);
    /* One whole message (fragments joined): text (valid UTF-8) unless binary. */
    void (*on_message)(struct sb_ctx *ctx, const char *data, size_t len, bool binary);
    /* The connection is gone: free ctx->session. Its topics and timers are
     * released by the runtime. */
    void (*on_close)(struct sb_ctx *ctx);
    /* Optional, before the upgrade: 0 to upgrade, or fill `refusal` and
     * return -1 (server.h). No ctx: nothing is stored or sent but the answer. */
    int (*on_upgrade)(const sb_ws_request *req, void *app, sb_http_response *refusal);
    size_t max_message; /* largest message; 0: --max-message */
    bool accept_binary; /* false: a binary message closes with 1003 */
    /* A limit was passed: write the protocol's own answer (ctx->out); the
     * runtime then closes the connection with 1008. NULL: just the close. */
    void (*on_limit)(struct sb_ctx *ctx, sb_limit what);
    sb_failure storage_error;
    void *app;
} sb_ws_handler;

/* What an HTTP handler returns. */
enum { SB_HTTP_ANSWERED = 0, SB_HTTP_DEFERRED = 1 };

typedef struct sb_http_handler {
    const char *method; /* exact: "GET", "POST", ... (HEAD is answered for GET) */
    const char *path;   /* a template (http.h) */
    const char *channel;
    /* Fill resp and return SB_HTTP_ANSWERED: it is sent after the turn's
     * commit. Or call sb_rt_defer() and return SB_HTTP_DEFERRED: the request
     * is answered later with sb_outbox_http(), or by on_timeout. */
    int (*handle)(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp);
    /* Deferred requests: the time ran out; fill resp. */
    void (*on_timeout)(struct sb_ctx *ctx, uint64_t request, sb_http_response *resp);
    /* Deferred requests, and requests whose body is still arriving: the
     * client went away before the answer. */
    void (*on_abort)(struct sb_ctx *ctx, uint64_t request);
    /* Optional, when the headers announce a body: 0 reads it, or fill
     * `refusal` and return -1 (server.h). No ctx. */
    int (*on_body)(const sb_http_request *head, void *app, sb_http_response *refusal);
    const char *const *content_types; /* accepted request bodies; NULL: application/json */
    size_t max_body;                  /* 0: the server's --max-http-body */
    /* The channel's error answers (generated routes set them): the
     * transport's own errors on this route (405, 411, 413, 415, a bad
     * Content-Length) are written in its shape. NULL: the server's. */
    const struct sb_http_errors *errors;
    sb_failure storage_error;
    /* Answered at once, even while another handler waits for the store
     * (PostgreSQL: jobs.h), and sent without waiting for the turn's commit:
     * for answers that depend on no write of the turn (readiness, metrics,
     * static files). handle must return SB_HTTP_ANSWERED and use neither
     * ctx->out nor the turn's transaction (sb_store_ping and
     * sb_store_health are fine). */
    bool immediate;
    void *app;
} sb_http_handler;

/* Register a route. A bad one (malformed template, a method and template
 * already taken, no handler) is refused with a message: serve stops at
 * start-up rather than run without it. */
int sb_rt_add_ws(sb_rt *rt, const sb_ws_handler *h, char *err, size_t err_size);
int sb_rt_add_http(sb_rt *rt, const sb_http_handler *h, char *err, size_t err_size);

/* Hold the current HTTP request open for up to timeout_ms (a long poll). */
void sb_rt_defer(struct sb_ctx *ctx, int timeout_ms);

/* Connections ---------------------------------------------------------- */

/* A function run in a unit of its own (sb_rt_call, sb_rt_each_ws). */
typedef void (*sb_call_fn)(struct sb_ctx *ctx, void *arg);

/* Close ctx's WebSocket once what the turn queued for it has been sent
 * (a refusal's error frame first, then the close frame). */
void sb_rt_close(struct sb_ctx *ctx, int code, const char *reason);
/* Call fn (with a ctx of its own, the connection's session) once the
 * connection's outbound queue has drained to a quarter of its cap, or at
 * once if it has: lets a handler send a long answer piece by piece. One
 * callback per connection at a time; dropped if the connection closes. */
typedef void (*sb_drain_fn)(struct sb_ctx *ctx, void *arg);
void sb_rt_on_drain(struct sb_ctx *ctx, sb_drain_fn fn, void *arg);
/* Subscribe ctx's connection to `topic` (e.g. "user:5", every device of a
 * user) unless `max` connections are subscribed to it already (max <= 0: the
 * runtime's --max-user-connections): 0, or -1 when refused (the route's
 * on_limit has then been told SB_LIMIT_CONNECTIONS and the connection is
 * being closed with 1008) or out of memory. */
int sb_rt_claim(struct sb_ctx *ctx, const char *topic, int max);
/* The protocol could not use a message: counted against --max-invalid;
 * past it the connection is answered (on_limit) and closed with 1008. */
void sb_rt_invalid(struct sb_ctx *ctx);

/* Call fn for every open WebSocket of the route at `path`, each in a unit
 * of its own with the connection's ctx (its session, its route's app): to
 * close them all, or push each a fresh state (after a bus gap: bus.h).
 * Returns how many. */
int sb_rt_each_ws(sb_rt *rt, const char *path, sb_call_fn fn, void *arg);

/* The session of WebSocket `conn` if it is one of the route at `path`
 * (NULL otherwise, or when it has none): for a protocol that finds its
 * connections by topic (sb_topics_conns) outside a unit. */
void *sb_rt_ws_session(sb_rt *rt, uint64_t conn, const char *path);

/* A filter of ctx's WebSocket connection, or of its endpoint (an Engine.IO
 * session: below), for its positioned frames (outbox.h,
 * sb_outbox_position): fn(arg, pos) false drops the frame for this
 * connection only. Called only for positioned topic frames, at their
 * delivery (a replay and the live frames it overlaps: a frame queued
 * before the replay in the same turn, one from another node through the
 * bus). One per
 * connection (fn NULL removes it; an endpoint's goes with
 * sb_rt_endpoint_remove); arg is the caller's (a session: remove the filter
 * before freeing it, or free it in on_close). */
typedef bool (*sb_rt_filter_fn)(void *arg, uint64_t pos);
void sb_rt_set_filter(struct sb_ctx *ctx, sb_rt_filter_fn fn, void *arg);

/* Subscribe ctx's connection to a topic; released when it closes. */
int sb_rt_subscribe(struct sb_ctx *ctx, const char *topic);
void sb_rt_unsubscribe(struct sb_ctx *ctx, const char *topic);

/* Endpoints --------------------------------------------------------------- */

/* A session that outlives its transport connections (an Engine.IO session
 * moves from long polls to a WebSocket) is an endpoint: an ID from
 * sb_rt_new_id() that handlers use like a connection's (ctx->conn, topics,
 * sb_outbox_conn, sb_rt_close, timers). The outbox hands what it delivers to
 * such an ID to these operations. */
typedef struct sb_endpoint_ops {
    /* One message, in order: 0, or -1 when it cannot take it (closing). */
    int (*send)(void *obj, const char *data, size_t len, bool binary);
    void (*close)(void *obj, int code, const char *reason);
    bool (*congested)(void *obj); /* may be NULL */
    /* may be NULL: start loading what send will touch (a fan-out calls it
     * for a batch of endpoints before sending to each) */
    void (*prefetch)(void *obj);
} sb_endpoint_ops;
/* obj's first member is its `const sb_endpoint_ops *` (one lookup finds both). */
int sb_rt_endpoint_add(sb_rt *rt, uint64_t id, void *obj);
/* The object registered for id, or NULL. */
void *sb_rt_endpoint(sb_rt *rt, uint64_t id);
/* Gone: its topics are left, its timers and drain waits cancelled. */
void sb_rt_endpoint_remove(sb_rt *rt, uint64_t id);

/* Run fn now, in a unit of its own, with a ctx addressed to `origin` (its
 * session NULL, its app `app`): for layers on the runtime that must call
 * their protocol outside any route callback (eio.c, at shutdown). On
 * PostgreSQL the handler calls queued as jobs (jobs.h) are finished first,
 * blocking: prefer sb_rt_call_later where fn may run a little later. */
void sb_rt_call(sb_rt *rt, uint64_t origin, void *app, sb_call_fn fn, void *arg);
/* The same as a job (PostgreSQL: jobs.h): fn runs after the handler calls
 * already queued, without finishing them first, so the loop does not wait
 * for their statements; arg is the call's, and dispose(arg) (may be NULL)
 * runs after fn ran. Where calls run at once (SQLite), it runs here. */
void sb_rt_call_later(sb_rt *rt, uint64_t origin, void *app, sb_call_fn fn, void *arg,
                      void (*dispose)(void *arg));
/* Would sb_rt_call_later queue the call (rather than run it here)? A caller
 * copies what fn reads only then. */
bool sb_rt_queues_calls(const sb_rt *rt);

/* Timers --------------------------------------------------------------- */

/* fn runs in its own unit, with a ctx whose conn is `owner` and whose
 * session is what the owner's connection holds (NULL for other owners). */
typedef void (*sb_timer_fn)(struct sb_ctx *ctx, void *arg);
typedef struct sb_timer sb_timer;
/* One-shot (repeat false) or every `ms` until cancelled. Owned by `owner`
 * (a connection ID, or an ID from sb_rt_new_id): cancelled with it. The
 * sb_failure says what the owner hears if the timer's writes are lost. */
sb_timer *sb_rt_timer(sb_rt *rt, uint64_t owner, int ms, bool repeat, sb_timer_fn fn, void *arg);
/* NULL is fine. A one-shot timer is freed when it fires: drop the pointer
 * then (cancelling it afterwards is a use after free). */
void sb_rt_timer_cancel(sb_rt *rt, sb_timer *t);
void sb_rt_cancel_owner(sb_rt *rt, uint64_t owner); /* every timer of owner */

/* The end-of-turn pipeline ---------------------------------------------- */

/* Commit, deliver and release now (shutdown, tests). */
void sb_rt_flush(sb_rt *rt);

#endif
