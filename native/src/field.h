/* Internal: Montgomery arithmetic on 4x64-bit limbs for the two BN254 prime fields, and F_q2.
 * Everything is static inline so the curve, MSM and NTT code get it inlined with the modulus as
 * a compile-time constant. Values are kept fully reduced in [0, p).
 * add/sub/neg/mul are branch-free (CT); inverse and pow branch on the (public) exponent only. */
#ifndef ZKAGG_FIELD_H
#define ZKAGG_FIELD_H
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef uint64_t fe[4];
typedef uint64_t fe2[8]; /* c0 (4 limbs), c1 (4 limbs): c0 + c1*u, u^2 = -1 */

static const uint64_t FR_P[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL,
                                 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
static const uint64_t FR_ONE[4] = {0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL,
                                   0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL};
static const uint64_t FR_R2[4] = {0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL,
                                  0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL};
#define FR_INV 0xc2e1f593efffffffULL

static const uint64_t FQ_P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL,
                                 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
static const uint64_t FQ_ONE[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL,
                                   0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL};
static const uint64_t FQ_R2[4] = {0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL,
                                  0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL};
#define FQ_INV 0x87d20782e4866389ULL

static inline void fe_copy(fe o, const fe a) { memcpy(o, a, 32); }
static inline void fe_zero(fe o) { memset(o, 0, 32); }
static inline int fe_is_zero(const fe a) { return (a[0] | a[1] | a[2] | a[3]) == 0; }
static inline int fe_eq(const fe a, const fe b) {
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}
/* a < p as integers */
static inline int fe_lt(const fe a, const uint64_t *p) {
    for (int i = 3; i >= 0; i--) {
        if (a[i] != p[i]) return a[i] < p[i];
    }
    return 0;
}

static inline void mod_add(fe o, const fe a, const fe b, const uint64_t *p) {
    /* scalar limbs (no arrays): gcc otherwise vectorizes the select through the stack */
    uint64_t s0, s1, s2, s3, t0, t1, t2, t3;
    unsigned char c;
    c = __builtin_add_overflow(a[0], b[0], &s0);
    uint64_t x1 = a[1] + b[1], x2 = a[2] + b[2], x3 = a[3] + b[3];
    unsigned char c1 = x1 < a[1]; s1 = x1 + c; c = c1 | (s1 < x1);
    unsigned char c2 = x2 < a[2]; s2 = x2 + c; c = c2 | (s2 < x2);
    s3 = x3 + c; /* p < 2^254: no carry out */
    unsigned char br;
    br = __builtin_sub_overflow(s0, p[0], &t0);
    uint64_t y1 = s1 - p[1]; unsigned char b1 = s1 < p[1]; t1 = y1 - br; br = b1 | (y1 < br);
    uint64_t y2 = s2 - p[2]; unsigned char b2 = s2 < p[2]; t2 = y2 - br; br = b2 | (y2 < br);
    uint64_t y3 = s3 - p[3]; unsigned char b3 = s3 < p[3]; t3 = y3 - br; br = b3 | (y3 < br);
    uint64_t keep = -(uint64_t)br;
    o[0] = (s0 & keep) | (t0 & ~keep);
    o[1] = (s1 & keep) | (t1 & ~keep);
    o[2] = (s2 & keep) | (t2 & ~keep);
    o[3] = (s3 & keep) | (t3 & ~keep);
}

static inline void mod_sub(fe o, const fe a, const fe b, const uint64_t *p) {
    uint64_t d0, d1, d2, d3;
    unsigned char br = __builtin_sub_overflow(a[0], b[0], &d0);
    uint64_t y1 = a[1] - b[1]; unsigned char b1 = a[1] < b[1]; d1 = y1 - br; br = b1 | (y1 < br);
    uint64_t y2 = a[2] - b[2]; unsigned char b2 = a[2] < b[2]; d2 = y2 - br; br = b2 | (y2 < br);
    uint64_t y3 = a[3] - b[3]; unsigned char b3 = a[3] < b[3]; d3 = y3 - br; br = b3 | (y3 < br);
    uint64_t m = -(uint64_t)br;
    unsigned char c = __builtin_add_overflow(d0, p[0] & m, &d0);
    uint64_t x1 = d1 + (p[1] & m); unsigned char c1 = x1 < d1; d1 = x1 + c; c = c1 | (d1 < x1);
    uint64_t x2 = d2 + (p[2] & m); unsigned char c2 = x2 < d2; d2 = x2 + c; c = c2 | (d2 < x2);
    d3 = d3 + (p[3] & m) + c;
    o[0] = d0; o[1] = d1; o[2] = d2; o[3] = d3;
}

/* p - a for a != 0, 0 for a = 0: the difference masked, so no branch on a (subtracting from a
 * literal zero let gcc turn the borrow handling into a jump) */
static inline void mod_neg(fe o, const fe a, const uint64_t *p) {
    uint64_t nz = a[0] | a[1] | a[2] | a[3];
    uint64_t m = 0 - ((nz | (0 - nz)) >> 63); /* all ones iff a != 0 */
    uint64_t d0, d1, d2, d3;
    unsigned char br = __builtin_sub_overflow(p[0], a[0], &d0);
    uint64_t y1 = p[1] - a[1]; unsigned char b1 = p[1] < a[1]; d1 = y1 - br; br = b1 | (y1 < br);
    uint64_t y2 = p[2] - a[2]; unsigned char b2 = p[2] < a[2]; d2 = y2 - br; br = b2 | (y2 < br);
    d3 = p[3] - a[3] - br; /* a < p: no borrow out */
    o[0] = d0 & m; o[1] = d1 & m; o[2] = d2 & m; o[3] = d3 & m;
}

/* Portable CIOS Montgomery multiplication, "no-carry" variant: valid because the top limb of
 * both moduli is below 2^62, so the running value never needs a fifth limb. */
static inline void mont_mul_c(fe o, const fe a, const fe b, const uint64_t *p, uint64_t inv) {
    uint64_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        u128 c = (u128)a[0] * b[i] + t[0];
        t[0] = (uint64_t)c;
        uint64_t A = (uint64_t)(c >> 64);
        uint64_t m = t[0] * inv;
        c = (u128)m * p[0] + t[0];
        uint64_t C = (uint64_t)(c >> 64);
        for (int j = 1; j < 4; j++) {
            c = (u128)a[j] * b[i] + t[j] + A;
            t[j] = (uint64_t)c;
            A = (uint64_t)(c >> 64);
            c = (u128)m * p[j] + t[j] + C;
            t[j - 1] = (uint64_t)c;
            C = (uint64_t)(c >> 64);
        }
        t[3] = C + A;
    }
    uint64_t r[4], borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)t[i] - p[i] - borrow;
        r[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    uint64_t keep = -borrow;
    for (int i = 0; i < 4; i++) o[i] = (t[i] & keep) | (r[i] & ~keep);
}

