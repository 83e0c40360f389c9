/* Internal: F_q and F_q2 arithmetic on eight independent lanes with AVX-512 IFMA, for the
 * batch-affine bucket additions of the MSM (msm.h). Not constant-time (callers branch on masks).
 *
 * Representation: an fv holds eight F_q values, limb j (52 bits) of every lane in l[j]; five
 * limbs cover 260 bits. The values are the scalar code's Montgomery representatives (x 2^256),
 * so points and buckets need no conversion on the way in or out: only the radix changes.
 * fv_mont is a Montgomery product with R' = 2^260: fv_mont(a, b) = a b / 2^260 mod q. That is
 * 2^-4 off the scalar code's product; msm.h folds the factors 2^-4 into its formulas and its
 * inversion constant instead of correcting every product.
 *
 * Bounds (q < 0.19 * 2^256): a Montgomery reduction of T returns a value < T / 2^260 + q with
 * q^2 / 2^260 < 0.012 q, so inputs a < Xq, b < Yq give an output < (0.012 X Y + 1) q: anything
 * up to a few q in, about q out. Inputs must have normalized limbs (< 2^52: the multipliers
 * read 52 bits) and be < 2^260 (about 84 q); outputs of fv_mont are normalized here. Sums and
 * differences are kept positive by adding multiples of q and are normalized with arithmetic
 * shifts, so limbs may go negative in between. */
#ifndef ZKAGG_FIELD_IFMA_H
#define ZKAGG_FIELD_IFMA_H

#if defined(__x86_64__) && defined(ZKAGG_ASM) && ZKAGG_ASM && !defined(ZKAGG_NO_IFMA)
#define FV_IFMA 1
#include <immintrin.h>
#include <stdatomic.h>

#include "field.h"

#define FV_TGT __attribute__((target("avx512f,avx512ifma")))
#define FV_INL static inline __attribute__((always_inline, target("avx512f,avx512ifma")))
#define FV_M52 0xfffffffffffffULL
#define FV_QINV52 0x20782e4866389ULL /* -q^-1 mod 2^52 */

static const uint64_t FV_Q[5] = {0x8c16d87cfd47ULL, 0x916871ca8d3c2ULL, 0x181585d97816aULL,
                                 0xa029b85045b68ULL, 0x30644e72e131ULL};
static const uint64_t FV_2Q[5] = {0x1182db0f9fa8eULL, 0x22d0e3951a784ULL, 0x302b0bb2f02d5ULL,
                                  0x405370a08b6d0ULL, 0x60c89ce5c263ULL};
static const uint64_t FV_3Q[5] = {0x1a4448976f7d5ULL, 0xb439555fa7b46ULL, 0x4840918c6843fULL,
                                  0xe07d28f0d1238ULL, 0x912ceb58a394ULL};
/* 64 q^2 in ten 52-bit limbs: keeps a0 b0 - a1 b1 positive in fv2_mul */
static const uint64_t FV_64QQ[10] = {
    0x62889d75a6c40ULL, 0x427ab0404ed51ULL, 0x5b2b7298081cbULL, 0xb2129406271b6ULL,
    0x11a27a55e8490ULL, 0x7e970d31ace34ULL, 0x4458dd58189bbULL, 0xd234872c02e15ULL,
    0xfe716669bdf00ULL, 0x249712e1d8f2ULL};

/* 2^262 mod q (plain integer): turns the scalar inverse R^2 / a into 2^518 / a (msm.h) */
static const uint64_t FV_C262[4] = {0x9d0709d62af99842ULL, 0xf7214c0419c29186ULL,
                                    0xa603f5090339546dULL, 0x1b906c52ac7a88eaULL};

typedef struct {
    __m512i l[5];
} fv;

typedef struct {
    fv c0, c1;
} fv2;

static int fv_have_ifma(void) {
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

FV_INL __m512i fv_c(uint64_t v) { return _mm512_set1_epi64((long long)v); }

/* carry every limb into the next (arithmetic shifts: negative limbs are fine when the value is
 * not negative) */
FV_INL void fv_norm(fv *a) {
    const __m512i m = fv_c(FV_M52);
    for (int j = 0; j < 4; j++) {
        a->l[j + 1] = _mm512_add_epi64(a->l[j + 1], _mm512_srai_epi64(a->l[j], 52));
        a->l[j] = _mm512_and_si512(a->l[j], m);
    }
}

/* r = a - b + k (k a multiple of q given by its limbs), normalized */
FV_INL void fv_sub(fv *r, const fv *a, const fv *b, const uint64_t *k) {
    for (int j = 0; j < 5; j++)
        r->l[j] = _mm512_add_epi64(_mm512_sub_epi64(a->l[j], b->l[j]), fv_c(k[j]));
    fv_norm(r);
}

/* r = a + b, normalized */
FV_INL void fv_add(fv *r, const fv *a, const fv *b) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_add_epi64(a->l[j], b->l[j]);
    fv_norm(r);
}

