/*
 * realtime_emitter.c: the Socket.IO redis-emitter bridge (realtime_emitter.h).
 *
 * A broadcast is published by the emitter on socket.io#<nsp># (or
 * socket.io#<nsp>#<room># when it names one room) as notepack.io's
 * MessagePack of
 *
 *   [uid, {type: 2, data: [event, ...args], nsp}, {rooms: [...], except: [...], flags: {...}}]
 *
 * and is read here as such, strictly: anything else is logged (at most one
 * line a second per reason), counted in switchboard_emitter_dropped_total
 * {reason} and dropped. Limits: EMITTER_MAX_MESSAGE bytes of MessagePack,
 * EMITTER_MAX_FRAME bytes of the event's JSON, SB_MP_MAX_DEPTH levels,
 * EMITTER_MAX_ROOMS rooms and except rooms together, EMITTER_MAX_ATTACHMENTS
 * binaries. The other operations of the emitter (socketsJoin, socketsLeave,
 * disconnectSockets, serverSideEmit: JSON on socket.io-request#<nsp>#) are
 * not supported: each kind is logged once, and every one counted.
 *
 * The frame is written once, as a Socket.IO EVENT of the namespace "/" (the
 * realtime clients' namespace at path /realtime), or a BINARY_EVENT followed
 * by its attachments, with recovery on the newest UPDATE's offset as an
 * extra last argument (realtime.c does the same for its answers), and
 * handed to the list of connections with
 * sb_outbox_conns: local, never published on the bus (each node reads the
 * emitter's channel itself).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ctx.h"
#include "log.h"
#include "msgpack.h"
#include "realtime_emitter.h"
#include "topic_set.h"

#define EMITTER_KEY "socket.io"
#define EMITTER_NSP "/realtime"
#define EMITTER_MAX_MESSAGE ((size_t)1 << 20) /* bytes of one Redis message */
#define EMITTER_MAX_FRAME ((size_t)1 << 20)   /* bytes of the event's JSON */
#define EMITTER_MAX_ROOMS 256                 /* rooms and except rooms of one emit */
#define EMITTER_MAX_ATTACHMENTS 10            /* binaries of one emit */
#define EMITTER_MAX_NAME 256                  /* bytes of an event's name */

/* Why a message was dropped: the label of switchboard_emitter_dropped_total. */
typedef enum reason {
    R_MALFORMED,   /* not MessagePack, or not the emitter's shape */
    R_TOO_LARGE,   /* over EMITTER_MAX_MESSAGE */
    R_LIMIT,       /* deeper, bigger, more rooms or attachments than allowed */
    R_JSON,        /* a value JSON cannot carry (a map key, invalid UTF-8, ...) */
    R_NAMESPACE,   /* packet.nsp is not /realtime */
    R_UNSUPPORTED, /* another packet type, an ack, a request (socketsJoin, ...) */
    R_MEMORY,
    R__COUNT
} reason;

static const char *const reason_names[R__COUNT] = {
    "malformed", "too_large", "limit", "json", "namespace", "unsupported", "memory",
};

/* The request types of socket.io-redis-adapter (RequestType: the emitter
 * sends 2, 3, 4 and 6), by what the API calls them. */
static const char *const request_names[] = {
    "allSockets",     "allRooms",           "socketsJoin",
    "socketsLeave",   "disconnectSockets",  "fetchSockets",
    "serverSideEmit", "broadcast with ack", "broadcast client count",
    "broadcast ack",
};
#define N_REQUESTS (sizeof request_names / sizeof *request_names)

