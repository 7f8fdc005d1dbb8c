/*
 * thload.c: load client for Switchboard's therapy protocol (seed 001: a
 * group-therapy chat over AJAX polling), HTTP/1.1 on keep-alive
 * connections, one per simulated browser; epoll, libc only.
 *
 *   thload login --port P --users FILE --sms FILE --out FILE [--inflight 64]
 *       Logs every user of FILE in (lines "PHONE LAST_NAME USER TS_ID"):
 *       POST /api/therapy/login, the code read from the --sms file (the
 *       server's file:PATH sender, one JSON line per SMS), POST verifyCode
 *       with the pre-login cookie, POST enterTherapySession {ts_id}. Writes
 *       "USER TS_ID COOKIE CSRF" lines to --out. --inflight logins at once,
 *       over that many connections (this phase is preparation, not measured).
 *   thload poll --port P --sessions FILE [--interval 5 --rate 0.5 --warmup 6
 *               --duration 20 --drain 6]
 *       Every client POSTs getActions {last_action_id} every --interval
 *       seconds on its own connection, the clients' turns spread uniformly
 *       over the interval (client i at i*interval/N); a poll still in flight
 *       at its next turn goes right after its answer (counted: overruns).
 *       Meanwhile each therapy session gets --rate saveActions messages a
 *       second (one message per request; messages are spread evenly over the
 *       sessions and over time), from a random member of the session, over
 *       one more connection per session (a browser's second connection).
 *       Every message body starts "lat:NS", NS the generator's monotonic
 *       clock when the saveActions request was written; each getActions
 *       answer carrying it gives a delivery latency (answer arrival - NS)
 *       for messages sent in the measured window.
 *   thload long ... [--wait 25]
 *       The same, but every client holds getActions {last_action_id, wait}
 *       and sends the next one as soon as the answer arrives.
 *   thload floor ... [--path /healthz]
 *       The same clients and schedule as poll, GET --path instead (no
 *       messages): the server's cheapest HTTP work at the same rate.
 *   thload idle --port P --sessions FILE [--wait 25 --settle 3]
 *       One client parks a long poll; after --settle seconds the server's
 *       VmRSS is the baseline; then the other N-1 connect and park theirs;
 *       after --settle seconds more, (VmRSS - baseline) / (N-1) is the
 *       memory per waiting client. Fails when a poll is answered before the
 *       reading (it was not waiting).
 *
 * A connection the server closes while idle (its keep-alive timeout) is
 * reopened for the next request, as a browser does, and counted
 * (reconnects); one closed before any byte of an answer came has its request
 * sent again on a new connection (retries). Any answer but 200 fails the
 * run (floor: any 5xx; a 404 path is a valid floor). With --server-pid:
 * server CPU seconds (utime + stime) over the measured window and VmRSS
 * (bench/load/procstat.c). Human output goes to stderr; the last line on
 * stdout is "RESULT key=value ..." for run.sh. Exit status 1 when a check
 * failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "benchutil.h"

enum mode { M_LOGIN, M_POLL, M_LONG, M_FLOOR, M_IDLE };
enum req { R_NONE, R_LOGIN, R_VERIFY, R_ENTER, R_GET, R_SAVE, R_FLOOR };

typedef struct client {
    char user[24];
    char phone[24];
    char last_name[64];
    int64_t ts_id;
    int session; /* index into G.sessions */
    char cookie[72];
    char csrf[72];
    char code[8];
    int64_t last_id;
    bool poll_due; /* its turn came while a poll was in flight */
} client;

typedef struct conn {
    int fd;
    bool connecting, busy;
    int req;     /* what is in flight */
    int owner;   /* client (or, for a sender, the author) */
    int retries; /* of the request in flight */
    char *out;   /* the request's bytes */
    size_t out_len, out_off;
    char *in;
    size_t in_len, in_cap;
    int64_t t_sent;
    int64_t msg_t; /* saveActions: its lat: stamp */
} conn;

typedef struct session {
    int64_t ts_id;
    int *members;
    int n_members, cap_members;
    int pending; /* messages due while its sender was busy */
} session;

static struct {
    int mode;
    int port;
    const char *users_path, *sms_path, *out_path, *sessions_path, *path;
    int inflight, wait_s;
    double interval_s, rate, warmup_s, duration_s, drain_s, settle_s;
    int server_pid, server_core;
    const char *label;
    /* state */
    int ep;
    struct sockaddr_in addr;
    char host[64];
    client *cl;
    int n;
    session *sessions;
    int n_sessions;
    conn *cn; /* n client connections, then n_sessions sender connections (or inflight for login) */
    int n_conns;
    uint64_t rng;
    /* schedule */
    int64_t t0, m_t0, m_t1, t_end;
    uint64_t polls_issued, msgs_issued;
    /* counts */
    uint64_t answered, m_answered, m_nonempty, m_saves, reconnects, m_reconnects, retries, overruns,
        delivered;
    int64_t *lat;
    size_t n_lat, cap_lat;
    int64_t *save_lat;
    size_t n_save, cap_save;
    double cpu0, cpu1, gen0, gen1, core0[2], core1[2];
    /* login */
    int next_login, logged_in;
    int sms_fd;
    char *sms_buf;
    size_t sms_len, sms_cap;
    int *phone_slot; /* open addressing: phone -> client */
    size_t phone_cap;
} G;

