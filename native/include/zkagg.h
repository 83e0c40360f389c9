/*
 * zkagg native core: BN254 (alt_bn128) arithmetic.
 *
 * This header is the single source of the cffi declarations (lines starting with '#' are skipped
 * by the binding generator), so it holds only plain declarations.
 *
 * Conventions
 *  - A field element is 4 little-endian 64-bit limbs (uint64_t[4]).
 *  - F_r arrays ("fr") are CANONICAL integers in [0, r). The kernels use Montgomery arithmetic
 *    inside; linear operations need no conversion because their constants are kept in Montgomery
 *    form, products are corrected by one multiplication by R^2.
 *  - Point arrays are affine with coordinates in MONTGOMERY form over F_q:
 *      G1: x, y            -> 8 limbs per point
 *      G2: x.c0, x.c1, y.c0, y.c1 (F_q2 = F_q[u]/(u^2+1)) -> 16 limbs per point
 *    The point at infinity is all-zero limbs ((0,0) is on neither curve).
 *  - F_q arrays ("fq", "fq2") passed to the fq kernels are in Montgomery form.
 *  - Output-first arguments; outputs may alias inputs unless stated otherwise.
 *  - Functions returning int return ZKAGG_OK (0) or a negative ZKAGG_ERR_* code; check functions
 *    return the index of the first bad element, or -1 when all are good.
 *  - Nothing here is constant-time unless marked CT; never feed secrets to the others.
 */
#ifndef ZKAGG_H
#define ZKAGG_H
#include <stddef.h>
#include <stdint.h>

#define ZKAGG_OK 0
#define ZKAGG_ERR_ALLOC -1
#define ZKAGG_ERR_ARG -2
#define ZKAGG_ERR_ZERO -3

/* ---- library ---- */
int zkagg_has_asm(void);                 /* 1 when this build uses the MULX/ADX assembly path */
void zkagg_set_threads(int n);           /* n <= 0: number of online CPUs */
int zkagg_get_threads(void);

