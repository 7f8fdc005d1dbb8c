/*
 * test_json_suite.c: the reader against JSONTestSuite's test_parsing corpus.
 *
 * y_ files must be accepted, n_ files rejected; i_ files (implementation
 * defined) must only return, and each outcome is printed. Every accepted
 * file is also minified and validated again, and every rejected one must be
 * refused by the minifier too.
 *
 * The corpus directory is argv[1], else SB_JSONTESTSUITE_DIR (set by CMake).
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

#include "json.h"

#ifndef SB_JSONTESTSUITE_DIR
#define SB_JSONTESTSUITE_DIR "../shared/JSONTestSuite"
#endif

static const char *suite_dir = SB_JSONTESTSUITE_DIR;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    *len = 0;
    char *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(data, cap *= 2);
            if (!bigger) {
                free(data);
                data = NULL;
            }
            data = bigger;
        }
    }
    fclose(f);
    *len = n;
    return data;
}

/* Minify an accepted document and validate the result again. */
static void check_round_trip(const char *name, const char *data, size_t len)
{
    sb_buf b;
    char msg[SB_ERR_MSG_MAX];
    sb_buf_init(&b);
    if (!sb_write_minified(&b, (sb_str){data, len}))
        fail_msg("%s: accepted but not minified", name);
    if (!sb_json_validate(b.data, b.len, NULL, NULL, msg, sizeof msg))
        fail_msg("%s: minified form rejected: %s", name, msg);
    sb_buf_free(&b);
}

static void test_suite(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/test_parsing", suite_dir);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (pass the JSONTestSuite directory as argv[1])", dir);
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strlen(e->d_name) < 7 || e->d_name[1] != '_' || !strstr(e->d_name, ".json"))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 512;
            names = realloc(names, cap * sizeof *names);
            assert_non_null(names);
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, compare_names);

    int y_total = 0, y_ok = 0, n_total = 0, n_ok = 0, i_total = 0, i_acc = 0, i_rej = 0;
    int failures = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = names[i];
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len = 0;
        char *data = read_file(path, &len);
        if (!data)
            fail_msg("cannot read %s", path);
        sb_json_err err;
        char msg[SB_ERR_MSG_MAX];
        bool ok = sb_json_validate(data, len, NULL, &err, msg, sizeof msg);
        sb_buf b;
        sb_buf_init(&b);
        bool minified = sb_write_minified(&b, (sb_str){data, len});
        sb_buf_free(&b);
        if (ok)
            check_round_trip(name, data, len);
        else if (minified && name[0] != 'i') /* i_ may differ by limits */
            fail_msg("%s: rejected (%s) yet minified", name, msg);
        switch (name[0]) {
        case 'y':
            y_total++;
            y_ok += ok;
            if (!ok) {
                print_error("FAIL %s rejected: [%s] %s\n", name, sb_json_err_name(err), msg);
                failures++;
            }
            break;
        case 'n':
            n_total++;
            n_ok += !ok;
            if (ok) {
                print_error("FAIL %s accepted\n", name);
                failures++;
            }
            break;
        default:
            i_total++;
            i_acc += ok;
            i_rej += !ok;
            print_message("%-45s %s%s%s\n", name,
                          ok ? "accepted" : "rejected: ", ok ? "" : sb_json_err_name(err), "");
            break;
        }
        free(data);
        free(names[i]);
    }
    free(names);
    print_message("JSONTestSuite: y %d/%d accepted, n %d/%d rejected, i %d (accepted %d, "
                  "rejected %d)\n",
                  y_ok, y_total, n_ok, n_total, i_total, i_acc, i_rej);
    assert_int_equal(failures, 0);
    assert_true(y_total > 0 && n_total > 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        suite_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