struct realtime_emitter {
    realtime_app *app;
    uint64_t owner; /* the origin of the units it delivers in */
    sb_buf args;    /* the event's arguments as JSON, each with its leading ',' */
    sb_topic_set set;
    /* the message being handled */
    char name[EMITTER_MAX_NAME + 1];
    sb_str rooms[EMITTER_MAX_ROOMS], except[EMITTER_MAX_ROOMS];
    size_t n_rooms, n_except;
    sb_str attachments[EMITTER_MAX_ATTACHMENTS];
    size_t n_attachments;
    sb_counter *m_messages, *m_delivered, *m_unknown_rooms;
    sb_counter *m_dropped[R__COUNT];
    sb_log_every_state log[R__COUNT], unknown_log;
    bool told[N_REQUESTS + 1]; /* request types logged already (the last: any other) */
};

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void
drop(realtime_emitter *em, reason why, sb_str channel, const char *fmt, ...)
{
    sb_counter_add(em->m_dropped[why], 1);
    char msg[SB_MP_ERR_MAX + 128], ch[160], m[SB_MP_ERR_MAX + 160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sb_log_every(&em->log[why], 1000, SB_LOG_WARN, "emitter_dropped",
                 "reason=%s channel=%s error=%s", reason_names[why],
                 sb_log_kv_strn(ch, sizeof ch, channel.ptr, channel.len),
                 sb_log_kv_str(m, sizeof m, msg));
}

static reason reason_of(sb_mp_err e)
{
    switch (e) {
    case SB_MP_ERR_LIMIT:
        return R_LIMIT;
    case SB_MP_ERR_JSON:
        return R_JSON;
    case SB_MP_ERR_MEMORY:
        return R_MEMORY;
    default:
        return R_MALFORMED;
    }
}

static bool str_is(sb_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* Rooms ------------------------------------------------------------------- */

/* A NUL-terminated copy of an ID: 1..RT_ID_MAX bytes, no NUL. */
static bool id_copy(char out[RT_ID_MAX + 1], const char *p, size_t n)
{
    if (n == 0 || n > RT_ID_MAX || memchr(p, '\0', n))
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* The topic of a room (docs/protocols/realtime.md, "Pushing from a Node
 * backend"): company:<companyId>, artifact:<companyId>:<artifactId> (the
 * company ends at the first ':'). NULL: no such room here. */
static const char *room_topic(sb_str room, char buf[SB_TOPIC_MAX])
{
    char company[RT_ID_MAX + 1], artifact[RT_ID_MAX + 1];
    if (room.len > 8 && memcmp(room.ptr, "company:", 8) == 0)
        return id_copy(company, room.ptr + 8, room.len - 8) ? realtime_company_topic(buf, company)
                                                            : NULL;
    if (room.len > 9 && memcmp(room.ptr, "artifact:", 9) == 0) {
        const char *p = room.ptr + 9, *end = room.ptr + room.len;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (!colon || !id_copy(company, p, (size_t)(colon - p)) ||
            !id_copy(artifact, colon + 1, (size_t)(end - colon - 1)))
            return NULL;
        return realtime_artifact_topic(buf, company, artifact);
    }
    return NULL;
}

static void unknown_room(realtime_emitter *em, sb_str room)
{
    char r[160];
    sb_counter_add(em->m_unknown_rooms, 1);
    sb_log_every(&em->unknown_log, 1000, SB_LOG_WARN, "emitter_unknown_room",
                 "room=%s msg=\"not company:<id> or artifact:<company>:<id>: reaches nobody\"",
                 sb_log_kv_strn(r, sizeof r, room.ptr, room.len));
}

/* Reading a message -------------------------------------------------------- */

typedef struct packet {
    bool has_type, has_data, has_nsp, has_id;
    int64_t type;
    sb_str nsp;
} packet;

static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                       "disconnecting", "newListener",   "removeListener"};

/* packet.data: [name, ...args]; the args into em->args as JSON. */
static bool read_data(realtime_emitter *em, sb_mp_reader *r)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type != SB_MP_ARRAY || v.n == 0) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_SHAPE, "packet.data: expected [event, ...args], got %s%s",
                          v.type == SB_MP_ARRAY ? "an empty " : "", sb_mp_type_name(v.type));
    }
    sb_str name;
    start = r->p;
    if (!sb_mp_read_str(r, "packet.data[0] (the event)", &name))
        return false;
    if (name.len == 0 || name.len > EMITTER_MAX_NAME || memchr(name.ptr, '\0', name.len) ||
        !sb_utf8_valid(name.ptr, name.len)) {
        r->p = start;
        return sb_mp_fail(r, name.len > EMITTER_MAX_NAME ? SB_MP_ERR_LIMIT : SB_MP_ERR_JSON,
                          "packet.data[0]: an event name of 1..%d bytes of UTF-8 without NUL",
                          EMITTER_MAX_NAME);
    }
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        if (str_is(name, reserved[i])) {
            r->p = start;
            return sb_mp_fail(r, SB_MP_ERR_SHAPE, "packet.data[0]: \"%s\" is a reserved event",
                              reserved[i]);
        }
    }
    memcpy(em->name, name.ptr, name.len);
    em->name[name.len] = '\0';
    sb_buf_reset(&em->args);
    sb_mp_json j = {.max_depth = SB_MP_MAX_DEPTH,
                    .max_out = EMITTER_MAX_FRAME,
                    .attachments = em->attachments,
                    .max_attachments = EMITTER_MAX_ATTACHMENTS};
    for (uint32_t i = 1; i < v.n; i++) {
        sb_buf_putc(&em->args, ',');
        if (!sb_mp_to_json(r, &em->args, &j))
            return false;
    }
    em->n_attachments = j.n_attachments;
    return true;
}

