/*
 * therapy_chat.c: the logged-in user's calls (seed 001): the home page,
 * entering a therapy session, its detail and assessments, and the chat
 * loop's getActions / saveActions, with getActions' long poll.
 *
 * Who sees what: every action has an audience, NULL for everyone in the
 * therapy session, else the author and the recipients of a private message;
 * a reaction, read mark or delete of a message inherits its message's.
 * getActions returns only what the user's audience allows; a message's
 * target, a reaction's, a read's and a delete's must be a message the user
 * can see (the same refusal for one that does not exist: no probing).
 *
 * Long poll: a getActions with wait > 0 that finds nothing is held
 * (sb_rt_defer) as a waiter of its therapy session. therapy_wake, called by
 * whatever stores actions in that session (saveActions, the operator
 * endpoints, logout's notice) once they are all stored, reads the new
 * actions once, hands them to the session's streams and answers each
 * waiter that may see one of them: in the same turn, so after the same
 * commit. The rest wait on, until their time runs out (an empty answer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "therapy_app.h"
#include "therapy_handlers.h"
#include "topics.h"

/* Helpers -------------------------------------------------------------------- */

static sb_str arena_str(struct sb_ctx *ctx, const char *s)
{
    if (!s)
        return (sb_str){"", 0};
    char *p = sb_arena_strndup(ctx->arena, s, strlen(s));
    return p ? (sb_str){p, strlen(p)} : (sb_str){"", 0};
}

static const char *cstr(struct sb_ctx *ctx, sb_str s)
{
    return sb_arena_strndup(ctx->arena, s.ptr, s.len);
}

/* The user's role in ts_id: 0 member, -NOT_ALLOWED_IN_SESSION, -UNAVAILABLE. */
static int member(therapy_app *app, int64_t ts_id, const char *user, char role[16])
{
    int rc = therapy_member_role(app->store, ts_id, user, role);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    return rc == 0 ? 0 : -THERAPY_ERROR_NOT_ALLOWED_IN_SESSION;
}

static int assessments(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, const char *user,
                       therapy_assessment **items, size_t *count)
{
    enum { MAX = 64 };
    therapy_assessment *a = sb_arena_alloc(ctx->arena, MAX * sizeof *a);
    if (!a)
        return -THERAPY_ERROR_UNAVAILABLE;
    size_t n = 0;
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_assessment_row row;
    int rc;
    while (n < MAX && (rc = therapy_assessments_of(app->store, ts_id, user, &cur, &row)) == 1) {
        memset(&a[n], 0, sizeof a[n]);
        a[n].name = arena_str(ctx, row.name);
        a[n].status = therapy_assessment_status_from(row.status, strlen(row.status));
        /* the url only while there is something to do */
        if (row.url && a[n].status == THERAPY_ASSESSMENT_STATUS_INCOMPLETE) {
            a[n].url = arena_str(ctx, row.url);
            a[n].has.url = SB_SET;
        }
        n++;
    }
    sb_cursor_close(&cur);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    *items = a;
    *count = n;
    return 0;
}

/* Home page, entering, detail, assessments ----------------------------------------- */

int therapy_on_get_therapy_sessions(struct sb_ctx *ctx, therapy_therapy_sessions_response *resp,
                                    therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    enum { MAX = 1000 };
    therapy_therapy_session_summary *items = sb_arena_alloc(ctx->arena, MAX * sizeof *items);
    if (!items)
        return -THERAPY_ERROR_UNAVAILABLE;
    /* the sessions first, then each one's assessments (one cursor at a time) */
    size_t n = 0;
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_session_row row;
    int rc;
    while (n < MAX && (rc = therapy_sessions_of(app->store, a->row.user, &cur, &row)) == 1) {
        memset(&items[n], 0, sizeof items[n]);
        items[n].id = row.id;
        items[n].name = arena_str(ctx, row.name);
        items[n].date = arena_str(ctx, row.date);
        n++;
    }
    sb_cursor_close(&cur);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    for (size_t i = 0; i < n; i++)
        if ((rc = assessments(ctx, app, items[i].id, a->row.user, &items[i].assessments.items,
                              &items[i].assessments.count)) != 0)
            return rc;
    resp->result = SB_STR_LIT("ok");
    resp->therapy_sessions.items = items;
    resp->therapy_sessions.count = n;
    return 200;
}

