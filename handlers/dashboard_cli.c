/*
 * dashboard_cli.c: `switchboard dashboard ...`, the operator API of the
 * case dashboard from a shell. Every subcommand is one or two HTTP calls to
 * a running server (--url, SB_URL, default http://127.0.0.1:8080) with an
 * operator API key (--key, SB_API_KEY, else the file operator-key beside
 * the database, which a demo start writes); bodies are written and read by
 * the generated codecs of schema/dashboard.lua. The server's answer is
 * printed; the exit code is 0 for a 2xx, 1 otherwise, 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli.h"
#include "dashboard.h"
#include "form.h"
#include "http_client.h"
#include "secret_file.h"
#include "store.h"

#define MAX_TYPES 16

static void usage(FILE *to)
{
    fputs("usage: switchboard dashboard set     --case ID [--layout L] [--type ID=TYPE]...\n"
          "                                     [--json BODY | --file F] [--version N]\n"
          "       switchboard dashboard refresh --case ID --component ID [--refresh-key K]\n"
          "       switchboard dashboard iframe  --case ID --component ID --url URL\n"
          "       switchboard dashboard data    --case ID --component ID (--json J | --file F)\n"
          "       switchboard dashboard get     --case ID\n"
          "       switchboard dashboard buttons --case ID (--json J | --file F)\n"
          "       switchboard dashboard faq     --case ID (--json J | --file F)\n"
          "       switchboard dashboard chat    --case ID --room ROOM_ID\n"
          "       switchboard dashboard open    --case ID --user ID   (prints the page's URL)\n"
          "  common: [--server http://127.0.0.1:8080] [--key KEY] [--db PATH] [--data-dir DIR]\n"
          "  set: without --json/--file, edits the current dashboard: --layout view_standard_3 |\n"
          "       view_tall_3 moves the components to the new layout's slots in order; --type\n"
          "       square_1=barchart changes a component's type (and the component rendering it).\n"
          "       The change is based on the version read (or --version N): 409 if another\n"
          "       change came first.\n"
          "  The key: --key, SB_API_KEY, or the file operator-key beside --db (SB_DB,\n"
          "  ./var/switchboard.db; with a postgres:// --db, in --data-dir, SB_DATA_DIR, ./var),\n"
          "  written by the demo start; `switchboard apikey add` makes one.\n",
          to);
}

typedef struct opts {
    const char *sub, *case_id, *component, *key, *json, *file, *url, *layout, *version, *user,
        *room, *refresh_key, *server;
    const char *types[MAX_TYPES];
    int n_types;
    char key_buf[256];
    /* percent-encoded for URLs (an ID may hold '/', '?', '&', spaces) */
    char case_enc[3 * 64 + 1], component_enc[3 * 64 + 1], user_enc[3 * 64 + 1];
} opts;

