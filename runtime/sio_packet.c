/*
 * sio_packet.c: Socket.IO v5 packets as text (sio_packet.h).
 */
#include <string.h>

#include "sio_packet.h"

const char *sb_sio_packet_parse(const char *p, size_t len, int max_attachments, sb_sio_packet *out)
{
    memset(out, 0, sizeof *out);
    out->ack = -1;
    out->nsp[0] = '/';
    if (len == 0 || p[0] < '0' || p[0] > '6')
        return "unknown packet type";
    int type = p[0] - '0';
    out->type = type;
    size_t i = 1;
    if (type == SB_SIO_BINARY_EVENT || type == SB_SIO_BINARY_ACK) {
        size_t start = i;
        int attachments = 0;
        while (i < len && p[i] >= '0' && p[i] <= '9' && i - start < 6)
            attachments = attachments * 10 + (p[i++] - '0');
        if (i == start || i >= len || p[i] != '-')
            return "bad attachment count";
        i++;
        if (attachments > max_attachments)
            return "too many attachments";
        if (attachments == 0)
            return "a binary packet without attachments";
        out->attachments = attachments;
    }
    if (i < len && p[i] == '/') {
        size_t start = i;
        while (i < len && p[i] != ',')
            i++;
        if (i - start > SB_SIO_NSP_MAX)
            return "namespace too long";
        for (size_t k = start; k < i; k++)
            if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f)
                return "a control byte in the namespace";
        memcpy(out->nsp, p + start, i - start);
        out->nsp[i - start] = '\0';
        if (i < len)
            i++; /* the comma */
    }
    if (i < len && p[i] >= '0' && p[i] <= '9') {
        if (type == SB_SIO_CONNECT || type == SB_SIO_DISCONNECT)
            return "an ack ID on a packet that takes none";
        int64_t ack = 0;
        size_t start = i;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (i - start >= 15)
                return "ack ID too long";
            ack = ack * 10 + (p[i++] - '0');
        }
        out->ack = ack;
    }
    out->json = p + i;
    out->json_len = len - i;
    return NULL;
}

static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                       "disconnecting", "newListener",   "removeListener"};

/* The JSON array of an event or ack: every element's raw text. */
bool sb_sio_array(sb_arena *arena, const char *p, size_t len, sb_str **items, size_t *n,
                  sb_str *inner)
{
    sb_reader r;
    sb_reader_init(&r, p, len, arena, NULL);
    if (!sb_read_array_begin(&r))
        return false;
    size_t cap = 8, count = 0;
    sb_str *v = sb_arena_alloc(arena, cap * sizeof *v);
    int more;
    while (v && (more = sb_read_array_next(&r)) == 1) {
        if (count == cap) {
            sb_str *w = sb_arena_alloc(arena, cap * 2 * sizeof *w);
            if (!w)
                return false;
            memcpy(w, v, cap * sizeof *v);
            v = w;
            cap *= 2;
        }
        if (!sb_read_any(&r, &v[count++]))
            return false;
    }
    if (!v || more != 0 || !sb_read_end(&r))
        return false;
    *items = v;
    *n = count;
    /* the elements as written, between the brackets */
    const char *open = memchr(p, '[', len);
    const char *close = p + len;
    while (close > p && close[-1] != ']')
        close--;
    *inner = (sb_str){open + 1, (size_t)(close - 1 - (open + 1))};
    return true;
}

/* An event's name: a string that is not reserved, or a number. */
bool sb_sio_event_name(sb_arena *arena, sb_str raw, sb_str *name)
{
    if (raw.len && raw.ptr[0] == '"') {
        sb_reader r;
        sb_reader_init(&r, raw.ptr, raw.len, arena, NULL);
        if (!sb_read_string(&r, name))
            return false;
        for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
            if (name->len == strlen(reserved[i]) && memcmp(name->ptr, reserved[i], name->len) == 0)
                return false;
        return true;
    }
    if (raw.len && (raw.ptr[0] == '-' || (raw.ptr[0] >= '0' && raw.ptr[0] <= '9'))) {
        *name = raw;
        return true;
    }
    return false;
}

/* Every {"_placeholder": true, "num": i} of a binary packet's JSON must name
 * one of its n attachments (an attachment it does not have would be read
 * past the end by whoever fills the placeholders in). */
static bool placeholders_ok(sb_reader *r, int n)
{
    char k = sb_peek(r);
    int more;
    if (k == '[') {
        if (!sb_read_array_begin(r))
            return false;
        while ((more = sb_read_array_next(r)) == 1)
            if (!placeholders_ok(r, n))
                return false;
        return more == 0;
    }
    if (k == '{') {
        if (!sb_read_object_begin(r))
            return false;
        sb_str key;
        bool placeholder = false;
        int64_t num = -1;
        while ((more = sb_read_object_next(r, &key)) == 1) {
            if (key.len == 12 && memcmp(key.ptr, "_placeholder", 12) == 0 && sb_peek(r) == 't') {
                if (!sb_read_bool(r, &placeholder))
                    return false;
            } else if (key.len == 3 && memcmp(key.ptr, "num", 3) == 0 && sb_peek(r) == '0') {
                if (!sb_read_int64(r, &num))
                    return false;
            } else if (!placeholders_ok(r, n)) {
                return false;
            }
        }
        return more == 0 && (!placeholder || (num >= 0 && num < n));
    }
    sb_str raw;
    return sb_read_any(r, &raw);
}

bool sb_sio_placeholders_ok(sb_arena *arena, const char *json, size_t len, int n)
{
    sb_reader r;
    sb_reader_init(&r, json, len, arena, NULL);
    return sb_peek(&r) == '[' && placeholders_ok(&r, n) && sb_read_end(&r);
}
