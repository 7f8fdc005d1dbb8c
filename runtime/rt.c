/*
 * rt.c: the runtime protocols are written against (rt.h): the handlers'
 * context, route bindings, timers, and the one place where a loop turn ends.
 *
 * Every handler call, whatever called it (a WebSocket message, an HTTP
 * request, a timer, an open or a close), goes through run(): a fresh arena,
 * a ctx, one outbox unit around the handler, and the end of the turn armed.
 * turn_end() runs at the lowest priority of the event base, after every
 * socket event of the turn (libevent 2.1 runs a lower priority only in a
 * turn with no higher-priority event active, so under load one commit covers
 * several turns: measured against the default priority, 16.2 vs 20.5 us of
 * CPU per chat message at full load, and a lower p99 at half of it).
 *
 * On PostgreSQL every handler call that arrives from the transport (an
 * open, a message, a request, a close, an abort), a timer's, and the bus'
 * remote frames run as jobs (jobs.h): one at a time, in order, on a
 * coroutine, so that a statement's wait goes back to the loop. Calls that
 * cannot wait in a queue (sb_rt_call, sb_rt_each_ws, drain callbacks)
 * finish the queue first (jobs_settle). The end of turn never runs while a
 * job waits in the middle of its unit.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "clock.h"
#include "coro.h"
#include "ctx.h"
#include "jobs.h"
#include "log.h"
#include "map.h"
#include "rt.h"
#include "store.h"
#include "topics.h"
#include "bucket.h"
#include "metrics.h"

typedef struct rt_conn rt_conn;

typedef struct ws_binding {
    sb_rt *rt;
    sb_ws_handler h;
    rt_conn *conns; /* its open connections (sb_rt_each_ws) */
} ws_binding;

typedef struct http_binding {
    sb_rt *rt;
    sb_http_handler h;
} http_binding;

/* What the runtime keeps for each WebSocket: the protocol's session and
 * the connection's rate limits. The sb_conn's user pointer. */
struct rt_conn {
    void *session;
    sb_bucket messages, bytes, invalid;
    bool limited; /* answered and closing */
    bool refused; /* its open (a job) refused it: what it sent after is not handled */
    uint64_t id;
    rt_conn *prev, *next; /* the route's connections */
    const struct ws_binding *route;
    sb_rt_filter_fn filter; /* sb_rt_set_filter, or NULL */
    void *filter_arg;
};

typedef struct drain_wait {
    sb_drain_fn fn;
    void *arg, *app;
} drain_wait;

struct sb_timer {
    sb_rt *rt;
    struct event *ev;
    uint64_t owner;
    sb_timer *prev, *next; /* the owner's timers */
    sb_timer_fn fn;
    void *arg;
    bool repeat;
    bool queued;    /* fired, its call queued as a job (jobs.h) */
    bool cancelled; /* cancelled while queued: the job frees it */
};

/* An endpoint's filter (sb_rt_set_filter): a connection keeps its own in
 * its rt_conn; an endpoint has no such record, so the runtime keeps it. */
typedef struct ep_filter {
    sb_rt_filter_fn fn;
    void *arg;
} ep_filter;

struct sb_rt {
    struct event_base *base;
    sb_server *server;
    sb_store *store;
    sb_topics *topics;
    sb_outbox *outbox;
    sb_bus *bus; /* NULL: one node */
    sb_arena arena;
    struct event *turn_ev;     /* lowest priority: the end of the turn */
    struct event *deadline_ev; /* default priority: the end of the turn, at the latest */
    struct event *window_ev;   /* --commit-window: when the open transaction is due */
    struct event *idle_ev;     /* once a second: storage statistics into /metrics */
    bool armed, window_armed;
    int commit_window_us;
    int max_message_rate, max_invalid, max_user_connections;
    size_t max_byte_rate;
    sb_counter *m_limited[SB_LIMIT_CONNECTIONS + 1];
    int64_t tx_started_us;
    sb_map timers; /* owner -> its first sb_timer */
    sb_log_every_state limit_log;
    sb_map drains;     /* conn -> its drain_wait */
    sb_map endpoints;  /* endpoint ID -> its object (which starts with its ops) */
    sb_map ep_filters; /* endpoint ID -> its ep_filter (sb_rt_set_filter) */
    size_t n_ep_filters;
    uint64_t *to_arm; /* connections whose drain wait starts after the deliver */
    size_t n_arm, cap_arm;
    /* A commit on its way (sb_store_commit_start): what the outbox sealed
     * for it waits for its answer; the first n_arm_sealed of to_arm with it */
    bool committing, commit_answered;
    int commit_rc;
    size_t n_arm_sealed;
    void **bindings;
    size_t n_bindings;
    ws_binding **ws; /* the WebSocket routes' bindings, also in bindings */
    size_t n_ws;
    int depth; /* handler calls under way (a handler that triggers another) */
    /* PostgreSQL: WebSocket messages are handled on a coroutine, one at a
     * time and in order (jobs.h), and a statement's wait goes back to the
     * loop. NULL on SQLite: every call runs to its end at once. */
    sb_jobs *jobs;
    int jobs_this_turn; /* started since the end of turn last ran */
    /* Connections the transport has closed whose close is still queued as
     * a job: their queued messages run first, and find them here. */
    sb_map closing; /* conn -> rt_conn */
};

/* Jobs started between two ends of turn, at most: under a steady stream
 * of messages the queue never empties, and the end of turn (the commit, the
 * deliveries) must still come. */
#define JOBS_PER_TURN 512
/* Messages queued behind a waiting job, at most (count, bytes): past
 * either, they are finished at once, blocking, as without jobs. */
#define JOBS_MAX_QUEUED 4096
#define JOBS_MAX_QUEUED_BYTES (16u << 20)

/* The end of the turn ----------------------------------------------------- */

/* The end of the turn runs at the lowest priority: libevent runs it only in
 * a loop iteration with no socket event ready, so under load one commit
 * gathers several iterations' messages. It must not wait for such a quiet
 * moment for ever: the deadline, a timer at the default priority (it runs
 * beside the socket events), ends the turn TURN_DEADLINE_US after it was
 * armed. Without it: a p99 of 47 ms at half of the maximum chat load; and
 * worse, lws keeps an event active for as long as a connection holds bytes
 * it cannot parse yet (HTTP requests pipelined behind one whose answer waits
 * for the end of the turn), so the turn never ended and the server answered
 * no one again (tests/runtime/03_http.test.mjs, "pipelined requests"). */
