/*
 * dashboard_app.c: the dashboard's state and start-up, its two authenticate
 * hooks (a fin_session_id for the component endpoints, an operator API key
 * for the operator API), the auth handshake itself (/request_for_auth,
 * /auth_handshake), the hourly prune of tickets and sessions, and the demo
 * data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "bus.h"
#include "chat_store.h"
#include "clock.h"
#include "ctx.h"
#include "dashboard_app.h"
#include "dashboard_handlers.h"
#include "log.h"

#define PRUNE_MS (3600 * 1000)

/* Sessions ------------------------------------------------------------------------ */

int dashboard_session_check(dashboard_app *app, const char *fin_session_id, size_t fin_len,
                            const char *case_id, const char *user_id, int64_t now_ms,
                            dashboard_who *who)
{
    if (fin_len == 0)
        return -DASHBOARD_ERROR_AUTH_REQUIRED;
    sb_token_hash(fin_session_id, fin_len, who->hash);
    int rc = dashboard_fin_get(app->store, who->hash, now_ms, app->idle_ms, &who->fin);
    if (rc < 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (rc > 0)
        return -DASHBOARD_ERROR_AUTH_REQUIRED; /* unknown, or past its idle or absolute end */
    if (strcmp(who->fin.case_id, case_id) != 0 ||
        (user_id && strcmp(who->fin.user_id, user_id) != 0))
        return -DASHBOARD_ERROR_FORBIDDEN;
    return 0;
}

void dashboard_session_touch(dashboard_app *app, const dashboard_who *who, int64_t now_ms)
{
    int64_t gap =
        app->idle_ms / 4 < DASHBOARD_TOUCH_GAP_MS ? app->idle_ms / 4 : DASHBOARD_TOUCH_GAP_MS;
    if (now_ms - who->fin.used_ms >= gap && dashboard_fin_touch(app->store, who->hash, now_ms) != 0)
        sb_counter_add(app->m_storage_errors, 1);
}

/* The component endpoints: ?case_id=&fin_session_id=[&user_id=] (the
 * generated adapter parses the query again, with the schema's limits). */
int dashboard_http_authenticate(struct sb_ctx *ctx, const sb_http_request *req)
{
    dashboard_app *app = ctx->app;
    const char *fin = sb_query_get(req->query, "fin_session_id");
    const char *case_id = sb_query_get(req->query, "case_id");
    const char *user_id = sb_query_get(req->query, "user_id");
    if (!fin || !case_id || strlen(case_id) > DASHBOARD_ID_MAX)
        return -DASHBOARD_ERROR_AUTH_REQUIRED;
    dashboard_who *who = sb_arena_alloc(ctx->arena, sizeof *who);
    if (!who)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    int64_t now = sb_wall_ms();
    int rc = dashboard_session_check(app, fin, strlen(fin), case_id,
                                     user_id && *user_id ? user_id : NULL, now, who);
    if (rc != 0)
        return rc == -DASHBOARD_ERROR_AUTH_REQUIRED ? -1 : rc;
    dashboard_session_touch(app, who, now);
    ctx->session = who;
    return 0;
}

int dashboard_http_authenticate_operator(struct sb_ctx *ctx, const sb_http_request *req)
{
    dashboard_app *app = ctx->app;
    core_apikey_status st = core_apikey_check(app->core, req, NULL);
    if (st == CORE_APIKEY_STORE_ERROR)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    return st == CORE_APIKEY_OK ? 0 : -DASHBOARD_ERROR_API_KEY_REQUIRED;
}

/* The handshake ---------------------------------------------------------------------- */

static const char *cstr(struct sb_ctx *ctx, sb_str s)
{
    return sb_arena_strndup(ctx->arena, s.ptr, s.len);
}

int dashboard_on_request_for_auth(struct sb_ctx *ctx, const dashboard_request_for_auth_request *req,
                                  dashboard_request_for_auth_response *resp,
                                  dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    char ticket[SB_TOKEN_HEX_LEN + 1], hash[SB_TOKEN_HEX_LEN + 1];
    const char *case_id = cstr(ctx, req->case_id), *user_id = cstr(ctx, req->user_id);
    if (!case_id || !user_id || sb_token_new(ticket) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    sb_token_hash(ticket, SB_TOKEN_HEX_LEN, hash);
    if (dashboard_ticket_add(app->store, hash, case_id, user_id,
                             sb_wall_ms() + app->ticket_ttl_ms) != 0) {
        sb_counter_add(app->m_storage_errors, 1);
        return -DASHBOARD_ERROR_UNAVAILABLE;
    }
    resp->auth_ticket.ptr = sb_arena_strndup(ctx->arena, ticket, SB_TOKEN_HEX_LEN);
    resp->auth_ticket.len = SB_TOKEN_HEX_LEN;
    resp->expires_in = app->ticket_ttl_ms / 1000;
    if (!resp->auth_ticket.ptr)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    sb_counter_add(app->m_tickets, 1);
    sb_log(SB_LOG_INFO, "dashboard_ticket", "case_id=%s user_id=%s", case_id, user_id);
    return 200;
}

int dashboard_on_auth_handshake(struct sb_ctx *ctx, const dashboard_auth_handshake_request *req,
                                dashboard_auth_handshake_response *resp,
                                dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    char hash[SB_TOKEN_HEX_LEN + 1], fin[SB_TOKEN_HEX_LEN + 1], fin_hash[SB_TOKEN_HEX_LEN + 1];
    const char *case_id = cstr(ctx, req->case_id), *user_id = cstr(ctx, req->user_id);
    if (!case_id || !user_id)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    sb_token_hash(req->auth_ticket.ptr, req->auth_ticket.len, hash);
    int64_t now = sb_wall_ms();
    int rc = dashboard_ticket_take(app->store, hash, case_id, user_id, now);
    if (rc < 0 || (rc == 0 && sb_token_new(fin) != 0)) {
        sb_counter_add(app->m_storage_errors, 1);
        return -DASHBOARD_ERROR_UNAVAILABLE;
    }
    if (rc > 0) {
        sb_counter_add(app->m_refused, 1);
        sb_log(SB_LOG_INFO, "dashboard_handshake_refused", "case_id=%s user_id=%s ip=%s", case_id,
               user_id, ctx->http && ctx->http->peer ? ctx->http->peer : "");
        return -DASHBOARD_ERROR_INVALID_TICKET;
    }
    sb_token_hash(fin, SB_TOKEN_HEX_LEN, fin_hash);
    if (dashboard_fin_add(app->store, fin_hash, case_id, user_id, now, now + app->max_ms) != 0) {
        sb_counter_add(app->m_storage_errors, 1);
        return -DASHBOARD_ERROR_UNAVAILABLE;
    }
    resp->fin_session_id.ptr = sb_arena_strndup(ctx->arena, fin, SB_TOKEN_HEX_LEN);
    resp->fin_session_id.len = SB_TOKEN_HEX_LEN;
    resp->expires_in = app->idle_ms / 1000;
    if (!resp->fin_session_id.ptr)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    sb_counter_add(app->m_handshakes, 1);
    sb_log(SB_LOG_INFO, "dashboard_session", "case_id=%s user_id=%s", case_id, user_id);
    return 200;
}

/* Start and stop -------------------------------------------------------------------- */

static void prune(struct sb_ctx *ctx, void *arg)
{
    (void)ctx;
    dashboard_app *app = arg;
    if (dashboard_prune(app->store, sb_wall_ms(), app->idle_ms) < 0)
        sb_log(SB_LOG_WARN, "dashboard_prune", "error=\"%s\"", sb_store_last_error(app->store));
}

static void storage_failed(sb_http_response *resp, void *arg)
{
    dashboard_app *app = arg;
    dashboard_dashboard_http_error err;
    memset(&err, 0, sizeof err);
    sb_counter_add(app->m_storage_errors, 1);
    sb_http_answer_error(resp, dashboard_http_errors, DASHBOARD_ERROR_UNAVAILABLE, &err, "");
}

/* A bus gap (runtime/bus.h): changes made through other nodes may have
 * missed this node's tabs; each gets its state afresh from the database. */
static void on_gap(void *arg)
{
    dashboard_app *app = arg;
    int n = dashboard_ws_resend_all(app);
    sb_log(SB_LOG_INFO, "dashboard_gap", "tabs=%d", n);
}

dashboard_app *dashboard_app_start(sb_rt *rt, sb_store *store, const sb_config *cfg, char *err,
                                   size_t err_size)
{
    if (dashboard_store_migrate(store, err, err_size) != 0 ||
        core_store_migrate(store, err, err_size) != 0 ||
        chat_store_migrate(store, err, err_size) != 0)
        return NULL;
    dashboard_app *app = calloc(1, sizeof *app);
    if (!app) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    app->rt = rt;
    app->store = store;
    app->core = core_store_new(store);
    app->ticket_ttl_ms = (int64_t)cfg->auth_ticket_ttl_s * 1000;
    app->idle_ms = (int64_t)cfg->fin_session_ttl_s * 1000;
    app->max_ms = (int64_t)cfg->fin_session_max_s * 1000;
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/')
        n--; /* "http://h/" and "http://h" are the same base */
    snprintf(app->public_url, sizeof app->public_url, "%.*s", (int)n, cfg->public_url);
    if (!app->core) {
        dashboard_app_stop(app);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    app->m_tickets = sb_counter_get("switchboard_dashboard_tickets_total",
                                    "auth tickets issued by /request_for_auth", NULL);
    app->m_handshakes = sb_counter_get("switchboard_dashboard_handshakes_total",
                                       "fin sessions opened by /auth_handshake", NULL);
    app->m_refused = sb_counter_get("switchboard_dashboard_refused_total",
                                    "handshakes and WebSocket upgrades refused", NULL);
    app->m_opens = sb_counter_get("switchboard_dashboard_opens_total", "dashboards opened", NULL);
    app->m_pushes =
        sb_counter_get("switchboard_dashboard_pushes_total",
                       "frames pushed to a case's dashboards (each serialized once)", NULL);
    app->m_deliveries =
        sb_counter_get("switchboard_dashboard_deliveries_total",
                       "pushed frames queued for a dashboard (one per tab reached)", NULL);
    app->m_changes =
        sb_counter_get("switchboard_dashboard_changes_total", "operator changes committed", NULL);
    app->m_storage_errors =
        sb_counter_get("switchboard_dashboard_storage_errors_total", "database failures", NULL);
    app->g_open = sb_gauge_new("switchboard_dashboard_open", "open dashboards", NULL);
    sb_failure storage = {.http = storage_failed, .arg = app};
    if (dashboard_routes_register(rt, app, &storage, err, err_size) != 0 ||
        dashboard_ws_register(app, &storage, err, err_size) != 0) {
        dashboard_app_stop(app);
        return NULL;
    }
    app->owner = sb_rt_new_id(rt);
    sb_rt_timer(rt, app->owner, PRUNE_MS, true, prune, app);
    if (sb_rt_bus(rt))
        sb_bus_on_gap(sb_rt_bus(rt), on_gap, app);
    return app;
}

void dashboard_app_stop(dashboard_app *app)
{
    if (!app)
        return;
    core_store_free(app->core);
    free(app);
}
