/*
 * log.c: logfmt lines, one write(2) each (see log.h for the line contract).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static sb_log_level min_level = SB_LOG_INFO;
static FILE *output; /* NULL: stderr, looked up at each write */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sb_log_set_level(sb_log_level min)
{
    min_level = min;
}

sb_log_level sb_log_get_level(void)
{
    return min_level;
}

sb_log_level sb_log_level_from(const char *name, bool *ok)
{
    for (int i = SB_LOG_DEBUG; i <= SB_LOG_ERROR; i++) {
        if (name && strcasecmp(name, level_names[i]) == 0) {
            if (ok)
                *ok = true;
            return (sb_log_level)i;
        }
    }
    if (ok)
        *ok = false;
    return SB_LOG_INFO;
}

const char *sb_log_level_name(sb_log_level lvl)
{
    if (lvl < SB_LOG_DEBUG || lvl > SB_LOG_ERROR)
        return "unknown";
    return level_names[lvl];
}

void sb_log_set_output(FILE *f)
{
    output = f;
}

/* ---- values ------------------------------------------------------------ */

static bool needs_quotes(const unsigned char *v, size_t len)
{
    if (len == 0)
        return true; /* key= with nothing after it reads as a bare key */
    for (size_t i = 0; i < len; i++)
        if (v[i] <= ' ' || v[i] == '"' || v[i] == '=' || v[i] == 0x7f)
            return true;
    return false;
}

/* The form of byte c inside quotes, into out; returns its length (1..6). */
static size_t escape_byte(unsigned char c, char out[6])
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"':
    case '\\':
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
    out[0] = (char)c;
    return 1;
}

static size_t quoted_len(const unsigned char *v, size_t len)
{
    char tmp[6];
    size_t q = 2;
    for (size_t i = 0; i < len; i++)
        q += escape_byte(v[i], tmp);
    return q;
}

/* Quote v[0..len) into dst, stopping before an escape that would pass
 * `limit` output bytes. Returns the output length; *used gets the bytes of
 * v consumed. */
static size_t put_quoted(char *dst, size_t limit, const unsigned char *v, size_t len, size_t *used)
{
    char tmp[6];
    size_t pos = 1, i;
    dst[0] = '"';
    for (i = 0; i < len; i++) {
        size_t e = escape_byte(v[i], tmp);
        if (pos + e > limit)
            break;
        memcpy(dst + pos, tmp, e);
        pos += e;
    }
    *used = i;
    return pos;
}

/* A value too long for dst: keep what fits, quoted, and end in `..."`. */
static const char *put_cut(char *dst, size_t n, const unsigned char *v, size_t len)
{
    size_t used, pos;
    if (n < SB_LOG_KV_MIN) {
        dst[0] = '\0';
        return dst;
    }
    pos = put_quoted(dst, n - 5, v, len, &used); /* room for ..." and NUL */
    /* Do not leave half a UTF-8 character: bytes >= 0x80 are copied one for
     * one, so backing up over them is backing up in the output too. */
    if (used < len && (v[used] & 0xC0) == 0x80) {
        while (used > 0 && (v[used - 1] & 0xC0) == 0x80) {
            used--;
            pos--;
        }
        if (used > 0 && v[used - 1] >= 0xC0) {
            used--;
            pos--;
        }
    }
    memcpy(dst + pos, "...\"", 5);
    return dst;
}

const char *sb_log_kv_strn(char *dst, size_t n, const char *value, size_t len)
{
    const unsigned char *v = (const unsigned char *)(value ? value : "");
    size_t used, pos;
    if (n == 0)
        return ""; /* still safe to print with %s */
    if (!value)
        len = 0;
    if (!needs_quotes(v, len)) {
        if (len >= n)
            return put_cut(dst, n, v, len);
        memcpy(dst, v, len);
        dst[len] = '\0';
        return dst;
    }
    if (quoted_len(v, len) + 1 > n)
        return put_cut(dst, n, v, len);
    pos = put_quoted(dst, n, v, len, &used);
    dst[pos++] = '"';
    dst[pos] = '\0';
    return dst;
}

