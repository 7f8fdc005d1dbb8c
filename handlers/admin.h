/* admin.h: users and demo data, outside the server loop (admin.c). */
#ifndef SB_ADMIN_H
#define SB_ADMIN_H

#include "store.h"

/* On an empty database: a few users of each role, a direct conversation and
 * a service room with its customer. Prints the users' tokens once (they are
 * stored hashed) and keeps a copy in demo-tokens.txt beside the database. */
int admin_seed_demo(sb_store *store, const char *db_path);

#endif
