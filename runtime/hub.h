/*
 * hub.h: who is connected. Maps a user ID to the IDs of that user's open
 * connections (one per device), so that fan-out can reach every device.
 * Connection IDs, not pointers: a connection may close between the moment a
 * message is stored and the moment it is delivered (after the commit).
 */
#ifndef SB_HUB_H
#define SB_HUB_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_hub sb_hub;

sb_hub *sb_hub_new(void);
void sb_hub_free(sb_hub *h);
int sb_hub_add(sb_hub *h, int64_t user, uint64_t conn);
void sb_hub_remove(sb_hub *h, int64_t user, uint64_t conn);
/* The user's connections; *count of them. Valid until the next add/remove. */
const uint64_t *sb_hub_conns(const sb_hub *h, int64_t user, size_t *count);

#endif
