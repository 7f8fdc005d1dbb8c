/*
 * apikey.h: operator API keys, for every operator endpoint (the realtime
 * updates endpoint, the dashboard's operator API).
 *
 * A key is "sbk_" and 64 lowercase hex digits (256 random bits from
 * getrandom, runtime/token.h). It is shown once, by `switchboard apikey
 * add`; the database keeps only the hex SHA-256 of the whole key text
 * (core_store.h). Keys are made, listed and revoked with the command line
 * (docs/operations.md, "Operator API keys"); the server only checks them.
 *
 * An operator endpoint's authenticate hook calls core_apikey_check() and
 * answers 401 on CORE_APIKEY_REFUSED, 503 on CORE_APIKEY_STORE_ERROR.
 */
#ifndef SB_APIKEY_H
#define SB_APIKEY_H

#include <stdint.h>

#include "core_store.h"
#include "http.h"

#define CORE_APIKEY_PREFIX "sbk_"
#define CORE_APIKEY_LEN (4 + SB_TOKEN_HEX_LEN) /* "sbk_" + 64 hex digits */
/* last_used_at is written at most once per key in this many seconds */
#define CORE_APIKEY_TOUCH_GAP 60

typedef enum core_apikey_status {
    CORE_APIKEY_OK = 0,
    /* No Authorization header, not "Bearer", not a key's shape, unknown or
     * revoked: one answer for all, so that a caller learns nothing about
     * which keys exist. */
    CORE_APIKEY_REFUSED = -1,
    CORE_APIKEY_STORE_ERROR = -2, /* the lookup failed: answer 503, not 401 */
} core_apikey_status;

/* Does req carry "Authorization: Bearer KEY" with an active key? On
 * CORE_APIKEY_OK, *key_id (may be NULL) is the key's ID (for logs and
 * audit: never log the key). The key is hashed and looked up by its hash;
 * the stored hash is then compared in constant time (sb_token_equal).
 *
 * last_used_at: written when it is older than CORE_APIKEY_TOUCH_GAP
 * seconds (or unset), inside the turn's transaction (sb_store_begin), so
 * that it costs nothing but a row in the turn's group commit and a burst of
 * requests writes once a minute. Call it before your handler's own
 * sb_store_unit_begin: a unit rolled back then keeps the write. The write
 * is best effort: if the transaction cannot be opened (a busy or full
 * database) the key is still accepted, and last_used_at lags. */
core_apikey_status core_apikey_check(core_store *cs, const sb_http_request *req, int64_t *key_id);
/* The same at a given time (Unix seconds): for tests. */
core_apikey_status core_apikey_check_at(core_store *cs, const sb_http_request *req, int64_t now,
                                        int64_t *key_id);

typedef enum core_apikey_add_status {
    CORE_APIKEY_ADDED = 0,
    CORE_APIKEY_NAME_TAKEN = -1, /* revoked keys keep their names */
    CORE_APIKEY_ADD_ERROR = -2,  /* no randomness, or a storage error */
} core_apikey_add_status;

/* A new key named `name`: its text in key (show it once, store it nowhere)
 * and its ID in *id. Writes with the store's current transaction, if any. */
core_apikey_add_status core_apikey_add(core_store *cs, const char *name, int64_t now,
                                       char key[CORE_APIKEY_LEN + 1], int64_t *id);

#endif
