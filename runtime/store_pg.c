/*
 * store_pg.c: the PostgreSQL engine (store_pg.h). Skeleton: opening
 * refuses until the engine lands.
 */
#include <stdio.h>

#include "store_pg.h"

sb_pg *sb_pg_open(const char *url, sb_store *owner, char *err, size_t err_size)
{
    (void)url;
    (void)owner;
    snprintf(err, err_size, "PostgreSQL: not built yet");
    return NULL;
}
void sb_pg_close(sb_pg *pg)
{
    (void)pg;
}
void sb_pg_set_loop(sb_pg *pg, struct event_base *base)
{
    (void)pg;
    (void)base;
}
int sb_pg_migrate(sb_pg *pg, const sb_migration *m, char *err, size_t err_size)
{
    (void)pg;
    (void)m;
    snprintf(err, err_size, "no");
    return -1;
}
sb_store_status sb_pg_ping(sb_pg *pg)
{
    (void)pg;
    return SB_STORE_IO;
}
bool sb_pg_health(sb_pg *pg, const char **reason)
{
    (void)pg;
    if (reason)
        *reason = "no";
    return false;
}
const char *sb_pg_last_error(sb_pg *pg)
{
    (void)pg;
    return "no";
}
sb_store_status sb_pg_begin(sb_pg *pg)
{
    (void)pg;
    return SB_STORE_IO;
}
sb_store_status sb_pg_unit_begin(sb_pg *pg)
{
    (void)pg;
    return SB_STORE_IO;
}
void sb_pg_unit_end(sb_pg *pg, bool ok)
{
    (void)pg;
    (void)ok;
}
bool sb_pg_lost(sb_pg *pg)
{
    (void)pg;
    return false;
}
void sb_pg_after_commit(sb_pg *pg, sb_commit_fn fn, void *arg)
{
    (void)pg;
    fn(arg, SB_STORE_OK);
}
void sb_pg_end_reads(sb_pg *pg)
{
    (void)pg;
}
bool sb_pg_in_tx(const sb_pg *pg)
{
    (void)pg;
    return false;
}
void sb_pg_set_hooks(sb_pg *pg, void (*on_begin)(void *arg), void (*on_lost)(void *arg), void *arg)
{
    (void)pg;
    (void)on_begin;
    (void)on_lost;
    (void)arg;
}
sb_store_status sb_pg_commit(sb_pg *pg)
{
    (void)pg;
    return SB_STORE_OK;
}
sb_stmt *sb_pg_sql(sb_pg *pg, const char *sql)
{
    (void)pg;
    (void)sql;
    return NULL;
}
void sb_pg_bind(sb_pg_stmt *st, int i, const char *text, size_t len)
{
    (void)st;
    (void)i;
    (void)text;
    (void)len;
}
int sb_pg_step(sb_pg_stmt *st)
{
    (void)st;
    return SB_STORE_IO;
}
const char *sb_pg_value(sb_pg_stmt *st, int col, size_t *len)
{
    (void)st;
    (void)col;
    (void)len;
    return NULL;
}
int64_t sb_pg_changes(sb_pg_stmt *st)
{
    (void)st;
    return 0;
}
void sb_pg_reset(sb_pg_stmt *st)
{
    (void)st;
}
const char *sb_pg_error(sb_pg_stmt *st)
{
    (void)st;
    return "no";
}
sb_store_status sb_pg_exec(sb_pg *pg, const char *script, char *err, size_t err_size)
{
    (void)pg;
    (void)script;
    snprintf(err, err_size, "no");
    return SB_STORE_IO;
}
