/*
 * store.c: SQLite with group commit. See store.h for the contract.
 *
 * Why one transaction per loop turn: a commit in WAL mode costs a write of
 * the WAL frames (and an fsync with --sync full). Paying it once for every
 * message that arrived in the same turn is what lets throughput and
 * "acknowledged only after commit" coexist. When to commit is the runtime's
 * decision (rt.c, the end of the turn); this file opens, commits and
 * reports.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_checkpoint.h"
#include "log.h"
#include "metrics.h"
#include "store_pg.h"
#include "store_sql.h"

#define BUSY_TIMEOUT_MS 200 /* a busy database must not stall the loop for long */
#define STMT_SLOTS 256      /* power of two; statements are few and static */

/* Checkpoints are not SQLite's automatic one (every 1000 pages, right inside
 * the commit that crossed it, on the event loop) but the checkpointer's
 * thread's (store_checkpoint.h): at once when the WAL holds this many frames
 * (4 MiB of 4 KiB pages), else once a second. */
#define CHECKPOINT_FRAMES 8192
/* After a checkpoint the WAL restarts from its beginning; the file is cut
 * back to this size then, so that one burst does not keep a huge file. */
#define WAL_SIZE_LIMIT "67108864"

typedef struct after {
    sb_commit_fn fn;
    void *arg;
} after;

struct sb_store {
    sb_pg *pg; /* PostgreSQL (store_pg.c): every call goes there; NULL: SQLite */
    sqlite3 *db;
    bool in_tx;
    struct timespec tx_started;
    after *afters; /* module stores' cache fixes, run at the commit */
    size_t n_after, cap_after;
    void (*on_begin)(void *arg);
    void (*on_lost)(void *arg);
    void *hook_arg;
    sb_checkpointer *ckpt; /* NULL: SQLite's automatic checkpoints (no thread) */
    int wal_frames;        /* after the last commit */
    int wal_cap_frames;    /* the WAL's share of --max-db-size; 0: no quota */
    struct {
        const char *sql; /* handlers pass string constants: the pointer is the key */
        sqlite3_stmt *stmt;
        sb_stmt *wrap; /* its sql.h handle, made on first use (sql.c) */
    } stmts[STMT_SLOTS];
    /* health (sb_store_health): the last write transaction's fate */
    sb_store_status health;  /* SB_STORE_OK, or how the last begin/commit failed */
    char health_reason[160]; /* "commit failed: database or disk is full" */
    sb_gauge *m_healthy;
    sb_histogram *m_commit;
    sb_counter *m_commits, *m_commit_errors;
    sb_gauge *m_wal_frames, *m_checkpoints, *m_checkpoint_failures, *m_checkpoint_us;
};

/* SQLite calls it after each commit with the WAL's frame count. Installing
 * it turns the automatic checkpoint off (sqlite3_wal_autocheckpoint). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    sb_store *s = arg;
    s->wal_frames = frames;
    sb_gauge_set(s->m_wal_frames, frames);
    sb_checkpointer_frames(s->ckpt, frames);
    return SQLITE_OK;
}

sb_pg *sb_store_pg(const sb_store *s)
{
    return s->pg;
}

bool sb_store_is_url(const char *path)
{
    return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
}

void sb_store_set_loop(sb_store *s, struct event_base *base)
{
    if (s->pg)
        sb_pg_set_loop(s->pg, base);
}

void sb_store_publish_stats(sb_store *s)
{
    if (!s->ckpt)
        return;
    sb_checkpointer_stats_t st;
    sb_checkpointer_stats(s->ckpt, &st);
    sb_gauge_set(s->m_checkpoints, st.checkpoints);
    sb_gauge_set(s->m_checkpoint_failures, st.failures);
    sb_gauge_set(s->m_checkpoint_us, st.last_duration_us);
}

sqlite3 *sb_store_db(sb_store *s)
{
    return s->db;
}

sb_stmt **sb_store_stmt_handle(sb_store *s, const char *sql)
{
    if (!sb_store_stmt(s, sql))
        return NULL;
    size_t h = ((uintptr_t)sql >> 3) & (STMT_SLOTS - 1);
    while (s->stmts[h].sql != sql)
        h = (h + 1) & (STMT_SLOTS - 1);
    return &s->stmts[h].wrap;
}

static int exec(sb_store *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        char v[256];
        sb_log_kv_str(v, sizeof v, msg ? msg : sqlite3_errstr(rc));
        sb_log(SB_LOG_ERROR, "sqlite", "rc=%d msg=%s", rc, v);
    }
    sqlite3_free(msg);
    return rc;
}

/* Opening: a statement that meets a lock retries until OPEN_WAIT_MS have
 * passed. Several processes opening one fresh file at once (nodes started
 * together) meet each other's locks in a way the busy handler does not
 * cover: switching a new file to WAL needs its exclusive lock, and SQLite
 * answers SQLITE_BUSY at once to a connection that would deadlock by waiting
 * (tests/integration/18_concurrent_start). Start-up only, before the loop. */
