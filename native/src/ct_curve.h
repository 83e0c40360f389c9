/* Internal template (no include guard, instantiated twice by fixed_base.c, for G1 over F_q and
 * G2 over F_q2): CONSTANT-TIME scalar multiplication for secret scalars.
 *
 * The includer defines the same macros as for curve.h (CV, FE_T, NL, F_ADD ... F_EQ, CV_B) plus
 *   CT_MUL_B3(o, a)   o = 3b * a (may alias), b the curve constant
 * and undefines them afterwards (curve_undef.h, then CT_MUL_B3). fixed_base.c also provides the
 * group-independent helpers (masks, ct_select, ct_lookup, ct_digit, ct_recode, CT_* sizes).
 *
 * Points are homogeneous projective (x = X/Z, y = Y/Z), the point at infinity is (0 : 1 : 0)
 * (any (0 : Y : 0)). The additions are the complete formulas of Renes, Costello and Batina,
 * "Complete addition formulas for prime order elliptic curves" (EUROCRYPT 2016), algorithms 7
 * (projective + projective), 8 (projective + affine) and 9 (doubling) for a = 0. They are correct
 * for every pair of points whose difference is not of order 2; all points here lie in the
 * order-r subgroup (r an odd prime), so differences never are: no input is exceptional, doubling
 * and P + (-P) and the point at infinity included. Only the affine operand of the mixed addition
 * cannot be infinity (affine has no encoding for it); callers mask that case (see below).
 *
 * What "constant-time" covers: the sequence of instructions and of memory addresses depends on
 * the lengths, the window width and the PUBLIC base points only, never on the scalar bits. There
 * is no branch on secret data and no secret-dependent table index (every entry is read and the
 * wanted one kept with a mask); the field operations used (field.h add/sub/dbl/mul/sqr, and the
 * Fermat inversion, whose exponent is public) are branch-free. Negation is not taken from
 * field.h: inlined with its constant zero, gcc compiles it to a conditional jump (ct_cneg_y).
 * tests/test_constant_time.py checks the compiled kernels under valgrind's memcheck with the
 * scalars marked undefined: no conditional jump, move or address may depend on them. */

#define CV_(name) CURVE_CAT(CV, name)
#define PN (2 * NL) /* limbs per affine point */

typedef struct {
    FE_T x, y, z;
} CV_(ct_proj);

#define CT_PROJ_LIMBS (3 * NL)

static inline void CV_(ct_set_inf)(CV_(ct_proj) *r) {
    F_ZERO(r->x);
    F_ONE(r->y);
    F_ZERO(r->z);
}

/* affine (public encoding, infinity = all zero) -> projective, without branching on infinity */
static inline void CV_(ct_from_aff)(CV_(ct_proj) *r, const uint64_t *p) {
    uint64_t any = 0;
    for (int l = 0; l < PN; l++) any |= p[l];
    uint64_t inf = ~ct_nonzero_mask(any);
    FE_T one;
    F_ONE(one);
    F_COPY(r->x, p);
    ct_select(r->y, one, p + NL, NL, inf);
    ct_select(r->z, (const uint64_t *)r->x, one, NL, inf); /* x is zero when inf */
}

