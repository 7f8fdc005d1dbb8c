/*
 * topics.h: who listens to what. A topic is a string key ("user:5",
 * "room:3", "company:42", "artifact:7", "case:1", "therapy:9"); a
 * connection subscribes to any number of them. Subscriptions are counted
 * (subscribing twice needs two unsubscribes), a topic is freed when its last
 * subscriber goes, and a closing connection leaves all its topics at once.
 *
 * Connection IDs, never pointers: a connection may close between the moment
 * a message is stored and the moment it is delivered (after the commit).
 */
#ifndef SB_TOPICS_H
#define SB_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#define SB_TOPIC_MAX 128 /* bytes in a topic key */

typedef struct sb_topics sb_topics;

sb_topics *sb_topics_new(void);
void sb_topics_free(sb_topics *t);

/* 0, or -1 (out of memory, or a key over SB_TOPIC_MAX or empty). */
int sb_topics_subscribe(sb_topics *t, const char *topic, uint64_t conn);
void sb_topics_unsubscribe(sb_topics *t, const char *topic, uint64_t conn);
/* Every subscription of conn (when it closes). */
void sb_topics_leave_all(sb_topics *t, uint64_t conn);

/* The distinct connections subscribed to topic; *count of them. Valid until
 * the next subscribe or unsubscribe. */
const uint64_t *sb_topics_conns(const sb_topics *t, const char *topic, size_t *count);
size_t sb_topics_count(const sb_topics *t); /* topics with subscribers */

/* Told when a topic gets its first subscriber (on_first) and loses its last
 * (on_last): the bus (bus.h) subscribes this node to exactly the topics it
 * has local subscribers for. Called from inside subscribe/unsubscribe: they
 * must not subscribe or unsubscribe. NULL functions: no watch. */
typedef void (*sb_topics_watch_fn)(void *arg, const char *topic);
void sb_topics_set_watch(sb_topics *t, sb_topics_watch_fn on_first, sb_topics_watch_fn on_last,
                         void *arg);
/* Every topic with subscribers (fn must not subscribe or unsubscribe). */
void sb_topics_each(const sb_topics *t, sb_topics_watch_fn fn, void *arg);

/* A topic key from a prefix and an ID: sb_topic_id(buf, "user", 5) -> "user:5". */
const char *sb_topic_id(char buf[SB_TOPIC_MAX], const char *prefix, int64_t id);

#endif
