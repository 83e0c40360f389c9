/* Internal template (no include guard, instantiated after curve.h by g1.h and g2.h): Pippenger
 * multi-scalar multiplication, sum k[i] p[i]. Not constant-time (branches and memory accesses
 * follow the scalar digits): never use it with secret scalars.
 *
 * Extra parameters from the includer: CV_MSM_MAX_H (most buckets per work item, sized so one
 * item's affine buckets stay in L2) and CV_MSM_BATCH (largest batch-affine batch), and their
 * CV_MSM_MAX_H_V / CV_MSM_BATCH_V counterparts for the eight-lane batches; with FV_IFMA
 * (field_ifma.h) the VF_* lane operations.
 *
 * Outline
 *  1. Recode every scalar into W signed c-bit digits (curve_common.h), window-major; the digits
 *     depend on the scalars only, so MSMs over one scalar vector can share them (msm.c). Points
 *     at infinity are marked in a bitmap and skipped.
 *  2. Work items = (window, bucket sub-range): each scans its window's digits and accumulates the
 *     points into its 2^(c-1)/S buckets (|digit| selects the bucket, the sign negates y).
 *     Buckets are affine; additions are collected into a batch that shares one inversion
 *     (batch-affine: 6M per addition instead of 10M for XYZZ mixed addition). A point meeting
 *     a bucket that already has a pending addition waits in a queue for the next batch; when
 *     the queue is full (inputs concentrated on few buckets, e.g. many equal scalars) it goes
 *     to an XYZZ side bucket instead, so no input can serialize the batches.
 *     Small MSMs (batch = 0) use the XYZZ buckets only. On CPUs with AVX-512 IFMA (asm build)
 *     a batch runs eight additions at a time (vbatch), about 4x faster than one at a time.
 *  3. Each item reduces its buckets to sum_b (b+1) B_b with running sums (batch-affine chains for
 *     the affine buckets), corrected by lo * sum B_b for sub-ranges that start at bucket lo.
 *  4. Window sums are combined by Horner's rule with c doublings per window. */

typedef struct {
    const uint64_t *p;     /* points */
    const uint16_t *dig;   /* window w's digits at dig + w * stride (curve_common.h) */
    size_t stride, n;
    msm_plan_t pl;
    size_t K;              /* chains of the affine bucket reduction */
    int vec;               /* batches on eight lanes */
    CV_(xyzz) *part;       /* one partial sum per work item */
    msm_pool *pool;        /* workspaces */
    uint64_t *inf;         /* bit i: point i is at infinity (skipped) */
} CV_(msm_ctx);

typedef struct {
    uint64_t *bk;     /* H affine buckets */
    CV_(xyzz) *side;  /* H XYZZ buckets */
    FE_T *pre;        /* batch: prefix products of the denominators */
    FE_T *den;        /* batch: denominators (x2 - x1, or 2 y1 when doubling) */
    uint32_t *bb;     /* batch: bucket */
    uint64_t *bi;     /* batch: point index << 1 | negate */
    uint8_t *kind;    /* batch: CURVE_K_ADD, CURVE_K_DBL or CURVE_K_INF */
    uint8_t *st;      /* H bucket states (MSM_OCC | MSM_BUSY | MSM_SIDE) */
    size_t m;         /* pending batch entries */
    size_t B;         /* batch capacity (also the queue capacity) */
    uint32_t *qb;     /* queue of additions deferred to the next batch: bucket */
    uint64_t *qi;     /* queue: point index << 1 | negate */
    size_t qn;        /* queued entries */
    uint64_t *rk;     /* reduction: K running sums R_k, then K accumulators A_k (affine) */
    uint64_t **dst;   /* reduction: 2K batch destinations */
    const uint64_t **src; /* reduction: 2K batch sources */
    int vec;          /* batches run on eight lanes (vbatch) */
    uint64_t **vd;    /* vbatch: destinations (buckets) */
    const uint64_t **vs; /* vbatch: sources (points) */
    uint8_t *vn;      /* vbatch: lanes whose source is negated, per group of eight */
    void *vpre;       /* vbatch: three vectors per group of eight */
    uint8_t *vspec;   /* vbatch: doubling / cancelling lanes per group */
} CV_(msm_ws);

/* every cache line of an affine point (user arrays need not be 64-byte aligned) */
static inline void CV_(msm_prefetch)(const uint64_t *pt) {
    for (size_t l = 0; l < PN; l += 8) __builtin_prefetch(pt + l);
    __builtin_prefetch(pt + PN - 1);
}

#ifdef FV_IFMA
/* ---- batch-affine additions on eight lanes (AVX-512 IFMA, see field_ifma.h) ----
 * dst[j] += src[j] for j < m, with src[j] negated in the lanes set in negm[j / 8] (negm may be
 * NULL). All points are affine and not infinity, the dst distinct; a src may be the dst of an
 * earlier entry (it is read before that entry writes, as in aff_acc_batch). Entries go in
 * groups of eight, one per lane, all sharing one inversion. Lanes where dst == src double;
 * lanes where dst == -src leave infinity (zeros) in dst and are set in spec[2 g + 1] (spec[2 g]
 * marks the doublings). Scratch: sc holds 3 (m + 7) / 8 vectors, spec 2 (m + 7) / 8 bytes.
 *
 * Scale bookkeeping: values in memory are Montgomery (x 2^256) and every lane product is
 * a b / 2^260. The prefix products then drift by 2^-4 per group, which the inversion absorbs:
 * with inv = 2^518 / acc after the forward pass, the backward pass keeps inv = 2^518 / acc_g,
 * so inv * acc_g / 2^260 = 2^262 / den for every entry. Hence lam = num * that / 2^260 is the
 * slope times 2^258, lam^2 / 2^260 is the slope squared in Montgomery form, and (4 lam) t /
 * 2^260 is slope * t in Montgomery form. The backward pass reads den and num (y2 - y1) from
 * the forward pass and gathers only the dst again: x3 = lam^2 - x1 - x2 with
 * x2 = den + x1 - q. */
