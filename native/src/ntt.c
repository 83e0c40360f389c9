/* NTT over F_r (BN254 scalar field): in place, natural order in and out. Not constant-time.
 *
 * Design
 *  - Arrays hold canonical values and every constant (twiddles, 1/n, coset powers) is kept in
 *    Montgomery form, so fr_mul(x, c*R) = x*c stays canonical: no conversion passes.
 *  - Both directions run one kernel: Cooley-Tukey, natural in and bit-reversed out, in which all
 *    butterflies of block b of a stage share one twiddle Z[b] = w_{2^(s+1)}^rev_s(b) (any s with
 *    b < 2^s gives the same value). Z depends on neither n nor the stage, so one cached table
 *    serves every size, and Z[b]^-1 = -Z[b'] for the mirror image b' of b inside its octave
 *    [2^m, 2^(m+1)), so the inverse reads the same table backwards with the butterfly outputs
 *    swapped. A bit-reversal pass then gives natural order; it also applies 1/n and the inverse
 *    coset factors, so they cost no extra pass. The forward coset factors g^i are applied as the
 *    first pass loads the data. Coset and inverse thus cost 1-2 extra multiplications per
 *    element over the ~(log2(n) - 2)/2 of the transform.
 *  - Locality: the first stages (spans >= one block) run as column passes: a group of
 *    NTT_COL_W adjacent columns of the rows at stride S is copied to a buffer in L1, up to
 *    NTT_COL_MAXK stages are done there, and it is written back. The remaining stages run on
 *    contiguous blocks of 2^NTT_BLOCK_LOG elements (512 KiB, in L2). So a large transform streams
 *    the array about three times: column pass, block pass, bit reversal. All three are split
 *    across threads with zk_parallel_for.
 *  - The table holds n/2 entries for the largest n transformed so far (16 MiB at 2^20), kept
 *    for the life of the process: it grows by whole octaves under a mutex, and an octave is
 *    never moved or freed, so readers need no lock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "parallel.h"
#include "zkagg.h"

#define NTT_MAX_LOG 28
#define NTT_OCTAVES (NTT_MAX_LOG - 1) /* octave m holds Z[2^m .. 2^(m+1)); 2^28 needs m <= 26 */
/* Tuning knobs; tests shrink them to reach every pass structure at small sizes. */
#ifndef NTT_SERIAL_LOG
#define NTT_SERIAL_LOG 11 /* up to 2^11 elements thread start-up costs more than it saves */
#endif
#ifndef NTT_BLOCK_LOG
#define NTT_BLOCK_LOG 14 /* block pass: contiguous blocks of 512 KiB, in L2 */
#endif
#ifndef NTT_L1_LOG
#define NTT_L1_LOG 10 /* and its last stages on sub-blocks of 32 KiB, in L1 */
#endif
#ifndef NTT_COL_W
#define NTT_COL_W 8 /* column pass: columns per group, one 256-byte row */
#endif
#ifndef NTT_COL_MAXK
#define NTT_COL_MAXK 7 /* column pass: at most 2^7 rows x 8 columns = 32 KiB */
#endif
#ifndef NTT_TILE_LOG
#define NTT_TILE_LOG 4 /* bit reversal swaps 16x16 tiles of 512-byte rows */
#endif
#define NTT_FILL_CHUNK 4096 /* table entries per parallel work item */

/* w_{2^28} = 5^((r-1)/2^28), canonical */
static const uint64_t NTT_W28[4] = {0x9bd61b6e725b19f0ULL, 0x402d111e41112ed4ULL,
                                    0x00e0a7eb8ef62abcULL, 0x2a3c09f0a58a7e85ULL};
#define NTT_COSET_GEN 5

static _Atomic(uint64_t *) ntt_oct[NTT_OCTAVES];
static pthread_mutex_t ntt_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    const uint64_t *oct[NTT_OCTAVES];
} ntt_table;

static inline unsigned ntt_msb(size_t b) { return 63u - (unsigned)__builtin_clzll((unsigned long long)b); }

/* Z[b] for b >= 1 */
static inline const uint64_t *ntt_z(const ntt_table *t, size_t b) {
    unsigned m = ntt_msb(b);
    return t->oct[m] + 4 * (b - ((size_t)1 << m));
}

