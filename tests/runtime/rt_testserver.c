/*
 * rt_testserver.c: the runtime (runtime/rt.h) composed like serve.c does it,
 * with a small protocol of its own that reaches every runtime feature, for
 * the tests/runtime suite (node:test). It links sb_net and sb_runtime only: what it
 * proves holds for any protocol, not just the chat.
 *
 *   rt_testserver --port 0 --db FILE|postgres://... [--commit-window USEC] [--cors-origins L]
 *                 [--max-http-body N] [--bad-route | --dup-route]
 *
 * prints "port=NNNN" on stdout once it listens. SIGTERM shuts it down.
 *
 * WebSocket /ws/t?topic=a&topic=b (text commands, binary echoed):
 *   pub T TEXT   "msg T TEXT" to topic T; the sender hears "pubbed T N"
 *                (N: subscribers when it was queued)
 *   echo TEXT    "echo TEXT"
 *   write N      row N written in the turn's transaction; "stored N"
 *   wake TEXT    every held long poll answered {"woke":"TEXT"}; "woke N"
 *   sub T / unsub T      "subbed T" / "unsubbed T"
 *   timer MS     a one-shot timer owned by the connection: "tick ID"
 *   close        closed with 1000 "bye"
 * The first frame is "hello ID" (the connection's ID).
 *
 * HTTP: see the routes table in main().
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "rt.h"
#include "server.h"
#include "sql.h"
#include "store.h"
#include "topics.h"

#define MAX_POLLS 256

typedef struct app {
    struct event_base *base;
    sb_server *server;
    sb_store *store;
    sb_rt *rt;
    /* a second connection, which sees committed rows only: SQLite's or
     * PostgreSQL's own client (not a second store: one per process) */
    sqlite3 *reader;
    PGconn *pg_reader;
    uint64_t polls[MAX_POLLS];
    size_t n_polls;
    long sessions, aborted, ticks, timeouts;
} app;

typedef struct session {
    uint64_t id;
    char tag[32];
} session;

static app A;

static const char *const migration_steps[] = {
    "CREATE TABLE t_rows(k TEXT PRIMARY KEY, body TEXT NOT NULL)",
};

/* Writing ------------------------------------------------------------------ */

static void put_str(sb_buf *b, const char *s)
{
    sb_write_string(b, (sb_str){s, s ? strlen(s) : 0});
}

