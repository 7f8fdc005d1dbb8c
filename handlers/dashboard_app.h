/*
 * dashboard_app.h: the case dashboard's state (seed 000), shared by its
 * WebSocket (dashboard.c), its session-checked endpoints (dashboard_http.c),
 * its operator API (dashboard_operator.c) and its layout rules
 * (dashboard_layout.c). One per process.
 *
 * Who is who: the core backend asks /request_for_auth (operator API key)
 * for a single-use ticket bound to a case and a user; the browser trades it
 * at /auth_handshake for a fin_session_id bound to the same pair, which
 * opens the WebSocket and authorizes the component endpoints. Tickets and
 * sessions are stored as SHA-256 hashes. Every open dashboard of a case
 * listens on the topic "dashboard:<case_id>"; the operator API writes the
 * case's state, commits, and pushes one serialized frame to that topic.
 */
#ifndef SB_DASHBOARD_APP_H
#define SB_DASHBOARD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "core_store.h"
#include "dashboard.h"
#include "dashboard_store.h"
#include "metrics.h"
#include "rt.h"
#include "store.h"
#include "token.h"
#include "topics.h"

#define DASHBOARD_WS_PATH "/api/v1/ws"
#define DASHBOARD_CHAT_PAGE "/api/v1/get_chat"
#define DASHBOARD_BUTTON_PAGE "/api/v1/button_view"
#define DASHBOARD_FAQ_PAGE "/api/v1/faq_view"
#define DASHBOARD_TOUCH_GAP_MS 60000 /* a session's last use is written at most this often */
#define DASHBOARD_CHAT_TOKEN_S 3600  /* a chat access token's life */
#define DASHBOARD_KEY_MAX 32         /* a refresh key: YYYYMMDDhhmmssffffff and a NUL */
#define DASHBOARD_TOPIC_PREFIX "dashboard:"

typedef struct dashboard_app {
    sb_rt *rt;
    sb_store *store;
    core_store *core; /* operator API keys */
    int64_t ticket_ttl_ms, idle_ms, max_ms;
    char public_url[512]; /* "": the request's Host, over http */
    uint64_t owner;       /* the prune timer's */
    size_t n_open;        /* open dashboards */
    sb_counter *m_tickets, *m_handshakes, *m_refused, *m_opens, *m_pushes, *m_deliveries,
        *m_changes, *m_storage_errors;
    sb_gauge *g_open;
} dashboard_app;

/* The fin session an authenticate hook or the upgrade found. */
typedef struct dashboard_who {
    char hash[SB_TOKEN_HEX_LEN + 1];
    dashboard_fin fin;
} dashboard_who;

/* A case's dashboard: the stored one, or the default (version 0). */
typedef struct dashboard_board {
    int64_t version;
    dashboard_init_data_data data;
} dashboard_board;

dashboard_app *dashboard_app_start(sb_rt *rt, sb_store *store, const sb_config *cfg, char *err,
                                   size_t err_size);
void dashboard_app_stop(dashboard_app *app);
/* The demo (dashboard_demo.c): case 1's data, views and chat room, and an
 * operator API key in operator-key beside the database (outside any turn). */
int dashboard_seed_demo(sb_store *store, const char *db_path);

/* Check a fin_session_id for case_id and (when not NULL) user_id:
 * 0 with *who filled, or -DASHBOARD_ERROR_AUTH_REQUIRED (unknown or
 * expired), -DASHBOARD_ERROR_FORBIDDEN (another case or user),
 * -DASHBOARD_ERROR_UNAVAILABLE. Reads only. */
int dashboard_session_check(dashboard_app *app, const char *fin_session_id, size_t fin_len,
                            const char *case_id, const char *user_id, int64_t now_ms,
                            dashboard_who *who);
/* Mark the session used (at most every DASHBOARD_TOUCH_GAP_MS), in the turn. */
void dashboard_session_touch(dashboard_app *app, const dashboard_who *who, int64_t now_ms);

/* dashboard_layout.c ------------------------------------------------------------- */

/* The case's dashboard into v (arena memory); host: the request's Host
 * header, for the default chat src when no --public-url is set.
 * 0, or -1 on a storage error. */
int dashboard_load(struct sb_ctx *ctx, dashboard_app *app, const char *case_id, const char *host,
                   dashboard_board *v);
/* Store v as the case's dashboard (in the turn), if the stored one is still
 * v->version - 1: 0, 1 another change came first (dashboard_case_put), -1. */
int dashboard_save(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                   const dashboard_board *v);
/* Does data fit its layout? NULL, or "PATH: REASON" (static or arena). */
const char *dashboard_layout_problem(struct sb_ctx *ctx, const dashboard_init_data_data *data);
/* The index of component id in v, or -1. */
int dashboard_find(const dashboard_board *v, const char *id, size_t len);
/* The init_data message of v: meta (every value the server may send) and data. */
void dashboard_init_data_of(const dashboard_board *v, dashboard_init_data *msg);
/* A refresh key in the document's form: UTC YYYYMMDDhhmmssffffff. */
const char *dashboard_refresh_key(char buf[DASHBOARD_KEY_MAX]);
/* "dashboard:<case_id>" */
const char *dashboard_topic(char buf[SB_TOPIC_MAX], const char *case_id);

/* A fresh init_data (read from the database) to every open dashboard of
 * this node: how many. */
int dashboard_ws_resend_all(dashboard_app *app);
/* The WebSocket route (dashboard.c): 0, or -1 with err. */
int dashboard_ws_register(dashboard_app *app, const sb_failure *storage, char *err,
                          size_t err_size);

/* Pushes (dashboard.c): queued for every open dashboard of the case, sent
 * after the commit, serialized once. */
void dashboard_push_init_data(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                              const dashboard_board *v);
void dashboard_push_refresh(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                            sb_str component_id, const char *key);
void dashboard_push_iframe(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                           sb_str component_id, sb_str src);

#endif
