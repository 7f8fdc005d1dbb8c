/*
 * therapy_app.h: the therapy protocol's state (seed 001), shared by its
 * login (therapy_login.c), chat (therapy_chat.c) and operator
 * (therapy_operator.c) endpoints. One per process.
 *
 * Who is who: a browser holds one cookie, THERAPY_COOKIE. Before login it
 * names a pending login (the code sent by SMS is bound to it); a valid code
 * replaces it with a new value naming a server-side session (no fixation).
 * The database keeps only hashes: of the cookie (SHA-256), of the code and
 * of the phone (HMAC-SHA256 under the key in --therapy-secret-file, so that
 * a copy of the database alone does not give the 10^6 codes away).
 */
#ifndef SB_THERAPY_APP_H
#define SB_THERAPY_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "core_store.h"
#include "map.h"
#include "metrics.h"
#include "rt.h"
#include "store.h"
#include "therapy.h"
#include "therapy_store.h"
#include "token.h"
#include "topics.h"

#define THERAPY_COOKIE "sb_therapy"
#define THERAPY_COOKIE_PATH "/api/therapy"
#define THERAPY_CSRF_HEADER "x-csrf-token"
#define THERAPY_KEY_LEN 32
#define THERAPY_MAX_ACTIONS 1000   /* actions in one getActions answer */
#define THERAPY_RESEND_S 60        /* one code a minute per phone */
#define THERAPY_CODES_PER_HOUR 3   /* codes (and failed codes) per phone per hour */
#define THERAPY_TOUCH_GAP_MS 60000 /* a session's last activity is written at most this often */
#define THERAPY_PHONE_MAX 16       /* "+" and at most 15 digits (E.164) */
#define THERAPY_STREAM_PATH "/api/therapy/stream"

struct therapy_sms_sender;

/* The logged-in session an authenticate hook found (ctx->session). */
typedef struct therapy_auth {
    char token_hash[SB_TOKEN_HEX_LEN + 1];
    char csrf[SB_TOKEN_HEX_LEN + 1];
    therapy_auth_row row;
} therapy_auth;

/* A getActions held open (long poll). */
typedef struct therapy_waiter {
    uint64_t request;
    int64_t ts_id, after;
    char user[THERAPY_ID_MAX + 1];
    struct therapy_waiter *prev, *next; /* in its session's list */
} therapy_waiter;

typedef struct therapy_app {
    sb_rt *rt;
    sb_store *store;
    core_store *core; /* operator API keys */
    struct therapy_sms_sender *sms;
    uint8_t key[THERAPY_KEY_LEN];
    /* settings */
    int64_t otp_ttl_ms, idle_ms, max_ms;
    int64_t resend_ms, window_ms; /* one code per resend_ms; max_codes per window_ms */
    int max_codes;
    int otp_ip_limit, otp_global_limit, verify_ip_limit;
    bool cookie_secure;
    char cors_origins[512];
    /* long polls: request ID -> waiter; session ID -> its first waiter */
    sb_map waiters, waiting;
    size_t n_waiters;
    uint64_t owner;                 /* the prune timer's */
    struct therapy_stream *streams; /* open streams (therapy_stream.c) */
    size_t n_streams;
    /* several nodes (runtime/bus.h): long polls held here are woken by
     * actions stored on another node through a topic per session
     * (therapy_wake_topic), to which this endpoint subscribes while the
     * session has waiters here */
    struct therapy_wake_ep {
        const sb_endpoint_ops *ops;
        struct therapy_app *app;
        uint64_t id;
    } wake_ep;
    int64_t *wake_ts; /* sessions to wake at the next wake_due */
    size_t n_wake, cap_wake;
    sb_buf scratch;
    sb_counter *m_logins, *m_codes_sent, *m_codes_refused, *m_verified, *m_verify_failed,
        *m_csrf_refused, *m_actions, *m_polls, *m_long_polls, *m_storage_errors;
} therapy_app;

/* Migrate, load the key, start the SMS sender, register the routes. */
struct event_base;
therapy_app *therapy_app_start(struct event_base *base, sb_rt *rt, sb_store *store,
                               const sb_config *cfg, char *err, size_t err_size);
void therapy_app_stop(therapy_app *app); /* after sb_server_free */

/* Shared by the therapy_*.c files ---------------------------------------- */

/* HMAC-SHA256 under the app's key of "label:a" (b appended when non-NULL),
 * as 64 hex digits. */
void therapy_mac_hex(const therapy_app *app, const char *label, const char *a, const char *b,
                     char out[SB_TOKEN_HEX_LEN + 1]);
/* Is this state-changing request from our own pages? 0, or -CSRF_FAILED
 * with ctx->http_detail saying why (Sec-Fetch-Site cross-site, an Origin
 * that is neither this host nor in --cors-origins). */
