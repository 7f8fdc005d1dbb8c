# generated.cmake: regenerate generated/ from schema/ when a schema or a
# generator file changes, and build the generated C into sb_generated.
#
# generated/ is committed (readers and reviewers see it; builds do not need
# lua unless a schema changes) and the test `generated_fresh` fails when it
# is stale. The generator writes generated/manifest.cmake, the list of every
# file it emits, so CMake knows the outputs without globbing.

set(SB_GENERATED_DIR ${CMAKE_SOURCE_DIR}/generated)
file(GLOB SB_SCHEMA_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/schema/*.lua)
file(GLOB SB_GENERATOR_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/generator/*.lua)
list(SORT SB_SCHEMA_FILES)
include(${SB_GENERATED_DIR}/manifest.cmake)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${SB_GENERATED_DIR}/manifest.cmake)

add_custom_command(
  OUTPUT ${SB_GENERATED_FILES}
  COMMAND ${LUA} ${CMAKE_SOURCE_DIR}/generator/main.lua --out ${SB_GENERATED_DIR} ${SB_SCHEMA_FILES}
  DEPENDS ${SB_SCHEMA_FILES} ${SB_GENERATOR_FILES}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  COMMENT "Generating codecs, types, tests and docs from schema/"
  VERBATIM)
add_custom_target(generate DEPENDS ${SB_GENERATED_FILES})

# The codecs every program links: generated/c/<channel>.c and registry.c.
# Dispatch and actions (need handlers) and random instances (tests only) are separate.
set(SB_GENERATED_CODEC_SOURCES ${SB_GENERATED_FILES})
list(FILTER SB_GENERATED_CODEC_SOURCES INCLUDE REGEX "/c/[a-z0-9_]+\\.c$")
list(FILTER SB_GENERATED_CODEC_SOURCES EXCLUDE REGEX "_(dispatch|random|routes|actions)\\.c$")
add_library(sb_generated STATIC ${SB_GENERATED_CODEC_SOURCES} ${CMAKE_SOURCE_DIR}/runtime/registry.c)
target_include_directories(sb_generated PUBLIC ${SB_GENERATED_DIR}/c)
target_link_libraries(sb_generated PUBLIC sb_runtime)

set(SB_GENERATED_RANDOM_SOURCES ${SB_GENERATED_FILES})
list(FILTER SB_GENERATED_RANDOM_SOURCES INCLUDE REGEX "_random\\.c$")
set(SB_GENERATED_DISPATCH_SOURCES ${SB_GENERATED_FILES})
list(FILTER SB_GENERATED_DISPATCH_SOURCES INCLUDE REGEX "_dispatch\\.c$")
# HTTP route adapters (need handlers and the runtime's rt.h): one per channel
# with endpoints. CMakeLists.txt links those whose handlers exist.
set(SB_GENERATED_ROUTES_SOURCES ${SB_GENERATED_FILES})
list(FILTER SB_GENERATED_ROUTES_SOURCES INCLUDE REGEX "_routes\\.c$")
# Action tables (c/<channel>_actions.c, runtime/action.h): they call every
# action handler, so the program that serves the channel links them.
set(SB_GENERATED_ACTIONS_SOURCES ${SB_GENERATED_FILES})
list(FILTER SB_GENERATED_ACTIONS_SOURCES INCLUDE REGEX "_actions\\.c$")
