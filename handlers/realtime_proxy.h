/*
 * realtime_proxy.h: actions served upstream (`proxy = true` in the schema):
 * the REQUEST's data is checked here, then POSTed to --realtime-upstream
 * with the caller's token, and the upstream's answer relayed as RESPONSE or
 * ERROR, with a timeout and a bound on requests in flight (server-wide and
 * per connection). docs/protocols/realtime.md, "Proxied actions".
 */
#ifndef SB_REALTIME_PROXY_H
#define SB_REALTIME_PROXY_H

#include <stdint.h>

#include "action.h"
#include "realtime.h"
#include "realtime_app.h"

struct event_base;

/* url: "" when none is configured (proxied actions then answer INTERNAL). */
realtime_proxy *realtime_proxy_new(struct event_base *base, realtime_app *app, const char *url,
                                   int timeout_ms, int max_inflight);
void realtime_proxy_free(realtime_proxy *p);
void realtime_proxy_forward(struct sb_ctx *ctx, realtime_proxy *p, rt_socket *st,
                            const sb_action_def *a, const realtime_realtime_request *req,
                            int64_t ack);
/* The connection is gone: its calls in flight finish unanswered. */
void realtime_proxy_forget(realtime_proxy *p, rt_socket *st);
size_t realtime_proxy_inflight(const realtime_proxy *p);

#endif
