/*
 * chat_http.c: the chat's REST endpoints (Switchboard extensions,
 * docs/protocols/chat.md), declared in schema/chat.lua:
 *
 *   GET /api/v1/rooms                       the user's rooms (RoomsResponse)
 *   GET /api/v1/rooms/{room_id}/messages    history, newest first (MessagesResponse)
 *
 * Authentication as on the WebSocket: "Authorization: Bearer TOKEN" or
 * ?token=. A room the user is not in answers exactly like one that does not
 * exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_app.h"
#include "chat_handlers.h"
#include "ctx.h"

#define DEFAULT_PAGE 50

/* Each endpoint handler returns an HTTP status; on an error it has written
 * the ChatHttpError body already. */
static int fail(struct sb_ctx *ctx, int status, const char *text)
{
    chat_chat_http_error e = {.error = {text, strlen(text)}};
    sb_buf_reset(&ctx->http_resp->body);
    chat_chat_http_error_write(&ctx->http_resp->body, &e);
    return status;
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
    chat_app *app = ctx->user;
    const sb_http_request *req = ctx->http;
    int64_t me = chat_authenticate(app, sb_query_get(req->query, "token"), req->authorization);
    if (!me)
        return fail(ctx, 401, CHAT_ERR_AUTH_REQUIRED);

    /* the rows first: chat_fill_room runs queries of its own */
    chat_room_row *rows = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    chat_room_row row;
    int rc;
    while ((rc = chat_user_rooms(app->store, me, &st, &row)) == 1) {
        rows = grow(app->arena, rows, n, &cap, sizeof *rows);
        if (!rows)
            return fail(ctx, 503, "out of memory");
        rows[n++] = row;
    }
    if (rc < 0)
        return fail(ctx, 503, "storage error");
    resp->rooms.items = n ? sb_arena_alloc(app->arena, n * sizeof *resp->rooms.items) : NULL;
    if (n && !resp->rooms.items)
        return fail(ctx, 503, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const chat_room_info *room = chat_room_get(app->store, rows[i].room_id);
        if (!room)
            continue;
        chat_fill_room(app, room, me, rows[i].unread, rows[i].last_message_id,
                       &resp->rooms.items[resp->rooms.count++]);
    }
    return 200;
}

/* path, query and err are NULL: http_rooms below calls it with the request
 * unparsed, until the chat moves onto the generated routes (chat_routes.c). */
int chat_on_room_messages(struct sb_ctx *ctx, const chat_room_messages_path *path,
                          const chat_room_messages_query *query, chat_messages_response *resp,
                          chat_chat_http_error *err)
{
    chat_app *app = ctx->user;
    const sb_http_request *req = ctx->http;
    /* who asks first: a stranger learns nothing, not even which parameter
     * is wrong */
    int64_t me = chat_authenticate(app, sb_query_get(req->query, "token"), req->authorization);
    if (!me)
        return fail(ctx, 401, CHAT_ERR_AUTH_REQUIRED);
    chat_room_messages_query q;
    sb_reader r;
    sb_reader_init(&r, "", 0, app->arena, NULL);
    if (!chat_room_messages_query_from_query(&r, req->query, &q))
        return fail(ctx, 400, r.err_msg);

    /* path: /api/v1/rooms/{room_id}/messages */
    static const char prefix[] = "/api/v1/rooms/", suffix[] = "/messages";
    const char *id = req->path + sizeof prefix - 1;
    const char *slash = strchr(id, '/');
    if (!slash || strcmp(slash, suffix) != 0)
        return fail(ctx, 404, "not found");
    int64_t room_id = chat_parse_id(id, (size_t)(slash - id));
    const chat_room_info *room = chat_room_get(app->store, room_id);
    if (!room || !chat_room_has_member(room, me))
        return fail(ctx, 404, CHAT_ERR_ROOM_NOT_FOUND);

    int limit = q.has.limit == SB_SET ? (int)q.limit : DEFAULT_PAGE;
    resp->room_id = (sb_str){id, (size_t)(slash - id)};
    resp->messages.items = sb_arena_alloc(app->arena, (size_t)(limit + 1) * sizeof(chat_message));
    if (!resp->messages.items)
        return fail(ctx, 503, "out of memory");
    /* one more than asked for tells whether there is more */
    sqlite3_stmt *st = NULL;
    chat_msg_row row;
    int rc;
    size_t n = 0;
    while ((rc = chat_room_history(app->store, room_id, q.has.before == SB_SET ? q.before : 0,
                                   limit + 1, &st, &row)) == 1) {
        if (n == (size_t)limit) {
            resp->has_more = true;
            continue;
        }
        /* the row's texts live in the statement: copy them before the next step */
        chat_msg_row copy = row;
        copy.text = sb_str_copy(app->arena, row.text);
        copy.file_id = sb_str_copy(app->arena, row.file_id);
        copy.client_message_id = (sb_str){NULL, 0};
        chat_fill_message(app, &copy, me, &resp->messages.items[n++]);
    }
    if (rc < 0)
        return fail(ctx, 503, "storage error");
    resp->messages.count = n;
    return 200;
}

/* Adapters from the server's HTTP routes to the generated prototypes. */
static void http_rooms(const sb_http_request *req, sb_http_response *resp, void *arg)
{
    chat_app *app = arg;
    sb_arena_reset(app->arena);
    struct sb_ctx ctx = {.server = app->server,
                         .store = app->sb_store,
                         .hub = app->hub,
                         .http = req,
                         .http_resp = resp,
                         .user = app,
                         .arena = app->arena};
    if (strcmp(req->path, "/api/v1/rooms") == 0) {
        chat_rooms_response out = {0};
        resp->status = chat_on_list_rooms(&ctx, &out, NULL);
        if (resp->status == 200)
            chat_rooms_response_write(&resp->body, &out);
    } else {
        chat_messages_response out = {0};
        resp->status = chat_on_room_messages(&ctx, NULL, NULL, &out, NULL);
        if (resp->status == 200)
            chat_messages_response_write(&resp->body, &out);
    }
}

void chat_http_register(chat_app *app)
{
    sb_http_route list = {"GET", "/api/v1/rooms", http_rooms, app};
    sb_http_route room = {"GET", "/api/v1/rooms/", http_rooms, app};
    sb_server_add_http(app->server, &list);
    sb_server_add_http(app->server, &room);
}
