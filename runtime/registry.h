/*
 * registry.h: the generated tables of every message, union and endpoint
 * (generated/c/registry.c). The CLI and the generic tests walk them; the
 * server uses the typed functions directly.
 */
#ifndef SB_REGISTRY_H
#define SB_REGISTRY_H

#include "codec.h"

typedef struct sb_message_info {
    const char *name;       /* "SendMessageEvent" */
    const char *channel;    /* "chat" */
    const char *dir;        /* "in", "out" or "http" */
    const char *disc_key;   /* "action", or NULL for http messages */
    const char *disc_value; /* "send_message", or NULL */
    size_t size;            /* of the C struct */
    sb_parse_fn parse;
    sb_write_fn write;
} sb_message_info;

typedef struct sb_union_info {
    const char *channel;
    const char *dir; /* "in" or "out" */
    const char *disc_key;
    size_t size;
    sb_parse_fn parse;
    sb_write_fn write;
} sb_union_info;

typedef struct sb_endpoint_info {
    const char *name;
    const char *channel;
    const char *method;
    const char *path;
    bool auth;
} sb_endpoint_info;

extern const sb_message_info sb_messages[];
extern const size_t sb_messages_count;
extern const sb_union_info sb_unions[];
extern const size_t sb_unions_count;
extern const sb_endpoint_info sb_endpoints[];
extern const size_t sb_endpoints_count;

const sb_message_info *sb_message_find(const char *name);
const sb_union_info *sb_union_find(const char *channel, const char *dir);

#endif
