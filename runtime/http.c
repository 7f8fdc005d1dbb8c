/*
 * http.c: HTTP requests and responses, without sockets (http.h): headers,
 * cookies, percent-decoding and path templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"

const char *sb_http_header(const sb_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return req->custom ? req->custom(req, name) : NULL;
}

/* sb_http_request_copy's allocation: the request first (what the caller
 * frees), then what it points to. */
typedef struct request_copy {
    sb_http_request req;
    sb_query params, query;
    sb_header headers[];
} request_copy;

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *str_put(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *out = memcpy(*at, s, n);
    *at += n;
    return out;
}

static size_t query_size(const sb_query *q)
{
    size_t n = 0;
    for (size_t i = 0; q && i < q->count; i++)
        n += str_size(q->item[i].key) + str_size(q->item[i].value);
    return n;
}

static void query_put(sb_query *dst, const sb_query *src, char **at)
{
    dst->count = src ? src->count : 0;
    for (size_t i = 0; i < dst->count; i++) {
        dst->item[i].key = str_put(at, src->item[i].key);
        dst->item[i].value = str_put(at, src->item[i].value);
    }
}

sb_http_request *sb_http_request_copy(const sb_http_request *req)
{
    size_t nh = req->n_headers;
    size_t bytes = str_size(req->method) + str_size(req->path) + str_size(req->peer) +
                   query_size(req->params) + query_size(req->query) + req->body_len + 1;
    for (size_t i = 0; i < nh; i++)
        bytes += str_size(req->headers[i].name) + str_size(req->headers[i].value);
    request_copy *c = malloc(sizeof *c + nh * sizeof c->headers[0] + bytes);
    if (!c)
        return NULL;
    char *at = (char *)(c->headers + nh);
    c->req = *req;
    c->req.method = str_put(&at, req->method);
    c->req.path = str_put(&at, req->path);
    c->req.peer = str_put(&at, req->peer);
    query_put(&c->params, req->params, &at);
    query_put(&c->query, req->query, &at);
    c->req.params = &c->params;
    c->req.query = &c->query;
    for (size_t i = 0; i < nh; i++) {
        c->headers[i].name = str_put(&at, req->headers[i].name);
        c->headers[i].value = str_put(&at, req->headers[i].value);
    }
    c->req.headers = c->headers;
    if (req->body_len)
        memcpy(at, req->body, req->body_len);
    at[req->body_len] = '\0';
    c->req.body = at;
    c->req.custom = NULL;
    c->req.transport = NULL;
    return &c->req;
}

typedef struct ws_request_copy {
    sb_ws_request req;
    sb_query query;
    char strings[];
} ws_request_copy;

sb_ws_request *sb_ws_request_copy(const sb_ws_request *req)
{
    size_t bytes = str_size(req->path) + str_size(req->authorization) + str_size(req->peer) +
                   str_size(req->cookie) + str_size(req->origin) + str_size(req->host) +
                   query_size(req->query);
    ws_request_copy *c = malloc(sizeof *c + bytes);
    if (!c)
        return NULL;
    char *at = c->strings;
    c->req = (sb_ws_request){.path = str_put(&at, req->path),
                             .query = &c->query,
                             .authorization = str_put(&at, req->authorization),
                             .peer = str_put(&at, req->peer),
                             .cookie = str_put(&at, req->cookie),
                             .origin = str_put(&at, req->origin),
                             .host = str_put(&at, req->host)};
    query_put(&c->query, req->query, &at);
    return &c->req;
}

const char *sb_http_bearer(const sb_http_request *req)
{
    const char *a = sb_http_header(req, "authorization");
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    return *a ? a : NULL;
}

/* Cookie: a=1; b=2 (RFC 6265, 5.4). Several Cookie headers are searched in
 * order; the first pair with the name wins. */
sb_origin_match sb_origin_in_list(const char *list, const char *origin)
{
    size_t n = strlen(origin);
    bool any = false;
    while (*list) {
        const char *end = strchr(list, ',');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        while (len && *list == ' ')
            list++, len--;
        while (len && list[len - 1] == ' ')
            len--;
        if (len == n && strncasecmp(list, origin, n) == 0)
            return SB_ORIGIN_LISTED;
        any |= len == 1 && *list == '*';
        if (!end)
            break;
        list = end + 1;
    }
    return any ? SB_ORIGIN_ANY : SB_ORIGIN_NO;
}