/* t[0..7] = a * b (512 bits, no reduction) */
static inline void wide_mul_c(uint64_t *t, const fe a, const fe b) {
    u128 c = 0;
    for (int j = 0; j < 4; j++) {
        c = (u128)a[j] * b[0] + (uint64_t)(c >> 64);
        t[j] = (uint64_t)c;
    }
    t[4] = (uint64_t)(c >> 64);
    for (int i = 1; i < 4; i++) {
        uint64_t k = 0;
        for (int j = 0; j < 4; j++) {
            c = (u128)a[j] * b[i] + t[i + j] + k;
            t[i + j] = (uint64_t)c;
            k = (uint64_t)(c >> 64);
        }
        t[i + 4] = k;
    }
}

/* o = T / 2^256 mod p, canonical, for a 512-bit T < 3p 2^256 (p < 2^254) */
static inline void wide_redc_c(fe o, const uint64_t *t, const uint64_t *p, uint64_t inv) {
    uint64_t w[9];
    memcpy(w, t, 64);
    w[8] = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t m = w[i] * inv, k = 0;
        for (int j = 0; j < 4; j++) {
            u128 s = (u128)m * p[j] + w[i + j] + k;
            w[i + j] = (uint64_t)s;
            k = (uint64_t)(s >> 64);
        }
        for (int j = i + 4; j < 9; j++) { /* the whole carry chain: no branch on data */
            u128 s = (u128)w[j] + k;
            w[j] = (uint64_t)s;
            k = (uint64_t)(s >> 64);
        }
    }
    for (int r = 0; r < 2; r++) { /* the result is below 3p */
        uint64_t d[4], br = 0;
        for (int j = 0; j < 4; j++) {
            u128 s = (u128)w[4 + j] - p[j] - br;
            d[j] = (uint64_t)s;
            br = (uint64_t)(s >> 64) & 1;
        }
        /* keep d when there is no borrow out of the fifth limb (it fit); masked, no branch */
        uint64_t keep = 0 - (uint64_t)(w[8] >= br);
        w[8] -= br & keep;
        for (int j = 0; j < 4; j++) w[4 + j] = (d[j] & keep) | (w[4 + j] & ~keep);
    }
    memcpy(o, w + 4, 32);
}

