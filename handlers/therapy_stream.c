/*
 * therapy_stream.c: getActions as a stream (beyond the document):
 * a WebSocket at /api/therapy/stream?last_action_id=N that pushes the same
 * answers getActions would give, as they happen.
 *
 * The upgrade carries the session cookie (its Path covers the stream) and
 * is refused, as an HTTP answer with the usual error body, when it comes
 * from another site (Origin: cross-site WebSocket hijacking), without a live
 * session, before enterTherapySession, or from someone who is not a member.
 * Then the server sends every action above last_action_id the user may
 * see (frames of at most 1000), and each new one as it is stored: one
 * GetActionsResponse frame per action, its max_id the action's ID.
 *
 * Who gets what: public actions go to the topic of the therapy session,
 * private ones (an audience) to each member's topic of the session, so a
 * stream sees exactly what getActions would answer. Logout closes the
 * session's streams at once; a timer checks the session every
 * THERAPY_STREAM_CHECK_MS and closes the stream when it has expired. The
 * stream takes no messages: each one counts against --max-invalid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "therapy_app.h"
#include "therapy_handlers.h"
#include "topics.h"

#define THERAPY_STREAM_CHECK_MS 30000

typedef struct therapy_stream {
    therapy_app *app;
    uint64_t conn;
    char token_hash[SB_TOKEN_HEX_LEN + 1];
    char user[THERAPY_ID_MAX + 1];
    int64_t ts_id;
    struct therapy_stream *prev, *next;
} therapy_stream;

static const char *session_topic(char buf[SB_TOPIC_MAX], int64_t ts_id)
{
    snprintf(buf, SB_TOPIC_MAX, "therapy:%lld", (long long)ts_id);
    return buf;
}

static const char *member_topic(char buf[SB_TOPIC_MAX], int64_t ts_id, const char *user, size_t len)
{
    snprintf(buf, SB_TOPIC_MAX, "therapy:%lld:%.*s", (long long)ts_id, (int)len, user);
    return buf;
}

/* Publishing ------------------------------------------------------------------ */

static bool listened(therapy_app *app, const char *topic)
{
    if (sb_rt_bus(app->rt))
        return true; /* several nodes: the others' streams may listen */
    size_t n = 0;
    sb_topics_conns(sb_rt_topics(app->rt), topic, &n);
    return n > 0;
}

void therapy_stream_publish(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id,
                            const therapy_out *out, int64_t id, const char *audience)
{
    if (!app->n_streams && !sb_rt_bus(app->rt))
        return;
    char topic[SB_TOPIC_MAX];
    /* the topics that hear it, first: most actions have no stream at all */
    const char *topics[101];
    size_t n = 0;
    if (!audience) {
        if (listened(app, session_topic(topic, ts_id)))
            topics[n++] = sb_arena_strndup(ctx->arena, topic, strlen(topic));
    } else {
        for (const char *p = audience + 1; *p && n < 100;) {
            const char *comma = strchr(p, ',');
            if (!comma)
                break;
            member_topic(topic, ts_id, p, (size_t)(comma - p));
            if (listened(app, topic))
                topics[n++] = sb_arena_strndup(ctx->arena, topic, strlen(topic));
            p = comma + 1;
        }
    }
    if (n == 0)
        return;
    therapy_get_actions_response frame = {
        .result = SB_STR_LIT("ok"), .server_time = sb_wall_ms() * 1000, .max_id = id};
    frame.actions.items = (therapy_out *)out;
    frame.actions.count = 1;
    sb_buf b;
    sb_buf_init(&b);
    therapy_get_actions_response_write(&b, &frame);
    for (size_t i = 0; i < n && !b.oom; i++) {
        if (!topics[i])
            continue;
        sb_buf *to = sb_outbox_topic(ctx->out, topics[i], NULL);
        if (to)
            sb_buf_put(to, b.data, b.len);
    }
    sb_buf_free(&b);
}