static const uint64_t CV_(v_dummy)[PN] __attribute__((aligned(64))) = {0};

/* pointers of group g (dummies past m); returns the lane count */
static inline unsigned CV_(v_ptrs)(uint64_t *const **dp, const uint64_t *const **sp,
                                   uint64_t **dbuf, const uint64_t **sbuf, uint64_t *const *dst,
                                   const uint64_t *const *src, size_t m, size_t g) {
    size_t j0 = 8 * g;
    if (m - j0 >= 8) {
        *dp = dst + j0;
        if (sp) *sp = src + j0;
        return 8;
    }
    unsigned nl = (unsigned)(m - j0);
    for (unsigned l = 0; l < 8; l++) {
        dbuf[l] = l < nl ? dst[j0 + l] : (uint64_t *)CV_(v_dummy);
        if (sp) sbuf[l] = l < nl ? src[j0 + l] : CV_(v_dummy);
    }
    *dp = dbuf;
    if (sp) *sp = sbuf;
    return nl;
}

static inline void CV_(v_prefetch)(const uint64_t *const *p, size_t m, size_t j0) {
    for (size_t j = j0; j < j0 + 8 && j < m; j++) CV_(msm_prefetch)(p[j]);
}

static FV_TGT void CV_(vbatch)(uint64_t *const *dst, const uint64_t *const *src,
                               const uint8_t *negm, size_t m, VF_T *sc, uint8_t *spec) {
    if (m == 0) return;
    size_t G = (m + 7) / 8;
    VF_T acc, one;
    VF_SET_ONE(&one);
    acc = one;
    for (size_t g = 0; g < G; g++) {
        uint64_t *dbuf[8];
        const uint64_t *sbuf[8];
        uint64_t *const *dp;
        const uint64_t *const *sp;
        VF_T bx, by, px, py, *den = &sc[3 * g + 1], *num = &sc[3 * g + 2];
        unsigned nl = CV_(v_ptrs)(&dp, &sp, dbuf, sbuf, dst, src, m, g);
        CV_(v_prefetch)((const uint64_t *const *)dst, m, 8 * (g + MSM_VPF));
        CV_(v_prefetch)(src, m, 8 * (g + MSM_VPF));
        VF_GATHER(&bx, &by, (const uint64_t *const *)dp);
        VF_GATHER(&px, &py, sp);
        __mmask8 ng = negm ? negm[g] : 0;
        if (ng) {
            VF_T z, yn;
            VF_SET_ZERO(&z);
            VF_SUB(&yn, &z, &py, FV_Q); /* q - y */
            VF_BLEND(&py, ng, &py, &yn);
        }
        __mmask8 valid = (__mmask8)((1u << nl) - 1);
        __mmask8 eq = VF_EQ(&bx, &px) & valid, dbl = 0, inf = 0;
        VF_SUB(den, &px, &bx, FV_Q);
        VF_SUB(num, &py, &by, FV_Q);
        if (eq) { /* rare: doubling (den = 2y, num = 3x^2) or P + (-P) (den = 1, result infinity) */
            VF_T t, x16, x3;
            dbl = eq & VF_EQ(&by, &py);
            inf = eq & (__mmask8)~dbl;
            if (dbl) {
                VF_ADD(&t, &by, &by);
                VF_BLEND(den, dbl, den, &t);
                VF_SHL(&x16, &bx, 4); /* 3x^2 = (16x)(3x) / 2^260 */
                VF_ADD(&x3, &bx, &bx);
                VF_ADD(&x3, &x3, &bx);
                VF_MUL(&t, &x16, &x3);
                VF_BLEND(num, dbl, num, &t);
            }
        }
        __mmask8 unit = inf | (__mmask8)~valid;
        if (unit) VF_BLEND(den, unit, den, &one);
        spec[2 * g] = dbl;
        spec[2 * g + 1] = inf;
        sc[3 * g] = acc;
        VF_MUL(&acc, &acc, den);
    }
    /* inv = 2^518 / acc per lane: canonical lanes, Montgomery's trick across them, then
     * R^2 / a (the scalar inverse) times 2^262 / R */
    FE_T lanes[8], pfx[8], t, c262;
    VF_CSUB(&acc, FV_Q);
    VF_LANES(lanes, &acc);
    F_COPY(pfx[0], lanes[0]);
    for (int l = 1; l < 8; l++) F_MUL(pfx[l], pfx[l - 1], lanes[l]);
    VF_INV(t, pfx[7]);
    F_ZERO(c262);
    fe_copy(c262, FV_C262);
    F_MUL(t, t, c262);
    for (int l = 7; l > 0; l--) {
        FE_T u;
        F_MUL(u, t, pfx[l - 1]);
        F_MUL(t, t, lanes[l]);
        F_COPY(lanes[l], u);
    }
    F_COPY(lanes[0], t);
    VF_T inv;
    VF_FROM_LANES(&inv, lanes);

    for (size_t g = G; g-- > 0;) {
        uint64_t *dbuf[8];
        uint64_t *const *dp;
        VF_T bx, by, ie, lam, x3, y3, t1;
        const VF_T *den = &sc[3 * g + 1], *num = &sc[3 * g + 2];
        unsigned nl = CV_(v_ptrs)(&dp, NULL, dbuf, NULL, dst, src, m, g);
        if (g >= MSM_VPF) CV_(v_prefetch)((const uint64_t *const *)dst, m, 8 * (g - MSM_VPF));
        VF_GATHER(&bx, &by, (const uint64_t *const *)dp);
        __mmask8 dbl = spec[2 * g], inf = spec[2 * g + 1];
        VF_MUL(&ie, &inv, &sc[3 * g]); /* 2^262 / den */
        VF_MUL(&inv, &inv, den);
        VF_MUL(&lam, num, &ie); /* slope * 2^258 */
        VF_SQR_RAW(&x3, &lam); /* slope^2 (Montgomery) */
        if (dbl) { /* x2 = x1: take den + 2 x1 - q as 2 x1 */
            VF_T s, q;
            VF_SET_Q(&q);
            VF_BLEND(&s, dbl, den, &q);
            VF_X3(&x3, &x3, &s, &bx);
        } else {
            VF_X3(&x3, &x3, den, &bx);
        }
        VF_CSUB(&x3, FV_2Q);
        VF_CSUB(&x3, FV_Q);
        VF_SUB(&t1, &bx, &x3, FV_Q);
        VF_SHL(&lam, &lam, 2);
        VF_MUL_RAW(&y3, &lam, &t1);
        VF_SUB(&y3, &y3, &by, FV_Q);
        VF_CSUB(&y3, FV_2Q);
        VF_CSUB(&y3, FV_Q);
        if (inf) {
            VF_T z;
            VF_SET_ZERO(&z);
            VF_BLEND(&x3, inf, &x3, &z);
            VF_BLEND(&y3, inf, &y3, &z);
        }
        VF_SCATTER(dp, nl, &x3, &y3);
    }
}
#endif /* FV_IFMA */

