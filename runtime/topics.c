/*
 * topics.c: topic key -> subscribed connections, and connection -> its
 * topics (so that a closing connection leaves them all at once). Both are
 * chained hash tables: removal is the common case here (every disconnect),
 * and chaining removes without tombstones.
 *
 * A topic's subscribers are a small array of (conn, count) pairs: most
 * topics have a handful of connections, and fan-out walks the array.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topics.h"

typedef struct topic {
    struct topic *next; /* hash chain */
    uint64_t hash;
    uint64_t *conns;  /* distinct connections */
    unsigned *counts; /* subscriptions of each */
    size_t n, cap;
    char key[]; /* NUL-terminated */
} topic;

typedef struct member { /* conn -> the topics it is in */
    struct member *next;
    uint64_t conn;
    topic **topics;
    size_t n, cap;
} member;

struct sb_topics {
    topic **tb;
    size_t tcap, tused; /* tcap: a power of two */
    member **mb;
    size_t mcap, mused;
    sb_topics_watch_fn on_first, on_last; /* the bus (topics.h) */
    void *watch_arg;
};

static uint64_t hash_key(const char *s, size_t n) /* FNV-1a */
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static uint64_t hash_conn(uint64_t c)
{
    return c * 0x9e3779b97f4a7c15ULL;
}

sb_topics *sb_topics_new(void)
{
    sb_topics *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->tcap = t->mcap = 256;
    t->tb = calloc(t->tcap, sizeof *t->tb);
    t->mb = calloc(t->mcap, sizeof *t->mb);
    if (!t->tb || !t->mb) {
        sb_topics_free(t);
        return NULL;
    }
    return t;
}

void sb_topics_free(sb_topics *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->tb && i < t->tcap; i++) {
        for (topic *p = t->tb[i], *next; p; p = next) {
            next = p->next;
            free(p->conns);
            free(p->counts);
            free(p);
        }
    }
    for (size_t i = 0; t->mb && i < t->mcap; i++) {
        for (member *m = t->mb[i], *next; m; m = next) {
            next = m->next;
            free(m->topics);
            free(m);
        }
    }
    free(t->tb);
    free(t->mb);
    free(t);
}

static topic *topic_find(const sb_topics *t, const char *key, size_t n, uint64_t h)
{
    for (topic *p = t->tb[h & (t->tcap - 1)]; p; p = p->next)
        if (p->hash == h && strncmp(p->key, key, n) == 0 && p->key[n] == '\0')
            return p;
    return NULL;
}

static member *member_find(const sb_topics *t, uint64_t conn)
{
    for (member *m = t->mb[hash_conn(conn) & (t->mcap - 1)]; m; m = m->next)
        if (m->conn == conn)
            return m;
    return NULL;
}

/* Double a chained table when it holds more entries than buckets. */
#define REHASH(type, buckets, cap, hashof)                                                         \
    do {                                                                                           \
        type **nb = calloc((cap)*2, sizeof *nb);                                                   \
        if (!nb)                                                                                   \
            break; /* longer chains, still correct */                                              \
        for (size_t i_ = 0; i_ < (cap); i_++) {                                                    \
            for (type *e_ = (buckets)[i_], *n_; e_; e_ = n_) {                                     \
                n_ = e_->next;                                                                     \
                size_t b_ = (size_t)(hashof(e_)) & ((cap)*2 - 1);                                  \
                e_->next = nb[b_];                                                                 \
                nb[b_] = e_;                                                                       \
            }                                                                                      \
        }                                                                                          \
        free(buckets);                                                                             \
        (buckets) = nb;                                                                            \
        (cap) *= 2;                                                                                \
    } while (0)
#define TOPIC_HASH(e) ((e)->hash)
#define MEMBER_HASH(e) hash_conn((e)->conn)

static bool grow_array(void **items, size_t *cap, size_t elem)
{
    size_t n = *cap ? *cap * 2 : 2;
    void *p = realloc(*items, n * elem);
    if (!p)
        return false;
    *items = p;
    *cap = n;
    return true;
}