static bool read_packet(realtime_emitter *em, sb_mp_reader *r, packet *pk)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type != SB_MP_MAP) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_SHAPE, "packet: expected a map, got %s",
                          sb_mp_type_name(v.type));
    }
    for (uint32_t i = 0; i < v.n; i++) {
        sb_str key;
        if (!sb_mp_read_str(r, "packet's key", &key))
            return false;
        start = r->p;
        if (str_is(key, "type")) {
            sb_mp_value t;
            if (!sb_mp_read(r, &t))
                return false;
            if (t.type != SB_MP_INT) {
                r->p = start;
                return sb_mp_fail(r, SB_MP_ERR_SHAPE, "packet.type: expected an integer, got %s",
                                  sb_mp_type_name(t.type));
            }
            pk->type = t.i;
            pk->has_type = true;
        } else if (str_is(key, "nsp")) {
            if (!sb_mp_read_str(r, "packet.nsp", &pk->nsp))
                return false;
            pk->has_nsp = true;
        } else if (str_is(key, "data")) {
            if (pk->has_data) {
                r->p = start;
                return sb_mp_fail(r, SB_MP_ERR_SHAPE, "packet.data: twice");
            }
            if (!read_data(em, r))
                return false;
            pk->has_data = true;
        } else {
            if (str_is(key, "id"))
                pk->has_id = true; /* an ack wanted: refused below */
            if (!sb_mp_skip(r, SB_MP_MAX_DEPTH))
                return false;
        }
    }
    return true;
}

/* opts.rooms / opts.except: an array of strings, into list. */
static bool read_rooms(realtime_emitter *em, sb_mp_reader *r, const char *what, sb_str *list,
                       size_t *n)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type == SB_MP_NIL)
        return true;
    if (v.type != SB_MP_ARRAY) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_SHAPE, "opts.%s: expected an array, got %s", what,
                          sb_mp_type_name(v.type));
    }
    if (em->n_rooms + em->n_except + v.n > EMITTER_MAX_ROOMS) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_LIMIT, "more than %d rooms and except rooms",
                          EMITTER_MAX_ROOMS);
    }
    *n = 0;
    for (uint32_t i = 0; i < v.n; i++)
        if (!sb_mp_read_str(r, what, &list[(*n)++]))
            return false;
    return true;
}

static bool read_opts(realtime_emitter *em, sb_mp_reader *r)
{
    const unsigned char *start = r->p;
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type != SB_MP_MAP) {
        r->p = start;
        return sb_mp_fail(r, SB_MP_ERR_SHAPE, "opts: expected a map, got %s",
                          sb_mp_type_name(v.type));
    }
    for (uint32_t i = 0; i < v.n; i++) {
        sb_str key;
        if (!sb_mp_read_str(r, "opts' key", &key))
            return false;
        bool ok;
        if (str_is(key, "rooms"))
            ok = read_rooms(em, r, "rooms", em->rooms, &em->n_rooms);
        else if (str_is(key, "except"))
            ok = read_rooms(em, r, "except", em->except, &em->n_except);
        else /* flags (volatile, compress: accepted, nothing to do), and the rest */
            ok = sb_mp_skip(r, SB_MP_MAX_DEPTH);
        if (!ok)
            return false;
    }
    return true;
}

/* [uid, packet, opts], and nothing after. */
static bool read_message(realtime_emitter *em, sb_mp_reader *r, packet *pk)
{
    sb_mp_value v;
    if (!sb_mp_read(r, &v))
        return false;
    if (v.type != SB_MP_ARRAY || v.n != 3) {
        r->p = r->begin;
        return sb_mp_fail(r, SB_MP_ERR_SHAPE, "expected [uid, packet, opts], got %s of %u",
                          sb_mp_type_name(v.type), v.type == SB_MP_ARRAY ? v.n : 1u);
    }
    sb_str uid;
    return sb_mp_read_str(r, "uid", &uid) && read_packet(em, r, pk) && read_opts(em, r) &&
           sb_mp_end(r);
}

/* Delivery ------------------------------------------------------------------ */

