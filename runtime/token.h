/*
 * token.h: session tokens.
 *
 * A token is 32 random bytes written as 64 lowercase hex digits. The client
 * holds the token; the server stores only its SHA-256 (also hex), so a copy
 * of the database does not let anyone log in. Comparing stored hashes uses
 * sb_token_equal(), whose time does not depend on where they differ.
 */
#ifndef SB_TOKEN_H
#define SB_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stddef.h>

#define SB_TOKEN_HEX_LEN 64 /* digits of a token or of a token hash */

/* A fresh token from getrandom(2), NUL-terminated. 0 on success, -1 (errno
 * set, out an empty string) if the kernel gives no randomness. */
int sb_token_new(char out[SB_TOKEN_HEX_LEN + 1]);

/* bytes[0..n) as 2n lowercase hex digits and a NUL, into out. */
void sb_hex(const uint8_t *bytes, size_t n, char *out);
/* The hex SHA-256 of token[0..len), NUL-terminated. */
void sb_token_hash(const char *token, size_t len, char out_hex[SB_TOKEN_HEX_LEN + 1]);

/* Whether a[0..n) equals b[0..n), in time that depends on n only. */
bool sb_token_equal(const char *a, const char *b, size_t n);

#endif