/* r = a << s (s small), normalized */
FV_INL void fv_shl(fv *r, const fv *a, unsigned s) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_slli_epi64(a->l[j], s);
    fv_norm(r);
}

/* a = a - k where a >= k (k a multiple of q by its limbs); a normalized */
FV_INL void fv_csub(fv *a, const uint64_t *k) {
    const __m512i m = fv_c(FV_M52);
    __m512i u[5], c = _mm512_setzero_si512();
    for (int j = 0; j < 5; j++) {
        u[j] = _mm512_add_epi64(_mm512_sub_epi64(a->l[j], fv_c(k[j])), c);
        c = _mm512_srai_epi64(u[j], 52);
        if (j < 4) u[j] = _mm512_and_si512(u[j], m);
    }
    __mmask8 ge = _mm512_cmpge_epi64_mask(u[4], _mm512_setzero_si512());
    for (int j = 0; j < 5; j++) a->l[j] = _mm512_mask_blend_epi64(ge, a->l[j], u[j]);
}


/* x3 = l + 3q - s - 2 x (the x of a sum, msm.h), normalized */
FV_INL void fv_x3(fv *r, const fv *l, const fv *s, const fv *x) {
    for (int j = 0; j < 5; j++)
        r->l[j] = _mm512_sub_epi64(_mm512_add_epi64(l->l[j], fv_c(FV_3Q[j])),
                                   _mm512_add_epi64(s->l[j], _mm512_add_epi64(x->l[j], x->l[j])));
    fv_norm(r);
}

/* lanes where a == b (both normalized and canonical) */
FV_INL __mmask8 fv_eq(const fv *a, const fv *b) {
    __mmask8 e = 0xff;
    for (int j = 0; j < 5; j++) e &= _mm512_cmpeq_epi64_mask(a->l[j], b->l[j]);
    return e;
}

FV_INL void fv_blend(fv *r, __mmask8 take_b, const fv *a, const fv *b) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_mask_blend_epi64(take_b, a->l[j], b->l[j]);
}

FV_INL void fv_bcast(fv *r, const uint64_t *e) { /* one 4x64 value in every lane */
    uint64_t l[5] = {e[0] & FV_M52, (e[0] >> 52 | e[1] << 12) & FV_M52,
                     (e[1] >> 40 | e[2] << 24) & FV_M52, (e[2] >> 28 | e[3] << 36) & FV_M52,
                     e[3] >> 16};
    for (int j = 0; j < 5; j++) r->l[j] = fv_c(l[j]);
}

/* r = a * b / 2^260 mod q (see the bounds above), limbs not normalized (a sum or difference
 * normalizes them) */
FV_INL void fv_mont_raw(fv *r, const fv *a, const fv *b) {
    const __m512i zero = _mm512_setzero_si512(), pinv = fv_c(FV_QINV52);
    __m512i t[6];
    for (int j = 0; j < 6; j++) t[j] = zero;
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            t[j] = _mm512_madd52lo_epu64(t[j], a->l[i], b->l[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], a->l[i], b->l[j]);
        }
        __m512i m = _mm512_madd52lo_epu64(zero, t[0], pinv);
        for (int j = 0; j < 5; j++) {
            t[j] = _mm512_madd52lo_epu64(t[j], m, fv_c(FV_Q[j]));
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, fv_c(FV_Q[j]));
        }
        t[1] = _mm512_add_epi64(t[1], _mm512_srli_epi64(t[0], 52));
        for (int j = 0; j < 5; j++) t[j] = t[j + 1];
        t[5] = zero;
    }
    for (int j = 0; j < 5; j++) r->l[j] = t[j];
}

/* r = a * b / 2^260 mod q, normalized */
FV_INL void fv_mont(fv *r, const fv *a, const fv *b) {
    fv_mont_raw(r, a, b);
    fv_norm(r);
}

/* t (ten limbs) = a * b, unreduced */
FV_INL void fv_prod(__m512i *t, const fv *a, const fv *b) {
    const __m512i zero = _mm512_setzero_si512();
    for (int j = 0; j < 10; j++) t[j] = zero;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], a->l[i], b->l[j]);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], a->l[i], b->l[j]);
        }
}