/* s percent-encoded into out (size bytes); "" when it does not fit. */
static void encode(const char *s, char *out, size_t size)
{
    sb_buf b;
    sb_buf_init(&b);
    if (s)
        sb_percent_encode(&b, s, strlen(s));
    snprintf(out, size, "%.*s", b.oom || b.len >= size ? 0 : (int)b.len, b.data ? b.data : "");
    sb_buf_free(&b);
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->sub = argv[1];
    o->server = getenv("SB_URL") && *getenv("SB_URL") ? getenv("SB_URL") : "http://127.0.0.1:8080";
    o->key = getenv("SB_API_KEY");
    const char *db = getenv("SB_DB") && *getenv("SB_DB") ? getenv("SB_DB") : "./var/switchboard.db";
    const char *data_dir =
        getenv("SB_DATA_DIR") && *getenv("SB_DATA_DIR") ? getenv("SB_DATA_DIR") : "./var";
    for (int i = 2; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "switchboard dashboard: %s: missing value\n", argv[i]);
            return -1;
        }
        const char *a = argv[i];
        if (strcmp(a, "--case") == 0)
            o->case_id = v;
        else if (strcmp(a, "--component") == 0)
            o->component = v;
        else if (strcmp(a, "--key") == 0)
            o->key = v;
        else if (strcmp(a, "--json") == 0)
            o->json = v;
        else if (strcmp(a, "--file") == 0)
            o->file = v;
        else if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "--layout") == 0)
            o->layout = v;
        else if (strcmp(a, "--version") == 0)
            o->version = v;
        else if (strcmp(a, "--user") == 0)
            o->user = v;
        else if (strcmp(a, "--room") == 0)
            o->room = v;
        else if (strcmp(a, "--refresh-key") == 0)
            o->refresh_key = v;
        else if (strcmp(a, "--server") == 0)
            o->server = v;
        else if (strcmp(a, "--db") == 0)
            db = v;
        else if (strcmp(a, "--data-dir") == 0)
            data_dir = v;
        else if (strcmp(a, "--type") == 0 && o->n_types < MAX_TYPES)
            o->types[o->n_types++] = v;
        else {
            fprintf(stderr, "switchboard dashboard: unknown option '%s'\n", a);
            return -1;
        }
    }
    if (!o->case_id) {
        fprintf(stderr, "switchboard dashboard %s: --case is required\n", o->sub);
        return -1;
    }
    encode(o->case_id, o->case_enc, sizeof o->case_enc);
    encode(o->component, o->component_enc, sizeof o->component_enc);
    encode(o->user, o->user_enc, sizeof o->user_enc);
    if (!o->key || !*o->key) {
        char path[1100], err[256], beside[1100];
        /* a PostgreSQL database has no directory: the files that would sit
         * beside it are in --data-dir, as for serve (runtime/config.c) */
        if (sb_store_is_url(db)) {
            snprintf(beside, sizeof beside, "%s/switchboard.db", data_dir);
            db = beside;
        }
        secret_file_beside(db, "operator-key", path, sizeof path);
        if (secret_file_load(path, false, o->key_buf, sizeof o->key_buf, err, sizeof err) != 0) {
            fprintf(stderr,
                    "switchboard dashboard: an operator API key is required (--key, SB_API_KEY, "
                    "or %s; `switchboard apikey add --name N` makes one)\n",
                    path);
            return -1;
        }
        o->key = o->key_buf;
    }
    return 0;
}

/* One HTTP call -------------------------------------------------------------------- */

/* The status (0: no answer, said); *out the body (free it), when out. */
static int http(const opts *o, const char *method, const char *path, const char *body, size_t len,
                char **out, size_t *out_len)
{
    char target[2048], auth[300];
    snprintf(target, sizeof target, "%s%s", o->server, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->key);
    const char *headers[] = {auth, NULL};
    const char *error;
    int status =
        sb_http_fetch(method, target, headers, body, len, 30000, 1u << 22, out, out_len, &error);
    if (status < 0)
        fprintf(stderr, "switchboard dashboard: --server %s: not an http:// URL\n", o->server);
    else if (status == 0)
        fprintf(stderr, "switchboard dashboard: %s\n", error);
    return status < 0 ? 0 : status;
}

/* Call, print the answer, exit code. */
static int run(const opts *o, const char *method, const char *path, const char *body, size_t len)
{
    char *out;
    size_t n;
    int status = http(o, method, path, body, len, &out, &n);
    if (status)
        printf("%.*s\n", (int)n, out ? out : "");
    if (status && (status < 200 || status > 299))
        fprintf(stderr, "switchboard dashboard %s: HTTP %d\n", o->sub, status);
    free(out);
    return status >= 200 && status <= 299 ? 0 : 1;
}

