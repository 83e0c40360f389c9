/* The optimal ate pairing of BN254 and pairing-product checks (see zkagg.h).
 *
 *   e(P, Q) = ( f_(6x+2, Q)(P) * l_(T, pi(Q))(P) * l_(T + pi(Q), -pi^2(Q))(P) )^((q^12 - 1) / r)
 *
 * with x = 4965661367192848881 the BN seed, T = [6x+2] Q, pi the q-power Frobenius carried to
 * the twist, and l the lines through the named points (Vercauteren, "Optimal pairings", 2010).
 * The Miller loop runs over the signed (NAF) digits of 6x+2 (66 digits, 22 nonzero: 65 doublings
 * and 21 additions) and is one multi-Miller loop over all pairs: a single accumulator f, squared
 * once per digit, absorbs the lines of every pair. The tower and its formulas are in fq12.h.
 *
 * Points: P in G1 affine; Q on the D-type sextic twist E': y^2 = x^3 + 3/xi (xi = 9 + u),
 * untwisted into E(F_q12) as (x w^2, y w^3). T is kept in homogeneous projective coordinates
 * (x = X/Z, y = Y/Z). A line through points of the twist, evaluated at P, has the shape
 * l0 + l1 w + l3 w^3 with l0 a multiple of y_P and l1 a multiple of x_P; factors in a proper
 * subfield are dropped since the final exponentiation maps them to 1 (Aranha, Karabina, Longa,
 * Gebotys, Lopez, "Faster explicit formulas for computing pairings over ordinary curves", 2011):
 *   doubling:  l = (-2YZ y_P) + (3X^2 x_P) w + (3b'Z^2 - Y^2) w^3
 *   addition of an affine (x2, y2): with theta = Y - y2 Z, lambda = X - x2 Z,
 *              l = (-lambda y_P) + (theta x_P) w + (lambda y2 - theta x2) w^3
 *
 * Final exponentiation: the easy part f^((q^6 - 1)(q^2 + 1)) with one inversion and Frobenius
 * maps, then the hard part (q^4 - q^2 + 1)/r = l0 + l1 q + l2 q^2 + q^3 with l0, l1, l2
 * polynomials in x, by the addition chain of Scott, Benger, Charlemagne, Dominguez Perez,
 * Kachisa, "On the final exponentiation for calculating pairings on ordinary elliptic curves"
 * (2009): three exponentiations by x with Granger-Scott cyclotomic squarings, then 13
 * multiplications and 4 squarings. It computes exactly f^((q^12 - 1)/r) (the tests compare with
 * the plain exponentiation), so zkagg_pairing agrees with py-ecc's pairing.
 *
 * Preconditions: points on their curves and Q in the order-r subgroup (zkagg.bn254 validates
 * every point it builds); then no Miller-loop step meets T = +-Q or T = infinity, which the
 * formulas do not handle. Nothing here is constant-time: the pairing inputs are public. */
#include <stdlib.h>

#include "field.h"
#include "fq12.h"
#include "parallel.h"
#include "zkagg.h"

#define PAIRING_X 0x44e992b44a6909f1ULL /* the BN seed x = 4965661367192848881 */
#define PAIRING_NAF_MAX 68
#define PAIRING_STACK_PAIRS 8 /* pairs held on the stack; more are allocated */
/* Pairs per thread chunk, at least. A pair's Miller loop costs ~0.4 ms; a 4-pair check (a
 * Groth16 verification) measured 1.5-2.5x SLOWER on 2 threads than on 1 on the shared 2-core
 * machine, where the second thread waits for a time slice, so small checks stay on one. */
#define PAIRING_CHUNK_MIN 4

/* 3 b' = 9 / (9 + u), the doubling constant of the twist (Montgomery form, c0 then c1) */
static const uint64_t PAIRING_B3[8] = {0x3baa927cb62e0d6aULL, 0xd71e7c52d1b664fdULL,
                                       0x03873e63d95d4664ULL, 0x0e75b5b1082ab8f4ULL,
                                       0xaab7c6667596fe35ULL, 0x31d21a78bb6a27baULL,
                                       0x85dd7297680401ffULL, 0x03c52d6adf39a7e9ULL};

