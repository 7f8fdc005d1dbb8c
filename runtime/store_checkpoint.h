/*
 * store_checkpoint.h: the WAL's checkpoints, on a thread of their own with its
 * own SQLite connection, so that the event loop never waits for one.
 *
 * The writer (store.c's wal hook, on the loop) reports the WAL's frame count
 * after each commit; past the threshold the thread runs a PASSIVE checkpoint
 * at once, and otherwise once a second while the WAL holds frames. PASSIVE
 * never blocks the writer; frames a reader still needs stay until the next
 * one (the runtime ends every read snapshot at the end of its turn).
 */
#ifndef SB_STORE_CHECKPOINT_H
#define SB_STORE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sb_checkpointer sb_checkpointer;

typedef struct sb_checkpointer_stats_t {
    long long checkpoints, backfilled, failures, last_duration_us;
} sb_checkpointer_stats_t;

/* NULL on error (err says why). */
sb_checkpointer *sb_checkpointer_start(const char *path, int threshold, char *err, size_t err_size);
/* From the writer's thread: checkpoint at once from this many frames on. */
void sb_checkpointer_set_threshold(sb_checkpointer *c, int frames);
/* From the writer's thread, after a commit: the WAL holds `frames`. */
void sb_checkpointer_frames(sb_checkpointer *c, int frames);
/* Counters, readable from any thread. */
void sb_checkpointer_stats(const sb_checkpointer *c, sb_checkpointer_stats_t *out);
/* Stop and join the thread (a checkpoint under way finishes first). */
void sb_checkpointer_stop(sb_checkpointer *c);

#endif
