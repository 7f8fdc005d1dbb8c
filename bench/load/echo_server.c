/*
 * echo_server.c: the floor the Switchboard server is measured against. The
 * same libwebsockets 4.1.6 build on a libevent event_base (a foreign loop,
 * as runtime/server.c runs it, with the same context options and buffer
 * sizes), serving one thing: every WebSocket text message is sent back on
 * the connection it came from. No parsing, no storage, no fan-out: what is
 * left is lws, libevent and the kernel, i.e. the least any server on this
 * stack can cost per message and per connection.
 *
 *   echo_server [--port P] [--bind ADDR] [--rx-buffer BYTES] [--broadcast]
 *
 * With --broadcast, a text message whose first byte is 'B' is not echoed
 * but sent to every open connection (its sender too): the floor of a push
 * to N connections (bench/dashboard). It is framed once and kept once (a
 * ring of the last BRING), and written the way runtime/server.c writes its
 * deliveries: at the end of the loop turn, each connection gets everything
 * broadcast in that turn in one LWS_WRITE_RAW write (one send), straight
 * away; a connection that has an echo queued or bytes lws still holds gets
 * it from its WRITEABLE callback instead. Without the flag nothing changes.
 * A connection that falls BRING messages behind is closed.
 *
 * Prints "echo_server: listening port=N" on stdout once it listens; stops
 * on SIGINT or SIGTERM.
 */
#include <libwebsockets.h>

#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message waiting to be written: LWS_PRE bytes of headroom (lws writes
 * the frame header there), then the payload. */
typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char data[];
} out_msg;

/* Per connection (lws allocates it: per_session_data_size). */
typedef struct session {
    out_msg *head, *tail; /* lws writes once per WRITEABLE callback: a queue */
    unsigned char *rx;    /* a message arriving in pieces */
    size_t rx_len, rx_cap;
    uint64_t bseq; /* --broadcast: the next broadcast this connection writes */
    struct lws *wsi;
    struct session *prev, *next; /* --broadcast: every open connection */
} session;

/* --broadcast: the last BRING broadcasts, whole frames (header and
 * payload), broadcast s at ring[s % BRING] */
#define BRING 4096
#define BURST 65536 /* as runtime/server.c's WRITE_BURST: frames per write */
static bool g_broadcast;
static session *g_sessions;
static out_msg *g_ring[BRING];
static uint64_t g_bseq; /* broadcasts so far */
static struct event *g_flush;
static bool g_flush_armed;
static unsigned char *g_batch; /* LWS_PRE + BURST */

/* Write the broadcasts wsi has not had yet, as many as fit in BURST, in one
 * LWS_WRITE_RAW write (the frames are ours); ask for WRITEABLE if some are
 * left. -1: close it. */
static int write_broadcasts(struct lws *wsi, session *ss)
{
    if (g_bseq - ss->bseq > BRING)
        return -1; /* fell too far behind: its messages are gone */
    const out_msg *m = g_ring[ss->bseq % BRING];
    const unsigned char *out = m->data + LWS_PRE;
    size_t total = m->len;
    uint64_t s = ss->bseq + 1;
    if (s < g_bseq && total + g_ring[s % BRING]->len <= BURST) {
        memcpy(g_batch + LWS_PRE, out, total);
        for (; s < g_bseq && total + g_ring[s % BRING]->len <= BURST; s++) {
            memcpy(g_batch + LWS_PRE + total, g_ring[s % BRING]->data + LWS_PRE,
                   g_ring[s % BRING]->len);
            total += g_ring[s % BRING]->len;
        }
        out = g_batch + LWS_PRE;
    }
    if (lws_write(wsi, (unsigned char *)out, total, LWS_WRITE_RAW) < (int)total)
        return -1;
    ss->bseq = s;
    if (ss->bseq < g_bseq || ss->head)
        lws_callback_on_writable(wsi);
    return 0;
}

/* The end of the loop turn (an event made active by the broadcasts of this
 * turn): every connection gets what this turn broadcast, in one write, as
 * runtime/server.c's flush does; one that has an echo queued or bytes lws
 * holds waits for its WRITEABLE callback. */
