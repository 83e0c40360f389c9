/* Powers-of-tau support: BLAKE2b compression (RFC 7693) for the resumable hash whose midstate a
 * snarkjs .ptau file records per contribution ("partial hash"). Public data only. */

#include <stdint.h>
#include <string.h>
#include "zkagg.h"

static const uint64_t ptau_blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t ptau_blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static inline uint64_t ptau_rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

#define PTAU_G(a, b, c, d, x, y)                 \
    do {                                         \
        v[a] = v[a] + v[b] + (x);                \
        v[d] = ptau_rotr64(v[d] ^ v[a], 32);     \
        v[c] = v[c] + v[d];                      \
        v[b] = ptau_rotr64(v[b] ^ v[c], 24);     \
        v[a] = v[a] + v[b] + (y);                \
        v[d] = ptau_rotr64(v[d] ^ v[a], 16);     \
        v[c] = v[c] + v[d];                      \
        v[b] = ptau_rotr64(v[b] ^ v[c], 63);     \
    } while (0)

static void ptau_blake2b_block(uint64_t h[8], const uint8_t *block, uint64_t counter, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; j--) w = (w << 8) | block[8 * i + j];
        m[i] = w;
    }
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = ptau_blake2b_iv[i];
    }
    v[12] ^= counter;  /* the high word of the 128-bit counter stays 0: inputs < 2^64 bytes */
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = ptau_blake2b_sigma[r];
        PTAU_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        PTAU_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        PTAU_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        PTAU_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        PTAU_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        PTAU_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        PTAU_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        PTAU_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

void zkagg_blake2b_compress(uint64_t *h, const uint8_t *blocks, size_t n_blocks, uint64_t counter,
                            int last) {
    for (size_t i = 0; i < n_blocks; i++) {
        counter += 128;
        ptau_blake2b_block(h, blocks + 128 * i, counter, last && i + 1 == n_blocks);
    }
}

/* ---- batched key loading: the cheap half of the G2 check ---- */

static int ptau_g2_on_twist(const uint64_t *p) { return g2_aff_is_inf(p) || g2_aff_on_curve(p); }

int64_t zkagg_g2_check_on_curve(const uint64_t *p, size_t n) {
    return g2_check_arrays(p, n, ptau_g2_on_twist, 64);
}

/* ---- G1 multiplication by PUBLIC scalars with the GLV endomorphism (not constant-time) ----
 * phi(x, y) = (beta x, y) = lambda (x, y) on G1, beta a cube root of unity in F_q and lambda
 * = 0xb3c4d79d41a917585bfc41088d8daaa78b17ea66b99c90dd one in F_r. The caller splits k = k1 +
 * k2 lambda mod r with |k1|, |k2| < 2^128 (zkagg/ceremony/glv.py) and passes |k1|, |k2| and
 * their signs (neg bit 0: k1 < 0, bit 1: k2 < 0); k P = k1 P + k2 phi(P) then takes 128
 * doublings shared by both halves instead of 254. For the public twiddles and coefficients of
 * phase 2 (group DFTs, query sums). */
static const uint64_t ptau_glv_beta[4] = {0x71930c11d782e155ULL, 0xa6bb947cffbe3323ULL,
                                          0xaa303344d4741444ULL, 0x2c3b3f0d26594943ULL};

static inline void ptau_glv_add_digit(g1_jac *r, const g1_jac *tab, int d) {
    g1_jac neg;
    if (d > 0) {
        g1_jac_add(r, r, &tab[d - 1]);
    } else if (d < 0) {
        g1_jac_neg(&neg, &tab[-d - 1]);
        g1_jac_add(r, r, &neg);
    }
}

static void ptau_glv_one(g1_jac *r, const uint64_t *p, const uint64_t *k1, const uint64_t *k2, uint8_t neg) {
    g1_jac t1[16], t2[16];
    int8_t d1[CURVE_W5_DIGITS], d2[CURVE_W5_DIGITS];
    uint64_t pa[8];
    g1_jac_set_inf(r);
    if (g1_aff_is_inf(p)) return;
    memcpy(pa, p, sizeof pa);
    if (neg & 1) fq_neg(pa + 4, p + 4);
    g1_jac_from_aff(&t1[0], pa);
    g1_jac_dbl(&t1[1], &t1[0]);
    for (int i = 2; i < 16; i++) g1_jac_madd(&t1[i], &t1[i - 1], pa);
    int flip = ((neg >> 1) ^ neg) & 1; /* phi(+-P) has k1's sign; k2 may want the other */
    for (int i = 0; i < 16; i++) {
        t2[i] = t1[i];
        fq_mul(t2[i].x, t1[i].x, ptau_glv_beta); /* (beta X : Y : Z) is phi in Jacobian too */
        if (flip) fq_neg(t2[i].y, t1[i].y);
    }
    curve_recode_w5(d1, k1);
    curve_recode_w5(d2, k2);
    int top = CURVE_W5_DIGITS - 1;
    while (top >= 0 && d1[top] == 0 && d2[top] == 0) top--;
    for (int j = top; j >= 0; j--) {
        if (j != top)
            for (int s = 0; s < 5; s++) g1_jac_dbl(r, r);
        ptau_glv_add_digit(r, t1, d1[j]);
        ptau_glv_add_digit(r, t2, d2[j]);
    }
}

