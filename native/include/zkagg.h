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
 *  - Nothing here is constant-time unless marked CT (field add/sub/mul, Poseidon, and the
 *    "fixed-base multiplication (constant-time)" section); never feed secrets to the others.
 */
#ifndef ZKAGG_H
#define ZKAGG_H
#include <stddef.h>
#include <stdint.h>

#define ZKAGG_OK 0
#define ZKAGG_ERR_ALLOC -1
#define ZKAGG_ERR_ARG -2
#define ZKAGG_ERR_ZERO -3
#define ZKAGG_ERR_OVERFLOW -4 /* zkagg_pack: a value does not fit its slot */
#define ZKAGG_ERR_RANGE -5    /* zkagg_unpack: an element has bits outside its slots */
#define ZKAGG_ERR_NONFINITE -6 /* zkagg_quantize_pack: an input is NaN or infinite */

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
/* NOT constant-time, never give them secret scalars (use the CT kernels below):
 * out[i] = k[i] * p[i], fixed window, skips zero digits; and out = sum k[i] * p[i] (Pippenger).
 * k canonical F_r. */
void zkagg_g1_mul(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);
int zkagg_g1_msm(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);

/* ---- G2 (y^2 = x^3 + 3/(9+u) over F_q2), affine Montgomery arrays ---- */
int64_t zkagg_g2_check(const uint64_t *p, size_t n);           /* first point off the curve or outside the r-torsion */
void zkagg_g2_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n);
void zkagg_g2_double(uint64_t *out, const uint64_t *a, size_t n);
void zkagg_g2_neg(uint64_t *out, const uint64_t *a, size_t n);
/* NOT constant-time either (as zkagg_g1_mul / zkagg_g1_msm) */
void zkagg_g2_mul(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);
int zkagg_g2_msm(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);

/* ---- fixed-base multiplication (constant-time) (native/src/fixed_base.c) ----
 * For SECRET scalars, e.g. a trusted setup's toxic waste. CT: the instructions executed and the
 * memory addresses touched depend only on n, the window width and the public points, never on
 * the scalars: no branch on scalar data, table entries picked by a masked scan of the whole
 * table, complete addition formulas (no exceptional case to branch on: doubling, P + (-P) and
 * infinity go through the same formula), a masked batch inversion for the affine results.
 * What it does NOT cover: the base points, which are public (an infinity base is a branch), n,
 * and anything the caller does with the scalars before or after. Threads across scalars.
 * Scalars are any 256-bit integers (reduced mod r inside, in constant time); outputs affine
 * Montgomery as above, the point at infinity (k = 0 mod r) as all-zero limbs.
 *
 * zkagg_gX_fixed_base_mul: out[i] = k[i] * base for one public base (8 or 16 limbs) and n
 *   scalars. Signed-digit windows over per-window tables of multiples of the base (built once
 *   per call), so no doublings: ceil(255 / w) mixed additions per scalar. window = 0 picks the
 *   width from n; 1..12 forces it (tests). Returns ZKAGG_OK, ZKAGG_ERR_ARG (window > 12) or
 *   ZKAGG_ERR_ALLOC.
 * zkagg_gX_mul_ct: out[i] = k[i] * p[i] (variable base, e.g. public points times one secret
 *   factor): 5-bit signed windows over each point's own table, doublings and complete
 *   additions. */
int zkagg_g1_fixed_base_mul(uint64_t *out, const uint64_t *base, const uint64_t *k, size_t n,
                            unsigned window);
int zkagg_g2_fixed_base_mul(uint64_t *out, const uint64_t *base, const uint64_t *k, size_t n,
                            unsigned window);
void zkagg_g1_mul_ct(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);
void zkagg_g2_mul_ct(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n);

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

/* ---- secure aggregation: PRG into F_r, packing (native/src/chacha.c, native/src/pack.c) ----
 * The mask stream (part of the protocol; zkagg/secagg/prg.py states the same):
 *  - key: a 32-byte seed, already domain-separated by the caller.
 *  - The element stream is divided into blocks of 1024 elements. Block j (j = 0, 1, ...) is
 *    sampled from the ChaCha20 keystream of RFC 8439 under that key with the 96-bit nonce
 *    LE64(j) || 00 00 00 00 and initial block counter 0. The keystream is cut into consecutive
 *    32-byte words; each word, read as a little-endian 256-bit integer with its top 2 bits
 *    cleared (so < 2^254), is accepted if it is < r and skipped otherwise (about 24% are). The
 *    first 1024 accepted words are block j's elements.
 *  - Element i of the stream is element i mod 1024 of block i / 1024 (integer division).
 * So the stream is seekable and its blocks are independent: any range [start, start + n) costs
 * the keystream of the blocks it touches, and blocks are spread over threads. A block that would
 * need more than 2^32 ChaCha blocks (its 32-bit counter; probability far below 2^-1000) is an
 * error, ZKAGG_ERR_ARG.
 * Outputs are CANONICAL F_r limbs (not Montgomery). Constant-time in the key: ChaCha20 is
 * add-rotate-xor only and the acceptance test is branch-free; what the running time does show is
 * how many keystream words a block consumed (which ones were rejected), a function of the
 * keystream alone that reveals nothing about the accepted words. Stack copies of the key, of the
 * keystream and of the elements, and the accumulator's scratch, are wiped before returning
 * (registers and compiler spills are not). start + n must be below 2^64 (ZKAGG_ERR_ARG
 * otherwise). */

