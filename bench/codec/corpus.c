/*
 * corpus.c: the benchmark's inputs. The seed examples are read from disk;
 * the synthetic chat log is made here from a seeded PRNG, so the same seed
 * gives the same bytes on every machine.
 *
 * The log imitates real traffic rather than a best case:
 *  - message texts of 10 to 400 bytes (uniform), of words drawn from a small
 *    vocabulary; 60% of texts are plain ASCII, the rest carry non-ASCII
 *    UTF-8 (accents, Cyrillic, CJK, emoji) and/or characters JSON must
 *    escape (newlines, tabs, quotes, backslashes);
 *  - send_message as clients send it: optional and null fields in the
 *    combinations the schema allows, and 15% of messages written the way
 *    ensure_ascii encoders (Python's json, many Java ones) write them, with
 *    every non-ASCII character as a \uXXXX escape (surrogate pairs for
 *    emoji), which the parser must decode;
 *  - new_message as our server writes it (compact, raw UTF-8, fields in the
 *    writer's order), with UUIDs for ids, a sender object most of the time
 *    and Unix timestamps.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- the container ----------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "bench_codec: out of memory\n");
        exit(2);
    }
    return q;
}

void corpus_init(corpus *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->name = name;
}

void corpus_free(corpus *c)
{
    free(c->data);
    free(c->off);
    free(c->len);
    free(c->dir);
    corpus_init(c, c->name);
}

void corpus_add(corpus *c, const char *msg, size_t len, msg_dir dir)
{
    if (c->count == c->count_cap) {
        c->count_cap = c->count_cap ? c->count_cap * 2 : 64;
        c->off = xrealloc(c->off, c->count_cap * sizeof *c->off);
        c->len = xrealloc(c->len, c->count_cap * sizeof *c->len);
        c->dir = xrealloc(c->dir, c->count_cap * sizeof *c->dir);
    }
    if (c->size + len + 1 > c->cap) {
        while (c->size + len + 1 > c->cap)
            c->cap = c->cap ? c->cap * 2 : 1 << 16;
        c->data = xrealloc(c->data, c->cap);
    }
    memcpy(c->data + c->size, msg, len);
    c->data[c->size + len] = '\0';
    c->off[c->count] = c->size;
    c->len[c->count] = len;
    c->dir[c->count] = dir;
    c->count++;
    c->size += len + 1;
    c->bytes += len;
}

static int json_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

bool corpus_load_dir(corpus *c, const char *dir, size_t *n_loaded)
{
    struct dirent **names;
    int n = scandir(dir, &names, json_file, alphasort);
    if (n < 0)
        return false;
    bool ok = true;
    *n_loaded = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            ok = false;
        } else {
            char *buf = NULL;
            size_t len = 0, cap = 0, got;
            do {
                if (len == cap) {
                    cap = cap ? cap * 2 : 4096;
                    buf = xrealloc(buf, cap);
                }
                got = fread(buf + len, 1, cap - len, f);
                len += got;
            } while (got > 0);
            fclose(f);
            while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                               buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                len--;
            corpus_add(c, buf, len, DIR_IN); /* direction set by the caller */
            free(buf);
            (*n_loaded)++;
        }
        free(names[i]);
    }
    free(names);
    return ok;
}

/* ---- randomness -------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

/* splitmix64: tiny, fast, and good enough to pick words. */
static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability pct percent. */
static bool chance(rng *r, uint32_t pct)
{
    return below(r, 100) < pct;
}

/* ---- text -------------------------------------------------------------- */

static const char *const ascii_words[] = {
    "hi",       "hello",    "ok",       "thanks",
    "the",      "a",        "to",       "is",
    "on",       "my",       "way",      "I",
    "will",     "be",       "there",    "in",
    "minutes",  "can",      "you",      "send",
    "photo",    "of",       "meter",    "please",
    "confirm",  "address",  "door",     "code",
    "invoice",  "attached", "tomorrow", "morning",
    "at",       "9am",      "sorry",    "running",
    "late",     "traffic",  "parts",    "arrived",
    "replaced", "filter",   "pump",     "leak",
    "fixed",    "customer", "not",      "home",
    "call",     "me",       "when",     "ready",
    "job",      "done",     "see",      "soon",
    "great",    "perfect",  "yes",      "no",
    "maybe",    "check",    "ticket",   "#4521",
    "price",    "$120",     "warranty", "covers",
    "it",       "building", "B,",       "floor",
    "3",        "ring",     "twice",    "https://example.com/t/8f3a",
};

static const char *const utf8_words[] = {
    "café",   "naïve",   "über", "Grüße",  "señor", "mañana", "façade",     "déjà",       "vu",
    "привет", "спасибо", "да",   "日本語", "你好",  "谢谢",   "こんにちは", "안녕하세요", "😀",
    "👍",      "🔧",       "✅",    "€45",    "—",     "…",      "“ok”",
};

