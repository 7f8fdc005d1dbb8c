/*
 * chat.c: the chat of seed 003 over WebSocket (/ws/chat).
 *
 * A message's path: server.c hands chat_ws_message() one whole text frame;
 * the generated chat_in_parse() picks the action and fills a struct;
 * chat_in_dispatch() calls one of the chat_on_*() handlers below. A handler
 * writes inside the turn's transaction and queues what to send in the
 * runtime's outbox (ctx->out): to its own connection, or to the topic
 * "user:ID" of every device of a user. The runtime delivers after the
 * commit, so nobody hears of a message before it is durable, and a
 * connection sees its answers in the order it asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "chat.h"
#include "chat_app.h"
#include "chat_handlers.h"
#include "chat_store.h"
#include "chat_view.h"
#include "bus.h"
#include "ctx.h"
#include "id_set.h"
#include "topics.h"
#include "log.h"
#include "metrics.h"
#include "token.h"

#define REPLAY_LIMIT 1000 /* messages sent on reconnect with ?since= */
/* How long after its catch-up replay a connection keeps the IDs it was sent
 * (chat_session.sent): a message committed before a replay's read can still
 * be on its way from another node through Redis for about that long. */
#define OVERLAP_US (5 * 1000000LL)
/* The outage replay (docs/decisions.md, "Redis bus", the outage replay): a
 * connection records at most SB_ID_SET_MAX IDs (id_set.h); past it, its gap closes it with
 * 1012 as before. After the gap's replay it keeps the set OUTAGE_TAIL_US,
 * so that a second gap (another node's notice of what it dropped while its
 * own publish connection was still down) replays again instead of closing. */
#define OUTAGE_TAIL_US (30 * 1000000LL)

enum { OUTAGE_NONE, OUTAGE_DOWN, OUTAGE_AFTER };

typedef struct replay_state replay_state;

typedef struct chat_session {
    int64_t user_id;
    replay_state *replay; /* a ?since= replay still under way */
    /* With --redis and ?since= only (docs/decisions.md, "Redis bus": the
     * since= replay and the SUBSCRIBE): the message IDs this connection
     * was sent, by a replay or live, while a replay and the live frames can
     * overlap; sorted, each once. Membership, never a watermark: another
     * node's messages may arrive out of ID order. */
    bool tracking;
    sb_id_set sent;      /* at most SB_ID_SET_MAX */
    int64_t track_until; /* sb_mono_us; 0: until the catch-up replay is done */
    int64_t replay_pos;  /* the newest ID the replays have read */
    bool confirmed;      /* the bus has the user's topic subscribed */
    bool catchup_owed;   /* confirmed while a replay was under way */
    bool truncated;      /* the replay stopped at REPLAY_LIMIT: no catch-up */
    /* With --redis: the newest message ID this connection was sent (a
     * replay's or a live one) or, before any, the point it started from
     * (since=, or the newest stored at its open); -1 unknown. */
    int64_t newest;
    /* The outage replay: OUTAGE_DOWN from the bus' down until its gap,
     * OUTAGE_AFTER from the gap's replay until the set is freed; outage_from
     * is `newest` at the down. */
    int outage;
    int64_t outage_from;
} chat_session;

/* Record id as sent: false when it was already (id_set.h: past its bound
 * nothing more is recorded, and the set says so). */
static bool sent_add(chat_session *ss, int64_t id)
{
    return sb_id_set_add(&ss->sent, id);
}

static void tracking_end(chat_session *ss)
{
    sb_id_set_clear(&ss->sent);
    ss->tracking = false;
    ss->outage = OUTAGE_NONE;
}

/* The end of a replay or of an outage: the set is kept `us` more. */
static void tracking_tail(chat_session *ss, int64_t us)
{
    if (ss->outage == OUTAGE_AFTER && us < OUTAGE_TAIL_US)
        us = OUTAGE_TAIL_US;
    ss->track_until = sb_mono_us() + us;
}

static void note_sent(chat_session *ss, int64_t id)
{
    if (ss->newest >= 0 && id > ss->newest)
        ss->newest = id;
}

/* Still overlapping? Ends (and frees the set) once the time is up. */
static bool tracking(chat_session *ss)
{
    if (ss->tracking && ss->track_until && sb_mono_us() > ss->track_until)
        tracking_end(ss);
    return ss->tracking;
}