#define TURN_DEADLINE_US 1000

static void arm(sb_rt *rt)
{
    if (!rt->armed) {
        rt->armed = true;
        event_active(rt->turn_ev, 0, 0);
        struct timeval tv = {0, TURN_DEADLINE_US};
        evtimer_add(rt->deadline_ev, &tv);
    }
}

static void arm_hook(void *arg)
{
    arm(arg);
}

static void drained(sb_conn *c, void *arg);

/* Drain waits start once what the turn queued is in the connection's queue:
 * a wait armed earlier would see an empty queue and fire at once. The first
 * n of to_arm (those of what was just delivered); the rest move up. */
static void arm_drains_first(sb_rt *rt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sb_conn *c = sb_conn_find(rt->server, rt->to_arm[i]);
        if (c && sb_map_get(&rt->drains, (int64_t)rt->to_arm[i]))
            sb_conn_on_drain(c, drained, rt);
    }
    if (n < rt->n_arm) /* (to_arm is NULL until the first) */
        memmove(rt->to_arm, rt->to_arm + n, (rt->n_arm - n) * sizeof *rt->to_arm);
    rt->n_arm -= n;
}

static void arm_drains(sb_rt *rt)
{
    arm_drains_first(rt, rt->n_arm);
}

/* A commit's answer (sb_store_commit_start): noted; the end of the turn,
 * armed here, delivers what waited for it. It may come inside a handler
 * (the next statement waited for it): nothing is sent from here. */
static void commit_answered(void *arg, int rc)
{
    sb_rt *rt = arg;
    rt->commit_answered = true;
    rt->commit_rc = rc;
    arm(rt);
}

/* What was sealed for the commit that answered: delivered with its fate. */
static void deliver_sealed(sb_rt *rt)
{
    rt->committing = rt->commit_answered = false;
    sb_outbox_deliver_sealed(rt->outbox, rt->commit_rc);
    sb_server_flush(rt->server);
    arm_drains_first(rt, rt->n_arm_sealed);
    rt->n_arm_sealed = 0;
    sb_server_release_turn(rt->server);
}

static void turn_finish(sb_rt *rt);

/* Commit, deliver, release: in this order, here and nowhere else. */
static void turn_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_rt *rt = arg;
    if (!rt->armed)
        return; /* the deadline ran it already (or the other way round) */
    rt->armed = false;
    event_del(rt->deadline_ev);
    event_del(rt->turn_ev);
    /* a handler waits for a statement, in the middle of its unit: the turn
     * ends after it (its unit's close arms it again) */
    if (sb_jobs_waiting(rt->jobs))
        return;
    rt->jobs_this_turn = 0;
    turn_finish(rt);
    if (rt->jobs)
        sb_jobs_kick(rt->jobs); /* what waited for this end of turn */
}

/* The end of turn proper (turn_end). */
static void turn_finish(sb_rt *rt)
{
    if (rt->committing) {
        if (!rt->commit_answered)
            return; /* its answer arms the turn again */
        deliver_sealed(rt);
    }
    int rc = 0;
    if (sb_store_in_tx(rt->store)) {
        int64_t left = rt->commit_window_us - (sb_mono_us() - rt->tx_started_us);
        if (left > 0) {
            /* Not due yet: later turns join the transaction, and nothing
             * of it (nor anything queued behind it) is delivered before. */
            if (!rt->window_armed) {
                struct timeval tv = {0, (suseconds_t)left};
                evtimer_add(rt->window_ev, &tv);
                rt->window_armed = true;
            }
            return;
        }
        /* PostgreSQL: the COMMIT goes, and the loop serves its sockets
         * while the server flushes; the turn's units wait, sealed, for the
         * answer (commit_answered). SQLite commits here. */
        sb_store_status st;
        if (sb_store_commit_start(rt->store, commit_answered, rt, &st)) {
            rt->committing = true;
            sb_outbox_seal(rt->outbox);
            rt->n_arm_sealed = rt->n_arm;
            sb_store_end_reads(rt->store);
            return;
        }
        rc = st;
    }
    sb_outbox_deliver(rt->outbox, rc);
    sb_server_flush(rt->server);
    sb_store_end_reads(rt->store);
    arm_drains(rt);
    sb_server_release_turn(rt->server);
}

/* Once a second: the storage's background counters into /metrics. */
static void idle_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_rt *rt = arg;
    sb_store_publish_stats(rt->store);
}

static void window_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_rt *rt = arg;
    rt->window_armed = false;
    arm(rt);
}

static void tx_begun(void *arg)
{
    sb_rt *rt = arg;
    rt->tx_started_us = sb_mono_us();
    arm(rt);
}

static void tx_lost(void *arg)
{
    sb_rt *rt = arg;
    sb_outbox_fail_pending(rt->outbox);
}

/* Jobs (jobs.h) ------------------------------------------------------------ */

/* The gate between two jobs: the end of turn comes every JOBS_PER_TURN. */
static bool jobs_gate(void *arg)
{
    sb_rt *rt = arg;
    if (rt->jobs_this_turn >= JOBS_PER_TURN) {
        arm(rt); /* its end of turn starts the queue again */
        return false;
    }
    rt->jobs_this_turn++;
    return true;
}

/* Do handler calls go through the queue? (PostgreSQL, and not already
 * inside a job, where a call is part of that job.) */
static bool jobs_on(const sb_rt *rt)
{
    return rt->jobs && !sb_coro_self();
}

static void wake_store(void *arg)
{
    sb_rt *rt = arg;
    sb_store_quiesce(rt->store);
}

/* Before a handler call that is not a job (an open, a close, a timer, a
 * call from a protocol's own code) and before the runtime itself needs the
 * store or the outbox whole: the messages that came before it are handled
 * first, to their end, blocking (jobs.h, sb_jobs_drain). Inside a job it is
 * part of that job: nothing to do. */
static void jobs_settle(sb_rt *rt)
{
    if (jobs_on(rt) && sb_jobs_busy(rt->jobs))
        sb_jobs_drain(rt->jobs, wake_store, rt);
}

/* Before queueing a job of `bytes`: past the queue's bounds, what is
 * queued is finished first, blocking (the back-pressure of a stalled
 * database: memory stays bounded). */