#if defined(ZKAGG_ASM) && ZKAGG_ASM
#include "field_asm.h" /* mont_mul_asm, mont_sqr_asm (the contract of mont_mul_c), wide_*_asm */
#define mont_mul mont_mul_asm
#define mont_sqr mont_sqr_asm
#define wide_mul wide_mul_asm
#define wide_redc wide_redc_asm
#else
#define mont_mul mont_mul_c
#define mont_sqr(o, a, p, inv) mont_mul_c(o, a, a, p, inv)
#define wide_mul wide_mul_c
#define wide_redc wide_redc_c
#endif

/* ---- named per-field operations ---- */
#define FIELD_OPS(F, P, INV, ONE, R2)                                                          \
    static inline void F##_add(fe o, const fe a, const fe b) { mod_add(o, a, b, P); }          \
    static inline void F##_sub(fe o, const fe a, const fe b) { mod_sub(o, a, b, P); }          \
    static inline void F##_neg(fe o, const fe a) { mod_neg(o, a, P); }                         \
    static inline void F##_dbl(fe o, const fe a) { mod_add(o, a, a, P); }                      \
    static inline void F##_mul(fe o, const fe a, const fe b) { mont_mul(o, a, b, P, INV); }    \
    static inline void F##_sqr(fe o, const fe a) { mont_sqr(o, a, P, INV); }                   \
    static inline void F##_to_mont(fe o, const fe a) { mont_mul(o, a, R2, P, INV); }           \
    static inline void F##_from_mont(fe o, const fe a) {                                       \
        static const uint64_t one[4] = {1, 0, 0, 0};                                           \
        mont_mul(o, a, one, P, INV);                                                           \
    }                                                                                          \
    static inline void F##_one(fe o) { fe_copy(o, ONE); }                                      \
    static inline int F##_is_one(const fe a) { return fe_eq(a, ONE); }                         \
    /* a^e, e a 4-limb canonical exponent (public) */                                          \
    static inline void F##_pow(fe o, const fe a, const uint64_t *e) {                          \
        fe acc, base;                                                                          \
        fe_copy(acc, ONE);                                                                     \
        fe_copy(base, a);                                                                      \
        for (int i = 255; i >= 0; i--) {                                                       \
            F##_sqr(acc, acc);                                                                 \
            if ((e[i / 64] >> (i % 64)) & 1) F##_mul(acc, acc, base);                          \
        }                                                                                      \
        fe_copy(o, acc);                                                                       \
    }                                                                                          \
    /* Fermat inverse; the inverse of 0 is 0 */                                                \
    static inline void F##_inv(fe o, const fe a) {                                             \
        uint64_t e[4] = {P[0] - 2, P[1], P[2], P[3]};                                          \
        F##_pow(o, a, e);                                                                      \
    }

FIELD_OPS(fr, FR_P, FR_INV, FR_ONE, FR_R2)
FIELD_OPS(fq, FQ_P, FQ_INV, FQ_ONE, FQ_R2)