/* The connection's filter (rt.h) for its new_message frames, positioned by
 * message ID: one a replay sent already is dropped; one sent live is
 * recorded, so that a replay skips it. */
static bool chat_filter(void *arg, uint64_t pos)
{
    chat_session *ss = arg;
    if (tracking(ss) && !sent_add(ss, (int64_t)pos))
        return false;
    note_sent(ss, (int64_t)pos);
    return true;
}

/* The topic of every device of a user. */
static const char *user_topic(char buf[SB_TOPIC_MAX], int64_t user)
{
    return sb_topic_id(buf, "user", user);
}

static sb_buf *to_user(struct sb_ctx *ctx, int64_t user, chat_out_kind kind)
{
    chat_app *app = ctx->app;
    char t[SB_TOPIC_MAX];
    return sb_outbox_topic(ctx->out, user_topic(t, user), app->m_out[kind]);
}

static sb_buf *to_origin(struct sb_ctx *ctx, chat_out_kind kind)
{
    chat_app *app = ctx->app;
    return sb_outbox_conn(ctx->out, ctx->conn, app->m_out[kind]);
}

/* Queue one reply for the asking connection, behind whatever the turn has
 * already promised it. */
static void reply(struct sb_ctx *ctx, chat_out_kind kind, void (*write)(sb_buf *b, const void *m),
                  const void *m)
{
    write(to_origin(ctx, kind), m);
}

static void error_payload_write_v(sb_buf *b, const void *text)
{
    chat_write_error(b, text, strlen(text));
}

static int reply_error(struct sb_ctx *ctx, const char *text)
{
    chat_app *app = ctx->app;
    bool storage = strcmp(text, CHAT_ERR_STORAGE) == 0;
    sb_counter_add(storage ? app->m_storage_errors : app->m_client_errors, 1);
    reply(ctx, CHAT_OUT_ERROR_PAYLOAD, error_payload_write_v, text);
    return 0;
}

static int64_t parse_id(sb_str s)
{
    return chat_parse_id(s.ptr, s.len);
}

/* A room for a payload that is built either way (its service_id): NULL when
 * it cannot be read. */
static const chat_room_info *room_or_null(chat_app *app, int64_t id)
{
    const chat_room_info *room;
    return chat_room_get(app->store, id, &room) == 1 ? room : NULL;
}

/* A lookup's answer (chat_store.h: 1, 0, -1) as the client hears it: a
 * failed read is the storage error, never "not found" (the room, the user
 * or the message may well exist). */
static int reply_lookup(struct sb_ctx *ctx, int found, const char *not_found)
{
    return reply_error(ctx, found < 0 ? CHAT_ERR_STORAGE : not_found);
}

/* Handlers (declared in generated/c/chat_handlers.h) ---------------------- */

static chat_session *session_of(struct sb_ctx *ctx)
{
    return ctx->session;
}

