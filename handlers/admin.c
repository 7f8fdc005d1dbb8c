/*
 * admin.c: `switchboard user add` and the demo data of `switchboard serve`.
 *
 * Tokens are shown once, when they are made: the database keeps only their
 * SHA-256, so a copy of the database gives nobody a way in.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "chat.h"
#include "chat_store.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "secret_file.h"
#include "token.h"

static int64_t make_user(sb_store *store, const char *name, chat_role role, const char *avatar,
                         char token[SB_TOKEN_HEX_LEN + 1])
{
    char hash[SB_TOKEN_HEX_LEN + 1];
    if (sb_token_new(token) != 0)
        return 0;
    sb_token_hash(token, strlen(token), hash);
    return chat_user_create(store, name, role, avatar, hash);
}

int admin_seed_demo(sb_store *store, const char *db_path)
{
    static const struct {
        const char *name;
        chat_role role;
    } people[] = {
        {"Alice Technician", CHAT_ROLE_TECHNICIAN}, {"Bob Technician", CHAT_ROLE_TECHNICIAN},
        {"Carol Admin", CHAT_ROLE_ADMIN},           {"Dan Admin", CHAT_ROLE_ADMIN},
        {"Erin Superadmin", CHAT_ROLE_SUPER_ADMIN}, {"Frank Superadmin", CHAT_ROLE_SUPER_ADMIN},
    };
    enum { N = sizeof people / sizeof people[0] };
    /* Two nodes starting at once on one empty database would both find no
     * user and both seed: the count runs under the seeding lock, so the
     * second waits for the first's commit and then finds its users. */
    if (sb_store_begin(store) != SB_STORE_OK || chat_seed_lock(store) != 0) {
        sb_store_rollback(store); /* nothing may go on with it open */
        return -1;
    }
    int64_t n = chat_user_count(store);
    if (n != 0) {
        sb_store_status st = sb_store_commit(store);
        return n < 0 || st != SB_STORE_OK ? -1 : 0; /* not the first start */
    }
    char tokens[N][SB_TOKEN_HEX_LEN + 1];
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = make_user(store, people[i].name, people[i].role, NULL, tokens[i]);
        if (!ids[i]) {
            sb_store_rollback(store);
            return -1;
        }
    }
    /* a service room: Alice works on Ms Rivera's boiler, Carol supervises */
    int64_t service = chat_service_create(store, "IN_PROGRESS", "Maria Rivera", "+1 555 0100",
                                          "12 Harbour Street, Springfield");
    int64_t members[2] = {ids[0], ids[2]};
    if (!service || !chat_service_room_create(store, service, members, 2)) {
        sb_store_rollback(store);
        return -1;
    }
    /* the copy before the commit, written whole and renamed into place (no
     * reader sees it half-done): a node that waited for the seeding lock
     * finds it once it finds the users. Gone again if the commit fails. */
    char path[1100];
    secret_file_beside(db_path, "demo-tokens.txt", path, sizeof path);
    char file[N * 400];
    size_t used = 0;
    for (int i = 0; i < N; i++) {
        sb_str role = chat_role_name(people[i].role);
        int w = snprintf(file + used, sizeof file - used, "%lld\t%.*s\t%s\t%s\n", (long long)ids[i],
                         (int)role.len, role.ptr, people[i].name, tokens[i]);
        if (w > 0 && (size_t)w < sizeof file - used)
            used += (size_t)w;
    }
    char err[256];
    bool copied = secret_file_write(path, file, used, true, err, sizeof err) == 0;
    memset(file, 0, sizeof file);
    if (!copied)
        sb_log(SB_LOG_WARN, "demo", "msg=\"could not write the demo tokens' copy\"");
    if (sb_store_commit(store) != SB_STORE_OK) {
        if (copied)
            unlink(path);
        memset(tokens, 0, sizeof tokens);
        return -1;
    }
    printf("Demo users (tokens are shown only now; a copy is in %s):\n", path);
    for (int i = 0; i < N; i++) {
        sb_str role = chat_role_name(people[i].role);
        printf("  %-18s %-12.*s id=%lld token=%s\n", people[i].name, (int)role.len, role.ptr,
               (long long)ids[i], tokens[i]);
    }
    printf("Connect: ws://HOST:PORT/ws/chat?token=TOKEN\n");
    fflush(stdout);
    memset(tokens, 0, sizeof tokens);
    return 0;
}

static void user_usage(FILE *to)
{
    fputs("usage: switchboard user add --name NAME --role ROLE [--avatar URL] [--db PATH]\n"
          "  ROLE: TECHNICIAN, ADMIN, SUPER_ADMIN or UNKNOWN\n"
          "  prints USER_ID<TAB>TOKEN; the token is not stored, only its hash\n",
          to);
}

int cli_user(int argc, char **argv)
{
    const char *name = NULL, *role_s = NULL, *avatar = NULL;
    sb_config cfg;
    sb_config_defaults(&cfg);
    if (argc < 2 || strcmp(argv[1], "add") != 0) {
        user_usage(stderr);
        return 2;
    }
    const char *env_db = getenv("SB_DB");
    if (env_db && *env_db)
        snprintf(cfg.db_path, sizeof cfg.db_path, "%s", env_db);
    for (int i = 2; i < argc; i += 2) { /* --option value pairs */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            user_usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--name") == 0)
            name = v;
        else if (strcmp(argv[i], "--role") == 0)
            role_s = v;
        else if (strcmp(argv[i], "--avatar") == 0)
            avatar = v;
        else if (strcmp(argv[i], "--db") == 0)
            snprintf(cfg.db_path, sizeof cfg.db_path, "%s", v);
        else {
            fprintf(stderr, "switchboard user add: unknown option '%s'\n", argv[i]);
            user_usage(stderr);
            return 2;
        }
    }
    if (!name || !*name || strlen(name) > 256 || !role_s) {
        fprintf(stderr, "switchboard user add: --name (1 to 256 bytes) and --role are required\n");
        return 2;
    }
    chat_role role = chat_role_from(role_s, strlen(role_s));
    if (!role) {
        fprintf(stderr,
                "switchboard user add: --role: expected one of TECHNICIAN, ADMIN, "
                "SUPER_ADMIN, UNKNOWN, got '%s'\n",
                role_s);
        return 2;
    }
    if (avatar && strlen(avatar) > 2048) {
        fprintf(stderr, "switchboard user add: --avatar: longer than 2048 bytes\n");
        return 2;
    }
    sb_log_set_level(SB_LOG_WARN);
    char err[512];
    struct event_base *base = event_base_new();
    sb_store *store = base ? sb_store_open(cfg.db_path, true, err, sizeof err) : NULL;
    if (!store) {
        fprintf(stderr, "switchboard user add: %s\n", base ? err : "no event loop");
        if (base)
            event_base_free(base);
        return 1;
    }
    int rc = 1;
    char token[SB_TOKEN_HEX_LEN + 1];
    if (chat_store_migrate(store, err, sizeof err) != 0) {
        fprintf(stderr, "switchboard user add: %s\n", err);
    } else {
        int64_t id = make_user(store, name, role, avatar, token);
        if (id) {
            printf("%lld\t%s\n", (long long)id, token);
            rc = 0;
        } else {
            fprintf(stderr, "switchboard user add: %s\n", sb_store_last_error(store));
        }
    }
    sb_store_close(store);
    event_base_free(base);
    return rc;
}
