/* Internal template (no include guard, instantiated by g1.h over F_q and by g2.h over F_q2):
 * point arithmetic on y^2 = x^3 + b (a = 0) and the exported-array kernels built on it.
 *
 * The includer defines
 *   CV                          name prefix (g1, g2): every name here becomes CV_name
 *   FE_T, NL                    coordinate type and its number of 64-bit limbs
 *   F_ADD F_SUB F_NEG F_DBL F_MUL F_SQR F_INV F_ONE F_ZERO F_COPY F_IS_ZERO F_EQ
 *   CV_B                        the curve constant b (Montgomery form)
 * and undefines them afterwards (curve_undef.h).
 *
 * Representations: affine points are raw limb arrays (x then y, 2*NL limbs, infinity = all zero),
 * as in the public API; Jacobian (x = X/Z^2, y = Y/Z^3, infinity Z = 0) serves scalar
 * multiplication; XYZZ (x = X/ZZ, y = Y/ZZZ, infinity ZZ = 0) serves the MSM sums and the
 * buckets of small MSMs, where its cheaper mixed addition pays. The formulas are the a = 0 cases of the Explicit-Formulas
 * Database ones named below. None of this is constant-time: branches on infinity / P == Q. */

#define CV_(name) CURVE_CAT(CV, name)
#define PN (2 * NL) /* limbs per affine point */

typedef struct {
    FE_T x, y, z;
} CV_(jac);

typedef struct {
    FE_T x, y, zz, zzz;
} CV_(xyzz);

/* ---- affine ---- */
static inline int CV_(aff_is_inf)(const uint64_t *p) { return F_IS_ZERO(p) && F_IS_ZERO(p + NL); }

static inline int CV_(aff_on_curve)(const uint64_t *p) {
    if (CV_(aff_is_inf)(p)) return 1;
    FE_T l, r;
    F_SQR(l, p + NL);
    F_SQR(r, p);
    F_MUL(r, r, p);
    F_ADD(r, r, CV_B);
    return F_EQ(l, r);
}

/* ---- Jacobian ---- */
static inline void CV_(jac_set_inf)(CV_(jac) *r) {
    F_ONE(r->x);
    F_ONE(r->y);
    F_ZERO(r->z);
}
static inline int CV_(jac_is_inf)(const CV_(jac) *p) { return F_IS_ZERO(p->z); }

static inline void CV_(jac_from_aff)(CV_(jac) *r, const uint64_t *p) {
    if (CV_(aff_is_inf)(p)) {
        CV_(jac_set_inf)(r);
        return;
    }
    F_COPY(r->x, p);
    F_COPY(r->y, p + NL);
    F_ONE(r->z);
}

/* dbl-2009-l: 2M + 5S */
static inline void CV_(jac_dbl)(CV_(jac) *r, const CV_(jac) *p) {
    if (CV_(jac_is_inf)(p)) {
        *r = *p;
        return;
    }
    FE_T A, B, C, D, E, F;
    F_SQR(A, p->x);
    F_SQR(B, p->y);
    F_SQR(C, B);
    F_ADD(D, p->x, B);
    F_SQR(D, D);
    F_SUB(D, D, A);
    F_SUB(D, D, C);
    F_DBL(D, D);
    F_DBL(E, A);
    F_ADD(E, E, A);
    F_SQR(F, E);
    F_MUL(r->z, p->y, p->z); /* before r->y is written: r may alias p */
    F_DBL(r->z, r->z);
    F_SUB(r->x, F, D);
    F_SUB(r->x, r->x, D);
    F_SUB(D, D, r->x);
    F_MUL(r->y, E, D);
    F_DBL(C, C);
    F_DBL(C, C);
    F_DBL(C, C);
    F_SUB(r->y, r->y, C);
}

