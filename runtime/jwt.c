/*
 * jwt.c: JWT verification and HS256 minting on OpenSSL 3 (see jwt.h).
 *
 * The order of the checks follows RFC 8725: the length and shape first, then
 * the header (the only part read before the signature, and only to check
 * that alg is the pinned one), then the signature over the raw
 * "header.payload" bytes, and only then the payload's claims.
 */
#include "base64.h"
#include "jwt.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

struct sb_jwt_config {
    sb_jwt_alg alg;
    unsigned char *secret; /* HS256 */
    size_t secret_len;
    EVP_PKEY *pkey; /* RS256, ES256 */
    char *issuer, *audience;
    int leeway;
    char *claim_user, *claim_company, *claim_session, *claim_artifacts;
};

static const char *const err_names[SB_JWT_ERR__COUNT] = {
    [SB_JWT_OK] = "ok",
    [SB_JWT_ERR_CONFIG] = "config",
    [SB_JWT_ERR_TOO_LONG] = "too_long",
    [SB_JWT_ERR_FORMAT] = "format",
    [SB_JWT_ERR_HEADER] = "header",
    [SB_JWT_ERR_ALG] = "alg",
    [SB_JWT_ERR_SIGNATURE] = "signature",
    [SB_JWT_ERR_CLAIMS] = "claims",
    [SB_JWT_ERR_EXPIRED] = "expired",
    [SB_JWT_ERR_NOT_YET] = "not_yet",
    [SB_JWT_ERR_ISSUER] = "issuer",
    [SB_JWT_ERR_AUDIENCE] = "audience",
    [SB_JWT_ERR_MEMORY] = "memory",
    [SB_JWT_ERR_CRYPTO] = "crypto",
};

const char *sb_jwt_err_name(sb_jwt_err e)
{
    if ((int)e < 0 || e >= SB_JWT_ERR__COUNT || !err_names[e])
        return "?";
    return err_names[e];
}

