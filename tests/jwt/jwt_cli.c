/*
 * jwt_cli.c: a test-only command line over jwt.h, so that tokens made by an
 * independent implementation (node's jsonwebtoken, tests/jwt/jwt.test.mjs)
 * are checked by our verifier and ours by theirs.
 *
 *   jwt_cli verify ALG KEYFILE NOW [ISS|- [AUD|-]]  < token
 *       prints the claims as one line of JSON, exit 0; or "CODE: MESSAGE"
 *       on stderr, exit 1. KEYFILE is the HS256 secret (raw bytes) or a PEM
 *       public key.
 *   jwt_cli mint SECRETFILE NOW TTL USER [ISS|- [AUD|-]]
 *       prints an HS256 token with artifacts "*".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

static size_t read_all(FILE *f, char *buf, size_t cap)
{
    size_t n = fread(buf, 1, cap, f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    return n;
}

static bool read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return true;
}

static const char *opt(int argc, char **argv, int i)
{
    return argc > i && strcmp(argv[i], "-") != 0 ? argv[i] : NULL;
}

static void put_str(const char *name, const char *v, bool comma)
{
    sb_buf b;
    sb_buf_init(&b);
    if (v)
        sb_write_string(&b, (sb_str){v, strlen(v)});
    else
        SB_BUF_PUT_LIT(&b, "null");
    printf("%s\"%s\":%.*s", comma ? "," : "", name, (int)b.len, b.data);
    sb_buf_free(&b);
}

static int verify(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: jwt_cli verify ALG KEYFILE NOW [ISS|- [AUD|-]] < token\n");
        return 2;
    }
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    static char key[1 << 16];
    size_t key_len = 0;
    if (strcmp(argv[2], "HS256") == 0) {
        o.alg = SB_JWT_HS256;
        if (!read_file(argv[3], key, sizeof key, &key_len)) {
            fprintf(stderr, "cannot read %s\n", argv[3]);
            return 2;
        }
        o.secret = key;
        o.secret_len = key_len;
    } else {
        o.alg = strcmp(argv[2], "RS256") == 0 ? SB_JWT_RS256 : SB_JWT_ES256;
        o.public_key_file = argv[3];
    }
    o.issuer = opt(argc, argv, 5);
    o.audience = opt(argc, argv, 6);
    sb_jwt_error e;
    sb_jwt_config *c = sb_jwt_config_new(&o, &e);
    if (!c) {
        fprintf(stderr, "%s: %s\n", sb_jwt_err_name(e.code), e.msg);
        return 1;
    }
    static char token[SB_JWT_MAX_TOKEN * 2];
    size_t len = read_all(stdin, token, sizeof token);
    sb_arena a;
    sb_arena_init(&a, 1 << 20);
    sb_jwt_claims cl;
    int rc = 0;
    if (sb_jwt_verify(c, token, len, strtoll(argv[4], NULL, 10), &a, &cl, &e) != SB_JWT_OK) {
        fprintf(stderr, "%s: %s\n", sb_jwt_err_name(e.code), e.msg);
        rc = 1;
    } else {
        printf("{");
        put_str("user", cl.user, false);
        put_str("company", cl.company, true);
        put_str("session", cl.session, true);
        printf(",\"artifacts\":");
        if (cl.artifacts_all) {
            printf("\"*\"");
        } else {
            printf("[");
            for (size_t i = 0; i < cl.artifacts_count; i++) {
                sb_buf b;
                sb_buf_init(&b);
                sb_write_string(&b, (sb_str){cl.artifacts[i], strlen(cl.artifacts[i])});
                printf("%s%.*s", i ? "," : "", (int)b.len, b.data);
                sb_buf_free(&b);
            }
            printf("]");
        }
        printf(",\"exp\":%lld}\n", (long long)cl.exp);
    }
    sb_arena_free(&a);
    sb_jwt_config_free(c);
    return rc;
}

static int mint(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: jwt_cli mint SECRETFILE NOW TTL USER [ISS|- [AUD|-]]\n");
        return 2;
    }
    static char key[1 << 16];
    size_t key_len = 0;
    if (!read_file(argv[2], key, sizeof key, &key_len)) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    o.secret = key;
    o.secret_len = key_len;
    o.issuer = opt(argc, argv, 6);
    o.audience = opt(argc, argv, 7);
    sb_jwt_error e;
    sb_jwt_config *c = sb_jwt_config_new(&o, &e);
    if (!c) {
        fprintf(stderr, "%s: %s\n", sb_jwt_err_name(e.code), e.msg);
        return 1;
    }
    sb_jwt_mint m = {.user = argv[5], .artifacts_all = true};
    sb_buf b;
    sb_buf_init(&b);
    int rc = 0;
    if (!sb_jwt_sign_hs256(c, &m, strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10), &b, &e)) {
        fprintf(stderr, "%s: %s\n", sb_jwt_err_name(e.code), e.msg);
        rc = 1;
    } else {
        printf("%.*s\n", (int)b.len, b.data);
    }
    sb_buf_free(&b);
    sb_jwt_config_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "verify") == 0)
        return verify(argc, argv);
    if (argc > 1 && strcmp(argv[1], "mint") == 0)
        return mint(argc, argv);
    fprintf(stderr, "usage: jwt_cli verify|mint ...\n");
    return 2;
}
