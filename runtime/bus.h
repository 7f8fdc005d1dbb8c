/*
 * bus.h: the Redis fan-out bus, for several switchboard nodes behind one
 * load balancer, sharing one database (docs/architecture.md, "The bus").
 *
 * With --redis URL, every topic frame the outbox delivers after a commit is
 * also published once to Redis (PUBLISH on sb:t:<topic>, one bus message for
 * all the topics of an sb_outbox_also group), and each node subscribes to
 * the topics it has local subscribers for (sb_topics tells it: topics.h,
 * watch). A message from another node is delivered to the local subscribers
 * through the outbox like a local topic frame, never re-published.
 *
 * Redis pub/sub is at-most-once: nothing relies on it for durability. When
 * this node's subscription was down, or another node reports publishes it
 * dropped (a gap notice on sb:gap), the gap handlers run: each module
 * recovers what its clients missed from the database by id. Redis down
 * never blocks or stops local delivery: publishes are dropped and counted,
 * the connections come back with backoff, /healthz says degraded.
 *
 * Everything runs on the server's event loop (hiredis async, its libevent
 * adapter); no call blocks except the resolution of a host name at connect
 * (use an IP address or unix:// where that matters).
 *
 * The wire format of a bus message (all integers big-endian):
 *
 *   u8   0xB2          magic and version (bus v2; v1, 0xB1, had no
 *                      position: a node of another version is malformed)
 *   u8   flags         bit 0: the frame is binary; bit 1: a gap notice
 *                      (sb:gap, no topics, no frame, no other bit); bit 2:
 *                      the frame has a position; other bits: 0
 *   u8   n             the origin node id's length, 1..SB_BUS_NODE_MAX
 *   n    node id
 *   u64  seq           per origin node, increasing (starts at the node's
 *                      start time in microseconds: unique across restarts)
 *   u64  position      only with flag bit 2: the frame's position
 *                      (outbox.h, sb_outbox_position)
 *   u16  k             topics, 0..SB_BUS_TOPICS_MAX (0 only in a gap notice)
 *   k x  (u8 len, len bytes)   each topic key, 1..SB_TOPIC_MAX-1 bytes
 *   u32  len           the frame's length, at most SB_BUS_FRAME_MAX
 *   len  frame bytes   exactly the rest of the message
 *
 * Anything else is malformed: logged, counted
 * (switchboard_bus_malformed_total) and dropped.
 */
#ifndef SB_BUS_H
#define SB_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct sb_rt sb_rt;
typedef struct sb_bus sb_bus;

#define SB_BUS_NODE_MAX 64                 /* bytes in a node id */
#define SB_BUS_TOPICS_MAX 4096             /* topics one bus message lists */
#define SB_BUS_FRAME_MAX ((size_t)1 << 20) /* larger frames are not published */

/* Parse a Redis URL (redis://HOST:PORT, redis://:PASSWORD@HOST:PORT/DB,
 * unix:///path): 0, or -1 with the reason in err. For --redis checks. */
int sb_bus_check_url(const char *url, char *err, size_t errn);

/* A --node-id: 1..SB_BUS_NODE_MAX bytes of letters, digits and . _ : -
 * (it is a metric's label value): 0, or -1 with the reason in err. */
int sb_bus_check_node_id(const char *id, char *err, size_t errn);

/* Start connecting (never waits: Redis may be down now and come later).
 * node_id: this node's name in logs and metrics. NULL on a bad URL or out
 * of memory, with the reason in err. */
sb_bus *sb_bus_new(struct event_base *base, sb_rt *rt, const char *url, const char *node_id,
                   char *err, size_t errn);
void sb_bus_free(sb_bus *bus);

const char *sb_bus_node_id(const sb_bus *bus);

/* Raw pattern subscription (PSUBSCRIBE), kept across reconnects. fn runs on
 * the loop, outside any outbox unit (use sb_rt_call to deliver). */
typedef void (*sb_bus_raw_fn)(void *arg, const char *channel, size_t channel_len, const char *msg,
                              size_t len);
int sb_bus_psubscribe(sb_bus *bus, const char *pattern, sb_bus_raw_fn fn, void *arg); /* 0 / -1 */

/* Raw publish on any channel (no bus header): 0 queued, -1 dropped (the
 * publish connection is down or its backlog is full; counted). */
int sb_bus_publish_raw(sb_bus *bus, const char *channel, const char *msg, size_t len);

/* After a gap (this node's subscription was down, or another node reported
 * dropped publishes): modules recover from the database. Called on the
 * loop, outside any unit, in registration order, before any frame received
 * after the gap is queued (frames received between the gap and this call
 * are not delivered: fn recovers them). So fn queues its effects (closes,
 * fresh states) in units of its own (sb_rt_each_ws, sb_rt_call): what the
 * bus delivers later comes after them. */
typedef void (*sb_bus_gap_fn)(void *arg);
void sb_bus_on_gap(sb_bus *bus, sb_bus_gap_fn fn, void *arg);

/* When this node's subscription goes down (once per outage, however many
 * reconnection attempts fail; the gap handlers run when it is back): called
 * on the loop, outside any unit, in registration order, before any frame
 * of the outage is delivered. A module that can recover an outage without
 * closing its clients starts recording what it sends them locally
 * (sb_rt_each_ws), so that its gap handler replays from before the outage
 * what they lack, and nothing twice (chat: docs/decisions.md, "Redis bus",
 * the outage replay). Not called at sb_bus_free. */
void sb_bus_on_down(sb_bus *bus, sb_bus_gap_fn fn, void *arg);

/* Once every channel of `topic` is subscribed in Redis (the others' frames
 * of it reach this node from then on): true when it is already (or there
 * is no bus), and fn is not called. Otherwise false, and fn(arg, id) runs
 * once, on the loop, outside any unit, when Redis confirms the SUBSCRIBE
 * (after a reconnection of the subscription too), before any frame of the
 * topic that follows it. Dropped without a call when the topic loses its
 * last local subscriber first. A protocol that reads what a new connection
 * missed from the database (chat's ?since=) reads again then: what was
 * stored between its first read and the confirmation is in neither. */
typedef void (*sb_bus_subscribed_fn)(void *arg, uint64_t id);
bool sb_bus_when_subscribed(sb_bus *bus, const char *topic, sb_bus_subscribed_fn fn, void *arg,
                            uint64_t id);

/* Both connections up and subscribed. Otherwise *reason (may be NULL) says
 * what is wrong ("bus: redis unreachable (...)"); valid until the next
 * loop turn. */
bool sb_bus_healthy(const sb_bus *bus, const char **reason);

/* The outbox's side (outbox.c calls it through its publish hook): one
 * frame, delivered locally already, for the n topics listed. */
void sb_bus_publish(sb_bus *bus, const char *const *topics, size_t n, const char *frame, size_t len,
                    bool binary, bool positioned, uint64_t pos);

#endif
