/*
 * ref_extract.h: read a reference library's DOM of a chat message into the
 * generated structs, the way a careful hand-written handler would. Included
 * twice by each ref_*.c file, once per mode, after it defines:
 *
 *   X(name)          the prefix of every function made here (e.g. cjson_v_##name)
 *   X_VALIDATE       0 = extract, 1 = validate
 *   D_T              the library's value handle type
 *   D_GET(o, k, &v)  true if object o has member k; v = its value
 *   D_IS_NULL(v) D_IS_OBJ(v) D_IS_STR(v) D_IS_INT(v) D_IS_BOOL(v)
 *   D_STR(v)         the string as an sb_str (pointer into the DOM, length)
 *   D_INT(v)         int64_t      D_BOOL(v)   bool
 *   D_COUNT(o)       number of members of object o
 *
 * Extract (X_VALIDATE 0) is the least a handler must do to get C values:
 * find the discriminator and dispatch on it, then look up each field, take
 * it when it has the expected type (string as pointer + length, integer,
 * bool, enum string mapped to its C enum) and leave it zero otherwise.
 *
 * Validate (X_VALIDATE 1) adds what our parser checks, so that the two do
 * equivalent work: required fields present, every field of the right type
 * (null only where the schema allows it), string lengths within the
 * schema's bounds, enum values known, integer ranges, ISO-8601 timestamps,
 * "one of" rules, and no member the schema does not declare. The last check
 * compares the object's member count with the number of declared fields
 * found; with cJSON (which keeps duplicate keys) and jansson (which the
 * caller asks to reject them) it also catches duplicates. What the libraries
 * check while parsing (UTF-8, surrogates, trailing bytes) is theirs; the
 * report lists the differences.
 */

#include <string.h>

/* ---- fields ------------------------------------------------------------- */

/* Each helper returns false on a validation failure (never in extract mode)
 * and counts a found member in *n. */

static inline bool X(req_str)(D_T o, const char *k, size_t min, size_t max, sb_str *s, size_t *n)
{
    D_T v;
    if (!D_GET(o, k, &v))
        return !X_VALIDATE;
    ++*n;
    if (!D_IS_STR(v))
        return !X_VALIDATE;
    *s = D_STR(v);
    return !X_VALIDATE || (s->len >= min && s->len <= max);
}

/* optional: absent or a string, never null. */
static inline bool X(opt_str)(D_T o, const char *k, size_t min, size_t max, sb_str *s,
                              sb_presence *has, size_t *n)
{
    D_T v;
    if (!D_GET(o, k, &v))
        return true;
    ++*n;
    if (!D_IS_STR(v))
        return !X_VALIDATE;
    *s = D_STR(v);
    *has = SB_SET;
    return !X_VALIDATE || (s->len >= min && s->len <= max);
}

/* optional_nullable: absent, null or a string. */
static inline bool X(nul_str)(D_T o, const char *k, size_t max, sb_str *s, sb_presence *has,
                              size_t *n)
{
    D_T v;
    if (!D_GET(o, k, &v))
        return true;
    ++*n;
    if (D_IS_NULL(v)) {
        *has = SB_NULL;
        return true;
    }
    if (!D_IS_STR(v))
        return !X_VALIDATE;
    *s = D_STR(v);
    *has = SB_SET;
    return !X_VALIDATE || s->len <= max;
}

static inline bool X(req_iso)(D_T o, const char *k, sb_str *s, size_t *n)
{
    if (!X(req_str)(o, k, 0, SIZE_MAX, s, n))
        return false;
    return !X_VALIDATE || sb_is_iso8601(*s);
}

static inline bool X(req_int)(D_T o, const char *k, int64_t min, int64_t *x, size_t *n)
{
    D_T v;
    if (!D_GET(o, k, &v))
        return !X_VALIDATE;
    ++*n;
    if (!D_IS_INT(v))
        return !X_VALIDATE;
    *x = D_INT(v);
    return !X_VALIDATE || *x >= min;
}

