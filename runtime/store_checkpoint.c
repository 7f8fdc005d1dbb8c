/*
 * store_checkpoint.c: WAL checkpoints on a thread of their own (store_checkpoint.h).
 *
 * A checkpoint copies the WAL's pages back into the database file and
 * fsyncs it: tens of milliseconds for a few thousand pages. Run on the
 * event loop it stalls every connection meanwhile (the chat's p99 latency at
 * half load went from about 5 ms to over 20 ms); run here, on its own SQLite
 * connection, it overlaps with the loop's work. WAL mode allows it: a PASSIVE
 * checkpoint takes no lock a writer needs, and copies only the frames no
 * reader still needs.
 */
/* syscall(SYS_gettid) for the thread's own nice value */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "store_checkpoint.h"

struct sb_checkpointer {
    sqlite3 *db; /* this thread's own connection */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, due;
    int threshold;
    atomic_int frames;        /* in the WAL, as the writer last saw it */
    atomic_llong checkpoints; /* done */
    atomic_llong backfilled;  /* frames copied back, in all */
    atomic_llong failures;    /* checkpoints that failed (not BUSY) */
    atomic_llong last_duration_us;
};

static void checkpoint(sb_checkpointer *c)
{
    int log = 0, done = 0;
    int64_t t0 = sb_mono_us();
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    atomic_store(&c->last_duration_us, sb_mono_us() - t0);
    if (rc == SQLITE_OK) {
        atomic_fetch_add(&c->checkpoints, 1);
        atomic_fetch_add(&c->backfilled, done > 0 ? done : 0);
        /* all of it, and the writer has added nothing since: nothing left
         * for the idle wake-ups to do */
        int seen = log;
        if (done == log)
            atomic_compare_exchange_strong(&c->frames, &seen, 0);
    } else if (rc != SQLITE_BUSY) { /* BUSY: another checkpoint is running */
        atomic_fetch_add(&c->failures, 1);
    }
}

/* Below the event loop: where the two share a core (a server pinned to
 * one, a busy machine), the scheduler gives the loop nine tenths of it and
 * a checkpoint does not stall the connections; on an idle core it runs at
 * full speed anyway. Linux sets a nice value per thread. */
#define CHECKPOINTER_NICE 10

static void *run(void *arg)
{
    sb_checkpointer *c = arg;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), CHECKPOINTER_NICE) != 0)
        (void)0; /* not allowed: it runs at the loop's priority, as before */
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        if (!c->due) {
            /* Woken when the WAL passes the threshold; otherwise once a
             * second, to fold back whatever a quiet server has left. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&c->cv, &c->mu, &until);
        }
        if (c->stop)
            break;
        bool work = c->due || atomic_load(&c->frames) > 0;
        c->due = false;
        pthread_mutex_unlock(&c->mu);
        if (work)
            checkpoint(c);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

sb_checkpointer *sb_checkpointer_start(const char *path, int threshold, char *err, size_t err_size)
{
    sb_checkpointer *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    c->threshold = threshold > 0 ? threshold : 1;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, err_size, "checkpointer: %s", c->db ? sqlite3_errmsg(c->db) : "cannot open");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    /* its own connection must not checkpoint by itself when it closes */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    int rc = pthread_create(&c->thread, NULL, run, c);
    if (rc != 0) {
        snprintf(err, err_size, "checkpointer: cannot start a thread: %s", strerror(rc));
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    return c;
}

void sb_checkpointer_set_threshold(sb_checkpointer *c, int frames)
{
    c->threshold = frames > 0 ? frames : 1;
}

void sb_checkpointer_frames(sb_checkpointer *c, int frames)
{
    atomic_store(&c->frames, frames);
    if (frames < c->threshold)
        return;
    pthread_mutex_lock(&c->mu);
    if (!c->due) {
        c->due = true;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

void sb_checkpointer_stats(const sb_checkpointer *c, sb_checkpointer_stats_t *out)
{
    sb_checkpointer *m = (sb_checkpointer *)c; /* atomics are read, not changed */
    out->checkpoints = atomic_load(&m->checkpoints);
    out->backfilled = atomic_load(&m->backfilled);
    out->failures = atomic_load(&m->failures);
    out->last_duration_us = atomic_load(&m->last_duration_us);
}

void sb_checkpointer_stop(sb_checkpointer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    sqlite3_close(c->db);
    free(c);
}