static void flush_broadcasts(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    g_flush_armed = false;
    for (session *ss = g_sessions; ss; ss = ss->next) {
        if (ss->bseq >= g_bseq)
            continue;
        if (ss->head || lws_partial_buffered(ss->wsi)) {
            lws_callback_on_writable(ss->wsi);
            continue;
        }
        if (write_broadcasts(ss->wsi, ss) != 0)
            lws_set_timeout(ss->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

static int broadcast(const void *data, size_t len)
{
    unsigned char hdr[10];
    size_t h = 0;
    hdr[h++] = 0x81; /* FIN, text; a server's frames are not masked */
    if (len < 126) {
        hdr[h++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        hdr[h++] = 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (h + len > BURST)
        return -1;
    out_msg *m = malloc(sizeof *m + LWS_PRE + h + len);
    if (!m)
        return -1;
    m->next = NULL;
    m->len = h + len;
    memcpy(m->data + LWS_PRE, hdr, h);
    memcpy(m->data + LWS_PRE + h, data, len);
    free(g_ring[g_bseq % BRING]);
    g_ring[g_bseq % BRING] = m;
    g_bseq++;
    if (!g_flush_armed) {
        g_flush_armed = true;
        event_active(g_flush, EV_TIMEOUT, 0);
    }
    return 0;
}

static int queue_echo(struct lws *wsi, session *ss, const void *data, size_t len)
{
    out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return -1;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, data, len);
    if (ss->tail)
        ss->tail->next = m;
    else
        ss->head = m;
    ss->tail = m;
    lws_callback_on_writable(wsi);
    return 0;
}

/* A whole message: echoed, or with --broadcast and a first byte 'B', sent
 * to everyone. */
static int on_message(struct lws *wsi, session *ss, const void *data, size_t len)
{
    if (g_broadcast && len > 0 && *(const char *)data == 'B')
        return broadcast(data, len);
    return queue_echo(wsi, ss, data, len);
}

static int on_receive(struct lws *wsi, session *ss, const void *in, size_t len)
{
    bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (last && ss->rx_len == 0)
        return on_message(wsi, ss, in, len); /* the usual case: a whole message */
    if (ss->rx_len + len > ss->rx_cap) {
        size_t cap = ss->rx_cap ? ss->rx_cap * 2 : 1024;
        while (cap < ss->rx_len + len)
            cap *= 2;
        unsigned char *p = realloc(ss->rx, cap);
        if (!p)
            return -1;
        ss->rx = p;
        ss->rx_cap = cap;
    }
    memcpy(ss->rx + ss->rx_len, in, len);
    ss->rx_len += len;
    if (!last)
        return 0;
    int rc = on_message(wsi, ss, ss->rx, ss->rx_len);
    ss->rx_len = 0;
    free(ss->rx);
    ss->rx = NULL;
    ss->rx_cap = 0;
    return rc;
}

static int on_writeable(struct lws *wsi, session *ss)
{
    out_msg *m = ss->head;
    if (!m && g_broadcast && ss->bseq < g_bseq)
        return write_broadcasts(wsi, ss);
    if (!m)
        return 0;
    int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
    if (n < (int)m->len)
        return -1;
    ss->head = m->next;
    if (!ss->head)
        ss->tail = NULL;
    free(m);
    if (ss->head || (g_broadcast && ss->bseq < g_bseq))
        lws_callback_on_writable(wsi);
    return 0;
}

static void on_closed(session *ss)
{
    if (ss->wsi && g_broadcast) {
        if (ss->prev)
            ss->prev->next = ss->next;
        else if (g_sessions == ss)
            g_sessions = ss->next;
        if (ss->next)
            ss->next->prev = ss->prev;
        ss->prev = ss->next = NULL;
        ss->wsi = NULL;
    }
    while (ss->head) {
        out_msg *m = ss->head;
        ss->head = m->next;
        free(m);
    }
    ss->tail = NULL;
    free(ss->rx);
    ss->rx = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    session *ss = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        ss->bseq = g_bseq; /* broadcasts from now on */
        ss->wsi = wsi;
        if (g_broadcast) {
            ss->next = g_sessions;
            if (g_sessions)
                g_sessions->prev = ss;
            g_sessions = ss;
        }
        break;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(wsi, ss, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, ss);
    case LWS_CALLBACK_CLOSED:
        on_closed(ss);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static void usage(FILE *to)
{
    fputs("usage: echo_server [--port P] [--bind ADDR] [--rx-buffer BYTES] [--broadcast]\n"
          "  --port P           TCP port, 0 picks a free one (default 0)\n"
          "  --bind ADDR        address to listen on (default 127.0.0.1)\n"
          "  --rx-buffer BYTES  lws receive buffer per connection (default 1024, as the server)\n"
          "  --broadcast        a message starting with 'B' goes to every connection\n",
          to);
}

int main(int argc, char **argv)
{
    int port = 0;
    long rx_buffer = 1024;
    const char *bind_addr = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--broadcast") == 0) {
            g_broadcast = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bind") == 0)
            bind_addr = argv[++i];
        else if (strcmp(argv[i], "--rx-buffer") == 0)
            rx_buffer = atol(argv[++i]);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (port < 0 || port > 65535 || rx_buffer < 128) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "echo_server: cannot create the event loop\n");
        return 1;
    }
    void *loops[1] = {base};
    struct lws_protocols protocols[2] = {
        {
            .name = "echo",
            .callback = callback,
            .per_session_data_size = sizeof(session),
            .rx_buffer_size = (size_t)rx_buffer,
            .tx_packet_size = 65536, /* as runtime/server.c: one send(2) per write */
        },
        {0},
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = bind_addr;
    info.protocols = protocols;
    /* the options runtime/server.c uses, so that the two differ only in
     * what runs above lws */
    info.options = LWS_SERVER_OPTION_LIBEVENT | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.count_threads = 1;
    info.timeout_secs = 10;
    info.keepalive_timeout = 5;
    info.pt_serv_buf_size = 4096;
    info.max_http_header_data = 4096;
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "echo_server: cannot listen on %s:%d\n", bind_addr, port);
        event_base_free(base);
        return 1;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(ctx, "default");
    printf("echo_server: listening port=%d\n", vh ? lws_get_vhost_listen_port(vh) : port);
    fflush(stdout);

    g_flush = event_new(base, -1, 0, flush_broadcasts, NULL);
    g_batch = malloc(LWS_PRE + BURST);
    if (!g_flush || !g_batch) {
        fprintf(stderr, "echo_server: out of memory\n");
        return 1;
    }
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    event_base_dispatch(base);

    lws_context_destroy(ctx); /* before event_base_free: lws holds events on the base */
    event_free(sigint);
    event_free(sigterm);
    event_base_free(base);
    for (int i = 0; i < BRING; i++)
        free(g_ring[i]);
    event_free(g_flush);
    free(g_batch);
    return 0;
}