static void jobs_make_room(sb_rt *rt, size_t bytes)
{
    if (sb_jobs_queued(rt->jobs) >= JOBS_MAX_QUEUED ||
        sb_jobs_queued_weight(rt->jobs) + bytes > JOBS_MAX_QUEUED_BYTES)
        jobs_settle(rt);
}

/* Queue j (fn(j) later, dispose(j) after), making room first: true when
 * queued. Otherwise (j NULL: out of memory, or not taken) j is disposed,
 * what is queued is finished, and the caller runs the call at once, as
 * without jobs. */
static bool enqueue(sb_rt *rt, sb_job_fn fn, void *j, void (*dispose)(void *), size_t weight)
{
    if (j) {
        jobs_make_room(rt, weight);
        if (sb_jobs_add_weighted(rt->jobs, fn, j, dispose, weight) == 0)
            return true;
        dispose(j);
    }
    jobs_settle(rt);
    return false;
}

void sb_rt_flush(sb_rt *rt)
{
    jobs_settle(rt);
    if (rt->committing) {
        if (!rt->commit_answered)
            sb_store_commit(rt->store); /* waits for the answer first */
        deliver_sealed(rt);
    }
    int rc = sb_store_in_tx(rt->store) ? sb_store_commit(rt->store) : 0;
    sb_outbox_deliver(rt->outbox, rc);
    sb_server_flush(rt->server);
    arm_drains(rt);
    sb_server_release_turn(rt->server);
}

/* Endpoints --------------------------------------------------------------- */

static void *endpoint_lookup(void *arg, uint64_t id)
{
    sb_rt *rt = arg;
    return sb_map_get(&rt->endpoints, (int64_t)id);
}

void *sb_rt_endpoint(sb_rt *rt, uint64_t id)
{
    return sb_map_get(&rt->endpoints, (int64_t)id);
}

int sb_rt_endpoint_add(sb_rt *rt, uint64_t id, void *obj)
{
    if (!id || !obj || sb_map_get(&rt->endpoints, (int64_t)id))
        return -1;
    return sb_map_put(&rt->endpoints, (int64_t)id, obj) != 0 ? -1 : 0;
}

static void ep_filter_del(sb_rt *rt, uint64_t id);

void sb_rt_endpoint_remove(sb_rt *rt, uint64_t id)
{
    ep_filter_del(rt, id);
    sb_map_del(&rt->endpoints, (int64_t)id);
    free(sb_map_del(&rt->drains, (int64_t)id));
    sb_topics_leave_all(rt->topics, id);
    sb_rt_cancel_owner(rt, id);
}

/* Life cycle ------------------------------------------------------------- */

/* The outbox's publish hook: every topic frame, once, after its commit. */
static void bus_publish(void *arg, const char *const *topics, size_t n, const char *frame,
                        size_t len, bool binary, bool positioned, uint64_t pos)
{
    sb_bus_publish(arg, topics, n, frame, len, binary, positioned, pos);
}

/* A positioned frame to c, or to endpoint id: its filter says
 * (sb_rt_set_filter). */
static bool conn_filter(void *arg, sb_conn *c, uint64_t id, uint64_t pos)
{
    sb_rt *rt = arg;
    if (!c) {
        const ep_filter *f = rt->n_ep_filters ? sb_map_get(&rt->ep_filters, (int64_t)id) : NULL;
        return !f || f->fn(f->arg, pos);
    }
    rt_conn *rc = sb_conn_is_http(c) ? NULL : sb_conn_user(c);
    return !rc || !rc->filter || rc->filter(rc->filter_arg, pos);
}

sb_rt *sb_rt_new(struct event_base *base, sb_server *server, sb_store *store, const sb_config *cfg)
{
    int commit_window_us = cfg->commit_window_us;
    sb_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->base = base;
    rt->server = server;
    rt->store = store;
    rt->commit_window_us =
        commit_window_us > 0 && commit_window_us < 1000000 ? commit_window_us : 0;
    rt->max_message_rate = cfg->max_message_rate;
    rt->max_byte_rate = cfg->max_byte_rate;
    rt->max_invalid = cfg->max_invalid;
    rt->max_user_connections = cfg->max_user_connections;
    for (int k = SB_LIMIT_MESSAGES; k <= SB_LIMIT_CONNECTIONS; k++) {
        char labels[64];
        snprintf(labels, sizeof labels, "limit=\"%s\"", sb_limit_name((sb_limit)k));
        rt->m_limited[k] = sb_counter_get("switchboard_limited_total",
                                          "WebSockets answered and closed at a limit", labels);
    }
    rt->topics = sb_topics_new();
    rt->outbox = rt->topics ? sb_outbox_new(server, rt->topics) : NULL;
    rt->turn_ev = event_new(base, -1, 0, turn_end, rt);
    rt->deadline_ev = evtimer_new(base, turn_end, rt);
    rt->window_ev = evtimer_new(base, window_due, rt);
    rt->idle_ev = event_new(base, -1, EV_PERSIST, idle_tick, rt);
    if (!rt->outbox || !rt->turn_ev || !rt->deadline_ev || !rt->window_ev || !rt->idle_ev) {
        sb_rt_free(rt);
        return NULL;
    }
    event_priority_set(rt->turn_ev, event_base_get_npriorities(base) - 1);
    struct timeval second = {1, 0};
    event_add(rt->idle_ev, &second);
    sb_arena_init(&rt->arena, SB_ARENA_DEFAULT_LIMIT);
    sb_map_init(&rt->timers);
    sb_map_init(&rt->drains);
    sb_map_init(&rt->endpoints);
    sb_map_init(&rt->ep_filters);
    sb_map_init(&rt->closing);
    sb_outbox_set_endpoints(rt->outbox, endpoint_lookup, rt);
    sb_server_set_input_hook(server, arm_hook, rt);
    sb_store_set_hooks(store, tx_begun, tx_lost, rt);
    sb_store_set_loop(store, base); /* PostgreSQL reconnects on it */
    if (sb_store_waits_on_loop(store) && !cfg->pg_wait_block) {
        rt->jobs = sb_jobs_new(jobs_gate, rt);
        if (!rt->jobs)
            sb_log(SB_LOG_WARN, "jobs",
                   "msg=\"no coroutine stack: statements will block the loop\"");
    }
    if (cfg->redis_url[0]) {
        char err[256];
        rt->bus = sb_bus_new(base, rt, cfg->redis_url, cfg->node_id, err, sizeof err);
        if (!rt->bus) {
            sb_log(SB_LOG_ERROR, "bus", "error=\"%s\"", err);
            sb_rt_free(rt);
            return NULL;
        }
        sb_outbox_set_publish(rt->outbox, bus_publish, rt->bus);
    }
    return rt;
}