static void topic_delete(sb_topics *t, topic *tp)
{
    if (t->on_last)
        t->on_last(t->watch_arg, tp->key);
    for (topic **pp = &t->tb[tp->hash & (t->tcap - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == tp) {
            *pp = tp->next;
            break;
        }
    }
    t->tused--;
    free(tp->conns);
    free(tp->counts);
    free(tp);
}

static void member_drop_topic(sb_topics *t, uint64_t conn, topic *tp)
{
    member *m = member_find(t, conn);
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        if (m->topics[i] == tp) {
            m->topics[i] = m->topics[--m->n];
            break;
        }
    }
    if (m->n)
        return;
    for (member **pp = &t->mb[hash_conn(conn) & (t->mcap - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    t->mused--;
    free(m->topics);
    free(m);
}

int sb_topics_subscribe(sb_topics *t, const char *key, uint64_t conn)
{
    size_t n = strlen(key);
    if (n == 0 || n >= SB_TOPIC_MAX)
        return -1;
    uint64_t h = hash_key(key, n);
    topic *tp = topic_find(t, key, n, h);
    if (tp) {
        for (size_t i = 0; i < tp->n; i++) {
            if (tp->conns[i] == conn) {
                tp->counts[i]++;
                return 0;
            }
        }
    } else {
        tp = calloc(1, sizeof *tp + n + 1);
        if (!tp)
            return -1;
        tp->hash = h;
        memcpy(tp->key, key, n + 1);
        if (t->tused >= t->tcap)
            REHASH(topic, t->tb, t->tcap, TOPIC_HASH);
        size_t b = h & (t->tcap - 1);
        tp->next = t->tb[b];
        t->tb[b] = tp;
        t->tused++;
    }
    member *m = member_find(t, conn);
    if (!m) {
        m = calloc(1, sizeof *m);
        if (!m)
            goto oom;
        m->conn = conn;
        if (t->mused >= t->mcap)
            REHASH(member, t->mb, t->mcap, MEMBER_HASH);
        size_t b = hash_conn(conn) & (t->mcap - 1);
        m->next = t->mb[b];
        t->mb[b] = m;
        t->mused++;
    }
    if (m->n == m->cap && !grow_array((void **)&m->topics, &m->cap, sizeof *m->topics))
        goto oom;
    if (tp->n == tp->cap) {
        size_t cap = tp->cap;
        if (!grow_array((void **)&tp->conns, &cap, sizeof *tp->conns))
            goto oom;
        if (!grow_array((void **)&tp->counts, &tp->cap, sizeof *tp->counts))
            goto oom;
    }
    m->topics[m->n++] = tp;
    tp->conns[tp->n] = conn;
    tp->counts[tp->n++] = 1;
    if (tp->n == 1 && t->on_first)
        t->on_first(t->watch_arg, tp->key);
    return 0;
oom:
    if (m && m->n == 0)
        member_drop_topic(t, conn, NULL);
    if (tp->n == 0) {
        /* never announced: no on_last for it either */
        sb_topics_watch_fn last = t->on_last;
        t->on_last = NULL;
        topic_delete(t, tp);
        t->on_last = last;
    }
    return -1;
}

void sb_topics_unsubscribe(sb_topics *t, const char *key, uint64_t conn)
{
    size_t n = strlen(key);
    topic *tp = topic_find(t, key, n, hash_key(key, n));
    if (!tp)
        return;
    for (size_t i = 0; i < tp->n; i++) {
        if (tp->conns[i] != conn)
            continue;
        if (--tp->counts[i])
            return;
        tp->n--;
        tp->conns[i] = tp->conns[tp->n];
        tp->counts[i] = tp->counts[tp->n];
        member_drop_topic(t, conn, tp);
        if (tp->n == 0)
            topic_delete(t, tp);
        return;
    }
}

void sb_topics_leave_all(sb_topics *t, uint64_t conn)
{
    member *m = member_find(t, conn);
    while (m && m->n) {
        topic *tp = m->topics[m->n - 1];
        for (size_t i = 0; i < tp->n; i++) {
            if (tp->conns[i] == conn) {
                tp->counts[i] = 1;
                break;
            }
        }
        sb_topics_unsubscribe(t, tp->key, conn); /* frees m with the last one */
        m = member_find(t, conn);
    }
}

const uint64_t *sb_topics_conns(const sb_topics *t, const char *key, size_t *count)
{
    size_t n = strlen(key);
    topic *tp = topic_find(t, key, n, hash_key(key, n));
    *count = tp ? tp->n : 0;
    return tp ? tp->conns : NULL;
}

void sb_topics_set_watch(sb_topics *t, sb_topics_watch_fn on_first, sb_topics_watch_fn on_last,
                         void *arg)
{
    t->on_first = on_first;
    t->on_last = on_last;
    t->watch_arg = arg;
}

void sb_topics_each(const sb_topics *t, sb_topics_watch_fn fn, void *arg)
{
    for (size_t i = 0; i < t->tcap; i++)
        for (topic *p = t->tb[i]; p; p = p->next)
            fn(arg, p->key);
}

size_t sb_topics_count(const sb_topics *t)
{
    return t->tused;
}

const char *sb_topic_id(char buf[SB_TOPIC_MAX], const char *prefix, int64_t id)
{
    snprintf(buf, SB_TOPIC_MAX, "%s:%lld", prefix, (long long)id);
    return buf;
}
