/*
 * sms_tool.c: drives one SMS sender (handlers/therapy_sms.c) the way the
 * server would, for tests/therapy/sms_senders.test.mjs.
 *
 *   sms_tool --sms SPEC [server flags: --sms-webhook-secret, --sms-twilio-url,
 *            --sms-ca-file, ...] --to +1555... --body TEXT [--count N]
 *            [--retry-base-ms N] [--max-tries N] [--timeout-ms N] [--max-queue N]
 *            [--deadline-ms N] [--free-after-ms N]
 *
 * The server's flags and variables (SB_SMS, SB_SMS_WEBHOOK_SECRET, ...) are
 * read by the server's own parser, and the sender reads TWILIO_* from the
 * environment itself, so a test configures both exactly as a deployment
 * would. The sender's log lines go to stderr as the server's do; stdout gets
 * one line per send ("queued n=1 rc=0") and a last line with the outcome
 * ("done kind=webhook sent=1 failed=0 retried=2 pending=0 ms=123"), the
 * counts from the sender's metrics. Exit 0 after a run, 2 when the sender
 * cannot be made (the reason on stderr as "error: ...").
 *
 * --free-after-ms frees the sender after that long even with SMS pending
 * (attempts in flight are dropped: a check for use after free).
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "metrics.h"
#include "therapy_sms.h"

typedef struct run {
    struct event_base *base;
    therapy_sms_sender *s;
    int64_t deadline_ms; /* monotonic */
    int64_t free_at_ms;  /* monotonic; 0: never */
} run;

static void tick(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    int64_t now = sb_mono_ms();
    if (therapy_sms_sender_pending(r->s) == 0 || now >= r->deadline_ms ||
        (r->free_at_ms && now >= r->free_at_ms))
        event_base_loopexit(r->base, NULL);
}

static uint64_t counter(const char *name, const char *kind)
{
    char labels[32];
    snprintf(labels, sizeof labels, "sender=\"%s\"", kind);
    return sb_counter_value(sb_counter_get(name, NULL, labels));
}

static int usage(void)
{
    fprintf(stderr, "usage: sms_tool --sms SPEC [server flags] --to E164 --body TEXT [--count N]\n"
                    "  [--retry-base-ms N] [--max-tries N] [--timeout-ms N] [--max-queue N]\n"
                    "  [--deadline-ms N] [--free-after-ms N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *to = NULL, *body = NULL;
    int count = 1, deadline_ms = 30000, free_after_ms = 0;
    therapy_sms_opts opts = {0};
    /* the tool's own flags out; the rest to the server's parser */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return 2;
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = strcmp(a, "--count") == 0           ? &count
                   : strcmp(a, "--retry-base-ms") == 0 ? &opts.retry_base_ms
                   : strcmp(a, "--max-tries") == 0     ? &opts.max_tries
                   : strcmp(a, "--timeout-ms") == 0    ? &opts.timeout_ms
                   : strcmp(a, "--max-queue") == 0     ? &opts.max_queue
                   : strcmp(a, "--deadline-ms") == 0   ? &deadline_ms
                   : strcmp(a, "--free-after-ms") == 0 ? &free_after_ms
                                                       : NULL;
        if (num || strcmp(a, "--to") == 0 || strcmp(a, "--body") == 0) {
            if (!v) {
                free(rest);
                return usage();
            }
            if (num)
                *num = atoi(v);
            else if (strcmp(a, "--to") == 0)
                to = v;
            else
                body = v;
            i++;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    sb_config cfg;
    char err[512];
    int rc = sb_config_parse(&cfg, nrest, rest, err, sizeof err);
    free(rest);
    if (rc != 0 || !to || !body) {
        if (rc < 0)
            fprintf(stderr, "error: %s\n", err);
        return rc < 0 ? 2 : usage();
    }

    struct event_base *base = event_base_new();
    therapy_sms_sender *s = therapy_sms_sender_new(base, &cfg, cfg.sms, &opts, err, sizeof err);
    if (!s) {
        fprintf(stderr, "error: %s\n", err);
        event_base_free(base);
        return 2;
    }
    int64_t t0 = sb_mono_ms();
    for (int i = 1; i <= count; i++) {
        rc = therapy_sms_sender_send(s, to, body);
        printf("queued n=%d rc=%d\n", i, rc);
    }
    fflush(stdout);
    run r = {base, s, t0 + deadline_ms, free_after_ms > 0 ? t0 + free_after_ms : 0};
    struct event *t = event_new(base, -1, EV_PERSIST, tick, &r);
    struct timeval every = {0, 10 * 1000};
    event_add(t, &every);
    if (therapy_sms_sender_pending(s) > 0)
        event_base_dispatch(base);
    event_free(t);
    const char *kind = therapy_sms_sender_kind(s);
    size_t pending = therapy_sms_sender_pending(s);
    therapy_sms_sender_free(s); /* drops (and counts as failed) what is left */
    printf("done kind=%s sent=%llu failed=%llu retried=%llu pending=%zu ms=%lld\n", kind,
           (unsigned long long)counter("switchboard_sms_sent_total", kind),
           (unsigned long long)counter("switchboard_sms_failed_total", kind),
           (unsigned long long)counter("switchboard_sms_retries_total", kind), pending,
           (long long)(sb_mono_ms() - t0));
    event_base_free(base);
    sb_metrics_reset_all_for_tests();
    return 0;
}