int chat_on_send_message_event(struct sb_ctx *ctx, const chat_send_message_event *msg)
{
    chat_app *app = ctx->app;
    int64_t me = session_of(ctx)->user_id;
    const chat_room_info *room = NULL;
    int64_t receiver = 0;

    if (msg->has.room_id == SB_SET) {
        int found = chat_room_get(app->store, parse_id(msg->room_id), &room);
        /* not a member answers exactly as no such room */
        if (found != 1 || !chat_room_has_member(room, me))
            return reply_lookup(ctx, found, CHAT_ERR_ROOM_NOT_FOUND);
    } else if (msg->has.receiver_id == SB_SET) {
        receiver = parse_id(msg->receiver_id);
        if (receiver == me)
            return reply_error(ctx, CHAT_ERR_NOT_ALLOWED);
        /* Direct rooms are between staff (docs/decisions.md, "Who may open a
         * direct room"). A receiver who does not exist and one who may not
         * be written to get the same bytes after the same work (one query
         * each, no write, no log), so user IDs cannot be probed. */
        int receiver_ok = chat_user_direct_ok(app->store, receiver);
        const chat_user_info *self;
        int found = chat_user_get(app->store, me, &self);
        if (receiver_ok < 0 || found < 0)
            return reply_error(ctx, CHAT_ERR_STORAGE);
        if (!receiver_ok || !found || self->role == CHAT_ROLE_UNKNOWN)
            return reply_error(ctx, CHAT_ERR_ROOM_NOT_FOUND);
    } else {
        return reply_error(ctx, CHAT_ERR_ROOM_NOT_FOUND);
    }
    bool has_text = msg->has.text == SB_SET && msg->text.len > 0;
    if (!has_text && msg->has.file_id != SB_SET)
        return reply_error(ctx, CHAT_ERR_NOT_ALLOWED);

    int64_t replied_to = 0;
    if (msg->has.replied_to_id == SB_SET) {
        chat_msg_row target;
        replied_to = parse_id(msg->replied_to_id);
        /* a reply must point at a message of the same room */
        int found = chat_message_get(app->store, replied_to, &target);
        if (found != 1 || (room && target.room_id != room->id))
            return reply_lookup(ctx, found, CHAT_ERR_MESSAGE_NOT_FOUND);
        if (!room) {
            const chat_room_info *tr;
            found = chat_room_get(app->store, target.room_id, &tr);
            if (found != 1 || !chat_room_has_member(tr, me) || !chat_room_has_member(tr, receiver))
                return reply_lookup(ctx, found, CHAT_ERR_MESSAGE_NOT_FOUND);
        }
    }

    /* A savepoint only when a room may be created with the message: alone,
     * chat_message_insert leaves nothing behind when it fails. Except on
     * PostgreSQL, where a failed statement would take the turn's whole
     * transaction with it (chat_store.h, chat_send_needs_unit). */
    bool unit = !room || chat_send_needs_unit(app->store), created = false;
    if ((unit ? sb_store_unit_begin(ctx->store) : sb_store_begin(ctx->store)) != SB_STORE_OK)
        return reply_error(ctx, CHAT_ERR_STORAGE);
    if (!room) {
        int64_t id = chat_direct_room(app->store, me, receiver, &created);
        room = id ? room_or_null(app, id) : NULL;
        if (!room) {
            sb_store_unit_end(ctx->store, false);
            return reply_error(ctx, CHAT_ERR_STORAGE);
        }
    }
    chat_new_msg nm = {
        .room_id = room->id,
        .sender_id = me,
        .text = msg->has.text == SB_SET ? msg->text : (sb_str){NULL, 0},
        .file_id = msg->has.file_id == SB_SET ? msg->file_id : (sb_str){NULL, 0},
        .replied_to = replied_to,
        .client_message_id =
            msg->has.client_message_id == SB_SET ? msg->client_message_id : (sb_str){NULL, 0},
        .created_at = sb_wall_ms() / 1000,
    };
    int64_t existing = 0;
    int64_t id = chat_message_insert(app->store, &nm, &existing);
    if (unit)
        sb_store_unit_end(ctx->store, id >= 0); /* a room made for it goes too */
    else if (sb_store_lost(ctx->store))
        id = -1;
    if (id == CHAT_INSERT_OTHER_ROOM)
        return reply_error(ctx, CHAT_ERR_CLIENT_ID_OTHER_ROOM);
    if (id < 0)
        return reply_error(ctx, CHAT_ERR_STORAGE);

    chat_new_message_payload p;
    if (id == 0) {
        /* A retry of a stored message: answer the sender's connection only. */
        chat_msg_row row;
        if (chat_message_get(app->store, existing, &row) == 1) {
            chat_fill_new_message(app, &row, room_or_null(app, row.room_id), me, &p);
            chat_new_message_payload_write(to_origin(ctx, CHAT_OUT_NEW_MESSAGE_PAYLOAD), &p);
        }
        return 0;
    }
    if (created) {
        for (size_t i = 0; i < room->n_members; i++)
            chat_write_new_room(app, to_user(ctx, room->members[i], CHAT_OUT_NEW_ROOM_PAYLOAD),
                                room, room->members[i]);
    }
    chat_msg_row row = {.id = id,
                        .room_id = room->id,
                        .sender_id = me,
                        .text = nm.text,
                        .file_id = nm.file_id,
                        .replied_to = replied_to,
                        .created_at = nm.created_at,
                        .client_message_id = nm.client_message_id};
    /* the sender's devices get is_sent true; everyone else false */
    chat_fill_new_message(app, &row, room, me, &p);
    chat_new_message_payload_write(to_user(ctx, me, CHAT_OUT_NEW_MESSAGE_PAYLOAD), &p);
    sb_outbox_position(ctx->out, (uint64_t)id);
    /* everyone else sees the same bytes: written once, sent to each */
    chat_fill_new_message(app, &row, room, -1, &p);
    p.data.message.has.client_message_id = SB_ABSENT;
    bool first = true;
    for (size_t i = 0; i < room->n_members; i++) {
        if (room->members[i] == me)
            continue;
        if (first) {
            chat_new_message_payload_write(
                to_user(ctx, room->members[i], CHAT_OUT_NEW_MESSAGE_PAYLOAD), &p);
            sb_outbox_position(ctx->out, (uint64_t)id);
            first = false;
        } else {
            char t[SB_TOPIC_MAX];
            sb_outbox_also(ctx->out, user_topic(t, room->members[i]));
        }
    }
    const chat_unread *unread;
    size_t n_unread = chat_last_unread(app->store, &unread);
    for (size_t i = 0; i < n_unread; i++) {
        chat_unread_message_count_payload u;
        u.data.room_id = chat_id_str(app->arena, room->id);
        u.data.unread_count = unread[i].unread;
        chat_unread_message_count_payload_write(
            to_user(ctx, unread[i].user_id, CHAT_OUT_UNREAD_MESSAGE_COUNT_PAYLOAD), &u);
    }
    sb_outbox_on_commit(ctx->out, app->m_stored);
    return 0;
}

