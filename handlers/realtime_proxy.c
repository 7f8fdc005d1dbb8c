/*
 * realtime_proxy.c: proxied actions (realtime_proxy.h).
 *
 * The upstream gets POST <url> ({action} in it replaced by the action's
 * name) with "Authorization: Bearer <the caller's token>", "X-Request-Id"
 * and the body RealtimeUpstreamRequest (schema/realtime.lua). A 2xx answer's
 * body (JSON, or empty) is the RESPONSE's data; any other status is an
 * ERROR: 400 and 422 INVALID_DATA, 401 and 403 ACTION_NOT_ALLOWED, 404
 * UNKNOWN_ACTION, 429 RATE_LIMITED, the rest INTERNAL; so are a timeout,
 * a refused connection and a body that is not JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "http_client.h"
#include "log.h"
#include "realtime_proxy.h"

#define PER_CONNECTION_SHARE 8 /* a connection may use 1/8 of the slots */
#define MAX_ANSWER (1u << 20)

typedef struct call {
    realtime_proxy *proxy;
    rt_socket *st; /* NULL once the connection is gone */
    uint64_t session;
    int64_t ack;
    char *request_id, *action; /* one block */
    struct call *prev, *next;
} call;

struct realtime_proxy {
    realtime_app *app;
    sb_http_client *client;
    char url[512];
    int max_inflight;
    size_t inflight;
    call *calls;
    sb_counter *m_forwarded, *m_failed;
};

realtime_proxy *realtime_proxy_new(struct event_base *base, realtime_app *app, const char *url,
                                   int timeout_ms, int max_inflight)
{
    realtime_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    snprintf(p->url, sizeof p->url, "%s", url ? url : "");
    p->max_inflight = max_inflight > 0 ? max_inflight : 256;
    p->client = sb_http_client_new(base, 8, timeout_ms, MAX_ANSWER);
    p->m_forwarded = sb_counter_get("switchboard_realtime_proxied_total",
                                    "Proxied actions forwarded upstream", "");
    p->m_failed = sb_counter_get("switchboard_realtime_proxy_failures_total",
                                 "Proxied actions the upstream did not answer with 2xx", "");
    if (!p->client) {
        free(p);
        return NULL;
    }
    return p;
}

size_t realtime_proxy_inflight(const realtime_proxy *p)
{
    return p->inflight;
}

static void unlink_call(realtime_proxy *p, call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        p->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    p->inflight--;
    if (k->st)
        k->st->proxied--;
}

typedef struct answer {
    call *k;
    int status;
    const char *body;
    size_t len;
    const char *error;
} answer;

static int code_of(int status)
{
    switch (status) {
    case 400:
    case 422:
        return REALTIME_ERROR_INVALID_DATA;
    case 401:
    case 403:
        return REALTIME_ERROR_ACTION_NOT_ALLOWED;
    case 404:
        return REALTIME_ERROR_UNKNOWN_ACTION;
    case 429:
        return REALTIME_ERROR_RATE_LIMITED;
    default:
        return REALTIME_ERROR_INTERNAL;
    }
}

/* In a unit of the runtime's (sb_rt_call): the answer to the connection. */
static void relay(struct sb_ctx *ctx, void *arg)
{
    answer *a = arg;
    call *k = a->k;
    realtime_proxy *p = k->proxy;
    ctx->app = p->app;
    sb_str id = {k->request_id, strlen(k->request_id)};
    sb_str action = {k->action, strlen(k->action)};
    char why[160];
    if (a->status >= 200 && a->status < 300) {
        sb_json_err jerr;
        if (a->len == 0 || sb_json_validate(a->body, a->len, NULL, &jerr, NULL, 0)) {
            realtime_send_response(ctx, k->session, k->ack, id, action, a->body, a->len);
            return;
        }
        snprintf(why, sizeof why, "the upstream answered %d with a body that is not JSON",
                 a->status);
        realtime_send_error(ctx, k->session, k->ack, id, action, REALTIME_ERROR_INTERNAL, why);
        sb_counter_add(p->m_failed, 1);
        return;
    }
    sb_counter_add(p->m_failed, 1);
    if (a->status == 0)
        snprintf(why, sizeof why, "the upstream gave %s", a->error ? a->error : "no answer");
    else
        snprintf(why, sizeof why, "the upstream answered %d", a->status);
    realtime_send_error(ctx, k->session, k->ack, id, action, code_of(a->status), why);
}

