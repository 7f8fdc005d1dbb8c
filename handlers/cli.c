/*
 * cli.c: `switchboard schema` and `switchboard validate`, over the generated
 * registry. validate parses exactly as the server does (same generated
 * parser, same limits) and prints what the generated writer makes of it;
 * validate --batch does the same for every line of its input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "registry.h"

int cli_schema(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs("usage: switchboard schema\n", stderr);
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
