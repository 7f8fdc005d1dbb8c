/*
 * chat_app.c: the chat module as the server composes it: its tables, its
 * state, its metrics and its routes (the WebSocket of chat.c and the REST
 * endpoints of chat_http.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus.h"
#include "chat_app.h"
#include "log.h"
#include "chat_view.h"
#include "token.h"

/* What a client hears when the turn's commit failed: nothing it sent in
 * that turn was stored, and nobody else heard of it. */
static void storage_failure(sb_buf *b, void *arg)
{
    chat_app *app = arg;
    chat_write_error(b, CHAT_ERR_STORAGE, strlen(CHAT_ERR_STORAGE));
    sb_counter_add(app->m_storage_errors, 1);
    sb_counter_add(app->m_out[CHAT_OUT_ERROR_PAYLOAD], 1);
}

int64_t chat_authenticate(chat_app *app, const char *query_token, const char *authorization)
{
    const char *token = query_token;
    if ((!token || !*token) && authorization && strncasecmp(authorization, "Bearer ", 7) == 0)
        token = authorization + 7;
    if (!token || !*token)
        return 0;
    char hash[65];
    sb_token_hash(token, strlen(token), hash);
    return chat_user_by_token_hash(app->store, hash);
}

static bool parse_in_v(sb_reader *r, void *out)
{
    return chat_in_parse(r, out);
}

static void outage_begin(struct sb_ctx *ctx, void *arg)
{
    (void)arg;
    chat_outage_begin(ctx);
}

/* The bus' subscription went down: each connection records what it is
 * sent from now on, and where it stood (chat.c, chat_outage_begin). */
static void on_down(void *arg)
{
    chat_app *app = arg;
    int n = sb_rt_each_ws(app->rt, CHAT_PATH, outage_begin, NULL);
    sb_log(SB_LOG_INFO, "chat_bus_down", "recording=%d", n);
}

static void outage_gap(struct sb_ctx *ctx, void *arg)
{
    (void)arg;
    chat_outage_gap(ctx);
}

/* A bus gap (runtime/bus.h): messages stored through other nodes may have
 * missed this node's connections. A connection that recorded the outage
 * gets them replayed from the database, nothing twice; any other is closed
 * with 1012, and its client reconnects with ?since= (chat.c,
 * chat_outage_gap). */
static void on_gap(void *arg)
{
    chat_app *app = arg;
    int n = sb_rt_each_ws(app->rt, CHAT_PATH, outage_gap, NULL);
    sb_log(SB_LOG_INFO, "chat_gap", "connections=%d", n);
}

chat_app *chat_app_start(sb_rt *rt, size_t max_message, char *err, size_t err_size)
{
    sb_store *store = sb_rt_store(rt);
    if (chat_store_migrate(store, err, err_size) != 0)
        return NULL;
    chat_app *app = calloc(1, sizeof *app);
    if (!app) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    app->rt = rt;
    app->sb_store = store;
    app->store = chat_store_new(store);
    app->arena = sb_rt_arena(rt);
    if (!app->store) {
        snprintf(err, err_size, "out of memory");
        free(app);
        return NULL;
    }
    app->limits = sb_json_default_limits;
    app->limits.max_input = max_message;
    app->parse_in = parse_in_v;
    for (int k = 0; k < CHAT_IN__COUNT; k++) {
        char labels[96];
        snprintf(labels, sizeof labels, "channel=\"chat\",type=\"%s\"",
                 k ? chat_in_kind_name((chat_in_kind)k) : "none");
        app->m_in[k] = sb_counter_get("switchboard_messages_in_total",
                                      "Messages received, by channel and type", labels);
    }
    for (int k = 0; k < CHAT_OUT__COUNT; k++) {
        char labels[96];
        snprintf(labels, sizeof labels, "channel=\"chat\",type=\"%s\"",
                 k ? chat_out_kind_name((chat_out_kind)k) : "none");
        app->m_out[k] = sb_counter_get("switchboard_messages_out_total",
                                       "Messages sent, by channel and type", labels);
    }
    app->m_invalid =
        sb_counter_get("switchboard_errors_total", "Errors, by kind", "kind=\"invalid_message\"");
    app->m_client_errors =
        sb_counter_get("switchboard_errors_total", "Errors, by kind", "kind=\"error_reply\"");
    app->m_auth_failures =
        sb_counter_get("switchboard_errors_total", "Errors, by kind", "kind=\"auth_failed\"");
    app->m_storage_errors =
        sb_counter_get("switchboard_errors_total", "Errors, by kind", "kind=\"storage\"");
    app->m_stored =
        sb_counter_get("switchboard_chat_messages_stored_total", "Chat messages stored", NULL);
    sb_ws_handler route = chat_ws_handler(app);
    route.storage_error = (sb_failure){.ws = storage_failure, .arg = app};
    if (sb_rt_add_ws(rt, &route, err, err_size) != 0 ||
        chat_http_register(app, err, err_size) != 0) {
        chat_app_stop(app);
        return NULL;
    }
    if (sb_rt_bus(rt)) {
        sb_bus_on_gap(sb_rt_bus(rt), on_gap, app);
        sb_bus_on_down(sb_rt_bus(rt), on_down, app);
    }
    return app;
}

void chat_app_stop(chat_app *app)
{
    if (!app)
        return;
    chat_store_free(app->store);
    free(app);
}