/* mark_delivered and mark_read: status 1 or 2 */
static int mark(struct sb_ctx *ctx, sb_str message_id, int status)
{
    chat_app *app = ctx->app;
    int64_t me = session_of(ctx)->user_id;
    chat_msg_row row;
    int64_t mid = parse_id(message_id);
    int found = chat_message_get(app->store, mid, &row);
    if (found != 1)
        return reply_lookup(ctx, found, CHAT_ERR_MESSAGE_NOT_FOUND);
    int64_t sender = row.sender_id, room_id = row.room_id;
    const chat_room_info *room;
    found = chat_room_get(app->store, room_id, &room);
    if (found != 1 || !chat_room_has_member(room, me))
        return reply_lookup(ctx, found, CHAT_ERR_MESSAGE_NOT_FOUND);

    int changed = 0;
    int64_t unread = 0;
    if (sender == me) {
        /* Marking one's own message changes nothing: no status, and the
         * watermark stays where it is (moving it to one's own newest message
         * would count the others' messages before it as read). mark_read
         * still answers the reader's unread count, unchanged. Nothing is
         * written, so no transaction. */
        if (status == 2 && (unread = chat_unread_count(app->store, room_id, me)) < 0)
            return reply_error(ctx, CHAT_ERR_STORAGE);
    } else {
        if (sb_store_unit_begin(ctx->store) != SB_STORE_OK)
            return reply_error(ctx, CHAT_ERR_STORAGE);
        bool ok = true;
        /* "delivered" for a message already read changes nothing (mark_read
         * covers every older message too) */
        int64_t last_read = status == 1 ? chat_last_read(app->store, room_id, me) : 0;
        bool covered = status == 1 && mid <= last_read;
        if (last_read < 0)
            ok = false;
        else if (!covered)
            ok = (changed = chat_status_set(app->store, mid, me, status)) >= 0;
        if (ok && status == 2)
            ok = chat_mark_read(app->store, room_id, me, mid, &unread) == 0;
        sb_store_unit_end(ctx->store, ok);
        if (!ok)
            return reply_error(ctx, CHAT_ERR_STORAGE);
    }

    if (changed > 0) {
        chat_message_status_payload p = {0};
        if (room->service_id) {
            p.data.service_id = chat_id_str(app->arena, room->service_id);
            p.data.has.service_id = SB_SET;
        } else {
            p.data.has.service_id = SB_NULL;
        }
        p.data.message_id = chat_id_str(app->arena, mid);
        p.data.status = status == 2 ? CHAT_MESSAGE_STATUS_READ : CHAT_MESSAGE_STATUS_DELIVERED;
        chat_message_status_payload_write(to_user(ctx, sender, CHAT_OUT_MESSAGE_STATUS_PAYLOAD),
                                          &p);
    }
    if (status == 2) {
        chat_unread_message_count_payload u;
        u.data.room_id = chat_id_str(app->arena, room_id);
        u.data.unread_count = unread;
        chat_unread_message_count_payload_write(
            to_user(ctx, me, CHAT_OUT_UNREAD_MESSAGE_COUNT_PAYLOAD), &u);
    }
    return 0;
}