const char *sb_jwt_alg_name(sb_jwt_alg alg)
{
    switch (alg) {
    case SB_JWT_HS256:
        return "HS256";
    case SB_JWT_RS256:
        return "RS256";
    case SB_JWT_ES256:
        return "ES256";
    }
    return "?";
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static sb_jwt_err
fail(sb_jwt_error *err, sb_jwt_err code, const char *fmt, ...)
{
    /* libcrypto's error queue is per thread; leave it empty for the next user */
    ERR_clear_error();
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void ok(sb_jwt_error *err)
{
    if (err) {
        err->code = SB_JWT_OK;
        err->msg[0] = '\0';
    }
}

/* ---- configuration ----------------------------------------------------- */

void sb_jwt_options_init(sb_jwt_options *o)
{
    memset(o, 0, sizeof *o);
    o->leeway = SB_JWT_LEEWAY_DEFAULT;
}

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void sb_jwt_config_free(sb_jwt_config *c)
{
    if (!c)
        return;
    if (c->secret) {
        OPENSSL_cleanse(c->secret, c->secret_len);
        free(c->secret);
    }
    EVP_PKEY_free(c->pkey);
    free(c->issuer);
    free(c->audience);
    free(c->claim_user);
    free(c->claim_company);
    free(c->claim_session);
    free(c->claim_artifacts);
    free(c);
}

sb_jwt_alg sb_jwt_config_alg(const sb_jwt_config *c)
{
    return c->alg;
}

static sb_jwt_err load_public_key(sb_jwt_config *c, const sb_jwt_options *o, sb_jwt_error *err)
{
    const char *alg = sb_jwt_alg_name(o->alg);
    if (o->secret || o->secret_len)
        return fail(err, SB_JWT_ERR_CONFIG, "secret: %s takes a public key, not a secret", alg);
    if (!o->public_key_file == !o->public_key_pem)
        return fail(err, SB_JWT_ERR_CONFIG, "key: %s needs exactly one of a PEM file or PEM text",
                    alg);
    BIO *bio;
    if (o->public_key_file)
        bio = BIO_new_file(o->public_key_file, "r");
    else if (o->public_key_pem_len > (size_t)1 << 20)
        return fail(err, SB_JWT_ERR_CONFIG, "key: PEM text over 1 MiB");
    else
        bio = BIO_new_mem_buf(o->public_key_pem, (int)o->public_key_pem_len);
    if (!bio)
        return fail(err, SB_JWT_ERR_CONFIG, "key: cannot open %s",
                    o->public_key_file ? o->public_key_file : "the PEM text");
    c->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!c->pkey)
        return fail(err, SB_JWT_ERR_CONFIG,
                    "key: no PEM public key (BEGIN PUBLIC KEY) could be read from %s",
                    o->public_key_file ? o->public_key_file : "the PEM text");
    const char *type = EVP_PKEY_get0_type_name(c->pkey);
    if (!type)
        type = "unknown";
    if (o->alg == SB_JWT_RS256) {
        if (!EVP_PKEY_is_a(c->pkey, "RSA"))
            return fail(err, SB_JWT_ERR_CONFIG, "key: %s key, RS256 needs an RSA key", type);
        int bits = EVP_PKEY_get_bits(c->pkey);
        if (bits < SB_JWT_MIN_RSA_BITS)
            return fail(err, SB_JWT_ERR_CONFIG, "key: RSA key of %d bits, at least %d are required",
                        bits, SB_JWT_MIN_RSA_BITS);
    } else {
        if (!EVP_PKEY_is_a(c->pkey, "EC"))
            return fail(err, SB_JWT_ERR_CONFIG, "key: %s key, ES256 needs an EC P-256 key", type);
        char group[64];
        size_t glen = 0;
        if (!EVP_PKEY_get_group_name(c->pkey, group, sizeof group, &glen) ||
            strcmp(group, "prime256v1") != 0)
            return fail(err, SB_JWT_ERR_CONFIG, "key: an EC key not on P-256, ES256 needs P-256");
    }
    return SB_JWT_OK;
}

static bool reserved_claim(const char *name)
{
    static const char *const reserved[] = {"exp", "nbf", "iss", "aud"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return true;
    return false;
}

sb_jwt_config *sb_jwt_config_new(const sb_jwt_options *o, sb_jwt_error *err)
{
    ok(err);
    if (!o) {
        fail(err, SB_JWT_ERR_CONFIG, "options: missing");
        return NULL;
    }
    if (o->alg != SB_JWT_HS256 && o->alg != SB_JWT_RS256 && o->alg != SB_JWT_ES256) {
        fail(err, SB_JWT_ERR_CONFIG, "alg: must be HS256, RS256 or ES256");
        return NULL;
    }
    if (o->leeway < 0 || o->leeway > SB_JWT_LEEWAY_MAX) {
        fail(err, SB_JWT_ERR_CONFIG, "leeway: %d s, must be 0 to %d", o->leeway, SB_JWT_LEEWAY_MAX);
        return NULL;
    }
    const char *names[4] = {o->claim_user ? o->claim_user : "sub",
                            o->claim_company ? o->claim_company : "company_id",
                            o->claim_session ? o->claim_session : "sid",
                            o->claim_artifacts ? o->claim_artifacts : "artifacts"};
    for (int i = 0; i < 4; i++) {
        if (!names[i][0] || strlen(names[i]) > 64 || reserved_claim(names[i])) {
            fail(err, SB_JWT_ERR_CONFIG,
                 "claim names: must be 1 to 64 bytes and not exp, nbf, iss or aud");
            return NULL;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                fail(err, SB_JWT_ERR_CONFIG, "claim names: %s is used twice", names[i]);
                return NULL;
            }
    }
    if ((o->issuer && !o->issuer[0]) || (o->audience && !o->audience[0])) {
        fail(err, SB_JWT_ERR_CONFIG, "issuer/audience: empty (leave NULL to not check)");
        return NULL;
    }

    sb_jwt_config *c = calloc(1, sizeof *c);
    if (!c) {
        fail(err, SB_JWT_ERR_MEMORY, "config: out of memory");
        return NULL;
    }
    c->alg = o->alg;
    c->leeway = o->leeway;
    if (o->alg == SB_JWT_HS256) {
        if (o->public_key_file || o->public_key_pem) {
            fail(err, SB_JWT_ERR_CONFIG, "key: HS256 takes a secret, not a public key");
            goto bad;
        }
        if (!o->secret || o->secret_len == 0) {
            fail(err, SB_JWT_ERR_CONFIG, "secret: empty, HS256 needs at least %d bytes",
                 SB_JWT_MIN_SECRET);
            goto bad;
        }
        if (o->secret_len < SB_JWT_MIN_SECRET) {
            fail(err, SB_JWT_ERR_CONFIG, "secret: %zu bytes, at least %d are required",
                 o->secret_len, SB_JWT_MIN_SECRET);
            goto bad;
        }
        if (o->secret_len > INT32_MAX) {
            fail(err, SB_JWT_ERR_CONFIG, "secret: too long");
            goto bad;
        }
        c->secret = malloc(o->secret_len);
        if (!c->secret) {
            fail(err, SB_JWT_ERR_MEMORY, "config: out of memory");
            goto bad;
        }
        memcpy(c->secret, o->secret, o->secret_len);
        c->secret_len = o->secret_len;
    } else if (load_public_key(c, o, err) != SB_JWT_OK) {
        goto bad;
    }
    c->claim_user = dup_cstr(names[0]);
    c->claim_company = dup_cstr(names[1]);
    c->claim_session = dup_cstr(names[2]);
    c->claim_artifacts = dup_cstr(names[3]);
    if (o->issuer)
        c->issuer = dup_cstr(o->issuer);
    if (o->audience)
        c->audience = dup_cstr(o->audience);
    if (!c->claim_user || !c->claim_company || !c->claim_session || !c->claim_artifacts ||
        (o->issuer && !c->issuer) || (o->audience && !c->audience)) {
        fail(err, SB_JWT_ERR_MEMORY, "config: out of memory");
        goto bad;
    }
    return c;
bad:
    sb_jwt_config_free(c);
    return NULL;
}

/* ---- JSON helpers ------------------------------------------------------ */

static const sb_json_limits jwt_json_limits = {
    .max_input = SB_JWT_MAX_TOKEN,
    .max_depth = 16,
    .max_string = SB_JWT_MAX_TOKEN,
};

static bool str_eq(sb_str s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

/* The member names of one object, to refuse a name seen twice (RFC 8725
 * 3.1 leaves parsers that pick the first or the last open to confusion). */
typedef struct keyset {
    sb_str *keys;
    size_t n, cap;
} keyset;

static bool keyset_add(sb_reader *r, keyset *ks, sb_str key)
{
    for (size_t i = 0; i < ks->n; i++)
        if (ks->keys[i].len == key.len && memcmp(ks->keys[i].ptr, key.ptr, key.len) == 0)
            return sb_fail(r, SB_ERR_DUPLICATE, "duplicate member");
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 8;
        sb_str *k = sb_arena_alloc(r->arena, cap * sizeof *k);
        if (!k)
            return sb_fail(r, SB_ERR_MEMORY, "out of memory (arena limit reached)");
        if (ks->n)
            memcpy(k, ks->keys, ks->n * sizeof *k);
        ks->keys = k;
        ks->cap = cap;
    }
    ks->keys[ks->n++] = key;
    return true;
}

/* Any value, refusing duplicate members in every object inside it. The
 * reader's depth limit bounds the recursion. */
static bool skip_value(sb_reader *r)
{
    char kind = sb_peek(r);
    if (kind == '{') {
        if (!sb_read_object_begin(r))
            return false;
        keyset ks = {0};
        sb_str key;
        int more;
        while ((more = sb_read_object_next(r, &key)) == 1)
            if (!keyset_add(r, &ks, key) || !skip_value(r))
                return false;
        return more == 0;
    }
    if (kind == '[') {
        if (!sb_read_array_begin(r))
            return false;
        int more;
        while ((more = sb_read_array_next(r)) == 1)
            if (!skip_value(r))
                return false;
        return more == 0;
    }
    sb_str raw;
    return sb_read_any(r, &raw);
}

/* The reader's message without its "$: " prefix. */
static const char *reader_msg(const sb_reader *r)
{
    const char *m = r->err_msg;
    return strncmp(m, "$: ", 3) == 0 ? m + 3 : m;
}

static sb_jwt_err json_fail(sb_jwt_error *err, const sb_reader *r, const char *part,
                            sb_jwt_err code)
{
    if (r->err == SB_ERR_MEMORY)
        return fail(err, SB_JWT_ERR_MEMORY, "%s: out of memory", part);
    return fail(err, code, "%s: %s", part, reader_msg(r));
}

static char *arena_cstr(sb_arena *a, sb_str s)
{
    char *p = sb_arena_alloc(a, s.len + 1);
    if (p)
        memcpy(p, s.ptr, s.len);
    return p;
}

/* ---- header ------------------------------------------------------------ */

static bool printable_alg(sb_str s)
{
    if (s.len == 0 || s.len > 16)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

static bool ieq_jwt(sb_str s)
{
    static const char up[] = "JWT";
    if (s.len != 3)
        return false;
    for (size_t i = 0; i < 3; i++) {
        char ch = s.ptr[i];
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch != up[i])
            return false;
    }
    return true;
}

static sb_jwt_err check_header(const sb_jwt_config *c, const char *json, size_t len,
                               sb_arena *arena, sb_jwt_error *err)
{
    sb_reader r;
    sb_reader_init(&r, json, len, arena, &jwt_json_limits);
    if (sb_peek(&r) != '{') {
        if (r.err)
            return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
        return fail(err, SB_JWT_ERR_HEADER, "header: not a JSON object");
    }
    if (!sb_read_object_begin(&r))
        return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
    keyset ks = {0};
    sb_str key, alg = {NULL, 0};
    bool have_alg = false;
    int more;
    while ((more = sb_read_object_next(&r, &key)) == 1) {
        if (!keyset_add(&r, &ks, key))
            return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
        if (str_eq(key, "alg")) {
            if (sb_peek(&r) != '"')
                return fail(err, SB_JWT_ERR_ALG, "alg: not a string");
            if (!sb_read_string(&r, &alg))
                return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
            have_alg = true;
        } else if (str_eq(key, "typ")) {
            sb_str typ;
            if (sb_peek(&r) != '"')
                return fail(err, SB_JWT_ERR_HEADER, "typ: not a string");
            if (!sb_read_string(&r, &typ))
                return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
            if (!ieq_jwt(typ))
                return fail(err, SB_JWT_ERR_HEADER, "typ: expected JWT");
        } else if (str_eq(key, "crit")) {
            /* RFC 7515 4.1.11: extensions we do not understand must be refused */
            return fail(err, SB_JWT_ERR_HEADER, "crit: critical extensions are not supported");
        } else if (!skip_value(&r)) {
            /* kid, jku, jwk, x5u, x5c, cty and the rest: read, never acted on */
            return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
        }
    }
    if (more < 0 || !sb_read_end(&r))
        return json_fail(err, &r, "header", SB_JWT_ERR_HEADER);
    const char *want = sb_jwt_alg_name(c->alg);
    if (!have_alg)
        return fail(err, SB_JWT_ERR_ALG, "alg: missing, expected %s", want);
    if (!str_eq(alg, want)) {
        if (printable_alg(alg))
            return fail(err, SB_JWT_ERR_ALG, "alg: expected %s, got %.*s", want, (int)alg.len,
                        alg.ptr);
        return fail(err, SB_JWT_ERR_ALG, "alg: expected %s, got another value", want);
    }
    return SB_JWT_OK;
}

/* ---- signature --------------------------------------------------------- */

static sb_jwt_err verify_evp(const sb_jwt_config *c, const unsigned char *sig, size_t sig_len,
                             const char *data, size_t len, sb_jwt_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return fail(err, SB_JWT_ERR_MEMORY, "signature: out of memory");
    sb_jwt_err rc = SB_JWT_OK;
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, c->pkey) != 1)
        rc = fail(err, SB_JWT_ERR_CRYPTO, "signature: cannot set up verification");
    else if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)data, len) != 1)
        rc = fail(err, SB_JWT_ERR_SIGNATURE, "signature: does not verify");
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* JWS ES256 signatures are R||S, 32 bytes each (RFC 7518 3.4); libcrypto
 * verifies the DER SEQUENCE { INTEGER r, INTEGER s }. */