static inline void CV_(msm_signed_y)(uint64_t *y2, const uint64_t *y, unsigned neg) {
    if (neg) {
        F_NEG(y2, y);
    } else {
        F_COPY(y2, y);
    }
}

/* Entry j of a flushed batch, given the running inverse of its lane: bucket += point. For a
 * negated point the slope's sign is folded into the formulas (lam' = -lam = (y2 + y1)/(x2 - x1),
 * y3 = lam' (x3 - x1) - y1), so negation costs nothing. */
static inline void CV_(msm_apply1)(CV_(msm_ws) *w, const uint64_t *pts, size_t j, uint64_t *inv) {
    FE_T t, lam, x3;
    uint32_t bidx = w->bb[j];
    uint64_t *b = w->bk + PN * bidx;
    const uint64_t *p = pts + PN * (w->bi[j] >> 1);
    unsigned neg = w->bi[j] & 1;
    w->st[bidx] &= (uint8_t)~MSM_BUSY;
    if (w->kind[j] == CURVE_K_INF) {
        w->st[bidx] &= (uint8_t)~MSM_OCC;
        return;
    }
    if (w->kind[j] == CURVE_K_ADD) {
        if (neg) {
            F_ADD(lam, p + NL, b + NL);
        } else {
            F_SUB(lam, p + NL, b + NL);
        }
    } else {
        neg = 0;
        F_SQR(lam, b);
        F_DBL(t, lam);
        F_ADD(lam, lam, t);
    }
    F_MUL(t, inv, w->pre[j]); /* 1/den */
    F_MUL(inv, inv, w->den[j]);
    F_MUL(lam, lam, t);
    F_SQR(x3, lam);
    F_SUB(x3, x3, b);
    F_SUB(x3, x3, p);
    if (neg) {
        F_SUB(t, x3, b);
    } else {
        F_SUB(t, b, x3);
    }
    F_MUL(t, t, lam);
    F_SUB(b + NL, t, b + NL);
    F_COPY(b, x3);
}

/* Two plain additions (entries ja, jb of different lanes), statement by statement interleaved:
 * a field multiplication is latency-bound, and two independent ones side by side overlap in the
 * out-of-order core where one entry's long dependency chain would not. */