#define PRINTF_LIKE(i) __attribute__((format(printf, i, i + 1)))

static uint64_t rnd(void)
{
    /* xorshift64* */
    G.rng ^= G.rng >> 12;
    G.rng ^= G.rng << 25;
    G.rng ^= G.rng >> 27;
    return G.rng * 2685821657736338717ULL;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        fail("out of memory");
    return p;
}

static void push(int64_t **a, size_t *n, size_t *cap, int64_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1 << 16;
        *a = xrealloc(*a, *cap * sizeof **a);
    }
    (*a)[(*n)++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Percentile q (0..1) of sorted a, in ms; -1 when empty. */
static double pct_ms(const int64_t *a, size_t n, double q)
{
    if (!n)
        return -1;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)a[i] / 1e6;
}

static double mean_ms(const int64_t *a, size_t n)
{
    if (!n)
        return -1;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i];
    return s / (double)n / 1e6;
}

/* Files -------------------------------------------------------------------- */

static session *session_of(int64_t ts_id)
{
    for (int i = 0; i < G.n_sessions; i++)
        if (G.sessions[i].ts_id == ts_id)
            return &G.sessions[i];
    G.sessions = xrealloc(G.sessions, (size_t)(G.n_sessions + 1) * sizeof *G.sessions);
    session *s = &G.sessions[G.n_sessions++];
    memset(s, 0, sizeof *s);
    s->ts_id = ts_id;
    return s;
}

static void add_client(const client *c)
{
    G.cl = xrealloc(G.cl, (size_t)(G.n + 1) * sizeof *G.cl);
    G.cl[G.n] = *c;
    session *s = session_of(c->ts_id);
    G.cl[G.n].session = (int)(s - G.sessions);
    if (s->n_members == s->cap_members) {
        s->cap_members = s->cap_members ? s->cap_members * 2 : 64;
        s->members = xrealloc(s->members, (size_t)s->cap_members * sizeof *s->members);
    }
    s->members[s->n_members++] = G.n;
    G.n++;
}

static void read_users(void)
{
    FILE *f = fopen(G.users_path, "r");
    if (!f)
        usage_error("%s: %s", G.users_path, strerror(errno));
    char line[512];
    while (fgets(line, sizeof line, f)) {
        client c;
        memset(&c, 0, sizeof c);
        long long ts;
        if (sscanf(line, "%23s %63s %23s %lld", c.phone, c.last_name, c.user, &ts) != 4)
            continue;
        c.ts_id = ts;
        add_client(&c);
    }
    fclose(f);
    if (!G.n)
        usage_error("%s: no users", G.users_path);
}

static void read_sessions(void)
{
    FILE *f = fopen(G.sessions_path, "r");
    if (!f)
        usage_error("%s: %s", G.sessions_path, strerror(errno));
    char line[512];
    while (fgets(line, sizeof line, f)) {
        client c;
        memset(&c, 0, sizeof c);
        long long ts;
        if (sscanf(line, "%23s %lld %71s %71s", c.user, &ts, c.cookie, c.csrf) != 4)
            continue;
        c.ts_id = ts;
        add_client(&c);
    }
    fclose(f);
    if (!G.n)
        usage_error("%s: no logged-in clients (run thload login first)", G.sessions_path);
}

/* Connections ---------------------------------------------------------------- */

static void ep_set(conn *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)(c - G.cn)};
    if (epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        fail("epoll_ctl: %s", strerror(errno));
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(G.ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->connecting = false;
    c->in_len = 0;
}

static void conn_open(conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket: %s (ulimit -n?)", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&G.addr, sizeof G.addr) != 0 && errno != EINPROGRESS)
        fail("connect: %s", strerror(errno));
    c->fd = fd;
    c->connecting = true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)(c - G.cn)};
    if (epoll_ctl(G.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        fail("epoll_ctl: %s", strerror(errno));
}

static void conn_flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ep_set(c, true);
                return;
            }
            return; /* the read side sees the close */
        }
        c->out_off += (size_t)w;
    }
    ep_set(c, false);
}

/* Send the request held in c->out (opening the connection when needed). */
static void conn_start(conn *c)
{
    c->out_off = 0;
    c->in_len = 0;
    c->busy = true;
    c->t_sent = now_ns();
    if (c->fd < 0) {
        if (G.m_t0 && c->t_sent >= G.m_t0 && !G.m_t1)
            G.m_reconnects++;
        G.reconnects++;
        conn_open(c);
        return; /* written when the connect completes */
    }
    if (!c->connecting)
        conn_flush(c);
}

/* Build a request into c->out: method, path, the owner's cookie and CSRF
 * token when it has them, a JSON body. */
