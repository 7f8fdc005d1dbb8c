/*
 * realtime_check.h: the HTTP session check (--realtime-session-check URL).
 *
 * When the token's claims do not settle a CONNECT (its sid claim is not the
 * query's sessionId, or its artifacts claim does not name the query's
 * artifactId), the server asks the REST API instead: GET URL?sessionId=S
 * [&artifactId=A] with "Authorization: Bearer <the token>"; a 2xx answer
 * allows it, anything else (or no answer within the upstream timeout)
 * refuses it. Answers are cached per token, session and artifact: 30 s when
 * allowed, 5 s when refused. The cache keys are SHA-256 digests: no token is
 * kept in it.
 */
#ifndef SB_REALTIME_CHECK_H
#define SB_REALTIME_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "realtime_app.h"

struct event_base;
typedef struct realtime_check realtime_check;

#define REALTIME_CHECK_ALLOW_MS 30000
#define REALTIME_CHECK_REFUSE_MS 5000

/* url "" : no check (NULL is returned, and callers refuse what the claims do not settle). */
realtime_check *realtime_check_new(struct event_base *base, realtime_app *app, const char *url,
                                   int timeout_ms);
void realtime_check_free(realtime_check *k);

/* 1 allowed, 0 refused, -1 not cached. artifact may be NULL. */
int realtime_check_cached(realtime_check *k, const char *token, const char *session,
                          const char *artifact);

/* Ask. fn runs later, in a unit of the runtime's whose ctx->conn is `owner`,
 * with the answer; unless realtime_check_drop(handle) was called first. */
typedef void (*realtime_check_fn)(struct sb_ctx *ctx, void *arg, bool allowed, const char *why);
void *realtime_check_ask(realtime_check *k, uint64_t owner, const char *token, const char *session,
                         const char *artifact, realtime_check_fn fn, void *arg);
void realtime_check_drop(void *handle);

#endif
