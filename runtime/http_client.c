/*
 * http_client.c: outbound HTTP on evhttp (http_client.h), and HTTPS on
 * libevent's OpenSSL bufferevents.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "http_client.h"

typedef struct origin {
    char host[256];
    int port;
    struct evhttp_connection **conns;
    int next;
    struct origin *link;
} origin;

typedef struct call {
    sb_http_client *client;
    sb_http_client_fn fn;
    void *arg;
    struct evhttp_request *req;
    struct evhttp_connection *own; /* https: this request's connection, else NULL */
    SSL *ssl;                      /* own's, freed with it */
    struct call *prev, *next;
} call;

/* A finished request's own connection, freed from the loop: not inside its
 * callback, where libevent still uses it. */
typedef struct dead_conn {
    struct evhttp_connection *conn;
    struct dead_conn *next;
} dead_conn;

struct sb_http_client {
    struct event_base *base;
    struct evdns_base *dns; /* names resolved on the loop, never a blocking getaddrinfo */
    int conns;
    struct timeval timeout;
    size_t max_body;
    origin *origins;
    call *calls; /* pending */
    size_t n_calls;
    SSL_CTX *tls; /* NULL until https is set up */
    dead_conn *dead;
    struct event *reap; /* frees dead */
};

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    sb_http_client *c = arg;
    while (c->dead) {
        dead_conn *d = c->dead;
        c->dead = d->next;
        evhttp_connection_free(d->conn);
        free(d);
    }
}

sb_http_client *sb_http_client_new(struct event_base *base, int conns, int timeout_ms,
                                   size_t max_body)
{
    sb_http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!c->dns) /* no resolv.conf: numeric addresses and /etc/hosts still work */
        c->dns = evdns_base_new(base, 0);
    c->reap = c->dns ? event_new(base, -1, 0, reap_cb, c) : NULL;
    if (!c->reap) {
        if (c->dns)
            evdns_base_free(c->dns, 0);
        free(c);
        return NULL;
    }
    evdns_base_set_option(c->dns, "timeout:", "2");
    evdns_base_set_option(c->dns, "attempts:", "2");
    c->conns = conns > 0 ? conns : 4;
    c->timeout = (struct timeval){timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    c->max_body = max_body ? max_body : (1u << 20);
    return c;
}

static void unlink_call(sb_http_client *c, call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    c->n_calls--;
}

/* Hands a connection to reap_cb. On out of memory it is freed at once:
 * only safe outside its callbacks, so that path is taken from free alone. */
static void bury(sb_http_client *c, struct evhttp_connection *conn, bool in_callback)
{
    dead_conn *d = malloc(sizeof *d);
    if (!d) {
        if (!in_callback)
            evhttp_connection_free(conn);
        return; /* leaked rather than freed under libevent's feet */
    }
    d->conn = conn;
    d->next = c->dead;
    c->dead = d;
    event_active(c->reap, EV_TIMEOUT, 0);
}

static void finish(call *k, int status, const char *body, size_t len, const char *error)
{
    sb_http_client *c = k->client;
    unlink_call(c, k);
    if (k->own)
        bury(c, k->own, true);
    sb_http_client_fn fn = k->fn;
    void *arg = k->arg;
    free(k);
    fn(status, body, len, error, arg);
}

