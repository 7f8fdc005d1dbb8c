/*
 * server_http.c: HTTP/1.1 requests on the lws connection (server.h).
 *
 * A request becomes an sb_conn of kind CONN_HTTP with an ID when its headers
 * have arrived, and lives until its answer has been written. In between:
 *
 *   headers   route by method and path template: 404, or 405 with Allow;
 *             CORS preflight (OPTIONS) answered here; a body must have a
 *             Content-Length (411) within the route's limit (413), an
 *             accepted Content-Type (415), and no Transfer-Encoding (400);
 *   body      read whole (HTTP_BODY), then
 *   dispatch  the route's on_request, with headers, cookies, the query and
 *             the template's parameters;
 *   answer    sb_server_http_respond(), now or later (after the turn's
 *             commit, or when a long poll is completed): the whole answer is
 *             built at once and written from HTTP_WRITEABLE.
 *
 * A client that leaves before its answer (CLOSED_HTTP) aborts the request:
 * the route's on_abort learns its ID.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "server_int.h"

#define HEADER_STORE 8192 /* request header bytes kept for the handler (lws allows 4096) */

void sb_read_query(struct lws *wsi, sb_query *q, char *store, size_t store_size)
{
    size_t used = 0;
    q->count = 0;
    for (int i = 0; q->count < sizeof q->item / sizeof q->item[0]; i++) {
        if (used >= store_size)
            break;
        int n = lws_hdr_copy_fragment(wsi, store + used, (int)(store_size - used),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        char *kv = store + used;
        used += (size_t)n + 1;
        char *eq = strchr(kv, '=');
        q->item[q->count].key = kv;
        q->item[q->count].value = eq ? (*eq = '\0', eq + 1) : kv + n;
        q->count++;
    }
}

static const char *http_method(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes token;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},     {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_PUT_URI, "PUT"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
        {WSI_TOKEN_PATCH_URI, "PATCH"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].token))
            return methods[i].name;
    return "?";
}

static bool has_body(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
}

/* CORS ------------------------------------------------------------------- */

/* The request's Origin when --cors-origins names it, "*" when the list
 * has "*" (and not it), else NULL. */
static const char *cors_origin(sb_server *s, struct lws *wsi, char *buf, size_t cap)
{
    if (!s->cfg.cors_origins[0] || lws_hdr_copy(wsi, buf, (int)cap, WSI_TOKEN_ORIGIN) <= 0)
        return NULL;
    switch (sb_origin_in_list(s->cfg.cors_origins, buf)) {
    case SB_ORIGIN_LISTED:
        return buf;
    case SB_ORIGIN_ANY:
        return "*";
    default:
        return NULL;
    }
}

/* An origin named in --cors-origins gets itself back, with credentials
 * (session cookies); "*" gets "*" and no credentials: a wildcard that also
 * let any site send the user's cookies would undo the same-origin policy. */
static void cors_headers(char *out, size_t cap, const char *origin)
{
    if (origin && strcmp(origin, "*") == 0)
        snprintf(out, cap, "Access-Control-Allow-Origin: *\r\n");
    else if (origin)
        snprintf(out, cap,
                 "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\n"
                 "Vary: Origin\r\n",
                 origin);
    else
        out[0] = '\0';
}

/* Writing answers -------------------------------------------------------- */

/* Build the whole answer into c->reply (after LWS_PRE). */
static bool has_header(const char *headers, size_t len, const char *line)
{
    size_t n = strlen(line);
    for (size_t i = 0; i + n <= len; i++)
        if ((i == 0 || headers[i - 1] == '\n') && strncasecmp(headers + i, line, n) == 0)
            return true;
    return false;
}

/* The request's Connection header names "close". */
static bool client_closes(struct lws *wsi)
{
    char v[128];
    if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_CONNECTION) <= 0)
        return false;
    for (char *p = v; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (char *t = strtok(v, ", \t"); t; t = strtok(NULL, ", \t"))
        if (strcmp(t, "close") == 0)
            return true;
    return false;
}

