/* Internal template (no include guard, instantiated after curve.h by g1.h and g2.h): Pippenger
 * multi-scalar multiplication, sum k[i] p[i]. Not constant-time (branches and memory accesses
 * follow the scalar digits): never use it with secret scalars.
 *
 * Extra parameters from the includer: CV_MSM_MAX_H (most buckets per work item, sized so one
 * item's affine buckets stay in L2) and CV_MSM_BATCH (largest batch-affine batch).
 *
 * Outline
 *  1. Recode every scalar into W signed c-bit digits (curve_common.h), window-major.
 *  2. Work items = (window, bucket sub-range): each scans its window's digits and accumulates the
 *     points into its 2^(c-1)/S buckets (|digit| selects the bucket, the sign negates y).
 *     Buckets are affine; additions are collected into a batch that shares one inversion
 *     (batch-affine: 6M per addition instead of 10M for XYZZ mixed addition). A point meeting
 *     a bucket that already has a pending addition waits in a queue for the next batch; when
 *     the queue is full (inputs concentrated on few buckets, e.g. many equal scalars) it goes
 *     to an XYZZ side bucket instead, so no input can serialize the batches.
 *     Small MSMs (batch = 0) use the XYZZ buckets only.
 *  3. Each item reduces its buckets with a running sum, sum_b (b+1) B_b, corrected by lo * sum B_b
 *     for sub-ranges that start at bucket lo.
 *  4. Window sums are combined by Horner's rule with c doublings per window. */

typedef struct {
    const uint64_t *p;
    const uint16_t *dig;
    size_t n;
    msm_plan_t pl;
    CV_(xyzz) *part; /* one partial sum per work item */
    int err;         /* set (atomically) when an item could not allocate */
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
} CV_(msm_ws);

static inline void CV_(msm_signed_y)(uint64_t *y2, const uint64_t *y, unsigned neg) {
    if (neg) {
        F_NEG(y2, y);
    } else {
        F_COPY(y2, y);
    }
}

static inline void CV_(msm_prefetch)(const uint64_t *pt) {
    for (size_t l = 0; l < PN; l += 8) __builtin_prefetch(pt + l);
}

/* Apply the pending additions bucket += point with one shared inversion. For a negated point
 * the slope's sign is folded into the formulas (lam' = -lam = (y2 + y1)/(x2 - x1),
 * y3 = lam' (x3 - x1) - y1), so negation costs nothing. */
