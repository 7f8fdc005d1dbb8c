/*
 * action.h: the actions a channel declares in its schema (`action "name"
 * { ... }`, docs/schema.md), as the transport sees them.
 *
 * A request envelope (realtime: REQUEST) names an action and carries its
 * data; the answer (RESPONSE) carries its result. For each channel with
 * actions the generator writes c/<channel>_actions.c: <channel>_actions[],
 * one sb_action_def per action in schema order, and <channel>_action_find(),
 * a generated switch on the name. The transport finds the action (NULL: the
 * channel's unknown-action error), checks `permission` against the caller's
 * token (the denied error), then calls run(), or for a proxy action
 * validate() and forwards the data upstream, and answers with the result or
 * the error code. The channel's codes are <CH>_ACTION_ERROR_INVALID,
 * _UNKNOWN, _DENIED and _INTERNAL (c/<channel>_handlers.h).
 *
 * run() parses with ctx->arena: what it parsed lives until that arena is
 * reset, and the handler's result may point into it until run() has written
 * it.
 */
#ifndef SB_ACTION_H
#define SB_ACTION_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

struct sb_ctx;

typedef struct sb_action_def {
    const char *name;       /* wire name */
    const char *permission; /* NULL: any authenticated caller */
    bool proxy;             /* forwarded upstream; run is NULL */
    /* data: the envelope's data as raw JSON text (len 0: absent). Parse it
     * with the ctx's arena, validate, run the handler, write the result JSON
     * (the RESPONSE's data; nothing for an action without result) into
     * `result` (appended). Returns 0, or -CODE of the channel's error table:
     * INVALID_DATA when the data does not parse (err: "PATH: REASON" under
     * the envelope's field, e.g. "data.artifactId: longer than 256 bytes"),
     * or what the handler returned, when it is one of its errors (err: "").
     * A handler's other return values are its bugs: INTERNAL, with err
     * naming the action and the value, for the log. err may be NULL. */
    int (*run)(struct sb_ctx *ctx, const char *data, size_t len, sb_buf *result, char *err,
               size_t err_size);
    /* Every action: the data check of run() alone (same contract, no
     * result, no handler). What a proxy action is served with before its
     * data is forwarded. */
    int (*validate)(struct sb_ctx *ctx, const char *data, size_t len, char *err, size_t err_size);
} sb_action_def;

#endif
