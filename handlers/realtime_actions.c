/*
 * realtime_actions.c: the actions Switchboard serves itself (schema/realtime.lua
 * declares them; the generated table parses their data and writes their
 * results). ctx->session is the connection's rt_socket.
 */
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "realtime_app.h"
#include "realtime_check.h"
#include "realtime_handlers.h"
#include "realtime_recovery.h"

static sb_str str(const char *s)
{
    return (sb_str){s, strlen(s)};
}

int realtime_action_ping(struct sb_ctx *ctx, realtime_ping_result *result)
{
    (void)ctx;
    result->time = sb_wall_ms();
    return 0;
}

static sb_str *strs(struct sb_ctx *ctx, char *const *items, size_t *count)
{
    size_t n = 0;
    while (items && items[n])
        n++;
    sb_str *out = sb_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = str(items[i]);
    *count = n;
    return out;
}

int realtime_action_whoami(struct sb_ctx *ctx, realtime_whoami_result *result)
{
    rt_socket *st = ctx->session;
    result->userId = str(st->user);
    result->companyId = str(st->company);
    result->sessionId = str(st->sid);
    if (st->artifact) {
        result->artifactId = str(st->artifact);
        result->has.artifactId = SB_SET;
    }
    sb_str *subs = sb_arena_alloc(ctx->arena, (st->n_subs ? st->n_subs : 1) * sizeof *subs);
    size_t np = 0;
    sb_str *perms = strs(ctx, st->permissions, &np);
    if (!subs || !perms)
        return -REALTIME_ERROR_INTERNAL;
    for (size_t i = 0; i < st->n_subs; i++)
        subs[i] = str(st->subs[i]);
    result->subscriptions.items = subs;
    result->subscriptions.count = st->n_subs;
    result->permissions.items = perms;
    result->permissions.count = np;
    return 0;
}

int realtime_action_subscribe_artifact(struct sb_ctx *ctx,
                                       const realtime_subscribe_artifact_data *data,
                                       realtime_subscribe_artifact_result *result)
{
    rt_socket *st = ctx->session;
    char *id = sb_arena_strndup(ctx->arena, data->artifactId.ptr, data->artifactId.len);
    if (!id || memchr(data->artifactId.ptr, '\0', data->artifactId.len))
        return -REALTIME_ERROR_INVALID_DATA;
    /* like the handshake's artifactId: the token's claim, or what the
     * session check allowed (cached) */
    if (!realtime_artifact_allowed(st, id) &&
        !(st->app->check && realtime_check_cached(st->app->check, st->token, st->sid, id) == 1))
        return -REALTIME_ERROR_ACTION_NOT_ALLOWED;
    size_t before = st->n_subs;
    int rc = realtime_follow(ctx, st, id);
    if (rc != 0)
        return rc;
    if (st->n_subs != before)
        realtime_recovery_subs_changed(st);
    result->artifactId = data->artifactId;
    return 0;
}

int realtime_action_unsubscribe_artifact(struct sb_ctx *ctx,
                                         const realtime_unsubscribe_artifact_data *data,
                                         realtime_unsubscribe_artifact_result *result)
{
    rt_socket *st = ctx->session;
    char *id = sb_arena_strndup(ctx->arena, data->artifactId.ptr, data->artifactId.len);
    if (!id)
        return -REALTIME_ERROR_INTERNAL;
    size_t before = st->n_subs;
    realtime_unfollow(ctx, st, id);
    if (st->n_subs != before)
        realtime_recovery_subs_changed(st);
    result->artifactId = data->artifactId;
    return 0;
}
