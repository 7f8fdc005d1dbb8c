/*
 * conformance.h: the test mode of `serve --socketio-conformance`
 * (conformance.c): what the official Engine.IO/Socket.IO suites expect.
 */
#ifndef SB_CONFORMANCE_H
#define SB_CONFORMANCE_H

#include <stddef.h>

#include "rt.h"

typedef struct conformance conformance;

conformance *conformance_start(sb_rt *rt, char *err, size_t err_size);
void conformance_stop(conformance *c); /* after sb_server_free */

#endif
