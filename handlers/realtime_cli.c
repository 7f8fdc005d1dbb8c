/*
 * realtime_cli.c: `switchboard realtime token` (a JWT for development and
 * tests, signed with the configured HS256 secret) and `switchboard realtime
 * update` (the operator API's POST /api/v1/realtime/updates, from a shell).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "http_client.h"
#include "jwt.h"
#include "realtime.h"
#include "realtime_secret.h"
#include "store.h"

#define MAX_LIST 256

static void usage(FILE *to)
{
    fputs("usage: switchboard realtime token --user U --company C --session S [--ttl SEC]\n"
          "                [--artifacts a,b|*] [--permissions p,q]\n"
          "                [--jwt-secret S | --jwt-secret-file F | --db PATH [--data-dir DIR]]\n"
          "       switchboard realtime update --company C --action A [--artifact ID]\n"
          "                [--data JSON] [--request-id ID] [--url http://127.0.0.1:8080]\n"
          "                [--key KEY]\n"
          "  token: prints an HS256 JWT (default ttl 3600 s) signed with --jwt-secret, or\n"
          "         SB_JWT_SECRET, or the file --jwt-secret-file (default: jwt-secret beside\n"
          "         the database --db, ./var/jwt-secret; with a postgres:// --db, in --data-dir,\n"
          "         SB_DATA_DIR, ./var; made by the server's demo start).\n"
          "  update: POSTs the update to a running server with an operator API key (--key, or\n"
          "         SB_API_KEY; keys come from `switchboard apikey add`) and prints its answer.\n",
          to);
}

/* "a,b,c" into list (pointers into buf); the count, or -1 when too many. */
static int split(char *buf, const char **list)
{
    int n = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (n == MAX_LIST)
            return -1;
        list[n++] = t;
    }
    return n;
}

static int token(int argc, char **argv)
{
    sb_config cfg;
    sb_config_defaults(&cfg);
    const char *env = getenv("SB_JWT_SECRET");
    if (env && *env)
        snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "%s", env);
    env = getenv("SB_JWT_SECRET_FILE");
    if (env && *env)
        snprintf(cfg.jwt_secret_file, sizeof cfg.jwt_secret_file, "%s", env);
    env = getenv("SB_DB");
    if (env && *env)
        snprintf(cfg.db_path, sizeof cfg.db_path, "%s", env);
    env = getenv("SB_DATA_DIR");
    if (env && *env)
        snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", env);
    const char *user = NULL, *company = NULL, *session = NULL;
    char artifacts[4096] = "", permissions[4096] = "";
    long ttl = 3600;
    for (int i = 2; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "switchboard realtime token: %s: missing value\n", argv[i]);
            return 2;
        }
        char *end;
        if (strcmp(argv[i], "--user") == 0)
            user = v;
        else if (strcmp(argv[i], "--company") == 0)
            company = v;
        else if (strcmp(argv[i], "--session") == 0)
            session = v;
        else if (strcmp(argv[i], "--artifacts") == 0)
            snprintf(artifacts, sizeof artifacts, "%s", v);
        else if (strcmp(argv[i], "--permissions") == 0)
            snprintf(permissions, sizeof permissions, "%s", v);
        else if (strcmp(argv[i], "--jwt-secret") == 0)
            snprintf(cfg.jwt_secret, sizeof cfg.jwt_secret, "%s", v);
        else if (strcmp(argv[i], "--jwt-secret-file") == 0)
            snprintf(cfg.jwt_secret_file, sizeof cfg.jwt_secret_file, "%s", v);
        else if (strcmp(argv[i], "--db") == 0)
            snprintf(cfg.db_path, sizeof cfg.db_path, "%s", v);
        else if (strcmp(argv[i], "--data-dir") == 0)
            snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", v);
        else if (strcmp(argv[i], "--ttl") == 0 && (ttl = strtol(v, &end, 10), *end == '\0') &&
                 ttl > 0 && ttl <= 366L * 86400)
            ;
        else {
            fprintf(stderr, "switchboard realtime token: bad option or value: %s %s\n", argv[i], v);
            usage(stderr);
            return 2;
        }
    }
    if (!user || !company || !session || !*user || !*company || !*session) {
        fprintf(stderr,
                "switchboard realtime token: --user, --company and --session are required\n");
        return 2;
    }
    /* a PostgreSQL database has no directory: jwt-secret is in --data-dir,
     * where serve put it (runtime/config.c), and the URL (its password) is
     * never named in an error */
    if (sb_store_is_url(cfg.db_path)) {
        char beside[sizeof cfg.db_path];
        int n = snprintf(beside, sizeof beside, "%s/switchboard.db",
                         cfg.data_dir[0] ? cfg.data_dir : "./var");
        if (n < 0 || (size_t)n >= sizeof beside) {
            fprintf(stderr, "switchboard realtime token: --data-dir: too long\n");
            return 2;
        }
        memcpy(cfg.db_path, beside, sizeof beside);
    }
    char secret[REALTIME_SECRET_MAX], err[512];
    if (realtime_secret_load(&cfg, false, secret, sizeof secret, err, sizeof err) != 0) {
        fprintf(stderr, "switchboard realtime token: %s\n", err);
        return 1;
    }
    sb_jwt_options o;
    sb_jwt_options_init(&o);
    o.alg = SB_JWT_HS256;
    o.secret = secret;
    o.secret_len = strlen(secret);
    sb_jwt_error jerr;
    sb_jwt_config *jc = sb_jwt_config_new(&o, &jerr);
    memset(secret, 0, sizeof secret);
    if (!jc) {
        fprintf(stderr, "switchboard realtime token: %s\n", jerr.msg);
        return 1;
    }
    const char *alist[MAX_LIST], *plist[MAX_LIST];
    sb_jwt_mint m = {.user = user, .company = company, .session = session};
    if (strcmp(artifacts, "*") == 0) {
        m.artifacts_all = true;
    } else if (artifacts[0]) {
        int n = split(artifacts, alist);
        if (n < 0) {
            fprintf(stderr, "switchboard realtime token: more than %d artifacts\n", MAX_LIST);
            sb_jwt_config_free(jc);
            return 2;
        }
        m.artifacts = alist;
        m.artifacts_count = (size_t)n;
    }
    if (permissions[0]) {
        int n = split(permissions, plist);
        if (n < 0) {
            fprintf(stderr, "switchboard realtime token: more than %d permissions\n", MAX_LIST);
            sb_jwt_config_free(jc);
            return 2;
        }
        m.permissions = plist;
        m.permissions_count = (size_t)n;
    }
    sb_buf out;
    sb_buf_init(&out);
    bool ok = sb_jwt_sign_hs256(jc, &m, (int64_t)time(NULL), ttl, &out, &jerr);
    sb_jwt_config_free(jc);
    if (!ok) {
        fprintf(stderr, "switchboard realtime token: %s\n", jerr.msg);
        sb_buf_free(&out);
        return 1;
    }
    printf("%.*s\n", (int)out.len, out.data);
    sb_buf_free(&out);
    return 0;
}

