/*
 * bus.c: the Redis fan-out bus (bus.h).
 *
 * Two hiredis async connections on the server's event base: one publishes
 * (PUBLISH only, so that a reply is matched to its command), the other is
 * in subscribe mode. Each has its own reconnect timer with exponential
 * backoff and jitter, and a connect timeout (hiredis 0.14 has none).
 *
 * The subscribe connection does not depend on how hiredis pairs pub/sub
 * replies with callbacks when one channel's commands are pipelined (its
 * callbacks live in a per-channel table that an unsubscribe reply clears,
 * and subscribe mode ends with the last unsubscribe): a channel is never
 * subscribed again before the reply to its UNSUBSCRIBE is in (struct chan,
 * the state machine below), sb:gap stays subscribed for the life of the
 * connection, and AUTH's answer comes before the first SUBSCRIBE. Debian's
 * hiredis 0.14.1 handles the pipelined forms as well (tried while writing
 * this); the ordering keeps the bus independent of that.
 */
#include "bus.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "rt.h"
#include "topics.h"

#define MAGIC 0xB2 /* bus v2: v1 (0xB1) had no position */
#define FLAG_BINARY 0x01
#define FLAG_GAP 0x02
#define FLAG_POSITION 0x04
#define CHANNEL_PREFIX "sb:t:"
#define GAP_CHANNEL "sb:gap"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 2000
/* Publishes waiting for Redis' reply: past either, a publish is dropped
 * (counted, and a gap notice follows) rather than grow without bound while
 * Redis is stalled but connected. */
#define BACKLOG_COMMANDS 100000
#define BACKLOG_BYTES ((size_t)64 << 20)
/* (node, seq) of the last messages delivered: a message listing several
 * topics arrives once per channel this node subscribes to, close together. */
#define RECENT 1024
/* A stalled Redis, or one gone without a FIN, answers nothing while the TCP
 * connection looks fine: every HEARTBEAT_MS this node publishes on its own
 * sb:hb:<node> channel, which its subscription listens to; a connection
 * with no answer (publish) or no heartbeat heard (subscribe) for DEAD_MS is
 * dropped and made again. */
#define HEARTBEAT_MS 2000
#define DEAD_MS 10000
#define HB_PREFIX "sb:hb:"

typedef struct rconn {
    sb_bus *bus;
    const char *name; /* "publish", "subscribe" */
    redisAsyncContext *ac;
    bool connected; /* the connect callback said so */
    bool ready;     /* authenticated (publish), subscriptions sent (subscribe) */
    bool up;        /* publish: ready; subscribe: sb:gap confirmed after the rest */
    bool failed;    /* a connection failed or was lost since the last up */
    int attempt;    /* reconnects since it was last up for a while */
    int64_t up_at;  /* when it came up (sb_mono_us) */
    struct event *retry_ev, *timeout_ev;
    char error[160]; /* why it is down, for /healthz and logs */
} rconn;

/* A channel of the subscribe connection (see the top of the file). */
enum { CH_SUBSCRIBED, CH_UNSUBSCRIBING };
typedef struct chan {
    struct chan *next;
    int state;
    bool wanted;    /* the topic has local subscribers */
    bool confirmed; /* Redis confirmed the SUBSCRIBE: the others' frames reach us */
    char key[];
} chan;
#define CHAN_BUCKETS 4096

typedef struct raw_sub {
    char *pattern;
    sb_bus_raw_fn fn;
    void *arg;
} raw_sub;

typedef struct gap_handler {
    sb_bus_gap_fn fn;
    void *arg;
} gap_handler;

/* sb_bus_when_subscribed: fn(arg, id) once the topic is confirmed. */
typedef struct waiter {
    struct waiter *next;
    sb_bus_subscribed_fn fn;
    void *arg;
    uint64_t id;
    char topic[SB_TOPIC_MAX];
} waiter;

typedef struct recent_id {
    uint64_t node, seq;
} recent_id;

struct sb_bus {
    struct event_base *base;
    sb_rt *rt;
    bool closing;
    /* from the URL */
    bool unix_socket;
    char host[256], path[256];
    int port, db;
    char user[128], password[256];
    char url_safe[600]; /* the URL without its password: for logs */
    char node_id[SB_BUS_NODE_MAX + 1];
    uint64_t node_hash;
    uint64_t seq;
    rconn pub, sub;
    size_t inflight, inflight_bytes;
    bool gap_pending; /* publishes were dropped: a notice is owed */
    chan *chans[CHAN_BUCKETS];
    raw_sub *raws;
    size_t n_raws;
    gap_handler *gaps;
    size_t n_gaps;
    gap_handler *downs; /* sb_bus_on_down */
    size_t n_downs;
    waiter *waiters;      /* sb_bus_when_subscribed, newest first */
    struct event *gap_ev; /* gap handlers owed from inside a unit run from here */
    struct event *hb_ev;  /* HEARTBEAT_MS */
    /* sb_mono_us: the publish connection's last answer, the last answer to
     * a heartbeat (Redis has handed it to the subscribers then), the last
     * heartbeat this node's subscription heard */
    int64_t last_reply, hb_acked, last_hb;
    char hb_channel[sizeof HB_PREFIX + SB_BUS_NODE_MAX];
    recent_id recent[RECENT];
    size_t recent_next;
    sb_buf msg; /* the bus message being published */
    char reason[256];
    sb_log_every_state malformed_log, drop_log;
    sb_counter *m_deliveries; /* per local connection reached, like a local frame's counter */
    sb_counter *m_published, *m_publish_commands, *m_received, *m_delivered, *m_malformed, *m_gaps,
        *m_own, *m_duplicate, *m_ignored_gap, *m_gap_notices;
    sb_counter *m_dropped_too_large, *m_dropped_down, *m_dropped_backlog, *m_dropped_in_flight;
    sb_gauge *m_up;
};

/* URL -------------------------------------------------------------------- */

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

/* Percent-decoded [s, s+n) into dst (size bytes): false if too long or bad. */
static bool decode(char *dst, size_t size, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (j + 1 >= size)
            return false;
        dst[j++] = c;
    }
    dst[j] = '\0';
    return true;
}

static int url_error(char *err, size_t errn, const char *what)
{
    if (errn > 0)
        snprintf(err, errn,
                 "%s (expected redis://HOST:PORT, redis://:PASSWORD@HOST:PORT/DB or "
                 "unix:///PATH)",
                 what);
    return -1;
}

