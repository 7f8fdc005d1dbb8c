/*
 * therapy_app.c: the therapy protocol's composition (therapy_app.h): its
 * tables, its key, its SMS sender and its routes; the pieces its endpoint
 * files share (keyed hashes, the cookie, the Origin check, audiences,
 * storing a server action); the two authenticate hooks the generated routes
 * call; and the hourly prune of login state.
 */
#include <ctype.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "secret_file.h"
#include "bus.h"
#include "therapy_app.h"
#include "therapy_handlers.h"
#include "therapy_sms.h"

#define PRUNE_MS (10 * 60 * 1000) /* login state older than its window goes this often */

/* Keys and hashes --------------------------------------------------------- */

void therapy_mac_hex(const therapy_app *app, const char *label, const char *a, const char *b,
                     char out[SB_TOKEN_HEX_LEN + 1])
{
    uint8_t mac[32];
    unsigned int len = 0;
    /* label ":" a ("|" b): the separators keep ("ab","c") apart from ("a","bc") */
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s:%s%s%s", label, a, b ? "|" : "", b ? b : "");
    if (n < 0 || (size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1;
    HMAC(EVP_sha256(), app->key, THERAPY_KEY_LEN, (const unsigned char *)buf, (size_t)n, mac, &len);
    sb_hex(mac, 32, out);
    memset(buf, 0, sizeof buf);
}

static int load_key(therapy_app *app, const sb_config *cfg, char *err, size_t err_size)
{
    char path[1200];
    if (cfg->therapy_secret_file[0])
        snprintf(path, sizeof path, "%s", cfg->therapy_secret_file);
    else
        secret_file_beside(cfg->db_path, "therapy-secret", path, sizeof path);
    char secret[1024];
    if (secret_file_load(path, true, secret, sizeof secret, err, err_size) != 0)
        return -1;
    if (strlen(secret) < 32) {
        snprintf(err, err_size, "%s: shorter than 32 bytes", path);
        memset(secret, 0, sizeof secret);
        return -1;
    }
    /* the key is the SHA-256 of the file's line: any length in, 32 bytes out */
    unsigned int len = 0;
    HMAC(EVP_sha256(), "switchboard-therapy", 19, (const unsigned char *)secret, strlen(secret),
         app->key, &len);
    memset(secret, 0, sizeof secret);
    return 0;
}

/* Cookies, origins, times -------------------------------------------------- */

void therapy_set_cookie(struct sb_ctx *ctx, const therapy_app *app, const char *value)
{
    sb_cookie_opts o = sb_cookie_defaults(); /* HttpOnly, SameSite=Lax, a session cookie */
    o.path = THERAPY_COOKIE_PATH;
    o.secure = app->cookie_secure;
    if (!value)
        o.max_age_s = 0;
    sb_http_set_cookie(ctx->http_resp, THERAPY_COOKIE, value ? value : "", &o);
}

/* Is origin ("scheme://host[:port]") this server, as the request's Host
 * names it? */
static bool same_host(const char *origin, const char *host)
{
    const char *p = strstr(origin, "://");
    return p && host && strcmp(p + 3, host) == 0;
}

const char *therapy_origin_refused(const therapy_app *app, const char *origin, const char *host,
                                   const char *fetch_site)
{
    if (fetch_site && strcmp(fetch_site, "cross-site") == 0)
        return "cross-site request (Sec-Fetch-Site: cross-site)";
    /* Browsers send Origin with every POST and every WebSocket a page
     * makes; a client that is no browser (curl, a backend) sends none and
     * cannot be made to carry a victim's cookie, so a missing Origin is no
     * cross-site request. */
    /* a name in --cors-origins, as the runtime's CORS reads it (its
     * preflight lets that origin send credentials); "*" opens reads to
     * every site, never state changes */
    if (!origin || same_host(origin, host) ||
        sb_origin_in_list(app->cors_origins, origin) == SB_ORIGIN_LISTED)
        return NULL;
    return "Origin is not this site";
}

int therapy_check_origin(struct sb_ctx *ctx, const therapy_app *app)
{
    const sb_http_request *req = ctx->http;
    const char *why =
        therapy_origin_refused(app, sb_http_header(req, "origin"), sb_http_header(req, "host"),
                               sb_http_header(req, "sec-fetch-site"));
    if (!why)
        return 0;
    ctx->http_detail = why;
    return -THERAPY_ERROR_CSRF_FAILED;
}

/* Audiences ---------------------------------------------------------------- */

bool therapy_audience_has(const char *audience, const char *user)
{
    if (!audience)
        return true;
    size_t n = strlen(user);
    for (const char *p = audience; (p = strstr(p, user)) != NULL; p++)
        if (p > audience && p[-1] == ',' && p[n] == ',')
            return true;
    return false;
}

const char *therapy_audience(struct sb_ctx *ctx, const char *author, const sb_str *recipients,
                             size_t n)
{
    if (n == 0)
        return NULL;
    size_t cap = 2 + (author ? strlen(author) + 1 : 0);
    for (size_t i = 0; i < n; i++)
        cap += recipients[i].len + 1;
    char *s = sb_arena_alloc(ctx->arena, cap + 1);
    if (!s)
        return NULL;
    size_t len = 0;
    s[len++] = ',';
    if (author) {
        memcpy(s + len, author, strlen(author));
        len += strlen(author);
        s[len++] = ',';
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(s + len, recipients[i].ptr, recipients[i].len);
        len += recipients[i].len;
        s[len++] = ',';
    }
    s[len] = '\0';
    return s;
}

/* Server actions ------------------------------------------------------------ */

int64_t therapy_post_action(struct sb_ctx *ctx, therapy_app *app, int64_t ts_id, therapy_out *out,
                            const char *author, int64_t target, const char *audience,
                            const char *client_json)
{
    int64_t now = sb_wall_ms();
    const char *type = therapy_out_kind_name(out->kind);
    int64_t id =
        therapy_action_insert(app->store, ts_id, type, author, target, audience, now, client_json);
    if (id <= 0)
        return -1;
    char when[32];
    sb_str ts = {sb_iso8601_ms(when, now), strlen(when)};
    /* every out action starts with id and ends with timestamp */
    switch (out->kind) {
    case THERAPY_OUT_MESSAGE_ACTION:
        out->as.message_action.id = id, out->as.message_action.timestamp = ts;
        break;
    case THERAPY_OUT_DELETE_ACTION:
        out->as.delete_action.id = id, out->as.delete_action.timestamp = ts;
        break;
    case THERAPY_OUT_NOTICE_ACTION:
        out->as.notice_action.id = id, out->as.notice_action.timestamp = ts;
        break;
    case THERAPY_OUT_MESSAGE_READ_ACTION:
        out->as.message_read_action.id = id, out->as.message_read_action.timestamp = ts;
        break;
    case THERAPY_OUT_REACTION_ACTION:
        out->as.reaction_action.id = id, out->as.reaction_action.timestamp = ts;
        break;
    case THERAPY_OUT_WHITEBOARD_ACTION:
        out->as.whiteboard_action.id = id, out->as.whiteboard_action.timestamp = ts;
        break;
    case THERAPY_OUT_UPDATE_ASSESSMENTS_ACTION:
        out->as.update_assessments_action.id = id, out->as.update_assessments_action.timestamp = ts;
        break;
    case THERAPY_OUT_UPDATE_CHAT_DETAILS_ACTION:
        out->as.update_chat_details_action.id = id,
        out->as.update_chat_details_action.timestamp = ts;
        break;
    default:
        return -1;
    }
    sb_buf_reset(&app->scratch);
    therapy_out_write(&app->scratch, out);
    if (app->scratch.oom ||
        therapy_action_set_json(app->store, id, app->scratch.data, app->scratch.len) != 0)
        return -1;
    sb_counter_add(app->m_actions, 1);
    (void)ctx;
    return id;
}

/* Authentication hooks ------------------------------------------------------ */

const char *therapy_session_expired(const therapy_app *app, const therapy_auth_row *row,
                                    int64_t now)
{
    if (now - row->created_ms > app->max_ms)
        return "absolute";
    if (now - row->last_ms > app->idle_ms)
        return "idle";
    return NULL;
}

int therapy_session_find(struct sb_ctx *ctx, therapy_app *app, const char *cookie_token,
                         therapy_auth *a)
{
    if (!cookie_token || strlen(cookie_token) != SB_TOKEN_HEX_LEN)
        return -1;
    sb_token_hash(cookie_token, SB_TOKEN_HEX_LEN, a->token_hash);
    int rc = therapy_auth_get(app->store, a->token_hash, &a->row);
    if (rc < 0) {
        sb_counter_add(app->m_storage_errors, 1);
        return -THERAPY_ERROR_UNAVAILABLE;
    }
    if (rc > 0)
        return -1; /* never issued, logged out, or pruned */
    int64_t now = sb_wall_ms();
    const char *why = therapy_session_expired(app, &a->row, now);
    if (why) {
        if (sb_store_begin(app->store) == SB_STORE_OK &&
            sb_store_unit_begin(app->store) == SB_STORE_OK)
            sb_store_unit_end(app->store,
                              therapy_auth_expire(app->store, a->token_hash, now - app->idle_ms,
                                                  now - app->max_ms) == 0);
        sb_log(SB_LOG_INFO, "therapy_session_expired", "user=%s reason=%s", a->row.user, why);
        return -1;
    }
    therapy_mac_hex(app, "csrf", a->token_hash, NULL, a->csrf);
    (void)ctx;
    return 0;
}

int therapy_http_authenticate(struct sb_ctx *ctx, const sb_http_request *req)
{
    therapy_app *app = ctx->app;
    char token[SB_TOKEN_HEX_LEN + 2];
    therapy_auth *a = sb_arena_alloc(ctx->arena, sizeof *a);
    if (!a)
        return -THERAPY_ERROR_UNAVAILABLE;
    if (!sb_http_cookie(req, THERAPY_COOKIE, token, sizeof token))
        return -1;
    int rc = therapy_session_find(ctx, app, token, a);
    if (rc != 0)
        return rc;
    int64_t now = sb_wall_ms();
    /* state changes need our own page and the session's CSRF token */
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        int o = therapy_check_origin(ctx, app);
        if (o != 0) {
            sb_counter_add(app->m_csrf_refused, 1);
            return o;
        }
        const char *sent = sb_http_header(req, THERAPY_CSRF_HEADER);
        if (!sent || strlen(sent) != SB_TOKEN_HEX_LEN ||
            !sb_token_equal(sent, a->csrf, SB_TOKEN_HEX_LEN)) {
            ctx->http_detail = sent ? "wrong X-CSRF-Token header" : "missing X-CSRF-Token header";
            sb_counter_add(app->m_csrf_refused, 1);
            return -THERAPY_ERROR_CSRF_FAILED;
        }
    }
    /* every authenticated call is activity (the poll included: the chat is
     * open); written at most once a minute, in the turn's transaction, and
     * more often when --session-idle is short: a quarter of it at most, else
     * a session used every few seconds would end as idle */
    int64_t gap = app->idle_ms / 4 < THERAPY_TOUCH_GAP_MS ? app->idle_ms / 4 : THERAPY_TOUCH_GAP_MS;
    /* in a unit: a touch that fails (on PostgreSQL, waiting for the row
     * another node's turn holds) must not lose the turn's other writes */
    if (now - a->row.last_ms >= gap && sb_store_begin(app->store) == SB_STORE_OK &&
        sb_store_unit_begin(app->store) == SB_STORE_OK)
        sb_store_unit_end(app->store, therapy_auth_touch(app->store, a->token_hash, now) == 0);
    ctx->session = a;
    return 0;
}

int therapy_http_authenticate_operator(struct sb_ctx *ctx, const sb_http_request *req)
{
    therapy_app *app = ctx->app;
    core_apikey_status st = core_apikey_check(app->core, req, NULL);
    if (st == CORE_APIKEY_STORE_ERROR)
        return -THERAPY_ERROR_UNAVAILABLE;
    return st == CORE_APIKEY_OK ? 0 : -1;
}

/* Start and stop -------------------------------------------------------------- */

static void prune(struct sb_ctx *ctx, void *arg)
{
    therapy_app *app = arg;
    int64_t now = sb_wall_ms();
    /* in a unit: the deletes lock old rows in no set order, and on
     * PostgreSQL may meet a login holding one (a deadlock, one of them
     * failed): then only the prune is rolled back, and runs again later */
    if (sb_store_begin(app->store) != SB_STORE_OK || sb_store_unit_begin(app->store) != SB_STORE_OK)
        return;
    bool ok = therapy_event_prune(app->store, now - app->window_ms) == 0 &&
              therapy_auth_prune(app->store, now - app->idle_ms, now - app->max_ms) == 0;
    if (!ok)
        sb_log(SB_LOG_WARN, "therapy_prune", "error=\"%s\"", sb_store_last_error(app->store));
    sb_store_unit_end(app->store, ok);
    (void)ctx;
}

static void storage_failed(sb_http_response *resp, void *arg)
{
    therapy_app *app = arg;
    therapy_therapy_error_response err;
    memset(&err, 0, sizeof err);
    sb_counter_add(app->m_storage_errors, 1);
    sb_http_answer_error(resp, therapy_http_errors, THERAPY_ERROR_UNAVAILABLE, &err, "");
}

/* Several nodes (runtime/bus.h) ----------------------------------------------- */

/* Noted during the outbox's delivery (nothing may be queued then), woken
 * here in a unit of their own. */
static void wake_due(struct sb_ctx *ctx, void *arg)
{
    therapy_app *app = arg;
    size_t n = app->n_wake;
    app->n_wake = 0;
    for (size_t i = 0; i < n; i++)
        therapy_wake_waiters(ctx, app, app->wake_ts[i]);
}

/* A wake topic's frame (therapy_wake_topic): another node stored actions in
 * the session, committed before it was published. */
static int wake_send(void *obj, const char *data, size_t len, bool binary)
{
    (void)binary;
    struct therapy_wake_ep *ep = obj;
    therapy_app *app = ep->app;
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, data, len);
    buf[len] = '\0';
    char *end;
    long long ts = strtoll(buf, &end, 10);
    if (*end || ts <= 0)
        return 0;
    for (size_t i = 0; i < app->n_wake; i++)
        if (app->wake_ts[i] == ts)
            return 0;
    if (app->n_wake == app->cap_wake) {
        size_t cap = app->cap_wake ? app->cap_wake * 2 : 16;
        int64_t *p = realloc(app->wake_ts, cap * sizeof *p);
        if (!p)
            return 0; /* they are answered at their timeout, which reads again */
        app->wake_ts = p;
        app->cap_wake = cap;
    }
    if (app->n_wake == 0)
        sb_rt_timer(app->rt, ep->id, 0, false, wake_due, app);
    app->wake_ts[app->n_wake++] = ts;
    return 0;
}

