/*
 * bucket.h: a token bucket, the shape of every rate limit here: `rate`
 * tokens a second flow in, at most `burst` are kept, and an action costs
 * some. A client that stays under the rate is never refused; one that bursts
 * may go over it for a moment, up to the burst.
 */
#ifndef SB_BUCKET_H
#define SB_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sb_bucket {
    double tokens;
    int64_t last_us; /* 0: new (full) */
} sb_bucket;

/* Take `cost` tokens at time now_us (monotonic): true when there were
 * enough (they are taken), false when not (nothing is taken). rate <= 0
 * means no limit. */
static inline bool sb_bucket_take(sb_bucket *b, double rate, double burst, double cost,
                                  int64_t now_us)
{
    if (rate <= 0)
        return true;
    if (b->last_us == 0) {
        b->tokens = burst;
    } else if (now_us > b->last_us) {
        b->tokens += rate * (double)(now_us - b->last_us) / 1e6;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->last_us = now_us;
    if (b->tokens < cost)
        return false;
    b->tokens -= cost;
    return true;
}

#endif
