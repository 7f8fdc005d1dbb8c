/*
 * realtime_app.c: the realtime protocol's start and stop: its tables, its
 * JWT key, the Socket.IO endpoint at /realtime, the operator API, the proxy,
 * the metrics.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/stat.h>
#include <time.h>

#include "apikey.h"
#include "bus.h"
#include "ctx.h"
#include "log.h"
#include "realtime_app.h"
#include "realtime_check.h"
#include "realtime_emitter.h"
#include "realtime_handlers.h"
#include "realtime_proxy.h"
#include "realtime_recovery.h"
#include "realtime_secret.h"
#include "secret_file.h"
#include "realtime_store.h"
#include "token.h"

/* The operator API's answer when the turn's commit failed: the schema's
 * UNAVAILABLE, like every other error answer of it. */
static void storage_failed(sb_http_response *resp, void *arg)
{
    (void)arg;
    realtime_realtime_http_error err;
    memset(&err, 0, sizeof err);
    sb_http_answer_error(resp, realtime_http_errors, REALTIME_ERROR_UNAVAILABLE, &err, "");
}

static void sweep(struct sb_ctx *ctx, void *arg)
{
    (void)ctx;
    realtime_recovery_sweep(arg);
    realtime_prune(arg);
}

static void expiry(struct sb_ctx *ctx, void *arg)
{
    realtime_expiry_sweep(ctx, arg);
}

static sb_jwt_config *jwt_config(const sb_config *cfg, char *err, size_t err_size)
{
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    char secret[REALTIME_SECRET_MAX];
    if (strcmp(cfg->jwt_alg, "HS256") == 0) {
        o.alg = SB_JWT_HS256;
        if (realtime_secret_load(cfg, cfg->demo, secret, sizeof secret, err, err_size) != 0)
            return NULL;
        o.secret = secret;
        o.secret_len = strlen(secret);
    } else if (strcmp(cfg->jwt_alg, "RS256") == 0 || strcmp(cfg->jwt_alg, "ES256") == 0) {
        o.alg = cfg->jwt_alg[0] == 'R' ? SB_JWT_RS256 : SB_JWT_ES256;
        if (!cfg->jwt_public_key[0]) {
            snprintf(err, err_size, "--jwt-alg %s needs --jwt-public-key", cfg->jwt_alg);
            return NULL;
        }
        o.public_key_file = cfg->jwt_public_key;
    } else {
        snprintf(err, err_size, "--jwt-alg: %s: expected HS256, RS256 or ES256", cfg->jwt_alg);
        return NULL;
    }
    o.claim_user = cfg->jwt_claim_user[0] ? cfg->jwt_claim_user : NULL;
    o.claim_company = cfg->jwt_claim_company[0] ? cfg->jwt_claim_company : NULL;
    o.claim_session = cfg->jwt_claim_session[0] ? cfg->jwt_claim_session : NULL;
    o.claim_artifacts = cfg->jwt_claim_artifacts[0] ? cfg->jwt_claim_artifacts : NULL;
    o.issuer = cfg->jwt_issuer[0] ? cfg->jwt_issuer : NULL;
    o.audience = cfg->jwt_audience[0] ? cfg->jwt_audience : NULL;
    sb_jwt_error jerr;
    sb_jwt_config *c = sb_jwt_config_new(&o, &jerr);
    memset(secret, 0, sizeof secret);
    if (!c)
        snprintf(err, err_size, "JWT key: %s", jerr.msg);
    return c;
}

/* A demo start: an operator API key named "demo" (made once, shown once, a
 * copy beside the database) and how to get a token for the test page. */