void sb_rt_end_jobs(sb_rt *rt)
{
    jobs_settle(rt); /* no handler waits on a stack about to go */
    sb_jobs_free(rt->jobs);
    rt->jobs = NULL;
}

void sb_rt_free(sb_rt *rt)
{
    if (!rt)
        return;
    sb_rt_end_jobs(rt);
    /* a COMMIT on its way answers now, not later to a freed runtime */
    if (rt->committing && !rt->commit_answered)
        sb_store_commit(rt->store);
    /* first: its callbacks reach the topics and the outbox */
    if (rt->outbox)
        sb_outbox_set_publish(rt->outbox, NULL, NULL);
    sb_bus_free(rt->bus);
    for (size_t i = 0; i < rt->timers.cap; i++) {
        sb_timer *t =
            rt->timers.slots && rt->timers.slots[i].key ? rt->timers.slots[i].value : NULL;
        while (t) {
            sb_timer *next = t->next;
            event_free(t->ev);
            free(t);
            t = next;
        }
    }
    sb_map_free(&rt->timers);
    for (size_t i = 0; i < rt->drains.cap; i++)
        if (rt->drains.slots[i].key)
            free(rt->drains.slots[i].value);
    sb_map_free(&rt->drains);
    sb_map_free(&rt->endpoints); /* the objects are their owners' */
    for (size_t i = 0; rt->n_ep_filters && i < rt->ep_filters.cap; i++)
        free(rt->ep_filters.slots[i].value); /* NULL in an empty slot */
    sb_map_free(&rt->ep_filters);
    sb_map_free(&rt->closing); /* empty: jobs_settle ran the closes */
    free(rt->to_arm);
    if (rt->turn_ev)
        event_free(rt->turn_ev);
    if (rt->window_ev)
        event_free(rt->window_ev);
    if (rt->deadline_ev)
        event_free(rt->deadline_ev);
    if (rt->idle_ev)
        event_free(rt->idle_ev);
    sb_outbox_free(rt->outbox);
    sb_topics_free(rt->topics);
    sb_arena_free(&rt->arena);
    for (size_t i = 0; i < rt->n_bindings; i++)
        free(rt->bindings[i]);
    free(rt->bindings);
    free(rt->ws);
    sb_store_set_hooks(rt->store, NULL, NULL, NULL);
    sb_store_set_loop(rt->store, NULL);
    free(rt);
}

sb_bus *sb_rt_bus(sb_rt *rt)
{
    return rt->bus;
}

sb_server *sb_rt_server(sb_rt *rt)
{
    return rt->server;
}

sb_store *sb_rt_store(sb_rt *rt)
{
    return rt->store;
}

sb_topics *sb_rt_topics(sb_rt *rt)
{
    return rt->topics;
}

sb_arena *sb_rt_arena(sb_rt *rt)
{
    return &rt->arena;
}

uint64_t sb_rt_new_id(sb_rt *rt)
{
    return sb_server_new_id(rt->server);
}

/* Calling handlers -------------------------------------------------------- */

/* A ctx for one handler call. The arena is reset only by the outermost
 * call: a handler's data stays valid while it runs. */
static void ctx_init(sb_rt *rt, struct sb_ctx *ctx, void *app, void *session, uint64_t conn)
{
    if (rt->depth == 0)
        sb_arena_reset(&rt->arena);
    *ctx = (struct sb_ctx){.rt = rt,
                           .store = rt->store,
                           .out = rt->outbox,
                           .app = app,
                           .session = session,
                           .conn = conn,
                           .arena = &rt->arena};
}

static void unit_open(sb_rt *rt, uint64_t origin, const sb_failure *fail)
{
    rt->depth++;
    sb_outbox_open(rt->outbox, origin, fail);
}

static void unit_close(sb_rt *rt)
{
    sb_outbox_close(rt->outbox, sb_store_in_tx(rt->store));
    rt->depth--;
    arm(rt);
}

static int add_binding(sb_rt *rt, void *b)
{
    void **p = realloc(rt->bindings, (rt->n_bindings + 1) * sizeof *p);
    if (!p)
        return -1;
    p[rt->n_bindings++] = b;
    rt->bindings = p;
    return 0;
}

/* WebSocket routes ---------------------------------------------------------- */

const char *sb_limit_name(sb_limit what)
{
    switch (what) {
    case SB_LIMIT_MESSAGES:
        return "messages";
    case SB_LIMIT_BYTES:
        return "bytes";
    case SB_LIMIT_INVALID:
        return "invalid";
    case SB_LIMIT_CONNECTIONS:
        return "connections";
    default:
        return "unknown";
    }
}

/* The session a protocol keeps for a connection (NULL: none, or HTTP). */
static void *session_of(sb_conn *c)
{
    rt_conn *rc = c && !sb_conn_is_http(c) ? sb_conn_user(c) : NULL;
    return rc ? rc->session : NULL;
}

/* A limit passed: the protocol's answer, then 1008 once it is out. */
static void limited(struct sb_ctx *ctx, ws_binding *b, rt_conn *rc, sb_limit what)
{
    if (rc && rc->limited)
        return;
    if (rc)
        rc->limited = true;
    sb_counter_add(ctx->rt->m_limited[what], 1);
    sb_log_every(&ctx->rt->limit_log, 1000, SB_LOG_WARN, "limited", "limit=%s conn=%llu channel=%s",
                 sb_limit_name(what), (unsigned long long)ctx->conn,
                 b->h.channel ? b->h.channel : "?");
    if (b->h.on_limit)
        b->h.on_limit(ctx, what);
    sb_rt_close(ctx, SB_CLOSE_POLICY, "limit exceeded");
}

/* The route's on_open for rc's connection: 0 keeps it. */
static int ws_open_now(ws_binding *b, rt_conn *rc, const sb_ws_request *req)
{
    sb_rt *rt = b->rt;
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, b->h.app, NULL, rc->id);
    ctx.binding = b;
    unit_open(rt, ctx.conn, &b->h.storage_error);
    int result = b->h.on_open(&ctx, req);
    rc->session = ctx.session;
    unit_close(rt);
    return result;
}

