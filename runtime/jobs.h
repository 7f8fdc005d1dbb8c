/*
 * jobs.h: handler calls run one at a time, in the order they came, each on
 * a coroutine (coro.h), so that one may wait for the network (a PostgreSQL
 * answer) while the loop goes on.
 *
 * A job that waits stays the current job: the ones added meanwhile queue
 * behind it and start, in order, when it has finished (from the waker's
 * stack, on the main one). So at most one handler call is ever in the
 * middle of its work, as when every call ran to its end at once: the
 * runtime's per-call state (the arena, the outbox unit, the transaction's
 * savepoint) needs no saving. What the loop does meanwhile is everything
 * but calling handlers: writing to sockets, reading them into the queue,
 * answering pings, the bus, timers that only queue.
 *
 *     sb_jobs *q = sb_jobs_new(may_start, rt);
 *     sb_jobs_add(q, run_message, msg, free);  // runs now, or after the waiting one
 *
 * The gate (may_start) lets the owner stop the queue between two jobs: the
 * runtime ends its turn (commits) after a number of jobs, then sb_jobs_kick
 * starts the next.
 */
#ifndef SB_JOBS_H
#define SB_JOBS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sb_jobs sb_jobs;
typedef void (*sb_job_fn)(void *arg);

/* may_start(arg) false keeps the next job queued (NULL: always start).
 * NULL on out of memory. */
sb_jobs *sb_jobs_new(bool (*may_start)(void *arg), void *arg);
/* Only when idle (sb_jobs_busy false): queued jobs are dropped unrun. */
void sb_jobs_free(sb_jobs *q);

/* Queue fn(arg); dispose(arg) (may be NULL) after it ran. It starts at
 * once, on the coroutine, when nothing waits and the gate lets it. From the
 * main stack; -1 on out of memory (nothing was queued). */
int sb_jobs_add(sb_jobs *q, sb_job_fn fn, void *arg, void (*dispose)(void *arg));
/* A job has started and not finished (it waits), or jobs are queued. */
bool sb_jobs_busy(const sb_jobs *q);
/* A job has started and not finished: it waits, in the middle of its work. */
bool sb_jobs_waiting(const sb_jobs *q);
/* Jobs queued behind the current one, and their total `weight` (bytes:
 * the caller's measure, given with sb_jobs_add_weighted). */
size_t sb_jobs_queued(const sb_jobs *q);
size_t sb_jobs_queued_weight(const sb_jobs *q);
int sb_jobs_add_weighted(sb_jobs *q, sb_job_fn fn, void *arg, void (*dispose)(void *arg),
                         size_t weight);
/* Start queued jobs if nothing waits and the gate lets them (after the
 * gate opened again). */
void sb_jobs_kick(sb_jobs *q);
/* Finish everything here and now, with coroutines held (coro.h: what would
 * wait blocks instead): the waiting job, woken by wake(arg) (its waker's
 * way to finish it: sb_store_quiesce), then every queued job, the gate
 * ignored. For what must come after them: a connection's close, a timer,
 * a call from outside any job. */
void sb_jobs_drain(sb_jobs *q, void (*wake)(void *arg), void *arg);

#endif
