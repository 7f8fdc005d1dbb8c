/*
 * dashboard.c: the case dashboard of seed 000 over WebSocket (/api/v1/ws).
 *
 * A message's path: the upgrade is checked before it happens (on_upgrade:
 * a valid fin_session_id for exactly this case and user, else HTTP 401 or
 * 403 with the channel's error body); on_open subscribes the connection to
 * its case's topic and sends init_data. A client frame is parsed by the
 * generated dashboard_in_parse() and dispatched by dashboard_in_dispatch()
 * to the two handlers below. The operator API (dashboard_operator.c) changes
 * a case and calls the dashboard_push_*() functions here: one frame,
 * serialized once, for every open dashboard of the case, after the commit.
 *
 * The channel declares no error message (the document has none): a frame
 * that does not parse, or names an unknown action, is ignored and counted
 * against --max-invalid; past it the connection is closed with 1008.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "dashboard_app.h"
#include "dashboard_handlers.h"
#include "log.h"

#define DASHBOARD_MAX_MESSAGE 1024 /* the client's messages are {"action": ...} */

/* One open dashboard: only what its later init_data needs, in one
 * allocation sized to fit (10,000 idle tabs cost their state, not buffers). */
typedef struct dashboard_conn {
    dashboard_app *app;
    const char *host; /* the upgrade's Host, for the default chat src */
    char case_id[];   /* then the host, both NUL-terminated */
} dashboard_conn;

/* Who is asking: 0, or the error code (no writes: the upgrade has no ctx). */
static int check(dashboard_app *app, const sb_ws_request *req, dashboard_who *who,
                 char detail[SB_ERR_MSG_MAX])
{
    detail[0] = '\0';
    sb_reader r;
    dashboard_dashboard_connect_params q;
    sb_reader_init(&r, "", 0, NULL, NULL);
    if (!dashboard_dashboard_connect_params_from_query(&r, req->query, &q)) {
        snprintf(detail, SB_ERR_MSG_MAX, "%s", r.err_msg);
        return DASHBOARD_ERROR_INVALID_REQUEST;
    }
    char case_id[DASHBOARD_ID_MAX + 1], user_id[DASHBOARD_ID_MAX + 1];
    snprintf(case_id, sizeof case_id, "%.*s", (int)q.case_id.len, q.case_id.ptr);
    snprintf(user_id, sizeof user_id, "%.*s", (int)q.user_id.len, q.user_id.ptr);
    int rc = dashboard_session_check(app, q.fin_session_id.ptr, q.fin_session_id.len, case_id,
                                     user_id, sb_wall_ms(), who);
    return rc == 0 ? 0 : -rc;
}

static int on_upgrade(const sb_ws_request *req, void *arg, sb_http_response *refusal)
{
    dashboard_app *app = arg;
    dashboard_who who;
    char detail[SB_ERR_MSG_MAX];
    int code = check(app, req, &who, detail);
    if (code == 0)
        return 0;
    sb_counter_add(app->m_refused, 1);
    dashboard_dashboard_http_error err;
    memset(&err, 0, sizeof err);
    sb_http_answer_error(refusal, dashboard_http_errors, code, &err, detail);
    return -1;
}

static void send_init_data(struct sb_ctx *ctx, dashboard_conn *c)
{
    dashboard_board v;
    if (dashboard_load(ctx, c->app, c->case_id, c->host, &v) != 0) {
        sb_counter_add(c->app->m_storage_errors, 1);
        sb_rt_close(ctx, 1011, "storage unavailable");
        return;
    }
    dashboard_init_data msg;
    dashboard_init_data_of(&v, &msg);
    sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
    if (b)
        dashboard_init_data_write(b, &msg);
}

