/*
 * topic_set.h: the connections of a union of topics, minus the connections
 * of other topics, each listed once. For a delivery that names several
 * rooms and rooms to leave out (the Socket.IO emitter's `rooms` and
 * `except`, handlers/realtime_emitter.c): a connection in two of the rooms
 * gets the frame once, one in an excluded room not at all. The list goes
 * to sb_outbox_conns (outbox.h).
 *
 *   sb_topic_set s;
 *   sb_topic_set_init(&s);
 *   sb_topic_set_add(&s, topics, "company:42");
 *   sb_topic_set_except(&s, topics, "artifact:2:42/7");
 *   size_t n;
 *   const uint64_t *conns = sb_topic_set_finish(&s, &n);
 *   ...
 *   sb_topic_set_free(&s);
 *
 * The set is a snapshot: a connection that subscribes afterwards is not in
 * it, one that closes before the delivery is skipped by the outbox.
 */
#ifndef SB_TOPIC_SET_H
#define SB_TOPIC_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topics.h"

typedef struct sb_topic_set {
    uint64_t *in, *out; /* what was added, what is excluded */
    size_t n_in, cap_in, n_out, cap_out;
    bool oom;
} sb_topic_set;

void sb_topic_set_init(sb_topic_set *s);
void sb_topic_set_free(sb_topic_set *s);
void sb_topic_set_reset(sb_topic_set *s); /* empty, keeps its memory, clears oom */

/* The subscribers of topic (none when nobody is subscribed), or one
 * connection, join the set; sb_topic_set_except's are left out of it,
 * whatever the order of the calls. */
void sb_topic_set_add(sb_topic_set *s, const sb_topics *t, const char *topic);
void sb_topic_set_add_conn(sb_topic_set *s, uint64_t conn);
void sb_topic_set_except(sb_topic_set *s, const sb_topics *t, const char *topic);

/* The connections, in increasing order, each once; *n of them. NULL when
 * memory ran out along the way (*n is 0 then). Valid until the next call
 * on s. */
const uint64_t *sb_topic_set_finish(sb_topic_set *s, size_t *n);

#endif
