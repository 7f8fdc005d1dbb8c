/*
 * realtime_secret.h: the HS256 secret of the realtime protocol's JWTs, for
 * the server and for `switchboard realtime token`: --jwt-secret (or
 * SB_JWT_SECRET), else the file --jwt-secret-file (default: jwt-secret beside
 * the database, ./var/jwt-secret for the default one; one line). A demo start makes that file when
 * it is missing: 32 random bytes as 64 hex digits, mode 0600, so that the README's two commands
 * work together with no setup. The secret is never logged.
 */
#ifndef SB_REALTIME_SECRET_H
#define SB_REALTIME_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define REALTIME_SECRET_MAX 1024

/* 0 with the secret in out, or -1 with err saying why (no secret, an
 * unreadable file, one shorter than 32 bytes is left to the JWT check). */
int realtime_secret_load(const sb_config *cfg, bool create, char *out, size_t cap, char *err,
                         size_t err_size);

#endif