/* signed binary digits (NAF) of n, least significant first; returns the number of digits */
static int pairing_naf(int8_t d[PAIRING_NAF_MAX], u128 n) {
    int len = 0;
    while (n) {
        int8_t z = 0;
        if (n & 1) {
            z = (int8_t)(2 - (int)(n & 3)); /* +1 or -1, leaving n divisible by 4 */
            n = z > 0 ? n - 1 : n + 1;
        }
        d[len++] = z;
        n >>= 1;
    }
    return len;
}

/* per pair: the running point T, Q, and the terms of P the lines use */
typedef struct {
    fe2 x, y, z;     /* T, homogeneous projective */
    fe2 qx, qy, nqy; /* Q = (qx, qy) and -Q = (qx, nqy), affine */
    fe xp, xp3, nyp; /* x_P, 3 x_P, -y_P */
} pairing_pair;

/* T = 2T and f *= the tangent line at T, evaluated at P. The point formulas are those of
 * Aranha et al. with X3, Y3, Z3 all scaled by 4 (homogeneous), which removes the halvings:
 *   X3 = 2XY (B - F), Y3 = (B + F)^2 - 12 E^2, Z3 = 4 B H
 * with B = Y^2, C = Z^2, E = 3b'C, F = 3E, H = (Y + Z)^2 - B - C = 2YZ. */
static void pairing_dbl_step(fe12 f, pairing_pair *s) {
    fe2 A, B, C, E, F, H, t, l0, l1, l3;
    fq2_mul(A, s->x, s->y);
    fq2_sqr(B, s->y);
    fq2_sqr(C, s->z);
    fq2_mul(E, C, PAIRING_B3);
    fq2_dbl(F, E);
    fq2_add(F, F, E);
    fq2_add(H, s->y, s->z);
    fq2_sqr(H, H);
    fq2_sub(H, H, B);
    fq2_sub(H, H, C);
    /* line: (-H y_P, 3 X^2 x_P, E - B) */
    fq2_mul_fq(l0, H, s->nyp);
    fq2_sqr(t, s->x);
    fq2_mul_fq(l1, t, s->xp3);
    fq2_sub(l3, E, B);
    /* point */
    fq2_sub(t, B, F);
    fq2_mul(s->x, A, t);
    fq2_dbl(s->x, s->x);
    fq2_add(t, B, F);
    fq2_sqr(t, t);
    fq2_sqr(E, E);
    fq2_dbl(C, E);
    fq2_add(C, C, E);
    fq2_dbl(C, C);
    fq2_dbl(C, C); /* 12 E^2 */
    fq2_sub(s->y, t, C);
    fq2_mul(s->z, B, H);
    fq2_dbl(s->z, s->z);
    fq2_dbl(s->z, s->z);
    fq12_mul_line(f, f, l0, l1, l3);
}

/* T = T + (x2, y2) and f *= the line through them, evaluated at P (Aranha et al. mixed
 * addition): C = theta^2, D = lambda^2, E = lambda^3, F = Z C, G = X D, H = E + F - 2G,
 * X3 = lambda H, Y3 = theta (G - H) - Y E, Z3 = Z E. T != +-(x2, y2) by the preconditions. */
static void pairing_add_step(fe12 f, pairing_pair *s, const fe2 x2, const fe2 y2) {
    fe2 th, la, C, D, E, F, G, H, t, l0, l1, l3;
    fq2_mul(th, y2, s->z);
    fq2_sub(th, s->y, th);
    fq2_mul(la, x2, s->z);
    fq2_sub(la, s->x, la);
    /* line: (-lambda y_P, theta x_P, lambda y2 - theta x2) */
    fq2_mul_fq(l0, la, s->nyp);
    fq2_mul_fq(l1, th, s->xp);
    fq2_mul(l3, la, y2);
    fq2_mul(t, th, x2);
    fq2_sub(l3, l3, t);
    /* point */
    fq2_sqr(C, th);
    fq2_sqr(D, la);
    fq2_mul(E, D, la);
    fq2_mul(F, s->z, C);
    fq2_mul(G, s->x, D);
    fq2_add(H, E, F);
    fq2_sub(H, H, G);
    fq2_sub(H, H, G);
    fq2_mul(s->x, la, H);
    fq2_sub(t, G, H);
    fq2_mul(t, th, t);
    fq2_mul(s->y, s->y, E);
    fq2_sub(s->y, t, s->y);
    fq2_mul(s->z, s->z, E);
    fq12_mul_line(f, f, l0, l1, l3);
}

