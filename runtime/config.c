/*
 * config.c: flags and environment variables into an sb_config.
 *
 * One table describes every setting (flag, variable, kind, field, range,
 * usage text); parsing, the environment pass and the usage all read it, so
 * a new setting is one row and cannot be documented in one place only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum {
    OPT_STR,     /* char array of `size` bytes */
    OPT_INT,     /* int in min..max */
    OPT_SIZE,    /* size_t in min..max, k/m suffix */
    OPT_LEVEL,   /* debug|info|warn|error */
    OPT_SYNC,    /* normal|full */
    OPT_PG_WAIT, /* loop|block */
    OPT_DEMO,    /* flag: no value, sets true; environment: 0 or 1 */
    OPT_NO_DEMO, /* flag: no value, sets false */
    OPT_HELP,
    OPT_FLAG, /* flag: no value, sets a bool true; environment: 0 or 1 */
} opt_kind;

typedef struct option {
    const char *flag;
    const char *env; /* NULL: flag only */
    opt_kind kind;
    size_t offset; /* of the field in sb_config */
    size_t size;   /* OPT_STR: bytes of the field */
    long long min, max;
    const char *arg;  /* the value's name in the usage */
    const char *help; /* usage text, default included */
} option;

/* Sizes stop at 1 GiB: far above any sane limit, it catches a typo'd extra
 * digit and keeps `limit + header` sums far from overflow everywhere. */
#define SIZE_MAX_SETTING (1LL << 30)

#define FIELD(f) offsetof(sb_config, f)

