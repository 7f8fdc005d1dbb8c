/*
 * store_pg.c: the PostgreSQL engine behind the storage seam (store.h,
 * sql.h; store.c and sql.c dispatch here). libpq, one connection per
 * process, on the event loop.
 *
 * The connection is made on the loop. After the first one (sb_store_open
 * waits for it: nothing can start without the migrations), a connection
 * that went away is noticed on the loop (the idle socket is watched) or by
 * the statement that failed, and re-established by PQconnectStart and
 * PQconnectPoll driven by libevent on PQsocket, with a backoff of 100 ms
 * doubling to 5 s. Meanwhile every call fails at once with SB_STORE_IO
 * ("postgres unreachable: ...") and the store reports degraded; the
 * prepared statements are prepared again, lazily, on the new connection.
 *
 * Statements wait on the loop: a statement made on a handler's coroutine
 * (coro.h; the runtime runs handler calls on one: jobs.h) is sent
 * (PQsendQueryPrepared), and the coroutine notes itself as the waiter and
 * yields; idle_input wakes it when the answer is whole. So do BEGIN, the
 * savepoints and the wait for a COMMIT on its way; the COMMIT at the end of
 * the turn is sent and its answer read on the loop (sb_pg_commit_start).
 * On the main stack (a tool, the shutdown, a protocol's own call) a call
 * first finishes a waiting coroutine (quiesce) and then blocks in libpq, as
 * PQexec does. Each round trip is bounded by the server settings sent
 * with the connection (statement_timeout, lock_timeout) and by TCP
 * keepalives and tcp_user_timeout for a peer that vanished
 * (docs/decisions.md, "PostgreSQL engine", "Asynchrony").
 *
 * Errors: PostgreSQL aborts a whole transaction at its first error. A
 * failure inside a unit (a handler's savepoint) marks it, and unit_end
 * rolls back to the savepoint whatever the handler says; one outside any
 * unit loses the turn's transaction at once (on_lost), as SQLite does
 * after a full disk.
 */
#include <errno.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coro.h"
#include "log.h"
#include "metrics.h"
#include "store_pg.h"

#define STMT_SLOTS 256 /* power of two; statements are few and static */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_S 5
/* One lock for every module's migration: nodes starting together run each
 * step once, and the first creates sb_migrations alone. ("sbmg") */
#define MIGRATION_LOCK "1935828327"

struct sb_pg_stmt {
    sb_stmt handle; /* what sql.h hands out; handle.pg points back here */
    sb_pg *pg;
    const char *sql;  /* the caller's constant: the cache key */
    char *text;       /* with $N placeholders */
    char name[16];    /* the prepared statement's name on the server */
    int nparams;      /* the highest placeholder number */
    uint64_t gen;     /* the connection it was prepared on; 0: none */
    char **values;    /* text, NULL for SQL NULL; nparams of them */
    int nul_param;    /* a parameter bound with a NUL byte in it (refused); 0: none */
    PGresult *res;    /* the rows of the last run */
    int row, ntuples; /* the current row */
    bool executed;    /* run since the last reset */
    int64_t changes;  /* rows written by the last run */
    char error[256];  /* the last failure's message */
};

typedef struct after {
    sb_commit_fn fn;
    void *arg;
} after;

typedef enum { PG_DOWN, PG_CONNECTING, PG_UP } pg_state;

struct sb_pg {
    sb_store *owner;
    PGconn *conn;
    pg_state state;
    uint64_t gen;       /* connections made so far: prepared statements' epoch */
    char *url;          /* holds the password: never logged */
    char where[200];    /* host:port/dbname, for logs and errors */
    char down_why[200]; /* why the connection went or could not be made */
    struct event_base *base;
    struct event *ev_io;    /* connecting: PQconnectPoll's socket; up: the idle watch */
    struct event *ev_timer; /* down: the backoff; connecting: the deadline */
    int backoff_ms;
    bool served;              /* had a loop: a server, not a command-line tool */
    struct timespec next_try; /* without a loop: no blocking retry before */
    bool in_tx;
    /* The turn's COMMIT is on its way (sb_pg_commit_start): its answer
     * arrives on the loop (idle_input), or the next call that needs the
     * connection waits for it (settle). */
    bool committing;
    /* A handler's coroutine waiting for the connection's answer (a
     * statement's, or the COMMIT's before its statement): idle_input wakes
     * it. One at a time: the runtime runs one handler call at a time. */
    sb_coro *waiter;
    sb_commit_fn commit_done;
    void *commit_arg;
    int units;        /* savepoints open */
    bool unit_failed; /* a statement failed inside the innermost unit */
    /* The turn's transaction was lost: until the next begin (or the turn's
     * end), statements fail rather than run, and commit, one by one, outside
     * any transaction (what their senders were told failed). */
    bool poisoned;
    struct timespec tx_started;
    after *afters;
    size_t n_after, cap_after;
    void (*on_begin)(void *arg);
    void (*on_lost)(void *arg);
    void *hook_arg;
    sb_store_status health;
    char health_reason[240];
    char last_error[256];
    uint64_t n_statements; /* round trips, and their time */
    double statement_seconds;
    uint64_t n_waits; /* answers waited for on the loop (a coroutine yielded) */
    sb_gauge *m_healthy;
    sb_histogram *m_commit, *m_statement;
    sb_counter *m_commits, *m_commit_errors, *m_waits;
    sb_pg_stmt *stmts[STMT_SLOTS];
};

static void connection_lost(sb_pg *pg, const char *why);
static void watch_idle(sb_pg *pg);
static void start_connect(sb_pg *pg);
static void settle(sb_pg *pg);
static void commit_arrived(sb_pg *pg, PGresult *r);
static PGresult *run_sql(sb_pg *pg, const char *sql);

/* Helpers --------------------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* libpq's messages end with a newline, some with two lines: one line. */
static void one_line(char *dst, size_t n, const char *msg)
{
    snprintf(dst, n, "%s", msg && *msg ? msg : "unknown error");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t len = strlen(dst);
    while (len && dst[len - 1] == ' ')
        dst[--len] = '\0';
}

