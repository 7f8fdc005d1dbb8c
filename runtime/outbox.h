/*
 * outbox.h: what a loop turn promised to send, held until its transaction
 * has committed.
 *
 * A handler never writes to a socket. It queues deliveries in the outbox:
 * frames to a connection, frames to a topic (one serialization, every
 * subscriber), and the answer of an HTTP request (its own, or one held
 * earlier: a long poll). The runtime's end of turn (rt.h) commits, then
 * delivers everything in the order it was queued, then lets paused readers
 * read again.
 *
 * The queue is made of units, one per handled message or request (the
 * runtime opens and closes them around the handler). When the commit fails,
 * no frame of a unit that needed it is sent; the unit's origin alone gets its
 * protocol's storage error instead. A unit that wrote nothing still waits
 * behind the ones before it, so a connection hears its answers in the order
 * it asked.
 */
#ifndef SB_OUTBOX_H
#define SB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "json.h"

typedef struct sb_outbox sb_outbox;
typedef struct sb_server sb_server;
typedef struct sb_topics sb_topics;
typedef struct sb_counter sb_counter;

/* How an origin learns that its message was not stored: for a WebSocket,
 * write the protocol's error frame into out; for HTTP, fill the response. */
typedef struct sb_failure {
    void (*ws)(sb_buf *out, void *arg);
    void (*http)(sb_http_response *resp, void *arg);
    void *arg;
} sb_failure;

sb_outbox *sb_outbox_new(sb_server *server, sb_topics *topics);
/* Where an ID that is no connection of the server is looked up (rt.h,
 * endpoints): the endpoint's object (it starts with its operations), or NULL. */
typedef void *(*sb_endpoint_lookup)(void *arg, uint64_t id);
void sb_outbox_set_endpoints(sb_outbox *o, sb_endpoint_lookup fn, void *arg);
void sb_outbox_free(sb_outbox *o);

/* A unit: opened before a handler runs, closed after. `needs_commit` at the
 * close says whether the unit wrote inside the turn's transaction. */
void sb_outbox_open(sb_outbox *o, uint64_t origin, const sb_failure *fail);
void sb_outbox_close(sb_outbox *o, bool needs_commit);

/* A frame for one connection / for every subscriber of a topic: write its
 * bytes into the returned buffer before the next call. `counter` (may be
 * NULL) is added to once per connection reached. Binary frames with
 * sb_outbox_binary() right after. On out of memory the unit is failed. */
sb_buf *sb_outbox_conn(sb_outbox *o, uint64_t conn, sb_counter *counter);
sb_buf *sb_outbox_topic(sb_outbox *o, const char *topic, sb_counter *counter);
/* The frame just started goes to this topic too (same bytes, one copy). */
void sb_outbox_also(sb_outbox *o, const char *topic);
/* A frame for each of the n connections listed (the IDs are copied; list
 * each once: topic_set.h makes such lists), one copy of the bytes. Local
 * to this process: for frames every node makes by itself (the Socket.IO
 * emitter's channels, handlers/realtime_emitter.c), never published. */
sb_buf *sb_outbox_conns(sb_outbox *o, const uint64_t *conns, size_t n, sb_counter *counter);
void sb_outbox_binary(sb_outbox *o);
/* The topic frame just started has a position (a protocol's ID of what it
 * carries, e.g. a chat message's): right after sb_outbox_topic, like
 * sb_outbox_binary. A positioned frame goes through the filter of each
 * connection it reaches (sb_outbox_set_filter) and crosses the bus with
 * its position. */
void sb_outbox_position(sb_outbox *o, uint64_t pos);
/* For a positioned frame about to be sent to WebSocket connection c, or
 * (c NULL) to the endpoint `id` (rt.h, endpoints): false drops it for that
 * one (rt.c: the connection's or endpoint's sb_rt_set_filter). */
struct sb_conn;
typedef bool (*sb_outbox_filter_fn)(void *arg, struct sb_conn *c, uint64_t id, uint64_t pos);
void sb_outbox_set_filter(sb_outbox *o, sb_outbox_filter_fn fn, void *arg);
/* The current unit carries frames from another node (the bus, bus.h): its
 * topic frames go to local subscribers only (never published again), and it
 * waits for no commit (nothing of it was written here). */
void sb_outbox_remote(sb_outbox *o);
/* The answer of HTTP request `request` (moved: resp is left empty). */
void sb_outbox_http(sb_outbox *o, uint64_t request, sb_http_response *resp);
/* Close a WebSocket after the frames queued before this (reason: at most
 * 123 bytes, copied). Done even when the unit fails. */
void sb_outbox_close_conn(sb_outbox *o, uint64_t conn, int code, const char *reason);
/* Added to once the unit's transaction has committed (e.g. messages stored). */
void sb_outbox_on_commit(sb_outbox *o, sb_counter *counter);

/* Called once per topic frame delivered after a commit (a frame sent to
 * several topics with sb_outbox_also is one call listing them all), right
 * after its local delivery; not for remote units. The bus (bus.h). */
typedef void (*sb_outbox_publish_fn)(void *arg, const char *const *topics, size_t n,
                                     const char *frame, size_t len, bool binary, bool positioned,
                                     uint64_t pos);
void sb_outbox_set_publish(sb_outbox *o, sb_outbox_publish_fn fn, void *arg);

/* The end of turn's steps (rt.c). rc 0: committed (or nothing to commit).
 * Otherwise units that needed the commit fail. Returns true when some
 * delivery found a congested queue (the origins were paused already). */
void sb_outbox_deliver(sb_outbox *o, int rc);
/* An asynchronous commit (store.h, sb_store_commit_start): the units queued
 * so far wait for it and are delivered by sb_outbox_deliver_sealed with its
 * result; units queued meanwhile wait behind them (the next transaction's,
 * and those that need none: order is kept) for the next sb_outbox_deliver,
 * which does nothing while a seal is pending. */
void sb_outbox_seal(sb_outbox *o);
void sb_outbox_deliver_sealed(sb_outbox *o, int rc);
/* Units that needed the commit so far fail now (SQLite rolled the
 * transaction back by itself); the others stay queued, and so do sealed
 * units (their transaction is another, committing). */
void sb_outbox_fail_pending(sb_outbox *o);

#endif
