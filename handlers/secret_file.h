/*
 * secret_file.h: a secret kept in a file of one line (a JWT secret, the
 * therapy protocol's hashing key), made on first use when allowed: 32
 * random bytes as 64 hex digits, mode 0600, its directory made if missing.
 * The secret is never logged.
 */
#ifndef SB_SECRET_FILE_H
#define SB_SECRET_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* The secret of path (its line, trailing blanks dropped) into out (cap
 * bytes): 0; -1 with err when missing (and not create) or unreadable; -2
 * with err when empty. */
int secret_file_load(const char *path, bool create, char *out, size_t cap, char *err,
                     size_t err_size);
/* Write data (len bytes) to path, mode 0600, its directory made if
 * missing: into a temporary name first, then linked into place (replace
 * false: 0 made, 1 when path existed already, untouched) or renamed over
 * it (replace true: 0). No reader sees a partial file, and of several
 * processes making it at once exactly one wins. -1 with err. */
int secret_file_write(const char *path, const char *data, size_t len, bool replace, char *err,
                      size_t err_size);
/* "DIR/name" for the directory of db_path ("name" when it has none). */
void secret_file_beside(const char *db_path, const char *name, char *out, size_t cap);

#endif
