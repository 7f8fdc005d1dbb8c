/*
 * jwt.h: JSON Web Token verification (HS256, RS256, ES256) and HS256 minting,
 * hand-rolled on OpenSSL 3's libcrypto, following RFC 8725 (JWT BCP).
 *
 * One configuration pins ONE algorithm and ONE key: the token's header never
 * chooses the algorithm or the key (alg must equal the configured one, "none"
 * included; kid is ignored; jku/jwk/x5u are never fetched or used; crit is
 * refused). base64url is decoded strictly (no padding, no other characters,
 * canonical trailing bits). The payload is read with the strict JSON reader
 * (json.h), and duplicate members are refused at every level. exp is
 * required and must be an integer; nbf, when present, too; both are checked
 * with a leeway. iss and aud are checked when configured (and a token that
 * carries aud is refused when no audience is configured, RFC 7519 4.1.3).
 *
 * Error texts name what was wrong ("alg: expected HS256, got none", "exp:
 * missing", "signature: does not verify") and never contain the token, the
 * key or a claim value. See docs/jwt.md.
 */
#ifndef SB_JWT_H
#define SB_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "base64.h"
#include "json.h"

#define SB_JWT_MAX_TOKEN 8192    /* bytes of a token; longer ones are refused */
#define SB_JWT_MIN_SECRET 32     /* bytes of an HS256 secret (RFC 7518 3.2) */
#define SB_JWT_LEEWAY_DEFAULT 60 /* seconds of clock skew allowed on exp/nbf */
#define SB_JWT_LEEWAY_MAX 300    /* most leeway a configuration may ask for */
#define SB_JWT_MIN_RSA_BITS 2048 /* RFC 7518 3.3 */
#define SB_JWT_MAX_ARTIFACTS 256 /* entries of the artifacts claim */
#define SB_JWT_ERR_MSG_MAX 160   /* bytes of an error text, NUL included */

typedef enum sb_jwt_alg { SB_JWT_HS256 = 1, SB_JWT_RS256, SB_JWT_ES256 } sb_jwt_alg;

const char *sb_jwt_alg_name(sb_jwt_alg alg); /* "HS256", ...; "?" otherwise */

/* What was wrong. Keep sb_jwt_err_name() in jwt.c in step. */
typedef enum sb_jwt_err {
    SB_JWT_OK = 0,
    SB_JWT_ERR_CONFIG,    /* the configuration was refused (bad key, secret, option) */
    SB_JWT_ERR_TOO_LONG,  /* token over SB_JWT_MAX_TOKEN bytes */
    SB_JWT_ERR_FORMAT,    /* not three strict base64url parts */
    SB_JWT_ERR_HEADER,    /* header not a JSON object, bad typ, crit present */
    SB_JWT_ERR_ALG,       /* header alg missing or not the configured one */
    SB_JWT_ERR_SIGNATURE, /* wrong length or does not verify */
    SB_JWT_ERR_CLAIMS,    /* payload not a JSON object, or a claim of the wrong type */
    SB_JWT_ERR_EXPIRED,   /* exp (plus leeway) has passed */
    SB_JWT_ERR_NOT_YET,   /* nbf (minus leeway) is in the future */
    SB_JWT_ERR_ISSUER,    /* iss missing or not the configured issuer */
    SB_JWT_ERR_AUDIENCE,  /* aud missing, wrong, or present when none is configured */
    SB_JWT_ERR_MEMORY,    /* the arena or malloc refused */
    SB_JWT_ERR_CRYPTO,    /* libcrypto failed for another reason */
    SB_JWT_ERR__COUNT
} sb_jwt_err;

const char *sb_jwt_err_name(sb_jwt_err e); /* "config", "alg", ... */

typedef struct sb_jwt_error {
    sb_jwt_err code;
    char msg[SB_JWT_ERR_MSG_MAX]; /* "WHAT: REASON", "" on success */
} sb_jwt_error;

/* What a configuration is made from. Start from sb_jwt_options_init() (a
 * zeroed struct means leeway 0 and the default claim names). Strings are
 * copied by sb_jwt_config_new(); they need not outlive the call. */
