# FindLWSEvent.cmake: the libwebsockets 4.1.6 that scripts/deps.sh builds WITH libevent
# support (Debian's libwebsockets-dev lacks LWS_WITH_LIBEVENT), static, into
# ${SB_BUILD_DIR:-build}/deps/lws-install.
#
# Input
#   SB_LWS_ROOT   install prefix of that build. When unset, looked for in
#                 ${CMAKE_BINARY_DIR}/deps/lws-install (deps.sh run with SB_BUILD_DIR set to
#                 the CMake build dir), then ${CMAKE_SOURCE_DIR}/build/deps/lws-install
#                 (deps.sh's default).
# Output
#   LWSEvent_FOUND, LWSEvent_VERSION, LWSEvent_INCLUDE_DIR, LWSEvent_LIBRARY
#   lws::lws      imported static library with its include dir and link dependencies
#                 (libevent's event_core, pthread, dl, m). Its headers are SYSTEM headers
#                 for consumers, so our -Werror warnings do not fire inside libwebsockets.h.
#
# Use (top-level CMakeLists.txt):
#   list(APPEND CMAKE_MODULE_PATH "${CMAKE_SOURCE_DIR}/cmake")
#   find_package(LWSEvent REQUIRED)
#   target_link_libraries(sb_runtime PUBLIC lws::lws)

set(_lws_hints)
if(SB_LWS_ROOT)
  list(APPEND _lws_hints "${SB_LWS_ROOT}")
else()
  list(APPEND _lws_hints "${CMAKE_BINARY_DIR}/deps/lws-install"
                         "${CMAKE_SOURCE_DIR}/build/deps/lws-install")
endif()

# Only our own build will do: never fall back to a system libwebsockets (no libevent there).
find_path(LWSEvent_INCLUDE_DIR libwebsockets.h lws_config.h
          PATHS ${_lws_hints} PATH_SUFFIXES include NO_DEFAULT_PATH)
find_library(LWSEvent_LIBRARY NAMES libwebsockets.a
             PATHS ${_lws_hints} PATH_SUFFIXES lib NO_DEFAULT_PATH)
find_library(LWSEvent_EVENT_CORE_LIBRARY NAMES event_core)
find_path(LWSEvent_EVENT_INCLUDE_DIR event2/event.h)

set(_lws_reason "")
if(LWSEvent_INCLUDE_DIR AND EXISTS "${LWSEvent_INCLUDE_DIR}/lws_config.h")
  # LWS_LIBRARY_VERSION is "4.1.6-<git hash>": take the numeric parts instead.
  set(LWSEvent_VERSION "")
  foreach(_part MAJOR MINOR PATCH)
    file(STRINGS "${LWSEvent_INCLUDE_DIR}/lws_config.h" _lws_ver
         REGEX "^#define LWS_LIBRARY_VERSION_${_part} ")
    string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _lws_ver "${_lws_ver}")
    list(APPEND LWSEvent_VERSION "${_lws_ver}")
  endforeach()
  list(JOIN LWSEvent_VERSION "." LWSEvent_VERSION)
  file(STRINGS "${LWSEvent_INCLUDE_DIR}/lws_config.h" _lws_evt
       REGEX "^#define LWS_WITH_LIBEVENT")
  if(NOT _lws_evt)
    set(LWSEvent_INCLUDE_DIR "LWSEvent_INCLUDE_DIR-NOTFOUND" CACHE PATH "" FORCE)
    set(_lws_reason "libwebsockets there was built without LWS_WITH_LIBEVENT. ")
  endif()
endif()

include(FindPackageHandleStandardArgs)
string(REPLACE ";" ", " _lws_hints_text "${_lws_hints}")
find_package_handle_standard_args(LWSEvent
  REQUIRED_VARS LWSEvent_LIBRARY LWSEvent_INCLUDE_DIR
                LWSEvent_EVENT_CORE_LIBRARY LWSEvent_EVENT_INCLUDE_DIR
  VERSION_VAR LWSEvent_VERSION
  REASON_FAILURE_MESSAGE
    "${_lws_reason}Looked in: ${_lws_hints_text}. Run scripts/deps.sh (with SB_BUILD_DIR=<build dir>) or set SB_LWS_ROOT.")

if(LWSEvent_FOUND AND NOT TARGET lws::lws)
  find_package(Threads REQUIRED)
  add_library(lws::lws STATIC IMPORTED)
  set_target_properties(lws::lws PROPERTIES
    IMPORTED_LOCATION "${LWSEvent_LIBRARY}"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${LWSEvent_INCLUDE_DIR};${LWSEvent_EVENT_INCLUDE_DIR}"
    # What lws' own CMake put on its LIB_LIST for this configuration (libcap is forced
    # off by deps.sh, zlib and SSL are off): libevent's core, then pthread, dl, m.
    INTERFACE_LINK_LIBRARIES
      "${LWSEvent_EVENT_CORE_LIBRARY};Threads::Threads;${CMAKE_DL_LIBS};m")
endif()

mark_as_advanced(LWSEvent_INCLUDE_DIR LWSEvent_LIBRARY
                 LWSEvent_EVENT_CORE_LIBRARY LWSEvent_EVENT_INCLUDE_DIR)
unset(_lws_hints)
unset(_lws_reason)