static void CV_(msm_flush)(CV_(msm_ws) *w, const uint64_t *pts) {
    size_t m = w->m;
    if (m == 0) return;
    FE_T acc, inv, t, lam, x3;
    F_ONE(acc);
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
        F_COPY(w->pre[j], acc);
        F_MUL(acc, acc, w->den[j]);
    }
    F_INV(inv, acc);
    for (size_t j = m; j-- > 0;) {
        uint32_t bidx = w->bb[j];
        uint64_t *b = w->bk + PN * bidx;
        const uint64_t *p = pts + PN * (w->bi[j] >> 1);
        unsigned neg = w->bi[j] & 1;
        w->st[bidx] &= (uint8_t)~MSM_BUSY;
        if (w->kind[j] == CURVE_K_INF) {
            w->st[bidx] &= (uint8_t)~MSM_OCC;
            continue;
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
    w->m = 0;
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
    CV_(msm_prefetch)(w->bk + PN * b);
    w->bb[w->m] = (uint32_t)b;
    w->bi[w->m] = in;
    w->st[b] = (uint8_t)(st | MSM_BUSY);
    return ++w->m == w->B;
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

static void CV_(msm_item)(void *vctx, size_t item) {
    CV_(msm_ctx) *x = vctx;
    const msm_plan_t *pl = &x->pl;
    size_t n = x->n, H = pl->H, B = pl->batch;
    size_t wi = item / pl->S, lo = (item % pl->S) * H;
    CV_(msm_ws) w;
    /* one allocation: side | bk | pre | den | bi | qi | bb | qb | kind | st */
    size_t sz_side = H * sizeof(CV_(xyzz)), sz_bk = B ? H * PN * sizeof(uint64_t) : 0;
    size_t sz_batch = B * (2 * sizeof(FE_T) + 2 * sizeof(uint64_t) + 2 * sizeof(uint32_t) + 1);
    unsigned char *mem = malloc(sz_side + sz_bk + sz_batch + H);
    CV_(xyzz_set_inf)(&x->part[item]);
    if (!mem) {
        __atomic_store_n(&x->err, 1, __ATOMIC_RELAXED);
        return;
    }
    w.side = (CV_(xyzz) *)mem;
    w.bk = (uint64_t *)(mem + sz_side);
    w.pre = (FE_T *)(mem + sz_side + sz_bk);
    w.den = w.pre + B;
    w.bi = (uint64_t *)(w.den + B);
    w.qi = w.bi + B;
    w.bb = (uint32_t *)(w.qi + B);
    w.qb = w.bb + B;
    w.kind = (uint8_t *)(w.qb + B);
    w.st = w.kind + B;
    w.m = w.qn = 0;
    w.B = B;
    memset(w.st, 0, H);

    const uint64_t *pts = x->p;
    const uint16_t *dg = x->dig + wi * n;
    int half = 1 << (pl->c - 1);
    for (size_t i = 0; i < n; i++) {
        int d = (int)dg[i] - half;
        if (d == 0) continue;
        unsigned neg = d < 0;
        size_t b = (size_t)(neg ? -d : d) - 1 - lo; /* wraps above H when below lo */
        if (b >= H) continue;
        if (!B) {
            CV_(msm_side_add)(&w, b, pts + PN * i, neg);
        } else if (CV_(msm_put)(&w, b, (uint64_t)i << 1 | neg, pts)) {
            CV_(msm_flush_drain)(&w, pts);
        }
    }
    if (B) {
        /* one more round for the queue, then the leftovers (all aimed at buckets of the last
         * batch: concentrated inputs) go to the side buckets rather than into tiny batches */
        CV_(msm_flush_drain)(&w, pts);
        for (size_t t = 0; t < w.qn; t++) CV_(msm_side_add)(&w, w.qb[t], pts + PN * (w.qi[t] >> 1), w.qi[t] & 1);
        w.qn = 0;
        CV_(msm_flush)(&w, pts);
    }

    /* running sum from the top bucket: R = sum_{b' >= b} B_b', A = sum_b R_b */
    CV_(xyzz) R, A;
    CV_(xyzz_set_inf)(&R);
    CV_(xyzz_set_inf)(&A);
    for (size_t b = H; b-- > 0;) {
        unsigned st = w.st[b];
        if (st & MSM_OCC) CV_(xyzz_madd)(&R, &R, w.bk + PN * b, w.bk + PN * b + NL);
        if (st & MSM_SIDE) CV_(xyzz_add)(&R, &R, &w.side[b]);
        CV_(xyzz_add)(&A, &A, &R);
    }
    if (lo) {
        CV_(xyzz_mul_small)(&R, &R, lo);
        CV_(xyzz_add)(&A, &A, &R);
    }
    x->part[item] = A;
    free(mem);
}

/* out = sum k[i] p[i] (affine); k is reduced mod r. Returns ZKAGG_OK or ZKAGG_ERR_ALLOC. */
static int CV_(msm)(uint64_t *out, const uint64_t *p, const uint64_t *k, size_t n) {
    if (n == 0) {
        memset(out, 0, PN * sizeof(uint64_t));
        return ZKAGG_OK;
    }
    msm_plan_t pl = msm_plan(n, zk_threads(), CV_MSM_MAX_H, CV_MSM_BATCH);
    size_t items = (size_t)pl.W * pl.S;
    uint16_t *dig = malloc((size_t)pl.W * n * sizeof(uint16_t));
    CV_(xyzz) *part = malloc(items * sizeof(CV_(xyzz)));
    if (!dig || !part) {
        free(dig);
        free(part);
        return ZKAGG_ERR_ALLOC;
    }
    msm_recode_ctx rc = {k, p, PN, n, pl.c, pl.W, {0, 0, 0, 0, 0}, dig};
    msm_offset_const(rc.offs, pl.c, pl.W);
    curve_run((n + MSM_RECODE_CHUNK - 1) / MSM_RECODE_CHUNK, msm_recode_item, &rc, pl.parallel);

    CV_(msm_ctx) x = {p, dig, n, pl, part, 0};
    curve_run(items, CV_(msm_item), &x, pl.parallel);
    int rc_ok = !__atomic_load_n(&x.err, __ATOMIC_RELAXED);
    if (rc_ok) {
        CV_(xyzz) acc;
        CV_(xyzz_set_inf)(&acc);
        for (size_t wi = pl.W; wi-- > 0;) {
            for (unsigned s = 0; s < pl.c; s++) CV_(xyzz_dbl)(&acc, &acc);
            for (size_t s = 0; s < pl.S; s++) CV_(xyzz_add)(&acc, &acc, &part[wi * pl.S + s]);
        }
        CV_(xyzz_to_aff)(out, &acc);
    }
    free(dig);
    free(part);
    return rc_ok ? ZKAGG_OK : ZKAGG_ERR_ALLOC;
}