static void put_fmt(sb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(sb_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Row k in the turn's transaction (a savepoint of its own). */
static int store_row(struct sb_ctx *ctx, const char *k, size_t klen, const char *body, size_t blen)
{
    if (sb_store_unit_begin(ctx->store) != SB_STORE_OK)
        return -1;
    sb_stmt *st = sb_sql(ctx->store, "INSERT INTO t_rows(k, body) VALUES(?1, ?2) "
                                     "ON CONFLICT (k) DO UPDATE SET body = excluded.body");
    bool ok = false;
    if (st) {
        sb_sql_bind_text(st, 1, k, klen);
        sb_sql_bind_text(st, 2, body, blen);
        ok = sb_sql_step(st) == SB_SQL_DONE;
        sb_sql_reset(st);
    }
    sb_store_unit_end(ctx->store, ok);
    return ok ? 0 : -1;
}

/* Is row k there for a reader that sees committed data only? */
static int committed(const char *k)
{
    if (A.pg_reader) {
        const char *v[1] = {k};
        PGresult *r = PQexecParams(A.pg_reader, "SELECT count(*) FROM t_rows WHERE k = $1", 1, NULL,
                                   v, NULL, NULL, 0);
        int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
        PQclear(r);
        return n;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(A.reader, "SELECT count(*) FROM t_rows WHERE k = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return rc;
}

static void ws_failure(sb_buf *out, void *arg)
{
    (void)arg;
    SB_BUF_PUT_LIT(out, "storage error");
}

static void http_failure(sb_http_response *resp, void *arg)
{
    (void)arg;
    resp->status = 503;
    SB_BUF_PUT_LIT(&resp->body, "{\"error\":\"storage\"}");
}

/* WebSocket ----------------------------------------------------------------- */

static sb_buf *to_me(struct sb_ctx *ctx)
{
    return sb_outbox_conn(ctx->out, ctx->conn, NULL);
}

static int t_open(struct sb_ctx *ctx, const sb_ws_request *req)
{
    session *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->id = ctx->conn;
    const char *tag = sb_query_get(req->query, "tag");
    snprintf(s->tag, sizeof s->tag, "%s", tag ? tag : "-");
    ctx->session = s;
    A.sessions++;
    put_fmt(to_me(ctx), "hello %llu", (unsigned long long)ctx->conn);
    /* repeated keys: every ?topic= */
    for (size_t i = 0; i < req->query->count; i++) {
        if (strcmp(req->query->item[i].key, "topic") == 0 &&
            sb_rt_subscribe(ctx, req->query->item[i].value) != 0) {
            sb_rt_close(ctx, SB_CLOSE_POLICY, "bad topic");
            return 0;
        }
    }
    return 0;
}

static void tick(struct sb_ctx *ctx, void *arg)
{
    (void)arg;
    session *s = ctx->session;
    A.ticks++;
    /* stderr too: a test can see that a cancelled timer never fired */
    fprintf(stderr, "tick conn=%llu\n", (unsigned long long)ctx->conn);
    put_fmt(to_me(ctx), "tick %llu %s", (unsigned long long)ctx->conn, s ? s->tag : "(none)");
}

static void cmd_wake(struct sb_ctx *ctx, const char *text)
{
    size_t n = A.n_polls;
    for (size_t i = 0; i < A.n_polls; i++) {
        sb_http_response r;
        sb_http_response_init(&r);
        SB_BUF_PUT_LIT(&r.body, "{\"woke\":");
        put_str(&r.body, text);
        sb_buf_putc(&r.body, '}');
        sb_outbox_http(ctx->out, A.polls[i], &r);
        sb_http_response_free(&r);
    }
    A.n_polls = 0;
    put_fmt(to_me(ctx), "woke %zu", n);
}

static void t_message(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    if (binary) {
        sb_buf *b = to_me(ctx);
        sb_buf_put(b, data, len);
        sb_outbox_binary(ctx->out);
        return;
    }
    char cmd[16] = "", *arg;
    char *line = sb_arena_alloc(ctx->arena, len + 1);
    if (!line)
        return;
    memcpy(line, data, len);
    line[len] = '\0';
    size_t cn = strcspn(line, " ");
    snprintf(cmd, sizeof cmd, "%.*s", (int)(cn < 15 ? cn : 15), line);
    arg = line[cn] ? line + cn + 1 : line + cn;
    if (strcmp(cmd, "echo") == 0) {
        put_fmt(to_me(ctx), "echo %s", arg);
    } else if (strcmp(cmd, "pub") == 0) {
        size_t tn = strcspn(arg, " ");
        const char *text = arg[tn] ? arg + tn + 1 : arg + tn;
        arg[tn] = '\0';
        size_t subs;
        sb_topics_conns(sb_rt_topics(ctx->rt), arg, &subs);
        put_fmt(sb_outbox_topic(ctx->out, arg, NULL), "msg %s %s", arg, text);
        put_fmt(to_me(ctx), "pubbed %s %zu", arg, subs);
    } else if (strcmp(cmd, "write") == 0) {
        if (store_row(ctx, arg, strlen(arg), "ws", 2) == 0)
            put_fmt(to_me(ctx), "stored %s", arg);
        else
            put_fmt(to_me(ctx), "failed %s", arg);
    } else if (strcmp(cmd, "wake") == 0) {
        cmd_wake(ctx, arg);
    } else if (strcmp(cmd, "sub") == 0) {
        put_fmt(to_me(ctx), sb_rt_subscribe(ctx, arg) == 0 ? "subbed %s" : "refused %s", arg);
    } else if (strcmp(cmd, "unsub") == 0) {
        sb_rt_unsubscribe(ctx, arg);
        put_fmt(to_me(ctx), "unsubbed %s", arg);
    } else if (strcmp(cmd, "timer") == 0) {
        int ms = atoi(arg);
        put_fmt(to_me(ctx),
                sb_rt_timer(ctx->rt, ctx->conn, ms, false, tick, NULL) ? "timer %d" : "no timer %d",
                ms);
    } else if (strcmp(cmd, "close") == 0) {
        sb_rt_close(ctx, SB_CLOSE_NORMAL, "bye");
    } else {
        put_fmt(to_me(ctx), "unknown %s", cmd);
    }
}

static void t_close(struct sb_ctx *ctx)
{
    free(ctx->session);
    ctx->session = NULL;
    A.sessions--;
}

/* HTTP ---------------------------------------------------------------------- */

static int h_committed(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)ctx;
    const char *n = sb_query_get(req->params, "n");
    int c = committed(n ? n : "");
    if (c < 0) {
        resp->status = 500;
        SB_BUF_PUT_LIT(&resp->body, "{\"error\":\"reader\"}");
        return SB_HTTP_ANSWERED;
    }
    SB_BUF_PUT_LIT(&resp->body, "{\"n\":");
    put_str(&resp->body, n);
    put_fmt(&resp->body, ",\"visible\":%s}", c > 0 ? "true" : "false");
    return SB_HTTP_ANSWERED;
}

static int h_headers(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)ctx;
    static const char *const names[] = {"user-agent", "X-Test", "origin", "content-type"};
    char a[64], b[64];
    sb_buf_putc(&resp->body, '{');
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = sb_http_header(req, names[i]);
        put_str(&resp->body, names[i]);
        sb_buf_putc(&resp->body, ':');
        if (v)
            put_str(&resp->body, v);
        else
            SB_BUF_PUT_LIT(&resp->body, "null");
        sb_buf_putc(&resp->body, ',');
    }
    SB_BUF_PUT_LIT(&resp->body, "\"cookie_a\":");
    if (sb_http_cookie(req, "a", a, sizeof a))
        put_str(&resp->body, a);
    else
        SB_BUF_PUT_LIT(&resp->body, "null");
    SB_BUF_PUT_LIT(&resp->body, ",\"cookie_b\":");
    if (sb_http_cookie(req, "b", b, sizeof b))
        put_str(&resp->body, b);
    else
        SB_BUF_PUT_LIT(&resp->body, "null");
    const char *bearer = sb_http_bearer(req);
    SB_BUF_PUT_LIT(&resp->body, ",\"bearer\":");
    if (bearer)
        put_str(&resp->body, bearer);
    else
        SB_BUF_PUT_LIT(&resp->body, "null");
    SB_BUF_PUT_LIT(&resp->body, ",\"method\":");
    put_str(&resp->body, req->method);
    sb_buf_putc(&resp->body, '}');
    sb_cookie_opts o = sb_cookie_defaults();
    o.max_age_s = 60;
    o.same_site = "Strict";
    if (sb_http_add_header(resp, "X-One", "1") != 0 ||
        sb_http_add_header(resp, "X-Two", "two words") != 0 ||
        sb_http_set_cookie(resp, "sid", "abc123", &o) != 0 ||
        sb_http_add_header(resp, "X-Bad", "a\r\nInjected: yes") != -1)
        resp->status = 500;
    return SB_HTTP_ANSWERED;
}

static int h_items(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    const char *id = sb_query_get(req->params, "id");
    if (!id || store_row(ctx, id, strlen(id), req->body, req->body_len) != 0) {
        resp->status = 500;
        SB_BUF_PUT_LIT(&resp->body, "{\"error\":\"not stored\"}");
        return SB_HTTP_ANSWERED;
    }
    resp->status = 201;
    SB_BUF_PUT_LIT(&resp->body, "{\"id\":");
    put_str(&resp->body, id);
    put_fmt(&resp->body, ",\"len\":%zu}", req->body_len);
    return SB_HTTP_ANSWERED;
}

static void poll_forget(uint64_t request)
{
    for (size_t i = 0; i < A.n_polls; i++) {
        if (A.polls[i] == request) {
            A.polls[i] = A.polls[--A.n_polls];
            return;
        }
    }
}

static int h_poll(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    const char *t = sb_query_get(req->query, "timeout_ms");
    int ms = t ? atoi(t) : 1000;
    if (A.n_polls == MAX_POLLS) {
        resp->status = 503;
        SB_BUF_PUT_LIT(&resp->body, "{\"error\":\"too many polls\"}");
        return SB_HTTP_ANSWERED;
    }
    A.polls[A.n_polls++] = req->id;
    sb_rt_defer(ctx, ms);
    return SB_HTTP_DEFERRED;
}

static void poll_timeout(struct sb_ctx *ctx, uint64_t request, sb_http_response *resp)
{
    (void)ctx;
    poll_forget(request);
    A.timeouts++;
    SB_BUF_PUT_LIT(&resp->body, "{\"timeout\":true}");
}

static void poll_abort(struct sb_ctx *ctx, uint64_t request)
{
    (void)ctx;
    poll_forget(request);
    A.aborted++;
    fprintf(stderr, "aborted request=%llu\n", (unsigned long long)request);
}

static int h_upload(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)ctx;
    uint32_t h = 2166136261u; /* FNV-1a 32 over every byte, NULs too */
    size_t nuls = 0;
    for (size_t i = 0; i < req->body_len; i++) {
        h = (h ^ (unsigned char)req->body[i]) * 16777619u;
        nuls += req->body[i] == '\0';
    }
    put_fmt(&resp->body, "{\"bytes\":%zu,\"nuls\":%zu,\"fnv\":%u}", req->body_len, nuls,
            (unsigned)h);
    return SB_HTTP_ANSWERED;
}

