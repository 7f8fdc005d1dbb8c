/*
 * realtime_recovery.c: connection state recovery (realtime_recovery.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "realtime_recovery.h"
#include "realtime_store.h"
#include "sha256.h"
#include "token.h"

/* A recovered connection's replay and its live UPDATEs (docs/decisions.md,
 * realtime, "The replay and the live UPDATEs"). The replay reads, in offset
 * order, every UPDATE of the company after the client's offset, up to the
 * newest, this node's open transaction's too; live UPDATEs reach the
 * connection from its CONNECT, through the topics it joins. A company's
 * offsets are drawn under its lock (realtime_update_insert), so none at or
 * below the newest the replay read can still be uncommitted elsewhere:
 * - until the replay has read, a live UPDATE is dropped: the replay, later,
 *   reads it, in order (sent live first, it came before the missed ones,
 *   the client's offset ended below it, and its next recovery sent it
 *   again);
 * - after it, one at or below the newest it read is dropped: the replay
 *   sent it (one queued in the same turn before the CONNECT, one committed
 *   through another node still on its way through Redis), for OVERLAP_US. */
#define OVERLAP_US (5 * 1000000LL)

/* The endpoint's filter (rt.h) for its UPDATE frames, positioned by
 * offset (realtime_http.c). */
static bool recovery_filter(void *arg, uint64_t pos)
{
    rt_socket *st = arg;
    if (st->recover_from >= 0)
        return false;
    if (st->track_until && sb_mono_us() > st->track_until)
        return true;
    return (int64_t)pos > st->replayed_upto;
}

void realtime_recovery_forget(struct sb_ctx *ctx, rt_socket *st)
{
    if (st->filtered)
        sb_rt_set_filter(ctx, NULL, NULL);
    st->filtered = false;
}

/* A record counts as alive while its node's heartbeat is newer than this:
 * the window, plus a sweep's period (the heartbeat's) of slack. A node
 * killed with -9 stops beating; its records then expire a window after its
 * last heartbeat, so at least a window after the connection was last known
 * alive (docs/decisions.md, realtime, "Recovery records"). */
static int64_t alive_after(const realtime_app *app, int64_t now)
{
    return now - app->recovery_ms - RT_SWEEP_MS;
}

/* The pid's SHA-256, the record's key: the pid itself is never stored. */
static void pid_hash(const char *pid, char out[SB_TOKEN_HEX_LEN + 1])
{
    sb_token_hash(pid, strlen(pid), out);
}

/* The connection's subscriptions as a JSON array. */
static void subs_json(const rt_socket *st, sb_buf *b)
{
    sb_buf_putc(b, '[');
    for (size_t i = 0; i < st->n_subs; i++) {
        if (i)
            sb_buf_putc(b, ',');
        sb_write_string(b, (sb_str){st->subs[i], strlen(st->subs[i])});
    }
    sb_buf_putc(b, ']');
}

/* A write of the record's in a unit of its own: a failure (logged) loses
 * the record's change, never the turn's other writes. */
#define RECORD_UNIT(app, what, call)                                                               \
    do {                                                                                           \
        bool ok_ = sb_store_begin((app)->store) == SB_STORE_OK &&                                  \
                   sb_store_unit_begin((app)->store) == SB_STORE_OK;                               \
        if (ok_) {                                                                                 \
            ok_ = (call) >= 0;                                                                     \
            sb_store_unit_end((app)->store, ok_);                                                  \
        }                                                                                          \
        if (!ok_)                                                                                  \
            sb_log(SB_LOG_WARN, "realtime_recovery",                                               \
                   "msg=\"could not %s the record\" error=\"%s\"", what,                           \
                   sb_store_last_error((app)->store));                                             \
    } while (0)

/* Writes the live connection's record (at CONNECT). */
static void record_put(realtime_app *app, rt_socket *st)
{
    char hash[SB_TOKEN_HEX_LEN + 1];
    pid_hash(st->pid, hash);
    sb_buf b;
    sb_buf_init(&b);
    subs_json(st, &b);
    if (b.oom) {
        sb_buf_free(&b);
        return;
    }
    realtime_recovery_rec r = {.pid_hash = hash,
                               .user = st->user,
                               .company = st->company,
                               .session = st->sid,
                               .subs = b.data,
                               .subs_len = b.len,
                               .node = app->node,
                               .conn = (int64_t)st->session,
                               /* until the node's first heartbeat */
                               .expires_ms = sb_wall_ms() + app->recovery_ms + RT_SWEEP_MS};
    RECORD_UNIT(app, "write", realtime_recovery_put(app->store, &r));
    sb_buf_free(&b);
}

