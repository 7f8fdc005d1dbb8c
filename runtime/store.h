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
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

typedef struct sb_store sb_store;

typedef struct sb_migration {
    const char *module;       /* "chat" */
    const char *const *steps; /* SQL scripts, step i takes the module to version i+1 */
    size_t count;
} sb_migration;

/* Opens (creating the file and its directory if needed) and applies WAL
 * settings. NULL on error, with a message in err. */
sb_store *sb_store_open(const char *path, bool sync_full, char *err, size_t err_size);
void sb_store_close(sb_store *s); /* commits what is pending first */

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
 * transaction back by itself (SQLITE_FULL, SQLITE_IOERR); on_lost has run,
 * and the writes are gone. */
bool sb_store_lost(sb_store *s);

/* For module stores' caches only (a row cached by a transaction that did
 * not commit must be forgotten): fn(arg, rc) runs right after the commit,
 * SQLITE_OK or not, or at once when no transaction is open. What to send
 * after a commit goes to the runtime's outbox (outbox.h), not here. */
typedef void (*sb_commit_fn)(void *arg, int rc);
void sb_store_after_commit(sb_store *s, sb_commit_fn fn, void *arg);

/* The turn's transaction is open. */
bool sb_store_in_tx(const sb_store *s);
/* The runtime's hooks: on_begin when a transaction opens (arm the end of
 * turn), on_lost when SQLite rolled it back by itself (fail what waited). */
void sb_store_set_hooks(sb_store *s, void (*on_begin)(void *arg), void (*on_lost)(void *arg),
                        void *arg);
/* Commit the open transaction, if any: SQLITE_OK or the error (it is then
 * rolled back). The runtime's end of turn calls it; shutdown and tests too. */
int sb_store_commit(sb_store *s);

#endif
