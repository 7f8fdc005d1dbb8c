/*
 * therapy_cli.c: `switchboard therapy user add` and `switchboard therapy
 * session add` (people and therapy sessions, from a shell or a script; each
 * prints the new ID), and the therapy part of the demo data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "json.h"
#include "pattern.h"
#include "store.h"
#include "therapy.h"
#include "therapy_app.h"
#include "therapy_store.h"

#define MAX_ASSESSMENTS 64
#define MAX_PARTICIPANTS 99

static void usage(FILE *to)
{
    fputs("usage: switchboard therapy user add --phone P --last-name L --name N\n"
          "                --role participant|therapist [--id ID] [--db PATH]\n"
          "       switchboard therapy session add --name N --date ISO --participants ID,ID\n"
          "                --therapist ID [--assessment NAME:STATUS[:URL]]... [--db PATH]\n"
          "  user add: prints the new user's ID (--id, or P/T and six digits). The phone is\n"
          "            stored as E.164; the user logs in with it and the last name.\n"
          "  session add: prints the new therapy session's ID. STATUS is complete or\n"
          "            incomplete; each assessment is given to every participant.\n"
          "  --db defaults to SB_DB, then ./var/switchboard.db.\n",
          to);
}

static sb_store *open_db(const char *db, char *err, size_t err_size)
{
    sb_store *s = sb_store_open(db, false, err, err_size);
    if (s && therapy_store_migrate(s, err, err_size) != 0) {
        sb_store_close(s);
        return NULL;
    }
    return s;
}

/* A user ID as used in actions: letters, digits, '_' and '-', 1..64. */
static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > THERAPY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

int therapy_add_user(sb_store *s, const char *id, const char *phone_in, const char *last_name,
                     const char *name, const char *role, char out_id[THERAPY_ID_MAX + 1], char *err,
                     size_t err_size)
{
    char phone[THERAPY_PHONE_MAX + 1], key[257];
    if (therapy_phone_normalize(phone_in, strlen(phone_in), phone) != 0) {
        snprintf(err, err_size, "--phone: '%s' is not a phone number (+ and 8 to 15 digits)",
                 phone_in);
        return -1;
    }
    if (therapy_name_key(last_name, strlen(last_name), key, sizeof key) != 0) {
        snprintf(err, err_size, "--last-name: blank or longer than 256 bytes");
        return -1;
    }
    if (strlen(name) > 256 || therapy_participant_role_from(role, strlen(role)) == 0) {
        snprintf(err, err_size, "%s",
                 strlen(name) > 256 ? "--name: longer than 256 bytes"
                                    : "--role: participant or therapist");
        return -1;
    }
    if (id && !id_ok(id)) {
        snprintf(err, err_size, "--id: letters, digits, _ and -, at most 64");
        return -1;
    }
    /* a taken phone+last name is no ID collision: say so, not "no free ID" */
    therapy_user taken;
    int found = therapy_user_find(s, phone, key, &taken, NULL);
    if (found <= 0) {
        snprintf(err, err_size, "%s",
                 found < 0 ? "could not read the users" : "the phone with that last name is taken");
        return -1;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
        if (id) {
            snprintf(out_id, THERAPY_ID_MAX + 1, "%s", id);
        } else {
            uint32_t r = 0;
            if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
                return -1;
            snprintf(out_id, THERAPY_ID_MAX + 1, "%c%06u", role[0] == 't' ? 'T' : 'P',
                     (unsigned)(r % 1000000u));
        }
        int rc = therapy_user_add(s, out_id, phone, key, last_name, name, role);
        if (rc == 0)
            return 0;
        if (rc < 0 || id) {
            snprintf(err, err_size, "%s",
                     rc < 0 ? "could not write the user"
                            : "the ID, or the phone with that last name, is taken");
            return -1;
        }
    }
    snprintf(err, err_size, "no free ID");
    return -1;
}

