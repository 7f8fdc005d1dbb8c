/*
 * realtime.c: a connection to /realtime (seed 002), from its CONNECT to its
 * disconnect, and the REQUESTs it sends.
 *
 * CONNECT: the auth payload ({token}, and {pid, offset} when the client
 * recovers) and the handshake's query ({sessionId, artifactId}) are parsed
 * by the generated codec; the JWT is verified (runtime/jwt.h); sessionId
 * must be the token's session and artifactId one the token allows. Every
 * refusal is a CONNECT_ERROR whose message names what was wrong, so that
 * socket.io-client stops with connect_error. An accepted connection follows
 * its company's topic and its artifact's, and leaves them when it goes.
 *
 * A REQUEST is the event "message" with the envelope as a JSON string (or
 * an object): parsed by the generated union parser, rate-limited, its action
 * found in the generated table and run (realtime_actions.c) or forwarded
 * (realtime_proxy.c); the answer is RESPONSE or ERROR with the same
 * requestId, and the Socket.IO ack too when the client asked for one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "realtime_app.h"
#include "realtime_check.h"
#include "realtime_handlers.h"
#include "realtime_proxy.h"
#include "realtime_recovery.h"
#include "sha256.h"

/* Envelopes --------------------------------------------------------------- */

void realtime_write_offset_arg(const realtime_app *app, sb_buf *b)
{
    if (!app->recovery_ms)
        return;
    SB_BUF_PUT_LIT(b, ",\"");
    sb_write_int64(b, app->committed_offset);
    sb_buf_putc(b, '"');
}

/* The envelope in app->scratch goes out as the event "message" (a JSON
 * string, as the seed's client parses it) and as the ack. */
static void emit_scratch(struct sb_ctx *ctx, uint64_t session, int64_t ack)
{
    realtime_app *app = ctx->app;
    sb_str env = {app->scratch.data, app->scratch.len};
    sb_buf *b = sb_outbox_conn(ctx->out, session, NULL);
    sb_sio_event_begin(b, "/", "message", 0);
    sb_buf_putc(b, ',');
    sb_write_string(b, env);
    /* after the envelope: socket.io-client would otherwise keep it (the
     * last string argument) as its offset and send it back on a reconnect */
    realtime_write_offset_arg(app, b);
    sb_sio_event_end(b);
    if (ack >= 0) {
        b = sb_outbox_conn(ctx->out, session, NULL);
        sb_sio_ack_begin(b, "/", ack, 0);
        sb_write_string(b, env);
        sb_sio_ack_end(b);
    }
}

void realtime_send_response(struct sb_ctx *ctx, uint64_t session, int64_t ack, sb_str request_id,
                            sb_str action, const char *data, size_t data_len)
{
    realtime_app *app = ctx->app;
    realtime_realtime_response r = {.requestId = request_id, .action = action};
    r.has.action = action.len ? SB_SET : SB_ABSENT;
    if (data && data_len) {
        r.data = (sb_str){data, data_len};
        r.has.data = SB_SET;
    }
    sb_buf_reset(&app->scratch);
    realtime_realtime_response_write(&app->scratch, &r);
    emit_scratch(ctx, session, ack);
}

void realtime_send_error(struct sb_ctx *ctx, uint64_t session, int64_t ack, sb_str request_id,
                         sb_str action, int code, const char *message)
{
    realtime_app *app = ctx->app;
    sb_counter_add(app->m_errors, 1);
    const sb_error_def *def = &realtime_errors[code];
    char text[1024];
    if (message && message[0])
        snprintf(text, sizeof text, "%s: %s", def->text, message);
    else
        snprintf(text, sizeof text, "%s", def->text);
    realtime_realtime_error e = {.requestId = request_id, .action = action};
    e.has.action = action.len ? SB_SET : SB_ABSENT;
    e.error.code = (sb_str){def->name, strlen(def->name)};
    e.error.message = (sb_str){text, strlen(text)};
    sb_buf_reset(&app->scratch);
    realtime_realtime_error_write(&app->scratch, &e);
    emit_scratch(ctx, session, ack);
}

/* Topics -------------------------------------------------------------------- */

/* A readable key when it fits, else one naming the ID by its hash: IDs may
 * be 256 bytes, topic keys 128. */
