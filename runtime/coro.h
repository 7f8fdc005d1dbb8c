/*
 * coro.h: stackful coroutines, so that a handler can wait for the network
 * (a PostgreSQL statement's answer) without blocking the event loop, and
 * without being rewritten as a state machine.
 *
 * The runtime (rt.c) runs a handler call on a coroutine; a storage call
 * inside it that must wait (store_pg.c) notes who waits and yields: the
 * handler's stack stays as it is, the loop goes on serving sockets, and the
 * storage engine wakes the coroutine when its answer has come. To the
 * handler, the statement simply returned.
 *
 *     sb_coro *co = sb_coro_new(0);
 *     if (!sb_coro_run(co, fn, arg))      // fn yielded: it waits for something
 *         sb_coro_on_finish(co, done, rt); // ...whose waker calls sb_coro_wake(co)
 *
 * Only the main stack starts or resumes a coroutine (no nesting), and one
 * thread uses them (the loop's). A coroutine is reusable: once fn has
 * returned, sb_coro_run may start another fn on it.
 *
 * Holding (sb_coro_hold): while held, code that would yield must wait the
 * old way, blocking, instead (sb_coro_may_yield is false). The runtime holds
 * when something must run after whatever a waiting coroutine still has to
 * do (a connection's close after its queued messages): it wakes the
 * coroutine and lets it finish synchronously.
 */
#ifndef SB_CORO_H
#define SB_CORO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sb_coro sb_coro;
typedef void (*sb_coro_fn)(void *arg);

/* A coroutine with a stack of stack_bytes (0: SB_CORO_STACK), mapped with a
 * guard page below it: an overflow faults instead of corrupting the heap.
 * Only the pages touched take memory. NULL when the mapping fails. */
#define SB_CORO_STACK (4u << 20)
sb_coro *sb_coro_new(size_t stack_bytes);
void sb_coro_free(sb_coro *co); /* not while fn is suspended in it */

/* Run fn(arg) on co, from the main stack: true when fn returned, false when
 * it yielded (it is suspended until someone calls sb_coro_wake). */
bool sb_coro_run(sb_coro *co, sb_coro_fn fn, void *arg);
/* Is fn suspended in co? */
bool sb_coro_suspended(const sb_coro *co);
/* Called (on the main stack) when fn returns after having yielded: the
 * owner's chance to move on to the next call. */
void sb_coro_on_finish(sb_coro *co, void (*fn)(void *arg), void *arg);
/* Resume a suspended co until it yields again or fn returns (then the
 * on_finish callback runs). From the main stack only. */
void sb_coro_wake(sb_coro *co);

/* The coroutine running now; NULL on the main stack. */
sb_coro *sb_coro_self(void);
/* From inside a coroutine: back to whoever ran or woke it. */
void sb_coro_yield(void);
/* May the code running now yield? (inside a coroutine, and not held) */
bool sb_coro_may_yield(void);
/* Hold / release (counted): see above. */
void sb_coro_hold(void);
void sb_coro_release(void);

#endif