/* A failed result as the seam's status (the SQLSTATE's class decides). */
static sb_store_status status_of(const sb_pg *pg, const PGresult *r)
{
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK)
        return SB_STORE_IO;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!r)
        return SB_STORE_NOMEM; /* libpq could not make a result */
    if (!state)
        return SB_STORE_ERROR;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
        !strcmp(state, "57014")) /* serialization, deadlock, lock or statement timeout */
        return SB_STORE_BUSY;
    if (!strcmp(state, "53100"))
        return SB_STORE_FULL;
    if (!strcmp(state, "53200"))
        return SB_STORE_NOMEM;
    if (!strncmp(state, "57P", 3) || !strncmp(state, "08", 2) || !strncmp(state, "58", 2))
        return SB_STORE_IO;
    return SB_STORE_ERROR;
}

static void run_afters(sb_pg *pg, sb_store_status rc)
{
    /* callbacks may register more (for the next transaction): take the list */
    after *list = pg->afters;
    size_t n = pg->n_after;
    pg->afters = NULL;
    pg->n_after = pg->cap_after = 0;
    for (size_t i = 0; i < n; i++)
        list[i].fn(list[i].arg, rc);
    free(list);
}

/* Record how a begin, a commit or the connection went. */
static void health_note(sb_pg *pg, const char *what, sb_store_status st, const char *msg)
{
    if (st == SB_STORE_OK) {
        if (pg->health == SB_STORE_OK)
            return;
        sb_log(SB_LOG_INFO, "store_healthy", "after=\"%s\"", pg->health_reason);
        pg->health = SB_STORE_OK;
        pg->health_reason[0] = '\0';
        sb_gauge_set(pg->m_healthy, 1);
        return;
    }
    char line[200];
    one_line(line, sizeof line, msg);
    if (pg->health == SB_STORE_OK) {
        char v[256];
        sb_log(SB_LOG_WARN, "store_degraded", "failed=%s err=%s", what,
               sb_log_kv_str(v, sizeof v, line));
        char labels[48];
        snprintf(labels, sizeof labels, "reason=\"%s\"", sb_store_status_text(st));
        sb_counter_add(sb_counter_get("switchboard_store_degraded_total",
                                      "Times the store turned unhealthy, by the failure", labels),
                       1);
    }
    pg->health = st;
    if (!strcmp(what, "connection"))
        snprintf(pg->health_reason, sizeof pg->health_reason, "postgres unreachable: %s", line);
    else
        snprintf(pg->health_reason, sizeof pg->health_reason, "%s failed: %s", what, line);
    sb_gauge_set(pg->m_healthy, 0);
}

/* The turn's transaction is gone (rolled back, or its connection lost):
 * the runtime fails what waited on it, and the next write opens another. */
static void lose_tx(sb_pg *pg, sb_store_status st, const char *why)
{
    if (!pg->in_tx)
        return;
    pg->in_tx = false;
    pg->poisoned = true;
    pg->units = 0;
    pg->unit_failed = false;
    sb_counter_add(pg->m_commit_errors, 1);
    char v[256];
    sb_log(SB_LOG_ERROR, "transaction_lost", "status=\"%s\" err=%s", sb_store_status_text(st),
           sb_log_kv_str(v, sizeof v, why));
    if (st != SB_STORE_IO)
        health_note(pg, "commit", st, why);
    run_afters(pg, st == SB_STORE_OK ? SB_STORE_LOST : st);
    if (pg->on_lost)
        pg->on_lost(pg->hook_arg);
}

/* After a failed statement: the message where the caller and the operator
 * find it, the transaction's state, the connection's. The status. */
static sb_store_status failed(sb_pg *pg, const PGresult *r, char *msg_out, size_t n)
{
    sb_store_status st = status_of(pg, r);
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = pg->conn ? PQerrorMessage(pg->conn) : "not connected";
    one_line(pg->last_error, sizeof pg->last_error, msg);
    if (msg_out && n)
        snprintf(msg_out, n, "%s", pg->last_error);
    char v[300];
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    sb_log(st == SB_STORE_ERROR ? SB_LOG_WARN : SB_LOG_ERROR, "postgres",
           "status=\"%s\" sqlstate=%s err=%s", sb_store_status_text(st), state ? state : "-",
           sb_log_kv_str(v, sizeof v, pg->last_error));
    bool gone = !pg->conn || PQstatus(pg->conn) != CONNECTION_OK ||
                (state && (!strncmp(state, "57P", 3) || !strncmp(state, "08", 2)));
    if (gone) {
        connection_lost(pg, pg->last_error);
    } else if (pg->in_tx) {
        if (pg->units > 0) {
            pg->unit_failed = true; /* unit_end rolls back to the savepoint */
        } else {
            PQclear(run_sql(pg, "ROLLBACK"));
            lose_tx(pg, st, pg->last_error);
        }
    }
    return st;
}

/* Waiting for an answer ------------------------------------------------- */

/* Until the answer to what was sent can be read without blocking: on a
 * handler's coroutine (coro.h) that may yield, it notes itself as the
 * waiter and yields, and the loop serves everything else meanwhile;
 * idle_input wakes it when the socket has brought the answer (or broke).
 * Anywhere else (the main stack, a tool without a loop, the runtime
 * holding coroutines) it returns at once, and the read that follows
 * blocks, as PQexec does. */
static void await_input(sb_pg *pg)
{
    bool counted = false;
    while (pg->base && pg->state == PG_UP && pg->conn && sb_coro_may_yield() &&
           PQstatus(pg->conn) == CONNECTION_OK && PQisBusy(pg->conn)) {
        if (!counted) {
            pg->n_waits++;
            sb_counter_add(pg->m_waits, 1);
            counted = true;
        }
        pg->waiter = sb_coro_self();
        sb_coro_yield();
    }
}

