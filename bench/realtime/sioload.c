/*
 * sioload.c: load client for a Socket.IO v5 / Engine.IO v4 server doing
 * Switchboard's /realtime job (Switchboard itself, or the Node reference
 * bench/realtime/node_server.mjs), over bench/load's wsclient.c.
 *
 * Engine.IO over WebSocket only: GET PATH?EIO=4&transport=websocket&
 * sessionId=S, the server's open packet 0{...}, our CONNECT
 * 40{"token":"..."}, its answer 40{"sid":...} (a connection is ready then);
 * every ping 2 is answered with 3. A CONNECT_ERROR (44), a server
 * DISCONNECT (41) or an Engine.IO close (1) fails the run.
 *
 *   sioload rtt --port P --token-file F --session S [--conns 50 --window 16
 *               --warmup 2 --duration 10]
 *       Each connection keeps W REQUESTs (action ping) in flight, pipelined:
 *       42["message","{\"type\":\"REQUEST\",\"requestId\":\"SLOT-GEN\",...}"].
 *       Every RESPONSE must carry the requestId of a request in flight on
 *       that connection, once: an unknown, repeated or missing one, or an
 *       ERROR, fails the run. Reports round trips/s, p50/p99 latency (send
 *       to response, closed loop), the server's CPU seconds over the
 *       measured window and round trips per server CPU-second.
 *   sioload fanout --port P --token-file F --session S --api-key-file F
 *               [--conns 10000 --updates 100 --warmup-updates 5 --inflight 4]
 *       N connections, then K POSTs to /api/v1/realtime/updates (requestId
 *       u0, u1, ...; at most --inflight at once, on keep-alive
 *       connections, from a second thread). Each answer must be 200 with
 *       delivered = N. Deliveries are counted from the frame's prefix and
 *       its requestId only. Reports deliveries/s = N*K / (last delivery -
 *       first POST), and checks that every connection got every update
 *       exactly once.
 *   sioload idle --port P --token-file F --session S [--conns 10000]
 *       N connections, ready; after --settle seconds, the server's VmRSS
 *       growth over its VmRSS before the first connection, per connection.
 *
 * With --server-pid PID: the server's utime + stime from /proc/PID/stat
 * and its VmRSS from /proc/PID/status (the same readings as
 * bench/load/loadgen). Human output goes to stderr; the last line on stdout
 * is "RESULT key=value ..." for scripts (bench/realtime/run.sh). Exit
 * status 1 when a check failed (after saying why), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "wsclient.h"
#include "benchutil.h"

enum mode { M_RTT, M_FANOUT, M_IDLE };
enum phase { P_SETUP, P_WARMUP, P_MEASURE, P_DRAIN, P_DONE };

typedef struct slot {
    uint32_t gen;
    bool busy;
    int64_t t_sent;
} slot;

typedef struct sconn {
    ws_conn *c;
    bool opened; /* the Engine.IO open packet came */
    bool ready;  /* the Socket.IO CONNECT was answered */
    bool gone;
    int outstanding; /* rtt: requests in flight */
    slot *slots;     /* rtt: --window of them */
} sconn;

static struct {
    /* options */
    int mode;
    const char *host;
    int port;
    const char *path;
    const char *session;
    const char *company;
    char *token;
    char *api_key;
    int conns, window, concurrency;
    int updates, warmup_updates, inflight, data_bytes;
    double warmup_s, duration_s, settle_s, hold_s, setup_timeout_s, wait_s;
    int server_pid, server_core;
    const char *label;
    /* state */
    sconn *sc;
    char resource[1024];
    char *connect_pkt; /* 40{"token":"..."} */
    size_t connect_len;
    int next_open, opening, n_ready, n_failed;
    int phase;
    uint64_t pings, others;
    /* rtt */
    uint64_t sent, answered, m_answered, e_answered;
    int64_t *lat;
    size_t n_lat, cap_lat;
    int64_t m_t0, m_t1;
    double cpu0, cpu1, gen0, gen1;
    double core0[2], core1[2];
    /* fanout */
    int total_updates; /* warmup + measured */
    uint8_t *got;      /* [conn * total_updates + k] */
    uint64_t deliveries, target;
    int64_t t_last_delivery;
} G;

/* The server process: procstat.h ------------------------------------------ */

static double server_cpu(void)
{
    return procstat_cpu(G.server_pid);
}

static long server_rss_kb(void)
{
    return procstat_rss_kb(G.server_pid);
}

static void window_start(void)
{
    G.m_t0 = now_ns();
    G.cpu0 = server_cpu();
    procstat_core(G.server_core, G.core0);
    G.gen0 = procstat_self_cpu();
}

static void window_end(void)
{
    G.m_t1 = now_ns();
    G.cpu1 = server_cpu();
    procstat_core(G.server_core, G.core1);
    G.gen1 = procstat_self_cpu();
}

/* server_cpu_s, server_cpu_util, core_others_util and gen_cpu_util of the
 * window, as RESULT fields */
static void print_window_cpu(void)
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
}

/* Files ------------------------------------------------------------------- */

/* The first line of a file, without its line end. */
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

/* Envelopes --------------------------------------------------------------- */

