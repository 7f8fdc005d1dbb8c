/* test_coro.c: coroutines (runtime/coro.h) and the job queue on them
 * (runtime/jobs.h), what PostgreSQL's statements wait on without blocking
 * the loop: a call that yields keeps its stack and goes on where it stopped;
 * the coroutine is reused; holding forbids yielding; jobs run one at a time
 * in the order they came, the queue waits behind a waiting job and goes on
 * when it finishes; the gate stops it between jobs; a drain finishes
 * everything at once, held; a job added from inside a job is part of it;
 * a deep stack fits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coro.h"
#include "jobs.h"

/* What ran, in order: one letter per step. */
static char trace[64];
static size_t n_trace;
static void note(char c)
{
    if (n_trace + 1 < sizeof trace) {
        trace[n_trace++] = c;
        trace[n_trace] = '\0';
    }
}
static void trace_reset(void)
{
    n_trace = 0;
    trace[0] = '\0';
}

static void straight(void *arg)
{
    (void)arg;
    assert_non_null(sb_coro_self());
    note('s');
}

static sb_coro *waiting; /* what a "statement" waits on: the test wakes it */

static void yields_twice(void *arg)
{
    int *counter = arg;
    volatile int local = 41; /* on the coroutine's stack, across the yields */
    note('a');
    assert_true(sb_coro_may_yield());
    waiting = sb_coro_self();
    sb_coro_yield();
    local++;
    note('b');
    waiting = sb_coro_self();
    sb_coro_yield();
    note('c');
    *counter = local;
}

static int finishes;
static void on_finish(void *arg)
{
    (void)arg;
    finishes++;
    note('F');
}

static void test_run_yield_wake(void **state)
{
    (void)state;
    trace_reset();
    sb_coro *co = sb_coro_new(0);
    assert_non_null(co);
    assert_null(sb_coro_self());
    assert_false(sb_coro_may_yield()); /* the main stack never yields */
    sb_coro_on_finish(co, on_finish, NULL);
    assert_true(sb_coro_run(co, straight, NULL)); /* ran to its end: no on_finish */
    assert_false(sb_coro_suspended(co));
    int counter = 0;
    finishes = 0;
    assert_false(sb_coro_run(co, yields_twice, &counter));
    assert_true(sb_coro_suspended(co));
    assert_null(sb_coro_self());
    assert_string_equal(trace, "sa");
    sb_coro_wake(co);
    assert_string_equal(trace, "sab");
    assert_int_equal(finishes, 0);
    sb_coro_wake(co);
    assert_string_equal(trace, "sabcF");
    assert_int_equal(counter, 42);
    assert_int_equal(finishes, 1);
    assert_false(sb_coro_suspended(co));
    sb_coro_wake(co); /* not suspended: nothing */
    assert_int_equal(finishes, 1);
    /* reused */
    assert_true(sb_coro_run(co, straight, NULL));
    assert_string_equal(trace, "sabcFs");
    sb_coro_free(co);
}

static void held(void *arg)
{
    (void)arg;
    sb_coro_hold();
    assert_false(sb_coro_may_yield());
    sb_coro_release();
    assert_true(sb_coro_may_yield());
    note('h');
}

static void test_hold(void **state)
{
    (void)state;
    trace_reset();
    sb_coro *co = sb_coro_new(64 * 1024);
    assert_true(sb_coro_run(co, held, NULL));
    assert_string_equal(trace, "h");
    sb_coro_free(co);
}

/* About 1.5 MiB of frames: the default stack holds it. */
static int deep(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    return n == 0 ? pad[0] : deep(n - 1) + 1 + (pad[0] - (char)n);
}
static void deep_job(void *arg)
{
    *(int *)arg = deep(1500);
}

static void test_deep_stack(void **state)
{
    (void)state;
    sb_coro *co = sb_coro_new(0);
    int depth = 0;
    assert_true(sb_coro_run(co, deep_job, &depth));
    assert_int_equal(depth, 1500);
    sb_coro_free(co);
}

/* Jobs ------------------------------------------------------------------- */

/* A job that notes its letter, and waits once (a statement) if it is upper case. */
static void job_letter(void *arg)
{
    char c = (char)(intptr_t)arg;
    note(c);
    if (c >= 'A' && c <= 'Z' && sb_coro_may_yield()) {
        waiting = sb_coro_self();
        sb_coro_yield();
        note((char)(c + 32));
    }
}

static int disposed;
static void dispose_count(void *arg)
{
    (void)arg;
    disposed++;
}