static void done(struct evhttp_request *req, void *arg)
{
    call *k = arg;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    /* a failed handshake ends like a reset: say why when the certificate did it */
    long verify = status == 0 && k->ssl ? SSL_get_verify_result(k->ssl) : X509_V_OK;
    if (verify != X509_V_OK) {
        char why[200];
        snprintf(why, sizeof why, "certificate verification failed: %s",
                 X509_verify_cert_error_string(verify));
        finish(k, 0, NULL, 0, why);
        return;
    }
    if (!req) {
        finish(k, 0, NULL, 0, "no answer (refused, reset or timed out)");
        return;
    }
    if (status == 0) {
        finish(k, 0, NULL, 0, "no answer (refused, reset, timed out or too large)");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    finish(k, status, body, len, NULL);
}

static void error_cb(enum evhttp_request_error e, void *arg)
{
    (void)e;
    (void)arg; /* done() follows with a NULL request or status 0 */
}

static origin *origin_of(sb_http_client *c, const char *host, int port)
{
    for (origin *o = c->origins; o; o = o->link)
        if (o->port == port && strcmp(o->host, host) == 0)
            return o;
    origin *o = calloc(1, sizeof *o);
    if (!o || strlen(host) >= sizeof o->host)
        return free(o), NULL;
    o->conns = calloc((size_t)c->conns, sizeof *o->conns);
    if (!o->conns)
        return free(o), NULL;
    snprintf(o->host, sizeof o->host, "%s", host);
    o->port = port;
    for (int i = 0; i < c->conns; i++) {
        o->conns[i] = evhttp_connection_base_new(c->base, c->dns, host, (unsigned short)port);
        if (!o->conns[i]) {
            for (int j = 0; j < i; j++)
                evhttp_connection_free(o->conns[j]);
            free(o->conns);
            free(o);
            return NULL;
        }
        evhttp_connection_set_timeout_tv(o->conns[i], &c->timeout);
        evhttp_connection_set_max_body_size(o->conns[i], (ev_ssize_t)c->max_body);
        evhttp_connection_set_retries(o->conns[i], 0);
    }
    o->link = c->origins;
    c->origins = o;
    return o;
}

int sb_http_client_tls(sb_http_client *c, const char *ca_file, char *err, size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, err_size, "TLS: cannot create a context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* a system without CA paths still works with ca_file alone */
    SSL_CTX_set_default_verify_paths(ctx);
    if (ca_file && *ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        unsigned long e = ERR_get_error();
        snprintf(err, err_size, "cannot load the CA file %s: %s", ca_file,
                 e ? ERR_reason_error_string(e) : "unknown error");
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return -1;
    }
    if (c->tls)
        SSL_CTX_free(c->tls); /* connections keep their own reference */
    c->tls = ctx;
    return 0;
}

/* A TLS connection for one request: SNI and the certificate's name checked
 * against host (a name), or its IP address (a literal, which SNI may not
 * carry: RFC 6066). */
static struct evhttp_connection *tls_conn(sb_http_client *c, const char *host, int port,
                                          SSL **ssl_out)
{
    char ignored[160];
    if (!c->tls && sb_http_client_tls(c, NULL, ignored, sizeof ignored) != 0)
        return NULL;
    SSL *ssl = SSL_new(c->tls);
    if (!ssl)
        return NULL;
    unsigned char addr[16];
    bool literal = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                     : SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* servers often close without close_notify; the body's length is known */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    struct evhttp_connection *conn =
        evhttp_connection_base_bufferevent_new(c->base, c->dns, bev, host, (unsigned short)port);
    if (!conn) {
        bufferevent_free(bev); /* and ssl with it */
        return NULL;
    }
    evhttp_connection_set_timeout_tv(conn, &c->timeout);
    evhttp_connection_set_max_body_size(conn, (ev_ssize_t)c->max_body);
    evhttp_connection_set_retries(conn, 0);
    *ssl_out = ssl;
    return conn;
}

int sb_http_client_send(sb_http_client *c, const sb_http_client_req *r, sb_http_client_fn fn,
                        void *arg)
{
    struct evhttp_uri *uri = evhttp_uri_parse(r->url);
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    bool https = scheme && strcmp(scheme, "https") == 0;
    if (!uri || !scheme || (strcmp(scheme, "http") != 0 && !https) || !host || !*host) {
        if (uri)
            evhttp_uri_free(uri);
        return -1;
    }
    int default_port = https ? 443 : 80;
    int port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : default_port;
    char target[2048];
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    call *k = calloc(1, sizeof *k);
    struct evhttp_connection *conn = NULL;
    if (k && https) {
        conn = k->own = tls_conn(c, host, port, &k->ssl);
    } else if (k) {
        origin *o = origin_of(c, host, port);
        if (o) {
            conn = o->conns[o->next];
            o->next = (o->next + 1) % c->conns;
        }
    }
    struct evhttp_request *req = conn ? evhttp_request_new(done, k) : NULL;
    if (!req) {
        if (k && k->own)
            evhttp_connection_free(k->own);
        free(k);
        evhttp_uri_free(uri);
        return -1;
    }
    evhttp_request_set_error_cb(req, error_cb);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, port == default_port ? "%s" : "%s:%d", host, port);
    evhttp_add_header(out, "Host", hostport);
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *colon = strchr(r->headers[i], ':');
        if (!colon || colon - r->headers[i] >= 128)
            continue;
        char name[128];
        memcpy(name, r->headers[i], (size_t)(colon - r->headers[i]));
        name[colon - r->headers[i]] = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        evhttp_add_header(out, name, value);
    }
    enum evhttp_cmd_type cmd = EVHTTP_REQ_GET;
    if (strcmp(r->method, "POST") == 0)
        cmd = EVHTTP_REQ_POST;
    else if (strcmp(r->method, "PUT") == 0)
        cmd = EVHTTP_REQ_PUT;
    if (cmd != EVHTTP_REQ_GET) {
        evhttp_add_header(out, "Content-Type",
                          r->content_type ? r->content_type : "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), r->body ? r->body : "",
                     r->body ? r->len : 0);
    }
    k->client = c;
    k->fn = fn;
    k->arg = arg;
    k->req = req;
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    c->n_calls++;
    int rc = evhttp_make_request(conn, req, cmd, target);
    evhttp_uri_free(uri);
    if (rc != 0) { /* evhttp freed the request */
        unlink_call(c, k);
        if (k->own)
            evhttp_connection_free(k->own);
        free(k);
        return -1;
    }
    return 0;
}

