/*
 * apikey.c: operator API keys (apikey.h): the check the operator endpoints
 * call, and `switchboard apikey add|list|revoke`.
 *
 * Keys are shown once, when they are made: the database keeps only their
 * SHA-256, so a copy of the database gives nobody a way in. Nothing here
 * logs a key, or a hash of one.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "token.h"

/* "sbk_" and 64 lowercase hex digits, nothing else */
static bool key_shaped(const char *k)
{
    if (strncmp(k, CORE_APIKEY_PREFIX, 4) != 0)
        return false;
    for (size_t i = 4; i < CORE_APIKEY_LEN; i++) {
        char c = k[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return k[CORE_APIKEY_LEN] == '\0';
}

core_apikey_status core_apikey_check_at(core_store *cs, const sb_http_request *req, int64_t now,
                                        int64_t *key_id)
{
    const char *key = sb_http_bearer(req);
    if (!key || !key_shaped(key))
        return CORE_APIKEY_REFUSED;
    char hash[SB_TOKEN_HEX_LEN + 1], stored[SB_TOKEN_HEX_LEN + 1];
    sb_token_hash(key, CORE_APIKEY_LEN, hash);
    int64_t id = 0, last_used = 0;
    /* The lookup is by the hash, so its timing tells nothing about the key;
     * the comparison of what came back is constant-time all the same. */
    int found = core_apikey_by_hash(cs, hash, &id, stored, &last_used);
    if (found < 0)
        return CORE_APIKEY_STORE_ERROR;
    if (found == 0 || !sb_token_equal(hash, stored, SB_TOKEN_HEX_LEN))
        return CORE_APIKEY_REFUSED;
    if (!last_used || last_used <= now - CORE_APIKEY_TOUCH_GAP) {
        sb_store *store = core_store_store(cs);
        if (sb_store_begin(store) != SB_STORE_OK ||
            core_apikey_touch(cs, id, now, CORE_APIKEY_TOUCH_GAP) != 0)
            sb_log(SB_LOG_WARN, "apikey_touch_failed", "key_id=%lld", (long long)id);
    }
    if (key_id)
        *key_id = id;
    return CORE_APIKEY_OK;
}

core_apikey_status core_apikey_check(core_store *cs, const sb_http_request *req, int64_t *key_id)
{
    return core_apikey_check_at(cs, req, (int64_t)time(NULL), key_id);
}

core_apikey_add_status core_apikey_add(core_store *cs, const char *name, int64_t now,
                                       char key[CORE_APIKEY_LEN + 1], int64_t *id)
{
    core_apikey_row row;
    int taken = core_apikey_by_name(cs, name, &row);
    if (taken < 0)
        return CORE_APIKEY_ADD_ERROR;
    if (taken)
        return CORE_APIKEY_NAME_TAKEN;
    char hex[SB_TOKEN_HEX_LEN + 1], hash[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(hex) != 0)
        return CORE_APIKEY_ADD_ERROR;
    memcpy(key, CORE_APIKEY_PREFIX, 4);
    memcpy(key + 4, hex, SB_TOKEN_HEX_LEN + 1);
    sb_token_hash(key, CORE_APIKEY_LEN, hash);
    *id = core_apikey_insert(cs, name, hash, now);
    if (!*id) {
        memset(key, 0, CORE_APIKEY_LEN + 1);
        return CORE_APIKEY_ADD_ERROR;
    }
    return CORE_APIKEY_ADDED;
}

/* The command line ------------------------------------------------------- */

static void apikey_usage(FILE *to)
{
    fputs("usage: switchboard apikey add --name NAME [--db PATH]\n"
          "       switchboard apikey list [--db PATH]\n"
          "       switchboard apikey revoke --name NAME [--db PATH]\n"
          "  add prints ID<TAB>NAME<TAB>KEY once; only the key's hash is stored\n"
          "  list prints ID, NAME, CREATED, LAST_USED, REVOKED (UTC, - when none)\n",
          to);
}

/* 1 to 128 bytes, no control characters (they would break list's lines) */
static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)n[i] < 0x20 || n[i] == 0x7f)
            return false;
    return true;
}

static const char *when(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return "-";
    return buf;
}