#define OPEN_WAIT_MS 30000

static int open_exec(sb_store *s, const char *sql)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned attempt = 0;; attempt++) {
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            return rc == SQLITE_OK ? rc : exec(s, sql); /* the error, logged */
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long waited =
            (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= OPEN_WAIT_MS)
            return exec(s, sql);
        /* 5 to 20 ms, staggered by attempt and process, so that processes
         * which collided do not collide again in step */
        long ms = 5 + (long)((attempt * 7u + (unsigned)getpid()) % 16u);
        struct timespec nap = {0, ms * 1000000L};
        nanosleep(&nap, NULL);
    }
}

sqlite3_stmt *sb_store_stmt(sb_store *s, const char *sql)
{
    if (s->pg) {
        /* a module store not ported to sql.h yet: its migration refused to
         * start already (no pg_steps), so this is a tool or a test */
        sb_log(SB_LOG_ERROR, "sqlite_prepare", "msg=\"an SQLite statement on PostgreSQL\"");
        return NULL;
    }
    size_t h = ((uintptr_t)sql >> 3) & (STMT_SLOTS - 1);
    for (size_t i = 0; i < STMT_SLOTS; i++, h = (h + 1) & (STMT_SLOTS - 1)) {
        if (s->stmts[h].sql == sql) {
            sqlite3_reset(s->stmts[h].stmt);
            sqlite3_clear_bindings(s->stmts[h].stmt);
            return s->stmts[h].stmt;
        }
        if (!s->stmts[h].sql) {
            sqlite3_stmt *st;
            int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
            if (rc != SQLITE_OK) {
                char v[256];
                sb_log_kv_str(v, sizeof v, sqlite3_errmsg(s->db));
                sb_log(SB_LOG_ERROR, "sqlite_prepare", "msg=%s", v);
                return NULL;
            }
            s->stmts[h].sql = sql;
            s->stmts[h].stmt = st;
            return st;
        }
    }
    sb_log(SB_LOG_ERROR, "sqlite_prepare", "msg=\"statement cache full\"");
    return NULL;
}

/* Run one cached statement that returns no rows: the transaction and
 * savepoint statements run for every message, so they are prepared once
 * rather than parsed by sqlite3_exec each time. */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_SAVEPOINT[] = "SAVEPOINT unit";
static const char SQL_RELEASE[] = "RELEASE unit";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO unit";

static int step_cached(sb_store *s, const char *sql)
{
    sqlite3_stmt *st = sb_store_stmt(s, sql);
    if (!st)
        return SQLITE_ERROR;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return SQLITE_OK;
    char v[256];
    sb_log_kv_str(v, sizeof v, sqlite3_errmsg(s->db));
    sb_log(SB_LOG_ERROR, "sqlite", "sql=\"%s\" rc=%d msg=%s", sql, rc, v);
    return rc;
}

static int lost_transaction(sb_store *s);

/* Record how a begin or a commit went (what: "begin", "commit", ...). A
 * failure makes the store degraded, a success (a commit) healthy again. */
