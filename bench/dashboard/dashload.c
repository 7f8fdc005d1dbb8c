/*
 * dashload.c: load client for the case dashboard (seed 000): N open
 * dashboards of one case, pushes made through the operator API, deliveries
 * counted at the dashboards. Over bench/load's wsclient.c; libc only.
 *
 *   dashload dash --port P --api-key-file F [--case C --user U --conns N ...]
 *       POST /request_for_auth (operator key) and POST /auth_handshake give
 *       one fin_session_id; N WebSockets GET /api/v1/ws?case_id=C&
 *       fin_session_id=F&user_id=U (all on that session, as many tabs),
 *       each ready when its init_data came. Then pushes:
 *         refresh  POST /api/v1/cases/C/components/COMP/refresh {"key":"bK"}
 *                  -> request_component_refresh with key bK at every tab
 *         put      PUT /api/v1/cases/C/dashboard {version, dsettings,
 *                  components}, the chat component's src naming K
 *                  (https://example.com/dashbench/K), the layout flipped
 *                  each time -> init_data at every tab
 *   dashload echo --port P [same push options]
 *       The floor: the same N connections to bench/load/echo_server
 *       --broadcast (each ready when its hello came back), and the same
 *       pushes as WebSocket messages "B<K>;..." of the same sizes as the
 *       server's frames (--refresh-bytes, --init-bytes), sent on one more
 *       connection; the echo server writes each to every connection.
 *
 * Phases, in order, on the same connections:
 *   idle     after --settle seconds, (server VmRSS now - VmRSS before the
 *            first connection) / N
 *   warmup   --warmup-pushes refreshes, checked
 *   burst    --pushes refreshes, --inflight at once: deliveries/s and per
 *            server CPU-second
 *   serial   --serial refreshes one at a time: the latency of a push
 *   put      --puts dashboard replacements one at a time (init_data)
 * A push is in flight from its request's first byte until its operator
 * answer (dash) came and every one of the N dashboards has it; its latency
 * runs from the request's first byte to the last of the N deliveries.
 * Every dashboard must get every push exactly once (checked per phase).
 *
 * With --server-pid PID: CPU time and VmRSS from /proc (bench/load's
 * procstat). Human output on stderr; the last line on stdout is "RESULT
 * key=value ..." for bench/dashboard/run.sh. Exit status 1 when a check
 * failed (after saying why), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "wsclient.h"
#include "benchutil.h"

#define MAX_INFLIGHT 64

enum mode { M_DASH, M_ECHO };
enum kind { K_REFRESH, K_PUT };
enum phase { P_SETUP, P_RUN, P_DONE };

typedef struct dconn {
    ws_conn *c;
    bool ready;
    int init_seen; /* init_data after the first (dash) */
} dconn;

typedef struct push {
    int64_t t_sent, t_done; /* t_done: the N-th delivery */
    int delivered;
    bool answered; /* the operator call's answer (echo: at once) */
    bool complete;
} push;

typedef struct hconn {
    int fd;
    int k; /* push in flight on it, -1: none */
    char buf[16384];
    size_t len;
} hconn;

/* One phase's numbers. */
typedef struct stats {
    const char *name;
    int first, count;
    int64_t t0, t1; /* first request, last delivery */
    double cpu, gen, others;
    int64_t *lat; /* per push, ns */
} stats;

static struct {
    int mode;
    const char *host;
    int port;
    const char *case_id, *user_id, *component;
    char *api_key;
    int conns, concurrency, warmup_pushes, pushes, serial, puts, inflight;
    int refresh_bytes, init_bytes;
    double settle_s, setup_timeout_s, wait_s;
    int server_pid, server_core;
    const char *label, *metrics_out;
    /* state */
    int phase;
    char fin_session[512];
    char resource[1024];
    dconn *dc;
    ws_conn *trigger; /* echo: the connection the broadcasts are sent on */
    bool trigger_ready;
    int next_open, opening, n_ready;
    int total;
    push *pu;
    uint8_t *got; /* [conn * total + k] */
    uint64_t others;
    uint64_t bytes_delivered;         /* payload bytes of the pushes counted */
    size_t refresh_frame, init_frame; /* sizes seen (dash) */
    long version;                     /* the dashboard's, for PUT */
    hconn *hc;
    int flight[MAX_INFLIGHT], n_flight;
} G;

static int clip(size_t n, size_t max)
{
    return (int)(n > max ? max : n);
}

/* Files and JSON bits ------------------------------------------------------ */

