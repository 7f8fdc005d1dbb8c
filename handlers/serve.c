/*
 * serve.c: `switchboard serve`, the composition of the process: one
 * libevent base; storage, the transport and each protocol on it; signals.
 *
 * Order matters on the way down: the transport goes first (lws must be
 * destroyed before the event base, and its last close callbacks still reach
 * the protocols), then the protocols, storage, and the base.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "bus.h"
#include "chat_app.h"
#include "cli.h"
#include "conformance.h"
#include "dashboard_app.h"
#include "realtime_app.h"
#include "config.h"
#include "ctx.h"
#include "rt.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "core.h"
#include "store.h"
#include "therapy_app.h"
#include "web.h"

#define SHUTDOWN_GRACE_MS 2000
#define STARTUP_BUSY_MS 30000

typedef struct app {
    struct event_base *base;
    sb_server *server;
    sb_store *store;
    sb_rt *rt;
    time_t started;
} app;

static void write_http_error(sb_buf *b, const char *message)
{
    core_http_error e = {.error = {message, strlen(message)}};
    if (e.error.len > 256)
        e.error.len = 256;
    core_http_error_write(b, &e);
}

static int healthz(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)req;
    app *a = ctx->app;
    core_health h = {.status = CORE_HEALTH_STATUS_OK,
                     .version = SB_STR_LIT(SB_VERSION),
                     .connections = (int64_t)sb_server_connections(a->server),
                     .uptime_s = (int64_t)(time(NULL) - a->started)};
    /* ready means the database answers and takes writes, not just that the
     * loop runs: a server whose every commit fails is not healthy */
    const char *reason = NULL;
    if (sb_store_ping(a->store) != SB_STORE_OK) {
        /* PostgreSQL says why ("postgres unreachable: ...") */
        if (sb_store_health(a->store, &reason) || !reason)
            reason = "database unavailable";
    } else if (!sb_store_health(a->store, &reason) && !reason)
        reason = "write failed";
    /* several nodes: while this one's bus is down, its clients miss what
     * the others deliver (they catch up once it is back: bus.h) */
    if (!reason && sb_rt_bus(a->rt))
        sb_bus_healthy(sb_rt_bus(a->rt), &reason);
    if (reason) {
        resp->status = 503;
        h.status = CORE_HEALTH_STATUS_DEGRADED;
        h.reason = (sb_str){reason, strlen(reason) > 256 ? 256 : strlen(reason)};
        h.has.reason = SB_SET;
    }
    core_health_write(&resp->body, &h);
    return SB_HTTP_ANSWERED;
}

static int metrics(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)ctx;
    (void)req;
    resp->content_type = "text/plain; version=0.0.4";
    sb_metrics_render(&resp->body);
    return SB_HTTP_ANSWERED;
}

