/*
 * dashboard_operator.c: the operator API (an operator API key, checked by
 * dashboard_http_authenticate_operator): a case's layout and components
 * (versioned: a change names the version it is based on, a stale one gets
 * 409), refreshes, iframe sources, component data, the button and FAQ
 * views, and the case's chat room. Each change is written in the turn's
 * transaction and pushed to every open dashboard of the case; the runtime
 * sends the answer and the push only after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_store.h"
#include "clock.h"
#include "ctx.h"
#include "dashboard_app.h"
#include "dashboard_handlers.h"
#include "log.h"

static const char *cstr(struct sb_ctx *ctx, sb_str s)
{
    return sb_arena_strndup(ctx->arena, s.ptr, s.len);
}

static void state_of(sb_str case_id, const dashboard_board *v, dashboard_dashboard_state *out)
{
    out->case_id = case_id;
    out->version = v->version;
    out->dsettings = v->data.dsettings;
    out->components.items = v->data.components.items;
    out->components.count = v->data.components.count;
}

static void etag(struct sb_ctx *ctx, int64_t version)
{
    char tag[32];
    snprintf(tag, sizeof tag, "\"%lld\"", (long long)version);
    sb_http_add_header(ctx->http_resp, "ETag", tag);
}

/* If-Match: "N" (or N, or W/"N"): 1 with *version; "*": 2 (whatever is
 * current: an explicit overwrite); 0 absent; -1 not a version. */
static int if_match(struct sb_ctx *ctx, int64_t *version)
{
    const char *h = sb_http_header(ctx->http, "if-match");
    if (!h)
        return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    if (h[0] == '*') {
        const char *t = h + 1;
        while (*t == ' ' || *t == '\t')
            t++;
        return *t ? -1 : 2;
    }
    if (h[0] == 'W' && h[1] == '/')
        h += 2;
    bool quoted = *h == '"';
    h += quoted;
    int64_t v = 0;
    int digits = 0;
    while (*h >= '0' && *h <= '9' && digits < 18) {
        v = v * 10 + (*h++ - '0');
        digits++;
    }
    if (quoted && *h++ != '"')
        return -1;
    while (*h == ' ' || *h == '\t')
        h++;
    if (digits == 0 || *h)
        return -1;
    *version = v;
    return 1;
}

static int load(struct sb_ctx *ctx, dashboard_app *app, const char *case_id, dashboard_board *v)
{
    return dashboard_load(ctx, app, case_id, sb_http_header(ctx->http, "host"), v);
}

int dashboard_on_get_dashboard(struct sb_ctx *ctx, const dashboard_case_path *path,
                               dashboard_dashboard_state *resp, dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, path->case_id);
    dashboard_board v;
    if (!case_id || load(ctx, app, case_id, &v) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    state_of(path->case_id, &v, resp);
    etag(ctx, v.version);
    return 200;
}

/* 409: the change was based on `base`, the dashboard is at `current`. */
static int conflict(struct sb_ctx *ctx, int64_t base, int64_t current,
                    dashboard_dashboard_http_error *err)
{
    char *d = sb_arena_alloc(ctx->arena, 96);
    if (d)
        snprintf(d, 96, "based on version %lld, the dashboard is at version %lld", (long long)base,
                 (long long)current);
    ctx->http_detail = d;
    err->version = current;
    err->has.version = SB_SET;
    etag(ctx, current);
    return -DASHBOARD_ERROR_VERSION_CONFLICT;
}

