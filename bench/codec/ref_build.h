/*
 * ref_build.h: build a reference library's DOM of a chat message from the
 * generated structs, with the members in the order and presence our writer
 * uses (absent fields omitted, null written as null), so that printing it
 * gives the same bytes as our writer. Included once by each ref_*.c file
 * after it defines:
 *
 *   B(name)          the prefix of every function made here
 *   B_T              the library's value handle type
 *   B_OBJ()          a new empty object
 *   B_ADD(o, k, v)   add member k (a string literal) with value v
 *   B_STR(s)         a string value from an sb_str whose ptr is NUL-terminated
 *   B_NULL() B_INT(int64_t) B_BOOL(bool)
 *
 * Allocation failures are not checked: the benchmark runs far from any limit.
 */

/* An optional_nullable string member. */
#define B_NUL_STR(o, key, has, val)                                                                \
    do {                                                                                           \
        if ((has) == SB_NULL)                                                                      \
            B_ADD(o, key, B_NULL());                                                               \
        else if ((has) == SB_SET)                                                                  \
            B_ADD(o, key, B_STR(val));                                                             \
    } while (0)

/* An optional_nullable payload member built by fn. */
#define B_NUL_OBJ(o, key, has, fn, val)                                                            \
    do {                                                                                           \
        if ((has) == SB_NULL)                                                                      \
            B_ADD(o, key, B_NULL());                                                               \
        else if ((has) == SB_SET)                                                                  \
            B_ADD(o, key, fn(val));                                                                \
    } while (0)

static B_T B(sender)(const chat_sender *m)
{
    B_T o = B_OBJ();
    B_NUL_STR(o, "id", m->has.id, m->id);
    B_NUL_STR(o, "full_name", m->has.full_name, m->full_name);
    B_NUL_STR(o, "avatar", m->has.avatar, m->avatar);
    B_NUL_STR(o, "role", m->has.role, chat_role_name(m->role));
    return o;
}

static B_T B(last_message)(const chat_last_message *m)
{
    B_T o = B_OBJ();
    B_ADD(o, "message_id", B_STR(m->message_id));
    B_NUL_STR(o, "text", m->has.text, m->text);
    B_ADD(o, "timestamp", B_STR(m->timestamp));
    B_ADD(o, "is_sent", B_BOOL(m->is_sent));
    B_ADD(o, "is_system_message", B_BOOL(m->is_system_message));
    B_NUL_OBJ(o, "sender", m->has.sender, B(sender), &m->sender);
    B_NUL_STR(o, "file_id", m->has.file_id, m->file_id);
    B_NUL_STR(o, "replied_from_id", m->has.replied_from_id, m->replied_from_id);
    return o;
}

static B_T B(counterpart)(const chat_counterpart *m)
{
    B_T o = B_OBJ();
    B_ADD(o, "user_id", B_STR(m->user_id));
    B_NUL_STR(o, "full_name", m->has.full_name, m->full_name);
    B_NUL_STR(o, "avatar", m->has.avatar, m->avatar);
    B_ADD(o, "role", B_STR(chat_role_name(m->role)));
    return o;
}

static B_T B(service)(const chat_service *m)
{
    B_T o = B_OBJ();
    B_ADD(o, "id", B_STR(m->id));
    B_ADD(o, "created_at", B_STR(m->created_at));
    B_ADD(o, "status", B_STR(m->status));
    return o;
}

static B_T B(customer)(const chat_customer *m)
{
    B_T o = B_OBJ();
    B_NUL_STR(o, "full_name", m->has.full_name, m->full_name);
    B_NUL_STR(o, "phone_number", m->has.phone_number, m->phone_number);
    B_NUL_STR(o, "address", m->has.address, m->address);
    return o;
}

static B_T B(message)(const chat_message *m)
{
    B_T o = B_OBJ();
    B_ADD(o, "id", B_STR(m->id));
    B_ADD(o, "is_sent", B_BOOL(m->is_sent));
    B_NUL_STR(o, "text", m->has.text, m->text);
    B_NUL_STR(o, "file_id", m->has.file_id, m->file_id);
    B_NUL_STR(o, "replied_from_id", m->has.replied_from_id, m->replied_from_id);
    B_ADD(o, "is_system_message", B_BOOL(m->is_system_message));
    B_ADD(o, "timestamp", B_INT(m->timestamp));
    B_NUL_OBJ(o, "sender", m->has.sender, B(sender), &m->sender);
    if (m->has.client_message_id == SB_SET)
        B_ADD(o, "client_message_id", B_STR(m->client_message_id));
    return o;
}

/* The discriminators are string literals: NUL-terminated as B_STR needs. */
static B_T B(tagged)(const char *key, const char *value)
{
    B_T o = B_OBJ();
    B_ADD(o, key, B_STR(((sb_str){value, strlen(value)})));
    return o;
}