/* A topic key no two (company, ID) pairs share: the first part's length
 * goes before it ("artifact:4:acme/x/y" is not "artifact:6:acme/x/y"), so a
 * "/" in an ID cannot reach another tenant's topic. Too long for a key
 * (IDs may be 256 bytes, keys 128): 128 bits of the SHA-256 of the same
 * text. */
static const char *topic_key(char buf[SB_TOPIC_MAX], const char *prefix, const char *a,
                             const char *b)
{
    int n = b ? snprintf(buf, SB_TOPIC_MAX, "%s:%zu:%s/%s", prefix, strlen(a), a, b)
              : snprintf(buf, SB_TOPIC_MAX, "%s:%s", prefix, a);
    if (n > 0 && n < SB_TOPIC_MAX)
        return buf;
    sb_sha256_ctx c;
    sb_sha256_init(&c);
    char len[32];
    int ln = snprintf(len, sizeof len, "%zu:", strlen(a));
    sb_sha256_update(&c, len, (size_t)ln);
    sb_sha256_update(&c, a, strlen(a));
    if (b) {
        sb_sha256_update(&c, "/", 1);
        sb_sha256_update(&c, b, strlen(b));
    }
    uint8_t d[SB_SHA256_LEN];
    sb_sha256_final(&c, d);
    int at = snprintf(buf, SB_TOPIC_MAX, "%s#", prefix);
    for (int i = 0; i < 16 && at + 2 < SB_TOPIC_MAX; i++)
        at += snprintf(buf + at, (size_t)(SB_TOPIC_MAX - at), "%02x", d[i]);
    return buf;
}

const char *realtime_company_topic(char buf[SB_TOPIC_MAX], const char *company)
{
    return topic_key(buf, "company", company, NULL);
}

const char *realtime_artifact_topic(char buf[SB_TOPIC_MAX], const char *company,
                                    const char *artifact)
{
    return topic_key(buf, "artifact", company, artifact);
}

bool realtime_artifact_allowed(const rt_socket *st, const char *artifact)
{
    if (st->artifacts_all)
        return true;
    for (char **a = st->artifacts; a && *a; a++)
        if (strcmp(*a, artifact) == 0)
            return true;
    return false;
}

/* Connections ------------------------------------------------------------- */

/* Strings of the socket, in one allocation. */
static char *strings_put(char **at, const char *s)
{
    char *p = *at;
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    *at += n;
    return p;
}

static char *no_items[] = {NULL};

/* A NULL-terminated copy in one allocation; the empty list is shared. */
static char **list_copy(const char *const *items, size_t n)
{
    if (n == 0)
        return no_items;
    size_t need = (n + 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        need += strlen(items[i]) + 1;
    char **list = malloc(need);
    if (!list)
        return NULL;
    char *p = (char *)(list + n + 1);
    for (size_t i = 0; i < n; i++)
        list[i] = strings_put(&p, items[i]);
    list[n] = NULL;
    return list;
}

static void socket_free(rt_socket *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_subs; i++)
        free(st->subs[i]);
    free(st->subs);
    if (st->artifacts != no_items)
        free(st->artifacts);
    if (st->permissions != no_items)
        free(st->permissions);
    free(st->user); /* the strings' block */
    free(st);
}

int realtime_follow(struct sb_ctx *ctx, rt_socket *st, const char *artifact)
{
    for (size_t i = 0; i < st->n_subs; i++)
        if (strcmp(st->subs[i], artifact) == 0)
            return 0;
    if (st->n_subs == RT_MAX_SUBS)
        return -REALTIME_ERROR_TOO_MANY_SUBSCRIPTIONS;
    if (st->n_subs == st->cap_subs) {
        size_t cap = st->cap_subs ? st->cap_subs * 2 : 2;
        char **p = realloc(st->subs, cap * sizeof *p);
        if (!p)
            return -REALTIME_ERROR_INTERNAL;
        st->subs = p;
        st->cap_subs = cap;
    }
    char topic[SB_TOPIC_MAX];
    char *copy = strdup(artifact);
    if (!copy || sb_rt_subscribe(ctx, realtime_artifact_topic(topic, st->company, artifact)) != 0) {
        free(copy);
        return -REALTIME_ERROR_INTERNAL;
    }
    st->subs[st->n_subs++] = copy;
    return 0;
}

