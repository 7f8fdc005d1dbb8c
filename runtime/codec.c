/*
 * codec.c: checks shared by every generated parser, and registry look-ups.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"

bool sb_check_str(sb_reader *r, sb_str s, size_t min, size_t max)
{
    if (s.len > max)
        return sb_fail(r, SB_ERR_TOO_LONG, "longer than %zu bytes", max);
    if (s.len < min)
        return sb_fail(r, SB_ERR_TOO_LONG, "shorter than %zu bytes", min);
    return true;
}

static bool digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static int num2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* The profile of ISO 8601 that RFC 3339 defines, which is what the seed
 * documents show ("2023-08-02T21:47:56.697Z"). Day-of-month is checked
 * against 31 only: a calendar check belongs to whoever uses the date. */
bool sb_is_iso8601(sb_str s)
{
    const char *p = s.ptr;
    size_t n = s.len, i;
    if (n < 20 || !digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' ||
        !digits(p + 8, 2) || p[10] != 'T' || !digits(p + 11, 2) || p[13] != ':' ||
        !digits(p + 14, 2) || p[16] != ':' || !digits(p + 17, 2))
        return false;
    if (num2(p + 5) < 1 || num2(p + 5) > 12 || num2(p + 8) < 1 || num2(p + 8) > 31 ||
        num2(p + 11) > 23 || num2(p + 14) > 59 || num2(p + 17) > 60)
        return false;
    i = 19;
    if (p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i + 1 == n && p[i] == 'Z')
        return true;
    if (i + 6 == n && (p[i] == '+' || p[i] == '-') && digits(p + i + 1, 2) && p[i + 3] == ':' &&
        digits(p + i + 4, 2))
        return num2(p + i + 1) <= 23 && num2(p + i + 4) <= 59;
    return false;
}

bool sb_check_iso8601(sb_reader *r, sb_str s)
{
    if (!sb_is_iso8601(s))
        return sb_fail(r, SB_ERR_FORMAT, "expected an ISO-8601 timestamp");
    return true;
}

bool sb_check_pattern(sb_reader *r, sb_str s, const sb_pattern *p)
{
    if (!sb_pattern_match(p, s.ptr, s.len))
        return sb_fail(r, SB_ERR_FORMAT, "does not match pattern %s", p->source);
    return true;
}

bool sb_check_uri(sb_reader *r, sb_str s)
{
    if (!sb_is_uri(s.ptr, s.len))
        return sb_fail(r, SB_ERR_FORMAT, "expected a URI");
    return true;
}

bool sb_check_email(sb_reader *r, sb_str s)
{
    if (!sb_is_email(s.ptr, s.len))
        return sb_fail(r, SB_ERR_FORMAT, "expected an email address");
    return true;
}

bool sb_check_int(sb_reader *r, int64_t v, int64_t min, int64_t max)
{
    if (v < min || v > max)
        return sb_fail(r, SB_ERR_RANGE, "out of range");
    return true;
}

bool sb_check_double(sb_reader *r, double v, bool has_min, double min, bool has_max, double max)
{
    if ((has_min && v < min) || (has_max && v > max))
        return sb_fail(r, SB_ERR_RANGE, "out of range");
    return true;
}

bool sb_read_literal(sb_reader *r, const char *lit, size_t len)
{
    sb_str s;
    if (!sb_read_string(r, &s))
        return false;
    if (s.len != len || memcmp(s.ptr, lit, len) != 0)
        return sb_fail(r, SB_ERR_LITERAL, "expected \"%s\"", lit);
    return true;
}

bool sb_array_grow(sb_reader *r, void **items, size_t *cap, size_t elem_size)
{
    size_t new_cap = *cap ? *cap * 2 : 4;
    void *p = sb_arena_alloc(r->arena, new_cap * elem_size);
    if (!p)
        return sb_fail(r, SB_ERR_MEMORY, "message needs more memory than the arena limit");
    if (*cap)
        memcpy(p, *items, *cap * elem_size);
    *items = p;
    *cap = new_cap;
    return true;
}

bool sb_unknown_field(sb_reader *r, sb_str key, bool reject)
{
    sb_str ignored;
    if (reject) {
        sb_path_push_key(r, key.ptr, key.len);
        return sb_fail(r, SB_ERR_UNKNOWN_FIELD, "unknown field");
    }
    return sb_read_any(r, &ignored);
}

