/*
 * base64.h: standard base64 with padding (RFC 4648 4), for Engine.IO's
 * binary packets over long polling ("b" + base64). JWTs use base64url
 * (jwt.h) instead.
 */
#ifndef SB_BASE64_H
#define SB_BASE64_H

#include <stddef.h>

#include "json.h"

void sb_b64_encode(sb_buf *out, const void *data, size_t len);
/* Strict: length a multiple of 4, padding only at the end, the alphabet
 * only. Writes at most len / 4 * 3 bytes; returns the count, or -1. */
long sb_b64_decode(const char *in, size_t len, unsigned char *out);

#endif