static inline bool X(req_bool)(D_T o, const char *k, bool *b, size_t *n)
{
    D_T v;
    if (!D_GET(o, k, &v))
        return !X_VALIDATE;
    ++*n;
    if (!D_IS_BOOL(v))
        return !X_VALIDATE;
    *b = D_BOOL(v);
    return true;
}

/* A required enum: from() maps the string to its value, 0 when unknown. */
static inline bool X(req_enum)(D_T o, const char *k, int (*from)(sb_str), int *e, size_t *n)
{
    D_T v;
    if (!D_GET(o, k, &v))
        return !X_VALIDATE;
    ++*n;
    if (!D_IS_STR(v))
        return !X_VALIDATE;
    *e = from(D_STR(v));
    return !X_VALIDATE || *e != 0;
}

/* An object member: 1 = *child is an object, 0 = absent (or, in extract
 * mode, not an object), 2 = null, -1 = invalid. nullable says whether null
 * is allowed. */
static inline int X(get_obj)(D_T o, const char *k, bool nullable, D_T *child, size_t *n)
{
    if (!D_GET(o, k, child))
        return 0;
    ++*n;
    if (D_IS_OBJ(*child))
        return 1;
    if (nullable && D_IS_NULL(*child))
        return 2;
    return X_VALIDATE ? -1 : 0;
}

/* No undeclared member (and, see above, no duplicate). */
#define X_CLOSE(o, n) (!X_VALIDATE || D_COUNT(o) == (n))

/* ---- shared payloads ---------------------------------------------------- */

static inline int X(role_from)(sb_str s)
{
    return (int)chat_role_from(s.ptr, s.len);
}
static inline int X(room_type_from)(sb_str s)
{
    return (int)chat_room_type_from(s.ptr, s.len);
}
static inline int X(status_from)(sb_str s)
{
    return (int)chat_message_status_from(s.ptr, s.len);
}

static bool X(sender)(D_T o, chat_sender *m)
{
    size_t n = 0;
    D_T v;
    memset(m, 0, sizeof *m);
    if (!X(nul_str)(o, "id", 64, &m->id, &m->has.id, &n) ||
        !X(nul_str)(o, "full_name", 256, &m->full_name, &m->has.full_name, &n) ||
        !X(nul_str)(o, "avatar", 2048, &m->avatar, &m->has.avatar, &n))
        return false;
    if (D_GET(o, "role", &v)) {
        n++;
        if (D_IS_NULL(v)) {
            m->has.role = SB_NULL;
        } else if (D_IS_STR(v)) {
            m->role = (chat_role)X(role_from)(D_STR(v));
            if (X_VALIDATE && m->role == 0)
                return false;
            m->has.role = SB_SET;
        } else if (X_VALIDATE) {
            return false;
        }
    }
    return X_CLOSE(o, n);
}

/* An optional_nullable payload member: absent, null, or parsed by fn. */
#define X_NUL_OBJ(o, key, fn, dst, has_field, n)                                                   \
    do {                                                                                           \
        D_T child_;                                                                                \
        int got_ = X(get_obj)(o, key, true, &child_, n);                                           \
        if (got_ < 0)                                                                              \
            return false;                                                                          \
        if (got_ == 2)                                                                             \
            has_field = SB_NULL;                                                                   \
        if (got_ == 1) {                                                                           \
            if (!fn(child_, dst))                                                                  \
                return false;                                                                      \
            has_field = SB_SET;                                                                    \
        }                                                                                          \
    } while (0)

/* A required object member parsed by fn. */
#define X_REQ_OBJ(o, key, fn, dst, n)                                                              \
    do {                                                                                           \
        D_T child_;                                                                                \
        int got_ = X(get_obj)(o, key, false, &child_, n);                                          \
        if (got_ < 0 || (X_VALIDATE && got_ == 0))                                                 \
            return false;                                                                          \
        if (got_ == 1 && !fn(child_, dst))                                                         \
            return false;                                                                          \
    } while (0)