PRINTF_LIKE(5)
static void build(conn *c, int req, const char *method, const char *path, const char *fmt, ...)
{
    char body[4096];
    body[0] = '\0';
    int blen = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        blen = vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        if (blen < 0 || (size_t)blen >= sizeof body)
            fail("request body too long");
    }
    const client *o = c->owner >= 0 ? &G.cl[c->owner] : NULL;
    size_t cap = (size_t)blen + 1024;
    c->out = xrealloc(c->out, cap);
    int n = snprintf(c->out, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, G.host);
    if (o && o->cookie[0])
        n += snprintf(c->out + n, cap - (size_t)n, "Cookie: sb_therapy=%s\r\n", o->cookie);
    if (fmt) {
        /* what a browser's fetch() from our own page sends */
        n += snprintf(c->out + n, cap - (size_t)n,
                      "Origin: http://%s\r\nContent-Type: application/json\r\n", G.host);
        if (o && o->csrf[0])
            n += snprintf(c->out + n, cap - (size_t)n, "X-CSRF-Token: %s\r\n", o->csrf);
        n += snprintf(c->out + n, cap - (size_t)n, "Content-Length: %d\r\n", blen);
    }
    n += snprintf(c->out + n, cap - (size_t)n, "\r\n%s", body);
    c->out_len = (size_t)n;
    c->req = req;
    c->retries = 0;
}

/* Responses ------------------------------------------------------------------ */

typedef struct response {
    int status;
    const char *body;
    size_t body_len;
    const char *cookie; /* sb_therapy's new value, NUL-less */
    size_t cookie_len;
    bool close;
} response;

