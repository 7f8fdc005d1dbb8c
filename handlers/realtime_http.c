/*
 * realtime_http.c: the realtime operator API: POST /api/v1/realtime/updates,
 * the seed's sendUpdate(companyId, msg, artifactId) for any backend that can
 * send an HTTP request. The generated adapter (c/realtime_routes.c) checks
 * the API key with realtime_http_authenticate and parses the body; this
 * stores the UPDATE (connection state recovery reads it back), queues it
 * for the company's topic (or the artifact's), and answers once the
 * transaction has committed, with the number of connections it was handed
 * to.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "realtime_app.h"
#include "realtime_handlers.h"
#include "realtime_store.h"

#define PRUNE_BATCH 500
#define PRUNE_BATCHES 40 /* a sweep's most: 20,000 rows */

int realtime_http_authenticate(struct sb_ctx *ctx, const sb_http_request *req)
{
    realtime_app *app = ctx->app;
    core_apikey_status st = core_apikey_check(app->core, req, NULL);
    if (st == CORE_APIKEY_STORE_ERROR)
        return -REALTIME_ERROR_UNAVAILABLE;
    return st == CORE_APIKEY_OK ? 0 : -1;
}

/* The newest offset whose transaction committed: the recovery offset the
 * answers carry (realtime.c). */
static void offset_committed(void *arg, int rc)
{
    realtime_app *app = arg;
    if (rc == 0 && app->pending_offset > app->committed_offset)
        app->committed_offset = app->pending_offset;
    app->pending_offset = 0;
}

void realtime_prune(realtime_app *app)
{
    /* Here, on the sweep's timer in a unit of its own, not in the POST that
     * happened to draw a multiple of 64: on PostgreSQL a failing statement
     * (a lock timeout, a deadlock with another node's prune) aborts what
     * shares its transaction, and the POST's UPDATE must not go with it.
     * Batches until the window's past is gone, a bounded number per sweep. */
    int64_t before = sb_wall_ms() - app->recovery_ms;
    for (int i = 0; i < PRUNE_BATCHES; i++) {
        if (sb_store_begin(app->store) != SB_STORE_OK ||
            sb_store_unit_begin(app->store) != SB_STORE_OK)
            return;
        int n = realtime_update_prune(app->store, before, PRUNE_BATCH);
        sb_store_unit_end(app->store, n >= 0);
        if (n < 0)
            sb_log(SB_LOG_WARN, "realtime_prune", "error=\"%s\"", sb_store_last_error(app->store));
        if (n < PRUNE_BATCH)
            return;
    }
}

int realtime_on_publish_update(struct sb_ctx *ctx, const realtime_realtime_update_request *req,
                               realtime_realtime_update_accepted *resp,
                               realtime_realtime_http_error *err)
{
    (void)err;
    realtime_app *app = ctx->app;
    char *company = sb_arena_strndup(ctx->arena, req->company_id.ptr, req->company_id.len);
    char *artifact = req->has.artifact_id == SB_SET
                         ? sb_arena_strndup(ctx->arena, req->artifact_id.ptr, req->artifact_id.len)
                         : NULL;
    if (!company || (req->has.artifact_id == SB_SET && !artifact))
        return -REALTIME_ERROR_UNAVAILABLE;
    /* the envelope, as every connection gets it */
    char made[48];
    sb_str request_id = req->requestId;
    if (req->has.requestId != SB_SET) {
        snprintf(made, sizeof made, "%lld-%llu", (long long)sb_wall_ms(),
                 (unsigned long long)++app->update_seq);
        request_id = (sb_str){made, strlen(made)};
    }
    realtime_realtime_update u = {.requestId = request_id, .action = req->action};
    u.has.action = SB_SET;
    if (req->has.data == SB_SET) {
        u.data = req->data;
        u.has.data = SB_SET;
    }
    sb_buf_reset(&app->scratch);
    realtime_realtime_update_write(&app->scratch, &u);
    if (app->scratch.oom)
        return -REALTIME_ERROR_UNAVAILABLE;

    /* Stored first: a recovering client reads it back from here. In a unit
     * of its own: the append waits for its company's lock, and on
     * PostgreSQL a wait that fails (lock_timeout, a deadlock with a lock
     * another handler of this turn took) aborts what shares its
     * transaction; the unit keeps that to this POST, not the turn's other
     * writes. Unnoted (out of memory), a recovery in this turn could replay
     * it before its delivery: rolled back and refused. */
    int64_t offset = 0;
    int64_t now = sb_wall_ms();
    if (sb_store_unit_begin(app->store) == SB_STORE_OK) {
        offset = realtime_update_insert(app->store, company, artifact, now, app->scratch.data,
                                        app->scratch.len);
        sb_store_unit_end(app->store, offset != 0);
    }
    if (!offset) {
        sb_log(SB_LOG_ERROR, "realtime_update", "msg=\"could not store the update\" error=\"%s\"",
               sb_store_last_error(app->store));
        return -REALTIME_ERROR_UNAVAILABLE;
    }
    if (!app->pending_offset)
        sb_store_after_commit(app->store, offset_committed, app);
    app->pending_offset = offset;

    /* one serialization for every subscriber */
    char topic[SB_TOPIC_MAX];
    const char *key = artifact ? realtime_artifact_topic(topic, company, artifact)
                               : realtime_company_topic(topic, company);
    size_t n = 0;
    sb_topics_conns(sb_rt_topics(app->rt), key, &n);
    sb_buf *b = sb_outbox_topic(ctx->out, key, app->m_deliveries);
    realtime_write_update(b, (sb_str){app->scratch.data, app->scratch.len}, offset);
    /* positioned: a recovering connection's filter drops what its replay
     * sent (realtime_recovery.c) */
    sb_outbox_position(ctx->out, (uint64_t)offset);
    sb_counter_add(app->m_updates, 1);

    char *off = sb_arena_alloc(ctx->arena, 24);
    char *rid = sb_arena_strndup(ctx->arena, request_id.ptr, request_id.len);
    if (!off || !rid)
        return -REALTIME_ERROR_UNAVAILABLE;
    snprintf(off, 24, "%lld", (long long)offset);
    resp->requestId = (sb_str){rid, request_id.len};
    resp->offset = (sb_str){off, strlen(off)};
    resp->delivered = (int64_t)n;
    return 200;
}