static int build_reply(sb_conn *c, int status, const char *type, const char *headers,
                       size_t headers_len, const char *body, size_t len)
{
    char origin[256], cors[512];
    cors_headers(cors, sizeof cors, cors_origin(c->srv, c->wsi, origin, sizeof origin));
    /* RFC 9112 9.6: a client that sent "Connection: close" gets it back, so
     * that it does not reuse the connection lws is about to close (node's
     * keep-alive agent did, and lost its next request) */
    if (client_closes(c->wsi) && !has_header(headers, headers_len, "Connection: close"))
        strncat(cors, "Connection: close\r\n", sizeof cors - strlen(cors) - 1);
    size_t cap = LWS_PRE + 512 + strlen(cors) + headers_len + len;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return -1;
    char *start = (char *)buf + LWS_PRE;
    /* no-store unless the handler says otherwise (static files revalidate);
     * a 304 has no Content-Length (RFC 9110 8.6) */
    bool own_cache = has_header(headers, headers_len, "Cache-Control:");
    char length[48] = "";
    if (status != 304)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", len);
    int h = snprintf(start, cap - LWS_PRE, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s%s%s", status,
                     sb_http_status_text(status), type, length,
                     own_cache ? "" : "Cache-Control: no-store\r\n", cors);
    size_t at = (size_t)h;
    memcpy(start + at, headers, headers_len);
    at += headers_len;
    memcpy(start + at, "\r\n", 2);
    at += 2;
    if (!c->head_only) {
        memcpy(start + at, body, len);
        at += len;
    }
    free(c->reply);
    c->reply = buf;
    c->reply_len = at;
    return 0;
}

/* The request is over: forget it, and let lws go on with the connection
 * (keep-alive) or close it. Returns what the lws callback must return. */
