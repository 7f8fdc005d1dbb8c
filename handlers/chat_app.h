/*
 * chat_app.h: the chat's state, shared by its WebSocket handlers (chat.c)
 * and its REST endpoints (chat_http.c). One per process.
 */
#ifndef SB_CHAT_APP_H
#define SB_CHAT_APP_H

#include "chat.h"
#include "chat_store.h"
#include "codec.h"
#include "metrics.h"
#include "rt.h"
#include "store.h"

typedef struct chat_app {
    sb_rt *rt;
    sb_store *sb_store;
    chat_store *store;
    sb_arena *arena; /* the runtime's, reset before each handler call */
    sb_json_limits limits;
    sb_parse_fn parse_in;
    sb_counter *m_in[CHAT_IN__COUNT], *m_out[CHAT_OUT__COUNT];
    sb_counter *m_invalid, *m_client_errors, *m_auth_failures, *m_storage_errors, *m_stored;
} chat_app;

/* Migrate the chat's tables and register /ws/chat and /api/v1/rooms. */
chat_app *chat_app_start(sb_rt *rt, size_t max_message, char *err, size_t err_size);
void chat_app_stop(chat_app *app);

/* Shared by chat.c, chat_http.c and chat_app.c */
/* The user a token (?token=, or else "Authorization: Bearer") belongs to; 0
 * when none, -1 when it could not be read (not an authentication failure). */
int64_t chat_authenticate(chat_app *app, const char *query_token, const char *authorization);
/* The WebSocket route of chat.c (its storage_error is set by chat_app.c). */
sb_ws_handler chat_ws_handler(chat_app *app);

/* The bus' outage, per connection (chat.c; docs/decisions.md, "Redis bus",
 * the outage replay): at the subscription's down, start recording what the
 * connection is sent; at the gap, replay what it lacks (or close it with
 * 1012 when it cannot). */
struct sb_ctx;
void chat_outage_begin(struct sb_ctx *ctx);
void chat_outage_gap(struct sb_ctx *ctx);
/* The REST routes of chat_http.c. */
int chat_http_register(chat_app *app, char *err, size_t err_size);

#endif