bool sb_cookie_find(const char *header, const char *name, char *store, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *eq = strchr(p, '=');
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
            const char *v = eq + 1, *ve = end;
            while (ve > v && ve[-1] == ' ')
                ve--;
            if (ve - v >= 2 && *v == '"' && ve[-1] == '"') { /* quoted value */
                v++;
                ve--;
            }
            if ((size_t)(ve - v) >= cap)
                return false;
            memcpy(store, v, (size_t)(ve - v));
            store[ve - v] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

bool sb_http_cookie(const sb_http_request *req, const char *name, char *store, size_t cap)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, "cookie") == 0 &&
            sb_cookie_find(req->headers[i].value, name, store, cap))
            return true;
    return false;
}

void sb_http_response_init(sb_http_response *r)
{
    r->status = 200;
    r->content_type = "application/json";
    sb_buf_init(&r->headers);
    sb_buf_init(&r->body);
}

void sb_http_response_free(sb_http_response *r)
{
    sb_buf_free(&r->headers);
    sb_buf_free(&r->body);
}

static bool header_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

int sb_http_add_header(sb_http_response *r, const char *name, const char *value)
{
    if (!*name || !header_safe(name) || !header_safe(value) || strchr(name, ':'))
        return -1;
    sb_buf_put(&r->headers, name, strlen(name));
    SB_BUF_PUT_LIT(&r->headers, ": ");
    sb_buf_put(&r->headers, value, strlen(value));
    SB_BUF_PUT_LIT(&r->headers, "\r\n");
    return r->headers.oom ? -1 : 0;
}

sb_cookie_opts sb_cookie_defaults(void)
{
    return (sb_cookie_opts){.max_age_s = -1, .path = "/", .same_site = "Lax", .http_only = true};
}

/* cookie-octet (RFC 6265, 4.1.1): printable ASCII but space " , ; \ */
static bool cookie_octets(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return false;
    }
    return true;
}

static bool token_chars(const char *s) /* a cookie name: an RFC 7230 token */
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
            return false;
    }
    return true;
}

