/*
 * outbox.c: deliveries held until the turn's commit (outbox.h).
 *
 * One turn's promises live in three arrays that are reset after each
 * delivery: the bytes of every frame side by side in one buffer, the items
 * (an address and a slice of those bytes), and the units (one per handled
 * message, with its origin and what it hears on a failure). Nothing is
 * allocated per frame in the common case; a topic frame is written once
 * whatever the number of subscribers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "rt.h"
#include "server.h"
#include "topics.h"

typedef enum { TO_CONN, TO_TOPIC, TO_HTTP, TO_CLOSE, TO_CONNS } target;

typedef struct item {
    target to;
    bool binary;
    bool positioned;        /* TO_TOPIC: pos is set (sb_outbox_position) */
    bool also;              /* TO_TOPIC: the previous item's frame, to one more topic */
    uint64_t conn;          /* TO_CONN: connection; TO_HTTP: request; TO_CONNS: their number */
    size_t key;             /* in o->keys: TO_TOPIC the key, TO_CLOSE the reason, TO_CONNS IDs */
    int code;               /* TO_CLOSE */
    size_t off, len;        /* the bytes, in o->bytes */
    sb_counter *counter;    /* per connection reached */
    sb_http_response *resp; /* TO_HTTP: moved in, owned */
    uint64_t pos;           /* positioned frames: the protocol's position */
} item;

typedef struct unit {
    uint64_t origin;
    sb_failure fail;
    bool needs_commit, closed, failed;
    bool remote; /* frames from another node (sb_outbox_remote) */
    sb_counter *on_commit;
    size_t first, end; /* its items: [first, end) */
} unit;

struct sb_outbox {
    sb_server *server;
    sb_topics *topics;
    sb_buf bytes, keys;
    item *items;
    size_t n_items, cap_items;
    bool open_item; /* the last item's len is not known yet */
    unit *units;
    size_t n_units, cap_units;
    /* units [0, done) are delivered; [done, sealed) wait for a commit in
     * flight (sb_outbox_seal); the rest belong to the next transaction */
    size_t done, sealed;
    bool has_seal;
    sb_buf scratch; /* failure frames */
    sb_endpoint_lookup endpoints;
    void *endpoints_arg;
    sb_outbox_publish_fn publish; /* the bus, or NULL */
    void *publish_arg;
    sb_outbox_filter_fn filter; /* the runtime's per-connection filters, or NULL */
    void *filter_arg;
    uint64_t *group; /* an sb_outbox_also group's connections, each once */
    size_t cap_group;
    const char **group_topics;
    size_t cap_group_topics;
};

void sb_outbox_set_endpoints(sb_outbox *o, sb_endpoint_lookup fn, void *arg)
{
    o->endpoints = fn;
    o->endpoints_arg = arg;
}

static const sb_endpoint_ops *endpoint(sb_outbox *o, uint64_t id, void **obj)
{
    *obj = o->endpoints ? o->endpoints(o->endpoints_arg, id) : NULL;
    return *obj ? *(const sb_endpoint_ops *const *)*obj : NULL;
}

sb_outbox *sb_outbox_new(sb_server *server, sb_topics *topics)
{
    sb_outbox *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->server = server;
    o->topics = topics;
    sb_buf_init(&o->bytes);
    sb_buf_init(&o->keys);
    sb_buf_init(&o->scratch);
    return o;
}

static void reset(sb_outbox *o)
{
    for (size_t i = 0; i < o->n_items; i++) {
        if (o->items[i].resp) {
            sb_http_response_free(o->items[i].resp);
            free(o->items[i].resp);
        }
    }
    o->n_items = 0;
    o->n_units = 0;
    o->done = o->sealed = 0;
    o->has_seal = false;
    o->open_item = false;
    sb_buf_reset(&o->bytes);
    sb_buf_reset(&o->keys);
    /* one huge turn must not keep its memory for ever */
    if (o->bytes.cap > (1u << 22)) {
        sb_buf_free(&o->bytes);
        sb_buf_init(&o->bytes);
    }
}

