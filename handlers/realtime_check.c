/*
 * realtime_check.c: the HTTP session check (realtime_check.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "http_client.h"
#include "map.h"
#include "realtime_check.h"
#include "sha256.h"

typedef struct entry {
    unsigned char digest[32];
    bool allowed;
    int64_t expires_ms;
} entry;

typedef struct ask {
    realtime_check *k;
    uint64_t owner;
    unsigned char digest[32];
    realtime_check_fn fn; /* NULL once dropped */
    void *arg;
} ask;

struct realtime_check {
    realtime_app *app;
    sb_http_client *client;
    char url[512];
    sb_map cache; /* first 8 bytes of the digest -> entry */
    size_t n_cache;
};

#define CACHE_MAX 65536 /* entries; past it the cache is emptied */

static void digest_of(const char *token, const char *session, const char *artifact,
                      unsigned char out[32])
{
    sb_sha256_ctx c;
    sb_sha256_init(&c);
    sb_sha256_update(&c, token, strlen(token) + 1);
    sb_sha256_update(&c, session, strlen(session) + 1);
    if (artifact)
        sb_sha256_update(&c, artifact, strlen(artifact) + 1);
    sb_sha256_final(&c, out);
}

static int64_t key_of(const unsigned char d[32])
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | d[i];
    k &= 0x7fffffffffffffffull;
    return k ? (int64_t)k : 1;
}

realtime_check *realtime_check_new(struct event_base *base, realtime_app *app, const char *url,
                                   int timeout_ms)
{
    if (!url || !url[0])
        return NULL;
    realtime_check *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->app = app;
    snprintf(k->url, sizeof k->url, "%s", url);
    k->client = sb_http_client_new(base, 4, timeout_ms, 64 * 1024);
    sb_map_init(&k->cache);
    if (!k->client) {
        free(k);
        return NULL;
    }
    return k;
}

static void cache_clear(realtime_check *k)
{
    for (size_t i = 0; i < k->cache.cap; i++)
        if (k->cache.slots[i].key)
            free(k->cache.slots[i].value);
    sb_map_free(&k->cache);
    sb_map_init(&k->cache);
    k->n_cache = 0;
}

void realtime_check_free(realtime_check *k)
{
    if (!k)
        return;
    sb_http_client_free(k->client); /* the asks still pending end now, unanswered */
    cache_clear(k);
    free(k);
}

int realtime_check_cached(realtime_check *k, const char *token, const char *session,
                          const char *artifact)
{
    unsigned char d[32];
    digest_of(token, session, artifact, d);
    entry *e = sb_map_get(&k->cache, key_of(d));
    if (!e || memcmp(e->digest, d, sizeof d) != 0 || e->expires_ms <= sb_mono_ms())
        return -1;
    return e->allowed ? 1 : 0;
}

static void remember(realtime_check *k, const unsigned char d[32], bool allowed)
{
    if (k->n_cache >= CACHE_MAX)
        cache_clear(k);
    int64_t key = key_of(d);
    entry *e = sb_map_get(&k->cache, key);
    if (!e) {
        e = malloc(sizeof *e);
        if (!e || sb_map_put(&k->cache, key, e) != 0) {
            free(e);
            return;
        }
        k->n_cache++;
    }
    memcpy(e->digest, d, 32);
    e->allowed = allowed;
    e->expires_ms = sb_mono_ms() + (allowed ? REALTIME_CHECK_ALLOW_MS : REALTIME_CHECK_REFUSE_MS);
}

typedef struct result {
    ask *a;
    bool allowed;
    const char *why;
} result;

static void run_fn(struct sb_ctx *ctx, void *arg)
{
    result *r = arg;
    r->a->fn(ctx, r->a->arg, r->allowed, r->why);
}

static void answered(int status, const char *body, size_t len, const char *error, void *arg)
{
    (void)body;
    (void)len;
    ask *a = arg;
    realtime_check *k = a->k;
    bool allowed = status >= 200 && status < 300;
    char why[160];
    if (status == 0)
        snprintf(why, sizeof why, "the session check gave no answer (%s)", error ? error : "?");
    else
        snprintf(why, sizeof why, "the session check answered %d", status);
    if (status != 0) /* no answer is not an answer: not cached */
        remember(k, a->digest, allowed);
    if (a->fn) {
        result r = {a, allowed, why};
        sb_rt_call(k->app->rt, a->owner, k->app, run_fn, &r);
    }
    free(a);
}

static void put_param(char *out, size_t cap, const char *name, const char *value)
{
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, cap > n ? cap - n : 0, "%s=", name);
    for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
    }
    out[n] = '\0';
}

void *realtime_check_ask(realtime_check *k, uint64_t owner, const char *token, const char *session,
                         const char *artifact, realtime_check_fn fn, void *arg)
{
    ask *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->k = k;
    a->owner = owner;
    a->fn = fn;
    a->arg = arg;
    digest_of(token, session, artifact, a->digest);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", k->url, strchr(k->url, '?') ? "&" : "?");
    put_param(url, sizeof url, "sessionId", session);
    if (artifact) {
        strncat(url, "&", sizeof url - strlen(url) - 1);
        put_param(url, sizeof url, "artifactId", artifact);
    }
    size_t hl = strlen(token) + 32;
    char *auth = malloc(hl);
    if (!auth) {
        free(a);
        return NULL;
    }
    snprintf(auth, hl, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, NULL};
    int rc = sb_http_client_request(k->client, "GET", url, headers, NULL, 0, answered, a);
    memset(auth, 0, hl);
    free(auth);
    if (rc != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void realtime_check_drop(void *handle)
{
    ask *a = handle;
    if (a)
        a->fn = NULL;
}