typedef struct sb_jwt_options {
    sb_jwt_alg alg; /* the only algorithm accepted */

    /* HS256: the shared secret, at least SB_JWT_MIN_SECRET bytes. */
    const void *secret;
    size_t secret_len;

    /* RS256 / ES256: the public key as PEM (SubjectPublicKeyInfo, "BEGIN
     * PUBLIC KEY"), from a file or from memory (exactly one of the two).
     * RS256 needs an RSA key of SB_JWT_MIN_RSA_BITS or more, ES256 an EC
     * key on P-256. */
    const char *public_key_file;
    const char *public_key_pem;
    size_t public_key_pem_len;

    const char *issuer;   /* NULL: iss not checked */
    const char *audience; /* NULL: a token with aud is refused */
    int leeway;           /* seconds, 0..SB_JWT_LEEWAY_MAX */

    /* Claim names (NULL: the default shown). */
    const char *claim_user;      /* "sub" */
    const char *claim_company;   /* "company_id" */
    const char *claim_session;   /* "sid" */
    const char *claim_artifacts; /* "artifacts" */
    /* The permissions claim is "permissions": a list of strings (at most
     * SB_JWT_MAX_ARTIFACTS), what actions with a permission require. */
} sb_jwt_options;

/* Zeroes *o and sets leeway to SB_JWT_LEEWAY_DEFAULT. */
void sb_jwt_options_init(sb_jwt_options *o);

typedef struct sb_jwt_config sb_jwt_config; /* opaque, immutable once made */

/* Checks the options and loads the key. NULL on refusal, with err (may be
 * NULL) saying why, e.g. "secret: 12 bytes, at least 32 are required" or
 * "key: an EC key, RS256 needs an RSA key". A configuration is read-only
 * afterwards and may be shared between threads. */
sb_jwt_config *sb_jwt_config_new(const sb_jwt_options *o, sb_jwt_error *err);
void sb_jwt_config_free(sb_jwt_config *c);
sb_jwt_alg sb_jwt_config_alg(const sb_jwt_config *c);

/* What a verified token says. Strings are NUL-terminated and live in the
 * arena passed to sb_jwt_verify(); NULL when the claim is absent. A claim
 * string holding a NUL byte (\u0000) is refused. */
typedef struct sb_jwt_claims {
    const char *user;
    const char *company;
    const char *session;
    bool artifacts_all;     /* the artifacts claim was the string "*" */
    size_t artifacts_count; /* entries of an artifacts list (0 when absent) */
    const char **artifacts;
    size_t permissions_count; /* entries of the permissions claim (a list of strings) */
    const char **permissions;
    int64_t exp;
    bool has_nbf;
    int64_t nbf;
} sb_jwt_claims;

/* Verifies token[0..len) at time `now` (seconds since the epoch; a parameter
 * so that tests can pass a clock). Decoded parts and the claims are
 * allocated in `arena` (a token needs a few times its length). Returns
 * SB_JWT_OK and fills *out, or the error (also in *err when err is not NULL)
 * and leaves *out zeroed. Thread-safe for a shared configuration. */
sb_jwt_err sb_jwt_verify(const sb_jwt_config *c, const char *token, size_t len, int64_t now,
                         sb_arena *arena, sb_jwt_claims *out, sb_jwt_error *err);

/* Claims for minting. NULL strings are left out. */
typedef struct sb_jwt_mint {
    const char *user;
    const char *company;
    const char *session;
    bool artifacts_all; /* write "*" */
    const char *const *artifacts;
    size_t artifacts_count;
    const char *const *permissions;
    size_t permissions_count;
} sb_jwt_mint;

/* Appends an HS256 token ({"alg":"HS256","typ":"JWT"}) to *out with the
 * claims, iss/aud of the configuration when set, iat = now and exp = now +
 * ttl (ttl > 0). For development and tests; the configuration must be HS256.
 * false (and err) on refusal. */
bool sb_jwt_sign_hs256(const sb_jwt_config *c, const sb_jwt_mint *claims, int64_t now, int64_t ttl,
                       sb_buf *out, sb_jwt_error *err);

/* base64url (RFC 7515 2): base64.h */

#endif
