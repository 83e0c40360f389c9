/* Micro-benchmarks of G1 point addition (the formulas this build compiles): nanoseconds per
 * addition of thread CPU time, in one dependent chain acc <- acc + Q as in a running sum. */
#include <time.h>

#include "g1.h"

static volatile uint64_t bench_curve_sink;

static double bench_curve_thread_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* acc = 3G and Q = 2G (Jacobian, Z != 1), from the generator G = (1, 2); affine 2G in q_aff */
static void bench_curve_setup(g1_jac *acc, g1_jac *q, uint64_t q_aff[8]) {
    uint64_t g[8];
    fq_one(g);
    fq_dbl(g + 4, g);
    g1_jac_from_aff(acc, g);
    g1_jac_dbl(q, acc);
    g1_jac_add(acc, acc, q);
    g1_jac_to_aff_block(q_aff, q, 1);
}

static void bench_curve_sink_point(const g1_jac *acc) {
    bench_curve_sink = acc->x[0] ^ acc->y[1] ^ acc->z[2];
}

double zkagg_bench_g1_add(size_t iters) {
    if (iters == 0) return 0.0;
    g1_jac acc, q;
    uint64_t q_aff[8];
    bench_curve_setup(&acc, &q, q_aff);
    double t0 = bench_curve_thread_ns();
    for (size_t i = 0; i < iters; i++) g1_jac_add(&acc, &acc, &q);
    double t1 = bench_curve_thread_ns();
    bench_curve_sink_point(&acc);
    return (t1 - t0) / (double)iters;
}

double zkagg_bench_g1_add_mixed(size_t iters) {
    if (iters == 0) return 0.0;
    g1_jac acc, q;
    uint64_t q_aff[8];
    bench_curve_setup(&acc, &q, q_aff);
    double t0 = bench_curve_thread_ns();
    for (size_t i = 0; i < iters; i++) g1_jac_madd(&acc, &acc, q_aff);
    double t1 = bench_curve_thread_ns();
    bench_curve_sink_point(&acc);
    return (t1 - t0) / (double)iters;
}