static sb_jwt_err verify_es256(const sb_jwt_config *c, const unsigned char *sig, size_t sig_len,
                               const char *data, size_t len, sb_jwt_error *err)
{
    if (sig_len != 64)
        return fail(err, SB_JWT_ERR_SIGNATURE, "signature: expected 64 bytes (R||S), got %zu",
                    sig_len);
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return fail(err, SB_JWT_ERR_MEMORY, "signature: out of memory");
    }
    unsigned char der[80]; /* at most 2 + 2 * (2 + 33) = 72 */
    int der_len = i2d_ECDSA_SIG(es, NULL);
    sb_jwt_err rc;
    if (der_len <= 0 || (size_t)der_len > sizeof der) {
        rc = fail(err, SB_JWT_ERR_CRYPTO, "signature: cannot encode R||S as DER");
    } else {
        unsigned char *p = der;
        i2d_ECDSA_SIG(es, &p);
        rc = verify_evp(c, der, (size_t)der_len, data, len, err);
    }
    ECDSA_SIG_free(es);
    return rc;
}

static sb_jwt_err check_signature(const sb_jwt_config *c, const unsigned char *sig, size_t sig_len,
                                  const char *data, size_t len, sb_jwt_error *err)
{
    switch (c->alg) {
    case SB_JWT_HS256: {
        if (sig_len != 32)
            return fail(err, SB_JWT_ERR_SIGNATURE, "signature: expected 32 bytes, got %zu",
                        sig_len);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (!HMAC(EVP_sha256(), c->secret, (int)c->secret_len, (const unsigned char *)data, len,
                  mac, &mac_len) ||
            mac_len != 32)
            return fail(err, SB_JWT_ERR_CRYPTO, "signature: HMAC failed");
        bool same = CRYPTO_memcmp(mac, sig, 32) == 0;
        OPENSSL_cleanse(mac, sizeof mac);
        if (!same)
            return fail(err, SB_JWT_ERR_SIGNATURE, "signature: does not verify");
        return SB_JWT_OK;
    }
    case SB_JWT_RS256: {
        int size = EVP_PKEY_get_size(c->pkey);
        if (size <= 0 || sig_len != (size_t)size)
            return fail(err, SB_JWT_ERR_SIGNATURE, "signature: expected %d bytes, got %zu", size,
                        sig_len);
        return verify_evp(c, sig, sig_len, data, len, err);
    }
    case SB_JWT_ES256:
        return verify_es256(c, sig, sig_len, data, len, err);
    }
    return fail(err, SB_JWT_ERR_CONFIG, "alg: not configured");
}