int therapy_check_origin(struct sb_ctx *ctx, const therapy_app *app);
/* The same check for a WebSocket upgrade (or anything with the three
 * headers at hand): NULL when allowed, else why not. */
const char *therapy_origin_refused(const therapy_app *app, const char *origin, const char *host,
                                   const char *fetch_site);
/* Has the session run past --session-max ("absolute") or --session-idle
 * ("idle") at now? NULL when it is live. */
const char *therapy_session_expired(const therapy_app *app, const therapy_auth_row *row,
                                    int64_t now);
/* The live session the cookie's token names, into *a (csrf included): 0;
 * -1 none (never issued, logged out, expired: an expired one is deleted);
 * -THERAPY_ERROR_UNAVAILABLE. */
int therapy_session_find(struct sb_ctx *ctx, therapy_app *app, const char *cookie_token,
                         therapy_auth *a);
/* Set the session cookie (value NULL: delete it). */
void therapy_set_cookie(struct sb_ctx *ctx, const therapy_app *app, const char *value);
/* After actions were stored in ts_id (all with IDs above stored_after, the
 * session's max before them): hand them to its streams, and answer the long
 * polls that can see something above their cursor. Sent after the commit. */
void therapy_wake(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, int64_t stored_after);
/* The long polls of ts_id held on this node, woken by what another node
 * stored (no stream frames: that node sent them) or after a bus gap. */
void therapy_wake_waiters(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id);
/* "therapy:TS:wake": what therapy_wake queues for the other nodes' long
 * polls when there is a bus; its frame is the session's ID. */
const char *therapy_wake_topic(char buf[SB_TOPIC_MAX], int64_t ts_id);
/* Store one server action (notice, signal) in ts_id: its ID, or -1. audience
 * NULL for everyone. The JSON is written by the generated writer from out
 * (its id and timestamp are filled here). */
int64_t therapy_post_action(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, therapy_out *out,
                            const char *author, int64_t target, const char *audience,
                            const char *client_json);
/* Can user see an action with this audience? */
bool therapy_audience_has(const char *audience, const char *user);
/* ",a,b," from an author and recipients (NULL when recipients is empty:
 * everyone); in ctx->arena. */
const char *therapy_audience(struct sb_ctx *ctx, const char *author, const sb_str *recipients,
                             size_t n);

/* A phone number as E.164 ("+" and 8..15 digits): ASCII digits with
 * optional spaces, dashes, dots and parentheses; a leading + or ten digits
 * (taken as North American, +1). 0, or -1 when it is no phone number. */
int therapy_phone_normalize(const char *p, size_t n, char out[THERAPY_PHONE_MAX + 1]);
/* A last name as compared: blanks around it dropped, ASCII lower case. 0, -1 blank or too long. */
int therapy_name_key(const char *p, size_t n, char *out, size_t cap);

/* therapy_chat.c: up to THERAPY_MAX_ACTIONS actions of ts_id above after
 * that user may see, parsed, into *out (arena); *scanned: the highest ID
 * looked at. 0, or -THERAPY_ERROR_UNAVAILABLE. */
int therapy_read_actions(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, int64_t after,
                         const char *user, therapy_out **out, size_t *count, int64_t *scanned);

/* therapy_stream.c: the WebSocket stream of actions. */
int therapy_stream_register(therapy_app *app, const sb_failure *storage, char *err,
                            size_t err_size);
/* A stored action: its frame to the streams that may see it (therapy_wake). */
void therapy_stream_publish(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id,
                            const therapy_out *out, int64_t id, const char *audience);
/* Logout: close the streams of that session. */
void therapy_stream_logout(struct sb_ctx *ctx, therapy_app *app, const char *token_hash);

/* therapy_cli.c: people and sessions (the CLI and the demo use them). */
int therapy_add_user(sb_store *s, const char *id, const char *phone, const char *last_name,
                     const char *name, const char *role, char out_id[THERAPY_ID_MAX + 1], char *err,
                     size_t err_size);
int64_t therapy_add_session(sb_store *s, const char *name, const char *date,
                            const char *const *participants, int n_participants,
                            const char *therapist, const char *const *assessments,
                            int n_assessments, char *err, size_t err_size);
/* On an empty user table: a therapist, two participants, one session, and
 * how to log in, printed. */
int therapy_seed_demo(sb_store *s, const char *db_path);

/* The endpoints' files register nothing themselves: the routes are the
 * generated ones (therapy_routes.c), the hooks these. */
int therapy_http_authenticate(struct sb_ctx *ctx, const struct sb_http_request *req);
int therapy_http_authenticate_operator(struct sb_ctx *ctx, const struct sb_http_request *req);

#endif
