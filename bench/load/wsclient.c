/*
 * wsclient.c: see wsclient.h.
 *
 * Receiving: each readable socket is read into one shared buffer and its
 * complete frames are handed over from there without a copy; only the tail
 * of a frame that has not fully arrived is kept in the connection's own
 * buffer (and the next read appends to it). Fragmented messages are joined
 * in a second per-connection buffer. An idle connection thus holds no
 * buffer at all.
 */
#define _GNU_SOURCE
#include "wsclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE (256 * 1024)
#define MAX_EVENTS 512
#define MAX_MESSAGE (16u << 20)
#define MAX_HANDSHAKE 8192

enum state { ST_CONNECTING, ST_UPGRADING, ST_OPEN, ST_CLOSING, ST_DEAD };

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

struct ws_conn {
    ws_client *cl;
    int fd;
    enum state state;
    bool want_out;   /* EPOLLOUT is registered */
    bool dirty;      /* on the client's flush list */
    bool sent_close; /* our close frame is queued or sent */
    bool got_close;  /* the server's close frame came: waiting for its FIN */
    int close_code;
    char close_reason[64];
    void *user;
    char key[25]; /* Sec-WebSocket-Key, base64 of 16 bytes */
    buf in;       /* bytes read but not yet a whole frame (or the handshake) */
    buf msg;      /* a fragmented message being joined */
    int msg_binary;
    buf out; /* queued bytes; out_off of them already written */
    size_t out_off;
    ws_conn *next_dirty, *next_dead;
    ws_conn *prev, *next; /* every connection not yet finished */
};

struct ws_client {
    int ep;
    ws_callbacks cb;
    unsigned char *rbuf;
    uint64_t rng;
    size_t live;
    ws_conn *dirty; /* connections with queued output */
    ws_conn *dead;  /* closed, freed at the end of the turn */
    ws_conn *all;   /* connections not yet finished */
};

/* Buffers -------------------------------------------------------------- */

static int buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return -1;
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* SHA-1 and base64, for Sec-WebSocket-Accept ------------------------------ */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void sha1(const void *data, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const unsigned char *p = data;
    size_t n = len;
    while (n >= 64) {
        sha1_block(h, p);
        p += 64;
        n -= 64;
    }
    unsigned char last[128] = {0};
    memcpy(last, p, n);
    last[n] = 0x80;
    size_t total = n + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        last[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha1_block(h, last);
    if (total == 128)
        sha1_block(h, last + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

static size_t base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static uint64_t rng_next(ws_client *cl)
{
    /* xorshift64*: masking keys need to be unpredictable to proxies, not
     * cryptographic; a load generator only needs them cheap */
    uint64_t x = cl->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    cl->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Life cycle of a connection ------------------------------------------- */

static void set_events(ws_conn *c, bool want_out)
{
    if (c->want_out == want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->cl->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want_out;
}

static void finish(ws_conn *c, int code, const char *reason)
{
    if (c->state == ST_DEAD)
        return;
    ws_client *cl = c->cl;
    c->state = ST_DEAD;
    epoll_ctl(cl->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    cl->live--;
    if (c->prev)
        c->prev->next = c->next;
    else
        cl->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->next_dead = cl->dead;
    cl->dead = c;
    if (cl->cb.on_close)
        cl->cb.on_close(c, code, reason, c->user);
}

static void conn_free(ws_conn *c)
{
    buf_free(&c->in);
    buf_free(&c->msg);
    buf_free(&c->out);
    free(c);
}

ws_client *ws_client_new(const ws_callbacks *cb)
{
    ws_client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->cb = *cb;
    cl->ep = epoll_create1(EPOLL_CLOEXEC);
    cl->rbuf = malloc(RBUF_SIZE);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cl->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
              0x9E3779B97F4A7C15ULL;
    if (cl->ep < 0 || !cl->rbuf) {
        if (cl->ep >= 0)
            close(cl->ep);
        free(cl->rbuf);
        free(cl);
        return NULL;
    }
    return cl;
}

static void reap(ws_client *cl)
{
    while (cl->dead) {
        ws_conn *c = cl->dead;
        cl->dead = c->next_dead;
        conn_free(c);
    }
}

ws_conn *ws_connect(ws_client *cl, const char *ipv4, int port, const char *resource, void *user)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ipv4, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ws_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    c->cl = cl;
    c->fd = fd;
    c->user = user;
    c->state = ST_CONNECTING;
    unsigned char raw[16];
    uint64_t r1 = rng_next(cl), r2 = rng_next(cl);
    memcpy(raw, &r1, 8);
    memcpy(raw + 8, &r2, 8);
    base64(raw, 16, c->key);
    /* the request is queued now and written once the connect completes */
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     resource, ipv4, port, c->key);
    if (n <= 0 || (size_t)n >= sizeof req || buf_put(&c->out, req, (size_t)n) != 0) {
        conn_free(c);
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        int e = errno;
        conn_free(c);
        close(fd);
        errno = e;
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int e = errno;
        conn_free(c);
        close(fd);
        errno = e;
        return NULL;
    }
    c->want_out = true;
    cl->live++;
    c->next = cl->all;
    if (cl->all)
        cl->all->prev = c;
    cl->all = c;
    return c;
}

/* Output ------------------------------------------------------------------ */

static void mark_dirty(ws_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->next_dirty = c->cl->dirty;
    c->cl->dirty = c;
}

/* Write what is queued; returns -1 when the connection failed (and is
 * finished). */
static int write_out(ws_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, true);
            return 0;
        }
        char why[96];
        snprintf(why, sizeof why, "send: %s", n < 0 ? strerror(errno) : "wrote nothing");
        finish(c, 1006, why);
        return -1;
    }
    c->out.len = c->out_off = 0;
    if (c->out.cap > 64 * 1024) /* do not keep a big buffer for an idle connection */
        buf_free(&c->out);
    if (c->state != ST_CONNECTING)
        set_events(c, false);
    return 0;
}

static int queue_frame(ws_conn *c, int opcode, const void *data, size_t len)
{
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    uint32_t mask = (uint32_t)rng_next(c->cl);
    unsigned char mk[4];
    memcpy(mk, &mask, 4);
    memcpy(hdr + h, mk, 4);
    h += 4;
    if (buf_reserve(&c->out, h + len) != 0)
        return -1;
    unsigned char *dst = c->out.p + c->out.len;
    memcpy(dst, hdr, h);
    dst += h;
    const unsigned char *src = data;
    size_t i = 0;
    /* eight bytes at a time, then the rest */
    uint64_t m8 = (uint64_t)mask | (uint64_t)mask << 32;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m8;
        memcpy(dst + i, &v, 8);
    }
    for (; i < len; i++)
        dst[i] = src[i] ^ mk[i & 3];
    c->out.len += h + len;
    mark_dirty(c);
    return 0;
}