static int update(int argc, char **argv)
{
    realtime_realtime_update_request req;
    memset(&req, 0, sizeof req);
    const char *url = "http://127.0.0.1:8080", *key = getenv("SB_API_KEY");
    const char *env_url = getenv("SB_URL");
    if (env_url && *env_url)
        url = env_url;
    for (int i = 2; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "switchboard realtime update: %s: missing value\n", argv[i]);
            return 2;
        }
        sb_str s = {v, strlen(v)};
        if (strcmp(argv[i], "--company") == 0) {
            req.company_id = s;
        } else if (strcmp(argv[i], "--artifact") == 0) {
            req.artifact_id = s;
            req.has.artifact_id = SB_SET;
        } else if (strcmp(argv[i], "--action") == 0) {
            req.action = s;
        } else if (strcmp(argv[i], "--data") == 0) {
            sb_json_err jerr;
            char msg[SB_ERR_MSG_MAX];
            if (!sb_json_validate(v, s.len, NULL, &jerr, msg, sizeof msg)) {
                fprintf(stderr, "switchboard realtime update: --data: not JSON: %s\n", msg);
                return 2;
            }
            req.data = s;
            req.has.data = SB_SET;
        } else if (strcmp(argv[i], "--request-id") == 0) {
            req.requestId = s;
            req.has.requestId = SB_SET;
        } else if (strcmp(argv[i], "--url") == 0) {
            url = v;
        } else if (strcmp(argv[i], "--key") == 0) {
            key = v;
        } else {
            fprintf(stderr, "switchboard realtime update: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!req.company_id.len || !req.action.len) {
        fprintf(stderr, "switchboard realtime update: --company and --action are required\n");
        return 2;
    }
    if (!key || !*key) {
        fprintf(stderr, "switchboard realtime update: an operator API key is required (--key, or "
                        "SB_API_KEY; `switchboard apikey add --name N` makes one)\n");
        return 2;
    }
    char target[1024], auth[256];
    snprintf(target, sizeof target, "%s%s", url, "/api/v1/realtime/updates");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {auth, NULL};
    sb_buf body;
    sb_buf_init(&body);
    realtime_realtime_update_request_write(&body, &req);
    const char *error;
    char *out = NULL;
    size_t out_len = 0;
    int status = sb_http_fetch("POST", target, headers, body.data, body.len, 30000, 1u << 20, &out,
                               &out_len, &error);
    if (status < 0)
        fprintf(stderr, "switchboard realtime update: --url %s: not an http:// URL\n", url);
    else if (status == 0)
        fprintf(stderr, "switchboard realtime update: %s\n", error);
    else
        printf("%.*s\n", (int)out_len, out);
    free(out);
    sb_buf_free(&body);
    return status >= 200 && status < 300 ? 0 : 1;
}

int cli_realtime(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "token") == 0)
        return token(argc, argv);
    if (strcmp(argv[1], "update") == 0)
        return update(argc, argv);
    fprintf(stderr, "switchboard realtime: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
