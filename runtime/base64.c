/*
 * base64.c: base64 and base64url (base64.h): one encoder and one decoder,
 * told the alphabet's last two characters and whether to pad.
 */
#include <limits.h>
#include <stdint.h>

#include "base64.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void encode(sb_buf *out, const unsigned char *p, size_t len, const char *alphabet, bool pad)
{
    if (!sb_buf_reserve(out, (len + 2) / 3 * 4))
        return;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63],
                     alphabet[v & 63]};
        sb_buf_put(out, q, 4);
    }
    size_t left = len - i;
    if (left == 0)
        return;
    uint32_t v = (uint32_t)p[i] << 16 | (left == 2 ? (uint32_t)p[i + 1] << 8 : 0);
    char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63],
                 left == 2 ? alphabet[(v >> 6) & 63] : '=', '='};
    sb_buf_put(out, q, pad ? 4 : left + 1);
}

static int value(char c, char c62, char c63)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == c62)
        return 62;
    if (c == c63)
        return 63;
    return -1; /* '=', the other alphabet's, whitespace, anything else */
}

/* Unpadded text: 6 bits a character; the 2 or 4 bits left over at the end
 * must be zero, or two texts would decode alike. */
static long decode(const char *in, size_t len, unsigned char *out, char c62, char c63)
{
    if (len % 4 == 1 || len / 4 * 3 + 2 > (size_t)LONG_MAX)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value(in[i], c62, c63);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (bits > 0 && acc != 0)
        return -1;
    return (long)n;
}

void sb_b64_encode(sb_buf *out, const void *data, size_t len)
{
    encode(out, data, len, std_alphabet, true);
}

long sb_b64_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4)
        return -1;
    size_t pad = 0;
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
        pad++;
    return decode(in, len - pad, out, '+', '/');
}

void sb_b64url_encode(sb_buf *out, const void *data, size_t len)
{
    encode(out, data, len, url_alphabet, false);
}

long sb_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    return decode(in, len, out, '-', '_');
}
