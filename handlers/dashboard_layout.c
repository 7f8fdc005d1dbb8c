/*
 * dashboard_layout.c: a case's dashboard as data: the default one (the
 * document's), loading and storing it (one JSON document per case, written
 * and read by the generated codec of InitData's data), the rules a change
 * must keep (three components filling their layout's slots), and the
 * init_data message.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "clock.h"
#include "ctx.h"
#include "dashboard_app.h"
#include "form.h"
#include "json.h"
#include "log.h"

typedef dashboard_dashboard_position pos;
typedef dashboard_dashboard_component_name cname;
typedef dashboard_dashboard_component_type ctype;

/* The slot sets of the three-component layouts (docs/protocols/dashboard.md):
 * a layout accepts either of its two, each slot filled once. */
static const pos slots[][2][3] = {
    [DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_STANDARD_3] =
        {{DASHBOARD_DASHBOARD_POSITION_TOP_FULL, DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT,
          DASHBOARD_DASHBOARD_POSITION_BOTTOM_RIGHT},
         {DASHBOARD_DASHBOARD_POSITION_BOTTOM_FULL, DASHBOARD_DASHBOARD_POSITION_TOP_LEFT,
          DASHBOARD_DASHBOARD_POSITION_TOP_RIGHT}},
    [DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_TALL_3] = {{DASHBOARD_DASHBOARD_POSITION_LEFT_FULL,
                                                      DASHBOARD_DASHBOARD_POSITION_TOP_RIGHT,
                                                      DASHBOARD_DASHBOARD_POSITION_BOTTOM_RIGHT},
                                                     {DASHBOARD_DASHBOARD_POSITION_RIGHT_FULL,
                                                      DASHBOARD_DASHBOARD_POSITION_TOP_LEFT,
                                                      DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT}},
};

/* The component that renders each type: one, except that a chat is shown
 * by an IFRAMEComponent (the document's) or a ChatComponent. */
static bool renders(ctype t, cname n)
{
    switch (t) {
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_TIMELINE:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_TIMELINE_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_SQUARE:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_SQUARE_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_CHAT:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT ||
               n == DASHBOARD_DASHBOARD_COMPONENT_NAME_CHAT_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_IFRAME:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_WATERFALL:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_WATERFALL_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_BUTTERFLY:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_BUTTERFLY_COMPONENT;
    case DASHBOARD_DASHBOARD_COMPONENT_TYPE_BARCHART:
        return n == DASHBOARD_DASHBOARD_COMPONENT_NAME_BARCHART_COMPONENT;
    default:
        return false;
    }
}

static const char *problem(struct sb_ctx *ctx, size_t i, const char *field, const char *fmt,
                           sb_str a, sb_str b)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "components[%zu].%s: ", i, field);
    if (n < 0 || (size_t)n >= sizeof buf)
        return "components: invalid";
    snprintf(buf + n, sizeof buf - (size_t)n, fmt, (int)a.len, a.ptr, (int)b.len, b.ptr);
    const char *out = sb_arena_strndup(ctx->arena, buf, strlen(buf));
    return out ? out : "components: invalid";
}