/* add-2007-bl: 11M + 5S; handles infinity, P == Q (doubles) and P == -Q (infinity) */
static inline void CV_(jac_add)(CV_(jac) *r, const CV_(jac) *p, const CV_(jac) *q) {
    if (CV_(jac_is_inf)(p)) {
        *r = *q;
        return;
    }
    if (CV_(jac_is_inf)(q)) {
        *r = *p;
        return;
    }
    FE_T z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t;
    F_SQR(z1z1, p->z);
    F_SQR(z2z2, q->z);
    F_MUL(u1, p->x, z2z2);
    F_MUL(u2, q->x, z1z1);
    F_MUL(s1, p->y, q->z);
    F_MUL(s1, s1, z2z2);
    F_MUL(s2, q->y, p->z);
    F_MUL(s2, s2, z1z1);
    F_SUB(h, u2, u1);
    F_SUB(rr, s2, s1);
    if (F_IS_ZERO(h)) {
        if (F_IS_ZERO(rr)) {
            CV_(jac_dbl)(r, p);
        } else {
            CV_(jac_set_inf)(r);
        }
        return;
    }
    F_DBL(i, h);
    F_SQR(i, i);
    F_MUL(j, h, i);
    F_DBL(rr, rr);
    F_MUL(v, u1, i);
    F_ADD(t, p->z, q->z);
    F_SQR(t, t);
    F_SUB(t, t, z1z1);
    F_SUB(t, t, z2z2);
    F_MUL(r->z, t, h);
    F_SQR(r->x, rr);
    F_SUB(r->x, r->x, j);
    F_SUB(r->x, r->x, v);
    F_SUB(r->x, r->x, v);
    F_SUB(v, v, r->x);
    F_MUL(v, v, rr);
    F_MUL(s1, s1, j);
    F_DBL(s1, s1);
    F_SUB(r->y, v, s1);
}

/* madd-2007-bl, Q affine: 7M + 4S */
static inline void CV_(jac_madd)(CV_(jac) *r, const CV_(jac) *p, const uint64_t *q) {
    if (CV_(aff_is_inf)(q)) {
        *r = *p;
        return;
    }
    if (CV_(jac_is_inf)(p)) {
        CV_(jac_from_aff)(r, q);
        return;
    }
    FE_T z1z1, u2, s2, h, hh, i, j, rr, v, t;
    F_SQR(z1z1, p->z);
    F_MUL(u2, q, z1z1);
    F_MUL(s2, q + NL, p->z);
    F_MUL(s2, s2, z1z1);
    F_SUB(h, u2, p->x);
    F_SUB(rr, s2, p->y);
    if (F_IS_ZERO(h)) {
        if (F_IS_ZERO(rr)) {
            CV_(jac_dbl)(r, p);
        } else {
            CV_(jac_set_inf)(r);
        }
        return;
    }
    F_SQR(hh, h);
    F_DBL(i, hh);
    F_DBL(i, i);
    F_MUL(j, h, i);
    F_DBL(rr, rr);
    F_MUL(v, p->x, i);
    F_ADD(t, p->z, h);
    F_SQR(t, t);
    F_SUB(t, t, z1z1);
    F_SUB(r->z, t, hh);
    F_MUL(t, p->y, j); /* p->y is read before r->y is written */
    F_DBL(t, t);
    F_SQR(r->x, rr);
    F_SUB(r->x, r->x, j);
    F_SUB(r->x, r->x, v);
    F_SUB(r->x, r->x, v);
    F_SUB(v, v, r->x);
    F_MUL(v, v, rr);
    F_SUB(r->y, v, t);
}

static inline void CV_(jac_neg)(CV_(jac) *r, const CV_(jac) *p) {
    F_COPY(r->x, p->x);
    F_NEG(r->y, p->y);
    F_COPY(r->z, p->z);
}