static int finish(struct lws *wsi, session *ss)
{
    sb_conn *c = ss->conn;
    ss->conn = NULL;
    free(ss->body);
    ss->body = NULL;
    ss->body_len = ss->body_cap = 0;
    free(ss->path);
    ss->path = NULL;
    ss->empty_body = false;
    if (c)
        sb_conn_free(c);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int sb_http_on_writeable(struct lws *wsi, session *ss)
{
    sb_conn *c = ss ? ss->conn : NULL;
    if (!c || !c->reply)
        return 0;
    int n = lws_write(wsi, c->reply + LWS_PRE, c->reply_len, LWS_WRITE_HTTP_FINAL);
    if (n < (int)c->reply_len)
        return -1;
    return finish(wsi, ss);
}

static void write_error_body(sb_server *s, sb_buf *body, const char *message)
{
    if (s->error_writer)
        s->error_writer(body, message);
    else
        sb_buf_put(body, message, strlen(message));
}

/* Answer from inside the request's own callback: at once, without waiting
 * for a WRITEABLE. For the transport's own errors and the preflight. */
static int answer_now(struct lws *wsi, session *ss, sb_conn *c, int status, const char *type,
                      const char *headers, const char *body, size_t len)
{
    sb_server *s = lws_context_user(lws_get_context(wsi));
    sb_conn tmp = {.wsi = wsi, .srv = s, .kind = CONN_HTTP};
    sb_conn *target = c ? c : &tmp;
    if (build_reply(target, status, type, headers, strlen(headers), body, len) != 0)
        return -1;
    int n = lws_write(wsi, target->reply + LWS_PRE, target->reply_len, LWS_WRITE_HTTP_FINAL);
    bool ok = n >= (int)target->reply_len;
    if (!c)
        free(tmp.reply);
    if (!ok)
        return -1;
    if (ss)
        return finish(wsi, ss);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The transport's own error, in the route's channel shape when it has one
 * (route may be NULL), else with the server's error writer. */
static int route_error_now(struct lws *wsi, session *ss, const sb_http_route *route, int status,
                           const char *headers, const char *message)
{
    sb_server *s = lws_context_user(lws_get_context(wsi));
    sb_buf body;
    sb_buf_init(&body);
    bool json = s->error_writer != NULL;
    if (route && route->errors &&
        sb_http_transport_error(&body, route->errors, status, message) == 0)
        json = true;
    else {
        sb_buf_reset(&body);
        write_error_body(s, &body, message);
    }
    int rc =
        answer_now(wsi, ss, ss ? ss->conn : NULL, status, json ? "application/json" : "text/plain",
                   headers, body.data ? body.data : "", body.oom ? 0 : body.len);
    sb_buf_free(&body);
    return rc;
}

static int error_now(struct lws *wsi, session *ss, int status, const char *headers,
                     const char *message)
{
    return route_error_now(wsi, ss, NULL, status, headers, message);
}

int sb_http_answer_now(struct lws *wsi, const sb_http_response *resp)
{
    char headers[1024];
    size_t hl = resp->headers.len < sizeof headers - 1 ? resp->headers.len : 0;
    if (hl)
        memcpy(headers, resp->headers.data, hl);
    headers[hl] = '\0';
    return answer_now(wsi, NULL, NULL, resp->status,
                      resp->content_type ? resp->content_type : "application/json", headers,
                      resp->body.data ? resp->body.data : "", resp->body.len);
}

int sb_http_error_now(struct lws *wsi, int status, const char *message)
{
    return error_now(wsi, NULL, status, "", message);
}

int sb_http_error_headers_now(struct lws *wsi, int status, const char *headers, const char *message)
{
    return error_now(wsi, NULL, status, headers, message);
}

int sb_http_refuse_now(struct lws *wsi, int status, const char *message)
{
    sb_server *s = lws_context_user(lws_get_context(wsi));
    sb_buf body;
    sb_buf_init(&body);
    write_error_body(s, &body, message);
    static const char close[] = "Connection: close\r\n";
    sb_conn tmp = {.wsi = wsi, .srv = s, .kind = CONN_HTTP};
    if (build_reply(&tmp, status, s->error_writer ? "application/json" : "text/plain", close,
                    sizeof close - 1, body.data ? body.data : "", body.oom ? 0 : body.len) == 0)
        lws_write(wsi, tmp.reply + LWS_PRE, tmp.reply_len, LWS_WRITE_HTTP_FINAL);
    free(tmp.reply);
    sb_buf_free(&body);
    return -1;
}

/* RFC 9112 3: the request line. lws takes any version (none, HTTP/9.9) as
 * HTTP/1.0 and passes control bytes in the path through. */
const char *sb_http_request_line_error(struct lws *wsi, const char *path)
{
    char version[16];
    int n = lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_HTTP);
    if (n <= 0)
        return "no HTTP version in the request line";
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0)
        return "unsupported HTTP version";
    for (const unsigned char *p = (const unsigned char *)path; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "control character in the path";
    return NULL;
}

int sb_server_http_respond(sb_server *s, uint64_t id, const sb_http_response *resp)
{
    sb_conn *c = sb_conn_find(s, id);
    if (!c || c->kind != CONN_HTTP || c->answered)
        return -1;
    c->answered = true;
    const char *type = resp->content_type ? resp->content_type : "application/json";
    int rc;
    if (resp->body.oom || resp->headers.oom) {
        sb_buf body;
        sb_buf_init(&body);
        write_error_body(s, &body, "out of memory");
        rc = build_reply(c, 503, "application/json", "", 0, body.data ? body.data : "",
                         body.oom ? 0 : body.len);
        sb_buf_free(&body);
    } else {
        rc = build_reply(c, resp->status ? resp->status : 200, type,
                         resp->headers.data ? resp->headers.data : "", resp->headers.len,
                         resp->body.data ? resp->body.data : "", resp->body.len);
    }
    sb_counter_add(s->m_http, 1);
    if (c->gone_ev) { /* deferred: reading resumes for the next request (keep-alive) */
        event_free(c->gone_ev);
        c->gone_ev = NULL;
        lws_rx_flow_control(c->wsi, 1);
    }
    lws_callback_on_writable(c->wsi); /* written from HTTP_WRITEABLE, or dropped */
    return rc;
}

/* Routing ---------------------------------------------------------------- */

/* lws hands us the path percent-decoded already ("/items/50%2541" arrives
 * as "/items/50%41"), and sb_path_match decodes the parameters: a '%' in
 * the decoded path was decoded a second time ("50A"), or refused as a
 * malformed escape ("50%" answered 404). Its '%' are escaped back first
 * (caught by tests/runtime/03_http.test.mjs, "path parameters"). */
static bool path_match(const char *tmpl, const char *path, sb_query *params, char *store,
                       size_t cap)
{
    if (!strchr(path, '%'))
        return sb_path_match(tmpl, path, params, store, cap);
    size_t n = strlen(path), o = 0;
    char *esc = malloc(3 * n + 1);
    if (!esc)
        return false;
    for (size_t i = 0; i < n; i++) {
        esc[o++] = path[i];
        if (path[i] == '%') {
            esc[o++] = '2';
            esc[o++] = '5';
        }
    }
    esc[o] = '\0';
    bool ok = sb_path_match(tmpl, esc, params, store, cap);
    free(esc);
    return ok;
}

/* The route for method and path; or NULL, with the methods the path has
 * (for Allow) in allow. */
static const sb_http_route *route_find(sb_server *s, const char *method, const char *path,
                                       sb_query *params, char *store, size_t cap, char *allow,
                                       size_t allow_cap, const sb_http_route **other)
{
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    allow[0] = '\0';
    size_t used = 0;
    const sb_http_route *found = NULL;
    if (other)
        *other = NULL;
    for (size_t i = 0; i < s->n_http; i++) {
        const sb_http_route *r = s->http_routes[i];
        sb_query scratch;
        if (!path_match(r->path, path, found ? &scratch : params, store, cap))
            continue;
        if (!found && strcmp(r->method, want) == 0) {
            found = r;
            continue;
        }
        if (other && !*other)
            *other = r; /* a route of the path under another method */
        int n = snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "", r->method);
        if (n > 0 && (size_t)n < allow_cap - used)
            used += (size_t)n;
        if (!strcmp(r->method, "GET")) {
            n = snprintf(allow + used, allow_cap - used, ", HEAD");
            if (n > 0 && (size_t)n < allow_cap - used)
                used += (size_t)n;
        }
    }
    if (!found && used) {
        int n = snprintf(allow + used, allow_cap - used, ", OPTIONS");
        (void)n;
    }
    return found;
}