/* ---- claims ------------------------------------------------------------ */

typedef struct claims_state {
    bool have_exp, have_iss, have_aud, aud_match;
    sb_str iss;
} claims_state;

/* A claim that must be a JSON integer (exp, nbf): "1.5", "1e9" and "\"1\""
 * are refused, not rounded or converted. */
static sb_jwt_err read_time(sb_reader *r, const char *name, int64_t *out, sb_jwt_error *err)
{
    if (sb_peek(r) != '0') {
        if (r->err)
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        return fail(err, SB_JWT_ERR_CLAIMS, "%s: not an integer", name);
    }
    if (!sb_read_int64(r, out)) {
        if (r->err == SB_ERR_TYPE || r->err == SB_ERR_RANGE)
            return fail(err, SB_JWT_ERR_CLAIMS, "%s: not an integer", name);
        return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
    }
    return SB_JWT_OK;
}

static sb_jwt_err read_claim_string(sb_reader *r, const char *name, const char **out,
                                    sb_jwt_error *err)
{
    sb_str s;
    if (sb_peek(r) != '"') {
        if (r->err)
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        return fail(err, SB_JWT_ERR_CLAIMS, "%s: not a string", name);
    }
    if (!sb_read_string(r, &s))
        return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
    if (memchr(s.ptr, '\0', s.len))
        return fail(err, SB_JWT_ERR_CLAIMS, "%s: holds a NUL character", name);
    char *p = arena_cstr(r->arena, s);
    if (!p)
        return fail(err, SB_JWT_ERR_MEMORY, "%s: out of memory", name);
    *out = p;
    return SB_JWT_OK;
}

