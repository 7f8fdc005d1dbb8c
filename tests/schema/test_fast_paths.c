/*
 * test_fast_paths.c: the generated parsers' fast paths against their general
 * path, on the same messages.
 *
 * A generated parser first tries its fields in schema order, each key as one
 * compact literal (sb_key_p, with the cursor in a local), and a union first
 * tries '{"key":"value"' of each member (sb_union_tag_at); anything else
 * falls through to the general member loop. Our writer's output takes the
 * fast paths all the way; the same message re-serialised with spaces, with
 * every object's members reversed, or with escaped keys takes the general
 * path. Both must give the same struct (compared through the writer), and
 * a duplicated or missing member must give the same error, code and
 * "PATH: REASON", either way.
 *
 * The messages are random valid instances (tests/support/rand.c), seeded:
 * a failure names its seed and the two documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chat.h"
#include "rand.h"
#include "random_gen.h"

enum {
    M_SPACE = 1,   /* a space after '{', '[', ':' and ',' */
    M_REVERSE = 2, /* every object's members in reverse order */
    M_ESCKEY = 4,  /* every key's first byte as a \u00XX escape */
    M_COLON = 8,   /* a space after ':' only: fast keys, values after whitespace */
};

/* A top-level edit besides the mode: none, repeat the first or the last
 * member (at once after itself / at the end), or drop member `drop`. */
typedef enum edit { E_NONE, E_DUP_FIRST, E_DUP_LAST, E_DROP } edit;

#define MAX_MEMBERS 64

static void put_key(sb_buf *out, sb_str key, int mode)
{
    if (!(mode & M_ESCKEY) || key.len == 0) {
        sb_write_string(out, key);
        return;
    }
    /* keys of our schemas are ASCII identifiers: the rest needs no escape */
    char esc[8];
    snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)key.ptr[0]);
    sb_buf_putc(out, '"');
    sb_buf_put(out, esc, 6);
    sb_buf_put(out, key.ptr + 1, key.len - 1);
    sb_buf_putc(out, '"');
}

/* Re-serialises the valid JSON value json[0..len) into out. */
static void reshape(sb_buf *out, const char *json, size_t len, int mode, edit ed, size_t drop)
{
    sb_reader r;
    sb_arena a;
    sb_arena_init(&a, 0);
    sb_reader_init(&r, json, len, &a, NULL);
    const char *sp = (mode & M_SPACE) ? " " : "";
    char kind = sb_peek(&r);
    if (kind == '{') {
        sb_str keys[MAX_MEMBERS], vals[MAX_MEMBERS];
        size_t n = 0;
        assert_true(sb_read_object_begin(&r));
        int rc;
        while ((rc = sb_read_object_next(&r, &keys[n])) == 1) {
            assert_true(n < MAX_MEMBERS);
            assert_true(sb_read_any(&r, &vals[n]));
            n++;
        }
        assert_int_equal(rc, 0);
        size_t order[MAX_MEMBERS + 1], m = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = (mode & M_REVERSE) ? n - 1 - i : i;
            if (ed == E_DROP && k == drop)
                continue;
            order[m++] = k;
            if (ed == E_DUP_FIRST && i == 0)
                order[m++] = k;
        }
        if (ed == E_DUP_LAST && m > 0) {
            size_t last = order[m - 1];
            order[m++] = last;
        }
        sb_buf_putc(out, '{');
        sb_buf_put(out, sp, strlen(sp));
        for (size_t i = 0; i < m; i++) {
            if (i) {
                sb_buf_putc(out, ',');
                sb_buf_put(out, sp, strlen(sp));
            }
            put_key(out, keys[order[i]], mode);
            sb_buf_putc(out, ':');
            if (mode & M_COLON)
                sb_buf_putc(out, ' ');
            else
                sb_buf_put(out, sp, strlen(sp));
            reshape(out, vals[order[i]].ptr, vals[order[i]].len, mode, E_NONE, 0);
        }
        sb_buf_putc(out, '}');
    } else if (kind == '[') {
        sb_str v;
        int rc, i = 0;
        assert_true(sb_read_array_begin(&r));
        sb_buf_putc(out, '[');
        sb_buf_put(out, sp, strlen(sp));
        while ((rc = sb_read_array_next(&r)) == 1) {
            assert_true(sb_read_any(&r, &v));
            if (i++) {
                sb_buf_putc(out, ',');
                sb_buf_put(out, sp, strlen(sp));
            }
            reshape(out, v.ptr, v.len, mode, E_NONE, 0);
        }
        assert_int_equal(rc, 0);
        sb_buf_putc(out, ']');
    } else {
        sb_str v;
        assert_true(sb_read_any(&r, &v));
        sb_buf_put(out, v.ptr, v.len);
    }
    sb_arena_free(&a);
}