static char *read_first_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        usage_error("%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n <= 0)
        usage_error("%s: empty", path);
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* The value of "key" in JSON text d: *v at its first byte (after the quote
 * for a string), *vl its length for a string (no escapes expected: the
 * values read are ours or short IDs), 0 for another value. */
static bool json_field(const char *d, size_t n, const char *key, const char **v, size_t *vl)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *end = d + n, *p = d;
    for (;;) {
        const char *k = memmem(p, (size_t)(end - p), pat, (size_t)pl);
        if (!k)
            return false;
        p = k + pl;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p >= end || *p != ':')
            continue; /* a value that happens to be "key" */
        p++;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p >= end)
            return false;
        if (*p != '"') {
            *v = p;
            *vl = 0;
            return true;
        }
        const char *s = ++p;
        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (p >= end || *p != '"')
            return false;
        *v = s;
        *vl = (size_t)(p - s);
        return true;
    }
}

static bool parse_uint(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *out = x;
    return true;
}

/* The digits at p (up to end) as a number; -1 when none. */
static long digits_at(const char *p, const char *end)
{
    const char *s = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    uint64_t v;
    return parse_uint(s, (size_t)(p - s), &v) ? (long)v : -1;
}

/* HTTP/1.1, keep-alive, Content-Length answers ----------------------------- */