void therapy_stream_logout(struct sb_ctx *ctx, therapy_app *app, const char *token_hash)
{
    for (therapy_stream *s = app->streams; s; s = s->next)
        if (strcmp(s->token_hash, token_hash) == 0)
            sb_outbox_close_conn(ctx->out, s->conn, 1008, "logged out");
}

/* The route ---------------------------------------------------------------------- */

static void refuse_frame(struct sb_ctx *ctx, int code, const char *detail)
{
    therapy_therapy_error_response err;
    memset(&err, 0, sizeof err);
    sb_http_response r;
    sb_http_response_init(&r);
    sb_http_answer_error(&r, therapy_http_errors, code, &err, detail);
    sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
    if (b)
        sb_buf_put(b, r.body.data, r.body.len);
    sb_http_response_free(&r);
    sb_rt_close(ctx, 1008, therapy_errors[code].name);
}

/* Who is asking, without writing anything (the upgrade has no ctx yet):
 * 0 with the session in *a and the cursor in *last, or an error code and
 * what follows its text in detail. */
static int check(therapy_app *app, const sb_ws_request *req, char detail[SB_ERR_MSG_MAX],
                 therapy_auth *a, int64_t *last)
{
    detail[0] = '\0';
    const char *why = therapy_origin_refused(app, req->origin, req->host, NULL);
    if (why) {
        snprintf(detail, SB_ERR_MSG_MAX, "%s", why);
        return THERAPY_ERROR_CSRF_FAILED;
    }
    char token[SB_TOKEN_HEX_LEN + 2];
    if (!req->cookie || !sb_cookie_find(req->cookie, THERAPY_COOKIE, token, sizeof token) ||
        strlen(token) != SB_TOKEN_HEX_LEN)
        return THERAPY_ERROR_AUTH_REQUIRED;
    sb_token_hash(token, SB_TOKEN_HEX_LEN, a->token_hash);
    int rc = therapy_auth_get(app->store, a->token_hash, &a->row);
    if (rc < 0)
        return THERAPY_ERROR_UNAVAILABLE;
    if (rc > 0 || therapy_session_expired(app, &a->row, sb_wall_ms()))
        return THERAPY_ERROR_AUTH_REQUIRED;
    if (!a->row.ts_id)
        return THERAPY_ERROR_NO_CURRENT_SESSION;
    char role[16];
    rc = therapy_member_role(app->store, a->row.ts_id, a->row.user, role);
    if (rc != 0)
        return rc < 0 ? THERAPY_ERROR_UNAVAILABLE : THERAPY_ERROR_NOT_ALLOWED_IN_SESSION;
    sb_reader r;
    therapy_therapy_stream_query q;
    sb_reader_init(&r, "", 0, NULL, NULL);
    if (!therapy_therapy_stream_query_from_query(&r, req->query, &q)) {
        snprintf(detail, SB_ERR_MSG_MAX, "%s", r.err_msg);
        return THERAPY_ERROR_INVALID_REQUEST;
    }
    *last = q.has.last_action_id == SB_SET ? q.last_action_id : 0;
    return 0;
}

static int on_upgrade(const sb_ws_request *req, void *arg, sb_http_response *refusal)
{
    therapy_app *app = arg;
    char detail[SB_ERR_MSG_MAX];
    therapy_auth a;
    int64_t last;
    int code = check(app, req, detail, &a, &last);
    if (code == 0)
        return 0;
    therapy_therapy_error_response err;
    memset(&err, 0, sizeof err);
    sb_http_answer_error(refusal, therapy_http_errors, code, &err, detail);
    if (code == THERAPY_ERROR_CSRF_FAILED)
        sb_log(SB_LOG_WARN, "therapy_stream_refused", "reason=origin ip=%s",
               req->peer ? req->peer : "");
    return -1;
}

