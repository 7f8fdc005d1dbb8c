/*
 * loadgen.c: load generator for the Switchboard chat (/ws/chat) and for the
 * bare libwebsockets echo server (echo_server.c), over wsclient.c.
 *
 *   loadgen throughput --port P --tokens FILE [--pairs N --window W ...]
 *       N sender/receiver pairs, each in its own direct room. Each sender
 *       keeps W messages in flight for the whole run: a message is done when
 *       its ack arrives, the sender's own new_message echo with is_sent true
 *       (the server sends it only after the commit that stored it). Reports
 *       persisted/s (acks/s) and delivered/s (new_message frames the
 *       receivers got).
 *   loadgen echo --port P [--pairs N --window W ...]
 *       The same against echo_server: the same payload, the ack is the echo.
 *   loadgen latency --port P --rate R [--target chat|echo ...]
 *       Open loop: message k is due at t0 + k/R (spread over the senders
 *       round robin) whatever happened to the earlier ones; latency is from
 *       the time it was due to its ack, so a stalled server cannot hide its
 *       stall (no coordinated omission). p50/p90/p99/p99.9/max.
 *   loadgen idle --port P --conns N [--target chat|echo --hold S]
 *       Open N connections, authenticated (chat: ?token=), each confirmed
 *       with one heartbeat (echo: one echo), then hold them.
 *
 * With --server-pid PID it reads the server's CPU time (utime + stime of
 * /proc/PID/stat) over the measured window, and its VmRSS before and after
 * the idle connections. Human output goes to stderr; the last line on stdout
 * is "RESULT key=value ..." for scripts (bench/load/run.sh).
 *
 * Message IDs: every send carries client_message_id "TAG-SEQ" (TAG unique
 * per run, so runs against the same database never collide with the
 * server's deduplication); acks are matched by it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "wsclient.h"

enum mode { M_THROUGHPUT, M_LATENCY, M_IDLE };
enum target { T_CHAT, T_ECHO };
enum role { R_SENDER, R_RECEIVER, R_IDLE };
enum phase { P_SETUP, P_WARMUP, P_MEASURE, P_DRAIN, P_DONE };

typedef struct peer {
    ws_conn *c;
    int role;
    int pair;
    int64_t user_id; /* chat */
    const char *token;
    char room[24]; /* sender, chat: the direct room, once known */
    bool ready;    /* heartbeat answered (and, for a sender, room known) */
    bool gone;     /* closed */
    bool room_asked;
    long outstanding; /* sender: messages sent and not yet acked */
    uint64_t seq;     /* sender, throughput: next sequence number */
} peer;

typedef struct lg_user {
    int64_t id;
    char *token;
} lg_user;

static struct {
    /* options */
    int mode, target;
    const char *host;
    int port;
    const char *path;
    const char *tokens_file;
    int pairs, window;
    double rate, warmup_s, duration_s, hold_s, setup_timeout_s;
    int text_bytes, conns, concurrency;
    int server_pid, server_core;
    const char *label;
    /* state */
    lg_user *users;
    int n_users;
    peer *peers;
    int n_peers, next_open, opening;
    int n_ready, n_failed;
    char tag[32];
    char text[16385];
    int phase;
    int64_t t_start; /* start of the warmup */
    /* counters (all phases) */
    uint64_t acks, delivered, unread, other, errors, sent;
    uint64_t m_acks, m_delivered, m_unread, m_sent; /* at the start of the measurement */
    uint64_t e_acks, e_delivered, e_unread, e_sent; /* at its end */
    int64_t m_t0, m_t1;
    double cpu0, cpu1;
    double core0[2], core1[2]; /* server's core: busy and total seconds */
    double gen0, gen1;         /* our own CPU seconds */
    /* latency */
    uint64_t lat_first, lat_count, next_seq, lat_total;
    int64_t *lat;     /* ns from due time to ack, -1 while not acked */
    int64_t max_late; /* how late the generator sent a message (ns) */
    uint64_t lat_acked;
    bool overload;
} G;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The server process: procstat.h ------------------------------------------ */

