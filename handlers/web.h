/*
 * web.h: the pages served by the binary.
 *
 *   GET /realtime/test-client.html   the page (handlers/web/realtime-test-client.html)
 *   GET /realtime/socket.io.min.js   the socket.io-client browser bundle it loads
 *   GET /therapy/                    the therapy web client (web/therapy/index.html)
 *   GET /therapy/app.js              its script (web/therapy/app.js)
 *   GET /therapy/style.css           its style sheet (web/therapy/style.css)
 *   GET /therapy                     308 to /therapy/
 *   GET /dashboard/                  the case dashboard (web/dashboard/index.html)
 *   GET /dashboard/app.js            its script (web/dashboard/app.js)
 *   GET /dashboard/style.css         the style sheet of all three dashboard pages
 *   GET /dashboard/chat.js           the chat page's script (web/dashboard/chat.js)
 *   GET /dashboard/view.js           the button/FAQ page's script (web/dashboard/view.js)
 *   GET /dashboard                   308 to /dashboard/
 *   GET /api/v1/get_chat             the case's chat, framed by the dashboard
 *                                    (web/dashboard/chat.html)
 *   GET /api/v1/button_view          the button view and the FAQ view, one page
 *   GET /api/v1/faq_view             (web/dashboard/view.html; its script reads the path)
 *
 * All are embedded at build time (cmake/web.cmake): the bundle is the very
 * file npm installed, so the page talks to the server with the real client.
 * Answers carry an ETag (a hash of the content) and Cache-Control: no-cache;
 * a matching If-None-Match is answered 304 without the body, and HEAD gets
 * the headers only. docs/protocols/realtime-test-client.md tells how to use
 * the realtime page, docs/protocols/therapy-web-client.md the therapy one,
 * docs/protocols/dashboard-web-client.md the dashboard and its framed pages.
 */
#ifndef SB_WEB_H
#define SB_WEB_H

#include <stddef.h>

#include "rt.h"

#define WEB_TEST_CLIENT_PATH "/realtime/test-client.html"
#define WEB_SIO_BUNDLE_PATH "/realtime/socket.io.min.js"
#define WEB_THERAPY_PAGE_PATH "/therapy/"
#define WEB_THERAPY_APP_PATH "/therapy/app.js"
#define WEB_THERAPY_STYLE_PATH "/therapy/style.css"
#define WEB_THERAPY_BARE_PATH "/therapy" /* redirected to WEB_THERAPY_PAGE_PATH */
#define WEB_DASHBOARD_PAGE_PATH "/dashboard/"
#define WEB_DASHBOARD_APP_PATH "/dashboard/app.js"
#define WEB_DASHBOARD_STYLE_PATH "/dashboard/style.css"
#define WEB_DASHBOARD_CHAT_JS_PATH "/dashboard/chat.js"
#define WEB_DASHBOARD_VIEW_JS_PATH "/dashboard/view.js"
#define WEB_DASHBOARD_BARE_PATH "/dashboard" /* redirected to WEB_DASHBOARD_PAGE_PATH */
#define WEB_DASHBOARD_CHAT_PATH "/api/v1/get_chat"
#define WEB_DASHBOARD_BUTTON_VIEW_PATH "/api/v1/button_view"
#define WEB_DASHBOARD_FAQ_VIEW_PATH "/api/v1/faq_view"

/* Register the GET routes above; -1 with a message in err when refused. */
int web_add_routes(sb_rt *rt, char *err, size_t err_size);

#endif