/* An open as a job (an open authenticates: a statement): the request
 * copied, the connection kept meanwhile; its messages queue behind the
 * open, and a refusal closes it as the transport would have. */
typedef struct ws_open_job {
    ws_binding *b;
    uint64_t conn;
    sb_ws_request *req; /* sb_ws_request_copy */
} ws_open_job;

static void ws_open_job_free(void *arg)
{
    ws_open_job *j = arg;
    free(j->req);
    free(j);
}

static rt_conn *rt_conn_of(sb_rt *rt, uint64_t conn);

static void ws_open_job_run(void *arg)
{
    ws_open_job *j = arg;
    sb_rt *rt = j->b->rt;
    rt_conn *rc = rt_conn_of(rt, j->conn);
    if (!rc)
        return; /* gone before its open ran (its close waited for this job) */
    if (ws_open_now(j->b, rc, j->req) != 0) {
        rc->refused = true;
        sb_conn *c = sb_conn_find(rt->server, j->conn);
        if (c) /* unless the route asked for a close of its own (idempotent) */
            sb_conn_close(c, SB_CLOSE_POLICY, "refused");
    }
}

static int ws_open(sb_conn *c, const sb_ws_request *req, void *arg)
{
    ws_binding *b = arg;
    sb_rt *rt = b->rt;
    rt_conn *rc = calloc(1, sizeof *rc);
    if (!rc)
        return -1;
    sb_conn_set_user(c, rc);
    rc->id = sb_conn_id(c);
    rc->route = b;
    rc->next = b->conns;
    if (b->conns)
        b->conns->prev = rc;
    b->conns = rc;
    if (jobs_on(rt)) {
        sb_ws_request *copy = sb_ws_request_copy(req);
        ws_open_job *j = copy ? malloc(sizeof *j) : NULL;
        if (j)
            *j = (ws_open_job){b, rc->id, copy};
        else
            free(copy);
        if (enqueue(rt, ws_open_job_run, j, ws_open_job_free, 0))
            return 0;
    }
    return ws_open_now(b, rc, req);
}

/* One WebSocket message, to the route's handler. */
static void ws_message_now(ws_binding *b, rt_conn *rc, const char *data, size_t len, bool binary)
{
    sb_rt *rt = b->rt;
    if (rc->limited)
        return; /* closing: what it still sends is not read */
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, b->h.app, rc->session, rc->id);
    ctx.binding = b;
    unit_open(rt, ctx.conn, &b->h.storage_error);
    int64_t now = sb_mono_us();
    if (!sb_bucket_take(&rc->messages, rt->max_message_rate, 2.0 * rt->max_message_rate, 1, now)) {
        limited(&ctx, b, rc, SB_LIMIT_MESSAGES);
    } else if (!sb_bucket_take(&rc->bytes, (double)rt->max_byte_rate,
                               4.0 * (double)rt->max_byte_rate, (double)len, now)) {
        limited(&ctx, b, rc, SB_LIMIT_BYTES);
    } else {
        b->h.on_message(&ctx, data, len, binary);
        rc->session = ctx.session;
    }
    unit_close(rt);
}

/* A message as a job: its bytes copied (lws' buffer is reused as soon as
 * ws_message returns), its connection found again when it runs (a close
 * waits for the jobs before it: ws_close). */
typedef struct ws_job {
    ws_binding *b;
    uint64_t conn;
    size_t len;
    bool binary;
    char data[];
} ws_job;

static void ws_job_run(void *arg)
{
    ws_job *j = arg;
    rt_conn *rc = rt_conn_of(j->b->rt, j->conn); /* also when closed since: it came before */
    /* refused since it was queued (its open was a job): the transport
     * would not have handed it over */
    if (rc && !rc->refused)
        ws_message_now(j->b, rc, j->data, j->len, j->binary);
}

static void ws_message(sb_conn *c, const char *data, size_t len, bool binary, void *arg)
{
    ws_binding *b = arg;
    sb_rt *rt = b->rt;
    rt_conn *rc = sb_conn_user(c);
    if (!rc || rc->limited)
        return; /* closing: what it still sends is not read */
    if (jobs_on(rt)) {
        ws_job *j = malloc(sizeof *j + len);
        if (j) {
            *j = (ws_job){b, rc->id, len, binary};
            memcpy(j->data, data, len);
        }
        if (enqueue(rt, ws_job_run, j, free, len))
            return;
    }
    ws_message_now(b, rc, data, len, binary);
}

/* The route's on_close, then what the runtime held for the connection. */
static void ws_close_now(ws_binding *b, uint64_t conn, rt_conn *rc)
{
    sb_rt *rt = b->rt;
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, b->h.app, rc ? rc->session : NULL, conn);
    ctx.binding = b;
    if (b->h.on_close) {
        unit_open(rt, ctx.conn, NULL);
        b->h.on_close(&ctx);
        unit_close(rt);
    }
    if (rc) {
        if (rc->prev)
            rc->prev->next = rc->next;
        else
            b->conns = rc->next;
        if (rc->next)
            rc->next->prev = rc->prev;
    }
    free(rc);
    free(sb_map_del(&rt->drains, (int64_t)conn));
    sb_topics_leave_all(rt->topics, conn);
    sb_rt_cancel_owner(rt, conn);
}

/* A close as a job: after the connection's messages (and everyone's)
 * queued before it; its record waits in rt->closing until then. */
typedef struct ws_close_job {
    ws_binding *b;
    uint64_t conn;
} ws_close_job;

static void ws_close_job_run(void *arg)
{
    ws_close_job *j = arg;
    sb_rt *rt = j->b->rt;
    rt_conn *rc = sb_map_del(&rt->closing, (int64_t)j->conn);
    ws_close_now(j->b, j->conn, rc);
}

static void ws_close(sb_conn *c, void *arg)
{
    ws_binding *b = arg;
    sb_rt *rt = b->rt;
    rt_conn *rc = sb_conn_user(c);
    uint64_t conn = sb_conn_id(c);
    if (jobs_on(rt) && rc) {
        ws_close_job *j = malloc(sizeof *j);
        if (j && sb_map_put(&rt->closing, (int64_t)conn, rc) == 0) {
            *j = (ws_close_job){b, conn};
            sb_conn_set_user(c, NULL); /* the transport frees c on return */
            if (sb_jobs_add(rt->jobs, ws_close_job_run, j, free) == 0)
                return;
            sb_map_del(&rt->closing, (int64_t)conn);
            sb_conn_set_user(c, rc);
        }
        free(j);
        jobs_settle(rt); /* out of memory: its messages first, at once */
    }
    sb_conn_set_user(c, NULL);
    ws_close_now(b, conn, rc);
}

