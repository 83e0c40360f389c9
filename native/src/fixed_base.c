/* Constant-time scalar multiplication for SECRET scalars (see zkagg.h, "fixed-base
 * multiplication (constant-time)"): the fixed-base kernel the Groth16 setup uses on its toxic
 * waste, and a variable-base one for a secret scalar times public points. The point arithmetic is
 * the template ct_curve.h, instantiated here for G1 and G2; this file holds the helpers that do
 * not depend on the group (masks, table scan, scalar recoding).
 *
 * The rest of the curve code (g1.c, g2.c, msm.h) branches on scalar digits and is NOT
 * constant-time. */
#include <stdlib.h>
#include <string.h>

#include "g1.h"
#include "g2.h"

#define CT_BLK 64         /* variable base: points per work item (one shared inversion) */
#define CT_MAX_WINDOW 12  /* fixed-base window bits accepted */
#define CT_VB_W 5         /* variable-base window bits */
#define CT_FB_AFFINE_MIN 48 /* fixed base: smallest block worth batched affine additions */

/* The point formulas are small straight-line functions: in the asm variant this inlines the
 * field operations into them (the unity build is large enough for gcc to stop inlining on its
 * own). Not in the portable one: its inlined C multiplication would cost ~20 s of compile time
 * for little. */
#if defined(ZKAGG_ASM) && ZKAGG_ASM
#define CT_FLAT __attribute__((flatten, noinline))
#else
#define CT_FLAT __attribute__((noinline))
#endif

/* An optimization barrier: the compiler cannot see the value, so it cannot turn the masked
 * selections below back into branches. */
static inline uint64_t ct_barrier(uint64_t x) {
    __asm__("" : "+r"(x));
    return x;
}

/* all ones iff x != 0, without a comparison: the top bit of x | -x is set iff x != 0 */
static inline uint64_t ct_nonzero_mask(uint64_t x) {
    return ct_barrier(0 - ((x | (0 - x)) >> 63));
}

static inline uint64_t ct_eq_mask(uint64_t a, uint64_t b) { return ~ct_nonzero_mask(a ^ b); }

/* all ones iff the n limbs are all zero */
static inline uint64_t ct_zero_mask(const uint64_t *a, size_t n) {
    uint64_t any = 0;
    for (size_t l = 0; l < n; l++) any |= a[l];
    return ~ct_nonzero_mask(any);
}

/* o = mask ? a : b, limb by limb (mask all ones or all zero); o may alias a or b */
static inline void ct_select(uint64_t *o, const uint64_t *a, const uint64_t *b, size_t n,
                             uint64_t mask) {
    for (size_t l = 0; l < n; l++) o[l] = (a[l] & mask) | (b[l] & ~mask);
}

/* out = entry idx of a table of `count` entries of `limbs` limbs, or all zero if idx >= count.
 * Every entry is read, whatever idx is: the memory access pattern does not depend on it. */