static double server_cpu(void)
{
    return procstat_cpu(G.server_pid);
}

static long server_rss_kb(void)
{
    return procstat_rss_kb(G.server_pid);
}

/* Users ----------------------------------------------------------------- */

static void load_users(void)
{
    FILE *f = fopen(G.tokens_file, "r");
    if (!f)
        die("%s: %s", G.tokens_file, strerror(errno));
    char line[1024];
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        /* "ID<TAB>TOKEN" (switchboard user add) or the demo file's
         * "ID<TAB>ROLE<TAB>NAME<TAB>TOKEN": the first and the last field */
        char *nl = strpbrk(line, "\r\n");
        if (nl)
            *nl = '\0';
        char *first_tab = strchr(line, '\t'), *last_tab = strrchr(line, '\t');
        if (!first_tab || !last_tab[1])
            continue;
        if (G.n_users == cap) {
            cap = cap ? cap * 2 : 64;
            G.users = realloc(G.users, (size_t)cap * sizeof *G.users);
            if (!G.users)
                die("out of memory");
        }
        G.users[G.n_users].id = strtoll(line, NULL, 10);
        G.users[G.n_users].token = strdup(last_tab + 1);
        G.n_users++;
    }
    fclose(f);
    if (G.n_users == 0)
        die("%s: no users (lines of ID<TAB>TOKEN)", G.tokens_file);
}

/* Sending ----------------------------------------------------------------- */

static void send_message(peer *p, uint64_t seq)
{
    char msg[17000];
    int n = snprintf(msg, sizeof msg,
                     "{\"action\":\"send_message\",\"room_id\":\"%s\",\"text\":\"%s\","
                     "\"client_message_id\":\"%s-%llu\"}",
                     p->room[0] ? p->room : "0", G.text, G.tag, (unsigned long long)seq);
    if (ws_send_text(p->c, msg, (size_t)n) == 0) {
        p->outstanding++;
        G.sent++;
    }
}

static void fill_window(peer *p)
{
    while (p->outstanding < G.window)
        send_message(p, p->seq++);
}

static void send_heartbeat(peer *p)
{
    static const char hb[] = "{\"action\":\"heartbeat\"}";
    ws_send_text(p->c, hb, sizeof hb - 1);
}

/* The first message of a pair: to the receiver's user ID, which finds or
 * makes their direct room; its ack tells the room ID. */
static void ask_room(peer *p)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "{\"action\":\"send_message\",\"receiver_id\":\"%lld\",\"text\":\"hello\","
                     "\"client_message_id\":\"%s-room\"}",
                     (long long)G.peers[2 * p->pair + 1].user_id, G.tag);
    ws_send_text(p->c, msg, (size_t)n);
    p->room_asked = true;
}

/* Receiving --------------------------------------------------------------- */

/* The value of "key":"..." in data (a string value without escapes). */
static bool str_field(const char *data, size_t len, const char *key, const char **v, size_t *vlen)
{
    char pat[64];
    int n = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *k = memmem(data, len, pat, (size_t)n);
    if (!k)
        return false;
    const char *s = k + n, *end = data + len;
    const char *q = memchr(s, '"', (size_t)(end - s));
    if (!q)
        return false;
    *v = s;
    *vlen = (size_t)(q - s);
    return true;
}

/* SEQ of our client_message_id TAG-SEQ; -1 when it is not one of ours. */
static int64_t ack_seq(const char *data, size_t len)
{
    const char *v;
    size_t vl;
    size_t tl = strlen(G.tag);
    if (!str_field(data, len, "client_message_id", &v, &vl) || vl <= tl + 1 ||
        memcmp(v, G.tag, tl) != 0 || v[tl] != '-')
        return -1;
    int64_t seq = 0;
    for (size_t i = tl + 1; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        seq = seq * 10 + (v[i] - '0');
    }
    return seq;
}

