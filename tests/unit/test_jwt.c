/* test_jwt.c: JWT verification and minting (jwt.h), against RFC 7515's
 * example, hand-made hostile tokens, and RSA/EC keys and signatures made
 * here with libcrypto's EVP API (an implementation independent of jwt.c's
 * verification path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "jwt.h"

#define NOW INT64_C(1700000000)
#define SECRET "0123456789abcdef0123456789abcdef" /* 32 bytes */
#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* ---- fixtures ---------------------------------------------------------- */

static EVP_PKEY *rsa_key, *rsa_other, *ec_key;
static char *rsa_pem, *rsa_other_pem, *ec_pem; /* public keys, PEM */
static sb_arena arena;
static sb_jwt_claims claims;
static sb_jwt_error error;

static char *kept[256];
static size_t n_kept;

static char *keep(char *p)
{
    assert_non_null(p);
    assert_true(n_kept < sizeof kept / sizeof kept[0]);
    kept[n_kept++] = p;
    return p;
}

static int free_kept(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_kept; i++)
        free(kept[i]);
    n_kept = 0;
    return 0;
}

static char *public_pem(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(bio);
    return out;
}

static int group_setup(void **state)
{
    (void)state;
    rsa_key = EVP_RSA_gen(2048);
    rsa_other = EVP_RSA_gen(2048);
    ec_key = EVP_EC_gen("P-256");
    if (!rsa_key || !rsa_other || !ec_key)
        return -1;
    rsa_pem = public_pem(rsa_key);
    rsa_other_pem = public_pem(rsa_other);
    ec_pem = public_pem(ec_key);
    sb_arena_init(&arena, 1 << 20);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_other);
    EVP_PKEY_free(ec_key);
    free(rsa_pem);
    free(rsa_other_pem);
    free(ec_pem);
    sb_arena_free(&arena);
    return 0;
}

/* ---- token makers (independent of jwt.c but for base64url) ------------- */

static char *buf_cstr(sb_buf *b)
{
    sb_buf_putc(b, '\0');
    assert_false(b->oom);
    return keep(b->data);
}

static char *join(const char *h, const char *p, const unsigned char *sig, size_t n)
{
    sb_buf b;
    sb_buf_init(&b);
    sb_b64url_encode(&b, h, strlen(h));
    sb_buf_putc(&b, '.');
    sb_b64url_encode(&b, p, strlen(p));
    sb_buf_putc(&b, '.');
    sb_b64url_encode(&b, sig, n);
    return buf_cstr(&b);
}

/* An HS256 token over any header and payload with any secret. */
static char *tok_hs(const void *secret, size_t slen, const char *h, const char *p)
{
    sb_buf b;
    sb_buf_init(&b);
    sb_b64url_encode(&b, h, strlen(h));
    sb_buf_putc(&b, '.');
    sb_b64url_encode(&b, p, strlen(p));
    unsigned char mac[32];
    unsigned int n = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)slen, (unsigned char *)b.data, b.len, mac, &n));
    sb_buf_putc(&b, '.');
    sb_b64url_encode(&b, mac, n);
    return buf_cstr(&b);
}

static char *tok(const char *p)
{
    return tok_hs(SECRET, 32, HS_HEADER, p);
}

/* EVP signature over "h.p"; for EC, der = keep the DER form libcrypto makes
 * instead of converting it to JWS's R||S. */
static char *tok_evp(EVP_PKEY *k, const char *h, const char *p, bool der)
{
    sb_buf b;
    sb_buf_init(&b);
    sb_b64url_encode(&b, h, strlen(h));
    sb_buf_putc(&b, '.');
    sb_b64url_encode(&b, p, strlen(p));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
    size_t n = 0;
    assert_int_equal(EVP_DigestSign(ctx, NULL, &n, (unsigned char *)b.data, b.len), 1);
    unsigned char *sig = malloc(n);
    assert_int_equal(EVP_DigestSign(ctx, sig, &n, (unsigned char *)b.data, b.len), 1);
    EVP_MD_CTX_free(ctx);
    sb_buf_putc(&b, '.');
    if (EVP_PKEY_is_a(k, "EC") && !der) {
        const unsigned char *q = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)n);
        assert_non_null(es);
        unsigned char raw[64];
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
        ECDSA_SIG_free(es);
        sb_b64url_encode(&b, raw, 64);
    } else {
        sb_b64url_encode(&b, sig, n);
    }
    free(sig);
    return buf_cstr(&b);
}

static char *payload_exp(int64_t exp)
{
    char *p = keep(malloc(64));
    snprintf(p, 64, "{\"sub\":\"u1\",\"exp\":%lld}", (long long)exp);
    return p;
}

/* ---- configurations and the verify call -------------------------------- */

static sb_jwt_config *cfg_hs_with(const char *iss, const char *aud, int leeway)
{
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    o.secret = SECRET;
    o.secret_len = 32;
    o.issuer = iss;
    o.audience = aud;
    o.leeway = leeway;
    sb_jwt_error e;
    sb_jwt_config *c = sb_jwt_config_new(&o, &e);
    if (!c)
        fail_msg("config: %s", e.msg);
    return c;
}

static sb_jwt_config *cfg_hs(void)
{
    return cfg_hs_with(NULL, NULL, SB_JWT_LEEWAY_DEFAULT);
}

static sb_jwt_config *cfg_pem(sb_jwt_alg alg, const char *pem, sb_jwt_error *e)
{
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = alg;
    o.public_key_pem = pem;
    o.public_key_pem_len = strlen(pem);
    return sb_jwt_config_new(&o, e);
}

