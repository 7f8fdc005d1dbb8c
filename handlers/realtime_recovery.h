/*
 * realtime_recovery.h: connection state recovery, as Socket.IO 4.6+ does it.
 *
 * Every CONNECT reply offers a pid; every UPDATE carries its offset as the
 * event's last argument. A connection that goes without saying goodbye (a
 * transport closed or timed out, not a disconnect() of the client's or a
 * kick of the server's) leaves a record: its pid, who it was, what it
 * followed, until --realtime-recovery has passed. A client that reconnects
 * in time with that pid and the last offset it saw gets, right after the
 * CONNECT reply, every UPDATE it missed, in order, once, and socket.io-client
 * sets socket.recovered. Records live in the database (realtime_store.h),
 * so a client recovers on any node, also after its node was killed: the
 * record is written when the connection is accepted, follows its
 * subscriptions, goes at an explicit goodbye, and starts its window at a
 * loss the node sees, or at the node's last heartbeat when it dies
 * (docs/decisions.md, realtime, "Recovery records").
 */
#ifndef SB_REALTIME_RECOVERY_H
#define SB_REALTIME_RECOVERY_H

#include <stddef.h>

#include "realtime.h"
#include "realtime_app.h"

/* At CONNECT (accepted): the pid to offer in pid_out (cap bytes), and, when
 * the client recovers, its subscriptions back and st->recover_from set. */
void realtime_recovery_connect(struct sb_ctx *ctx, rt_socket *st,
                               const realtime_realtime_connect_auth *auth, char *pid_out,
                               size_t cap);
/* After the CONNECT reply: what a recovering client missed. */
void realtime_recovery_replay(struct sb_ctx *ctx, rt_socket *st);
/* The connection goes: its filter with it. */
void realtime_recovery_forget(struct sb_ctx *ctx, rt_socket *st);
/* At disconnect: keep the record (unless the goodbye was explicit). */
void realtime_recovery_keep(struct sb_ctx *ctx, rt_socket *st, const char *reason);
/* The subscriptions changed (subscribeArtifact, unsubscribeArtifact): the
 * record follows. */
void realtime_recovery_subs_changed(rt_socket *st);
/* The node's heartbeat, and the records past their end dropped (a timer of
 * the app's, every RT_SWEEP_MS). */
void realtime_recovery_sweep(realtime_app *app);
/* Several nodes (runtime/bus.h): the UPDATEs committed through other nodes
 * count as committed here too, so that a recovery replays them. */
void realtime_recovery_catch_up(realtime_app *app);

#endif