/* The outcome of parsing one document: the writer's text of the struct, or
 * the error. */
typedef struct outcome {
    bool ok;
    sb_json_err err;
    char msg[SB_ERR_MSG_MAX];
    sb_buf text;
} outcome;

static void run(sb_parse_fn parse, sb_write_fn write, size_t size, const sb_buf *doc, outcome *o)
{
    sb_arena a;
    sb_arena_init(&a, 0);
    sb_reader r;
    void *m = test_malloc(size);
    sb_reader_init(&r, doc->data, doc->len, &a, NULL);
    o->ok = sb_parse_document(&r, parse, m);
    o->err = r.err;
    snprintf(o->msg, sizeof o->msg, "%s", r.err_msg);
    sb_buf_init(&o->text);
    if (o->ok)
        write(&o->text, m);
    test_free(m);
    sb_arena_free(&a);
}

static int checked; /* documents compared, for the summary line */

/* The canonical text of a message must read back the same through the
 * general path in every shape; an edited one must give the same outcome
 * through the fast and the general path. */
static void compare(const char *what, uint64_t seed, sb_parse_fn parse, sb_write_fn write,
                    size_t size, const sb_buf *canon, edit ed, size_t drop)
{
    static const int modes[] = {
        M_SPACE, M_REVERSE, M_ESCKEY, M_SPACE | M_REVERSE, M_REVERSE | M_ESCKEY, M_COLON};
    sb_buf fast;
    sb_buf_init(&fast);
    reshape(&fast, canon->data, canon->len, 0, ed, drop);
    outcome a;
    run(parse, write, size, &fast, &a);
    if (ed == E_NONE &&
        (!a.ok || a.text.len != canon->len || memcmp(a.text.data, canon->data, canon->len) != 0))
        fail_msg("%s seed %llu: the writer's own text does not read back: %s\n%.*s", what,
                 (unsigned long long)seed, a.msg, (int)canon->len, canon->data);
    if (ed == E_DUP_FIRST || ed == E_DUP_LAST) {
        if (a.ok || a.err != SB_ERR_DUPLICATE)
            fail_msg("%s seed %llu: a duplicated member was not refused (%s)\n%.*s", what,
                     (unsigned long long)seed, a.msg, (int)fast.len, fast.data);
    }
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        sb_buf slow;
        sb_buf_init(&slow);
        reshape(&slow, canon->data, canon->len, modes[k], ed, drop);
        outcome b;
        run(parse, write, size, &slow, &b);
        bool same = a.ok == b.ok && a.err == b.err;
        if (same && a.ok)
            same = a.text.len == b.text.len && memcmp(a.text.data, b.text.data, a.text.len) == 0;
        /* A reversed duplicate is found at the other copy's key: same code,
         * and the message may name the same member at another place only
         * when members were reordered. */
        if (same && !a.ok && !(modes[k] & M_REVERSE && ed != E_DROP))
            same = strcmp(a.msg, b.msg) == 0;
        if (!same)
            fail_msg("%s seed %llu mode %d edit %d/%zu: fast and general paths differ\n"
                     "fast:    %.*s\n  -> %s %s\ngeneral: %.*s\n  -> %s %s",
                     what, (unsigned long long)seed, modes[k], (int)ed, drop, (int)fast.len,
                     fast.data, a.ok ? "ok" : sb_json_err_name(a.err), a.msg, (int)slow.len,
                     slow.data, b.ok ? "ok" : sb_json_err_name(b.err), b.msg);
        sb_buf_free(&b.text);
        sb_buf_free(&slow);
        checked++;
    }
    sb_buf_free(&a.text);
    sb_buf_free(&fast);
}

