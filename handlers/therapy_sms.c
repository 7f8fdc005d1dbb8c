/*
 * therapy_sms.c: the SMS senders of the therapy protocol (therapy_sms.h).
 *
 * Bodies come from the generated writers (SmsFileLine, SmsWebhookRequest in
 * schema/therapy.lua) and runtime/form.c; requests go through the runtime's
 * HTTP client on the server's event loop. An HTTP SMS lives in the sender's
 * list from send until it is sent, given up or dropped at free, and is freed
 * at exactly one of those three places; its request body is built once, so
 * that every retry sends the same bytes (the webhook's id included).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "clock.h"
#include "form.h"
#include "http_client.h"
#include "log.h"
#include "metrics.h"
#include "therapy.h"
#include "therapy_sms.h"
#include "token.h"

#define BODY_MAX 1600              /* SmsFileLine.body, SmsWebhookRequest.body */
#define ANSWER_MAX (64 * 1024)     /* what a provider's answer may hold */
#define BACKOFF_MAX_MS (5 * 60000) /* one wait never exceeds 5 minutes */
#define CONNS_PER_ORIGIN 4

typedef enum { KIND_NONE, KIND_FILE, KIND_WEBHOOK, KIND_TWILIO } sender_kind;
static const char *const kind_names[] = {"none", "file", "webhook", "twilio"};

typedef struct sms {
    therapy_sms_sender *s;
    char id[24];   /* "sms_" + 16 hex: the webhook's id, and every log line's */
    char to[16];   /* masked: "***0123" */
    char *payload; /* the request body, the same on every try */
    size_t len;
    int tries; /* attempts started */
    bool in_flight;
    struct event *timer; /* the next attempt */
    struct sms *prev, *next;
} sms;

struct therapy_sms_sender {
    struct event_base *base;
    sender_kind kind;
    therapy_sms_opts opts;
    char path[1024];        /* file: */
    sb_http_client *client; /* webhook, twilio */
    char url[1024];         /* where the POST goes */
    char secret[256];       /* webhook: the HMAC key */
    size_t secret_len;
    char auth[512];    /* twilio: "Authorization: Basic ..." */
    char from_key[24]; /* twilio: "From" or "MessagingServiceSid" */
    char from[128];
    sms *queue;
    size_t n;
    bool closing; /* in free: answers drop their SMS to free's loop */
    sb_counter *m_sent, *m_failed, *m_retried;
};

/* "***" and the last 4 digits: enough to tell numbers apart in a log,
 * not enough to be personal data worth stealing. */
const char *therapy_sms_mask(char out[16], const char *to)
{
    size_t n = strlen(to);
    snprintf(out, 16, "***%.4s", n > 4 ? to + n - 4 : to);
    return out;
}

/* E.164: '+', then 1 to 15 digits, the first not 0. */
static bool e164(const char *to)
{
    if (to[0] != '+' || to[1] < '1' || to[1] > '9')
        return false;
    size_t n = 0;
    for (const char *p = to + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 1 && n <= 15;
}

static void metrics_for(therapy_sms_sender *s)
{
    char labels[32];
    snprintf(labels, sizeof labels, "sender=\"%s\"", kind_names[s->kind]);
    s->m_sent = sb_counter_get("switchboard_sms_sent_total", "SMS handed to the provider", labels);
    s->m_failed = sb_counter_get("switchboard_sms_failed_total",
                                 "SMS refused, given up, or dropped at shutdown", labels);
    s->m_retried = sb_counter_get("switchboard_sms_retries_total",
                                  "SMS attempts retried after a failure", labels);
}

/* Senders -------------------------------------------------------------------- */

/* Opened for each SMS rather than once: a developer may delete or rotate
 * the file, and the next line must land in the new one. Opened here too,
 * so that a path that cannot be written stops the start. */
static int open_file(therapy_sms_sender *s, const char *path, char *err, size_t err_size)
{
    if (!*path) {
        snprintf(err, err_size, "--sms file:PATH needs a path");
        return -1;
    }
    if (strlen(path) >= sizeof s->path) {
        snprintf(err, err_size, "--sms file:PATH: the path is too long");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "--sms file:%s: cannot open for appending: %s", path,
                 strerror(errno));
        return -1;
    }
    close(fd);
    snprintf(s->path, sizeof s->path, "%s", path);
    return 0;
}

/* An http:// or https:// URL with a host, as the client will take it. */
static bool good_url(const char *url)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return false;
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    bool ok = host && *host;
    if (u)
        evhttp_uri_free(u);
    return ok;
}