static void health_note(sb_store *s, const char *what, int rc)
{
    if (rc == SQLITE_OK) {
        if (s->health == SB_STORE_OK)
            return; /* every commit comes here: nothing to change */
        sb_log(SB_LOG_INFO, "store_healthy", "after=\"%s\"", s->health_reason);
        s->health = SB_STORE_OK;
        s->health_reason[0] = '\0';
        sb_gauge_set(s->m_healthy, 1);
        return;
    }
    sb_store_status st = sb_store_status_of(rc);
    if (st == SB_STORE_OK)
        st = SB_STORE_ERROR;
    if (s->health == SB_STORE_OK) {
        /* a transition: rare, so the series is looked up here (and logged) */
        sb_log(SB_LOG_WARN, "store_degraded", "failed=%s rc=%d err=\"%s\"", what, rc,
               sqlite3_errstr(rc));
        char labels[48];
        snprintf(labels, sizeof labels, "reason=\"%s\"", sb_store_status_text(st));
        sb_counter_add(sb_counter_get("switchboard_store_degraded_total",
                                      "Times the store turned unhealthy, by the failure", labels),
                       1);
    }
    s->health = st;
    snprintf(s->health_reason, sizeof s->health_reason, "%s failed: %s", what, sqlite3_errstr(rc));
    sb_gauge_set(s->m_healthy, 0);
}

bool sb_store_health(sb_store *s, const char **reason)
{
    if (s->pg)
        return sb_pg_health(s->pg, reason);
    if (s->health == SB_STORE_BUSY && !s->in_tx) {
        /* Degraded by a lock: is it free now? Try to take it without
         * waiting (the loop must not stall), and give it back at once. */
        sqlite3_busy_timeout(s->db, 0);
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            health_note(s, "probe", SQLITE_OK);
        }
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    }
    if (reason)
        *reason = s->health == SB_STORE_OK ? NULL : s->health_reason;
    return s->health == SB_STORE_OK;
}