void sb_outbox_free(sb_outbox *o)
{
    if (!o)
        return;
    reset(o);
    sb_buf_free(&o->bytes);
    sb_buf_free(&o->keys);
    sb_buf_free(&o->scratch);
    free(o->items);
    free(o->units);
    free(o->group);
    free(o->group_topics);
    free(o);
}

static unit *current(sb_outbox *o)
{
    return o->n_units && !o->units[o->n_units - 1].closed ? &o->units[o->n_units - 1] : NULL;
}

static void finish_item(sb_outbox *o)
{
    if (!o->open_item)
        return;
    item *it = &o->items[o->n_items - 1];
    it->len = o->bytes.len - it->off;
    o->open_item = false;
}

void sb_outbox_open(sb_outbox *o, uint64_t origin, const sb_failure *fail)
{
    finish_item(o);
    if (o->n_units == o->cap_units) {
        size_t cap = o->cap_units ? o->cap_units * 2 : 64;
        unit *p = realloc(o->units, cap * sizeof *p);
        if (!p) {
            /* no unit: the handler's frames go nowhere (current() is NULL) */
            sb_log(SB_LOG_ERROR, "outbox", "msg=\"out of memory\" origin=%llu",
                   (unsigned long long)origin);
            return;
        }
        o->units = p;
        o->cap_units = cap;
    }
    o->units[o->n_units++] = (unit){.origin = origin,
                                    .fail = fail ? *fail : (sb_failure){0},
                                    .first = o->n_items,
                                    .end = o->n_items};
}

void sb_outbox_close(sb_outbox *o, bool needs_commit)
{
    finish_item(o);
    unit *u = current(o);
    if (!u)
        return;
    u->end = o->n_items;
    u->needs_commit = needs_commit && !u->remote; /* nothing of it was written here */
    u->closed = true;
    if (o->bytes.oom)
        u->failed = true;
}

static item *add_item(sb_outbox *o, target to, uint64_t conn, sb_counter *counter)
{
    finish_item(o);
    unit *u = current(o);
    if (!u)
        return NULL;
    if (o->n_items == o->cap_items) {
        size_t cap = o->cap_items ? o->cap_items * 2 : 256;
        item *p = realloc(o->items, cap * sizeof *p);
        if (!p) {
            u->failed = true;
            return NULL;
        }
        o->items = p;
        o->cap_items = cap;
    }
    item *it = &o->items[o->n_items++];
    *it = (item){.to = to, .conn = conn, .off = o->bytes.len, .counter = counter};
    u->end = o->n_items;
    return it;
}

/* Where the caller writes when there is nowhere to write: the bytes are
 * thrown away (the unit has been failed). */
static sb_buf *sink(sb_outbox *o)
{
    sb_buf_reset(&o->scratch);
    return &o->scratch;
}

sb_buf *sb_outbox_conn(sb_outbox *o, uint64_t conn, sb_counter *counter)
{
    item *it = add_item(o, TO_CONN, conn, counter);
    if (!it)
        return sink(o);
    o->open_item = true;
    return &o->bytes;
}

static bool put_key(sb_outbox *o, item *it, const char *topic)
{
    it->key = o->keys.len;
    sb_buf_put(&o->keys, topic, strlen(topic) + 1);
    return !o->keys.oom;
}

sb_buf *sb_outbox_topic(sb_outbox *o, const char *topic, sb_counter *counter)
{
    item *it = add_item(o, TO_TOPIC, 0, counter);
    if (!it || !put_key(o, it, topic)) {
        if (current(o))
            current(o)->failed = true;
        return sink(o);
    }
    o->open_item = true;
    return &o->bytes;
}

void sb_outbox_also(sb_outbox *o, const char *topic)
{
    finish_item(o);
    unit *u = current(o);
    if (!u || u->end == u->first)
        return;
    item prev = o->items[o->n_items - 1];
    item *it = add_item(o, TO_TOPIC, 0, prev.counter);
    if (!it)
        return;
    it->off = prev.off;
    it->len = prev.len;
    it->binary = prev.binary;
    it->positioned = prev.positioned;
    it->pos = prev.pos;
    it->also = true;
    if (!put_key(o, it, topic))
        u->failed = true;
}

