/*
 * cli.c: `switchboard schema` and `switchboard validate`, over the generated
 * registry. validate parses exactly as the server does (same generated
 * parser, same limits) and prints what the generated writer makes of it;
 * validate --batch does the same for every line of its input.
 * `switchboard schema diff|snapshot|compat` run the generator's
 * generator/diff.lua (docs/schema.md, "Compatibility: schema diff and
 * versions") with the Lua the build found.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "registry.h"

/* The Lua interpreter and generator/ the build was configured with
 * (CMakeLists.txt); SB_LUA and SB_GENERATOR_DIR override them. */
#ifndef SB_LUA_DEFAULT
#define SB_LUA_DEFAULT "lua5.4"
#endif
#ifndef SB_GENERATOR_DIR_DEFAULT
#define SB_GENERATOR_DIR_DEFAULT "generator"
#endif

/* switchboard schema diff|snapshot|compat ARGS: exec lua generator/diff.lua. */
static int schema_lua(int argc, char **argv)
{
    const char *lua = getenv("SB_LUA");
    const char *dir = getenv("SB_GENERATOR_DIR");
    if (!lua || !*lua)
        lua = SB_LUA_DEFAULT;
    if (!dir || !*dir)
        dir = SB_GENERATOR_DIR_DEFAULT;
    char script[4096];
    int n = snprintf(script, sizeof script, "%s/diff.lua", dir);
    if (n < 0 || (size_t)n >= sizeof script) {
        fputs("switchboard schema: SB_GENERATOR_DIR is too long\n", stderr);
        return 2;
    }
    if (access(script, R_OK) != 0) {
        fprintf(stderr,
                "switchboard schema %s: %s: %s (it needs the source tree; set SB_GENERATOR_DIR)\n",
                argv[0], script, strerror(errno));
        return 2;
    }
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args) {
        fputs("switchboard schema: out of memory\n", stderr);
        return 2;
    }
    args[0] = (char *)lua;
    args[1] = script;
    for (int i = 0; i < argc; i++)
        args[i + 2] = argv[i];
    fflush(stdout);
    execvp(lua, args);
    fprintf(stderr, "switchboard schema %s: cannot run %s: %s (it needs lua5.4; set SB_LUA)\n",
            argv[0], lua, strerror(errno));
    free(args);
    return 2;
}

int cli_schema(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "diff") == 0 || strcmp(argv[1], "snapshot") == 0 ||
                      strcmp(argv[1], "compat") == 0))
        return schema_lua(argc - 1, argv + 1);
    if (argc != 1) {
        fputs("usage: switchboard schema\n"
              "       switchboard schema diff OLD NEW\n"
              "       switchboard schema snapshot [DIR]\n"
              "       switchboard schema compat [DIR]\n",
              stderr);
        return 2;
    }
    for (size_t i = 0; i < sb_messages_count; i++) {
        const sb_message_info *m = &sb_messages[i];
        if (m->disc_key)
            printf("%s\t%s\t%s\t%s=%s\n", m->name, m->channel, m->dir, m->disc_key, m->disc_value);
        else
            printf("%s\t%s\t%s\t-\n", m->name, m->channel, m->dir);
    }
    return 0;
}

/* Reads all of `f` into a malloc'd buffer, up to `limit` + 1 bytes so that
 * the reader can report the size limit itself. NULL on a read error. */
static char *read_all(FILE *f, size_t limit, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t want = cap - n;
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want)
            break;
        if (n > limit)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            return NULL;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

typedef struct target {
    size_t size;
    sb_parse_fn parse;
    sb_write_fn write;
} target;

static int find_target(const char *name, target *t)
{
    const char *colon = strchr(name, ':');
    if (colon) {
        char channel[64];
        size_t n = (size_t)(colon - name);
        if (n >= sizeof channel)
            return -1;
        memcpy(channel, name, n);
        channel[n] = '\0';
        const sb_union_info *u = sb_union_find(channel, colon + 1);
        if (!u)
            return -1;
        *t = (target){u->size, u->parse, u->write};
        return 0;
    }
    const sb_message_info *m = sb_message_find(name);
    if (!m)
        return -1;
    *t = (target){m->size, m->parse, m->write};
    return 0;
}

/* One document through the target's parser; the verdict goes to `out` (the
 * canonical form) or `err` ("error: PATH: REASON"), each ending in '\n'.
 * 0 accepted, 1 refused, 2 out of memory writing it. */
static int validate_one(const target *t, const char *buf, size_t len, sb_arena *arena,
                        const char *ok_prefix, FILE *out, FILE *err)
{
    void *msg = calloc(1, t->size);
    sb_reader r;
    sb_reader_init(&r, buf, len, arena, NULL);
    int rc;
    if (msg && sb_parse_document(&r, t->parse, msg)) {
        sb_buf b;
        sb_buf_init(&b);
        t->write(&b, msg);
        sb_buf_putc(&b, '\n');
        rc = b.oom ? 2 : 0;
        if (rc == 0) {
            fputs(ok_prefix, out);
            fwrite(b.data, 1, b.len, out);
        }
        sb_buf_free(&b);
    } else {
        fprintf(err, "error: %s\n", msg ? r.err_msg : "out of memory");
        rc = 1;
    }
    free(msg);
    return rc;
}

/* --batch: one document per input line (the '\n' ends it and is not part of
 * it), one verdict per output line, in order: "ok CANONICAL" or
 * "error: PATH: REASON". For tests that run thousands of documents
 * (tests/exports/differential.test.mjs). A document that holds a raw newline
 * cannot be sent this way. Exit 0 once every line has a verdict. */
static int validate_batch(const target *t, FILE *f)
{
    sb_arena arena;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        sb_arena_reset(&arena);
        if (validate_one(t, line, len, &arena, "ok ", stdout, stdout) == 2) {
            rc = 2;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fputs("switchboard: read error\n", stderr);
        rc = 2;
    }
    free(line);
    sb_arena_free(&arena);
    return rc;
}

int cli_validate(int argc, char **argv)
{
    bool batch = argc >= 2 && strcmp(argv[1], "--batch") == 0;
    if (batch) {
        argc--;
        argv++;
    }
    if (argc < 2 || argc > 3) {
        fputs("usage: switchboard validate [--batch] TARGET [FILE|-]\n", stderr);
        return 2;
    }
    target t;
    if (find_target(argv[1], &t) != 0) {
        fprintf(stderr, "switchboard: unknown target '%s' (see `switchboard schema`)\n", argv[1]);
        return 2;
    }
    const char *path = argc == 3 ? argv[2] : "-";
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "switchboard: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (batch) {
        int rc = validate_batch(&t, f);
        if (f != stdin)
            fclose(f);
        return rc;
    }
    size_t len = 0;
    char *buf = read_all(f, sb_json_default_limits.max_input, &len);
    if (f != stdin)
        fclose(f);
    if (!buf) {
        fprintf(stderr, "switchboard: %s: read error\n", path);
        return 2;
    }

    sb_arena arena;
    sb_arena_init(&arena, SB_ARENA_DEFAULT_LIMIT);
    int rc = validate_one(&t, buf, len, &arena, "", stdout, stderr);
    sb_arena_free(&arena);
    free(buf);
    return rc;
}