/* OPTIONS: a CORS preflight, or a plain question about the methods. */
static int options(struct lws *wsi, session *ss, sb_server *s, const char *path)
{
    char store[1024], allow[256], origin[256], reqh[512], headers[2048];
    sb_query params;
    const sb_http_route *r =
        route_find(s, "OPTIONS", path, &params, store, sizeof store, allow, sizeof allow, NULL);
    if (r) /* an OPTIONS route of its own */
        return -2;
    if (!allow[0])
        return error_now(wsi, ss, 404, "", "not found");
    const char *o = cors_origin(s, wsi, origin, sizeof origin);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) && !o)
        return error_now(wsi, ss, 403, "", "origin not allowed");
    if (lws_hdr_copy(wsi, reqh, sizeof reqh, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS) <= 0)
        snprintf(reqh, sizeof reqh, "Content-Type, Authorization");
    if (o)
        snprintf(headers, sizeof headers,
                 "Allow: %s\r\nAccess-Control-Allow-Methods: %s\r\n"
                 "Access-Control-Allow-Headers: %s\r\nAccess-Control-Max-Age: 600\r\n",
                 allow, allow, reqh);
    else
        snprintf(headers, sizeof headers, "Allow: %s\r\n", allow);
    return answer_now(wsi, ss, ss->conn, 204, "text/plain", headers, "", 0);
}