static int h_only_put(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)ctx;
    (void)req;
    SB_BUF_PUT_LIT(&resp->body, "{\"put\":true}");
    return SB_HTTP_ANSWERED;
}

static int h_stats(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)
{
    (void)req;
    put_fmt(&resp->body,
            "{\"sessions\":%ld,\"topics\":%zu,\"connections\":%zu,\"polls\":%zu,"
            "\"aborted\":%ld,\"ticks\":%ld,\"timeouts\":%ld}",
            A.sessions, sb_topics_count(sb_rt_topics(ctx->rt)), sb_server_connections(A.server),
            A.n_polls, A.aborted, A.ticks, A.timeouts);
    return SB_HTTP_ANSWERED;
}

/* Process -------------------------------------------------------------------- */

static void shutdown_done(void *arg)
{
    (void)arg;
    sb_rt_flush(A.rt);
    event_base_loopbreak(A.base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    sb_server_shutdown(A.server, 1000, shutdown_done, NULL);
}

static int add_routes(int bad, char *err, size_t errn)
{
    static const char *const octets[] = {"application/octet-stream", NULL};
    const sb_failure hf = {.http = http_failure};
    const sb_ws_handler ws = {.path = "/ws/t",
                              .channel = "t",
                              .on_open = t_open,
                              .on_message = t_message,
                              .on_close = t_close,
                              .accept_binary = true,
                              .storage_error = {.ws = ws_failure}};
    const sb_http_handler routes[] = {
        {.method = "GET", .path = "/t/committed/{n}", .handle = h_committed},
        {.method = "GET", .path = "/t/headers", .handle = h_headers},
        {.method = "POST", .path = "/t/items/{id}", .handle = h_items, .storage_error = hf},
        {.method = "GET",
         .path = "/t/poll",
         .handle = h_poll,
         .on_timeout = poll_timeout,
         .on_abort = poll_abort},
        {.method = "POST", .path = "/t/upload", .handle = h_upload, .content_types = octets},
        {.method = "PUT", .path = "/t/only-put", .handle = h_only_put},
        {.method = "GET", .path = "/t/stats", .handle = h_stats},
        /* --bad-route: a template with an unclosed parameter */
        {.method = "GET", .path = "/t/bad/{x", .handle = h_stats},
        /* --dup-route: a method and template taken already */
        {.method = "GET", .path = "/t/headers", .handle = h_stats},
    };
    size_t n = sizeof routes / sizeof routes[0] - 2;
    if (sb_rt_add_ws(A.rt, &ws, err, errn) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        sb_http_handler h = routes[i];
        h.channel = "t";
        if (sb_rt_add_http(A.rt, &h, err, errn) != 0)
            return -1;
    }
    if (bad) {
        sb_http_handler h = routes[n + (bad == 1 ? 0 : 1)];
        if (sb_rt_add_http(A.rt, &h, err, errn) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    sb_config cfg;
    char err[512];
    int bad = 0;
    /* our own flags out, the rest is serve's */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--bad-route") == 0)
            bad = 1;
        else if (i > 0 && strcmp(argv[i], "--dup-route") == 0)
            bad = 2;
        else
            rest[nrest++] = argv[i];
    }
    sb_config_defaults(&cfg);
    int rc = sb_config_parse(&cfg, nrest, rest, err, sizeof err);
    free(rest);
    if (rc != 0) {
        fprintf(stderr, "rt_testserver: %s\n", err);
        return 2;
    }
    sb_log_set_level((sb_log_level)cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    A.base = event_base_new();
    if (!A.base || event_base_priority_init(A.base, 3) != 0)
        return 1;
    A.store = sb_store_open(sb_config_db(&cfg), cfg.sync_full, err, sizeof err);
    if (!A.store) {
        fprintf(stderr, "rt_testserver: %s\n", err);
        return 1;
    }
    const sb_migration m = {.module = "t",
                            .steps = migration_steps,
                            .count = 1,
                            .pg_steps = migration_steps, /* the same DDL works on both */
                            .pg_count = 1};
    bool reader_ok = false;
    if (cfg.db_url[0]) {
        A.pg_reader = PQconnectdb(cfg.db_url);
        reader_ok = PQstatus(A.pg_reader) == CONNECTION_OK;
    } else {
        reader_ok =
            sqlite3_open_v2(cfg.db_path, &A.reader, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK;
    }
    if (sb_store_migrate(A.store, &m, err, sizeof err) != 0 || !reader_ok) {
        fprintf(stderr, "rt_testserver: cannot set up %s: %s\n", cfg.db_path, err);
        return 1;
    }
    A.server = sb_server_new(A.base, &cfg);
    A.rt = A.server ? sb_rt_new(A.base, A.server, A.store, &cfg) : NULL;
    if (!A.rt)
        return 1;
    if (add_routes(bad, err, sizeof err) != 0) {
        fprintf(stderr, "rt_testserver: route refused: %s\n", err);
        sb_rt_end_jobs(A.rt);
        sb_server_free(A.server);
        sb_rt_free(A.rt);
        sqlite3_close(A.reader);
        PQfinish(A.pg_reader);
        sb_store_close(A.store);
        event_base_free(A.base);
        sb_metrics_reset_all_for_tests();
        return 3;
    }
    struct event *sigterm = evsignal_new(A.base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(A.base, SIGINT, on_signal, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    int port = sb_server_start(A.server);
    if (port < 0) {
        fprintf(stderr, "rt_testserver: cannot listen\n");
        return 1;
    }
    printf("port=%d\n", port);
    fflush(stdout);

    event_base_dispatch(A.base);

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    sb_rt_end_jobs(A.rt);
    sb_server_free(A.server);
    sb_store_commit(A.store);
    sb_rt_free(A.rt);
    sqlite3_close(A.reader);
    PQfinish(A.pg_reader);
    sb_store_close(A.store);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(A.base);
    sb_metrics_reset_all_for_tests();
    fprintf(stderr, "stopped clean=1 sessions=%ld\n", A.sessions);
    return 0;
}
