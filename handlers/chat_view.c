/*
 * chat_view.c: the chat's payloads as one user sees them (is_sent, the
 * counterpart of a direct room, client_message_id for its sender only),
 * built from stored rows for the WebSocket events (chat.c) and the REST
 * answers (chat_http.c) alike.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chat_view.h"

void chat_write_error(sb_buf *b, const char *text, size_t len)
{
    /* Both forms the document shows: error and data.error (docs/decisions.md,
     * "heartbeat_response and error: two forms each"). */
    chat_error_payload e = {0};
    e.error = (sb_str){text, len};
    e.has.error = SB_SET;
    e.data.error = e.error;
    e.has.data = SB_SET;
    chat_error_payload_write(b, &e);
}

/* Decimal text of an ID, in the arena (the struct keeps a pointer). */
sb_str chat_id_str(sb_arena *a, int64_t id)
{
    char *p = sb_arena_alloc(a, 24);
    if (!p)
        return (sb_str){"", 0};
    int n = snprintf(p, 24, "%lld", (long long)id);
    return (sb_str){p, (size_t)n};
}

static sb_str cstr(const char *s)
{
    return (sb_str){s, s ? strlen(s) : 0};
}

/* Payload builders -------------------------------------------------------- */

static void fill_sender(chat_app *app, int64_t user_id, chat_sender *s, sb_presence *has)
{
    const chat_user_info *u;
    memset(s, 0, sizeof *s);
    if (chat_user_get(app->store, user_id, &u) != 1) {
        *has = SB_NULL;
        return;
    }
    *has = SB_SET;
    s->id = chat_id_str(app->arena, u->id);
    s->has.id = SB_SET;
    s->full_name = cstr(u->full_name);
    s->has.full_name = SB_SET;
    s->avatar = cstr(u->avatar);
    s->has.avatar = u->avatar ? SB_SET : SB_NULL;
    s->role = u->role;
    s->has.role = SB_SET;
}

static void opt_str(sb_str v, sb_str *dst, sb_presence *has)
{
    *dst = v;
    *has = v.ptr ? SB_SET : SB_NULL;
}

/* A stored message as `viewer` sees it (is_sent, and client_message_id
 * only for its sender). */
void chat_fill_message(chat_app *app, const chat_msg_row *row, int64_t viewer, chat_message *m)
{
    memset(m, 0, sizeof *m);
    m->id = chat_id_str(app->arena, row->id);
    m->is_sent = row->sender_id == viewer;
    opt_str(row->text, &m->text, &m->has.text);
    opt_str(row->file_id, &m->file_id, &m->has.file_id);
    if (row->replied_to) {
        m->replied_from_id = chat_id_str(app->arena, row->replied_to);
        m->has.replied_from_id = SB_SET;
    } else {
        m->has.replied_from_id = SB_NULL;
    }
    m->is_system_message = row->is_system;
    m->timestamp = row->created_at;
    fill_sender(app, row->sender_id, &m->sender, &m->has.sender);
    if (row->client_message_id.ptr && row->sender_id == viewer) {
        m->client_message_id = row->client_message_id;
        m->has.client_message_id = SB_SET;
    }
}

/* new_message for one viewer of a stored message */
void chat_fill_new_message(chat_app *app, const chat_msg_row *row, const chat_room_info *room,
                           int64_t viewer, chat_new_message_payload *p)
{
    memset(p, 0, sizeof *p);
    p->data.room_id = chat_id_str(app->arena, row->room_id);
    if (room && room->service_id) {
        p->data.service_id = chat_id_str(app->arena, room->service_id);
        p->data.has.service_id = SB_SET;
    } else {
        p->data.has.service_id = SB_NULL;
    }
    chat_fill_message(app, row, viewer, &p->data.message);
}