static bool type_accepted(const sb_http_route *r, const char *type)
{
    static const char *const json[] = {"application/json", NULL};
    const char *const *list = r->content_types ? r->content_types : json;
    size_t n = strcspn(type, ";");
    while (n && type[n - 1] == ' ')
        n--;
    for (; *list; list++)
        if (strcmp(*list, "*") == 0 || (strlen(*list) == n && strncasecmp(*list, type, n) == 0))
            return true;
    return false;
}

/* A deferred request's client hung up: close the wsi, so that CLOSED_HTTP
 * aborts the request (on_abort). */
static void client_gone(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_conn *c = arg;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* While a request is deferred, lws 4.1 does not read its socket: a client
 * that hung up (or sent more) left it readable for ever, and the loop spun
 * on it at the default priority, so that the end of the turn (the lowest)
 * never ran again and no other request was answered (caught by
 * tests/runtime/03_http.test.mjs, "an aborted long poll"). So reading stops
 * until the answer (sb_server_http_respond), and the hang-up is watched for
 * here (EV_CLOSED: EPOLLRDHUP). */
static void hold_deferred(sb_server *s, sb_conn *c, struct lws *wsi)
{
    c->gone_ev = event_new(s->base, lws_get_socket_fd(wsi), EV_CLOSED, client_gone, c);
    if (c->gone_ev)
        event_add(c->gone_ev, NULL);
    lws_rx_flow_control(wsi, 0);
}

/* Headers -> the request as handlers see it, then the route. */
static const char *custom_header(const sb_http_request *req, const char *name);

static void dispatch(struct lws *wsi, sb_server *s, session *ss, const char *path)
{
    sb_conn *c = ss->conn;
    char qstore[2048], pstore[1024], peer[64];
    char *hstore = malloc(HEADER_STORE);
    sb_header headers[SB_HTTP_MAX_HEADERS];
    size_t nh = 0, used = 0;
    sb_query query, params;
    sb_read_query(wsi, &query, qstore, sizeof qstore);
    path_match(c->http_route->path, path, &params, pstore, sizeof pstore);
    for (int t = 0; hstore && t < _WSI_TOKEN_CLIENT_SENT_PROTOCOLS && nh < SB_HTTP_MAX_HEADERS;
         t++) {
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
        size_t nl = name ? strlen(name) : 0;
        if (!len || nl < 2 || name[nl - 1] != ':' || name[0] == ':')
            continue; /* absent, or a request line token ("get ") */
        if (used + nl + (size_t)len + 2 > HEADER_STORE)
            break;
        char *n = hstore + used;
        memcpy(n, name, nl - 1);
        n[nl - 1] = '\0';
        used += nl;
        if (t == WSI_TOKEN_HTTP_COOKIE) {
            /* Several Cookie headers: lws_hdr_copy ran them together without
             * a ';' ("a=1" and "b=2" read as cookie a = "1  b=2"). One
             * sb_header each, as sb_http_cookie expects (caught by
             * tests/runtime/03_http.test.mjs, "several Cookie headers"). */
            for (int f = 0; nh < SB_HTTP_MAX_HEADERS; f++) {
                char *v = hstore + used;
                int got = lws_hdr_copy_fragment(wsi, v, (int)(HEADER_STORE - used),
                                                WSI_TOKEN_HTTP_COOKIE, f);
                if (got < 0)
                    break;
                used += (size_t)got + 1;
                headers[nh++] = (sb_header){n, v};
            }
            continue;
        }
        char *v = hstore + used;
        int got = lws_hdr_copy(wsi, v, (int)(HEADER_STORE - used), (enum lws_token_indexes)t);
        if (got < 0)
            continue;
        used += (size_t)got + 1;
        headers[nh++] = (sb_header){n, v};
    }
    lws_get_peer_simple(wsi, peer, sizeof peer);
    sb_http_request req = {.id = c->id,
                           .method = ss->method,
                           .path = path,
                           .params = &params,
                           .query = &query,
                           .headers = headers,
                           .n_headers = nh,
                           .body = ss->body ? ss->body : "",
                           .body_len = ss->body_len,
                           .peer = peer,
                           .custom = custom_header,
                           .transport = wsi};
    c->http_route->on_request(c, &req, c->http_route->arg);
    /* after it: req.path is ss->path when a body came (sb_http_on_body_done);
     * freed before, a handler or a copy of the request read freed memory
     * (caught by AddressSanitizer with requests copied as jobs, rt.c) */
    free(ss->path);
    ss->path = NULL;
    free(hstore);
    /* A deferred request waits for our answer, not for lws' timeouts. */
    if (!c->answered) {
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        hold_deferred(s, c, wsi);
    }
}

static const char *custom_header(const sb_http_request *req, const char *name)
{
    struct lws *wsi = req->transport;
    sb_server *s = lws_context_user(lws_get_context(wsi));
    char key[128];
    int kn = snprintf(key, sizeof key, "%s:", name);
    if (kn <= 1 || (size_t)kn >= sizeof key)
        return NULL;
    for (int i = 0; i < kn; i++)
        key[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
    if (lws_hdr_custom_length(wsi, key, kn) < 0 ||
        lws_hdr_custom_copy(wsi, s->custom_header, sizeof s->custom_header, key, kn) < 0)
        return NULL;
    return s->custom_header;
}

int sb_http_on_request(struct lws *wsi, sb_server *s, session *ss, const char *path)
{
    const char *bad = sb_http_request_line_error(wsi, path);
    if (bad)
        return sb_http_refuse_now(wsi, 400, bad);
    const char *method = http_method(wsi);
    snprintf(ss->method, sizeof ss->method, "%s", method);
    sb_peers_settled(s->peers, (uint64_t)(uintptr_t)wsi); /* a whole request head came */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
        /* Chunked bodies are not accepted, and Transfer-Encoding beside a
         * Content-Length is how requests are smuggled past a proxy. Where
         * the body ends is unknown: the connection is closed, not kept
         * alive (lws would discard Content-Length bytes and serve what
         * follows as the next request). */
        return sb_http_refuse_now(
            wsi, 400,
            lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH)
                ? "Content-Length with Transfer-Encoding"
                : "Transfer-Encoding is not supported: send a Content-Length");
    }
    ss->conn = sb_conn_new(s, wsi, NULL, CONN_HTTP);
    if (!ss->conn)
        return -1;
    ss->conn->ss = ss;
    ss->conn->head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "OPTIONS") == 0) {
        int rc = options(wsi, ss, s, path);
        if (rc != -2)
            return rc;
    }
    char store[1024], allow[256];
    sb_query params;
    const sb_http_route *other;
    const sb_http_route *r =
        route_find(s, method, path, &params, store, sizeof store, allow, sizeof allow, &other);
    if (!r) {
        if (!allow[0])
            return error_now(wsi, ss, 404, "", "not found");
        char h[300];
        snprintf(h, sizeof h, "Allow: %s\r\n", allow);
        return route_error_now(wsi, ss, other, 405, h, "method not allowed");
    }
    ss->conn->http_route = r;
    char cl[32];
    bool length = lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
    if (!has_body(method) && !length) {
        dispatch(wsi, s, ss, path);
        return 0;
    }
    /* A body follows. Its length must be known, within the limit, and its
     * type one the route reads. */
    if (!length)
        return route_error_now(wsi, ss, r, 411, "", "Content-Length required");
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    if (*end || cl[0] < '0' || cl[0] > '9') { /* lws took a prefix of it: close */
        sb_conn_free(ss->conn);
        ss->conn = NULL;
        return sb_http_refuse_now(wsi, 400, "bad Content-Length");
    }
    size_t max = r->max_body ? r->max_body : s->cfg.max_http_body;
    if (n > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "body over the size limit of %zu bytes", max);
        return route_error_now(wsi, ss, r, 413, "Connection: close\r\n", msg);
    }
    if (n > 0) {
        char type[128] = "";
        lws_hdr_copy(wsi, type, sizeof type, WSI_TOKEN_HTTP_CONTENT_TYPE);
        if (!type_accepted(r, type))
            return route_error_now(wsi, ss, r, 415, "Connection: close\r\n",
                                   type[0] ? "unsupported Content-Type" : "Content-Type required");
    }
    if (n == 0) {
        ss->empty_body = true;
        dispatch(wsi, s, ss, path);
        return 0;
    }
    if (r->on_body) {
        char qstore[2048], peer[64];
        sb_query query;
        sb_read_query(wsi, &query, qstore, sizeof qstore);
        lws_get_peer_simple(wsi, peer, sizeof peer);
        sb_http_request head = {
            .id = ss->conn->id, .method = method, .path = path, .query = &query, .peer = peer};
        sb_http_response refusal;
        sb_http_response_init(&refusal);
        int rc = 0;
        if (r->on_body(&head, r->arg, &refusal) != 0) {
            ss->conn->answered = true; /* no abort for it: it is answered here */
            rc = answer_now(wsi, ss, ss->conn, refusal.status >= 400 ? refusal.status : 400,
                            refusal.content_type ? refusal.content_type : "application/json",
                            "Connection: close\r\n", refusal.body.data ? refusal.body.data : "",
                            refusal.body.len);
            sb_http_response_free(&refusal);
            return rc == 0 ? -1 : rc;
        }
        sb_http_response_free(&refusal);
    }
    ss->body_cap = (size_t)n + 1;
    ss->body = malloc(ss->body_cap);
    ss->body_len = 0;
    ss->path = strdup(path);
    return ss->body && ss->path ? 0 : -1;
}