/* What PQexec would give for what was just sent: the last result, or the
 * first failure (NULL: none, the connection broke). The connection is idle
 * again after it. */
static PGresult *answer(sb_pg *pg)
{
    PGresult *keep = NULL, *r;
    for (;;) {
        await_input(pg);
        if (!pg->conn || !(r = PQgetResult(pg->conn)))
            break;
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(keep);
        keep = r;
    }
    return keep;
}

/* PQexec, waiting on the loop where the caller can (await_input). */
static PGresult *run_sql(sb_pg *pg, const char *sql)
{
    if (!pg->conn || !PQsendQuery(pg->conn, sql))
        return NULL;
    return answer(pg);
}

/* A coroutine waits for an answer, and the main stack needs the connection
 * (a call from outside any handler: a shutdown, a tool, a readiness
 * check): the waiter finishes first, blocking. */
static void quiesce(sb_pg *pg)
{
    if (!pg->waiter || sb_coro_self())
        return;
    sb_coro_hold();
    while (pg->waiter) {
        sb_coro *co = pg->waiter;
        pg->waiter = NULL;
        sb_coro_wake(co);
    }
    sb_coro_release();
}

/* Run a command of the engine's own (BEGIN, SAVEPOINT, COMMIT ...). */
static sb_store_status command(sb_pg *pg, const char *sql)
{
    settle(pg);
    PGresult *r = run_sql(pg, sql);
    sb_store_status st = SB_STORE_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        st = failed(pg, r, NULL, 0);
    PQclear(r);
    return st;
}

/* Connecting ------------------------------------------------------------ */

/* Ours first, then the URL's: what the URL says wins (libpq keeps the last
 * value of a keyword). Every round trip is bounded: a statement or a lock
 * wait by the server, a dead peer by TCP. */
static PGconn *connect_params(const sb_pg *pg, bool async)
{
    static const char *const keys[] = {"connect_timeout",
                                       "keepalives",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "tcp_user_timeout",
                                       "application_name",
                                       "client_encoding",
                                       "options",
                                       "dbname",
                                       NULL};
    const char *values[] = {"5",
                            "1",
                            "10",
                            "5",
                            "3",
                            "10000",
                            "switchboard",
                            "UTF8",
                            "-c statement_timeout=5000 -c lock_timeout=4000 "
                            "-c idle_in_transaction_session_timeout=60000",
                            pg->url,
                            NULL};
    return async ? PQconnectStartParams(keys, values, 1) : PQconnectdbParams(keys, values, 1);
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    char line[200], v[256];
    one_line(line, sizeof line, message);
    sb_log(SB_LOG_DEBUG, "postgres_notice", "msg=%s", sb_log_kv_str(v, sizeof v, line));
}

/* The connection is made: statements will be prepared on it as they run. */
static void connected(sb_pg *pg)
{
    pg->state = PG_UP;
    pg->gen++;
    pg->backoff_ms = BACKOFF_MIN_MS;
    PQsetNoticeProcessor(pg->conn, quiet_notices, NULL);
    if (pg->gen > 1)
        sb_log(SB_LOG_INFO, "postgres_reconnected", "db=\"%s\"", pg->where);
    health_note(pg, "connection", SB_STORE_OK, NULL);
    watch_idle(pg);
}

static void drop_conn(sb_pg *pg)
{
    if (pg->ev_io) {
        event_free(pg->ev_io);
        pg->ev_io = NULL;
    }
    PQfinish(pg->conn);
    pg->conn = NULL;
    pg->state = PG_DOWN;
}

static void schedule_retry(sb_pg *pg)
{
    struct timeval tv = {pg->backoff_ms / 1000, (pg->backoff_ms % 1000) * 1000};
    clock_gettime(CLOCK_MONOTONIC, &pg->next_try);
    pg->next_try.tv_sec += tv.tv_sec;
    pg->next_try.tv_nsec += tv.tv_usec * 1000;
    if (pg->next_try.tv_nsec >= 1000000000) {
        pg->next_try.tv_sec++;
        pg->next_try.tv_nsec -= 1000000000;
    }
    if (pg->base && pg->ev_timer)
        evtimer_add(pg->ev_timer, &tv);
    pg->backoff_ms = pg->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pg->backoff_ms * 2;
}

static void attempt_failed(sb_pg *pg, const char *why)
{
    char line[200], v[256];
    one_line(line, sizeof line, why);
    snprintf(pg->down_why, sizeof pg->down_why, "%s", line);
    sb_log(SB_LOG_WARN, "postgres_connect", "db=\"%s\" retry_ms=%d err=%s", pg->where,
           pg->backoff_ms, sb_log_kv_str(v, sizeof v, line));
    health_note(pg, "connection", SB_STORE_IO, line);
    drop_conn(pg);
    schedule_retry(pg);
}

/* The socket PQconnectPoll asked for is ready (or the deadline came). */
static void connect_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_pg *pg = arg;
    PostgresPollingStatusType p = PQconnectPoll(pg->conn);
    if (p == PGRES_POLLING_OK) {
        evtimer_del(pg->ev_timer);
        connected(pg);
        return;
    }
    if (p == PGRES_POLLING_FAILED) {
        evtimer_del(pg->ev_timer);
        attempt_failed(pg, PQerrorMessage(pg->conn));
        return;
    }
    /* libpq may change sockets between calls: a new event each time */
    if (pg->ev_io)
        event_free(pg->ev_io);
    pg->ev_io = event_new(pg->base, PQsocket(pg->conn),
                          p == PGRES_POLLING_READING ? EV_READ : EV_WRITE, connect_io, pg);
    if (!pg->ev_io || event_add(pg->ev_io, NULL) != 0)
        attempt_failed(pg, "cannot watch the connection's socket");
}