int chat_on_mark_delivered_event(struct sb_ctx *ctx, const chat_mark_delivered_event *msg)
{
    return mark(ctx, msg->message_id, 1);
}

int chat_on_mark_read_event(struct sb_ctx *ctx, const chat_mark_read_event *msg)
{
    return mark(ctx, msg->message_id, 2);
}

static void heartbeat_write_v(sb_buf *b, const void *m)
{
    chat_heartbeat_response_payload_write(b, m);
}

int chat_on_heartbeat_event(struct sb_ctx *ctx, const chat_heartbeat_event *msg)
{
    (void)msg;
    /* Both forms the document shows: status and data.status (docs/decisions.md,
     * "heartbeat_response and error: two forms each"). */
    chat_heartbeat_response_payload p = {0};
    p.status = SB_STR_LIT("ok");
    p.has.status = SB_SET;
    p.data.status = p.status;
    p.has.data = SB_SET;
    reply(ctx, CHAT_OUT_HEARTBEAT_RESPONSE_PAYLOAD, heartbeat_write_v, &p);
    return 0;
}

static void new_room_write_v(sb_buf *b, const void *m)
{
    chat_new_room_payload_write(b, m);
}

int chat_on_new_room_event(struct sb_ctx *ctx, const chat_new_room_event *msg)
{
    chat_app *app = ctx->app;
    int64_t me = session_of(ctx)->user_id;
    const chat_room_info *room;
    int found = chat_room_get(app->store, parse_id(msg->room_id), &room);
    if (found != 1 || !chat_room_has_member(room, me))
        return reply_lookup(ctx, found, CHAT_ERR_ROOM_NOT_FOUND);
    if (room->type != CHAT_ROOM_TYPE_TECHNICIAN_DIRECT)
        return reply_error(ctx, CHAT_ERR_NOT_DIRECT_ROOM);
    int64_t unread = chat_unread_count(app->store, room->id, me);
    if (unread < 0)
        return reply_error(ctx, CHAT_ERR_STORAGE);
    chat_new_room_payload p;
    chat_fill_room(app, room, me, unread, chat_last_message_id(app, room->id), &p.data);
    reply(ctx, CHAT_OUT_NEW_ROOM_PAYLOAD, new_room_write_v, &p);
    return 0;
}

/* The WebSocket route ------------------------------------------------------ */

/* What a client gets for a message that did not parse: the document's
 * strings for bad JSON and actions, the parser's "PATH: REASON" otherwise. */
static void reject(chat_app *app, struct sb_ctx *ctx, const sb_reader *r, const chat_in *msg,
                   const char *data, size_t len)
{
    char text[256];
    sb_json_err err = r->err;
    if (err != SB_ERR_SYNTAX && err != SB_ERR_SIZE && err != SB_ERR_DEPTH) {
        /* a type error can come before a syntax error further on: whether the
         * text is JSON at all decides which answer applies */
        char why[8];
        sb_json_err e2;
        if (!sb_json_validate(data, len, &app->limits, &e2, why, sizeof why))
            err = e2;
    }
    if (err == SB_ERR_SYNTAX) {
        snprintf(text, sizeof text, "%s", CHAT_ERR_INVALID_JSON);
    } else if (err == SB_ERR_NO_DISCRIMINATOR ||
               (err == SB_ERR_TYPE && strncmp(r->err_msg, "action: ", 8) == 0)) {
        snprintf(text, sizeof text, "%s", CHAT_ERR_NO_ACTION);
    } else if (err == SB_ERR_UNKNOWN_DISCRIMINATOR) {
        /* at most 128 bytes of it, cut on a character boundary: the reply
         * is a text frame and must stay valid UTF-8 */
        size_t n = msg->tag.len > 128 ? 128 : msg->tag.len;
        if (n < msg->tag.len)
            while (n > 0 && ((unsigned char)msg->tag.ptr[n] & 0xC0) == 0x80)
                n--;
        snprintf(text, sizeof text, "%s%.*s", CHAT_ERR_UNKNOWN_ACTION, (int)n, msg->tag.ptr);
    } else {
        snprintf(text, sizeof text, "%s", r->err_msg);
    }
    sb_counter_add(app->m_invalid, 1);
    reply_error(ctx, text);
    sb_rt_invalid(ctx); /* too many: answered by chat_on_limit, then closed */
}

