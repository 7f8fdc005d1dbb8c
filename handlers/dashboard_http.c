/*
 * dashboard_http.c: the endpoints a dashboard and its components call with
 * their fin_session_id (checked by dashboard_http_authenticate before any
 * of these runs; ctx->session is the dashboard_who): init_data over HTTP,
 * a component's data, the button and FAQ views, and the chat page's access
 * to the case's room on the seed-003 chat.
 */
#include <stdio.h>
#include <string.h>

#include "chat_store.h"
#include "clock.h"
#include "ctx.h"
#include "dashboard_app.h"
#include "dashboard_handlers.h"
#include "log.h"

int dashboard_on_get_init_data(struct sb_ctx *ctx, const dashboard_dashboard_connect_params *query,
                               dashboard_init_data *resp, dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    const dashboard_who *who = ctx->session;
    /* the hook saw user_id; the schema has now checked it is there */
    if (query->user_id.len != strlen(who->fin.user_id) ||
        memcmp(query->user_id.ptr, who->fin.user_id, query->user_id.len) != 0)
        return -DASHBOARD_ERROR_FORBIDDEN;
    dashboard_board v;
    if (dashboard_load(ctx, app, who->fin.case_id, sb_http_header(ctx->http, "host"), &v) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    dashboard_init_data_of(&v, resp);
    return 200;
}

int dashboard_on_get_component_data(struct sb_ctx *ctx, const dashboard_component_path *path,
                                    const dashboard_dashboard_session_query *query,
                                    dashboard_get_component_data_response *resp,
                                    dashboard_dashboard_http_error *err)
{
    (void)query, (void)err;
    dashboard_app *app = ctx->app;
    const dashboard_who *who = ctx->session;
    const char *id = sb_arena_strndup(ctx->arena, path->component_id.ptr, path->component_id.len);
    const char *json;
    size_t len;
    int rc =
        id ? dashboard_data_get(app->store, ctx->arena, who->fin.case_id, id, &json, &len) : -1;
    if (rc < 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (rc > 0) {
        ctx->http_detail = "no data for this component yet";
        return -DASHBOARD_ERROR_NOT_FOUND;
    }
    resp->ptr = json;
    resp->len = len;
    return 200;
}

/* A stored view, or the empty one: 0, -1 storage, -2 a row that does not parse. */
static int view(struct sb_ctx *ctx, const char *name, bool (*parse)(sb_reader *, void *), void *out)
{
    dashboard_app *app = ctx->app;
    const dashboard_who *who = ctx->session;
    const char *json;
    size_t len;
    int rc = dashboard_view_get(app->store, ctx->arena, who->fin.case_id, name, &json, &len);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    sb_reader r;
    sb_reader_init(&r, json, len, ctx->arena, NULL);
    if (!parse(&r, out) || !sb_read_end(&r)) {
        sb_log(SB_LOG_ERROR, "dashboard_corrupt", "case_id=%s view=%s error=\"%s\"",
               who->fin.case_id, name, r.err_msg);
        return -1;
    }
    return 0;
}

static bool parse_buttons(sb_reader *r, void *out)
{
    return dashboard_button_view_parse(r, out);
}

static bool parse_faq(sb_reader *r, void *out)
{
    return dashboard_faq_view_parse(r, out);
}

int dashboard_on_get_button_view(struct sb_ctx *ctx, const dashboard_dashboard_session_query *query,
                                 dashboard_button_view *resp, dashboard_dashboard_http_error *err)
{
    (void)query, (void)err;
    return view(ctx, "buttons", parse_buttons, resp) == 0 ? 200 : -DASHBOARD_ERROR_UNAVAILABLE;
}

int dashboard_on_get_faq_view(struct sb_ctx *ctx, const dashboard_dashboard_session_query *query,
                              dashboard_faq_view *resp, dashboard_dashboard_http_error *err)
{
    (void)query, (void)err;
    return view(ctx, "faq", parse_faq, resp) == 0 ? 200 : -DASHBOARD_ERROR_UNAVAILABLE;
}

int dashboard_on_chat_access(struct sb_ctx *ctx, const dashboard_dashboard_session_query *query,
                             dashboard_chat_access_response *resp,
                             dashboard_dashboard_http_error *err)
{
    (void)query, (void)err;
    dashboard_app *app = ctx->app;
    const dashboard_who *who = ctx->session;
    int64_t room;
    int rc = dashboard_chat_get(app->store, who->fin.case_id, &room);
    if (rc < 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (rc > 0) {
        ctx->http_detail = "this case has no chat room";
        return -DASHBOARD_ERROR_NOT_FOUND;
    }
    /* the dashboard's user is the chat user with that ID, a member of the room */
    int64_t user = chat_parse_id(who->fin.user_id, strlen(who->fin.user_id));
    rc = user > 0 ? chat_room_member_of(app->store, room, user) : 0;
    if (rc < 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (rc == 0) {
        ctx->http_detail = "the user is not in this case's chat room";
        return -DASHBOARD_ERROR_NOT_FOUND;
    }
    char token[SB_TOKEN_HEX_LEN + 1], hash[SB_TOKEN_HEX_LEN + 1];
    int64_t now = sb_wall_ms();
    if (sb_token_new(token) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    sb_token_hash(token, SB_TOKEN_HEX_LEN, hash);
    if (chat_access_token_add(app->store, user, hash, now + DASHBOARD_CHAT_TOKEN_S * 1000LL, now) !=
        0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    resp->token.ptr = sb_arena_strndup(ctx->arena, token, SB_TOKEN_HEX_LEN);
    resp->token.len = SB_TOKEN_HEX_LEN;
    resp->room_id = room;
    resp->user_id = user;
    resp->expires_in = DASHBOARD_CHAT_TOKEN_S;
    return resp->token.ptr ? 200 : -DASHBOARD_ERROR_UNAVAILABLE;
}