static bool X(last_message)(D_T o, chat_last_message *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "message_id", 0, 64, &m->message_id, &n) ||
        !X(nul_str)(o, "text", 16384, &m->text, &m->has.text, &n) ||
        !X(req_iso)(o, "timestamp", &m->timestamp, &n) ||
        !X(req_bool)(o, "is_sent", &m->is_sent, &n) ||
        !X(req_bool)(o, "is_system_message", &m->is_system_message, &n))
        return false;
    X_NUL_OBJ(o, "sender", X(sender), &m->sender, m->has.sender, &n);
    if (!X(nul_str)(o, "file_id", 64, &m->file_id, &m->has.file_id, &n) ||
        !X(nul_str)(o, "replied_from_id", 64, &m->replied_from_id, &m->has.replied_from_id, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(counterpart)(D_T o, chat_counterpart *m)
{
    size_t n = 0;
    int e = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "user_id", 0, 64, &m->user_id, &n) ||
        !X(nul_str)(o, "full_name", 256, &m->full_name, &m->has.full_name, &n) ||
        !X(nul_str)(o, "avatar", 2048, &m->avatar, &m->has.avatar, &n) ||
        !X(req_enum)(o, "role", X(role_from), &e, &n))
        return false;
    m->role = (chat_role)e;
    return X_CLOSE(o, n);
}

