/*
 * therapy_sms.h: how login codes leave the server: --sms file:PATH,
 * webhook:URL or twilio (docs/sms.md). Sends never block the event loop.
 */
#ifndef SB_THERAPY_SMS_H
#define SB_THERAPY_SMS_H

#include <stddef.h>

#include "config.h"

struct event_base;
typedef struct therapy_sms_sender therapy_sms_sender;
typedef struct therapy_sms_opts {
    int retry_base_ms; /* first backoff (default 1000) */
    int max_tries;     /* per SMS (default 6) */
    int timeout_ms;    /* per HTTP attempt (default 10000) */
    int max_queue;     /* SMS waiting or in flight (default 1000) */
} therapy_sms_opts;

/* spec: "file:PATH", "webhook:URL", "twilio"; NULL or "" = none. NULL and
 * err on a bad spec. opts may be NULL (defaults). */
therapy_sms_sender *therapy_sms_sender_new(struct event_base *base, const sb_config *cfg,
                                           const char *spec, const therapy_sms_opts *opts,
                                           char *err, size_t err_size);
/* Queue one SMS and return at once. 0 queued (or written), -1 refused. */
int therapy_sms_sender_send(therapy_sms_sender *s, const char *to, const char *body);
const char *therapy_sms_sender_kind(const therapy_sms_sender *s);
size_t therapy_sms_sender_pending(const therapy_sms_sender *s);
void therapy_sms_sender_free(therapy_sms_sender *s);

#endif