static rt_conn *rt_conn_of(sb_rt *rt, uint64_t conn)
{
    sb_conn *c = sb_conn_find(rt->server, conn);
    if (c)
        return !sb_conn_is_http(c) ? sb_conn_user(c) : NULL;
    return rt->closing.used ? sb_map_get(&rt->closing, (int64_t)conn) : NULL;
}

int sb_rt_claim(struct sb_ctx *ctx, const char *topic, int max)
{
    sb_rt *rt = ctx->rt;
    if (max <= 0)
        max = rt->max_user_connections;
    size_t n = 0;
    sb_topics_conns(rt->topics, topic, &n);
    if (max > 0 && n >= (size_t)max) {
        if (ctx->binding)
            limited(ctx, ctx->binding, rt_conn_of(rt, ctx->conn), SB_LIMIT_CONNECTIONS);
        return -1;
    }
    return sb_topics_subscribe(rt->topics, topic, ctx->conn);
}

void sb_rt_invalid(struct sb_ctx *ctx)
{
    sb_rt *rt = ctx->rt;
    rt_conn *rc = rt_conn_of(rt, ctx->conn);
    if (!rc || !ctx->binding || rt->max_invalid <= 0)
        return;
    if (!sb_bucket_take(&rc->invalid, rt->max_invalid / 60.0, rt->max_invalid, 1, sb_mono_us()))
        limited(ctx, ctx->binding, rc, SB_LIMIT_INVALID);
}

static int ws_upgrade(const sb_ws_request *req, void *arg, sb_http_response *refusal)
{
    ws_binding *b = arg;
    return b->h.on_upgrade(req, b->h.app, refusal);
}

int sb_rt_add_ws(sb_rt *rt, const sb_ws_handler *h, char *err, size_t err_size)
{
    ws_binding *b = malloc(sizeof *b);
    ws_binding **ws = b ? realloc(rt->ws, (rt->n_ws + 1) * sizeof *ws) : NULL;
    if (ws)
        rt->ws = ws;
    if (!ws || add_binding(rt, b) != 0) {
        free(b);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *b = (ws_binding){rt, *h, NULL};
    rt->ws[rt->n_ws++] = b;
    sb_ws_route r = {.path = h->path,
                     .channel = h->channel,
                     .on_open = h->on_open ? ws_open : NULL,
                     .on_message = h->on_message ? ws_message : NULL,
                     .on_close = ws_close,
                     .on_upgrade = h->on_upgrade ? ws_upgrade : NULL,
                     .max_message = h->max_message,
                     .accept_binary = h->accept_binary,
                     .arg = b};
    return sb_server_add_ws(rt->server, &r, err, err_size);
}

/* HTTP routes --------------------------------------------------------------- */

static void http_timeout(struct sb_ctx *ctx, void *arg);

/* One HTTP request, to the route's handler. */
static void http_request_now(http_binding *b, const sb_http_request *req)
{
    sb_rt *rt = b->rt;
    struct sb_ctx ctx;
    sb_http_response resp;
    sb_http_response_init(&resp);
    ctx_init(rt, &ctx, b->h.app, NULL, req->id);
    ctx.http = req;
    ctx.http_resp = &resp;
    unit_open(rt, req->id, &b->h.storage_error);
    int rc = b->h.handle(&ctx, req, &resp);
    if (rc == SB_HTTP_DEFERRED) {
        if (ctx.defer_ms > 0 && !sb_rt_timer(rt, req->id, ctx.defer_ms, false, http_timeout, b))
            sb_outbox_http(rt->outbox, req->id, &resp); /* no timer: answer what resp says */
    } else {
        sb_outbox_http(rt->outbox, req->id, &resp);
    }
    unit_close(rt);
    sb_http_response_free(&resp);
}

/* A request as a job: a copy of it (the transport's lives on its stack),
 * whose uncommon headers are still read from the transport while the
 * request waits for its answer. A request whose client went away in the
 * meantime still runs, as it would have at once (what it stores is
 * stored); its answer goes nowhere. */
typedef struct http_job {
    http_binding *b;
    sb_http_request *req; /* sb_http_request_copy; its transport is this job */
    const char *(*custom)(const sb_http_request *req, const char *name);
    void *transport;
} http_job;

static const char *http_job_header(const sb_http_request *req, const char *name)
{
    http_job *j = req->transport;
    sb_conn *c = sb_conn_find(j->b->rt->server, req->id);
    if (!c || !j->custom)
        return NULL;
    sb_http_request live = *req;
    live.transport = j->transport;
    return j->custom(&live, name);
}

static void http_job_run(void *arg)
{
    http_job *j = arg;
    http_request_now(j->b, j->req);
}

static void http_job_free(void *arg)
{
    http_job *j = arg;
    free(j->req);
    free(j);
}

/* An immediate route's request (rt.h): no unit, no job, answered now. */
static void http_immediate(http_binding *b, const sb_http_request *req)
{
    sb_rt *rt = b->rt;
    struct sb_ctx ctx;
    sb_http_response resp;
    sb_http_response_init(&resp);
    ctx_init(rt, &ctx, b->h.app, NULL, req->id);
    ctx.out = NULL;
    ctx.http = req;
    ctx.http_resp = &resp;
    rt->depth++; /* the arena is a waiting job's, if one waits: not reset under it */
    b->h.handle(&ctx, req, &resp);
    rt->depth--;
    sb_server_http_respond(rt->server, req->id, &resp);
    sb_http_response_free(&resp);
}

static void http_request(sb_conn *c, const sb_http_request *req, void *arg)
{
    http_binding *b = arg;
    sb_rt *rt = b->rt;
    (void)c;
    if (b->h.immediate) {
        http_immediate(b, req);
        return;
    }
    if (jobs_on(rt)) {
        http_job *j = malloc(sizeof *j);
        sb_http_request *copy = j ? sb_http_request_copy(req) : NULL;
        if (copy) {
            *j = (http_job){b, copy, req->custom, req->transport};
            copy->custom = http_job_header;
            copy->transport = j;
        } else {
            free(j);
            j = NULL;
        }
        if (enqueue(rt, http_job_run, j, http_job_free, req->body_len))
            return;
    }
    http_request_now(b, req);
}

/* A held request's time ran out: the route says what it answers. */
static void http_timeout(struct sb_ctx *ctx, void *arg)
{
    http_binding *b = arg;
    /* Answered already (a long poll woken by sb_outbox_http) and gone: the
     * timer outlived it, and on_timeout must not hear of a request that
     * no longer waits (caught by tests/runtime/03_http.test.mjs, "a woken
     * long poll does not time out afterwards"). */
    if (!sb_conn_find(ctx->rt->server, ctx->conn))
        return;
    sb_http_response resp;
    sb_http_response_init(&resp);
    ctx->app = b->h.app;
    ctx->http_resp = &resp;
    if (b->h.on_timeout) {
        b->h.on_timeout(ctx, ctx->conn, &resp);
    } else {
        resp.status = 204;
    }
    sb_outbox_http(ctx->out, ctx->conn, &resp);
    sb_http_response_free(&resp);
}

static void http_abort_now(http_binding *b, uint64_t request);

typedef struct http_abort_job {
    http_binding *b;
    uint64_t request;
} http_abort_job;

static void http_abort_job_run(void *arg)
{
    http_abort_job *j = arg;
    http_abort_now(j->b, j->request);
}

static void http_abort(uint64_t request, void *arg)
{
    http_binding *b = arg;
    sb_rt *rt = b->rt;
    sb_rt_cancel_owner(rt, request); /* a timer of it already queued is cancelled too */
    if (!b->h.on_abort)
        return;
    if (jobs_on(rt)) { /* after the request itself, if it is still queued */
        http_abort_job *j = malloc(sizeof *j);
        if (j)
            *j = (http_abort_job){b, request};
        if (enqueue(rt, http_abort_job_run, j, free, 0))
            return;
    }
    http_abort_now(b, request);
}

static void http_abort_now(http_binding *b, uint64_t request)
{
    sb_rt *rt = b->rt;
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, b->h.app, NULL, request);
    unit_open(rt, request, NULL);
    b->h.on_abort(&ctx, request);
    unit_close(rt);
}