static int setup_http(therapy_sms_sender *s, const sb_config *cfg, char *err, size_t err_size)
{
    s->client = sb_http_client_new(s->base, CONNS_PER_ORIGIN, s->opts.timeout_ms, ANSWER_MAX);
    if (!s->client) {
        snprintf(err, err_size, "--sms: cannot create the HTTP client");
        return -1;
    }
    /* set up TLS now when it will be needed, so that a bad CA file stops the
     * start instead of the first login */
    bool https = strncmp(s->url, "https://", 8) == 0;
    if ((https || cfg->sms_ca_file[0]) &&
        sb_http_client_tls(s->client, cfg->sms_ca_file, err, err_size) != 0)
        return -1;
    return 0;
}

static int setup_webhook(therapy_sms_sender *s, const sb_config *cfg, const char *url, char *err,
                         size_t err_size)
{
    if (!good_url(url) || strlen(url) >= sizeof s->url) {
        snprintf(err, err_size, "--sms webhook:URL needs an http:// or https:// URL with a host");
        return -1;
    }
    if (!cfg->sms_webhook_secret[0]) {
        snprintf(err, err_size,
                 "--sms webhook:URL needs --sms-webhook-secret (requests are signed)");
        return -1;
    }
    snprintf(s->url, sizeof s->url, "%s", url);
    s->secret_len = strlen(cfg->sms_webhook_secret);
    memcpy(s->secret, cfg->sms_webhook_secret, s->secret_len + 1);
    return setup_http(s, cfg, err, err_size);
}

static int setup_twilio(therapy_sms_sender *s, const sb_config *cfg, char *err, size_t err_size)
{
    const char *sid = getenv("TWILIO_ACCOUNT_SID");
    const char *token = getenv("TWILIO_AUTH_TOKEN");
    const char *from = getenv("TWILIO_FROM");
    const char *service = getenv("TWILIO_MESSAGING_SERVICE_SID");
    if (!sid || !*sid || !token || !*token) {
        snprintf(err, err_size, "--sms twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
        return -1;
    }
    bool by_service = service && *service;
    if (!by_service && (!from || !*from)) {
        snprintf(err, err_size, "--sms twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID");
        return -1;
    }
    /* the SID goes into the URL's path: letters and digits only ("AC" + 32 hex) */
    for (const char *p = sid; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) ||
            p - sid > 64) {
            snprintf(err, err_size,
                     "TWILIO_ACCOUNT_SID is not an account SID (letters and digits)");
            return -1;
        }
    }
    const char *value = by_service ? service : from;
    if (strlen(value) >= sizeof s->from) {
        snprintf(err, err_size, "%s is too long",
                 by_service ? "TWILIO_MESSAGING_SERVICE_SID" : "TWILIO_FROM");
        return -1;
    }
    snprintf(s->from_key, sizeof s->from_key, "%s", by_service ? "MessagingServiceSid" : "From");
    snprintf(s->from, sizeof s->from, "%s", value);

    size_t base_len = strlen(cfg->sms_twilio_url);
    while (base_len && cfg->sms_twilio_url[base_len - 1] == '/')
        base_len--; /* "https://api.twilio.com/" as well */
    int n = snprintf(s->url, sizeof s->url, "%.*s/2010-04-01/Accounts/%s/Messages.json",
                     (int)base_len, cfg->sms_twilio_url, sid);
    if (n < 0 || (size_t)n >= sizeof s->url || !good_url(s->url)) {
        snprintf(err, err_size, "--sms-twilio-url needs an http:// or https:// URL with a host");
        return -1;
    }

    /* HTTP Basic: base64("SID:TOKEN") */
    sb_buf cred, b64;
    sb_buf_init(&cred);
    sb_buf_init(&b64);
    sb_buf_put(&cred, sid, strlen(sid));
    sb_buf_putc(&cred, ':');
    sb_buf_put(&cred, token, strlen(token));
    if (!cred.oom)
        sb_b64_encode(&b64, cred.data, cred.len);
    bool fits = !cred.oom && !b64.oom && b64.len + sizeof "Authorization: Basic " <= sizeof s->auth;
    if (fits)
        snprintf(s->auth, sizeof s->auth, "Authorization: Basic %.*s", (int)b64.len, b64.data);
    if (cred.data)
        OPENSSL_cleanse(cred.data, cred.len);
    if (b64.data)
        OPENSSL_cleanse(b64.data, b64.len);
    sb_buf_free(&cred);
    sb_buf_free(&b64);
    if (!fits) {
        snprintf(err, err_size, "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are too long");
        return -1;
    }
    return setup_http(s, cfg, err, err_size);
}