static void set_ready(peer *p)
{
    if (p->ready)
        return;
    p->ready = true;
    G.n_ready++;
    if (G.mode == M_IDLE)
        G.opening--;
}

static void on_ack(peer *p, const char *data, size_t len)
{
    int64_t t = now_ns();
    G.acks++;
    if (p->outstanding > 0)
        p->outstanding--;
    if (G.mode == M_LATENCY) {
        int64_t seq = ack_seq(data, len);
        if (seq >= 0 && (uint64_t)seq >= G.lat_first && (uint64_t)seq < G.lat_first + G.lat_count) {
            uint64_t i = (uint64_t)seq - G.lat_first;
            if (G.lat[i] < 0) {
                int64_t due = G.t_start + (int64_t)((double)seq * 1e9 / G.rate);
                G.lat[i] = t - due;
                G.lat_acked++;
            }
        }
    } else if (G.mode == M_THROUGHPUT && (G.phase == P_WARMUP || G.phase == P_MEASURE)) {
        fill_window(p);
    }
}

static void count_error(const char *data, size_t len)
{
    G.errors++;
    if (G.errors <= 5)
        say("server error: %.*s", (int)(len > 200 ? 200 : len), data);
}

static void on_message(ws_conn *c, const char *data, size_t len, int binary, void *user)
{
    (void)c;
    (void)binary;
    peer *p = user;
    if (G.target == T_ECHO) {
        if (!p->ready) {
            set_ready(p);
            return;
        }
        if (p->role == R_SENDER)
            on_ack(p, data, len);
        else
            G.other++;
        return;
    }
    /* chat: every outbound message starts {"type":"NAME" (compact, type first) */
    static const char pre[] = "{\"type\":\"";
    if (len < sizeof pre || memcmp(data, pre, sizeof pre - 1) != 0) {
        G.other++;
        return;
    }
    const char *t = data + sizeof pre - 1;
    size_t tl = len - (sizeof pre - 1);
#define IS(lit) (tl > sizeof(lit) - 1 && memcmp(t, lit "\"", sizeof(lit)) == 0)
    if (IS("new_message")) {
        if (!memmem(data, len, "\"is_sent\":true", 14)) {
            G.delivered++;
            return;
        }
        if (p->role != R_SENDER) {
            G.other++;
            return;
        }
        if (!p->room[0]) {
            /* the ack of the room-making message */
            const char *v;
            size_t vl;
            if (str_field(data, len, "room_id", &v, &vl) && vl < sizeof p->room) {
                memcpy(p->room, v, vl);
                p->room[vl] = '\0';
                set_ready(p);
            }
            return;
        }
        on_ack(p, data, len);
    } else if (IS("unread_message_count")) {
        G.unread++;
    } else if (IS("heartbeat_response")) {
        if (p->role == R_SENDER && G.mode != M_IDLE) {
            if (!p->room_asked)
                ask_room(p);
        } else {
            set_ready(p);
        }
    } else if (IS("error")) {
        count_error(data, len);
    } else {
        G.other++; /* new_room, message_status */
    }
#undef IS
}

static void on_open(ws_conn *c, void *user)
{
    (void)c;
    peer *p = user;
    send_heartbeat(p); /* for echo: any message; it is echoed */
}

static void on_close(ws_conn *c, int code, const char *reason, void *user)
{
    (void)c;
    peer *p = user;
    p->c = NULL;
    p->gone = true;
    if (!p->ready) {
        G.n_failed++;
        if (G.mode == M_IDLE)
            G.opening--;
        if (G.n_failed <= 5)
            say("connection %d closed before it was ready: %d %s", (int)(p - G.peers), code,
                reason);
    } else if (G.phase < P_DRAIN && !g_stop) {
        G.n_failed++;
        if (G.n_failed <= 5)
            say("connection %d closed during the run: %d %s", (int)(p - G.peers), code, reason);
    }
}

/* Connections ----------------------------------------------------------- */

static const ws_callbacks callbacks = {on_open, on_message, on_close};

