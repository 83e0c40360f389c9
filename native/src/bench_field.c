/* Micro-benchmark of the F_r Montgomery multiplication (the variant this build compiles). */
#include <time.h>

#include "field.h"
#include "zkagg.h"

/* Throughput, not latency: independent chains x[k] <- x[k] * y let consecutive multiplications
 * overlap in the out-of-order core, as they do in the vector kernels, NTT butterflies and MSM. */
#define BENCH_FIELD_CHAINS 4

static volatile uint64_t bench_field_sink;

static double bench_field_thread_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double zkagg_bench_fr_mul(size_t iters) {
    if (iters == 0) return 0.0;
    /* start values through a volatile so the compiler cannot fold the chains */
    uint64_t seed = bench_field_sink | 0x9e3779b97f4a7c15ULL;
    fe x[BENCH_FIELD_CHAINS], y;
    for (int k = 0; k < BENCH_FIELD_CHAINS; k++) {
        for (int i = 0; i < 4; i++) x[k][i] = seed * (uint64_t)(4 * k + i + 1);
        x[k][3] >>= 3; /* below 2^61 < r */
    }
    fe_copy(y, x[0]);
    y[0] ^= 1;
    double t0 = bench_field_thread_ns();
    for (size_t n = 0; n < iters; n++)
        for (int k = 0; k < BENCH_FIELD_CHAINS; k++) fr_mul(x[k], x[k], y);
    double t1 = bench_field_thread_ns();
    uint64_t acc = 0;
    for (int k = 0; k < BENCH_FIELD_CHAINS; k++) acc ^= x[k][0] ^ x[k][3];
    bench_field_sink = acc;
    return (t1 - t0) / ((double)iters * BENCH_FIELD_CHAINS);
}