/* Verifies and checks that the error text leaks neither the secret nor any
 * part of the token. */
static sb_jwt_err verify(const sb_jwt_config *c, const char *t, int64_t now)
{
    sb_arena_reset(&arena);
    sb_jwt_err rc = sb_jwt_verify(c, t, strlen(t), now, &arena, &claims, &error);
    assert_int_equal(rc, error.code);
    if (rc == SB_JWT_OK) {
        assert_string_equal(error.msg, "");
    } else {
        assert_true(error.msg[0] != '\0');
        assert_null(strstr(error.msg, SECRET));
        const char *d1 = strchr(t, '.');
        if (d1 && d1 - t >= 8) /* the encoded header is never quoted */
            assert_null(strstr(error.msg, keep(strndup(t, (size_t)(d1 - t)))));
        assert_null(claims.user);
        assert_int_equal(claims.exp, 0);
    }
    return rc;
}

#define assert_refused(rc, code, text)                                                             \
    do {                                                                                           \
        assert_int_equal((rc), (code));                                                            \
        if (!strstr(error.msg, (text)))                                                            \
            fail_msg("error \"%s\" lacks \"%s\"", error.msg, (text));                              \
    } while (0)

/* ---- tests ------------------------------------------------------------- */

/* RFC 7515 A.1: the HS256 example, byte for byte, including its signature
 * value and its header's CRLF whitespace. Its exp (2011) is past, hence the
 * clock parameter. */
static void test_rfc7515_a1(void **state)
{
    (void)state;
    static const char token[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const char k[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    static const unsigned char expected_sig[32] = {
        116, 24,  223, 180, 151, 153, 224, 37,  79, 250, 96, 125, 216, 173, 187, 186,
        22,  212, 37,  77,  105, 214, 191, 240, 91, 88,  5,  88,  83,  132, 141, 121};
    unsigned char key[64], sig[48];
    assert_int_equal(sb_b64url_decode(k, strlen(k), key), 64);
    const char *d2 = strrchr(token, '.');
    assert_int_equal(sb_b64url_decode(d2 + 1, strlen(d2 + 1), sig), 32);
    assert_memory_equal(sig, expected_sig, 32);
    /* and an independent HMAC over the signing input gives those bytes */
    unsigned char mac[32];
    unsigned int n;
    HMAC(EVP_sha256(), key, 64, (const unsigned char *)token, (size_t)(d2 - token), mac, &n);
    assert_memory_equal(mac, expected_sig, 32);

    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    o.secret = key;
    o.secret_len = 64;
    o.issuer = "joe";
    sb_jwt_config *c = sb_jwt_config_new(&o, NULL);
    assert_non_null(c);
    assert_int_equal(verify(c, token, 1300819380 - 3600), SB_JWT_OK);
    assert_int_equal(claims.exp, 1300819380);
    assert_null(claims.user);
    assert_int_equal(verify(c, token, 1300819380 + 59), SB_JWT_OK); /* leeway */
    assert_refused(verify(c, token, 1300819380 + 60), SB_JWT_ERR_EXPIRED, "exp: expired");
    assert_refused(verify(c, token, NOW), SB_JWT_ERR_EXPIRED, "exp: expired");
    sb_jwt_config_free(c);
}

static void test_round_trip(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs_with("switchboard-dev", "switchboard", 60);
    sb_buf b;
    sb_buf_init(&b);
    const char *arts[] = {"doc-1", "doc \"2\"", "\xc3\xa9t\xc3\xa9"};
    sb_jwt_mint m = {.user = "alice",
                     .company = "acme",
                     .session = "s-42",
                     .artifacts = arts,
                     .artifacts_count = 3};
    assert_true(sb_jwt_sign_hs256(c, &m, NOW, 600, &b, &error));
    char *t = buf_cstr(&b);
    assert_int_equal(verify(c, t, NOW + 10), SB_JWT_OK);
    assert_string_equal(claims.user, "alice");
    assert_string_equal(claims.company, "acme");
    assert_string_equal(claims.session, "s-42");
    assert_false(claims.artifacts_all);
    assert_int_equal(claims.artifacts_count, 3);
    assert_string_equal(claims.artifacts[1], "doc \"2\"");
    assert_string_equal(claims.artifacts[2], "\xc3\xa9t\xc3\xa9");
    assert_int_equal(claims.exp, NOW + 600);
    assert_false(claims.has_nbf);
    assert_refused(verify(c, t, NOW + 660), SB_JWT_ERR_EXPIRED, "exp");

    /* "*" and absent claims */
    sb_buf_init(&b);
    sb_jwt_mint all = {.user = "bob", .artifacts_all = true};
    assert_true(sb_jwt_sign_hs256(c, &all, NOW, 60, &b, NULL));
    t = buf_cstr(&b);
    assert_int_equal(verify(c, t, NOW), SB_JWT_OK);
    assert_true(claims.artifacts_all);
    assert_null(claims.company);
    assert_null(claims.session);
    assert_int_equal(claims.artifacts_count, 0);

    /* bad ttl */
    sb_buf_init(&b);
    assert_false(sb_jwt_sign_hs256(c, &all, NOW, 0, &b, &error));
    assert_int_equal(b.len, 0);
    sb_buf_free(&b);
    sb_jwt_config_free(c);

    /* configured claim names are the ones read and written */
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    o.secret = SECRET;
    o.secret_len = 32;
    o.claim_user = "uid";
    o.claim_company = "org";
    o.claim_session = "session";
    o.claim_artifacts = "docs";
    c = sb_jwt_config_new(&o, NULL);
    assert_non_null(c);
    t = tok("{\"sub\":\"x\",\"uid\":\"u\",\"org\":\"o\",\"session\":\"s\",\"docs\":\"*\","
            "\"exp\":1700000100}");
    assert_int_equal(verify(c, t, NOW), SB_JWT_OK);
    assert_string_equal(claims.user, "u");
    assert_string_equal(claims.company, "o");
    assert_string_equal(claims.session, "s");
    assert_true(claims.artifacts_all);
    sb_jwt_config_free(c);
}

static void test_alg_none_and_others(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    const char *p = payload_exp(NOW + 100);
    static const unsigned char junk[32] = {1, 2, 3};
    /* unsecured JWS, with an empty signature and with one */
    assert_refused(verify(c, join("{\"alg\":\"none\"}", p, NULL, 0), NOW), SB_JWT_ERR_ALG,
                   "alg: expected HS256, got none");
    assert_refused(verify(c, join("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, junk, 32), NOW),
                   SB_JWT_ERR_ALG, "alg: expected HS256, got none");
    assert_refused(verify(c, join("{\"alg\":\"NONE\"}", p, NULL, 0), NOW), SB_JWT_ERR_ALG,
                   "got NONE");
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"hs256\"}", p), NOW), SB_JWT_ERR_ALG,
                   "got hs256");
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS512\"}", p), NOW), SB_JWT_ERR_ALG,
                   "got HS512");
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"typ\":\"JWT\"}", p), NOW), SB_JWT_ERR_ALG,
                   "alg: missing");
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":null}", p), NOW), SB_JWT_ERR_ALG,
                   "alg: not a string");
    /* a value that is not a short name is not echoed */
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS256 <script>\"}", p), NOW),
                   SB_JWT_ERR_ALG, "got another value");
    /* an empty signature with the right alg is a length error */
    assert_refused(verify(c, join(HS_HEADER, p, NULL, 0), NOW), SB_JWT_ERR_SIGNATURE,
                   "signature: expected 32 bytes, got 0");
    sb_jwt_config_free(c);
}

