/*
 * dashboard_demo.c: the demo data of the case dashboard (seed 000), made on
 * a demo start: case "1" keeps the document's default dashboard and gets
 * data for its timeline and square, a button view and a FAQ, and the demo
 * chat's service room as its chat (dashboard user "1" is chat user 1,
 * Alice, a member of it). An operator API key is written (mode 0600) to
 * operator-key beside the database, so that `switchboard dashboard ...`
 * works at once; the database keeps only its hash.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apikey.h"
#include "arena.h"
#include "chat_store.h"
#include "clock.h"
#include "dashboard_app.h"
#include "secret_file.h"

#define DEMO_CASE "1"

static const char timeline[] =
    "{\"title\":\"Case 1: boiler repair\",\"events\":["
    "{\"time\":\"2023-11-28T09:00:00Z\",\"label\":\"Case opened\"},"
    "{\"time\":\"2023-11-29T14:30:00Z\",\"label\":\"Technician assigned\"},"
    "{\"time\":\"2023-11-30T06:49:24Z\",\"label\":\"Visit booked\"},"
    "{\"time\":\"2023-12-01T10:15:00Z\",\"label\":\"Parts ordered\"}]}";

static const char square[] =
    "{\"title\":\"Costs\",\"columns\":[\"Item\",\"Amount\"],"
    "\"rows\":[[\"Call-out\",80],[\"Parts\",245.5],[\"Labour\",160],[\"Discount\",-40]],"
    "\"bars\":[{\"label\":\"Call-out\",\"value\":80},{\"label\":\"Parts\",\"value\":245.5},"
    "{\"label\":\"Labour\",\"value\":160},{\"label\":\"Discount\",\"value\":-40}]}";

static const char buttons[] =
    "{\"title\":\"Next steps\",\"buttons\":["
    "{\"label\":\"Upload documents\",\"url\":\"https://example.com/upload\"},"
    "{\"label\":\"Book a visit\",\"url\":\"https://example.com/book\"}]}";

static const char faq[] =
    "{\"title\":\"Questions\",\"items\":["
    "{\"question\":\"How long does a repair take?\",\"answer\":\"Most are done in one visit.\"},"
    "{\"question\":\"Who pays for parts?\",\"answer\":\"Covered parts are free; the rest is "
    "quoted first.\"}]}";

/* operator-key beside the database, once: 1 made now, 0 there already,
 * -1 error. Inside the seeding
 * transaction (its lock held): of several nodes starting at once, one
 * makes the key and its file, the others find the file. */
static int demo_key(sb_store *store, const char *db_path)
{
    char path[1100];
    secret_file_beside(db_path, "operator-key", path, sizeof path);
    if (access(path, F_OK) == 0)
        return 0;
    core_store *cs = core_store_new(store);
    if (!cs)
        return -1;
    char key[CORE_APIKEY_LEN + 1], name[64];
    int64_t id, now = sb_wall_ms() / 1000;
    core_apikey_add_status st = core_apikey_add(cs, "demo-operator", now, key, &id);
    if (st == CORE_APIKEY_NAME_TAKEN) {
        snprintf(name, sizeof name, "demo-operator-%lld", (long long)now);
        st = core_apikey_add(cs, name, now, key, &id);
    }
    core_store_free(cs);
    if (st != CORE_APIKEY_ADDED)
        return -1;
    /* the file before the commit: a node that waited for the lock finds
     * it; if the commit fails it goes (a key the database does not know) */
    char line[CORE_APIKEY_LEN + 2], err[256];
    snprintf(line, sizeof line, "%s\n", key);
    int rc = secret_file_write(path, line, strlen(line), false, err, sizeof err);
    memset(line, 0, sizeof line);
    memset(key, 0, sizeof key);
    return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

int dashboard_seed_demo(sb_store *store, const char *db_path)
{
    /* one transaction under the seeding lock: the key, the check, the rows */
    char keyfile[1100];
    secret_file_beside(db_path, "operator-key", keyfile, sizeof keyfile);
    int made = -1;
    if (sb_store_begin(store) != SB_STORE_OK || core_seed_lock(store, CORE_SEED_DASHBOARD) != 0 ||
        (made = demo_key(store, db_path)) < 0) {
        sb_store_rollback(store);
        return -1;
    }
    const char *json;
    size_t len;
    sb_arena a;
    sb_arena_init(&a, 1u << 16);
    int rc = dashboard_data_get(store, &a, DEMO_CASE, "timeline_1", &json, &len);
    sb_arena_free(&a);
    if (rc <= 0) {
        /* made already (or an error): the key, if it was made now, commits */
        if (rc == 0 && sb_store_commit(store) == SB_STORE_OK)
            return 0;
        if (rc < 0)
            sb_store_rollback(store);
        if (made == 1)
            unlink(keyfile); /* its key did not commit */
        return -1;
    }
    int64_t now = sb_wall_ms();
    char key[DASHBOARD_KEY_MAX];
    dashboard_refresh_key(key);
    int64_t room = chat_first_room_of(store, 1);
    if (dashboard_data_put(store, DEMO_CASE, "timeline_1", timeline, sizeof timeline - 1, key,
                           now) != 0 ||
        dashboard_data_put(store, DEMO_CASE, "square_1", square, sizeof square - 1, key, now) !=
            0 ||
        dashboard_view_put(store, DEMO_CASE, "buttons", buttons, sizeof buttons - 1, now) != 0 ||
        dashboard_view_put(store, DEMO_CASE, "faq", faq, sizeof faq - 1, now) != 0 ||
        (room > 0 && dashboard_chat_set(store, DEMO_CASE, room, now) != 0)) {
        sb_store_rollback(store);
        if (made == 1)
            unlink(keyfile);
        return -1;
    }
    if (sb_store_commit(store) != SB_STORE_OK) {
        if (made == 1)
            unlink(keyfile);
        return -1;
    }
    printf("Dashboard demo (seed 000): case 1, user 1 (the chat's Alice). An operator API key is "
           "in %s.\n"
           "  build/switchboard dashboard open --case 1 --user 1   prints the page's URL (a "
           "ticket valid 60 s)\n"
           "  build/switchboard dashboard set --case 1 --layout view_tall_3   and watch it "
           "change\n",
           keyfile);
    fflush(stdout);
    return 0;
}
