/*
 * http.h: HTTP requests and responses as protocol code sees them.
 *
 * A request carries its method, path, the parameters its route template
 * captured, the query, every header, the cookies and the whole body (text or
 * binary). A response is a status, a content type, any number of headers
 * (Set-Cookie among them) and a body. The transport (server.c) fills the
 * one and writes the other; nothing here touches a socket.
 *
 * Path templates: "/api/v1/rooms/{room_id}/messages" matches
 * "/api/v1/rooms/42/messages" and captures room_id = "42". A parameter is
 * one non-empty path segment, percent-decoded. A template whose last segment
 * is a lone '*' matches that prefix and anything below it.
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "json.h"

#define SB_HTTP_MAX_HEADERS 64 /* request headers kept; more answer 431 */
#define SB_HTTP_MAX_PARAMS 8   /* {parameters} in one path template */

typedef struct sb_header {
    const char *name; /* lower case */
    const char *value;
} sb_header;

typedef struct sb_http_request {
    uint64_t id;            /* this request; a deferred answer is addressed to it */
    const char *method;     /* "GET", "POST", ... */
    const char *path;       /* without the query, as sent */
    const sb_query *params; /* the route template's {parameters}, decoded */
    const sb_query *query;  /* the query string, decoded */
    const sb_header *headers;
    size_t n_headers;
    const char *body; /* the whole body, NUL-terminated (binary bodies may hold NULs) */
    size_t body_len;
    const char *peer; /* client address */
    /* The transport's lookup of a header it does not list (an uncommon
     * name): used by sb_http_header. */
    const char *(*custom)(const struct sb_http_request *req, const char *name);
    void *transport;
} sb_http_request;

/* A WebSocket upgrade request, as a route's on_open and on_upgrade see it
 * (server.h). */
typedef struct sb_ws_request {
    const char *path;
    const sb_query *query;
    const char *authorization; /* the Authorization header, or NULL */
    const char *peer;          /* client address */
    const char *cookie;        /* the Cookie header (sb_cookie_find), or NULL */
    const char *origin;        /* the Origin header, or NULL */
    const char *host;          /* the Host header, or NULL */
} sb_ws_request;
/* A copy of req in one allocation (free() it), as sb_http_request_copy. */
sb_ws_request *sb_ws_request_copy(const sb_ws_request *req);

/* A copy of req in one allocation (free() it): its strings, headers, query,
 * parameters and body, for a handler that runs after the transport's call
 * returned (rt.c runs requests as jobs). The copy has no transport: its
 * `custom` and `transport` are NULL (the caller may set its own). NULL on
 * out of memory. */
sb_http_request *sb_http_request_copy(const sb_http_request *req);

/* A header's value (name case-insensitive), or NULL. The value of an
 * uncommon header (one the transport does not list) is valid until the next
 * such lookup. */
const char *sb_http_header(const sb_http_request *req, const char *name);
/* A cookie's value from the Cookie header(s): true and *out set when found
 * (out points into `store`, cap bytes, NUL-terminated); false otherwise. */
bool sb_http_cookie(const sb_http_request *req, const char *name, char *store, size_t cap);
/* The same in one Cookie header's value (a WebSocket upgrade's, server.h). */
bool sb_cookie_find(const char *header, const char *name, char *store, size_t cap);
/* The bearer token of "Authorization: Bearer TOKEN", or NULL. */
const char *sb_http_bearer(const sb_http_request *req);

typedef struct sb_http_response {
    int status;               /* default 200 */
    const char *content_type; /* default application/json; a static string */
    sb_buf headers;           /* "Name: value\r\n" lines, any number */
    sb_buf body;
} sb_http_response;

void sb_http_response_init(sb_http_response *r);
void sb_http_response_free(sb_http_response *r);
/* Add one header line. Names and values with CR or LF are refused (-1). */
int sb_http_add_header(sb_http_response *r, const char *name, const char *value);

typedef struct sb_cookie_opts {
    int max_age_s;         /* < 0: a session cookie (no Max-Age); 0: delete it */
    const char *path;      /* default "/" */
    const char *same_site; /* "Strict", "Lax" (default) or "None" */
    bool http_only;        /* default true (see sb_cookie_defaults) */
    bool secure;
} sb_cookie_opts;
sb_cookie_opts sb_cookie_defaults(void); /* HttpOnly, SameSite=Lax, Path=/, session */
/* Set-Cookie. The value must be a cookie-octet string (RFC 6265); -1 when not. */
int sb_http_set_cookie(sb_http_response *r, const char *name, const char *value,
                       const sb_cookie_opts *o);

/* Where an Origin stands in a --cors-origins list ("https://a, https://b",
 * "*" among them or alone; spaces around commas, any case): named in it,
 * let in by "*" only, or neither. */
typedef enum sb_origin_match { SB_ORIGIN_NO = 0, SB_ORIGIN_ANY, SB_ORIGIN_LISTED } sb_origin_match;
sb_origin_match sb_origin_in_list(const char *list, const char *origin);

/* Percent-decode src[0..n) into dst (cap bytes, NUL-terminated); '+' stays
 * '+'. -1 on a malformed escape or when it does not fit. */
int sb_url_decode(const char *src, size_t n, char *dst, size_t cap);

/* Match `path` against a template; captured parameters go to *params, their
 * text into store (cap bytes). True on a match. */
bool sb_path_match(const char *tmpl, const char *path, sb_query *params, char *store, size_t cap);
/* A template is well formed: starts with '/', {name} segments whole and
 * distinct identifiers, at most SB_HTTP_MAX_PARAMS, '*' only as the whole last segment.
 * Returns NULL, or what is wrong. */
const char *sb_path_template_error(const char *tmpl);

const char *sb_http_status_text(int status);

/* For the generated route adapters (generated/c/<channel>_routes.c) ------ */

/* An endpoint's declared errors as a bit mask of their codes (1..63). */
#define SB_HTTP_ERROR_BIT(code) ((uint64_t)1 << (code))
static inline bool sb_http_declared(uint64_t mask, int code)
{
    return code > 0 && code < 64 && ((mask >> code) & 1);
}

/* A channel's errors: their table (codes 1..count) and how its error body is
 * written (the generated, typed part: text and name into the body struct). */
typedef struct sb_http_errors {
    const char *channel;
    const sb_error_def *defs;
    int count;
    void (*write)(sb_buf *b, void *err, sb_str text, sb_str name);
    size_t body_size; /* sizeof the channel's error body struct */
} sb_http_errors;

/* The body of an error the transport answers itself on a channel's route
 * (400, 405, 411, 413, 415) in the channel's error shape: text `message`,
 * name from the status (BAD_REQUEST, METHOD_NOT_ALLOWED, LENGTH_REQUIRED,
 * PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE). -1 when out of memory. */
int sb_http_transport_error(sb_buf *b, const sb_http_errors *e, int status, const char *message);

/* Start an answer: status, JSON, an empty body. */
void sb_http_start(sb_http_response *r, int status);
/* Answer error `code` with its status: its text followed by detail (the
 * parser's "PATH: REASON", or ""). err is the channel's zeroed body struct,
 * where a handler may have set extra fields. Returns 0 (SB_HTTP_ANSWERED). */
int sb_http_answer_error(sb_http_response *r, const sb_http_errors *e, int code, void *err,
                         const char *detail);
/* A handler returned what its endpoint does not declare: its bug. 500,
 * "Internal server error" (name INTERNAL_ERROR), and an error log line. */
int sb_http_answer_bug(sb_http_response *r, const sb_http_errors *e, void *err,
                       const char *endpoint, int rc);

#endif