static int http_connect(bool nonblocking)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)G.port)};
    if (inet_pton(AF_INET, G.host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    if (nonblocking)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Write the whole request (waiting for the socket when it is full). */
static void http_write(hconn *h, const char *method, const char *path, bool auth, const char *body)
{
    if (h->fd < 0 && (h->fd = http_connect(true)) < 0)
        fail("%s %s: connect: %s", method, path, strerror(errno));
    char req[8192];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, G.host, G.port, auth ? "Authorization: Bearer " : "",
                     auth ? G.api_key : "", auth ? "\r\n" : "", bl, body ? body : "");
    if (n <= 0 || (size_t)n >= sizeof req)
        fail("%s %s: request too long", method, path);
    h->len = 0;
    for (int off = 0; off < n;) {
        ssize_t w = send(h->fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w > 0) {
            off += (int)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pf = {.fd = h->fd, .events = POLLOUT};
            poll(&pf, 1, 100);
        } else {
            fail("%s %s: send: %s", method, path, w < 0 ? strerror(errno) : "nothing written");
        }
    }
}

/* Read what is there; 1 with status and body when the answer is whole, 0
 * not yet; fails on a malformed answer or a closed connection. */
static int http_read(hconn *h, int *status, const char **body, size_t *blen)
{
    for (;;) {
        if (h->len >= sizeof h->buf - 1)
            fail("HTTP answer over %zu bytes", sizeof h->buf);
        ssize_t r = recv(h->fd, h->buf + h->len, sizeof h->buf - 1 - h->len, 0);
        if (r > 0) {
            h->len += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        fail("HTTP: connection %s before the answer (%zu bytes: %.*s)",
             r == 0 ? "closed" : strerror(errno), h->len, clip(h->len, 200), h->buf);
    }
    h->buf[h->len] = '\0';
    char *he = memmem(h->buf, h->len, "\r\n\r\n", 4);
    if (!he)
        return 0;
    size_t hl = (size_t)(he - h->buf) + 4;
    if (h->len < 12 || memcmp(h->buf, "HTTP/1.", 7) != 0)
        fail("HTTP: not an answer: %.*s", clip(h->len, 200), h->buf);
    const char *cl = strcasestr(h->buf, "\r\ncontent-length:");
    if (!cl || cl > he)
        fail("HTTP: answer without Content-Length: %.*s", clip(hl, 300), h->buf);
    size_t want = (size_t)strtoul(cl + 17, NULL, 10);
    if (h->len < hl + want)
        return 0;
    *status = atoi(h->buf + 9);
    *body = h->buf + hl;
    *blen = want;
    const char *co = strcasestr(h->buf, "\r\nconnection: close");
    if (co && co < he) {
        close(h->fd);
        h->fd = -1;
    }
    return 1;
}

/* A request answered before anything else goes on (setup only). */
static int http_blocking(hconn *h, const char *method, const char *path, bool auth,
                         const char *body, const char **rbody, size_t *rlen)
{
    http_write(h, method, path, auth, body);
    int64_t until = now_ns() + (int64_t)(G.wait_s * 1e9);
    int status;
    while (http_read(h, &status, rbody, rlen) == 0) {
        if (now_ns() > until)
            fail("%s %s: no answer within %.0f s", method, path, G.wait_s);
        struct pollfd pf = {.fd = h->fd, .events = POLLIN};
        poll(&pf, 1, 100);
    }
    return status;
}

/* Setup: session, version ------------------------------------------------- */

static void authenticate(void)
{
    hconn h = {.fd = -1, .k = -1};
    char body[512], path[512];
    const char *rb, *v;
    size_t rl, vl;
    snprintf(body, sizeof body, "{\"case_id\":\"%s\",\"user_id\":\"%s\"}", G.case_id, G.user_id);
    int st = http_blocking(&h, "POST", "/request_for_auth", true, body, &rb, &rl);
    if (st != 200 || !json_field(rb, rl, "auth_ticket", &v, &vl) || vl == 0 || vl > 256)
        fail("POST /request_for_auth: HTTP %d: %.*s", st, clip(rl, 300), rb);
    char ticket[300];
    snprintf(ticket, sizeof ticket, "%.*s", (int)vl, v);
    snprintf(body, sizeof body, "{\"auth_ticket\":\"%s\",\"case_id\":\"%s\",\"user_id\":\"%s\"}",
             ticket, G.case_id, G.user_id);
    st = http_blocking(&h, "POST", "/auth_handshake", false, body, &rb, &rl);
    if (st != 200 || !json_field(rb, rl, "fin_session_id", &v, &vl) || vl == 0 ||
        vl >= sizeof G.fin_session)
        fail("POST /auth_handshake: HTTP %d: %.*s", st, clip(rl, 300), rb);
    snprintf(G.fin_session, sizeof G.fin_session, "%.*s", (int)vl, v);
    if (G.puts > 0) {
        snprintf(path, sizeof path, "/api/v1/cases/%s/dashboard", G.case_id);
        st = http_blocking(&h, "GET", path, true, NULL, &rb, &rl);
        long ver;
        if (st != 200 || !json_field(rb, rl, "version", &v, &vl) ||
            (ver = digits_at(v, rb + rl)) < 0)
            fail("GET %s: HTTP %d: %.*s", path, st, clip(rl, 300), rb);
        G.version = ver;
    }
    if (h.fd >= 0)
        close(h.fd);
    say("session for case %s, user %s (dashboard version %ld)", G.case_id, G.user_id, G.version);
}

/* Metrics: GET /metrics into a file (dash) */
static void save_metrics(const char *suffix)
{
    if (!G.metrics_out || G.mode != M_DASH)
        return;
    hconn *h = calloc(1, sizeof *h);
    if (!h)
        fail("out of memory");
    h->fd = -1;
    const char *rb;
    size_t rl;
    int st = http_blocking(h, "GET", "/metrics", false, NULL, &rb, &rl);
    char path[1024];
    snprintf(path, sizeof path, "%s.%s", G.metrics_out, suffix);
    FILE *f = fopen(path, "w");
    if (f) {
        if (st == 200)
            fwrite(rb, 1, rl, f);
        else
            fprintf(f, "# GET /metrics: HTTP %d\n", st);
        fclose(f);
    }
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

/* Deliveries -------------------------------------------------------------- */

static void delivered(int ci, uint64_t k, size_t len)
{
    G.bytes_delivered += len;
    if (k >= (uint64_t)G.total)
        fail("connection %d: a push that was never made (%llu)", ci, (unsigned long long)k);
    uint8_t *g = &G.got[(size_t)ci * (size_t)G.total + k];
    if (*g < 255)
        (*g)++;
    push *p = &G.pu[k];
    if (p->t_sent == 0)
        fail("connection %d: push %llu before it was sent", ci, (unsigned long long)k);
    if (++p->delivered == G.conns)
        p->t_done = now_ns();
}

static void on_dash_message(dconn *d, int ci, const char *data, size_t len)
{
    const char *a, *v;
    size_t al, vl;
    if (!json_field(data, len, "action", &a, &al))
        fail("connection %d: message without action: %.*s", ci, clip(len, 200), data);
    if (al == 9 && memcmp(a, "init_data", 9) == 0) {
        if (!d->ready) {
            if (!G.init_frame)
                G.init_frame = len;
            d->ready = true;
            G.n_ready++;
            G.opening--;
            return;
        }
        d->init_seen++;
        const char *m = memmem(data, len, "/dashbench/", 11);
        long k = m ? digits_at(m + 11, data + len) : -1;
        if (k < 0)
            fail("connection %d: init_data that no PUT of ours made: %.*s", ci, clip(len, 300),
                 data);
        G.init_frame = len;
        delivered(ci, (uint64_t)k, len);
        return;
    }
    if (al == 25 && memcmp(a, "request_component_refresh", 25) == 0) {
        uint64_t k;
        if (!json_field(data, len, "key", &v, &vl) || vl < 2 || v[0] != 'b' ||
            !parse_uint(v + 1, vl - 1, &k))
            fail("connection %d: request_component_refresh that no push of ours made: %.*s", ci,
                 clip(len, 300), data);
        if (!G.refresh_frame)
            G.refresh_frame = len;
        delivered(ci, k, len);
        return;
    }
    G.others++;
}

static void on_echo_message(dconn *d, int ci, const char *data, size_t len)
{
    if (len > 0 && data[0] == 'B') {
        long k = digits_at(data + 1, data + len);
        if (k < 0)
            fail("connection %d: broadcast without a number: %.*s", ci, clip(len, 100), data);
        if (d)
            delivered(ci, (uint64_t)k, len);
        return;
    }
    if (len == 5 && memcmp(data, "hello", 5) == 0) {
        if (!d) {
            G.trigger_ready = true;
        } else if (!d->ready) {
            d->ready = true;
            G.n_ready++;
            G.opening--;
        }
        return;
    }
    G.others++;
}

static void on_message(ws_conn *c, const char *data, size_t len, int binary, void *user)
{
    (void)c;
    dconn *d = user; /* NULL: the trigger */
    int ci = d ? (int)(d - G.dc) : -1;
    if (binary)
        fail("connection %d: binary frame", ci);
    if (G.mode == M_DASH)
        on_dash_message(d, ci, data, len);
    else
        on_echo_message(d, ci, data, len);
}

static void on_open(ws_conn *c, void *user)
{
    (void)user;
    if (G.mode == M_ECHO)
        ws_send_text(c, "hello", 5); /* ready when it comes back */
}

static void on_close(ws_conn *c, int code, const char *reason, void *user)
{
    (void)c;
    dconn *d = user;
    if (d)
        d->c = NULL;
    else
        G.trigger = NULL;
    if (G.phase == P_DONE)
        return;
    fail("connection %d closed %s: %d %s", d ? (int)(d - G.dc) : -1,
         d && !d->ready ? "before it was ready" : "during the run", code, reason);
}

static const ws_callbacks callbacks = {on_open, on_message, on_close};

/* Connections ------------------------------------------------------------- */

static void open_all(ws_client *cl)
{
    G.dc = calloc((size_t)G.conns, sizeof *G.dc);
    if (!G.dc)
        fail("out of memory");
    int64_t t0 = now_ns(), until = t0 + (int64_t)(G.setup_timeout_s * 1e9);
    if (G.mode == M_ECHO) {
        G.trigger = ws_connect(cl, G.host, G.port, "/", NULL);
        if (!G.trigger)
            fail("connect: %s", strerror(errno));
    }
    while (G.n_ready < G.conns || (G.mode == M_ECHO && !G.trigger_ready)) {
        if (g_stop)
            fail("interrupted");
        if (now_ns() > until)
            fail("setup: %d of %d dashboards ready after %.0f s", G.n_ready, G.conns,
                 G.setup_timeout_s);
        while (G.next_open < G.conns && G.opening < G.concurrency) {
            dconn *d = &G.dc[G.next_open++];
            d->c = ws_connect(cl, G.host, G.port, G.resource, d);
            if (!d->c)
                fail("connect %d: %s", (int)(d - G.dc), strerror(errno));
            G.opening++;
        }
        ws_client_poll(cl, 5);
    }
    say("%d %s ready in %.2f s", G.conns, G.mode == M_DASH ? "dashboards" : "connections",
        (double)(now_ns() - t0) / 1e9);
}

static void close_all(ws_client *cl, double timeout_s)
{
    G.phase = P_DONE;
    for (int i = 0; i < G.conns; i++)
        if (G.dc[i].c)
            ws_close(G.dc[i].c, 1000);
    if (G.trigger)
        ws_close(G.trigger, 1000);
    int64_t until = now_ns() + (int64_t)(timeout_s * 1e9);
    while (ws_client_live(cl) > 0 && now_ns() < until)
        ws_client_poll(cl, 10);
}

/* Pushes ------------------------------------------------------------------ */

/* The PUT body for push k: the default layout, the bottom slots swapped
 * every other time, the chat's src naming k. */
static void put_body(char *out, size_t cap, int k)
{
    bool flip = k % 2;
    snprintf(out, cap,
             "{\"version\":%ld,\"dsettings\":{\"layout_type\":\"view_standard_3\","
             "\"custom_layout\":{}},\"components\":["
             "{\"type\":\"timeline\",\"id\":\"timeline_1\",\"position\":\"top_full\","
             "\"component_name\":\"TimelineComponent\",\"src\":null},"
             "{\"type\":\"square\",\"id\":\"square_1\",\"position\":\"%s\","
             "\"component_name\":\"SquareComponent\",\"src\":null},"
             "{\"type\":\"chat\",\"id\":\"chat_1\",\"position\":\"%s\","
             "\"component_name\":\"IFRAMEComponent\","
             "\"src\":\"https://example.com/dashbench/%d\"}]}",
             G.version, flip ? "bottom_left" : "bottom_right",
             flip ? "bottom_right" : "bottom_left", k);
}

static void issue(ws_client *cl, int k, int kind)
{
    (void)cl;
    push *p = &G.pu[k];
    if (G.mode == M_ECHO) {
        char msg[65536];
        size_t want = (size_t)(kind == K_PUT ? G.init_bytes : G.refresh_bytes);
        int n = snprintf(msg, sizeof msg, "B%d;", k);
        size_t len = want > (size_t)n ? want : (size_t)n;
        if (len > sizeof msg)
            len = sizeof msg;
        for (size_t i = (size_t)n; i < len; i++)
            msg[i] = (char)('a' + i % 26);
        p->t_sent = now_ns();
        if (ws_send_text(G.trigger, msg, len) != 0 || ws_flush(G.trigger) != 0)
            fail("the trigger connection failed");
        p->answered = true;
    } else {
        hconn *h = NULL;
        for (int i = 0; i < G.inflight && !h; i++)
            if (G.hc[i].k < 0)
                h = &G.hc[i];
        if (!h)
            fail("internal: no free HTTP connection");
        h->k = k;
        char path[512], body[2048];
        p->t_sent = now_ns();
        if (kind == K_REFRESH) {
            snprintf(path, sizeof path, "/api/v1/cases/%s/components/%s/refresh", G.case_id,
                     G.component);
            snprintf(body, sizeof body, "{\"key\":\"b%d\"}", k);
            http_write(h, "POST", path, true, body);
        } else {
            snprintf(path, sizeof path, "/api/v1/cases/%s/dashboard", G.case_id);
            put_body(body, sizeof body, k);
            http_write(h, "PUT", path, true, body);
        }
    }
    G.flight[G.n_flight++] = k;
}

static void answered(hconn *h, int status, const char *body, size_t blen)
{
    int k = h->k;
    if (status != 200)
        fail("push %d: HTTP %d: %.*s", k, status, clip(blen, 400), body);
    const char *v;
    size_t vl;
    long ver;
    if (json_field(body, blen, "version", &v, &vl) && (ver = digits_at(v, body + blen)) >= 0)
        G.version = ver; /* a PUT's answer: the next PUT is based on it */
    G.pu[k].answered = true;
    h->k = -1;
    h->len = 0;
}

/* Wait for events on the WebSockets and the HTTP connections together. */
static void pump(ws_client *cl, int timeout_ms)
{
    struct pollfd pf[1 + MAX_INFLIGHT];
    int map[1 + MAX_INFLIGHT];
    int n = 0;
    pf[n++] = (struct pollfd){.fd = ws_client_fd(cl), .events = POLLIN};
    if (G.mode == M_DASH)
        for (int i = 0; i < G.inflight; i++)
            if (G.hc[i].k >= 0) {
                map[n] = i;
                pf[n++] = (struct pollfd){.fd = G.hc[i].fd, .events = POLLIN};
            }
    poll(pf, (nfds_t)n, timeout_ms);
    ws_client_poll(cl, 0);
    for (int j = 1; j < n; j++) {
        if (!pf[j].revents)
            continue;
        hconn *h = &G.hc[map[j]];
        int status;
        const char *body;
        size_t blen;
        if (http_read(h, &status, &body, &blen) == 1)
            answered(h, status, body, blen);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const int64_t *v, size_t n, double p)
{
    if (!n)
        return -1;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

/* Every dashboard got every push of [first, first + count) once. */
static void check_deliveries(const char *name, int first, int count)
{
    uint64_t missing = 0, extra = 0;
    int bad = 0, first_bad = -1;
    for (int i = 0; i < G.conns; i++) {
        bool b = false;
        for (int k = first; k < first + count; k++) {
            uint8_t g = G.got[(size_t)i * (size_t)G.total + (size_t)k];
            if (g == 0)
                missing++;
            else if (g > 1)
                extra += g - 1u;
            b |= g != 1;
        }
        if (b && bad++ == 0)
            first_bad = i;
    }
    if (missing || extra)
        fail("%s: %llu deliveries missing, %llu duplicated, on %d dashboards (the first: %d)", name,
             (unsigned long long)missing, (unsigned long long)extra, bad, first_bad);
}

/* Pushes [first, first + count) of one kind, `inflight` at a time. */
static void run_phase(ws_client *cl, stats *st, const char *name, int first, int count, int kind,
                      int inflight)
{
    memset(st, 0, sizeof *st);
    st->name = name;
    st->first = first;
    st->count = count;
    if (count <= 0)
        return;
    double cpu0 = procstat_cpu(G.server_pid), gen0 = procstat_self_cpu(), core0[2], core1[2];
    procstat_core(G.server_core, core0);
    int next = first, done = 0;
    int64_t last_progress = now_ns();
    while (done < count) {
        if (g_stop)
            fail("interrupted");
        while (G.n_flight < inflight && next < first + count)
            issue(cl, next++, kind);
        pump(cl, 1);
        for (int i = 0; i < G.n_flight;) {
            push *p = &G.pu[G.flight[i]];
            if (p->answered && p->delivered == G.conns) {
                p->complete = true;
                G.flight[i] = G.flight[--G.n_flight];
                done++;
                last_progress = now_ns();
            } else {
                i++;
            }
        }
        if (now_ns() - last_progress > (int64_t)(G.wait_s * 1e9)) {
            push *p = &G.pu[G.flight[0]];
            fail("%s: push %d: %s, %d of %d dashboards have it after %.0f s", name, G.flight[0],
                 p->answered ? "answered" : "not answered", p->delivered, G.conns, G.wait_s);
        }
    }
    double cpu1 = procstat_cpu(G.server_pid), gen1 = procstat_self_cpu();
    procstat_core(G.server_core, core1);
    check_deliveries(name, first, count);
    st->lat = calloc((size_t)count, sizeof *st->lat);
    if (!st->lat)
        fail("out of memory");
    st->t0 = G.pu[first].t_sent;
    for (int k = first; k < first + count; k++) {
        st->lat[k - first] = G.pu[k].t_done - G.pu[k].t_sent;
        if (G.pu[k].t_done > st->t1)
            st->t1 = G.pu[k].t_done;
    }
    qsort(st->lat, (size_t)count, sizeof *st->lat, cmp_i64);
    st->cpu = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    st->gen = gen1 - gen0;
    st->others = -1;
    if (st->cpu >= 0 && core0[0] >= 0 && core1[0] >= 0 && core1[1] > core0[1]) {
        st->others = ((core1[0] - core0[0]) - st->cpu) / (core1[1] - core0[1]);
        if (st->others < 0 && st->others > -0.05)
            st->others = 0; /* tick rounding */
    }
}

static void report(const stats *st)
{
    if (st->count <= 0)
        return;
    double secs = (double)(st->t1 - st->t0) / 1e9;
    double n = (double)st->count * G.conns;
    double p50 = pct_ms(st->lat, (size_t)st->count, 0.5),
           p99 = pct_ms(st->lat, (size_t)st->count, 0.99),
           mx = (double)st->lat[st->count - 1] / 1e6;
    say("%s: %d pushes x %d = %.0f deliveries in %.3f s: %.0f/s, server CPU %.2f s (%.0f per "
        "CPU-second, %.2f us each); push to last delivery p50 %.2f ms, p99 %.2f ms, max %.2f ms",
        st->name, st->count, G.conns, n, secs, n / secs, st->cpu, st->cpu > 0 ? n / st->cpu : -1,
        st->cpu > 0 ? st->cpu * 1e6 / n : -1, p50, p99, mx);
    printf(" %s_pushes=%d %s_seconds=%.3f %s_per_s=%.0f %s_server_cpu_s=%.3f %s_per_cpu_s=%.0f "
           "%s_cpu_us=%.3f %s_p50_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f %s_server_util=%.3f "
           "%s_others_util=%.3f %s_gen_util=%.3f",
           st->name, st->count, st->name, secs, st->name, n / secs, st->name, st->cpu, st->name,
           st->cpu > 0 ? n / st->cpu : -1, st->name, st->cpu > 0 ? st->cpu * 1e6 / n : -1, st->name,
           p50, st->name, p99, st->name, mx, st->name,
           secs > 0 && st->cpu >= 0 ? st->cpu / secs : -1, st->name, st->others, st->name,
           secs > 0 ? st->gen / secs : -1);
}

static void run(ws_client *cl)
{
    G.total = G.warmup_pushes + G.pushes + G.serial + G.puts;
    G.pu = calloc((size_t)G.total + 1, sizeof *G.pu);
    G.got = calloc((size_t)G.conns * (size_t)G.total + 1, 1);
    G.hc = calloc((size_t)G.inflight, sizeof *G.hc);
    if (!G.pu || !G.got || !G.hc)
        fail("out of memory");
    for (int i = 0; i < G.inflight; i++) {
        G.hc[i].fd = -1;
        G.hc[i].k = -1;
    }
    if (G.mode == M_DASH) {
        authenticate();
        snprintf(G.resource, sizeof G.resource,
                 "/api/v1/ws?case_id=%s&fin_session_id=%s&user_id=%s", G.case_id, G.fin_session,
                 G.user_id);
    } else {
        snprintf(G.resource, sizeof G.resource, "/");
    }
    long rss0 = procstat_rss_kb(G.server_pid);
    int64_t t0 = now_ns();
    open_all(cl);
    double open_s = (double)(now_ns() - t0) / 1e9;
    G.phase = P_RUN;
    int64_t until = now_ns() + (int64_t)(G.settle_s * 1e9);
    while (now_ns() < until && !g_stop)
        ws_client_poll(cl, 20);
    long rss1 = procstat_rss_kb(G.server_pid);
    double per = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) * 1024.0 / G.conns : -1;
    say("idle: server RSS %ld kB before, %ld kB with %d open: %.0f bytes per connection", rss0,
        rss1, G.conns, per);
    save_metrics("before");

    stats warm, burst, serial, put;
    int k = 0;
    run_phase(cl, &warm, "warmup", k, G.warmup_pushes, K_REFRESH, G.inflight);
    k += G.warmup_pushes;
    run_phase(cl, &burst, "burst", k, G.pushes, K_REFRESH, G.inflight);
    k += G.pushes;
    run_phase(cl, &serial, "serial", k, G.serial, K_REFRESH, 1);
    k += G.serial;
    run_phase(cl, &put, "put", k, G.puts, K_PUT, 1);
    save_metrics("after");

    printf("RESULT mode=%s label=%s conns=%d inflight=%d open_s=%.2f rss_before_kb=%ld "
           "rss_after_kb=%ld bytes_per_conn=%.0f refresh_frame=%zu init_frame=%zu others=%llu "
           "bytes_delivered=%llu",
           G.mode == M_DASH ? "dash" : "echo", G.label, G.conns, G.inflight, open_s, rss0, rss1,
           per, G.mode == M_DASH ? G.refresh_frame : (size_t)G.refresh_bytes,
           G.mode == M_DASH ? G.init_frame : (size_t)G.init_bytes, (unsigned long long)G.others,
           (unsigned long long)G.bytes_delivered);
    report(&burst);
    report(&serial);
    report(&put);
    printf("\n");
    fflush(stdout);
    free(warm.lat);
    free(burst.lat);
    free(serial.lat);
    free(put.lat);
    close_all(cl, 10);
    for (int i = 0; i < G.inflight; i++)
        if (G.hc[i].fd >= 0)
            close(G.hc[i].fd);
}

/* Command line ------------------------------------------------------------ */

static void usage(FILE *to)
{
    fputs("usage: dashload dash|echo --port P [options]\n"
          "  dash: the Switchboard server's dashboards; echo: echo_server --broadcast\n"
          "  --host ADDR            server IPv4 address (127.0.0.1)\n"
          "  --port P               server port\n"
          "  --api-key-file F       dash: the operator key (first line)\n"
          "  --case C               dash: the case (1000)\n"
          "  --user U               dash: the user (42)\n"
          "  --component ID         dash: the component refreshed (timeline_1)\n"
          "  --conns N              dashboards (10000)\n"
          "  --concurrency N        connections being opened at once (200)\n"
          "  --settle S             seconds between the last ready and the RSS reading (2)\n"
          "  --warmup-pushes K      refreshes before measuring (5)\n"
          "  --pushes K             burst: refreshes measured (100)\n"
          "  --inflight F           burst: pushes in flight at once (16, at most 64)\n"
          "  --serial K             refreshes one at a time, for latency (50)\n"
          "  --puts K               dashboard replacements (init_data), one at a time (20)\n"
          "  --refresh-bytes B      echo: the size of a refresh frame (100)\n"
          "  --init-bytes B         echo: the size of an init_data frame (600)\n"
          "  --setup-timeout S      for all dashboards to be ready (120)\n"
          "  --wait S               for a push to make progress (30)\n"
          "  --server-pid PID       read the server's CPU time and RSS from /proc\n"
          "  --server-core N        the CPU the server is pinned to (0)\n"
          "  --metrics-out PATH     dash: GET /metrics into PATH.before and PATH.after\n"
          "  --label TEXT           copied into the RESULT line\n",
          to);
}

static double num(const char *o, const char *v)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end)
        usage_error("%s: not a number: %s", o, v);
    return d;
}

static bool plain_id(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.") == n;
}

static void parse_args(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        exit(2);
    }
    if (strcmp(argv[1], "dash") == 0) {
        G.mode = M_DASH;
    } else if (strcmp(argv[1], "echo") == 0) {
        G.mode = M_ECHO;
    } else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        exit(0);
    } else {
        usage(stderr);
        exit(2);
    }
    G.host = "127.0.0.1";
    G.case_id = "1000";
    G.user_id = "42";
    G.component = "timeline_1";
    G.conns = 10000;
    G.concurrency = 200;
    G.settle_s = 2;
    G.warmup_pushes = 5;
    G.pushes = 100;
    G.inflight = 16;
    G.serial = 50;
    G.puts = 20;
    G.refresh_bytes = 100;
    G.init_bytes = 600;
    G.setup_timeout_s = 120;
    G.wait_s = 30;
    G.label = "-";
    const char *key_file = NULL;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc)
            usage_error("%s: missing value", o);
        const char *v = argv[++i];
        if (strcmp(o, "--host") == 0)
            G.host = v;
        else if (strcmp(o, "--port") == 0)
            G.port = (int)num(o, v);
        else if (strcmp(o, "--api-key-file") == 0)
            key_file = v;
        else if (strcmp(o, "--case") == 0)
            G.case_id = v;
        else if (strcmp(o, "--user") == 0)
            G.user_id = v;
        else if (strcmp(o, "--component") == 0)
            G.component = v;
        else if (strcmp(o, "--conns") == 0)
            G.conns = (int)num(o, v);
        else if (strcmp(o, "--concurrency") == 0)
            G.concurrency = (int)num(o, v);
        else if (strcmp(o, "--settle") == 0)
            G.settle_s = num(o, v);
        else if (strcmp(o, "--warmup-pushes") == 0)
            G.warmup_pushes = (int)num(o, v);
        else if (strcmp(o, "--pushes") == 0)
            G.pushes = (int)num(o, v);
        else if (strcmp(o, "--inflight") == 0)
            G.inflight = (int)num(o, v);
        else if (strcmp(o, "--serial") == 0)
            G.serial = (int)num(o, v);
        else if (strcmp(o, "--puts") == 0)
            G.puts = (int)num(o, v);
        else if (strcmp(o, "--refresh-bytes") == 0)
            G.refresh_bytes = (int)num(o, v);
        else if (strcmp(o, "--init-bytes") == 0)
            G.init_bytes = (int)num(o, v);
        else if (strcmp(o, "--setup-timeout") == 0)
            G.setup_timeout_s = num(o, v);
        else if (strcmp(o, "--wait") == 0)
            G.wait_s = num(o, v);
        else if (strcmp(o, "--server-pid") == 0)
            G.server_pid = (int)num(o, v);
        else if (strcmp(o, "--server-core") == 0)
            G.server_core = (int)num(o, v);
        else if (strcmp(o, "--metrics-out") == 0)
            G.metrics_out = v;
        else if (strcmp(o, "--label") == 0)
            G.label = v;
        else
            usage_error("unknown option %s", o);
    }
    if (G.port <= 0 || G.port > 65535)
        usage_error("--port P is required");
    if (G.conns < 1 || G.concurrency < 1 || G.settle_s < 0 || G.wait_s <= 0 ||
        G.warmup_pushes < 0 || G.pushes < 0 || G.serial < 0 || G.puts < 0 || G.inflight < 1 ||
        G.inflight > MAX_INFLIGHT || G.refresh_bytes < 8 || G.init_bytes < 8 ||
        G.refresh_bytes > 65536 || G.init_bytes > 65536)
        usage_error("--conns, --concurrency, --wait >= 1; pushes >= 0; --inflight 1..%d; frame "
                    "sizes 8..65536",
                    MAX_INFLIGHT);
    if (!plain_id(G.case_id) || !plain_id(G.user_id) || !plain_id(G.component))
        usage_error("--case, --user, --component: 1 to 64 of [A-Za-z0-9._-]");
    if (G.mode == M_DASH) {
        if (key_file)
            G.api_key = read_first_line(key_file);
        if (!G.api_key || !G.api_key[0] || strpbrk(G.api_key, " \t\r\n"))
            usage_error("dash: --api-key-file F is required");
    }
}

int main(int argc, char **argv)
{
    bench_prog = "dashload";
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)G.conns + 64 + G.inflight > rl.rlim_cur)
        usage_error("--conns %d: only %llu descriptors (ulimit -n)", G.conns,
                    (unsigned long long)rl.rlim_cur);
    ws_client *cl = ws_client_new(&callbacks);
    if (!cl)
        fail("cannot create the client");
    run(cl);
    ws_client_free(cl);
    free(G.dc);
    free(G.pu);
    free(G.got);
    free(G.hc);
    free(G.api_key);
    return 0;
}