sb_buf *sb_outbox_conns(sb_outbox *o, const uint64_t *conns, size_t n, sb_counter *counter)
{
    item *it = add_item(o, TO_CONNS, n, counter);
    if (!it) {
        if (current(o))
            current(o)->failed = true;
        return sink(o);
    }
    /* the IDs in the keys' buffer, 8-aligned (its block is malloc's) */
    static const char pad[8];
    sb_buf_put(&o->keys, pad, (8 - o->keys.len % 8) % 8);
    it->key = o->keys.len;
    sb_buf_put(&o->keys, conns, n * sizeof *conns);
    if (o->keys.oom) {
        current(o)->failed = true;
        return sink(o);
    }
    o->open_item = true;
    return &o->bytes;
}

void sb_outbox_binary(sb_outbox *o)
{
    unit *u = current(o);
    if (u && u->end > u->first)
        o->items[o->n_items - 1].binary = true;
}

void sb_outbox_position(sb_outbox *o, uint64_t pos)
{
    unit *u = current(o);
    if (!u || u->end == u->first)
        return;
    item *it = &o->items[o->n_items - 1];
    if (it->to != TO_TOPIC)
        return;
    it->positioned = true;
    it->pos = pos;
}

void sb_outbox_set_filter(sb_outbox *o, sb_outbox_filter_fn fn, void *arg)
{
    o->filter = fn;
    o->filter_arg = arg;
}

void sb_outbox_http(sb_outbox *o, uint64_t request, sb_http_response *resp)
{
    sb_http_response *copy = malloc(sizeof *copy);
    item *it = copy ? add_item(o, TO_HTTP, request, NULL) : NULL;
    if (!it) {
        free(copy);
        if (current(o))
            current(o)->failed = true;
        return;
    }
    *copy = *resp; /* moved: the buffers are ours now */
    sb_http_response_init(resp);
    it->resp = copy;
}

void sb_outbox_close_conn(sb_outbox *o, uint64_t conn, int code, const char *reason)
{
    item *it = add_item(o, TO_CLOSE, conn, NULL);
    if (!it)
        return;
    it->code = code;
    char r[124];
    snprintf(r, sizeof r, "%s", reason ? reason : "");
    if (!put_key(o, it, r))
        current(o)->failed = true;
}

void sb_outbox_set_publish(sb_outbox *o, sb_outbox_publish_fn fn, void *arg)
{
    o->publish = fn;
    o->publish_arg = arg;
}

void sb_outbox_remote(sb_outbox *o)
{
    unit *u = current(o);
    if (u)
        u->remote = true;
}

void sb_outbox_on_commit(sb_outbox *o, sb_counter *counter)
{
    unit *u = current(o);
    if (u)
        u->on_commit = counter;
}

void sb_outbox_fail_pending(sb_outbox *o)
{
    /* not the sealed ones: their transaction is committing */
    for (size_t i = o->has_seal ? o->sealed : o->done; i < o->n_units; i++)
        if (o->units[i].closed && o->units[i].needs_commit)
            o->units[i].failed = true;
}

/* Delivery ---------------------------------------------------------------- */

/* One delivery, to a connection c or an endpoint obj (or neither: gone). */
static bool send_one(sb_outbox *o, sb_conn *c, uint64_t id, void *obj, const item *it)
{
    if (!c) {
        if (!obj)
            return false;
        if (it->positioned && o->filter && !o->filter(o->filter_arg, NULL, id, it->pos))
            return false; /* that endpoint has it already */
        const sb_endpoint_ops *ep = *(const sb_endpoint_ops *const *)obj;
        if (ep->send(obj, o->bytes.data + it->off, it->len, it->binary) != 0)
            return false;
        if (it->counter)
            sb_counter_add(it->counter, 1);
        return ep->congested && ep->congested(obj);
    }
    if (it->positioned && o->filter && !o->filter(o->filter_arg, c, id, it->pos))
        return false; /* that connection has it already (rt.h, sb_rt_set_filter) */
    if (sb_conn_send_frame(c, o->bytes.data + it->off, it->len, it->binary) != 0)
        return false;
    if (it->counter)
        sb_counter_add(it->counter, 1);
    return sb_conn_congested(c);
}

