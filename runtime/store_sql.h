/*
 * store_sql.h: the SQLite side of the storage seam (see store.h), for module
 * stores only: runtime/store*.c and handlers/<module>_store.c (and their
 * tests). Handlers, serve.c and the rest of the runtime include store.h,
 * which names no SQLite type, so that the engine behind the stores can
 * change without them.
 */
#ifndef SB_STORE_SQL_H
#define SB_STORE_SQL_H

#include <sqlite3.h>

#include "store.h"

sqlite3 *sb_store_db(sb_store *s);
/* sql.c's handle slot for a cached statement (NULL when it cannot be
 * prepared): the statement is reset and its bindings cleared. */
typedef struct sb_stmt sb_stmt;
sb_stmt **sb_store_stmt_handle(sb_store *s, const char *sql);
/* A prepared statement cached for the store's lifetime, reset and with its
 * bindings cleared. NULL on error (logged). */
sqlite3_stmt *sb_store_stmt(sb_store *s, const char *sql);

/* An SQLite result code as the store's status: SQLITE_OK is SB_STORE_OK,
 * every other code (SQLITE_ROW and SQLITE_DONE too) a failure. */
sb_store_status sb_store_status_of(int sqlite_rc);

/* A cursor's statement: NULL when it is not started (or closed). */
static inline sqlite3_stmt *sb_cursor_stmt(const sb_cursor *c)
{
    return c->impl;
}
/* Start a cursor on a statement (from sb_store_stmt, bound). */
static inline void sb_cursor_start(sb_cursor *c, sqlite3_stmt *st)
{
    c->impl = st;
    c->kind = 0;
}

#endif