const char *dashboard_layout_problem(struct sb_ctx *ctx, const dashboard_init_data_data *d)
{
    const char *p = d->dsettings.custom_layout.ptr;
    size_t n = d->dsettings.custom_layout.len;
    while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++, n--;
    if (n == 0 || *p != '{')
        return "dsettings.custom_layout: must be a JSON object";
    dashboard_dashboard_layout_type lt = d->dsettings.layout_type;
    if (d->components.count != 3)
        return lt == DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_TALL_3
                   ? "components: view_tall_3 takes exactly 3 components"
                   : "components: view_standard_3 takes exactly 3 components";
    sb_str layout = dashboard_dashboard_layout_type_name(lt);
    const dashboard_dashboard_component *c = d->components.items;
    /* which of the layout's two slot sets: the one holding the first position */
    int set = -1;
    for (int s = 0; s < 2 && set < 0; s++)
        for (int k = 0; k < 3; k++)
            if (slots[lt][s][k] == c[0].position)
                set = s;
    for (size_t i = 0; i < 3; i++) {
        sb_str ps = dashboard_dashboard_position_name(c[i].position);
        bool fits = false;
        for (int k = 0; set >= 0 && k < 3; k++)
            fits = fits || slots[lt][set][k] == c[i].position;
        if (!fits)
            return problem(ctx, i, "position", "%.*s is not a slot of %.*s here", ps, layout);
        for (size_t j = 0; j < i; j++) {
            if (c[j].position == c[i].position)
                return problem(ctx, i, "position", "%.*s is taken by another component%.*s", ps,
                               SB_STR_LIT(""));
            if (c[j].id.len == c[i].id.len && memcmp(c[j].id.ptr, c[i].id.ptr, c[i].id.len) == 0)
                return problem(ctx, i, "id", "%.*s is not unique%.*s", c[i].id, SB_STR_LIT(""));
        }
        sb_str tn = dashboard_dashboard_component_type_name(c[i].type);
        sb_str nn = dashboard_dashboard_component_name_name(c[i].component_name);
        if (!renders(c[i].type, c[i].component_name))
            return problem(ctx, i, "component_name", "%.*s does not render type %.*s", nn, tn);
        bool iframe = c[i].component_name == DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT;
        bool chat = c[i].component_name == DASHBOARD_DASHBOARD_COMPONENT_NAME_CHAT_COMPONENT;
        if (iframe && c[i].has.src != SB_SET)
            return problem(ctx, i, "src", "an IFRAMEComponent needs a URL%.*s%.*s", SB_STR_LIT(""),
                           SB_STR_LIT(""));
        if (!iframe && !chat && c[i].has.src == SB_SET)
            return problem(ctx, i, "src",
                           "only an IFRAMEComponent or a ChatComponent loads a "
                           "URL (%.*s: null)%.*s",
                           nn, SB_STR_LIT(""));
    }
    return NULL;
}

/* The document's dashboard: timeline on top, the square bottom right, the
 * case's chat bottom left. */
static int default_board(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                         const char *host, dashboard_board *v)
{
    dashboard_dashboard_component *c = sb_arena_alloc(ctx->arena, 3 * sizeof *c);
    char url[1200];
    int n;
    sb_buf enc; /* the case ID as a query value */
    sb_buf_init(&enc);
    sb_percent_encode(&enc, case_id, strlen(case_id));
    if (enc.oom) {
        sb_buf_free(&enc);
        return -1;
    }
    if (app->public_url[0])
        n = snprintf(url, sizeof url, "%s%s?case_id=%.*s", app->public_url, DASHBOARD_CHAT_PAGE,
                     (int)enc.len, enc.data);
    else
        n = snprintf(url, sizeof url, "http://%s%s?case_id=%.*s",
                     host && *host ? host : "127.0.0.1", DASHBOARD_CHAT_PAGE, (int)enc.len,
                     enc.data);
    sb_buf_free(&enc);
    const char *src =
        n > 0 && (size_t)n < sizeof url ? sb_arena_strndup(ctx->arena, url, (size_t)n) : NULL;
    if (!c || !src)
        return -1;
    memset(c, 0, 3 * sizeof *c);
    c[0] = (dashboard_dashboard_component){
        .type = DASHBOARD_DASHBOARD_COMPONENT_TYPE_TIMELINE,
        .id = SB_STR_LIT("timeline_1"),
        .position = DASHBOARD_DASHBOARD_POSITION_TOP_FULL,
        .component_name = DASHBOARD_DASHBOARD_COMPONENT_NAME_TIMELINE_COMPONENT,
        .has.src = SB_NULL};
    c[1] = (dashboard_dashboard_component){.type = DASHBOARD_DASHBOARD_COMPONENT_TYPE_SQUARE,
                                           .id = SB_STR_LIT("square_1"),
                                           .position = DASHBOARD_DASHBOARD_POSITION_BOTTOM_RIGHT,
                                           .component_name =
                                               DASHBOARD_DASHBOARD_COMPONENT_NAME_SQUARE_COMPONENT,
                                           .has.src = SB_NULL};
    c[2] = (dashboard_dashboard_component){.type = DASHBOARD_DASHBOARD_COMPONENT_TYPE_CHAT,
                                           .id = SB_STR_LIT("chat_1"),
                                           .position = DASHBOARD_DASHBOARD_POSITION_BOTTOM_LEFT,
                                           .component_name =
                                               DASHBOARD_DASHBOARD_COMPONENT_NAME_IFRAME_COMPONENT,
                                           .src = {src, (size_t)n},
                                           .has.src = SB_SET};
    memset(v, 0, sizeof *v);
    v->version = 0;
    v->data.dsettings.layout_type = DASHBOARD_DASHBOARD_LAYOUT_TYPE_VIEW_STANDARD_3;
    v->data.dsettings.custom_layout = SB_STR_LIT("{}");
    v->data.components.items = c;
    v->data.components.count = 3;
    return 0;
}