/* t (ten limbs) = a^2, unreduced: the products a_i a_j (i < j) once, doubled, plus the squares */
FV_INL void fv_prod_sqr(__m512i *t, const fv *a) {
    const __m512i zero = _mm512_setzero_si512();
    for (int j = 0; j < 10; j++) t[j] = zero;
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++) {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], a->l[i], a->l[j]);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], a->l[i], a->l[j]);
        }
    for (int j = 0; j < 10; j++) t[j] = _mm512_add_epi64(t[j], t[j]);
    for (int i = 0; i < 5; i++) {
        t[2 * i] = _mm512_madd52lo_epu64(t[2 * i], a->l[i], a->l[i]);
        t[2 * i + 1] = _mm512_madd52hi_epu64(t[2 * i + 1], a->l[i], a->l[i]);
    }
}

/* r = T / 2^260 mod q for a ten-limb T >= 0 (limbs may be unnormalized or negative), limbs
 * not normalized */
FV_INL void fv_redc_raw(fv *r, __m512i *t) {
    const __m512i zero = _mm512_setzero_si512(), pinv = fv_c(FV_QINV52);
    for (int i = 0; i < 5; i++) {
        __m512i m = _mm512_madd52lo_epu64(zero, t[i], pinv);
        for (int j = 0; j < 5; j++) {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], m, fv_c(FV_Q[j]));
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], m, fv_c(FV_Q[j]));
        }
        t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srai_epi64(t[i], 52));
    }
    for (int j = 0; j < 5; j++) r->l[j] = t[5 + j];
}

/* the same, normalized */
FV_INL void fv_redc(fv *r, __m512i *t) {
    fv_redc_raw(r, t);
    fv_norm(r);
}

/* r = a^2 / 2^260 mod q, limbs not normalized */
FV_INL void fv_sqr_raw(fv *r, const fv *a) {
    __m512i t[10];
    fv_prod_sqr(t, a);
    fv_redc_raw(r, t);
}

/* ---- F_q2 = F_q[u]/(u^2 + 1) ---- */

/* r = a * b / 2^260 (per coefficient scale, as fv_mont): Karatsuba on unreduced products, two
 * reductions. With coefficients a < Xq, b < Yq (X Y <= 64, X, Y < 42) the output is
 * < (0.012 (X Y + 64) + 1) q, under 1.8 q for X, Y ~ 2. */
FV_INL void fv2_mul(fv2 *r, const fv2 *a, const fv2 *b) {
    __m512i t0[10], t1[10], s[10];
    fv sa, sb;
    fv_prod(t0, &a->c0, &b->c0);
    fv_prod(t1, &a->c1, &b->c1);
    fv_add(&sa, &a->c0, &a->c1);
    fv_add(&sb, &b->c0, &b->c1);
    fv_prod(s, &sa, &sb);
    for (int j = 0; j < 10; j++) {
        __m512i both = _mm512_add_epi64(t0[j], t1[j]);
        t0[j] = _mm512_add_epi64(_mm512_sub_epi64(t0[j], t1[j]), fv_c(FV_64QQ[j]));
        s[j] = _mm512_sub_epi64(s[j], both);
    }
    fv_redc(&r->c0, t0);
    fv_redc(&r->c1, s);
}

/* fv2_mul with the limbs of r not normalized */
FV_INL void fv2_mul_raw(fv2 *r, const fv2 *a, const fv2 *b) {
    __m512i t0[10], t1[10], s[10];
    fv sa, sb;
    fv_prod(t0, &a->c0, &b->c0);
    fv_prod(t1, &a->c1, &b->c1);
    fv_add(&sa, &a->c0, &a->c1);
    fv_add(&sb, &b->c0, &b->c1);
    fv_prod(s, &sa, &sb);
    for (int j = 0; j < 10; j++) {
        __m512i both = _mm512_add_epi64(t0[j], t1[j]);
        t0[j] = _mm512_add_epi64(_mm512_sub_epi64(t0[j], t1[j]), fv_c(FV_64QQ[j]));
        s[j] = _mm512_sub_epi64(s[j], both);
    }
    fv_redc_raw(&r->c0, t0);
    fv_redc_raw(&r->c1, s);
}

/* r = a^2 / 2^260, limbs not normalized: (a0 + a1)(a0 - a1 + 3q) and 2 a0 a1 (coefficients
 * a < 2q: the output is < 1.3 q) */
