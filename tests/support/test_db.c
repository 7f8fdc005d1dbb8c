/*
 * test_db.c: see test_db.h. The databases are made and dropped from the
 * cluster's maintenance database with psql, so that the store under test
 * registers its metrics alone.
 */
#include "test_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sb_test_db_on_pg(void)
{
    const char *e = getenv("SB_TEST_DB");
    return e && strcmp(e, "postgres") == 0;
}

/* The cluster's URL, ending in '/'. */
static int base(char *out, size_t cap)
{
    const char *u = getenv("SB_TEST_PG_URL");
    char buf[256] = "";
    if (!u || !*u) {
        const char *file = getenv("SB_TEST_PG_URL_FILE");
        FILE *fp = file ? fopen(file, "r") : NULL;
        if (!fp || !fgets(buf, sizeof buf, fp)) {
            if (fp)
                fclose(fp);
            fprintf(stderr, "SB_TEST_DB=postgres: set SB_TEST_PG_URL or SB_TEST_PG_URL_FILE\n");
            return -1;
        }
        fclose(fp);
        buf[strcspn(buf, "\r\n")] = '\0';
        u = buf;
    }
    size_t n = strlen(u);
    snprintf(out, cap, "%s%s", u, n && u[n - 1] == '/' ? "" : "/");
    return 0;
}

static int admin(const char *sql)
{
    char b[200], cmd[1024];
    if (base(b, sizeof b) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "psql -X -q -v ON_ERROR_STOP=1 -d '%spostgres' -c \"%s\" >/dev/null",
             b, sql);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_db: failed: %s\n", sql);
        return -1;
    }
    return 0;
}

int sb_test_db_create(const char *name, char *url, size_t url_size)
{
    char b[200], sql[256];
    if (base(b, sizeof b) != 0)
        return -1;
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
             name);
    if (admin(sql) != 0)
        return -1;
    snprintf(url, url_size, "%s%s", b, name);
    return 0;
}

int sb_test_db_drop(const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    return admin(sql);
}