const char *sb_log_kv_str(char *dst, size_t n, const char *value)
{
    return sb_log_kv_strn(dst, n, value, value ? strlen(value) : 0);
}

/* ---- lines ------------------------------------------------------------- */

#define TRUNCATED " truncated=true"

/* The line in line[0..len) did not fit. Cut it at the last space outside
 * quotes, so that only whole pairs remain (no half value, half escape or
 * half character), and say so. The prefix always has such a space. */
static size_t cut_line(char *line, size_t len)
{
    size_t room = SB_LOG_LINE_MAX - sizeof TRUNCATED; /* sizeof counts the newline's byte */
    size_t keep = len < room ? len : room;
    size_t cut = 0;
    bool quoted = false, escaped = false;
    for (size_t i = 0; i < keep; i++) {
        char c = line[i];
        if (escaped)
            escaped = false;
        else if (quoted && c == '\\')
            escaped = true;
        else if (c == '"')
            quoted = !quoted;
        else if (c == ' ' && !quoted)
            cut = i;
    }
    /* Also cut when the pair that ends at `keep` is whole. */
    if (!quoted && keep < len && line[keep] == ' ')
        cut = keep;
    memcpy(line + cut, TRUNCATED, sizeof TRUNCATED - 1);
    return cut + sizeof TRUNCATED - 1;
}

static void write_all(const char *p, size_t len)
{
    int fd = fileno(output ? output : stderr);
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        p += w;
        len -= (size_t)w;
    }
}

/* "ts=... level=... event=..." into line; returns its length. */
static size_t put_prefix(char *line, size_t n, sb_log_level lvl, const char *event)
{
    struct timespec now;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = (int)(now.tv_nsec / 1000000);
    const char *level = sb_log_level_name(lvl);
    int r =
        snprintf(line, n, "ts=%s.%03dZ level=%s event=%s", stamp, ms, level, event ? event : "-");
    return r < 0 ? 0 : (size_t)r < n ? (size_t)r : n - 1; /* an absurd event name is cut */
}

void sb_log(sb_log_level lvl, const char *event, const char *fmt, ...)
{
    /* +1: vsnprintf needs room for its NUL even when the line is full. */
    char line[SB_LOG_LINE_MAX + 1];
    size_t len;
    bool truncated = false;
    int saved_errno = errno; /* callers often log and then look at errno */

    if (lvl < min_level)
        return;
    len = put_prefix(line, sizeof line, lvl, event);
    if (fmt && len < sizeof line - 1) {
        va_list ap;
        va_start(ap, fmt);
        line[len] = ' ';
        int r = vsnprintf(line + len + 1, sizeof line - len - 1, fmt, ap);
        va_end(ap);
        if (r > 0) {
            truncated = (size_t)r >= sizeof line - len - 1;
            len = truncated ? sizeof line - 1 : len + 1 + (size_t)r;
        }
    }
    /* One byte is kept for the newline. */
    if (truncated || len > SB_LOG_LINE_MAX - 1)
        len = cut_line(line, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[len++] = '\n';
    write_all(line, len);
    errno = saved_errno;
}

/* ---- rate-limited lines ------------------------------------------------ */

bool sb_log_every(sb_log_every_state *st, int interval_ms, sb_log_level lvl, const char *event,
                  const char *fmt, ...)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (st->written && now_ms - st->last_ms < interval_ms) {
        st->pending++;
        return false;
    }
    unsigned long long count = st->pending + 1;
    st->written = true;
    st->last_ms = now_ms;
    st->pending = 0;
    if (lvl < min_level)
        return true;
    int saved_errno = errno;
    char pairs[SB_LOG_LINE_MAX] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pairs, sizeof pairs, fmt, ap);
        va_end(ap);
    }
    sb_log(lvl, event, "%s%scount=%llu", pairs, pairs[0] ? " " : "", count);
    errno = saved_errno;
    return true;
}