int ws_send_text(ws_conn *c, const char *data, size_t len)
{
    if (c->state != ST_OPEN)
        return -1;
    return queue_frame(c, 0x1, data, len);
}

int ws_flush(ws_conn *c)
{
    if (c->state == ST_DEAD)
        return -1;
    if (c->state == ST_CONNECTING)
        return 0;
    return write_out(c);
}

void ws_close(ws_conn *c, int code)
{
    if (c->state != ST_OPEN)
        return;
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    queue_frame(c, 0x8, p, 2);
    c->sent_close = true;
    c->state = ST_CLOSING;
}

void ws_abort(ws_conn *c, const char *reason)
{
    finish(c, 1006, reason ? reason : "aborted");
}

void *ws_conn_user(const ws_conn *c)
{
    return c->user;
}

void ws_conn_set_user(ws_conn *c, void *user)
{
    c->user = user;
}

int ws_conn_is_open(const ws_conn *c)
{
    return c->state == ST_OPEN;
}

size_t ws_conn_pending(const ws_conn *c)
{
    return c->out.len - c->out_off;
}

size_t ws_client_live(const ws_client *cl)
{
    return cl->live;
}

int ws_client_fd(const ws_client *cl)
{
    return cl->ep;
}

/* Input ------------------------------------------------------------------- */

/* The handshake answer: returns bytes consumed, 0 when it is incomplete, -1
 * when it is wrong (the connection is then finished). */