typedef struct {
    uint64_t *out;
    const uint64_t *p, *k1, *k2;
    const uint8_t *neg;
    size_t n;
} ptau_glv_ctx;

static void ptau_glv_item(void *vctx, size_t item) {
    ptau_glv_ctx *x = vctx;
    g1_jac acc[CURVE_MUL_BLK];
    size_t i0 = item * CURVE_MUL_BLK, m = x->n - i0 < CURVE_MUL_BLK ? x->n - i0 : CURVE_MUL_BLK;
    for (size_t i = 0; i < m; i++)
        ptau_glv_one(&acc[i], x->p + 8 * (i0 + i), x->k1 + 4 * (i0 + i), x->k2 + 4 * (i0 + i), x->neg[i0 + i]);
    g1_jac_to_aff_block(x->out + 8 * i0, acc, m);
}

void zkagg_g1_mul_glv(uint64_t *out, const uint64_t *p, const uint64_t *k1, const uint64_t *k2,
                      const uint8_t *neg, size_t n) {
    ptau_glv_ctx x = {out, p, k1, k2, neg, n};
    curve_run((n + CURVE_MUL_BLK - 1) / CURVE_MUL_BLK, ptau_glv_item, &x, n >= 2);
}

/* ---- G2 multiplication by PUBLIC scalars with the untwist-Frobenius-twist endomorphism ----
 * psi(x, y) = (conj(x) gamma_(1,2), conj(y) gamma_(1,3)) (the pairing's pi(Q), pairing.c) acts
 * on G2 as multiplication by q mod r = q - r (about 2^127.8). The caller splits k = k1 + k2 (q - r)
 * with k2 = floor(k / (q - r)), both below 2^128 and non-negative; 128 shared doublings instead
 * of 254. In Jacobian coordinates psi is (conj(X) gamma_(1,2) : conj(Y) gamma_(1,3) : conj(Z)),
 * conjugation being a field automorphism. Not constant-time. */
static void ptau_psi_jac(g2_jac *r, const g2_jac *p) {
    fq6_fq2_conj(r->x, p->x);
    fq2_mul(r->x, r->x, FQ12_FROB1[1]);
    fq6_fq2_conj(r->y, p->y);
    fq2_mul(r->y, r->y, FQ12_FROB1[2]);
    fq6_fq2_conj(r->z, p->z);
}

static inline void ptau_gls_add_digit(g2_jac *r, const g2_jac *tab, int d) {
    g2_jac neg;
    if (d > 0) {
        g2_jac_add(r, r, &tab[d - 1]);
    } else if (d < 0) {
        g2_jac_neg(&neg, &tab[-d - 1]);
        g2_jac_add(r, r, &neg);
    }
}

static void ptau_gls_one(g2_jac *r, const uint64_t *p, const uint64_t *k1, const uint64_t *k2) {
    g2_jac t1[16], t2[16];
    int8_t d1[CURVE_W5_DIGITS], d2[CURVE_W5_DIGITS];
    g2_jac_set_inf(r);
    if (g2_aff_is_inf(p)) return;
    g2_jac_from_aff(&t1[0], p);
    g2_jac_dbl(&t1[1], &t1[0]);
    for (int i = 2; i < 16; i++) g2_jac_madd(&t1[i], &t1[i - 1], p);
    for (int i = 0; i < 16; i++) ptau_psi_jac(&t2[i], &t1[i]);
    curve_recode_w5(d1, k1);
    curve_recode_w5(d2, k2);
    int top = CURVE_W5_DIGITS - 1;
    while (top >= 0 && d1[top] == 0 && d2[top] == 0) top--;
    for (int j = top; j >= 0; j--) {
        if (j != top)
            for (int s = 0; s < 5; s++) g2_jac_dbl(r, r);
        ptau_gls_add_digit(r, t1, d1[j]);
        ptau_gls_add_digit(r, t2, d2[j]);
    }
}

typedef struct {
    uint64_t *out;
    const uint64_t *p, *k1, *k2;
    size_t n;
} ptau_gls_ctx;

static void ptau_gls_item(void *vctx, size_t item) {
    ptau_gls_ctx *x = vctx;
    g2_jac acc[CURVE_MUL_BLK];
    size_t i0 = item * CURVE_MUL_BLK, m = x->n - i0 < CURVE_MUL_BLK ? x->n - i0 : CURVE_MUL_BLK;
    for (size_t i = 0; i < m; i++)
        ptau_gls_one(&acc[i], x->p + 16 * (i0 + i), x->k1 + 4 * (i0 + i), x->k2 + 4 * (i0 + i));
    g2_jac_to_aff_block(x->out + 16 * i0, acc, m);
}

void zkagg_g2_mul_psi(uint64_t *out, const uint64_t *p, const uint64_t *k1, const uint64_t *k2, size_t n) {
    ptau_gls_ctx x = {out, p, k1, k2, n};
    curve_run((n + CURVE_MUL_BLK - 1) / CURVE_MUL_BLK, ptau_gls_item, &x, n >= 2);
}