static B_T B(build_in)(const chat_in *m)
{
    B_T o = B(tagged)("action", chat_in_kind_name(m->kind));
    switch (m->kind) {
    case CHAT_IN_SEND_MESSAGE_EVENT: {
        const chat_send_message_event *e = &m->as.send_message_event;
        B_NUL_STR(o, "room_id", e->has.room_id, e->room_id);
        B_NUL_STR(o, "service_id", e->has.service_id, e->service_id);
        B_NUL_STR(o, "receiver_id", e->has.receiver_id, e->receiver_id);
        B_NUL_STR(o, "text", e->has.text, e->text);
        B_NUL_STR(o, "file_id", e->has.file_id, e->file_id);
        B_NUL_STR(o, "replied_to_id", e->has.replied_to_id, e->replied_to_id);
        if (e->has.client_message_id == SB_SET)
            B_ADD(o, "client_message_id", B_STR(e->client_message_id));
        break;
    }
    case CHAT_IN_MARK_DELIVERED_EVENT:
        B_ADD(o, "message_id", B_STR(m->as.mark_delivered_event.message_id));
        break;
    case CHAT_IN_MARK_READ_EVENT:
        B_ADD(o, "message_id", B_STR(m->as.mark_read_event.message_id));
        break;
    case CHAT_IN_NEW_ROOM_EVENT:
        B_ADD(o, "room_id", B_STR(m->as.new_room_event.room_id));
        break;
    default:
        break;
    }
    return o;
}

static B_T B(build_out)(const chat_out *m)
{
    B_T o = B(tagged)("type", chat_out_kind_name(m->kind));
    B_T d;
    switch (m->kind) {
    case CHAT_OUT_NEW_MESSAGE_PAYLOAD: {
        const chat_new_message_payload_data *p = &m->as.new_message_payload.data;
        d = B_OBJ();
        B_ADD(d, "room_id", B_STR(p->room_id));
        B_NUL_STR(d, "service_id", p->has.service_id, p->service_id);
        B_ADD(d, "message", B(message)(&p->message));
        B_ADD(o, "data", d);
        break;
    }
    case CHAT_OUT_NEW_ROOM_PAYLOAD: {
        const chat_room *p = &m->as.new_room_payload.data;
        d = B_OBJ();
        B_ADD(d, "room_id", B_STR(p->room_id));
        B_ADD(d, "type", B_STR(chat_room_type_name(p->type)));
        B_ADD(d, "unread_messages_count", B_INT(p->unread_messages_count));
        B_NUL_OBJ(d, "last_message", p->has.last_message, B(last_message), &p->last_message);
        B_NUL_OBJ(d, "counterpart", p->has.counterpart, B(counterpart), &p->counterpart);
        B_NUL_OBJ(d, "service", p->has.service, B(service), &p->service);
        B_NUL_OBJ(d, "customer", p->has.customer, B(customer), &p->customer);
        B_ADD(o, "data", d);
        break;
    }
    case CHAT_OUT_MESSAGE_STATUS_PAYLOAD: {
        const chat_message_status_payload_data *p = &m->as.message_status_payload.data;
        d = B_OBJ();
        B_NUL_STR(d, "service_id", p->has.service_id, p->service_id);
        B_ADD(d, "message_id", B_STR(p->message_id));
        B_ADD(d, "status", B_STR(chat_message_status_name(p->status)));
        B_ADD(o, "data", d);
        break;
    }
    case CHAT_OUT_HEARTBEAT_RESPONSE_PAYLOAD: {
        const chat_heartbeat_response_payload *p = &m->as.heartbeat_response_payload;
        if (p->has.status == SB_SET)
            B_ADD(o, "status", B_STR(p->status));
        if (p->has.data == SB_SET) {
            d = B_OBJ();
            B_ADD(d, "status", B_STR(p->data.status));
            B_ADD(o, "data", d);
        }
        break;
    }
    case CHAT_OUT_UNREAD_MESSAGE_COUNT_PAYLOAD: {
        const chat_unread_message_count_payload_data *p = &m->as.unread_message_count_payload.data;
        d = B_OBJ();
        B_ADD(d, "room_id", B_STR(p->room_id));
        B_ADD(d, "unread_count", B_INT(p->unread_count));
        B_ADD(o, "data", d);
        break;
    }
    case CHAT_OUT_ERROR_PAYLOAD: {
        const chat_error_payload *p = &m->as.error_payload;
        if (p->has.error == SB_SET)
            B_ADD(o, "error", B_STR(p->error));
        if (p->has.data == SB_SET) {
            d = B_OBJ();
            B_ADD(d, "error", B_STR(p->data.error));
            B_ADD(o, "data", d);
        }
        break;
    }
    default:
        break;
    }
    return o;
}

#undef B_NUL_STR
#undef B_NUL_OBJ
