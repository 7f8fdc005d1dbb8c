/*
 * relocate.c: copy every string of a message into one string pool, each
 * with a NUL after it, in field order.
 *
 * The write benchmarks start from structs whose strings must be
 * NUL-terminated (cJSON_CreateString takes a C string). They are read once
 * with cJSON, which gives such strings, but inside cJSON's DOM: spread over
 * its nodes and keys, several times the bytes of the strings. Writing from
 * there measured our writer at a third of its speed on the 100k-message log,
 * from the cost of walking that memory, not of writing. A server writes from
 * compact data (a per-message arena, a database row), so the strings are
 * moved to a pool here, message after message, and the DOM is freed. Every
 * writer, ours and the references' builders, then reads the same compact
 * strings.
 */
#include <string.h>

#include "bench.h"

static void move(sb_str *s, char **pool)
{
    char *d = *pool;
    if (s->len)
        memcpy(d, s->ptr, s->len);
    d[s->len] = '\0';
    s->ptr = d;
    *pool = d + s->len + 1;
}

static void sender(chat_sender *m, char **pool)
{
    move(&m->id, pool);
    move(&m->full_name, pool);
    move(&m->avatar, pool);
}

static void last_message(chat_last_message *m, char **pool)
{
    move(&m->message_id, pool);
    move(&m->text, pool);
    move(&m->timestamp, pool);
    sender(&m->sender, pool);
    move(&m->file_id, pool);
    move(&m->replied_from_id, pool);
}

static void room(chat_room *m, char **pool)
{
    move(&m->room_id, pool);
    last_message(&m->last_message, pool);
    move(&m->counterpart.user_id, pool);
    move(&m->counterpart.full_name, pool);
    move(&m->counterpart.avatar, pool);
    move(&m->service.id, pool);
    move(&m->service.created_at, pool);
    move(&m->service.status, pool);
    move(&m->customer.full_name, pool);
    move(&m->customer.phone_number, pool);
    move(&m->customer.address, pool);
}

static void message(chat_message *m, char **pool)
{
    move(&m->id, pool);
    move(&m->text, pool);
    move(&m->file_id, pool);
    move(&m->replied_from_id, pool);
    sender(&m->sender, pool);
    move(&m->client_message_id, pool);
}

void bench_relocate(bench_msg *m, char **pool)
{
    if (m->dir == DIR_IN) {
        chat_in *in = &m->u.in;
        move(&in->tag, pool);
        switch (in->kind) {
        case CHAT_IN_SEND_MESSAGE_EVENT: {
            chat_send_message_event *e = &in->as.send_message_event;
            move(&e->room_id, pool);
            move(&e->service_id, pool);
            move(&e->receiver_id, pool);
            move(&e->text, pool);
            move(&e->file_id, pool);
            move(&e->replied_to_id, pool);
            move(&e->client_message_id, pool);
            break;
        }
        case CHAT_IN_MARK_DELIVERED_EVENT:
            move(&in->as.mark_delivered_event.message_id, pool);
            break;
        case CHAT_IN_MARK_READ_EVENT:
            move(&in->as.mark_read_event.message_id, pool);
            break;
        case CHAT_IN_NEW_ROOM_EVENT:
            move(&in->as.new_room_event.room_id, pool);
            break;
        default:
            break;
        }
        return;
    }
    chat_out *out = &m->u.out;
    move(&out->tag, pool);
    switch (out->kind) {
    case CHAT_OUT_NEW_MESSAGE_PAYLOAD: {
        chat_new_message_payload_data *d = &out->as.new_message_payload.data;
        move(&d->room_id, pool);
        move(&d->service_id, pool);
        message(&d->message, pool);
        break;
    }
    case CHAT_OUT_NEW_ROOM_PAYLOAD:
        room(&out->as.new_room_payload.data, pool);
        break;
    case CHAT_OUT_MESSAGE_STATUS_PAYLOAD:
        move(&out->as.message_status_payload.data.service_id, pool);
        move(&out->as.message_status_payload.data.message_id, pool);
        break;
    case CHAT_OUT_HEARTBEAT_RESPONSE_PAYLOAD:
        move(&out->as.heartbeat_response_payload.status, pool);
        move(&out->as.heartbeat_response_payload.data.status, pool);
        break;
    case CHAT_OUT_UNREAD_MESSAGE_COUNT_PAYLOAD:
        move(&out->as.unread_message_count_payload.data.room_id, pool);
        break;
    case CHAT_OUT_ERROR_PAYLOAD:
        move(&out->as.error_payload.error, pool);
        move(&out->as.error_payload.data.error, pool);
        break;
    default:
        break;
    }
}