static inline uint32_t ntt_rev32(uint32_t v) {
    v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
    v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
    v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(v);
}
static inline size_t ntt_rev(size_t v, unsigned bits) {
    return bits ? (size_t)(ntt_rev32((uint32_t)v) >> (32 - bits)) : 0;
}

/* ---- twiddle table ---- */

typedef struct {
    uint64_t *dst;
    const ntt_table *tab;
    const uint64_t *w; /* w_{2^(m+2)}, Montgomery */
    size_t len;
} ntt_fill_ctx;

/* Octave m is w_{2^(m+2)} * Z[0 .. 2^m): rev_{m+1}(2^m + j) = 1 + 2 rev_m(j). */
static void ntt_fill_task(void *p, size_t item) {
    const ntt_fill_ctx *c = p;
    size_t lo = item * NTT_FILL_CHUNK, hi = lo + NTT_FILL_CHUNK;
    if (hi > c->len) hi = c->len;
    fe w;
    fe_copy(w, c->w);
    for (size_t j = lo; j < hi; j++) {
        if (j == 0)
            fe_copy(c->dst, w);
        else
            fr_mul(c->dst + 4 * j, ntt_z(c->tab, j), w);
    }
}

/* Make octaves 0 .. log_n-2 exist and snapshot their pointers into t. */
static int ntt_table_get(ntt_table *t, unsigned log_n) {
    memset(t, 0, sizeof *t);
    if (log_n < 2) return ZKAGG_OK;
    unsigned top = log_n - 2;
    if (!atomic_load_explicit(&ntt_oct[top], memory_order_acquire)) {
        int rc = ZKAGG_OK;
        pthread_mutex_lock(&ntt_lock);
        fe w;
        fr_to_mont(w, NTT_W28);
        for (unsigned m = 0; m <= top; m++) {
            if (atomic_load_explicit(&ntt_oct[m], memory_order_acquire)) continue;
            /* w_{2^(m+2)} = w_{2^28}^(2^(26-m)) */
            fe wm;
            fe_copy(wm, w);
            for (unsigned i = m + 2; i < NTT_MAX_LOG; i++) fr_sqr(wm, wm);
            size_t len = (size_t)1 << m;
            void *mem = NULL;
            if (posix_memalign(&mem, 64, 32 * len) != 0) {
                rc = ZKAGG_ERR_ALLOC;
                break;
            }
            ntt_table lower;
            for (unsigned i = 0; i < m; i++)
                lower.oct[i] = atomic_load_explicit(&ntt_oct[i], memory_order_relaxed);
            ntt_fill_ctx c = {mem, &lower, wm, len};
            size_t items = (len + NTT_FILL_CHUNK - 1) / NTT_FILL_CHUNK;
            if (items > 1)
                zk_parallel_for(items, ntt_fill_task, &c);
            else
                ntt_fill_task(&c, 0);
            atomic_store_explicit(&ntt_oct[m], (uint64_t *)mem, memory_order_release);
        }
        pthread_mutex_unlock(&ntt_lock);
        if (rc != ZKAGG_OK) return rc;
    }
    for (unsigned m = 0; m <= top; m++)
        t->oct[m] = atomic_load_explicit(&ntt_oct[m], memory_order_acquire);
    return ZKAGG_OK;
}

/* ---- butterflies ---- */

#if defined(__x86_64__) && !defined(NTT_NO_ASM)
/* sum = a + b, dif = a - b (mod r). All inputs are read before the outputs are written, so these
 * may alias them. gcc 12 turns the portable fr_add/fr_sub (and the carry intrinsics) into
 * setc/movzx chains with stack round trips; this is 33 plain instructions and no branch. */
