/*
 * test_db.h: a fresh PostgreSQL database for a store's cmocka tests.
 *
 * The store tests run on SQLite by default (a file in a temporary
 * directory, the test's own business) and, with SB_TEST_DB=postgres (the
 * `<test>_pg` ctest twins), on a database created for each test in the
 * cluster of tests/support/pg_cluster.sh: its URL base comes from
 * SB_TEST_PG_URL, or from the file SB_TEST_PG_URL_FILE names.
 */
#ifndef SB_TEST_DB_H
#define SB_TEST_DB_H

#include <stdbool.h>
#include <stddef.h>

/* SB_TEST_DB=postgres */
bool sb_test_db_on_pg(void);

/* Create the database `name` (C collation, UTF-8, as serve's databases)
 * and write its URL into url. 0, or -1 with the reason on stderr. */
int sb_test_db_create(const char *name, char *url, size_t url_size);

/* DROP DATABASE name (its connections forced out). 0, or -1. */
int sb_test_db_drop(const char *name);

#endif