int64_t therapy_add_session(sb_store *s, const char *name, const char *date,
                            const char *const *participants, int n_participants,
                            const char *therapist, const char *const *assessments,
                            int n_assessments, char *err, size_t err_size)
{
    if (!name[0] || strlen(name) > 256) {
        snprintf(err, err_size, "--name: 1 to 256 bytes");
        return -1;
    }
    if (!sb_is_iso8601((sb_str){date, strlen(date)})) {
        snprintf(err, err_size, "--date: '%s' is not an ISO-8601 date-time", date);
        return -1;
    }
    therapy_user u;
    int rc = therapy_user_get(s, therapist, &u, NULL);
    if (rc != 0 || strcmp(u.role, "therapist") != 0) {
        snprintf(err, err_size, "--therapist: no therapist '%s'", therapist);
        return -1;
    }
    for (int i = 0; i < n_participants; i++)
        if (therapy_user_get(s, participants[i], &u, NULL) != 0) {
            snprintf(err, err_size, "--participants: no user '%s'", participants[i]);
            return -1;
        }
    int64_t ts = therapy_session_add(s, name, date, sb_wall_ms());
    if (ts <= 0 || therapy_member_add(s, ts, therapist, "therapist") != 0) {
        snprintf(err, err_size, "could not write the session");
        return -1;
    }
    for (int i = 0; i < n_participants; i++) {
        if (therapy_member_add(s, ts, participants[i], "participant") != 0) {
            snprintf(err, err_size, "could not write the session");
            return -1;
        }
        for (int k = 0; k < n_assessments; k++) {
            /* NAME:STATUS[:URL]; the URL may hold ':' itself */
            char spec[2400];
            snprintf(spec, sizeof spec, "%s", assessments[k]);
            char *st = strchr(spec, ':');
            char *url = st ? strchr(st + 1, ':') : NULL;
            if (st)
                *st++ = '\0';
            if (url)
                *url++ = '\0';
            if (!st || !spec[0] || (strcmp(st, "complete") != 0 && strcmp(st, "incomplete") != 0)) {
                snprintf(err, err_size,
                         "--assessment: '%s' is not NAME:STATUS[:URL] with STATUS complete or "
                         "incomplete",
                         assessments[k]);
                return -1;
            }
            /* the schema's Assessment.url: a URI of 1 to 2048 bytes */
            if (url && (!url[0] || strlen(url) > 2048 || !sb_is_uri(url, strlen(url)))) {
                snprintf(err, err_size, "--assessment: '%s': the URL is not a URI", assessments[k]);
                return -1;
            }
            if (therapy_assessment_set(s, ts, participants[i], spec, st, url) != 0) {
                snprintf(err, err_size, "could not write the assessments");
                return -1;
            }
        }
    }
    return ts;
}

/* The demo: a therapist and two participants in one session. */
int therapy_seed_demo(sb_store *s, const char *db_path)
{
    /* Two nodes starting at once on one empty database would both find no
     * user and both seed (the second failing on the first's IDs): the count
     * runs under a row lock, so the second waits for the first's commit and
     * then counts its users. */
    if (sb_store_begin(s) != SB_STORE_OK || therapy_limit_lock(s, "demo", sb_wall_ms()) < 0) {
        sb_store_rollback(s); /* nothing may go on with it open */
        return -1;
    }
    int64_t n = therapy_user_count(s);
    if (n != 0) {
        sb_store_status st = sb_store_commit(s);
        return n < 0 || st != SB_STORE_OK ? -1 : 0;
    }
    static const struct {
        const char *id, *phone, *last, *name, *role;
    } people[] = {
        {"123XYZ", "+15555550100", "Rivera", "Dr. Rivera", "therapist"},
        {"P123", "+15555550101", "Lee", "Sam Lee", "participant"},
        {"P456", "+15555550102", "Kim", "Alex Kim", "participant"},
    };
    char err[256], id[THERAPY_ID_MAX + 1];
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
        if (therapy_add_user(s, people[i].id, people[i].phone, people[i].last, people[i].name,
                             people[i].role, id, err, sizeof err) != 0) {
            sb_store_rollback(s);
            return -1;
        }
    const char *parts[] = {"P123", "P456"};
    const char *assess[] = {
        "location:complete",
        "post-session_survey:incomplete:https://example.com/surveys/post-session"};
    char date[32];
    sb_iso8601_ms(date, sb_wall_ms());
    int64_t ts = therapy_add_session(s, "Tuesday evening group", date, parts, 2, "123XYZ", assess,
                                     2, err, sizeof err);
    if (ts <= 0) {
        sb_store_rollback(s);
        return -1;
    }
    if (sb_store_commit(s) != SB_STORE_OK)
        return -1;
    char sms[1100];
    const char *slash = strrchr(db_path, '/');
    snprintf(sms, sizeof sms, "%.*ssms.jsonl", slash ? (int)(slash - db_path + 1) : 0, db_path);
    printf("Therapy demo (seed 001): open /therapy/ and log in with phone and last name; the\n"
           "code arrives in %s (one JSON line per SMS):\n",
           sms);
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
        printf("  %-11s %-11s phone=%s last name=%s id=%s\n", people[i].name, people[i].role,
               people[i].phone, people[i].last, people[i].id);
    printf("  therapy session %lld \"Tuesday evening group\" (all three)\n", (long long)ts);
    fflush(stdout);
    return 0;
}