/* Decoded texts that JSON must escape. */
static const char *const escape_words[] = {
    "\n", "\"ok\"", "C:\\temp", "\t", "line1\nline2", "say \"hi\"", "a\\b", "\n\n",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A message text (raw UTF-8, decoded) into t. */
static void make_text(rng *r, sb_buf *t)
{
    size_t target = 10 + below(r, 391);
    uint32_t utf8_pct = 0, escape_pct = 0;
    uint32_t style = below(r, 100);
    if (style >= 60 && style < 85) {
        utf8_pct = 15;
    } else if (style >= 85 && style < 95) {
        escape_pct = 10;
    } else if (style >= 95) {
        utf8_pct = 15;
        escape_pct = 10;
    }
    sb_buf_reset(t);
    while (t->len < target) {
        const char *w;
        uint32_t k = below(r, 100);
        if (k < utf8_pct)
            w = utf8_words[below(r, COUNT(utf8_words))];
        else if (k < utf8_pct + escape_pct)
            w = escape_words[below(r, COUNT(escape_words))];
        else
            w = ascii_words[below(r, COUNT(ascii_words))];
        if (t->len > 0)
            sb_buf_putc(t, ' ');
        sb_buf_put(t, w, strlen(w));
    }
    /* At most 400 bytes, cut on a character boundary. */
    if (t->len > 400) {
        size_t n = 400;
        while (n > 0 && ((unsigned char)t->data[n] & 0xC0) == 0x80)
            n--;
        t->len = n;
    }
}

/* The code point of the UTF-8 sequence at p (valid by construction). */
static unsigned long utf8_decode(const unsigned char *p, size_t *n)
{
    if (p[0] < 0xE0) {
        *n = 2;
        return (unsigned long)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    }
    if (p[0] < 0xF0) {
        *n = 3;
        return (unsigned long)(p[0] & 0x0F) << 12 | (unsigned long)(p[1] & 0x3F) << 6 |
               (p[2] & 0x3F);
    }
    *n = 4;
    return (unsigned long)(p[0] & 0x07) << 18 | (unsigned long)(p[1] & 0x3F) << 12 |
           (unsigned long)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
}

/* s as a JSON string. ascii_only: every non-ASCII character as \uXXXX. */
static void put_json_string(sb_buf *b, const char *s, size_t len, bool ascii_only)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    char esc[32]; /* room for any unsigned long the compiler imagines (-O0 cannot bound cp) */
    sb_buf_putc(b, '"');
    while (p < end) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            sb_buf_putc(b, '\\');
            sb_buf_putc(b, (char)c);
            p++;
        } else if (c == '\n') {
            SB_BUF_PUT_LIT(b, "\\n");
            p++;
        } else if (c == '\t') {
            SB_BUF_PUT_LIT(b, "\\t");
            p++;
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_buf_put(b, esc, 6);
            p++;
        } else if (c >= 0x80 && ascii_only) {
            size_t n;
            unsigned long cp = utf8_decode(p, &n);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                snprintf(esc, sizeof esc, "\\u%04lx\\u%04lx", 0xD800 + ((cp >> 10) & 0x3FF),
                         0xDC00 + (cp & 0x3FF));
                sb_buf_put(b, esc, 12);
            } else {
                snprintf(esc, sizeof esc, "\\u%04lx", cp);
                sb_buf_put(b, esc, 6);
            }
            p += n;
        } else {
            sb_buf_putc(b, (char)c);
            p++;
        }
    }
    sb_buf_putc(b, '"');
}

static void put_lit(sb_buf *b, const char *s)
{
    sb_buf_put(b, s, strlen(s));
}

/* A random UUID (version 4 layout), without quotes. */
static void put_uuid_raw(rng *r, sb_buf *b)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t hi = rng_next(r), lo = rng_next(r);
    char u[36];
    int k = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            u[k++] = '-';
        unsigned nib = i < 16 ? (unsigned)(hi >> (60 - 4 * i)) & 15
                              : (unsigned)(lo >> (60 - 4 * (i - 16))) & 15;
        if (i == 12)
            nib = 4;
        u[k++] = hex[nib];
    }
    sb_buf_put(b, u, (size_t)k);
}

static void put_uuid(rng *r, sb_buf *b)
{
    sb_buf_putc(b, '"');
    put_uuid_raw(r, b);
    sb_buf_putc(b, '"');
}

/* "key":UUID, "key":null, or nothing, with the given percentages. */
static void put_opt_uuid(rng *r, sb_buf *b, const char *key, uint32_t set_pct, uint32_t null_pct)
{
    uint32_t k = below(r, 100);
    if (k >= set_pct + null_pct)
        return;
    sb_buf_putc(b, ',');
    put_lit(b, key);
    if (k < set_pct)
        put_uuid(r, b);
    else
        put_lit(b, "null");
}

static const char *const names[] = {
    "John Doe",          "Maria Garcia",  "José Álvarez", "Zoë Müller",
    "Олег Петров",       "李伟",          "Aisha Khan",   "Tom O'Brien",
    "Søren Kierkegaard", "Nguyễn Văn An", "Emma Johnson", "Lucas Martin",
};

