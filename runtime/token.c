/*
 * token.c: random tokens, their hashes, and a constant-time comparison.
 */
#include "token.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>

#include "sha256.h"

#define TOKEN_BYTES 32

void sb_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* getrandom(2) with no flags blocks only until the kernel's pool is first
 * seeded (early boot), then never fails for 32 bytes; the loop covers a
 * signal arriving during that wait and short reads all the same. */
int sb_token_new(char out[SB_TOKEN_HEX_LEN + 1])
{
    uint8_t bytes[TOKEN_BYTES];
    size_t got = 0;
    out[0] = '\0';
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    sb_hex(bytes, sizeof bytes, out);
    return 0;
}

void sb_token_hash(const char *token, size_t len, char out_hex[SB_TOKEN_HEX_LEN + 1])
{
    uint8_t digest[SB_SHA256_LEN];
    sb_sha256(token, len, digest);
    sb_hex(digest, sizeof digest, out_hex);
}

/* No early exit: every byte is read and folded into one difference. The
 * volatile keeps the compiler from turning the loop back into one that
 * stops at the first mismatch. */
bool sb_token_equal(const char *a, const char *b, size_t n)
{
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}