static void start_connect(sb_pg *pg)
{
    pg->conn = connect_params(pg, true);
    if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD) {
        attempt_failed(pg, pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
        return;
    }
    pg->state = PG_CONNECTING;
    /* PQconnectPoll ignores connect_timeout: the loop keeps the deadline */
    struct timeval deadline = {CONNECT_TIMEOUT_S, 0};
    evtimer_add(pg->ev_timer, &deadline);
    /* as if PQconnectPoll had said PGRES_POLLING_WRITING */
    pg->ev_io = event_new(pg->base, PQsocket(pg->conn), EV_WRITE, connect_io, pg);
    if (!pg->ev_io || event_add(pg->ev_io, NULL) != 0)
        attempt_failed(pg, "cannot watch the connection's socket");
}

static void timer_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_pg *pg = arg;
    if (pg->state == PG_CONNECTING)
        attempt_failed(pg, "timeout while connecting");
    else if (pg->state == PG_DOWN)
        start_connect(pg);
}

/* Up and idle: anything arriving now is the server's (a shutdown's
 * notice, its connection closing); read it, to learn of it now rather
 * than from the next write. */
static void idle_input(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_pg *pg = arg;
    if (pg->waiter) {
        /* a handler's answer (or the COMMIT it waits for): once whole, or
         * the connection broke, the handler reads it (await_input) */
        if (PQconsumeInput(pg->conn) && PQisBusy(pg->conn))
            return;
        sb_coro *co = pg->waiter;
        pg->waiter = NULL;
        sb_coro_wake(co);
        return;
    }
    if (pg->committing) {
        /* the COMMIT's answer, whole or in part; NULL: the connection went
         * (commit_arrived tells the waiter and notes the loss) */
        if (!PQconsumeInput(pg->conn)) {
            commit_arrived(pg, NULL);
            return;
        }
        if (PQisBusy(pg->conn))
            return;
        PGresult *r = answer(pg);
        commit_arrived(pg, r);
        PQclear(r);
        return;
    }
    if (!PQconsumeInput(pg->conn) || PQstatus(pg->conn) != CONNECTION_OK) {
        char line[200];
        one_line(line, sizeof line, PQerrorMessage(pg->conn));
        connection_lost(pg, line);
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(pg->conn)))
        PQfreemem(n);
}

static void watch_idle(sb_pg *pg)
{
    if (!pg->base || pg->state != PG_UP)
        return;
    if (pg->ev_io)
        event_free(pg->ev_io);
    pg->ev_io = event_new(pg->base, PQsocket(pg->conn), EV_READ | EV_PERSIST, idle_input, pg);
    if (pg->ev_io)
        event_add(pg->ev_io, NULL);
}

static void connection_lost(sb_pg *pg, const char *why)
{
    if (pg->state != PG_UP)
        return;
    char line[200], v[256];
    one_line(line, sizeof line, why);
    snprintf(pg->down_why, sizeof pg->down_why, "%s", line);
    sb_log(SB_LOG_ERROR, "postgres_lost", "db=\"%s\" err=%s", pg->where,
           sb_log_kv_str(v, sizeof v, line));
    drop_conn(pg);
    health_note(pg, "connection", SB_STORE_IO, line);
    lose_tx(pg, SB_STORE_IO, line);
    pg->backoff_ms = BACKOFF_MIN_MS;
    schedule_retry(pg);
}

/* Is the connection up? Without a loop (the command-line tools), a lost
 * one is made again here, blocking, at most once per backoff. */
static bool up(sb_pg *pg)
{
    settle(pg);
    if (pg->state == PG_UP)
        return true;
    if (pg->base || pg->state != PG_DOWN)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < pg->next_try.tv_sec ||
        (now.tv_sec == pg->next_try.tv_sec && now.tv_nsec < pg->next_try.tv_nsec))
        return false;
    pg->conn = connect_params(pg, false);
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
        connected(pg);
        return true;
    }
    attempt_failed(pg, pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
    return false;
}

static sb_store_status unreachable(sb_pg *pg, char *msg_out, size_t n)
{
    snprintf(pg->last_error, sizeof pg->last_error, "postgres unreachable: %s", pg->down_why);
    if (msg_out && n)
        snprintf(msg_out, n, "%s", pg->last_error);
    return SB_STORE_IO;
}

void sb_pg_set_loop(sb_pg *pg, struct event_base *base)
{
    settle(pg); /* its answer came through the loop being replaced */
    if (pg->ev_timer) {
        event_free(pg->ev_timer);
        pg->ev_timer = NULL;
    }
    if (pg->ev_io) {
        event_free(pg->ev_io);
        pg->ev_io = NULL;
    }
    if (pg->state == PG_CONNECTING)
        drop_conn(pg);
    pg->base = base;
    if (!base)
        return;
    pg->served = true;
    pg->ev_timer = evtimer_new(base, timer_due, pg);
    if (pg->state == PG_UP)
        watch_idle(pg);
    else
        schedule_retry(pg);
}

/* Opening, closing ------------------------------------------------------ */

static void describe(sb_pg *pg)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(pg->url, &msg);
    const char *host = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!strcmp(o->keyword, "host") && o->val)
            host = o->val;
        else if (!strcmp(o->keyword, "port") && o->val)
            port = o->val;
        else if (!strcmp(o->keyword, "dbname") && o->val)
            db = o->val;
    }
    snprintf(pg->where, sizeof pg->where, "postgres://%s:%s/%s", host ? host : "localhost",
             port ? port : "5432", db ? db : "");
    PQconninfoFree(opts);
    PQfreemem(msg);
}

