/*
 * sha256.h: SHA-256 (FIPS 180-4), for hashing session tokens at rest.
 *
 * sb_sha256() hashes one buffer; the init/update/final triple hashes input
 * that arrives in pieces and gives the same digest.
 */
#ifndef SB_SHA256_H
#define SB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SB_SHA256_LEN 32

typedef struct sb_sha256_ctx {
    uint32_t h[8];     /* the intermediate hash value H(i) */
    uint64_t bytes;    /* message length so far */
    uint8_t block[64]; /* a partial block */
    size_t fill;       /* bytes in block */
} sb_sha256_ctx;

void sb_sha256_init(sb_sha256_ctx *c);
void sb_sha256_update(sb_sha256_ctx *c, const void *data, size_t len);
/* Writes the digest; c must be initialised again before reuse. */
void sb_sha256_final(sb_sha256_ctx *c, uint8_t out[SB_SHA256_LEN]);

void sb_sha256(const void *data, size_t len, uint8_t out[SB_SHA256_LEN]);

#endif