int sb_http_set_cookie(sb_http_response *r, const char *name, const char *value,
                       const sb_cookie_opts *o)
{
    sb_cookie_opts d = sb_cookie_defaults();
    if (!o)
        o = &d;
    const char *path = o->path ? o->path : "/";
    const char *same = o->same_site ? o->same_site : "Lax";
    if (!token_chars(name) || !cookie_octets(value) || !header_safe(path) || strchr(path, ';') ||
        (strcmp(same, "Strict") && strcmp(same, "Lax") && strcmp(same, "None")))
        return -1;
    char line[1024];
    int n = snprintf(line, sizeof line, "%s=%s; Path=%s", name, value, path);
    /* A long value or path: the next snprintf would start past the end of
     * line with a size that wrapped round, writing over the stack (caught
     * by tests/unit/test_http.c, test_set_cookie, under ASan). */
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    if (o->max_age_s >= 0)
        n += snprintf(line + n, sizeof line - (size_t)n, "; Max-Age=%d", o->max_age_s);
    if ((size_t)n >= sizeof line) /* and after each part */
        return -1;
    n += snprintf(line + n, sizeof line - (size_t)n, "; SameSite=%s%s%s", same,
                  o->http_only ? "; HttpOnly" : "",
                  o->secure || strcmp(same, "None") == 0 ? "; Secure" : "");
    if (n <= 0 || (size_t)n >= sizeof line)
        return -1;
    return sb_http_add_header(r, "Set-Cookie", line);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sb_url_decode(const char *src, size_t n, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval(src[i + 1]), b = hexval(src[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = c;
    }
    if (o >= cap)
        return -1;
    dst[o] = '\0';
    return (int)o;
}

static bool ident(const char *p, size_t n)
{
    if (!n || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
            return false;
    return true;
}

const char *sb_path_template_error(const char *tmpl)
{
    if (!tmpl || tmpl[0] != '/')
        return "must start with '/'";
    const char *names[SB_HTTP_MAX_PARAMS];
    size_t lens[SB_HTTP_MAX_PARAMS], count = 0;
    for (const char *seg = tmpl + 1;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 1 && seg[0] == '*' && !end)
            return NULL; /* a '*' segment at the end */
        if (memchr(seg, '*', n))
            return "'*' only as the whole last segment";
        if (memchr(seg, '{', n) || memchr(seg, '}', n)) {
            if (n < 3 || seg[0] != '{' || seg[n - 1] != '}' || !ident(seg + 1, n - 2))
                return "a {parameter} must be a whole segment naming an identifier";
            if (count == SB_HTTP_MAX_PARAMS)
                return "too many {parameters}";
            for (size_t i = 0; i < count; i++)
                if (lens[i] == n - 2 && memcmp(names[i], seg + 1, n - 2) == 0)
                    return "a {parameter} appears twice";
            names[count] = seg + 1;
            lens[count++] = n - 2;
        } else if (n == 0 && end) {
            return "empty segment";
        }
        if (memchr(seg, '?', n) || memchr(seg, '#', n) || memchr(seg, '%', n))
            return "'?', '#' and '%' do not belong in a template";
        if (!end)
            return NULL;
        seg = end + 1;
    }
}

bool sb_path_match(const char *tmpl, const char *path, sb_query *params, char *store, size_t cap)
{
    size_t used = 0;
    params->count = 0;
    const char *t = tmpl, *p = path;
    while (*t) {
        if (t[0] == '*' && t[1] == '\0')
            return true; /* the rest, whatever it is */
        if (*t == '{') {
            const char *te = strchr(t, '}');
            const char *pe = p;
            while (*pe && *pe != '/')
                pe++;
            if (pe == p || !te || params->count == SB_QUERY_MAX)
                return false;
            size_t kn = (size_t)(te - t - 1);
            if (used + kn + 1 > cap)
                return false;
            char *key = store + used;
            memcpy(key, t + 1, kn);
            key[kn] = '\0';
            used += kn + 1;
            int vn = sb_url_decode(p, (size_t)(pe - p), store + used, cap - used);
            if (vn < 0)
                return false;
            params->item[params->count].key = key;
            params->item[params->count].value = store + used;
            params->count++;
            used += (size_t)vn + 1;
            t = te + 1;
            p = pe;
            continue;
        }
        if (*t != *p)
            return false;
        t++;
        p++;
    }
    return *p == '\0';
}

const char *sb_http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

void sb_http_start(sb_http_response *r, int status)
{
    r->status = status;
    r->content_type = "application/json";
    sb_buf_reset(&r->body);
}

int sb_http_answer_bug(sb_http_response *r, const sb_http_errors *e, void *err,
                       const char *endpoint, int rc)
{
    sb_log(SB_LOG_ERROR, "http_handler_bug", "channel=%s endpoint=%s rc=%d", e->channel, endpoint,
           rc);
    sb_http_start(r, 500);
    e->write(&r->body, err, SB_STR_LIT("Internal server error"), SB_STR_LIT("INTERNAL_ERROR"));
    return 0;
}

int sb_http_transport_error(sb_buf *b, const sb_http_errors *e, int status, const char *message)
{
    const char *name = status == 405   ? "METHOD_NOT_ALLOWED"
                       : status == 411 ? "LENGTH_REQUIRED"
                       : status == 413 ? "PAYLOAD_TOO_LARGE"
                       : status == 415 ? "UNSUPPORTED_MEDIA_TYPE"
                       : status == 404 ? "NOT_FOUND"
                                       : "BAD_REQUEST";
    void *err = calloc(1, e->body_size ? e->body_size : 1);
    if (!err)
        return -1;
    e->write(b, err, (sb_str){message, strlen(message)}, (sb_str){name, strlen(name)});
    free(err);
    return b->oom ? -1 : 0;
}

int sb_http_answer_error(sb_http_response *r, const sb_http_errors *e, int code, void *err,
                         const char *detail)
{
    if (code < 1 || code > e->count)
        return sb_http_answer_bug(r, e, err, "(error code)", code);
    const sb_error_def *d = &e->defs[code];
    char text[1024 + SB_ERR_MSG_MAX];
    int n = snprintf(text, sizeof text, "%s%s", d->text, detail ? detail : "");
    size_t len = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    sb_http_start(r, d->status);
    e->write(&r->body, err, (sb_str){text, len}, (sb_str){d->name, strlen(d->name)});
    return 0;
}
