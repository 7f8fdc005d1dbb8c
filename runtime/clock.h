/*
 * clock.h: the monotonic clock, in microseconds, for every timeout, rate
 * and duration in the runtime (never the wall clock: it jumps); and the wall
 * clock in milliseconds, for times that are stored or shown.
 */
#ifndef SB_CLOCK_H
#define SB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t sb_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t sb_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic clock in milliseconds: in-memory expiries. */
static inline int64_t sb_mono_ms(void)
{
    return sb_mono_us() / 1000;
}

#endif