/* RCB algorithm 7: r = p + q, 12M + 2 m_3b. r may alias p or q. */
static CT_FLAT void CV_(ct_add)(CV_(ct_proj) *r, const CV_(ct_proj) *p, const CV_(ct_proj) *q) {
    FE_T t0, t1, t2, t3, t4, x3, y3, z3;
    F_MUL(t0, p->x, q->x);
    F_MUL(t1, p->y, q->y);
    F_MUL(t2, p->z, q->z);
    F_ADD(t3, p->x, p->y);
    F_ADD(t4, q->x, q->y);
    F_MUL(t3, t3, t4);
    F_ADD(t4, t0, t1);
    F_SUB(t3, t3, t4); /* X1 Y2 + X2 Y1 */
    F_ADD(t4, p->y, p->z);
    F_ADD(x3, q->y, q->z);
    F_MUL(t4, t4, x3);
    F_ADD(x3, t1, t2);
    F_SUB(t4, t4, x3); /* Y1 Z2 + Y2 Z1 */
    F_ADD(x3, p->x, p->z);
    F_ADD(y3, q->x, q->z);
    F_MUL(x3, x3, y3);
    F_ADD(y3, t0, t2);
    F_SUB(y3, x3, y3); /* X1 Z2 + X2 Z1 */
    F_DBL(x3, t0);
    F_ADD(t0, x3, t0); /* 3 X1 X2 */
    CT_MUL_B3(t2, t2);
    F_ADD(z3, t1, t2);
    F_SUB(t1, t1, t2);
    CT_MUL_B3(y3, y3);
    F_MUL(x3, t4, y3);
    F_MUL(t2, t3, t1);
    F_SUB(x3, t2, x3);
    F_MUL(y3, y3, t0);
    F_MUL(t1, t1, z3);
    F_ADD(y3, t1, y3);
    F_MUL(t0, t0, t3);
    F_MUL(z3, z3, t4);
    F_ADD(z3, z3, t0);
    F_COPY(r->x, x3);
    F_COPY(r->y, y3);
    F_COPY(r->z, z3);
}

/* RCB algorithm 8: r = p + (qx, qy) with the affine operand NOT infinity, 11M + 2 m_3b.
 * r may alias p. */
static CT_FLAT void CV_(ct_madd)(CV_(ct_proj) *r, const CV_(ct_proj) *p, const uint64_t *q) {
    const uint64_t *qx = q, *qy = q + NL;
    FE_T t0, t1, t2, t3, t4, x3, y3, z3;
    F_MUL(t0, p->x, qx);
    F_MUL(t1, p->y, qy);
    F_ADD(t3, qx, qy);
    F_ADD(t4, p->x, p->y);
    F_MUL(t3, t3, t4);
    F_ADD(t4, t0, t1);
    F_SUB(t3, t3, t4); /* X1 y2 + x2 Y1 */
    F_MUL(t4, qy, p->z);
    F_ADD(t4, t4, p->y); /* Y1 + y2 Z1 */
    F_MUL(y3, qx, p->z);
    F_ADD(y3, y3, p->x); /* X1 + x2 Z1 */
    F_DBL(x3, t0);
    F_ADD(t0, x3, t0);
    CT_MUL_B3(t2, p->z);
    F_ADD(z3, t1, t2);
    F_SUB(t1, t1, t2);
    CT_MUL_B3(y3, y3);
    F_MUL(x3, t4, y3);
    F_MUL(t2, t3, t1);
    F_SUB(x3, t2, x3);
    F_MUL(y3, y3, t0);
    F_MUL(t1, t1, z3);
    F_ADD(y3, t1, y3);
    F_MUL(t0, t0, t3);
    F_MUL(z3, z3, t4);
    F_ADD(z3, z3, t0);
    F_COPY(r->x, x3);
    F_COPY(r->y, y3);
    F_COPY(r->z, z3);
}

/* RCB algorithm 9: r = 2p, 6M + 2S + 1 m_3b. r may alias p. */
static CT_FLAT void CV_(ct_dbl)(CV_(ct_proj) *r, const CV_(ct_proj) *p) {
    FE_T t0, t1, t2, x3, y3, z3;
    F_SQR(t0, p->y);
    F_DBL(z3, t0);
    F_DBL(z3, z3);
    F_DBL(z3, z3); /* 8 Y^2 */
    F_MUL(t1, p->y, p->z);
    F_SQR(t2, p->z);
    CT_MUL_B3(t2, t2);
    F_MUL(x3, t2, z3);
    F_ADD(y3, t0, t2);
    F_MUL(z3, t1, z3);
    F_DBL(t1, t2);
    F_ADD(t2, t1, t2);
    F_SUB(t0, t0, t2);
    F_MUL(y3, t0, y3);
    F_ADD(y3, x3, y3);
    F_MUL(t1, p->x, p->y);
    F_MUL(x3, t0, t1);
    F_DBL(x3, x3);
    F_COPY(r->x, x3);
    F_COPY(r->y, y3);
    F_COPY(r->z, z3);
}

