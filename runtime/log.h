/*
 * log.h: structured log lines on stderr, one line per event, logfmt style:
 *
 *   ts=2026-11-22T01:02:03.123Z level=info event=listen addr=127.0.0.1 port=8080
 *
 * ts (UTC, milliseconds), level and event come first on every line; the
 * caller's format string supplies the remaining key=value pairs.
 *
 * A line is the unit of the log: it is built in one buffer and handed to one
 * write(2), so lines from several server processes sharing one stderr pipe
 * never interleave (a pipe write of at most PIPE_BUF bytes is atomic, which
 * is why SB_LOG_LINE_MAX is 4096). A longer line is cut and ends with
 * "truncated=true".
 *
 * Values that come from clients must pass through sb_log_kv_str(): it quotes
 * and escapes whatever could split a line, fake a key or end a quoted value.
 * As a last defence, sb_log() replaces any raw control byte left in the line
 * by '?', so a forgotten escape can garble a value but never forge a line.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { SB_LOG_DEBUG, SB_LOG_INFO, SB_LOG_WARN, SB_LOG_ERROR } sb_log_level;

#define SB_LOG_LINE_MAX 4096 /* bytes of one line, newline included */

/* Lines below `min` are dropped before any formatting. Default: info. */
void sb_log_set_level(sb_log_level min);
sb_log_level sb_log_get_level(void);

/* "debug", "info", "warn" or "error", any case. On an unknown name *ok is set
 * to false and SB_LOG_INFO is returned. ok may be NULL. */
sb_log_level sb_log_level_from(const char *name, bool *ok);
const char *sb_log_level_name(sb_log_level lvl); /* "info", ... */

/* Where lines go: the file's descriptor is written with write(2), bypassing
 * its stdio buffer. NULL means stderr (the default). For tests. */
void sb_log_set_output(FILE *f);

/* One line: ts, level, event, then fmt's pairs ("addr=%s port=%d"). fmt may
 * be NULL for an event with nothing more to say. */
void sb_log(sb_log_level lvl, const char *event, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Rate-limited lines, for events that can come in floods (connections
 * refused under a connection storm): at most one line per interval_ms for
 * each state, each line saying how many events it stands for.
 *
 *   static sb_log_every_state refused = SB_LOG_EVERY_INIT;
 *   sb_log_every(&refused, 1000, SB_LOG_WARN, "connections_refused", "max=%d", max);
 *
 * The first call writes its line at once. A call within interval_ms of the
 * last line written is only counted. The first call after that writes its
 * line with count=N appended: N is the events since the last line, this one
 * included (so the first line says count=1). Events that stop arriving
 * leave their count to the next line: keep an exact counter in /metrics
 * beside it. Returns true when a line was written (or would have been, below
 * the log level). A line too long is cut like any other and loses count.
 * The state belongs to one thread; tests may move last_ms back to pretend
 * that time has passed. */
typedef struct sb_log_every_state {
    bool written;               /* a line has been written */
    long long last_ms;          /* when, on CLOCK_MONOTONIC */
    unsigned long long pending; /* events since then, not written */
} sb_log_every_state;
#define SB_LOG_EVERY_INIT                                                                          \
    {                                                                                              \
        false, 0, 0                                                                                \
    }

bool sb_log_every(sb_log_every_state *st, int interval_ms, sb_log_level lvl, const char *event,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Smallest dst that can hold a cut value ("..." quoted, NUL). */
#define SB_LOG_KV_MIN 6

/* Format `value` as a logfmt value into dst (n bytes, always NUL-terminated)
 * and return dst, so that it can sit in an argument list:
 *
 *   char peer[64];
 *   sb_log(SB_LOG_INFO, "connect", "peer=%s", sb_log_kv_str(peer, sizeof peer, name));
 *
 * A value that is empty or holds a space, '"', '=' or a control byte is
 * quoted; inside quotes '"' and '\' are backslash-escaped, \n \r \t keep
 * their short forms and other control bytes become \u00XX. Other bytes,
 * UTF-8 included, are copied. A value that does not fit is cut at a
 * character boundary and written quoted, ending in `..."`; if n is below
 * SB_LOG_KV_MIN it is written as an empty string. NULL is written as "". */
const char *sb_log_kv_str(char *dst, size_t n, const char *value);

/* The same for a length-delimited value, which may hold NUL bytes. */
const char *sb_log_kv_strn(char *dst, size_t n, const char *value, size_t len);

#endif
