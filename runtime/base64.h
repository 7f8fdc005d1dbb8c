/*
 * base64.h: base64 in its two alphabets (RFC 4648): standard with padding,
 * for Engine.IO's binary packets over long polling ("b" + base64), and
 * base64url without padding, for JWTs (RFC 7515 2). Decoders are strict:
 * the alphabet only, padding only where it belongs, and the unused low bits
 * of the last character zero (one text per byte string).
 */
#ifndef SB_BASE64_H
#define SB_BASE64_H

#include <stddef.h>

#include "json.h"

void sb_b64_encode(sb_buf *out, const void *data, size_t len);
/* Length a multiple of 4. Writes at most len / 4 * 3 bytes; the count, or -1. */
long sb_b64_decode(const char *in, size_t len, unsigned char *out);

void sb_b64url_encode(sb_buf *out, const void *data, size_t len);
/* No '=', no length of the form 4k+1. Writes at most len * 3 / 4 bytes; the
 * count, or -1. */
long sb_b64url_decode(const char *in, size_t len, unsigned char *out);

#endif
