/*
 * http_client.c: outbound HTTP on evhttp (http_client.h).
 */
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
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
    struct call *prev, *next;
} call;

struct sb_http_client {
    struct event_base *base;
    struct evdns_base *dns; /* names resolved on the loop, never a blocking getaddrinfo */
    int conns;
    struct timeval timeout;
    size_t max_body;
    origin *origins;
    call *calls; /* pending */
    size_t n_calls;
};

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
    if (!c->dns) {
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

static void finish(call *k, int status, const char *body, size_t len, const char *error)
{
    sb_http_client *c = k->client;
    unlink_call(c, k);
    sb_http_client_fn fn = k->fn;
    void *arg = k->arg;
    free(k);
    fn(status, body, len, error, arg);
}

static void done(struct evhttp_request *req, void *arg)
{
    call *k = arg;
    if (!req) {
        finish(k, 0, NULL, 0, "no answer (refused, reset or timed out)");
        return;
    }
    int status = evhttp_request_get_response_code(req);
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

int sb_http_client_request(sb_http_client *c, const char *method, const char *url,
                           const char *const *headers, const char *body, size_t len,
                           sb_http_client_fn fn, void *arg)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    if (!uri || !scheme || strcmp(scheme, "http") != 0 || !host || !*host) {
        if (uri)
            evhttp_uri_free(uri);
        return -1;
    }
    int port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
    char target[2048];
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    origin *o = origin_of(c, host, port);
    call *k = o ? calloc(1, sizeof *k) : NULL;
    struct evhttp_request *req = k ? evhttp_request_new(done, k) : NULL;
    if (!req) {
        free(k);
        evhttp_uri_free(uri);
        return -1;
    }
    evhttp_request_set_error_cb(req, error_cb);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, port == 80 ? "%s" : "%s:%d", host, port);
    evhttp_add_header(out, "Host", hostport);
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        if (!colon || colon - headers[i] >= 128)
            continue;
        char name[128];
        memcpy(name, headers[i], (size_t)(colon - headers[i]));
        name[colon - headers[i]] = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        evhttp_add_header(out, name, value);
    }
    bool post = strcmp(method, "POST") == 0;
    if (post) {
        evhttp_add_header(out, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body ? body : "", body ? len : 0);
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
    struct evhttp_connection *conn = o->conns[o->next];
    o->next = (o->next + 1) % c->conns;
    int rc = evhttp_make_request(conn, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, target);
    evhttp_uri_free(uri);
    if (rc != 0) { /* evhttp freed the request */
        unlink_call(c, k);
        free(k);
        return -1;
    }
    return 0;
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
        finish(k, 0, NULL, 0, "shutting down");
    }
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
    free(c);
}