void realtime_unfollow(struct sb_ctx *ctx, rt_socket *st, const char *artifact)
{
    for (size_t i = 0; i < st->n_subs; i++) {
        if (strcmp(st->subs[i], artifact) == 0) {
            char topic[SB_TOPIC_MAX];
            sb_rt_unsubscribe(ctx, realtime_artifact_topic(topic, st->company, artifact));
            free(st->subs[i]);
            st->subs[i] = st->subs[--st->n_subs];
            return;
        }
    }
}

/* The token expired while connected: an ERROR, then a server disconnect
 * (socket.io-client does not reconnect after one). */
static void token_expired(struct sb_ctx *ctx, void *arg)
{
    rt_socket *st = arg;
    ctx->app = st->app;
    sb_counter_add(st->app->m_expired, 1);
    realtime_send_error(ctx, st->session, -1, (sb_str){"", 0}, (sb_str){"", 0},
                        REALTIME_ERROR_AUTH_REQUIRED, "the token expired");
    sb_sio_disconnect(ctx, st->so, true);
}

/* A sweep once a second rather than a timer per connection (~250 bytes
 * each): the check is a comparison per connection. */
void realtime_expiry_sweep(struct sb_ctx *ctx, realtime_app *app)
{
    (void)ctx;
    int64_t now = (int64_t)time(NULL);
    rt_socket *st = app->sockets;
    while (st) {
        rt_socket *next = st->next; /* token_expired frees st */
        if (st->exp + SB_JWT_LEEWAY_DEFAULT <= now)
            sb_rt_call(app->rt, st->session, app, token_expired, st);
        st = next;
    }
}

static void sockets_link(rt_socket *st)
{
    realtime_app *app = st->app;
    st->prev = NULL;
    st->next = app->sockets;
    if (app->sockets)
        app->sockets->prev = st;
    app->sockets = st;
}

static void sockets_unlink(rt_socket *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        st->app->sockets = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->prev = st->next = NULL;
}

/* A CONNECT_ERROR: its message, and the refusal counted. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
refuse(realtime_app *app, sb_sio_reply *reply, const char *fmt, ...)
{
    sb_counter_add(app->m_refused, 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->message, sizeof reply->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A CONNECT waiting for the session check keeps what recovery needs. */
typedef struct rt_pending {
    void *ask;
    bool has_pid, has_offset;
    char pid[65], offset[33];
} rt_pending;

/* Past every check: the topics, the token's end, recovery. NULL, or why not. */
static const char *admit(struct sb_ctx *ctx, rt_socket *st,
                         const realtime_realtime_connect_auth *auth, char *pid, size_t cap)
{
    realtime_app *app = st->app;
    char topic[SB_TOPIC_MAX], user_key[SB_TOPIC_MAX];
    /* the user's topic counts its connections (--max-user-connections); with
     * no limit there is nothing to count */
    topic_key(user_key, "user", st->company, st->user);
    if (app->max_user_connections > 0 && sb_rt_claim(ctx, user_key, 0) != 0)
        return "Too many connections for this user";
    if (sb_rt_subscribe(ctx, realtime_company_topic(topic, st->company)) != 0 ||
        (st->artifact && realtime_follow(ctx, st, st->artifact) != 0)) {
        sb_rt_unsubscribe(ctx, user_key);
        return "Server error: out of memory";
    }
    st->admitted = true;
    sockets_link(st); /* the token's end is the connection's: realtime_expiry_sweep */
    realtime_recovery_connect(ctx, st, auth, pid, cap);
    sb_counter_add(app->m_connects, 1);
    sb_gauge_add(app->m_sockets, 1);
    return NULL;
}

/* The session check answered a CONNECT that waited for it. */
static void checked(struct sb_ctx *ctx, void *arg, bool allowed, const char *why)
{
    rt_socket *st = arg;
    realtime_app *app = st->app;
    rt_pending *pd = st->pending;
    pd->ask = NULL;
    if (!allowed) {
        char msg[256];
        snprintf(msg, sizeof msg, "Access denied: %s", why);
        sb_counter_add(app->m_refused, 1);
        sb_sio_refuse(ctx, st->so, msg, NULL); /* on_disconnect frees st */
        return;
    }
    realtime_realtime_connect_auth auth = {.token = {st->token, strlen(st->token)}};
    if (pd->has_pid) {
        auth.pid = (sb_str){pd->pid, strlen(pd->pid)};
        auth.has.pid = SB_SET;
    }
    if (pd->has_offset) {
        auth.offset = (sb_str){pd->offset, strlen(pd->offset)};
        auth.has.offset = SB_SET;
    }
    char pid[RT_PID_LEN + 1] = "";
    const char *no = admit(ctx, st, &auth, pid, sizeof pid);
    st->pending = NULL;
    free(pd);
    if (no) {
        sb_counter_add(app->m_refused, 1);
        sb_sio_refuse(ctx, st->so, no, NULL);
        return;
    }
    sb_sio_accept(ctx, st->so, pid);
}

