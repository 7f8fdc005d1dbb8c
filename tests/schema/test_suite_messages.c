/*
 * test_suite_messages.c: JSONTestSuite (../shared/JSONTestSuite) through the
 * generated codecs, not just the bare reader (tests/unit/test_json_suite.c
 * does that):
 *
 *  - through an `any` field: each file becomes the `data` of a realtime
 *    REQUEST. Every y_ file must parse (and write back valid JSON), every n_
 *    file must fail, every i_ file must return without a crash.
 *  - as a whole message: each file goes to every channel's unions. n_ files
 *    must fail, and sb_json_validate() (what the server asks on an error, to
 *    tell "not JSON" from "not this message") must call them not JSON; y_
 *    files may fail (they are not our messages) but never as a syntax error.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "realtime.h"
#include "registry.h"

#ifndef SB_JSONTESTSUITE_DIR
#error "SB_JSONTESTSUITE_DIR must be defined"
#endif

typedef struct suite_file {
    char name[256];
    char *data;
    size_t len;
} suite_file;

static suite_file *files;
static size_t nfiles;

static int load_suite(void **state)
{
    (void)state;
    const char *dir = SB_JSONTESTSUITE_DIR "/test_parsing";
    DIR *d = opendir(dir);
    if (!d) {
        print_error("cannot open %s\n", dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof files[0].name)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        files = realloc(files, (nfiles + 1) * sizeof *files);
        suite_file *sf = &files[nfiles++];
        snprintf(sf->name, sizeof sf->name, "%s", e->d_name);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        sf->data = malloc((size_t)n + 1);
        sf->len = fread(sf->data, 1, (size_t)n, f);
        fclose(f);
    }
    closedir(d);
    return nfiles > 300 ? 0 : -1;
}

static int free_suite(void **state)
{
    (void)state;
    for (size_t i = 0; i < nfiles; i++)
        free(files[i].data);
    free(files);
    return 0;
}

static void test_through_any_field(void **state)
{
    (void)state;
    static const char head[] =
        "{\"type\":\"REQUEST\",\"requestId\":\"r\",\"action\":\"a\",\"data\":";
    size_t y = 0, y_ok = 0, n = 0, n_rejected = 0, i_total = 0, i_ok = 0;
    sb_arena arena;
    sb_buf out;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    sb_buf_init(&out);
    for (size_t k = 0; k < nfiles; k++) {
        const suite_file *f = &files[k];
        size_t len = sizeof head - 1 + f->len + 1;
        char *doc = malloc(len);
        memcpy(doc, head, sizeof head - 1);
        memcpy(doc + sizeof head - 1, f->data, f->len);
        doc[len - 1] = '}';
        sb_reader r;
        realtime_in msg;
        sb_arena_reset(&arena);
        sb_reader_init(&r, doc, len, &arena, NULL);
        bool ok = sb_parse_document(&r, sb_union_find("realtime", "in")->parse, &msg);
        if (ok) {
            /* what we write back must itself be valid */
            sb_buf_reset(&out);
            realtime_in_write(&out, &msg);
            sb_json_err err;
            char why[256];
            if (!sb_json_validate(out.data, out.len, NULL, &err, why, sizeof why))
                fail_msg("%s: wrote invalid JSON: %s", f->name, why);
        }
        switch (f->name[0]) {
        case 'y':
            y++;
            if (ok)
                y_ok++;
            else
                print_error("y_ rejected through any: %s: %s\n", f->name, r.err_msg);
            break;
        case 'n':
            n++;
            if (!ok)
                n_rejected++;
            else
                print_error("n_ accepted through any: %s\n", f->name);
            break;
        default:
            i_total++;
            i_ok += ok;
            break;
        }
        free(doc);
    }
    print_message("JSONTestSuite through an any field: y %zu/%zu accepted, n %zu/%zu rejected, "
                  "i %zu (accepted %zu, rejected %zu)\n",
                  y_ok, y, n_rejected, n, i_total, i_ok, i_total - i_ok);
    sb_buf_free(&out);
    sb_arena_free(&arena);
    assert_int_equal(y_ok, y);
    assert_int_equal(n_rejected, n);
}

static void test_as_whole_messages(void **state)
{
    (void)state;
    size_t runs = 0, bad = 0;
    sb_arena arena;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    for (size_t k = 0; k < nfiles; k++) {
        const suite_file *f = &files[k];
        for (size_t u = 0; u < sb_unions_count; u++) {
            void *msg = calloc(1, sb_unions[u].size);
            sb_reader r;
            sb_arena_reset(&arena);
            sb_reader_init(&r, f->data, f->len, &arena, NULL);
            bool ok = sb_parse_document(&r, sb_unions[u].parse, msg);
            runs++;
            if (f->name[0] == 'n' && ok) {
                print_error("n_ accepted as %s:%s: %s\n", sb_unions[u].channel, sb_unions[u].dir,
                            f->name);
                bad++;
            }
            if (f->name[0] == 'y' && !ok && r.err == SB_ERR_SYNTAX) {
                print_error("y_ called a syntax error as %s:%s: %s: %s\n", sb_unions[u].channel,
                            sb_unions[u].dir, f->name, r.err_msg);
                bad++;
            }
            free(msg);
        }
        if (f->name[0] == 'n') {
            sb_json_err err;
            char why[256];
            if (sb_json_validate(f->data, f->len, NULL, &err, why, sizeof why)) {
                print_error("n_ not classified as invalid JSON: %s\n", f->name);
                bad++;
            }
        }
    }
    print_message("JSONTestSuite as whole messages: %zu parses over %zu unions, %zu wrong\n", runs,
                  sb_unions_count, bad);
    sb_arena_free(&arena);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_through_any_field),
        cmocka_unit_test(test_as_whole_messages),
    };
    return cmocka_run_group_tests(tests, load_suite, free_suite);
}
