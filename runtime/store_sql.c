/*
 * store_sql.c: the parts of the storage seam that are not the group commit
 * (store.c): statuses, the readiness ping, cursors.
 */
#include "sql.h"
#include "store_pg.h"
#include "store_sql.h"

sb_store_status sb_store_status_of(int sqlite_rc)
{
    /* Only SQLITE_OK is success. Not SQLITE_ROW or SQLITE_DONE: store.c
     * passes on sqlite3_errcode() after a transaction SQLite rolled back,
     * which may still hold a step's SQLITE_DONE, and that is a failure. */
    switch (sqlite_rc & 0xff) { /* the primary code of an extended one */
    case SQLITE_OK:
        return SB_STORE_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SB_STORE_BUSY;
    case SQLITE_FULL:
        return SB_STORE_FULL;
    case SQLITE_IOERR:
        return SB_STORE_IO;
    case SQLITE_NOMEM:
        return SB_STORE_NOMEM;
    case SQLITE_ABORT:
        return SB_STORE_LOST;
    default:
        return SB_STORE_ERROR;
    }
}

const char *sb_store_status_text(sb_store_status st)
{
    switch (st) {
    case SB_STORE_OK:
        return "ok";
    case SB_STORE_ERROR:
        return "error";
    case SB_STORE_BUSY:
        return "busy";
    case SB_STORE_FULL:
        return "full";
    case SB_STORE_IO:
        return "I/O error";
    case SB_STORE_NOMEM:
        return "out of memory";
    case SB_STORE_LOST:
        return "transaction lost";
    }
    return "unknown";
}

sb_store_status sb_store_ping(sb_store *s)
{
    if (sb_store_pg(s))
        return sb_pg_ping(sb_store_pg(s));
    return sb_store_status_of(sqlite3_exec(sb_store_db(s), "SELECT 1", NULL, NULL, NULL));
}

const char *sb_store_last_error(sb_store *s)
{
    if (sb_store_pg(s))
        return sb_pg_last_error(sb_store_pg(s));
    return sqlite3_errmsg(sb_store_db(s));
}

void sb_cursor_close(sb_cursor *c)
{
    if (c->impl && c->kind == 1)
        sb_sql_reset(c->impl);
    else if (c->impl)
        sqlite3_reset(c->impl);
    c->impl = NULL;
}
