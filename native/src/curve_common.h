/* Internal: helpers shared by the G1 and G2 instantiations of curve.h and msm.h (scalar recoding,
 * MSM planning, running work items). Nothing here depends on the coordinate field.
 * Not constant-time: everything branches on scalar digits. */
#ifndef ZKAGG_CURVE_COMMON_H
#define ZKAGG_CURVE_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "parallel.h"

#define CURVE_CAT_(a, b) a##_##b
#define CURVE_CAT(a, b) CURVE_CAT_(a, b)

/* Run fn over the items, on the worker threads when `parallel` and there is more than one item.
 * zk_parallel_for still completes every item when it could not start threads. */
static inline void curve_run(size_t n_items, zk_task_fn fn, void *ctx, int parallel) {
    if (parallel && n_items > 1 && zk_threads() > 1) {
        (void)zk_parallel_for(n_items, fn, ctx);
    } else {
        for (size_t i = 0; i < n_items; i++) fn(ctx, i);
    }
}

/* Lower *best to v unless it is already lower (first-bad-index searches). */
static inline void curve_atomic_min(int64_t *best, int64_t v) {
    int64_t cur = __atomic_load_n(best, __ATOMIC_RELAXED);
    while ((cur < 0 || v < cur) &&
           !__atomic_compare_exchange_n(best, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* k mod r for any 256-bit k (k < 2^256 < 6r, so a few subtractions). */
static inline void curve_scalar_reduce(uint64_t o[4], const uint64_t k[4]) {
    fe_copy(o, k);
    while (!fe_lt(o, FR_P)) {
        uint64_t borrow = 0;
        for (int i = 0; i < 4; i++) {
            u128 d = (u128)o[i] - FR_P[i] - borrow;
            o[i] = (uint64_t)d;
            borrow = (uint64_t)(d >> 64) & 1;
        }
    }
}

/* Signed 5-bit digits of a full 256-bit k, least significant first: k = sum d[j] 2^(5j),
 * d[j] in [-15, 16]. 52 digits cover 260 bits, so the final carry always lands in d[51]. */
#define CURVE_W5_DIGITS 52
static inline void curve_recode_w5(int8_t d[CURVE_W5_DIGITS], const uint64_t k[4]) {
    unsigned carry = 0;
    for (int j = 0; j < CURVE_W5_DIGITS; j++) {
        unsigned bit = 5u * (unsigned)j, limb = bit / 64, off = bit % 64;
        uint64_t v = limb < 4 ? k[limb] >> off : 0;
        if (off > 59 && limb + 1 < 4) v |= k[limb + 1] << (64 - off);
        unsigned raw = (unsigned)(v & 31) + carry;
        carry = raw > 16;
        d[j] = (int8_t)(carry ? (int)raw - 32 : (int)raw);
    }
}

/* block sizes of the array kernels (curve.h) */
#define CURVE_BLK 256      /* affine additions sharing one inversion */
#define CURVE_MUL_BLK 64   /* scalar multiplications normalized together */

/* kinds of a pending affine addition */
enum { CURVE_K_ADD, CURVE_K_DBL, CURVE_K_A, CURVE_K_B, CURVE_K_INF };

/* ---- MSM planning and digits ----
 * Signed c-bit windows without a carry chain: with K = k + sum_j 2^(jc + c - 1), window j of K
 * minus 2^(c-1) is digit j of k, in [-2^(c-1), 2^(c-1)). Every window is then independent, and
 * |digit| needs 2^(c-1) buckets. W = ceil(255 / c) windows hold K because k < r < 0.76 * 2^254.
 * Digits are stored window-major as uint16 "raw" = digit + 2^(c-1), so c <= 16. */
#define MSM_MAX_C 16

#define MSM_PREFETCH 8   /* batch entries ahead */
#define MSM_VPF 2        /* groups of eight ahead, in the lane batches */
#define MSM_SCAN 256     /* digits selected per chunk */
#define MSM_CHAINS 256   /* running-sum chains of the batch-affine bucket reduction */
#define MSM_MIN_ROUND 32 /* smallest batch worth its own inversion when draining the queue */

/* bucket state bits (msm.h) */
#define MSM_OCC 1u  /* the affine bucket holds a point */
#define MSM_BUSY 2u /* the bucket has an addition pending in the current batch */
#define MSM_SIDE 4u /* the XYZZ side bucket holds a sum */

typedef struct {
    unsigned c;      /* window bits */
    unsigned W;      /* windows */
    unsigned S;      /* bucket sub-ranges per window (work items = W * S) */
    size_t H;        /* buckets per sub-range */
    size_t batch;    /* batch-affine batch size, 0 = XYZZ buckets only */
    int parallel;
} msm_plan_t;

static inline unsigned msm_windows(unsigned c) { return (255 + c - 1) / c; }

/* Pick the window from an operation-count model, in field multiplications: per window, each
 * point costs one bucket addition (10 as an XYZZ mixed addition, 6.6 as a batch-affine one plus
 * its share of the batch inversion, ~380 / B) and each bucket costs two additions of the running
 * sum (24 in XYZZ, 14 in batch-affine chains). Measured optima agree (c = 13 at 2^16, 15 at
 * 2^18, 16 at 2^20; batch-affine pays from about 2^11 points). */
static inline unsigned msm_choose_c(size_t n, size_t max_h, size_t batch_max) {
    double best = -1;
    unsigned best_c = 2;
    for (unsigned c = 2; c <= MSM_MAX_C; c++) {
        size_t nb = (size_t)1 << (c - 1), h = nb < max_h ? nb : max_h;
        size_t b = h / 4 < batch_max ? h / 4 : batch_max;
        for (int mode = 0; mode < 2; mode++) {
            if (mode && b < 64) continue; /* small batches: the inversion dominates */
            double a_cost = mode ? 6.6 + 380.0 / (double)b : 10.0, red_cost = mode ? 14.0 : 24.0;
            double cost = (double)msm_windows(c) * ((double)n * a_cost + red_cost * (double)nb + 9.0 * c);
            if (best < 0 || cost < best) {
                best = cost;
                best_c = c;
            }
        }
    }
    return best_c;
}

/* The rest of the plan for window size c: `max_h` caps buckets per work item (sub-ranges of
 * one window), the batch is at most a quarter of them (bucket conflicts) and batch-affine
 * only where batches of 64 pay for their inversion. */
static inline msm_plan_t msm_plan_c(unsigned c, size_t n, int threads, size_t max_h,
                                    size_t batch_max) {
    msm_plan_t pl;
    pl.c = c;
    pl.W = msm_windows(c);
    size_t nb = (size_t)1 << (c - 1);
    pl.S = 1;
    while (nb / pl.S > max_h) pl.S *= 2;
    /* enough items for the dynamic scheduler to balance the threads */
    while (pl.W * pl.S < 4u * (unsigned)threads && nb / pl.S >= 4096) pl.S *= 2;
    pl.H = nb / pl.S;
    /* the model's choice between the bucket modes, with this plan's batch */
    size_t b = pl.H / 4 < batch_max ? pl.H / 4 : batch_max;
    double affine = (double)n * (6.6 + 380.0 / (double)b) + 14.0 * (double)nb;
    pl.batch = b >= 64 && affine < (double)n * 10.0 + 24.0 * (double)nb ? b : 0;
    pl.parallel = n >= 64;
    return pl;
}

/* K = (k mod r) + offs as 5 limbs (the offset constant is below 2^(W c) <= 2^(255+c)). */
static inline void msm_offset_scalar(uint64_t K[5], const uint64_t k[4], const uint64_t offs[5]) {
    uint64_t kr[4];
    curve_scalar_reduce(kr, k);
    u128 c = 0;
    for (int i = 0; i < 5; i++) {
        c += (u128)(i < 4 ? kr[i] : 0) + offs[i];
        K[i] = (uint64_t)c;
        c >>= 64;
    }
}

static inline void msm_offset_const(uint64_t offs[5], unsigned c, unsigned W) {
    memset(offs, 0, 5 * sizeof(uint64_t));
    for (unsigned j = 0; j < W; j++) {
        unsigned bit = j * c + c - 1;
        offs[bit / 64] |= (uint64_t)1 << (bit % 64);
    }
}

typedef struct {
    const uint64_t *k;   /* scalars */
    size_t n;
    unsigned c, W;
    uint64_t offs[5];
    uint16_t *dig;       /* W * n */
} msm_recode_ctx;

#define MSM_RECODE_CHUNK 1024 /* scalars per item: their offset forms (48 KiB) stay in L1/L2 */

/* Zero scalars get the zero digit everywhere, so the MSM skips them (points at infinity are
 * skipped through a bitmap). The chunk's offset scalars are made first, then each window's
 * digits are written as one contiguous run. A window (c <= 16 bits) lies within the 32-bit
 * word at its first byte, so a digit is one unaligned load, a shift and a mask. */
static void msm_recode_item(void *vctx, size_t item) {
    msm_recode_ctx *x = vctx;
    size_t i0 = item * MSM_RECODE_CHUNK, m = x->n - i0 < MSM_RECODE_CHUNK ? x->n - i0 : MSM_RECODE_CHUNK;
    unsigned c = x->c, W = x->W;
    uint32_t mask = (1u << c) - 1;
    uint64_t K[MSM_RECODE_CHUNK][6]; /* a word of padding for the last loads */
    for (size_t t = 0; t < m; t++) {
        const uint64_t *k = x->k + 4 * (i0 + t);
        if (fe_is_zero(k)) {
            memcpy(K[t], x->offs, 5 * sizeof(uint64_t)); /* all digits zero */
        } else {
            msm_offset_scalar(K[t], k, x->offs);
        }
        K[t][5] = 0;
    }
    for (unsigned j = 0, bit = 0; j < W; j++, bit += c) {
        uint16_t *d = x->dig + (size_t)j * x->n + i0;
        unsigned byte = bit >> 3, sh = bit & 7;
        for (size_t t = 0; t < m; t++) {
            uint32_t v;
            memcpy(&v, (const unsigned char *)K[t] + byte, 4);
            d[t] = (uint16_t)((v >> sh) & mask);
        }
    }
}

/* The signed digits of n scalars for windows of c bits, window-major (window j of scalar i at
 * j * n + i); NULL when out of memory. */
static uint16_t *msm_recode(const uint64_t *k, size_t n, unsigned c, int parallel) {
    unsigned W = msm_windows(c);
    uint16_t *dig = malloc((size_t)W * n * sizeof(uint16_t));
    if (!dig) return NULL;
    msm_recode_ctx rc = {k, n, c, W, {0, 0, 0, 0, 0}, dig};
    msm_offset_const(rc.offs, c, W);
    curve_run((n + MSM_RECODE_CHUNK - 1) / MSM_RECODE_CHUNK, msm_recode_item, &rc, parallel);
    return dig;
}

/* One workspace per thread for the items of one or several MSMs run together: an item takes a
 * free one and gives it back. At most `n` items run at once, so one is always free; a private
 * allocation is only the fallback should the thread count have changed meanwhile. */
typedef struct {
    unsigned char **ws;
    int *busy;
    size_t n, size;
    int err; /* set (atomically) when an item could not get a workspace */
} msm_pool;

static int msm_pool_init(msm_pool *p, size_t n, size_t size) {
    p->n = n;
    p->size = size + 64; /* room to align to a cache line */
    p->err = 0;
    p->ws = calloc(n, sizeof(unsigned char *));
    p->busy = calloc(n, sizeof(int));
    int ok = p->ws && p->busy;
    for (size_t i = 0; ok && i < n; i++) ok = (p->ws[i] = malloc(p->size)) != NULL;
    return ok;
}

static void msm_pool_free(msm_pool *p) {
    for (size_t i = 0; p->ws && i < p->n; i++) free(p->ws[i]);
    free(p->ws);
    free(p->busy);
}

/* a workspace aligned to 64 bytes (NULL: out of memory, recorded in err); *slot says whose */
static unsigned char *msm_pool_take(msm_pool *p, size_t *slot, unsigned char **raw) {
    size_t s = 0;
    while (s < p->n && __atomic_exchange_n(&p->busy[s], 1, __ATOMIC_ACQUIRE)) s++;
    *slot = s;
    *raw = s < p->n ? p->ws[s] : malloc(p->size);
    if (!*raw) {
        __atomic_store_n(&p->err, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    return *raw + ((64 - ((uintptr_t)*raw & 63)) & 63);
}

static void msm_pool_give(msm_pool *p, size_t slot, unsigned char *raw) {
    if (slot < p->n) {
        __atomic_store_n(&p->busy[slot], 0, __ATOMIC_RELEASE);
    } else {
        free(raw);
    }
}

#endif