static const char *const roles[] = {"TECHNICIAN", "TECHNICIAN", "TECHNICIAN", "ADMIN",
                                    "SUPER_ADMIN"};

/* ---- the two message kinds --------------------------------------------- */

void corpus_gen_send_message(corpus *c, size_t n, uint64_t seed)
{
    rng r = {seed ^ 0x53454E44ULL};
    sb_buf m, t;
    sb_buf_init(&m);
    sb_buf_init(&t);
    for (size_t i = 0; i < n; i++) {
        bool ascii_only = chance(&r, 15);
        bool has_text = chance(&r, 95);
        sb_buf_reset(&m);
        put_lit(&m, "{\"action\":\"send_message\"");
        if (chance(&r, 85)) {
            put_lit(&m, ",\"room_id\":");
            put_uuid(&r, &m);
        } else {
            if (chance(&r, 50))
                put_lit(&m, ",\"room_id\":null");
            put_lit(&m, ",\"receiver_id\":");
            put_uuid(&r, &m);
        }
        put_opt_uuid(&r, &m, "\"service_id\":", 35, 25);
        put_lit(&m, ",\"text\":");
        if (has_text) {
            make_text(&r, &t);
            put_json_string(&m, t.data, t.len, ascii_only);
        } else {
            put_lit(&m, "null");
        }
        if (has_text)
            put_opt_uuid(&r, &m, "\"file_id\":", 10, 30);
        else
            put_opt_uuid(&r, &m, "\"file_id\":", 100, 0);
        put_opt_uuid(&r, &m, "\"replied_to_id\":", 12, 30);
        if (chance(&r, 75)) {
            put_lit(&m, ",\"client_message_id\":");
            put_uuid(&r, &m);
        }
        sb_buf_putc(&m, '}');
        corpus_add(c, m.data, m.len, DIR_IN);
    }
    sb_buf_free(&m);
    sb_buf_free(&t);
}

void corpus_gen_new_message(corpus *c, size_t n, uint64_t seed)
{
    rng r = {seed ^ 0x4E45574DULL};
    sb_buf m, t;
    char num[32];
    sb_buf_init(&m);
    sb_buf_init(&t);
    for (size_t i = 0; i < n; i++) {
        bool system = chance(&r, 2);
        bool has_text = system || chance(&r, 95);
        sb_buf_reset(&m);
        put_lit(&m, "{\"type\":\"new_message\",\"data\":{\"room_id\":");
        put_uuid(&r, &m);
        put_lit(&m, ",\"service_id\":");
        if (chance(&r, 40))
            put_uuid(&r, &m);
        else
            put_lit(&m, "null");
        put_lit(&m, ",\"message\":{\"id\":");
        put_uuid(&r, &m);
        put_lit(&m, chance(&r, 50) ? ",\"is_sent\":true" : ",\"is_sent\":false");
        put_lit(&m, ",\"text\":");
        if (system) {
            put_lit(&m, "\"Service status changed to IN_PROGRESS\"");
        } else if (has_text) {
            make_text(&r, &t);
            put_json_string(&m, t.data, t.len, false);
        } else {
            put_lit(&m, "null");
        }
        put_lit(&m, ",\"file_id\":");
        if (!has_text || chance(&r, 10))
            put_uuid(&r, &m);
        else
            put_lit(&m, "null");
        put_lit(&m, ",\"replied_from_id\":");
        if (chance(&r, 12))
            put_uuid(&r, &m);
        else
            put_lit(&m, "null");
        put_lit(&m, system ? ",\"is_system_message\":true" : ",\"is_system_message\":false");
        snprintf(num, sizeof num, ",\"timestamp\":%llu",
                 (unsigned long long)(1697059200u + i * 7 + below(&r, 7)));
        put_lit(&m, num);
        put_lit(&m, ",\"sender\":");
        if (system) {
            put_lit(&m, "null");
        } else {
            const char *name = names[below(&r, COUNT(names))];
            put_lit(&m, "{\"id\":");
            put_uuid(&r, &m);
            put_lit(&m, ",\"full_name\":");
            put_json_string(&m, name, strlen(name), false);
            put_lit(&m, ",\"avatar\":");
            if (chance(&r, 80)) {
                put_lit(&m, "\"https://cdn.example.com/avatars/");
                put_uuid_raw(&r, &m);
                put_lit(&m, ".jpg\"");
            } else {
                put_lit(&m, "null");
            }
            put_lit(&m, ",\"role\":\"");
            put_lit(&m, roles[below(&r, COUNT(roles))]);
            put_lit(&m, "\"}");
        }
        if (chance(&r, 60)) {
            put_lit(&m, ",\"client_message_id\":");
            put_uuid(&r, &m);
        }
        put_lit(&m, "}}}");
        corpus_add(c, m.data, m.len, DIR_OUT);
    }
    sb_buf_free(&m);
    sb_buf_free(&t);
}