FV_INL void fv2_sqr_raw(fv2 *r, const fv2 *a) {
    __m512i t[10];
    fv s, d;
    fv_add(&s, &a->c0, &a->c1);
    fv_sub(&d, &a->c0, &a->c1, FV_3Q);
    fv_prod(t, &s, &d);
    fv_redc_raw(&r->c0, t);
    fv_prod(t, &a->c0, &a->c1);
    for (int j = 0; j < 10; j++) t[j] = _mm512_add_epi64(t[j], t[j]);
    fv_redc_raw(&r->c1, t);
}

FV_INL void fv2_sub(fv2 *r, const fv2 *a, const fv2 *b, const uint64_t *k) {
    fv_sub(&r->c0, &a->c0, &b->c0, k);
    fv_sub(&r->c1, &a->c1, &b->c1, k);
}
FV_INL void fv2_add(fv2 *r, const fv2 *a, const fv2 *b) {
    fv_add(&r->c0, &a->c0, &b->c0);
    fv_add(&r->c1, &a->c1, &b->c1);
}
FV_INL void fv2_shl(fv2 *r, const fv2 *a, unsigned s) {
    fv_shl(&r->c0, &a->c0, s);
    fv_shl(&r->c1, &a->c1, s);
}
FV_INL void fv2_x3(fv2 *r, const fv2 *l, const fv2 *s, const fv2 *x) {
    fv_x3(&r->c0, &l->c0, &s->c0, &x->c0);
    fv_x3(&r->c1, &l->c1, &s->c1, &x->c1);
}
FV_INL void fv2_csub(fv2 *a, const uint64_t *k) {
    fv_csub(&a->c0, k);
    fv_csub(&a->c1, k);
}
FV_INL __mmask8 fv2_eq(const fv2 *a, const fv2 *b) { return fv_eq(&a->c0, &b->c0) & fv_eq(&a->c1, &b->c1); }
FV_INL void fv2_blend(fv2 *r, __mmask8 take_b, const fv2 *a, const fv2 *b) {
    fv_blend(&r->c0, take_b, &a->c0, &b->c0);
    fv_blend(&r->c1, take_b, &a->c1, &b->c1);
}

FV_INL void fv_zero(fv *r) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_setzero_si512();
}
FV_INL void fv2_zero(fv2 *r) {
    fv_zero(&r->c0);
    fv_zero(&r->c1);
}
FV_INL void fv_set_q(fv *r) {
    for (int j = 0; j < 5; j++) r->l[j] = fv_c(FV_Q[j]);
}
FV_INL void fv2_set_q(fv2 *r) { /* q in both coefficients */
    fv_set_q(&r->c0);
    fv_set_q(&r->c1);
}
FV_INL void fv2_bcast_one(fv2 *r) {
    fv_bcast(&r->c0, FQ_ONE);
    fv_zero(&r->c1);
}

/* ---- radix change and lane transposition ---- */

/* four 64-bit limb vectors -> five 52-bit limbs */
FV_INL void fv_from64(fv *r, __m512i l0, __m512i l1, __m512i l2, __m512i l3) {
    const __m512i m = fv_c(FV_M52);
    r->l[0] = _mm512_and_si512(l0, m);
    r->l[1] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l0, 52), _mm512_slli_epi64(l1, 12)), m);
    r->l[2] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l1, 40), _mm512_slli_epi64(l2, 24)), m);
    r->l[3] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l2, 28), _mm512_slli_epi64(l3, 36)), m);
    r->l[4] = _mm512_srli_epi64(l3, 16);
}

/* inverse of fv_from64: a normalized and < 2^256 */
FV_INL void fv_to64(__m512i *o, const fv *a) {
    o[0] = _mm512_or_si512(a->l[0], _mm512_slli_epi64(a->l[1], 52));
    o[1] = _mm512_or_si512(_mm512_srli_epi64(a->l[1], 12), _mm512_slli_epi64(a->l[2], 40));
    o[2] = _mm512_or_si512(_mm512_srli_epi64(a->l[2], 24), _mm512_slli_epi64(a->l[3], 28));
    o[3] = _mm512_or_si512(_mm512_srli_epi64(a->l[3], 36), _mm512_slli_epi64(a->l[4], 16));
}