int therapy_on_enter_therapy_session(struct sb_ctx *ctx,
                                     const therapy_enter_therapy_session_request *req,
                                     therapy_enter_therapy_session_response *resp,
                                     therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    char role[16];
    int rc = member(app, req->ts_id, a->row.user, role);
    if (rc != 0)
        return rc;
    /* in a unit, as every therapy write: a failing statement rolls back
     * this request alone, not the turn */
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    bool ok = therapy_auth_set_ts(app->store, a->token_hash, req->ts_id) == 0 &&
              therapy_member_present(app->store, req->ts_id, a->row.user, sb_wall_ms()) == 0;
    sb_store_unit_end(app->store, ok);
    if (!ok)
        return -THERAPY_ERROR_UNAVAILABLE;
    sb_log(SB_LOG_INFO, "therapy_entered", "user=%s ts_id=%lld", a->row.user,
           (long long)req->ts_id);
    resp->result = SB_STR_LIT("ok");
    resp->ts_id = req->ts_id;
    return 200;
}

int therapy_on_get_therapy_session_detail(struct sb_ctx *ctx,
                                          const therapy_therapy_session_detail_request *req,
                                          therapy_therapy_session_detail_response *resp,
                                          therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    char role[16];
    int rc = member(app, req->ts_id, a->row.user, role);
    if (rc != 0)
        return rc;
    therapy_session_row s;
    if ((rc = therapy_session_get(app->store, req->ts_id, &s)) != 0)
        return rc < 0 ? -THERAPY_ERROR_UNAVAILABLE : -THERAPY_ERROR_NOT_ALLOWED_IN_SESSION;
    enum { MAX = 100 };
    therapy_participant *p = sb_arena_alloc(ctx->arena, MAX * sizeof *p);
    if (!p)
        return -THERAPY_ERROR_UNAVAILABLE;
    size_t n = 0;
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_member_row m;
    while (n < MAX && (rc = therapy_members_of(app->store, req->ts_id, &cur, &m)) == 1) {
        p[n].id = arena_str(ctx, m.id);
        p[n].name = arena_str(ctx, m.name);
        p[n].role = therapy_participant_role_from(m.role, strlen(m.role));
        n++;
    }
    sb_cursor_close(&cur);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    resp->result = SB_STR_LIT("ok");
    resp->metadata.id = s.id;
    resp->metadata.name = arena_str(ctx, s.name);
    resp->metadata.date = arena_str(ctx, s.date);
    resp->participants.items = p;
    resp->participants.count = n;
    return 200;
}

int therapy_on_get_therapy_session_assessments(
    struct sb_ctx *ctx, const therapy_therapy_session_assessments_request *req,
    therapy_therapy_session_assessments_response *resp, therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    char role[16], their[16];
    int rc = member(app, req->ts_id, a->row.user, role);
    if (rc != 0)
        return rc;
    const char *p_id = cstr(ctx, req->p_id);
    if (!p_id)
        return -THERAPY_ERROR_UNAVAILABLE;
    /* a participant sees their own; the therapist, anyone's in the session */
    bool self = strcmp(p_id, a->row.user) == 0;
    if (!self && (strcmp(role, "therapist") != 0 || member(app, req->ts_id, p_id, their) != 0))
        return -THERAPY_ERROR_NOT_ALLOWED_IN_SESSION;
    if ((rc = assessments(ctx, app, req->ts_id, p_id, &resp->assessments.items,
                          &resp->assessments.count)) != 0)
        return rc;
    resp->result = SB_STR_LIT("ok");
    return 200;
}

/* Reading actions ------------------------------------------------------------ */

/* A stored action's JSON, parsed into *out: its strings point into a copy in
 * the arena (the row's text goes at the cursor's next step). False, logged,
 * when it cannot be read. */