sb_pg *sb_pg_open(const char *url, sb_store *owner, char *err, size_t err_size)
{
    sb_pg *pg = calloc(1, sizeof *pg);
    if (!pg || !(pg->url = strdup(url))) {
        free(pg);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pg->owner = owner;
    pg->backoff_ms = BACKOFF_MIN_MS;
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (!opts) {
        char line[200];
        one_line(line, sizeof line, msg ? msg : "out of memory");
        snprintf(err, err_size, "--db: not a PostgreSQL URL: %s", line); /* no URL: a password */
        PQfreemem(msg);
        free(pg->url);
        free(pg);
        return NULL;
    }
    PQconninfoFree(opts);
    describe(pg);
    pg->conn = connect_params(pg, false);
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        char line[200];
        one_line(line, sizeof line, pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
        snprintf(err, err_size, "%s: %s", pg->where, line);
        PQfinish(pg->conn);
        free(pg->url);
        free(pg);
        return NULL;
    }
    static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                    0.01,   0.025,   0.05,   0.1,   0.25,   1.0};
    pg->m_commit = sb_histogram_new("switchboard_commit_seconds",
                                    "Group commit latency, transaction begin to commit", NULL,
                                    bounds, sizeof bounds / sizeof bounds[0]);
    pg->m_statement = sb_histogram_new("switchboard_pg_statement_seconds",
                                       "PostgreSQL statement round trips, on the loop", NULL,
                                       bounds, sizeof bounds / sizeof bounds[0]);
    pg->m_healthy = sb_gauge_new(
        "switchboard_healthy", "1 while the last write transaction committed (see /healthz)", NULL);
    sb_gauge_set(pg->m_healthy, 1);
    pg->m_commits = sb_counter_new("switchboard_commits_total", "Group commits", NULL);
    pg->m_commit_errors =
        sb_counter_new("switchboard_commit_errors_total", "Group commits that failed", NULL);
    pg->m_waits = sb_counter_new("switchboard_pg_waits_total",
                                 "PostgreSQL answers a handler waited for without blocking the "
                                 "loop (its coroutine yielded)",
                                 NULL);
    connected(pg);
    /* debug: the command-line tools open stores too, and serve logs the
     * (redacted) URL with its configuration */
    sb_log(SB_LOG_DEBUG, "postgres", "db=\"%s\" server=%d", pg->where, PQserverVersion(pg->conn));
    return pg;
}

static void stmt_clear(sb_pg_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->executed = false;
    st->row = -1;
    st->ntuples = 0;
}

void sb_pg_close(sb_pg *pg)
{
    if (!pg)
        return;
    sb_pg_commit(pg);
    if (pg->n_statements) /* a server's (it had a loop) for the operator; a tool's for debug */
        sb_log(pg->served ? SB_LOG_INFO : SB_LOG_DEBUG, "postgres_stats",
               "statements=%llu mean_us=%.1f waits=%llu", (unsigned long long)pg->n_statements,
               pg->statement_seconds * 1e6 / (double)pg->n_statements,
               (unsigned long long)pg->n_waits);
    sb_pg_set_loop(pg, NULL);
    for (size_t i = 0; i < STMT_SLOTS; i++) {
        sb_pg_stmt *st = pg->stmts[i];
        if (!st)
            continue;
        stmt_clear(st);
        for (int k = 0; k < st->nparams; k++)
            free(st->values[k]);
        free(st->values);
        free(st->text);
        free(st);
    }
    drop_conn(pg);
    free(pg->afters);
    free(pg->url);
    free(pg);
}

/* Transactions ---------------------------------------------------------- */

/* Open the turn's transaction with `sql` ("BEGIN", or "BEGIN; SAVEPOINT
 * unit": one round trip for both when a unit opens it). */
static sb_store_status begin_with(sb_pg *pg, const char *sql)
{
    pg->poisoned = false;
    if (!up(pg))
        return unreachable(pg, NULL, 0);
    /* READ COMMITTED (the default): each statement sees what committed
     * before it; the stores make their read-then-write steps safe with
     * constraints and row locks (docs/decisions.md) */
    PGresult *r = run_sql(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        sb_store_status st = failed(pg, r, NULL, 0);
        PQclear(r);
        if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
            PQclear(run_sql(pg, "ROLLBACK")); /* BEGIN went, SAVEPOINT did not */
        if (st != SB_STORE_IO)
            health_note(pg, "begin", st, pg->last_error);
        return st;
    }
    PQclear(r);
    pg->in_tx = true;
    pg->units = 0;
    pg->unit_failed = false;
    clock_gettime(CLOCK_MONOTONIC, &pg->tx_started);
    if (pg->on_begin)
        pg->on_begin(pg->hook_arg);
    return SB_STORE_OK;
}

sb_store_status sb_pg_begin(sb_pg *pg)
{
    return pg->in_tx ? SB_STORE_OK : begin_with(pg, "BEGIN");
}

sb_store_status sb_pg_unit_begin(sb_pg *pg)
{
    sb_store_status st;
    if (!pg->in_tx) {
        st = begin_with(pg, "BEGIN; SAVEPOINT unit");
    } else {
        st = command(pg, "SAVEPOINT unit");
    }
    if (st == SB_STORE_OK && pg->in_tx) {
        pg->units++;
        pg->unit_failed = false;
    }
    return st;
}

void sb_pg_unit_end(sb_pg *pg, bool ok)
{
    if (!pg->in_tx || pg->units == 0)
        return; /* the transaction went, and the savepoint with it */
    pg->units--;
    if (pg->unit_failed) {
        sb_log(SB_LOG_WARN, "unit_rolled_back",
               "why=\"a statement failed inside it (PostgreSQL aborts the rest)\" ok=%d", ok);
        ok = false;
    }
    pg->unit_failed = false;
    if (!ok && command(pg, "ROLLBACK TO SAVEPOINT unit") != SB_STORE_OK)
        return;
    if (pg->in_tx)
        command(pg, "RELEASE SAVEPOINT unit");
}

bool sb_pg_lost(sb_pg *pg)
{
    /* on_lost ran when it was lost (failed); this tells the writes after it */
    return pg->poisoned;
}

/* The COMMIT's answer r (NULL: none came, the connection went): the
 * turn's fate, noted in health and metrics; the after-commit callbacks
 * learn it. */
