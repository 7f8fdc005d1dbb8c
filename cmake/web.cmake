# web.cmake: the files `switchboard serve` answers from memory (handlers/web.c):
# the realtime test client page and the socket.io-client browser bundle it
# loads, the very file npm installed into tests/node; and the therapy web
# client (web/therapy/: page, script, style sheet, no build step); and the case
# dashboard (web/dashboard/: the page, its script and style sheet, and the chat and
# button/FAQ pages its iframes show). cmake/embed.lua turns
# them into C arrays in the build directory (nothing generated is committed),
# compiled into sb_handlers.

set(SB_WEB_PAGE ${CMAKE_SOURCE_DIR}/handlers/web/realtime-test-client.html)
set(SB_WEB_THERAPY_DIR ${CMAKE_SOURCE_DIR}/web/therapy)
set(SB_WEB_THERAPY_FILES
    ${SB_WEB_THERAPY_DIR}/index.html ${SB_WEB_THERAPY_DIR}/app.js ${SB_WEB_THERAPY_DIR}/style.css)
set(SB_WEB_DASHBOARD_DIR ${CMAKE_SOURCE_DIR}/web/dashboard)
set(SB_WEB_DASHBOARD_FILES
    ${SB_WEB_DASHBOARD_DIR}/index.html ${SB_WEB_DASHBOARD_DIR}/app.js ${SB_WEB_DASHBOARD_DIR}/style.css
    ${SB_WEB_DASHBOARD_DIR}/chat.html ${SB_WEB_DASHBOARD_DIR}/chat.js
    ${SB_WEB_DASHBOARD_DIR}/view.html ${SB_WEB_DASHBOARD_DIR}/view.js)
set(SB_WEB_SIO_BUNDLE
    ${CMAKE_SOURCE_DIR}/tests/node/node_modules/socket.io-client/dist/socket.io.min.js)
if(NOT EXISTS ${SB_WEB_SIO_BUNDLE})
  message(FATAL_ERROR
    "The socket.io-client browser bundle is missing:\n  ${SB_WEB_SIO_BUNDLE}\n"
    "switchboard serves it to the realtime test client page, so the build needs it. "
    "Install the node packages first: `bash scripts/deps.sh` "
    "(or `npm ci` in tests/node), then configure again.")
endif()
# If the bundle goes away (or npm replaces it) after configuring, configure
# again: the check above then speaks instead of make's "No rule to make target".
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${SB_WEB_SIO_BUNDLE})

set(SB_WEB_EMBED_DIR ${CMAKE_BINARY_DIR}/web)
file(MAKE_DIRECTORY ${SB_WEB_EMBED_DIR})
add_custom_command(
  OUTPUT ${SB_WEB_EMBED_DIR}/web_embed.c ${SB_WEB_EMBED_DIR}/web_embed.h
  COMMAND ${LUA} ${CMAKE_SOURCE_DIR}/cmake/embed.lua ${SB_WEB_EMBED_DIR}/web_embed
          web_test_client_html=${SB_WEB_PAGE} web_sio_bundle=${SB_WEB_SIO_BUNDLE}
          web_therapy_html=${SB_WEB_THERAPY_DIR}/index.html
          web_therapy_js=${SB_WEB_THERAPY_DIR}/app.js
          web_therapy_css=${SB_WEB_THERAPY_DIR}/style.css
          web_dashboard_html=${SB_WEB_DASHBOARD_DIR}/index.html
          web_dashboard_js=${SB_WEB_DASHBOARD_DIR}/app.js
          web_dashboard_css=${SB_WEB_DASHBOARD_DIR}/style.css
          web_dashboard_chat_html=${SB_WEB_DASHBOARD_DIR}/chat.html
          web_dashboard_chat_js=${SB_WEB_DASHBOARD_DIR}/chat.js
          web_dashboard_view_html=${SB_WEB_DASHBOARD_DIR}/view.html
          web_dashboard_view_js=${SB_WEB_DASHBOARD_DIR}/view.js
  DEPENDS ${CMAKE_SOURCE_DIR}/cmake/embed.lua ${SB_WEB_PAGE} ${SB_WEB_SIO_BUNDLE}
          ${SB_WEB_THERAPY_FILES} ${SB_WEB_DASHBOARD_FILES}
  COMMENT "Embedding the realtime test client, the socket.io-client bundle, the therapy web client and the case dashboard"
  VERBATIM)
target_sources(sb_handlers PRIVATE
  ${CMAKE_SOURCE_DIR}/handlers/web.c
  ${SB_WEB_EMBED_DIR}/web_embed.c
  ${SB_WEB_EMBED_DIR}/web_embed.h)
target_include_directories(sb_handlers PRIVATE ${SB_WEB_EMBED_DIR})
