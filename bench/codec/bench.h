/*
 * bench.h: what the parts of the codec benchmark share.
 *
 * The benchmark compares the generated chat codecs with three DOM libraries
 * (cJSON, jansson, json-c) doing the same work on the same bytes. Each
 * reference library lives in its own file (ref_cjson.c, ref_jansson.c,
 * ref_jsonc.c) behind the ref_lib table below; the field-by-field code that
 * reads a DOM into our structs and builds a DOM from them is written once
 * (ref_extract.h, ref_build.h) and instantiated per library, so the three
 * do exactly the same checks in the same order.
 *
 * Every implementation fills the SAME C structs (chat_in, chat_out from
 * generated/c/chat.h). That is what makes the comparison checkable: before
 * anything is timed, each library's result is written back with our writer
 * and compared byte for byte with ours (bench_codec.c, verify_*).
 */
#ifndef SB_BENCH_H
#define SB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"

typedef enum msg_dir { DIR_IN, DIR_OUT } msg_dir;

/* One message of either direction, as the generated codecs see it. */
typedef struct bench_msg {
    msg_dir dir;
    union {
        chat_in in;
        chat_out out;
    } u;
} bench_msg;

/* A set of messages, each its own buffer: message i is data[off[i]] for
 * len[i] bytes and is followed by a NUL that is not part of it (cJSON's
 * "nothing after the value" check needs one; no one else reads it). */
typedef struct corpus {
    const char *name;
    char *data;
    size_t size, cap;
    size_t *off, *len;
    msg_dir *dir;
    size_t count, count_cap;
    size_t bytes; /* sum of len[] */
} corpus;

void corpus_init(corpus *c, const char *name);
void corpus_free(corpus *c);
void corpus_add(corpus *c, const char *msg, size_t len, msg_dir dir);
/* Every *.json in dir, in name order, trailing whitespace dropped; the
 * direction is decided by the caller (bench_codec.c tries both parsers). */
bool corpus_load_dir(corpus *c, const char *dir, size_t *n_loaded);
/* The synthetic chat log (corpus.c): n send_message actions as clients send
 * them, or n new_message events as our server writes them. */
void corpus_gen_send_message(corpus *c, size_t n, uint64_t seed);
void corpus_gen_new_message(corpus *c, size_t n, uint64_t seed);

/* Keeps results alive: the compiler cannot drop work whose result reaches
 * these (they live in another translation unit, and there is no LTO). */
void bench_consume(const bench_msg *m);
void bench_consume_text(const char *p, size_t n);

/* Moves every string of *m into *pool (NUL-terminated, in field order) and
 * advances *pool (relocate.c). A message needs at most 2 * its length + 64
 * bytes of pool: decoded strings are never longer than their JSON form and
 * each takes one NUL more. */
void bench_relocate(bench_msg *m, char **pool);

/* Our writer for either direction (the canonical text of a message). */
void bench_write(sb_buf *b, const bench_msg *m);

/* How a reference library turns a DOM into text. */
typedef enum print_how {
    PRINT_ALLOC, /* the library's usual call, returning a fresh string */
    PRINT_REUSE, /* into a caller's buffer reused for every message */
} print_how;

typedef struct ref_lib {
    const char *name;             /* "cJSON" */
    const char *(*version)(void); /* run-time version string */
    const char *parse_call;       /* the calls used, for the report */
    const char *print_alloc_call;
    const char *print_reuse_call; /* NULL: the library has no such call */
    void (*init)(void);
    void (*fini)(void);
    /* Parse buf[0..len) to a DOM, read it into *m (m->dir is set by the
     * caller), hand *m to bench_consume, append our writer's text of *m to
     * echo when echo is not NULL, and free the DOM. validate: also check
     * what the schema requires (see ref_extract.h). */
    bool (*parse)(const char *buf, size_t len, bool validate, bench_msg *m, sb_buf *echo);
    /* Parse and read (validating) like parse, but keep the DOM and return it:
     * *m then points into it until free_dom. Used once, outside timing, to
     * get NUL-terminated copies of every string for the write benchmarks. */
    void *(*parse_keep)(const char *buf, size_t len, bench_msg *m);
    /* A DOM of *m (whose strings must be NUL-terminated). */
    void *(*build)(const bench_msg *m);
    /* Serialise compactly, hand the text to bench_consume_text, append it to
     * echo when not NULL, release the text; returns its length (0: failed). */
    size_t (*print)(void *dom, print_how how, sb_buf *echo);
    void (*free_dom)(void *dom);
} ref_lib;

extern const ref_lib ref_cjson;
extern const ref_lib ref_jansson;
extern const ref_lib ref_jsonc;
/* Parse only (On-Demand has no DOM to print): build, print, parse_keep and
 * free_dom are NULL. Built when CMake finds simdjson (SB_BENCH_SIMDJSON). */
extern const ref_lib ref_simdjson;

#endif
