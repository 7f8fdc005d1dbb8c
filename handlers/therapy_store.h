/*
 * therapy_store.h: the therapy protocol's tables (seed 001): users,
 * therapy sessions with their members and assessments, the action log, the
 * login state (pending codes, the rate-limit log, server-side sessions).
 *
 * Secrets never reach a table in clear: codes, cookies and phone numbers
 * in the rate-limit log are stored as keyed hashes (therapy_app.h). Every
 * write joins the turn's transaction (store.h). Functions returning int64_t
 * return 0 for "none" and -1 for a storage error unless said otherwise;
 * functions returning int return 0 on success, 1 for "not found" where it
 * applies, and -1 on a storage error.
 */
#ifndef SB_THERAPY_STORE_H
#define SB_THERAPY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct sb_arena;

#define THERAPY_ID_MAX 64 /* user IDs, as in actions (P123, 123XYZ) */

int therapy_store_migrate(sb_store *s, char *err, size_t err_size);

/* Users --------------------------------------------------------------- */

typedef struct therapy_user {
    char id[THERAPY_ID_MAX + 1];
    char name[257];
    char role[16]; /* "participant" or "therapist" */
} therapy_user;

/* 0 added, 1 the ID or the phone and last name are taken, -1 error. */
int therapy_user_add(sb_store *s, const char *id, const char *phone, const char *last_name_key,
                     const char *last_name, const char *name, const char *role);
/* The user with this phone (E.164) and last name (as folded by the caller):
 * 0 found, 1 none, -1 error. */
int therapy_user_find(sb_store *s, const char *phone, const char *last_name_key, therapy_user *u,
                      char phone_out[33]);
/* 0 found, 1 none, -1 error. phone_out (may be NULL) gets the phone. */
int therapy_user_get(sb_store *s, const char *id, therapy_user *u, char phone_out[33]);
int64_t therapy_user_count(sb_store *s);

/* Therapy sessions ------------------------------------------------------ */

typedef struct therapy_session_row {
    int64_t id;
    char name[257];
    char date[40];
} therapy_session_row;

int64_t therapy_session_add(sb_store *s, const char *name, const char *date, int64_t now_ms);
int therapy_session_get(sb_store *s, int64_t ts_id, therapy_session_row *row);
/* role "participant" or "therapist"; 0, -1 */
int therapy_member_add(sb_store *s, int64_t ts_id, const char *user, const char *role);
/* The user's role in the session ("participant"/"therapist" into role, 16
 * bytes): 0 member, 1 not a member (or no such session), -1 error. */
int therapy_member_role(sb_store *s, int64_t ts_id, const char *user, char role[16]);
int therapy_member_present(sb_store *s, int64_t ts_id, const char *user, int64_t now_ms);
/* Iterators: 1 a row, 0 done, -1 error (store.h, cursors). */
int therapy_sessions_of(sb_store *s, const char *user, sb_cursor *cur, therapy_session_row *row);
typedef struct therapy_member_row {
    const char *id, *name, *role;
} therapy_member_row;
int therapy_members_of(sb_store *s, int64_t ts_id, sb_cursor *cur, therapy_member_row *row);

typedef struct therapy_assessment_row {
    const char *name, *status, *url; /* url NULL when none */
} therapy_assessment_row;
/* insert or replace */
int therapy_assessment_set(sb_store *s, int64_t ts_id, const char *user, const char *name,
                           const char *status, const char *url);
int therapy_assessments_of(sb_store *s, int64_t ts_id, const char *user, sb_cursor *cur,
                           therapy_assessment_row *row);

/* The action log ------------------------------------------------------- */

/* An action as stored: its getActions JSON (written by the generated
 * writer), who may see it (audience: NULL for everyone, else ",a,b," of
 * user IDs), its author (NULL for system actions) and target. */
typedef struct therapy_action_row {
    int64_t id;
    const char *type;
    const char *author;
    int64_t target;
    const char *audience;
    const char *json;
    size_t json_len;
    bool deleted;
} therapy_action_row;

/* The new action's ID (> 0), or -1. client_json: the client's item as
 * received (re-written by the generated writer), kept for research exports
 * (character_history, time_to_complete); may be NULL. */
int64_t therapy_action_insert(sb_store *s, int64_t ts_id, const char *type, const char *author,
                              int64_t target, const char *audience, int64_t now_ms,
                              const char *client_json);
/* Its JSON, once its ID is known. 0, -1. */
int therapy_action_set_json(sb_store *s, int64_t id, const char *json, size_t len);
/* One action of a session, its text copied into a: 0 found, 1 none (or
 * another session's), -1. */
int therapy_action_get(sb_store *s, int64_t ts_id, int64_t id, struct sb_arena *a,
                       therapy_action_row *row);
/* Deleting a message scrubs what it said: its JSON is replaced (body "")
 * and the client's copy dropped. 0, -1. */