/* out[i] = stream[start + i] for i < n (4 limbs each). */
int zkagg_prg_fr(uint64_t *out, const uint8_t *key, uint64_t start, size_t n);
/* acc[i] <- acc[i] + sum_j signs[j] * stream_j[start + i] mod r for i < n, where stream_j is the
 * stream of key j (keys: k keys of 32 bytes back to back). acc must be canonical and signs in
 * {+1, -1}, else ZKAGG_ERR_ARG and acc is unchanged (after the counter error above, acc is left
 * partly updated). Works block by block, one key at a time: the keys' elements of a block are
 * summed without reduction (per group of up to 1023 keys) and each acc element is reduced once,
 * constant-time; no stream is materialized. Threads across blocks, with a scratch of about
 * 100 KB per thread allocated per call (ZKAGG_ERR_ALLOC if that fails, acc unchanged). */
int zkagg_prg_fr_accumulate(uint64_t *acc, const uint8_t *keys, const int8_t *signs, size_t k,
                            uint64_t start, size_t n);
/* Raw RFC 8439 ChaCha20 keystream (for tests): n_blocks 64-byte blocks from key (32 bytes),
 * nonce (12 bytes) and the initial block counter; ZKAGG_ERR_ARG if the counter would wrap. */
int zkagg_chacha20_keystream(uint8_t *out, const uint8_t *key, const uint8_t *nonce,
                             uint32_t counter, size_t n_blocks);
/* The ChaCha20 kernel in use: 0 portable (GNU C vectors, 4 blocks at once), 1 AVX2 (8 blocks),
 * 2 AVX-512 (16 blocks). The x86 kernels are compiled into the asm variant only (like
 * the NTT's IFMA path) and chosen at run time from the CPU; all give identical output.
 * zkagg_prg_set_impl caps the level for the whole process (tests: 0 forces the portable kernel,
 * -1 lifts the cap) and returns the level now in use. */
int zkagg_prg_set_impl(int max_level);
int zkagg_prg_get_impl(void);
/* For tests: the acceptance mask the kernel in use computes for 32 candidate words given as
 * 256 32-bit words (8 per candidate, least significant first): bit c is set when candidate c,
 * top 2 bits cleared, is below r. The same comparison code the kernels run on their output. */
uint32_t zkagg_prg_accept_mask(const uint32_t *words);

/* Packing: several unsigned integers of `width` bits per F_r element, little end first:
 * element e = sum_{s < per} values[e per + s] * 2^(width s), over ceil(n_values / per) elements
 * (the last one may hold fewer values; its unused slots are zero). 1 <= width <= 64,
 * per >= 1, width * per <= 253 (so every packed element is < 2^253 < r), else ZKAGG_ERR_ARG.
 * zkagg_pack returns ZKAGG_ERR_OVERFLOW if a value is >= 2^width (out is then unspecified):
 * nothing wraps silently. zkagg_unpack is the inverse; it returns ZKAGG_ERR_RANGE if an element
 * has a bit set outside the slots it holds (at or above width * per, or width * count for the
 * last element with count values): no packing gives such an element; a sum of packings gives
 * one when carries run past its top slot (and the integer sum is still below r; past r it wraps
 * and means nothing). Branch-free in the values; single-threaded. */
int zkagg_pack(uint64_t *out, const uint64_t *values, size_t n_values, unsigned width,
               unsigned per);
int zkagg_unpack(uint64_t *values, const uint64_t *elements, size_t n_values, unsigned width,
                 unsigned per);
/* zkagg_pack of (rint(clip(x[i], -clip, clip) * scale) + offset) * weight over n doubles, with
 * rint rounding half to even (zkagg/secagg/encoding.py). ZKAGG_ERR_NONFINITE if any x[i] is NaN
 * or infinite, ZKAGG_ERR_OVERFLOW if a weighted value does not fit `width` bits; out is then
 * unspecified. Requires scale = 2^k (so x * scale is exact), offset < 2^52 and
 * clip * scale <= offset, else ZKAGG_ERR_ARG. Branch-free in the values; threads across chunks. */