/* The classic key confusion: the RSA public key (public!) used as an HMAC
 * secret. An RS256 configuration must not fall back to HMAC. */
static void test_rs_hs_confusion(void **state)
{
    (void)state;
    const char *p = payload_exp(NOW + 100);
    sb_jwt_config *rs = cfg_pem(SB_JWT_RS256, rsa_pem, NULL);
    assert_non_null(rs);
    char *forged = tok_hs(rsa_pem, strlen(rsa_pem), HS_HEADER, p);
    assert_refused(verify(rs, forged, NOW), SB_JWT_ERR_ALG, "alg: expected RS256, got HS256");
    /* and with "alg":"RS256" but an HMAC made with the PEM: a bad signature */
    forged = tok_hs(rsa_pem, strlen(rsa_pem), "{\"alg\":\"RS256\"}", p);
    assert_refused(verify(rs, forged, NOW), SB_JWT_ERR_SIGNATURE, "signature: expected 256 bytes");
    assert_int_equal(verify(rs, tok_evp(rsa_key, "{\"alg\":\"RS256\"}", p, false), NOW), SB_JWT_OK);

    /* vice versa: an HS256 configuration (whose secret happens to be that
     * PEM text) given a genuine RS256 token */
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    o.secret = rsa_pem;
    o.secret_len = strlen(rsa_pem);
    sb_jwt_config *hs = sb_jwt_config_new(&o, NULL);
    assert_non_null(hs);
    assert_refused(verify(hs, tok_evp(rsa_key, "{\"alg\":\"RS256\"}", p, false), NOW),
                   SB_JWT_ERR_ALG, "alg: expected HS256, got RS256");
    assert_int_equal(verify(hs, tok_hs(rsa_pem, strlen(rsa_pem), HS_HEADER, p), NOW), SB_JWT_OK);
    sb_jwt_config_free(hs);
    sb_jwt_config_free(rs);
}