static int parse_url(sb_bus *b, const char *url, char *err, size_t errn)
{
    memset(b->host, 0, sizeof b->host);
    b->port = 6379;
    b->db = 0;
    b->user[0] = b->password[0] = b->path[0] = '\0';
    b->unix_socket = false;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        if (*p != '/' || strlen(p) >= sizeof b->path)
            return url_error(err, errn, "unix://: an absolute path is needed");
        b->unix_socket = true;
        snprintf(b->path, sizeof b->path, "%s", p);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return url_error(err, errn, "unknown scheme");
    const char *p = url + 8;
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        if (!decode(b->user, sizeof b->user, p, (size_t)(uend - p)))
            return url_error(err, errn, "bad user name");
        if (colon && !decode(b->password, sizeof b->password, colon + 1, (size_t)(at - colon - 1)))
            return url_error(err, errn, "bad password");
        p = at + 1;
    }
    const char *hend;
    if (*p == '[') { /* [IPv6]:port */
        hend = memchr(p, ']', (size_t)(end - p));
        if (!hend)
            return url_error(err, errn, "unclosed [");
        if ((size_t)(hend - p - 1) >= sizeof b->host || hend == p + 1)
            return url_error(err, errn, "bad host");
        memcpy(b->host, p + 1, (size_t)(hend - p - 1));
        hend++;
    } else {
        hend = p;
        while (hend < end && *hend != ':')
            hend++;
        if (hend == p || (size_t)(hend - p) >= sizeof b->host)
            return url_error(err, errn, "no host");
        memcpy(b->host, p, (size_t)(hend - p));
    }
    if (hend < end) {
        if (*hend != ':')
            return url_error(err, errn, "bad host");
        long port = 0;
        const char *q = hend + 1;
        if (q == end)
            return url_error(err, errn, "empty port");
        for (; q < end; q++) {
            if (*q < '0' || *q > '9' || (port = port * 10 + (*q - '0')) > 65535)
                return url_error(err, errn, "bad port");
        }
        if (port == 0)
            return url_error(err, errn, "bad port");
        b->port = (int)port;
    }
    if (*end == '/' && end[1]) {
        long db = 0;
        const char *q = end + 1;
        for (; *q; q++)
            if (*q < '0' || *q > '9' || (db = db * 10 + (*q - '0')) > 1000000)
                return url_error(err, errn, "bad database number");
        b->db = (int)db;
    } else if (*end && !(*end == '/' && !end[1])) {
        return url_error(err, errn, "unexpected text after the host");
    }
    return 0;
}

int sb_bus_check_url(const char *url, char *err, size_t errn)
{
    sb_bus *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errn, "out of memory");
        return -1;
    }
    int rc = parse_url(b, url, err, errn);
    free(b);
    return rc;
}

int sb_bus_check_node_id(const char *id, char *err, size_t errn)
{
    size_t n = strlen(id);
    if (n == 0 || n > SB_BUS_NODE_MAX) {
        snprintf(err, errn, "a node id has 1 to %d bytes", SB_BUS_NODE_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-')) {
            snprintf(err, errn, "a node id has letters, digits and . _ : - only");
            return -1;
        }
    }
    return 0;
}

/* Health ------------------------------------------------------------------ */

static void update_health(sb_bus *b)
{
    sb_gauge_set(b->m_up, b->pub.up && b->sub.up ? 1 : 0);
}

bool sb_bus_healthy(const sb_bus *cb, const char **reason)
{
    sb_bus *b = (sb_bus *)cb;
    if (b->pub.up && b->sub.up) {
        if (reason)
            *reason = NULL;
        return true;
    }
    const rconn *c = b->sub.up ? &b->pub : &b->sub;
    snprintf(b->reason, sizeof b->reason, "bus: redis unreachable (%s: %s)", c->name,
             c->error[0] ? c->error : "connecting");
    if (reason)
        *reason = b->reason;
    return false;
}

/* Connections ------------------------------------------------------------- */

static void start_connect(sb_bus *b, rconn *c);
static void sub_ready(sb_bus *b);
static void pub_ready(sb_bus *b);

static void schedule_retry(sb_bus *b, rconn *c)
{
    if (b->closing || evtimer_pending(c->retry_ev, NULL))
        return;
    /* 100 ms doubling to 5 s, then a random point in its upper half: nodes
     * that lost Redis together do not all come back in the same instant */
    long ms = BACKOFF_MIN_MS;
    for (int i = 0; i < c->attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    ms = ms / 2 + rand() % (ms / 2 + 1);
    c->attempt++;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->retry_ev, &tv);
}

static void clear_chans(sb_bus *b)
{
    for (size_t i = 0; i < CHAN_BUCKETS; i++) {
        for (chan *p = b->chans[i], *next; p; p = next) {
            next = p->next;
            free(p);
        }
        b->chans[i] = NULL;
    }
}

/* c is down (ac already detached or freed by hiredis): say so once, retry. */
static void lost(sb_bus *b, rconn *c, const char *why)
{
    bool was_up = c->up, was_failed = c->failed;
    /* a connection that dies as soon as it is up (a Redis that refuses
     * something) keeps backing off: only one that lived resets the delay */
    if (was_up && sb_mono_us() - c->up_at > 5 * 1000000)
        c->attempt = 0;
    c->ac = NULL;
    c->connected = c->ready = c->up = false;
    c->failed = true;
    if (why && why[0])
        snprintf(c->error, sizeof c->error, "%s", why);
    if (c == &b->sub)
        clear_chans(b);
    evtimer_del(c->timeout_ev);
    update_health(b);
    if (was_up || c->attempt == 0)
        sb_log(SB_LOG_WARN, "bus_down", "conn=%s redis=%s error=\"%s\"", c->name, b->url_safe,
               c->error);
    else
        sb_log(SB_LOG_DEBUG, "bus_down", "conn=%s redis=%s error=\"%s\" attempt=%d", c->name,
               b->url_safe, c->error, c->attempt);
    /* the subscription's outage begins (its gap handlers run when it is
     * back): once per outage, however many attempts fail meanwhile */
    if (c == &b->sub && !was_failed)
        for (size_t i = 0; i < b->n_downs; i++)
            b->downs[i].fn(b->downs[i].arg);
    schedule_retry(b, c);
}

