/*
 * config.h: the server's settings, from flags and the environment.
 *
 * Every setting has a flag and an environment variable (SB_PORT for
 * --port, ...). The order is: built-in defaults, then the environment, then
 * flags, so a flag always wins. An environment variable that is set but
 * empty counts as unset, because that is what `SB_PORT=` in a compose file
 * or a unit file usually means.
 *
 * Parsing is strict: numbers are plain decimal digits (no sign, no spaces,
 * no trailing garbage) within a stated range, and sizes may end in k or m
 * (KiB, MiB). An error message names the flag or variable and the bad
 * value, e.g. "--port: invalid value '80x': expected an integer 0..65535".
 */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct sb_config {
    char bind[64];            /* address to listen on */
    int port;                 /* 0: let the kernel pick a free port */
    char db_path[1024];       /* SQLite database file; with db_url, where the files beside it
                                 go (data_dir/switchboard.db: secrets, demo tokens) */
    char db_url[1024];        /* --db postgres://...: the database; "": SQLite at db_path */
    char data_dir[1024];      /* --data-dir: the files beside a PostgreSQL database */
    bool demo;                /* demo users and rooms on an empty database */
    int log_level;            /* an sb_log_level */
    size_t max_message_bytes; /* largest inbound WebSocket message */
    size_t max_queue_bytes;   /* outbound bytes queued per connection before it is dropped */
    int idle_timeout_s;       /* close a connection silent this long; 0: never */
    int send_timeout_s;       /* close a connection whose queue has not moved this long */
    int commit_window_us;     /* group commit window (rt.h); 0: one commit per loop turn */
    int max_connections;      /* accepted at once; more are refused */
    size_t max_http_body;     /* largest HTTP request body */
    int sync_full;            /* 1: SQLite synchronous=FULL, 0: NORMAL */
    bool pg_wait_block;       /* --pg-wait block: PostgreSQL statements block the loop */
    size_t max_db_bytes;      /* database size quota (SB_STORE_FULL past it); 0: none */
    char cors_origins[512];   /* origins allowed cross-origin ("a,b" or "*"); "": none */
    /* Limits per client (docs/operations.md, "Limits"); 0 is no limit */
    int max_ip_connections;   /* TCP connections from one address */
    int max_pending;          /* connections not yet settled; 0: a quarter of the fds */
    int max_user_connections; /* WebSockets of one user (protocols claim it) */
    int max_message_rate;     /* messages a second per WebSocket, burst twice that */
    size_t max_byte_rate;     /* bytes a second per WebSocket, burst four times that */
    int max_invalid;          /* invalid messages a minute before a close */
    int max_ping_rate;        /* WebSocket pings a second, burst twice that */
    /* The realtime protocol (Socket.IO, docs/protocols/realtime.md) */
    char jwt_secret[256];       /* HS256 secret; never logged */
    char jwt_secret_file[1024]; /* or a file holding it */
    char jwt_public_key[1024];  /* RS256/ES256: PEM public key file */
    char jwt_alg[8];            /* HS256, RS256 or ES256 */
    char jwt_issuer[256];       /* required iss; "": not checked */
    char jwt_audience[256];     /* required aud; "": not checked */
    char jwt_claim_user[64], jwt_claim_company[64], jwt_claim_session[64],
        jwt_claim_artifacts[64];      /* claim names; "": the defaults */
    int realtime_recovery_s;          /* connection state recovery window; 0 off */
    int max_request_rate;             /* REQUESTs a second per connection */
    int max_handshake_rate;           /* Socket.IO connections a second, server-wide */
    char realtime_upstream[512];      /* proxied actions go there; "": none */
    int realtime_upstream_timeout_ms; /* a proxied action's time */
    int realtime_upstream_inflight;   /* proxied actions in flight, server-wide */
    char realtime_session_check[512]; /* HTTP check of session/artifact; "": claims only */
    bool socketio_conformance;        /* the official suites' test mode */
    /* The therapy protocol (seed 001, docs/protocols/therapy.md) */
    char sms[1024];                 /* SMS sender: file:PATH, webhook:URL, twilio; "": none */
    char sms_webhook_secret[256];   /* HMAC key of webhook requests; never logged */
    char sms_twilio_url[512];       /* Twilio's API base (tests point it at a fake) */
    char sms_ca_file[1024];         /* extra CA bundle for https senders; "": system CAs */
    char therapy_secret_file[1024]; /* the OTP pepper; "": therapy-secret beside the DB */
    int otp_ttl_s;                  /* a code's validity */
    int otp_resend_s;               /* one code per phone this often (the seed: 60) */
    int otp_window_s;               /* the window of otp_max_codes (the seed: 3600) */
    int otp_max_codes;              /* codes, and failed codes, per phone per window (3) */
    int otp_ip_limit;               /* codes sent per client address per hour; 0 none */
    int otp_global_limit;           /* codes sent per hour, server-wide; 0 none */
    int verify_ip_limit;            /* codes checked per client address per hour; 0 none */
    int session_idle_s;             /* idle timeout of a therapy session cookie */
    int session_max_s;              /* absolute timeout */
    bool cookie_secure;             /* Secure on the session cookie (HTTPS deployments) */
    /* The dashboard (seed 000, docs/protocols/dashboard.md) */
    int auth_ticket_ttl_s; /* a /request_for_auth ticket's validity */
    int fin_session_ttl_s; /* a fin_session_id's idle timeout */
    int fin_session_max_s; /* and its absolute one */
    char public_url[512];  /* http(s)://host[:port] browsers use; "": http://bind:port */
    /* Several nodes (docs/operations.md "Several nodes", docs/deployment.md) */
    char redis_url[512]; /* the fan-out bus (bus.h); "": none, one node. Its password is
                          * never logged */
    char node_id[65];    /* this node's name in the bus, logs, metrics, and the prefix of
                          * Engine.IO sids (eio.h); "": hostname:pid in the bus, no prefix */
} sb_config;

/* The built-in defaults: 127.0.0.1:8080, ./var/switchboard.db, demo on, log
 * info, 64 KiB messages, 1 MiB queues, 300 s idle timeout, 19000
 * connections, 1 MiB HTTP bodies, synchronous=NORMAL. */
void sb_config_defaults(sb_config *c);

/* Fill c from defaults, the environment and argv[1..argc) (argv[0] is the
 * program or subcommand name, as getopt has it). Flags take `--flag VALUE`
 * or `--flag=VALUE`. Returns 0 when c is ready, 1 when --help (or -h) was
 * given and the usage was printed to stdout, -1 on an error, described in
 * err (errn bytes, always NUL-terminated when errn > 0). */
int sb_config_parse(sb_config *c, int argc, char **argv, char *err, size_t errn);

/* The flags, their variables, ranges and defaults. */
void sb_config_usage(FILE *f);

/* One `event=config ...` line (info) with every setting. */
void sb_config_log(const sb_config *c);
/* What the store opens: the PostgreSQL URL, or the SQLite file. */
const char *sb_config_db(const sb_config *c);
/* A database or Redis URL fit for logs and errors: its password
 * (user:PASS@, redis://:PASS@, or password=...) replaced by "***", into out
 * (n bytes, NUL-terminated). Returns out. */
const char *sb_config_redact_url(char *out, size_t n, const char *url);

#endif