static void test_config_refusals(void **state)
{
    (void)state;
    sb_jwt_options o;
    sb_jwt_error e;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    assert_null(sb_jwt_config_new(&o, &e));
    assert_int_equal(e.code, SB_JWT_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "secret: empty"));
    o.secret = "";
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "secret: empty"));
    o.secret = SECRET;
    o.secret_len = 31;
    assert_null(sb_jwt_config_new(&o, &e));
    assert_string_equal(e.msg, "secret: 31 bytes, at least 32 are required");
    o.secret_len = 32;
    sb_jwt_config *c = sb_jwt_config_new(&o, &e);
    assert_non_null(c);
    assert_int_equal(sb_jwt_config_alg(c), SB_JWT_HS256);
    sb_jwt_config_free(c);

    o.leeway = 301;
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "leeway"));
    o.leeway = -1;
    assert_null(sb_jwt_config_new(&o, &e));
    o.leeway = 300;
    o.claim_user = "exp";
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "claim names"));
    o.claim_user = "sid";
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "sid is used twice"));
    o.claim_user = NULL;
    o.issuer = "";
    assert_null(sb_jwt_config_new(&o, &e));
    o.issuer = NULL;
    o.public_key_pem = rsa_pem;
    o.public_key_pem_len = strlen(rsa_pem);
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "HS256 takes a secret"));
    o.alg = 0;
    assert_null(sb_jwt_config_new(&o, &e));
    assert_null(sb_jwt_config_new(NULL, &e));

    /* public keys: the type must match the algorithm */
    assert_null(cfg_pem(SB_JWT_RS256, ec_pem, &e));
    assert_string_equal(e.msg, "key: EC key, RS256 needs an RSA key");
    assert_null(cfg_pem(SB_JWT_ES256, rsa_pem, &e));
    assert_non_null(strstr(e.msg, "ES256 needs an EC P-256 key"));
    assert_null(cfg_pem(SB_JWT_RS256, "not a pem", &e));
    assert_non_null(strstr(e.msg, "no PEM public key"));
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    char *pem = public_pem(p384);
    assert_null(cfg_pem(SB_JWT_ES256, pem, &e));
    assert_non_null(strstr(e.msg, "not on P-256"));
    free(pem);
    EVP_PKEY_free(p384);
    EVP_PKEY *small = EVP_RSA_gen(1024);
    pem = public_pem(small);
    assert_null(cfg_pem(SB_JWT_RS256, pem, &e));
    assert_string_equal(e.msg, "key: RSA key of 1024 bits, at least 2048 are required");
    free(pem);
    EVP_PKEY_free(small);
    /* a secret with an RS256 configuration, or no key at all */
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_RS256;
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "exactly one"));
    o.secret = SECRET;
    o.secret_len = 32;
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "not a secret"));

    /* from a file */
    char path[] = "/tmp/sb-jwt-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, ec_pem, strlen(ec_pem)), (ssize_t)strlen(ec_pem));
    close(fd);
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_ES256;
    o.public_key_file = path;
    c = sb_jwt_config_new(&o, &e);
    assert_non_null(c);
    assert_int_equal(
        verify(c, tok_evp(ec_key, "{\"alg\":\"ES256\"}", payload_exp(NOW + 9), false), NOW),
        SB_JWT_OK);
    sb_jwt_config_free(c);
    unlink(path);
    assert_null(sb_jwt_config_new(&o, &e));
    assert_non_null(strstr(e.msg, "cannot open"));
}

static void test_exp_and_nbf(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    assert_int_equal(verify(c, tok(payload_exp(NOW + 1)), NOW), SB_JWT_OK);
    assert_int_equal(verify(c, tok(payload_exp(NOW - 30)), NOW), SB_JWT_OK); /* within leeway */
    assert_int_equal(verify(c, tok(payload_exp(NOW - 59)), NOW), SB_JWT_OK);
    assert_refused(verify(c, tok(payload_exp(NOW - 60)), NOW), SB_JWT_ERR_EXPIRED, "exp: expired");
    assert_refused(verify(c, tok(payload_exp(NOW - 3600)), NOW), SB_JWT_ERR_EXPIRED, "exp");
    assert_refused(verify(c, tok(payload_exp(INT64_MIN)), NOW), SB_JWT_ERR_EXPIRED, "exp");
    assert_int_equal(verify(c, tok(payload_exp(INT64_MAX)), NOW), SB_JWT_OK);

    assert_refused(verify(c, tok("{\"sub\":\"u\"}"), NOW), SB_JWT_ERR_CLAIMS, "exp: missing");
    assert_refused(verify(c, tok("{\"exp\":\"1700000100\"}"), NOW), SB_JWT_ERR_CLAIMS,
                   "exp: not an integer");
    assert_refused(verify(c, tok("{\"exp\":1700000100.5}"), NOW), SB_JWT_ERR_CLAIMS,
                   "exp: not an integer");
    assert_refused(verify(c, tok("{\"exp\":1700000100.0}"), NOW), SB_JWT_ERR_CLAIMS,
                   "exp: not an integer");
    assert_refused(verify(c, tok("{\"exp\":1.7e9}"), NOW), SB_JWT_ERR_CLAIMS,
                   "exp: not an integer");
    assert_refused(verify(c, tok("{\"exp\":null}"), NOW), SB_JWT_ERR_CLAIMS, "exp: not an integer");
    assert_refused(verify(c, tok("{\"exp\":99999999999999999999}"), NOW), SB_JWT_ERR_CLAIMS,
                   "exp: not an integer");

    /* nbf */
    assert_int_equal(verify(c, tok("{\"exp\":1700000100,\"nbf\":1700000050}"), NOW), SB_JWT_OK);
    assert_true(claims.has_nbf);
    assert_int_equal(claims.nbf, NOW + 50);
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"nbf\":1700000061}"), NOW),
                   SB_JWT_ERR_NOT_YET, "nbf: not yet valid");
    assert_refused(verify(c, tok("{\"exp\":1700009999,\"nbf\":1700003600}"), NOW),
                   SB_JWT_ERR_NOT_YET, "nbf");
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"nbf\":1699999999.5}"), NOW),
                   SB_JWT_ERR_CLAIMS, "nbf: not an integer");
    sb_jwt_config_free(c);

    /* leeway 0: exp == now is expired (the time must be before exp) */
    c = cfg_hs_with(NULL, NULL, 0);
    assert_refused(verify(c, tok(payload_exp(NOW)), NOW), SB_JWT_ERR_EXPIRED, "exp");
    assert_int_equal(verify(c, tok(payload_exp(NOW + 1)), NOW), SB_JWT_OK);
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"nbf\":1700000001}"), NOW),
                   SB_JWT_ERR_NOT_YET, "nbf");
    sb_jwt_config_free(c);
}

