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
#include "token.h"

/* What a connection left behind. */
typedef struct record {
    char pid[RT_PID_LEN + 1];
    char *user, *company, *sid; /* one block with the subscriptions' strings */
    char **subs;
    size_t n_subs;
    int64_t expires_ms;
} record;

static int64_t pid_key(const char *pid)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = pid; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h &= 0x7fffffffffffffffull;
    return h ? (int64_t)h : 1;
}

static void record_free(record *r)
{
    free(r); /* one allocation */
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
        char pid[RT_PID_LEN + 1];
        memcpy(pid, auth->pid.ptr, RT_PID_LEN);
        pid[RT_PID_LEN] = '\0';
        record *r = sb_map_get(&app->recovery, pid_key(pid));
        /* the same pid, in time, and the same user, company and session: the
         * token was verified afresh, so a stolen pid alone recovers nothing */
        if (r && strcmp(r->pid, pid) == 0 && r->expires_ms > sb_mono_ms() &&
            strcmp(r->user, st->user) == 0 && strcmp(r->company, st->company) == 0 &&
            strcmp(r->sid, st->sid) == 0 &&
            offset >= realtime_update_oldest(app->store, st->company) - 1) {
            sb_map_del(&app->recovery, pid_key(pid));
            memcpy(st->pid, pid, sizeof st->pid);
            st->recover_from = offset;
            for (size_t i = 0; i < r->n_subs; i++)
                if (realtime_artifact_allowed(st, r->subs[i]))
                    realtime_follow(ctx, st, r->subs[i]);
            record_free(r);
            sb_counter_add(app->m_recovered, 1);
        }
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
    /* Not what this node's open transaction stored for the company: that
     * goes to the topics this connection has just joined, after the commit.
     * Every other offset read here has committed, and, the company's
     * appends being serialized (realtime_update_insert), none below it can
     * still appear: the replay misses nothing it will not get live. */
    sb_cursor cur = SB_CURSOR_INIT;
    realtime_update_row row;
    int rc, n = 0;
    while ((rc = realtime_updates_since(app->store, st->company, st->recover_from,
                                        realtime_replay_upto(app, st->company),
                                        sb_wall_ms() - app->recovery_ms, &cur, &row)) == 1) {
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
    st->recover_from = -1;
}

void realtime_recovery_keep(struct sb_ctx *ctx, rt_socket *st, const char *reason)
{
    (void)ctx;
    realtime_app *app = st->app;
    if (!app->recovery_ms || !st->pid[0])
        return;
    /* an explicit goodbye is not a lost connection */
    if (strcmp(reason, "client namespace disconnect") == 0 ||
        strcmp(reason, "server namespace disconnect") == 0 ||
        strcmp(reason, SB_EIO_CLIENT_CLOSE) == 0 || strcmp(reason, SB_EIO_SERVER_CLOSE) == 0)
        return;
    size_t need = sizeof(record) + st->n_subs * sizeof(char *) + strlen(st->user) +
                  strlen(st->company) + strlen(st->sid) + 3;
    for (size_t i = 0; i < st->n_subs; i++)
        need += strlen(st->subs[i]) + 1;
    record *r = malloc(need);
    if (!r)
        return;
    memcpy(r->pid, st->pid, sizeof r->pid);
    r->subs = (char **)(r + 1);
    char *p = (char *)(r->subs + st->n_subs);
#define PUT(dst, src)                                                                              \
    do {                                                                                           \
        size_t n_ = strlen(src) + 1;                                                               \
        memcpy(p, src, n_);                                                                        \
        dst = p;                                                                                   \
        p += n_;                                                                                   \
    } while (0)
    PUT(r->user, st->user);
    PUT(r->company, st->company);
    PUT(r->sid, st->sid);
    for (size_t i = 0; i < st->n_subs; i++)
        PUT(r->subs[i], st->subs[i]);
#undef PUT
    r->n_subs = st->n_subs;
    r->expires_ms = sb_mono_ms() + app->recovery_ms;
    int64_t key = pid_key(r->pid);
    record_free(sb_map_del(&app->recovery, key));
    if (sb_map_put(&app->recovery, key, r) != 0)
        record_free(r);
}

void realtime_recovery_sweep(realtime_app *app, int64_t now)
{
    if (now == 0)
        now = sb_mono_ms();
    /* the expired keys first: deleting from the map moves its entries, and
     * starting the scan over after each one made a sweep quadratic */
    size_t n = 0;
    int64_t *keys = malloc((app->recovery.used ? app->recovery.used : 1) * sizeof *keys);
    if (!keys)
        return;
    for (size_t i = 0; i < app->recovery.cap; i++) {
        struct sb_map_slot *slot = &app->recovery.slots[i];
        record *r = slot->key ? slot->value : NULL;
        if (r && r->expires_ms <= now && n < app->recovery.used)
            keys[n++] = slot->key;
    }
    for (size_t i = 0; i < n; i++)
        record_free(sb_map_del(&app->recovery, keys[i]));
    free(keys);
}

void realtime_recovery_free(realtime_app *app)
{
    for (size_t i = 0; i < app->recovery.cap; i++)
        if (app->recovery.slots[i].key)
            record_free(app->recovery.slots[i].value);
    sb_map_free(&app->recovery);
}
