#include "parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "zkagg.h"

#define MAX_THREADS 256

static atomic_int configured_threads = 0; /* 0: not set, use the CPU count */

void zkagg_set_threads(int n) {
    if (n > MAX_THREADS) n = MAX_THREADS;
    atomic_store(&configured_threads, n > 0 ? n : 0);
}

int zk_threads(void) {
    int n = atomic_load(&configured_threads);
    if (n > 0) return n;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) cpus = 1;
    return cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
}

int zkagg_get_threads(void) { return zk_threads(); }

typedef struct {
    zk_task_fn fn;
    void *ctx;
    size_t n_items;
    atomic_size_t next;
} job_t;

static void *worker(void *arg) {
    job_t *job = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n_items) break;
        job->fn(job->ctx, i);
    }
    return NULL;
}

int zk_parallel_for(size_t n_items, zk_task_fn fn, void *ctx) {
    job_t job = {fn, ctx, n_items, 0};
    size_t n_threads = (size_t)zk_threads();
    if (n_threads > n_items) n_threads = n_items;
    pthread_t tids[MAX_THREADS];
    size_t started = 0;
    int rc = ZKAGG_OK;
    for (size_t t = 1; t < n_threads; t++) {
        if (pthread_create(&tids[started], NULL, worker, &job) != 0) {
            rc = ZKAGG_ERR_ALLOC;
            break;
        }
        started++;
    }
    worker(&job);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
    return started + 1 == n_threads ? ZKAGG_OK : rc;
}