therapy_sms_sender *therapy_sms_sender_new(struct event_base *base, const sb_config *cfg,
                                           const char *spec, const therapy_sms_opts *opts,
                                           char *err, size_t err_size)
{
    therapy_sms_sender *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->base = base;
    therapy_sms_opts o = opts ? *opts : (therapy_sms_opts){0};
    s->opts.retry_base_ms = o.retry_base_ms > 0 ? o.retry_base_ms : 1000;
    s->opts.max_tries = o.max_tries > 0 ? o.max_tries : 6;
    s->opts.timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 10000;
    s->opts.max_queue = o.max_queue > 0 ? o.max_queue : 1000;

    int rc = 0;
    if (!spec || !*spec) {
        s->kind = KIND_NONE;
    } else if (strncmp(spec, "file:", 5) == 0) {
        s->kind = KIND_FILE;
        rc = open_file(s, spec + 5, err, err_size);
    } else if (strncmp(spec, "webhook:", 8) == 0) {
        s->kind = KIND_WEBHOOK;
        rc = setup_webhook(s, cfg, spec + 8, err, err_size);
    } else if (strcmp(spec, "twilio") == 0) {
        s->kind = KIND_TWILIO;
        rc = setup_twilio(s, cfg, err, err_size);
    } else {
        /* the spec may hold a URL with credentials: named by its kind only */
        snprintf(err, err_size, "--sms: unknown sender (file:PATH, webhook:URL or twilio)");
        rc = -1;
    }
    if (rc != 0) {
        therapy_sms_sender_free(s);
        return NULL;
    }
    metrics_for(s);
    return s;
}

const char *therapy_sms_sender_kind(const therapy_sms_sender *s)
{
    return s ? kind_names[s->kind] : "none";
}

size_t therapy_sms_sender_pending(const therapy_sms_sender *s)
{
    return s ? s->n : 0;
}

/* file: ---------------------------------------------------------------------- */

static int write_line(therapy_sms_sender *s, const char *to, const char *body, const char *masked)
{
    therapy_sms_file_line line = {{to, strlen(to)}, {body, strlen(body)}};
    sb_buf b;
    sb_buf_init(&b);
    therapy_sms_file_line_write(&b, &line);
    sb_buf_putc(&b, '\n');
    ssize_t n = -1;
    int fd = b.oom ? -1 : open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        /* one write(2) on O_APPEND: concurrent writers never interleave a line */
        do
            n = write(fd, b.data, b.len);
        while (n < 0 && errno == EINTR);
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    int rc = !b.oom && n == (ssize_t)b.len ? 0 : -1;
    sb_buf_free(&b);
    if (rc != 0) {
        sb_log(SB_LOG_ERROR, "sms_failed", "sender=file to=%s reason=%s", masked,
               n < 0 ? strerror(e) : "short_write");
        sb_counter_add(s->m_failed, 1);
        return -1;
    }
    sb_log(SB_LOG_INFO, "sms_sent", "sender=file to=%s tries=1", masked);
    sb_counter_add(s->m_sent, 1);
    return 0;
}

/* HTTP senders ---------------------------------------------------------------- */

static void sms_free(sms *m)
{
    therapy_sms_sender *s = m->s;
    if (m->prev)
        m->prev->next = m->next;
    else
        s->queue = m->next;
    if (m->next)
        m->next->prev = m->prev;
    s->n--;
    if (m->timer)
        event_free(m->timer);
    if (m->payload) {
        OPENSSL_cleanse(m->payload, m->len); /* the code */
        free(m->payload);
    }
    free(m);
}

/* base * 2^(tries-1), capped, then jittered by +-20% so that SMS failed
 * together do not retry together. */
static int backoff_ms(const therapy_sms_sender *s, int tries)
{
    double ms = s->opts.retry_base_ms;
    for (int i = 1; i < tries && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)sb_mono_us(); /* jitter needs no secrecy */
    ms *= 0.8 + 0.4 * ((double)r / 4294967295.0);
    return ms < 1 ? 1 : (int)ms;
}

/* Twilio's error answer: {"code": 21211, "message": ..., "status": 400}.
 * The code says what went wrong; the message may quote the number, so it
 * is never logged. 0 when there is none. */
static int64_t twilio_code(const char *body, size_t len)
{
    sb_reader r;
    sb_reader_init(&r, body, len, NULL, NULL);
    if (sb_peek(&r) != '{' || !sb_read_object_begin(&r))
        return 0;
    sb_str key;
    while (sb_read_object_next(&r, &key) == 1) {
        int64_t code;
        if (key.len == 4 && memcmp(key.ptr, "code", 4) == 0 && sb_peek(&r) == '0')
            return sb_read_int64(&r, &code) ? code : 0;
        sb_str skip;
        if (!sb_read_any(&r, &skip))
            return 0;
    }
    return 0;
}