static inline void CV_(msm_apply2)(CV_(msm_ws) *w, const uint64_t *pts, size_t ja, size_t jb,
                                   uint64_t *inva, uint64_t *invb) {
    FE_T ta, tb, la, lb, xa, xb;
    uint64_t *ba = w->bk + PN * w->bb[ja], *bb = w->bk + PN * w->bb[jb];
    const uint64_t *pa = pts + PN * (w->bi[ja] >> 1), *pb = pts + PN * (w->bi[jb] >> 1);
    unsigned na = w->bi[ja] & 1, nb = w->bi[jb] & 1;
    w->st[w->bb[ja]] &= (uint8_t)~MSM_BUSY;
    w->st[w->bb[jb]] &= (uint8_t)~MSM_BUSY;
    if (na) {
        F_ADD(la, pa + NL, ba + NL);
    } else {
        F_SUB(la, pa + NL, ba + NL);
    }
    if (nb) {
        F_ADD(lb, pb + NL, bb + NL);
    } else {
        F_SUB(lb, pb + NL, bb + NL);
    }
    F_MUL(ta, inva, w->pre[ja]);
    F_MUL(tb, invb, w->pre[jb]);
    F_MUL(inva, inva, w->den[ja]);
    F_MUL(invb, invb, w->den[jb]);
    F_MUL(la, la, ta);
    F_MUL(lb, lb, tb);
    F_SQR(xa, la);
    F_SQR(xb, lb);
    F_SUB(xa, xa, ba);
    F_SUB(xb, xb, bb);
    F_SUB(xa, xa, pa);
    F_SUB(xb, xb, pb);
    if (na) {
        F_SUB(ta, xa, ba);
    } else {
        F_SUB(ta, ba, xa);
    }
    if (nb) {
        F_SUB(tb, xb, bb);
    } else {
        F_SUB(tb, bb, xb);
    }
    F_MUL(ta, ta, la);
    F_MUL(tb, tb, lb);
    F_SUB(ba + NL, ta, ba + NL);
    F_SUB(bb + NL, tb, bb + NL);
    F_COPY(ba, xa);
    F_COPY(bb, xb);
}

/* Apply the pending additions with one shared inversion. Entries alternate between two
 * independent prefix-product lanes, so consecutive multiplications of the forward pass do not
 * wait on each other and the backward pass can take the entries in pairs. */
static void CV_(msm_flush_s)(CV_(msm_ws) *w, const uint64_t *pts) {
    size_t m = w->m;
    if (m == 0) return;
    FE_T acc[2], inv[2], t;
    F_ONE(acc[0]);
    F_ONE(acc[1]);
    for (size_t j = 0; j < m; j++) {
        const uint64_t *b = w->bk + PN * w->bb[j];
        const uint64_t *p = pts + PN * (w->bi[j] >> 1);
        if (j + MSM_PREFETCH < m) { /* buckets and points are random accesses: hide their latency */
            CV_(msm_prefetch)(w->bk + PN * w->bb[j + MSM_PREFETCH]);
            CV_(msm_prefetch)(pts + PN * (w->bi[j + MSM_PREFETCH] >> 1));
        }
        if (F_EQ(b, p)) {
            /* rare: bucket == +-point: doubling or cancellation */
            FE_T y2;
            CV_(msm_signed_y)(y2, p + NL, w->bi[j] & 1);
            if (F_EQ(b + NL, y2)) {
                w->kind[j] = CURVE_K_DBL;
                F_DBL(w->den[j], b + NL);
            } else {
                w->kind[j] = CURVE_K_INF;
                continue;
            }
        } else {
            w->kind[j] = CURVE_K_ADD;
            F_SUB(w->den[j], p, b);
        }
        F_COPY(w->pre[j], acc[j & 1]);
        F_MUL(acc[j & 1], acc[j & 1], w->den[j]);
    }
    /* 1/acc0 = acc1/(acc0 acc1) and 1/acc1 = acc0/(acc0 acc1) */
    F_MUL(t, acc[0], acc[1]);
    F_INV(t, t);
    F_MUL(inv[0], t, acc[1]);
    F_MUL(inv[1], t, acc[0]);
    for (size_t j = m; j > 0;) {
        if (j >= 2 && w->kind[j - 1] == CURVE_K_ADD && w->kind[j - 2] == CURVE_K_ADD) {
            CV_(msm_apply2)(w, pts, j - 1, j - 2, inv[(j - 1) & 1], inv[j & 1]);
            j -= 2;
        } else {
            CV_(msm_apply1)(w, pts, j - 1, inv[(j - 1) & 1]);
            j -= 1;
        }
    }
    w->m = 0;
}

/* Apply the pending batch: on eight lanes (vbatch) when the workspace is set up for them, else
 * with msm_flush_s. */
static void CV_(msm_flush)(CV_(msm_ws) *w, const uint64_t *pts) {
#ifdef FV_IFMA
    if (w->vec) {
        size_t m = w->m;
        (void)pts; /* msm_put stored the operands */
        for (size_t j = 0; j < m; j++) w->st[w->bb[j]] &= (uint8_t)~MSM_BUSY;
        CV_(vbatch)(w->vd, w->vs, w->vn, m, (VF_T *)w->vpre, w->vspec);
        for (size_t g = 0; 8 * g < m; g++) {
            unsigned inf = w->vspec[2 * g + 1];
            for (unsigned l = 0; inf; l++, inf >>= 1)
                if (inf & 1) w->st[w->bb[8 * g + l]] &= (uint8_t)~MSM_OCC;
        }
        w->m = 0;
        return;
    }
#endif
    CV_(msm_flush_s)(w, pts);
}

/* r = k p for a small public k (the sub-range offset), double-and-add */
static void CV_(xyzz_mul_small)(CV_(xyzz) *r, const CV_(xyzz) *p, uint64_t k) {
    CV_(xyzz) acc;
    CV_(xyzz_set_inf)(&acc);
    for (int i = 63; i >= 0; i--) {
        CV_(xyzz_dbl)(&acc, &acc);
        if ((k >> i) & 1) CV_(xyzz_add)(&acc, &acc, p);
    }
    *r = acc;
}