static long handshake(ws_conn *c, const unsigned char *p, size_t len)
{
    const char *s = (const char *)p;
    const char *end = memmem(s, len, "\r\n\r\n", 4);
    if (!end) {
        if (len > MAX_HANDSHAKE) {
            finish(c, 1006, "handshake: answer too long");
            return -1;
        }
        return 0;
    }
    size_t hlen = (size_t)(end - s) + 4;
    if (hlen < 12 || memcmp(s, "HTTP/1.1 101", 12) != 0) {
        char why[128];
        const char *eol = memchr(s, '\r', hlen);
        snprintf(why, sizeof why, "handshake: %.*s", (int)(eol ? eol - s : 40), s);
        finish(c, 1006, why);
        return -1;
    }
    /* Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)) */
    char expect[64], cat[64];
    unsigned char digest[20];
    int n = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
    sha1(cat, (size_t)n, digest);
    base64(digest, 20, expect);
    bool ok = false;
    for (const char *line = s; line < end;) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (!eol)
            break;
        static const char name[] = "sec-websocket-accept:";
        if ((size_t)(eol - line) > sizeof name - 1 &&
            strncasecmp(line, name, sizeof name - 1) == 0) {
            const char *v = line + sizeof name - 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            ok = (size_t)(ve - v) == strlen(expect) && memcmp(v, expect, strlen(expect)) == 0;
        }
        line = eol + 2;
    }
    if (!ok) {
        finish(c, 1006, "handshake: wrong or missing Sec-WebSocket-Accept");
        return -1;
    }
    c->state = ST_OPEN;
    if (c->cl->cb.on_open)
        c->cl->cb.on_open(c, c->user);
    return (long)hlen;
}

static void deliver(ws_conn *c, const unsigned char *data, size_t len, int binary)
{
    if (c->cl->cb.on_message && !c->got_close && (c->state == ST_OPEN || c->state == ST_CLOSING))
        c->cl->cb.on_message(c, (const char *)data, len, binary, c->user);
}

/* One frame from p; returns its size, 0 when incomplete, -1 when the
 * connection was finished. */
static long frame(ws_conn *c, const unsigned char *p, size_t avail)
{
    if (avail < 2)
        return 0;
    int fin = p[0] & 0x80, op = p[0] & 0x0f;
    if (p[0] & 0x70) {
        finish(c, 1006, "frame: reserved bits set");
        return -1;
    }
    if (p[1] & 0x80) {
        finish(c, 1006, "frame: masked frame from the server");
        return -1;
    }
    uint64_t plen = p[1] & 0x7f;
    size_t h = 2;
    if (plen == 126) {
        if (avail < 4)
            return 0;
        plen = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (plen == 127) {
        if (avail < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | p[2 + i];
        h = 10;
    }
    if (plen > MAX_MESSAGE) {
        finish(c, 1006, "frame: too big");
        return -1;
    }
    if (avail < h + plen)
        return 0;
    const unsigned char *pl = p + h;
    size_t len = (size_t)plen;
    switch (op) {
    case 0x0: /* continuation */
        if (buf_put(&c->msg, pl, len) != 0) {
            finish(c, 1006, "out of memory");
            return -1;
        }
        if (fin) {
            deliver(c, c->msg.p, c->msg.len, c->msg_binary);
            if (c->state == ST_DEAD)
                return -1;
            buf_free(&c->msg);
        }
        break;
    case 0x1:
    case 0x2:
        if (fin) {
            deliver(c, pl, len, op == 0x2);
            if (c->state == ST_DEAD)
                return -1;
        } else {
            c->msg.len = 0;
            c->msg_binary = op == 0x2;
            if (buf_put(&c->msg, pl, len) != 0) {
                finish(c, 1006, "out of memory");
                return -1;
            }
        }
        break;
    case 0x8: { /* close */
        /* Answer it (unless we began), then wait for the server to close
         * the TCP connection: the side that closes first keeps the
         * TIME_WAIT, and it should be the server's, whose port is the
         * listening one, not one of our ephemeral ports (19k connections
         * a run soon use up the range otherwise). */
        int code = len >= 2 ? (pl[0] << 8 | pl[1]) : 1005;
        size_t rl = len > 2 ? len - 2 : 0;
        if (rl >= sizeof c->close_reason)
            rl = sizeof c->close_reason - 1;
        memcpy(c->close_reason, pl + 2 * (len >= 2), rl);
        c->close_reason[rl] = '\0';
        c->close_code = code;
        c->got_close = true;
        c->state = ST_CLOSING;
        if (!c->sent_close) {
            unsigned char cp[2] = {(unsigned char)(code >> 8), (unsigned char)code};
            queue_frame(c, 0x8, cp, code == 1005 ? 0 : 2);
            c->sent_close = true;
            if (write_out(c) != 0)
                return -1;
        }
        break;
    }
    case 0x9: /* ping */
        if (c->state == ST_OPEN)
            queue_frame(c, 0xA, pl, len);
        break;
    case 0xA: /* pong */
        break;
    default:
        finish(c, 1006, "frame: unknown opcode");
        return -1;
    }
    return (long)(h + len);
}

/* Parse what is in p; returns bytes consumed, or -1 when the connection was
 * finished. */
static long parse(ws_conn *c, const unsigned char *p, size_t len)
{
    size_t used = 0;
    while (used < len) {
        long n;
        if (c->state == ST_UPGRADING)
            n = handshake(c, p + used, len - used);
        else
            n = frame(c, p + used, len - used);
        if (n < 0 || c->state == ST_DEAD)
            return -1;
        if (n == 0)
            break;
        used += (size_t)n;
    }
    return (long)used;
}

static void on_readable(ws_conn *c)
{
    ws_client *cl = c->cl;
    for (int round = 0; round < 8 && c->state != ST_DEAD; round++) {
        unsigned char *dst;
        size_t space;
        bool own = c->in.len > 0;
        if (own) {
            if (buf_reserve(&c->in, 16384) != 0) {
                finish(c, 1006, "out of memory");
                return;
            }
            dst = c->in.p + c->in.len;
            space = c->in.cap - c->in.len;
        } else {
            dst = cl->rbuf;
            space = RBUF_SIZE;
        }
        ssize_t n = recv(c->fd, dst, space, 0);
        if (n == 0) {
            if (c->got_close)
                finish(c, c->close_code, c->close_reason);
            else
                finish(c, 1006, "connection closed by the server");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                char why[96];
                snprintf(why, sizeof why, "recv: %s", strerror(errno));
                finish(c, 1006, why);
            }
            return;
        }
        if (own) {
            c->in.len += (size_t)n;
            long used = parse(c, c->in.p, c->in.len);
            if (used < 0)
                return;
            memmove(c->in.p, c->in.p + used, c->in.len - (size_t)used);
            c->in.len -= (size_t)used;
            if (c->in.len == 0 && c->in.cap > 64 * 1024)
                buf_free(&c->in);
        } else {
            long used = parse(c, dst, (size_t)n);
            if (used < 0)
                return;
            if ((size_t)used < (size_t)n &&
                buf_put(&c->in, dst + used, (size_t)n - (size_t)used) != 0) {
                finish(c, 1006, "out of memory");
                return;
            }
        }
        if ((size_t)n < space)
            return; /* drained */
    }
}

static void on_writable(ws_conn *c)
{
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            char why[96];
            snprintf(why, sizeof why, "connect: %s", strerror(err));
            finish(c, 1006, why);
            return;
        }
        c->state = ST_UPGRADING;
    }
    write_out(c);
}

