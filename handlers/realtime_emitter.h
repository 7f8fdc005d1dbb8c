/*
 * realtime_emitter.h: what a Node backend emits with @socket.io/redis-emitter
 * (or a Node Socket.IO server with the Redis adapter broadcasts), delivered
 * to the realtime clients of this node (docs/protocols/realtime.md, "Pushing
 * from a Node backend").
 *
 * With the bus on (--redis), the node subscribes to the emitter's channels
 * for the namespace "/realtime" (socket.io#/realtime#*, and the request
 * channel socket.io-request#/realtime#), decodes each message
 * ([uid, packet, opts] in MessagePack: runtime/msgpack.h), maps its rooms to
 * the realtime topics (company:<companyId>, artifact:<companyId>:<artifactId>)
 * and hands the event to the union of those rooms' connections minus the
 * `except` rooms' (runtime/topic_set.h), once per connection. Every node
 * reads the channel itself: nothing is published again.
 */
#ifndef SB_REALTIME_EMITTER_H
#define SB_REALTIME_EMITTER_H

#include <stddef.h>

#include "realtime_app.h"

typedef struct realtime_emitter realtime_emitter;

/* Subscribe (the bus keeps the subscriptions across reconnects). NULL with
 * the reason in err when out of memory. Only called with a bus. */
realtime_emitter *realtime_emitter_start(realtime_app *app, char *err, size_t err_size);
/* After the loop has stopped (no bus callback runs any more). NULL is fine. */
void realtime_emitter_free(realtime_emitter *em);

#endif