static void run_afters(sb_store *s, int rc)
{
    /* callbacks may register more (for the next transaction): take the list */
    after *list = s->afters;
    size_t n = s->n_after;
    s->afters = NULL;
    s->n_after = s->cap_after = 0;
    for (size_t i = 0; i < n; i++)
        list[i].fn(list[i].arg, sb_store_status_of(rc));
    free(list);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

sb_store_status sb_store_commit(sb_store *s)
{
    if (s->pg)
        return sb_pg_commit(s->pg);
    int rc = lost_transaction(s);
    if (rc != SQLITE_OK)
        return sb_store_status_of(rc);
    if (s->in_tx) {
        rc = step_cached(s, SQL_COMMIT);
        if (rc != SQLITE_OK) {
            sb_counter_add(s->m_commit_errors, 1);
            sb_log(SB_LOG_ERROR, "commit_failed", "rc=%d err=\"%s\"", rc, sqlite3_errstr(rc));
            if (!sqlite3_get_autocommit(s->db))
                exec(s, "ROLLBACK");
        } else {
            sb_counter_add(s->m_commits, 1);
        }
        health_note(s, "commit", rc);
        sb_histogram_observe(s->m_commit, seconds_since(&s->tx_started));
        s->in_tx = false;
    }
    run_afters(s, sb_store_status_of(rc));
    return sb_store_status_of(rc);
}

bool sb_store_commit_start(sb_store *s, sb_commit_fn done, void *arg, sb_store_status *rc)
{
    if (s->pg)
        return sb_pg_commit_start(s->pg, done, arg, rc);
    *rc = sb_store_commit(s); /* local: the commit is the write itself */
    return false;
}

bool sb_store_committing(const sb_store *s)
{
    return s->pg && sb_pg_committing(s->pg);
}

bool sb_store_waits_on_loop(const sb_store *s)
{
    return s->pg && sb_pg_has_loop(s->pg);
}

void sb_store_quiesce(sb_store *s)
{
    if (s->pg)
        sb_pg_quiesce(s->pg);
}

void sb_store_after_commit(sb_store *s, sb_commit_fn fn, void *arg)
{
    if (s->pg) {
        sb_pg_after_commit(s->pg, fn, arg);
        return;
    }
    if (!s->in_tx) {
        fn(arg, SB_STORE_OK);
        return;
    }
    if (s->n_after == s->cap_after) {
        size_t cap = s->cap_after ? s->cap_after * 2 : 16;
        after *p = realloc(s->afters, cap * sizeof *p);
        if (!p) {
            fn(arg, SB_STORE_NOMEM);
            return;
        }
        s->afters = p;
        s->cap_after = cap;
    }
    s->afters[s->n_after++] = (after){fn, arg};
}

void sb_store_end_reads(sb_store *s)
{
    if (s->pg) {
        sb_pg_end_reads(s->pg);
        return;
    }
    if (s->in_tx)
        return; /* its statements end with its commit */
    for (sqlite3_stmt *st = sqlite3_next_stmt(s->db, NULL); st; st = sqlite3_next_stmt(s->db, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    /* Under a size quota the WAL must stay within its share: the
     * checkpointer's PASSIVE checkpoints cannot shrink it while writes keep
     * coming, so past its share the loop folds it back and truncates it
     * itself (a TRUNCATE checkpoint: the loop waits for it, only then). */
    if (s->wal_cap_frames && s->wal_frames > s->wal_cap_frames) {
        int log = 0, done = 0;
        if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) ==
            SQLITE_OK)
            s->wal_frames = 0;
    }
}

bool sb_store_in_tx(const sb_store *s)
{
    if (s->pg)
        return sb_pg_in_tx(s->pg);
    return s->in_tx;
}

void sb_store_set_hooks(sb_store *s, void (*on_begin)(void *arg), void (*on_lost)(void *arg),
                        void *arg)
{
    if (s->pg) {
        sb_pg_set_hooks(s->pg, on_begin, on_lost, arg);
        return;
    }
    s->on_begin = on_begin;
    s->on_lost = on_lost;
    s->hook_arg = arg;
}

/* Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) make SQLite roll back
 * the whole transaction by itself. Then every message of the turn so far is
 * lost: the runtime learns it now (on_lost fails their deliveries), and the
 * next write opens a new transaction. Without this check, later writes of the turn would run in
 * autocommit mode and be stored while their senders were told they were not. */
static int lost_transaction(sb_store *s) /* 0, or the error the callbacks got */
{
    if (!s->in_tx || !sqlite3_get_autocommit(s->db))
        return 0;
    int rc = sqlite3_errcode(s->db);
    if (rc == SQLITE_OK)
        rc = SQLITE_ABORT; /* rolled back without an error code to tell */
    sb_counter_add(s->m_commit_errors, 1);
    sb_log(SB_LOG_ERROR, "transaction_lost", "rc=%d err=\"%s\"", rc, sqlite3_errstr(rc));
    health_note(s, "commit", rc); /* the transaction will never commit */
    s->in_tx = false;
    run_afters(s, sb_store_status_of(rc));
    if (s->on_lost)
        s->on_lost(s->hook_arg);
    return rc;
}

bool sb_store_lost(sb_store *s)
{
    if (s->pg)
        return sb_pg_lost(s->pg);
    return lost_transaction(s) != 0;
}

sb_store_status sb_store_begin(sb_store *s)
{
    if (s->pg)
        return sb_pg_begin(s->pg);
    lost_transaction(s);
    if (s->in_tx)
        return SB_STORE_OK;
    /* BEGIN IMMEDIATE: take the write lock now, so that a busy database
     * fails here, before the handler has done half its work */
    int rc = step_cached(s, SQL_BEGIN);
    if (rc != SQLITE_OK) {
        health_note(s, "begin", rc);
        return sb_store_status_of(rc);
    }
    s->in_tx = true;
    clock_gettime(CLOCK_MONOTONIC, &s->tx_started);
    if (s->on_begin)
        s->on_begin(s->hook_arg);
    return SB_STORE_OK;
}

sb_store_status sb_store_unit_begin(sb_store *s)
{
    if (s->pg)
        return sb_pg_unit_begin(s->pg);
    sb_store_status st = sb_store_begin(s);
    if (st != SB_STORE_OK)
        return st;
    return sb_store_status_of(step_cached(s, SQL_SAVEPOINT));
}

void sb_store_unit_end(sb_store *s, bool ok)
{
    if (s->pg) {
        sb_pg_unit_end(s->pg, ok);
        return;
    }
    if (lost_transaction(s))
        return; /* the savepoint went with it */
    if (!ok)
        step_cached(s, SQL_ROLLBACK_TO);
    step_cached(s, SQL_RELEASE);
}

static int mkdir_parent(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(dir, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(dir, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

sb_store *sb_store_open(const char *path, bool sync_full, char *err, size_t err_size)
{
    sb_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (sb_store_is_url(path)) {
        s->pg = sb_pg_open(path, s, err, err_size);
        if (!s->pg) {
            free(s);
            return NULL;
        }
        return s;
    }
    if (mkdir_parent(path) != 0) {
        snprintf(err, err_size, "%s: cannot create its directory: %s", path, strerror(errno));
        free(s);
        return NULL;
    }
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    /* a busy database must not stall the loop for long */
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (open_exec(s, "PRAGMA journal_mode=WAL") != SQLITE_OK ||
        open_exec(s, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") !=
            SQLITE_OK ||
        open_exec(s, "PRAGMA foreign_keys=ON") != SQLITE_OK ||
        open_exec(s, "PRAGMA temp_store=MEMORY") != SQLITE_OK ||
        open_exec(s, "PRAGMA journal_size_limit=" WAL_SIZE_LIMIT) != SQLITE_OK ||
        open_exec(s, "CREATE TABLE IF NOT EXISTS sb_migrations("
                     "module TEXT PRIMARY KEY, version INTEGER NOT NULL)") != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                    0.01,   0.025,   0.05,   0.1,   0.25,   1.0};
    s->m_commit = sb_histogram_new("switchboard_commit_seconds",
                                   "Group commit latency, transaction begin to commit", NULL,
                                   bounds, sizeof bounds / sizeof bounds[0]);
    s->m_wal_frames =
        sb_gauge_new("switchboard_wal_frames", "Frames in the WAL after the last commit", NULL);
    s->m_checkpoints =
        sb_gauge_new("switchboard_checkpoints", "WAL checkpoints done by the checkpointer", NULL);
    s->m_checkpoint_failures =
        sb_gauge_new("switchboard_checkpoint_failures", "WAL checkpoints that failed", NULL);
    s->m_checkpoint_us = sb_gauge_new("switchboard_checkpoint_last_us",
                                      "Duration of the last WAL checkpoint, microseconds", NULL);
    char cerr[256];
    s->ckpt = sb_checkpointer_start(path, CHECKPOINT_FRAMES, cerr, sizeof cerr);
    if (s->ckpt)
        sqlite3_wal_hook(s->db, wal_hook, s);
    else /* SQLite's own checkpoints then, on the loop */
        sb_log(SB_LOG_WARN, "checkpointer", "error=\"%s\"", cerr);
    s->m_healthy = sb_gauge_new(
        "switchboard_healthy", "1 while the last write transaction committed (see /healthz)", NULL);
    sb_gauge_set(s->m_healthy, 1);
    s->m_commits = sb_counter_new("switchboard_commits_total", "Group commits", NULL);
    s->m_commit_errors =
        sb_counter_new("switchboard_commit_errors_total", "Group commits that failed", NULL);
    return s;
}

int sb_store_set_max_bytes(sb_store *s, size_t bytes)
{
    if (s->pg)
        return bytes ? -1 : 0; /* PostgreSQL's disk is its server's business */
    char sql[96];
    sqlite3_stmt *st;
    long long page = 4096;
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            page = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    /* The quota covers the WAL too: three quarters for the database file
     * (max_page_count is what SQLite enforces; 0 would mean "no pages"), a
     * quarter for the WAL, kept there by checkpointing once it holds that
     * much and cutting its file back to it when it starts over. */
    size_t wal = bytes / 4;
    long long pages = bytes ? (long long)((bytes - wal) / (size_t)page) : 0xfffffffeLL;
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages > 0 ? pages : 1);
    if (exec(s, sql) != SQLITE_OK)
        return -1;
    long long limit = bytes ? (long long)wal : atoll(WAL_SIZE_LIMIT);
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %lld", limit);
    if (exec(s, sql) != SQLITE_OK)
        return -1;
    s->wal_cap_frames = bytes ? (int)((long long)wal / (page + 24)) : 0;
    if (s->ckpt) {
        /* a frame is a page and a 24-byte header; checkpoint at half the
         * WAL's share, so that frames written meanwhile still fit */
        long long frames = bytes ? (long long)wal / 2 / (page + 24) : CHECKPOINT_FRAMES;
        if (frames > CHECKPOINT_FRAMES)
            frames = CHECKPOINT_FRAMES;
        sb_checkpointer_set_threshold(s->ckpt, frames > 8 ? (int)frames : 8);
    }
    return 0;
}

int sb_store_migrate(sb_store *s, const sb_migration *m, char *err, size_t err_size)
{
    if (s->pg)
        return sb_pg_migrate(s->pg, m, err, err_size);
    if (s->in_tx || !sqlite3_get_autocommit(s->db)) {
        snprintf(err, err_size, "module %s: migrating inside a transaction (last error: %s)",
                 m->module, sqlite3_errmsg(s->db));
        return -1;
    }
    /* Several processes on one file: each step under the write lock, the
     * version read inside it. BEGIN IMMEDIATE waits (busy timeout) for a
     * node migrating now; once it has the lock the version it reads is the
     * committed one, so a step another node ran is not run again. */
    for (;;) {
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
        for (int tries = 0; rc == SQLITE_BUSY && tries < 50; tries++) {
            /* a start-up must not fail because another node holds the lock
             * longer than the busy timeout (its own migration) */
            sqlite3_free(msg);
            msg = NULL;
            rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
        }
        if (rc != SQLITE_OK) {
            snprintf(err, err_size, "module %s: migration: %s", m->module,
                     msg ? msg : sqlite3_errmsg(s->db));
            sqlite3_free(msg);
            return -1;
        }
        sqlite3_stmt *get = sb_store_stmt(s, "SELECT version FROM sb_migrations WHERE module = ?1");
        if (!get) {
            snprintf(err, err_size, "module %s: migration: %s", m->module, sqlite3_errmsg(s->db));
            exec(s, "ROLLBACK");
            return -1;
        }
        sqlite3_bind_text(get, 1, m->module, -1, SQLITE_STATIC);
        int version = sqlite3_step(get) == SQLITE_ROW ? sqlite3_column_int(get, 0) : 0;
        sqlite3_reset(get);
        if (version < 0 || (size_t)version > m->count) {
            snprintf(err, err_size, "module %s: database is at version %d, this binary knows %zu",
                     m->module, version, m->count);
            exec(s, "ROLLBACK");
            return -1;
        }
        if ((size_t)version == m->count) {
            exec(s, "COMMIT"); /* nothing written: only the lock to give back */
            return 0;
        }
        size_t i = (size_t)version;
        if (sqlite3_exec(s->db, m->steps[i], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, err_size, "module %s: migration %zu: %s", m->module, i + 1,
                     msg ? msg : sqlite3_errmsg(s->db));
            sqlite3_free(msg);
            if (!sqlite3_get_autocommit(s->db))
                exec(s, "ROLLBACK");
            return -1;
        }
        sqlite3_stmt *set =
            sb_store_stmt(s, "INSERT INTO sb_migrations(module, version) VALUES(?1, ?2) "
                             "ON CONFLICT(module) DO UPDATE SET version = excluded.version");
        if (set) {
            sqlite3_bind_text(set, 1, m->module, -1, SQLITE_STATIC);
            sqlite3_bind_int(set, 2, (int)i + 1);
        }
        if (!set || sqlite3_step(set) != SQLITE_DONE || exec(s, "COMMIT") != SQLITE_OK) {
            snprintf(err, err_size, "module %s: migration %zu: %s", m->module, i + 1,
                     sqlite3_errmsg(s->db));
            if (set)
                sqlite3_reset(set);
            if (!sqlite3_get_autocommit(s->db))
                exec(s, "ROLLBACK");
            return -1;
        }
        sqlite3_reset(set);
        sb_log(SB_LOG_INFO, "migrated", "module=%s version=%zu", m->module, i + 1);
    }
}

void sb_store_set_busy_wait(sb_store *s, int ms)
{
    if (!s->pg)
        sqlite3_busy_timeout(s->db, ms > 0 ? ms : BUSY_TIMEOUT_MS);
}

void sb_store_rollback(sb_store *s)
{
    if (s->pg) {
        sb_pg_rollback(s->pg);
        return;
    }
    if (s->in_tx && !sqlite3_get_autocommit(s->db))
        exec(s, "ROLLBACK");
    bool was = s->in_tx;
    s->in_tx = false;
    if (was)
        run_afters(s, SQLITE_ABORT);
}

void sb_store_close(sb_store *s)
{
    if (!s)
        return;
    if (s->pg) {
        sb_pg_close(s->pg);
        free(s);
        return;
    }
    sb_store_commit(s);
    for (size_t i = 0; i < STMT_SLOTS; i++) {
        if (s->stmts[i].stmt)
            sqlite3_finalize(s->stmts[i].stmt);
        free(s->stmts[i].wrap);
    }
    sb_checkpointer_stop(s->ckpt);
    sqlite3_close(s->db);
    free(s->afters);
    free(s);
}