int zkagg_quantize_pack(uint64_t *out, const double *x, size_t n, double clip, double scale,
                        uint64_t offset, uint64_t weight, unsigned width, unsigned per);

/* ---- micro-benchmarks: nanoseconds per operation, measured in C (thread CPU time) ---- */
double zkagg_bench_fr_mul(size_t iters);
double zkagg_bench_g1_add(size_t iters);      /* Jacobian + Jacobian */
double zkagg_bench_g1_add_mixed(size_t iters);
double zkagg_bench_chacha20(size_t n_blocks);  /* per 64-byte keystream block, kernel in use */
double zkagg_bench_prg_fr(size_t n);           /* per stream element, one thread */

/* ---- KZG and the v2 chunk statement: polynomial kernels (native/src/kzg.c) ----
 * Polynomials are canonical F_r coefficient arrays, lowest degree first; z is one canonical
 * element; outputs canonical. NOT constant-time (public aggregates and points only).
 * zkagg_fr_horner:        out = sum_{i < n} coeffs[i] z^i (n = 0 gives 0).
 * zkagg_fr_horner_chunks: out[j] = sum_i coeffs[j L + i] z^i over the consecutive chunks of
 *                         chunk_len = L elements (the last one may be shorter), ceil(n / L)
 *                         results; threads across chunks. ZKAGG_ERR_ARG if L = 0.
 * zkagg_fr_divide_linear: coeffs = quotient * (X - z) + value: the n - 1 quotient coefficients
 *                         and the value at z (synthetic division). ZKAGG_ERR_ARG if n = 0. */
void zkagg_fr_horner(uint64_t *out, const uint64_t *coeffs, size_t n, const uint64_t *z);
int zkagg_fr_horner_chunks(uint64_t *out, const uint64_t *coeffs, size_t n, size_t chunk_len,
                           const uint64_t *z);
int zkagg_fr_divide_linear(uint64_t *quotient, uint64_t *value, const uint64_t *coeffs, size_t n,
                           const uint64_t *z);
/* zkagg_fr_horner_trace: the witness of the v2 chunk circuit's Horner blocks
 * (circuits/chunk_v2.py): coeffs zero-padded to whole blocks of `block` elements, blocks taken
 * from the top one down, the running value A starting at 0; per block, for i = block-1 .. 0,
 * out gets A z (then A <- A z + coeffs[k block + i]). ceil(n / block) * block outputs.
 * ZKAGG_ERR_ARG if block = 0. */
int zkagg_fr_horner_trace(uint64_t *out, const uint64_t *coeffs, size_t n, size_t block, const uint64_t *z);

/* ---- powers of tau (native/src/ptau.c) ---- */
/* BLAKE2b compression of n_blocks 128-byte blocks into the state h[8]; block i is compressed with
 * the byte counter counter + 128 * (i + 1) and, when `last` is set, the last one as the final
 * block (a short final block is zero-padded by the caller and passes its true counter this way
 * minus its padding: the caller then uses n_blocks = 1 and counter = total - 128). Public data. */
void zkagg_blake2b_compress(uint64_t *h, const uint8_t *blocks, size_t n_blocks, uint64_t counter,
                            int last);
/* First index of a G2 point (Montgomery affine, as zkagg_g2_check takes) that is not on the twist,
 * or -1; no subgroup check (the caller checks the subgroup by random combinations). */
int64_t zkagg_g2_check_on_curve(const uint64_t *p, size_t n);
/* out[i] = k[i] p[i] on G1 for PUBLIC scalars given split by the GLV endomorphism: k = k1 + k2
 * lambda mod r, k1 and k2 as magnitudes below 2^128 (4 limbs each) with neg[i] bit 0 / bit 1 set
 * when k1 / k2 is negative (zkagg/ceremony/glv.py). Montgomery affine points. NOT constant-time. */
void zkagg_g1_mul_glv(uint64_t *out, const uint64_t *p, const uint64_t *k1, const uint64_t *k2,
                      const uint8_t *neg, size_t n);
/* out[i] = k[i] p[i] on G2 for PUBLIC scalars split as k = k1 + k2 (q - r), k2 = floor(k / (q - r))
 * (the endomorphism psi acts as q - r on G2), both below 2^128. NOT constant-time. */
void zkagg_g2_mul_psi(uint64_t *out, const uint64_t *p, const uint64_t *k1, const uint64_t *k2, size_t n);

#endif