static void open_peer(ws_client *cl, peer *p)
{
    char res[1024];
    if (G.target == T_CHAT)
        snprintf(res, sizeof res, "%s?token=%s", G.path, p->token);
    else
        snprintf(res, sizeof res, "%s", G.path);
    p->c = ws_connect(cl, G.host, G.port, res, p);
    if (!p->c) {
        p->gone = true;
        G.n_failed++;
        if (G.n_failed <= 5)
            say("connect %d: %s", (int)(p - G.peers), strerror(errno));
    }
}

/* Open connections while fewer than --concurrency are in progress (idle
 * mode; the other modes open their few connections at once). */
static void open_more(ws_client *cl)
{
    while (G.next_open < G.n_peers && G.opening < G.concurrency) {
        peer *p = &G.peers[G.next_open++];
        G.opening++;
        open_peer(cl, p);
        if (!p->c)
            G.opening--;
    }
}

/* Close politely and wait for the server to close the TCP connections
 * (so that the TIME_WAITs are on its side); what is left after the
 * timeout is dropped by ws_client_free(). */
static void close_all(ws_client *cl, double timeout_s)
{
    for (int i = 0; i < G.n_peers; i++)
        if (G.peers[i].c)
            ws_close(G.peers[i].c, 1000);
    int64_t until = now_ns() + (int64_t)(timeout_s * 1e9);
    while (ws_client_live(cl) > 0 && now_ns() < until)
        ws_client_poll(cl, 10);
}

/* Setup: pairs ------------------------------------------------------------ */

static void make_pairs(void)
{
    G.n_peers = 2 * G.pairs;
    G.peers = calloc((size_t)G.n_peers, sizeof *G.peers);
    if (!G.peers)
        die("out of memory");
    if (G.target == T_CHAT && G.n_users < G.n_peers)
        die("%d pairs need %d users, %s has %d", G.pairs, G.n_peers, G.tokens_file, G.n_users);
    for (int i = 0; i < G.n_peers; i++) {
        peer *p = &G.peers[i];
        p->role = i % 2 ? R_RECEIVER : R_SENDER;
        p->pair = i / 2;
        if (G.target == T_CHAT) {
            p->user_id = G.users[i].id;
            p->token = G.users[i].token;
        }
    }
}

static void wait_ready(ws_client *cl)
{
    int64_t until = now_ns() + (int64_t)(G.setup_timeout_s * 1e9);
    while (G.n_ready + G.n_failed < G.n_peers && now_ns() < until && !g_stop)
        ws_client_poll(cl, 10);
    if (G.n_ready < G.n_peers)
        die("setup: %d of %d connections ready, %d failed", G.n_ready, G.n_peers, G.n_failed);
}

static void measure_start(void)
{
    G.phase = P_MEASURE;
    G.m_t0 = now_ns();
    G.cpu0 = server_cpu();
    procstat_core(G.server_core, G.core0);
    G.gen0 = procstat_self_cpu();
    G.m_acks = G.acks;
    G.m_delivered = G.delivered;
    G.m_unread = G.unread;
    G.m_sent = G.sent;
}

static void measure_end(void)
{
    G.phase = P_DRAIN;
    G.m_t1 = now_ns();
    G.cpu1 = server_cpu();
    procstat_core(G.server_core, G.core1);
    G.gen1 = procstat_self_cpu();
    G.e_acks = G.acks;
    G.e_delivered = G.delivered;
    G.e_unread = G.unread;
    G.e_sent = G.sent;
}

static long total_outstanding(void)
{
    long n = 0;
    for (int i = 0; i < G.n_peers; i++)
        if (G.peers[i].role == R_SENDER && !G.peers[i].gone)
            n += G.peers[i].outstanding;
    return n;
}

static void drain(ws_client *cl)
{
    int64_t until = now_ns() + 3000000000LL;
    while (total_outstanding() > 0 && now_ns() < until)
        ws_client_poll(cl, 5);
}

/* Server CPU per message and utilisation; how busy its core was with
 * anything else (others: the machine may be shared); our own utilisation. */