/* A whole response at the start of c->in: its length, 0 when incomplete. */
static size_t parse_response(conn *c, response *r)
{
    char *h = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!h)
        return 0;
    size_t head = (size_t)(h - c->in) + 4;
    memset(r, 0, sizeof *r);
    if (c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7) != 0)
        fail("not an HTTP response: %.40s", c->in);
    r->status = atoi(c->in + 9);
    long clen = -1;
    for (char *p = memchr(c->in, '\n', head); p && p < h; p = memchr(p, '\n', (size_t)(h - p))) {
        p++;
        if (strncasecmp(p, "content-length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
        else if (strncasecmp(p, "transfer-encoding:", 18) == 0)
            fail("chunked answers are not handled");
        else if (strncasecmp(p, "connection:", 11) == 0 && strncasecmp(p + 12, "close", 5) == 0)
            r->close = true;
        else if (strncasecmp(p, "set-cookie: sb_therapy=", 23) == 0) {
            r->cookie = p + 23;
            r->cookie_len = strcspn(r->cookie, ";\r\n");
        }
    }
    if (clen < 0)
        fail("an answer without Content-Length");
    if (c->in_len < head + (size_t)clen)
        return 0;
    r->body = c->in + head;
    r->body_len = (size_t)clen;
    return head + (size_t)clen;
}

/* "key":"value" in a body (our short values: no escapes). */
static bool body_str(const response *r, const char *key, char *out, size_t cap)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = memmem(r->body, r->body_len, pat, (size_t)pl);
    if (!p)
        return false;
    p += pl;
    size_t n = 0;
    while (p + n < r->body + r->body_len && p[n] != '"')
        n++;
    if (n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static bool body_int(const response *r, const char *key, int64_t *out)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = memmem(r->body, r->body_len, pat, (size_t)pl);
    if (!p)
        return false;
    *out = strtoll(p + pl, NULL, 10);
    return true;
}

static bool in_window(int64_t t)
{
    return G.m_t0 && t >= G.m_t0 && (!G.m_t1 || t < G.m_t1);
}

/* The lat: stamps of the messages in a getActions answer. */
static void take_latencies(const response *r, int64_t now)
{
    static const char pat[] = "\"body\":\"lat:";
    const char *p = r->body, *end = r->body + r->body_len;
    while ((p = memmem(p, (size_t)(end - p), pat, sizeof pat - 1)) != NULL) {
        p += sizeof pat - 1;
        int64_t t = strtoll(p, NULL, 10);
        G.delivered++;
        if (in_window(t)) /* sent in the window, wherever it arrives */
            push(&G.lat, &G.n_lat, &G.cap_lat, now - t);
    }
}

/* Login ------------------------------------------------------------------------ */

static size_t phone_hash(const char *p)
{
    size_t h = 1469598103934665603ULL;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static void phone_index(void)
{
    G.phone_cap = 1;
    while (G.phone_cap < (size_t)G.n * 2)
        G.phone_cap <<= 1;
    G.phone_slot = xrealloc(NULL, G.phone_cap * sizeof *G.phone_slot);
    for (size_t i = 0; i < G.phone_cap; i++)
        G.phone_slot[i] = -1;
    for (int i = 0; i < G.n; i++) {
        size_t h = phone_hash(G.cl[i].phone) & (G.phone_cap - 1);
        while (G.phone_slot[h] >= 0)
            h = (h + 1) & (G.phone_cap - 1);
        G.phone_slot[h] = i;
    }
}

static int phone_find(const char *phone)
{
    size_t h = phone_hash(phone) & (G.phone_cap - 1);
    for (; G.phone_slot[h] >= 0; h = (h + 1) & (G.phone_cap - 1))
        if (strcmp(G.cl[G.phone_slot[h]].phone, phone) == 0)
            return G.phone_slot[h];
    return -1;
}

/* New lines of the SMS file: each {"to":"+1...","body":"... code is 123456. ..."}. */
static void read_sms(void)
{
    if (G.sms_fd < 0) {
        G.sms_fd = open(G.sms_path, O_RDONLY | O_CLOEXEC);
        if (G.sms_fd < 0)
            return; /* not written yet */
    }
    for (;;) {
        if (G.sms_cap - G.sms_len < 65536) {
            G.sms_cap = G.sms_cap ? G.sms_cap * 2 : 1 << 17;
            G.sms_buf = xrealloc(G.sms_buf, G.sms_cap);
        }
        ssize_t r = read(G.sms_fd, G.sms_buf + G.sms_len, G.sms_cap - G.sms_len - 1);
        if (r <= 0)
            break;
        G.sms_len += (size_t)r;
    }
    size_t off = 0;
    for (char *nl; (nl = memchr(G.sms_buf + off, '\n', G.sms_len - off)) != NULL;) {
        *nl = '\0';
        const char *line = G.sms_buf + off;
        const char *to = strstr(line, "\"to\":\"");
        const char *code = strstr(line, "code is ");
        if (to && code) {
            char phone[24];
            size_t n = strcspn(to + 6, "\"");
            if (n < sizeof phone) {
                memcpy(phone, to + 6, n);
                phone[n] = '\0';
                int i = phone_find(phone);
                if (i >= 0 && strspn(code + 8, "0123456789") == 6)
                    memcpy(G.cl[i].code, code + 8, 6), G.cl[i].code[6] = '\0';
            }
        }
        off = (size_t)(nl - G.sms_buf) + 1;
    }
    memmove(G.sms_buf, G.sms_buf + off, G.sms_len - off);
    G.sms_len -= off;
}

static void login_next(conn *c)
{
    if (G.next_login >= G.n) {
        c->owner = -1;
        c->busy = false;
        return;
    }
    c->owner = G.next_login++;
    client *o = &G.cl[c->owner];
    o->cookie[0] = o->csrf[0] = o->code[0] = '\0';
    build(c, R_LOGIN, "POST", "/api/therapy/login", "{\"phone\":\"%s\",\"last_name\":\"%s\"}",
          o->phone, o->last_name);
    conn_start(c);
}

static void login_verify(conn *c)
{
    client *o = &G.cl[c->owner];
    build(c, R_VERIFY, "POST", "/api/therapy/verifyCode", "{\"code\":\"%s\"}", o->code);
    conn_start(c);
}

static void set_cookie(client *o, const response *r)
{
    if (!r->cookie || r->cookie_len == 0 || r->cookie_len >= sizeof o->cookie)
        fail("%s: no sb_therapy cookie in the answer", o->user);
    memcpy(o->cookie, r->cookie, r->cookie_len);
    o->cookie[r->cookie_len] = '\0';
}

static void on_login_answer(conn *c, const response *r)
{
    client *o = &G.cl[c->owner];
    switch (c->req) {
    case R_LOGIN:
        set_cookie(o, r);
        c->busy = false;
        c->req = R_VERIFY; /* waiting for the code: see the loop */
        if (o->code[0])
            login_verify(c);
        break;
    case R_VERIFY:
        set_cookie(o, r);
        if (!body_str(r, "csrf_token", o->csrf, sizeof o->csrf))
            fail("%s: verifyCode answered without csrf_token", o->user);
        build(c, R_ENTER, "POST", "/api/therapy/enterTherapySession", "{\"ts_id\":%lld}",
              (long long)o->ts_id);
        conn_start(c);
        break;
    case R_ENTER:
        G.logged_in++;
        if (G.logged_in % 1000 == 0)
            say("%d logged in", G.logged_in);
        login_next(c);
        break;
    default:
        fail("unexpected answer");
    }
}

/* The phases ------------------------------------------------------------------ */

static void send_poll(int i)
{
    conn *c = &G.cn[i];
    client *o = &G.cl[i];
    if (G.mode == M_FLOOR)
        build(c, R_FLOOR, "GET", G.path, NULL);
    else if (G.mode == M_POLL)
        build(c, R_GET, "POST", "/api/therapy/getActions", "{\"last_action_id\":%lld}",
              (long long)o->last_id);
    else
        build(c, R_GET, "POST", "/api/therapy/getActions", "{\"last_action_id\":%lld,\"wait\":%d}",
              (long long)o->last_id, G.wait_s);
    conn_start(c);
}

static void send_save(int s)
{
    session *ss = &G.sessions[s];
    conn *c = &G.cn[G.n + s];
    c->owner = ss->members[rnd() % (uint64_t)ss->n_members];
    const client *o = &G.cl[c->owner];
    /* a short chat line, one character_history entry per keystroke */
    static const char text[] = "how is everyone doing this week";
    char hist[sizeof text * 6], when[40];
    size_t h = 0;
    for (size_t k = 0; k + 1 < sizeof text; k++)
        h += (size_t)snprintf(hist + h, sizeof hist - h, "%s\"%c\"", k ? "," : "", text[k]);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    c->msg_t = now_ns();
    build(c, R_SAVE, "POST", "/api/therapy/saveActions",
          "[{\"client_ts\":\"%s.%03ldZ\",\"type\":\"message\",\"user\":\"%s\","
          "\"recipients\":[],\"body\":\"lat:%lld %s\",\"character_history\":[%s],"
          "\"time_to_complete\":\"%dms\",\"target\":null}]",
          when, ts.tv_nsec / 1000000, o->user, (long long)c->msg_t, text, hist,
          (int)(200 + rnd() % 4000));
    conn_start(c);
}

static void window_start(void)
{
    G.cpu0 = procstat_cpu(G.server_pid);
    procstat_core(G.server_core, G.core0);
    G.gen0 = procstat_self_cpu();
    G.m_t0 = now_ns();
}

static void window_end(void)
{
    G.m_t1 = now_ns();
    G.cpu1 = procstat_cpu(G.server_pid);
    procstat_core(G.server_core, G.core1);
    G.gen1 = procstat_self_cpu();
}

static void on_phase_answer(conn *c, const response *r, int64_t now)
{
    int ci = (int)(c - G.cn);
    bool win = G.m_t0 && now >= G.m_t0 && !G.m_t1;
    c->busy = false;
    switch (c->req) {
    case R_GET:
    case R_FLOOR: {
        client *o = &G.cl[ci];
        G.answered++;
        if (win) {
            G.m_answered++;
            if (memmem(r->body, r->body_len, "\"actions\":[{", 12))
                G.m_nonempty++;
        }
        if (c->req == R_GET) {
            int64_t max = 0;
            if (!body_int(r, "max_id", &max))
                fail("%s: getActions answered without max_id: %.200s", o->user, r->body);
            if (max > o->last_id)
                o->last_id = max;
            take_latencies(r, now);
        }
        if (G.mode == M_LONG) {
            if (now < G.t_end)
                send_poll(ci);
        } else if (G.mode == M_IDLE) {
            fail("%s: a long poll was answered while the clients should wait (%.200s)", o->user,
                 r->body);
        } else if (o->poll_due) {
            o->poll_due = false;
            send_poll(ci);
        }
        break;
    }
    case R_SAVE: {
        if (in_window(c->msg_t)) {
            G.m_saves++;
            push(&G.save_lat, &G.n_save, &G.cap_save, now - c->msg_t);
        }
        session *s = &G.sessions[ci - G.n];
        if (s->pending > 0 && now < G.t_end) {
            s->pending--;
            send_save(ci - G.n);
        }
        break;
    }
    default:
        fail("unexpected answer");
    }
}

/* The loop ------------------------------------------------------------------------ */

static void on_close(conn *c)
{
    bool busy = c->busy;
    size_t got = c->in_len;
    conn_close(c);
    if (!busy)
        return; /* an idle keep-alive connection closed: reopened for the next request */
    if (got > 0)
        fail("connection %d closed in the middle of an answer", (int)(c - G.cn));
    if (++c->retries > 3)
        fail("connection %d: closed before answering, 3 times", (int)(c - G.cn));
    G.retries++;
    int keep = c->retries;
    conn_start(c); /* the same bytes, on a new connection */
    c->retries = keep;
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->fd < 0)
        return;
    if (c->connecting) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            fail("connect to port %d: %s", G.port, strerror(err));
        c->connecting = false;
        if (c->busy)
            conn_flush(c);
        else
            ep_set(c, false);
        return;
    }
    if ((ev & EPOLLOUT) && c->busy)
        conn_flush(c);
    if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 32768;
            c->in = xrealloc(c->in, c->in_cap);
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            on_close(c);
            return;
        }
        if (r < 0)
            break;
        c->in_len += (size_t)r;
        c->in[c->in_len] = '\0';
    }
    response resp;
    size_t used = parse_response(c, &resp);
    if (!used)
        return;
    if (!c->busy)
        fail("connection %d: an answer nobody asked for", (int)(c - G.cn));
    int64_t now = now_ns();
    /* the floor may be a 404 path on purpose (FLOOR_PATH): any answer but 5xx counts */
    if (resp.status != 200 && !(G.mode == M_FLOOR && resp.status < 500))
        fail("connection %d (%s): HTTP %d: %.*s", (int)(c - G.cn),
             c->owner >= 0 ? G.cl[c->owner].user : "-", resp.status,
             (int)(resp.body_len > 300 ? 300 : resp.body_len), resp.body);
    bool close_after = resp.close;
    if (G.mode == M_LOGIN)
        on_login_answer(c, &resp);
    else
        on_phase_answer(c, &resp, now);
    /* one request at a time: nothing may follow the answer */
    if (used < c->in_len && !c->busy)
        fail("connection %d: bytes after the answer", (int)(c - G.cn));
    if (!c->busy)
        c->in_len = 0;
    if (close_after && !c->busy)
        conn_close(c);
}

