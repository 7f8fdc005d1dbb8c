/*
 * dashboard_store.h: the dashboard's tables (seed 000): auth tickets and
 * fin sessions (stored as SHA-256 hashes, never in clear), each case's
 * dashboard (its layout and components as one JSON document, with the
 * version every change is based on), component data, the button and FAQ
 * views, and the chat room of a case.
 *
 * Every write joins the turn's transaction (store.h). Functions returning
 * int return 0 on success, 1 for "not found" where it applies, -1 on a
 * storage error. JSON handed back lives in the arena given.
 */
#ifndef SB_DASHBOARD_STORE_H
#define SB_DASHBOARD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct sb_arena;

#define DASHBOARD_ID_MAX 64 /* case, user and component IDs (the schema's max) */

int dashboard_store_migrate(sb_store *s, char *err, size_t err_size);

/* Tickets and sessions: hash is sb_token_hash of the secret. */
int dashboard_ticket_add(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                         int64_t expires_ms);
/* Use the ticket once: 0 when it was unused, unexpired and for exactly this
 * case and user (it is used up now, whatever the outcome after a match of
 * the hash: a ticket presented for the wrong case is burnt too), 1 when
 * refused, -1 on a storage error. */
int dashboard_ticket_take(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                          int64_t now_ms);

typedef struct dashboard_fin {
    char case_id[DASHBOARD_ID_MAX + 1];
    char user_id[DASHBOARD_ID_MAX + 1];
    int64_t created_ms, used_ms, expires_ms; /* expires_ms: the absolute end */
} dashboard_fin;

int dashboard_fin_add(sb_store *s, const char *hash, const char *case_id, const char *user_id,
                      int64_t now_ms, int64_t expires_ms);
/* The session, when live at now_ms: before its absolute end and used less
 * than idle_ms ago (the expiry is the query's, on the row every node
 * touches). 0, 1 unknown or expired, -1. */
int dashboard_fin_get(sb_store *s, const char *hash, int64_t now_ms, int64_t idle_ms,
                      dashboard_fin *out);
/* Its last use is now_ms (never moved back). */
int dashboard_fin_touch(sb_store *s, const char *hash, int64_t now_ms);
/* Delete tickets and sessions past their end (idle_ms: a session's idle
 * timeout); the number deleted, or -1. */
int64_t dashboard_prune(sb_store *s, int64_t now_ms, int64_t idle_ms);

/* A case's dashboard: 1 when the case has none stored (the default). */
int dashboard_case_get(sb_store *s, struct sb_arena *a, const char *case_id, int64_t *version,
                       const char **json, size_t *len);
/* Store it as `version`, only if the stored one is still version - 1 (none
 * stored: version 1): 0, 1 when another change came first (a 409: read it
 * again), -1. */
int dashboard_case_put(sb_store *s, const char *case_id, int64_t version, const char *json,
                       size_t len, int64_t now_ms);

/* Component data and views (view: "buttons" or "faq"), kept verbatim;
 * key: the refresh key pushed with the data. */
int dashboard_data_put(sb_store *s, const char *case_id, const char *component_id, const char *json,
                       size_t len, const char *key, int64_t now_ms);
int dashboard_data_get(sb_store *s, struct sb_arena *a, const char *case_id,
                       const char *component_id, const char **json, size_t *len);
int dashboard_view_put(sb_store *s, const char *case_id, const char *view, const char *json,
                       size_t len, int64_t now_ms);
int dashboard_view_get(sb_store *s, struct sb_arena *a, const char *case_id, const char *view,
                       const char **json, size_t *len);

/* The case's chat room (seed 003): 0 with *room_id, 1 none. */
int dashboard_chat_set(sb_store *s, const char *case_id, int64_t room_id, int64_t now_ms);
int dashboard_chat_get(sb_store *s, const char *case_id, int64_t *room_id);

#endif
