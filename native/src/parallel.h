/* Internal: a minimal parallel-for over pthreads. Work items are handed out through an atomic
 * counter, so uneven items balance themselves. Threads are started per call: every caller runs
 * work of milliseconds or more, where the ~20 us start-up does not matter. */
#ifndef ZKAGG_PARALLEL_H
#define ZKAGG_PARALLEL_H
#include <stddef.h>

typedef void (*zk_task_fn)(void *ctx, size_t item);

int zk_threads(void);
/* Run fn(ctx, i) for i in [0, n_items) on up to zk_threads() threads (the caller is one of them).
 * Returns 0, or ZKAGG_ERR_ALLOC if no thread could be started (then it runs everything itself). */
int zk_parallel_for(size_t n_items, zk_task_fn fn, void *ctx);

#endif
