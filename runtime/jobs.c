/*
 * jobs.c: one handler call at a time, in order, on a coroutine (jobs.h).
 */
#include "jobs.h"

#include <stdlib.h>

#include "coro.h"

typedef struct job {
    struct job *next;
    sb_job_fn fn;
    void *arg;
    void (*dispose)(void *arg);
    size_t weight;
} job;

struct sb_jobs {
    sb_coro *co;
    job *head, *tail; /* queued */
    job *now;         /* started, waiting */
    size_t n, weight;
    bool running; /* sb_jobs_kick's loop is on the stack */
    bool (*may_start)(void *arg);
    void *arg;
};

static void dispose(job *j)
{
    if (j->dispose)
        j->dispose(j->arg);
    free(j);
}

/* The waiting job returned (sb_coro_wake, on the main stack): the next. */
static void finished(void *arg)
{
    sb_jobs *q = arg;
    job *j = q->now;
    q->now = NULL;
    if (j)
        dispose(j);
    sb_jobs_kick(q);
}

sb_jobs *sb_jobs_new(bool (*may_start)(void *arg), void *arg)
{
    sb_jobs *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->co = sb_coro_new(0);
    if (!q->co) {
        free(q);
        return NULL;
    }
    sb_coro_on_finish(q->co, finished, q);
    q->may_start = may_start;
    q->arg = arg;
    return q;
}

void sb_jobs_free(sb_jobs *q)
{
    if (!q)
        return;
    for (job *j = q->head, *next; j; j = next) {
        next = j->next;
        dispose(j);
    }
    if (!sb_coro_suspended(q->co)) /* never free a stack something waits on */
        sb_coro_free(q->co);
    free(q);
}

void sb_jobs_kick(sb_jobs *q)
{
    if (q->now || q->running || sb_coro_self())
        return;
    q->running = true;
    while (!q->now && q->head && (!q->may_start || q->may_start(q->arg))) {
        job *j = q->head;
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        q->weight -= j->weight;
        q->now = j;
        if (sb_coro_run(q->co, j->fn, j->arg)) {
            q->now = NULL;
            dispose(j);
        }
    }
    q->running = false;
}

void sb_jobs_drain(sb_jobs *q, void (*wake)(void *arg), void *arg)
{
    if (!sb_jobs_busy(q) || sb_coro_self())
        return;
    sb_coro_hold();
    if (q->now && wake)
        wake(arg); /* it finishes, blocking; finished() starts what the gate lets */
    bool (*gate)(void *) = q->may_start;
    q->may_start = NULL;
    sb_jobs_kick(q); /* held: each runs to its end */
    q->may_start = gate;
    sb_coro_release();
}

int sb_jobs_add_weighted(sb_jobs *q, sb_job_fn fn, void *arg, void (*dispose_fn)(void *arg),
                         size_t weight)
{
    if (sb_coro_self()) { /* a job's handler calling another: part of it */
        fn(arg);
        if (dispose_fn)
            dispose_fn(arg);
        return 0;
    }
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (job){NULL, fn, arg, dispose_fn, weight};
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
    q->weight += weight;
    sb_jobs_kick(q);
    return 0;
}

int sb_jobs_add(sb_jobs *q, sb_job_fn fn, void *arg, void (*dispose_fn)(void *arg))
{
    return sb_jobs_add_weighted(q, fn, arg, dispose_fn, 0);
}

bool sb_jobs_busy(const sb_jobs *q)
{
    return q && (q->now || q->head);
}

bool sb_jobs_waiting(const sb_jobs *q)
{
    return q && q->now;
}

size_t sb_jobs_queued(const sb_jobs *q)
{
    return q ? q->n : 0;
}

size_t sb_jobs_queued_weight(const sb_jobs *q)
{
    return q ? q->weight : 0;
}
