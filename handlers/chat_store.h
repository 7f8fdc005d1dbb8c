/*
 * chat_store.h: the chat's tables, and the users and rooms kept in memory.
 *
 * Users and rooms (with their members) are read on nearly every message:
 * each read checks the row in the database (several nodes may write it) and
 * hands out an entry kept in memory, the same pointer while the row does
 * not change. Messages, unread counters and statuses live only in the
 * database (SQLite, or PostgreSQL); every write goes through the turn's
 * group commit (runtime/store.h). The tables are the module's: chat_users,
 * chat_services, chat_rooms, chat_room_members, chat_messages,
 * chat_message_status, chat_access_tokens. This header names no engine's
 * type: the SQL stays in chat_store.c, written once for both engines.
 *
 * IDs are 64-bit integer keys (the full int64 range above 0); on the wire
 * they are their decimal strings.
 */
#ifndef SB_CHAT_STORE_H
#define SB_CHAT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "chat.h"
#include "store.h"

/* A wire ID ("123") as a row ID; 0 when it is not one (no sign, no leading
 * zero, 1 to INT64_MAX). */
int64_t chat_parse_id(const char *s, size_t n);

typedef struct chat_user_info {
    int64_t id;
    char *full_name;
    char *avatar; /* NULL when none */
    chat_role role;
} chat_user_info;

typedef struct chat_room_info {
    int64_t id;
    chat_room_type type;
    int64_t service_id; /* 0 when none */
    int64_t *members;
    size_t n_members;
} chat_room_info;

typedef struct chat_store chat_store;

chat_store *chat_store_new(sb_store *store);
/* After the store's last commit: the open transaction's end calls back into it. */
void chat_store_free(chat_store *cs);
int chat_store_migrate(sb_store *store, char *err, size_t err_size);

/* Reads of the current row: 1 with the entry in *out, 0 when there is no
 * such row, -1 when the read failed (the database is unreachable, out of
 * memory): a caller must not answer "not found" then. *out is NULL unless
 * 1. The entry stays valid until chat_store_free, even after a later read
 * found the row changed (that read hands out a new entry). */
int chat_user_get(chat_store *cs, int64_t id, const chat_user_info **out);
/* May a direct room be opened with user id (docs/decisions.md, "Who may open
 * a direct room")? Yes when the user exists and holds a staff role
 * (TECHNICIAN, ADMIN, SUPER_ADMIN): 1. Always one indexed query, never an
 * entry in memory, so that an unknown ID and a user without a role cost the
 * same. */
int chat_user_direct_ok(chat_store *cs, int64_t id); /* 1 yes, 0 no, -1 the read failed */
int chat_room_get(chat_store *cs, int64_t id, const chat_room_info **out); /* as chat_user_get */
bool chat_room_has_member(const chat_room_info *room, int64_t user);
/* The user whose token hashes to token_hash (hex SHA-256), 0 none, -1 the
 * read failed. */
int64_t chat_user_by_token_hash(chat_store *cs, const char *token_hash);

/* The direct room of two users, created (inside the turn's transaction)
 * when missing. When two nodes create it at once, one creates it and the
 * other finds it (*created false). 0 on error. */
int64_t chat_direct_room(chat_store *cs, int64_t a, int64_t b, bool *created);

typedef struct chat_new_msg {
    int64_t room_id;
    int64_t sender_id;
    sb_str text; /* ptr NULL when absent */
    sb_str file_id;
    int64_t replied_to; /* 0 when none */
    sb_str client_message_id;
    int64_t created_at; /* Unix seconds */
} chat_new_msg;

/* Does a send need a savepoint (sb_store_unit_begin) around it? On
 * PostgreSQL a failing statement aborts the whole transaction, and a send
 * waits for the chat's write lock, which lock_timeout or a deadlock with
 * another module's lock can fail: outside a unit that would lose the turn's
 * other writes with it. On SQLite chat_message_insert undoes itself, and a
 * unit is two statements more per message. */
bool chat_send_needs_unit(const chat_store *cs);

/* Insert a message and count it unread for every other member. Returns the
 * new message ID, or 0 when (sender, client_message_id) was stored before in
 * the same room: then *existing holds that message's ID (a retry).
 * CHAT_INSERT_OTHER_ROOM when the sender used that client_message_id in
 * another room (nothing written: the ID is not the retry it claims to be).
 * -1 on error, with nothing left written: it needs no savepoint around it. */