static void wake_waiting(void *arg)
{
    (void)arg;
    sb_coro *co = waiting;
    waiting = NULL;
    sb_coro_wake(co);
}

static void test_jobs_order(void **state)
{
    (void)state;
    trace_reset();
    disposed = 0;
    sb_jobs *q = sb_jobs_new(NULL, NULL);
    assert_non_null(q);
    assert_int_equal(sb_jobs_add(q, job_letter, (void *)(intptr_t)'x', dispose_count), 0);
    assert_string_equal(trace, "x"); /* nothing waited: it ran at once */
    assert_false(sb_jobs_busy(q));
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'A', dispose_count);
    assert_true(sb_jobs_waiting(q));
    sb_jobs_add_weighted(q, job_letter, (void *)(intptr_t)'y', dispose_count, 10);
    sb_jobs_add_weighted(q, job_letter, (void *)(intptr_t)'B', dispose_count, 5);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'z', dispose_count);
    assert_string_equal(trace, "xA"); /* the rest waits behind A */
    assert_int_equal(sb_jobs_queued(q), 3);
    assert_int_equal(sb_jobs_queued_weight(q), 15);
    wake_waiting(NULL); /* A's answer: A ends, y runs, B starts and waits */
    assert_string_equal(trace, "xAayB");
    assert_int_equal(sb_jobs_queued(q), 1);
    assert_int_equal(sb_jobs_queued_weight(q), 0);
    wake_waiting(NULL);
    assert_string_equal(trace, "xAayBbz");
    assert_false(sb_jobs_busy(q));
    assert_int_equal(disposed, 5);
    sb_jobs_free(q);
}

static int gate_open;
static bool gate(void *arg)
{
    (void)arg;
    return gate_open > 0 ? (gate_open--, true) : false;
}

static void test_jobs_gate_and_drain(void **state)
{
    (void)state;
    trace_reset();
    disposed = 0;
    gate_open = 1;
    sb_jobs *q = sb_jobs_new(gate, NULL);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'A', dispose_count);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'x', dispose_count);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'B', dispose_count);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'y', dispose_count);
    assert_string_equal(trace, "A");
    wake_waiting(NULL); /* A ends; the gate is shut: x waits */
    assert_string_equal(trace, "Aa");
    assert_true(sb_jobs_busy(q));
    assert_false(sb_jobs_waiting(q));
    gate_open = 1;
    sb_jobs_kick(q); /* x runs, then the gate shuts again */
    assert_string_equal(trace, "Aax");
    /* the drain: everything now, the gate ignored, held (B does not wait) */
    sb_jobs_drain(q, wake_waiting, NULL);
    assert_string_equal(trace, "AaxBy");
    assert_false(sb_jobs_busy(q));
    /* a waiting job woken by the drain finishes held, then the rest */
    gate_open = 10;
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'C', dispose_count);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'D', dispose_count);
    assert_string_equal(trace, "AaxByC");
    sb_jobs_drain(q, wake_waiting, NULL);
    assert_string_equal(trace, "AaxByCcD");
    assert_false(sb_jobs_busy(q));
    assert_int_equal(disposed, 6);
    sb_jobs_free(q);
}

static sb_jobs *the_queue;
static void job_adding(void *arg)
{
    (void)arg;
    note('o');
    sb_jobs_add(the_queue, job_letter, (void *)(intptr_t)'i', NULL); /* inline: part of this one */
    note('O');
}

static void test_jobs_nested(void **state)
{
    (void)state;
    trace_reset();
    the_queue = sb_jobs_new(NULL, NULL);
    sb_jobs_add(the_queue, job_adding, NULL, NULL);
    assert_string_equal(trace, "oiO");
    sb_jobs_free(the_queue);
}

static void test_jobs_free_queued(void **state)
{
    (void)state;
    trace_reset();
    disposed = 0;
    gate_open = 0;
    sb_jobs *q = sb_jobs_new(gate, NULL);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'x', dispose_count);
    sb_jobs_add(q, job_letter, (void *)(intptr_t)'y', dispose_count);
    assert_string_equal(trace, "");
    sb_jobs_free(q); /* dropped unrun, disposed */
    assert_int_equal(disposed, 2);
    assert_string_equal(trace, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_yield_wake),      cmocka_unit_test(test_hold),
        cmocka_unit_test(test_deep_stack),          cmocka_unit_test(test_jobs_order),
        cmocka_unit_test(test_jobs_gate_and_drain), cmocka_unit_test(test_jobs_nested),
        cmocka_unit_test(test_jobs_free_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