static bool parse_action(struct sb_ctx *ctx, const therapy_action_row *row, therapy_out *out)
{
    char *json = row->json_len ? sb_arena_strndup(ctx->arena, row->json, row->json_len) : NULL;
    if (!json)
        return false;
    sb_reader r;
    sb_reader_init(&r, json, row->json_len, ctx->arena, NULL);
    memset(out, 0, sizeof *out);
    if (therapy_out_parse(&r, out) && sb_read_end(&r))
        return true;
    sb_log(SB_LOG_ERROR, "therapy_action_unreadable", "id=%lld error=\"%s\"", (long long)row->id,
           r.err_msg);
    return false;
}

/* Up to THERAPY_MAX_ACTIONS actions of ts_id above after that user may see,
 * parsed from their stored JSON, into out; *scanned: the highest ID looked
 * at (also of actions the user may not see: the cursor moves past them). */
int therapy_read_actions(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, int64_t after,
                         const char *user, therapy_out **out, size_t *count, int64_t *scanned)
{
    therapy_out *items = sb_arena_alloc(ctx->arena, THERAPY_MAX_ACTIONS * sizeof *items);
    if (!items)
        return -THERAPY_ERROR_UNAVAILABLE;
    size_t n = 0;
    *scanned = after;
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_action_row row;
    int rc;
    while (n < THERAPY_MAX_ACTIONS &&
           (rc = therapy_actions_since(app->store, ts_id, after, THERAPY_MAX_ACTIONS, &cur,
                                       &row)) == 1) {
        *scanned = row.id;
        if (therapy_audience_has(row.audience, user) && parse_action(ctx, &row, &items[n]))
            n++;
    }
    sb_cursor_close(&cur);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    *out = items;
    *count = n;
    return 0;
}

static void fill_answer(therapy_get_actions_response *resp, therapy_out *items, size_t n,
                        int64_t scanned)
{
    resp->result = SB_STR_LIT("ok");
    resp->server_time = sb_wall_ms() * 1000;
    resp->max_id = scanned;
    resp->actions.items = items;
    resp->actions.count = n;
}

const char *therapy_wake_topic(char buf[SB_TOPIC_MAX], int64_t ts_id)
{
    snprintf(buf, SB_TOPIC_MAX, "therapy:%lld:wake", (long long)ts_id);
    return buf;
}

/* Several nodes: this node hears of the session's actions stored elsewhere
 * while it holds long polls of it (the first waiter subscribes, the last
 * one gone unsubscribes). */
static void wake_follow(therapy_app *app, int64_t ts_id, bool on)
{
    if (!app->wake_ep.id)
        return;
    char topic[SB_TOPIC_MAX];
    therapy_wake_topic(topic, ts_id);
    if (on)
        sb_topics_subscribe(sb_rt_topics(app->rt), topic, app->wake_ep.id);
    else
        sb_topics_unsubscribe(sb_rt_topics(app->rt), topic, app->wake_ep.id);
}

static void waiter_unlink(therapy_app *app, therapy_waiter *w)
{
    if (w->prev) {
        w->prev->next = w->next;
    } else if (w->next) {
        sb_map_put(&app->waiting, w->ts_id, w->next);
    } else {
        sb_map_del(&app->waiting, w->ts_id);
        wake_follow(app, w->ts_id, false);
    }
    if (w->next)
        w->next->prev = w->prev;
    sb_map_del(&app->waiters, (int64_t)w->request);
    app->n_waiters--;
}