static void wake_close(void *obj, int code, const char *reason)
{
    (void)obj;
    (void)code;
    (void)reason;
}

static const sb_endpoint_ops wake_ops = {wake_send, wake_close, NULL, NULL};

static void gap_unit(struct sb_ctx *ctx, void *arg)
{
    therapy_app *app = arg;
    /* collected first: an answered waiter leaves the map being walked */
    int64_t *ts = sb_arena_alloc(ctx->arena, (app->waiting.used + 1) * sizeof *ts);
    size_t n = 0;
    for (size_t i = 0; ts && i < app->waiting.cap; i++)
        if (app->waiting.slots[i].key)
            ts[n++] = app->waiting.slots[i].key;
    for (size_t i = 0; i < n; i++)
        therapy_wake_waiters(ctx, app, ts[i]);
}

static void close_stream(struct sb_ctx *ctx, void *arg)
{
    (void)arg;
    sb_rt_close(ctx, SB_CLOSE_SERVICE_RESTART, "catch up");
}

/* A bus gap: actions stored on other nodes may not have woken the long
 * polls held here; each reads again from its last_action_id. Streams are
 * closed with 1012: they reconnect with their last_action_id. */
static void on_gap(void *arg)
{
    therapy_app *app = arg;
    sb_rt_call(app->rt, app->owner, app, gap_unit, app);
    int n = sb_rt_each_ws(app->rt, THERAPY_STREAM_PATH, close_stream, NULL);
    sb_log(SB_LOG_INFO, "therapy_gap", "waiting_sessions=%zu streams_closed=%d", app->waiting.used,
           n);
}