static inline void ntt_addsub(uint64_t *sum, uint64_t *dif, const uint64_t *a, const uint64_t *b) {
    uint64_t s0, s1, s2, s3, d0, d1, d2, d3, t2, t3;
    uint64_t t0 = (uint64_t)(uintptr_t)a, t1 = (uint64_t)(uintptr_t)b; /* scratch once read */
    __asm__("movq 0(%[t0]), %[s0]\n\t"
            "movq 8(%[t0]), %[s1]\n\t"
            "movq 16(%[t0]), %[s2]\n\t"
            "movq 24(%[t0]), %[s3]\n\t"
            "movq %[s0], %[d0]\n\t"
            "movq %[s1], %[d1]\n\t"
            "movq %[s2], %[d2]\n\t"
            "movq %[s3], %[d3]\n\t"
            "addq 0(%[t1]), %[s0]\n\t" /* a + b < 2r < 2^255: no carry out */
            "adcq 8(%[t1]), %[s1]\n\t"
            "adcq 16(%[t1]), %[s2]\n\t"
            "adcq 24(%[t1]), %[s3]\n\t"
            "subq 0(%[t1]), %[d0]\n\t"
            "sbbq 8(%[t1]), %[d1]\n\t"
            "sbbq 16(%[t1]), %[d2]\n\t"
            "sbbq 24(%[t1]), %[d3]\n\t"
            /* CF = (a < b): t = CF ? r : 0 with flag-preserving mov/cmov, then d += t */
            "movl $0, %k[t0]\n\t"
            "movl $0, %k[t1]\n\t"
            "movl $0, %k[t2]\n\t"
            "movl $0, %k[t3]\n\t"
            "cmovcq %[p0], %[t0]\n\t"
            "cmovcq %[p1], %[t1]\n\t"
            "cmovcq %[p2], %[t2]\n\t"
            "cmovcq %[p3], %[t3]\n\t"
            "addq %[t0], %[d0]\n\t"
            "adcq %[t1], %[d1]\n\t"
            "adcq %[t2], %[d2]\n\t"
            "adcq %[t3], %[d3]\n\t"
            /* s -= r unless that borrows */
            "movq %[s0], %[t0]\n\t"
            "movq %[s1], %[t1]\n\t"
            "movq %[s2], %[t2]\n\t"
            "movq %[s3], %[t3]\n\t"
            "subq %[p0], %[t0]\n\t"
            "sbbq %[p1], %[t1]\n\t"
            "sbbq %[p2], %[t2]\n\t"
            "sbbq %[p3], %[t3]\n\t"
            "cmovncq %[t0], %[s0]\n\t"
            "cmovncq %[t1], %[s1]\n\t"
            "cmovncq %[t2], %[s2]\n\t"
            "cmovncq %[t3], %[s3]\n\t"
            : [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [d0] "=&r"(d0),
              [d1] "=&r"(d1), [d2] "=&r"(d2), [d3] "=&r"(d3), [t0] "+&r"(t0), [t1] "+&r"(t1),
              [t2] "=&r"(t2), [t3] "=&r"(t3)
            : [p0] "m"(FR_P[0]), [p1] "m"(FR_P[1]), [p2] "m"(FR_P[2]), [p3] "m"(FR_P[3])
            : "cc", "memory");
    sum[0] = s0;
    sum[1] = s1;
    sum[2] = s2;
    sum[3] = s3;
    dif[0] = d0;
    dif[1] = d1;
    dif[2] = d2;
    dif[3] = d3;
}
#else
static inline void ntt_addsub(uint64_t *sum, uint64_t *dif, const uint64_t *a, const uint64_t *b) {
    fe s, d;
    fr_add(s, a, b);
    fr_sub(d, a, b);
    fe_copy(sum, s);
    fe_copy(dif, d);
}
#endif

/* One block: (x, y) -> (x + z y, x - z y) elementwise over `half` elements, y = x + half. */
static inline void ntt_bf(uint64_t *x, size_t half, const uint64_t *zp) {
    uint64_t *y = x + 4 * half;
    fe z; /* a local copy: with a loop-invariant pointer gcc 12 fails to allocate the asm fr_mul */
    fe_copy(z, zp);
    for (size_t i = 0; i < half; i++) {
        fe t;
        fr_mul(t, y + 4 * i, z);
        ntt_addsub(x + 4 * i, y + 4 * i, x + 4 * i, t);
    }
}
/* Same with twiddle -z: the two outputs swap. */
static inline void ntt_bf_neg(uint64_t *x, size_t half, const uint64_t *zp) {
    uint64_t *y = x + 4 * half;
    fe z;
    fe_copy(z, zp);
    for (size_t i = 0; i < half; i++) {
        fe t;
        fr_mul(t, y + 4 * i, z);
        ntt_addsub(y + 4 * i, x + 4 * i, x + 4 * i, t);
    }
}
/* Twiddle 1. */
static inline void ntt_bf_one(uint64_t *x, size_t half) {
    uint64_t *y = x + 4 * half;
    for (size_t i = 0; i < half; i++) ntt_addsub(x + 4 * i, y + 4 * i, x + 4 * i, y + 4 * i);
}

/* Stages s0 .. s0+k-1 of the big transform on one group of 2^k rows of `unit` contiguous
 * elements each; hi is the group's block index at stage s0, so stage s0+u uses blocks
 * hi*2^u .. hi*2^u + 2^u - 1. */
static __attribute__((noinline)) void ntt_run(uint64_t *x, size_t unit, unsigned k, size_t hi,
                                              const ntt_table *t, int inv) {
    for (unsigned u = 0; u < k; u++) {
        size_t nblk = (size_t)1 << u, half = unit << (k - u - 1), b0 = hi << u;
        uint64_t *blk = x;
        size_t j = 0;
        if (b0 == 0) {
            ntt_bf_one(blk, half);
            blk += 8 * half;
            j = 1;
        }
        while (j < nblk) {
            /* blocks j .. end-1 lie in one octave m, a contiguous run of the table */
            size_t b = b0 + j;
            unsigned m = ntt_msb(b);
            size_t first = (size_t)1 << m, end = ((size_t)2 << m) - b0;
            if (end > nblk) end = nblk;
            if (!inv) {
                const uint64_t *z = t->oct[m] + 4 * (b - first);
                for (; j < end; j++, z += 4, blk += 8 * half) ntt_bf(blk, half, z);
            } else {
                /* Z[b]^-1 = -Z[3*2^m - 1 - b] */
                const uint64_t *z = t->oct[m] + 4 * (2 * first - 1 - b);
                for (; j < end; j++, z -= 4, blk += 8 * half) ntt_bf_neg(blk, half, z);
            }
        }
    }
}

/* ---- scaling factors ----
 * Element j gets factor hi[j >> sh] * lo[j & mask] (both Montgomery); lo == NULL means the
 * constant hi[0]. Two tables of ~sqrt(n) entries instead of one of n. */
typedef struct {
    uint64_t *hi, *lo;
    unsigned sh;
} ntt_scale;

/* Out of line on purpose: this runs beside the copy loops of the passes, where the register
 * demand of an inlined asm fr_mul can exceed what gcc has left ("impossible constraints"). */
static __attribute__((noinline)) void ntt_scale_at(uint64_t *x, const ntt_scale *s, size_t j) {
    fe f;
    if (!s->lo) {
        fe_copy(f, s->hi);
    } else {
        fr_mul(f, s->hi + 4 * (j >> s->sh), s->lo + 4 * (j & (((size_t)1 << s->sh) - 1)));
    }
    fr_mul(x, x, f);
}

/* factor(j) = c * g^j for j < 2^log_n, g and c Montgomery; one allocation, freed with s->hi */
static int ntt_scale_geom(ntt_scale *s, unsigned log_n, const fe gp, const fe c) {
    unsigned sh = (log_n + 1) / 2;
    size_t nlo = (size_t)1 << sh, nhi = (size_t)1 << (log_n - sh);
    uint64_t *mem = malloc(32 * (nlo + nhi));
    if (!mem) return ZKAGG_ERR_ALLOC;
    s->hi = mem;
    s->lo = mem + 4 * nhi;
    s->sh = sh;
    fe g; /* local copies of loop-invariant operands: see ntt_bf */
    fe_copy(g, gp);
    fr_one(s->lo);
    for (size_t i = 1; i < nlo; i++) fr_mul(s->lo + 4 * i, s->lo + 4 * (i - 1), g);
    fe step; /* g^(2^sh) */
    fr_mul(step, s->lo + 4 * (nlo - 1), g);
    fe_copy(s->hi, c);
    for (size_t i = 1; i < nhi; i++) fr_mul(s->hi + 4 * i, s->hi + 4 * (i - 1), step);
    return ZKAGG_OK;
}

/* ---- passes ---- */

typedef struct {
    uint64_t *data;
    const ntt_table *tab;
    const ntt_scale *pre; /* coset factors applied on load by the first pass, or NULL */
    unsigned log_n, s0, k;
    size_t nlo; /* column groups per block of stage s0 */
    int inv;
} ntt_pass_ctx;

static void ntt_col_task(void *p, size_t item) {
    const ntt_pass_ctx *c = p;
    _Alignas(64) uint64_t buf[4 * NTT_COL_W << NTT_COL_MAXK];
    size_t hi = item / c->nlo, lo0 = (item % c->nlo) * NTT_COL_W;
    size_t rows = (size_t)1 << c->k, stride = (size_t)1 << (c->log_n - c->s0 - c->k);
    size_t first = (hi << (c->log_n - c->s0)) + lo0; /* element index of row 0, column 0 */
    uint64_t *base = c->data + 4 * first;
    for (size_t r = 0; r < rows; r++)
        memcpy(buf + 4 * NTT_COL_W * r, base + 4 * stride * r, 32 * NTT_COL_W);
    if (c->pre)
        for (size_t r = 0; r < rows; r++)
            for (size_t w = 0; w < NTT_COL_W; w++)
                ntt_scale_at(buf + 4 * (NTT_COL_W * r + w), c->pre, first + stride * r + w);
    ntt_run(buf, NTT_COL_W, c->k, hi, c->tab, c->inv);
    for (size_t r = 0; r < rows; r++)
        memcpy(base + 4 * stride * r, buf + 4 * NTT_COL_W * r, 32 * NTT_COL_W);
}

static void ntt_block_task(void *p, size_t item) {
    const ntt_pass_ctx *c = p;
    size_t len = (size_t)1 << c->k;
    uint64_t *x = c->data + 4 * item * len;
    if (c->pre)
        for (size_t i = 0; i < len; i++) ntt_scale_at(x + 4 * i, c->pre, item * len + i);
    /* the first stages over the whole block (L2), the rest on sub-blocks that fit L1 */
    unsigned k1 = c->k > NTT_L1_LOG ? c->k - NTT_L1_LOG : 0, k2 = c->k - k1;
    ntt_run(x, (size_t)1 << k2, k1, item, c->tab, c->inv);
    for (size_t j = 0; j < ((size_t)1 << k1); j++)
        ntt_run(x + 4 * (j << k2), 1, k2, (item << k1) + j, c->tab, c->inv);
}

/* Bit reversal, optionally scaling each element by the factor of its destination. */
static void ntt_bitrev_serial(uint64_t *x, unsigned log_n, const ntt_scale *post) {
    size_t n = (size_t)1 << log_n;
    for (size_t i = 0; i < n; i++) {
        size_t j = ntt_rev(i, log_n);
        if (j < i) continue;
        if (j > i) {
            fe t;
            fe_copy(t, x + 4 * i);
            fe_copy(x + 4 * i, x + 4 * j);
            fe_copy(x + 4 * j, t);
            if (post) ntt_scale_at(x + 4 * j, post, j);
        }
        if (post) ntt_scale_at(x + 4 * i, post, i);
    }
}

typedef struct {
    uint64_t *data;
    const ntt_scale *post;
    unsigned log_n, mid; /* index = a:TILE | m:mid | c:TILE bits, high to low */
    size_t per_item;
} ntt_br_ctx;

#define NTT_T ((size_t)1 << NTT_TILE_LOG)

/* Write tile `src` (loaded from middle index m) to its bit-reversed place, middle index m2:
 * element (a, c) goes to row rev(c), column rev(a). */
static void ntt_br_store(const ntt_br_ctx *c, const uint64_t *src, size_t m2) {
    unsigned rs = c->log_n - NTT_TILE_LOG;
    for (size_t r = 0; r < NTT_T; r++) {
        size_t row = (r << rs) | (m2 << NTT_TILE_LOG);
        size_t sc = ntt_rev(r, NTT_TILE_LOG);
        for (size_t q = 0; q < NTT_T; q++) {
            uint64_t *d = c->data + 4 * (row | q);
            fe_copy(d, src + 4 * (ntt_rev(q, NTT_TILE_LOG) * NTT_T + sc));
            if (c->post) ntt_scale_at(d, c->post, row | q);
        }
    }
}

static void ntt_br_load(const ntt_br_ctx *c, uint64_t *dst, size_t m) {
    unsigned rs = c->log_n - NTT_TILE_LOG;
    for (size_t a = 0; a < NTT_T; a++)
        memcpy(dst + 4 * NTT_T * a, c->data + 4 * ((a << rs) | (m << NTT_TILE_LOG)), 32 * NTT_T);
}

static void ntt_br_task(void *p, size_t item) {
    const ntt_br_ctx *c = p;
    _Alignas(64) uint64_t ta[4 * NTT_T * NTT_T], tb[4 * NTT_T * NTT_T];
    size_t lo = item * c->per_item, hi = lo + c->per_item, nm = (size_t)1 << c->mid;
    if (hi > nm) hi = nm;
    for (size_t m = lo; m < hi; m++) {
        size_t m2 = ntt_rev(m, c->mid);
        if (m2 < m) continue;
        ntt_br_load(c, ta, m);
        if (m2 != m) {
            ntt_br_load(c, tb, m2);
            ntt_br_store(c, tb, m);
        }
        ntt_br_store(c, ta, m2);
    }
}

/* ---- driver ---- */

static int ntt_transform(uint64_t *data, unsigned log_n, int inverse, int coset) {
    if (log_n > NTT_MAX_LOG || !data) return ZKAGG_ERR_ARG;
    if (log_n == 0) return ZKAGG_OK; /* a single point: every variant is the identity */
    ntt_table tab;
    int rc = ntt_table_get(&tab, log_n);
    if (rc != ZKAGG_OK) return rc;

    /* pre: forward coset, x_i *= g^i. post: inverse, x_j *= g^-j / n (or just 1/n). */
    ntt_scale pre = {0}, post = {0};
    const ntt_scale *pre_p = NULL, *post_p = NULL;
    fe ninv, g, one;
    fr_one(one);
    memset(g, 0, sizeof g);
    g[0] = NTT_COSET_GEN;
    fr_to_mont(g, g);
    if (inverse) {
        memset(ninv, 0, sizeof ninv);
        ninv[0] = (uint64_t)1 << log_n;
        fr_to_mont(ninv, ninv);
        fr_inv(ninv, ninv);
        if (coset) {
            fe ginv;
            fr_inv(ginv, g);
            if ((rc = ntt_scale_geom(&post, log_n, ginv, ninv)) != ZKAGG_OK) return rc;
        } else {
            post.hi = ninv;
        }
        post_p = &post;
    } else if (coset) {
        if ((rc = ntt_scale_geom(&pre, log_n, g, one)) != ZKAGG_OK) return rc;
        pre_p = &pre;
    }

    if (log_n <= NTT_SERIAL_LOG) {
        if (pre_p)
            for (size_t i = 0; i < ((size_t)1 << log_n); i++) ntt_scale_at(data + 4 * i, pre_p, i);
        ntt_run(data, 1, log_n, 0, &tab, inverse);
        ntt_bitrev_serial(data, log_n, post_p);
    } else {
        /* Column passes for stages [0, log_n - cb), then blocks of 2^cb; at least 4 blocks. */
        unsigned cb = log_n - 2 < NTT_BLOCK_LOG ? log_n - 2 : NTT_BLOCK_LOG;
        unsigned ncol = log_n - cb;
        unsigned npass = (ncol + NTT_COL_MAXK - 1) / NTT_COL_MAXK;
        unsigned s0 = 0;
        for (unsigned pass = 0; pass < npass; pass++) {
            unsigned k = (ncol - s0) / (npass - pass); /* spread the stages evenly */
            ntt_pass_ctx c = {data, &tab, s0 == 0 ? pre_p : NULL, log_n, s0, k, 0, inverse};
            c.nlo = ((size_t)1 << (log_n - s0 - k)) / NTT_COL_W;
            zk_parallel_for(((size_t)1 << s0) * c.nlo, ntt_col_task, &c);
            s0 += k;
        }
        ntt_pass_ctx c = {data, &tab, s0 == 0 ? pre_p : NULL, log_n, s0, cb, 0, inverse};
        zk_parallel_for((size_t)1 << s0, ntt_block_task, &c);

        if (log_n < 2 * NTT_TILE_LOG) {
            ntt_bitrev_serial(data, log_n, post_p);
        } else {
            ntt_br_ctx bc = {data, post_p, log_n, log_n - 2 * NTT_TILE_LOG, 0};
            size_t nm = (size_t)1 << bc.mid;
            bc.per_item = nm >= 256 ? nm / 128 : 2;
            zk_parallel_for((nm + bc.per_item - 1) / bc.per_item, ntt_br_task, &bc);
        }
    }
    if (pre.lo) free(pre.hi);
    if (post.lo) free(post.hi);
    return ZKAGG_OK;
}

int zkagg_fr_ntt(uint64_t *data, unsigned log_n, int inverse) {
    return ntt_transform(data, log_n, inverse != 0, 0);
}

int zkagg_fr_coset_ntt(uint64_t *data, unsigned log_n, int inverse) {
    return ntt_transform(data, log_n, inverse != 0, 1);
}