static inline void ct_lookup_portable(uint64_t *out, const uint64_t *tab, size_t limbs,
                                      size_t count, uint64_t idx) {
    for (size_t l = 0; l < limbs; l++) out[l] = 0;
    for (size_t m = 0; m < count; m++) {
        uint64_t mask = ct_eq_mask(m, idx);
        const uint64_t *e = tab + m * limbs;
        for (size_t l = 0; l < limbs; l++) out[l] |= e[l] & mask;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define CT_AVX2 __attribute__((target("avx2")))

/* the same scan four limbs at a time; the mask comes from a vector comparison (no branch).
 * NV = vectors per entry, a compile-time constant in each instance. */
#define CT_LOOKUP_AVX2(NV)                                                                     \
    static CT_AVX2 __attribute__((noinline)) void ct_lookup_avx2_##NV(                         \
        uint64_t *out, const uint64_t *tab, size_t count, uint64_t idx) {                      \
        __m256i acc[NV], want = _mm256_set1_epi64x((long long)idx), cur = _mm256_setzero_si256(); \
        const __m256i one = _mm256_set1_epi64x(1);                                             \
        for (int v = 0; v < NV; v++) acc[v] = _mm256_setzero_si256();                          \
        for (size_t m = 0; m < count; m++) {                                                   \
            __m256i mask = _mm256_cmpeq_epi64(cur, want);                                      \
            const __m256i *e = (const __m256i *)(tab + m * 4 * NV);                            \
            for (int v = 0; v < NV; v++)                                                       \
                acc[v] = _mm256_or_si256(acc[v], _mm256_and_si256(_mm256_loadu_si256(e + v), mask)); \
            cur = _mm256_add_epi64(cur, one);                                                  \
        }                                                                                      \
        for (int v = 0; v < NV; v++) _mm256_storeu_si256((__m256i *)out + v, acc[v]);          \
    }
CT_LOOKUP_AVX2(2) /* G1 affine */
CT_LOOKUP_AVX2(3) /* G1 projective */
CT_LOOKUP_AVX2(4) /* G2 affine */
CT_LOOKUP_AVX2(6) /* G2 projective */

static int ct_have_avx2(void) {
    static int cached = -1; /* racing first calls store the same value */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") != 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

/* Dispatch on the CPU (a public property), not on the data. */
static inline void ct_lookup(uint64_t *out, const uint64_t *tab, size_t limbs, size_t count,
                             uint64_t idx) {
#if defined(__x86_64__)
    if (ct_have_avx2()) {
        switch (limbs) {
        case 8: ct_lookup_avx2_2(out, tab, count, idx); return;
        case 12: ct_lookup_avx2_3(out, tab, count, idx); return;
        case 16: ct_lookup_avx2_4(out, tab, count, idx); return;
        case 24: ct_lookup_avx2_6(out, tab, count, idx); return;
        default: break;
        }
    }
#endif
    ct_lookup_portable(out, tab, limbs, count, idx);
}

/* k mod r for any 256-bit k: k < 2^256 < 6r, so five subtractions of r, each kept or dropped
 * by the mask of its borrow (the same work whatever k is). */
static inline void ct_reduce_r(uint64_t o[4], const uint64_t k[4]) {
    uint64_t v[4] = {k[0], k[1], k[2], k[3]};
    for (int round = 0; round < 5; round++) {
        uint64_t t[4], borrow = 0;
        for (int i = 0; i < 4; i++) {
            u128 d = (u128)v[i] - FR_P[i] - borrow;
            t[i] = (uint64_t)d;
            borrow = (uint64_t)(d >> 64) & 1;
        }
        ct_select(v, v, t, 4, ct_barrier(0 - borrow)); /* borrow: v < r, keep v */
    }
    memcpy(o, v, sizeof v);
}

/* windows of w bits for scalars below 2^254 (see ct_recode) */
static inline unsigned ct_windows(unsigned w) { return (255 + w - 1) / w; }

/* Signed w-bit digits of k < r (reduced), least significant first: k = sum_j d_j 2^(w j) with
 * d_j in [-2^(w-1), 2^(w-1)) for j < W - 1, and the top digit in [0, 2^(w-1)]: it takes the last
 * carry without producing one, since k < r < 2^254 and w W >= 255. ct_digit returns |d_j| and
 * sets *negm to all ones iff d_j < 0; called for j = 0, 1, ... in order, it keeps the carry in
 * *carry (start at 0). Arithmetic only: the window positions are public, the bits are not. */
static inline uint32_t ct_digit(const uint64_t kr[4], uint64_t *carry, uint64_t *negm, unsigned w,
                                unsigned j, int top) {
    unsigned bit = w * j, limb = bit / 64, off = bit % 64;
    uint64_t v = limb < 4 ? kr[limb] >> off : 0;
    if (off + w > 64 && limb + 1 < 4) v |= kr[limb + 1] << (64 - off);
    uint64_t raw = (v & (((uint64_t)1 << w) - 1)) + *carry;    /* in [0, 2^w] */
    uint64_t c = top ? 0 : (raw + ((uint64_t)1 << (w - 1))) >> w; /* 1 iff raw >= 2^(w-1) */
    uint64_t d = raw - (c << w);                                  /* two's complement digit */
    uint64_t neg = ct_barrier(0 - (d >> 63));
    *carry = c;
    *negm = neg;
    return (uint32_t)((d ^ neg) - neg);
}

/* all W digits of any 256-bit k (reduced mod r first) */
static inline void ct_recode(uint32_t *absd, uint64_t *negm, const uint64_t k[4], unsigned w,
                             unsigned W) {
    uint64_t kr[4], carry = 0;
    ct_reduce_r(kr, k);
    for (unsigned j = 0; j < W; j++) absd[j] = ct_digit(kr, &carry, &negm[j], w, j, j + 1 == W);
}

/* Fixed-base window width from an operation count in multiplications of the coordinate field's
 * base field F_q ("M"), measured on x86-64: per scalar, W windows of one batched affine addition
 * (`add` M) and a table scan of h entries (`scan` M each, a quarter of that with AVX2); the table
 * costs `entry` M per point (a complete addition plus the normalization), shared by n scalars.
 * For G1 this gives w = 7 from a few thousand scalars (6 without AVX2), for G2 w = 8; a single
 * scalar gets w = 2. */
static unsigned ct_fb_window(size_t n, double add, double scan, double entry) {
#if defined(__x86_64__)
    if (ct_have_avx2()) scan /= 4;
#endif
    unsigned best_w = 1;
    double best = -1;
    for (unsigned w = 1; w <= CT_MAX_WINDOW; w++) {
        double W = ct_windows(w), h = (double)((size_t)1 << (w - 1));
        double cost = (double)n * W * (add + h * scan) + entry * W * h;
        if (best < 0 || cost < best) {
            best = cost;
            best_w = w;
        }
    }
    return best_w;
}

/* ---- G1 ---- */
static inline void ct_g1_mul_b3(fe o, const fe a) { /* 3b = 9 */
    fe t;
    fq_dbl(t, a);
    fq_dbl(t, t);
    fq_dbl(t, t);
    fq_add(o, t, a);
}
#define CT_FB_BLK 512 /* fixed base: scalars per block (one shared inversion per window) */
#define CT_FB_COSTS 8.0, 0.1, 16.0 /* ct_fb_window: add, scan, entry */
#define CV g1
#define FE_T fe
#define NL 4
#define F_ADD fq_add
#define F_SUB fq_sub
#define F_NEG fq_neg
#define F_DBL fq_dbl
#define F_MUL fq_mul
#define F_SQR fq_sqr
#define F_INV fq_inv
#define F_ONE fq_one
#define F_ZERO fe_zero
#define F_COPY fe_copy
#define F_IS_ZERO fe_is_zero
#define F_EQ fe_eq
#define CV_B G1_B
#define CT_MUL_B3 ct_g1_mul_b3
#include "ct_curve.h"
#include "curve_undef.h"
#undef CT_MUL_B3
#undef CT_FB_BLK
#undef CT_FB_COSTS

/* ---- G2 ---- */
/* field.h's fq2_inv, with the negation written as 0 - t for a zero the compiler cannot see
 * (see ct_cneg_y in ct_curve.h: fq_neg compiles to a conditional jump on its argument). */
static inline void ct_fq2_inv(fe2 o, const fe2 a) {
    fe t0, t1, zero;
    fq_sqr(t0, a);
    fq_sqr(t1, a + 4);
    fq_add(t0, t0, t1);
    fq_inv(t0, t0);
    fq_mul(o, a, t0);
    for (int l = 0; l < 4; l++) zero[l] = ct_barrier(0);
    fq_sub(t0, zero, t0);
    fq_mul(o + 4, a + 4, t0);
}
static inline void ct_g2_mul_b3(fe2 o, const fe2 a) { /* 3b' */
    fe2 t;
    fq2_mul(t, a, G2_B);
    fq2_dbl(o, t);
    fq2_add(o, o, t);
}
#define CT_FB_BLK 256
#define CT_FB_COSTS 26.0, 0.2, 53.0
#define CV g2
#define FE_T fe2
#define NL 8
#define F_ADD fq2_add
#define F_SUB fq2_sub
#define F_NEG fq2_neg
#define F_DBL fq2_dbl
#define F_MUL fq2_mul
#define F_SQR fq2_sqr
#define F_INV ct_fq2_inv
#define F_ONE fq2_one
#define F_ZERO fq2_zero
#define F_COPY fq2_copy
#define F_IS_ZERO fq2_is_zero
#define F_EQ fq2_eq
#define CV_B G2_B
#define CT_MUL_B3 ct_g2_mul_b3
#include "ct_curve.h"
#include "curve_undef.h"
#undef CT_MUL_B3
#undef CT_FB_BLK
#undef CT_FB_COSTS

/* ---- exported ---- */
int zkagg_g1_fixed_base_mul(uint64_t *out, const uint64_t *base, const uint64_t *k, size_t n,
                            unsigned window) {
    return g1_ct_fixed_base_mul(out, base, k, n, window);
}

int zkagg_g2_fixed_base_mul(uint64_t *out, const uint64_t *base, const uint64_t *k, size_t n,
                            unsigned window) {
    return g2_ct_fixed_base_mul(out, base, k, n, window);
}

void zkagg_g1_mul_ct(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    g1_ct_mul_arrays(out, p, k, n);
}

void zkagg_g2_mul_ct(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    g2_ct_mul_arrays(out, p, k, n);
}