int therapy_action_scrub(sb_store *s, int64_t id, const char *json, size_t len);
/* Actions of ts_id with id > after, in order, at most limit. */
int therapy_actions_since(sb_store *s, int64_t ts_id, int64_t after, int limit, sb_cursor *cur,
                          therapy_action_row *row);
int64_t therapy_actions_max(sb_store *s, int64_t ts_id);
/* Lock ts_id's action log for the rest of the turn's transaction (its
 * session's row), so that what is read and appended next is not split by
 * another writer, and IDs become visible in ID order (therapy_action_insert
 * takes it too): its max action ID then, or -1. */
int64_t therapy_actions_lock(sb_store *s, int64_t ts_id);
/* The first action of a type on a target in ts_id (a message's delete):
 * its ID, 0 none, -1. */
int64_t therapy_action_find(sb_store *s, int64_t ts_id, const char *type, int64_t target);

/* One reaction per user and message: the icon now and the action that set
 * it. 0 found, 1 none, -1. */
int therapy_reaction_get(sb_store *s, int64_t target, const char *user, char icon[16],
                         int64_t *action);
int therapy_reaction_set(sb_store *s, int64_t target, const char *user, const char *icon,
                         int64_t action);
/* One read mark per user and message. */
int therapy_read_get(sb_store *s, int64_t target, const char *user, int64_t *action);
int therapy_read_set(sb_store *s, int64_t target, const char *user, int64_t action);

/* Login: pending codes, the rate-limit log, sessions ------------------- */

typedef struct therapy_login_row {
    char user[THERAPY_ID_MAX + 1]; /* "" when the details matched nobody */
    char phone_key[65];
    char code_hash[65];
    int64_t expires_ms;
    int state; /* 0 waiting for its code, 1 its one try used */
} therapy_login_row;

/* Replaces any pending login of the same pre-login cookie. */
int therapy_login_put(sb_store *s, const char *token_hash, const char *user, const char *phone_key,
                      const char *code_hash, int64_t now_ms, int64_t expires_ms);
int therapy_login_get(sb_store *s, const char *token_hash, therapy_login_row *row);
/* Use the code's one try: state 0 -> 1 in one conditional update, so that
 * of two checks of one code (on two nodes at once) exactly one gets it.
 * 0 claimed (row filled), 1 none to claim (used, or no such login), -1. */
int therapy_login_claim(sb_store *s, const char *token_hash, therapy_login_row *row);
int therapy_login_mark_used(sb_store *s, const char *token_hash);
int therapy_login_delete(sb_store *s, const char *token_hash);
/* Codes sent to one phone (any pre-login cookie) are dropped when a newer
 * one is sent: only the latest code is valid. */
int therapy_login_drop_phone(sb_store *s, const char *phone_key);

/* Serialize the rate-limit checks of one key ("phone:<phone_key>",
 * "send-ip:<ip>", ...) across writers: locks the key's row until the turn's
 * transaction ends, so that a count and the event it lets through are not
 * split by another node's. Lock keys in one order (server, address, phone)
 * to keep writers from waiting on each other in a circle. The key's hits
 * so far (> 0), or -1. */
int64_t therapy_limit_lock(sb_store *s, const char *key, int64_t now_ms);

/* The rate-limit log: kind "send" (a code sent), "fail" (a wrong code),
 * "verify" (a code checked); key a hashed phone, ip the client address. */
int therapy_event_add(sb_store *s, const char *kind, const char *phone_key, const char *ip,
                      int64_t now_ms);
/* Events of kind since since_ms, for the phone (phone_key non-NULL), the
 * address (ip non-NULL) or everyone; *newest_ms (may be NULL) and
 * *oldest_ms get the newest and oldest event times (0 when none). -1. */
int64_t therapy_event_count(sb_store *s, const char *kind, const char *phone_key, const char *ip,
                            int64_t since_ms, int64_t *oldest_ms, int64_t *newest_ms);
/* Events, limit rows and expired logins older than before_ms. */
int therapy_event_prune(sb_store *s, int64_t before_ms);

typedef struct therapy_auth_row {
    char user[THERAPY_ID_MAX + 1];
    int64_t created_ms, last_ms;
    int64_t ts_id; /* 0: none entered */
} therapy_auth_row;

int therapy_auth_put(sb_store *s, const char *token_hash, const char *user, int64_t now_ms);
int therapy_auth_get(sb_store *s, const char *token_hash, therapy_auth_row *row);
/* last_ms = now_ms, never backwards (writers commit in any order). */
int therapy_auth_touch(sb_store *s, const char *token_hash, int64_t now_ms);
int therapy_auth_set_ts(sb_store *s, const char *token_hash, int64_t ts_id);
int therapy_auth_delete(sb_store *s, const char *token_hash);
/* Delete it if it is still idle since idle_before or made before
 * created_before (the check again, in SQL: another node may have touched
 * it since it was read). */
int therapy_auth_expire(sb_store *s, const char *token_hash, int64_t idle_before,
                        int64_t created_before);
/* Sessions idle since idle_before or created before created_before. */
int therapy_auth_prune(sb_store *s, int64_t idle_before, int64_t created_before);

#endif
