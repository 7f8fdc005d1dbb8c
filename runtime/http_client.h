/*
 * http_client.h: outbound HTTP/1.1 requests on the runtime's event loop
 * (libevent's evhttp), for protocols that ask another service: the realtime
 * protocol's proxied actions and session checks.
 *
 * http:// connections are kept alive and shared: a few per origin,
 * requests queued on them in turn. https:// (sb_http_client_send only: the
 * SMS senders call public APIs) gets a connection of its own per request,
 * because libevent 2.1 cannot reconnect a TLS bufferevent once the server
 * closed it; the certificate is verified against the system's CAs (and an
 * optional CA file) and the URL's host name or IP address.
 *
 * Every request ends in exactly one call of its callback: with the answer's
 * status and body (any status: 2xx, 4xx, 5xx alike), or with status 0 and an
 * error text (refused, reset, timed out, a body over the limit, a
 * certificate that does not verify, the client freed). A callback must not
 * free the client: it runs inside libevent's handling of the connection.
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

/* method "GET", "POST" or "PUT"; url "http://host[:port]/path?query"; headers: extra
 * "Name: value" lines, NULL-terminated array (may be NULL); body for POST
 * (Content-Type: application/json). 0, or -1 (a URL that is not http://,
 * out of memory) and fn is not called. */
int sb_http_client_request(sb_http_client *c, const char *method, const char *url,
                           const char *const *headers, const char *body, size_t len,
                           sb_http_client_fn fn, void *arg);
size_t sb_http_client_pending(const sb_http_client *c);

/* One request, waited for on a loop of its own (for command-line tools, never
 * inside the server): the status, 0 when no answer came (*error says why);
 * the body, NUL-terminated, in *body (free it), when body is not NULL.
 * -1 when the URL is not http://. timeout_ms and max_body as for _new. */
int sb_http_fetch(const char *method, const char *url, const char *const *headers,
                  const char *req_body, size_t len, int timeout_ms, size_t max_body, char **body,
                  size_t *body_len, const char **error);

/* One request, for sb_http_client_send. Strings are copied before it
 * returns. */
typedef struct sb_http_client_req {
    const char *method;         /* "GET", "POST" or "PUT" (with the body) */
    const char *url;            /* "http://..." or "https://host[:port]/path?query" */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *body;           /* POST only; may be NULL */
    size_t len;
    const char *content_type; /* POST only; NULL: application/json */
} sb_http_client_req;

/* Like sb_http_client_request, and https:// too. 0, or -1 (a bad URL, TLS
 * that cannot be set up, out of memory) and fn is not called. */
int sb_http_client_send(sb_http_client *c, const sb_http_client_req *r, sb_http_client_fn fn,
                        void *arg);

/* The CAs that https:// answers must chain to: the system's default paths,
 * plus ca_file (PEM; NULL or "" for none). Call it before the first https
 * request to report a bad CA file at start; without it, the first https
 * request sets up the system's CAs alone. 0, or -1 and err filled. */
int sb_http_client_tls(sb_http_client *c, const char *ca_file, char *err, size_t err_size);

#endif