/* Every edit of one canonical message. */
static void compare_all(const char *what, uint64_t seed, sb_parse_fn parse, sb_write_fn write,
                        size_t size, const sb_buf *canon)
{
    compare(what, seed, parse, write, size, canon, E_NONE, 0);
    compare(what, seed, parse, write, size, canon, E_DUP_FIRST, 0);
    compare(what, seed, parse, write, size, canon, E_DUP_LAST, 0);
    for (size_t i = 0; i < 12; i++)
        compare(what, seed, parse, write, size, canon, E_DROP, i);
}

static bool parse_in(sb_reader *r, void *m)
{
    return chat_in_parse(r, m);
}
static void write_in(sb_buf *b, const void *m)
{
    chat_in_write(b, m);
}
static bool parse_out(sb_reader *r, void *m)
{
    return chat_out_parse(r, m);
}
static void write_out(sb_buf *b, const void *m)
{
    chat_out_write(b, m);
}
static bool parse_msgs(sb_reader *r, void *m)
{
    return chat_messages_response_parse(r, m);
}
static void write_msgs(sb_buf *b, const void *m)
{
    chat_messages_response_write(b, m);
}

#define ROUNDS 300

static void test_chat_in(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= ROUNDS; seed++) {
        sb_rand g;
        sb_arena a;
        chat_in m;
        sb_buf canon;
        sb_rand_seed(&g, seed);
        sb_arena_init(&a, 0);
        chat_in_random(&g, &a, &m);
        sb_buf_init(&canon);
        chat_in_write(&canon, &m);
        compare_all("chat_in", seed, parse_in, write_in, sizeof(chat_in), &canon);
        sb_buf_free(&canon);
        sb_arena_free(&a);
    }
}

static void test_chat_out(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= ROUNDS; seed++) {
        sb_rand g;
        sb_arena a;
        chat_out m;
        sb_buf canon;
        sb_rand_seed(&g, seed);
        sb_arena_init(&a, 0);
        chat_out_random(&g, &a, &m);
        sb_buf_init(&canon);
        chat_out_write(&canon, &m);
        compare_all("chat_out", seed, parse_out, write_out, sizeof(chat_out), &canon);
        sb_buf_free(&canon);
        sb_arena_free(&a);
    }
}

/* Arrays of nested objects, each with its own fast path. */
static void test_chat_messages_response(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= ROUNDS / 3; seed++) {
        sb_rand g;
        sb_arena a;
        chat_messages_response m;
        sb_buf canon;
        sb_rand_seed(&g, seed);
        sb_arena_init(&a, 0);
        chat_messages_response_random(&g, &a, &m);
        sb_buf_init(&canon);
        chat_messages_response_write(&canon, &m);
        compare_all("chat_messages_response", seed, parse_msgs, write_msgs,
                    sizeof(chat_messages_response), &canon);
        sb_buf_free(&canon);
        sb_arena_free(&a);
    }
}

/* Hand-made cases at the edges of the fast paths. */
static void expect(sb_parse_fn parse, const char *json, sb_json_err err, const char *msg)
{
    sb_arena a;
    sb_arena_init(&a, 0);
    sb_reader r;
    chat_out m;
    sb_reader_init(&r, json, strlen(json), &a, NULL);
    bool ok = sb_parse_document(&r, parse, &m);
    if (err == SB_OK) {
        if (!ok)
            fail_msg("%s: %s", json, r.err_msg);
    } else {
        if (ok || r.err != err || strcmp(r.err_msg, msg) != 0)
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", json, ok ? "ok" : sb_json_err_name(r.err),
                     r.err_msg, sb_json_err_name(err), msg);
    }
    sb_arena_free(&a);
}