static int on_open(struct sb_ctx *ctx, const sb_ws_request *req)
{
    dashboard_app *app = ctx->app;
    dashboard_who who;
    char detail[SB_ERR_MSG_MAX], topic[SB_TOPIC_MAX];
    int code = check(app, req, &who, detail); /* again: the upgrade was a turn ago */
    if (code != 0) {
        sb_rt_close(ctx, 1008, dashboard_errors[code].name);
        return 0;
    }
    const char *host = req->host && strlen(req->host) < 256 ? req->host : "";
    size_t nc = strlen(who.fin.case_id) + 1, nh = strlen(host) + 1;
    dashboard_conn *c = malloc(sizeof *c + nc + nh);
    if (!c || sb_rt_subscribe(ctx, dashboard_topic(topic, who.fin.case_id)) != 0) {
        free(c);
        sb_rt_close(ctx, 1011, "unavailable");
        return 0;
    }
    c->app = app;
    memcpy(c->case_id, who.fin.case_id, nc);
    memcpy(c->case_id + nc, host, nh);
    c->host = c->case_id + nc;
    ctx->session = c;
    app->n_open++;
    sb_gauge_add(app->g_open, 1);
    sb_counter_add(app->m_opens, 1);
    dashboard_session_touch(app, &who, sb_wall_ms());
    send_init_data(ctx, c);
    return 0;
}

static void on_message(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    (void)binary; /* the route takes text only: binary closes with 1003 */
    if (!ctx->session)
        return;
    sb_reader r;
    dashboard_in msg;
    sb_reader_init(&r, data, len, ctx->arena, NULL);
    if (!dashboard_in_parse(&r, &msg) || !sb_read_end(&r) ||
        dashboard_in_dispatch(ctx, &msg) != 0) {
        sb_log(SB_LOG_DEBUG, "dashboard_invalid", "error=\"%s\"", r.err_msg);
        sb_rt_invalid(ctx); /* ignored; past --max-invalid the runtime closes (1008) */
    }
}

static void on_close(struct sb_ctx *ctx)
{
    dashboard_conn *c = ctx->session;
    if (!c)
        return;
    c->app->n_open--;
    sb_gauge_add(c->app->g_open, -1);
    free(c);
}

int dashboard_on_request_init_data(struct sb_ctx *ctx, const dashboard_request_init_data *msg)
{
    (void)msg;
    send_init_data(ctx, ctx->session);
    return 0;
}

int dashboard_on_request_ping(struct sb_ctx *ctx, const dashboard_request_ping *msg)
{
    (void)msg;
    dashboard_pong_reply pong = {.data.server_time = sb_wall_ms()};
    sb_buf *b = sb_outbox_conn(ctx->out, ctx->conn, NULL);
    if (b)
        dashboard_pong_reply_write(b, &pong);
    return 0;
}

int dashboard_ws_register(dashboard_app *app, const sb_failure *storage, char *err, size_t err_size)
{
    sb_ws_handler h = {.path = DASHBOARD_WS_PATH,
                       .channel = "dashboard",
                       .on_open = on_open,
                       .on_message = on_message,
                       .on_close = on_close,
                       .on_upgrade = on_upgrade,
                       .max_message = DASHBOARD_MAX_MESSAGE,
                       .app = app};
    if (storage)
        h.storage_error = *storage;
    return sb_rt_add_ws(app->rt, &h, err, err_size);
}

static void resend(struct sb_ctx *ctx, void *arg)
{
    (void)arg;
    if (ctx->session)
        send_init_data(ctx, ctx->session);
}

int dashboard_ws_resend_all(dashboard_app *app)
{
    return sb_rt_each_ws(app->rt, DASHBOARD_WS_PATH, resend, NULL);
}

/* Pushes --------------------------------------------------------------------------- */

static sb_buf *to_case(struct sb_ctx *ctx, dashboard_app *app, const char *case_id)
{
    char topic[SB_TOPIC_MAX];
    sb_counter_add(app->m_pushes, 1);
    return sb_outbox_topic(ctx->out, dashboard_topic(topic, case_id), app->m_deliveries);
}

void dashboard_push_init_data(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                              const dashboard_board *v)
{
    dashboard_init_data msg;
    dashboard_init_data_of(v, &msg);
    sb_buf *b = to_case(ctx, app, case_id);
    if (b)
        dashboard_init_data_write(b, &msg);
}

void dashboard_push_refresh(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                            sb_str component_id, const char *key)
{
    dashboard_request_component_refresh msg = {
        .data = {.component_id = component_id, .key = {key, strlen(key)}}};
    sb_buf *b = to_case(ctx, app, case_id);
    if (b)
        dashboard_request_component_refresh_write(b, &msg);
}

void dashboard_push_iframe(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                           sb_str component_id, sb_str src)
{
    dashboard_request_iframe_url msg = {
        .data = {.component_id = component_id, .iframe_source = src}};
    sb_buf *b = to_case(ctx, app, case_id);
    if (b)
        dashboard_request_iframe_url_write(b, &msg);
}