static sb_str iso_time(sb_arena *a, int64_t t)
{
    char *p = sb_arena_alloc(a, 32);
    time_t tt = (time_t)t;
    struct tm tm;
    if (!p || !gmtime_r(&tt, &tm))
        return (sb_str){"1970-01-01T00:00:00Z", 20};
    size_t n = strftime(p, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return (sb_str){p, n};
}

/* The room as `viewer` sees it: new_room's data and a GET /api/v1/rooms item. */
int chat_fill_room(chat_app *app, const chat_room_info *room, int64_t viewer, int64_t unread,
                   int64_t last_id, chat_room *out)
{
    memset(out, 0, sizeof *out);
    out->room_id = chat_id_str(app->arena, room->id);
    out->type = room->type;
    out->unread_messages_count = unread;
    out->has.last_message = SB_NULL;
    chat_msg_row row;
    if (last_id > 0 && chat_message_get(app->store, last_id, &row) == 1) {
        chat_last_message *lm = &out->last_message;
        lm->message_id = chat_id_str(app->arena, row.id);
        opt_str(sb_str_copy(app->arena, row.text), &lm->text, &lm->has.text);
        lm->timestamp = iso_time(app->arena, row.created_at);
        lm->is_sent = row.sender_id == viewer;
        lm->is_system_message = row.is_system;
        opt_str(sb_str_copy(app->arena, row.file_id), &lm->file_id, &lm->has.file_id);
        if (row.replied_to) {
            lm->replied_from_id = chat_id_str(app->arena, row.replied_to);
            lm->has.replied_from_id = SB_SET;
        } else {
            lm->has.replied_from_id = SB_NULL;
        }
        fill_sender(app, row.sender_id, &lm->sender, &lm->has.sender);
        out->has.last_message = SB_SET;
    }
    out->has.counterpart = SB_NULL;
    out->has.service = SB_NULL;
    out->has.customer = SB_NULL;
    if (room->type == CHAT_ROOM_TYPE_TECHNICIAN_DIRECT) {
        for (size_t i = 0; i < room->n_members; i++) {
            const chat_user_info *u;
            if (room->members[i] == viewer || chat_user_get(app->store, room->members[i], &u) != 1)
                continue;
            chat_counterpart *cp = &out->counterpart;
            cp->user_id = chat_id_str(app->arena, u->id);
            cp->full_name = cstr(u->full_name);
            cp->has.full_name = SB_SET;
            cp->avatar = cstr(u->avatar);
            cp->has.avatar = u->avatar ? SB_SET : SB_NULL;
            cp->role = u->role;
            out->has.counterpart = SB_SET;
        }
    }
    chat_service_row svc;
    if (room->service_id && chat_service_get(app->store, room->service_id, &svc) == 1) {
        out->service.id = chat_id_str(app->arena, room->service_id);
        out->service.created_at = sb_str_copy(app->arena, svc.created_at);
        out->service.status = sb_str_copy(app->arena, svc.status);
        out->has.service = SB_SET;
        chat_customer *cu = &out->customer;
        opt_str(sb_str_copy(app->arena, svc.customer_full_name), &cu->full_name,
                &cu->has.full_name);
        opt_str(sb_str_copy(app->arena, svc.customer_phone), &cu->phone_number,
                &cu->has.phone_number);
        opt_str(sb_str_copy(app->arena, svc.customer_address), &cu->address, &cu->has.address);
        out->has.customer = SB_SET;
    }
    return 0;
}

int64_t chat_last_message_id(chat_app *app, int64_t room_id)
{
    sb_cursor cur = SB_CURSOR_INIT;
    chat_msg_row row;
    int64_t id = 0;
    if (chat_room_history(app->store, room_id, 0, 1, &cur, &row) == 1) {
        id = row.id;
        sb_cursor_close(&cur);
    }
    return id;
}

void chat_write_new_room(chat_app *app, sb_buf *b, const chat_room_info *room, int64_t viewer)
{
    chat_new_room_payload p;
    int64_t unread = chat_unread_count(app->store, room->id, viewer);
    chat_fill_room(app, room, viewer, unread < 0 ? 0 : unread, chat_last_message_id(app, room->id),
                   &p.data);
    chat_new_room_payload_write(b, &p);
}