/* The string value of "key" in an envelope that is either a JSON object
 * ({"key":"v"}) or a JSON string holding one ({\"key\":\"v\"}), as the
 * server may send either. Values are ours or the server's short IDs, without
 * escapes. */
static bool env_field(const char *d, size_t n, const char *key, size_t klen, const char **v,
                      size_t *vl)
{
    const char *end = d + n;
    const char *k = memmem(d, n, key, klen);
    if (!k)
        return false;
    const char *p = k + klen;
    if (p < end && *p == '\\')
        p++;
    if (p >= end || *p != '"')
        return false;
    p++;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != ':')
        return false;
    p++;
    while (p < end && *p == ' ')
        p++;
    if (p < end && *p == '\\')
        p++;
    if (p >= end || *p != '"')
        return false;
    p++;
    const char *s = p;
    while (p < end && *p != '"' && *p != '\\')
        p++;
    if (p >= end)
        return false;
    *v = s;
    *vl = (size_t)(p - s);
    return true;
}

#define FIELD(d, n, lit, v, vl) env_field(d, n, "\"" lit, sizeof(lit), v, vl)

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

/* rtt --------------------------------------------------------------------- */

static void send_request(sconn *p, int s)
{
    slot *sl = &p->slots[s];
    sl->gen++;
    sl->busy = true;
    char msg[160];
    int n =
        snprintf(msg, sizeof msg,
                 "42[\"message\",\"{\\\"type\\\":\\\"REQUEST\\\",\\\"requestId\\\":\\\"%d-%u\\\","
                 "\\\"action\\\":\\\"ping\\\"}\"]",
                 s, (unsigned)sl->gen);
    sl->t_sent = now_ns();
    if (ws_send_text(p->c, msg, (size_t)n) != 0)
        fail("connection %d: cannot send", (int)(p - G.sc));
    p->outstanding++;
    G.sent++;
}

static void record_latency(int64_t ns)
{
    if (G.n_lat == G.cap_lat) {
        G.cap_lat = G.cap_lat ? G.cap_lat * 2 : 1 << 16;
        G.lat = realloc(G.lat, G.cap_lat * sizeof *G.lat);
        if (!G.lat)
            fail("out of memory");
    }
    G.lat[G.n_lat++] = ns;
}

static void on_rtt_envelope(sconn *p, const char *d, size_t n)
{
    const char *t, *r;
    size_t tl, rl;
    int ci = (int)(p - G.sc);
    if (!FIELD(d, n, "type", &t, &tl))
        fail("connection %d: message without type: %.*s", ci, (int)(n > 200 ? 200 : n), d);
    if (tl != 8 || memcmp(t, "RESPONSE", 8) != 0) {
        if (tl == 6 && memcmp(t, "UPDATE", 6) == 0) {
            G.others++;
            return;
        }
        fail("connection %d: %.*s instead of a RESPONSE: %.*s", ci, (int)tl, t,
             (int)(n > 300 ? 300 : n), d);
    }
    if (!FIELD(d, n, "requestId", &r, &rl))
        fail("connection %d: RESPONSE without requestId: %.*s", ci, (int)(n > 200 ? 200 : n), d);
    const char *dash = memchr(r, '-', rl);
    uint64_t s, gen;
    if (!dash || !parse_uint(r, (size_t)(dash - r), &s) ||
        !parse_uint(dash + 1, rl - (size_t)(dash - r) - 1, &gen) || s >= (uint64_t)G.window)
        fail("connection %d: RESPONSE to requestId \"%.*s\", which it never sent", ci, (int)rl, r);
    slot *sl = &p->slots[s];
    if (!sl->busy || sl->gen != gen)
        fail("connection %d: RESPONSE to requestId \"%.*s\" %s", ci, (int)rl, r,
             sl->gen < gen ? "which was never sent" : "again (answered twice)");
    int64_t t_now = now_ns();
    sl->busy = false;
    p->outstanding--;
    G.answered++;
    if (G.phase == P_MEASURE)
        record_latency(t_now - sl->t_sent);
    if (G.phase == P_WARMUP || G.phase == P_MEASURE)
        send_request(p, (int)s);
}

/* fanout ------------------------------------------------------------------ */

static void on_fanout_envelope(sconn *p, const char *d, size_t n)
{
    /* The frame is 42["message","{\"type\":\"UPDATE\",\"requestId\":\"uK\",...: the type is
     * the first field; look no further than the requestId. */
    const char *t, *r;
    size_t tl, rl;
    int ci = (int)(p - G.sc);
    if (!FIELD(d, n, "type", &t, &tl) || tl != 6 || memcmp(t, "UPDATE", 6) != 0)
        fail("connection %d: not an UPDATE: %.*s", ci, (int)(n > 200 ? 200 : n), d);
    uint64_t k;
    if (!FIELD(d, n, "requestId", &r, &rl) || rl < 2 || r[0] != 'u' ||
        !parse_uint(r + 1, rl - 1, &k) || k >= (uint64_t)G.total_updates)
        fail("connection %d: UPDATE that was never posted: %.*s", ci, (int)(n > 200 ? 200 : n), d);
    uint8_t *g = &G.got[(size_t)ci * (size_t)G.total_updates + k];
    if (*g < 255)
        (*g)++;
    if (++G.deliveries == G.target)
        G.t_last_delivery = now_ns();
}