/* Drop the context ourselves (timeout, a refused AUTH, shutdown). */
static void drop(sb_bus *b, rconn *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    if (!ac)
        return;
    /* the callbacks hiredis runs while freeing see a stale context, and
     * nothing may be sent on it any more */
    c->ac = NULL;
    c->connected = c->ready = c->up = false;
    if (ac->c.flags & REDIS_IN_CALLBACK)
        redisAsyncDisconnect(ac); /* freed once the callback returns */
    else
        redisAsyncFree(ac);
    if (!b->closing)
        lost(b, c, why);
}

static rconn *conn_of(const redisAsyncContext *ac)
{
    return ac->data;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rconn *c = conn_of(ac);
    sb_bus *b = c->bus;
    if (c->ac != ac)
        return;
    if (status != REDIS_OK) {
        char why[160];
        snprintf(why, sizeof why, "%s", ac->errstr ? ac->errstr : "connect failed");
        c->ac = NULL; /* hiredis frees it after this callback */
        lost(b, c, why);
        return;
    }
    c->connected = true;
    /* a TCP connect proves little (a stopped Redis' kernel accepts it): the
     * connection is up once Redis has answered, within DEAD_MS */
    struct timeval tv = {DEAD_MS / 1000, (DEAD_MS % 1000) * 1000};
    evtimer_add(c->timeout_ev, &tv);
    if (c == &b->pub)
        pub_ready(b);
    else
        sub_ready(b);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rconn *c = conn_of(ac);
    if (c->ac != ac)
        return;
    char why[160];
    snprintf(why, sizeof why, "%s",
             status == REDIS_OK ? "connection closed"
             : ac->errstr       ? ac->errstr
                                : "lost");
    lost(c->bus, c, why);
}

static void connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rconn *c = arg;
    drop(c->bus, c, c->connected ? "no answer for 10 s" : "connect timed out");
}

static void retry_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rconn *c = arg;
    start_connect(c->bus, c);
}

static void start_connect(sb_bus *b, rconn *c)
{
    if (b->closing || c->ac)
        return;
    redisAsyncContext *ac =
        b->unix_socket ? redisAsyncConnectUnix(b->path) : redisAsyncConnect(b->host, b->port);
    if (!ac) {
        lost(b, c, "out of memory");
        return;
    }
    if (ac->err) {
        char why[160];
        snprintf(why, sizeof why, "%s", ac->errstr);
        redisAsyncFree(ac);
        lost(b, c, why);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, b->base) != REDIS_OK) {
        redisAsyncFree(ac);
        lost(b, c, "cannot attach to the event loop");
        return;
    }
    /* a peer that vanished without a FIN (a partition) is noticed in
     * minutes rather than never (TCP only: on a unix socket it fails, and
     * hiredis would take the failure for the connection's) */
    if (!b->unix_socket)
        redisEnableKeepAlive(&ac->c);
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
    evtimer_add(c->timeout_ev, &tv);
}

/* An AUTH (or SELECT) refused: the URL is wrong; retrying keeps the node
 * trying with backoff, and the reason is in /healthz and the log. */
static bool reply_ok(rconn *c, redisReply *r, const char *what)
{
    if (r && r->type != REDIS_REPLY_ERROR)
        return true;
    char why[160];
    snprintf(why, sizeof why, "%s refused: %.100s", what, r ? r->str : "no reply");
    if (c->ac)
        drop(c->bus, c, why);
    return false;
}

static void send_auth(rconn *c, redisCallbackFn *fn)
{
    sb_bus *b = c->bus;
    if (b->user[0])
        redisAsyncCommand(c->ac, fn, c, "AUTH %s %s", b->user, b->password);
    else
        redisAsyncCommand(c->ac, fn, c, "AUTH %s", b->password);
}

/* Publishing --------------------------------------------------------------- */

static void put_u8(sb_buf *m, unsigned v)
{
    char c = (char)(unsigned char)v;
    sb_buf_put(m, &c, 1);
}

static void put_be(sb_buf *m, uint64_t v, int bytes)
{
    unsigned char tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    sb_buf_put(m, tmp, (size_t)bytes);
}

static void header(sb_bus *b, unsigned flags, uint64_t pos, size_t n_topics)
{
    sb_buf_reset(&b->msg);
    put_u8(&b->msg, MAGIC);
    put_u8(&b->msg, flags);
    size_t nl = strlen(b->node_id);
    put_u8(&b->msg, (unsigned)nl);
    sb_buf_put(&b->msg, b->node_id, nl);
    put_be(&b->msg, ++b->seq, 8);
    if (flags & FLAG_POSITION)
        put_be(&b->msg, pos, 8);
    put_be(&b->msg, n_topics, 2);
}

static void maybe_notice(sb_bus *b);

static void drop_count(sb_bus *b, sb_counter *m, const char *reason, uint64_t n)
{
    sb_counter_add(m, n);
    b->gap_pending = true;
    sb_log_every(&b->drop_log, 1000, SB_LOG_WARN, "bus_dropped", "reason=%s redis=%s", reason,
                 b->url_safe);
    maybe_notice(b); /* now if publishing works (too_large), else once it does */
}

static void published(redisAsyncContext *ac, void *reply, void *priv)
{
    rconn *c = conn_of(ac);
    sb_bus *b = c->bus;
    size_t len = (size_t)(uintptr_t)priv;
    b->inflight--;
    b->inflight_bytes -= len;
    if (b->closing)
        return;
    redisReply *r = reply;
    if (r && c->ac == ac) {
        b->last_reply = sb_mono_us();
        if (len == 0 && r->type == REDIS_REPLY_INTEGER) /* a heartbeat: nothing else is empty */
            b->hb_acked = b->last_reply;
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (len == 0)
            return; /* a heartbeat: nothing for the others to catch up on */
        /* lost with the connection (or refused): it may or may not have
         * reached the others; a gap notice makes them catch up either way */
        drop_count(b, b->m_dropped_in_flight, "in_flight", 1);
        return;
    }
    if (b->gap_pending)
        maybe_notice(b);
}

/* One PUBLISH: false when it could not be queued. */
static bool publish_one(sb_bus *b, const char *channel, size_t clen, const char *msg, size_t len)
{
    if (redisAsyncCommand(b->pub.ac, published, (void *)(uintptr_t)len, "PUBLISH %b %b", channel,
                          clen, msg, len) != REDIS_OK)
        return false;
    b->inflight++;
    b->inflight_bytes += len;
    sb_counter_add(b->m_publish_commands, 1);
    return true;
}