/* projective equality: X1 Z2^2 == X2 Z1^2 and Y1 Z2^3 == Y2 Z1^3 */
static inline int CV_(jac_eq)(const CV_(jac) *p, const CV_(jac) *q) {
    int pi = CV_(jac_is_inf)(p), qi = CV_(jac_is_inf)(q);
    if (pi || qi) return pi && qi;
    FE_T z1z1, z2z2, a, b;
    F_SQR(z1z1, p->z);
    F_SQR(z2z2, q->z);
    F_MUL(a, p->x, z2z2);
    F_MUL(b, q->x, z1z1);
    if (!F_EQ(a, b)) return 0;
    F_MUL(z1z1, z1z1, p->z);
    F_MUL(z2z2, z2z2, q->z);
    F_MUL(a, p->y, z2z2);
    F_MUL(b, q->y, z1z1);
    return F_EQ(a, b);
}

/* ---- XYZZ ---- */
static inline void CV_(xyzz_set_inf)(CV_(xyzz) *r) {
    F_ONE(r->x);
    F_ONE(r->y);
    F_ZERO(r->zz);
    F_ZERO(r->zzz);
}
static inline int CV_(xyzz_is_inf)(const CV_(xyzz) *p) { return F_IS_ZERO(p->zz); }

/* r = (x, y) affine, not infinity */
static inline void CV_(xyzz_set_aff)(CV_(xyzz) *r, const uint64_t *x, const uint64_t *y) {
    F_COPY(r->x, x);
    F_COPY(r->y, y);
    F_ONE(r->zz);
    F_ONE(r->zzz);
}

/* mdbl-2008-s-1: 2 (x, y), affine and not infinity: 2M + 2S (y != 0 on both curves) */
static inline void CV_(xyzz_mdbl)(CV_(xyzz) *r, const uint64_t *x, const uint64_t *y) {
    FE_T u, v, w, s, m, t;
    F_DBL(u, y);
    F_SQR(v, u);
    F_MUL(w, u, v);
    F_MUL(s, x, v);
    F_SQR(m, x);
    F_DBL(t, m);
    F_ADD(m, m, t);
    F_MUL(t, w, y); /* x and y are read before r is written: they may live in r */
    F_SQR(r->x, m);
    F_SUB(r->x, r->x, s);
    F_SUB(r->x, r->x, s);
    F_SUB(s, s, r->x);
    F_MUL(r->y, m, s);
    F_SUB(r->y, r->y, t);
    F_COPY(r->zz, v);
    F_COPY(r->zzz, w);
}

/* dbl-2008-s-1: 6M + 3S */
static inline void CV_(xyzz_dbl)(CV_(xyzz) *r, const CV_(xyzz) *p) {
    if (CV_(xyzz_is_inf)(p)) {
        *r = *p;
        return;
    }
    FE_T u, v, w, s, m, t;
    F_DBL(u, p->y);
    F_SQR(v, u);
    F_MUL(w, u, v);
    F_MUL(s, p->x, v);
    F_SQR(m, p->x);
    F_DBL(t, m);
    F_ADD(m, m, t);
    F_MUL(t, w, p->y);
    F_MUL(r->zz, v, p->zz);
    F_MUL(r->zzz, w, p->zzz);
    F_SQR(r->x, m);
    F_SUB(r->x, r->x, s);
    F_SUB(r->x, r->x, s);
    F_SUB(s, s, r->x);
    F_MUL(r->y, m, s);
    F_SUB(r->y, r->y, t);
}