static void recheck(struct sb_ctx *ctx, void *arg)
{
    therapy_stream *s = arg;
    therapy_auth_row row;
    int64_t now = sb_wall_ms();
    int rc = therapy_auth_get(s->app->store, s->token_hash, &row);
    if (rc > 0 ||
        (rc == 0 && (therapy_session_expired(s->app, &row, now) || row.ts_id != s->ts_id)))
        refuse_frame(ctx, THERAPY_ERROR_AUTH_REQUIRED, "");
}

static int on_open(struct sb_ctx *ctx, const sb_ws_request *req)
{
    therapy_app *app = ctx->app;
    char detail[SB_ERR_MSG_MAX];
    therapy_auth a;
    int64_t last;
    int code = check(app, req, detail, &a, &last); /* again: the upgrade was a turn ago */
    if (code != 0) {
        refuse_frame(ctx, code, detail);
        return 0;
    }
    /* the backlog first, then the live topics: all in this turn, so
     * nothing stored in between is missed or sent twice */
    for (;;) {
        therapy_out *items;
        size_t n;
        int64_t scanned;
        if (therapy_read_actions(ctx, app, a.row.ts_id, last, a.row.user, &items, &n, &scanned) !=
            0) {
            refuse_frame(ctx, THERAPY_ERROR_UNAVAILABLE, "");
            return 0;
        }
        if (n > 0) {
            therapy_get_actions_response frame = {
                .result = SB_STR_LIT("ok"), .server_time = sb_wall_ms() * 1000, .max_id = scanned};
            frame.actions.items = items;
            frame.actions.count = n;
            sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
            if (b)
                therapy_get_actions_response_write(b, &frame);
        }
        if (n < THERAPY_MAX_ACTIONS || scanned == last)
            break;
        last = scanned;
    }
    therapy_stream *s = calloc(1, sizeof *s);
    char topic[SB_TOPIC_MAX];
    if (!s || sb_rt_subscribe(ctx, session_topic(topic, a.row.ts_id)) != 0 ||
        sb_rt_subscribe(ctx, member_topic(topic, a.row.ts_id, a.row.user, strlen(a.row.user))) !=
            0) {
        free(s);
        refuse_frame(ctx, THERAPY_ERROR_UNAVAILABLE, "");
        return 0;
    }
    s->app = app;
    s->conn = ctx->conn;
    s->ts_id = a.row.ts_id;
    memcpy(s->token_hash, a.token_hash, sizeof s->token_hash);
    snprintf(s->user, sizeof s->user, "%s", a.row.user);
    s->next = app->streams;
    if (s->next)
        s->next->prev = s;
    app->streams = s;
    app->n_streams++;
    ctx->session = s;
    sb_rt_timer(app->rt, ctx->conn, THERAPY_STREAM_CHECK_MS, true, recheck, s);
    sb_log(SB_LOG_DEBUG, "therapy_stream_open", "user=%s ts_id=%lld", s->user, (long long)s->ts_id);
    return 0;
}

static void on_message(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    (void)data, (void)len, (void)binary;
    sb_rt_invalid(ctx); /* the stream only speaks */
}

static void on_close(struct sb_ctx *ctx)
{
    therapy_stream *s = ctx->session;
    if (!s)
        return;
    therapy_app *app = s->app;
    if (s->prev)
        s->prev->next = s->next;
    else
        app->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    app->n_streams--;
    free(s);
}

int therapy_stream_register(therapy_app *app, const sb_failure *storage, char *err, size_t err_size)
{
    sb_ws_handler h = {.path = THERAPY_STREAM_PATH,
                       .channel = "therapy",
                       .on_open = on_open,
                       .on_message = on_message,
                       .on_close = on_close,
                       .on_upgrade = on_upgrade,
                       .max_message = 1024,
                       .app = app};
    if (storage)
        h.storage_error = *storage;
    return sb_rt_add_ws(app->rt, &h, err, err_size);
}