/* `--opt value` pairs into named slots; repeated --assessment collected. */
int cli_therapy(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "add") != 0 ||
        (strcmp(argv[1], "user") != 0 && strcmp(argv[1], "session") != 0)) {
        usage(argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
                  ? stdout
                  : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    bool user = strcmp(argv[1], "user") == 0;
    const char *phone = NULL, *last = NULL, *name = NULL, *role = NULL, *id = NULL;
    const char *date = NULL, *participants = NULL, *therapist = NULL;
    const char *assessments[MAX_ASSESSMENTS];
    int n_assessments = 0;
    sb_config cfg;
    sb_config_defaults(&cfg);
    const char *env_db = getenv("SB_DB");
    if (env_db && *env_db)
        snprintf(cfg.db_path, sizeof cfg.db_path, "%s", env_db);
    for (int i = 3; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "switchboard therapy: %s needs a value\n", k);
            return 2;
        }
        if (strcmp(k, "--db") == 0)
            snprintf(cfg.db_path, sizeof cfg.db_path, "%s", v);
        else if (strcmp(k, "--name") == 0)
            name = v;
        else if (user && strcmp(k, "--phone") == 0)
            phone = v;
        else if (user && strcmp(k, "--last-name") == 0)
            last = v;
        else if (user && strcmp(k, "--role") == 0)
            role = v;
        else if (user && strcmp(k, "--id") == 0)
            id = v;
        else if (!user && strcmp(k, "--date") == 0)
            date = v;
        else if (!user && strcmp(k, "--participants") == 0)
            participants = v;
        else if (!user && strcmp(k, "--therapist") == 0)
            therapist = v;
        else if (!user && strcmp(k, "--assessment") == 0 && n_assessments < MAX_ASSESSMENTS)
            assessments[n_assessments++] = v;
        else {
            fprintf(stderr, "switchboard therapy: unknown option %s\n", k);
            usage(stderr);
            return 2;
        }
    }
    if (user ? (!phone || !last || !name || !role) : (!name || !date || !therapist)) {
        usage(stderr);
        return 2;
    }
    char err[512];
    sb_store *s = open_db(cfg.db_path, err, sizeof err);
    if (!s) {
        fprintf(stderr, "switchboard therapy: %s\n", err);
        return 1;
    }
    int rc = 1;
    /* a refusal found half way (a bad assessment after the session's row)
     * must leave nothing: sb_store_close commits what is pending */
    if (sb_store_begin(s) != SB_STORE_OK || sb_store_unit_begin(s) != SB_STORE_OK) {
        snprintf(err, sizeof err, "cannot write the database");
    } else if (user) {
        char out[THERAPY_ID_MAX + 1];
        bool ok = therapy_add_user(s, id, phone, last, name, role, out, err, sizeof err) == 0;
        sb_store_unit_end(s, ok);
        if (ok && sb_store_commit(s) == SB_STORE_OK) {
            printf("%s\n", out);
            rc = 0;
        }
    } else {
        char list[4096];
        const char *ids[MAX_PARTICIPANTS];
        int n = 0;
        snprintf(list, sizeof list, "%s", participants ? participants : "");
        for (char *t = strtok(list, ","); t && n < MAX_PARTICIPANTS; t = strtok(NULL, ","))
            ids[n++] = t;
        int64_t ts = therapy_add_session(s, name, date, ids, n, therapist, assessments,
                                         n_assessments, err, sizeof err);
        sb_store_unit_end(s, ts > 0);
        if (ts > 0 && sb_store_commit(s) == SB_STORE_OK) {
            printf("%lld\n", (long long)ts);
            rc = 0;
        }
    }
    if (rc != 0)
        fprintf(stderr, "switchboard therapy: %s\n", err);
    sb_store_close(s);
    return rc;
}
