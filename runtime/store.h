/*
 * store.h: SQLite storage with group commit.
 *
 * One write transaction per loop turn: the first write of a turn opens it
 * (sb_store_begin), and the runtime commits it at the end of the turn
 * (rt.h), before it delivers what the turn's handlers queued in the outbox:
 * nobody hears of a write before it is durable. A handler's own writes are
 * wrapped in a savepoint (sb_store_unit_begin / _end), so one failing
 * message rolls back alone, not the whole turn.
 *
 * Durability: WAL mode. synchronous=NORMAL (the default) survives a crash of
 * the process (kill -9) but not of the machine; --sync full fsyncs each
 * group commit and survives both.
 *
 * The storage seam: this header is what handlers and serve.c see, and it
 * names no SQLite type or constant. A module's SQL lives in its own store
 * (handlers/<module>_store.c), which alone includes store_sql.h, the
 * SQLite side of the seam. Another engine (PostgreSQL) can then replace the
 * stores without a handler changing.
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sb_store sb_store;

/* What a storage call came to. 0 is success; the others are negative, so
 * that both `!= SB_STORE_OK` and `< 0` read as "failed". */
typedef enum sb_store_status {
    SB_STORE_OK = 0,
    SB_STORE_ERROR = -1, /* any other failure (constraint, misuse, corrupt file) */
    SB_STORE_BUSY = -2,  /* locked by another connection or process */
    SB_STORE_FULL = -3,  /* disk full, or the size quota reached */
    SB_STORE_IO = -4,    /* an I/O error */
    SB_STORE_NOMEM = -5, /* out of memory */
    SB_STORE_LOST = -6,  /* the transaction was rolled back without an error to tell */
} sb_store_status;
/* "ok", "busy", "full", ...: for logs. */
const char *sb_store_status_text(sb_store_status st);

/* A module's schema history, once per engine: `steps` on SQLite,
 * `pg_steps` on PostgreSQL (a separate history: PostgreSQL started from
 * each module's schema of the day it arrived). A module without pg_steps
 * cannot start on PostgreSQL (sb_store_migrate names it). */
typedef struct sb_migration {
    const char *module;       /* "chat" */
    const char *const *steps; /* SQL scripts, step i takes the module to version i+1 */
    size_t count;
    const char *const *pg_steps; /* the same on PostgreSQL; NULL: not ported */
    size_t pg_count;
} sb_migration;

/* Opens a store. `path` is an SQLite file (created, with its directory,
 * if needed; WAL mode), or a PostgreSQL URL, postgres://... or
 * postgresql://... (any libpq parameter as a query string: ?sslmode=...).
 * On PostgreSQL this waits for the first connection (connect_timeout,
 * 5 s unless the URL says otherwise); later reconnections run on the loop
 * (sb_store_set_loop). sync_full is SQLite's. NULL on error, with a
 * message in err (a URL's password is never in it). */
sb_store *sb_store_open(const char *path, bool sync_full, char *err, size_t err_size);
/* Does `path` name a PostgreSQL database (postgres:// or postgresql://)? */
bool sb_store_is_url(const char *path);
/* The event loop the store may use for work of its own: on PostgreSQL,
 * reconnecting after the server went away, without blocking the loop, and
 * noticing that it went away while idle. NULL detaches (before the base is
 * freed). SQLite needs none. */
struct event_base;
void sb_store_set_loop(sb_store *s, struct event_base *base);
void sb_store_close(sb_store *s); /* commits what is pending first */

/* A size quota for the database and its WAL together (three quarters for
 * the file, a quarter for the WAL): writes that would grow it past `bytes` fail with
 * SB_STORE_FULL (reported like a full disk). 0 removes it. 0, or -1.
 * SQLite only: -1 on PostgreSQL (whose disk is the server's business). */
int sb_store_set_max_bytes(sb_store *s, size_t bytes);

/* Bring a module's tables to its newest version (each step in its own
 * transaction; the versions live in table sb_migrations). 0, or -1 with a
 * message in err. */
int sb_store_migrate(sb_store *s, const sb_migration *m, char *err, size_t err_size);

/* Does the database answer (a trivial query)? For readiness checks. */
sb_store_status sb_store_ping(sb_store *s);
/* Is the store healthy, as far as writes go? false when the last write
 * transaction failed to open or to commit (a full disk or quota, a database
 * locked by another process, an I/O error) or SQLite rolled it back by
 * itself; *reason (may be NULL) then names it ("commit failed: database or
 * disk is full", "begin failed: database is locked"), valid until the next
 * call on the store. The state is fed by every begin and commit, and clears
 * by itself: with the next commit that succeeds, or, when a lock was the
 * failure, as soon as this call (with no transaction open) can take the
 * write lock without waiting (it is released at once). Also in /metrics:
 * switchboard_healthy (1/0) and switchboard_store_degraded_total{reason=
 * "busy"|"full"|"io"|...}, counted when the state turns degraded. */
