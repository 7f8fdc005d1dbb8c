/*
 * peers.c: who is connected from where (peers.h).
 *
 * Two tables: client address -> its connections (chained: addresses come
 * and go with every disconnect), and connection key -> its address entry and
 * whether it is still pending (sb_map, int64 keys).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "peers.h"

#define BUCKETS 1024 /* power of two */

typedef struct addr {
    struct addr *next;
    int conns;   /* every connection from this address */
    int pending; /* of them, not yet settled */
    char ip[SB_PEER_ADDR_MAX];
} addr;

typedef struct conn {
    addr *a;
    bool pending;
} conn;

struct sb_peers {
    addr *buckets[BUCKETS];
    sb_map conns;
    addr *admitted; /* between sb_peers_admit and sb_peers_bind */
    int pending;
};

static size_t bucket_of(const char *ip)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *ip; ip++)
        h = (h ^ (unsigned char)*ip) * 1099511628211ULL;
    return (size_t)h & (BUCKETS - 1);
}

sb_peers *sb_peers_new(void)
{
    sb_peers *p = calloc(1, sizeof *p);
    if (p)
        sb_map_init(&p->conns);
    return p;
}

void sb_peers_free(sb_peers *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (addr *a = p->buckets[i], *next; a; a = next) {
            next = a->next;
            free(a);
        }
    }
    for (size_t i = 0; i < p->conns.cap; i++)
        if (p->conns.slots[i].key)
            free(p->conns.slots[i].value);
    sb_map_free(&p->conns);
    free(p);
}

static addr *find(sb_peers *p, const char *ip, bool make)
{
    size_t b = bucket_of(ip);
    for (addr *a = p->buckets[b]; a; a = a->next)
        if (strcmp(a->ip, ip) == 0)
            return a;
    if (!make)
        return NULL;
    addr *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    strncpy(a->ip, ip, sizeof a->ip - 1);
    a->next = p->buckets[b];
    p->buckets[b] = a;
    return a;
}

static void release(sb_peers *p, addr *a)
{
    if (--a->conns > 0)
        return;
    for (addr **pp = &p->buckets[bucket_of(a->ip)]; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    free(a);
}

sb_peer_verdict sb_peers_admit(sb_peers *p, const char *ip, int max_per_ip, int max_pending)
{
    p->admitted = NULL;
    if (max_pending > 0 && p->pending >= max_pending)
        return SB_PEER_TOO_MANY_PENDING;
    addr *a = find(p, ip, false);
    if (a && max_per_ip > 0 && a->conns >= max_per_ip)
        return SB_PEER_TOO_MANY_FROM_ADDRESS;
    int pending_cap = max_per_ip > 0 ? max_per_ip / SB_PEER_PENDING_SHARE : 0;
    if (a && max_per_ip > 0 && a->pending >= (pending_cap > 8 ? pending_cap : 8))
        return SB_PEER_TOO_MANY_PENDING_FROM_ADDRESS;
    if (!a && !(a = find(p, ip, true)))
        return SB_PEER_NO_MEMORY;
    a->conns++;
    a->pending++;
    p->pending++;
    p->admitted = a;
    return SB_PEER_OK;
}

void sb_peers_bind(sb_peers *p, uint64_t key)
{
    addr *a = p->admitted;
    p->admitted = NULL;
    if (!a)
        return;
    conn *c = malloc(sizeof *c);
    if (!c || sb_map_put(&p->conns, (int64_t)key, c) != 0) {
        free(c); /* untracked: give its place back now */
        p->pending--;
        a->pending--;
        release(p, a);
        return;
    }
    *c = (conn){a, true};
}

void sb_peers_settled(sb_peers *p, uint64_t key)
{
    conn *c = sb_map_get(&p->conns, (int64_t)key);
    if (c && c->pending) {
        c->pending = false;
        c->a->pending--;
        p->pending--;
    }
}

void sb_peers_gone(sb_peers *p, uint64_t key)
{
    conn *c = sb_map_del(&p->conns, (int64_t)key);
    if (!c)
        return;
    if (c->pending) {
        c->a->pending--;
        p->pending--;
    }
    release(p, c->a);
    free(c);
}

int sb_peers_pending(const sb_peers *p)
{
    return p->pending;
}

const char *sb_peer_verdict_text(sb_peer_verdict v)
{
    switch (v) {
    case SB_PEER_OK:
        return "ok";
    case SB_PEER_TOO_MANY_PENDING:
        return "too_many_pending";
    case SB_PEER_TOO_MANY_FROM_ADDRESS:
        return "too_many_from_address";
    case SB_PEER_TOO_MANY_PENDING_FROM_ADDRESS:
        return "too_many_pending_from_address";
    default:
        return "out_of_memory";
    }
}