/* ---- F_r vector kernels (canonical in, canonical out) ---- */
int64_t zkagg_fr_check(const uint64_t *a, size_t n);            /* first index with a[i] >= r */
void zkagg_fr_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_fr_sub(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_fr_neg(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_fr_mul(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_fr_scale(uint64_t *out, const uint64_t *a, const uint64_t *s, size_t n);
void zkagg_fr_inner_product(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
int zkagg_fr_batch_inverse(uint64_t *out, const uint64_t *a, size_t n);  /* ZKAGG_ERR_ZERO if any a[i]==0 */
void zkagg_fr_pow(uint64_t *out, const uint64_t *a, const uint64_t *e); /* e: 4-limb exponent */

/* ---- F_r NTT over the 2^log_n subgroup (canonical, in place, natural order in and out) ----
 * inverse=1 computes the inverse transform including the 1/n scaling.
 * zkagg_fr_coset_ntt evaluates on the coset g*H (g = 5, the multiplicative generator) when
 * inverse=0, and interpolates from it when inverse=1. log_n <= 28. */
int zkagg_fr_ntt(uint64_t *data, unsigned log_n, int inverse);
int zkagg_fr_coset_ntt(uint64_t *data, unsigned log_n, int inverse);

/* ---- sparse (CSR) matrix times vector over F_r, canonical; used for R1CS ----
 * zkagg_fr_csr_mul:   out[i] = sum_k coeffs[k] * x[cols[k]] for k in [row_ptr[i], row_ptr[i+1])
 * zkagg_fr_csr_mul_t: out[c] = sum over entries (i, c) of coeffs * x[i]  (out has n_cols elements;
 *                     ZKAGG_ERR_ARG if a column index is >= n_cols). Column indices are not
 *                     checked by zkagg_fr_csr_mul: the caller guarantees cols[k] < len(x). */
int zkagg_fr_csr_mul(uint64_t *out, const int64_t *row_ptr, const uint32_t *cols,
                     const uint64_t *coeffs, const uint64_t *x, size_t n_rows);
int zkagg_fr_csr_mul_t(uint64_t *out, const int64_t *row_ptr, const uint32_t *cols,
                       const uint64_t *coeffs, const uint64_t *x, size_t n_rows, size_t n_cols);

/* ---- F_q and F_q2 kernels (Montgomery in, Montgomery out) ---- */
void zkagg_fq_to_mont(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_fq_from_mont(uint64_t *out, const uint64_t *a, size_t n);
int64_t zkagg_fq_check(const uint64_t *a, size_t n);            /* canonical check, first a[i] >= q */
void zkagg_fq_mul(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
int zkagg_fq_batch_inverse(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_fq2_mul(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_fq2_sqr(uint64_t *out, const uint64_t *a, size_t n);
int zkagg_fq2_inverse(uint64_t *out, const uint64_t *a, size_t n);

/* ---- G1 (y^2 = x^3 + 3 over F_q), affine Montgomery arrays ---- */
int64_t zkagg_g1_check(const uint64_t *p, size_t n);           /* first point off the curve */
void zkagg_g1_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_g1_double(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_g1_neg(uint64_t *out, const uint64_t *a, size_t n);
/* out[i] = k[i] * p[i]; k canonical F_r, fixed-window, not constant-time */
void zkagg_g1_mul(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);
/* out = sum k[i] * p[i]; k canonical F_r */
int zkagg_g1_msm(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);

/* ---- G2 (y^2 = x^3 + 3/(9+u) over F_q2), affine Montgomery arrays ---- */
int64_t zkagg_g2_check(const uint64_t *p, size_t n);           /* first point off the curve or outside the r-torsion */
void zkagg_g2_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_g2_double(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_g2_neg(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_g2_mul(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);
int zkagg_g2_msm(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);

/* ---- several MSMs in one call, e.g. a Groth16 proof's A, B (G1 and G2), L and H ----
 * Part j sums k[offset + i] * points[i] for i < count, with k = scalars[vector] (canonical
 * F_r, lengths[vector] elements; offset + count must not exceed it, else ZKAGG_ERR_ARG), over
 * G1 (group 1, 8 limbs per point) or G2 (group 2, 16 limbs per point); its result goes to
 * out + 16 j (G1 results use the first 8 limbs). The parts over one scalar vector share its
 * signed-digit recoding, and the windows of all parts share the threads. */
typedef struct {
    const uint64_t *points;  /* affine Montgomery, as for zkagg_g1_msm / zkagg_g2_msm */
    size_t count;
    unsigned group;          /* 1: G1, 2: G2 */
    unsigned vector;         /* index into scalars */
    size_t offset;           /* points[0] pairs with scalars[vector][offset] */
} zkagg_msm_part;
int zkagg_msm_many(uint64_t *out, const zkagg_msm_part *parts, size_t n_parts,
                   const uint64_t *const *scalars, const size_t *lengths, size_t n_vectors);

/* ---- pairing: the optimal ate pairing e: G1 x G2 -> F_q12 (native/src/pairing.c) ----
 * g1: n G1 points (8 limbs each), g2: n G2 points (16 limbs each), affine Montgomery as above.
 * The points are ASSUMED VALID: on their curves and, for G2, in the order-r subgroup (the
 * Python layer validates every point it builds); invalid points give meaningless results.
 * Pairs with a point at infinity contribute 1; n = 0 is the empty product 1. Threads across
 * pairs from 8 pairs up. Not constant-time (pairing inputs are public).
 * zkagg_pairing_check: 1 if prod_i e(P_i, Q_i) == 1, 0 if not, or a negative ZKAGG_ERR_*.
 * zkagg_pairing (for tests): out = prod_i e(P_i, Q_i), or with final_exp = 0 the product of the
 * Miller-loop values before the final exponentiation (with zkagg's line scaling: other
 * libraries' Miller values differ by factors the final exponentiation removes); 12 CANONICAL F_q
 * elements, the coefficients of the tower F_q12 = F_q6[w]/(w^2 - v), F_q6 = F_q2[v]/(v^3 - (9+u))
 * in the order c0.a0.re, c0.a0.im, c0.a1.re, ..., c0.a2.im, c1.a0.re, ..., c1.a2.im for
 * c0 + c1 w, c = a0 + a1 v + a2 v^2, a = re + im u (so w^6 = 9 + u). */
int zkagg_pairing_check(const uint64_t *g1, const uint64_t *g2, size_t n);
int zkagg_pairing(uint64_t *out, const uint64_t *g1, const uint64_t *g2, size_t n, int final_exp);

/* ---- Poseidon over F_r (circomlib's instances: x^5 S-box, widths t = 2..17) ----
 * The parameters come from zkagg/poseidon (Grain-derived, pinned), in the fast form of the
 * Poseidon paper's appendix B (sparse partial rounds; see zkagg/poseidon/optimize.py), with
 * every constant in MONTGOMERY form. States and data are canonical F_r (ZKAGG_ERR_ARG if an
 * element is >= r or the parameters are malformed). CT in the element values (hashed vectors
 * may be secret masks); the running time depends on the lengths only. */
typedef struct {
    unsigned t;                        /* width, 2..17 */
    unsigned rounds_f;                 /* full rounds, even, >= 2 */
    unsigned rounds_p;                 /* partial rounds, >= 1 */
    const uint64_t *full_constants;    /* rounds_f * t: first half's rounds, then second half's */
    const uint64_t *mds;               /* t * t, row-major: state[i] <- sum_j mds[i][j] state[j] */
    const uint64_t *pre_mds;           /* t * t: linear layer of the last full round of the first half */
    const uint64_t *partial_first;     /* t: added to the state before the first partial round */
    const uint64_t *partial_constants; /* rounds_p - 1: added to state[0] after the partial S-box */
    const uint64_t *sparse;            /* rounds_p * (2t - 1): row 0, then column 0 below row 0 */
} zkagg_poseidon_params;
/* n_states independent states of width t, each permuted in place (threads across states). */
int zkagg_poseidon_permute(uint64_t *states, size_t n_states, const zkagg_poseidon_params *p);
/* zkagg's sponge (zkagg/poseidon/reference.py) of n_vectors vectors stored back to back in data,
 * vector k holding lengths[k] elements; out[k] (4 limbs) is its hash. Threads across vectors. */
int zkagg_poseidon_sponge(uint64_t *out, const uint64_t *data, const size_t *lengths,
                          size_t n_vectors, const zkagg_poseidon_params *p);
/* The witness of the sponge gadget's absorb step (circuits/gadgets/poseidon.py), for
 * n_instances independent instances. Instance k reads 2t - 1 elements at inputs + 4 (2t - 1) k:
 * prev (t), then block (t - 1); it permutes the state M prev + (0, block) and writes, for every
 * S-box in order (full rounds: elements 0..t-1; partial rounds: element 0), x^2, x^4, x^5: that is
 * 3 (rounds_f t + rounds_p) canonical elements at out + 12 (rounds_f t + rounds_p) k. Threads
 * across instances. */
int zkagg_poseidon_absorb_trace(uint64_t *out, const uint64_t *inputs, size_t n_instances,
                                const zkagg_poseidon_params *p);

/* ---- micro-benchmarks: nanoseconds per operation, measured in C (thread CPU time) ---- */
double zkagg_bench_fr_mul(size_t iters);
double zkagg_bench_g1_add(size_t iters);      /* Jacobian + Jacobian */
double zkagg_bench_g1_add_mixed(size_t iters);

#endif