/* ---- variable-time F_q inverse (public values only: the MSM's batch inversions) ----
 * Binary GCD on approximations (after T. Pornin, "Optimized binary GCD for modular inversion",
 * 2020): each outer step runs 31 divsteps on 64-bit words holding the low 31 and the top 33
 * bits of a and b (exact when both fit in 64 bits), collects them in factors f, g, applies
 * those to the full values, (a, b) <- ((f0 a + g0 b) / 2^31, (f1 a + g1 b) / 2^31), negating
 * where the approximate comparisons went wrong, and to (u, v) with an exact division by 2^31
 * mod q, so that a = u y and b = v y (mod q) throughout. When a reaches 0, b = gcd = 1 and
 * v = 1/y. Should that not happen within the step budget, Fermat's inverse is the fallback. */
#define FQ_MINV31 0x64866389ULL /* -q^-1 mod 2^31 */
static const uint64_t FQ_R3[4] = {0xb1cd6dafda1530dfULL, 0x62f210e6a7283db6ULL,
                                  0xef7f0b0c0ada0afbULL, 0x20fd6e902d592544ULL}; /* R^3 mod q */

/* r = (a f + b g) (five limbs, two's complement) for a, b < 2^256, |f|, |g| <= 2^31 */
static inline void inv_lin(uint64_t r[5], const uint64_t *a, const uint64_t *b, int64_t f, int64_t g) {
    __int128 acc = 0;
    for (int i = 0; i < 4; i++) {
        acc += (__int128)a[i] * f + (__int128)b[i] * g;
        r[i] = (uint64_t)acc;
        acc >>= 64; /* arithmetic */
    }
    r[4] = (uint64_t)acc;
}

/* r = r >> 31 (arithmetic); returns 1 if the result was negative, after negating it */
static inline int inv_shift31_abs(uint64_t r[5]) {
    for (int i = 0; i < 4; i++) r[i] = (r[i] >> 31) | (r[i + 1] << 33);
    r[4] = (uint64_t)((int64_t)r[4] >> 31);
    if ((int64_t)r[4] >= 0) return 0;
    unsigned char c = 1;
    for (int i = 0; i < 5; i++) c = __builtin_add_overflow(~r[i], (uint64_t)c, &r[i]);
    return 1;
}

/* u' = (u f + v g) / 2^31 mod q, canonical, for u, v < q */
static inline void inv_uv(uint64_t out[4], const uint64_t *u, const uint64_t *v, int64_t f, int64_t g) {
    uint64_t w[5];
    inv_lin(w, u, v, f, g);
    uint64_t k = (w[0] * FQ_MINV31) & 0x7fffffffULL; /* w + k q = 0 mod 2^31 */
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (u128)k * FQ_P[i] + w[i];
        w[i] = (uint64_t)c;
        c >>= 64;
    }
    w[4] += (uint64_t)c;
    for (int i = 0; i < 4; i++) w[i] = (w[i] >> 31) | (w[i + 1] << 33);
    w[4] = (uint64_t)((int64_t)w[4] >> 31); /* now in (-2q, 3q) */
    while ((int64_t)w[4] < 0) {
        unsigned char cc = 0;
        for (int i = 0; i < 4; i++) {
            unsigned long long x;
            unsigned char c1 = __builtin_add_overflow(w[i], FQ_P[i], &x);
            unsigned char c2 = __builtin_add_overflow(x, (unsigned long long)cc, &x);
            w[i] = x;
            cc = c1 | c2;
        }
        w[4] += cc;
    }
    for (;;) { /* subtract q while it fits */
        uint64_t d[5];
        unsigned char br = 0;
        for (int i = 0; i < 5; i++) {
            unsigned long long x;
            unsigned char b1 = __builtin_sub_overflow(w[i], i < 4 ? FQ_P[i] : 0, &x);
            unsigned char b2 = __builtin_sub_overflow(x, (unsigned long long)br, &x);
            d[i] = x;
            br = b1 | b2;
        }
        if (br) break;
        memcpy(w, d, sizeof d);
    }
    memcpy(out, w, 32);
}

static inline unsigned inv_bits(const uint64_t *a) { /* bit length of a 4-limb value */
    for (int i = 3; i >= 0; i--)
        if (a[i]) return 64 * (unsigned)i + 64 - (unsigned)__builtin_clzll(a[i]);
    return 0;
}