/* madd-2008-s: r = p + (x2, y2) with the affine operand not infinity: 8M + 2S */
static inline void CV_(xyzz_madd)(CV_(xyzz) *r, const CV_(xyzz) *p, const uint64_t *x2,
                                  const uint64_t *y2) {
    if (CV_(xyzz_is_inf)(p)) {
        CV_(xyzz_set_aff)(r, x2, y2);
        return;
    }
    FE_T u2, s2, pp, ppp, q, rr, t;
    F_MUL(u2, x2, p->zz);
    F_MUL(s2, y2, p->zzz);
    F_SUB(u2, u2, p->x); /* P */
    F_SUB(rr, s2, p->y); /* R */
    if (F_IS_ZERO(u2)) {
        if (F_IS_ZERO(rr)) {
            CV_(xyzz_mdbl)(r, x2, y2);
        } else {
            CV_(xyzz_set_inf)(r);
        }
        return;
    }
    F_SQR(pp, u2);
    F_MUL(ppp, u2, pp);
    F_MUL(q, p->x, pp);
    F_MUL(r->zz, p->zz, pp);
    F_MUL(r->zzz, p->zzz, ppp);
    F_MUL(t, p->y, ppp);
    F_SQR(r->x, rr);
    F_SUB(r->x, r->x, ppp);
    F_SUB(r->x, r->x, q);
    F_SUB(r->x, r->x, q);
    F_SUB(q, q, r->x);
    F_MUL(q, q, rr);
    F_SUB(r->y, q, t);
}

/* add-2008-s: 12M + 2S */
static inline void CV_(xyzz_add)(CV_(xyzz) *r, const CV_(xyzz) *p, const CV_(xyzz) *q) {
    if (CV_(xyzz_is_inf)(p)) {
        *r = *q;
        return;
    }
    if (CV_(xyzz_is_inf)(q)) {
        *r = *p;
        return;
    }
    FE_T u1, u2, s1, s2, pp, ppp, qq, rr;
    F_MUL(u1, p->x, q->zz);
    F_MUL(u2, q->x, p->zz);
    F_MUL(s1, p->y, q->zzz);
    F_MUL(s2, q->y, p->zzz);
    F_SUB(u2, u2, u1); /* P */
    F_SUB(rr, s2, s1); /* R */
    if (F_IS_ZERO(u2)) {
        if (F_IS_ZERO(rr)) {
            CV_(xyzz_dbl)(r, p);
        } else {
            CV_(xyzz_set_inf)(r);
        }
        return;
    }
    F_SQR(pp, u2);
    F_MUL(ppp, u2, pp);
    F_MUL(qq, u1, pp);
    F_MUL(r->zz, p->zz, q->zz);
    F_MUL(r->zz, r->zz, pp);
    F_MUL(r->zzz, p->zzz, q->zzz);
    F_MUL(r->zzz, r->zzz, ppp);
    F_MUL(s1, s1, ppp);
    F_SQR(r->x, rr);
    F_SUB(r->x, r->x, ppp);
    F_SUB(r->x, r->x, qq);
    F_SUB(r->x, r->x, qq);
    F_SUB(qq, qq, r->x);
    F_MUL(qq, qq, rr);
    F_SUB(r->y, qq, s1);
}

/* (X/ZZ, Y/ZZZ) with one inversion: t = 1/(ZZ ZZZ), 1/ZZ = t ZZZ, 1/ZZZ = t ZZ */
static inline void CV_(xyzz_to_aff)(uint64_t *out, const CV_(xyzz) *p) {
    if (CV_(xyzz_is_inf)(p)) {
        memset(out, 0, PN * sizeof(uint64_t));
        return;
    }
    FE_T t, u;
    F_MUL(t, p->zz, p->zzz);
    F_INV(t, t);
    F_MUL(u, t, p->zzz);
    F_MUL(out, p->x, u);
    F_MUL(u, t, p->zz);
    F_MUL(out + NL, p->y, u);
}

/* ---- array kernels ---- */

/* Affine results come in blocks sharing one inversion (Montgomery's trick), with the scratch on
 * the stack so the void API needs no allocation.
 * out[i] = a[i] + b[i] for i < m <= CURVE_BLK. out may alias a or b (same index only). */