static void attempt(sms *m);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    attempt(arg);
}

/* A failed attempt: again later, or given up. */
static void failed(sms *m, int status, const char *why, bool retryable)
{
    therapy_sms_sender *s = m->s;
    const char *sender = kind_names[s->kind];
    char reason[200];
    sb_log_kv_str(reason, sizeof reason, why);
    if (retryable && m->tries < s->opts.max_tries) {
        int ms = backoff_ms(s, m->tries);
        sb_log(SB_LOG_WARN, "sms_retry",
               "sender=%s id=%s to=%s tries=%d status=%d reason=%s delay_ms=%d", sender, m->id,
               m->to, m->tries, status, reason, ms);
        sb_counter_add(s->m_retried, 1);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(m->timer, &tv);
        return;
    }
    sb_log(SB_LOG_ERROR, "sms_failed", "sender=%s id=%s to=%s tries=%d status=%d reason=%s%s",
           sender, m->id, m->to, m->tries, status, reason,
           retryable ? " gave_up=true" : " permanent=true");
    sb_counter_add(s->m_failed, 1);
    sms_free(m);
}

static void answered(int status, const char *body, size_t len, const char *error, void *arg)
{
    sms *m = arg;
    therapy_sms_sender *s = m->s;
    m->in_flight = false;
    if (s->closing)
        return; /* free's loop drops it */
    if (status >= 200 && status < 300) {
        sb_log(SB_LOG_INFO, "sms_sent", "sender=%s id=%s to=%s tries=%d status=%d",
               kind_names[s->kind], m->id, m->to, m->tries, status);
        sb_counter_add(s->m_sent, 1);
        sms_free(m);
        return;
    }
    if (status == 0) {
        failed(m, 0, error ? error : "no answer", true);
        return;
    }
    char why[64];
    int64_t code = s->kind == KIND_TWILIO ? twilio_code(body, len) : 0;
    if (code)
        snprintf(why, sizeof why, "HTTP %d, Twilio code %lld", status, (long long)code);
    else
        snprintf(why, sizeof why, "HTTP %d", status);
    /* 429 and 5xx are the provider's momentary trouble; any other answer
     * (4xx: a bad number, bad credentials) would fail the same way again */
    failed(m, status, why, status == 429 || status >= 500);
}

/* The webhook's signature headers: a fresh timestamp on every try, so that a
 * receiver can refuse old replays while the id lets it drop repeats. */