/* y <- -y where the mask is all ones (a conditional negation without a branch). The negation
 * is 0 - y with a zero the compiler cannot see: with a constant zero, gcc turns the first
 * borrow of the subtraction into a conditional jump on y (seen under valgrind's memcheck). */
static CT_FLAT void CV_(ct_cneg_y)(uint64_t *y, uint64_t mask) {
    FE_T zero, ny;
    for (int l = 0; l < NL; l++) ((uint64_t *)zero)[l] = ct_barrier(0);
    F_SUB(ny, zero, y);
    ct_select(y, ny, y, NL, mask);
}

/* out[i] = affine(p[i]) for i < m, infinity (Z = 0) as all-zero limbs; `pre` is scratch for m
 * elements. One shared inversion (Montgomery's trick); a zero Z is replaced by one in the
 * product and its output masked to zero, so nothing branches on which points are infinity. */
static void CV_(ct_to_aff)(uint64_t *out, const CV_(ct_proj) *p, size_t m, FE_T *pre) {
    FE_T acc, inv, z, t, one;
    F_ONE(one);
    F_ONE(acc);
    for (size_t i = 0; i < m; i++) {
        ct_select(z, one, p[i].z, NL, ct_zero_mask(p[i].z, NL));
        F_COPY(pre[i], acc);
        F_MUL(acc, acc, z);
    }
    F_INV(inv, acc);
    for (size_t i = m; i-- > 0;) {
        uint64_t *o = out + PN * i, keep = ~ct_zero_mask(p[i].z, NL);
        ct_select(z, one, p[i].z, NL, ~keep);
        F_MUL(t, inv, pre[i]); /* 1/Z_i */
        F_MUL(inv, inv, z);
        F_MUL(o, p[i].x, t);
        F_MUL(o + NL, p[i].y, t);
        for (int l = 0; l < PN; l++) o[l] &= keep;
    }
}

/* ---- fixed base: out[i] = k[i] G ----
 * Table: for every window j < W and m = 1..h (h = 2^(w-1)), the affine point m 2^(w j) G, so
 * with the signed digits d_j of k (|d_j| <= h), k G = sum_j sign(d_j) T[j][|d_j|]: W additions
 * and no doubling. A table entry is never infinity: m 2^(w j) is not a multiple of the prime r.
 *
 * A work item takes CT_FB_BLK scalars through the windows together, from the lowest. The
 * running sums stay affine, and the additions of one window share one inversion (Montgomery's
 * trick): an affine addition is ~6 multiplications instead of 11 for the complete mixed formula.
 * Affine addition has exceptional cases; why none can occur in the windows done this way:
 * before window j the sum is a = sum_{i<j} d_i 2^(w i) with |a| < 2^(w j), and the term is
 * b = d_j 2^(w j) with 2^(w j) <= |b| <= 2^(w (j+1) - 1) when d_j != 0. So a != +-b as integers,
 * and a = +-b mod r would need r <= |a| + |b| < 2^(w (j+1)); while w (j+1) <= 253 < log2(r) that
 * cannot happen: the sum and the term are never equal or opposite points. Also a = 0 mod r only
 * if a = 0, i.e. all digits so far were zero (the lowest nonzero digit is not divisible by
 * 2^w): a mask tracks that, and an infinite sum takes the term as it is. A zero digit selects
 * nothing and its addition is discarded by a mask. Denominators of discarded additions may be
 * zero; they are replaced by one (masked) so the shared inversion stays right.
 * The last window(s), where w (j+1) > 253, use the complete formula in projective coordinates
 * instead (as do all windows of a block shorter than CT_FB_AFFINE_MIN scalars, where the shared
 * inversion would not pay), and a masked batch inversion returns the results to affine. */
/* per-scalar state of a block */
typedef struct {
    uint64_t acc[PN]; /* the running sum, affine (all zero while infinite) */
    uint64_t T[PN];   /* this window's term */
    uint64_t kr[4];   /* the scalar mod r */
    uint64_t carry;   /* recoding carry into the next window */
    uint64_t inf;     /* all ones while the sum is infinity */
    uint64_t nz;      /* all ones iff this window's digit is nonzero */
    FE_T den, pre;    /* denominator, prefix product of the shared inversion */
} CV_(ct_fb_lane);