static int do_add(core_store *cs, const char *name)
{
    char key[CORE_APIKEY_LEN + 1];
    int64_t id = 0;
    switch (core_apikey_add(cs, name, (int64_t)time(NULL), key, &id)) {
    case CORE_APIKEY_ADDED:
        printf("%lld\t%s\t%s\n", (long long)id, name, key);
        memset(key, 0, sizeof key);
        return 0;
    case CORE_APIKEY_NAME_TAKEN:
        fprintf(stderr,
                "switchboard apikey add: a key named '%s' exists (revoked keys keep their "
                "names); choose another name\n",
                name);
        return 1;
    default:
        fprintf(stderr, "switchboard apikey add: %s\n", sb_store_last_error(core_store_store(cs)));
        return 1;
    }
}

static int do_list(core_store *cs)
{
    sb_cursor cur = SB_CURSOR_INIT;
    core_apikey_row row;
    int rc;
    printf("ID\tNAME\tCREATED\tLAST_USED\tREVOKED\n");
    while ((rc = core_apikey_list(cs, &cur, &row)) == 1) {
        char c[32], u[32], r[32];
        printf("%lld\t%s\t%s\t%s\t%s\n", (long long)row.id, row.name ? row.name : "",
               when(row.created_at, c), when(row.last_used_at, u), when(row.revoked_at, r));
    }
    if (rc < 0) {
        fprintf(stderr, "switchboard apikey list: %s\n", sb_store_last_error(core_store_store(cs)));
        return 1;
    }
    return 0;
}

static int do_revoke(core_store *cs, const char *name)
{
    core_apikey_row row;
    int found = core_apikey_by_name(cs, name, &row);
    if (found == 0) {
        fprintf(stderr, "switchboard apikey revoke: no key named '%s'\n", name);
        return 1;
    }
    int rc = found < 0 ? -1 : core_apikey_revoke(cs, row.id, (int64_t)time(NULL));
    if (rc < 0) {
        fprintf(stderr, "switchboard apikey revoke: %s\n",
                sb_store_last_error(core_store_store(cs)));
        return 1;
    }
    if (rc == 0) /* already revoked: the wanted state, so success */
        fprintf(stderr, "switchboard apikey revoke: '%s' was already revoked\n", name);
    else
        printf("%lld\t%s\trevoked\n", (long long)row.id, name);
    return 0;
}

int cli_apikey(int argc, char **argv)
{
    const char *name = NULL;
    sb_config cfg;
    sb_config_defaults(&cfg);
    if (argc < 2) {
        apikey_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        apikey_usage(stdout);
        return 0;
    }
    bool add = strcmp(cmd, "add") == 0, list = strcmp(cmd, "list") == 0,
         revoke = strcmp(cmd, "revoke") == 0;
    if (!add && !list && !revoke) {
        fprintf(stderr, "switchboard apikey: unknown subcommand '%s'\n", cmd);
        apikey_usage(stderr);
        return 2;
    }
    const char *env_db = getenv("SB_DB");
    if (env_db && *env_db)
        snprintf(cfg.db_path, sizeof cfg.db_path, "%s", env_db);
    for (int i = 2; i < argc; i += 2) { /* --option value pairs */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            apikey_usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--name") == 0 && !list)
            name = v;
        else if (strcmp(argv[i], "--db") == 0)
            snprintf(cfg.db_path, sizeof cfg.db_path, "%s", v);
        else {
            fprintf(stderr, "switchboard apikey %s: unknown option '%s'\n", cmd, argv[i]);
            apikey_usage(stderr);
            return 2;
        }
    }
    if (!list && (!name || !name_ok(name))) {
        fprintf(stderr,
                "switchboard apikey %s: --name is required (1 to 128 bytes, no control "
                "characters)\n",
                cmd);
        return 2;
    }
    sb_log_set_level(SB_LOG_WARN);
    char err[512];
    struct event_base *base = event_base_new();
    sb_store *store = base ? sb_store_open(cfg.db_path, true, err, sizeof err) : NULL;
    if (!store) {
        fprintf(stderr, "switchboard apikey %s: %s\n", cmd, base ? err : "no event loop");
        if (base)
            event_base_free(base);
        return 1;
    }
    int rc = 1;
    core_store *cs = NULL;
    if (core_store_migrate(store, err, sizeof err) != 0)
        fprintf(stderr, "switchboard apikey %s: %s\n", cmd, err);
    else if (!(cs = core_store_new(store)))
        fprintf(stderr, "switchboard apikey %s: out of memory\n", cmd);
    else
        rc = add ? do_add(cs, name) : list ? do_list(cs) : do_revoke(cs, name);
    core_store_free(cs);
    sb_store_close(store);
    event_base_free(base);
    return rc;
}
