/*
 * therapy_sms.h: how the therapy protocol's one-time login codes leave the
 * server (--sms SENDER, docs/sms.md).
 *
 *   file:PATH    one JSON line per SMS appended to PATH (development: the
 *                code can be read back to log in)
 *   webhook:URL  a signed JSON POST to URL, http:// or https://
 *   twilio       Twilio's Messages API, credentials from the environment
 *
 * Sending never waits on the network: an SMS is queued and its HTTP
 * attempts run on the server's event loop, retried with exponential backoff
 * on network errors, timeouts, 429 and 5xx. Nothing here logs an SMS's
 * body (it holds the code), the webhook secret or the Twilio token; phone
 * numbers are logged as their last 4 digits.
 */
#ifndef THERAPY_SMS_H
#define THERAPY_SMS_H

#include <stddef.h>

#include "config.h"

struct event_base;

typedef struct therapy_sms_sender therapy_sms_sender;

typedef struct therapy_sms_opts {
    int retry_base_ms; /* first backoff (default 1000; tests use ~50) */
    int max_tries;     /* per SMS (default 6) */
    int timeout_ms;    /* per HTTP attempt (default 10000) */
    int max_queue;     /* SMS waiting or in flight (default 1000) */
} therapy_sms_opts;

/* spec: "file:PATH", "webhook:URL" (http:// or https://), "twilio"; NULL or "" = none.
 * cfg gives sms_webhook_secret, sms_twilio_url, sms_ca_file.
 * opts may be NULL (defaults; a field <= 0 takes its default). NULL + err on a bad spec
 * (unknown kind, empty path, webhook without --sms-webhook-secret, twilio without
 * TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID)
 * in the environment, unwritable file, bad URL, unreadable CA file). */
therapy_sms_sender *therapy_sms_sender_new(struct event_base *base, const sb_config *cfg,
                                           const char *spec, const therapy_sms_opts *opts,
                                           char *err, size_t err_size);
/* Queue one SMS and return at once: never blocks the event loop on the network.
 * 0 queued (or written, for file:), -1 refused (queue full, no sender, write failed,
 * a number that is not E.164, a body empty or over 1600 bytes). to is E.164. */
int therapy_sms_sender_send(therapy_sms_sender *s, const char *to, const char *body);
/* "file", "webhook", "twilio" or "none" */
const char *therapy_sms_sender_kind(const therapy_sms_sender *s);
/* SMS waiting for an attempt or in flight (always 0 for file: and none) */
size_t therapy_sms_sender_pending(const therapy_sms_sender *s);
/* Drops what is pending (each logged as sms_dropped and counted as failed). */
void therapy_sms_sender_free(therapy_sms_sender *s);
/* A phone number as logs show it: "***" and its last 4 digits, into out. */
const char *therapy_sms_mask(char out[16], const char *to);

#endif
