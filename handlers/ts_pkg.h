/*
 * ts_pkg.h: the TypeScript client package (generated/ts), embedded by
 * cmake/tspkg.cmake: each file's path under generated/ts and its bytes.
 */
#ifndef SB_TS_PKG_H
#define SB_TS_PKG_H

#include <stddef.h>

struct ts_pkg_file {
    const char *path; /* relative, e.g. "chat.client.ts", "examples/chat.examples.ts" */
    const unsigned char *data;
    const size_t *len;
};

extern const struct ts_pkg_file ts_pkg_files[];
extern const size_t ts_pkg_count;

#endif