int sb_http_client_request(sb_http_client *c, const char *method, const char *url,
                           const char *const *headers, const char *body, size_t len,
                           sb_http_client_fn fn, void *arg)
{
    /* http:// only, as documented: its callers' URLs come from flags that
     * promise a sidecar on a private network */
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    sb_http_client_req r = {method, url, headers, body, len, NULL};
    return sb_http_client_send(c, &r, fn, arg);
}

size_t sb_http_client_pending(const sb_http_client *c)
{
    return c->n_calls;
}

void sb_http_client_free(sb_http_client *c)
{
    if (!c)
        return;
    /* the callbacks first, while their connections still exist; freeing a
     * connection then drops its requests without calling anyone */
    while (c->calls) {
        call *k = c->calls;
        evhttp_request_set_error_cb(k->req, NULL);
        evhttp_cancel_request(k->req);
        finish(k, 0, NULL, 0, "shutting down"); /* its own connection to dead */
    }
    event_free(c->reap);
    c->reap = NULL;
    reap_cb(-1, 0, c);
    origin *o = c->origins;
    while (o) {
        origin *next = o->link;
        for (int i = 0; i < c->conns; i++)
            evhttp_connection_free(o->conns[i]);
        free(o->conns);
        free(o);
        o = next;
    }
    evdns_base_free(c->dns, 0); /* the connections, and their lookups, are gone */
    if (c->tls)
        SSL_CTX_free(c->tls);
    free(c);
}

/* sb_http_fetch ------------------------------------------------------------------ */

typedef struct fetch_state {
    struct event_base *base;
    int status;
    char *body;
    size_t len;
    char error[128];
} fetch_state;

static void fetched(int status, const char *body, size_t len, const char *error, void *arg)
{
    fetch_state *f = arg;
    f->status = status;
    if (error)
        snprintf(f->error, sizeof f->error, "%s", error);
    f->body = malloc(len + 1);
    if (f->body) {
        memcpy(f->body, body ? body : "", len);
        f->body[len] = '\0';
        f->len = len;
    }
    event_base_loopbreak(f->base);
}

int sb_http_fetch(const char *method, const char *url, const char *const *headers,
                  const char *req_body, size_t len, int timeout_ms, size_t max_body, char **body,
                  size_t *body_len, const char **error)
{
    static _Thread_local char why[128];
    fetch_state f = {.base = event_base_new()};
    snprintf(f.error, sizeof f.error, "no answer");
    sb_http_client *c = f.base ? sb_http_client_new(f.base, 1, timeout_ms, max_body) : NULL;
    int rc = 0;
    if (!c || sb_http_client_request(c, method, url, headers, req_body, len, fetched, &f) != 0)
        rc = -1;
    else
        event_base_dispatch(f.base);
    sb_http_client_free(c);
    if (f.base)
        event_base_free(f.base);
    snprintf(why, sizeof why, "%s", rc < 0 ? "not an http:// URL" : f.error);
    if (error)
        *error = why;
    if (body) {
        *body = f.body;
        if (body_len)
            *body_len = f.len;
    } else {
        free(f.body);
    }
    return rc < 0 ? -1 : f.status;
}
