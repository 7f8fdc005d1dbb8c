/*
 * store.h: SQLite storage with group commit.
 *
 * One write transaction per loop turn: the first write of a turn opens it
 * (sb_store_begin), and a lowest-priority event commits it after every
 * socket event of the turn has been handled. Whatever a handler must only do
 * once its writes are durable (acknowledge, fan out) it registers with
 * sb_store_after_commit(); the callback learns whether the commit succeeded.
 * A handler's own writes are wrapped in a savepoint (sb_store_unit_begin /
 * _end), so one failing message rolls back alone, not the whole turn.
 *
 * Durability: WAL mode. synchronous=NORMAL (the default) survives a crash of
 * the process (kill -9) but not of the machine; --sync full fsyncs each
 * group commit and survives both.
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

struct event_base;
typedef struct sb_store sb_store;

typedef struct sb_migration {
    const char *module;       /* "chat" */
    const char *const *steps; /* SQL scripts, step i takes the module to version i+1 */
    size_t count;
} sb_migration;

/* Opens (creating the file and its directory if needed) and applies WAL
 * settings. NULL on error, with a message in err. */
sb_store *sb_store_open(struct event_base *base, const char *path, bool sync_full, char *err,
                        size_t err_size);
void sb_store_close(sb_store *s); /* commits what is pending first */

/* Commit at most this long after the turn's first write, instead of at the
 * end of the turn: later turns' writes join the same transaction. Fewer,
 * larger commits cost less per message; the acknowledgement waits up to the
 * window. 0 (the default) commits at the end of every turn. */
void sb_store_set_commit_window(sb_store *s, int usec);

/* A size quota: writes that would grow the database past `bytes` fail with
 * SQLITE_FULL (then reported like a full disk). 0 removes it. */
int sb_store_set_max_bytes(sb_store *s, size_t bytes);

/* Bring a module's tables to its newest version (each step in its own
 * transaction; the versions live in table sb_migrations). */
int sb_store_migrate(sb_store *s, const sb_migration *m, char *err, size_t err_size);

sqlite3 *sb_store_db(sb_store *s);
/* A prepared statement cached for the store's lifetime, reset and with its
 * bindings cleared. NULL on error (logged). */
sqlite3_stmt *sb_store_stmt(sb_store *s, const char *sql);

/* Open this turn's transaction if it is not open, and schedule its commit. */
int sb_store_begin(sb_store *s);
/* One handler's writes: a savepoint inside the turn's transaction. end with
 * ok=false rolls back to it. */
int sb_store_unit_begin(sb_store *s);
void sb_store_unit_end(sb_store *s, bool ok);

/* After writes made without a unit: true when SQLite rolled the turn's whole
 * transaction back by itself (SQLITE_FULL, SQLITE_IOERR); the callbacks
 * registered so far have been told, and the writes are gone. */
bool sb_store_lost(sb_store *s);

/* rc is SQLITE_OK when the turn's transaction committed. */
typedef void (*sb_commit_fn)(void *arg, int rc);
/* Runs fn(arg, rc) after this turn's commit (or at once with SQLITE_OK when
 * no transaction is open, for read-only work that wants the same path). */
void sb_store_after_commit(sb_store *s, sb_commit_fn fn, void *arg);
/* Commit now (shutdown, tests). */
int sb_store_commit(sb_store *s);

#endif