/* Engine.IO and Socket.IO ------------------------------------------------- */

static void set_ready(sconn *p)
{
    if (p->ready)
        return;
    p->ready = true;
    G.n_ready++;
    G.opening--;
}

static void on_message(ws_conn *c, const char *data, size_t len, int binary, void *user)
{
    sconn *p = user;
    int ci = (int)(p - G.sc);
    if (binary || len == 0)
        fail("connection %d: %s frame from the server", ci, binary ? "binary" : "empty");
    switch (data[0]) {
    case '0': /* open */
        if (p->opened)
            fail("connection %d: a second Engine.IO open packet", ci);
        p->opened = true;
        ws_send_text(c, G.connect_pkt, G.connect_len);
        return;
    case '2': { /* ping: pong with the same payload */
        char pong[64];
        if (len > sizeof pong)
            fail("connection %d: ping of %zu bytes", ci, len);
        memcpy(pong, data, len);
        pong[0] = '3';
        ws_send_text(c, pong, len);
        G.pings++;
        return;
    }
    case '6': /* noop */
        return;
    case '1':
        fail("connection %d: the server closed the Engine.IO session", ci);
        return;
    case '4':
        break;
    default:
        fail("connection %d: Engine.IO packet of unknown type: %.*s", ci,
             (int)(len > 100 ? 100 : len), data);
    }
    if (len < 2)
        fail("connection %d: empty Engine.IO message", ci);
    switch (data[1]) {
    case '2': { /* EVENT */
        static const char ev[] = "42[\"message\",";
        if (len < sizeof ev || memcmp(data, ev, sizeof ev - 1) != 0) {
            G.others++;
            return;
        }
        const char *d = data + sizeof ev - 1;
        size_t n = len - (sizeof ev - 1);
        if (G.mode == M_RTT)
            on_rtt_envelope(p, d, n);
        else if (G.mode == M_FANOUT)
            on_fanout_envelope(p, d, n);
        else
            G.others++;
        return;
    }
    case '0': /* CONNECT answered */
        if (len < 3 || data[2] != '{' || !memmem(data, len, "\"sid\"", 5))
            fail("connection %d: CONNECT answer without sid: %.*s", ci,
                 (int)(len > 200 ? 200 : len), data);
        set_ready(p);
        return;
    case '4':
        fail("connection %d: connect_error: %.*s", ci, (int)(len > 302 ? 300 : len - 2), data + 2);
        return;
    case '1':
        fail("connection %d: the server disconnected the socket (41)", ci);
        return;
    default:
        G.others++;
        return;
    }
}

static void on_open(ws_conn *c, void *user)
{
    (void)c;
    (void)user; /* the server speaks first (open packet) */
}

static void on_close(ws_conn *c, int code, const char *reason, void *user)
{
    (void)c;
    sconn *p = user;
    p->c = NULL;
    p->gone = true;
    if (G.phase == P_DONE)
        return;
    if (!p->ready)
        fail("connection %d closed before it was ready: %d %s", (int)(p - G.sc), code, reason);
    fail("connection %d closed during the run: %d %s", (int)(p - G.sc), code, reason);
}

static const ws_callbacks callbacks = {on_open, on_message, on_close};

/* Connections ----------------------------------------------------------- */

static void open_more(ws_client *cl)
{
    while (G.next_open < G.conns && G.opening < G.concurrency) {
        sconn *p = &G.sc[G.next_open++];
        p->c = ws_connect(cl, G.host, G.port, G.resource, p);
        if (!p->c)
            fail("connect %d: %s", (int)(p - G.sc), strerror(errno));
        G.opening++;
    }
}

/* Open --conns connections, --concurrency at a time, and wait until every
 * one is ready. */
static void open_all(ws_client *cl)
{
    G.sc = calloc((size_t)G.conns, sizeof *G.sc);
    if (!G.sc)
        fail("out of memory");
    int64_t t0 = now_ns(), until = t0 + (int64_t)(G.setup_timeout_s * 1e9);
    while (G.n_ready < G.conns) {
        if (g_stop)
            fail("interrupted");
        if (now_ns() > until)
            fail("setup: %d of %d connections ready after %.0f s", G.n_ready, G.conns,
                 G.setup_timeout_s);
        open_more(cl);
        ws_client_poll(cl, 5);
    }
    say("%d connections ready in %.2f s", G.conns, (double)(now_ns() - t0) / 1e9);
}

/* Close politely, and wait for the server to close the TCP connections (so
 * that the TIME_WAITs are on its side, not on our ephemeral ports). */
static void close_all(ws_client *cl, double timeout_s)
{
    G.phase = P_DONE;
    for (int i = 0; i < G.conns; i++)
        if (G.sc[i].c)
            ws_close(G.sc[i].c, 1000);
    int64_t until = now_ns() + (int64_t)(timeout_s * 1e9);
    while (ws_client_live(cl) > 0 && now_ns() < until)
        ws_client_poll(cl, 10);
}

/* Poll for `seconds`, answering pings. */
static void poll_for(ws_client *cl, double seconds)
{
    int64_t until = now_ns() + (int64_t)(seconds * 1e9);
    while (now_ns() < until && !g_stop)
        ws_client_poll(cl, 20);
}