static void loop_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int k = epoll_wait(G.ep, evs, 512, timeout_ms);
    if (k < 0 && errno != EINTR)
        fail("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < k; i++)
        on_event(&G.cn[evs[i].data.u32], evs[i].events);
}

static void setup_conns(int n)
{
    G.n_conns = n;
    G.cn = xrealloc(NULL, (size_t)n * sizeof *G.cn);
    memset(G.cn, 0, (size_t)n * sizeof *G.cn);
    for (int i = 0; i < n; i++) {
        G.cn[i].fd = -1;
        G.cn[i].owner = -1;
    }
}

static void run_login(void)
{
    read_users();
    phone_index();
    G.sms_fd = -1;
    int k = G.inflight < G.n ? G.inflight : G.n;
    setup_conns(k);
    int64_t t0 = now_ns();
    for (int i = 0; i < k; i++)
        login_next(&G.cn[i]);
    int64_t last = now_ns(), last_count = 0;
    while (G.logged_in < G.n) {
        loop_once(2);
        read_sms();
        for (int i = 0; i < k; i++) {
            conn *c = &G.cn[i];
            if (!c->busy && c->owner >= 0 && c->req == R_VERIFY && G.cl[c->owner].code[0])
                login_verify(c);
        }
        int64_t now = now_ns();
        if (G.logged_in != last_count)
            last = now, last_count = G.logged_in;
        else if (now - last > 15000000000LL)
            fail("no login finished in 15 s (%d of %d done): is the --sms file right?", G.logged_in,
                 G.n);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    FILE *f = fopen(G.out_path, "w");
    if (!f)
        fail("%s: %s", G.out_path, strerror(errno));
    for (int i = 0; i < G.n; i++)
        fprintf(f, "%s %lld %s %s\n", G.cl[i].user, (long long)G.cl[i].ts_id, G.cl[i].cookie,
                G.cl[i].csrf);
    if (fclose(f) != 0)
        fail("%s: %s", G.out_path, strerror(errno));
    say("%d users logged in and in their sessions in %.1f s (%.0f/s, %d at once)", G.n, secs,
        (double)G.n / secs, k);
    printf("RESULT mode=login clients=%d sessions=%d secs=%.2f logins_per_s=%.1f\n", G.n,
           G.n_sessions, secs, (double)G.n / secs);
}

static void print_cpu(double *cpu_out)
{
    double wall = (double)(G.m_t1 - G.m_t0) / 1e9;
    double cpu = G.cpu0 >= 0 && G.cpu1 >= 0 ? G.cpu1 - G.cpu0 : -1;
    double others = -1;
    if (cpu >= 0 && G.core0[0] >= 0 && G.core1[0] >= 0) {
        double busy = G.core1[0] - G.core0[0], total = G.core1[1] - G.core0[1];
        others = total > 0 ? (busy - cpu) / total : -1;
        if (others < 0 && others > -0.05)
            others = 0; /* tick rounding */
    }
    printf(" server_cpu_s=%.2f server_cpu_util=%.3f core_others_util=%.3f gen_cpu_util=%.3f", cpu,
           cpu >= 0 && wall > 0 ? cpu / wall : -1.0, others,
           wall > 0 ? (G.gen1 - G.gen0) / wall : -1.0);
    *cpu_out = cpu;
}

static void run_phase(void)
{
    read_sessions();
    setup_conns(G.n + G.n_sessions);
    for (int i = 0; i < G.n; i++)
        G.cn[i].owner = i;
    bool messages = G.mode == M_POLL || G.mode == M_LONG;
    double ramp_s = G.mode == M_LONG ? 2.0 : G.interval_s; /* the first round */
    G.t0 = now_ns();
    int64_t warm_end = G.t0 + (int64_t)(G.warmup_s * 1e9);
    int64_t msg_t0 = G.t0 + (G.mode == M_LONG ? (int64_t)(ramp_s * 1e9) : 0);
    int64_t meas_end = warm_end + (int64_t)(G.duration_s * 1e9);
    G.t_end = meas_end + (int64_t)(G.drain_s * 1e9);
    say("%s: %d clients in %d sessions%s; warm-up %.0f s, %.0f s measured, %.0f s drain",
        G.mode == M_POLL   ? "poll"
        : G.mode == M_LONG ? "long"
                           : "floor",
        G.n, G.n_sessions, messages ? "" : ", no messages", G.warmup_s, G.duration_s, G.drain_s);
    for (;;) {
        loop_once(1);
        int64_t now = now_ns();
        if (now >= G.t_end)
            break;
        if (!G.m_t0 && now >= warm_end)
            window_start();
        if (G.m_t0 && !G.m_t1 && now >= meas_end)
            window_end();
        double el = (double)(now - G.t0) / 1e9;
        if (G.mode == M_LONG) {
            uint64_t due = (uint64_t)(el / ramp_s * G.n);
            if (due > (uint64_t)G.n)
                due = (uint64_t)G.n;
            while (G.polls_issued < due)
                send_poll((int)G.polls_issued++);
        } else {
            uint64_t due = (uint64_t)(el / G.interval_s * G.n);
            while (G.polls_issued < due) {
                int i = (int)(G.polls_issued++ % (uint64_t)G.n);
                if (G.cn[i].busy) {
                    if (G.m_t0 && !G.m_t1)
                        G.overruns++;
                    G.cl[i].poll_due = true;
                } else {
                    send_poll(i);
                }
            }
        }
        if (messages && now >= msg_t0 && G.rate > 0) {
            uint64_t due = (uint64_t)((double)(now - msg_t0) / 1e9 * G.rate * G.n_sessions);
            while (G.msgs_issued < due) {
                int s = (int)(G.msgs_issued++ % (uint64_t)G.n_sessions);
                if (G.cn[G.n + s].busy)
                    G.sessions[s].pending++;
                else
                    send_save(s);
            }
        }
    }
    qsort(G.lat, G.n_lat, sizeof *G.lat, cmp_i64);
    qsort(G.save_lat, G.n_save, sizeof *G.save_lat, cmp_i64);
    double wall = (double)(G.m_t1 - G.m_t0) / 1e9;
    const char *name = G.mode == M_POLL ? "poll" : G.mode == M_LONG ? "long" : "floor";
    say("%s: %llu answers in %.1f s (%.0f/s), %llu with actions; %llu messages stored; "
        "latency p50 %.0f ms p99 %.0f ms (%zu deliveries); %llu reconnects, %llu retries, "
        "%llu overruns",
        name, (unsigned long long)G.m_answered, wall, (double)G.m_answered / wall,
        (unsigned long long)G.m_nonempty, (unsigned long long)G.m_saves,
        pct_ms(G.lat, G.n_lat, 0.5), pct_ms(G.lat, G.n_lat, 0.99), G.n_lat,
        (unsigned long long)G.m_reconnects, (unsigned long long)G.retries,
        (unsigned long long)G.overruns);
    printf("RESULT mode=%s label=%s clients=%d sessions=%d interval_s=%.2f rate=%.3f wait_s=%d "
           "window_s=%.2f answered=%llu per_s=%.1f nonempty=%llu saves=%llu",
           name, G.label, G.n, G.n_sessions, G.interval_s, messages ? G.rate : 0.0,
           G.mode == M_LONG ? G.wait_s : 0, wall, (unsigned long long)G.m_answered,
           (double)G.m_answered / wall, (unsigned long long)G.m_nonempty,
           (unsigned long long)G.m_saves);
    double cpu = -1;
    print_cpu(&cpu);
    printf(" per_cpu_s=%.1f lat_n=%zu lat_p50_ms=%.1f lat_p99_ms=%.1f lat_mean_ms=%.1f "
           "save_p50_ms=%.2f save_p99_ms=%.2f reconnects=%llu reconnects_per_answer=%.3f "
           "retries=%llu overruns=%llu rss_kb=%ld\n",
           cpu > 0 ? (double)G.m_answered / cpu : -1.0, G.n_lat, pct_ms(G.lat, G.n_lat, 0.5),
           pct_ms(G.lat, G.n_lat, 0.99), mean_ms(G.lat, G.n_lat), pct_ms(G.save_lat, G.n_save, 0.5),
           pct_ms(G.save_lat, G.n_save, 0.99), (unsigned long long)G.m_reconnects,
           G.m_answered ? (double)G.m_reconnects / (double)G.m_answered : 0.0,
           (unsigned long long)G.retries, (unsigned long long)G.overruns,
           procstat_rss_kb(G.server_pid));
}

static void run_for(double secs)
{
    int64_t end = now_ns() + (int64_t)(secs * 1e9);
    while (now_ns() < end)
        loop_once(5);
}

static bool all_sent(int from, int to)
{
    for (int i = from; i < to; i++)
        if (G.cn[i].connecting || G.cn[i].out_off < G.cn[i].out_len)
            return false;
    return true;
}

static void run_idle(void)
{
    read_sessions();
    if (G.n < 2)
        usage_error("idle needs at least 2 clients");
    if (!G.server_pid)
        usage_error("idle needs --server-pid");
    setup_conns(G.n);
    for (int i = 0; i < G.n; i++)
        G.cn[i].owner = i;
    G.mode = M_IDLE;
    /* one client first: whatever the first long poll sets up once */
    send_poll(0);
    run_for(G.settle_s);
    if (!G.cn[0].busy)
        fail("the first long poll was answered: is there an action above 0 already?");
    long rss1 = procstat_rss_kb(G.server_pid);
    int64_t t = now_ns();
    for (int i = 1; i < G.n; i++) {
        send_poll(i);
        if (i % 250 == 0)
            run_for(0.02); /* no SYN flood on the listen queue */
    }
    while (!all_sent(0, G.n)) {
        loop_once(5);
        if (now_ns() - t > 20000000000LL)
            fail("not every client could send its long poll in 20 s");
    }
    double open_s = (double)(now_ns() - t) / 1e9;
    run_for(G.settle_s);
    if ((double)(now_ns() - t) / 1e9 > G.wait_s - 1)
        fail("the waits run out before the reading: use a longer --wait or a shorter --settle");
    long rssn = procstat_rss_kb(G.server_pid);
    double per = (double)(rssn - rss1) * 1024.0 / (double)(G.n - 1);
    say("idle: %d long polls parked in %.1f s; server RSS %ld kB with one, %ld kB with all: "
        "%.0f bytes per waiting client",
        G.n, open_s, rss1, rssn, per);
    printf("RESULT mode=idle label=%s clients=%d rss_one_kb=%ld rss_all_kb=%ld "
           "bytes_per_client=%.0f open_s=%.2f\n",
           G.label, G.n, rss1, rssn, per, open_s);
}

/* Options -------------------------------------------------------------------------- */

static double num(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || x < lo || x > hi)
        usage_error("%s: %s is not a number in %g..%g", opt, v, lo, hi);
    return x;
}