void realtime_recovery_subs_changed(rt_socket *st)
{
    realtime_app *app = st->app;
    if (!app->recovery_ms || !st->pid[0])
        return;
    char hash[SB_TOKEN_HEX_LEN + 1];
    pid_hash(st->pid, hash);
    sb_buf b;
    sb_buf_init(&b);
    subs_json(st, &b);
    if (!b.oom)
        RECORD_UNIT(app, "update",
                    realtime_recovery_set_subs(app->store, hash, app->node, (int64_t)st->session,
                                               b.data, b.len));
    sb_buf_free(&b);
}

/* Follows the artifacts of a taken record's JSON array that the token
 * still allows. */
static void follow_subs(struct sb_ctx *ctx, rt_socket *st, const char *json, size_t len)
{
    sb_reader r;
    sb_reader_init(&r, json, len, ctx->arena, NULL);
    if (!sb_read_array_begin(&r))
        return;
    while (sb_read_array_next(&r) == 1) {
        sb_str id;
        if (!sb_read_string(&r, &id))
            return;
        char *a = sb_arena_strndup(ctx->arena, id.ptr, id.len);
        if (a && strlen(a) == id.len && realtime_artifact_allowed(st, a))
            realtime_follow(ctx, st, a);
    }
}

static bool parse_offset(sb_str s, int64_t *out)
{
    int64_t v = 0;
    if (s.len == 0 || s.len > 18)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = v;
    return true;
}

void realtime_recovery_connect(struct sb_ctx *ctx, rt_socket *st,
                               const realtime_realtime_connect_auth *auth, char *pid_out,
                               size_t cap)
{
    realtime_app *app = st->app;
    st->recover_from = -1;
    if (!app->recovery_ms) {
        pid_out[0] = '\0';
        return;
    }
    int64_t offset;
    if (auth->has.pid == SB_SET && auth->has.offset == SB_SET && auth->pid.len == RT_PID_LEN &&
        parse_offset(auth->offset, &offset)) {
        char pid[RT_PID_LEN + 1], hash[SB_TOKEN_HEX_LEN + 1];
        memcpy(pid, auth->pid.ptr, RT_PID_LEN);
        pid[RT_PID_LEN] = '\0';
        pid_hash(pid, hash);
        /* the same pid, in time, and the same user, company and session: the
         * token was verified afresh, so a stolen pid alone recovers nothing.
         * Taken once, whichever node wrote it (realtime_recovery_take). */
        char *subs = NULL;
        size_t subs_len = 0;
        int taken = 0;
        int64_t now = sb_wall_ms();
        if (offset >= realtime_update_oldest(app->store, st->company) - 1)
            RECORD_UNIT(
                app, "take",
                (taken = realtime_recovery_take(app->store, hash, st->user, st->company, st->sid,
                                                now, alive_after(app, now), &subs, &subs_len)));
        if (taken == 1) {
            memcpy(st->pid, pid, sizeof st->pid);
            st->recover_from = offset;
            /* from now: the live UPDATEs of the topics it joins */
            st->filtered = true;
            st->track_until = 0;
            sb_rt_set_filter(ctx, recovery_filter, st);
            follow_subs(ctx, st, subs, subs_len);
            sb_counter_add(app->m_recovered, 1);
        }
        free(subs);
    }
    if (st->recover_from < 0) {
        char token[SB_TOKEN_HEX_LEN + 1];
        if (sb_token_new(token) != 0) {
            pid_out[0] = '\0';
            return;
        }
        memcpy(st->pid, token, RT_PID_LEN);
        st->pid[RT_PID_LEN] = '\0';
    }
    /* the record exists while the connection does: a node killed with -9
     * runs no code at the loss */
    record_put(app, st);
    snprintf(pid_out, cap, "%s", st->pid);
}