static bool can_publish(sb_bus *b, size_t len)
{
    if (!b->pub.up) {
        drop_count(b, b->m_dropped_down, "redis_down", 1);
        return false;
    }
    if (b->inflight >= BACKLOG_COMMANDS || b->inflight_bytes + len > BACKLOG_BYTES) {
        drop_count(b, b->m_dropped_backlog, "backlog", 1);
        return false;
    }
    return true;
}

/* Publishes were dropped: tell the others once this connection works. */
static void maybe_notice(sb_bus *b)
{
    if (!b->gap_pending || !b->pub.up || b->inflight >= BACKLOG_COMMANDS / 2)
        return;
    header(b, FLAG_GAP, 0, 0);
    put_be(&b->msg, 0, 4);
    if (b->msg.oom)
        return;
    b->gap_pending = false;
    if (publish_one(b, GAP_CHANNEL, strlen(GAP_CHANNEL), b->msg.data, b->msg.len)) {
        sb_counter_add(b->m_gap_notices, 1);
        sb_log(SB_LOG_INFO, "bus_gap_notice", "node=%s", b->node_id);
    } else {
        b->gap_pending = true;
    }
}

void sb_bus_publish(sb_bus *b, const char *const *topics, size_t n, const char *frame, size_t len,
                    bool binary, bool positioned, uint64_t pos)
{
    if (!b || n == 0)
        return;
    if (len > SB_BUS_FRAME_MAX || n > SB_BUS_TOPICS_MAX) {
        char t[2 * SB_TOPIC_MAX];
        sb_log(SB_LOG_WARN, "bus_too_large", "topic=%s topics=%zu bytes=%zu max=%zu",
               sb_log_kv_str(t, sizeof t, topics[0]), n, len, SB_BUS_FRAME_MAX);
        drop_count(b, b->m_dropped_too_large, "too_large", 1);
        return;
    }
    if (!can_publish(b, len * n))
        return;
    /* one bus message, written once, published on each topic's channel */
    header(b, (binary ? FLAG_BINARY : 0) | (positioned ? FLAG_POSITION : 0), pos, n);
    for (size_t i = 0; i < n; i++) {
        size_t tl = strlen(topics[i]);
        put_u8(&b->msg, (unsigned)tl);
        sb_buf_put(&b->msg, topics[i], tl);
    }
    put_be(&b->msg, len, 4);
    sb_buf_put(&b->msg, frame, len);
    if (b->msg.oom) {
        sb_buf_free(&b->msg);
        sb_buf_init(&b->msg);
        drop_count(b, b->m_dropped_backlog, "out_of_memory", 1);
        return;
    }
    char channel[sizeof CHANNEL_PREFIX + SB_TOPIC_MAX];
    for (size_t i = 0; i < n; i++) {
        int cl = snprintf(channel, sizeof channel, CHANNEL_PREFIX "%s", topics[i]);
        if (!publish_one(b, channel, (size_t)cl, b->msg.data, b->msg.len)) {
            drop_count(b, b->m_dropped_down, "redis_down", 1);
            return;
        }
    }
    sb_counter_add(b->m_published, 1);
    /* a huge turn must not keep its memory for ever */
    if (b->msg.cap > ((size_t)4 << 20)) {
        sb_buf_free(&b->msg);
        sb_buf_init(&b->msg);
    }
}

int sb_bus_publish_raw(sb_bus *b, const char *channel, const char *msg, size_t len)
{
    if (!b || !can_publish(b, len))
        return -1;
    if (!publish_one(b, channel, strlen(channel), msg, len)) {
        drop_count(b, b->m_dropped_down, "redis_down", 1);
        return -1;
    }
    return 0;
}

static void pub_authed(redisAsyncContext *ac, void *reply, void *priv)
{
    rconn *c = priv;
    if (c->ac != ac || !reply_ok(c, reply, "AUTH"))
        return;
}

static void pub_up(redisAsyncContext *ac, void *reply, void *priv)
{
    rconn *c = priv;
    sb_bus *b = c->bus;
    if (c->ac != ac || !reply_ok(c, reply, "PING"))
        return;
    evtimer_del(c->timeout_ev);
    c->ready = c->up = true;
    c->up_at = b->last_reply = sb_mono_us();
    c->error[0] = '\0';
    if (c->failed)
        sb_log(SB_LOG_INFO, "bus_up", "conn=publish redis=%s", b->url_safe);
    c->failed = false;
    update_health(b);
    maybe_notice(b);
}

static void pub_ready(sb_bus *b)
{
    rconn *c = &b->pub;
    /* AUTH and SELECT first: a refusal drops the connection; then PING,
     * whose answer makes it up (publishes before it are dropped) */
    if (b->password[0])
        send_auth(c, pub_authed);
    if (b->db)
        redisAsyncCommand(c->ac, pub_authed, c, "SELECT %d", b->db);
    redisAsyncCommand(c->ac, pub_up, c, "PING");
}

/* Receiving --------------------------------------------------------------- */

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void malformed(sb_bus *b, const char *channel, size_t clen, const char *why)
{
    char ch[2 * 160];
    sb_counter_add(b->m_malformed, 1);
    sb_log_every(&b->malformed_log, 1000, SB_LOG_WARN, "bus_malformed", "channel=%s error=\"%s\"",
                 sb_log_kv_strn(ch, sizeof ch, channel, clen < 150 ? clen : 150), why);
}