static void test_iss_and_aud(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs_with("https://auth.example", "switchboard", 60);
    assert_int_equal(verify(c,
                            tok("{\"iss\":\"https://auth.example\",\"aud\":\"switchboard\","
                                "\"exp\":1700000100}"),
                            NOW),
                     SB_JWT_OK);
    assert_int_equal(verify(c,
                            tok("{\"iss\":\"https://auth.example\",\"aud\":[\"other\","
                                "\"switchboard\"],\"exp\":1700000100}"),
                            NOW),
                     SB_JWT_OK);
    assert_refused(verify(c,
                          tok("{\"iss\":\"https://evil.example\",\"aud\":\"switchboard\","
                              "\"exp\":1700000100}"),
                          NOW),
                   SB_JWT_ERR_ISSUER, "iss: not the expected issuer");
    assert_null(strstr(error.msg, "evil"));
    assert_refused(verify(c, tok("{\"aud\":\"switchboard\",\"exp\":1700000100}"), NOW),
                   SB_JWT_ERR_ISSUER, "iss: missing");
    assert_refused(
        verify(c, tok("{\"iss\":[\"https://auth.example\"],\"aud\":\"x\",\"exp\":1700000100}"),
               NOW),
        SB_JWT_ERR_CLAIMS, "iss: not a string");
    assert_refused(verify(c,
                          tok("{\"iss\":\"https://auth.example\",\"aud\":\"switchboard2\",\"exp\":"
                              "1700000100}"),
                          NOW),
                   SB_JWT_ERR_AUDIENCE, "aud: not the expected audience");
    assert_refused(verify(c,
                          tok("{\"iss\":\"https://auth.example\",\"aud\":[\"a\",\"b\"],"
                              "\"exp\":1700000100}"),
                          NOW),
                   SB_JWT_ERR_AUDIENCE, "aud: not the expected audience");
    assert_refused(
        verify(c, tok("{\"iss\":\"https://auth.example\",\"aud\":[],\"exp\":1700000100}"), NOW),
        SB_JWT_ERR_AUDIENCE, "aud");
    assert_refused(verify(c, tok("{\"iss\":\"https://auth.example\",\"exp\":1700000100}"), NOW),
                   SB_JWT_ERR_AUDIENCE, "aud: missing");
    assert_refused(verify(c,
                          tok("{\"iss\":\"https://auth.example\",\"aud\":[\"switchboard\",1],"
                              "\"exp\":1700000100}"),
                          NOW),
                   SB_JWT_ERR_CLAIMS, "aud: a list entry is not a string");
    assert_refused(verify(c,
                          tok("{\"iss\":\"https://auth.example\",\"aud\":{\"x\":1},"
                              "\"exp\":1700000100}"),
                          NOW),
                   SB_JWT_ERR_CLAIMS, "aud: neither");
    sb_jwt_config_free(c);

    /* no audience configured: a token addressed to one is not for us */
    c = cfg_hs();
    assert_refused(verify(c, tok("{\"aud\":\"someone\",\"exp\":1700000100}"), NOW),
                   SB_JWT_ERR_AUDIENCE, "aud: present, but no audience is configured");
    assert_int_equal(verify(c, tok("{\"iss\":\"anyone\",\"exp\":1700000100}"), NOW), SB_JWT_OK);
    sb_jwt_config_free(c);
}