/* bucket b += the point (index i, negated when neg) through the XYZZ side bucket */
static inline void CV_(msm_side_add)(CV_(msm_ws) *w, size_t b, const uint64_t *p, unsigned neg) {
    FE_T y2;
    CV_(msm_signed_y)(y2, p + NL, neg);
    if (w->st[b] & MSM_SIDE) {
        CV_(xyzz_madd)(&w->side[b], &w->side[b], p, y2);
    } else {
        CV_(xyzz_set_aff)(&w->side[b], p, y2);
        w->st[b] |= MSM_SIDE;
    }
}

/* Route one addition: copy into an empty bucket, batch it, or defer it when the bucket is busy.
 * Returns 1 when the batch became full. */
static inline int CV_(msm_put)(CV_(msm_ws) *w, size_t b, uint64_t in, const uint64_t *pts) {
    unsigned st = w->st[b];
    const uint64_t *p = pts + PN * (in >> 1);
    if (st & MSM_BUSY) {
        if (w->qn < w->B) {
            w->qb[w->qn] = (uint32_t)b;
            w->qi[w->qn++] = in;
        } else {
            CV_(msm_side_add)(w, b, p, in & 1);
        }
        return 0;
    }
    if (!(st & MSM_OCC)) {
        uint64_t *bk = w->bk + PN * b;
        F_COPY(bk, p);
        CV_(msm_signed_y)(bk + NL, p + NL, in & 1);
        w->st[b] = (uint8_t)(st | MSM_OCC);
        return 0;
    }
    uint64_t *bk = w->bk + PN * b;
    size_t m = w->m;
    CV_(msm_prefetch)(bk); /* both are read at the flush, ~B entries later */
    CV_(msm_prefetch)(p);
    w->bb[m] = (uint32_t)b;
    if (w->vec) { /* vbatch's operands directly */
        w->vd[m] = bk;
        w->vs[m] = p;
        if (m % 8 == 0) w->vn[m / 8] = 0;
        w->vn[m / 8] |= (uint8_t)((in & 1) << (m % 8));
    } else {
        w->bi[m] = in;
    }
    w->st[b] = (uint8_t)(st | MSM_BUSY);
    w->m = m + 1;
    return m + 1 == w->B;
}

/* Flush the batch and refill it from the queue, while that fills it. The queue holds at most B
 * entries, so refilling an empty batch cannot overflow it. */
static void CV_(msm_flush_drain)(CV_(msm_ws) *w, const uint64_t *pts) {
    do {
        CV_(msm_flush)(w, pts);
        size_t keep = 0, qn = w->qn;
        w->qn = 0;
        for (size_t t = 0; t < qn; t++) {
            size_t b = w->qb[t];
            if (w->st[b] & MSM_BUSY) { /* a second addition to a bucket of the new batch */
                w->qb[keep] = (uint32_t)b;
                w->qi[keep++] = w->qi[t];
            } else {
                (void)CV_(msm_put)(w, b, w->qi[t], pts);
            }
        }
        w->qn = keep;
    } while (w->m == w->B);
}

/* dst[j] += src[j] for j < m (affine, in place, infinity = zeros) with one shared inversion.
 * The dst are distinct. A src may be the dst of an earlier entry (smaller j): the backward pass
 * reaches that entry later, so the src is still read unchanged. */
static void CV_(aff_acc_batch)(uint64_t *const *dst, const uint64_t *const *src, size_t m,
                               FE_T *pre, FE_T *den, uint8_t *kind) {
    FE_T acc, inv, t, lam, x3;
    F_ONE(acc);
    for (size_t j = 0; j < m; j++) {
        const uint64_t *d = dst[j], *p = src[j];
        if (CV_(aff_is_inf)(p)) {
            kind[j] = CURVE_K_A; /* dst unchanged */
            continue;
        }
        if (CV_(aff_is_inf)(d)) {
            kind[j] = CURVE_K_B; /* dst = src */
            continue;
        }
        if (F_EQ(d, p)) {
            if (F_EQ(d + NL, p + NL)) {
                kind[j] = CURVE_K_DBL;
                F_DBL(den[j], d + NL);
            } else {
                kind[j] = CURVE_K_INF;
                continue;
            }
        } else {
            kind[j] = CURVE_K_ADD;
            F_SUB(den[j], p, d);
        }
        F_COPY(pre[j], acc);
        F_MUL(acc, acc, den[j]);
    }
    F_INV(inv, acc);
    for (size_t j = m; j-- > 0;) {
        uint64_t *d = dst[j];
        const uint64_t *p = src[j];
        switch (kind[j]) {
        case CURVE_K_A:
            continue;
        case CURVE_K_B:
            memcpy(d, p, PN * sizeof(uint64_t));
            continue;
        case CURVE_K_INF:
            memset(d, 0, PN * sizeof(uint64_t));
            continue;
        case CURVE_K_DBL:
            F_SQR(lam, d);
            F_DBL(t, lam);
            F_ADD(lam, lam, t);
            break;
        default:
            F_SUB(lam, p + NL, d + NL);
            break;
        }
        F_MUL(t, inv, pre[j]);
        F_MUL(inv, inv, den[j]);
        F_MUL(lam, lam, t);
        F_SQR(x3, lam);
        F_SUB(x3, x3, d);
        F_SUB(x3, x3, p);
        F_SUB(t, d, x3);
        F_MUL(t, t, lam);
        F_SUB(d + NL, t, d + NL);
        F_COPY(d, x3);
    }
}

/* aff_acc_batch over w->dst, w->src; on eight lanes, the entries with a side at infinity
 * (copies or nothing) are settled first and the others go to vbatch in their order. */