#define CHAT_INSERT_OTHER_ROOM (-2)
int64_t chat_message_insert(chat_store *cs, const chat_new_msg *m, int64_t *existing);

/* Unread counts of the members other than the sender, as changed by the
 * last chat_message_insert: call right after it. */
typedef struct chat_unread {
    int64_t user_id;
    int64_t unread;
} chat_unread;
size_t chat_last_unread(chat_store *cs, const chat_unread **out);

typedef struct chat_msg_row {
    int64_t id, room_id, sender_id, replied_to, created_at;
    bool is_system;
    sb_str text, file_id, client_message_id; /* ptr NULL when NULL; valid until the next read */
} chat_msg_row;

/* One message by ID: 1 found, 0 not, -1 error. */
int chat_message_get(chat_store *cs, int64_t id, chat_msg_row *row);

/* Delivery state, monotonic: delivered (1) never replaces read (2).
 * Returns 1 when it changed, 0 when not, -1 on error. */
int chat_status_set(chat_store *cs, int64_t message_id, int64_t user_id, int status);
/* Move the user's read watermark in a room up to message_id (never down) and
 * recount the unread messages; *unread gets the new count. */
int chat_mark_read(chat_store *cs, int64_t room_id, int64_t user_id, int64_t message_id,
                   int64_t *unread);

/* Iterate rows through a cursor (store.h) started as SB_CURSOR_INIT:
 * 1 = a row in *row, 0 = done, -1 = error (both close the cursor); stopping
 * earlier takes sb_cursor_close. */
int chat_messages_since(chat_store *cs, int64_t user_id, int64_t after_id, int limit,
                        sb_cursor *cur, chat_msg_row *row);
int chat_room_history(chat_store *cs, int64_t room_id, int64_t before_id, int limit, sb_cursor *cur,
                      chat_msg_row *row);

typedef struct chat_room_row {
    int64_t room_id;
    int64_t unread;
    int64_t last_message_id; /* 0 when the room is empty */
} chat_room_row;
int chat_user_rooms(chat_store *cs, int64_t user_id, sb_cursor *cur, chat_room_row *row);
/* The user's unread count in the room (0 when not a member); -1 when the read failed. */
int64_t chat_unread_count(chat_store *cs, int64_t room_id, int64_t user_id);
/* The user's read watermark in the room: the newest message ID read, 0 none;
 * -1 when the read failed. */
int64_t chat_last_read(chat_store *cs, int64_t room_id, int64_t user_id);

typedef struct chat_service_row {
    sb_str created_at, status, customer_full_name, customer_phone, customer_address;
} chat_service_row;
int chat_service_get(chat_store *cs, int64_t id, chat_service_row *row);

/* Administration (CLI, demo data): outside the group commit. */
int64_t chat_user_create(sb_store *store, const char *full_name, chat_role role, const char *avatar,
                         const char *token_hash);
int64_t chat_service_create(sb_store *store, const char *status, const char *customer_name,
                            const char *phone, const char *address);
int64_t chat_service_room_create(sb_store *store, int64_t service_id, const int64_t *members,
                                 size_t n);
int64_t chat_user_count(sb_store *store);
/* The newest message ID stored (0: none), -1 on a failed read. Chat IDs
 * commit in ID order (docs/decisions.md), so every message up to it is in. */
int64_t chat_newest_message_id(sb_store *store);
/* Inside the turn's transaction (sb_store_begin first): hold the demo's
 * seeding to one writer until the commit, so that nodes starting together
 * on one empty database do not both seed (SQLite's write transaction is
 * that lock already; PostgreSQL takes a transaction-level lock). 0, or -1. */
int chat_seed_lock(sb_store *store);

/* For other modules (the dashboard's chat page), uncached, inside the turn:
 * a short-lived access token for a user (its hash; a token works as the
 * user's own until expires_ms; expired ones are swept here): 0, or -1. */
int chat_access_token_add(sb_store *store, int64_t user_id, const char *token_hash,
                          int64_t expires_ms, int64_t now_ms);
/* 1 yes, 0 no, -1 storage error. */
int chat_room_member_of(sb_store *store, int64_t room_id, int64_t user_id);
int chat_room_exists(sb_store *store, int64_t room_id);
/* The user's room with the lowest ID: its ID, 0 none, -1 error. */
int64_t chat_first_room_of(sb_store *store, int64_t user_id);

#endif