static int http_body(const sb_http_request *head, void *arg, sb_http_response *refusal)
{
    http_binding *b = arg;
    return b->h.on_body(head, b->h.app, refusal);
}

int sb_rt_add_http(sb_rt *rt, const sb_http_handler *h, char *err, size_t err_size)
{
    if (!h->handle) {
        snprintf(err, err_size, "HTTP route %s %s: no handler", h->method ? h->method : "(null)",
                 h->path ? h->path : "(null)");
        return -1;
    }
    http_binding *b = malloc(sizeof *b);
    if (!b || add_binding(rt, b) != 0) {
        free(b);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *b = (http_binding){rt, *h};
    sb_http_route r = {.method = h->method,
                       .path = h->path,
                       .on_request = http_request,
                       .on_abort = http_abort,
                       .on_body = h->on_body ? http_body : NULL,
                       .content_types = h->content_types,
                       .max_body = h->max_body,
                       .errors = h->errors,
                       .arg = b};
    return sb_server_add_http(rt->server, &r, err, err_size);
}

void sb_rt_defer(struct sb_ctx *ctx, int timeout_ms)
{
    ctx->defer_ms = timeout_ms > 0 ? timeout_ms : 0;
}

/* Connections ------------------------------------------------------------- */

void sb_rt_close(struct sb_ctx *ctx, int code, const char *reason)
{
    sb_outbox_close_conn(ctx->out, ctx->conn, code, reason);
}

static void drained(sb_conn *c, void *arg)
{
    sb_rt *rt = arg;
    jobs_settle(rt);
    drain_wait *w = sb_map_del(&rt->drains, (int64_t)sb_conn_id(c));
    if (!w)
        return;
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, w->app, session_of(c), sb_conn_id(c));
    unit_open(rt, ctx.conn, NULL);
    w->fn(&ctx, w->arg);
    unit_close(rt);
    free(w);
}

void sb_rt_on_drain(struct sb_ctx *ctx, sb_drain_fn fn, void *arg)
{
    sb_rt *rt = ctx->rt;
    sb_conn *c = sb_conn_find(rt->server, ctx->conn);
    drain_wait *w = c && !sb_conn_is_http(c) ? malloc(sizeof *w) : NULL;
    if (!w)
        return;
    *w = (drain_wait){fn, arg, ctx->app};
    free(sb_map_del(&rt->drains, (int64_t)ctx->conn));
    if (rt->n_arm == rt->cap_arm) {
        size_t cap = rt->cap_arm ? rt->cap_arm * 2 : 16;
        uint64_t *p = realloc(rt->to_arm, cap * sizeof *p);
        if (!p) {
            free(w);
            return;
        }
        rt->to_arm = p;
        rt->cap_arm = cap;
    }
    if (sb_map_put(&rt->drains, (int64_t)ctx->conn, w) != 0) {
        free(w);
        return;
    }
    rt->to_arm[rt->n_arm++] = ctx->conn;
    arm(rt);
}

int sb_rt_subscribe(struct sb_ctx *ctx, const char *topic)
{
    return sb_topics_subscribe(ctx->rt->topics, topic, ctx->conn);
}

void sb_rt_unsubscribe(struct sb_ctx *ctx, const char *topic)
{
    sb_topics_unsubscribe(ctx->rt->topics, topic, ctx->conn);
}

int sb_rt_each_ws(sb_rt *rt, const char *path, sb_call_fn fn, void *arg)
{
    jobs_settle(rt);
    int n = 0;
    for (size_t i = 0; i < rt->n_ws; i++) {
        ws_binding *b = rt->ws[i];
        if (strcmp(b->h.path, path) != 0)
            continue;
        for (rt_conn *rc = b->conns, *next; rc; rc = next) {
            next = rc->next;
            struct sb_ctx ctx;
            ctx_init(rt, &ctx, b->h.app, rc->session, rc->id);
            ctx.binding = b;
            unit_open(rt, ctx.conn, &b->h.storage_error);
            fn(&ctx, arg);
            unit_close(rt);
            n++;
        }
    }
    return n;
}

void *sb_rt_ws_session(sb_rt *rt, uint64_t conn, const char *path)
{
    sb_conn *c = sb_conn_find(rt->server, conn);
    rt_conn *rc = c && !sb_conn_is_http(c) ? sb_conn_user(c) : NULL;
    return rc && rc->route && strcmp(rc->route->h.path, path) == 0 ? rc->session : NULL;
}