static void print_cpu(uint64_t msgs, double wall)
{
    printf(" gen_cpu_util=%.3f", (G.gen1 - G.gen0) / wall);
    double others = -1;
    if (G.core0[0] >= 0 && G.core1[0] >= 0 && G.cpu0 >= 0 && G.cpu1 >= 0) {
        double busy = G.core1[0] - G.core0[0], total = G.core1[1] - G.core0[1];
        others = total > 0 ? (busy - (G.cpu1 - G.cpu0)) / total : -1;
        if (others < 0 && others > -0.05)
            others = 0; /* tick rounding */
    }
    printf(" core_others_util=%.3f", others);
    if (G.cpu0 < 0 || G.cpu1 < 0) {
        printf(" server_cpu_s=-1 cpu_us_per_msg=-1 server_cpu_util=-1");
        return;
    }
    double cpu = G.cpu1 - G.cpu0;
    printf(" server_cpu_s=%.2f cpu_us_per_msg=%.2f server_cpu_util=%.3f", cpu,
           msgs ? cpu * 1e6 / (double)msgs : -1.0, cpu / wall);
}

/* Modes ------------------------------------------------------------------- */

static void run_throughput(ws_client *cl)
{
    make_pairs();
    for (int i = 0; i < G.n_peers; i++)
        open_peer(cl, &G.peers[i]);
    wait_ready(cl);
    say("%d pairs ready; warmup %.1fs, measure %.1fs, window %d", G.pairs, G.warmup_s, G.duration_s,
        G.window);
    G.phase = P_WARMUP;
    G.t_start = now_ns();
    for (int i = 0; i < G.n_peers; i++)
        if (G.peers[i].role == R_SENDER)
            fill_window(&G.peers[i]);
    int64_t t_measure = G.t_start + (int64_t)(G.warmup_s * 1e9);
    int64_t t_end = t_measure + (int64_t)(G.duration_s * 1e9);
    while (!g_stop) {
        ws_client_poll(cl, 1);
        int64_t t = now_ns();
        if (G.phase == P_WARMUP && t >= t_measure)
            measure_start();
        if (G.phase == P_MEASURE && t >= t_end) {
            measure_end();
            break;
        }
    }
    if (G.phase != P_DRAIN)
        die("interrupted");
    drain(cl);
    long left = total_outstanding();
    double wall = (double)(G.m_t1 - G.m_t0) / 1e9;
    uint64_t acks = G.e_acks - G.m_acks, del = G.e_delivered - G.m_delivered;
    say("%.0f acks/s, %.0f delivered/s over %.2fs; %ld unacked at the end, %llu errors",
        (double)acks / wall, (double)del / wall, wall, left, (unsigned long long)G.errors);
    printf("RESULT mode=%s target=%s label=%s pairs=%d window=%d seconds=%.3f acks=%llu "
           "acks_per_s=%.0f delivered=%llu delivered_per_s=%.0f unread_per_s=%.0f "
           "sent_per_s=%.0f unacked=%ld errors=%llu failed=%d acks_total=%llu",
           G.target == T_ECHO ? "echo" : "throughput", G.target == T_ECHO ? "echo" : "chat",
           G.label, G.pairs, G.window, wall, (unsigned long long)acks, (double)acks / wall,
           (unsigned long long)del, (double)del / wall, (double)(G.e_unread - G.m_unread) / wall,
           (double)(G.e_sent - G.m_sent) / wall, left, (unsigned long long)G.errors, G.n_failed,
           (unsigned long long)G.acks);
    print_cpu(acks, wall);
    printf("\n");
    fflush(stdout);
    close_all(cl, 2);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const int64_t *v, uint64_t n, double p)
{
    if (!n)
        return -1;
    uint64_t i = (uint64_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e3; /* microseconds */
}

static void run_latency(ws_client *cl)
{
    if (G.rate <= 0)
        die("latency: --rate R (messages per second, > 0) is required");
    make_pairs();
    for (int i = 0; i < G.n_peers; i++)
        open_peer(cl, &G.peers[i]);
    wait_ready(cl);
    G.lat_first = (uint64_t)(G.warmup_s * G.rate);
    G.lat_count = (uint64_t)(G.duration_s * G.rate);
    G.lat_total = G.lat_first + G.lat_count;
    G.lat = malloc((G.lat_count ? G.lat_count : 1) * sizeof *G.lat);
    if (!G.lat)
        die("out of memory");
    for (uint64_t i = 0; i < G.lat_count; i++)
        G.lat[i] = -1;
    say("%d pairs ready; open loop at %.0f msg/s: warmup %.1fs, measure %.1fs", G.pairs, G.rate,
        G.warmup_s, G.duration_s);
    G.phase = P_WARMUP;
    G.t_start = now_ns();
    double ns_per_msg = 1e9 / G.rate;
    int senders = G.pairs;
    long cap_outstanding = (long)(G.rate * 2) + 1000; /* 2 s behind: overloaded */
    while (!g_stop) {
        int64_t t = now_ns();
        while (G.next_seq < G.lat_total) {
            int64_t due = G.t_start + (int64_t)((double)G.next_seq * ns_per_msg);
            if (due > t)
                break;
            if (G.next_seq == G.lat_first)
                measure_start();
            peer *p = &G.peers[2 * (int)(G.next_seq % (uint64_t)senders)];
            if (p->c) {
                send_message(p, G.next_seq);
                ws_flush(p->c); /* each message on its own, as a client would */
            }
            if (t - due > G.max_late && G.next_seq >= G.lat_first)
                G.max_late = t - due;
            G.next_seq++;
        }
        if (G.next_seq >= G.lat_total) {
            if (G.phase == P_MEASURE)
                measure_end();
            break;
        }
        if ((long)(G.sent - G.acks) > cap_outstanding) {
            G.overload = true;
            measure_end();
            say("overloaded: %ld messages unacked; stopping", (long)(G.sent - G.acks));
            break;
        }
        int64_t due = G.t_start + (int64_t)((double)G.next_seq * ns_per_msg);
        int64_t wait = due - now_ns();
        /* sleep until the next send is due (or an ack comes) */
        ws_client_poll_ns(cl, wait > 0 ? wait : 0);
    }
    if (G.phase != P_DRAIN)
        die("interrupted");
    drain(cl);
    /* measured window: from the first measured message's due time to the
     * last one's */
    double wall = (double)(G.m_t1 - G.m_t0) / 1e9;
    int64_t *ok = malloc((G.lat_count ? G.lat_count : 1) * sizeof *ok);
    uint64_t n = 0;
    for (uint64_t i = 0; i < G.lat_count; i++)
        if (G.lat[i] >= 0)
            ok[n++] = G.lat[i];
    qsort(ok, n, sizeof *ok, cmp_i64);
    uint64_t lost = G.lat_count - n;
    double p50 = pct(ok, n, 0.50), p90 = pct(ok, n, 0.90), p99 = pct(ok, n, 0.99),
           p999 = pct(ok, n, 0.999), mx = n ? (double)ok[n - 1] / 1e3 : -1;
    say("rate %.0f/s: p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us; "
        "%llu of %llu unacked; generator at most %.0f us late",
        G.rate, p50, p90, p99, p999, mx, (unsigned long long)lost, (unsigned long long)G.lat_count,
        (double)G.max_late / 1e3);
    printf("RESULT mode=latency target=%s label=%s pairs=%d rate=%.0f seconds=%.3f measured=%llu "
           "lost=%llu p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f "
           "gen_max_late_us=%.0f overload=%d delivered_per_s=%.0f errors=%llu failed=%d",
           G.target == T_ECHO ? "echo" : "chat", G.label, G.pairs, G.rate, wall,
           (unsigned long long)G.lat_count, (unsigned long long)lost, p50, p90, p99, p999, mx,
           (double)G.max_late / 1e3, G.overload ? 1 : 0,
           (double)(G.e_delivered - G.m_delivered) / wall, (unsigned long long)G.errors,
           G.n_failed);
    print_cpu(G.e_sent - G.m_sent, wall);
    printf("\n");
    fflush(stdout);
    free(ok);
    free(G.lat);
    close_all(cl, 2);
}

static void run_idle(ws_client *cl)
{
    if (G.conns <= 0)
        die("idle: --conns N is required");
    G.n_peers = G.conns;
    G.peers = calloc((size_t)G.n_peers, sizeof *G.peers);
    if (!G.peers)
        die("out of memory");
    for (int i = 0; i < G.n_peers; i++) {
        peer *p = &G.peers[i];
        p->role = R_IDLE;
        if (G.target == T_CHAT) {
            p->user_id = G.users[i % G.n_users].id;
            p->token = G.users[i % G.n_users].token;
        }
    }
    long rss0 = server_rss_kb();
    int64_t t0 = now_ns();
    int64_t until = t0 + (int64_t)(G.setup_timeout_s * 1e9);
    while (G.n_ready + G.n_failed < G.n_peers && now_ns() < until && !g_stop) {
        open_more(cl);
        ws_client_poll(cl, 5);
    }
    double open_s = (double)(now_ns() - t0) / 1e9;
    say("%d of %d connections ready in %.2fs (%d failed)", G.n_ready, G.n_peers, open_s,
        G.n_failed);
    /* let the server settle (handshake buffers freed, nothing in flight) */
    int64_t settle = now_ns() + 1000000000LL;
    while (now_ns() < settle && !g_stop)
        ws_client_poll(cl, 50);
    long rss1 = server_rss_kb();
    double per = (rss0 >= 0 && rss1 >= 0 && G.n_ready > 0)
                     ? (double)(rss1 - rss0) * 1024.0 / (double)G.n_ready
                     : -1;
    if (per >= 0)
        say("server RSS %ld kB -> %ld kB: %.0f bytes per connection", rss0, rss1, per);
    printf("RESULT mode=idle target=%s label=%s conns=%d ready=%d failed=%d open_s=%.2f "
           "rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.0f\n",
           G.target == T_ECHO ? "echo" : "chat", G.label, G.conns, G.n_ready, G.n_failed, open_s,
           rss0, rss1, per);
    fflush(stdout);
    /* hold: --hold S seconds, or until a signal when S < 0 */
    int64_t hold_until = now_ns() + (int64_t)(G.hold_s * 1e9);
    while (!g_stop && (G.hold_s < 0 || now_ns() < hold_until))
        ws_client_poll(cl, 100);
    G.phase = P_DONE;
    close_all(cl, 10);
}

/* Command line ------------------------------------------------------------ */

static void usage(FILE *to)
{
    fputs("usage: loadgen MODE --port P [options]\n"
          "  MODE: throughput | echo | latency | idle\n"
          "  --host ADDR         server IPv4 address (127.0.0.1)\n"
          "  --port P            server port\n"
          "  --target chat|echo  what the server is (echo mode: echo; else chat)\n"
          "  --path PATH         WebSocket path (chat: /ws/chat, echo: /)\n"
          "  --tokens FILE       chat users: lines of ID<TAB>TOKEN\n"
          "  --pairs N           sender/receiver pairs (50)\n"
          "  --window W          throughput: messages in flight per sender (16)\n"
          "  --rate R            latency: messages per second, all senders together\n"
          "  --warmup S          seconds before measuring (2)\n"
          "  --duration S        seconds measured (10)\n"
          "  --text-bytes N      length of each message's text (64)\n"
          "  --conns N           idle: connections to open\n"
          "  --concurrency N     idle: connections being opened at once (200)\n"
          "  --hold S            idle: keep them S seconds after the report, -1 until SIGTERM (0)\n"
          "  --server-pid PID    read the server's CPU time and RSS from /proc\n"
          "  --server-core N     the CPU the server is pinned to: how busy others kept it (0)\n"
          "  --label TEXT        copied into the RESULT line\n",
          to);
}

static void parse_args(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        exit(2);
    }
    const char *m = argv[1];
    G.target = T_CHAT;
    if (strcmp(m, "throughput") == 0) {
        G.mode = M_THROUGHPUT;
    } else if (strcmp(m, "echo") == 0) {
        G.mode = M_THROUGHPUT;
        G.target = T_ECHO;
    } else if (strcmp(m, "latency") == 0) {
        G.mode = M_LATENCY;
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
    G.pairs = 50;
    G.window = 16;
    G.warmup_s = 2;
    G.duration_s = 10;
    G.text_bytes = 64;
    G.concurrency = 200;
    G.setup_timeout_s = 120;
    G.label = "-";
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc)
            die("%s: missing value (see --help)", o);
        const char *v = argv[++i];
        if (strcmp(o, "--host") == 0)
            G.host = v;
        else if (strcmp(o, "--port") == 0)
            G.port = atoi(v);
        else if (strcmp(o, "--target") == 0) {
            if (strcmp(v, "chat") == 0)
                G.target = T_CHAT;
            else if (strcmp(v, "echo") == 0)
                G.target = T_ECHO;
            else
                die("--target: chat or echo");
        } else if (strcmp(o, "--path") == 0)
            G.path = v;
        else if (strcmp(o, "--tokens") == 0)
            G.tokens_file = v;
        else if (strcmp(o, "--pairs") == 0)
            G.pairs = atoi(v);
        else if (strcmp(o, "--window") == 0)
            G.window = atoi(v);
        else if (strcmp(o, "--rate") == 0)
            G.rate = atof(v);
        else if (strcmp(o, "--warmup") == 0)
            G.warmup_s = atof(v);
        else if (strcmp(o, "--duration") == 0)
            G.duration_s = atof(v);
        else if (strcmp(o, "--text-bytes") == 0)
            G.text_bytes = atoi(v);
        else if (strcmp(o, "--conns") == 0)
            G.conns = atoi(v);
        else if (strcmp(o, "--concurrency") == 0)
            G.concurrency = atoi(v);
        else if (strcmp(o, "--hold") == 0)
            G.hold_s = atof(v);
        else if (strcmp(o, "--server-pid") == 0)
            G.server_pid = atoi(v);
        else if (strcmp(o, "--server-core") == 0)
            G.server_core = atoi(v);
        else if (strcmp(o, "--label") == 0)
            G.label = v;
        else
            die("unknown option %s (see --help)", o);
    }
    if (G.port <= 0 || G.port > 65535)
        die("--port P is required");
    if (G.pairs < 1 || G.window < 1 || G.concurrency < 1 || G.duration_s <= 0 || G.warmup_s < 0)
        die("--pairs, --window, --concurrency and --duration must be positive");
    if (G.text_bytes < 1 || G.text_bytes > 16384)
        die("--text-bytes: 1..16384");
    if (!G.path)
        G.path = G.target == T_CHAT ? "/ws/chat" : "/";
    if (G.target == T_CHAT && !G.tokens_file)
        die("chat needs --tokens FILE (switchboard user add prints ID<TAB>TOKEN)");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL); /* wake within 1 us of the due time */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* as many sockets as we may have */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (G.target == T_CHAT)
        load_users();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(G.tag, sizeof G.tag, "%c%x%lx", "tli"[G.mode], (unsigned)getpid(),
             (unsigned long)(ts.tv_nsec & 0xfffff));
    for (int i = 0; i < G.text_bytes; i++)
        G.text[i] = (char)('a' + i % 26);
    G.text[G.text_bytes] = '\0';

    ws_client *cl = ws_client_new(&callbacks);
    if (!cl)
        die("cannot create the client");
    if (G.mode == M_THROUGHPUT)
        run_throughput(cl);
    else if (G.mode == M_LATENCY)
        run_latency(cl);
    else
        run_idle(cl);
    ws_client_free(cl);
    for (int i = 0; i < G.n_users; i++)
        free(G.users[i].token);
    free(G.users);
    free(G.peers);
    return 0;
}