/* Mode rtt ---------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const int64_t *v, size_t n, double p)
{
    if (!n)
        return -1;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e3;
}

static long total_outstanding(void)
{
    long n = 0;
    for (int i = 0; i < G.conns; i++)
        n += G.sc[i].outstanding;
    return n;
}

static void run_rtt(ws_client *cl)
{
    open_all(cl);
    for (int i = 0; i < G.conns; i++) {
        G.sc[i].slots = calloc((size_t)G.window, sizeof(slot));
        if (!G.sc[i].slots)
            fail("out of memory");
    }
    say("%d connections x %d requests in flight; warmup %.1f s, measure %.1f s", G.conns, G.window,
        G.warmup_s, G.duration_s);
    G.phase = P_WARMUP;
    for (int i = 0; i < G.conns; i++)
        for (int s = 0; s < G.window; s++)
            send_request(&G.sc[i], s);
    int64_t t_measure = now_ns() + (int64_t)(G.warmup_s * 1e9);
    int64_t t_end = t_measure + (int64_t)(G.duration_s * 1e9);
    while (G.phase != P_DRAIN) {
        if (g_stop)
            fail("interrupted");
        ws_client_poll(cl, 1);
        int64_t t = now_ns();
        if (G.phase == P_WARMUP && t >= t_measure) {
            G.phase = P_MEASURE;
            window_start();
            G.m_answered = G.answered;
        } else if (G.phase == P_MEASURE && t >= t_end) {
            window_end();
            G.e_answered = G.answered;
            G.phase = P_DRAIN;
        }
    }
    /* no new requests from here on: every one sent must be answered */
    int64_t until = now_ns() + (int64_t)(G.wait_s * 1e9);
    while (total_outstanding() > 0 && now_ns() < until && !g_stop)
        ws_client_poll(cl, 5);
    long left = total_outstanding();
    if (left > 0)
        fail("%ld requests of %llu never answered (waited %.0f s)", left,
             (unsigned long long)G.sent, G.wait_s);
    if (G.answered != G.sent)
        fail("%llu requests sent, %llu answered", (unsigned long long)G.sent,
             (unsigned long long)G.answered);
    double wall = (double)(G.m_t1 - G.m_t0) / 1e9;
    uint64_t rt = G.e_answered - G.m_answered;
    double cpu = G.cpu0 >= 0 && G.cpu1 >= 0 ? G.cpu1 - G.cpu0 : -1;
    qsort(G.lat, G.n_lat, sizeof *G.lat, cmp_i64);
    double p50 = pct_us(G.lat, G.n_lat, 0.50), p99 = pct_us(G.lat, G.n_lat, 0.99),
           p999 = pct_us(G.lat, G.n_lat, 0.999),
           mx = G.n_lat ? (double)G.lat[G.n_lat - 1] / 1e3 : -1;
    say("%.0f round trips/s over %.2f s; p50 %.0f us, p99 %.0f us, max %.0f us; server CPU "
        "%.2f s: %.0f round trips per server CPU-second; all %llu answered once",
        (double)rt / wall, wall, p50, p99, mx, cpu, cpu > 0 ? (double)rt / cpu : -1.0,
        (unsigned long long)G.sent);
    printf("RESULT mode=rtt label=%s conns=%d window=%d seconds=%.3f round_trips=%llu "
           "rt_per_s=%.0f rt_per_cpu_s=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f "
           "sent=%llu answered=%llu pings=%llu",
           G.label, G.conns, G.window, wall, (unsigned long long)rt, (double)rt / wall,
           cpu > 0 ? (double)rt / cpu : -1.0, p50, p99, p999, mx, (unsigned long long)G.sent,
           (unsigned long long)G.answered, (unsigned long long)G.pings);
    print_window_cpu();
    printf("\n");
    fflush(stdout);
    close_all(cl, 5);
}

/* Mode fanout: the poster thread ------------------------------------------ */

typedef struct hconn {
    int fd;
    int k; /* update in flight, -1: none */
    int64_t t_sent;
    char buf[8192];
    size_t len;
} hconn;

typedef struct poster {
    int first, count; /* updates [first, first + count) */
    int expect;       /* delivered must be this */
    int64_t t_first;  /* the first request written */
    int64_t t_last;   /* the last answer read */
    int64_t *lat;     /* per POST, ns */
    char err[512];
    atomic_int done;
} poster;

static int http_connect(void)
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
    return fd;
}

