/* Exported G2 kernels over affine Montgomery arrays (see zkagg.h). None is constant-time. */
#include "g2.h"

/* psi = untwist-Frobenius-twist (Galbraith-Scott): psi(x, y) = (conj(x) GX, conj(y) GY) with
 * GX = (9+u)^((q-1)/3), GY = (9+u)^((q-1)/2); on G2 it acts as multiplication by q mod r. */
static const uint64_t G2_PSI_X[8] = {0xb5773b104563ab30ULL, 0x347f91c8a9aa6454ULL,
                                     0x7a007127242e0991ULL, 0x1956bcd8118214ecULL,
                                     0x6e849f1ea0aa4757ULL, 0xaa1c7b6d89f89141ULL,
                                     0xb6e713cdfae0ca3aULL, 0x26694fbb4e82ebc3ULL};
static const uint64_t G2_PSI_Y[8] = {0xe4bbdd0c2936b629ULL, 0xbb30f162e133bacbULL,
                                     0x31a9d1b6f9645366ULL, 0x253570bea500f8ddULL,
                                     0xa1d77ce45ffe77c7ULL, 0x07affd117826d1dbULL,
                                     0x6d16bd27bb7edc6bULL, 0x2c87200285defeccULL};
#define G2_BN_X 0x44e992b44a6909f1ULL /* the BN254 seed x = 4965661367192848881 */

/* Jacobian psi: conjugation commutes with the division by Z^2, Z^3 */
static void g2_psi(g2_jac *r, const g2_jac *p) {
    fe2 t;
    fe_copy(t, p->x);
    fq_neg(t + 4, p->x + 4);
    fq2_mul(r->x, t, G2_PSI_X);
    fe_copy(t, p->y);
    fq_neg(t + 4, p->y + 4);
    fq2_mul(r->y, t, G2_PSI_Y);
    fe_copy(r->z, p->z);
    fq_neg(r->z + 4, p->z + 4);
}

/* P in G2 iff [x+1]P + psi([x]P) + psi^2([x]P) == psi^3([2x]P) (Dai-Lin-Zhao-Zhou, ePrint
 * 2022/348; valid for BN254 since x mod 13 != 4 and x mod 97 != 92): one 63-bit scalar
 * multiplication instead of [r]P. P is on the twist and not infinity. */
static int g2_in_subgroup(const uint64_t *p) {
    g2_jac a, l, t;
    g2_jac_from_aff(&a, p);
    for (int i = 61; i >= 0; i--) { /* bit 62 is the top bit of x */
        g2_jac_dbl(&a, &a);
        if ((G2_BN_X >> i) & 1) g2_jac_madd(&a, &a, p);
    }
    g2_jac_madd(&l, &a, p);
    g2_psi(&t, &a);
    g2_jac_add(&l, &l, &t);
    g2_psi(&t, &t);
    g2_jac_add(&l, &l, &t);
    g2_jac_dbl(&t, &a);
    g2_psi(&t, &t);
    g2_psi(&t, &t);
    g2_psi(&t, &t);
    return g2_jac_eq(&l, &t);
}

static int g2_ok(const uint64_t *p) {
    if (g2_aff_is_inf(p)) return 1;
    return g2_aff_on_curve(p) && g2_in_subgroup(p);
}

int64_t zkagg_g2_check(const uint64_t *p, size_t n) {
    return g2_check_arrays(p, n, g2_ok, 16); /* ~0.1 ms per point */
}

void zkagg_g2_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    g2_add_arrays(out, a, b, n);
}

void zkagg_g2_double(uint64_t *out, const uint64_t *a, size_t n) { g2_add_arrays(out, a, a, n); }

void zkagg_g2_neg(uint64_t *out, const uint64_t *a, size_t n) { g2_neg_arrays(out, a, n); }

void zkagg_g2_mul(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    g2_mul_arrays(out, p, k, n);
}

int zkagg_g2_msm(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    return g2_msm(out, p, k, n);
}