static const option options[] = {
    {"--bind", "SB_BIND", OPT_STR, FIELD(bind), sizeof(((sb_config *)0)->bind), 0, 0, "ADDR",
     "address to listen on (default 127.0.0.1)"},
    {"--port", "SB_PORT", OPT_INT, FIELD(port), 0, 0, 65535, "N",
     "TCP port 0..65535, 0 picks a free one (default 8080)"},
    {"--db", "SB_DB", OPT_STR, FIELD(db_path), sizeof(((sb_config *)0)->db_path), 0, 0, "PATH",
     "SQLite database file, or postgres://USER[:PASS]@HOST[:PORT]/DB (default "
     "./var/switchboard.db)"},
    {"--data-dir", "SB_DATA_DIR", OPT_STR, FIELD(data_dir), sizeof(((sb_config *)0)->data_dir), 0,
     0, "DIR",
     "with a postgres:// --db: where the files that sit beside an SQLite file go (secrets, "
     "demo tokens; default ./var)"},
    {"--demo", "SB_DEMO", OPT_DEMO, FIELD(demo), 0, 0, 0, NULL,
     "demo users and rooms on an empty database (default; SB_DEMO=0 or 1)"},
    {"--no-demo", NULL, OPT_NO_DEMO, FIELD(demo), 0, 0, 0, NULL, "no demo data"},
    {"--log-level", "SB_LOG_LEVEL", OPT_LEVEL, FIELD(log_level), 0, 0, 0, "LEVEL",
     "debug, info, warn or error (default info)"},
    {"--max-message", "SB_MAX_MESSAGE", OPT_SIZE, FIELD(max_message_bytes), 0, 1, SIZE_MAX_SETTING,
     "BYTES", "largest inbound message (default 64k)"},
    {"--max-queue", "SB_MAX_QUEUE", OPT_SIZE, FIELD(max_queue_bytes), 0, 1, SIZE_MAX_SETTING,
     "BYTES", "outbound bytes queued per connection before it is dropped (default 1m)"},
    {"--idle-timeout", "SB_IDLE_TIMEOUT", OPT_INT, FIELD(idle_timeout_s), 0, 0, 86400, "SECONDS",
     "close connections idle this long, 0..86400, 0 never (default 300)"},
    {"--send-timeout", "SB_SEND_TIMEOUT", OPT_INT, FIELD(send_timeout_s), 0, 1, 3600, "SECONDS",
     "close a connection whose queue has not moved this long, 1..3600 (default 10)"},
    {"--max-connections", "SB_MAX_CONNECTIONS", OPT_INT, FIELD(max_connections), 0, 1, 1000000, "N",
     "connections at once, 1..1000000 (default 19000)"},
    {"--max-http-body", "SB_MAX_HTTP_BODY", OPT_SIZE, FIELD(max_http_body), 0, 1, SIZE_MAX_SETTING,
     "BYTES", "largest HTTP request body (default 1m)"},
    {"--max-db-size", "SB_MAX_DB_SIZE", OPT_SIZE, FIELD(max_db_bytes), 0, 0, 1LL << 40, "BYTES",
     "database size quota; writes past it fail cleanly, 0 none (default 0)"},
    {"--commit-window", "SB_COMMIT_WINDOW", OPT_INT, FIELD(commit_window_us), 0, 0, 100000, "USEC",
     "group commit: at most this long after a turn's first write, 0 at the end of each loop "
     "turn (default 0)"},
    {"--sync", "SB_SYNC", OPT_SYNC, FIELD(sync_full), 0, 0, 0, "MODE",
     "SQLite synchronous: normal or full (default normal)"},
    {"--pg-wait", "SB_PG_WAIT", OPT_PG_WAIT, FIELD(pg_wait_block), 0, 0, 0, "MODE",
     "PostgreSQL: a handler's statement waits on the loop (loop: the loop serves meanwhile) or "
     "blocks it (block: for measurement) (default loop)"},
    {"--max-ip-connections", "SB_MAX_IP_CONNECTIONS", OPT_INT, FIELD(max_ip_connections), 0, 0,
     1000000, "N", "TCP connections from one client address, 0 no limit (default 1024)"},
    {"--max-pending", "SB_MAX_PENDING", OPT_INT, FIELD(max_pending), 0, 0, 1000000, "N",
     "connections not yet a WebSocket or an HTTP request, 0: a quarter of the descriptors "
     "(default 0)"},
    {"--max-user-connections", "SB_MAX_USER_CONNECTIONS", OPT_INT, FIELD(max_user_connections), 0,
     0, 1000000, "N", "WebSockets of one user, 0 no limit (default 32)"},
    {"--max-message-rate", "SB_MAX_MESSAGE_RATE", OPT_INT, FIELD(max_message_rate), 0, 0, 10000000,
     "N",
     "messages a second per WebSocket, with a burst of twice that, 0 no limit "
     "(default 100)"},
    {"--max-byte-rate", "SB_MAX_BYTE_RATE", OPT_SIZE, FIELD(max_byte_rate), 0, 0, SIZE_MAX_SETTING,
     "BYTES",
     "bytes a second per WebSocket, with a burst of four times that, 0 no limit "
     "(default 1m)"},
    {"--max-ping-rate", "SB_MAX_PING_RATE", OPT_INT, FIELD(max_ping_rate), 0, 0, 1000000, "N",
     "WebSocket pings a second per connection, bursts of twice that, then close 1008; 0 no limit "
     "(default 10)"},
    {"--max-invalid", "SB_MAX_INVALID", OPT_INT, FIELD(max_invalid), 0, 0, 1000000, "N",
     "invalid messages a connection may send in a minute before it is closed, 0 no limit "
     "(default 30)"},
    {"--cors-origins", "SB_CORS_ORIGINS", OPT_STR, FIELD(cors_origins),
     sizeof(((sb_config *)0)->cors_origins), 0, 0, "LIST",
     "origins allowed cross-origin HTTP, comma-separated, or * (default none)"},
    {"--jwt-secret", "SB_JWT_SECRET", OPT_STR, FIELD(jwt_secret),
     sizeof(((sb_config *)0)->jwt_secret), 0, 0, "SECRET",
     "realtime: HS256 secret of the REST API's JWTs (default: the file --jwt-secret-file)"},
    {"--jwt-secret-file", "SB_JWT_SECRET_FILE", OPT_STR, FIELD(jwt_secret_file),
     sizeof(((sb_config *)0)->jwt_secret_file), 0, 0, "PATH",
     "realtime: file holding the HS256 secret; made (random, mode 0600) by a demo start when "
     "missing (default: jwt-secret beside the database)"},
    {"--jwt-public-key", "SB_JWT_PUBLIC_KEY", OPT_STR, FIELD(jwt_public_key),
     sizeof(((sb_config *)0)->jwt_public_key), 0, 0, "PATH",
     "realtime: PEM public key file: tokens are RS256 or ES256 (--jwt-alg), not HS256"},
    {"--jwt-alg", "SB_JWT_ALG", OPT_STR, FIELD(jwt_alg), sizeof(((sb_config *)0)->jwt_alg), 0, 0,
     "ALG", "realtime: the one algorithm accepted: HS256, RS256 or ES256 (default HS256)"},
    {"--jwt-issuer", "SB_JWT_ISSUER", OPT_STR, FIELD(jwt_issuer),
     sizeof(((sb_config *)0)->jwt_issuer), 0, 0, "ISS",
     "realtime: required iss claim (default: not checked)"},
    {"--jwt-audience", "SB_JWT_AUDIENCE", OPT_STR, FIELD(jwt_audience),
     sizeof(((sb_config *)0)->jwt_audience), 0, 0, "AUD",
     "realtime: required aud claim (default: not checked)"},
    {"--jwt-claim-user", "SB_JWT_CLAIM_USER", OPT_STR, FIELD(jwt_claim_user),
     sizeof(((sb_config *)0)->jwt_claim_user), 0, 0, "NAME",
     "realtime: the claim naming the user (default sub)"},
    {"--jwt-claim-company", "SB_JWT_CLAIM_COMPANY", OPT_STR, FIELD(jwt_claim_company),
     sizeof(((sb_config *)0)->jwt_claim_company), 0, 0, "NAME",
     "realtime: the claim naming the company (default company_id)"},
    {"--jwt-claim-session", "SB_JWT_CLAIM_SESSION", OPT_STR, FIELD(jwt_claim_session),
     sizeof(((sb_config *)0)->jwt_claim_session), 0, 0, "NAME",
     "realtime: the claim naming the session (default sid)"},
    {"--jwt-claim-artifacts", "SB_JWT_CLAIM_ARTIFACTS", OPT_STR, FIELD(jwt_claim_artifacts),
     sizeof(((sb_config *)0)->jwt_claim_artifacts), 0, 0, "NAME",
     "realtime: the claim listing the artifacts (default artifacts)"},
    {"--realtime-recovery", "SB_REALTIME_RECOVERY", OPT_INT, FIELD(realtime_recovery_s), 0, 0, 3600,
     "SECONDS",
     "realtime: a client reconnecting within this long gets the UPDATEs it missed, 0 off "
     "(default 120)"},
    {"--max-request-rate", "SB_MAX_REQUEST_RATE", OPT_INT, FIELD(max_request_rate), 0, 0, 1000000,
     "N",
     "realtime: REQUESTs a second per connection, bursts of twice that, 0 no limit (default 50)"},
    {"--max-handshake-rate", "SB_MAX_HANDSHAKE_RATE", OPT_INT, FIELD(max_handshake_rate), 0, 0,
     1000000, "N",
     "realtime: Socket.IO connections accepted a second, bursts of twice that, 0 no limit "
     "(default 500)"},
    {"--realtime-upstream", "SB_REALTIME_UPSTREAM", OPT_STR, FIELD(realtime_upstream),
     sizeof(((sb_config *)0)->realtime_upstream), 0, 0, "URL",
     "realtime: where proxied actions are forwarded (POST, the caller's token; {action} in the "
     "URL is the action's name) (default none: they answer INTERNAL)"},
    {"--realtime-upstream-timeout", "SB_REALTIME_UPSTREAM_TIMEOUT", OPT_INT,
     FIELD(realtime_upstream_timeout_ms), 0, 1, 600000, "MS",
     "realtime: how long a proxied action may take (default 10000)"},
    {"--realtime-upstream-inflight", "SB_REALTIME_UPSTREAM_INFLIGHT", OPT_INT,
     FIELD(realtime_upstream_inflight), 0, 1, 100000, "N",
     "realtime: proxied actions in flight at once, server-wide; a connection gets an eighth "
     "(default 256)"},
    {"--realtime-session-check", "SB_REALTIME_SESSION_CHECK", OPT_STR,
     FIELD(realtime_session_check), sizeof(((sb_config *)0)->realtime_session_check), 0, 0, "URL",
     "realtime: GET it with the token (and ?sessionId=&artifactId=) when the token's claims do not "
     "settle the session or the artifact; 2xx = allowed, cached 30 s (default none)"},
    {"--socketio-conformance", NULL, OPT_FLAG, FIELD(socketio_conformance), 0, 0, 0, NULL,
     "test mode for the official Engine.IO/Socket.IO suites: /engine.io/ echo, /socket.io/ test "
     "handlers, pings 300/200 ms, port 3000 unless --port"},
    {"--sms", "SB_SMS", OPT_STR, FIELD(sms), sizeof(((sb_config *)0)->sms), 0, 0, "SENDER",
     "therapy: how login codes are sent: file:PATH (one JSON line per SMS), webhook:URL (signed "
     "POST), or twilio (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM) (default: "
     "file:sms.jsonl beside the database on a demo start, else none)"},
    {"--sms-webhook-secret", "SB_SMS_WEBHOOK_SECRET", OPT_STR, FIELD(sms_webhook_secret),
     sizeof(((sb_config *)0)->sms_webhook_secret), 0, 0, "SECRET",
     "therapy: HMAC-SHA256 key of the webhook's X-Switchboard-Signature header"},
    {"--sms-twilio-url", "SB_SMS_TWILIO_URL", OPT_STR, FIELD(sms_twilio_url),
     sizeof(((sb_config *)0)->sms_twilio_url), 0, 0, "URL",
     "therapy: Twilio API base URL (default https://api.twilio.com)"},
    {"--sms-ca-file", "SB_SMS_CA_FILE", OPT_STR, FIELD(sms_ca_file),
     sizeof(((sb_config *)0)->sms_ca_file), 0, 0, "PATH",
     "therapy: PEM CA bundle trusted for https SMS senders (default: the system's)"},
    {"--therapy-secret-file", "SB_THERAPY_SECRET_FILE", OPT_STR, FIELD(therapy_secret_file),
     sizeof(((sb_config *)0)->therapy_secret_file), 0, 0, "PATH",
     "therapy: file holding the key that hashes codes and tokens; made (random, mode 0600) when "
     "missing (default: therapy-secret beside the database)"},
    {"--otp-ttl", "SB_OTP_TTL", OPT_INT, FIELD(otp_ttl_s), 0, 1, 86400, "SECONDS",
     "therapy: how long a login code is valid, 1..86400 (default 600)"},
    {"--otp-resend", "SB_OTP_RESEND", OPT_INT, FIELD(otp_resend_s), 0, 1, 86400, "SECONDS",
     "therapy: a phone gets at most one code this often (default 60)"},
    {"--otp-window", "SB_OTP_WINDOW", OPT_INT, FIELD(otp_window_s), 0, 1, 86400 * 7, "SECONDS",
     "therapy: the window of --otp-max-codes and of the address and global caps (default 3600)"},
    {"--otp-max-codes", "SB_OTP_MAX_CODES", OPT_INT, FIELD(otp_max_codes), 0, 1, 1000, "N",
     "therapy: codes a phone may get, and codes it may fail, per window (default 3)"},
    {"--otp-ip-limit", "SB_OTP_IP_LIMIT", OPT_INT, FIELD(otp_ip_limit), 0, 0, 1000000, "N",
     "therapy: login codes sent per client address per window, 0 no limit (default 20)"},
    {"--otp-global-limit", "SB_OTP_GLOBAL_LIMIT", OPT_INT, FIELD(otp_global_limit), 0, 0, 100000000,
     "N", "therapy: login codes sent per window, server-wide, 0 no limit (default 1000)"},
    {"--verify-ip-limit", "SB_VERIFY_IP_LIMIT", OPT_INT, FIELD(verify_ip_limit), 0, 0, 1000000, "N",
     "therapy: codes checked per client address per window, 0 no limit (default 30)"},
    {"--session-idle", "SB_SESSION_IDLE", OPT_INT, FIELD(session_idle_s), 0, 1, 86400 * 30,
     "SECONDS", "therapy: a session unused this long ends (default 1800)"},
    {"--session-max", "SB_SESSION_MAX", OPT_INT, FIELD(session_max_s), 0, 1, 86400 * 365, "SECONDS",
     "therapy: a session ends this long after login, used or not (default 43200)"},
    {"--cookie-secure", "SB_COOKIE_SECURE", OPT_FLAG, FIELD(cookie_secure), 0, 0, 0, NULL,
     "therapy: mark the session cookie Secure (serve over HTTPS, e.g. behind a TLS proxy)"},
    {"--auth-ticket-ttl", "SB_AUTH_TICKET_TTL", OPT_INT, FIELD(auth_ticket_ttl_s), 0, 1, 3600,
     "SECONDS", "dashboard: how long a /request_for_auth ticket is valid (default 60)"},
    {"--fin-session-ttl", "SB_FIN_SESSION_TTL", OPT_INT, FIELD(fin_session_ttl_s), 0, 1, 86400 * 30,
     "SECONDS", "dashboard: a fin_session_id unused this long ends (default 86400)"},
    {"--fin-session-max", "SB_FIN_SESSION_MAX", OPT_INT, FIELD(fin_session_max_s), 0, 1,
     86400 * 365, "SECONDS",
     "dashboard: a fin_session_id ends this long after the handshake, used or not (default "
     "604800)"},
    {"--public-url", "SB_PUBLIC_URL", OPT_STR, FIELD(public_url),
     sizeof(((sb_config *)0)->public_url), 0, 0, "URL",
     "dashboard: the server's address as browsers reach it, for the chat iframe's src "
     "(default http://BIND:PORT)"},
    {"--redis", "SB_REDIS", OPT_STR, FIELD(redis_url), sizeof(((sb_config *)0)->redis_url), 0, 0,
     "URL",
     "several nodes: fan topic deliveries out through Redis: redis://HOST:PORT, "
     "redis://:PASSWORD@HOST:PORT/DB or unix:///PATH (default none: one node)"},
    {"--node-id", "SB_NODE_ID", OPT_STR, FIELD(node_id), sizeof(((sb_config *)0)->node_id), 0, 0,
     "NAME",
     "several nodes: this node's name in the bus, logs and metrics; Engine.IO session IDs "
     "begin with NAME- so a proxy can route polls to it (A-Z a-z 0-9 _ -, up to 31; "
     "default none: HOSTNAME:PID in the bus, no sid prefix)"},
    {"--help", NULL, OPT_HELP, 0, 0, 0, 0, NULL, "print this help and exit"},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

void sb_config_defaults(sb_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->bind, "127.0.0.1");
    c->port = 8080;
    strcpy(c->db_path, "./var/switchboard.db");
    c->demo = true;
    strcpy(c->jwt_alg, "HS256");
    c->realtime_recovery_s = 120;
    c->max_request_rate = 50;
    c->max_handshake_rate = 500;
    c->realtime_upstream_timeout_ms = 10000;
    c->realtime_upstream_inflight = 256;
    strcpy(c->sms_twilio_url, "https://api.twilio.com");
    c->otp_ttl_s = 600;
    c->otp_resend_s = 60;
    c->otp_window_s = 3600;
    c->otp_max_codes = 3;
    c->otp_ip_limit = 20;
    c->otp_global_limit = 1000;
    c->verify_ip_limit = 30;
    c->session_idle_s = 1800;
    c->session_max_s = 43200;
    c->auth_ticket_ttl_s = 60;
    c->fin_session_ttl_s = 86400;
    c->fin_session_max_s = 86400 * 7;
    c->log_level = SB_LOG_INFO;
    c->max_message_bytes = 65536;
    c->max_queue_bytes = (size_t)1 << 20;
    c->idle_timeout_s = 300;
    c->max_connections = 19000;
    c->max_http_body = (size_t)1 << 20;
    c->sync_full = 0;
    c->max_db_bytes = 0;
    c->send_timeout_s = 10;
    c->commit_window_us = 0;
    c->max_ip_connections = 1024;
    c->max_pending = 0;
    c->max_user_connections = 32;
    c->max_message_rate = 100;
    c->max_byte_rate = (size_t)1 << 20;
    c->max_invalid = 30;
    c->max_ping_rate = 10;
}

