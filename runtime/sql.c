/*
 * sql.c: the statement API (sql.h). On SQLite a handle wraps the store's
 * cached sqlite3_stmt; on PostgreSQL (store_pg.c) its `pg` part does the
 * work, and each call here is one test of that pointer away from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sql.h"
#include "store_pg.h"
#include "store_sql.h"

sb_stmt *sb_sql(sb_store *s, const char *sql)
{
    sb_pg *pg = sb_store_pg(s);
    if (pg)
        return sb_pg_sql(pg, sql);
    sb_stmt **slot = sb_store_stmt_handle(s, sql);
    if (!slot)
        return NULL;
    if (!*slot) {
        sb_stmt *h = calloc(1, sizeof *h);
        if (!h) {
            sb_log(SB_LOG_ERROR, "sql", "msg=\"out of memory\"");
            return NULL;
        }
        h->store = s;
        h->st = sb_store_stmt(s, sql);
        *slot = h;
    }
    (*slot)->changes = 0;
    return *slot;
}

void sb_sql_bind_int64(sb_stmt *st, int i, int64_t v)
{
    if (st->pg) {
        char text[24];
        int n = snprintf(text, sizeof text, "%lld", (long long)v);
        sb_pg_bind(st->pg, i, text, (size_t)n);
        return;
    }
    sqlite3_bind_int64(st->st, i, v);
}

void sb_sql_bind_text(sb_stmt *st, int i, const char *v, size_t len)
{
    if (st->pg) {
        sb_pg_bind(st->pg, i, v, v && len == SB_SQL_NUL ? strlen(v) : len);
        return;
    }
    if (!v) {
        sqlite3_bind_null(st->st, i);
        return;
    }
    sqlite3_bind_text(st->st, i, v, len == SB_SQL_NUL ? -1 : (int)len, SQLITE_TRANSIENT);
}

void sb_sql_bind_null(sb_stmt *st, int i)
{
    if (st->pg) {
        sb_pg_bind(st->pg, i, NULL, 0);
        return;
    }
    sqlite3_bind_null(st->st, i);
}

int sb_sql_step(sb_stmt *st)
{
    if (st->pg)
        return sb_pg_step(st->pg);
    int rc = sqlite3_step(st->st);
    if (rc == SQLITE_ROW)
        return SB_SQL_ROW;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_changes64(sqlite3_db_handle(st->st));
        return SB_SQL_DONE;
    }
    sb_store_status status = sb_store_status_of(rc);
    return status == SB_STORE_OK ? SB_STORE_ERROR : status;
}

int64_t sb_sql_int64(sb_stmt *st, int col)
{
    if (st->pg) {
        const char *v = sb_pg_value(st->pg, col, NULL);
        return v ? strtoll(v, NULL, 10) : 0;
    }
    return sqlite3_column_int64(st->st, col);
}

const char *sb_sql_text(sb_stmt *st, int col, size_t *len)
{
    if (st->pg) {
        const char *v = sb_pg_value(st->pg, col, len);
        if (!v && len)
            *len = 0;
        return v;
    }
    const char *t = (const char *)sqlite3_column_text(st->st, col);
    if (len)
        *len = t ? (size_t)sqlite3_column_bytes(st->st, col) : 0;
    return t;
}

bool sb_sql_is_null(sb_stmt *st, int col)
{
    if (st->pg)
        return sb_pg_value(st->pg, col, NULL) == NULL;
    return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

int64_t sb_sql_changes(sb_stmt *st)
{
    if (st->pg)
        return sb_pg_changes(st->pg);
    return st->changes;
}

void sb_sql_reset(sb_stmt *st)
{
    if (st->pg) {
        sb_pg_reset(st->pg);
        return;
    }
    sqlite3_reset(st->st);
}

int64_t sb_sql_one_int64(sb_stmt *st, int64_t otherwise)
{
    int64_t v = sb_sql_step(st) == SB_SQL_ROW ? sb_sql_int64(st, 0) : otherwise;
    sb_sql_reset(st);
    return v;
}

const char *sb_sql_error(sb_stmt *st)
{
    if (st->pg)
        return sb_pg_error(st->pg);
    return sqlite3_errmsg(sqlite3_db_handle(st->st));
}

sb_sql_engine sb_store_engine(const sb_store *s)
{
    return sb_store_pg(s) ? SB_SQL_POSTGRES : SB_SQL_SQLITE;
}

sb_store_status sb_sql_exec(sb_store *s, const char *script, char *err, size_t err_size)
{
    sb_pg *pg = sb_store_pg(s);
    if (pg)
        return sb_pg_exec(pg, script, err, err_size);
    char *msg = NULL;
    int rc = sqlite3_exec(sb_store_db(s), script, NULL, NULL, &msg);
    if (rc != SQLITE_OK && err_size)
        snprintf(err, err_size, "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sb_store_status status = sb_store_status_of(rc);
    return rc != SQLITE_OK && status == SB_STORE_OK ? SB_STORE_ERROR : status;
}