static void CV_(msm_acc_batch)(CV_(msm_ws) *w, size_t m) {
#ifdef FV_IFMA
    if (w->vec) {
        size_t k = 0;
        for (size_t j = 0; j < m; j++) {
            uint64_t *d = w->dst[j];
            const uint64_t *p = w->src[j];
            if (CV_(aff_is_inf)(p)) continue;
            if (CV_(aff_is_inf)(d)) {
                memcpy(d, p, PN * sizeof(uint64_t));
                continue;
            }
            w->dst[k] = d;
            w->src[k++] = p;
        }
        CV_(vbatch)(w->dst, w->src, NULL, k, (VF_T *)w->vpre, w->vspec);
        return;
    }
#endif
    CV_(aff_acc_batch)(w->dst, w->src, m, w->pre, w->den, w->kind);
}

/* Affine buckets: wsum = sum_b (b+1) bk[b], tot = sum_b bk[b]. The running sum is split into K
 * chains over L = H/K consecutive buckets, advanced in lockstep so that every step is one
 * batch-affine round (R_k += bucket, A_k += R_k) instead of two XYZZ additions per bucket.
 * Chain k covers buckets kL + t, t < L: sum_b (b+1) bk[b] = sum_k A_k + L sum_k k R_k. */
static void CV_(msm_reduce_affine)(CV_(msm_ws) *w, size_t H, size_t K, CV_(xyzz) *wsum,
                                   CV_(xyzz) *tot) {
    size_t L = H / K;
    uint64_t *Rk = w->rk, *Ak = w->rk + K * PN;
    memset(Rk, 0, 2 * K * PN * sizeof(uint64_t));
    /* step s adds bucket t = L-1-s to R_k and the previous R_k to A_k (one step late, so both
     * fit in one batch; the extra step s = L adds the final R_k). R entries come first: the
     * backward pass then handles A_k += R_k before R_k changes. */
    for (size_t s = 0; s <= L; s++) {
        size_t m = 0;
        for (size_t k = 0; s < L && k < K; k++) {
            size_t b = k * L + (L - 1 - s);
            if (!(w->st[b] & MSM_OCC)) continue;
            w->dst[m] = Rk + k * PN;
            w->src[m++] = w->bk + b * PN;
        }
        for (size_t k = 0; k < K; k++) {
            if (CV_(aff_is_inf)(Rk + k * PN)) continue;
            w->dst[m] = Ak + k * PN;
            w->src[m++] = Rk + k * PN;
        }
        CV_(msm_acc_batch)(w, m);
    }
    /* sum_k A_k, and sum_k k R_k by a running sum over the chains */
    CV_(xyzz) S, Rr, Acc;
    CV_(xyzz_set_inf)(&S);
    CV_(xyzz_set_inf)(&Rr);
    CV_(xyzz_set_inf)(&Acc);
    for (size_t k = K; k-- > 0;) {
        const uint64_t *a = Ak + k * PN, *r = Rk + k * PN;
        if (!CV_(aff_is_inf)(a)) CV_(xyzz_madd)(&S, &S, a, a + NL);
        if (!CV_(aff_is_inf)(r)) CV_(xyzz_madd)(&Rr, &Rr, r, r + NL);
        if (k > 0) CV_(xyzz_add)(&Acc, &Acc, &Rr);
    }
    for (size_t l = 1; l < L; l *= 2) CV_(xyzz_dbl)(&Acc, &Acc);
    CV_(xyzz_add)(wsum, &S, &Acc);
    *tot = Rr;
}

/* XYZZ side buckets: wsum = sum_b (b+1) side[b], tot = sum_b side[b]. A plain running sum, or
 * per-bucket small multiples when only a few side buckets are in use. */
static void CV_(msm_reduce_side)(CV_(msm_ws) *w, size_t H, CV_(xyzz) *wsum, CV_(xyzz) *tot) {
    size_t cnt = 0;
    for (size_t b = 0; b < H; b++) cnt += (w->st[b] & MSM_SIDE) != 0;
    CV_(xyzz_set_inf)(wsum);
    CV_(xyzz_set_inf)(tot);
    if (cnt * 16 <= H) {
        CV_(xyzz) t;
        for (size_t b = 0; b < H && cnt > 0; b++) {
            if (!(w->st[b] & MSM_SIDE)) continue;
            cnt--;
            CV_(xyzz_add)(tot, tot, &w->side[b]);
            CV_(xyzz_mul_small)(&t, &w->side[b], b + 1);
            CV_(xyzz_add)(wsum, wsum, &t);
        }
        return;
    }
    for (size_t b = H; b-- > 0;) {
        if (w->st[b] & MSM_SIDE) CV_(xyzz_add)(tot, tot, &w->side[b]);
        if (!CV_(xyzz_is_inf)(tot)) CV_(xyzz_add)(wsum, wsum, tot);
    }
}

/* Carve the workspace into 64-byte aligned arrays; returns its size (mem == NULL: size only).
 * side | bk | scalar batch (pre, den) or lane batch (vd, vs, vn, vpre, vspec) | rk | dst | src |
 * bi | qi | bb | qb | kind | st */