int dashboard_load(struct sb_ctx *ctx, dashboard_app *app, const char *case_id, const char *host,
                   dashboard_board *v)
{
    const char *json;
    size_t len;
    int64_t version;
    int rc = dashboard_case_get(app->store, ctx->arena, case_id, &version, &json, &len);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return default_board(ctx, app, case_id, host, v);
    memset(v, 0, sizeof *v);
    sb_reader r;
    sb_reader_init(&r, json, len, ctx->arena, NULL);
    if (!dashboard_init_data_data_parse(&r, &v->data) || !sb_read_end(&r)) {
        /* written by this code: a row that does not parse is damage */
        sb_log(SB_LOG_ERROR, "dashboard_corrupt", "case_id=%s error=\"%s\"", case_id, r.err_msg);
        return -1;
    }
    v->version = version;
    return 0;
}

int dashboard_save(struct sb_ctx *ctx, dashboard_app *app, const char *case_id,
                   const dashboard_board *v)
{
    sb_buf b;
    sb_buf_init(&b);
    dashboard_init_data_data_write(&b, &v->data);
    int rc = b.oom
                 ? -1
                 : dashboard_case_put(app->store, case_id, v->version, b.data, b.len, sb_wall_ms());
    sb_buf_free(&b);
    (void)ctx;
    return rc;
}

int dashboard_find(const dashboard_board *v, const char *id, size_t len)
{
    for (size_t i = 0; i < v->data.components.count; i++) {
        const sb_str *c = &v->data.components.items[i].id;
        if (c->len == len && memcmp(c->ptr, id, len) == 0)
            return (int)i;
    }
    return -1;
}

void dashboard_init_data_of(const dashboard_board *v, dashboard_init_data *msg)
{
    static dashboard_dashboard_component_name names[DASHBOARD_DASHBOARD_COMPONENT_NAME__COUNT - 1];
    static dashboard_dashboard_layout_type layouts[DASHBOARD_DASHBOARD_LAYOUT_TYPE__COUNT - 1];
    for (int i = 1; i < DASHBOARD_DASHBOARD_COMPONENT_NAME__COUNT; i++)
        names[i - 1] = (dashboard_dashboard_component_name)i;
    for (int i = 1; i < DASHBOARD_DASHBOARD_LAYOUT_TYPE__COUNT; i++)
        layouts[i - 1] = (dashboard_dashboard_layout_type)i;
    memset(msg, 0, sizeof *msg);
    msg->meta.dashboard_types.items = names;
    msg->meta.dashboard_types.count = DASHBOARD_DASHBOARD_COMPONENT_NAME__COUNT - 1;
    msg->meta.layout_types.items = layouts;
    msg->meta.layout_types.count = DASHBOARD_DASHBOARD_LAYOUT_TYPE__COUNT - 1;
    msg->data = v->data;
}

const char *dashboard_refresh_key(char buf[DASHBOARD_KEY_MAX])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    /* each field in its range, so that the 20 digits always fit */
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000u,
             us = (unsigned)(ts.tv_nsec / 1000) % 1000000u;
    snprintf(buf, DASHBOARD_KEY_MAX, "%04u%02u%02u%02u%02u%02u%06u", year,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             us);
    return buf;
}

const char *dashboard_topic(char buf[SB_TOPIC_MAX], const char *case_id)
{
    snprintf(buf, SB_TOPIC_MAX, DASHBOARD_TOPIC_PREFIX "%s", case_id);
    return buf;
}