static bool X(service)(D_T o, chat_service *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "id", 0, 64, &m->id, &n) ||
        !X(req_iso)(o, "created_at", &m->created_at, &n) ||
        !X(req_str)(o, "status", 0, 64, &m->status, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(customer)(D_T o, chat_customer *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(nul_str)(o, "full_name", 256, &m->full_name, &m->has.full_name, &n) ||
        !X(nul_str)(o, "phone_number", 64, &m->phone_number, &m->has.phone_number, &n) ||
        !X(nul_str)(o, "address", 1024, &m->address, &m->has.address, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(message)(D_T o, chat_message *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "id", 0, 64, &m->id, &n) || !X(req_bool)(o, "is_sent", &m->is_sent, &n) ||
        !X(nul_str)(o, "text", 16384, &m->text, &m->has.text, &n) ||
        !X(nul_str)(o, "file_id", 64, &m->file_id, &m->has.file_id, &n) ||
        !X(nul_str)(o, "replied_from_id", 64, &m->replied_from_id, &m->has.replied_from_id, &n) ||
        !X(req_bool)(o, "is_system_message", &m->is_system_message, &n) ||
        !X(req_int)(o, "timestamp", 0, &m->timestamp, &n))
        return false;
    X_NUL_OBJ(o, "sender", X(sender), &m->sender, m->has.sender, &n);
    if (!X(opt_str)(o, "client_message_id", 0, 64, &m->client_message_id, &m->has.client_message_id,
                    &n))
        return false;
    return X_CLOSE(o, n);
}

/* ---- client to server --------------------------------------------------- */

/* n starts at 1 in every message: the discriminator, which the dispatcher
 * has already read and matched. */

static bool X(send_message)(D_T o, chat_send_message_event *m)
{
    size_t n = 1;
    memset(m, 0, sizeof *m);
    if (!X(nul_str)(o, "room_id", 64, &m->room_id, &m->has.room_id, &n) ||
        !X(nul_str)(o, "service_id", 64, &m->service_id, &m->has.service_id, &n) ||
        !X(nul_str)(o, "receiver_id", 64, &m->receiver_id, &m->has.receiver_id, &n) ||
        !X(nul_str)(o, "text", 16384, &m->text, &m->has.text, &n) ||
        !X(nul_str)(o, "file_id", 64, &m->file_id, &m->has.file_id, &n) ||
        !X(nul_str)(o, "replied_to_id", 64, &m->replied_to_id, &m->has.replied_to_id, &n) ||
        !X(opt_str)(o, "client_message_id", 1, 64, &m->client_message_id, &m->has.client_message_id,
                    &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(message_id_only)(D_T o, sb_str *message_id)
{
    size_t n = 1;
    *message_id = (sb_str){NULL, 0};
    if (!X(req_str)(o, "message_id", 0, 64, message_id, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(new_room_event)(D_T o, chat_new_room_event *m)
{
    size_t n = 1;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "room_id", 0, 64, &m->room_id, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(parse_in)(D_T root, chat_in *out)
{
    D_T t;
    out->kind = CHAT_IN__NONE;
    out->tag = (sb_str){NULL, 0};
    if (!D_IS_OBJ(root) || !D_GET(root, "action", &t) || !D_IS_STR(t))
        return false;
    sb_str a = D_STR(t);
    out->tag = a;
#define TAG_IS(lit) (a.len == sizeof(lit) - 1 && memcmp(a.ptr, lit, sizeof(lit) - 1) == 0)
    if (TAG_IS("send_message")) {
        out->kind = CHAT_IN_SEND_MESSAGE_EVENT;
        return X(send_message)(root, &out->as.send_message_event);
    }
    if (TAG_IS("mark_delivered")) {
        out->kind = CHAT_IN_MARK_DELIVERED_EVENT;
        return X(message_id_only)(root, &out->as.mark_delivered_event.message_id);
    }
    if (TAG_IS("mark_read")) {
        out->kind = CHAT_IN_MARK_READ_EVENT;
        return X(message_id_only)(root, &out->as.mark_read_event.message_id);
    }
    if (TAG_IS("heartbeat")) {
        out->kind = CHAT_IN_HEARTBEAT_EVENT;
        return X_CLOSE(root, 1);
    }
    if (TAG_IS("new_room")) {
        out->kind = CHAT_IN_NEW_ROOM_EVENT;
        return X(new_room_event)(root, &out->as.new_room_event);
    }
    return false;
}

/* ---- server to client --------------------------------------------------- */

static bool X(room)(D_T o, chat_room *m)
{
    size_t n = 0;
    int e = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "room_id", 0, 64, &m->room_id, &n) ||
        !X(req_enum)(o, "type", X(room_type_from), &e, &n) ||
        !X(req_int)(o, "unread_messages_count", 0, &m->unread_messages_count, &n))
        return false;
    m->type = (chat_room_type)e;
    X_NUL_OBJ(o, "last_message", X(last_message), &m->last_message, m->has.last_message, &n);
    X_NUL_OBJ(o, "counterpart", X(counterpart), &m->counterpart, m->has.counterpart, &n);
    X_NUL_OBJ(o, "service", X(service), &m->service, m->has.service, &n);
    X_NUL_OBJ(o, "customer", X(customer), &m->customer, m->has.customer, &n);
    return X_CLOSE(o, n);
}

static bool X(new_message_data)(D_T o, chat_new_message_payload_data *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "room_id", 0, 64, &m->room_id, &n) ||
        !X(nul_str)(o, "service_id", 64, &m->service_id, &m->has.service_id, &n))
        return false;
    X_REQ_OBJ(o, "message", X(message), &m->message, &n);
    return X_CLOSE(o, n);
}

static bool X(status_data)(D_T o, chat_message_status_payload_data *m)
{
    size_t n = 0;
    int e = 0;
    memset(m, 0, sizeof *m);
    if (!X(nul_str)(o, "service_id", 64, &m->service_id, &m->has.service_id, &n) ||
        !X(req_str)(o, "message_id", 0, 64, &m->message_id, &n) ||
        !X(req_enum)(o, "status", X(status_from), &e, &n))
        return false;
    m->status = (chat_message_status)e;
    return X_CLOSE(o, n);
}

static bool X(heartbeat_data)(D_T o, chat_heartbeat_response_payload_data *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "status", 0, 16, &m->status, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(unread_data)(D_T o, chat_unread_message_count_payload_data *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "room_id", 0, 64, &m->room_id, &n) ||
        !X(req_int)(o, "unread_count", 0, &m->unread_count, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(error_data)(D_T o, chat_error_payload_data *m)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    if (!X(req_str)(o, "error", 0, 1024, &m->error, &n))
        return false;
    return X_CLOSE(o, n);
}

static bool X(parse_out)(D_T root, chat_out *out)
{
    D_T t;
    size_t n = 1;
    out->kind = CHAT_OUT__NONE;
    out->tag = (sb_str){NULL, 0};
    if (!D_IS_OBJ(root) || !D_GET(root, "type", &t) || !D_IS_STR(t))
        return false;
    sb_str a = D_STR(t);
    out->tag = a;
    if (TAG_IS("new_message")) {
        chat_new_message_payload *m = &out->as.new_message_payload;
        out->kind = CHAT_OUT_NEW_MESSAGE_PAYLOAD;
        memset(m, 0, sizeof *m);
        X_REQ_OBJ(root, "data", X(new_message_data), &m->data, &n);
        return X_CLOSE(root, n);
    }
    if (TAG_IS("new_room")) {
        chat_new_room_payload *m = &out->as.new_room_payload;
        out->kind = CHAT_OUT_NEW_ROOM_PAYLOAD;
        memset(m, 0, sizeof *m);
        X_REQ_OBJ(root, "data", X(room), &m->data, &n);
        return X_CLOSE(root, n);
    }
    if (TAG_IS("message_status")) {
        chat_message_status_payload *m = &out->as.message_status_payload;
        out->kind = CHAT_OUT_MESSAGE_STATUS_PAYLOAD;
        memset(m, 0, sizeof *m);
        X_REQ_OBJ(root, "data", X(status_data), &m->data, &n);
        return X_CLOSE(root, n);
    }
    if (TAG_IS("heartbeat_response")) {
        chat_heartbeat_response_payload *m = &out->as.heartbeat_response_payload;
        D_T d;
        out->kind = CHAT_OUT_HEARTBEAT_RESPONSE_PAYLOAD;
        memset(m, 0, sizeof *m);
        if (!X(opt_str)(root, "status", 0, 16, &m->status, &m->has.status, &n))
            return false;
        int got = X(get_obj)(root, "data", false, &d, &n);
        if (got < 0)
            return false;
        if (got == 1) {
            if (!X(heartbeat_data)(d, &m->data))
                return false;
            m->has.data = SB_SET;
        }
        if (X_VALIDATE && !m->has.status && !m->has.data)
            return false; /* needs one of status, data */
        return X_CLOSE(root, n);
    }
    if (TAG_IS("unread_message_count")) {
        chat_unread_message_count_payload *m = &out->as.unread_message_count_payload;
        out->kind = CHAT_OUT_UNREAD_MESSAGE_COUNT_PAYLOAD;
        memset(m, 0, sizeof *m);
        X_REQ_OBJ(root, "data", X(unread_data), &m->data, &n);
        return X_CLOSE(root, n);
    }
    if (TAG_IS("error")) {
        chat_error_payload *m = &out->as.error_payload;
        D_T d;
        out->kind = CHAT_OUT_ERROR_PAYLOAD;
        memset(m, 0, sizeof *m);
        if (!X(opt_str)(root, "error", 0, 1024, &m->error, &m->has.error, &n))
            return false;
        int got = X(get_obj)(root, "data", false, &d, &n);
        if (got < 0)
            return false;
        if (got == 1) {
            if (!X(error_data)(d, &m->data))
                return false;
            m->has.data = SB_SET;
        }
        if (X_VALIDATE && !m->has.error && !m->has.data)
            return false; /* needs one of error, data */
        return X_CLOSE(root, n);
    }
#undef TAG_IS
    return false;
}

#undef X_CLOSE
#undef X_NUL_OBJ
#undef X_REQ_OBJ