static void CV_(aff_add_block)(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t m) {
    FE_T pre[CURVE_BLK], den[CURVE_BLK], acc, inv, t, lam, x3;
    uint8_t kind[CURVE_BLK];
    F_ONE(acc);
    for (size_t i = 0; i < m; i++) {
        const uint64_t *p = a + PN * i, *q = b + PN * i;
        if (CV_(aff_is_inf)(p)) {
            kind[i] = CURVE_K_B;
            continue;
        }
        if (CV_(aff_is_inf)(q)) {
            kind[i] = CURVE_K_A;
            continue;
        }
        if (F_EQ(p, q)) {
            /* same x: doubling when the y agree (and are not 0), else P + (-P) */
            if (F_EQ(p + NL, q + NL) && !F_IS_ZERO(p + NL)) {
                kind[i] = CURVE_K_DBL;
                F_DBL(den[i], p + NL);
            } else {
                kind[i] = CURVE_K_INF;
                continue;
            }
        } else {
            kind[i] = CURVE_K_ADD;
            F_SUB(den[i], q, p);
        }
        F_COPY(pre[i], acc);
        F_MUL(acc, acc, den[i]);
    }
    F_INV(inv, acc);
    for (size_t i = m; i-- > 0;) {
        const uint64_t *p = a + PN * i, *q = b + PN * i;
        uint64_t *o = out + PN * i;
        switch (kind[i]) {
        case CURVE_K_A:
            memmove(o, p, PN * sizeof(uint64_t));
            continue;
        case CURVE_K_B:
            memmove(o, q, PN * sizeof(uint64_t));
            continue;
        case CURVE_K_INF:
            memset(o, 0, PN * sizeof(uint64_t));
            continue;
        case CURVE_K_DBL:
            F_SQR(lam, p);
            F_DBL(t, lam);
            F_ADD(lam, lam, t);
            break;
        default:
            F_SUB(lam, q + NL, p + NL);
            break;
        }
        F_MUL(t, inv, pre[i]);
        F_MUL(inv, inv, den[i]);
        F_MUL(lam, lam, t);
        F_SQR(x3, lam);
        F_SUB(x3, x3, p);
        F_SUB(x3, x3, q);
        F_SUB(t, p, x3);
        F_MUL(t, t, lam);
        F_SUB(o + NL, t, p + NL);
        F_COPY(o, x3);
    }
}

/* Normalize m <= CURVE_BLK Jacobian points into out (affine, infinity -> zeros). */
static void CV_(jac_to_aff_block)(uint64_t *out, const CV_(jac) *j, size_t m) {
    FE_T pre[CURVE_BLK], acc, inv, t, zi2;
    F_ONE(acc);
    for (size_t i = 0; i < m; i++) {
        F_COPY(pre[i], acc);
        if (!CV_(jac_is_inf)(&j[i])) F_MUL(acc, acc, j[i].z);
    }
    F_INV(inv, acc);
    for (size_t i = m; i-- > 0;) {
        uint64_t *o = out + PN * i;
        if (CV_(jac_is_inf)(&j[i])) {
            memset(o, 0, PN * sizeof(uint64_t));
            continue;
        }
        F_MUL(t, inv, pre[i]); /* 1/Z_i */
        F_MUL(inv, inv, j[i].z);
        F_SQR(zi2, t);
        F_MUL(o, j[i].x, zi2);
        F_MUL(zi2, zi2, t);
        F_MUL(o + NL, j[i].y, zi2);
    }
}

/* r = k p, p affine, k any 256-bit integer: signed 5-bit windows over a table of 1..16 p.
 * Not constant-time. */
static void CV_(jac_mul)(CV_(jac) *r, const uint64_t *p, const uint64_t *k) {
    CV_(jac) tab[16], acc, neg;
    int8_t d[CURVE_W5_DIGITS];
    CV_(jac_set_inf)(r);
    if (CV_(aff_is_inf)(p) || fe_is_zero(k)) return;
    CV_(jac_from_aff)(&tab[0], p);
    CV_(jac_dbl)(&tab[1], &tab[0]);
    for (int i = 2; i < 16; i++) CV_(jac_madd)(&tab[i], &tab[i - 1], p);
    curve_recode_w5(d, k);
    int j = CURVE_W5_DIGITS - 1;
    while (j >= 0 && d[j] == 0) j--;
    /* the top nonzero digit is positive */
    acc = tab[d[j] - 1];
    for (j--; j >= 0; j--) {
        for (int s = 0; s < 5; s++) CV_(jac_dbl)(&acc, &acc);
        if (d[j] > 0) {
            CV_(jac_add)(&acc, &acc, &tab[d[j] - 1]);
        } else if (d[j] < 0) {
            CV_(jac_neg)(&neg, &tab[-d[j] - 1]);
            CV_(jac_add)(&acc, &acc, &neg);
        }
    }
    *r = acc;
}