static size_t CV_(msm_ws_layout)(CV_(msm_ws) *w, unsigned char *mem, size_t H, size_t B,
                                 size_t K, int vec) {
    size_t off = 0;
#define MSM_TAKE(field, type, bytes)                                                           \
    do {                                                                                       \
        if (mem) w->field = (type)(void *)(mem + off);                                         \
        off += ((bytes) + 63) & ~(size_t)63;                                                   \
    } while (0)
    MSM_TAKE(side, CV_(xyzz) *, H * sizeof(CV_(xyzz)));
    MSM_TAKE(bk, uint64_t *, B ? H * PN * sizeof(uint64_t) : 0);
#ifdef FV_IFMA
    if (vec) {
        size_t groups = (B + 7) / 8;
        MSM_TAKE(vd, uint64_t **, B * sizeof(uint64_t *));
        MSM_TAKE(vs, const uint64_t **, B * sizeof(uint64_t *));
        MSM_TAKE(vn, uint8_t *, groups);
        MSM_TAKE(vpre, void *, 3 * groups * sizeof(VF_T));
        MSM_TAKE(vspec, uint8_t *, 2 * groups);
    } else
#endif
    {
        MSM_TAKE(pre, FE_T *, B * sizeof(FE_T));
        MSM_TAKE(den, FE_T *, B * sizeof(FE_T));
    }
    MSM_TAKE(rk, uint64_t *, 2 * K * PN * sizeof(uint64_t));
    MSM_TAKE(dst, uint64_t **, 2 * K * sizeof(uint64_t *));
    MSM_TAKE(src, const uint64_t **, 2 * K * sizeof(uint64_t *));
    MSM_TAKE(bi, uint64_t *, B * sizeof(uint64_t));
    MSM_TAKE(qi, uint64_t *, B * sizeof(uint64_t));
    MSM_TAKE(bb, uint32_t *, B * sizeof(uint32_t));
    MSM_TAKE(qb, uint32_t *, B * sizeof(uint32_t));
    MSM_TAKE(kind, uint8_t *, B);
    MSM_TAKE(st, uint8_t *, H);
#undef MSM_TAKE
    if (mem) {
        w->m = w->qn = 0;
        w->B = B;
        w->vec = vec;
        memset(w->st, 0, H);
    }
    return off;
}

static void CV_(msm_item)(void *vctx, size_t item) {
    CV_(msm_ctx) *x = vctx;
    const msm_plan_t *pl = &x->pl;
    size_t n = x->n, H = pl->H, B = pl->batch, K = x->K;
    size_t wi = item / pl->S, lo = (item % pl->S) * H;
    CV_(xyzz_set_inf)(&x->part[item]);
    size_t slot;
    unsigned char *raw, *mem = msm_pool_take(x->pool, &slot, &raw);
    if (!mem) return;
    CV_(msm_ws) w;
    (void)CV_(msm_ws_layout)(&w, mem, H, B, K, x->vec);

    const uint64_t *pts = x->p;
    const uint16_t *dg = x->dig + wi * x->stride;
    int half = 1 << (pl->c - 1);
    /* Select this item's digits in chunks without branches (which sub-range a digit falls in is
     * random, so a branch per digit would mispredict often), then route the selected ones. */
    uint32_t selb[MSM_SCAN];
    uint64_t seli[MSM_SCAN];
    for (size_t i0 = 0; i0 < n; i0 += MSM_SCAN) {
        size_t i1 = n - i0 < MSM_SCAN ? n : i0 + MSM_SCAN, cnt = 0;
        for (size_t i = i0; i < i1; i++) {
            int d = (int)dg[i] - half;
            unsigned neg = (unsigned)d >> 31;
            size_t b = (size_t)((d ^ -(int)neg) + (int)neg) - 1 - lo; /* |d| - 1 - lo; wraps when out */
            selb[cnt] = (uint32_t)b;
            seli[cnt] = (uint64_t)i << 1 | neg;
            cnt += (b < H) & ~(x->inf[i >> 6] >> (i & 63)) & 1;
        }
        for (size_t t = 0; t < cnt; t++) {
            if (!B) {
                CV_(msm_side_add)(&w, selb[t], pts + PN * (seli[t] >> 1), seli[t] & 1);
            } else if (CV_(msm_put)(&w, selb[t], seli[t], pts)) {
                CV_(msm_flush_drain)(&w, pts);
            }
        }
    }
    if (B) {
        /* drain the queue with further rounds while they are worth an inversion; leftovers
         * (concentrated inputs) go to the side buckets */
        for (;;) {
            CV_(msm_flush_drain)(&w, pts);
            if (w.m == 0) break;                /* then nothing was busy: the queue is empty */
            if (w.m >= MSM_MIN_ROUND) continue; /* a round worth its inversion */
            for (size_t t = 0; t < w.qn; t++)
                CV_(msm_side_add)(&w, w.qb[t], pts + PN * (w.qi[t] >> 1), w.qi[t] & 1);
            w.qn = 0;
            CV_(msm_flush)(&w, pts);
            break;
        }
    }

    /* part = sum_b (lo + b + 1) (bk[b] + side[b]) */
    CV_(xyzz) A, T, A2, T2;
    CV_(msm_reduce_side)(&w, H, &A, &T);
    if (B) {
        CV_(msm_reduce_affine)(&w, H, K, &A2, &T2);
        CV_(xyzz_add)(&A, &A, &A2);
        CV_(xyzz_add)(&T, &T, &T2);
    }
    if (lo) {
        CV_(xyzz_mul_small)(&T, &T, lo);
        CV_(xyzz_add)(&A, &A, &T);
    }
    x->part[item] = A;
    msm_pool_give(x->pool, slot, raw);
}

