/*
 * realtime_app.h: the state of the realtime protocol (seed 002: Socket.IO at
 * /realtime), shared by its socket handlers (realtime.c), its actions
 * (realtime_actions.c), its operator API (realtime_http.c) and its proxy
 * (realtime_proxy.c). One per process.
 */
#ifndef SB_REALTIME_APP_H
#define SB_REALTIME_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "bucket.h"
#include "config.h"
#include "core_store.h"
#include "jwt.h"
#include "map.h"
#include "metrics.h"
#include "realtime.h"
#include "rt.h"
#include "sio.h"
#include "store.h"
#include "topics.h"

#define RT_ID_MAX 256 /* bytes of a user, company, session or artifact ID */
#define RT_MAX_SUBS                                                                                \
    256               /* artifacts one connection follows (the handshake's and subscribeArtifact) */
#define RT_PID_LEN 32 /* hex digits of a recovery pid */
#define RT_SWEEP_MS                                                                                \
    10000 /* the recovery sweep: the prune, and the node's heartbeat (realtime_recovery.h) */
#define RT_STRIKES 20 /* REQUESTs refused in a row for the rate before a disconnect */

typedef struct realtime_proxy realtime_proxy;
typedef struct realtime_check realtime_check;
typedef struct realtime_emitter realtime_emitter;

typedef struct realtime_app {
    sb_rt *rt;
    sb_store *store;
    core_store *core; /* operator API keys */
    sb_sio *sio;
    sb_jwt_config *jwt; /* NULL: no key configured, every CONNECT is refused */
    realtime_proxy *proxy;
    realtime_check *check;     /* NULL: the token's claims alone decide */
    realtime_emitter *emitter; /* with --redis: the Socket.IO emitter's channels */
    int recovery_ms;           /* 0: no connection state recovery */
    int max_request_rate;
    int max_handshake_rate;
    int max_user_connections;
    sb_bucket handshakes;
    int64_t committed_offset;  /* the newest UPDATE this node stored that has committed */
    int64_t pending_offset;    /* the newest of the open transaction; 0 none */
    uint64_t update_seq;       /* for requestIds the server makes */
    char node[33];             /* this process's name in realtime_recovery (random) */
    uint64_t owner;            /* the app's own timers (recovery and expiry sweeps) */
    struct rt_socket *sockets; /* admitted connections, for the expiry sweep */
    bool keep_tokens;          /* a proxy or a session check needs the callers' tokens */
    sb_buf scratch;            /* an envelope being written */
    sb_counter *m_connects, *m_refused, *m_requests, *m_errors, *m_updates, *m_deliveries,
        *m_recovered, *m_limited_requests, *m_limited_handshakes, *m_expired;
    sb_gauge *m_sockets;
} realtime_app;

/* What a connection keeps (ctx->session in the socket's callbacks). */
typedef struct rt_socket {
    realtime_app *app;
    sb_sio_socket *so;
    uint64_t session; /* the Engine.IO session's endpoint ID */
    /* one allocation for the strings: an idle connection is the most
     * numerous object of the server */
    char *user, *company, *sid;
    char *artifact;     /* the handshake's artifactId, NULL none */
    char *token;        /* kept for proxied actions; never logged */
    bool artifacts_all; /* the token's artifacts claim is "*" */
    char **artifacts;   /* the token's list (NULL-terminated), and its permissions */
    char **permissions;
    char **subs; /* the artifacts it follows (the handshake's among them) */
    size_t n_subs, cap_subs;
    int64_t exp;
    struct rt_socket *prev, *next; /* the app's admitted connections (the expiry sweep) */
    sb_bucket requests;
    int strikes;
    char pid[RT_PID_LEN + 1];
    int proxied;                /* its proxied actions in flight */
    bool admitted;              /* past the checks: in its topics, counted */
    struct rt_pending *pending; /* waiting for the session check (realtime_check.h) */
    int64_t recover_from;       /* recovering: replay the UPDATEs after this offset; -1 not */
    /* A recovered connection's live UPDATEs go through a filter while they
     * and its replay can overlap (realtime_recovery.c): dropped until the
     * replay has read, then at or below the newest offset it read, until
     * track_until. */
    bool filtered;
    int64_t track_until;   /* sb_mono_us; 0: until the replay is done */
    int64_t replayed_upto; /* the newest offset the replay read */
} rt_socket;

struct event_base;
realtime_app *realtime_app_start(struct event_base *base, sb_rt *rt, sb_store *store,
                                 const sb_config *cfg, char *err, size_t err_size);
void realtime_app_stop(realtime_app *app); /* after sb_server_free */

/* Topic keys (tenant-scoped: an artifact's topic names its company). */
const char *realtime_company_topic(char buf[SB_TOPIC_MAX], const char *company);
const char *realtime_artifact_topic(char buf[SB_TOPIC_MAX], const char *company,
                                    const char *artifact);

/* May the connection follow this artifact (token claim)? */
bool realtime_artifact_allowed(const rt_socket *st, const char *artifact);

/* Once a second: connections whose token has expired (realtime.c). */
void realtime_expiry_sweep(struct sb_ctx *ctx, realtime_app *app);

/* Envelopes to one connection: RESPONSE (data: raw JSON or NULL) and ERROR,
 * as the event "message" carrying the envelope as a JSON string, and as the
 * ack `ack` when >= 0. */
void realtime_send_response(struct sb_ctx *ctx, uint64_t session, int64_t ack, sb_str request_id,
                            sb_str action, const char *data, size_t data_len);
void realtime_send_error(struct sb_ctx *ctx, uint64_t session, int64_t ack, sb_str request_id,
                         sb_str action, int code, const char *message);

/* With connection state recovery on: the recovery offset socket.io-client
 * keeps, written as an event's last argument (`,"<offset>"`): the newest
 * UPDATE this node has committed, every one of which reached the event's
 * connections before it. Nothing when recovery is off. */
void realtime_write_offset_arg(const realtime_app *app, sb_buf *b);

/* The socket handlers (realtime.c), and its actions' dispatch. */
extern const sb_sio_namespace realtime_namespace;
void realtime_on_message(struct sb_ctx *ctx, rt_socket *st, const sb_sio_event *ev);
/* Follow / stop following an artifact (its topic): 0, or -CODE. */
int realtime_follow(struct sb_ctx *ctx, rt_socket *st, const char *artifact);
void realtime_unfollow(struct sb_ctx *ctx, rt_socket *st, const char *artifact);
/* An UPDATE as the event "message" with its offset as the last argument
 * (socket.io-client's connection state recovery reads it there). */
void realtime_write_update(sb_buf *b, sb_str envelope, int64_t offset);
/* Drop the UPDATEs older than the recovery window (the sweep's timer). */
void realtime_prune(realtime_app *app);

#endif
