/*
 * peers.h: TCP connections by client address, from accept(2) on, so that
 * one address cannot take every descriptor, and connections that never
 * become WebSockets (idle TCP, slow handshakes) cannot crowd out those that
 * do.
 *
 * A connection is admitted when accepted (sb_peers_admit; refused: the
 * transport closes it at once), bound to a key (the transport's handle for
 * it), "pending" until it is settled (upgraded to a WebSocket, or its first
 * HTTP request answered), and gone when it closes. Admission counts against
 * three limits: connections from the same address (all kinds), pending ones
 * from the same address, and pending connections in all.
 */
#ifndef SB_PEERS_H
#define SB_PEERS_H

#include <stdint.h>

#define SB_PEER_ADDR_MAX 64 /* an IPv4 or IPv6 address as text */
/* Connections one address may have pending: an eighth of what it may have
 * in all (at least 8), so that an address that opens sockets and says
 * nothing cannot fill the pending total for everyone else. */
#define SB_PEER_PENDING_SHARE 8

typedef struct sb_peers sb_peers;

typedef enum sb_peer_verdict {
    SB_PEER_OK = 0,
    SB_PEER_TOO_MANY_PENDING,
    SB_PEER_TOO_MANY_FROM_ADDRESS,
    SB_PEER_TOO_MANY_PENDING_FROM_ADDRESS,
    SB_PEER_NO_MEMORY,
} sb_peer_verdict;

sb_peers *sb_peers_new(void);
void sb_peers_free(sb_peers *p);

/* A limit of 0 is no limit. */
sb_peer_verdict sb_peers_admit(sb_peers *p, const char *ip, int max_per_ip, int max_pending);
/* The connection just admitted gets its key (call right after admit). */
void sb_peers_bind(sb_peers *p, uint64_t key);
void sb_peers_settled(sb_peers *p, uint64_t key); /* no longer pending */
void sb_peers_gone(sb_peers *p, uint64_t key);

int sb_peers_pending(const sb_peers *p);
const char *sb_peer_verdict_text(sb_peer_verdict v);

#endif