static void test_edges(void **state)
{
    (void)state;
    /* the union's literal must end at the value's closing quote */
    expect(parse_in, "{\"action\":\"heartbeat\"}", SB_OK, NULL);
    expect(parse_in, "{\"action\":\"heartbeatx\"}", SB_ERR_UNKNOWN_DISCRIMINATOR,
           "action: unknown value \"heartbeatx\"");
    expect(parse_in, "{\"action\":\"heartbeat\" }", SB_OK, NULL);
    expect(parse_in, "{\"action\":\"heartbeat\",}", SB_ERR_SYNTAX,
           "$: invalid JSON at byte 22: trailing comma");
    expect(parse_in, "{\"action\":\"heartbeat\"", SB_ERR_SYNTAX,
           "$: invalid JSON at byte 21: unexpected end of input");
    expect(parse_in, "{\"action\":\"heartbeat\",\"action\":\"heartbeat\"}", SB_ERR_DUPLICATE,
           "action: duplicate field");
    /* a key that is a prefix of the expected one, and one that extends it */
    expect(parse_in, "{\"action\":\"mark_read\",\"message\":\"x\"}", SB_ERR_UNKNOWN_FIELD,
           "message: unknown field");
    expect(parse_in, "{\"action\":\"mark_read\",\"message_idx\":\"x\"}", SB_ERR_UNKNOWN_FIELD,
           "message_idx: unknown field");
    /* integers of every length the eight-digit steps handle, and past them */
    expect(parse_out,
           "{\"type\":\"unread_message_count\",\"data\":{\"room_id\":\"r\",\"unread_count\":"
           "123456789012345}}"
           "                ",
           SB_OK, NULL);
    expect(parse_out,
           "{\"type\":\"unread_message_count\",\"data\":{\"room_id\":\"r\",\"unread_count\":"
           "12345678.5}}"
           "                ",
           SB_ERR_TYPE, "data.unread_count: expected integer");
    expect(parse_out,
           "{\"type\":\"unread_message_count\",\"data\":{\"room_id\":\"r\",\"unread_count\":1e3}}"
           "                ",
           SB_ERR_TYPE, "data.unread_count: expected integer");
    expect(parse_out,
           "{\"type\":\"unread_message_count\",\"data\":{\"room_id\":\"r\",\"unread_count\":0123}}"
           "                ",
           SB_ERR_SYNTAX,
           "data.unread_count: invalid JSON at byte 68: leading zeros are not allowed");
}

/* The eight-digit integer steps against the digit-by-digit path: every
 * length from 1 to 19 digits, with and without room for the 16-byte loads
 * after the number. */
static void test_int64_lengths(void **state)
{
    (void)state;
    const char *digits = "9223372036854775807";
    for (size_t n = 1; n <= 19; n++) {
        for (int pad = 0; pad < 2; pad++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.*s%s", (int)n, digits, pad ? "                " : "");
            int64_t want = 0;
            for (size_t i = 0; i < n; i++)
                want = want * 10 + (digits[i] - '0');
            sb_reader r;
            int64_t got = -1;
            sb_reader_init(&r, buf, strlen(buf), NULL, NULL);
            assert_true(sb_read_int64(&r, &got));
            assert_true(sb_read_end(&r));
            if (got != want)
                fail_msg("%s: %lld, want %lld", buf, (long long)got, (long long)want);
            snprintf(buf, sizeof buf, "-%.*s%s", (int)n, digits, pad ? "                " : "");
            sb_reader_init(&r, buf, strlen(buf), NULL, NULL);
            assert_true(sb_read_int64(&r, &got));
            assert_int_equal(got, -want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_in),
        cmocka_unit_test(test_chat_out),
        cmocka_unit_test(test_chat_messages_response),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_int64_lengths),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("# %d documents compared\n", checked);
    return rc;
}