bool sb_missing_field(sb_reader *r, const char *name, size_t len)
{
    sb_path_push_key(r, name, len);
    return sb_fail(r, SB_ERR_MISSING, "missing required field");
}

sb_str sb_str_copy(sb_arena *a, sb_str s)
{
    if (!s.ptr)
        return s;
    char *p = sb_arena_alloc(a, s.len + 1);
    if (!p)
        return (sb_str){"", 0};
    memcpy(p, s.ptr, s.len);
    return (sb_str){p, s.len};
}

void sb_write_any(sb_buf *b, sb_str raw)
{
    if (raw.len == 0)
        sb_write_null(b);
    else if (!sb_write_minified(b, raw))
        sb_write_null(b);
}

int sb_union_begin(sb_reader *r, const char *key, size_t key_len, sb_str *tag)
{
    sb_str first;
    int found;
    *tag = (sb_str){NULL, 0};
    /* Fastest path: compact '{"key":"' right at the cursor. */
    const char *p = r->p;
    if (SB_LIKELY((size_t)(r->end - p) > key_len + 4 && p[0] == '{' && p[1] == '"' &&
                  memcmp(p + 2, key, key_len) == 0 && p[2 + key_len] == '"' &&
                  p[3 + key_len] == ':' && p[4 + key_len] == '"' && r->err == SB_OK &&
                  r->depth < r->limits.max_depth)) {
        r->depth++;
        r->p = p + 4 + key_len;
        return sb_read_string(r, tag) ? SB_UNION_AT_FIELDS : 0;
    }
    if (sb_peek(r) != '{')
        return sb_read_object_begin(r); /* fails: expected object */
    /* Fast path: our writers put the discriminator first, and so do most
     * clients: read it once, and the member goes on from here. */
    const char *start = r->p;
    int depth = r->depth;
    if (!sb_read_object_begin(r) || (found = sb_read_object_next(r, &first)) < 0)
        return 0;
    if (found == 1 && first.len == key_len && memcmp(first.ptr, key, key_len) == 0 &&
        sb_peek(r) == '"')
        return sb_read_string(r, tag) ? SB_UNION_AT_FIELDS : 0;
    /* It comes later (or is not a string): look ahead for it, from '{'. */
    r->p = start;
    r->depth = depth;
    found = sb_find_discriminator(r, key, key_len, tag);
    if (found < 0)
        return 0;
    if (found == 0) {
        sb_path_push_key(r, key, key_len);
        return sb_fail(r, SB_ERR_NO_DISCRIMINATOR, "missing discriminator");
    }
    return SB_UNION_AT_OBJECT;
}

/* The unknown tag as the message shows it: at most 64 bytes, cut on a
 * character boundary, control bytes as \xNN (as render_key does for paths).
 * The message is one line: `switchboard validate --batch` prints one verdict
 * per line, and logs are read by lines. */
bool sb_union_unknown(sb_reader *r, const char *key, size_t key_len, sb_str tag)
{
    sb_path_push_key(r, key, key_len);
    const unsigned char *t = (const unsigned char *)tag.ptr;
    size_t len = tag.len > 64 ? 64 : tag.len;
    while (len < tag.len && len > 0 && (t[len] & 0xC0) == 0x80)
        len--;
    char shown[64 * 4 + 1];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] < 0x20 || t[i] == 0x7F)
            n += (size_t)snprintf(shown + n, sizeof shown - n, "\\x%02X", t[i]);
        else
            shown[n++] = (char)t[i];
    }
    shown[n] = '\0';
    return sb_fail(r, SB_ERR_UNKNOWN_DISCRIMINATOR, "unknown value \"%s\"", shown);
}

bool sb_parse_document(sb_reader *r, sb_parse_fn parse, void *out)
{
    return parse(r, out) && sb_read_end(r);
}

const char *sb_query_get(const sb_query *q, const char *key)
{
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->item[i].key, key) == 0)
            return q->item[i].value;
    return NULL;
}

bool sb_text_int64(sb_reader *r, const char *text, int64_t *out)
{
    const char *p = text;
    bool neg = *p == '-';
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (neg)
        p++;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1]))
        return sb_fail(r, SB_ERR_TYPE, "expected integer");
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return sb_fail(r, SB_ERR_TYPE, "expected integer");
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return sb_fail(r, SB_ERR_RANGE, "integer out of range");
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

bool sb_text_bool(sb_reader *r, const char *text, bool *out)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        *out = true;
    else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        *out = false;
    else
        return sb_fail(r, SB_ERR_TYPE, "expected true or false");
    return true;
}