typedef struct {
    uint64_t *out;
    const uint64_t *tab; /* W * h affine points */
    const uint64_t *k;
    size_t n, slots;
    unsigned w, W, h;
    unsigned char *scratch; /* slots * CV_(ct_fb_scratch)() bytes */
    unsigned char *busy;    /* slots flags: the scratch area is in use */
} CV_(ct_fb_ctx);

static inline size_t CV_(ct_fb_scratch)(void) {
    return CT_FB_BLK * (sizeof(CV_(ct_fb_lane)) + sizeof(CV_(ct_proj)) + sizeof(FE_T));
}

/* window j of one lane, first pass: the term T = sign(d_j) T[j][|d_j|] and the denominator */
static CT_FLAT void CV_(ct_fb_term)(CV_(ct_fb_lane) *l, const CV_(ct_fb_ctx) *x, const uint64_t *tj,
                                    unsigned j) {
    FE_T one;
    uint64_t negm;
    uint32_t absd = ct_digit(l->kr, &l->carry, &negm, x->w, j, j + 1 == x->W);
    /* |d| - 1 wraps to 2^64 - 1 for a zero digit, which matches no entry */
    ct_lookup(l->T, tj, PN, x->h, (uint64_t)absd - 1);
    CV_(ct_cneg_y)(l->T + NL, negm);
    l->nz = ct_nonzero_mask(absd);
    F_ONE(one);
    F_SUB(l->den, l->T, l->acc);
    ct_select(l->den, one, l->den, NL, ct_zero_mask(l->den, NL));
}

/* second pass: acc <- acc + T with 1/den = inv * pre; inv <- inv * den for the lane before */
static CT_FLAT void CV_(ct_fb_add)(CV_(ct_fb_lane) *l, FE_T inv) {
    FE_T t, lam, x3, y3;
    uint64_t *a = l->acc, *q = l->T;
    F_MUL(t, inv, l->pre); /* 1 / den */
    F_MUL(inv, inv, l->den);
    F_SUB(lam, q + NL, a + NL);
    F_MUL(lam, lam, t);
    F_SQR(x3, lam);
    F_SUB(x3, x3, a);
    F_SUB(x3, x3, q);
    F_SUB(y3, a, x3);
    F_MUL(y3, y3, lam);
    F_SUB(y3, y3, a + NL);
    ct_select(x3, q, x3, NL, l->inf); /* infinity + T = T */
    ct_select(y3, q + NL, y3, NL, l->inf);
    ct_select(a, x3, a, NL, l->nz); /* a zero digit keeps the sum */
    ct_select(a + NL, y3, a + NL, NL, l->nz);
    l->inf &= ~l->nz;
}

