/*
 * chat_view.h: the chat's payloads as one user (the viewer) sees them.
 * Strings point into the app's arena (reset before each handler call) or
 * into the caches of chat_store.
 */
#ifndef SB_CHAT_VIEW_H
#define SB_CHAT_VIEW_H

#include "chat_app.h"

/* The decimal text of an ID, in the arena. */
sb_str chat_id_str(sb_arena *a, int64_t id);
/* The error event, in both forms the document shows (error and data.error). */
void chat_write_error(sb_buf *b, const char *text, size_t len);
/* A stored message as viewer sees it. */
void chat_fill_message(chat_app *app, const chat_msg_row *row, int64_t viewer, chat_message *out);
/* new_message for one viewer of a stored message; room may be NULL. */
void chat_fill_new_message(chat_app *app, const chat_msg_row *row, const chat_room_info *room,
                           int64_t viewer, chat_new_message_payload *p);
/* The room as viewer sees it: new_room's data and a GET /api/v1/rooms item. */
int chat_fill_room(chat_app *app, const chat_room_info *room, int64_t viewer, int64_t unread,
                   int64_t last_id, chat_room *out);
/* The newest message of a room, 0 when none. */
int64_t chat_last_message_id(chat_app *app, int64_t room_id);
/* new_room for viewer. */
void chat_write_new_room(chat_app *app, sb_buf *b, const chat_room_info *room, int64_t viewer);

#endif