static void answered(int status, const char *body, size_t len, const char *error, void *arg)
{
    call *k = arg;
    realtime_proxy *p = k->proxy;
    bool live = k->st != NULL;
    unlink_call(p, k);
    if (live) {
        answer a = {k, status, body, len, error};
        sb_rt_call(p->app->rt, k->session, p->app, relay, &a);
    }
    free(k);
}

void realtime_proxy_forward(struct sb_ctx *ctx, realtime_proxy *p, rt_socket *st,
                            const sb_action_def *a, const realtime_realtime_request *req,
                            int64_t ack)
{
    (void)a;
    if (!p || !p->url[0]) {
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_INTERNAL, "no upstream is configured for this action");
        return;
    }
    int share = p->max_inflight / PER_CONNECTION_SHARE;
    if (share < 1)
        share = 1;
    if (p->inflight >= (size_t)p->max_inflight || st->proxied >= share) {
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_RATE_LIMITED, "too many requests in flight");
        return;
    }
    /* the URL, the body, the headers */
    char url[1024];
    const char *at = strstr(p->url, "{action}");
    if (at)
        snprintf(url, sizeof url, "%.*s%.*s%s", (int)(at - p->url), p->url, (int)req->action.len,
                 req->action.ptr, at + 8);
    else
        snprintf(url, sizeof url, "%s", p->url);
    realtime_realtime_upstream_request up = {.action = req->action, .requestId = req->requestId};
    if (req->has.data == SB_SET) {
        up.data = req->data;
        up.has.data = SB_SET;
    }
    sb_buf body;
    sb_buf_init(&body);
    realtime_realtime_upstream_request_write(&body, &up);
    size_t hl = strlen(st->token) + 32;
    char *auth = sb_arena_alloc(ctx->arena, hl);
    char *rid = sb_arena_alloc(ctx->arena, req->requestId.len + 16);
    call *k = calloc(1, sizeof *k + req->requestId.len + req->action.len + 2);
    if (!auth || !rid || !k || body.oom) {
        free(k);
        sb_buf_free(&body);
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_INTERNAL, "out of memory");
        return;
    }
    snprintf(auth, hl, "Authorization: Bearer %s", st->token);
    snprintf(rid, req->requestId.len + 16, "X-Request-Id: %.*s", (int)req->requestId.len,
             req->requestId.ptr);
    const char *headers[] = {auth, rid, NULL};
    k->proxy = p;
    k->st = st;
    k->session = st->session;
    k->ack = ack;
    k->request_id = (char *)(k + 1);
    memcpy(k->request_id, req->requestId.ptr, req->requestId.len);
    k->request_id[req->requestId.len] = '\0';
    k->action = k->request_id + req->requestId.len + 1;
    memcpy(k->action, req->action.ptr, req->action.len);
    k->action[req->action.len] = '\0';
    k->next = p->calls;
    if (p->calls)
        p->calls->prev = k;
    p->calls = k;
    p->inflight++;
    st->proxied++;
    if (sb_http_client_request(p->client, "POST", url, headers, body.data, body.len, answered, k) !=
        0) {
        unlink_call(p, k);
        free(k);
        realtime_send_error(ctx, st->session, ack, req->requestId, req->action,
                            REALTIME_ERROR_INTERNAL, "the upstream URL is not http://");
    } else {
        sb_counter_add(p->m_forwarded, 1);
    }
    sb_buf_free(&body);
}

void realtime_proxy_forget(realtime_proxy *p, rt_socket *st)
{
    if (!p)
        return;
    for (call *k = p->calls; k; k = k->next) {
        if (k->st == st) {
            k->st = NULL;
            st->proxied--;
        }
    }
}

void realtime_proxy_free(realtime_proxy *p)
{
    if (!p)
        return;
    sb_http_client_free(p->client); /* every call ends (no connection hears of it) */
    free(p);
}
