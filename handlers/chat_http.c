/*
 * chat_http.c: the chat's REST endpoints (Switchboard extensions,
 * docs/protocols/chat.md), declared in schema/chat.lua:
 *
 *   GET /api/v1/rooms                       the user's rooms (RoomsResponse)
 *   GET /api/v1/rooms/{room_id}/messages    history, newest first (MessagesResponse)
 *
 * The routes are generated (generated/c/chat_routes.c): they authenticate
 * with chat_http_authenticate below, parse the path and the query, call the
 * handlers here and write their answer or the declared error with its status.
 * Authentication as on the WebSocket: "Authorization: Bearer TOKEN" or
 * ?token=. A room the user is not in answers exactly like one that does not
 * exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_app.h"
#include "chat_view.h"
#include "chat_handlers.h"
#include "ctx.h"

#define DEFAULT_PAGE 50

typedef struct http_session {
    int64_t user_id;
} http_session;

int chat_http_authenticate(struct sb_ctx *ctx, const sb_http_request *req)
{
    chat_app *app = ctx->app;
    int64_t me = chat_authenticate(app, sb_query_get(req->query, "token"),
                                   sb_http_header(req, "authorization"));
    if (me < 0)
        return -CHAT_ERROR_UNAVAILABLE;
    http_session *hs = me ? sb_arena_alloc(ctx->arena, sizeof *hs) : NULL;
    if (!hs)
        return me ? -CHAT_ERROR_UNAVAILABLE : -1;
    hs->user_id = me;
    ctx->session = hs;
    return 0;
}

static int64_t user_of(struct sb_ctx *ctx)
{
    return ((const http_session *)ctx->session)->user_id;
}

/* Grow an arena array of `size`-byte items by doubling. */
static void *grow(sb_arena *a, void *items, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return items;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = sb_arena_alloc(a, n * size);
    if (!p)
        return NULL;
    if (count)
        memcpy(p, items, count * size);
    *cap = n;
    return p;
}

int chat_on_list_rooms(struct sb_ctx *ctx, chat_rooms_response *resp, chat_chat_http_error *err)
{
    (void)err;
    chat_app *app = ctx->app;
    int64_t me = user_of(ctx);

    /* the rows first: chat_fill_room runs queries of its own */
    chat_room_row *rows = NULL;
    size_t n = 0, cap = 0;
    sb_cursor cur = SB_CURSOR_INIT;
    chat_room_row row;
    int rc;
    while ((rc = chat_user_rooms(app->store, me, &cur, &row)) == 1) {
        rows = grow(app->arena, rows, n, &cap, sizeof *rows);
        if (!rows)
            return -CHAT_ERROR_UNAVAILABLE;
        rows[n++] = row;
    }
    if (rc < 0)
        return -CHAT_ERROR_UNAVAILABLE;
    resp->rooms.items = n ? sb_arena_alloc(app->arena, n * sizeof *resp->rooms.items) : NULL;
    if (n && !resp->rooms.items)
        return -CHAT_ERROR_UNAVAILABLE;
    for (size_t i = 0; i < n; i++) {
        const chat_room_info *room;
        int found = chat_room_get(app->store, rows[i].room_id, &room);
        if (found < 0)
            return -CHAT_ERROR_UNAVAILABLE;
        if (!found)
            continue;
        chat_fill_room(app, room, me, rows[i].unread, rows[i].last_message_id,
                       &resp->rooms.items[resp->rooms.count++]);
    }
    return 200;
}

int chat_on_room_messages(struct sb_ctx *ctx, const chat_room_messages_path *path,
                          const chat_room_messages_query *query, chat_messages_response *resp,
                          chat_chat_http_error *err)
{
    (void)err;
    chat_app *app = ctx->app;
    int64_t me = user_of(ctx);
    const chat_room_messages_query *q = query;
    int64_t room_id = chat_parse_id(path->room_id.ptr, path->room_id.len);
    const chat_room_info *room;
    int found = chat_room_get(app->store, room_id, &room);
    if (found < 0)
        return -CHAT_ERROR_UNAVAILABLE;
    if (!found || !chat_room_has_member(room, me))
        return -CHAT_ERROR_ROOM_NOT_FOUND;

    int limit = q->has.limit == SB_SET ? (int)q->limit : DEFAULT_PAGE;
    resp->room_id = path->room_id;
    resp->messages.items = sb_arena_alloc(app->arena, (size_t)(limit + 1) * sizeof(chat_message));
    if (!resp->messages.items)
        return -CHAT_ERROR_UNAVAILABLE;
    /* one more than asked for tells whether there is more */
    sb_cursor cur = SB_CURSOR_INIT;
    chat_msg_row row;
    int rc;
    size_t n = 0;
    while ((rc = chat_room_history(app->store, room_id, q->has.before == SB_SET ? q->before : 0,
                                   limit + 1, &cur, &row)) == 1) {
        if (n == (size_t)limit) {
            resp->has_more = true;
            continue;
        }
        /* the row's texts live in the cursor: copy them before the next step */
        chat_msg_row copy = row;
        copy.text = sb_str_copy(app->arena, row.text);
        copy.file_id = sb_str_copy(app->arena, row.file_id);
        copy.client_message_id = (sb_str){NULL, 0};
        chat_fill_message(app, &copy, me, &resp->messages.items[n++]);
    }
    if (rc < 0)
        return -CHAT_ERROR_UNAVAILABLE;
    resp->messages.count = n;
    return 200;
}

/* What a request hears when the turn's commit failed (it read while
 * another message of the turn wrote, and that commit failed). */
static void storage_failure(sb_http_response *resp, void *arg)
{
    (void)arg;
    chat_chat_http_error body = {0};
    sb_http_answer_error(resp, chat_http_errors, CHAT_ERROR_UNAVAILABLE, &body, "");
}

int chat_http_register(chat_app *app, char *err, size_t err_size)
{
    sb_failure fail = {.http = storage_failure, .arg = app};
    return chat_routes_register(app->rt, app, &fail, err, err_size);
}