static void demo(realtime_app *app, const sb_config *cfg)
{
    /* Several nodes starting at once: the look-up runs under the seeding
     * lock, so one makes the key and the others, waiting, find it. Every
     * way out closes the transaction (a start-up must not go on with one
     * open: the next module's migration would refuse). */
    core_apikey_row row;
    if (sb_store_begin(app->store) != SB_STORE_OK ||
        core_seed_lock(app->store, CORE_SEED_REALTIME) != 0) {
        sb_store_rollback(app->store);
        return;
    }
    int found = core_apikey_by_name(app->core, "demo", &row);
    if (found != 0) {
        sb_store_rollback(app->store); /* made on an earlier start (or unreadable) */
        return;
    }
    char key[CORE_APIKEY_LEN + 1];
    int64_t id;
    if (core_apikey_add(app->core, "demo", (int64_t)time(NULL), key, &id) != CORE_APIKEY_ADDED) {
        sb_store_rollback(app->store);
        return;
    }
    /* the copy before the commit (renamed into place whole): a node that
     * waited for the lock finds it with the key; gone if the commit fails */
    char path[1100];
    secret_file_beside(cfg->db_path, "demo-realtime.txt", path, sizeof path);
    char line[CORE_APIKEY_LEN + 64], ferr[256];
    snprintf(line, sizeof line, "operator API key (demo): %s\n", key);
    bool copied = secret_file_write(path, line, strlen(line), true, ferr, sizeof ferr) == 0;
    memset(line, 0, sizeof line);
    if (!copied)
        sb_log(SB_LOG_WARN, "demo", "msg=\"could not write the realtime demo key's copy\"");
    if (sb_store_commit(app->store) != SB_STORE_OK) {
        if (copied)
            unlink(path);
        memset(key, 0, sizeof key);
        return;
    }
    printf("Realtime (Socket.IO, path /realtime; docs/protocols/realtime.md):\n"
           "  test page:  http://%s:%d/realtime/test-client.html\n"
           "  a token:    build/switchboard realtime token --user demo-user --company demo-company "
           "--session demo-session --artifacts '*' --permissions processData\n"
           "  operator API key 'demo' (shown only now; a copy is in %s):\n    %s\n"
           "  push:       build/switchboard realtime update --company demo-company --action "
           "statusChange --data '{\"status\":\"completed\"}' --url http://%s:%d --key KEY\n",
           cfg->bind, cfg->port, path, key, cfg->bind, cfg->port);
    fflush(stdout);
    memset(key, 0, sizeof key);
}

/* A bus gap (runtime/bus.h): UPDATEs posted through other nodes may have
 * missed this node's sockets. Each Engine.IO session is closed with 1012
 * (not a goodbye: its recovery record is kept), the client reconnects and
 * gets what it missed from the database by its offset. */
static void gap_unit(struct sb_ctx *ctx, void *arg)
{
    realtime_app *app = arg;
    realtime_recovery_catch_up(app);
    int n = 0;
    for (rt_socket *st = app->sockets; st; st = st->next, n++)
        sb_outbox_close_conn(ctx->out, st->session, SB_CLOSE_SERVICE_RESTART, "catch up");
    sb_log(SB_LOG_INFO, "realtime_gap", "closed=%d", n);
}

static void on_gap(void *arg)
{
    realtime_app *app = arg;
    sb_rt_call(app->rt, app->owner, app, gap_unit, app);
}