static inline uint64_t inv_approx(const uint64_t *a, unsigned n) { /* low 31 and top 33 bits at n */
    unsigned s = n - 33, l = s / 64, o = s % 64;
    uint64_t top = a[l] >> o;
    if (o > 31 && l < 3) top |= a[l + 1] << (64 - o);
    return (a[0] & 0x7fffffffULL) | (top & 0x1ffffffffULL) << 31;
}

/* o = 1 / a in Montgomery form (a Montgomery, a != 0; 0 gives 0). Not constant-time. */
static inline void fq_inv_vartime(fe o, const fe x) {
    uint64_t a[4], b[4], u[4] = {1, 0, 0, 0}, v[4] = {0, 0, 0, 0};
    fe_copy(a, x);
    fe_copy(b, FQ_P);
    for (int step = 0; step < 40; step++) {
        if (fe_is_zero(a)) {
            if (!(b[0] == 1 && (b[1] | b[2] | b[3]) == 0)) break; /* x = 0 */
            fq_mul(o, v, FQ_R3); /* v = 1 / (y R): times R^3 / R */
            return;
        }
        unsigned n = inv_bits(a), nb = inv_bits(b);
        if (nb > n) n = nb;
        if (n < 64) n = 64;
        uint64_t xa = n == 64 ? a[0] : inv_approx(a, n), xb = n == 64 ? b[0] : inv_approx(b, n);
        int64_t f0 = 1, g0 = 0, f1 = 0, g1 = 1;
        for (int j = 0; j < 31; j++) {
            uint64_t odd = -(xa & 1), sw = odd & -(uint64_t)(xa < xb), t;
            t = (xa ^ xb) & sw, xa ^= t, xb ^= t;
            int64_t tf = (f0 ^ f1) & (int64_t)sw, tg = (g0 ^ g1) & (int64_t)sw;
            f0 ^= tf, f1 ^= tf, g0 ^= tg, g1 ^= tg;
            xa -= xb & odd;
            f0 -= f1 & (int64_t)odd;
            g0 -= g1 & (int64_t)odd;
            xa >>= 1;
            f1 *= 2;
            g1 *= 2;
        }
        uint64_t na[5], nb5[5], nu[4], nv[4];
        inv_lin(na, a, b, f0, g0);
        inv_lin(nb5, a, b, f1, g1);
        if (inv_shift31_abs(na)) f0 = -f0, g0 = -g0;
        if (inv_shift31_abs(nb5)) f1 = -f1, g1 = -g1;
        inv_uv(nu, u, v, f0, g0);
        inv_uv(nv, u, v, f1, g1);
        memcpy(a, na, 32);
        memcpy(b, nb5, 32);
        memcpy(u, nu, 32);
        memcpy(v, nv, 32);
    }
    if (fe_is_zero(x)) {
        fe_zero(o);
        return;
    }
    fq_inv(o, x); /* not reached for valid inputs */
}

/* ---- F_q2 = F_q[u]/(u^2 + 1), Montgomery limbs ---- */
static inline void fq2_add(fe2 o, const fe2 a, const fe2 b) {
    fq_add(o, a, b);
    fq_add(o + 4, a + 4, b + 4);
}
static inline void fq2_sub(fe2 o, const fe2 a, const fe2 b) {
    fq_sub(o, a, b);
    fq_sub(o + 4, a + 4, b + 4);
}
static inline void fq2_neg(fe2 o, const fe2 a) {
    fq_neg(o, a);
    fq_neg(o + 4, a + 4);
}
static inline void fq2_dbl(fe2 o, const fe2 a) {
    fq_dbl(o, a);
    fq_dbl(o + 4, a + 4);
}
static inline int fq2_is_zero(const fe2 a) { return fe_is_zero(a) && fe_is_zero(a + 4); }
static inline int fq2_eq(const fe2 a, const fe2 b) { return fe_eq(a, b) && fe_eq(a + 4, b + 4); }
static inline void fq2_copy(fe2 o, const fe2 a) { memcpy(o, a, 64); }
static inline void fq2_zero(fe2 o) { memset(o, 0, 64); }
static inline void fq2_one(fe2 o) {
    fq_one(o);
    fe_zero(o + 4);
}
/* a + b as 256-bit integers (no reduction: below 2q < 2^255) */
static inline void fq_add_wide(fe o, const fe a, const fe b) {
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (u128)a[i] + b[i];
        o[i] = (uint64_t)c;
        c >>= 64;
    }
}