/* scalars [i0, i0 + m) of the context, m <= CT_FB_BLK */
static void CV_(ct_fb_block)(const CV_(ct_fb_ctx) *x, size_t i0, size_t m, CV_(ct_fb_lane) *ln,
                             CV_(ct_proj) *proj, FE_T *pre) {
    FE_T one, prod, inv;
    size_t row = (size_t)x->h * PN;
    /* windows j < safe have w (j + 1) <= 253; a short block (public: it depends on n only)
     * would pay a whole inversion per window, so it does every window projectively */
    unsigned safe = m >= CT_FB_AFFINE_MIN ? 253 / x->w : 0;
    F_ONE(one);
    for (size_t i = 0; i < m; i++) {
        ct_reduce_r(ln[i].kr, x->k + 4 * (i0 + i));
        ln[i].carry = 0;
        ln[i].inf = ~(uint64_t)0;
        memset(ln[i].acc, 0, sizeof ln[i].acc);
    }
    for (unsigned j = 0; j < safe; j++) {
        const uint64_t *tj = x->tab + row * j;
        F_ONE(prod);
        for (size_t i = 0; i < m; i++) {
            CV_(ct_fb_term)(&ln[i], x, tj, j);
            F_COPY(ln[i].pre, prod);
            F_MUL(prod, prod, ln[i].den);
        }
        F_INV(inv, prod);
        for (size_t i = m; i-- > 0;) CV_(ct_fb_add)(&ln[i], inv);
    }
    for (size_t i = 0; i < m; i++) {
        CV_(ct_fb_lane) *l = &ln[i];
        CV_(ct_proj) *p = &proj[i], s;
        uint64_t q[PN];
        F_COPY(p->x, l->acc);
        ct_select(p->y, one, l->acc + NL, NL, l->inf);
        ct_select(p->z, l->acc, one, NL, l->inf); /* acc is all zero when infinite */
        for (unsigned j = safe; j < x->W; j++) {
            uint64_t negm;
            uint32_t absd = ct_digit(l->kr, &l->carry, &negm, x->w, j, j + 1 == x->W);
            ct_lookup(q, x->tab + row * j, PN, x->h, (uint64_t)absd - 1);
            CV_(ct_cneg_y)(q + NL, negm);
            CV_(ct_madd)(&s, p, q);
            ct_select((uint64_t *)p, (const uint64_t *)&s, (const uint64_t *)p, CT_PROJ_LIMBS,
                      ct_nonzero_mask(absd));
        }
    }
    CV_(ct_to_aff)(x->out + PN * i0, proj, m, pre);
}

/* work item b: block b, with a scratch area taken from the pool (at most one item per thread
 * runs at a time, so a free area always exists) */
static void CV_(ct_fb_item)(void *vctx, size_t b) {
    CV_(ct_fb_ctx) *x = vctx;
    size_t slot = 0;
    while (__atomic_test_and_set(&x->busy[slot], __ATOMIC_ACQUIRE)) slot = (slot + 1) % x->slots;
    unsigned char *mem = x->scratch + slot * CV_(ct_fb_scratch)();
    CV_(ct_fb_lane) *ln = (CV_(ct_fb_lane) *)mem;
    CV_(ct_proj) *proj = (CV_(ct_proj) *)(ln + CT_FB_BLK);
    FE_T *pre = (FE_T *)(proj + CT_FB_BLK);
    size_t i0 = b * CT_FB_BLK, m = x->n - i0 < CT_FB_BLK ? x->n - i0 : CT_FB_BLK;
    CV_(ct_fb_block)(x, i0, m, ln, proj, pre);
    __atomic_clear(&x->busy[slot], __ATOMIC_RELEASE);
}

/* The table of a public base (not constant-time in the base, which is public). */
static int CV_(ct_fb_table)(uint64_t **tab_out, const uint64_t *base, unsigned w, unsigned W) {
    size_t h = (size_t)1 << (w - 1), total = (size_t)W * h;
    uint64_t *tab = malloc(total * PN * sizeof(uint64_t));
    CV_(ct_proj) *pts = malloc(total * sizeof(CV_(ct_proj)));
    FE_T *pre = malloc(total * sizeof(FE_T));
    if (!tab || !pts || !pre) {
        free(tab);
        free(pts);
        free(pre);
        return ZKAGG_ERR_ALLOC;
    }
    CV_(ct_proj) pj; /* 2^(w j) G */
    CV_(ct_from_aff)(&pj, base);
    for (unsigned j = 0; j < W; j++) {
        CV_(ct_proj) *r = pts + (size_t)j * h;
        r[0] = pj;
        for (size_t m = 1; m < h; m++) CV_(ct_add)(&r[m], &r[m - 1], &pj);
        CV_(ct_dbl)(&pj, &r[h - 1]); /* 2 h 2^(w j) G = 2^(w (j + 1)) G */
    }
    CV_(ct_to_aff)(tab, pts, total, pre);
    free(pts);
    free(pre);
    *tab_out = tab;
    return ZKAGG_OK;
}

