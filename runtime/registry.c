/*
 * registry.c: look-ups over the generated tables (generated/c/registry.c).
 * Linked with the generated code, not into sb_runtime, because the tables
 * live there.
 */
#include <string.h>

#include "registry.h"

const sb_message_info *sb_message_find(const char *name)
{
    for (size_t i = 0; i < sb_messages_count; i++)
        if (strcmp(sb_messages[i].name, name) == 0)
            return &sb_messages[i];
    return NULL;
}

const sb_union_info *sb_union_find(const char *channel, const char *dir)
{
    for (size_t i = 0; i < sb_unions_count; i++)
        if (strcmp(sb_unions[i].channel, channel) == 0 && strcmp(sb_unions[i].dir, dir) == 0)
            return &sb_unions[i];
    return NULL;
}