/* ---- values ------------------------------------------------------------ */

/* Plain decimal digits, at most `max`; *end gets the first byte after them. */
static bool parse_digits(const char *s, long long max, long long *out, const char **end)
{
    long long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (max - (*p - '0')) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    *end = p;
    return p != s;
}

static bool parse_int(const char *s, long long min, long long max, long long *out)
{
    const char *end;
    return parse_digits(s, max, out, &end) && *end == '\0' && *out >= min;
}

static bool parse_size(const char *s, long long min, long long max, long long *out)
{
    const char *end;
    long long unit = 1;
    if (!parse_digits(s, max, out, &end))
        return false;
    if (*end == 'k' || *end == 'K')
        unit = 1024;
    else if (*end == 'm' || *end == 'M')
        unit = 1024 * 1024;
    if (unit > 1)
        end++;
    if (*end != '\0' || *out > max / unit)
        return false;
    *out *= unit;
    return *out >= min;
}

/* err gets "NAME: invalid value 'VALUE': expected ...". */
static int bad_value(char *err, size_t errn, const char *name, const char *value,
                     const char *expected)
{
    if (errn > 0)
        snprintf(err, errn, "%s: invalid value '%s': expected %s", name, value, expected);
    return -1;
}

static int set_str(char *field, size_t size, const char *name, const char *value, char *err,
                   size_t errn)
{
    size_t len = strlen(value);
    if (len == 0)
        return bad_value(err, errn, name, value, "a non-empty value");
    if (len >= size) {
        if (errn > 0)
            snprintf(err, errn, "%s: value too long (%zu bytes, at most %zu)", name, len, size - 1);
        return -1;
    }
    memcpy(field, value, len + 1);
    return 0;
}