static void test_tampering(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    char *t = tok("{\"sub\":\"alice\",\"exp\":1700000100}");
    assert_int_equal(verify(c, t, NOW), SB_JWT_OK);
    /* the payload says bob now, signature unchanged */
    char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    sb_buf b;
    sb_buf_init(&b);
    sb_buf_put(&b, t, (size_t)(d1 - t + 1));
    const char *bob = "{\"sub\":\"bobby\",\"exp\":1700000100}";
    sb_b64url_encode(&b, bob, strlen(bob));
    sb_buf_put(&b, d2, strlen(d2));
    assert_refused(verify(c, buf_cstr(&b), NOW), SB_JWT_ERR_SIGNATURE,
                   "signature: does not verify");
    /* one payload character flipped */
    char *u = keep(strdup(t));
    u[d1 - t + 3] = u[d1 - t + 3] == 'A' ? 'B' : 'A';
    assert_refused(verify(c, u, NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    /* one signature bit flipped (the first character: all 6 bits count) */
    u = keep(strdup(t));
    u[d2 - t + 1] = u[d2 - t + 1] == 'A' ? 'B' : 'A';
    assert_refused(verify(c, u, NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    /* a wrong secret */
    assert_refused(
        verify(c, tok_hs("another secret of thirty-two byt", 32, HS_HEADER, "{\"exp\":1700000100}"),
               NOW),
        SB_JWT_ERR_SIGNATURE, "does not verify");
    /* a signature too long or too short */
    static const unsigned char sig33[33] = {0};
    assert_refused(verify(c, join(HS_HEADER, "{\"exp\":1700000100}", sig33, 33), NOW),
                   SB_JWT_ERR_SIGNATURE, "expected 32 bytes, got 33");
    assert_refused(verify(c, join(HS_HEADER, "{\"exp\":1700000100}", sig33, 31), NOW),
                   SB_JWT_ERR_SIGNATURE, "expected 32 bytes, got 31");
    sb_jwt_config_free(c);
}

static void test_base64url_strict(void **state)
{
    (void)state;
    unsigned char out[16];
    assert_int_equal(sb_b64url_decode("", 0, out), 0);
    assert_int_equal(sb_b64url_decode("Zg", 2, out), 1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(sb_b64url_decode("Zm8", 3, out), 2);
    assert_int_equal(sb_b64url_decode("Zm9v", 4, out), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(sb_b64url_decode("-_-_", 4, out), 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);
    assert_int_equal(sb_b64url_decode("Zg==", 4, out), -1); /* padding */
    assert_int_equal(sb_b64url_decode("Zg=", 3, out), -1);
    assert_int_equal(sb_b64url_decode("+/+/", 4, out), -1);  /* base64, not base64url */
    assert_int_equal(sb_b64url_decode("Zm9", 3, out), -1);   /* 'o' is Zm8: low bits set */
    assert_int_equal(sb_b64url_decode("Zh", 2, out), -1);    /* 'f' is Zg */
    assert_int_equal(sb_b64url_decode("Zm9vY", 5, out), -1); /* 4k+1 */
    assert_int_equal(sb_b64url_decode("Zm 9", 4, out), -1);
    assert_int_equal(sb_b64url_decode("Zm\n9v", 5, out), -1);

    sb_jwt_config *c = cfg_hs();
    char *t = tok("{\"sub\":\"u\",\"exp\":1700000100}");
    assert_int_equal(verify(c, t, NOW), SB_JWT_OK);
    char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    size_t hl = (size_t)(d1 - t), pl = (size_t)(d2 - d1 - 1);
    char buf[512];
    /* padding added to the signature (43 characters, padded to 44) */
    snprintf(buf, sizeof buf, "%s=", t);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "signature: not base64url");
    /* padding in the header */
    snprintf(buf, sizeof buf, "%.*s=%s", (int)hl, t, d1);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "header: not base64url");
    /* '+' or '/' in the payload: the signature over the raw bytes is checked
     * first, so a changed payload is a signature failure... */
    char *u = keep(strdup(t));
    u[hl + 1 + pl / 2] = '+';
    assert_refused(verify(c, u, NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    /* ...and one correctly signed over its bad text is a base64url failure */
    static const char *const bad_payloads[] = {
        "eyJleHAiOjE3MDAwMDAxMDB9",   /* control: {"exp":1700000100} */
        "eyJleHAiOjE3MDAwMDAxMDB9==", /* padding */
        "eyJleHAiOjE3MDAw+DAxMDB9",   /* '+' */
        "eyJleHAiOjE3MDAw/DAxMDB9",   /* '/' */
        "eyJleHAiOjE3MDAwMDAxMDB9A",  /* 4k+1 characters */
        "eyJleHAiOjE3MDAwMDAxMDB9\n", /* a backslash */
    };
    for (size_t i = 0; i < sizeof bad_payloads / sizeof bad_payloads[0]; i++) {
        sb_buf b;
        sb_buf_init(&b);
        sb_buf_put(&b, t, hl + 1);
        sb_buf_put(&b, bad_payloads[i], strlen(bad_payloads[i]));
        unsigned char mac[32];
        unsigned int n = 0;
        HMAC(EVP_sha256(), SECRET, 32, (unsigned char *)b.data, b.len, mac, &n);
        sb_buf_putc(&b, '.');
        sb_b64url_encode(&b, mac, n);
        u = buf_cstr(&b);
        if (i == 0)
            assert_int_equal(verify(c, u, NOW), SB_JWT_OK);
        else
            assert_refused(verify(c, u, NOW), SB_JWT_ERR_FORMAT, "payload: not base64url");
    }
    u = keep(strdup(t));
    u[strlen(u) - 2] = '/';
    assert_refused(verify(c, u, NOW), SB_JWT_ERR_FORMAT, "signature: not base64url");
    /* whitespace */
    snprintf(buf, sizeof buf, "%.*s %s", (int)hl, t, d1);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "header: not base64url");
    sb_jwt_config_free(c);
}

static void test_dots(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    char *t = tok("{\"exp\":1700000100}");
    char buf[512];
    snprintf(buf, sizeof buf, "%s.", t);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "got 3 dots");
    snprintf(buf, sizeof buf, "%s.%s", t, strrchr(t, '.') + 1);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "got 3 dots");
    snprintf(buf, sizeof buf, "%.*s", (int)(strrchr(t, '.') - t), t);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "got 1 dots");
    assert_refused(verify(c, "abc", NOW), SB_JWT_ERR_FORMAT, "got 0 dots");
    assert_refused(verify(c, "", NOW), SB_JWT_ERR_FORMAT, "got 0 dots");
    assert_refused(verify(c, "..", NOW), SB_JWT_ERR_FORMAT, "empty");
    snprintf(buf, sizeof buf, ".%s", strchr(t, '.') + 1);
    assert_refused(verify(c, buf, NOW), SB_JWT_ERR_FORMAT, "empty");
    sb_jwt_config_free(c);
}

static void test_oversize(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    /* grow a padding claim until the token passes 8 KiB: the last one at or
     * under the limit verifies, the first one over it is refused by size */
    char *payload = keep(malloc(8192));
    const char *last_ok = NULL;
    for (size_t pad = 6000; pad < 6200; pad++) {
        snprintf(payload, 8192, "{\"exp\":1700000100,\"pad\":\"%0*d\"}", (int)pad, 0);
        char *t = tok(payload);
        if (strlen(t) <= SB_JWT_MAX_TOKEN) {
            last_ok = t;
            continue;
        }
        assert_non_null(last_ok);
        assert_true(strlen(last_ok) > SB_JWT_MAX_TOKEN - 4);
        assert_int_equal(verify(c, last_ok, NOW), SB_JWT_OK);
        assert_refused(verify(c, t, NOW), SB_JWT_ERR_TOO_LONG, "at most 8192");
        break;
    }
    /* and a megabyte of dots is refused by size before anything else */
    char *big = keep(malloc(1 << 20));
    memset(big, '.', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    assert_refused(verify(c, big, NOW), SB_JWT_ERR_TOO_LONG, "token: 1048575 bytes");
    /* minting refuses to make one either */
    sb_buf b;
    sb_buf_init(&b);
    char *huge = keep(calloc(7000, 1));
    memset(huge, 'x', 6999);
    sb_jwt_mint m = {.user = huge};
    assert_false(sb_jwt_sign_hs256(c, &m, NOW, 60, &b, &error));
    assert_int_equal(error.code, SB_JWT_ERR_TOO_LONG);
    assert_int_equal(b.len, 0);
    sb_buf_free(&b);
    sb_jwt_config_free(c);
}

static void test_json_strictness(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"exp\":1800000000}"), NOW),
                   SB_JWT_ERR_CLAIMS, "duplicate member");
    assert_refused(verify(c, tok("{\"sub\":\"a\",\"exp\":1700000100,\"sub\":\"b\"}"), NOW),
                   SB_JWT_ERR_CLAIMS, "duplicate member");
    assert_refused(verify(c, tok("{\"x\":1,\"exp\":1700000100,\"x\":1}"), NOW), SB_JWT_ERR_CLAIMS,
                   "duplicate member");
    assert_refused(verify(c, tok("{\"x\":[{\"a\":1,\"a\":2}],\"exp\":1700000100}"), NOW),
                   SB_JWT_ERR_CLAIMS, "duplicate member");
    /* an escaped spelling of the same name is the same name */
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"\\u0065xp\":1800000000}"), NOW),
                   SB_JWT_ERR_CLAIMS, "duplicate member");
    assert_refused(
        verify(c,
               tok_hs(SECRET, 32, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "{\"exp\":1700000100}"),
               NOW),
        SB_JWT_ERR_HEADER, "duplicate member");
    assert_refused(verify(c, tok("[{\"exp\":1700000100}]"), NOW), SB_JWT_ERR_CLAIMS,
                   "payload: not a JSON object");
    assert_refused(verify(c, tok("{\"exp\":1700000100,}"), NOW), SB_JWT_ERR_CLAIMS, "payload:");
    assert_refused(verify(c, tok("{\"exp\":1700000100} x"), NOW), SB_JWT_ERR_CLAIMS, "payload:");
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"sub\":\"\\ud800\"}"), NOW),
                   SB_JWT_ERR_CLAIMS, "payload:");
    assert_refused(
        verify(c, tok("{\"exp\":1700000100,\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}"), NOW),
        SB_JWT_ERR_CLAIMS, "nested deeper");
    /* claim types */
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"sub\":42}"), NOW), SB_JWT_ERR_CLAIMS,
                   "sub: not a string");
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"sub\":\"a\\u0000b\"}"), NOW),
                   SB_JWT_ERR_CLAIMS, "sub: holds a NUL");
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"artifacts\":\"all\"}"), NOW),
                   SB_JWT_ERR_CLAIMS, "artifacts: a string other than");
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"artifacts\":[\"a\",1]}"), NOW),
                   SB_JWT_ERR_CLAIMS, "artifacts: not a string");
    assert_refused(verify(c, tok("{\"exp\":1700000100,\"artifacts\":true}"), NOW),
                   SB_JWT_ERR_CLAIMS, "artifacts: neither");
    assert_int_equal(verify(c, tok("{\"exp\":1700000100,\"artifacts\":[]}"), NOW), SB_JWT_OK);
    assert_int_equal(claims.artifacts_count, 0);
    assert_false(claims.artifacts_all);
    /* escapes are decoded in claims */
    assert_int_equal(verify(c, tok("{\"exp\":1700000100,\"sub\":\"\\u00e9\\n\"}"), NOW), SB_JWT_OK);
    assert_string_equal(claims.user, "\xc3\xa9\n");
    sb_jwt_config_free(c);
}