typedef struct {
    uint64_t *out;
    const uint64_t *a, *b; /* b: second operand (add) or scalars (mul) */
    size_t n;
} CV_(arr_ctx);

static void CV_(add_item)(void *vctx, size_t item) {
    CV_(arr_ctx) *x = vctx;
    size_t i0 = item * CURVE_BLK, m = x->n - i0 < CURVE_BLK ? x->n - i0 : CURVE_BLK;
    CV_(aff_add_block)(x->out + PN * i0, x->a + PN * i0, x->b + PN * i0, m);
}

/* out[i] = a[i] + b[i]; doubling is a + a */
static void CV_(add_arrays)(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    CV_(arr_ctx) x = {out, a, b, n};
    curve_run((n + CURVE_BLK - 1) / CURVE_BLK, CV_(add_item), &x, n >= 4 * CURVE_BLK);
}

static void CV_(mul_item)(void *vctx, size_t item) {
    CV_(arr_ctx) *x = vctx;
    CV_(jac) acc[CURVE_MUL_BLK];
    size_t i0 = item * CURVE_MUL_BLK, m = x->n - i0 < CURVE_MUL_BLK ? x->n - i0 : CURVE_MUL_BLK;
    for (size_t i = 0; i < m; i++) CV_(jac_mul)(&acc[i], x->a + PN * (i0 + i), x->b + 4 * (i0 + i));
    CV_(jac_to_aff_block)(x->out + PN * i0, acc, m);
}

/* out[i] = k[i] p[i]; not constant-time */
static void CV_(mul_arrays)(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    CV_(arr_ctx) x = {out, p, k, n};
    curve_run((n + CURVE_MUL_BLK - 1) / CURVE_MUL_BLK, CV_(mul_item), &x, n >= 2);
}

static void CV_(neg_arrays)(uint64_t *out, const uint64_t *a, size_t n) {
    for (size_t i = 0; i < n; i++) {
        memmove(out + PN * i, a + PN * i, NL * sizeof(uint64_t));
        F_NEG(out + PN * i + NL, a + PN * i + NL); /* -0 = 0 keeps infinity */
    }
}

/* ---- validity checks: index of the first point failing `ok`, or -1 ---- */
typedef struct {
    const uint64_t *p;
    size_t n, blk;
    int (*ok)(const uint64_t *p);
    int64_t first_bad;
} CV_(check_ctx);

static void CV_(check_item)(void *vctx, size_t item) {
    CV_(check_ctx) *x = vctx;
    size_t i0 = item * x->blk, i1 = i0 + x->blk;
    if (i1 > x->n) i1 = x->n;
    for (size_t i = i0; i < i1; i++) {
        int64_t best = __atomic_load_n(&x->first_bad, __ATOMIC_RELAXED);
        if (best >= 0 && (int64_t)i > best) return; /* an earlier bad point is already known */
        if (!x->ok(x->p + PN * i)) {
            curve_atomic_min(&x->first_bad, (int64_t)i);
            return;
        }
    }
}

/* blocks of blk points are the work items; threads only from 4 blocks up */
static int64_t CV_(check_arrays)(const uint64_t *p, size_t n, int (*ok)(const uint64_t *), size_t blk) {
    CV_(check_ctx) x = {p, n, blk, ok, -1};
    size_t items = (n + blk - 1) / blk;
    curve_run(items, CV_(check_item), &x, items >= 4);
    return x.first_bad;
}