static sb_store_status commit_answer(sb_pg *pg, PGresult *r)
{
    sb_store_status rc = SB_STORE_OK;
    /* COMMIT of an aborted transaction answers "ROLLBACK", not an error */
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(r), "COMMIT")) {
        sb_counter_add(pg->m_commits, 1);
    } else {
        rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? SB_STORE_LOST
             : r                                        ? status_of(pg, r)
                                                        : SB_STORE_IO;
        const char *msg = rc == SB_STORE_LOST ? "the transaction was rolled back"
                          : r                 ? PQresultErrorMessage(r)
                                              : "";
        if (!*msg)
            msg = pg->conn ? PQerrorMessage(pg->conn) : "connection lost during COMMIT";
        one_line(pg->last_error, sizeof pg->last_error, msg);
        sb_counter_add(pg->m_commit_errors, 1);
        char v[300];
        sb_log(SB_LOG_ERROR, "commit_failed", "status=\"%s\" err=%s", sb_store_status_text(rc),
               sb_log_kv_str(v, sizeof v, pg->last_error));
        if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK &&
            PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
            PQclear(run_sql(pg, "ROLLBACK"));
    }
    pg->in_tx = false;
    pg->units = 0;
    sb_histogram_observe(pg->m_commit, seconds_since(&pg->tx_started));
    if (rc == SB_STORE_IO && (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK))
        connection_lost(pg, pg->last_error);
    else
        health_note(pg, "commit", rc, pg->last_error);
    run_afters(pg, rc);
    return rc;
}

sb_store_status sb_pg_commit(sb_pg *pg)
{
    settle(pg);
    pg->poisoned = false;
    if (!pg->in_tx) {
        run_afters(pg, SB_STORE_OK);
        return SB_STORE_OK;
    }
    PGresult *r = run_sql(pg, "COMMIT");
    sb_store_status rc = commit_answer(pg, r);
    PQclear(r);
    return rc;
}

bool sb_pg_commit_start(sb_pg *pg, sb_commit_fn done, void *arg, sb_store_status *rc)
{
    settle(pg);
    if (!pg->in_tx || !pg->base || pg->state != PG_UP) {
        *rc = sb_pg_commit(pg);
        return false;
    }
    pg->poisoned = false;
    /* the connection is in blocking mode: the few bytes of COMMIT are
     * written whole here; only the wait for its answer (the server's WAL
     * flush) is left to the loop */
    if (!PQsendQuery(pg->conn, "COMMIT")) {
        *rc = commit_answer(pg, NULL);
        return false;
    }
    pg->in_tx = false; /* the next write opens the next transaction */
    pg->committing = true;
    pg->commit_done = done;
    pg->commit_arg = arg;
    return true;
}

/* The answer of the COMMIT on its way (r, or NULL: the connection went). */
static void commit_arrived(sb_pg *pg, PGresult *r)
{
    pg->committing = false;
    pg->in_tx = true; /* for commit_answer: it ends the transaction */
    sb_store_status rc = commit_answer(pg, r);
    if (pg->commit_done)
        pg->commit_done(pg->commit_arg, rc);
}

/* Wait here for the answer of a COMMIT on its way: the connection is needed
 * for something else (the next statement, a synchronous commit, a close).
 * libpq's blocking read; bounded like any round trip (statement_timeout,
 * tcp_user_timeout). */
static void settle(sb_pg *pg)
{
    quiesce(pg); /* the main stack: a waiting handler's answer first */
    if (!pg->committing)
        return;
    /* on a handler's coroutine the loop goes on until the answer came */
    PGresult *r = answer(pg);
    commit_arrived(pg, r);
    PQclear(r);
}

bool sb_pg_committing(const sb_pg *pg)
{
    return pg->committing;
}

bool sb_pg_has_loop(const sb_pg *pg)
{
    return pg->base != NULL;
}

void sb_pg_quiesce(sb_pg *pg)
{
    quiesce(pg);
}

void sb_pg_rollback(sb_pg *pg)
{
    settle(pg);
    bool was = pg->in_tx;
    if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(run_sql(pg, "ROLLBACK"));
    pg->in_tx = false;
    pg->poisoned = false;
    pg->units = 0;
    pg->unit_failed = false;
    if (was)
        run_afters(pg, SB_STORE_LOST);
}

void sb_pg_after_commit(sb_pg *pg, sb_commit_fn fn, void *arg)
{
    if (!pg->in_tx) {
        fn(arg, SB_STORE_OK);
        return;
    }
    if (pg->n_after == pg->cap_after) {
        size_t cap = pg->cap_after ? pg->cap_after * 2 : 16;
        after *p = realloc(pg->afters, cap * sizeof *p);
        if (!p) {
            fn(arg, SB_STORE_NOMEM);
            return;
        }
        pg->afters = p;
        pg->cap_after = cap;
    }
    pg->afters[pg->n_after++] = (after){fn, arg};
}

void sb_pg_end_reads(sb_pg *pg)
{
    if (pg->in_tx)
        return;
    pg->poisoned = false; /* the turn is over */
    /* no snapshot stays open here (a result is read whole), but the rows
     * are memory: rows read before are invalid after it, as on SQLite */
    for (size_t i = 0; i < STMT_SLOTS; i++)
        if (pg->stmts[i] && pg->stmts[i]->res)
            stmt_clear(pg->stmts[i]);
}

bool sb_pg_in_tx(const sb_pg *pg)
{
    return pg->in_tx;
}

void sb_pg_set_hooks(sb_pg *pg, void (*on_begin)(void *arg), void (*on_lost)(void *arg), void *arg)
{
    pg->on_begin = on_begin;
    pg->on_lost = on_lost;
    pg->hook_arg = arg;
}

sb_store_status sb_pg_ping(sb_pg *pg)
{
    /* a handler's statement or the turn's COMMIT is at the server: the
     * connection is up, and a readiness check must not wait for it */
    if ((pg->waiter || pg->committing) && !sb_coro_self())
        return pg->state == PG_UP ? SB_STORE_OK : unreachable(pg, NULL, 0);
    if (!up(pg))
        return unreachable(pg, NULL, 0);
    PGresult *r = run_sql(pg, "SELECT 1");
    sb_store_status st = SB_STORE_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        st = status_of(pg, r);
        if (st == SB_STORE_IO)
            connection_lost(pg, PQerrorMessage(pg->conn));
    }
    PQclear(r);
    return st;
}