static int on_connect(struct sb_ctx *ctx, sb_sio_socket *so, sb_str auth_raw, sb_sio_reply *reply)
{
    realtime_app *app = ctx->app;
    if (!sb_bucket_take(&app->handshakes, app->max_handshake_rate, 2.0 * app->max_handshake_rate, 1,
                        sb_mono_us())) {
        sb_counter_add(app->m_limited_handshakes, 1);
        return refuse(app, reply, "Too many connections: retry later");
    }
    if (!app->jwt)
        return refuse(app, reply, "Authentication failed: the server has no JWT key configured");
    /* what the client sent: the auth payload, the handshake's query */
    realtime_realtime_connect_auth auth;
    sb_reader r;
    sb_reader_init(&r, auth_raw.len ? auth_raw.ptr : "{}", auth_raw.len ? auth_raw.len : 2,
                   ctx->arena, NULL);
    if (!realtime_realtime_connect_auth_parse(&r, &auth))
        return refuse(app, reply, "Authentication failed: auth.%s", r.err_msg);
    realtime_realtime_connect_query query;
    sb_query hq;
    sb_sio_handshake_query(so, &hq);
    sb_reader_init(&r, "", 0, ctx->arena, NULL);
    if (!realtime_realtime_connect_query_from_query(&r, &hq, &query))
        return refuse(app, reply, "Invalid query: %s", r.err_msg);
    /* the token */
    sb_jwt_claims claims;
    sb_jwt_error jerr;
    if (sb_jwt_verify(app->jwt, auth.token.ptr, auth.token.len, (int64_t)time(NULL), ctx->arena,
                      &claims, &jerr) != SB_JWT_OK)
        return refuse(app, reply, "Authentication failed: %s", jerr.msg);
    if (!claims.user || !claims.company)
        return refuse(app, reply, "Authentication failed: %s",
                      !claims.user ? "the token names no user" : "the token names no company");
    char *session_id = sb_arena_strndup(ctx->arena, query.sessionId.ptr, query.sessionId.len);
    char *artifact = query.has.artifactId
                         ? sb_arena_strndup(ctx->arena, query.artifactId.ptr, query.artifactId.len)
                         : NULL;
    if (!session_id || (query.has.artifactId && !artifact))
        return refuse(app, reply, "Server error: out of memory");
    /* what the claims settle; the session check may settle the rest */
    bool session_ok = claims.session && strcmp(claims.session, session_id) == 0;
    bool artifact_ok = !artifact || claims.artifacts_all;
    for (size_t i = 0; i < claims.artifacts_count && !artifact_ok; i++)
        artifact_ok = strcmp(claims.artifacts[i], artifact) == 0;
    int cached = -1;
    if (!session_ok || !artifact_ok) {
        if (!app->check) {
            if (!session_ok)
                return refuse(app, reply, "Invalid session: sessionId is not the token's session");
            return refuse(app, reply, "Access denied: artifactId %s is not allowed by the token",
                          artifact);
        }
        char *tok = sb_arena_strndup(ctx->arena, auth.token.ptr, auth.token.len);
        cached = tok ? realtime_check_cached(app->check, tok, session_id, artifact) : 0;
        if (cached == 0)
            return refuse(app, reply, "Access denied: the session check refused it");
    }

    /* the connection's state */
    rt_socket *st = calloc(1, sizeof *st);
    size_t tl = app->keep_tokens ? auth.token.len : 0;
    size_t need = strlen(claims.user) + strlen(claims.company) + strlen(session_id) +
                  (artifact ? strlen(artifact) : 0) + tl + 5;
    char *block = st ? malloc(need) : NULL;
    if (!block) {
        free(st);
        return refuse(app, reply, "Server error: out of memory");
    }
    char *p = block;
    st->user = strings_put(&p, claims.user);
    st->company = strings_put(&p, claims.company);
    st->sid = strings_put(&p, session_id);
    st->artifact = artifact ? strings_put(&p, artifact) : NULL;
    st->token = p;
    memcpy(p, auth.token.ptr, tl);
    p[tl] = '\0';
    st->app = app;
    st->so = so;
    st->session = ctx->conn;
    st->exp = claims.exp;
    st->recover_from = -1;
    st->artifacts_all = claims.artifacts_all;
    st->artifacts = list_copy(claims.artifacts, claims.artifacts_count);
    st->permissions = list_copy(claims.permissions, claims.permissions_count);
    if (!st->artifacts || !st->permissions) {
        socket_free(st);
        return refuse(app, reply, "Server error: out of memory");
    }
    if (cached == -1 && (!session_ok || !artifact_ok)) {
        /* ask the REST API; the CONNECT is answered when it answers */
        rt_pending *pd = calloc(1, sizeof *pd);
        if (pd && auth.has.pid == SB_SET && auth.pid.len < sizeof pd->pid) {
            memcpy(pd->pid, auth.pid.ptr, auth.pid.len);
            pd->has_pid = true;
        }
        if (pd && auth.has.offset == SB_SET && auth.offset.len < sizeof pd->offset) {
            memcpy(pd->offset, auth.offset.ptr, auth.offset.len);
            pd->has_offset = true;
        }
        st->pending = pd;
        if (pd)
            pd->ask = realtime_check_ask(app->check, st->session, st->token, st->sid,
                                         artifact_ok ? NULL : st->artifact, checked, st);
        if (!pd || !pd->ask) {
            free(pd);
            st->pending = NULL;
            socket_free(st);
            return refuse(app, reply, "Server error: the session check is unavailable");
        }
        ctx->session = st;
        return 1;
    }
    const char *no = admit(ctx, st, &auth, reply->pid, sizeof reply->pid);
    if (no) {
        socket_free(st);
        return refuse(app, reply, "%s", no);
    }
    ctx->session = st;
    return 0;
}