typedef struct parsed {
    unsigned flags;
    const char *node;
    size_t node_len;
    uint64_t seq;
    uint64_t pos; /* FLAG_POSITION */
    size_t n_topics;
    const unsigned char *topics; /* k x (u8 len, bytes) */
    const char *frame;
    size_t len;
} parsed;

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* NULL, or what is wrong with it. */
static const char *parse(const char *msg, size_t len, parsed *out)
{
    const unsigned char *p = (const unsigned char *)msg, *end = p + len;
    if (len < 3 || p[0] != MAGIC)
        return "bad magic or version";
    out->flags = p[1];
    if (out->flags & ~(unsigned)(FLAG_BINARY | FLAG_GAP | FLAG_POSITION))
        return "unknown flags";
    if ((out->flags & FLAG_GAP) && (out->flags & (FLAG_BINARY | FLAG_POSITION)))
        return "a gap notice with a frame's flags";
    out->node_len = p[2];
    p += 3;
    if (out->node_len == 0 || out->node_len > SB_BUS_NODE_MAX || (size_t)(end - p) < out->node_len)
        return "bad node id";
    out->node = (const char *)p;
    p += out->node_len;
    if (end - p < 10)
        return "truncated header";
    out->seq = get_be(p, 8);
    p += 8;
    out->pos = 0;
    if (out->flags & FLAG_POSITION) {
        if (end - p < 10)
            return "truncated header";
        out->pos = get_be(p, 8);
        p += 8;
    }
    out->n_topics = (size_t)get_be(p, 2);
    p += 2;
    if (out->n_topics > SB_BUS_TOPICS_MAX)
        return "too many topics";
    if ((out->n_topics == 0) != ((out->flags & FLAG_GAP) != 0))
        return "topics missing (or listed in a gap notice)";
    out->topics = p;
    for (size_t i = 0; i < out->n_topics; i++) {
        if (p >= end)
            return "truncated topic list";
        size_t tl = *p++;
        if (tl == 0 || tl >= SB_TOPIC_MAX || (size_t)(end - p) < tl)
            return "bad topic";
        if (memchr(p, '\0', tl))
            return "NUL in a topic";
        p += tl;
    }
    if (end - p < 4)
        return "truncated frame length";
    out->len = (size_t)get_be(p, 4);
    p += 4;
    if (out->len > SB_BUS_FRAME_MAX)
        return "frame too large";
    if ((size_t)(end - p) != out->len)
        return "frame length does not match";
    out->frame = (const char *)p;
    return NULL;
}

static bool seen(sb_bus *b, uint64_t node, uint64_t seq)
{
    /* newest first: a copy on another channel is usually a few messages
     * behind the first */
    for (size_t k = 1; k <= RECENT; k++) {
        const recent_id *r = &b->recent[(b->recent_next + RECENT - k) % RECENT];
        if (r->seq == seq && r->node == node)
            return true;
    }
    b->recent[b->recent_next] = (recent_id){node, seq};
    b->recent_next = (b->recent_next + 1) % RECENT;
    return false;
}

/* A message copied for sb_rt_call_later (already checked whole). */
typedef struct raw_msg {
    size_t len;
    char data[];
} raw_msg;

static void deliver_unit(struct sb_ctx *ctx, void *arg);

static void deliver_copy(struct sb_ctx *ctx, void *arg)
{
    raw_msg *r = arg;
    parsed m;
    if (!parse(r->data, r->len, &m))
        deliver_unit(ctx, &m);
}

/* In a unit of its own, like a local handler's topic frame: the same
 * back-pressure, endpoints and counters; nothing is committed or
 * re-published. */
static void deliver_unit(struct sb_ctx *ctx, void *arg)
{
    const parsed *m = arg;
    sb_counter *reached = ((sb_bus *)sb_rt_bus(ctx->rt))->m_deliveries;
    sb_outbox_remote(ctx->out);
    const unsigned char *p = m->topics;
    char key[SB_TOPIC_MAX];
    for (size_t i = 0; i < m->n_topics; i++) {
        size_t tl = *p++;
        memcpy(key, p, tl);
        key[tl] = '\0';
        p += tl;
        if (i == 0) {
            sb_buf_put(sb_outbox_topic(ctx->out, key, reached), m->frame, m->len);
            if (m->flags & FLAG_BINARY)
                sb_outbox_binary(ctx->out);
            if (m->flags & FLAG_POSITION)
                sb_outbox_position(ctx->out, m->pos);
        } else {
            sb_outbox_also(ctx->out, key);
        }
    }
}

/* The gap handlers, now, each queueing its effects in units of its own
 * (closes, fresh states): everything delivered after this is queued behind
 * them. Never from inside a unit (a hiredis reply callback is none). */
static void run_gaps(sb_bus *b, const char *why)
{
    sb_counter_add(b->m_gaps, 1);
    evtimer_del(b->gap_ev);
    sb_log(SB_LOG_INFO, "bus_gap", "node=%s cause=%s handlers=%zu", b->node_id, why, b->n_gaps);
    for (size_t i = 0; i < b->n_gaps; i++)
        b->gaps[i].fn(b->gaps[i].arg);
}

/* From inside a unit (topic_first runs in a handler's): on the next loop
 * turn. Remote frames are not delivered meanwhile (gap_owed). */
static void run_gaps_soon(sb_bus *b)
{
    if (!evtimer_pending(b->gap_ev, NULL)) {
        struct timeval tv = {0, 0};
        evtimer_add(b->gap_ev, &tv);
    }
}

/* A gap was found and its handlers have not run yet: another node's frame
 * received now is not delivered. Delivered before the handlers' closes, it
 * would move a chat client's newest ID past the messages lost in the gap,
 * and the client would resume after them (docs/decisions.md, "Redis bus").
 * The handlers recover it from the database: they run after it was
 * committed. */
static bool gap_owed(const sb_bus *b)
{
    return b->sub.failed || evtimer_pending(b->gap_ev, NULL);
}

static void heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sb_bus *b = arg;
    int64_t now = sb_mono_us();
    if (b->pub.up && b->inflight > 0 && now - b->last_reply > DEAD_MS * 1000LL) {
        drop(b, &b->pub, "no answer for 10 s");
    } else if (b->pub.up && b->inflight < BACKLOG_COMMANDS) {
        publish_one(b, b->hb_channel, strlen(b->hb_channel), "", 0);
    }
    /* Redis handed our heartbeats out for 10 s and this node's
     * subscription heard none of them: it is dead */
    if (b->sub.up && b->hb_acked - b->last_hb > DEAD_MS * 1000LL)
        drop(b, &b->sub, "no heartbeat heard for 10 s");
}

static void gap_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_gaps(arg, "subscribe_failed");
}