bool sb_pg_health(sb_pg *pg, const char **reason)
{
    if (pg->state != PG_UP && pg->health == SB_STORE_OK)
        health_note(pg, "connection", SB_STORE_IO, pg->down_why);
    if (reason)
        *reason = pg->health == SB_STORE_OK ? NULL : pg->health_reason;
    return pg->health == SB_STORE_OK;
}

const char *sb_pg_last_error(sb_pg *pg)
{
    return pg->last_error[0] ? pg->last_error : "not an error";
}

/* Migrations ------------------------------------------------------------ */

int sb_pg_migrate(sb_pg *pg, const sb_migration *m, char *err, size_t err_size)
{
    if (!m->pg_steps || !m->pg_count) {
        snprintf(err, err_size, "module %s has no PostgreSQL migrations (not ported yet)",
                 m->module);
        return -1;
    }
    if (pg->in_tx) {
        /* a start-up step before this one left its transaction open: a
         * bug to fix there, named here with what failed last */
        snprintf(err, err_size, "module %s: migrating inside a transaction (last error: %s)",
                 m->module, sb_pg_last_error(pg));
        return -1;
    }
    if (!up(pg)) {
        unreachable(pg, err, err_size);
        return -1;
    }
    /* the whole module in one transaction (PostgreSQL's DDL is
     * transactional), under a lock every node takes: a second node waits,
     * then finds the version the first one wrote */
    char msg[256];
    int version = 0;
    PGresult *r = NULL;
    if (command(pg, "BEGIN") != SB_STORE_OK ||
        command(pg, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")") != SB_STORE_OK ||
        command(pg, "CREATE TABLE IF NOT EXISTS sb_migrations("
                    "module TEXT PRIMARY KEY, version INTEGER NOT NULL)") != SB_STORE_OK)
        goto fail;
    const char *params[2] = {m->module, NULL};
    r = PQexecParams(pg->conn, "SELECT version FROM sb_migrations WHERE module = $1", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        failed(pg, r, NULL, 0);
        goto fail;
    }
    version = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    r = NULL;
    if (version < 0 || (size_t)version > m->pg_count) {
        snprintf(err, err_size, "module %s: database is at version %d, this binary knows %zu",
                 m->module, version, m->pg_count);
        PQclear(PQexec(pg->conn, "ROLLBACK"));
        return -1;
    }
    for (size_t i = (size_t)version; i < m->pg_count; i++) {
        r = PQexec(pg->conn, m->pg_steps[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
            failed(pg, r, msg, sizeof msg);
            snprintf(err, err_size, "module %s: PostgreSQL migration %zu: %s", m->module, i + 1,
                     msg);
            PQclear(r);
            PQclear(PQexec(pg->conn, "ROLLBACK"));
            return -1;
        }
        PQclear(r);
        r = NULL;
        char v[24];
        snprintf(v, sizeof v, "%zu", i + 1);
        const char *set[2] = {m->module, v};
        r = PQexecParams(pg->conn,
                         "INSERT INTO sb_migrations(module, version) VALUES($1, $2::int) "
                         "ON CONFLICT (module) DO UPDATE SET version = excluded.version",
                         2, NULL, set, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            failed(pg, r, NULL, 0);
            goto fail;
        }
        PQclear(r);
        r = NULL;
        sb_log(SB_LOG_INFO, "migrated", "module=%s version=%zu engine=postgres", m->module, i + 1);
    }
    if (command(pg, "COMMIT") != SB_STORE_OK)
        goto fail;
    return 0;
fail:
    PQclear(r);
    snprintf(err, err_size, "module %s: migration: %s", m->module, sb_pg_last_error(pg));
    if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    return -1;
}

/* Statements ------------------------------------------------------------ */

/* The dialect's `?` and `?N` as PostgreSQL's $N, outside quotes and
 * comments; a bare `?` takes the number after the highest so far (SQLite's
 * rule). NULL when out of memory. */
static char *translate(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 8 + 16); /* `?` becomes `$NNNNNN` at most */
    if (!out)
        return NULL;
    size_t o = 0;
    int highest = 0;
    for (size_t i = 0; i < n;) {
        char c = sql[i];
        if (c == '\'' || c == '"') { /* a string or a quoted name: '' or "" inside */
            size_t j = i + 1;
            while (j < n && !(sql[j] == c && (j + 1 >= n || sql[j + 1] != c)))
                j += sql[j] == c ? 2 : 1;
            j = j < n ? j + 1 : n;
            memcpy(out + o, sql + i, j - i);
            o += j - i;
            i = j;
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            size_t j = i;
            while (j < n && sql[j] != '\n')
                j++;
            memcpy(out + o, sql + i, j - i);
            o += j - i;
            i = j;
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            size_t j = end ? (size_t)(end - sql) + 2 : n;
            memcpy(out + o, sql + i, j - i);
            o += j - i;
            i = j;
        } else if (c == '?') {
            int num = 0;
            size_t j = i + 1;
            while (j < n && sql[j] >= '0' && sql[j] <= '9' && num < 100000)
                num = num * 10 + (sql[j++] - '0');
            if (j == i + 1)
                num = highest + 1;
            if (num > highest)
                highest = num;
            o += (size_t)sprintf(out + o, "$%d", num);
            i = j;
        } else {
            out[o++] = c;
            i++;
        }
    }
    out[o] = '\0';
    *nparams = highest;
    return out;
}