static void chat_ws_message(struct sb_ctx *ctx, const char *data, size_t len, bool binary)
{
    (void)binary; /* the route takes text only */
    chat_app *app = ctx->app;
    if (!ctx->session)
        return; /* not authenticated: it is being closed */
    sb_reader r;
    chat_in msg;
    sb_reader_init(&r, data, len, ctx->arena, &app->limits);
    if (!sb_parse_document(&r, app->parse_in, &msg)) {
        reject(app, ctx, &r, &msg, data, len);
        return;
    }
    sb_counter_add(app->m_in[msg.kind], 1);
    chat_in_dispatch(ctx, &msg);
}

/* Missed-message recovery (?since=): the newer messages of the user's rooms,
 * oldest first, REPLAY_LIMIT at most. Sent a batch at a time, each batch
 * when the connection's queue has drained, so that a long replay never hits
 * the queue cap. */
typedef struct replay_state {
    int64_t after;
    int left;
} replay_state;

#define REPLAY_BATCH 100

static void replay_more(struct sb_ctx *ctx, void *arg)
{
    (void)arg;
    chat_app *app = ctx->app;
    chat_session *ss = ctx->session;
    if (!ss || !ss->replay)
        return;
    replay_state *rs = ss->replay;
    sb_cursor cur = SB_CURSOR_INIT;
    chat_msg_row row;
    int batch = rs->left < REPLAY_BATCH ? rs->left : REPLAY_BATCH, n = 0, rc;
    bool track = tracking(ss);
    while ((rc = chat_messages_since(app->store, ss->user_id, rs->after, batch, &cur, &row)) == 1) {
        rs->after = row.id;
        n++;
        if (track && !sent_add(ss, row.id))
            continue; /* delivered live already */
        note_sent(ss, row.id);
        chat_new_message_payload p;
        chat_fill_new_message(app, &row, room_or_null(app, row.room_id), ss->user_id, &p);
        chat_new_message_payload_write(to_origin(ctx, CHAT_OUT_NEW_MESSAGE_PAYLOAD), &p);
    }
    rs->left -= n;
    if (rc == 0 && n == batch && rs->left > 0) {
        sb_rt_on_drain(ctx, replay_more, NULL); /* more to come */
        return;
    }
    if (rc == 0 && n == batch)
        ss->truncated = true;
    ss->replay_pos = rs->after;
    if (ss->catchup_owed && !ss->truncated) {
        /* the bus confirmed the topic after this replay's reads began: once
         * more, from where it is, now that the live frames flow */
        ss->catchup_owed = false;
        rs->left = REPLAY_LIMIT;
        sb_rt_on_drain(ctx, replay_more, NULL);
        return;
    }
    free(rs);
    ss->replay = NULL;
    if (ss->outage == OUTAGE_AFTER && ss->truncated) {
        /* more than REPLAY_LIMIT stored meanwhile: the client reads them */
        sb_rt_close(ctx, SB_CLOSE_SERVICE_RESTART, "catch up");
        return;
    }
    if (ss->outage == OUTAGE_AFTER)
        tracking_tail(ss, OUTAGE_TAIL_US);
    else if (ss->outage == OUTAGE_NONE && ss->confirmed && ss->tracking && !ss->track_until)
        tracking_tail(ss, OVERLAP_US);
}

/* The bus confirmed the user's topic (chat_open): read what was stored
 * since the replay, once more, in a unit of the connection. */