static int CV_(ct_fixed_base_mul)(uint64_t *out, const uint64_t *base, const uint64_t *k, size_t n,
                                  unsigned w) {
    if (w == 0) w = ct_fb_window(n, CT_FB_COSTS);
    if (w < 1 || w > CT_MAX_WINDOW) return ZKAGG_ERR_ARG;
    if (n == 0) return ZKAGG_OK;
    uint64_t any = 0;
    for (int l = 0; l < PN; l++) any |= base[l];
    if (any == 0) { /* public base at infinity */
        memset(out, 0, n * PN * sizeof(uint64_t));
        return ZKAGG_OK;
    }
    unsigned W = ct_windows(w);
    uint64_t *tab;
    int rc = CV_(ct_fb_table)(&tab, base, w, W);
    if (rc != ZKAGG_OK) return rc;
    /* one block per work item; a scratch area per thread */
    size_t blocks = (n + CT_FB_BLK - 1) / CT_FB_BLK, slots = (size_t)zk_threads();
    if (slots > blocks) slots = blocks;
    unsigned char *scratch = malloc(slots * CV_(ct_fb_scratch)()), *busy = calloc(slots, 1);
    if (!scratch || !busy) {
        free(scratch);
        free(busy);
        free(tab);
        return ZKAGG_ERR_ALLOC;
    }
    CV_(ct_fb_ctx) x = {out, tab, k, n, slots, w, W, 1u << (w - 1), scratch, busy};
    curve_run(blocks, CV_(ct_fb_item), &x, blocks > 1);
    free(busy);
    free(scratch);
    free(tab);
    return ZKAGG_OK;
}

/* ---- variable base: out[i] = k[i] p[i] ----
 * Signed CT_VB_W-bit windows from the top: CT_VB_W doublings, then the complete addition of
 * sign(d_j) T[|d_j|] from the point's own projective table T[m] = m p, m = 0..h (T[0] is the
 * point at infinity, which the complete addition takes like any other point). */
typedef struct {
    uint64_t *out;
    const uint64_t *p, *k;
    size_t n;
} CV_(ct_vb_ctx);

static void CV_(ct_vb_one)(CV_(ct_proj) *r, const uint64_t *p, const uint64_t *k) {
    enum { H = 1 << (CT_VB_W - 1), W = (255 + CT_VB_W - 1) / CT_VB_W };
    CV_(ct_proj) tab[H + 1], q;
    uint64_t negm[W];
    uint32_t absd[W];
    CV_(ct_set_inf)(&tab[0]);
    CV_(ct_from_aff)(&tab[1], p);
    for (int m = 2; m <= H; m++) CV_(ct_add)(&tab[m], &tab[m - 1], &tab[1]);
    ct_recode(absd, negm, k, CT_VB_W, W);
    ct_lookup((uint64_t *)r, (const uint64_t *)tab, CT_PROJ_LIMBS, H + 1, absd[W - 1]);
    CV_(ct_cneg_y)(r->y, negm[W - 1]);
    for (int j = W - 2; j >= 0; j--) {
        for (int s = 0; s < CT_VB_W; s++) CV_(ct_dbl)(r, r);
        ct_lookup((uint64_t *)&q, (const uint64_t *)tab, CT_PROJ_LIMBS, H + 1, absd[j]);
        CV_(ct_cneg_y)(q.y, negm[j]);
        CV_(ct_add)(r, r, &q);
    }
}

static void CV_(ct_vb_item)(void *vctx, size_t item) {
    CV_(ct_vb_ctx) *x = vctx;
    CV_(ct_proj) acc[CT_BLK];
    FE_T pre[CT_BLK];
    size_t i0 = item * CT_BLK, m = x->n - i0 < CT_BLK ? x->n - i0 : CT_BLK;
    for (size_t i = 0; i < m; i++) CV_(ct_vb_one)(&acc[i], x->p + PN * (i0 + i), x->k + 4 * (i0 + i));
    CV_(ct_to_aff)(x->out + PN * i0, acc, m, pre);
}

static void CV_(ct_mul_arrays)(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    CV_(ct_vb_ctx) x = {out, p, k, n};
    curve_run((n + CT_BLK - 1) / CT_BLK, CV_(ct_vb_item), &x, n > CT_BLK);
}

#undef CT_PROJ_LIMBS