static void shutdown_done(void *arg)
{
    app *a = arg;
    sb_rt_flush(a->rt); /* let the last turn's writes land, and their answers go */
    event_base_loopbreak(a->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    app *a = arg;
    sb_log(SB_LOG_INFO, "shutdown", "signal=%d connections=%zu", (int)sig,
           sb_server_connections(a->server));
    sb_server_shutdown(a->server, SHUTDOWN_GRACE_MS, shutdown_done, a);
}

/* After each start-up step: none may leave a transaction open (the next
 * module's migration would refuse with a message that hides the cause).
 * One that did is a bug: rolled back, and named with the store's last
 * error. */
static void startup_step_done(sb_store *store, const char *step)
{
    if (!sb_store_in_tx(store))
        return;
    char v[300];
    sb_log(SB_LOG_ERROR, "startup", "step=%s msg=\"left a transaction open: rolled back\" err=%s",
           step, sb_log_kv_str(v, sizeof v, sb_store_last_error(store)));
    sb_store_rollback(store);
}

/* A demo seeding that failed: loud, with the store's reason. */
static void demo_failed(sb_store *store, const char *what)
{
    char v[300];
    sb_log(SB_LOG_ERROR, "demo", "msg=\"could not create the %s demo data\" err=%s", what,
           sb_log_kv_str(v, sizeof v, sb_store_last_error(store)));
}

static bool port_given(int argc, char **argv)
{
    if (getenv("SB_PORT") && *getenv("SB_PORT"))
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--port") == 0 || strncmp(argv[i], "--port=", 7) == 0)
            return true;
    return false;
}

int cli_serve(int argc, char **argv)
{
    sb_config cfg;
    char err[512];
    sb_config_defaults(&cfg);
    int rc = sb_config_parse(&cfg, argc, argv, err, sizeof err);
    if (rc > 0)
        return 0; /* --help */
    if (rc < 0) {
        fprintf(stderr, "switchboard serve: %s\n", err);
        return 2;
    }
    if (cfg.redis_url[0] && sb_bus_check_url(cfg.redis_url, err, sizeof err) != 0) {
        fprintf(stderr, "switchboard serve: --redis: %s\n", err);
        return 2;
    }
    if (cfg.node_id[0] && sb_bus_check_node_id(cfg.node_id, err, sizeof err) != 0) {
        fprintf(stderr, "switchboard serve: --node-id: %s\n", err);
        return 2;
    }
    sb_log_set_level((sb_log_level)cfg.log_level);
    if (cfg.socketio_conformance && !port_given(argc, argv))
        cfg.port = 3000; /* where the official suites look */
    signal(SIGPIPE, SIG_IGN);

    app a = {.started = time(NULL)};
    a.base = event_base_new();
    /* three priorities: lws and timers in the middle (the default), the
     * end of the turn (commit, deliver, release: rt.c) last, after every
     * socket event of a turn */
    if (!a.base || event_base_priority_init(a.base, 3) != 0) {
        fprintf(stderr, "switchboard serve: cannot create the event loop\n");
        return 1;
    }
    sb_config_log(&cfg);
    if (cfg.db_url[0] && cfg.sync_full)
        sb_log(SB_LOG_WARN, "config",
               "msg=\"--sync is SQLite's: on PostgreSQL every commit is as durable as the "
               "server's synchronous_commit makes it\"");
    a.store = sb_store_open(sb_config_db(&cfg), cfg.sync_full, err, sizeof err);
    if (!a.store) {
        sb_log(SB_LOG_ERROR, "storage", "error=\"%s\"", err);
        event_base_free(a.base);
        return 1;
    }
    if (cfg.max_db_bytes)
        sb_store_set_max_bytes(a.store, cfg.max_db_bytes);
    /* several nodes starting at once: one migrates or seeds while the
     * others wait for its lock, longer than a turn would (restored below) */
    sb_store_set_busy_wait(a.store, STARTUP_BUSY_MS);
    a.server = sb_server_new(a.base, &cfg);
    a.rt = a.server ? sb_rt_new(a.base, a.server, a.store, &cfg) : NULL;
    if (!a.rt) {
        sb_log(SB_LOG_ERROR, "runtime", "error=\"out of memory\"");
        return 1;
    }
    sb_server_set_error_writer(a.server, write_http_error);
    chat_app *chat = chat_app_start(a.rt, cfg.max_message_bytes, err, sizeof err);
    if (!chat) {
        sb_log(SB_LOG_ERROR, "chat", "error=\"%s\"", err);
        return 1;
    }
    startup_step_done(a.store, "chat");
    realtime_app *realtime = realtime_app_start(a.base, a.rt, a.store, &cfg, err, sizeof err);
    if (!realtime) {
        sb_log(SB_LOG_ERROR, "realtime", "error=\"%s\"", err);
        return 1;
    }
    startup_step_done(a.store, "realtime");
    therapy_app *therapy = therapy_app_start(a.base, a.rt, a.store, &cfg, err, sizeof err);
    if (!therapy) {
        sb_log(SB_LOG_ERROR, "therapy", "error=\"%s\"", err);
        return 1;
    }
    startup_step_done(a.store, "therapy");
    dashboard_app *dashboard = dashboard_app_start(a.rt, a.store, &cfg, err, sizeof err);
    if (!dashboard) {
        sb_log(SB_LOG_ERROR, "dashboard", "error=\"%s\"", err);
        return 1;
    }
    startup_step_done(a.store, "dashboard");
    conformance *conf = NULL;
    if (cfg.socketio_conformance && !(conf = conformance_start(a.rt, err, sizeof err))) {
        sb_log(SB_LOG_ERROR, "conformance", "error=\"%s\"", err);
        return 1;
    }
    if (cfg.demo) {
        /* each under its own seeding lock: of several nodes starting at
         * once, one seeds and the others find its rows */
        if (admin_seed_demo(a.store, cfg.db_path) != 0)
            demo_failed(a.store, "chat");
        startup_step_done(a.store, "chat demo");
        if (therapy_seed_demo(a.store, cfg.db_path) != 0)
            demo_failed(a.store, "therapy");
        startup_step_done(a.store, "therapy demo");
        if (dashboard_seed_demo(a.store, cfg.db_path) != 0)
            demo_failed(a.store, "dashboard");
        startup_step_done(a.store, "dashboard demo");
    }

    sb_store_set_busy_wait(a.store, 0);

    sb_http_handler health = {.method = "GET",
                              .path = "/healthz",
                              .channel = "core",
                              .handle = healthz,
                              .immediate = true,
                              .app = &a};
    sb_http_handler prom = {.method = "GET",
                            .path = "/metrics",
                            .channel = "core",
                            .handle = metrics,
                            .immediate = true,
                            .app = &a};
    if (sb_rt_add_http(a.rt, &health, err, sizeof err) != 0 ||
        web_add_routes(a.rt, err, sizeof err) != 0 ||
        sb_rt_add_http(a.rt, &prom, err, sizeof err) != 0) {
        sb_log(SB_LOG_ERROR, "routes", "error=\"%s\"", err);
        return 1;
    }

    /* signals first: a client (or a test) may send SIGTERM as soon as it
     * sees the listen line */
    struct event *sigint = evsignal_new(a.base, SIGINT, on_signal, &a);
    struct event *sigterm = evsignal_new(a.base, SIGTERM, on_signal, &a);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);

    int port = sb_server_start(a.server);
    if (port < 0) {
        sb_log(SB_LOG_ERROR, "listen", "bind=%s port=%d error=\"cannot listen\"", cfg.bind,
               cfg.port);
        return 1;
    }
    sb_log(SB_LOG_INFO, "listen", "bind=%s port=%d chat=ws://%s:%d%s", cfg.bind, port, cfg.bind,
           port, CHAT_PATH);

    event_base_dispatch(a.base);

    /* Shutting down: a second SIGTERM (a supervisor's, an impatient user's)
     * must not kill the process half-way through its teardown. Freeing the
     * signal events gives the default action back, so block them first. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);

    sb_rt_end_jobs(a.rt);     /* no loop now: what is left runs at once */
    sb_server_free(a.server); /* before the base; closes what is left */
    /* the last writes land (the store's callbacks still use the chat's
     * caches); nobody is left to deliver to */
    sb_store_commit(a.store);
    conformance_stop(conf);
    realtime_app_stop(realtime);
    therapy_app_stop(therapy);
    dashboard_app_stop(dashboard);
    sb_rt_free(a.rt);
    chat_app_stop(chat);
    sb_store_close(a.store);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(a.base);
    sb_metrics_reset_all_for_tests(); /* frees the registry: valgrind stays quiet */
    sb_log(SB_LOG_INFO, "stopped", "clean=1");
    return 0;
}
