/* Exported G1 kernels over affine Montgomery arrays (see zkagg.h). None is constant-time. */
#include "g1.h"

static int g1_ok(const uint64_t *p) { return g1_aff_on_curve(p); }

/* G1 has cofactor 1: on the curve means in the subgroup */
int64_t zkagg_g1_check(const uint64_t *p, size_t n) {
    return g1_check_arrays(p, n, g1_ok, 2048);
}

void zkagg_g1_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    g1_add_arrays(out, a, b, n);
}

void zkagg_g1_double(uint64_t *out, const uint64_t *a, size_t n) { g1_add_arrays(out, a, a, n); }

void zkagg_g1_neg(uint64_t *out, const uint64_t *a, size_t n) { g1_neg_arrays(out, a, n); }

void zkagg_g1_mul(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    g1_mul_arrays(out, p, k, n);
}

int zkagg_g1_msm(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    return g1_msm(out, p, k, n);
}