int therapy_on_get_actions(struct sb_ctx *ctx, const therapy_get_actions_request *req,
                           therapy_get_actions_response *resp, therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    int64_t ts_id = a->row.ts_id;
    if (!ts_id)
        return -THERAPY_ERROR_NO_CURRENT_SESSION;
    char role[16];
    int rc = member(app, ts_id, a->row.user, role);
    if (rc != 0)
        return rc;
    therapy_out *items;
    size_t n;
    int64_t scanned;
    if ((rc = therapy_read_actions(ctx, app, ts_id, req->last_action_id, a->row.user, &items, &n,
                                   &scanned)) != 0)
        return rc;
    int wait = req->has.wait == SB_SET ? (int)req->wait : 0;
    if (n == 0 && wait > 0 && app->n_waiters < 100000) {
        therapy_waiter *w = calloc(1, sizeof *w);
        if (w) {
            w->request = ctx->http->id;
            w->ts_id = ts_id;
            w->after = scanned;
            snprintf(w->user, sizeof w->user, "%s", a->row.user);
            w->next = sb_map_get(&app->waiting, ts_id);
            if (sb_map_put(&app->waiters, (int64_t)w->request, w) == 0 &&
                sb_map_put(&app->waiting, ts_id, w) == 0) {
                if (w->next)
                    w->next->prev = w;
                else
                    wake_follow(app, ts_id, true);
                app->n_waiters++;
                sb_counter_add(app->m_long_polls, 1);
                sb_rt_defer(ctx, wait * 1000);
                return SB_HTTP_DEFERRED;
            }
            sb_map_del(&app->waiters, (int64_t)w->request);
            free(w);
        }
    }
    sb_counter_add(app->m_polls, 1);
    fill_answer(resp, items, n, scanned);
    return 200;
}

int therapy_on_get_actions_timeout(struct sb_ctx *ctx, uint64_t request,
                                   therapy_get_actions_response *resp,
                                   therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_waiter *w = sb_map_get(&app->waiters, (int64_t)request);
    if (!w)
        return -THERAPY_ERROR_UNAVAILABLE; /* not ours: cannot happen */
    waiter_unlink(app, w);
    /* read once more: another process (the CLI) may have written */
    therapy_out *items;
    size_t n;
    int64_t scanned;
    int rc = therapy_read_actions(ctx, app, w->ts_id, w->after, w->user, &items, &n, &scanned);
    free(w);
    if (rc != 0)
        return rc;
    sb_counter_add(app->m_polls, 1);
    fill_answer(resp, items, n, scanned);
    return 200;
}

void therapy_on_get_actions_abort(struct sb_ctx *ctx, uint64_t request)
{
    therapy_app *app = ctx->app;
    therapy_waiter *w = sb_map_get(&app->waiters, (int64_t)request);
    if (w) {
        waiter_unlink(app, w);
        free(w);
    }
}

void therapy_wake_waiters(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id)
{
    /* stored_after past every ID: the streams got their frames from the
     * node that stored them, the waiters read what is new to each */
    if (sb_map_get(&app->waiting, ts_id))
        therapy_wake(ctx, app, ts_id, INT64_MAX);
}