bool sb_store_health(sb_store *s, const char **reason);
/* The message of the last failed call on this store's connection
 * ("not an error" when none): for an operator's error output. */
const char *sb_store_last_error(sb_store *s);

/* Open this turn's transaction if it is not open, and schedule its commit. */
sb_store_status sb_store_begin(sb_store *s);
/* One handler's writes: a savepoint inside the turn's transaction. end with
 * ok=false rolls back to it. */
sb_store_status sb_store_unit_begin(sb_store *s);
void sb_store_unit_end(sb_store *s, bool ok);

/* After writes made without a unit: true when SQLite rolled the turn's whole
 * transaction back by itself (a full disk, an I/O error); on_lost has run,
 * and the writes are gone. */
bool sb_store_lost(sb_store *s);

/* For module stores' caches only (a row cached by a transaction that did
 * not commit must be forgotten): fn(arg, rc) runs right after the commit,
 * rc SB_STORE_OK or the sb_store_status it failed with, or at once when no
 * transaction is open. What to send after a commit goes to the runtime's
 * outbox (outbox.h), not here. */
typedef void (*sb_commit_fn)(void *arg, int rc);
void sb_store_after_commit(sb_store *s, sb_commit_fn fn, void *arg);

/* Reset every statement a read left stepped (a row handed out stays valid
 * until the next read, so its statement is not reset at once). Such a
 * statement keeps a read snapshot open, and no checkpoint can move the WAL
 * past it: the WAL then grows without bound. The end of turn calls it,
 * after the commit; rows read before are invalid after it. */
void sb_store_end_reads(sb_store *s);

/* Copy the checkpointer's counters into /metrics (call from the loop). */
void sb_store_publish_stats(sb_store *s);

/* The turn's transaction is open. */
bool sb_store_in_tx(const sb_store *s);
/* The runtime's hooks: on_begin when a transaction opens (arm the end of
 * turn), on_lost when SQLite rolled it back by itself (fail what waited). */
void sb_store_set_hooks(sb_store *s, void (*on_begin)(void *arg), void (*on_lost)(void *arg),
                        void *arg);
/* Commit the open transaction, if any (then rolled back on failure). The
 * runtime's end of turn calls it; shutdown and tests too. */
sb_store_status sb_store_commit(sb_store *s);
/* The end of turn's commit, without waiting for it where the engine can:
 * on PostgreSQL (with a loop) the COMMIT is sent and true returned; its
 * answer arrives on the loop and done(arg, rc) runs then, after the
 * after-commit callbacks, or earlier, inside the next call that needs the
 * connection (which waits for it first). done must only note the result.
 * Otherwise (SQLite, nothing to commit, PostgreSQL unreachable) the commit
 * happens here, *rc says how it went, done is not called and false is
 * returned. */
bool sb_store_commit_start(sb_store *s, sb_commit_fn done, void *arg, sb_store_status *rc);
/* A commit started so is on its way. */
bool sb_store_committing(const sb_store *s);
/* Does a statement wait for its answer on the loop? true on PostgreSQL
 * with a loop: a statement made on a coroutine (coro.h) yields until its
 * answer has come, and the runtime runs handler calls on one (jobs.h).
 * SQLite answers from the local file: never. */
bool sb_store_waits_on_loop(const sb_store *s);
/* A statement made on a coroutine is waiting for its answer: finish that
 * coroutine now, blocking (the caller holds coroutines: coro.h). The store
 * does it by itself before any call from the main stack that needs the
 * connection; the runtime calls it to finish what waits before a
 * connection's close, a timer, a shutdown. */
void sb_store_quiesce(sb_store *s);
/* SQLite: how long a statement waits for another process's write lock (ms;
 * 0: the default, short, so that a busy database does not stall the loop).
 * Start-up waits longer: another node may be migrating or seeding. */
void sb_store_set_busy_wait(sb_store *s, int ms);
/* Roll the open transaction back, if any (an error path that must not
 * leave it open: a start-up step that failed half-way). Its after-commit
 * callbacks get SB_STORE_LOST (or SQLite's abort status). */
void sb_store_rollback(sb_store *s);
/* A module store's row iterator keeps its place in a cursor, which the
 * caller owns and starts as SB_CURSOR_INIT:
 *
 *     sb_cursor cur = SB_CURSOR_INIT;
 *     while ((rc = chat_room_history(cs, room, 0, 50, &cur, &row)) == 1)
 *         ...;
 *
 * An iterator that returned 0 (done) or -1 (error) has closed it; one left
 * before the end must be closed with sb_cursor_close (closing twice, or a
 * cursor never started, is harmless). The row an iterator fills is valid
 * until its next call. What `impl` points to is the store's business. */
typedef struct sb_cursor {
    void *impl; /* NULL: not started, or closed */
    int kind;   /* the store's business */
} sb_cursor;
#define SB_CURSOR_INIT                                                                             \
    {                                                                                              \
        NULL, 0                                                                                    \
    }
void sb_cursor_close(sb_cursor *c);

#endif