static void deliver(struct sb_ctx *ctx, void *arg)
{
    realtime_emitter *em = arg;
    realtime_app *app = em->app;
    sb_topics *topics = sb_rt_topics(app->rt);
    char buf[SB_TOPIC_MAX];
    sb_topic_set_reset(&em->set);
    if (em->n_rooms == 0) { /* every socket of the namespace */
        for (rt_socket *st = app->sockets; st; st = st->next)
            sb_topic_set_add_conn(&em->set, st->session);
    }
    for (size_t i = 0; i < em->n_rooms; i++) {
        const char *topic = room_topic(em->rooms[i], buf);
        if (topic)
            sb_topic_set_add(&em->set, topics, topic);
        else
            unknown_room(em, em->rooms[i]);
    }
    for (size_t i = 0; i < em->n_except; i++) {
        const char *topic = room_topic(em->except[i], buf);
        if (topic)
            sb_topic_set_except(&em->set, topics, topic);
    }
    size_t n;
    const uint64_t *conns = sb_topic_set_finish(&em->set, &n);
    if (!conns) {
        drop(em, R_MEMORY, (sb_str){"", 0}, "out of memory (the connections' list)");
        return;
    }
    if (n == 0)
        return;
    sb_buf *b = sb_outbox_conns(ctx->out, conns, n, em->m_delivered);
    sb_sio_event_begin(b, "/", em->name, (int)em->n_attachments);
    sb_buf_put(b, em->args.data, em->args.len);
    /* the offset last, as a Node server with recovery appends its own to a
     * broadcast, so that an emit ending with a string cannot become it */
    realtime_write_offset_arg(app, b);
    sb_sio_event_end(b);
    for (size_t i = 0; i < em->n_attachments; i++) {
        b = sb_outbox_conns(ctx->out, conns, n, NULL);
        sb_buf_put(b, em->attachments[i].ptr, em->attachments[i].len);
        sb_outbox_binary(ctx->out);
    }
}

/* A message on socket.io#/realtime#*. */
/* A broadcast, in a unit of the runtime's (sb_rt_call_later): read, then
 * delivered to its rooms' sockets. */
static void broadcast(struct sb_ctx *ctx, realtime_emitter *em, const char *channel,
                      size_t channel_len, const char *msg, size_t len)
{
    sb_str ch = {channel, channel_len};
    em->n_rooms = em->n_except = em->n_attachments = 0;
    packet pk = {0};
    sb_mp_reader r;
    sb_mp_reader_init(&r, msg, len);
    if (!read_message(em, &r, &pk)) {
        drop(em, reason_of(r.err), ch, "%s", r.err_msg);
        return;
    }
    if (!pk.has_type || !pk.has_data || !pk.has_nsp) {
        drop(em, R_MALFORMED, ch, "packet: no %s",
             !pk.has_type   ? "type"
             : !pk.has_data ? "data"
                            : "nsp");
        return;
    }
    if (!str_is(pk.nsp, EMITTER_NSP)) {
        char nsp[80];
        drop(em, R_NAMESPACE, ch, "packet.nsp %s: only %s is served",
             sb_log_kv_strn(nsp, sizeof nsp, pk.nsp.ptr, pk.nsp.len), EMITTER_NSP);
        return;
    }
    if ((pk.type != 2 && pk.type != 5) || pk.has_id) {
        drop(em, R_UNSUPPORTED, ch, "%s",
             pk.has_id ? "an emit with an ack" : "a packet that is not an EVENT");
        return;
    }
    if (em->args.oom) {
        drop(em, R_MEMORY, ch, "out of memory");
        return;
    }
    deliver(ctx, em);
}

/* A broadcast as it came: hiredis' reply, or a copy of it when the call is
 * queued (hiredis frees its reply on return). */
typedef struct broadcast_msg {
    realtime_emitter *em;
    const char *channel, *msg;
    size_t channel_len, len;
    char data[]; /* a copy: the channel, then the message */
} broadcast_msg;

static void broadcast_unit(struct sb_ctx *ctx, void *arg)
{
    broadcast_msg *m = arg;
    broadcast(ctx, m->em, m->channel, m->channel_len, m->msg, m->len);
}

/* Every message on the emitter's channels: counted, and refused past
 * EMITTER_MAX_MESSAGE. */
static bool admitted(realtime_emitter *em, sb_str ch, size_t len, const char *what)
{
    sb_counter_add(em->m_messages, 1);
    if (len <= EMITTER_MAX_MESSAGE)
        return true;
    drop(em, R_TOO_LARGE, ch, "a %s of %zu bytes (at most %zu)", what, len, EMITTER_MAX_MESSAGE);
    return false;
}

/* On PostgreSQL it runs as a job (jobs.h), after the handler calls queued
 * before it, without holding the loop for their statements. */