void therapy_wake(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, int64_t stored_after)
{
    therapy_waiter *first = sb_map_get(&app->waiting, ts_id);
    bool bus = sb_rt_bus(app->rt) != NULL;
    if (bus && stored_after != INT64_MAX) {
        /* the other nodes' long polls of this session: after the commit,
         * through the bus (the topic's local subscriber, if any, is this
         * node's own wake endpoint: a second read that finds nothing new) */
        char topic[SB_TOPIC_MAX];
        sb_buf *b = sb_outbox_topic(ctx->out, therapy_wake_topic(topic, ts_id), NULL);
        char id[24];
        sb_buf_put(b, id, (size_t)snprintf(id, sizeof id, "%lld", (long long)ts_id));
    }
    if (!first && !app->n_streams && !bus)
        return;
    int64_t after = stored_after;
    for (therapy_waiter *w = first; w; w = w->next)
        if (w->after < after)
            after = w->after;
    /* the new actions, read and parsed once for every waiter */
    therapy_out *all = sb_arena_alloc(ctx->arena, THERAPY_MAX_ACTIONS * sizeof *all);
    int64_t *ids = sb_arena_alloc(ctx->arena, THERAPY_MAX_ACTIONS * sizeof *ids);
    const char **aud = sb_arena_alloc(ctx->arena, THERAPY_MAX_ACTIONS * sizeof *aud);
    therapy_out *mine = sb_arena_alloc(ctx->arena, THERAPY_MAX_ACTIONS * sizeof *mine);
    if (!all || !ids || !aud || !mine)
        return; /* they are answered at their timeout */
    size_t n = 0;
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_action_row row;
    while (n < THERAPY_MAX_ACTIONS &&
           therapy_actions_since(app->store, ts_id, after, THERAPY_MAX_ACTIONS, &cur, &row) == 1) {
        if (!parse_action(ctx, &row, &all[n]))
            continue;
        ids[n] = row.id;
        aud[n] =
            row.audience ? sb_arena_strndup(ctx->arena, row.audience, strlen(row.audience)) : NULL;
        n++;
    }
    sb_cursor_close(&cur);
    /* the streams get what was stored now; the waiters what is new to each */
    for (size_t i = 0; i < n && (app->n_streams || bus); i++)
        if (ids[i] > stored_after)
            therapy_stream_publish(ctx, app, ts_id, &all[i], ids[i], aud[i]);
    for (therapy_waiter *w = first, *next; w; w = next) {
        next = w->next;
        size_t k = 0;
        int64_t scanned = w->after;
        for (size_t i = 0; i < n; i++) {
            if (ids[i] <= w->after)
                continue;
            scanned = ids[i];
            if (therapy_audience_has(aud[i], w->user))
                mine[k++] = all[i];
        }
        if (k == 0)
            continue;
        therapy_get_actions_response resp;
        memset(&resp, 0, sizeof resp);
        fill_answer(&resp, mine, k, scanned);
        therapy_get_actions_answer(ctx->out, w->request, 200, &resp);
        sb_counter_add(app->m_polls, 1);
        waiter_unlink(app, w);
        free(w);
    }
}

/* saveActions ------------------------------------------------------------------ */

/* What one item of a batch comes to, decided before anything is stored:
 * what does not change while the batch is stored (who may do it, to what,
 * seen by whom). What the batch's own items change (a repeat, a delete) is
 * in_batch's. */
typedef struct planned {
    const char *audience;
    therapy_action_row target; /* when the item has one */
} planned;

static int refuse(struct sb_ctx *ctx, size_t i, const char *field, const char *why)
{
    char *d = sb_arena_alloc(ctx->arena, 256);
    if (d) {
        snprintf(d, 256, "[%zu].%s: %s", i, field, why);
        ctx->http_detail = d;
    }
    return -THERAPY_ERROR_ACTION_REFUSED;
}

/* target must be a message of the session the user can see, not deleted. */
static int visible_message(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, const char *user,
                           int64_t id, size_t i, therapy_action_row *row)
{
    int rc = therapy_action_get(app->store, ts_id, id, ctx->arena, row);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (rc > 0 || strcmp(row->type, "message") != 0 || !therapy_audience_has(row->audience, user))
        return refuse(ctx, i, "target", "no such message in this session");
    return 0;
}

