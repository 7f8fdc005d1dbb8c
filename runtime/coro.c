/*
 * coro.c: stackful coroutines on ucontext (coro.h).
 *
 * swapcontext saves and restores the signal mask, a system call each way:
 * about a microsecond, against the hundreds a PostgreSQL round trip takes
 * (only that engine runs handlers on a coroutine; SQLite never waits).
 *
 * AddressSanitizer must be told when the stack changes (the
 * __sanitizer_*_switch_fiber annotations), or it takes the other stack for
 * an overflow; valgrind is told where the stack is.
 */
#define _GNU_SOURCE
#include "coro.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SB_CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_CORO_ASAN 1
#endif
#endif
#ifdef SB_CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SB_CORO_VALGRIND 1
#endif
#endif

struct sb_coro {
    ucontext_t ctx;    /* the coroutine's, while it is not running */
    ucontext_t caller; /* the main stack's, while the coroutine runs */
    char *map;         /* the mapping: guard page, then the stack */
    size_t map_size;
    char *stack;
    size_t stack_size;
    sb_coro_fn fn;
    void *arg;
    bool started;   /* the trampoline runs (its loop takes each fn) */
    bool suspended; /* fn yielded and has not returned */
    bool finished;  /* fn returned: set on the coroutine, read by the switcher */
    void (*on_finish)(void *arg);
    void *finish_arg;
#ifdef SB_CORO_VALGRIND
    unsigned valgrind_id;
#endif
#ifdef SB_CORO_ASAN
    void *fake;              /* the coroutine's fake stack, while it is switched out */
    const void *main_bottom; /* the main stack, learned on the first switch */
    size_t main_size;
#endif
};

static _Thread_local sb_coro *current;
static _Thread_local int holds;

sb_coro *sb_coro_new(size_t stack_bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    if (!stack_bytes)
        stack_bytes = SB_CORO_STACK;
    stack_bytes = (stack_bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
    sb_coro *co = calloc(1, sizeof *co);
    if (!co)
        return NULL;
    co->map_size = stack_bytes + (size_t)page;
    co->map = mmap(NULL, co->map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (co->map == MAP_FAILED) {
        free(co);
        return NULL;
    }
    mprotect(co->map, (size_t)page, PROT_NONE); /* the guard: stacks grow down */
    co->stack = co->map + page;
    co->stack_size = stack_bytes;
#ifdef SB_CORO_VALGRIND
    co->valgrind_id = VALGRIND_STACK_REGISTER(co->stack, co->stack + co->stack_size);
#endif
    return co;
}

void sb_coro_free(sb_coro *co)
{
    if (!co)
        return;
#ifdef SB_CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(co->valgrind_id);
#endif
    munmap(co->map, co->map_size);
    free(co);
}

/* Switching ------------------------------------------------------------- */

/* Main stack -> co (run or wake). */
static void switch_in(sb_coro *co)
{
    current = co;
#ifdef SB_CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, co->stack, co->stack_size);
    swapcontext(&co->caller, &co->ctx);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    swapcontext(&co->caller, &co->ctx);
#endif
    current = NULL;
}

/* co -> the main stack (yield, or fn returned). */
static void switch_out(sb_coro *co)
{
#ifdef SB_CORO_ASAN
    __sanitizer_start_switch_fiber(&co->fake, co->main_bottom, co->main_size);
    swapcontext(&co->ctx, &co->caller);
    __sanitizer_finish_switch_fiber(co->fake, &co->main_bottom, &co->main_size);
#else
    swapcontext(&co->ctx, &co->caller);
#endif
}

/* The coroutine's first frame: one fn after another, for its lifetime.
 * makecontext passes ints only: the pointer comes through `current`. */
static void trampoline(void)
{
    sb_coro *co = current;
#ifdef SB_CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &co->main_bottom, &co->main_size);
#endif
    for (;;) {
        co->fn(co->arg);
        co->finished = true;
        switch_out(co);
    }
}

bool sb_coro_run(sb_coro *co, sb_coro_fn fn, void *arg)
{
    if (current || co->suspended)
        return fn(arg), true; /* misuse: run it where we are rather than lose it */
    co->fn = fn;
    co->arg = arg;
    co->finished = false;
    if (!co->started) {
        getcontext(&co->ctx);
        co->ctx.uc_stack.ss_sp = co->stack;
        co->ctx.uc_stack.ss_size = co->stack_size;
        co->ctx.uc_link = NULL; /* the trampoline never returns */
        makecontext(&co->ctx, trampoline, 0);
        co->started = true;
    }
    switch_in(co);
    co->suspended = !co->finished;
    return co->finished;
}

bool sb_coro_suspended(const sb_coro *co)
{
    return co && co->suspended;
}

void sb_coro_on_finish(sb_coro *co, void (*fn)(void *arg), void *arg)
{
    co->on_finish = fn;
    co->finish_arg = arg;
}

void sb_coro_wake(sb_coro *co)
{
    if (!co || !co->suspended || current)
        return;
    switch_in(co);
    if (co->finished) {
        co->suspended = false;
        if (co->on_finish)
            co->on_finish(co->finish_arg);
    }
}

sb_coro *sb_coro_self(void)
{
    return current;
}

void sb_coro_yield(void)
{
    sb_coro *co = current;
    if (co)
        switch_out(co);
}

bool sb_coro_may_yield(void)
{
    return current && holds == 0;
}

void sb_coro_hold(void)
{
    holds++;
}

void sb_coro_release(void)
{
    if (holds > 0)
        holds--;
}