static bool sign(const therapy_sms_sender *s, const sms *m, char ts_header[64],
                 char sig_header[200])
{
    long long ts = (long long)time(NULL);
    char ts_text[24];
    snprintf(ts_text, sizeof ts_text, "%lld", ts);
    sb_buf msg;
    sb_buf_init(&msg);
    sb_buf_put(&msg, ts_text, strlen(ts_text));
    sb_buf_putc(&msg, '.');
    sb_buf_put(&msg, m->payload, m->len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    bool ok = !msg.oom && HMAC(EVP_sha256(), s->secret, (int)s->secret_len,
                               (const unsigned char *)msg.data, msg.len, mac, &mac_len);
    if (msg.data)
        OPENSSL_cleanse(msg.data, msg.len);
    sb_buf_free(&msg);
    if (!ok)
        return false;
    char mac_hex[2 * EVP_MAX_MD_SIZE + 1];
    sb_hex(mac, mac_len, mac_hex);
    snprintf(ts_header, 64, "X-Switchboard-Timestamp: %s", ts_text);
    snprintf(sig_header, 200, "X-Switchboard-Signature: sha256=%s", mac_hex);
    return true;
}

static void attempt(sms *m)
{
    therapy_sms_sender *s = m->s;
    m->tries++;
    char ts_header[64], sig_header[200];
    const char *headers[4] = {NULL};
    sb_http_client_req req = {"POST", s->url, headers, m->payload, m->len, NULL};
    if (s->kind == KIND_WEBHOOK) {
        if (!sign(s, m, ts_header, sig_header)) {
            failed(m, 0, "cannot sign the request", true);
            return;
        }
        headers[0] = ts_header;
        headers[1] = sig_header;
    } else {
        headers[0] = s->auth;
        headers[1] = "Accept: application/json";
        req.content_type = "application/x-www-form-urlencoded";
    }
    m->in_flight = true;
    if (sb_http_client_send(s->client, &req, answered, m) != 0) {
        m->in_flight = false;
        failed(m, 0, "cannot start the request", true);
    }
}

/* The request body, built once for every try. */
static bool payload(therapy_sms_sender *s, sms *m, const char *to, const char *body)
{
    sb_buf b;
    sb_buf_init(&b);
    if (s->kind == KIND_WEBHOOK) {
        char created[32];
        sb_iso8601_ms(created, sb_wall_ms());
        therapy_sms_webhook_request w = {{m->id, strlen(m->id)},
                                         {to, strlen(to)},
                                         {body, strlen(body)},
                                         {created, strlen(created)}};
        therapy_sms_webhook_request_write(&b, &w);
    } else {
        sb_form_append(&b, "To", to);
        sb_form_append(&b, s->from_key, s->from);
        sb_form_append(&b, "Body", body);
    }
    if (b.oom) {
        sb_buf_free(&b);
        return false;
    }
    m->payload = b.data; /* the buffer's memory, handed over */
    m->len = b.len;
    return true;
}

static int enqueue(therapy_sms_sender *s, const char *to, const char *body, const char *masked)
{
    static sb_log_every_state full = SB_LOG_EVERY_INIT;
    if (s->n >= (size_t)s->opts.max_queue) {
        sb_log_every(&full, 1000, SB_LOG_ERROR, "sms_refused",
                     "sender=%s to=%s reason=queue_full max=%d", kind_names[s->kind], masked,
                     s->opts.max_queue);
        sb_counter_add(s->m_failed, 1);
        return -1;
    }
    sms *m = calloc(1, sizeof *m);
    char token[SB_TOKEN_HEX_LEN + 1];
    if (!m || sb_token_new(token) != 0) {
        free(m);
        sb_log(SB_LOG_ERROR, "sms_refused", "sender=%s to=%s reason=no_memory_or_randomness",
               kind_names[s->kind], masked);
        sb_counter_add(s->m_failed, 1);
        return -1;
    }
    m->s = s;
    snprintf(m->id, sizeof m->id, "sms_%.16s", token);
    snprintf(m->to, sizeof m->to, "%s", masked);
    m->timer = evtimer_new(s->base, retry_cb, m);
    if (!m->timer || !payload(s, m, to, body)) {
        if (m->timer)
            event_free(m->timer);
        free(m);
        sb_log(SB_LOG_ERROR, "sms_refused", "sender=%s to=%s reason=no_memory", kind_names[s->kind],
               masked);
        sb_counter_add(s->m_failed, 1);
        return -1;
    }
    m->next = s->queue;
    if (s->queue)
        s->queue->prev = m;
    s->queue = m;
    s->n++;
    sb_log(SB_LOG_DEBUG, "sms_queued", "sender=%s id=%s to=%s", kind_names[s->kind], m->id, m->to);
    /* starting the request only queues work on the loop: no network wait */
    attempt(m);
    return 0;
}

int therapy_sms_sender_send(therapy_sms_sender *s, const char *to, const char *body)
{
    if (!s || s->kind == KIND_NONE) {
        sb_log(SB_LOG_ERROR, "sms_refused", "sender=none reason=no_sender");
        if (s)
            sb_counter_add(s->m_failed, 1);
        return -1;
    }
    size_t body_len = body ? strlen(body) : 0;
    if (!to || !e164(to) || body_len == 0 || body_len > BODY_MAX) {
        /* a number that is not E.164 is not masked: it may be anything */
        sb_log(SB_LOG_ERROR, "sms_refused", "sender=%s reason=%s", kind_names[s->kind],
               !to || !e164(to) ? "not_e164" : "bad_body_length");
        sb_counter_add(s->m_failed, 1);
        return -1;
    }
    char masked[16];
    therapy_sms_mask(masked, to);
    if (s->kind == KIND_FILE)
        return write_line(s, to, body, masked);
    return enqueue(s, to, body, masked);
}

void therapy_sms_sender_free(therapy_sms_sender *s)
{
    if (!s)
        return;
    s->closing = true;
    /* in-flight attempts end now ("shutting down"); answered() leaves them */
    sb_http_client_free(s->client);
    while (s->queue) {
        sms *m = s->queue;
        sb_log(SB_LOG_WARN, "sms_dropped", "sender=%s id=%s to=%s tries=%d reason=shutting_down",
               kind_names[s->kind], m->id, m->to, m->tries);
        sb_counter_add(s->m_failed, 1);
        sms_free(m);
    }
    OPENSSL_cleanse(s->secret, sizeof s->secret);
    OPENSSL_cleanse(s->auth, sizeof s->auth);
    free(s);
}