static void on_bus_message(sb_bus *b, const char *channel, size_t clen, const char *msg, size_t len)
{
    sb_counter_add(b->m_received, 1);
    parsed m;
    const char *why = parse(msg, len, &m);
    if (why) {
        malformed(b, channel, clen, why);
        return;
    }
    bool gap_channel = clen == strlen(GAP_CHANNEL) && memcmp(channel, GAP_CHANNEL, clen) == 0;
    if (gap_channel != ((m.flags & FLAG_GAP) != 0)) {
        malformed(b, channel, clen, gap_channel ? "not a gap notice" : "gap notice off sb:gap");
        return;
    }
    if (m.node_len == strlen(b->node_id) && memcmp(m.node, b->node_id, m.node_len) == 0) {
        sb_counter_add(b->m_own, 1); /* delivered locally already */
        return;
    }
    if (seen(b, fnv(m.node, m.node_len), m.seq)) {
        sb_counter_add(b->m_duplicate, 1);
        return;
    }
    if (m.flags & FLAG_GAP) {
        char node[2 * SB_BUS_NODE_MAX + 8];
        sb_log(SB_LOG_WARN, "bus_gap_reported", "from=%s",
               sb_log_kv_strn(node, sizeof node, m.node, m.node_len));
        /* at once, before the next message is read: what follows the
         * notice is queued behind the handlers' effects */
        run_gaps(b, "notice");
        return;
    }
    if (gap_owed(b)) {
        sb_counter_add(b->m_ignored_gap, 1);
        return;
    }
    sb_counter_add(b->m_delivered, 1);
    /* on PostgreSQL as a job: after the local handler calls queued before
     * it, without waiting for their statements here; the message is copied
     * (hiredis frees its reply when this returns) and read again there */
    raw_msg *copy = sb_rt_queues_calls(b->rt) ? malloc(sizeof *copy + len) : NULL;
    if (!copy) {
        sb_rt_call(b->rt, 0, NULL, deliver_unit, &m);
        return;
    }
    copy->len = len;
    memcpy(copy->data, msg, len);
    sb_rt_call_later(b->rt, 0, NULL, deliver_copy, copy, free);
}

/* The subscribe connection's channels ---------------------------------------- */

static chan **chan_slot(sb_bus *b, const char *key)
{
    chan **pp = &b->chans[fnv(key, strlen(key)) % CHAN_BUCKETS];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void subscribed(redisAsyncContext *ac, void *reply, void *priv);

static void send_subscribe(sb_bus *b, const char *key)
{
    redisAsyncCommand(b->sub.ac, subscribed, b, "SUBSCRIBE " CHANNEL_PREFIX "%s", key);
}

static void topic_first(void *arg, const char *key)
{
    sb_bus *b = arg;
    if (!b->sub.ready)
        return; /* sub_ready subscribes every topic there is then */
    chan **pp = chan_slot(b, key);
    if (*pp) {
        (*pp)->wanted = true; /* UNSUBSCRIBING: subscribed again at its reply */
        return;
    }
    size_t n = strlen(key);
    chan *c = malloc(sizeof *c + n + 1);
    if (!c) {
        /* unsubscribed, so this node would miss the topic's remote
         * messages: recover like after any gap */
        sb_log(SB_LOG_ERROR, "bus", "msg=\"out of memory\"");
        run_gaps_soon(b);
        return;
    }
    memcpy(c->key, key, n + 1);
    c->state = CH_SUBSCRIBED;
    c->wanted = true;
    c->confirmed = false;
    c->next = NULL;
    *pp = c;
    send_subscribe(b, key);
}

static void topic_last(void *arg, const char *key)
{
    sb_bus *b = arg;
    if (!b->sub.ready)
        return;
    for (waiter **pp = &b->waiters; *pp;) {
        waiter *w = *pp;
        if (strcmp(w->topic, key) == 0) { /* their connections are gone */
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    chan *c = *chan_slot(b, key);
    if (!c)
        return;
    c->wanted = false;
    if (c->state == CH_SUBSCRIBED) {
        c->state = CH_UNSUBSCRIBING;
        redisAsyncCommand(b->sub.ac, NULL, NULL, "UNSUBSCRIBE " CHANNEL_PREFIX "%s", key);
    }
}

static void unsubscribed(sb_bus *b, const char *channel, size_t clen)
{
    size_t pl = strlen(CHANNEL_PREFIX);
    if (clen <= pl || clen - pl >= SB_TOPIC_MAX)
        return;
    char key[SB_TOPIC_MAX];
    memcpy(key, channel + pl, clen - pl);
    key[clen - pl] = '\0';
    chan **pp = chan_slot(b, key);
    chan *c = *pp;
    if (!c || c->state != CH_UNSUBSCRIBING)
        return;
    if (c->wanted) {
        c->state = CH_SUBSCRIBED;
        c->confirmed = false;
        send_subscribe(b, key);
    } else {
        *pp = c->next;
        free(c);
    }
}

/* Redis confirmed a topic's SUBSCRIBE: from now on the others' frames of it
 * reach this node (what was published before is in the database only). The
 * waiters of the topic run now, before any frame that follows. */
static void topic_confirmed(sb_bus *b, const char *channel, size_t clen)
{
    size_t pl = strlen(CHANNEL_PREFIX);
    if (clen <= pl || clen - pl >= SB_TOPIC_MAX)
        return;
    char key[SB_TOPIC_MAX];
    memcpy(key, channel + pl, clen - pl);
    key[clen - pl] = '\0';
    chan *c = *chan_slot(b, key);
    if (!c || c->state != CH_SUBSCRIBED || c->confirmed)
        return;
    c->confirmed = true;
    /* unlinked first: fn may add waiters */
    waiter *mine = NULL;
    for (waiter **pp = &b->waiters; *pp;) {
        waiter *w = *pp;
        if (strcmp(w->topic, key) == 0) {
            *pp = w->next;
            w->next = mine;
            mine = w;
        } else {
            pp = &w->next;
        }
    }
    while (mine) {
        waiter *w = mine;
        mine = w->next;
        w->fn(w->arg, w->id);
        free(w);
    }
}

static bool is_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS;
}

/* Every reply of a subscribed channel: its (un)subscribe confirmations and
 * its messages. NULL when hiredis frees the context. */
static void subscribed(redisAsyncContext *ac, void *reply, void *priv)
{
    sb_bus *b = priv;
    redisReply *r = reply;
    if (!r || b->sub.ac != ac || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        !is_str(r->element[0]) || !is_str(r->element[1]))
        return;
    const char *kind = r->element[0]->str;
    const redisReply *ch = r->element[1];
    if (strcmp(kind, "message") == 0 && ch->len == strlen(b->hb_channel) &&
        memcmp(ch->str, b->hb_channel, ch->len) == 0) {
        b->last_hb = sb_mono_us();
    } else if (strcmp(kind, "message") == 0 && is_str(r->element[2])) {
        on_bus_message(b, ch->str, ch->len, r->element[2]->str, r->element[2]->len);
    } else if (strcmp(kind, "unsubscribe") == 0) {
        unsubscribed(b, ch->str, ch->len);
    } else if (strcmp(kind, "subscribe") == 0 && ch->len > strlen(CHANNEL_PREFIX) &&
               memcmp(ch->str, CHANNEL_PREFIX, strlen(CHANNEL_PREFIX)) == 0) {
        topic_confirmed(b, ch->str, ch->len);
    } else if (strcmp(kind, "subscribe") == 0 && ch->len == strlen(GAP_CHANNEL) &&
               memcmp(ch->str, GAP_CHANNEL, ch->len) == 0 && !b->sub.up) {
        /* sb:gap is subscribed after everything else: every subscription
         * is in place now */
        bool gap = b->sub.failed;
        evtimer_del(b->sub.timeout_ev);
        b->sub.up = true;
        b->sub.up_at = b->last_hb = sb_mono_us();
        b->sub.failed = false;
        b->sub.error[0] = '\0';
        update_health(b);
        sb_log(gap ? SB_LOG_INFO : SB_LOG_DEBUG, "bus_up", "conn=subscribe redis=%s topics=%zu",
               b->url_safe, sb_topics_count(sb_rt_topics(b->rt)));
        /* what was published meanwhile is in the database only; every
         * subscription is in place now, so what the handlers read misses
         * nothing that comes later, and what comes later is queued behind
         * their effects (frames before this one were not delivered:
         * gap_owed) */
        if (gap)
            run_gaps(b, "subscribe_down");
    }
}

static void raw_message(redisAsyncContext *ac, void *reply, void *priv)
{
    raw_sub *s = priv;
    redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 4 || !is_str(r->element[0]) ||
        strcmp(r->element[0]->str, "pmessage") != 0 || !is_str(r->element[2]) ||
        !is_str(r->element[3]))
        return;
    rconn *c = conn_of(ac);
    if (c->ac != ac)
        return;
    s->fn(s->arg, r->element[2]->str, r->element[2]->len, r->element[3]->str, r->element[3]->len);
}

static void send_psubscribe(sb_bus *b, raw_sub *s)
{
    redisAsyncCommand(b->sub.ac, raw_message, s, "PSUBSCRIBE %s", s->pattern);
}

static void each_topic(void *arg, const char *key)
{
    topic_first(arg, key);
}

static void subscribe_all(sb_bus *b)
{
    rconn *c = &b->sub;
    c->ready = true;
    for (size_t i = 0; i < b->n_raws; i++)
        send_psubscribe(b, &b->raws[i]);
    sb_topics_each(sb_rt_topics(b->rt), each_topic, b);
    redisAsyncCommand(c->ac, subscribed, b, "SUBSCRIBE %s", b->hb_channel);
    /* last: its confirmation says the others are in place (subscribed()) */
    redisAsyncCommand(c->ac, subscribed, b, "SUBSCRIBE " GAP_CHANNEL);
}

static void sub_authed(redisAsyncContext *ac, void *reply, void *priv)
{
    rconn *c = priv;
    if (c->ac != ac || !reply_ok(c, reply, "AUTH"))
        return;
    subscribe_all(c->bus);
}

static void sub_ready(sb_bus *b)
{
    if (b->password[0])
        send_auth(&b->sub, sub_authed);
    else
        subscribe_all(b);
}

/* Life cycle --------------------------------------------------------------- */

static void default_node_id(char *dst, size_t n)
{
    char host[128];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "node");
    host[sizeof host - 1] = '\0';
    snprintf(dst, n, "%.*s:%ld", (int)(n > 24 ? n - 24 : 1), host, (long)getpid());
    for (char *p = dst; *p; p++) /* a label value: sb_bus_check_node_id */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == ':'))
            *p = '-';
}