/* 8x8 transpose of 64-bit elements (its own inverse) */
FV_INL void fv_transpose8(__m512i *r) {
    __m512i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]);
    }
    const __m512i i0 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i i1 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int h = 0; h < 2; h++)
        for (int o = 0; o < 2; o++) {
            u[4 * h + o] = _mm512_permutex2var_epi64(t[4 * h + o], i0, t[4 * h + 2 + o]);
            u[4 * h + 2 + o] = _mm512_permutex2var_epi64(t[4 * h + o], i1, t[4 * h + 2 + o]);
        }
    const __m512i lo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_permutex2var_epi64(u[k], lo, u[4 + k]);
        r[k + 4] = _mm512_permutex2var_epi64(u[k], hi, u[4 + k]);
    }
}

/* Eight affine G1 points (x, y: 8 limbs, one 64-byte row each) -> x, y in lanes */
FV_INL void fv_gather_g1(fv *x, fv *y, const uint64_t *const *p) {
    __m512i r[8];
    for (int i = 0; i < 8; i++) r[i] = _mm512_loadu_si512(p[i]);
    fv_transpose8(r);
    fv_from64(x, r[0], r[1], r[2], r[3]);
    fv_from64(y, r[4], r[5], r[6], r[7]);
}

/* x, y (normalized, canonical) -> the first n of the eight rows */
FV_INL void fv_scatter_g1(uint64_t *const *p, unsigned n, const fv *x, const fv *y) {
    __m512i r[8];
    fv_to64(r, x);
    fv_to64(r + 4, y);
    fv_transpose8(r);
    for (unsigned i = 0; i < n; i++) _mm512_storeu_si512(p[i], r[i]);
}

/* the same for G2 points: x.c0, x.c1, y.c0, y.c1 (16 limbs, two rows) */
FV_INL void fv_gather_g2(fv2 *x, fv2 *y, const uint64_t *const *p) {
    __m512i r[8], s[8];
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_loadu_si512(p[i]);
        s[i] = _mm512_loadu_si512(p[i] + 8);
    }
    fv_transpose8(r);
    fv_transpose8(s);
    fv_from64(&x->c0, r[0], r[1], r[2], r[3]);
    fv_from64(&x->c1, r[4], r[5], r[6], r[7]);
    fv_from64(&y->c0, s[0], s[1], s[2], s[3]);
    fv_from64(&y->c1, s[4], s[5], s[6], s[7]);
}

FV_INL void fv_scatter_g2(uint64_t *const *p, unsigned n, const fv2 *x, const fv2 *y) {
    __m512i r[8], s[8];
    fv_to64(r, &x->c0);
    fv_to64(r + 4, &x->c1);
    fv_to64(s, &y->c0);
    fv_to64(s + 4, &y->c1);
    fv_transpose8(r);
    fv_transpose8(s);
    for (unsigned i = 0; i < n; i++) {
        _mm512_storeu_si512(p[i], r[i]);
        _mm512_storeu_si512(p[i] + 8, s[i]);
    }
}

/* lane values as 4x64 limbs (a normalized, < 2^256): out[4 i .. 4 i + 3] is lane i */
FV_INL void fv_lanes(uint64_t *out, const fv *a) {
    __m512i o[8];
    fv_to64(o, a);
    for (int j = 4; j < 8; j++) o[j] = _mm512_setzero_si512();
    fv_transpose8(o);
    for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)(out + 4 * i), _mm512_castsi512_si256(o[i]));
}

/* inverse of fv_lanes */
FV_INL void fv_from_lanes(fv *a, const uint64_t *in) {
    __m512i o[8];
    for (int i = 0; i < 8; i++) o[i] = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(in + 4 * i)));
    fv_transpose8(o);
    fv_from64(a, o[0], o[1], o[2], o[3]);
}

/* the same for F_q2 lanes: out[8 i .. 8 i + 7] = (c0, c1) of lane i */
FV_INL void fv2_lanes(uint64_t *out, const fv2 *a) {
    uint64_t c0[32], c1[32];
    fv_lanes(c0, &a->c0);
    fv_lanes(c1, &a->c1);
    for (int i = 0; i < 8; i++) {
        memcpy(out + 8 * i, c0 + 4 * i, 32);
        memcpy(out + 8 * i + 4, c1 + 4 * i, 32);
    }
}
FV_INL void fv2_from_lanes(fv2 *a, const uint64_t *in) {
    uint64_t c0[32], c1[32];
    for (int i = 0; i < 8; i++) {
        memcpy(c0 + 4 * i, in + 8 * i, 32);
        memcpy(c1 + 4 * i, in + 8 * i + 4, 32);
    }
    fv_from_lanes(&a->c0, c0);
    fv_from_lanes(&a->c1, c1);
}

#endif /* FV_IFMA */
#endif