realtime_app *realtime_app_start(struct event_base *base, sb_rt *rt, sb_store *store,
                                 const sb_config *cfg, char *err, size_t err_size)
{
    if (realtime_store_migrate(store, err, err_size) != 0 ||
        core_store_migrate(store, err, err_size) != 0)
        return NULL;
    /* this process's name on its recovery records: a restart is another
     * node, whose heartbeat does not keep the killed one's records alive */
    char node[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(node) != 0) {
        snprintf(err, err_size, "no randomness for the node's name");
        return NULL;
    }
    realtime_app *app = calloc(1, sizeof *app);
    if (!app) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    app->rt = rt;
    app->store = store;
    app->core = core_store_new(store);
    app->recovery_ms = cfg->realtime_recovery_s * 1000;
    app->max_request_rate = cfg->max_request_rate;
    app->max_handshake_rate = cfg->max_handshake_rate;
    app->max_user_connections = cfg->max_user_connections;
    app->keep_tokens = cfg->realtime_upstream[0] || cfg->realtime_session_check[0];
    app->committed_offset = realtime_update_newest(store); /* every stored one has committed */
    app->owner = sb_rt_new_id(rt);
    sb_buf_init(&app->scratch);
    snprintf(app->node, sizeof app->node, "%.32s", node);
    char jerr[256];
    app->jwt = jwt_config(cfg, jerr, sizeof jerr);
    if (!app->jwt)
        sb_log(SB_LOG_WARN, "realtime",
               "msg=\"no JWT key: every connection is refused\" "
               "reason=\"%s\"",
               jerr);
    app->m_connects = sb_counter_get("switchboard_realtime_connections_total",
                                     "Socket.IO connections accepted at /realtime", NULL);
    app->m_refused = sb_counter_get("switchboard_realtime_refused_total",
                                    "Socket.IO connections refused (CONNECT_ERROR)", NULL);
    app->m_requests =
        sb_counter_get("switchboard_realtime_requests_total", "REQUESTs received", NULL);
    app->m_errors = sb_counter_get("switchboard_realtime_errors_total", "ERRORs sent", NULL);
    app->m_updates = sb_counter_get("switchboard_realtime_updates_total",
                                    "UPDATEs accepted by the operator API", NULL);
    app->m_deliveries = sb_counter_get("switchboard_realtime_deliveries_total",
                                       "UPDATEs handed to a connection", NULL);
    app->m_recovered = sb_counter_get("switchboard_realtime_recovered_total",
                                      "Connections recovered with their missed UPDATEs", NULL);
    app->m_limited_requests =
        sb_counter_get("switchboard_realtime_limited_total",
                       "REQUESTs and handshakes refused by a rate limit", "limit=\"requests\"");
    app->m_limited_handshakes =
        sb_counter_get("switchboard_realtime_limited_total",
                       "REQUESTs and handshakes refused by a rate limit", "limit=\"handshakes\"");
    app->m_expired = sb_counter_get("switchboard_realtime_expired_total",
                                    "Connections ended because their token expired", NULL);
    app->m_sockets =
        sb_gauge_new("switchboard_realtime_sockets", "Socket.IO connections open", NULL);
    app->proxy =
        realtime_proxy_new(base, app, cfg->realtime_upstream, cfg->realtime_upstream_timeout_ms,
                           cfg->realtime_upstream_inflight);
    if (cfg->demo && app->core)
        demo(app, cfg);
    app->check = realtime_check_new(base, app, cfg->realtime_session_check,
                                    cfg->realtime_upstream_timeout_ms);
    sb_sio_config s = {.namespaces = &realtime_namespace, .n_namespaces = 1, .app = app};
    s.eio.path = REALTIME_PATH;
    s.eio.channel = "realtime";
    s.eio.max_queue = cfg->max_queue_bytes;
    s.eio.sid_prefix = cfg->node_id; /* "": none */
    app->sio = app->core && app->proxy ? sb_sio_new(rt, &s, err, err_size) : NULL;
    sb_failure storage = {.http = storage_failed, .arg = app};
    if (!app->sio || realtime_routes_register(rt, app, &storage, err, err_size) != 0 ||
        (sb_rt_bus(rt) && !(app->emitter = realtime_emitter_start(app, err, err_size))) ||
        (app->recovery_ms && !sb_rt_timer(rt, app->owner, RT_SWEEP_MS, true, sweep, app)) ||
        !sb_rt_timer(rt, app->owner, 1000, true, expiry, app)) {
        if (!err[0])
            snprintf(err, err_size, "out of memory");
        realtime_app_stop(app);
        return NULL;
    }
    if (sb_rt_bus(rt))
        sb_bus_on_gap(sb_rt_bus(rt), on_gap, app);
    return app;
}

void realtime_app_stop(realtime_app *app)
{
    if (!app)
        return;
    sb_sio_free(app->sio); /* every connection's on_disconnect */
    realtime_proxy_free(app->proxy);
    realtime_check_free(app->check);
    realtime_emitter_free(app->emitter);
    sb_rt_cancel_owner(app->rt, app->owner);
    sb_jwt_config_free(app->jwt);
    core_store_free(app->core);
    sb_buf_free(&app->scratch);
    free(app);
}