static void catchup(struct sb_ctx *ctx, void *arg)
{
    chat_session *ss = arg;
    ctx->session = ss;
    ss->confirmed = true;
    if (ss->replay) {
        ss->catchup_owed = true; /* replay_more reads once more at its end */
        return;
    }
    if (ss->truncated || !(ss->replay = malloc(sizeof *ss->replay))) {
        if (ss->outage != OUTAGE_DOWN)
            tracking_tail(ss, OVERLAP_US);
        return;
    }
    *ss->replay = (replay_state){ss->replay_pos, REPLAY_LIMIT};
    replay_more(ctx, NULL);
}

static void chat_subscribed(void *arg, uint64_t conn)
{
    chat_app *app = arg;
    chat_session *ss = sb_rt_ws_session(app->rt, conn, CHAT_PATH);
    if (ss && ss->tracking)
        sb_rt_call(app->rt, conn, app, catchup, ss);
}

/* The bus' subscription went down (chat_app.c, on_down): from now on,
 * record what this connection is sent, and where it stood. */
void chat_outage_begin(struct sb_ctx *ctx)
{
    chat_session *ss = ctx->session;
    if (!ss || ss->newest < 0 || ss->outage == OUTAGE_DOWN)
        return;
    if (ss->outage == OUTAGE_NONE) {
        ss->outage_from = ss->newest;
        if (ss->tracking && !ss->confirmed) {
            /* its catch-up has not read yet: from where it would */
            int64_t p = ss->replay ? ss->replay->after : ss->replay_pos;
            if (p < ss->outage_from)
                ss->outage_from = p;
        }
    }
    /* else: a second outage within the first one's tail; the set still
     * holds everything sent since the first one's start */
    ss->outage = OUTAGE_DOWN;
    ss->tracking = true;
    ss->track_until = 0; /* until the gap */
}

/* A bus gap (chat_app.c, on_gap): what was stored since the connection's
 * point before the outage, except what it was sent already; or, when it
 * recorded nothing to replay from, the 1012 close after which the client
 * reconnects with ?since=. */
void chat_outage_gap(struct sb_ctx *ctx)
{
    chat_session *ss = ctx->session;
    if (!ss || ss->outage == OUTAGE_NONE || !tracking(ss) || ss->sent.overflow) {
        sb_rt_close(ctx, SB_CLOSE_SERVICE_RESTART, "catch up");
        return;
    }
    ss->outage = OUTAGE_AFTER;
    ss->track_until = 0; /* tracking_tail once the replay is done */
    ss->truncated = false;
    ss->catchup_owed = false;
    if (ss->replay) {
        /* a since= replay is under way: it goes on from the outage's point
         * (what it sent already is in the set) */
        if (ss->replay->after > ss->outage_from)
            ss->replay->after = ss->outage_from;
        ss->replay->left = REPLAY_LIMIT;
        return;
    }
    if (!(ss->replay = malloc(sizeof *ss->replay))) {
        sb_rt_close(ctx, SB_CLOSE_SERVICE_RESTART, "catch up");
        return;
    }
    *ss->replay = (replay_state){ss->outage_from, REPLAY_LIMIT};
    replay_more(ctx, NULL);
}

static void refuse(struct sb_ctx *ctx, const char *text)
{
    chat_write_error(to_origin(ctx, CHAT_OUT_ERROR_PAYLOAD), text, strlen(text));
    sb_rt_close(ctx, SB_CLOSE_POLICY, text);
}

