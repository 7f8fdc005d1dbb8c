/*
 * http_client.h: outbound HTTP/1.1 requests on the runtime's event loop
 * (libevent's evhttp), for protocols that ask another service: the realtime
 * protocol's proxied actions and session checks.
 *
 * Plain http:// only (a sidecar or a service on a private network; TLS is
 * for the proxy in front). Connections are kept alive and shared: a few
 * per origin, requests queued on them in turn. Every request ends in
 * exactly one call of its callback: with the answer's status and body, or
 * with status 0 and an error text (refused, reset, timed out, a body over
 * the limit, the client freed).
 */
#ifndef SB_HTTP_CLIENT_H
#define SB_HTTP_CLIENT_H

#include <stddef.h>

struct event_base;
typedef struct sb_http_client sb_http_client;

typedef void (*sb_http_client_fn)(int status, const char *body, size_t len, const char *error,
                                  void *arg);

/* conns: connections per origin (requests beyond queue on them). */
sb_http_client *sb_http_client_new(struct event_base *base, int conns, int timeout_ms,
                                   size_t max_body);
/* Calls every pending request's callback (status 0, "shutting down"), then frees. */
void sb_http_client_free(sb_http_client *c);

/* method "GET" or "POST"; url "http://host[:port]/path?query"; headers: extra
 * "Name: value" lines, NULL-terminated array (may be NULL); body for POST
 * (Content-Type: application/json). 0, or -1 (a URL that is not http://,
 * out of memory) and fn is not called. */
int sb_http_client_request(sb_http_client *c, const char *method, const char *url,
                           const char *const *headers, const char *body, size_t len,
                           sb_http_client_fn fn, void *arg);
size_t sb_http_client_pending(const sb_http_client *c);

#endif