/* A list of at most SB_JWT_MAX_ARTIFACTS strings (the artifacts and the
 * permissions claims), at the reader's '['. */
static sb_jwt_err read_string_list(sb_reader *r, const char *name, const char ***out, size_t *count,
                                   sb_jwt_error *err)
{
    const char **list = sb_arena_alloc(r->arena, SB_JWT_MAX_ARTIFACTS * sizeof *list);
    if (!list)
        return fail(err, SB_JWT_ERR_MEMORY, "%s: out of memory", name);
    size_t n = 0;
    int more;
    if (!sb_read_array_begin(r))
        return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
    while ((more = sb_read_array_next(r)) == 1) {
        if (n == SB_JWT_MAX_ARTIFACTS)
            return fail(err, SB_JWT_ERR_CLAIMS, "%s: more than %d entries", name,
                        SB_JWT_MAX_ARTIFACTS);
        sb_jwt_err rc = read_claim_string(r, name, &list[n], err);
        if (rc != SB_JWT_OK)
            return rc;
        n++;
    }
    if (more < 0)
        return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
    *out = list;
    *count = n;
    return SB_JWT_OK;
}

static sb_jwt_err read_artifacts(sb_reader *r, const char *name, sb_jwt_claims *cl,
                                 sb_jwt_error *err)
{
    char kind = sb_peek(r);
    if (kind == '"') {
        sb_str s;
        if (!sb_read_string(r, &s))
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        if (!str_eq(s, "*"))
            return fail(err, SB_JWT_ERR_CLAIMS, "%s: a string other than \"*\"", name);
        cl->artifacts_all = true;
        return SB_JWT_OK;
    }
    if (kind != '[') {
        if (r->err)
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        return fail(err, SB_JWT_ERR_CLAIMS, "%s: neither a list of strings nor \"*\"", name);
    }
    return read_string_list(r, name, &cl->artifacts, &cl->artifacts_count, err);
}