/* f = prod over the m pairs of the Miller value f_(6x+2, Q)(P) times the two final lines. */
static void pairing_miller(fe12 f, pairing_pair *s, size_t m) {
    int8_t d[PAIRING_NAF_MAX];
    int len = pairing_naf(d, 6 * (u128)PAIRING_X + 2);
    fq12_one(f);
    for (int i = len - 2; i >= 0; i--) {
        if (i != len - 2) fq12_sqr(f, f);
        for (size_t j = 0; j < m; j++) {
            pairing_dbl_step(f, &s[j]);
            if (d[i] > 0) {
                pairing_add_step(f, &s[j], s[j].qx, s[j].qy);
            } else if (d[i] < 0) {
                pairing_add_step(f, &s[j], s[j].qx, s[j].nqy);
            }
        }
    }
    for (size_t j = 0; j < m; j++) {
        /* pi(Q) = (conj(x) gamma_(1,2), conj(y) gamma_(1,3)); -pi^2(Q) = (x gamma_(2,2), y) */
        fe2 x1, y1, x2;
        fq6_fq2_conj(x1, s[j].qx);
        fq2_mul(x1, x1, FQ12_FROB1[1]);
        fq6_fq2_conj(y1, s[j].qy);
        fq2_mul(y1, y1, FQ12_FROB1[2]);
        fq2_mul_fq(x2, s[j].qx, FQ12_FROB2[1]);
        pairing_add_step(f, &s[j], x1, y1);
        pairing_add_step(f, &s[j], x2, s[j].qy); /* the point it leaves in T is not needed */
    }
}

/* o = a^x in the cyclotomic subgroup, over the NAF of x (a^-1 = conj(a) there) */
static void pairing_cyc_exp_x(fe12 o, const fe12 a) {
    int8_t d[PAIRING_NAF_MAX];
    int len = pairing_naf(d, PAIRING_X);
    fe12 r, ac;
    fq12_conj(ac, a);
    fq12_copy(r, a); /* the top digit is 1 */
    for (int i = len - 2; i >= 0; i--) {
        fq12_cyc_sqr(r, r);
        if (d[i] > 0) {
            fq12_mul(r, r, a);
        } else if (d[i] < 0) {
            fq12_mul(r, r, ac);
        }
    }
    fq12_copy(o, r);
}

/* o = f^((q^12 - 1) / r) */
static void pairing_final_exp(fe12 o, const fe12 f) {
    fe12 m, t, fx, fx2, fx3, y0, y1, y2, y3, y4, y5, y6, t0, t1;
    /* easy part: m = f^((q^6 - 1)(q^2 + 1)), then in the cyclotomic subgroup */
    fq12_inv(t, f);
    fq12_conj(m, f);
    fq12_mul(m, m, t);
    fq12_frob(t, m, 2);
    fq12_mul(m, t, m);
    /* hard part (Scott et al. 2009, section 5): with m^x, m^(x^2), m^(x^3),
     *   y0 = m^q m^(q^2) m^(q^3), y1 = 1/m, y2 = (m^(x^2))^(q^2), y3 = 1/(m^x)^q,
     *   y4 = 1/(m^x (m^(x^2))^q), y5 = 1/m^(x^2), y6 = 1/(m^(x^3) (m^(x^3))^q),
     *   result = y0 y1^2 y2^6 y3^12 y4^18 y5^30 y6^36, evaluated by the chain below */
    pairing_cyc_exp_x(fx, m);
    pairing_cyc_exp_x(fx2, fx);
    pairing_cyc_exp_x(fx3, fx2);
    fq12_frob(y0, m, 1);
    fq12_frob(t, m, 2);
    fq12_mul(y0, y0, t);
    fq12_frob(t, m, 3);
    fq12_mul(y0, y0, t);
    fq12_conj(y1, m);
    fq12_frob(y2, fx2, 2);
    fq12_frob(y3, fx, 1);
    fq12_conj(y3, y3);
    fq12_frob(y4, fx2, 1);
    fq12_mul(y4, y4, fx);
    fq12_conj(y4, y4);
    fq12_conj(y5, fx2);
    fq12_frob(y6, fx3, 1);
    fq12_mul(y6, y6, fx3);
    fq12_conj(y6, y6);
    fq12_cyc_sqr(t0, y6);
    fq12_mul(t0, t0, y4);
    fq12_mul(t0, t0, y5);
    fq12_mul(t1, y3, y5);
    fq12_mul(t1, t1, t0);
    fq12_mul(t0, t0, y2);
    fq12_cyc_sqr(t1, t1);
    fq12_mul(t1, t1, t0);
    fq12_cyc_sqr(t1, t1);
    fq12_mul(t0, t1, y1);
    fq12_mul(t1, t1, y0);
    fq12_cyc_sqr(t0, t0);
    fq12_mul(o, t0, t1);
}

