/*
 * test_generated.c: runs the schema-derived cases (generated/tests/cases.c)
 * and the random round-trip property against the generated C codecs.
 *
 *  - every case: parse the input with the target's parser; an SB_OK case must
 *    write back exactly its canonical output, an error case must fail with
 *    the expected code and path (the error message starts with "PATH: ").
 *  - every message and union: ROUNDS random valid instances; each is written,
 *    parsed back and written again, and the two texts must be equal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"
#include "random_gen.h"
#include "registry.h"

#define ROUNDS 300

typedef struct target {
    size_t size;
    sb_parse_fn parse;
    sb_write_fn write;
} target;

static target find_target(const char *name)
{
    const char *colon = strchr(name, ':');
    if (colon) {
        char channel[64];
        size_t n = (size_t)(colon - name);
        assert_true(n < sizeof channel);
        memcpy(channel, name, n);
        channel[n] = '\0';
        const sb_union_info *u = sb_union_find(channel, colon + 1);
        assert_non_null(u);
        return (target){u->size, u->parse, u->write};
    }
    const sb_message_info *m = sb_message_find(name);
    if (!m)
        fail_msg("no message %s in the registry", name);
    return (target){m->size, m->parse, m->write};
}

static int run_case(const sb_case *c, sb_arena *arena, sb_buf *out, char *why, size_t why_size)
{
    target t = find_target(c->target);
    void *msg = calloc(1, t.size);
    sb_reader r;
    sb_arena_reset(arena);
    sb_reader_init(&r, c->input, c->input_len, arena, NULL);
    bool ok = sb_parse_document(&r, t.parse, msg);
    int failed = 0;
    if (c->expect == SB_OK) {
        if (!ok) {
            snprintf(why, why_size, "expected success, got %s: %s", sb_json_err_name(r.err),
                     r.err_msg);
            failed = 1;
        } else {
            sb_buf_reset(out);
            t.write(out, msg);
            if (out->len != c->output_len || memcmp(out->data, c->output, out->len) != 0) {
                snprintf(why, why_size, "wrote\n      %.*s\n    expected\n      %s", (int)out->len,
                         out->data, c->output);
                failed = 1;
            }
        }
    } else if (ok) {
        snprintf(why, why_size, "expected %s at %s, but it parsed", sb_json_err_name(c->expect),
                 c->path ? c->path : "?");
        failed = 1;
    } else if (r.err != c->expect) {
        snprintf(why, why_size, "expected %s, got %s: %s", sb_json_err_name(c->expect),
                 sb_json_err_name(r.err), r.err_msg);
        failed = 1;
    } else if (c->path) {
        size_t n = strlen(c->path);
        if (strncmp(r.err_msg, c->path, n) != 0 || strncmp(r.err_msg + n, ": ", 2) != 0) {
            snprintf(why, why_size, "expected path %s, got: %s", c->path, r.err_msg);
            failed = 1;
        }
    }
    free(msg);
    return failed;
}

static void test_schema_cases(void **state)
{
    (void)state;
    sb_arena arena;
    sb_buf out;
    char why[4096];
    size_t failures = 0;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    sb_buf_init(&out);
    for (size_t i = 0; i < sb_cases_count; i++) {
        if (run_case(&sb_cases[i], &arena, &out, why, sizeof why)) {
            failures++;
            print_error("FAIL %s [%s]\n    input: %.*s\n    %s\n", sb_cases[i].name,
                        sb_cases[i].target,
                        (int)(sb_cases[i].input_len > 300 ? 300 : sb_cases[i].input_len),
                        sb_cases[i].input, why);
        }
    }
    print_message("schema cases: %zu run, %zu failed\n", sb_cases_count, failures);
    sb_buf_free(&out);
    sb_arena_free(&arena);
    assert_int_equal(failures, 0);
}

static void test_random_round_trip(void **state)
{
    (void)state;
    sb_arena gen_arena, parse_arena;
    sb_buf first, second;
    sb_rand g;
    size_t failures = 0, total = 0;
    sb_arena_init(&gen_arena, 0);
    sb_arena_init(&parse_arena, 0);
    sb_buf_init(&first);
    sb_buf_init(&second);
    sb_rand_seed(&g, 20261122);
    for (size_t i = 0; i < sb_random_table_count; i++) {
        const sb_random_info *ri = &sb_random_table[i];
        target t = find_target(ri->name);
        void *a = calloc(1, t.size), *b = calloc(1, t.size);
        for (int round = 0; round < ROUNDS; round++) {
            sb_arena_reset(&gen_arena);
            sb_arena_reset(&parse_arena);
            ri->random(&g, &gen_arena, a);
            sb_buf_reset(&first);
            t.write(&first, a);
            sb_reader r;
            sb_reader_init(&r, first.data, first.len, &parse_arena, NULL);
            total++;
            if (!sb_parse_document(&r, t.parse, b)) {
                if (failures++ < 10)
                    print_error("FAIL %s round %d: wrote %.*s\n  which does not parse: %s\n",
                                ri->name, round, (int)first.len, first.data, r.err_msg);
                continue;
            }
            sb_buf_reset(&second);
            t.write(&second, b);
            if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
                if (failures++ < 10)
                    print_error("FAIL %s round %d:\n  first  %.*s\n  second %.*s\n", ri->name,
                                round, (int)first.len, first.data, (int)second.len, second.data);
            }
        }
        free(a);
        free(b);
    }
    print_message("random round trips: %zu run, %zu failed\n", total, failures);
    sb_buf_free(&first);
    sb_buf_free(&second);
    sb_arena_free(&gen_arena);
    sb_arena_free(&parse_arena);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_cases),
        cmocka_unit_test(test_random_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