static int http_send(poster *po, hconn *h, int k)
{
    char body[1024 + 16384], req[2048 + sizeof body];
    int bn = snprintf(body, sizeof body,
                      "{\"company_id\":\"%s\",\"action\":\"statusChange\",\"data\":{\"status\":"
                      "\"completed\",\"seq\":%d",
                      G.company, k);
    if (G.data_bytes > 0) {
        bn += snprintf(body + bn, sizeof body - (size_t)bn, ",\"note\":\"");
        for (int i = 0; i < G.data_bytes; i++)
            body[bn++] = (char)('a' + i % 26);
        body[bn++] = '"';
    }
    bn += snprintf(body + bn, sizeof body - (size_t)bn, "},\"requestId\":\"u%d\"}", k);
    int n = snprintf(req, sizeof req,
                     "POST /api/v1/realtime/updates HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     G.host, G.port, G.api_key, bn, body);
    if (h->fd < 0 && (h->fd = http_connect()) < 0) {
        snprintf(po->err, sizeof po->err, "POST: connect: %s", strerror(errno));
        return -1;
    }
    h->k = k;
    h->len = 0;
    h->t_sent = now_ns();
    if (po->t_first == 0)
        po->t_first = h->t_sent;
    for (int off = 0; off < n;) {
        ssize_t w = send(h->fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(po->err, sizeof po->err, "POST: send: %s", strerror(errno));
            return -1;
        }
        off += (int)w;
    }
    return 0;
}

static const char *find_header(const char *hdr, size_t hlen, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = hdr; p && p < hdr + hlen;) {
        const char *eol = memmem(p, (size_t)(hdr + hlen - p), "\r\n", 2);
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* A whole answer in h->buf: 1, with its status, body (de-chunked in place)
 * and whether the server will close; 0: not yet; -1: malformed. */
static int http_answer(hconn *h, bool eof, int *status, char **body, size_t *blen, bool *closing)
{
    char *s = h->buf;
    char *he = memmem(s, h->len, "\r\n\r\n", 4);
    if (!he)
        return h->len >= sizeof h->buf - 1 ? -1 : 0;
    size_t hl = (size_t)(he - s) + 4;
    if (h->len < 12 || memcmp(s, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(s + 9);
    const char *cl = find_header(s, hl, "content-length");
    const char *te = find_header(s, hl, "transfer-encoding");
    const char *co = find_header(s, hl, "connection");
    *closing = (co && strncasecmp(co, "close", 5) == 0) || s[7] == '0';
    char *b = s + hl;
    size_t avail = h->len - hl;
    if (cl) {
        size_t want = (size_t)strtoul(cl, NULL, 10);
        if (hl + want >= sizeof h->buf)
            return -1;
        if (avail < want)
            return 0;
        *body = b;
        *blen = want;
        return 1;
    }
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        /* first see that every chunk is there, then join them in place */
        size_t in = 0;
        for (;;) {
            char *eol = memmem(b + in, avail - in, "\r\n", 2);
            if (!eol)
                return 0;
            size_t sz = (size_t)strtoul(b + in, NULL, 16);
            size_t data = (size_t)(eol - b) + 2;
            if (avail < data + sz + 2)
                return 0;
            in = data + sz + 2;
            if (sz == 0)
                break;
        }
        size_t out = 0;
        in = 0;
        for (;;) {
            char *eol = memmem(b + in, avail - in, "\r\n", 2);
            size_t sz = (size_t)strtoul(b + in, NULL, 16);
            size_t data = (size_t)(eol - b) + 2;
            if (sz == 0)
                break;
            memmove(b + out, b + data, sz);
            out += sz;
            in = data + sz + 2;
        }
        *body = b;
        *blen = out;
        return 1;
    }
    if (!eof)
        return 0;
    *body = b;
    *blen = avail;
    *closing = true;
    return 1;
}

/* Check one answer; -1 (with po->err) when it is wrong. */
static int http_check(poster *po, hconn *h, int status, const char *body, size_t blen)
{
    if (status != 200) {
        snprintf(po->err, sizeof po->err, "POST u%d: HTTP %d: %.*s", h->k, status,
                 (int)(blen > 300 ? 300 : blen), body);
        return -1;
    }
    const char *d = memmem(body, blen, "\"delivered\":", 12);
    char want_id[32];
    int wl = snprintf(want_id, sizeof want_id, "\"requestId\":\"u%d\"", h->k);
    if (!d || !memmem(body, blen, want_id, (size_t)wl)) {
        snprintf(po->err, sizeof po->err, "POST u%d: answer without delivered or requestId: %.*s",
                 h->k, (int)(blen > 300 ? 300 : blen), body);
        return -1;
    }
    long delivered = strtol(d + 12, NULL, 10);
    if (delivered != po->expect) {
        snprintf(po->err, sizeof po->err, "POST u%d: delivered %ld, but %d connections are open",
                 h->k, delivered, po->expect);
        return -1;
    }
    return 0;
}

static void *poster_main(void *arg)
{
    poster *po = arg;
    int nh = G.inflight;
    hconn *hs = calloc((size_t)nh, sizeof *hs);
    struct pollfd *pf = calloc((size_t)nh, sizeof *pf);
    if (!hs || !pf) {
        snprintf(po->err, sizeof po->err, "out of memory");
        goto out;
    }
    for (int i = 0; i < nh; i++) {
        hs[i].fd = -1;
        hs[i].k = -1;
    }
    int next = po->first, end = po->first + po->count, answered = 0;
    while (answered < po->count) {
        for (int i = 0; i < nh && next < end; i++)
            if (hs[i].k < 0 && http_send(po, &hs[i], next++) != 0)
                goto out;
        int np = 0;
        for (int i = 0; i < nh; i++)
            if (hs[i].k >= 0)
                pf[np++] = (struct pollfd){.fd = hs[i].fd, .events = POLLIN};
        int r = poll(pf, (nfds_t)np, (int)(G.wait_s * 1000));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(po->err, sizeof po->err, "POST: no answer in %.0f s", G.wait_s);
            goto out;
        }
        for (int j = 0; j < np; j++) {
            if (!pf[j].revents)
                continue;
            hconn *h = NULL;
            for (int i = 0; i < nh; i++)
                if (hs[i].fd == pf[j].fd)
                    h = &hs[i];
            ssize_t n = recv(h->fd, h->buf + h->len, sizeof h->buf - 1 - h->len, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                snprintf(po->err, sizeof po->err, "POST: recv: %s", strerror(errno));
                goto out;
            }
            h->len += (size_t)n;
            int status;
            char *body;
            size_t blen;
            bool closing;
            int a = http_answer(h, n == 0, &status, &body, &blen, &closing);
            if (a < 0 || (a == 0 && n == 0)) {
                snprintf(po->err, sizeof po->err, "POST u%d: %s", h->k,
                         a < 0 ? "malformed answer" : "connection closed before the answer");
                goto out;
            }
            if (a == 0)
                continue;
            int64_t t = now_ns();
            if (http_check(po, h, status, body, blen) != 0)
                goto out;
            po->lat[h->k - po->first] = t - h->t_sent;
            po->t_last = t;
            answered++;
            h->k = -1;
            h->len = 0;
            if (closing) {
                close(h->fd);
                h->fd = -1;
            }
        }
    }
out:
    if (hs)
        for (int i = 0; i < nh; i++)
            if (hs[i].fd >= 0)
                close(hs[i].fd);
    free(hs);
    free(pf);
    atomic_store(&po->done, 1);
    return NULL;
}

/* Post updates [first, first + count) from the poster thread while this
 * thread counts deliveries, until all N*count have come. */
static void post_and_wait(ws_client *cl, poster *po, int first, int count)
{
    memset(po, 0, sizeof *po);
    atomic_init(&po->done, 0);
    po->first = first;
    po->count = count;
    po->expect = G.conns;
    po->lat = calloc((size_t)count, sizeof *po->lat);
    if (!po->lat)
        fail("out of memory");
    G.target = (uint64_t)G.conns * (uint64_t)(first + count);
    pthread_t th;
    if (pthread_create(&th, NULL, poster_main, po) != 0)
        fail("cannot start the poster thread");
    int64_t deadline = 0;
    while (G.deliveries < G.target || !atomic_load(&po->done)) {
        if (g_stop)
            fail("interrupted");
        ws_client_poll(cl, 2);
        if (atomic_load(&po->done)) {
            if (po->err[0])
                break;
            if (!deadline)
                deadline = now_ns() + (int64_t)(G.wait_s * 1e9);
            else if (now_ns() > deadline)
                break;
        }
    }
    pthread_join(th, NULL);
    if (po->err[0])
        fail("%s", po->err);
}

/* Every connection got every update of [first, first + count) once. */
static void check_deliveries(int first, int count)
{
    uint64_t missing = 0, extra = 0;
    int bad_conns = 0, first_bad = -1;
    for (int i = 0; i < G.conns; i++) {
        bool bad = false;
        for (int k = first; k < first + count; k++) {
            uint8_t g = G.got[(size_t)i * (size_t)G.total_updates + (size_t)k];
            if (g == 0)
                missing++;
            else if (g > 1)
                extra += g - 1u;
            bad |= g != 1;
        }
        if (bad && bad_conns++ == 0)
            first_bad = i;
    }
    if (missing || extra)
        fail("updates u%d..u%d: %llu deliveries missing, %llu duplicated, on %d connections "
             "(the first: %d)",
             first, first + count - 1, (unsigned long long)missing, (unsigned long long)extra,
             bad_conns, first_bad);
}

static void run_fanout(ws_client *cl)
{
    G.total_updates = G.warmup_updates + G.updates;
    G.got = calloc((size_t)G.conns * (size_t)G.total_updates, 1);
    if (!G.got)
        fail("out of memory");
    open_all(cl);
    G.phase = P_WARMUP;
    poster po;
    if (G.warmup_updates > 0) {
        post_and_wait(cl, &po, 0, G.warmup_updates);
        check_deliveries(0, G.warmup_updates);
        free(po.lat);
        say("warmup: %d updates to %d connections delivered", G.warmup_updates, G.conns);
    }
    G.phase = P_MEASURE;
    window_start();
    post_and_wait(cl, &po, G.warmup_updates, G.updates);
    window_end();
    check_deliveries(G.warmup_updates, G.updates);
    G.phase = P_DRAIN;
    uint64_t n = (uint64_t)G.conns * (uint64_t)G.updates;
    double secs = (double)(G.t_last_delivery - po.t_first) / 1e9;
    double handed = (double)(po.t_last - po.t_first) / 1e9;
    double cpu = G.cpu0 >= 0 && G.cpu1 >= 0 ? G.cpu1 - G.cpu0 : -1;
    qsort(po.lat, (size_t)G.updates, sizeof *po.lat, cmp_i64);
    double post_p50 = pct_us(po.lat, (size_t)G.updates, 0.5) / 1e3,
           post_max = (double)po.lat[G.updates - 1] / 1e6;
    say("%d updates x %d connections = %llu deliveries in %.3f s: %.0f deliveries/s (the "
        "answers came within %.3f s: %.0f/s handed over); server CPU %.2f s; POST answered in "
        "%.1f ms (p50), %.1f ms (max); every connection got every update once",
        G.updates, G.conns, (unsigned long long)n, secs, (double)n / secs, handed,
        (double)n / handed, cpu, post_p50, post_max);
    printf("RESULT mode=fanout label=%s conns=%d updates=%d inflight=%d deliveries=%llu "
           "seconds=%.3f deliveries_per_s=%.0f handed_per_s=%.0f deliveries_per_cpu_s=%.0f "
           "post_p50_ms=%.2f post_max_ms=%.2f pings=%llu",
           G.label, G.conns, G.updates, G.inflight, (unsigned long long)n, secs, (double)n / secs,
           (double)n / handed, cpu > 0 ? (double)n / cpu : -1.0, post_p50, post_max,
           (unsigned long long)G.pings);
    print_window_cpu();
    printf("\n");
    fflush(stdout);
    free(po.lat);
    close_all(cl, 10);
}

/* Mode idle --------------------------------------------------------------- */

static void run_idle(ws_client *cl)
{
    long rss0 = server_rss_kb();
    int64_t t0 = now_ns();
    open_all(cl);
    double open_s = (double)(now_ns() - t0) / 1e9;
    G.phase = P_MEASURE;
    /* let the server settle: handshake buffers freed, nothing in flight */
    poll_for(cl, G.settle_s);
    long rss1 = server_rss_kb();
    double per = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) * 1024.0 / (double)G.conns : -1;
    if (per >= 0)
        say("server RSS %ld kB -> %ld kB: %.0f bytes per connection", rss0, rss1, per);
    printf("RESULT mode=idle label=%s conns=%d open_s=%.2f rss_before_kb=%ld rss_after_kb=%ld "
           "bytes_per_conn=%.0f\n",
           G.label, G.conns, open_s, rss0, rss1, per);
    fflush(stdout);
    int64_t hold_until = now_ns() + (int64_t)(G.hold_s * 1e9);
    while (!g_stop && (G.hold_s < 0 || now_ns() < hold_until))
        ws_client_poll(cl, 100);
    close_all(cl, 10);
}

/* Command line ------------------------------------------------------------ */

static void usage(FILE *to)
{
    fputs("usage: sioload MODE --port P --token-file F --session S [options]\n"
          "  MODE: rtt | fanout | idle\n"
          "  --host ADDR            server IPv4 address (127.0.0.1)\n"
          "  --port P               server port\n"
          "  --path PATH            Engine.IO path (/realtime/)\n"
          "  --token-file F         the JWT (first line), sent in CONNECT as {\"token\"}\n"
          "  --token T              the JWT itself (visible in ps: prefer --token-file)\n"
          "  --session S            the query's sessionId: the token's sid\n"
          "  --conns N              connections (rtt 50, fanout and idle 10000)\n"
          "  --concurrency N        connections being opened at once (200)\n"
          "  --setup-timeout S      for all of them to be ready (120)\n"
          "  --wait S               for the last answers and deliveries (30)\n"
          " rtt:\n"
          "  --window W             requests in flight per connection (16)\n"
          "  --warmup S             seconds before measuring (2)\n"
          "  --duration S           seconds measured (10)\n"
          " fanout:\n"
          "  --api-key-file F       the operator key (first line) for the updates endpoint\n"
          "  --api-key K            the key itself (visible in ps)\n"
          "  --company ID           company_id of the updates: the token's (c1)\n"
          "  --updates K            updates measured (100)\n"
          "  --warmup-updates K     updates posted and checked before (5)\n"
          "  --inflight F           POSTs in flight at once, each on its own connection (4)\n"
          "  --data-bytes N         a string of N bytes in each update's data (0)\n"
          " idle:\n"
          "  --settle S             seconds between the last ready and the RSS reading (2)\n"
          "  --hold S               keep them S seconds after the report, -1 until SIGTERM (0)\n"
          " common:\n"
          "  --server-pid PID       read the server's CPU time and RSS from /proc\n"
          "  --server-core N        the CPU the server is pinned to (0): how busy others kept it\n"
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

static void parse_args(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        exit(2);
    }
    const char *m = argv[1];
    if (strcmp(m, "rtt") == 0) {
        G.mode = M_RTT;
    } else if (strcmp(m, "fanout") == 0) {
        G.mode = M_FANOUT;
    } else if (strcmp(m, "idle") == 0) {
        G.mode = M_IDLE;
    } else if (strcmp(m, "--help") == 0 || strcmp(m, "-h") == 0) {
        usage(stdout);
        exit(0);
    } else {
        usage(stderr);
        exit(2);
    }
    G.host = "127.0.0.1";
    G.path = "/realtime/";
    G.company = "c1";
    G.conns = G.mode == M_RTT ? 50 : 10000;
    G.window = 16;
    G.concurrency = 200;
    G.updates = 100;
    G.warmup_updates = 5;
    G.inflight = 4;
    G.warmup_s = 2;
    G.duration_s = 10;
    G.settle_s = 2;
    G.setup_timeout_s = 120;
    G.wait_s = 30;
    G.label = "-";
    const char *token_file = NULL, *key_file = NULL;
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
        else if (strcmp(o, "--path") == 0)
            G.path = v;
        else if (strcmp(o, "--token-file") == 0)
            token_file = v;
        else if (strcmp(o, "--token") == 0)
            G.token = strdup(v);
        else if (strcmp(o, "--session") == 0)
            G.session = v;
        else if (strcmp(o, "--conns") == 0)
            G.conns = (int)num(o, v);
        else if (strcmp(o, "--concurrency") == 0)
            G.concurrency = (int)num(o, v);
        else if (strcmp(o, "--setup-timeout") == 0)
            G.setup_timeout_s = num(o, v);
        else if (strcmp(o, "--wait") == 0)
            G.wait_s = num(o, v);
        else if (strcmp(o, "--window") == 0)
            G.window = (int)num(o, v);
        else if (strcmp(o, "--warmup") == 0)
            G.warmup_s = num(o, v);
        else if (strcmp(o, "--duration") == 0)
            G.duration_s = num(o, v);
        else if (strcmp(o, "--api-key-file") == 0)
            key_file = v;
        else if (strcmp(o, "--api-key") == 0)
            G.api_key = strdup(v);
        else if (strcmp(o, "--company") == 0)
            G.company = v;
        else if (strcmp(o, "--updates") == 0)
            G.updates = (int)num(o, v);
        else if (strcmp(o, "--warmup-updates") == 0)
            G.warmup_updates = (int)num(o, v);
        else if (strcmp(o, "--inflight") == 0)
            G.inflight = (int)num(o, v);
        else if (strcmp(o, "--data-bytes") == 0)
            G.data_bytes = (int)num(o, v);
        else if (strcmp(o, "--settle") == 0)
            G.settle_s = num(o, v);
        else if (strcmp(o, "--hold") == 0)
            G.hold_s = num(o, v);
        else if (strcmp(o, "--server-pid") == 0)
            G.server_pid = (int)num(o, v);
        else if (strcmp(o, "--server-core") == 0)
            G.server_core = (int)num(o, v);
        else if (strcmp(o, "--label") == 0)
            G.label = v;
        else
            usage_error("unknown option %s", o);
    }
    if (G.port <= 0 || G.port > 65535)
        usage_error("--port P is required");
    if (token_file)
        G.token = read_first_line(token_file);
    if (!G.token || !G.token[0])
        usage_error("--token-file F (or --token T) is required");
    for (const char *t = G.token; *t; t++)
        if (!(*t == '-' || *t == '_' || *t == '.' || (*t >= '0' && *t <= '9') ||
              (*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z')))
            usage_error("the token is not a JWT (base64url and dots only)");
    if (!G.session || !G.session[0] || strlen(G.session) > 256 ||
        strspn(G.session, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.") !=
            strlen(G.session))
        usage_error("--session S is required (1 to 256 of [A-Za-z0-9._-])");
    if (G.conns < 1 || G.concurrency < 1 || G.window < 1 || G.duration_s <= 0 || G.warmup_s < 0 ||
        G.wait_s <= 0 || G.settle_s < 0)
        usage_error("--conns, --concurrency, --window, --duration and --wait must be positive");
    if (G.mode == M_FANOUT) {
        if (key_file)
            G.api_key = read_first_line(key_file);
        if (!G.api_key || !G.api_key[0] || strpbrk(G.api_key, " \t\r\n"))
            usage_error("fanout: --api-key-file F (or --api-key K) is required");
        if (G.updates < 1 || G.warmup_updates < 0 || G.inflight < 1 || G.data_bytes < 0 ||
            G.data_bytes > 16384 || strlen(G.company) > 256 || strpbrk(G.company, "\"\\"))
            usage_error("fanout: --updates >= 1, --inflight >= 1, --data-bytes 0..16384, "
                        "--company without quotes");
    }
    int n = snprintf(G.resource, sizeof G.resource, "%s?EIO=4&transport=websocket&sessionId=%s",
                     G.path, G.session);
    if (n <= 0 || (size_t)n >= sizeof G.resource)
        usage_error("--path too long");
    size_t tl = strlen(G.token);
    G.connect_pkt = malloc(tl + 16);
    if (!G.connect_pkt)
        fail("out of memory");
    G.connect_len = (size_t)sprintf(G.connect_pkt, "40{\"token\":\"%s\"}", G.token);
}

int main(int argc, char **argv)
{
    bench_prog = "sioload";
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
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)G.conns + 64 > rl.rlim_cur)
        usage_error("--conns %d: only %llu descriptors (ulimit -n)", G.conns,
                    (unsigned long long)rl.rlim_cur);
    ws_client *cl = ws_client_new(&callbacks);
    if (!cl)
        fail("cannot create the client");
    if (G.mode == M_RTT)
        run_rtt(cl);
    else if (G.mode == M_FANOUT)
        run_fanout(cl);
    else
        run_idle(cl);
    ws_client_free(cl);
    for (int i = 0; i < G.conns; i++)
        free(G.sc[i].slots);
    free(G.sc);
    free(G.got);
    free(G.lat);
    free(G.token);
    free(G.api_key);
    free(G.connect_pkt);
    return 0;
}