/* Karatsuba with lazy reduction: (a0 + a1 u)(b0 + b1 u) = a0b0 - a1b1 + (a0b1 + a1b0) u, with
 * a0b1 + a1b0 = (a0+a1)(b0+b1) - a0b0 - a1b1, on unreduced 512-bit products (q < 2^254 leaves
 * room for the unreduced sums) and two Montgomery reductions instead of three. a0b0 - a1b1 gets
 * q 2^256 added when negative, so both reductions take values below 2q 2^256. */
static inline void fq2_mul(fe2 o, const fe2 a, const fe2 b) {
    uint64_t t0[8], t1[8], s[8];
    fe sa, sb;
    wide_mul(t0, a, b);
    wide_mul(t1, a + 4, b + 4);
    fq_add_wide(sa, a, a + 4);
    fq_add_wide(sb, b, b + 4);
    wide_mul(s, sa, sb);
    unsigned char bs = 0, bd = 0;
    for (int i = 0; i < 8; i++) { /* s -= t0 + t1, t0 -= t1 */
        unsigned long long x, y;
        unsigned char b1 = __builtin_sub_overflow(s[i], t0[i], &x);
        unsigned char b2 = __builtin_sub_overflow(x, t1[i], &x);
        unsigned char b3 = __builtin_sub_overflow(x, (unsigned long long)bs, &x);
        s[i] = x;
        bs = (unsigned char)(b1 + b2 + b3);
        unsigned char d1 = __builtin_sub_overflow(t0[i], t1[i], &y);
        unsigned char d2 = __builtin_sub_overflow(y, (unsigned long long)bd, &y);
        t0[i] = y;
        bd = d1 | d2;
    }
    { /* if a0b0 < a1b1 (bd): add q 2^256, masked */
        const unsigned long long add = 0ULL - (unsigned long long)bd;
        unsigned char c = 0;
        for (int i = 0; i < 4; i++) {
            unsigned long long x;
            unsigned char c1 = __builtin_add_overflow(t0[4 + i], FQ_P[i] & add, &x);
            unsigned char c2 = __builtin_add_overflow(x, (unsigned long long)c, &x);
            t0[4 + i] = x;
            c = c1 | c2;
        }
    }
    wide_redc(o, t0, FQ_P, FQ_INV);
    wide_redc(o + 4, s, FQ_P, FQ_INV);
}
/* (a0 + a1 u)^2 = (a0+a1)(a0-a1) + 2 a0 a1 u (two products already: a lazy reduction does
 * not pay here) */
static inline void fq2_sqr(fe2 o, const fe2 a) {
    fe s, d, m;
    fq_add(s, a, a + 4);
    fq_sub(d, a, a + 4);
    fq_mul(m, a, a + 4);
    fq_mul(o, s, d);
    fq_dbl(o + 4, m);
}

/* multiply by an F_q element */
static inline void fq2_mul_fq(fe2 o, const fe2 a, const fe b) {
    fq_mul(o, a, b);
    fq_mul(o + 4, a + 4, b);
}
/* 1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2); the inverse of 0 is 0 */
static inline void fq2_inv(fe2 o, const fe2 a) {
    fe t0, t1;
    fq_sqr(t0, a);
    fq_sqr(t1, a + 4);
    fq_add(t0, t0, t1);
    fq_inv(t0, t0);
    fq_mul(o, a, t0);
    fq_neg(t0, t0);
    fq_mul(o + 4, a + 4, t0);
}

/* fq2_inv with the variable-time F_q inverse (public values only) */
static inline void fq2_inv_vartime(fe2 o, const fe2 a) {
    fe t0, t1;
    fq_sqr(t0, a);
    fq_sqr(t1, a + 4);
    fq_add(t0, t0, t1);
    fq_inv_vartime(t0, t0);
    fq_mul(o, a, t0);
    fq_neg(t0, t0);
    fq_mul(o + 4, a + 4, t0);
}

#endif
