/*
 * store_pg.h: the PostgreSQL engine behind the storage seam, for store.c,
 * store_sql.c and sql.c only (they dispatch to it when the store was opened
 * on a postgres:// URL). Handlers and module stores never include it: they
 * see store.h and sql.h, the same on both engines.
 *
 * The dispatch is one pointer test at the top of each seam call (store.c:
 * s->pg, sql.c: st->pg), so the SQLite path pays one predictable branch.
 */
#ifndef SB_STORE_PG_H
#define SB_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql.h"
#include "store.h"

typedef struct sb_pg sb_pg;
typedef struct sb_pg_stmt sb_pg_stmt;

/* A statement handle of sql.h, on either engine. */
struct sqlite3_stmt;
struct sb_stmt {
    sb_store *store;
    struct sqlite3_stmt *st; /* SQLite: the cached statement */
    int64_t changes;         /* SQLite: after the last SB_SQL_DONE */
    sb_pg_stmt *pg;          /* PostgreSQL: NULL on SQLite */
};

/* store.c: the engine of a store (NULL: SQLite). */
sb_pg *sb_store_pg(const sb_store *s);

/* The engine (store_pg.c). `owner` is the sb_store the handles point to. */
sb_pg *sb_pg_open(const char *url, sb_store *owner, char *err, size_t err_size);
void sb_pg_close(sb_pg *pg);
void sb_pg_set_loop(sb_pg *pg, struct event_base *base);
int sb_pg_migrate(sb_pg *pg, const sb_migration *m, char *err, size_t err_size);
sb_store_status sb_pg_ping(sb_pg *pg);
bool sb_pg_health(sb_pg *pg, const char **reason);
const char *sb_pg_last_error(sb_pg *pg);
sb_store_status sb_pg_begin(sb_pg *pg);
sb_store_status sb_pg_unit_begin(sb_pg *pg);
void sb_pg_unit_end(sb_pg *pg, bool ok);
bool sb_pg_lost(sb_pg *pg);
void sb_pg_after_commit(sb_pg *pg, sb_commit_fn fn, void *arg);
void sb_pg_end_reads(sb_pg *pg);
bool sb_pg_in_tx(const sb_pg *pg);
void sb_pg_set_hooks(sb_pg *pg, void (*on_begin)(void *arg), void (*on_lost)(void *arg), void *arg);
sb_store_status sb_pg_commit(sb_pg *pg);
bool sb_pg_commit_start(sb_pg *pg, sb_commit_fn done, void *arg, sb_store_status *rc);
bool sb_pg_committing(const sb_pg *pg);
bool sb_pg_has_loop(const sb_pg *pg);
void sb_pg_quiesce(sb_pg *pg);
void sb_pg_rollback(sb_pg *pg);

/* Statements (sql.h on PostgreSQL). */
sb_stmt *sb_pg_sql(sb_pg *pg, const char *sql);
void sb_pg_bind(sb_pg_stmt *st, int i, const char *text, size_t len); /* text NULL: NULL */
int sb_pg_step(sb_pg_stmt *st);
const char *sb_pg_value(sb_pg_stmt *st, int col, size_t *len); /* NULL: SQL NULL */
int64_t sb_pg_changes(sb_pg_stmt *st);
void sb_pg_reset(sb_pg_stmt *st);
const char *sb_pg_error(sb_pg_stmt *st);
sb_store_status sb_pg_exec(sb_pg *pg, const char *script, char *err, size_t err_size);

#endif