static sb_jwt_err read_permissions(sb_reader *r, sb_jwt_claims *cl, sb_jwt_error *err)
{
    if (sb_peek(r) != '[') {
        if (r->err)
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        return fail(err, SB_JWT_ERR_CLAIMS, "permissions: not a list of strings");
    }
    return read_string_list(r, "permissions", &cl->permissions, &cl->permissions_count, err);
}

static sb_jwt_err read_aud(const sb_jwt_config *c, sb_reader *r, claims_state *st,
                           sb_jwt_error *err)
{
    sb_str s;
    char kind = sb_peek(r);
    st->have_aud = true;
    if (kind == '"') {
        if (!sb_read_string(r, &s))
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        if (c->audience && str_eq(s, c->audience))
            st->aud_match = true;
        return SB_JWT_OK;
    }
    if (kind != '[') {
        if (r->err)
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        return fail(err, SB_JWT_ERR_CLAIMS, "aud: neither a string nor a list of strings");
    }
    if (!sb_read_array_begin(r))
        return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
    int more;
    while ((more = sb_read_array_next(r)) == 1) {
        if (sb_peek(r) != '"') {
            if (r->err)
                return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
            return fail(err, SB_JWT_ERR_CLAIMS, "aud: a list entry is not a string");
        }
        if (!sb_read_string(r, &s))
            return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
        if (c->audience && str_eq(s, c->audience))
            st->aud_match = true;
    }
    if (more < 0)
        return json_fail(err, r, "payload", SB_JWT_ERR_CLAIMS);
    return SB_JWT_OK;
}

static sb_jwt_err read_claims(const sb_jwt_config *c, const char *json, size_t len, sb_arena *arena,
                              int64_t now, sb_jwt_claims *cl, sb_jwt_error *err)
{
    sb_reader r;
    sb_reader_init(&r, json, len, arena, &jwt_json_limits);
    if (sb_peek(&r) != '{') {
        if (r.err)
            return json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS);
        return fail(err, SB_JWT_ERR_CLAIMS, "payload: not a JSON object");
    }
    if (!sb_read_object_begin(&r))
        return json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS);
    keyset ks = {0};
    claims_state st = {0};
    sb_str key;
    int more;
    while ((more = sb_read_object_next(&r, &key)) == 1) {
        sb_jwt_err rc = SB_JWT_OK;
        if (!keyset_add(&r, &ks, key))
            return json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS);
        if (str_eq(key, "exp")) {
            rc = read_time(&r, "exp", &cl->exp, err);
            st.have_exp = true;
        } else if (str_eq(key, "nbf")) {
            rc = read_time(&r, "nbf", &cl->nbf, err);
            cl->has_nbf = true;
        } else if (str_eq(key, "iss")) {
            if (sb_peek(&r) != '"')
                return r.err ? json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS)
                             : fail(err, SB_JWT_ERR_CLAIMS, "iss: not a string");
            if (!sb_read_string(&r, &st.iss))
                return json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS);
            st.have_iss = true;
        } else if (str_eq(key, "aud")) {
            rc = read_aud(c, &r, &st, err);
        } else if (str_eq(key, c->claim_user)) {
            rc = read_claim_string(&r, c->claim_user, &cl->user, err);
        } else if (str_eq(key, c->claim_company)) {
            rc = read_claim_string(&r, c->claim_company, &cl->company, err);
        } else if (str_eq(key, c->claim_session)) {
            rc = read_claim_string(&r, c->claim_session, &cl->session, err);
        } else if (str_eq(key, c->claim_artifacts)) {
            rc = read_artifacts(&r, c->claim_artifacts, cl, err);
        } else if (str_eq(key, "permissions")) {
            rc = read_permissions(&r, cl, err);
        } else if (!skip_value(&r)) {
            return json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS);
        }
        if (rc != SB_JWT_OK)
            return rc;
    }
    if (more < 0 || !sb_read_end(&r))
        return json_fail(err, &r, "payload", SB_JWT_ERR_CLAIMS);

    /* RFC 7519 4.1.4: the current time must be before exp (plus leeway) */
    if (!st.have_exp)
        return fail(err, SB_JWT_ERR_CLAIMS, "exp: missing");
    int64_t leeway = c->leeway;
    if (now < INT64_MIN + leeway || now - leeway >= cl->exp)
        return fail(err, SB_JWT_ERR_EXPIRED, "exp: expired (leeway %d s)", c->leeway);
    /* 4.1.5: and not before nbf (minus leeway) */
    if (cl->has_nbf && now <= INT64_MAX - leeway && cl->nbf > now + leeway)
        return fail(err, SB_JWT_ERR_NOT_YET, "nbf: not yet valid (leeway %d s)", c->leeway);
    if (c->issuer) {
        if (!st.have_iss)
            return fail(err, SB_JWT_ERR_ISSUER, "iss: missing");
        if (!str_eq(st.iss, c->issuer))
            return fail(err, SB_JWT_ERR_ISSUER, "iss: not the expected issuer");
    }
    /* 4.1.3: a token meant for some audience is refused by a verifier that
     * does not identify itself with it */
    if (c->audience) {
        if (!st.have_aud)
            return fail(err, SB_JWT_ERR_AUDIENCE, "aud: missing");
        if (!st.aud_match)
            return fail(err, SB_JWT_ERR_AUDIENCE, "aud: not the expected audience");
    } else if (st.have_aud) {
        return fail(err, SB_JWT_ERR_AUDIENCE, "aud: present, but no audience is configured");
    }
    return SB_JWT_OK;
}