/* This group's window size for n points (IFMA builds on IFMA CPUs run cheaper additions: larger
 * sub-ranges, so each window's digits are scanned once, and batches). */
static unsigned CV_(msm_window)(size_t n) {
#ifdef FV_IFMA
    if (fv_have_ifma()) return msm_choose_c(n, CV_MSM_MAX_H_V, CV_MSM_BATCH_V);
#endif
    return msm_choose_c(n, CV_MSM_MAX_H, CV_MSM_BATCH);
}

static void CV_(msm_release)(CV_(msm_ctx) *x) {
    free(x->part);
    free(x->inf);
    x->part = NULL;
    x->inf = NULL;
}

#define MSM_INF_CHUNK 4096 /* points per item of the infinity scan (a multiple of 64) */

static void CV_(msm_inf_item)(void *vctx, size_t item) {
    CV_(msm_ctx) *x = vctx;
    size_t i0 = item * MSM_INF_CHUNK, i1 = i0 + MSM_INF_CHUNK;
    if (i1 > x->n) i1 = x->n;
    for (size_t w0 = i0; w0 < i1; w0 += 64) {
        uint64_t bits = 0;
        for (size_t i = w0; i < w0 + 64 && i < i1; i++)
            bits |= (uint64_t)CV_(aff_is_inf)(x->p + PN * i) << (i - w0);
        x->inf[w0 / 64] = bits;
    }
}

/* Set up x for n points p with window size c over digits dig (stride as in msm_recode, offset
 * to this MSM's first scalar); returns its work items, or 0 when out of memory. *ws_size gets
 * the workspace it needs. */
static size_t CV_(msm_prepare)(CV_(msm_ctx) *x, const uint64_t *p, size_t n, unsigned c,
                               const uint16_t *dig, size_t stride, msm_pool *pool,
                               size_t *ws_size) {
    int threads = zk_threads();
    size_t max_h = CV_MSM_MAX_H, batch_max = CV_MSM_BATCH;
    int vec = 0;
#ifdef FV_IFMA
    if (fv_have_ifma()) {
        vec = 1;
        max_h = CV_MSM_MAX_H_V;
        batch_max = CV_MSM_BATCH_V;
    }
#endif
    msm_plan_t pl = msm_plan_c(c, n, threads, max_h, batch_max);
    /* chains of the affine reduction: 2K <= B entries per round, at least 2 buckets per chain */
    size_t K = pl.batch / 2 < MSM_CHAINS ? pl.batch / 2 : MSM_CHAINS;
    if (K > pl.H / 2) K = pl.H / 2;
    vec = vec && pl.batch > 0;
    size_t items = (size_t)pl.W * pl.S;
    CV_(msm_ctx) init = {p, dig, stride, n, pl, K, vec, malloc(items * sizeof(CV_(xyzz))), pool,
                         malloc((n + 63) / 64 * sizeof(uint64_t))};
    *x = init;
    *ws_size = CV_(msm_ws_layout)(NULL, NULL, pl.H, pl.batch, K, vec);
    if (!x->part || !x->inf) {
        CV_(msm_release)(x);
        return 0;
    }
    curve_run((n + MSM_INF_CHUNK - 1) / MSM_INF_CHUNK, CV_(msm_inf_item), x, pl.parallel);
    return items;
}

/* out = the sum of the parts (windows by Horner's rule), affine */
static void CV_(msm_finish)(uint64_t *out, CV_(msm_ctx) *x) {
    const msm_plan_t *pl = &x->pl;
    CV_(xyzz) acc;
    CV_(xyzz_set_inf)(&acc);
    for (size_t wi = pl->W; wi-- > 0;) {
        for (unsigned s = 0; s < pl->c; s++) CV_(xyzz_dbl)(&acc, &acc);
        for (size_t s = 0; s < pl->S; s++) CV_(xyzz_add)(&acc, &acc, &x->part[wi * pl->S + s]);
    }
    CV_(xyzz_to_aff)(out, &acc);
}

/* out = sum k[i] p[i] (affine); k is reduced mod r. Returns ZKAGG_OK or ZKAGG_ERR_ALLOC. */
static int CV_(msm)(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    memset(out, 0, PN * sizeof(uint64_t));
    if (n == 0) return ZKAGG_OK;
    unsigned c = CV_(msm_window)(n);
    int parallel = n >= 64;
    uint16_t *dig = msm_recode(k, n, c, parallel);
    if (!dig) return ZKAGG_ERR_ALLOC;
    msm_pool pool;
    CV_(msm_ctx) x;
    size_t ws_size, items = CV_(msm_prepare)(&x, p, n, c, dig, n, &pool, &ws_size);
    size_t n_ws = parallel ? (size_t)zk_threads() : 1;
    if (n_ws > items) n_ws = items;
    int ok = items > 0 && msm_pool_init(&pool, n_ws, ws_size);
    if (ok) {
        curve_run(items, CV_(msm_item), &x, parallel);
        ok = !__atomic_load_n(&pool.err, __ATOMIC_RELAXED);
    }
    if (items > 0) {
        msm_pool_free(&pool);
        if (ok) CV_(msm_finish)(out, &x);
        CV_(msm_release)(&x);
    }
    free(dig);
    return ok ? ZKAGG_OK : ZKAGG_ERR_ALLOC;
}