static void ep_filter_del(sb_rt *rt, uint64_t id)
{
    ep_filter *f = sb_map_del(&rt->ep_filters, (int64_t)id);
    if (f) {
        free(f);
        rt->n_ep_filters--;
    }
}

void sb_rt_set_filter(struct sb_ctx *ctx, sb_rt_filter_fn fn, void *arg)
{
    sb_rt *rt = ctx->rt;
    /* the outbox asks once some connection has had a filter: until then a
     * positioned frame costs nothing more */
    if (fn)
        sb_outbox_set_filter(rt->outbox, conn_filter, rt);
    sb_conn *c = sb_conn_find(rt->server, ctx->conn);
    rt_conn *rc = c && !sb_conn_is_http(c) ? sb_conn_user(c) : NULL;
    if (!c && sb_map_get(&rt->endpoints, (int64_t)ctx->conn)) {
        /* an endpoint (an Engine.IO session): kept by its ID */
        ep_filter *f = sb_map_get(&rt->ep_filters, (int64_t)ctx->conn);
        if (!fn) {
            ep_filter_del(rt, ctx->conn);
            return;
        }
        if (!f) {
            if (!(f = malloc(sizeof *f)))
                return; /* unfiltered: a duplicate may get through, never a loss */
            if (sb_map_put(&rt->ep_filters, (int64_t)ctx->conn, f) != 0) {
                free(f);
                return;
            }
            rt->n_ep_filters++;
        }
        f->fn = fn;
        f->arg = arg;
        return;
    }
    if (!rc)
        return;
    rc->filter = fn;
    rc->filter_arg = arg;
}

void sb_rt_call(sb_rt *rt, uint64_t origin, void *app, sb_call_fn fn, void *arg)
{
    jobs_settle(rt);
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, app, NULL, origin);
    unit_open(rt, origin, NULL);
    fn(&ctx, arg);
    unit_close(rt);
}

typedef struct call_job {
    sb_rt *rt;
    uint64_t origin;
    void *app;
    sb_call_fn fn;
    void *arg;
    void (*dispose)(void *arg);
} call_job;

static void call_job_run(void *arg)
{
    call_job *j = arg;
    sb_rt_call(j->rt, j->origin, j->app, j->fn, j->arg);
}

static void call_job_free(void *arg)
{
    call_job *j = arg;
    if (j->dispose)
        j->dispose(j->arg);
    free(j);
}

bool sb_rt_queues_calls(const sb_rt *rt)
{
    return jobs_on(rt);
}

void sb_rt_call_later(sb_rt *rt, uint64_t origin, void *app, sb_call_fn fn, void *arg,
                      void (*dispose)(void *arg))
{
    if (jobs_on(rt)) {
        jobs_make_room(rt, 0);
        call_job *j = malloc(sizeof *j);
        if (j) {
            *j = (call_job){rt, origin, app, fn, arg, dispose};
            if (sb_jobs_add(rt->jobs, call_job_run, j, call_job_free) == 0)
                return;
            free(j);
        }
    }
    sb_rt_call(rt, origin, app, fn, arg); /* settles the queue first */
    if (dispose)
        dispose(arg);
}

/* Timers ------------------------------------------------------------------- */

static void timer_unlink(sb_rt *rt, sb_timer *t)
{
    if (t->prev) {
        t->prev->next = t->next;
    } else {
        if (t->next)
            sb_map_put(&rt->timers, (int64_t)t->owner, t->next);
        else
            sb_map_del(&rt->timers, (int64_t)t->owner);
    }
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void timer_run(sb_timer *t);

/* A timer's call as a job: it runs after the messages that came before it
 * fired, and a cancel meanwhile (one of them answered what it waited for)
 * still stops it. */
static void timer_job(void *arg)
{
    sb_timer *t = arg;
    t->queued = false;
    if (t->cancelled) {
        free(t);
        return;
    }
    timer_run(t);
}

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_timer *t = arg;
    sb_rt *rt = t->rt;
    if (jobs_on(rt)) {
        if (t->queued)
            return; /* a repeating timer, its last call still queued */
        t->queued = true;
        if (sb_jobs_add(rt->jobs, timer_job, t, NULL) == 0)
            return;
        t->queued = false;
        jobs_settle(rt);
    }
    timer_run(t);
}

static void timer_run(sb_timer *t)
{
    sb_rt *rt = t->rt;
    sb_conn *c = sb_conn_find(rt->server, t->owner);
    struct sb_ctx ctx;
    ctx_init(rt, &ctx, NULL, session_of(c), t->owner);
    sb_timer_fn fn = t->fn;
    void *fn_arg = t->arg;
    if (!t->repeat) { /* gone before fn runs: fn may add timers for the owner */
        timer_unlink(rt, t);
        event_free(t->ev);
        free(t);
    }
    unit_open(rt, ctx.conn, NULL);
    fn(&ctx, fn_arg);
    unit_close(rt);
}

sb_timer *sb_rt_timer(sb_rt *rt, uint64_t owner, int ms, bool repeat, sb_timer_fn fn, void *arg)
{
    if (!owner || ms < 0 || !fn)
        return NULL;
    sb_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = (sb_timer){.rt = rt, .owner = owner, .fn = fn, .arg = arg, .repeat = repeat};
    t->ev = event_new(rt->base, -1, repeat ? EV_PERSIST : 0, timer_fire, t);
    sb_timer *first = sb_map_get(&rt->timers, (int64_t)owner);
    if (!t->ev || sb_map_put(&rt->timers, (int64_t)owner, t) != 0) {
        if (t->ev)
            event_free(t->ev);
        free(t);
        return NULL;
    }
    t->next = first;
    if (first)
        first->prev = t;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(t->ev, &tv);
    return t;
}

void sb_rt_timer_cancel(sb_rt *rt, sb_timer *t)
{
    if (!t)
        return;
    timer_unlink(rt, t);
    event_free(t->ev);
    t->ev = NULL;
    if (t->queued)
        t->cancelled = true; /* its job frees it */
    else
        free(t);
}

void sb_rt_cancel_owner(sb_rt *rt, uint64_t owner)
{
    sb_timer *t;
    while ((t = sb_map_get(&rt->timers, (int64_t)owner)) != NULL)
        sb_rt_timer_cancel(rt, t);
}