void realtime_write_update(sb_buf *b, sb_str envelope, int64_t offset)
{
    sb_sio_event_begin(b, "/", "message", 0);
    sb_buf_putc(b, ',');
    sb_write_string(b, envelope);
    SB_BUF_PUT_LIT(b, ",\"");
    sb_write_int64(b, offset);
    SB_BUF_PUT_LIT(b, "\"");
    sb_sio_event_end(b);
}

static bool follows(const rt_socket *st, const char *artifact)
{
    for (size_t i = 0; i < st->n_subs; i++)
        if (strcmp(st->subs[i], artifact) == 0)
            return true;
    return false;
}

void realtime_recovery_catch_up(realtime_app *app)
{
    /* committed_offset follows this node's own commits only. The newest
     * row in the database is committed unless this node's transaction is
     * open (its rows are visible here before their commit; another node
     * cannot commit meanwhile: SQLite has one writer) */
    if (!sb_rt_bus(app->rt) || app->pending_offset)
        return;
    int64_t newest = realtime_update_newest(app->store);
    if (newest > app->committed_offset)
        app->committed_offset = newest;
}

void realtime_recovery_replay(struct sb_ctx *ctx, rt_socket *st)
{
    realtime_app *app = st->app;
    if (st->recover_from < 0)
        return;
    realtime_recovery_catch_up(app);
    /* Everything after the client's offset, this node's open transaction's
     * UPDATEs too (visible here before their commit; this unit is delivered
     * after it, and fails with it): the live copies of those, and of any
     * other UPDATE read here, are dropped by recovery_filter. */
    sb_cursor cur = SB_CURSOR_INIT;
    realtime_update_row row;
    int rc, n = 0;
    int64_t upto = st->recover_from;
    while ((rc = realtime_updates_since(app->store, st->company, st->recover_from, INT64_MAX,
                                        sb_wall_ms() - app->recovery_ms, &cur, &row)) == 1) {
        if (row.offset > upto)
            upto = row.offset;
        if (row.artifact && !follows(st, row.artifact))
            continue;
        realtime_write_update(sb_outbox_conn(ctx->out, st->session, NULL),
                              (sb_str){row.envelope, row.len}, row.offset);
        n++;
    }
    if (rc < 0)
        sb_log(SB_LOG_ERROR, "realtime_recovery", "msg=\"could not read the missed updates\"");
    sb_log(SB_LOG_DEBUG, "realtime_recovered", "session=%llu replayed=%d",
           (unsigned long long)st->session, n);
    st->replayed_upto = upto;
    st->recover_from = -1;
    st->track_until = sb_mono_us() + OVERLAP_US;
}

void realtime_recovery_keep(struct sb_ctx *ctx, rt_socket *st, const char *reason)
{
    (void)ctx;
    realtime_app *app = st->app;
    if (!app->recovery_ms || !st->pid[0])
        return;
    char hash[SB_TOKEN_HEX_LEN + 1];
    pid_hash(st->pid, hash);
    /* an explicit goodbye is not a lost connection: no record */
    if (strcmp(reason, "client namespace disconnect") == 0 ||
        strcmp(reason, "server namespace disconnect") == 0 ||
        strcmp(reason, SB_EIO_CLIENT_CLOSE) == 0 || strcmp(reason, SB_EIO_SERVER_CLOSE) == 0) {
        RECORD_UNIT(app, "drop",
                    realtime_recovery_drop(app->store, hash, app->node, (int64_t)st->session));
        return;
    }
    /* lost: the window counts from now, whatever becomes of this node */
    RECORD_UNIT(app, "keep",
                realtime_recovery_detach(app->store, hash, app->node, (int64_t)st->session,
                                         sb_wall_ms() + app->recovery_ms));
}

void realtime_recovery_sweep(realtime_app *app)
{
    int64_t now = sb_wall_ms();
    /* the heartbeat that keeps this node's live records recoverable, then
     * the records and nodes past their end: one unit, two statements */
    RECORD_UNIT(app, "sweep",
                realtime_node_alive(app->store, app->node, now) < 0
                    ? -1
                    : realtime_recovery_prune(app->store, now, alive_after(app, now)));
}
