/*
 * bus.c: the Redis fan-out bus (bus.h). A stub for now: the API compiles,
 * nothing is sent; the implementation follows.
 */
#include "bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb_bus {
    char node_id[SB_BUS_NODE_MAX + 1];
};

int sb_bus_check_url(const char *url, char *err, size_t errn)
{
    (void)url;
    (void)err;
    (void)errn;
    return 0;
}

sb_bus *sb_bus_new(struct event_base *base, sb_rt *rt, const char *url, const char *node_id,
                   char *err, size_t errn)
{
    (void)base;
    (void)rt;
    (void)url;
    sb_bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        snprintf(err, errn, "out of memory");
        return NULL;
    }
    snprintf(bus->node_id, sizeof bus->node_id, "%s", node_id);
    return bus;
}

void sb_bus_free(sb_bus *bus)
{
    free(bus);
}

const char *sb_bus_node_id(const sb_bus *bus)
{
    return bus->node_id;
}

int sb_bus_psubscribe(sb_bus *bus, const char *pattern, sb_bus_raw_fn fn, void *arg)
{
    (void)bus;
    (void)pattern;
    (void)fn;
    (void)arg;
    return 0;
}

int sb_bus_publish_raw(sb_bus *bus, const char *channel, const char *msg, size_t len)
{
    (void)bus;
    (void)channel;
    (void)msg;
    (void)len;
    return -1;
}

void sb_bus_on_gap(sb_bus *bus, sb_bus_gap_fn fn, void *arg)
{
    (void)bus;
    (void)fn;
    (void)arg;
}

bool sb_bus_healthy(const sb_bus *bus, const char **reason)
{
    (void)bus;
    if (reason)
        *reason = NULL;
    return true;
}

void sb_bus_publish(sb_bus *bus, const char *const *topics, size_t n, const char *frame, size_t len,
                    bool binary)
{
    (void)bus;
    (void)topics;
    (void)n;
    (void)frame;
    (void)len;
    (void)binary;
}