static bool send_conn(sb_outbox *o, uint64_t id, const item *it)
{
    sb_conn *c = sb_conn_find(o->server, id);
    void *obj = NULL;
    if (!c)
        endpoint(o, id, &obj);
    return send_one(o, c, id, obj, it);
}

/* A topic's frame to every subscriber, STAGE at a time: their objects are
 * looked up and prefetched first, so that the cache misses of a stage
 * overlap instead of stalling one delivery after another (at a fan-out to
 * 10,000 Engine.IO sessions, a miss on each session and each connection
 * was a third of the server's time). */
#define STAGE 32

static bool send_topic(sb_outbox *o, const uint64_t *conns, size_t n, const item *it)
{
    bool congested = false;
    for (size_t k = 0; k < n; k += STAGE) {
        size_t m = n - k < STAGE ? n - k : STAGE;
        sb_conn *cs[STAGE];
        void *objs[STAGE];
        for (size_t j = 0; j < m; j++) {
            cs[j] = sb_conn_find(o->server, conns[k + j]);
            objs[j] = !cs[j] && o->endpoints ? o->endpoints(o->endpoints_arg, conns[k + j]) : NULL;
            __builtin_prefetch(cs[j] ? (void *)cs[j] : objs[j]);
        }
        for (size_t j = 0; j < m; j++) {
            const sb_endpoint_ops *ep = objs[j] ? *(const sb_endpoint_ops *const *)objs[j] : NULL;
            if (ep && ep->prefetch)
                ep->prefetch(objs[j]);
        }
        for (size_t j = 0; j < m; j++)
            congested |= send_one(o, cs[j], conns[k + j], objs[j], it);
    }
    return congested;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The items [first, end) are one frame to several topics (sb_outbox_also):
 * a connection subscribed to two of them gets it once. A single topic (the
 * common case) is sent from its subscriber array as it is. */
static size_t group_end(const sb_outbox *o, size_t first, size_t end)
{
    size_t j = first + 1;
    while (j < end && o->items[j].to == TO_TOPIC && o->items[j].also)
        j++;
    return j;
}

static bool send_group(sb_outbox *o, size_t first, size_t end)
{
    const item *it = &o->items[first];
    size_t n;
    const uint64_t *conns = sb_topics_conns(o->topics, o->keys.data + it->key, &n);
    if (end == first + 1)
        return send_topic(o, conns, n, it);
    size_t total = 0;
    for (size_t k = first; k < end; k++) {
        conns = sb_topics_conns(o->topics, o->keys.data + o->items[k].key, &n);
        if (!n)
            continue;
        if (!grow((void **)&o->group, &o->cap_group, total + n, sizeof *o->group)) {
            sb_log(SB_LOG_ERROR, "outbox", "msg=\"out of memory\" topics=%zu", end - first);
            return false;
        }
        memcpy(o->group + total, conns, n * sizeof *conns);
        total += n;
    }
    if (total == 0)
        return false; /* nobody here (o->group may still be NULL: no qsort) */
    qsort(o->group, total, sizeof *o->group, cmp_id);
    size_t m = 0;
    for (size_t k = 0; k < total; k++)
        if (m == 0 || o->group[m - 1] != o->group[k])
            o->group[m++] = o->group[k];
    return send_topic(o, o->group, m, it);
}

/* The bus (bus.h): once per frame, with every topic it went to. */
static void publish_group(sb_outbox *o, size_t first, size_t end)
{
    if (!grow((void **)&o->group_topics, &o->cap_group_topics, end - first,
              sizeof *o->group_topics)) {
        sb_log(SB_LOG_ERROR, "outbox", "msg=\"out of memory: not published\"");
        return;
    }
    for (size_t k = first; k < end; k++)
        o->group_topics[k - first] = o->keys.data + o->items[k].key;
    const item *it = &o->items[first];
    o->publish(o->publish_arg, o->group_topics, end - first, o->bytes.data + it->off, it->len,
               it->binary, it->positioned, it->pos);
}

static void close_conn(sb_outbox *o, const item *it)
{
    sb_conn *c = sb_conn_find(o->server, it->conn);
    void *obj;
    const sb_endpoint_ops *ep;
    if (c)
        sb_conn_close(c, it->code, o->keys.data + it->key);
    else if ((ep = endpoint(o, it->conn, &obj)) != NULL)
        ep->close(obj, it->code, o->keys.data + it->key);
}

static void fail_unit(sb_outbox *o, const unit *u)
{
    sb_conn *c = sb_conn_find(o->server, u->origin);
    if (!c) {
        void *obj;
        const sb_endpoint_ops *ep = endpoint(o, u->origin, &obj);
        if (!ep || !u->fail.ws)
            return;
        sb_buf_reset(&o->scratch);
        u->fail.ws(&o->scratch, u->fail.arg);
        if (!o->scratch.oom)
            ep->send(obj, o->scratch.data, o->scratch.len, false);
        return;
    }
    if (sb_conn_is_http(c)) {
        sb_http_response r;
        sb_http_response_init(&r);
        if (u->fail.http) {
            u->fail.http(&r, u->fail.arg);
        } else {
            r.status = 503;
            r.content_type = "text/plain";
            SB_BUF_PUT_LIT(&r.body, "storage error");
        }
        sb_server_http_respond(o->server, u->origin, &r);
        sb_http_response_free(&r);
        return;
    }
    if (!u->fail.ws)
        return;
    sb_buf_reset(&o->scratch);
    u->fail.ws(&o->scratch, u->fail.arg);
    if (!o->scratch.oom)
        sb_conn_send_frame(c, o->scratch.data, o->scratch.len, false);
}

/* Units [from, to) with the fate rc of their transaction. */
static void deliver_range(sb_outbox *o, size_t from, size_t to, int rc)
{
    for (size_t ui = from; ui < to; ui++) {
        const unit *u = &o->units[ui];
        if (u->failed || (rc != 0 && u->needs_commit)) {
            fail_unit(o, u);
            for (size_t i = u->first; i < u->end; i++)
                if (o->items[i].to == TO_CLOSE)
                    close_conn(o, &o->items[i]);
            continue;
        }
        if (u->on_commit)
            sb_counter_add(u->on_commit, 1);
        bool congested = false;
        for (size_t i = u->first; i < u->end; i++) {
            item *it = &o->items[i];
            if (it->to == TO_CONN) {
                congested |= send_conn(o, it->conn, it);
            } else if (it->to == TO_TOPIC) {
                size_t end = group_end(o, i, u->end);
                congested |= send_group(o, i, end);
                /* after the commit, and after the local delivery: a node
                 * that hears it from Redis never sees it before this one */
                if (o->publish && !u->remote)
                    publish_group(o, i, end);
                i = end - 1;
            } else if (it->to == TO_CONNS) {
                const void *ids = o->keys.data + it->key;
                congested |= send_topic(o, ids, (size_t)it->conn, it);
            } else if (it->to == TO_HTTP) {
                sb_server_http_respond(o->server, it->conn, it->resp);
            } else {
                close_conn(o, it);
            }
        }
        /* Back-pressure: the sender who filled someone's queue past half
         * its cap stops being read until the queues drain (server.h). */
        if (congested) {
            sb_conn *origin = sb_conn_find(o->server, u->origin);
            if (origin && !sb_conn_is_http(origin))
                sb_conn_pause_reading(origin);
        }
    }
}

void sb_outbox_seal(sb_outbox *o)
{
    finish_item(o);
    o->sealed = o->n_units;
    o->has_seal = true;
}

void sb_outbox_deliver_sealed(sb_outbox *o, int rc)
{
    if (!o->has_seal)
        return;
    finish_item(o);
    deliver_range(o, o->done, o->sealed, rc);
    o->done = o->sealed;
    o->has_seal = false;
    if (o->done == o->n_units)
        reset(o);
}

void sb_outbox_deliver(sb_outbox *o, int rc)
{
    finish_item(o);
    if (o->has_seal) /* rt.c delivers those first; never with another rc */
        return;
    deliver_range(o, o->done, o->n_units, rc);
    reset(o);
}