static int bus_start(therapy_app *app)
{
    app->wake_ep = (struct therapy_wake_ep){&wake_ops, app, sb_rt_new_id(app->rt)};
    if (sb_rt_endpoint_add(app->rt, app->wake_ep.id, &app->wake_ep) != 0) {
        app->wake_ep.id = 0;
        return -1;
    }
    sb_bus_on_gap(sb_rt_bus(app->rt), on_gap, app);
    return 0;
}

therapy_app *therapy_app_start(struct event_base *base, sb_rt *rt, sb_store *store,
                               const sb_config *cfg, char *err, size_t err_size)
{
    if (therapy_store_migrate(store, err, err_size) != 0 ||
        core_store_migrate(store, err, err_size) != 0)
        return NULL;
    therapy_app *app = calloc(1, sizeof *app);
    if (!app) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    app->rt = rt;
    app->store = store;
    app->core = core_store_new(store);
    app->otp_ttl_ms = (int64_t)cfg->otp_ttl_s * 1000;
    app->resend_ms = (int64_t)cfg->otp_resend_s * 1000;
    app->window_ms = (int64_t)cfg->otp_window_s * 1000;
    app->max_codes = cfg->otp_max_codes;
    app->idle_ms = (int64_t)cfg->session_idle_s * 1000;
    app->max_ms = (int64_t)cfg->session_max_s * 1000;
    app->otp_ip_limit = cfg->otp_ip_limit;
    app->otp_global_limit = cfg->otp_global_limit;
    app->verify_ip_limit = cfg->verify_ip_limit;
    app->cookie_secure = cfg->cookie_secure;
    snprintf(app->cors_origins, sizeof app->cors_origins, "%s", cfg->cors_origins);
    sb_buf_init(&app->scratch);
    sb_map_init(&app->waiters);
    sb_map_init(&app->waiting);
    if (!app->core || load_key(app, cfg, err, err_size) != 0) {
        therapy_app_stop(app);
        return NULL;
    }
    /* the SMS sender: as configured, or on a demo start a file beside the
     * database, so that a newcomer reads the code there */
    char spec[1200];
    snprintf(spec, sizeof spec, "%s", cfg->sms);
    if (!spec[0] && cfg->demo) {
        char path[1100];
        secret_file_beside(cfg->db_path, "sms.jsonl", path, sizeof path);
        snprintf(spec, sizeof spec, "file:%s", path);
    }
    app->sms = therapy_sms_sender_new(base, cfg, spec, NULL, err, err_size);
    if (!app->sms) {
        therapy_app_stop(app);
        return NULL;
    }
    if (!spec[0])
        sb_log(SB_LOG_WARN, "therapy",
               "msg=\"no SMS sender (--sms): login codes are not sent anywhere\"");
    else
        sb_log(SB_LOG_INFO, "therapy", "sms=%s", therapy_sms_sender_kind(app->sms));

    app->m_logins =
        sb_counter_get("switchboard_therapy_logins_total", "login requests answered", NULL);
    app->m_codes_sent =
        sb_counter_get("switchboard_therapy_codes_sent_total", "one-time codes sent", NULL);
    app->m_codes_refused = sb_counter_get("switchboard_therapy_codes_refused_total",
                                          "login requests refused by a rate limit", NULL);
    app->m_verified = sb_counter_get("switchboard_therapy_verified_total", "codes accepted", NULL);
    app->m_verify_failed =
        sb_counter_get("switchboard_therapy_verify_failed_total", "codes refused", NULL);
    app->m_csrf_refused = sb_counter_get("switchboard_therapy_csrf_refused_total",
                                         "requests refused as cross-site", NULL);
    app->m_actions = sb_counter_get("switchboard_therapy_actions_total", "actions stored", NULL);
    app->m_polls = sb_counter_get("switchboard_therapy_polls_total", "getActions answered", NULL);
    app->m_long_polls =
        sb_counter_get("switchboard_therapy_long_polls_total", "getActions held open", NULL);
    app->m_storage_errors =
        sb_counter_get("switchboard_therapy_storage_errors_total", "database failures", NULL);

    sb_failure storage = {.http = storage_failed, .arg = app};
    if (therapy_routes_register(rt, app, &storage, err, err_size) != 0 ||
        therapy_stream_register(app, &storage, err, err_size) != 0) {
        therapy_app_stop(app);
        return NULL;
    }
    app->owner = sb_rt_new_id(rt);
    sb_rt_timer(rt, app->owner, PRUNE_MS, true, prune, app);
    if (sb_rt_bus(rt) && bus_start(app) != 0) {
        therapy_app_stop(app);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    return app;
}

void therapy_app_stop(therapy_app *app)
{
    if (!app)
        return;
    if (app->wake_ep.id)
        sb_rt_endpoint_remove(app->rt, app->wake_ep.id);
    free(app->wake_ts);
    for (size_t i = 0; i < app->waiters.cap; i++)
        if (app->waiters.slots[i].key)
            free(app->waiters.slots[i].value);
    sb_map_free(&app->waiters);
    sb_map_free(&app->waiting);
    therapy_sms_sender_free(app->sms);
    core_store_free(app->core);
    sb_buf_free(&app->scratch);
    memset(app->key, 0, sizeof app->key);
    free(app);
}