static bool init_conn(sb_bus *b, rconn *c, const char *name)
{
    c->bus = b;
    c->name = name;
    c->retry_ev = evtimer_new(b->base, retry_due, c);
    c->timeout_ev = evtimer_new(b->base, connect_timeout, c);
    snprintf(c->error, sizeof c->error, "connecting");
    return c->retry_ev && c->timeout_ev;
}

sb_bus *sb_bus_new(struct event_base *base, sb_rt *rt, const char *url, const char *node_id,
                   char *err, size_t errn)
{
    sb_bus *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errn, "out of memory");
        return NULL;
    }
    b->base = base;
    b->rt = rt;
    sb_buf_init(&b->msg);
    if (parse_url(b, url, err, errn) != 0) {
        free(b);
        return NULL;
    }
    sb_config_redact_url(b->url_safe, sizeof b->url_safe, url);
    if (node_id && node_id[0])
        snprintf(b->node_id, sizeof b->node_id, "%s", node_id);
    else
        default_node_id(b->node_id, sizeof b->node_id);
    if (sb_bus_check_node_id(b->node_id, err, errn) != 0) {
        free(b);
        return NULL;
    }
    b->node_hash = fnv(b->node_id, strlen(b->node_id));
    /* unique across restarts of a node with the same --node-id (a restart
     * within RECENT messages would otherwise look like duplicates) */
    struct timeval now;
    gettimeofday(&now, NULL);
    b->seq = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_usec;
    srand((unsigned)(b->seq ^ (uint64_t)getpid()));
    b->gap_ev = evtimer_new(base, gap_due, b);
    b->hb_ev = event_new(base, -1, EV_PERSIST, heartbeat, b);
    if (!b->gap_ev || !b->hb_ev || !init_conn(b, &b->pub, "publish") ||
        !init_conn(b, &b->sub, "subscribe")) {
        snprintf(err, errn, "out of memory");
        sb_bus_free(b);
        return NULL;
    }
    b->m_published = sb_counter_get("switchboard_bus_published_total",
                                    "bus messages published (one per frame, all its topics)", NULL);
    b->m_publish_commands =
        sb_counter_get("switchboard_bus_publish_commands_total",
                       "PUBLISH commands sent (one per topic of a bus message)", NULL);
    b->m_received = sb_counter_get("switchboard_bus_received_total",
                                   "bus messages read from Redis, every channel", NULL);
    b->m_delivered =
        sb_counter_get("switchboard_bus_delivered_total",
                       "other nodes' messages handed to local delivery, once each", NULL);
    b->m_deliveries = sb_counter_get(
        "switchboard_bus_deliveries_total",
        "other nodes' frames queued for a local connection (one per connection reached)", NULL);
    b->m_own = sb_counter_get("switchboard_bus_ignored_total",
                              "messages read and not delivered: this node's own, a copy, or one "
                              "read before a gap's handlers ran",
                              "reason=\"own\"");
    b->m_duplicate = sb_counter_get("switchboard_bus_ignored_total", NULL, "reason=\"duplicate\"");
    b->m_ignored_gap = sb_counter_get("switchboard_bus_ignored_total", NULL, "reason=\"gap\"");
    b->m_malformed = sb_counter_get("switchboard_bus_malformed_total",
                                    "bus messages that could not be parsed, dropped", NULL);
    b->m_gaps = sb_counter_get("switchboard_bus_gaps_total",
                               "gaps: this node's subscription was down, or a node reported "
                               "dropped publishes; the modules recover from the database",
                               NULL);
    b->m_gap_notices = sb_counter_get("switchboard_bus_gap_notices_total",
                                      "gap notices this node published on sb:gap", NULL);
    const char *help = "publishes lost (the others are told by a gap notice)";
    b->m_dropped_too_large =
        sb_counter_get("switchboard_bus_dropped_total", help, "reason=\"too_large\"");
    b->m_dropped_down =
        sb_counter_get("switchboard_bus_dropped_total", help, "reason=\"redis_down\"");
    b->m_dropped_backlog =
        sb_counter_get("switchboard_bus_dropped_total", help, "reason=\"backlog\"");
    b->m_dropped_in_flight =
        sb_counter_get("switchboard_bus_dropped_total", help, "reason=\"in_flight\"");
    b->m_up = sb_gauge_new("switchboard_bus_up",
                           "1 while both Redis connections are up and subscribed", NULL);
    char labels[sizeof b->node_id + 16];
    snprintf(labels, sizeof labels, "node=\"%s\"", b->node_id);
    sb_gauge_set(sb_gauge_new("switchboard_bus_info", "this node's --node-id, as a label", labels),
                 1);
    update_health(b);
    sb_topics_set_watch(sb_rt_topics(rt), topic_first, topic_last, b);
    sb_log(SB_LOG_INFO, "bus", "redis=%s node=%s", b->url_safe, b->node_id);
    snprintf(b->hb_channel, sizeof b->hb_channel, HB_PREFIX "%s", b->node_id);
    struct timeval hb = {HEARTBEAT_MS / 1000, (HEARTBEAT_MS % 1000) * 1000};
    event_add(b->hb_ev, &hb);
    start_connect(b, &b->pub);
    start_connect(b, &b->sub);
    return b;
}

