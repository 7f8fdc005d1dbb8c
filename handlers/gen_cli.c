/*
 * gen_cli.c: `switchboard gen ts DIR` writes the TypeScript client package
 * (package.json, the wire types, the typed clients: exactly the files of
 * generated/ts, embedded at build time by cmake/tspkg.cmake) under DIR, for
 * a frontend whose developers have the binary but not the repository.
 * Existing files of the same names are replaced; nothing else in DIR is touched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ts_pkg.h"

static int mkdir_p(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static int write_file(const char *dir, const struct ts_pkg_file *f)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, f->path);
    if (n < 0 || (size_t)n >= sizeof path)
        return -1;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (mkdir_p(path) != 0)
        return -1;
    *slash = '/';
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(f->data, 1, *f->len, fp);
    if (fclose(fp) != 0 || w != *f->len)
        return -1;
    return 0;
}

int cli_gen(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs("usage: switchboard gen ts DIR\n"
              "  writes the TypeScript client package (@switchboard/client: package.json,\n"
              "  types and typed clients, the files of generated/ts) under DIR\n",
              stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "ts") != 0) {
        fputs("usage: switchboard gen ts DIR\n", stderr);
        return 2;
    }
    const char *dir = argv[2];
    if (mkdir_p(dir) != 0) {
        fprintf(stderr, "switchboard gen ts: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < ts_pkg_count; i++) {
        if (write_file(dir, &ts_pkg_files[i]) != 0) {
            fprintf(stderr, "switchboard gen ts: cannot write %s/%s: %s\n", dir,
                    ts_pkg_files[i].path, strerror(errno));
            return 1;
        }
    }
    printf("%zu files written to %s\n", ts_pkg_count, dir);
    return 0;
}