static void test_header_rules(void **state)
{
    (void)state;
    sb_jwt_config *c = cfg_hs();
    const char *p = "{\"exp\":1700000100}";
    assert_int_equal(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS256\"}", p), NOW), SB_JWT_OK);
    assert_int_equal(verify(c, tok_hs(SECRET, 32, "{\"typ\":\"jwt\",\"alg\":\"HS256\"}", p), NOW),
                     SB_JWT_OK);
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", p), NOW),
                   SB_JWT_ERR_HEADER, "typ: expected JWT");
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS256\",\"typ\":1}", p), NOW),
                   SB_JWT_ERR_HEADER, "typ: not a string");
    assert_refused(
        verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", p), NOW),
        SB_JWT_ERR_HEADER, "crit:");
    /* kid, jku, jwk and x5u are never acted on: the configured key decides */
    assert_int_equal(verify(c,
                            tok_hs(SECRET, 32,
                                   "{\"alg\":\"HS256\",\"kid\":\"../../etc/passwd\","
                                   "\"jku\":\"https://evil.example/k\",\"x5u\":\"https://e\","
                                   "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
                                   p),
                            NOW),
                     SB_JWT_OK);
    assert_refused(verify(c,
                          tok_hs("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 38,
                                 "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}", p),
                          NOW),
                   SB_JWT_ERR_SIGNATURE, "does not verify");
    assert_refused(verify(c, tok_hs(SECRET, 32, "[\"HS256\"]", p), NOW), SB_JWT_ERR_HEADER,
                   "header: not a JSON object");
    assert_refused(verify(c, tok_hs(SECRET, 32, "{\"alg\":\"HS256\"", p), NOW), SB_JWT_ERR_HEADER,
                   "header:");
    sb_jwt_config_free(c);
}