int sb_http_on_body(struct lws *wsi, session *ss, const char *in, size_t len)
{
    (void)wsi;
    if (len == 0)
        return 0; /* lws reports an empty body (Content-Length: 0, Connection: close) */
    if (!ss->body || ss->body_len + len >= ss->body_cap)
        return -1; /* more than Content-Length said */
    memcpy(ss->body + ss->body_len, in, len);
    ss->body_len += len;
    ss->body[ss->body_len] = '\0';
    return 0;
}

int sb_http_on_body_done(struct lws *wsi, sb_server *s, session *ss)
{
    if (ss->empty_body) {
        /* A POST with Content-Length: 0 was dispatched at its headers; lws
         * calls this once more for it. Dispatching it again answered it
         * twice, and a client that asked for Connection: close got nothing
         * (the official Engine.IO suite, "invalid request method"). */
        ss->empty_body = false;
        return 0;
    }
    if (!ss->conn || !ss->conn->http_route)
        return -1;
    /* Called again for a request dispatched already: lws 4.1 does that, in
     * a loop that never returns, when more bytes (a pipelined request)
     * follow a body in its buffer and the answer is not written at once,
     * which ours never is (it waits for the commit). The handler ran again
     * and again and the whole server hung. Such a client loses its
     * connection instead (caught by tests/runtime/03_http.test.mjs, "a
     * request pipelined behind a body"). */
    if (ss->conn->answered || ss->conn->gone_ev) {
        sb_log(SB_LOG_WARN, "http", "msg=\"request pipelined after a body: closing\"");
        return -1;
    }
    dispatch(wsi, s, ss, ss->path ? ss->path : "/");
    return 0;
}

void sb_http_on_closed(session *ss)
{
    sb_conn *c = ss->conn;
    ss->conn = NULL;
    free(ss->body);
    ss->body = NULL;
    free(ss->path);
    ss->path = NULL;
    if (!c)
        return;
    uint64_t id = c->id;
    const sb_http_route *r = c->http_route;
    bool pending = !c->answered && r;
    sb_conn_free(c);
    if (pending && r->on_abort)
        r->on_abort(id, r->arg);
}