int dashboard_on_put_dashboard(struct sb_ctx *ctx, const dashboard_case_path *path,
                               const dashboard_dashboard_put_request *req,
                               dashboard_dashboard_state *resp, dashboard_dashboard_http_error *err)
{
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, path->case_id);
    int64_t base, header;
    int hm = if_match(ctx, &header);
    if (hm < 0) {
        ctx->http_detail = "If-Match: not a version (\"N\")";
        return -DASHBOARD_ERROR_INVALID_REQUEST;
    }
    if (req->has.version == SB_SET && hm > 0 && (hm == 2 || header != req->version)) {
        ctx->http_detail = "If-Match and the body's version differ";
        return -DASHBOARD_ERROR_INVALID_REQUEST;
    }
    dashboard_board v;
    if (req->has.version != SB_SET && hm == 0)
        return -DASHBOARD_ERROR_VERSION_REQUIRED;
    if (!case_id || load(ctx, app, case_id, &v) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (req->has.version == SB_SET)
        base = req->version;
    else if (hm == 1)
        base = header;
    else
        base = v.version; /* If-Match: * */
    if (base != v.version)
        return conflict(ctx, base, v.version, err);
    dashboard_board next = {.version = v.version + 1};
    next.data.dsettings = req->dsettings;
    next.data.components.items = req->components.items;
    next.data.components.count = req->components.count;
    const char *why = dashboard_layout_problem(ctx, &next.data);
    if (why) {
        ctx->http_detail = why;
        return -DASHBOARD_ERROR_INVALID_DASHBOARD;
    }
    int rc = dashboard_save(ctx, app, case_id, &next);
    if (rc > 0) {
        /* another node's change to the same version committed between the
         * read above and the write: the write's WHERE refused it */
        if (load(ctx, app, case_id, &v) != 0)
            return -DASHBOARD_ERROR_UNAVAILABLE;
        return conflict(ctx, base, v.version, err);
    }
    if (rc != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    dashboard_push_init_data(ctx, app, case_id, &next);
    sb_counter_add(app->m_changes, 1);
    sb_log(SB_LOG_INFO, "dashboard_set", "case_id=%s version=%lld", case_id,
           (long long)next.version);
    state_of(path->case_id, &next, resp);
    etag(ctx, next.version);
    return 200;
}

/* The answer of refresh and data: what was pushed (key copied: it may be
 * the caller's stack buffer). */
static int pushed(struct sb_ctx *ctx, const dashboard_case_component_path *path, const char *key,
                  bool shown, dashboard_component_push_response *resp)
{
    resp->case_id = path->case_id;
    resp->component_id = path->component_id;
    resp->key.len = strlen(key);
    resp->key.ptr = sb_arena_strndup(ctx->arena, key, resp->key.len);
    resp->pushed = shown;
    return resp->key.ptr ? 200 : -DASHBOARD_ERROR_UNAVAILABLE;
}

int dashboard_on_refresh_component(struct sb_ctx *ctx, const dashboard_case_component_path *path,
                                   const dashboard_component_refresh_request *req,
                                   dashboard_component_push_response *resp,
                                   dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, path->case_id);
    dashboard_board v;
    if (!case_id || load(ctx, app, case_id, &v) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (dashboard_find(&v, path->component_id.ptr, path->component_id.len) < 0) {
        ctx->http_detail = "component_id: not in the case's dashboard";
        return -DASHBOARD_ERROR_NOT_FOUND;
    }
    char buf[DASHBOARD_KEY_MAX];
    const char *key = req->has.key == SB_SET ? cstr(ctx, req->key) : dashboard_refresh_key(buf);
    if (!key)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    dashboard_push_refresh(ctx, app, case_id, path->component_id, key);
    return pushed(ctx, path, key, true, resp);
}

int dashboard_on_set_iframe(struct sb_ctx *ctx, const dashboard_case_component_path *path,
                            const dashboard_iframe_request *req, dashboard_iframe_response *resp,
                            dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, path->case_id);
    dashboard_board v;
    /* not versioned by the caller: a change of another node in between is
     * taken in (read again, set again) rather than refused */
    int tries = 0, rc;
again:
    if (!case_id || load(ctx, app, case_id, &v) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    int i = dashboard_find(&v, path->component_id.ptr, path->component_id.len);
    if (i < 0) {
        ctx->http_detail = "component_id: not in the case's dashboard";
        return -DASHBOARD_ERROR_NOT_FOUND;
    }
    dashboard_dashboard_component *c = &v.data.components.items[i];
    if (c->component_name != DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT &&
        c->component_name != DASHBOARD_DASHBOARD_COMPONENT_NAME_CHAT_COMPONENT) {
        ctx->http_detail = "component_id: not an IFRAMEComponent (change its type with PUT "
                           "dashboard first)";
        return -DASHBOARD_ERROR_INVALID_DASHBOARD;
    }
    c->src = req->iframe_source;
    c->has.src = SB_SET;
    v.version++;
    rc = dashboard_save(ctx, app, case_id, &v);
    if (rc > 0 && ++tries < 5)
        goto again;
    if (rc != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    dashboard_push_iframe(ctx, app, case_id, path->component_id, req->iframe_source);
    sb_counter_add(app->m_changes, 1);
    sb_log(SB_LOG_INFO, "dashboard_iframe", "case_id=%s version=%lld", case_id,
           (long long)v.version);
    resp->case_id = path->case_id;
    resp->component_id = path->component_id;
    resp->iframe_source = req->iframe_source;
    resp->version = v.version;
    etag(ctx, v.version);
    return 200;
}

int dashboard_on_put_component_data(struct sb_ctx *ctx, const dashboard_case_component_path *path,
                                    const dashboard_put_component_data_request *req,
                                    dashboard_component_push_response *resp,
                                    dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, path->case_id);
    const char *id = cstr(ctx, path->component_id);
    dashboard_board v;
    char key[DASHBOARD_KEY_MAX];
    dashboard_refresh_key(key);
    if (!case_id || !id || load(ctx, app, case_id, &v) != 0 ||
        dashboard_data_put(app->store, case_id, id, req->ptr, req->len, key, sb_wall_ms()) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    bool shown = dashboard_find(&v, path->component_id.ptr, path->component_id.len) >= 0;
    if (shown)
        dashboard_push_refresh(ctx, app, case_id, path->component_id, key);
    sb_counter_add(app->m_changes, 1);
    return pushed(ctx, path, key, shown, resp);
}

/* Does src load the view page `page` (same path, any host)? */
static bool shows(sb_str src, const char *page)
{
    const char *p = src.ptr, *end = src.ptr + src.len;
    const char *scheme = memchr(p, ':', src.len);
    if (!scheme || end - scheme < 3 || scheme[1] != '/' || scheme[2] != '/')
        return false;
    const char *path = memchr(scheme + 3, '/', (size_t)(end - scheme - 3));
    if (!path)
        return false;
    size_t n = strlen(page);
    return (size_t)(end - path) >= n && memcmp(path, page, n) == 0 &&
           (path + n == end || path[n] == '?' || path[n] == '#');
}

/* Store a view; refresh every component of the case that shows its page. */
static int put_view(struct sb_ctx *ctx, sb_str case_sv, const char *name, const char *page,
                    const sb_buf *json, dashboard_view_update_response *resp)
{
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, case_sv);
    dashboard_board v;
    char key[DASHBOARD_KEY_MAX];
    dashboard_refresh_key(key);
    if (json->oom || !case_id || load(ctx, app, case_id, &v) != 0 ||
        dashboard_view_put(app->store, case_id, name, json->data, json->len, sb_wall_ms()) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    int64_t pushed = 0;
    for (size_t i = 0; i < v.data.components.count; i++) {
        const dashboard_dashboard_component *c = &v.data.components.items[i];
        if (c->has.src == SB_SET && shows(c->src, page)) {
            dashboard_push_refresh(ctx, app, case_id, c->id, key);
            pushed++;
        }
    }
    sb_counter_add(app->m_changes, 1);
    resp->case_id = case_sv;
    resp->key.ptr = sb_arena_strndup(ctx->arena, key, strlen(key));
    resp->key.len = strlen(key);
    resp->pushed = pushed;
    return resp->key.ptr ? 200 : -DASHBOARD_ERROR_UNAVAILABLE;
}

int dashboard_on_put_button_view(struct sb_ctx *ctx, const dashboard_case_path *path,
                                 const dashboard_button_view *req,
                                 dashboard_view_update_response *resp,
                                 dashboard_dashboard_http_error *err)
{
    (void)err;
    sb_buf b;
    sb_buf_init(&b);
    dashboard_button_view_write(&b, req);
    int rc = put_view(ctx, path->case_id, "buttons", DASHBOARD_BUTTON_PAGE, &b, resp);
    sb_buf_free(&b);
    return rc;
}

int dashboard_on_put_faq_view(struct sb_ctx *ctx, const dashboard_case_path *path,
                              const dashboard_faq_view *req, dashboard_view_update_response *resp,
                              dashboard_dashboard_http_error *err)
{
    (void)err;
    sb_buf b;
    sb_buf_init(&b);
    dashboard_faq_view_write(&b, req);
    int rc = put_view(ctx, path->case_id, "faq", DASHBOARD_FAQ_PAGE, &b, resp);
    sb_buf_free(&b);
    return rc;
}

int dashboard_on_put_case_chat(struct sb_ctx *ctx, const dashboard_case_path *path,
                               const dashboard_case_chat_request *req,
                               dashboard_case_chat_response *resp,
                               dashboard_dashboard_http_error *err)
{
    (void)err;
    dashboard_app *app = ctx->app;
    const char *case_id = cstr(ctx, path->case_id);
    int rc = chat_room_exists(app->store, req->room_id);
    if (rc < 0 || !case_id)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    if (rc == 0) {
        ctx->http_detail = "room_id: no such chat room";
        return -DASHBOARD_ERROR_NOT_FOUND;
    }
    if (dashboard_chat_set(app->store, case_id, req->room_id, sb_wall_ms()) != 0)
        return -DASHBOARD_ERROR_UNAVAILABLE;
    sb_log(SB_LOG_INFO, "dashboard_chat", "case_id=%s room_id=%lld", case_id,
           (long long)req->room_id);
    resp->case_id = path->case_id;
    resp->room_id = req->room_id;
    return 200;
}