static void on_ready(struct sb_ctx *ctx, sb_sio_socket *so)
{
    (void)so;
    realtime_recovery_replay(ctx, ctx->session);
}

static void on_disconnect(struct sb_ctx *ctx, sb_sio_socket *so, const char *reason)
{
    (void)so;
    rt_socket *st = ctx->session;
    if (!st)
        return;
    realtime_app *app = st->app;
    if (st->pending) { /* gone while the session check was asked */
        realtime_check_drop(st->pending->ask);
        free(st->pending);
        st->pending = NULL;
    }
    if (!st->admitted) {
        socket_free(st);
        ctx->session = NULL;
        return;
    }
    sockets_unlink(st);
    realtime_recovery_forget(ctx, st);
    realtime_recovery_keep(ctx, st, reason);
    /* topics: the session may stay (another namespace); leave ours */
    char topic[SB_TOPIC_MAX];
    sb_rt_unsubscribe(ctx, realtime_company_topic(topic, st->company));
    sb_rt_unsubscribe(ctx, topic_key(topic, "user", st->company, st->user));
    while (st->n_subs)
        realtime_unfollow(ctx, st, st->subs[st->n_subs - 1]);
    realtime_proxy_forget(app->proxy, st);
    sb_gauge_add(app->m_sockets, -1);
    socket_free(st);
    ctx->session = NULL;
}

/* REQUESTs ------------------------------------------------------------------ */