static int handle_events(ws_client *cl, struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        ws_conn *c = evs[i].data.ptr;
        if (c->state == ST_DEAD)
            continue;
        uint32_t e = evs[i].events;
        if (e & EPOLLOUT)
            on_writable(c);
        if (c->state != ST_DEAD && c->state != ST_CONNECTING &&
            (e & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            on_readable(c);
        else if (c->state == ST_CONNECTING && (e & (EPOLLHUP | EPOLLERR)))
            on_writable(c); /* reports the connect error */
    }
    /* flush: one send() per connection for everything queued this turn */
    while (cl->dirty) {
        ws_conn *c = cl->dirty;
        cl->dirty = c->next_dirty;
        c->dirty = false;
        if (c->state != ST_DEAD && c->state != ST_CONNECTING)
            write_out(c);
    }
    reap(cl);
    return n;
}

int ws_client_poll(ws_client *cl, int timeout_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(cl->ep, evs, MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    return handle_events(cl, evs, n);
}

int ws_client_poll_ns(ws_client *cl, int64_t timeout_ns)
{
    struct epoll_event evs[MAX_EVENTS];
    int n;
    if (timeout_ns < 0) {
        n = epoll_wait(cl->ep, evs, MAX_EVENTS, -1);
    } else {
        struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
        n = epoll_pwait2(cl->ep, evs, MAX_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS) /* kernel before 5.11 */
            n = epoll_wait(cl->ep, evs, MAX_EVENTS, (int)((timeout_ns + 999999) / 1000000));
    }
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    return handle_events(cl, evs, n);
}

void ws_client_free(ws_client *cl)
{
    if (!cl)
        return;
    cl->cb.on_close = NULL; /* no callbacks from here on */
    while (cl->all)
        finish(cl->all, 1006, "client freed");
    reap(cl);
    close(cl->ep);
    free(cl->rbuf);
    free(cl);
}
