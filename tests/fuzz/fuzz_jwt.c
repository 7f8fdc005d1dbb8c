/*
 * fuzz_jwt.c: the JWT verifier (runtime/jwt.c) on hostile input, two ways:
 * the input as a whole token (the header, base64url and signature checks),
 * and the input as the payload of a correctly signed HS256 token (the claims
 * parser behind a valid signature, which an attacker holding a key could
 * reach). Nothing may crash, leak or read out of bounds, and a verified
 * token must have its required claims.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jwt.h"

static const char SECRET[] = "fuzz-secret-of-at-least-32-bytes!!";
#define NOW 1700000000

static sb_jwt_config *config(void)
{
    static sb_jwt_config *cfg;
    if (!cfg) {
        sb_jwt_options o;
        sb_jwt_options_init(&o);
        o.alg = SB_JWT_HS256;
        o.secret = SECRET;
        o.secret_len = sizeof SECRET - 1;
        o.issuer = "fuzz";
        o.audience = "sb";
        sb_jwt_error err;
        cfg = sb_jwt_config_new(&o, &err);
        if (!cfg)
            abort();
    }
    return cfg;
}

static void verify(const char *token, size_t len)
{
    sb_arena arena;
    sb_arena_init(&arena, 1 << 20);
    sb_jwt_claims claims;
    sb_jwt_error err;
    if (sb_jwt_verify(config(), token, len, NOW, &arena, &claims, &err) == SB_JWT_OK &&
        claims.exp <= 0)
        abort(); /* exp is required and was in the future at NOW */
    sb_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    verify((const char *)data, size);

    /* the input as the payload of a well-signed token */
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    sb_buf t;
    sb_buf_init(&t);
    sb_b64url_encode(&t, header, sizeof header - 1);
    sb_buf_putc(&t, '.');
    sb_b64url_encode(&t, data, size);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!t.oom && HMAC(EVP_sha256(), SECRET, (int)(sizeof SECRET - 1),
                       (const unsigned char *)t.data, t.len, mac, &maclen)) {
        sb_buf_putc(&t, '.');
        sb_b64url_encode(&t, mac, maclen);
        if (!t.oom)
            verify(t.data, t.len);
    }
    sb_buf_free(&t);
    return 0;
}