int main(int argc, char **argv)
{
    bench_prog = "thload";
    bench_usage_hint = "see the comment at the top of bench/therapy/thload.c";
    if (argc < 2)
        usage_error("usage: thload login|poll|long|floor|idle OPTIONS");
    const char *m = argv[1];
    if (strcmp(m, "login") == 0)
        G.mode = M_LOGIN;
    else if (strcmp(m, "poll") == 0)
        G.mode = M_POLL;
    else if (strcmp(m, "long") == 0)
        G.mode = M_LONG;
    else if (strcmp(m, "floor") == 0)
        G.mode = M_FLOOR;
    else if (strcmp(m, "idle") == 0)
        G.mode = M_IDLE;
    else
        usage_error("unknown mode %s", m);
    G.inflight = 64;
    G.interval_s = 5;
    G.rate = 0.5;
    G.warmup_s = 6;
    G.duration_s = 20;
    G.drain_s = -1;
    G.settle_s = 3;
    G.wait_s = 25;
    G.path = "/healthz";
    G.label = m;
    G.rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)now_ns();
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc)
            usage_error("%s needs a value", o);
        const char *v = argv[++i];
        if (strcmp(o, "--port") == 0)
            G.port = (int)num(o, v, 1, 65535);
        else if (strcmp(o, "--users") == 0)
            G.users_path = v;
        else if (strcmp(o, "--sms") == 0)
            G.sms_path = v;
        else if (strcmp(o, "--out") == 0)
            G.out_path = v;
        else if (strcmp(o, "--sessions") == 0)
            G.sessions_path = v;
        else if (strcmp(o, "--path") == 0)
            G.path = v;
        else if (strcmp(o, "--inflight") == 0)
            G.inflight = (int)num(o, v, 1, 10000);
        else if (strcmp(o, "--interval") == 0)
            G.interval_s = num(o, v, 0.01, 3600);
        else if (strcmp(o, "--rate") == 0)
            G.rate = num(o, v, 0, 1000);
        else if (strcmp(o, "--warmup") == 0)
            G.warmup_s = num(o, v, 0, 3600);
        else if (strcmp(o, "--duration") == 0)
            G.duration_s = num(o, v, 0.1, 3600);
        else if (strcmp(o, "--drain") == 0)
            G.drain_s = num(o, v, 0, 3600);
        else if (strcmp(o, "--settle") == 0)
            G.settle_s = num(o, v, 0, 3600);
        else if (strcmp(o, "--wait") == 0)
            G.wait_s = (int)num(o, v, 1, 25);
        else if (strcmp(o, "--server-pid") == 0)
            G.server_pid = (int)num(o, v, 0, 1e9);
        else if (strcmp(o, "--server-core") == 0)
            G.server_core = (int)num(o, v, 0, 4096);
        else if (strcmp(o, "--label") == 0)
            G.label = v;
        else
            usage_error("unknown option %s", o);
    }
    if (!G.port)
        usage_error("--port is required");
    if (G.mode == M_LOGIN && (!G.users_path || !G.sms_path || !G.out_path))
        usage_error("login needs --users, --sms and --out");
    if (G.mode != M_LOGIN && !G.sessions_path)
        usage_error("%s needs --sessions", m);
    if (G.drain_s < 0) /* long enough for the last window message to reach every poller */
        G.drain_s = G.mode == M_POLL ? G.interval_s + 1 : 2;
    signal(SIGPIPE, SIG_IGN);
    snprintf(G.host, sizeof G.host, "127.0.0.1:%d", G.port);
    G.addr.sin_family = AF_INET;
    G.addr.sin_port = htons((uint16_t)G.port);
    G.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    G.ep = epoll_create1(EPOLL_CLOEXEC);
    if (G.ep < 0)
        fail("epoll_create1: %s", strerror(errno));
    if (G.mode == M_LOGIN)
        run_login();
    else if (G.mode == M_IDLE)
        run_idle();
    else
        run_phase();
    fflush(stdout);
    return 0;
}