/* Store `value` (from the flag or variable `name`) into its field. */
static int apply(sb_config *c, const option *o, const char *name, const char *value, char *err,
                 size_t errn)
{
    char *field = (char *)c + o->offset;
    char expected[96];
    long long n;
    bool ok;
    switch (o->kind) {
    case OPT_STR:
        return set_str(field, o->size, name, value, err, errn);
    case OPT_INT:
        if (!parse_int(value, o->min, o->max, &n)) {
            snprintf(expected, sizeof expected, "an integer %lld..%lld", o->min, o->max);
            return bad_value(err, errn, name, value, expected);
        }
        *(int *)(void *)field = (int)n;
        return 0;
    case OPT_SIZE:
        if (!parse_size(value, o->min, o->max, &n)) {
            snprintf(expected, sizeof expected,
                     "a byte count %lld..%lld, optionally with a k or m suffix", o->min, o->max);
            return bad_value(err, errn, name, value, expected);
        }
        *(size_t *)(void *)field = (size_t)n;
        return 0;
    case OPT_LEVEL:
        c->log_level = (int)sb_log_level_from(value, &ok);
        return ok ? 0 : bad_value(err, errn, name, value, "debug, info, warn or error");
    case OPT_SYNC:
        if (strcmp(value, "normal") != 0 && strcmp(value, "full") != 0)
            return bad_value(err, errn, name, value, "normal or full");
        c->sync_full = strcmp(value, "full") == 0;
        return 0;
    case OPT_PG_WAIT:
        if (strcmp(value, "loop") != 0 && strcmp(value, "block") != 0)
            return bad_value(err, errn, name, value, "loop or block");
        c->pg_wait_block = strcmp(value, "block") == 0;
        return 0;
    case OPT_DEMO: /* only the environment gets here with a value */
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
            return bad_value(err, errn, name, value, "0 or 1");
        c->demo = value[0] == '1';
        return 0;
    case OPT_FLAG: /* only the environment gets here with a value */
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
            return bad_value(err, errn, name, value, "0 or 1");
        *(bool *)(void *)field = value[0] == '1';
        return 0;
    case OPT_NO_DEMO:
    case OPT_HELP:
        break;
    }
    return 0;
}