static bool same(sb_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

static int plan(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, const therapy_auth *a,
                const char *role, const therapy_in *in, size_t i, planned *p)
{
    const char *me = a->row.user;
    int rc;
    memset(p, 0, sizeof *p);
    switch (in->kind) {
    case THERAPY_IN_CLIENT_MESSAGE_ACTION: {
        const therapy_client_message_action *m = &in->as.client_message_action;
        if (!same(m->user, me))
            return refuse(ctx, i, "user", "not the logged-in user");
        for (size_t j = 0; j < m->recipients.count; j++) {
            char their[16], field[48];
            const char *r = cstr(ctx, m->recipients.items[j]);
            if (!r)
                return -THERAPY_ERROR_UNAVAILABLE;
            if ((rc = member(app, ts_id, r, their)) == -THERAPY_ERROR_UNAVAILABLE)
                return rc;
            if (rc != 0) {
                snprintf(field, sizeof field, "recipients[%zu]", j);
                return refuse(ctx, i, field, "not in this session");
            }
        }
        if (m->has.target == SB_SET &&
            (rc = visible_message(ctx, app, ts_id, me, m->target, i, &p->target)) != 0)
            return rc;
        p->audience = therapy_audience(ctx, me, m->recipients.items, m->recipients.count);
        return 0;
    }
    case THERAPY_IN_CLIENT_REACTION_ACTION: {
        const therapy_client_reaction_action *m = &in->as.client_reaction_action;
        if (!same(m->user, me))
            return refuse(ctx, i, "user", "not the logged-in user");
        if ((rc = visible_message(ctx, app, ts_id, me, m->target, i, &p->target)) != 0)
            return rc;
        p->audience = p->target.audience;
        return 0;
    }
    case THERAPY_IN_CLIENT_DELETE_ACTION: {
        const therapy_client_delete_action *m = &in->as.client_delete_action;
        if ((rc = visible_message(ctx, app, ts_id, me, m->target, i, &p->target)) != 0)
            return rc;
        if (strcmp(role, "therapist") != 0 &&
            (!p->target.author || strcmp(p->target.author, me) != 0))
            return refuse(ctx, i, "target",
                          "only its author or the therapist may delete a message");
        p->audience = p->target.audience;
        return 0;
    }
    case THERAPY_IN_CLIENT_MESSAGE_READ_ACTION: {
        const therapy_client_message_read_action *m = &in->as.client_message_read_action;
        if (!same(m->user, me))
            return refuse(ctx, i, "user", "not the logged-in user");
        if ((rc = visible_message(ctx, app, ts_id, me, m->target, i, &p->target)) != 0)
            return rc;
        if (p->target.author && strcmp(p->target.author, me) == 0)
            return refuse(ctx, i, "target", "your own message");
        p->audience = p->target.audience;
        return 0;
    }
    default:
        return refuse(ctx, i, "type", "unknown action");
    }
}

/* The user IDs a message calls out: "@ID" or "@Name" of someone who can
 * read it (a member of the session, in the audience of a private one). */
static void callouts(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, sb_str body,
                     const char *audience, therapy_message_action *out)
{
    enum { MAX = 100 };
    sb_str *ids = sb_arena_alloc(ctx->arena, MAX * sizeof *ids);
    if (!ids)
        return;
    size_t n = 0;
    sb_cursor cur = SB_CURSOR_INIT;
    therapy_member_row m;
    while (n < MAX && therapy_members_of(app->store, ts_id, &cur, &m) == 1) {
        if (!therapy_audience_has(audience, m.id))
            continue;
        const char *names[2] = {m.id, m.name};
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(names[k]);
            bool hit = false;
            for (size_t i = 0; len && i + len < body.len && !hit; i++) {
                if (body.ptr[i] != '@' || strncasecmp(body.ptr + i + 1, names[k], len) != 0)
                    continue;
                char after = i + 1 + len < body.len ? body.ptr[i + 1 + len] : ' ';
                hit = !((after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') ||
                        (after >= '0' && after <= '9') || after == '_');
            }
            if (hit) {
                ids[n++] = arena_str(ctx, m.id);
                break;
            }
        }
    }
    sb_cursor_close(&cur);
    out->callout.items = ids;
    out->callout.count = n;
}

static int64_t store_item(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, const char *me,
                          const therapy_in *in, const planned *p)
{
    sb_buf client;
    sb_buf_init(&client);
    therapy_in_write(&client, in);
    const char *client_json = client.oom ? NULL : cstr(ctx, (sb_str){client.data, client.len});
    sb_buf_free(&client);
    therapy_out out;
    memset(&out, 0, sizeof out);
    sb_str user = {me, strlen(me)};
    int64_t id = -1;
    switch (in->kind) {
    case THERAPY_IN_CLIENT_MESSAGE_ACTION: {
        const therapy_client_message_action *m = &in->as.client_message_action;
        out.kind = THERAPY_OUT_MESSAGE_ACTION;
        therapy_message_action *o = &out.as.message_action;
        o->user = user;
        o->body = m->body;
        o->recipients.items = m->recipients.items;
        o->recipients.count = m->recipients.count;
        o->target = m->target;
        o->has.target = m->has.target == SB_SET ? SB_SET : SB_NULL;
        callouts(ctx, app, ts_id, m->body, p->audience, o);
        return therapy_post_action(ctx, app, ts_id, &out, me,
                                   m->has.target == SB_SET ? m->target : 0, p->audience,
                                   client_json);
    }
    case THERAPY_IN_CLIENT_REACTION_ACTION: {
        const therapy_client_reaction_action *m = &in->as.client_reaction_action;
        out.kind = THERAPY_OUT_REACTION_ACTION;
        out.as.reaction_action.target = m->target;
        out.as.reaction_action.icon = m->icon;
        out.as.reaction_action.user = user;
        id = therapy_post_action(ctx, app, ts_id, &out, me, m->target, p->audience, client_json);
        sb_str icon = therapy_reaction_icon_name(m->icon);
        const char *icon_c = cstr(ctx, icon);
        if (id > 0 && (!icon_c || therapy_reaction_set(app->store, m->target, me, icon_c, id) != 0))
            return -1;
        return id;
    }
    case THERAPY_IN_CLIENT_DELETE_ACTION: {
        const therapy_client_delete_action *m = &in->as.client_delete_action;
        out.kind = THERAPY_OUT_DELETE_ACTION;
        out.as.delete_action.target = m->target;
        id = therapy_post_action(ctx, app, ts_id, &out, me, m->target, p->audience, client_json);
        if (id <= 0)
            return -1;
        /* what the message said goes: its JSON keeps its ID, author, audience */
        therapy_message_action msg;
        memset(&msg, 0, sizeof msg);
        sb_reader r;
        sb_reader_init(&r, p->target.json, p->target.json_len, ctx->arena, NULL);
        if (!therapy_message_action_parse(&r, &msg))
            return -1;
        msg.body = (sb_str){"", 0};
        msg.callout.count = 0;
        sb_buf_reset(&app->scratch);
        therapy_message_action_write(&app->scratch, &msg);
        if (app->scratch.oom ||
            therapy_action_scrub(app->store, m->target, app->scratch.data, app->scratch.len) != 0)
            return -1;
        return id;
    }
    case THERAPY_IN_CLIENT_MESSAGE_READ_ACTION: {
        const therapy_client_message_read_action *m = &in->as.client_message_read_action;
        out.kind = THERAPY_OUT_MESSAGE_READ_ACTION;
        out.as.message_read_action.target = m->target;
        out.as.message_read_action.user = user;
        id = therapy_post_action(ctx, app, ts_id, &out, me, m->target, p->audience, client_json);
        if (id > 0 && therapy_read_set(app->store, m->target, me, id) != 0)
            return -1;
        return id;
    }
    default:
        return -1;
    }
}

/* What is stored by now, inside the unit, before item i is stored (earlier
 * batches and the items before i): a repeat (the same reaction, read or
 * delete) answers the first one's ID in *id; a target deleted is refused.
 * 0, or the refusal. */
static int in_batch(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, const char *me,
                    const therapy_in *in, size_t i, int64_t *id)
{
    int64_t target = 0;
    switch (in->kind) {
    case THERAPY_IN_CLIENT_MESSAGE_ACTION:
        if (in->as.client_message_action.has.target != SB_SET)
            return 0;
        target = in->as.client_message_action.target;
        break;
    case THERAPY_IN_CLIENT_REACTION_ACTION:
        target = in->as.client_reaction_action.target;
        break;
    case THERAPY_IN_CLIENT_DELETE_ACTION: {
        int64_t found =
            therapy_action_find(app->store, ts_id, "delete", in->as.client_delete_action.target);
        if (found < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        *id = found;
        return 0;
    }
    case THERAPY_IN_CLIENT_MESSAGE_READ_ACTION: {
        int64_t action = 0;
        int rc =
            therapy_read_get(app->store, in->as.client_message_read_action.target, me, &action);
        if (rc < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        *id = rc == 0 ? action : 0;
        return 0;
    }
    default:
        return 0;
    }
    therapy_action_row row;
    int rc = therapy_action_get(app->store, ts_id, target, ctx->arena, &row);
    if (rc < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (rc == 0 && row.deleted)
        return refuse(ctx, i, "target", "the message was deleted");
    if (in->kind == THERAPY_IN_CLIENT_REACTION_ACTION) {
        char icon[16];
        int64_t action = 0;
        if ((rc = therapy_reaction_get(app->store, target, me, icon, &action)) < 0)
            return -THERAPY_ERROR_UNAVAILABLE;
        if (rc == 0 && same(therapy_reaction_icon_name(in->as.client_reaction_action.icon), icon))
            *id = action;
    }
    return 0;
}

/* saveActions inside its unit: every item checked, then stored (or a
 * repeat's first ID). 0 with the IDs, the log's max before and after; or
 * the refusal. */
static int store_batch(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, const therapy_auth *a,
                       const char *role, const therapy_save_actions_request *req, int64_t *ids,
                       int64_t *before, int64_t *max)
{
    int rc;
    size_t n = req->count;
    if ((*before = therapy_actions_lock(app->store, ts_id)) < 0)
        return -THERAPY_ERROR_UNAVAILABLE;
    planned *plans = sb_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *plans);
    if (!plans)
        return -THERAPY_ERROR_UNAVAILABLE;
    /* every item is checked before anything is stored */
    for (size_t i = 0; i < n; i++)
        if ((rc = plan(ctx, app, ts_id, a, role, &req->items[i], i, &plans[i])) != 0)
            return rc;
    for (size_t i = 0; i < n; i++) {
        /* repeats and deletes are read at this point, after the items before
         * (heart, smile, heart: the third is a new action) */
        int64_t id = 0;
        if ((rc = in_batch(ctx, app, ts_id, a->row.user, &req->items[i], i, &id)) != 0)
            return rc;
        ids[i] = id ? id : store_item(ctx, app, ts_id, a->row.user, &req->items[i], &plans[i]);
        if (ids[i] <= 0)
            return -THERAPY_ERROR_UNAVAILABLE;
    }
    return (*max = therapy_actions_max(app->store, ts_id)) < 0 ? -THERAPY_ERROR_UNAVAILABLE : 0;
}

int therapy_on_save_actions(struct sb_ctx *ctx, const therapy_save_actions_request *req,
                            therapy_save_actions_response *resp,
                            therapy_therapy_error_response *err)
{
    (void)err;
    therapy_app *app = ctx->app;
    therapy_auth *a = ctx->session;
    int64_t ts_id = a->row.ts_id;
    if (!ts_id)
        return -THERAPY_ERROR_NO_CURRENT_SESSION;
    char role[16];
    int rc = member(app, ts_id, a->row.user, role);
    if (rc != 0)
        return rc;
    /* all of the batch or none: one unit of the turn's transaction, opened
     * before the session's log is locked and anything read, so that another
     * node's batch cannot slip between a check (a repeat, a delete) and the
     * append it decides, and a failing statement (a lock wait broken by
     * another node) rolls back this request alone */
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return -THERAPY_ERROR_UNAVAILABLE;
    size_t n = req->count;
    int64_t *ids = sb_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *ids);
    int64_t before = -1, max = -1;
    rc = ids ? store_batch(ctx, app, ts_id, a, role, req, ids, &before, &max)
             : -THERAPY_ERROR_UNAVAILABLE;
    sb_store_unit_end(app->store, rc == 0);
    if (rc != 0) {
        if (rc == -THERAPY_ERROR_UNAVAILABLE)
            sb_counter_add(app->m_storage_errors, 1);
        return rc;
    }
    /* only now, the batch stored whole: a refused batch reaches nobody */
    therapy_wake(ctx, app, ts_id, before);
    resp->result = SB_STR_LIT("ok");
    resp->ids.items = ids;
    resp->ids.count = n;
    resp->max_id = max;
    return 200;
}