sb_stmt *sb_pg_sql(sb_pg *pg, const char *sql)
{
    size_t h = ((uintptr_t)sql >> 3) & (STMT_SLOTS - 1);
    for (size_t i = 0; i < STMT_SLOTS; i++, h = (h + 1) & (STMT_SLOTS - 1)) {
        sb_pg_stmt *st = pg->stmts[h];
        if (st && st->sql == sql) {
            stmt_clear(st);
            for (int k = 0; k < st->nparams; k++) {
                free(st->values[k]);
                st->values[k] = NULL;
            }
            st->nul_param = 0;
            st->changes = 0;
            st->error[0] = '\0';
            return &st->handle;
        }
        if (!st) {
            st = calloc(1, sizeof *st);
            if (!st || !(st->text = translate(sql, &st->nparams)) ||
                (st->nparams && !(st->values = calloc((size_t)st->nparams, sizeof *st->values)))) {
                if (st)
                    free(st->text);
                free(st);
                sb_log(SB_LOG_ERROR, "sql", "msg=\"out of memory\"");
                return NULL;
            }
            st->handle.store = pg->owner;
            st->handle.pg = st;
            st->pg = pg;
            st->sql = sql;
            st->row = -1;
            snprintf(st->name, sizeof st->name, "sb%zu", h);
            pg->stmts[h] = st;
            return &st->handle;
        }
    }
    sb_log(SB_LOG_ERROR, "sql", "msg=\"statement cache full\"");
    return NULL;
}

void sb_pg_bind(sb_pg_stmt *st, int i, const char *text, size_t len)
{
    if (i < 1 || i > st->nparams)
        return; /* as SQLite: out of range is ignored (SQLITE_RANGE) */
    free(st->values[i - 1]);
    st->values[i - 1] = NULL;
    if (st->nul_param == i)
        st->nul_param = 0;
    if (!text)
        return;
    if (memchr(text, '\0', len)) {
        /* PostgreSQL's text cannot hold one: refused at the step, rather
         * than cut short there without a word */
        st->nul_param = i;
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return; /* NULL then: the statement fails on its constraint */
    memcpy(copy, text, len);
    copy[len] = '\0';
    st->values[i - 1] = copy;
}

int sb_pg_step(sb_pg_stmt *st)
{
    if (st->executed) {
        if (st->res && st->row + 1 < st->ntuples) {
            st->row++;
            return SB_SQL_ROW;
        }
        return SB_SQL_DONE;
    }
    st->executed = true;
    sb_pg *pg = st->pg;
    if (st->nul_param) {
        snprintf(st->error, sizeof st->error,
                 "parameter %d holds a NUL byte, which PostgreSQL's text cannot store",
                 st->nul_param);
        snprintf(pg->last_error, sizeof pg->last_error, "%s", st->error);
        sb_log(SB_LOG_WARN, "postgres", "status=\"error\" err=\"%s\"", st->error);
        return SB_STORE_ERROR; /* nothing was sent: the transaction goes on */
    }
    if (pg->poisoned) {
        snprintf(st->error, sizeof st->error, "the turn's transaction was lost: %.180s",
                 pg->last_error);
        return SB_STORE_LOST;
    }
    if (!up(pg))
        return unreachable(pg, st->error, sizeof st->error);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (st->gen != pg->gen) {
        /* first use on this connection: prepare (the server keeps it for
         * the session, whatever its transactions do) */
        PGresult *r =
            PQsendPrepare(pg->conn, st->name, st->text, st->nparams, NULL) ? answer(pg) : NULL;
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            sb_store_status rc = failed(pg, r, st->error, sizeof st->error);
            char v[300];
            sb_log(SB_LOG_ERROR, "postgres_prepare", "sql=%s",
                   sb_log_kv_str(v, sizeof v, st->text));
            PQclear(r);
            return rc;
        }
        PQclear(r);
        st->gen = pg->gen;
    }
    PGresult *r = PQsendQueryPrepared(pg->conn, st->name, st->nparams,
                                      (const char *const *)st->values, NULL, NULL, 0)
                      ? answer(pg)
                      : NULL;
    double dt = seconds_since(&t0);
    pg->n_statements++;
    pg->statement_seconds += dt;
    sb_histogram_observe(pg->m_statement, dt);
    ExecStatusType es = PQresultStatus(r);
    if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
        const char *tag = PQcmdStatus(r);
        bool write = !strncmp(tag, "INSERT", 6) || !strncmp(tag, "UPDATE", 6) ||
                     !strncmp(tag, "DELETE", 6) || !strncmp(tag, "MERGE", 5);
        st->changes = write ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
        if (es == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            st->res = r;
            st->ntuples = PQntuples(r);
            st->row = 0;
            return SB_SQL_ROW;
        }
        PQclear(r);
        return SB_SQL_DONE;
    }
    sb_store_status rc = failed(pg, r, st->error, sizeof st->error);
    PQclear(r);
    return rc;
}

const char *sb_pg_value(sb_pg_stmt *st, int col, size_t *len)
{
    if (!st->res || st->row < 0 || st->row >= st->ntuples || col < 0 || col >= PQnfields(st->res) ||
        PQgetisnull(st->res, st->row, col)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = (size_t)PQgetlength(st->res, st->row, col);
    return PQgetvalue(st->res, st->row, col);
}

int64_t sb_pg_changes(sb_pg_stmt *st)
{
    return st->changes;
}

void sb_pg_reset(sb_pg_stmt *st)
{
    stmt_clear(st);
}

const char *sb_pg_error(sb_pg_stmt *st)
{
    return st->error[0] ? st->error : "not an error";
}

sb_store_status sb_pg_exec(sb_pg *pg, const char *script, char *err, size_t err_size)
{
    if (pg->poisoned) {
        snprintf(err, err_size, "the turn's transaction was lost: %.180s", pg->last_error);
        return SB_STORE_LOST;
    }
    if (!up(pg))
        return unreachable(pg, err, err_size);
    PGresult *r = PQexec(pg->conn, script);
    sb_store_status st = SB_STORE_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK &&
        PQresultStatus(r) != PGRES_EMPTY_QUERY)
        st = failed(pg, r, err, err_size);
    PQclear(r);
    return st;
}