/* ---- sources ----------------------------------------------------------- */

static int read_environment(sb_config *c, char *err, size_t errn)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = options[i].env ? getenv(options[i].env) : NULL;
        if (v && *v && apply(c, &options[i], options[i].env, v, err, errn) < 0)
            return -1;
    }
    return 0;
}

static const option *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].flag) == len && memcmp(options[i].flag, arg, len) == 0)
            return &options[i];
    return NULL;
}

static bool takes_value(const option *o)
{
    return o->kind != OPT_DEMO && o->kind != OPT_NO_DEMO && o->kind != OPT_HELP &&
           o->kind != OPT_FLAG;
}

/* One flag at argv[*i] (and its value, which may be argv[*i + 1]). */
static int read_flag(sb_config *c, int argc, char **argv, int *i, char *err, size_t errn)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const option *o = find_flag(arg, len);
    const char *value = eq ? eq + 1 : NULL;
    if (!o) {
        if (errn > 0)
            snprintf(err, errn, "unknown option '%.*s' (see --help)", (int)len, arg);
        return -1;
    }
    if (!takes_value(o)) {
        if (value) {
            if (errn > 0)
                snprintf(err, errn, "%s: takes no value", o->flag);
            return -1;
        }
        if (o->kind == OPT_FLAG)
            *(bool *)(void *)((char *)c + o->offset) = true;
        else
            c->demo = o->kind == OPT_DEMO;
        return 0;
    }
    /* "--db --port 1" is a forgotten value, not a file named "--port";
     * "--db=--port" still says the odd thing on purpose. */
    if (!value && *i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0)
        value = argv[++*i];
    if (!value) {
        if (errn > 0)
            snprintf(err, errn, "%s: missing value", o->flag);
        return -1;
    }
    return apply(c, o, o->flag, value, err, errn);
}