static void test_rs256(void **state)
{
    (void)state;
    sb_jwt_error e;
    sb_jwt_config *c = cfg_pem(SB_JWT_RS256, rsa_pem, &e);
    assert_non_null(c);
    const char *h = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    const char *p = "{\"sub\":\"carol\",\"company_id\":\"c9\",\"sid\":\"s1\","
                    "\"artifacts\":[\"a\"],\"exp\":1700000100}";
    assert_int_equal(verify(c, tok_evp(rsa_key, h, p, false), NOW), SB_JWT_OK);
    assert_string_equal(claims.user, "carol");
    assert_string_equal(claims.company, "c9");
    assert_int_equal(claims.artifacts_count, 1);
    /* signed by another key */
    assert_refused(verify(c, tok_evp(rsa_other, h, p, false), NOW), SB_JWT_ERR_SIGNATURE,
                   "signature: does not verify");
    /* a signature of the wrong length */
    static const unsigned char zero[255] = {0};
    assert_refused(verify(c, join(h, p, zero, 255), NOW), SB_JWT_ERR_SIGNATURE,
                   "expected 256 bytes, got 255");
    /* an EC signature to an RSA configuration */
    assert_refused(verify(c, tok_evp(ec_key, h, p, false), NOW), SB_JWT_ERR_SIGNATURE,
                   "expected 256 bytes");
    /* tampered payload */
    char *t = tok_evp(rsa_key, h, p, false);
    char *d1 = strchr(t, '.');
    d1[2] = d1[2] == 'A' ? 'B' : 'A';
    assert_refused(verify(c, t, NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    /* claims are checked after the signature: expired */
    assert_refused(verify(c, tok_evp(rsa_key, h, p, false), NOW + 3600), SB_JWT_ERR_EXPIRED, "exp");
    sb_jwt_config_free(c);
}

static void test_es256(void **state)
{
    (void)state;
    sb_jwt_error e;
    sb_jwt_config *c = cfg_pem(SB_JWT_ES256, ec_pem, &e);
    assert_non_null(c);
    const char *h = "{\"alg\":\"ES256\"}";
    const char *p = "{\"sub\":\"dave\",\"artifacts\":\"*\",\"exp\":1700000100}";
    /* several signatures: R or S with leading zero bytes are padded to 32 */
    for (int i = 0; i < 16; i++) {
        assert_int_equal(verify(c, tok_evp(ec_key, h, p, false), NOW), SB_JWT_OK);
        assert_string_equal(claims.user, "dave");
        assert_true(claims.artifacts_all);
    }
    /* the DER form libcrypto produces is not the JWS form: refused by length */
    assert_refused(verify(c, tok_evp(ec_key, h, p, true), NOW), SB_JWT_ERR_SIGNATURE,
                   "signature: expected 64 bytes (R||S), got 7");
    /* 63 and 65 bytes: the R||S of a good signature, cut or extended */
    char *t = tok_evp(ec_key, h, p, false);
    char *d2 = strrchr(t, '.');
    unsigned char raw[66];
    assert_int_equal(sb_b64url_decode(d2 + 1, strlen(d2 + 1), raw), 64);
    assert_refused(verify(c, join(h, p, raw, 63), NOW), SB_JWT_ERR_SIGNATURE, "got 63");
    raw[64] = 0;
    assert_refused(verify(c, join(h, p, raw, 65), NOW), SB_JWT_ERR_SIGNATURE, "got 65");
    /* R and S swapped, one bit of S flipped, all zero */
    unsigned char sw[64];
    memcpy(sw, raw + 32, 32);
    memcpy(sw + 32, raw, 32);
    assert_refused(verify(c, join(h, p, sw, 64), NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    raw[63] ^= 1;
    assert_refused(verify(c, join(h, p, raw, 64), NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    memset(raw, 0, 64);
    assert_refused(verify(c, join(h, p, raw, 64), NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    memset(raw, 0xff, 64);
    assert_refused(verify(c, join(h, p, raw, 64), NOW), SB_JWT_ERR_SIGNATURE, "does not verify");
    /* an RS256 token to the ES256 configuration */
    assert_refused(verify(c, tok_evp(rsa_key, "{\"alg\":\"RS256\"}", p, false), NOW),
                   SB_JWT_ERR_ALG, "alg: expected ES256, got RS256");
    /* minting is HS256 only */
    sb_buf b;
    sb_buf_init(&b);
    sb_jwt_mint m = {.user = "x"};
    assert_false(sb_jwt_sign_hs256(c, &m, NOW, 60, &b, &e));
    assert_int_equal(e.code, SB_JWT_ERR_CONFIG);
    sb_buf_free(&b);
    sb_jwt_config_free(c);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sb_jwt_err_name(SB_JWT_ERR_ALG), "alg");
    assert_string_equal(sb_jwt_err_name(SB_JWT_ERR__COUNT), "?");
    for (int i = 0; i < SB_JWT_ERR__COUNT; i++)
        assert_string_not_equal(sb_jwt_err_name((sb_jwt_err)i), "?");
    assert_string_equal(sb_jwt_alg_name(SB_JWT_ES256), "ES256");
}

#define T(f) cmocka_unit_test_teardown(f, free_kept)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_rfc7515_a1),
        T(test_round_trip),
        T(test_alg_none_and_others),
        T(test_rs_hs_confusion),
        T(test_config_refusals),
        T(test_exp_and_nbf),
        T(test_iss_and_aud),
        T(test_tampering),
        T(test_base64url_strict),
        T(test_dots),
        T(test_oversize),
        T(test_json_strictness),
        T(test_header_rules),
        T(test_rs256),
        T(test_es256),
        T(test_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