/* --json, or the whole of --file: malloc'd, or NULL (reported). */
static char *body_of(const opts *o, size_t *len)
{
    if (o->json) {
        *len = strlen(o->json);
        return strdup(o->json);
    }
    if (!o->file) {
        fprintf(stderr, "switchboard dashboard %s: --json or --file is required\n", o->sub);
        return NULL;
    }
    FILE *f = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "rb");
    if (!f) {
        fprintf(stderr, "switchboard dashboard: %s: cannot open\n", o->file);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            fprintf(stderr, "switchboard dashboard: %s: too large\n", o->file);
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

/* set ------------------------------------------------------------------------------ */

/* Where a component moves when the layout changes: the i-th slot of one
 * layout's slot set to the i-th of the other's. */
static dashboard_dashboard_position remap(dashboard_dashboard_position p,
                                          dashboard_dashboard_layout_type to)
{
    static const dashboard_dashboard_position std[] = {
        DASHBOARD_DASHBOARD_POSITION_TOP_FULL,     DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT,
        DASHBOARD_DASHBOARD_POSITION_BOTTOM_RIGHT, DASHBOARD_DASHBOARD_POSITION_BOTTOM_FULL,
        DASHBOARD_DASHBOARD_POSITION_TOP_LEFT,     DASHBOARD_DASHBOARD_POSITION_TOP_RIGHT};
    static const dashboard_dashboard_position tall[] = {
        DASHBOARD_DASHBOARD_POSITION_LEFT_FULL,    DASHBOARD_DASHBOARD_POSITION_TOP_RIGHT,
        DASHBOARD_DASHBOARD_POSITION_BOTTOM_RIGHT, DASHBOARD_DASHBOARD_POSITION_RIGHT_FULL,
        DASHBOARD_DASHBOARD_POSITION_TOP_LEFT,     DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT};
    const dashboard_dashboard_position *from =
        to == DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_TALL_3 ? std : tall;
    const dashboard_dashboard_position *into =
        to == DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_TALL_3 ? tall : std;
    for (int i = 0; i < 6; i++)
        if (from[i] == p)
            return into[i];
    return p;
}

static dashboard_dashboard_component_name renderer(dashboard_dashboard_component_type t)
{
    switch (t) {
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_TIMELINE:
        return DASHBOARD_DASHBOARD_COMPONENT_NAME_TIMELINE_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_SQUARE:
        return DASHBOARD_DASHBOARD_COMPONENT_NAME_SQUARE_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_WATERFALL:
        return DASHBOARD_DASHBOARD_COMPONENT_NAME_WATERFALL_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_BUTTERFLY:
        return DASHBOARD_DASHBOARD_COMPONENT_NAME_BUTTERFLY_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_BARCHART:
        return DASHBOARD_DASHBOARD_COMPONENT_NAME_BARCHART_COMPONENT;
    default:
        return DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT;
    }
}

/* Edit the current dashboard as --layout and --type say: 0, or -1 (said). */
static int edit(const opts *o, dashboard_dashboard_state *s)
{
    if (o->layout) {
        dashboard_dashboard_layout_type l =
            dashboard_dashboard_layout_type_from(o->layout, strlen(o->layout));
        if (!l) {
            fprintf(stderr,
                    "switchboard dashboard set: --layout: view_standard_3 or view_tall_3\n");
            return -1;
        }
        if (l != s->dsettings.layout_type)
            for (size_t i = 0; i < s->components.count; i++)
                s->components.items[i].position = remap(s->components.items[i].position, l);
        s->dsettings.layout_type = l;
    }
    for (int t = 0; t < o->n_types; t++) {
        const char *eq = strchr(o->types[t], '=');
        dashboard_dashboard_component_type type =
            eq ? dashboard_dashboard_component_type_from(eq + 1, strlen(eq + 1)) : 0;
        size_t idn = eq ? (size_t)(eq - o->types[t]) : 0;
        dashboard_dashboard_component *c = NULL;
        for (size_t i = 0; i < s->components.count && idn; i++)
            if (s->components.items[i].id.len == idn &&
                memcmp(s->components.items[i].id.ptr, o->types[t], idn) == 0)
                c = &s->components.items[i];
        if (!type || !c) {
            fprintf(stderr,
                    "switchboard dashboard set: --type %s: want COMPONENT_ID=TYPE, a "
                    "component of the dashboard and one of timeline, square, chat, "
                    "iframe, waterfall, butterfly, barchart\n",
                    o->types[t]);
            return -1;
        }
        c->type = type;
        c->component_name = renderer(type);
        if (c->component_name != DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT)
            c->has.src = SB_NULL;
        else if (c->has.src != SB_SET) {
            fprintf(stderr,
                    "switchboard dashboard set: --type %s: an IFRAMEComponent needs a "
                    "src: use --json or --file\n",
                    o->types[t]);
            return -1;
        }
    }
    return 0;
}

/* The case's dashboard as the server has it (GET, the generated parser), in
 * arena memory (the body too): 0, or 1 (said). */
static int current(const opts *o, const char *path, sb_arena *arena, dashboard_dashboard_state *s)
{
    char *cur;
    size_t n;
    int status = http(o, "GET", path, NULL, 0, &cur, &n);
    if (status != 200) {
        fprintf(stderr, "switchboard dashboard set: GET %s: HTTP %d %s\n", path, status,
                cur ? cur : "");
        free(cur);
        return 1;
    }
    char *text = sb_arena_strndup(arena, cur, n);
    free(cur);
    sb_reader r;
    memset(s, 0, sizeof *s);
    sb_reader_init(&r, text ? text : "", text ? n : 0, arena, NULL);
    if (!dashboard_dashboard_state_parse(&r, s) || !sb_read_end(&r)) {
        fprintf(stderr, "switchboard dashboard set: the server's answer: %s\n", r.err_msg);
        return 1;
    }
    return 0;
}

/* PUT the body (generated writer), based on put->version, else --version,
 * else the current version. */
static int put_based(const opts *o, const char *path, sb_arena *arena,
                     dashboard_dashboard_put_request *put)
{
    if (put->has.version != SB_SET) {
        dashboard_dashboard_state s;
        if (o->version)
            put->version = atoll(o->version);
        else if (current(o, path, arena, &s) == 0)
            put->version = s.version;
        else
            return 1;
        put->has.version = SB_SET;
    }
    sb_buf b;
    sb_buf_init(&b);
    dashboard_dashboard_put_request_write(&b, put);
    int rc = b.oom ? 1 : run(o, "PUT", path, b.data, b.len);
    sb_buf_free(&b);
    return rc;
}

static int set(const opts *o, const char *path)
{
    sb_arena arena;
    sb_arena_init(&arena, 1u << 24);
    dashboard_dashboard_put_request put;
    memset(&put, 0, sizeof put);
    int rc;
    if (o->json || o->file) {
        /* the body is checked here as the server would (the same parser) */
        size_t len;
        char *body = body_of(o, &len);
        bool read = body != NULL;
        char *text = read ? sb_arena_strndup(&arena, body, len) : NULL;
        free(body);
        sb_reader r;
        sb_reader_init(&r, text ? text : "", text ? len : 0, &arena, NULL);
        if (!read)
            rc = 2;
        else if (!dashboard_dashboard_put_request_parse(&r, &put) || !sb_read_end(&r)) {
            fprintf(stderr, "switchboard dashboard set: %s: %s\n", o->json ? "--json" : o->file,
                    r.err_msg);
            rc = 1;
        } else {
            rc = put_based(o, path, &arena, &put);
        }
    } else {
        dashboard_dashboard_state s;
        rc = current(o, path, &arena, &s);
        if (rc == 0 && edit(o, &s) != 0)
            rc = 2;
        if (rc == 0) {
            put.version = o->version ? atoll(o->version) : s.version;
            put.has.version = SB_SET;
            put.dsettings = s.dsettings;
            put.components.items = s.components.items;
            put.components.count = s.components.count;
            rc = put_based(o, path, &arena, &put);
        }
    }
    sb_arena_free(&arena);
    return rc;
}

/* open: a ticket, and the page's URL with it. */
static int open_page(const opts *o)
{
    if (!o->user) {
        fprintf(stderr, "switchboard dashboard open: --user is required\n");
        return 2;
    }
    dashboard_request_for_auth_request req = {.case_id = {o->case_id, strlen(o->case_id)},
                                              .user_id = {o->user, strlen(o->user)}};
    sb_buf b;
    sb_buf_init(&b);
    dashboard_request_for_auth_request_write(&b, &req);
    char *out;
    size_t n;
    int status = http(o, "POST", "/request_for_auth", b.data, b.len, &out, &n);
    sb_buf_free(&b);
    sb_arena arena;
    sb_arena_init(&arena, 1u << 20);
    sb_reader r;
    dashboard_request_for_auth_response resp;
    int rc = 1;
    if (status == 200 && out) {
        sb_reader_init(&r, out, n, &arena, NULL);
        if (dashboard_request_for_auth_response_parse(&r, &resp) && sb_read_end(&r)) {
            printf("%s/dashboard/?case_id=%s&user_id=%s&auth_ticket=%.*s\n", o->server, o->case_enc,
                   o->user_enc, (int)resp.auth_ticket.len, resp.auth_ticket.ptr);
            printf("(the ticket works once, within %lld s)\n", (long long)resp.expires_in);
            rc = 0;
        }
    }
    if (rc)
        fprintf(stderr, "switchboard dashboard open: HTTP %d %s\n", status, out ? out : "");
    sb_arena_free(&arena);
    free(out);
    return rc;
}

int cli_dashboard(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    opts o;
    if (parse(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    char path[512];
    const char *sub = o.sub;
    bool needs_component =
        strcmp(sub, "refresh") == 0 || strcmp(sub, "iframe") == 0 || strcmp(sub, "data") == 0;
    if (needs_component && !o.component) {
        fprintf(stderr, "switchboard dashboard %s: --component is required\n", sub);
        return 2;
    }
    if (strcmp(sub, "set") == 0 || strcmp(sub, "get") == 0) {
        snprintf(path, sizeof path, "/api/v1/cases/%s/dashboard", o.case_enc);
        return sub[0] == 's' ? set(&o, path) : run(&o, "GET", path, NULL, 0);
    }
    if (strcmp(sub, "open") == 0)
        return open_page(&o);
    sb_buf b;
    sb_buf_init(&b);
    const char *method = "POST";
    if (strcmp(sub, "refresh") == 0) {
        dashboard_component_refresh_request req = {0};
        if (o.refresh_key) {
            req.key = (sb_str){o.refresh_key, strlen(o.refresh_key)};
            req.has.key = SB_SET;
        }
        snprintf(path, sizeof path, "/api/v1/cases/%s/components/%s/refresh", o.case_enc,
                 o.component_enc);
        dashboard_component_refresh_request_write(&b, &req);
    } else if (strcmp(sub, "iframe") == 0) {
        if (!o.url) {
            fprintf(stderr, "switchboard dashboard iframe: --url is required\n");
            sb_buf_free(&b);
            return 2;
        }
        dashboard_iframe_request req = {.iframe_source = {o.url, strlen(o.url)}};
        snprintf(path, sizeof path, "/api/v1/cases/%s/components/%s/iframe", o.case_enc,
                 o.component_enc);
        dashboard_iframe_request_write(&b, &req);
    } else if (strcmp(sub, "chat") == 0) {
        if (!o.room) {
            fprintf(stderr, "switchboard dashboard chat: --room is required\n");
            sb_buf_free(&b);
            return 2;
        }
        dashboard_case_chat_request req = {.room_id = atoll(o.room)};
        snprintf(path, sizeof path, "/api/v1/cases/%s/chat", o.case_enc);
        dashboard_case_chat_request_write(&b, &req);
        method = "PUT";
    } else if (strcmp(sub, "data") == 0 || strcmp(sub, "buttons") == 0 || strcmp(sub, "faq") == 0) {
        size_t len;
        char *body = body_of(&o, &len);
        if (!body) {
            sb_buf_free(&b);
            return 2;
        }
        sb_buf_put(&b, body, len);
        free(body);
        method = "PUT";
        if (sub[0] == 'd')
            snprintf(path, sizeof path, "/api/v1/cases/%s/components/%s/data", o.case_enc,
                     o.component_enc);
        else
            snprintf(path, sizeof path, "/api/v1/cases/%s/views/%s", o.case_enc, sub);
    } else {
        fprintf(stderr, "switchboard dashboard: unknown subcommand '%s'\n", sub);
        usage(stderr);
        sb_buf_free(&b);
        return 2;
    }
    int rc = b.oom ? 1 : run(&o, method, path, b.data, b.len);
    sb_buf_free(&b);
    return rc;
}