/* --db postgres://...: the URL goes to db_url, and db_path becomes a file
 * name in --data-dir, so that everything placed beside the database (the
 * protocols' secrets, demo tokens, the SMS file) has a directory. */
static int settle_db(sb_config *c, char *err, size_t errn)
{
    if (strncmp(c->db_path, "postgres://", 11) != 0 &&
        strncmp(c->db_path, "postgresql://", 13) != 0)
        return 0;
    if (c->max_db_bytes) {
        if (errn > 0)
            snprintf(err, errn,
                     "--max-db-size: SQLite only (a PostgreSQL server's disk is its "
                     "own business: use its quotas and monitoring)");
        return -1;
    }
    memcpy(c->db_url, c->db_path, sizeof c->db_url);
    const char *dir = c->data_dir[0] ? c->data_dir : "./var";
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len + sizeof "/switchboard.db" > sizeof c->db_path) {
        if (errn > 0)
            snprintf(err, errn, "--data-dir: too long");
        return -1;
    }
    snprintf(c->db_path, sizeof c->db_path, "%.*s/switchboard.db", (int)len, dir);
    return 0;
}

const char *sb_config_db(const sb_config *c)
{
    return c->db_url[0] ? c->db_url : c->db_path;
}

const char *sb_config_redact_url(char *out, size_t n, const char *url)
{
    if (!n)
        return out;
    size_t o = 0;
    const char *scheme = strstr(url, "://");
    /* the authority's credentials end at its last '@' (a password may
     * hold one), before the path or query */
    const char *auth_end = NULL;
    if (scheme)
        for (const char *p = scheme + 3; *p && *p != '/' && *p != '?'; p++)
            if (*p == '@')
                auth_end = p;
    for (const char *p = url; *p && o + 1 < n;) {
        /* user:PASS@ in the authority */
        if (auth_end && p > scheme + 2 && p < auth_end && *p == ':') {
            const char *mask = ":***";
            for (const char *m = mask; *m && o + 1 < n; m++)
                out[o++] = *m;
            p = auth_end;
            continue;
        }
        /* password=... in the query string */
        if ((p == url || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ') &&
            !strncmp(p, "password=", 9)) {
            const char *mask = "password=***";
            for (const char *m = mask; *m && o + 1 < n; m++)
                out[o++] = *m;
            p += 9;
            while (*p && *p != '&' && *p != ' ')
                p++;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

/* --help wins over every error, including those of the environment. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int sb_config_parse(sb_config *c, int argc, char **argv, char *err, size_t errn)
{
    if (errn > 0)
        err[0] = '\0';
    sb_config_defaults(c);
    if (wants_help(argc, argv)) {
        sb_config_usage(stdout);
        return 1;
    }
    if (read_environment(c, err, errn) < 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            if (errn > 0)
                snprintf(err, errn, "unexpected argument '%s' (see --help)", argv[i]);
            return -1;
        }
        if (read_flag(c, argc, argv, &i, err, errn) < 0)
            return -1;
    }
    return settle_db(c, err, errn);
}

void sb_config_usage(FILE *f)
{
    fputs("usage: switchboard serve [options]\n\n"
          "Each option can also be set by the environment variable shown; a flag wins over\n"
          "its variable. Sizes take a k or m suffix (KiB, MiB).\n\n",
          f);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option *o = &options[i];
        char left[40];
        snprintf(left, sizeof left, "%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-24s %-20s %s\n", left, o->env ? o->env : "", o->help);
    }
}

void sb_config_log(const sb_config *c)
{
    char redis[sizeof c->redis_url + 8], redis_q[2 * sizeof redis];
    char node[2 * sizeof c->node_id];
    char bind[sizeof c->bind + 8];
    char db[2 * sizeof c->db_url], url[sizeof c->db_url];
    char cors[2 * sizeof c->cors_origins];
    sb_config_redact_url(url, sizeof url, c->db_url);
    sb_log(SB_LOG_INFO, "config",
           "bind=%s port=%d db=%s demo=%s log_level=%s max_message=%zu max_queue=%zu "
           "idle_timeout=%d send_timeout=%d commit_window=%d max_connections=%d max_http_body=%zu "
           "max_db_size=%zu sync=%s pg_wait=%s cors_origins=%s max_ip_connections=%d "
           "max_pending=%d "
           "max_user_connections=%d max_message_rate=%d max_byte_rate=%zu max_invalid=%d "
           "max_ping_rate=%d redis=%s node_id=%s",
           sb_log_kv_str(bind, sizeof bind, c->bind), c->port,
           sb_log_kv_str(db, sizeof db, c->db_url[0] ? url : c->db_path),
           c->demo ? "true" : "false", sb_log_level_name((sb_log_level)c->log_level),
           c->max_message_bytes, c->max_queue_bytes, c->idle_timeout_s, c->send_timeout_s,
           c->commit_window_us, c->max_connections, c->max_http_body, c->max_db_bytes,
           c->sync_full ? "full" : "normal", c->pg_wait_block ? "block" : "loop",
           sb_log_kv_str(cors, sizeof cors, c->cors_origins[0] ? c->cors_origins : "none"),
           c->max_ip_connections, c->max_pending, c->max_user_connections, c->max_message_rate,
           c->max_byte_rate, c->max_invalid, c->max_ping_rate,
           sb_log_kv_str(redis_q, sizeof redis_q,
                         c->redis_url[0] ? sb_config_redact_url(redis, sizeof redis, c->redis_url)
                                         : "none"),
           sb_log_kv_str(node, sizeof node, c->node_id[0] ? c->node_id : "default"));
}
