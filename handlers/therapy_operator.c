/*
 * therapy_operator.c: the operator endpoints (an operator API key, see
 * apikey.h): notices, reload signals and assessment changes, stored as
 * actions of the therapy session and handed at once to its long polls.
 */
#include <string.h>

#include "ctx.h"
#include "log.h"
#include "therapy_app.h"
#include "therapy_handlers.h"

static int session_exists(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id)
{
    therapy_session_row s;
    int rc = therapy_session_get(app->store, ts_id, &s);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (rc > 0) {
        ctx->http_detail = "ts_id: no such therapy session";
        return -THERAPY_ERROR_NOT_FOUND;
    }
    return 0;
}

/* recipients must be members; their audience, or NULL for everyone */
static int recipients_audience(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id,
                               const sb_str *items, size_t n, const char **audience)
{
    for (size_t i = 0; i < n; i++) {
        char role[16];
        const char *id = sb_arena_strndup(ctx->arena, items[i].ptr, items[i].len);
        int rc = id ? therapy_member_role(app->store, ts_id, id, role) : -1;
        if (rc < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        if (rc > 0) {
            ctx->http_detail = "recipients: someone who is not in the therapy session";
            return -THERAPY_ERROR_NOT_FOUND;
        }
    }
    *audience = therapy_audience(ctx, NULL, items, n);
    return 0;
}

static int post(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, therapy_out *out,
                const char *audience, therapy_operator_action_response *resp)
{
    /* in the unit its caller opened (with the assessment written before,
     * if any), closed here: a failing statement, such as a lock wait broken
     * by another node, rolls back this request alone, not the turn (store.h) */
    int64_t before = therapy_actions_lock(app->store, ts_id);
    int64_t id =
        before < 0 ? -1 : therapy_post_action(ctx, app, ts_id, out, NULL, 0, audience, NULL);
    sb_store_unit_end(app->store, id > 0);
    if (id <= 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    therapy_wake(ctx, app, ts_id, before);
    sb_log(SB_LOG_INFO, "therapy_operator_action", "ts_id=%lld type=%s id=%lld", (long long)ts_id,
           therapy_out_kind_name(out->kind), (long long)id);
    resp->result = SB_STR_LIT("ok");
    resp->id = id;
    return 200;
}

/* The session must exist, the recipients (when given) be its members:
 * 0 with their audience (NULL: everyone), or the refusal. */
static int addressed(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, sb_presence has,
                     const sb_str *items, size_t n, const char **audience)
{
    *audience = NULL;
    int rc = session_exists(ctx, app, ts_id);
    if (rc == 0 && has == SB_SET)
        rc = recipients_audience(ctx, app, ts_id, items, n, audience);
    return rc;
}

int therapy_on_operator_notice(struct sb_ctx *ctx, const therapy_operator_notice_request *req,
                               therapy_operator_action_response *resp,
                               therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    const char *audience;
    int rc = addressed(ctx, app, req->ts_id, req->has.recipients, req->recipients.items,
                       req->recipients.count, &audience);
    if (rc != 0)
        return rc;
    therapy_out out = {.kind = THERAPY_OUT_NOTICE_ACTION};
    therapy_notice_action *n = &out.as.notice_action;
    n->body = req->body;
    n->sender = req->has.sender == SB_SET ? req->sender : THERAPY_NOTICE_SENDER_SYSTEM;
    if (req->has.recipients == SB_SET) {
        n->recipients.items = req->recipients.items;
        n->recipients.count = req->recipients.count;
    }
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    return post(ctx, app, req->ts_id, &out, audience, resp);
}

int therapy_on_operator_signal(struct sb_ctx *ctx, const therapy_operator_signal_request *req,
                               therapy_operator_action_response *resp,
                               therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    const char *audience;
    int rc = addressed(ctx, app, req->ts_id, req->has.recipients, req->recipients.items,
                       req->recipients.count, &audience);
    if (rc != 0)
        return rc;
    therapy_out out;
    memset(&out, 0, sizeof out);
    switch (req->type) {
    case THERAPY_SIGNAL_TYPE_WHITEBOARD:
        out.kind = THERAPY_OUT_WHITEBOARD_ACTION;
        break;
    case THERAPY_SIGNAL_TYPE_UPDATE_ASSESSMENTS:
        out.kind = THERAPY_OUT_UPDATE_ASSESSMENTS_ACTION;
        break;
    default:
        out.kind = THERAPY_OUT_UPDATE_CHAT_DETAILS_ACTION;
        break;
    }
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    return post(ctx, app, req->ts_id, &out, audience, resp);
}

int therapy_on_operator_assessment(struct sb_ctx *ctx,
                                   const therapy_operator_assessment_request *req,
                                   therapy_operator_action_response *resp,
                                   therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    int rc = session_exists(ctx, app, req->ts_id);
    if (rc != 0)
        return rc;
    const char *p_id = sb_arena_strndup(ctx->arena, req->p_id.ptr, req->p_id.len);
    const char *name = sb_arena_strndup(ctx->arena, req->name.ptr, req->name.len);
    const char *url =
        req->has.url == SB_SET ? sb_arena_strndup(ctx->arena, req->url.ptr, req->url.len) : NULL;
    sb_str status = therapy_assessment_status_name(req->status);
    const char *status_c = sb_arena_strndup(ctx->arena, status.ptr, status.len);
    char role[16];
    if (!p_id || !name || !status_c)
        return -THERAPY_ERROR_UNAVAILABLE;
    if ((rc = therapy_member_role(app->store, req->ts_id, p_id, role)) != 0) {
        if (rc < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        ctx->http_detail = "p_id: not in this therapy session";
        return -THERAPY_ERROR_NOT_FOUND;
    }
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (therapy_assessment_set(app->store, req->ts_id, p_id, name, status_c, url) != 0) {
        sb_store_unit_end(app->store, false);
        return -THERAPY_ERROR_UNAVAILABLE;
    }
    /* the participant's client fetches its assessments again */
    sb_str who = {p_id, strlen(p_id)};
    therapy_out out = {.kind = THERAPY_OUT_UPDATE_ASSESSMENTS_ACTION};
    return post(ctx, app, req->ts_id, &out, therapy_audience(ctx, NULL, &who, 1), resp);
}