/* ---- pairs, chunks and threads ---- */

/* The pairs without a point at infinity, set up for the Miller loop; returns their number. */
static size_t pairing_setup(pairing_pair *s, const uint64_t *g1, const uint64_t *g2, size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const uint64_t *p = g1 + 8 * i, *q = g2 + 16 * i;
        int p_inf = fe_is_zero(p) && fe_is_zero(p + 4);
        int q_inf = fq2_is_zero(q) && fq2_is_zero(q + 8);
        if (p_inf || q_inf) continue;
        pairing_pair *t = &s[m++];
        fq2_copy(t->qx, q);
        fq2_copy(t->qy, q + 8);
        fq2_neg(t->nqy, q + 8);
        fq2_copy(t->x, q);
        fq2_copy(t->y, q + 8);
        fq2_one(t->z);
        fe_copy(t->xp, p);
        fq_dbl(t->xp3, p);
        fq_add(t->xp3, t->xp3, p);
        fq_neg(t->nyp, p + 4);
    }
    return m;
}

typedef struct {
    pairing_pair *s;
    size_t m, chunks;
    fe12 *f; /* one Miller product per chunk */
} pairing_ctx;

static void pairing_chunk(void *vctx, size_t item) {
    pairing_ctx *x = vctx;
    size_t j0 = item * x->m / x->chunks, j1 = (item + 1) * x->m / x->chunks;
    pairing_miller(x->f[item], x->s + j0, j1 - j0);
}

/* f = prod_i e(P_i, Q_i), or only the product of the Miller values when !final_exp. With
 * several threads and at least 2 PAIRING_CHUNK_MIN pairs, the pairs are split into chunks, one
 * multi-Miller loop each (every chunk pays its own accumulator squarings), and the chunk
 * products are multiplied; the value does not depend on the split. */
static int pairing_product(fe12 f, const uint64_t *g1, const uint64_t *g2, size_t n,
                           int final_exp) {
    pairing_pair stack_pairs[PAIRING_STACK_PAIRS];
    pairing_pair *s = stack_pairs;
    if (n > PAIRING_STACK_PAIRS) {
        s = malloc(n * sizeof(pairing_pair));
        if (!s) return ZKAGG_ERR_ALLOC;
    }
    size_t m = pairing_setup(s, g1, g2, n);
    if (m == 0) {
        fq12_one(f);
    } else {
        int threads = zk_threads();
        size_t chunks = threads > 1 ? (size_t)threads : 1;
        if (chunks > m / PAIRING_CHUNK_MIN) chunks = m / PAIRING_CHUNK_MIN;
        if (chunks < 1) chunks = 1;
        if (chunks > 64) chunks = 64;
        fe12 parts[64];
        pairing_ctx x = {s, m, chunks, parts};
        if (chunks > 1) {
            (void)zk_parallel_for(chunks, pairing_chunk, &x); /* completes every chunk */
        } else {
            pairing_chunk(&x, 0);
        }
        fq12_copy(f, parts[0]);
        for (size_t c = 1; c < chunks; c++) fq12_mul(f, f, parts[c]);
        if (final_exp) pairing_final_exp(f, f);
    }
    if (s != stack_pairs) free(s);
    return ZKAGG_OK;
}

int zkagg_pairing_check(const uint64_t *g1, const uint64_t *g2, size_t n) {
    fe12 f;
    int rc = pairing_product(f, g1, g2, n, 1);
    if (rc != ZKAGG_OK) return rc;
    return fq12_is_one(f);
}

int zkagg_pairing(uint64_t *out, const uint64_t *g1, const uint64_t *g2, size_t n, int final_exp) {
    fe12 f;
    int rc = pairing_product(f, g1, g2, n, final_exp);
    if (rc != ZKAGG_OK) return rc;
    for (int i = 0; i < 12; i++) fq_from_mont(out + 4 * i, f + 4 * i);
    return ZKAGG_OK;
}