void sb_bus_free(sb_bus *b)
{
    if (!b)
        return;
    b->closing = true;
    if (b->rt)
        sb_topics_set_watch(sb_rt_topics(b->rt), NULL, NULL, NULL);
    drop(b, &b->pub, NULL);
    drop(b, &b->sub, NULL);
    rconn *cs[] = {&b->pub, &b->sub};
    for (size_t i = 0; i < 2; i++) {
        if (cs[i]->retry_ev)
            event_free(cs[i]->retry_ev);
        if (cs[i]->timeout_ev)
            event_free(cs[i]->timeout_ev);
    }
    if (b->gap_ev)
        event_free(b->gap_ev);
    if (b->hb_ev)
        event_free(b->hb_ev);
    clear_chans(b);
    while (b->waiters) {
        waiter *w = b->waiters;
        b->waiters = w->next;
        free(w);
    }
    for (size_t i = 0; i < b->n_raws; i++)
        free(b->raws[i].pattern);
    free(b->raws);
    free(b->gaps);
    free(b->downs);
    sb_buf_free(&b->msg);
    memset(b->password, 0, sizeof b->password);
    free(b);
}

const char *sb_bus_node_id(const sb_bus *b)
{
    return b->node_id;
}

int sb_bus_psubscribe(sb_bus *b, const char *pattern, sb_bus_raw_fn fn, void *arg)
{
    if (!b || !pattern || !pattern[0] || !fn)
        return -1;
    /* the array is never moved once a subscription may point into it:
     * hiredis keeps the pointer as the callback's argument */
    if (b->n_raws == 16)
        return -1;
    if (!b->raws && !(b->raws = calloc(16, sizeof *b->raws)))
        return -1;
    raw_sub *s = &b->raws[b->n_raws];
    if (!(s->pattern = strdup(pattern)))
        return -1;
    s->fn = fn;
    s->arg = arg;
    b->n_raws++;
    if (b->sub.ready)
        send_psubscribe(b, s);
    return 0;
}

/* Append (fn, arg) to a handler list; out of memory loses it, logged. */
static void add_handler(gap_handler **list, size_t *n, sb_bus_gap_fn fn, void *arg,
                        const char *what)
{
    gap_handler *p = realloc(*list, (*n + 1) * sizeof *p);
    if (!p) {
        sb_log(SB_LOG_ERROR, "bus", "msg=\"out of memory: a %s handler is lost\"", what);
        return;
    }
    p[(*n)++] = (gap_handler){fn, arg};
    *list = p;
}

void sb_bus_on_gap(sb_bus *b, sb_bus_gap_fn fn, void *arg)
{
    if (b && fn)
        add_handler(&b->gaps, &b->n_gaps, fn, arg, "gap");
}

void sb_bus_on_down(sb_bus *b, sb_bus_gap_fn fn, void *arg)
{
    if (b && fn)
        add_handler(&b->downs, &b->n_downs, fn, arg, "down");
}

bool sb_bus_when_subscribed(sb_bus *b, const char *topic, sb_bus_subscribed_fn fn, void *arg,
                            uint64_t id)
{
    if (!b || !fn)
        return true;
    if (b->sub.ready) {
        const chan *c = *chan_slot(b, topic);
        if (c && c->state == CH_SUBSCRIBED && c->confirmed)
            return true;
    }
    /* not subscribed yet, or Redis down (the subscription comes back with
     * it: subscribe_all, then the confirmation) */
    size_t n = strlen(topic);
    waiter *w = n < SB_TOPIC_MAX ? malloc(sizeof *w) : NULL;
    if (!w) {
        sb_log(SB_LOG_ERROR, "bus", "msg=\"out of memory: a subscription waiter is lost\"");
        return true;
    }
    w->fn = fn;
    w->arg = arg;
    w->id = id;
    memcpy(w->topic, topic, n + 1);
    w->next = b->waiters;
    b->waiters = w;
    return false;
}