static int chat_open(struct sb_ctx *ctx, const sb_ws_request *req)
{
    chat_app *app = ctx->app;
    sb_reader r;
    chat_chat_connect_params params;
    sb_reader_init(&r, "", 0, ctx->arena, NULL);
    if (!chat_chat_connect_params_from_query(&r, req->query, &params)) {
        char text[SB_ERR_MSG_MAX];
        snprintf(text, sizeof text, "%s", r.err_msg);
        refuse(ctx, text);
        return 0;
    }
    char token[257] = ""; /* an empty ?token= counts as none: the header may have one */
    if (params.has.token == SB_SET)
        snprintf(token, sizeof token, "%.*s", (int)params.token.len, params.token.ptr);
    int64_t user = chat_authenticate(app, token[0] ? token : NULL, req->authorization);
    if (user < 0) {
        /* not the client's fault: 1013, which a client retries (1008 it
         * does not) */
        chat_write_error(to_origin(ctx, CHAT_OUT_ERROR_PAYLOAD), CHAT_ERR_STORAGE,
                         strlen(CHAT_ERR_STORAGE));
        sb_counter_add(app->m_storage_errors, 1);
        sb_rt_close(ctx, SB_CLOSE_TRY_AGAIN, CHAT_ERR_STORAGE);
        return 0;
    }
    if (!user) {
        sb_counter_add(app->m_auth_failures, 1);
        refuse(ctx, CHAT_ERR_AUTH_REQUIRED);
        return 0;
    }
    char topic[SB_TOPIC_MAX];
    chat_session *ss = calloc(1, sizeof *ss);
    if (!ss) {
        sb_rt_close(ctx, SB_CLOSE_TRY_AGAIN, "out of memory");
        return 0;
    }
    /* every device of the user, at most --max-user-connections of them */
    if (sb_rt_claim(ctx, user_topic(topic, user), 0) != 0) {
        free(ss);
        return 0; /* refused (Too many connections, then 1008), or out of memory */
    }
    ss->user_id = user;
    ss->newest = -1;
    ctx->session = ss;
    char peer[80];
    sb_log(SB_LOG_DEBUG, "chat_open", "conn=%llu user=%lld peer=%s", (unsigned long long)ctx->conn,
           (long long)user, sb_log_kv_str(peer, sizeof peer, req->peer));
    if (params.has.since == SB_SET) {
        ss->replay = malloc(sizeof *ss->replay);
        if (ss->replay) {
            *ss->replay = (replay_state){params.since, REPLAY_LIMIT};
            sb_bus *bus = sb_rt_bus(ctx->rt);
            if (bus) {
                /* Another node's message stored between this replay's read
                 * and Redis' confirmation of the topic's SUBSCRIBE (the
                 * topic may be new on this node) would be in neither: read
                 * again at the confirmation (catchup), and drop what both
                 * the replays and the live frames carry (chat_filter). */
                ss->tracking = true;
                ss->newest = params.since > 0 ? params.since : 0;
                sb_rt_set_filter(ctx, chat_filter, ss);
                ss->confirmed = sb_bus_when_subscribed(bus, topic, chat_subscribed, app, ctx->conn);
            }
            replay_more(ctx, NULL);
        }
    } else if (sb_rt_bus(ctx->rt)) {
        /* No since=: what is stored from now on. What another node stores
         * before Redis confirms the topic's SUBSCRIBE is read at the
         * confirmation, from the newest ID now (catchup). */
        int64_t newest = chat_newest_message_id(app->sb_store);
        /* the filter stays: it keeps `newest` for an outage replay */
        sb_rt_set_filter(ctx, chat_filter, ss);
        if (newest >= 0) {
            ss->tracking = true;
            ss->replay_pos = ss->newest = newest;
            if (sb_bus_when_subscribed(sb_rt_bus(ctx->rt), topic, chat_subscribed, app, ctx->conn))
                tracking_end(ss); /* subscribed: nothing to read */
        }
    }
    return 0;
}

static void chat_close(struct sb_ctx *ctx)
{
    chat_session *ss = ctx->session;
    if (!ss)
        return;
    free(ss->replay); /* its drain callback dies with the connection */
    sb_rt_set_filter(ctx, NULL, NULL);
    tracking_end(ss);
    free(ss);
    ctx->session = NULL;
}

/* A runtime limit was passed: the document's style of error, then the
 * runtime closes with 1008. */
static void chat_on_limit(struct sb_ctx *ctx, sb_limit what)
{
    const char *text = what == SB_LIMIT_INVALID       ? CHAT_ERR_TOO_MANY_INVALID
                       : what == SB_LIMIT_CONNECTIONS ? CHAT_ERR_TOO_MANY_CONNECTIONS
                                                      : CHAT_ERR_RATE_LIMITED;
    chat_write_error(to_origin(ctx, CHAT_OUT_ERROR_PAYLOAD), text, strlen(text));
}

sb_ws_handler chat_ws_handler(chat_app *app)
{
    return (sb_ws_handler){.path = CHAT_PATH,
                           .channel = "chat",
                           .on_open = chat_open,
                           .on_message = chat_ws_message,
                           .on_close = chat_close,
                           .on_limit = chat_on_limit,
                           .app = app};
}
