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

/* A wall-clock time (ms since the epoch, >= 0) as ISO-8601 UTC with
 * milliseconds, "2023-08-02T21:47:56.697Z", into buf. */
static inline const char *sb_iso8601_ms(char buf[32], int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    size_t n = 0;
    if (ms >= 0 && gmtime_r(&s, &tm))
        n = strftime(buf, 24, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0 || n > 19) {
        buf[0] = '\0';
        return buf;
    }
    unsigned frac = (unsigned)(ms % 1000);
    buf[n++] = '.';
    buf[n++] = (char)('0' + frac / 100);
    buf[n++] = (char)('0' + frac / 10 % 10);
    buf[n++] = (char)('0' + frac % 10);
    buf[n++] = 'Z';
    buf[n] = '\0';
    return buf;
}

#endif
