/*
 * benchutil.h: what every load generator of bench/ shares: its messages
 * (prefixed with its name), the stop flag its signal handler sets, and a
 * monotonic clock. Each program sets bench_prog (and, if it has no --help,
 * bench_usage_hint) first thing in main.
 */
#ifndef SB_BENCHUTIL_H
#define SB_BENCHUTIL_H

#include <signal.h>
#include <stdint.h>

#define BENCH_PRINTF_LIKE __attribute__((format(printf, 1, 2)))

extern const char *bench_prog;       /* "dashload": the prefix of every message */
extern const char *bench_usage_hint; /* after a usage error: "see --help" by default */
extern volatile sig_atomic_t g_stop; /* set by on_signal */

/* SIGINT/SIGTERM handler: sets g_stop. */
void on_signal(int sig);
/* "PROG: message" on stderr. */
BENCH_PRINTF_LIKE void say(const char *fmt, ...);
/* A check failed: "PROG: FAILED: message", exit 1. */
BENCH_PRINTF_LIKE _Noreturn void fail(const char *fmt, ...);
/* "PROG: message (HINT)", exit 2. */
BENCH_PRINTF_LIKE _Noreturn void usage_error(const char *fmt, ...);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t now_ns(void);

#endif