static bool str_is(sb_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static bool permitted(const rt_socket *st, const char *permission)
{
    if (!permission)
        return true;
    for (char **p = st->permissions; p && *p; p++)
        if (strcmp(*p, permission) == 0 || strcmp(*p, "*") == 0)
            return true;
    return false;
}

/* The requestId of an envelope that did not parse, when it has a string one:
 * the client can still match the ERROR to its request. */
static sb_str salvage_request_id(struct sb_ctx *ctx, sb_str env)
{
    sb_reader r;
    sb_str id = {"", 0};
    sb_reader_init(&r, env.ptr, env.len, ctx->arena, NULL);
    if (sb_peek(&r) != '{' || sb_find_discriminator(&r, "requestId", 9, &id) != 1 || id.len > 128)
        return (sb_str){"", 0};
    return id;
}

static void request(struct sb_ctx *ctx, rt_socket *st, const realtime_realtime_request *req,
                    int64_t ack)
{
    realtime_app *app = ctx->app;
    sb_counter_add(app->m_requests, 1);
    if (!sb_bucket_take(&st->requests, app->max_request_rate, 2.0 * app->max_request_rate, 1,
                        sb_mono_us())) {
        sb_counter_add(app->m_limited_requests, 1);
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_RATE_LIMITED, "slow down");
        if (++st->strikes >= RT_STRIKES) /* abuse: it does not slow down */
            sb_sio_disconnect(ctx, st->so, true);
        return;
    }
    st->strikes = 0;
    const sb_action_def *a = realtime_action_find(req->action.ptr, req->action.len);
    if (!a) {
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_UNKNOWN_ACTION, NULL);
        return;
    }
    if (!permitted(st, a->permission)) {
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_ACTION_NOT_ALLOWED, "the token does not grant it");
        return;
    }
    const char *data = req->has.data == SB_SET ? req->data.ptr : NULL;
    size_t len = req->has.data == SB_SET ? req->data.len : 0;
    char err[SB_ERR_MSG_MAX + 64] = "";
    if (a->proxy) {
        int rc = a->validate(ctx, data, len, err, sizeof err);
        if (rc != 0)
            realtime_send_error(ctx, st->session, ack, req->requestId, req->action, -rc, err);
        else
            realtime_proxy_forward(ctx, app->proxy, st, a, req, ack);
        return;
    }
    sb_buf result;
    sb_buf_init(&result);
    int rc = a->run(ctx, data, len, &result, err, sizeof err);
    if (rc == 0 && !result.oom) {
        realtime_send_response(ctx, st->session, ack, req->requestId, req->action, result.data,
                               result.len);
    } else {
        if (rc == -REALTIME_ERROR_INTERNAL || rc >= 0)
            sb_log(SB_LOG_ERROR, "realtime_action", "action=%.*s error=\"%s\"",
                   (int)req->action.len, req->action.ptr, err);
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            rc < 0 ? -rc : REALTIME_ERROR_INTERNAL,
                            rc == -REALTIME_ERROR_INVALID_DATA ? err : NULL);
    }
    sb_buf_free(&result);
}

void realtime_on_message(struct sb_ctx *ctx, rt_socket *st, const sb_sio_event *ev)
{
    static const sb_str none = {"", 0};
    if (!str_is(ev->name, "message")) {
        char why[160];
        snprintf(why, sizeof why, "event \"%.*s\": only \"message\" is served",
                 (int)(ev->name.len > 64 ? 64 : ev->name.len), ev->name.ptr);
        realtime_send_error(ctx, st->session, ev->ack, none, none, REALTIME_ERROR_INVALID_MESSAGE,
                            why);
        return;
    }
    /* the envelope: a JSON text in a string (the seed's client), or an object */
    sb_str env = {"", 0};
    if (ev->n_args >= 1 && ev->args[0].len && ev->args[0].ptr[0] == '"') {
        sb_reader r;
        sb_reader_init(&r, ev->args[0].ptr, ev->args[0].len, ctx->arena, NULL);
        if (!sb_read_string(&r, &env))
            env = (sb_str){"", 0};
    } else if (ev->n_args >= 1) {
        env = ev->args[0];
    }
    realtime_in in;
    sb_reader r;
    sb_reader_init(&r, env.ptr, env.len, ctx->arena, NULL);
    if (ev->n_args < 1 || !realtime_in_parse(&r, &in)) {
        sb_rt_invalid(ctx);
        realtime_send_error(ctx, st->session, ev->ack, salvage_request_id(ctx, env), none,
                            REALTIME_ERROR_INVALID_MESSAGE,
                            ev->n_args < 1 ? "no envelope" : r.err_msg);
        return;
    }
    request(ctx, st, &in.as.realtime_request, ev->ack);
}

static void on_event(struct sb_ctx *ctx, sb_sio_socket *so, const sb_sio_event *ev)
{
    (void)so;
    realtime_on_message(ctx, ctx->session, ev);
}

/* The generated dispatch's handler: realtime_in has one kind, handled above. */
int realtime_on_realtime_request(struct sb_ctx *ctx, const realtime_realtime_request *msg)
{
    request(ctx, ctx->session, msg, -1);
    return 0;
}

const sb_sio_namespace realtime_namespace = {"/", on_connect, on_ready, on_event, on_disconnect};