/* ---- verify ------------------------------------------------------------ */

static sb_jwt_err decode_part(sb_arena *arena, const char *in, size_t len, const char *part,
                              unsigned char **out, size_t *out_len, sb_jwt_error *err)
{
    unsigned char *buf = sb_arena_alloc(arena, len / 4 * 3 + 3);
    if (!buf)
        return fail(err, SB_JWT_ERR_MEMORY, "%s: out of memory", part);
    long n = sb_b64url_decode(in, len, buf);
    if (n < 0)
        return fail(err, SB_JWT_ERR_FORMAT, "%s: not base64url (unpadded, A-Z a-z 0-9 - _)", part);
    *out = buf;
    *out_len = (size_t)n;
    return SB_JWT_OK;
}

sb_jwt_err sb_jwt_verify(const sb_jwt_config *c, const char *token, size_t len, int64_t now,
                         sb_arena *arena, sb_jwt_claims *out, sb_jwt_error *err)
{
    ok(err);
    if (out)
        memset(out, 0, sizeof *out);
    if (!c || !token || !arena || !out)
        return fail(err, SB_JWT_ERR_CONFIG, "verify: missing argument");
    if (len > SB_JWT_MAX_TOKEN)
        return fail(err, SB_JWT_ERR_TOO_LONG, "token: %zu bytes, at most %d are accepted", len,
                    SB_JWT_MAX_TOKEN);
    size_t dots = 0, d1 = 0, d2 = 0;
    for (size_t i = 0; i < len; i++)
        if (token[i] == '.') {
            if (dots == 0)
                d1 = i;
            else if (dots == 1)
                d2 = i;
            dots++;
        }
    if (dots != 2)
        return fail(err, SB_JWT_ERR_FORMAT,
                    "token: expected 3 parts separated by 2 dots, got %zu dots", dots);
    /* an empty signature is left to the alg and length checks, so that an
     * unsecured token ("alg":"none", "h.p.") is named for what it is */
    if (d1 == 0 || d2 == d1 + 1)
        return fail(err, SB_JWT_ERR_FORMAT, "token: the header or the payload is empty");

    unsigned char *bytes, *sig;
    size_t n, sig_len;
    sb_jwt_err rc = decode_part(arena, token, d1, "header", &bytes, &n, err);
    if (rc == SB_JWT_OK)
        rc = check_header(c, (const char *)bytes, n, arena, err);
    if (rc == SB_JWT_OK)
        rc = decode_part(arena, token + d2 + 1, len - d2 - 1, "signature", &sig, &sig_len, err);
    if (rc == SB_JWT_OK)
        rc = check_signature(c, sig, sig_len, token, d2, err);
    if (rc == SB_JWT_OK)
        rc = decode_part(arena, token + d1 + 1, d2 - d1 - 1, "payload", &bytes, &n, err);
    sb_jwt_claims cl = {0};
    if (rc == SB_JWT_OK)
        rc = read_claims(c, (const char *)bytes, n, arena, now, &cl, err);
    if (rc == SB_JWT_OK)
        *out = cl;
    return rc;
}

/* ---- minting ----------------------------------------------------------- */