static void on_broadcast(void *arg, const char *channel, size_t channel_len, const char *msg,
                         size_t len)
{
    realtime_emitter *em = arg;
    sb_str ch = {channel, channel_len};
    if (!admitted(em, ch, len, "message"))
        return;
    sb_rt *rt = em->app->rt;
    if (!sb_rt_queues_calls(rt)) {
        broadcast_msg m = {em, channel, msg, channel_len, len};
        sb_rt_call(rt, em->owner, em->app, broadcast_unit, &m);
        return;
    }
    broadcast_msg *c = malloc(sizeof *c + channel_len + len);
    if (!c) {
        drop(em, R_MEMORY, ch, "out of memory (a copy of it)");
        return;
    }
    memcpy(c->data, channel, channel_len);
    memcpy(c->data + channel_len, msg, len);
    *c = (broadcast_msg){em, c->data, c->data + channel_len, channel_len, len};
    sb_rt_call_later(rt, em->owner, em->app, broadcast_unit, c, free);
}

/* A message on socket.io-request#/realtime#: JSON {type, ...}. */
static void on_request(void *arg, const char *channel, size_t channel_len, const char *msg,
                       size_t len)
{
    realtime_emitter *em = arg;
    sb_str ch = {channel, channel_len};
    if (!admitted(em, ch, len, "request"))
        return;
    sb_reader rd; /* no arena: keys with escapes are not the emitter's */
    sb_reader_init(&rd, msg, len, NULL, NULL);
    int64_t type = -1;
    sb_str key, raw;
    int more = 0;
    if (sb_read_object_begin(&rd)) {
        while ((more = sb_read_object_next(&rd, &key)) == 1) {
            if (str_is(key, "type") && sb_peek(&rd) == '0') {
                if (!sb_read_int64(&rd, &type))
                    break;
            } else if (!sb_read_any(&rd, &raw)) {
                break;
            }
        }
    }
    if (rd.err || more != 0 || !sb_read_end(&rd) || type < 0) {
        drop(em, R_MALFORMED, ch, "request: %s", rd.err ? rd.err_msg : "no type");
        return;
    }
    size_t k = (uint64_t)type < N_REQUESTS ? (size_t)type : N_REQUESTS;
    sb_counter_add(em->m_dropped[R_UNSUPPORTED], 1);
    if (!em->told[k]) {
        em->told[k] = true;
        sb_log(SB_LOG_WARN, "emitter_unsupported",
               "operation=\"%s\" type=%lld msg=\"only broadcasts (emit) are delivered: this "
               "operation and its kind are dropped (counted in "
               "switchboard_emitter_dropped_total{reason=\\\"unsupported\\\"})\"",
               k < N_REQUESTS ? request_names[k] : "unknown", (long long)type);
    }
}

realtime_emitter *realtime_emitter_start(realtime_app *app, char *err, size_t err_size)
{
    sb_bus *bus = sb_rt_bus(app->rt);
    realtime_emitter *em = calloc(1, sizeof *em);
    if (!em || !bus) {
        free(em);
        snprintf(err, err_size, em ? "the emitter bridge needs --redis" : "out of memory");
        return NULL;
    }
    em->app = app;
    em->owner = sb_rt_new_id(app->rt);
    sb_buf_init(&em->args);
    sb_topic_set_init(&em->set);
    em->m_messages = sb_counter_get("switchboard_emitter_messages_total",
                                    "Messages read from the Socket.IO emitter's channels", NULL);
    em->m_delivered = sb_counter_get("switchboard_emitter_delivered_total",
                                     "Emitted events handed to a connection", NULL);
    em->m_unknown_rooms =
        sb_counter_get("switchboard_emitter_unknown_rooms_total",
                       "Rooms of an emit that name no company or artifact (reach nobody)", NULL);
    for (int i = 0; i < R__COUNT; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "reason=\"%s\"", reason_names[i]);
        em->m_dropped[i] = sb_counter_get("switchboard_emitter_dropped_total",
                                          "Emitter messages dropped, by reason", labels);
    }
    if (sb_bus_psubscribe(bus, EMITTER_KEY "#" EMITTER_NSP "#*", on_broadcast, em) != 0 ||
        sb_bus_psubscribe(bus, EMITTER_KEY "-request#" EMITTER_NSP "#", on_request, em) != 0) {
        snprintf(err, err_size, "the emitter's channels: out of memory");
        realtime_emitter_free(em);
        return NULL;
    }
    sb_log(SB_LOG_INFO, "emitter", "channels=\"%s\" namespace=%s", EMITTER_KEY "#" EMITTER_NSP "#*",
           EMITTER_NSP);
    return em;
}

void realtime_emitter_free(realtime_emitter *em)
{
    if (!em)
        return;
    sb_buf_free(&em->args);
    sb_topic_set_free(&em->set);
    free(em);
}