bool sb_jwt_sign_hs256(const sb_jwt_config *c, const sb_jwt_mint *claims, int64_t now, int64_t ttl,
                       sb_buf *out, sb_jwt_error *err)
{
    ok(err);
    if (!c || !claims || !out) {
        fail(err, SB_JWT_ERR_CONFIG, "sign: missing argument");
        return false;
    }
    if (c->alg != SB_JWT_HS256) {
        fail(err, SB_JWT_ERR_CONFIG, "sign: the configuration is %s, minting is HS256 only",
             sb_jwt_alg_name(c->alg));
        return false;
    }
    if (ttl <= 0 || now > INT64_MAX - ttl) {
        fail(err, SB_JWT_ERR_CONFIG, "sign: ttl must be positive and now + ttl must fit");
        return false;
    }
    if (claims->artifacts_count && !claims->artifacts) {
        fail(err, SB_JWT_ERR_CONFIG, "sign: artifacts_count without artifacts");
        return false;
    }
    sb_buf p;
    sb_buf_init(&p);
    sb_buf_putc(&p, '{');
    if (c->issuer) {
        SB_BUF_PUT_LIT(&p, "\"iss\":");
        sb_write_string(&p, (sb_str){c->issuer, strlen(c->issuer)});
        sb_buf_putc(&p, ',');
    }
    if (c->audience) {
        SB_BUF_PUT_LIT(&p, "\"aud\":");
        sb_write_string(&p, (sb_str){c->audience, strlen(c->audience)});
        sb_buf_putc(&p, ',');
    }
    const char *names[3] = {c->claim_user, c->claim_company, c->claim_session};
    const char *values[3] = {claims->user, claims->company, claims->session};
    for (int i = 0; i < 3; i++) {
        if (!values[i])
            continue;
        sb_write_string(&p, (sb_str){names[i], strlen(names[i])});
        sb_buf_putc(&p, ':');
        sb_write_string(&p, (sb_str){values[i], strlen(values[i])});
        sb_buf_putc(&p, ',');
    }
    if (claims->artifacts_all || claims->artifacts_count) {
        sb_write_string(&p, (sb_str){c->claim_artifacts, strlen(c->claim_artifacts)});
        sb_buf_putc(&p, ':');
        if (claims->artifacts_all) {
            SB_BUF_PUT_LIT(&p, "\"*\"");
        } else {
            sb_buf_putc(&p, '[');
            for (size_t i = 0; i < claims->artifacts_count; i++) {
                if (i)
                    sb_buf_putc(&p, ',');
                const char *a = claims->artifacts[i];
                sb_write_string(&p, (sb_str){a, strlen(a)});
            }
            sb_buf_putc(&p, ']');
        }
        sb_buf_putc(&p, ',');
    }
    if (claims->permissions_count) {
        SB_BUF_PUT_LIT(&p, "\"permissions\":[");
        for (size_t i = 0; i < claims->permissions_count; i++) {
            if (i)
                sb_buf_putc(&p, ',');
            const char *a = claims->permissions[i];
            sb_write_string(&p, (sb_str){a, strlen(a)});
        }
        SB_BUF_PUT_LIT(&p, "],");
    }
    SB_BUF_PUT_LIT(&p, "\"iat\":");
    sb_write_int64(&p, now);
    SB_BUF_PUT_LIT(&p, ",\"exp\":");
    sb_write_int64(&p, now + ttl);
    sb_buf_putc(&p, '}');
    if (p.oom) {
        sb_buf_free(&p);
        fail(err, SB_JWT_ERR_MEMORY, "sign: out of memory");
        return false;
    }

    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    size_t start = out->len;
    sb_b64url_encode(out, header, sizeof header - 1);
    sb_buf_putc(out, '.');
    sb_b64url_encode(out, p.data, p.len);
    sb_buf_free(&p);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (out->oom) {
        fail(err, SB_JWT_ERR_MEMORY, "sign: out of memory");
        goto bad;
    }
    if (!HMAC(EVP_sha256(), c->secret, (int)c->secret_len, (const unsigned char *)out->data + start,
              out->len - start, mac, &mac_len) ||
        mac_len != 32) {
        fail(err, SB_JWT_ERR_CRYPTO, "sign: HMAC failed");
        goto bad;
    }
    sb_buf_putc(out, '.');
    sb_b64url_encode(out, mac, mac_len);
    if (out->oom) {
        fail(err, SB_JWT_ERR_MEMORY, "sign: out of memory");
        goto bad;
    }
    if (out->len - start > SB_JWT_MAX_TOKEN) {
        fail(err, SB_JWT_ERR_TOO_LONG, "sign: token would be %zu bytes, at most %d are accepted",
             out->len - start, SB_JWT_MAX_TOKEN);
        goto bad;
    }
    return true;
bad:
    if (!out->oom)
        out->len = start;
    return false;
}
