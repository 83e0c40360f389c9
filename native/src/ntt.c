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
 *    coset factors g^-j. The forward coset factors g^i are applied as the first pass loads the
 *    data. So inverse and coset cost 1-2 multiplications per element more than the transform's
 *    (log2(n) - 2) / 2, and no extra pass.
 *  - Locality: the first stages (spans >= one block) run as column passes: a group of
 *    NTT_COL_W adjacent columns of the rows at stride S is copied to a buffer in L1, up to
 *    NTT_COL_MAXK stages are done there, and it is written back. The remaining stages run on
 *    contiguous blocks of 2^NTT_BLOCK_LOG elements (512 KiB, in L2), their last stages on
 *    sub-blocks in L1. So a large transform streams the array three times: column pass, block
 *    pass, bit reversal; each is split across threads with zk_parallel_for.
 *  - The table holds n/2 entries for the largest n transformed so far (16 MiB at 2^20), kept
 *    for the life of the process: it grows by whole octaves under a mutex, and an octave is
 *    never moved or freed, so readers need no lock.
 *  - Asm builds (ZKAGG_ASM=1) on CPUs with AVX-512 IFMA (checked at run time) run the
 *    butterflies on eight elements at once (see "AVX-512 IFMA" below), 2-3x faster than the
 *    scalar MULX path; elsewhere the butterflies use fr_mul. */
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

/* ---- twiddle table ---- */

static _Atomic(uint64_t *) ntt_oct[NTT_OCTAVES];
static pthread_mutex_t ntt_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    const uint64_t *oct[NTT_OCTAVES];
} ntt_table;

static inline unsigned ntt_msb(size_t b) {
    return 63u - (unsigned)__builtin_clzll((unsigned long long)b);
}

/* Z[b] for b >= 1 */
static inline const uint64_t *ntt_z(const ntt_table *t, size_t b) {
    unsigned m = ntt_msb(b);
    return t->oct[m] + 4 * (b - ((size_t)1 << m));
}

/* The twiddle of block b >= 1 as stored: forward Z[b]; inverse Z[3*2^m - 1 - b] = -Z[b]^-1,
 * whose sign the butterfly applies by swapping its outputs. */
static inline const uint64_t *ntt_tw(const ntt_table *t, size_t b, int inv) {
    unsigned m = ntt_msb(b);
    size_t first = (size_t)1 << m;
    return t->oct[m] + 4 * (inv ? 2 * first - 1 - b : b - first);
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
    const uint64_t *w = c->w;
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
            fe wm; /* w_{2^(m+2)} = w_{2^28}^(2^(26-m)) */
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

/* ---- scalar butterflies ---- */

/* sum = a + b, dif = a - b (mod r). All inputs are read before the outputs are written, so these
 * may alias them. gcc 12 compiles fr_add/fr_sub into setc/movzx chains with stack round trips
 * (~20 ns for the pair); the asm below takes ~4 ns, the carry intrinsics ~7 ns. */
#if defined(__x86_64__) && defined(ZKAGG_ASM) && ZKAGG_ASM
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
#elif defined(__x86_64__)
#include <x86intrin.h>
static inline void ntt_addsub(uint64_t *sum, uint64_t *dif, const uint64_t *a, const uint64_t *b) {
    unsigned long long s[4], t[4], d[4];
    unsigned char c = 0;
    for (int i = 0; i < 4; i++) c = _addcarry_u64(c, a[i], b[i], &s[i]); /* no carry out */
    c = 0;
    for (int i = 0; i < 4; i++) c = _subborrow_u64(c, s[i], FR_P[i], &t[i]);
    uint64_t keep = -(uint64_t)c; /* s < r */
    c = 0;
    for (int i = 0; i < 4; i++) c = _subborrow_u64(c, a[i], b[i], &d[i]);
    uint64_t add = -(uint64_t)c; /* a < b: add r back */
    c = 0;
    for (int i = 0; i < 4; i++) c = _addcarry_u64(c, d[i], FR_P[i] & add, &d[i]);
    for (int i = 0; i < 4; i++) {
        sum[i] = (s[i] & keep) | (t[i] & ~keep);
        dif[i] = d[i];
    }
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

/* One block: (x, y) -> (x + z y, x - z y) elementwise over `half` elements, y = x + half;
 * neg: twiddle -z, i.e. the two outputs swap; zp == NULL: twiddle 1. */
static inline void ntt_bf(uint64_t *x, size_t half, const uint64_t *zp, int neg) {
    uint64_t *y = x + 4 * half;
    if (!zp) {
        for (size_t i = 0; i < half; i++) ntt_addsub(x + 4 * i, y + 4 * i, x + 4 * i, y + 4 * i);
        return;
    }
    for (size_t i = 0; i < half; i++) {
        fe t;
        fr_mul(t, y + 4 * i, zp);
        if (!neg)
            ntt_addsub(x + 4 * i, y + 4 * i, x + 4 * i, t);
        else
            ntt_addsub(y + 4 * i, x + 4 * i, x + 4 * i, t);
    }
}

/* ---- AVX-512 IFMA ----
 * Eight elements per vector, each as five 52-bit limbs (ntt_v52: limb j of the eight lanes in
 * l[j]); Montgomery multiplication with R' = 2^260 by vpmadd52luq/vpmadd52huq. Data stays in
 * memory as canonical 4x64 limbs and is converted when a pass loads and stores it; in between,
 * values are kept in [0, 2r) and reduced on the way out. The twiddles come from the shared
 * table (Montgomery 2^256): a broadcast twiddle becomes z*2^260 by four modular doublings, and
 * where every lane has its own twiddle the multiplicand is shifted left by 4 instead. */
#if defined(__x86_64__) && defined(ZKAGG_ASM) && ZKAGG_ASM && !defined(NTT_NO_IFMA)
#define NTT_IFMA 1
#include <immintrin.h>
#define NTT_TGT __attribute__((target("avx512f,avx512ifma")))

static const uint64_t NTT_P52[5] = {0x1f593f0000001ULL, 0x4879b9709143eULL, 0x181585d2833e8ULL,
                                    0xa029b85045b68ULL, 0x30644e72e131ULL}; /* r */
static const uint64_t NTT_2P52[5] = {0x3eb27e0000002ULL, 0x90f372e12287cULL, 0x302b0ba5067d0ULL,
                                     0x405370a08b6d0ULL, 0x60c89ce5c263ULL}; /* 2r */
#define NTT_PINV52 0x1f593efffffffULL /* -r^-1 mod 2^52 */
#define NTT_M52 0xfffffffffffffULL

typedef struct {
    __m512i l[5];
} ntt_v52;

static int ntt_have_ifma(void) {
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* 8 consecutive canonical elements -> 5 x 52-bit limbs per lane */
static inline NTT_TGT void ntt_v_load(ntt_v52 *r, const uint64_t *src) {
    __m512i a0 = _mm512_loadu_si512(src), a1 = _mm512_loadu_si512(src + 8);
    __m512i a2 = _mm512_loadu_si512(src + 16), a3 = _mm512_loadu_si512(src + 24);
    /* limbs 0,1 and limbs 2,3 of elements 0-3 (from a0, a1) and of 4-7 (from a2, a3) */
    const __m512i i01 = _mm512_set_epi64(13, 9, 5, 1, 12, 8, 4, 0);
    const __m512i i23 = _mm512_set_epi64(15, 11, 7, 3, 14, 10, 6, 2);
    __m512i b01 = _mm512_permutex2var_epi64(a0, i01, a1);
    __m512i b23 = _mm512_permutex2var_epi64(a0, i23, a1);
    __m512i c01 = _mm512_permutex2var_epi64(a2, i01, a3);
    __m512i c23 = _mm512_permutex2var_epi64(a2, i23, a3);
    const __m512i lo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    __m512i l0 = _mm512_permutex2var_epi64(b01, lo, c01);
    __m512i l1 = _mm512_permutex2var_epi64(b01, hi, c01);
    __m512i l2 = _mm512_permutex2var_epi64(b23, lo, c23);
    __m512i l3 = _mm512_permutex2var_epi64(b23, hi, c23);
    /* 4 x 64 -> 5 x 52 bits */
    const __m512i m = _mm512_set1_epi64(NTT_M52);
    r->l[0] = _mm512_and_si512(l0, m);
    __m512i s1 = _mm512_or_si512(_mm512_srli_epi64(l0, 52), _mm512_slli_epi64(l1, 12));
    __m512i s2 = _mm512_or_si512(_mm512_srli_epi64(l1, 40), _mm512_slli_epi64(l2, 24));
    __m512i s3 = _mm512_or_si512(_mm512_srli_epi64(l2, 28), _mm512_slli_epi64(l3, 36));
    r->l[1] = _mm512_and_si512(s1, m);
    r->l[2] = _mm512_and_si512(s2, m);
    r->l[3] = _mm512_and_si512(s3, m);
    r->l[4] = _mm512_srli_epi64(l3, 16);
}

/* inverse of ntt_v_load; limbs must be normalized (< 2^52) and the value < 2^256 */
static inline NTT_TGT void ntt_v_store(uint64_t *dst, const ntt_v52 *a) {
    __m512i l0 = _mm512_or_si512(a->l[0], _mm512_slli_epi64(a->l[1], 52));
    __m512i l1 = _mm512_or_si512(_mm512_srli_epi64(a->l[1], 12), _mm512_slli_epi64(a->l[2], 40));
    __m512i l2 = _mm512_or_si512(_mm512_srli_epi64(a->l[2], 24), _mm512_slli_epi64(a->l[3], 28));
    __m512i l3 = _mm512_or_si512(_mm512_srli_epi64(a->l[3], 36), _mm512_slli_epi64(a->l[4], 16));
    const __m512i lo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    /* b01 = limbs 0 then 1 of elements 0-3, b23 = limbs 2 then 3; c01, c23: elements 4-7 */
    __m512i b01 = _mm512_permutex2var_epi64(l0, lo, l1);
    __m512i c01 = _mm512_permutex2var_epi64(l0, hi, l1);
    __m512i b23 = _mm512_permutex2var_epi64(l2, lo, l3);
    __m512i c23 = _mm512_permutex2var_epi64(l2, hi, l3);
    const __m512i e01 = _mm512_set_epi64(13, 9, 5, 1, 12, 8, 4, 0);
    const __m512i e23 = _mm512_set_epi64(15, 11, 7, 3, 14, 10, 6, 2);
    _mm512_storeu_si512(dst, _mm512_permutex2var_epi64(b01, e01, b23));
    _mm512_storeu_si512(dst + 8, _mm512_permutex2var_epi64(b01, e23, b23));
    _mm512_storeu_si512(dst + 16, _mm512_permutex2var_epi64(c01, e01, c23));
    _mm512_storeu_si512(dst + 24, _mm512_permutex2var_epi64(c01, e23, c23));
}

/* one canonical element in every lane */
static inline NTT_TGT void ntt_v_bcast(ntt_v52 *z, const uint64_t *e) {
    uint64_t l[5] = {e[0] & NTT_M52, (e[0] >> 52 | e[1] << 12) & NTT_M52,
                     (e[1] >> 40 | e[2] << 24) & NTT_M52, (e[2] >> 28 | e[3] << 36) & NTT_M52,
                     e[3] >> 16};
    for (int j = 0; j < 5; j++) z->l[j] = _mm512_set1_epi64((long long)l[j]);
}

/* carry each limb into the next; arithmetic shifts, so negative limbs work too */
static inline NTT_TGT void ntt_v_norm(ntt_v52 *a) {
    const __m512i m = _mm512_set1_epi64(NTT_M52);
    for (int j = 0; j < 4; j++) {
        a->l[j + 1] = _mm512_add_epi64(a->l[j + 1], _mm512_srai_epi64(a->l[j], 52));
        a->l[j] = _mm512_and_si512(a->l[j], m);
    }
}

/* a normalized and < 2q -> a mod q, for q = r or 2r given by its limbs */
static inline NTT_TGT void ntt_v_reduce(ntt_v52 *a, const uint64_t *q) {
    const __m512i m = _mm512_set1_epi64(NTT_M52);
    __m512i u[5], borrow = _mm512_setzero_si512();
    for (int j = 0; j < 5; j++) {
        __m512i qj = _mm512_set1_epi64((long long)q[j]);
        u[j] = _mm512_sub_epi64(_mm512_sub_epi64(a->l[j], qj), borrow);
        borrow = _mm512_srli_epi64(u[j], 63);
        if (j < 4) u[j] = _mm512_and_si512(u[j], m);
    }
    __mmask8 keep = _mm512_cmpneq_epi64_mask(borrow, _mm512_setzero_si512()); /* a < q */
    for (int j = 0; j < 5; j++) a->l[j] = _mm512_mask_blend_epi64(keep, u[j], a->l[j]);
}

/* r = a*b/2^260 mod r, as a value < 2r with unnormalized limbs (each < 2^58). Needs normalized
 * limbs, b < r and a < 32r: then a*b/2^260 < 32r^2/2^260 < r/2, so the result is < 2r. */
static inline NTT_TGT void ntt_v_mul(ntt_v52 *r, const ntt_v52 *a, const ntt_v52 *b) {
    const __m512i zero = _mm512_setzero_si512(), pinv = _mm512_set1_epi64(NTT_PINV52);
    __m512i p[5], t[6];
    for (int j = 0; j < 5; j++) p[j] = _mm512_set1_epi64(NTT_P52[j]);
    for (int j = 0; j < 6; j++) t[j] = zero;
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            t[j] = _mm512_madd52lo_epu64(t[j], a->l[i], b->l[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], a->l[i], b->l[j]);
        }
        __m512i q = _mm512_madd52lo_epu64(zero, t[0], pinv); /* t + q*r = 0 mod 2^52 */
        for (int j = 0; j < 5; j++) {
            t[j] = _mm512_madd52lo_epu64(t[j], q, p[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], q, p[j]);
        }
        t[1] = _mm512_add_epi64(t[1], _mm512_srli_epi64(t[0], 52));
        for (int j = 0; j < 5; j++) t[j] = t[j + 1];
        t[5] = zero;
    }
    for (int j = 0; j < 5; j++) r->l[j] = t[j];
}

/* ntt_v_mul for b = c*2^256 (Montgomery form of the scalar code): 16a makes up for R' = 2^260 */
static inline NTT_TGT void ntt_v_mul256(ntt_v52 *r, const ntt_v52 *a, const ntt_v52 *b) {
    ntt_v52 a16;
    for (int j = 0; j < 5; j++) a16.l[j] = _mm512_slli_epi64(a->l[j], 4);
    ntt_v_norm(&a16);
    ntt_v_mul(r, &a16, b);
}

/* s = x + t, d = x - t, both mod q (r or 2r): x normalized and < q, t < q */
static inline NTT_TGT void ntt_v_addsub(ntt_v52 *s, ntt_v52 *d, const ntt_v52 *x, const ntt_v52 *t,
                                        const uint64_t *q) {
    for (int j = 0; j < 5; j++) {
        __m512i qj = _mm512_set1_epi64((long long)q[j]);
        s->l[j] = _mm512_add_epi64(x->l[j], t->l[j]);
        d->l[j] = _mm512_add_epi64(_mm512_sub_epi64(x->l[j], t->l[j]), qj);
    }
    ntt_v_norm(s);
    ntt_v_reduce(s, q);
    ntt_v_norm(d);
    ntt_v_reduce(d, q);
}

/* table twiddle z*2^256 -> z*2^260 in every lane */
static inline NTT_TGT void ntt_v_twiddle(ntt_v52 *z, const uint64_t *zp) {
    fe z16, junk;
    fe_copy(z16, zp);
    for (int i = 0; i < 4; i++) ntt_addsub(z16, junk, z16, z16);
    ntt_v_bcast(z, z16);
}

/* ntt_bf on canonical data in memory, half a multiple of 8: converts on every stage, so it is
 * used only for stages that span more than an L1 sub-block */
static NTT_TGT void ntt_bf_v(uint64_t *x, size_t half, const uint64_t *zp, int neg) {
    uint64_t *y = x + 4 * half;
    ntt_v52 z;
    if (zp) ntt_v_twiddle(&z, zp);
    for (size_t i = 0; i < half; i += 8) {
        ntt_v52 a, b, t, s, d;
        ntt_v_load(&a, x + 4 * i);
        ntt_v_load(&b, y + 4 * i);
        if (zp) {
            ntt_v_mul(&t, &b, &z);
            ntt_v_norm(&t);
            ntt_v_reduce(&t, NTT_P52);
        } else {
            t = b;
        }
        ntt_v_addsub(&s, &d, &a, &t, NTT_P52);
        ntt_v_store(x + 4 * i, neg ? &d : &s);
        ntt_v_store(y + 4 * i, neg ? &s : &d);
    }
}

/* ntt_run on rows of eight elements in 52-bit form (values in [0, 2r)) */
static NTT_TGT void ntt_run_v(ntt_v52 *x, unsigned k, size_t hi, const ntt_table *t, int inv) {
    for (unsigned u = 0; u < k; u++) {
        size_t nblk = (size_t)1 << u, half = (size_t)1 << (k - u - 1), b0 = hi << u;
        ntt_v52 *blk = x;
        for (size_t j = 0; j < nblk; j++, blk += 2 * half) {
            size_t b = b0 + j;
            ntt_v52 z, *y = blk + half;
            if (b) ntt_v_twiddle(&z, ntt_tw(t, b, inv));
            for (size_t i = 0; i < half; i++) {
                ntt_v52 tt, s, d;
                if (b)
                    ntt_v_mul(&tt, &y[i], &z);
                else
                    tt = y[i];
                ntt_v_addsub(&s, &d, &blk[i], &tt, NTT_2P52);
                blk[i] = inv && b ? d : s;
                y[i] = inv && b ? s : d;
            }
        }
    }
}

/* 8x8 transpose of 64-bit lanes (its own inverse) */
static inline NTT_TGT void ntt_v_transpose8(__m512i *r) {
    __m512i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]);
    }
    /* t[2i]: columns 0,2,4,6 of rows 2i, 2i+1 interleaved; t[2i+1]: columns 1,3,5,7 */
    const __m512i i0 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i i1 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int h = 0; h < 2; h++)
        for (int o = 0; o < 2; o++) {
            u[4 * h + o] = _mm512_permutex2var_epi64(t[4 * h + o], i0, t[4 * h + 2 + o]);
            u[4 * h + 2 + o] = _mm512_permutex2var_epi64(t[4 * h + o], i1, t[4 * h + 2 + o]);
        }
    /* u[4h + k], k = o + 2e: columns k and k+4 of rows 4h .. 4h+3 */
    const __m512i lo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_permutex2var_epi64(u[k], lo, u[4 + k]);
        r[k + 4] = _mm512_permutex2var_epi64(u[k], hi, u[4 + k]);
    }
}

/* Twiddles of blocks b0 .. b0+8*nv-1 (one stage), lane i of w[v] for block b0 + 8v + i, in the
 * form ntt_tw stores them, with b = 0 as 1 (forward) or -1 (inverse, the butterfly negates). */
static NTT_TGT void ntt_v_tw_lanes(ntt_v52 *w, size_t b0, int nv, const ntt_table *t, int inv) {
    if (b0 >= 8) { /* the run lies in one octave: contiguous, backwards for the inverse */
        if (!inv) {
            const uint64_t *z = ntt_z(t, b0);
            for (int v = 0; v < nv; v++) ntt_v_load(&w[v], z + 32 * v);
        } else {
            const uint64_t *z = ntt_tw(t, b0 + 8 * (size_t)nv - 1, 1);
            const __m512i rev = _mm512_set_epi64(0, 1, 2, 3, 4, 5, 6, 7);
            for (int v = 0; v < nv; v++) {
                ntt_v_load(&w[v], z + 32 * (nv - 1 - v));
                for (int j = 0; j < 5; j++) w[v].l[j] = _mm512_permutexvar_epi64(rev, w[v].l[j]);
            }
        }
        return;
    }
    _Alignas(64) uint64_t tmp[4 * 8];
    for (int v = 0; v < nv; v++) {
        for (size_t i = 0; i < 8; i++) {
            size_t b = b0 + 8 * (size_t)v + i;
            if (b)
                fe_copy(tmp + 4 * i, ntt_tw(t, b, inv));
            else if (inv)
                fr_neg(tmp + 4 * i, FR_ONE);
            else
                fe_copy(tmp + 4 * i, FR_ONE);
        }
        ntt_v_load(&w[v], tmp);
    }
}

/* lanes 0..7 of (a, b) at even (sel = 0) or odd (sel = 1) positions of their 16 */
static inline NTT_TGT void ntt_v_deal(ntt_v52 *r, const ntt_v52 *a, const ntt_v52 *b, int sel) {
    const __m512i ev = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    for (int j = 0; j < 5; j++)
        r->l[j] = _mm512_permutex2var_epi64(a->l[j], sel ? od : ev, b->l[j]);
}

/* (x, y) -> (x + w y, x - w y), a twiddle per lane in the table's Montgomery 2^256 form */
static inline NTT_TGT void ntt_v_bf_lanes(ntt_v52 *x, ntt_v52 *y, const ntt_v52 *w, int neg) {
    ntt_v52 t, s, d;
    ntt_v_mul256(&t, y, w);
    ntt_v_addsub(&s, &d, x, &t, NTT_2P52);
    *x = neg ? d : s;
    *y = neg ? s : d;
}

/* The last three stages (blocks of 8, 4, 2 elements) act inside a row. Eight rows at a time are
 * transposed so that lanes are rows and each butterfly pairs two vectors, with a twiddle per
 * lane. rho0, a multiple of 8, is the global index of row 0, i.e. its block index at the first
 * of these stages; rows is a multiple of 8. */
static NTT_TGT void ntt_last3_v(ntt_v52 *v, size_t rows, size_t rho0, const ntt_table *t,
                                int inv) {
    for (size_t g = 0; g < rows; g += 8) {
        size_t rho = rho0 + g;
        ntt_v52 e[8], w8, w4[2], w2[4], a[4];
        /* blocks of 8: Z[rho + lane]; of 4: Z[2 (rho + lane) + c]; of 2: Z[4 (rho + lane) + c] */
        ntt_v_tw_lanes(&w8, rho, 1, t, inv);
        ntt_v_tw_lanes(a, 2 * rho, 2, t, inv);
        ntt_v_deal(&w4[0], &a[0], &a[1], 0);
        ntt_v_deal(&w4[1], &a[0], &a[1], 1);
        ntt_v_tw_lanes(a, 4 * rho, 4, t, inv);
        ntt_v52 ev0, od0, ev1, od1; /* entries 2i and 2i+1 of the first 16, then the second 16 */
        ntt_v_deal(&ev0, &a[0], &a[1], 0);
        ntt_v_deal(&od0, &a[0], &a[1], 1);
        ntt_v_deal(&ev1, &a[2], &a[3], 0);
        ntt_v_deal(&od1, &a[2], &a[3], 1);
        ntt_v_deal(&w2[0], &ev0, &ev1, 0);
        ntt_v_deal(&w2[2], &ev0, &ev1, 1);
        ntt_v_deal(&w2[1], &od0, &od1, 0);
        ntt_v_deal(&w2[3], &od0, &od1, 1);
        for (int j = 0; j < 5; j++) { /* e[p]: element p of each of the eight rows */
            __m512i m[8];
            for (int r = 0; r < 8; r++) m[r] = v[g + r].l[j];
            ntt_v_transpose8(m);
            for (int p = 0; p < 8; p++) e[p].l[j] = m[p];
        }
        for (int p = 0; p < 4; p++) ntt_v_bf_lanes(&e[p], &e[p + 4], &w8, inv);
        for (int p = 0; p < 2; p++) {
            ntt_v_bf_lanes(&e[p], &e[p + 2], &w4[0], inv);
            ntt_v_bf_lanes(&e[p + 4], &e[p + 6], &w4[1], inv);
        }
        for (int c = 0; c < 4; c++) ntt_v_bf_lanes(&e[2 * c], &e[2 * c + 1], &w2[c], inv);
        for (int j = 0; j < 5; j++) {
            __m512i m[8];
            for (int p = 0; p < 8; p++) m[p] = e[p].l[j];
            ntt_v_transpose8(m);
            for (int r = 0; r < 8; r++) v[g + r].l[j] = m[r];
        }
    }
}

/* rows of 8 canonical elements <-> 52-bit rows */
static NTT_TGT void ntt_to_v52(ntt_v52 *v, const uint64_t *x, size_t rows) {
    for (size_t r = 0; r < rows; r++) ntt_v_load(&v[r], x + 32 * r);
}
static NTT_TGT void ntt_from_v52(uint64_t *x, ntt_v52 *v, size_t rows) {
    for (size_t r = 0; r < rows; r++) {
        ntt_v_reduce(&v[r], NTT_P52); /* [0, 2r) -> canonical */
        ntt_v_store(x + 32 * r, &v[r]);
    }
}
#endif /* NTT_IFMA */

/* Stages s0 .. s0+k-1 of the big transform on one group of 2^k rows of `unit` contiguous
 * elements each; hi is the group's block index at stage s0, so stage s0+u uses blocks
 * hi*2^u .. hi*2^u + 2^u - 1. */
static void ntt_run(uint64_t *x, size_t unit, unsigned k, size_t hi, const ntt_table *t,
                    int inv) {
#ifdef NTT_IFMA
    int vec = ntt_have_ifma();
#endif
    for (unsigned u = 0; u < k; u++) {
        size_t nblk = (size_t)1 << u, half = unit << (k - u - 1), b0 = hi << u;
        uint64_t *blk = x;
        for (size_t j = 0; j < nblk; j++, blk += 8 * half) {
            size_t b = b0 + j;
            const uint64_t *z = b ? ntt_tw(t, b, inv) : NULL;
#ifdef NTT_IFMA
            if (vec && half % 8 == 0) {
                ntt_bf_v(blk, half, z, inv && b);
                continue;
            }
#endif
            ntt_bf(blk, half, z, inv && b);
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

#ifdef NTT_IFMA
/* ntt_scale_run for count and j0 multiples of 8 and 2^sh >= 8: eight factors at once */
static NTT_TGT void ntt_scale_v(uint64_t *x, size_t count, const ntt_scale *s, size_t j0) {
    ntt_v52 f, a, t;
    if (!s->lo) ntt_v_bcast(&f, s->hi);
    size_t mask = ((size_t)1 << s->sh) - 1;
    for (size_t i = 0; i < count; i += 8) {
        size_t j = j0 + i;
        if (s->lo) { /* hi[j >> sh] is the same for all eight */
            ntt_v52 h, l;
            ntt_v_bcast(&h, s->hi + 4 * (j >> s->sh));
            ntt_v_load(&l, s->lo + 4 * (j & mask));
            ntt_v_mul256(&f, &l, &h);
            ntt_v_norm(&f);
            ntt_v_reduce(&f, NTT_P52);
        }
        ntt_v_load(&a, x + 4 * i);
        ntt_v_mul256(&t, &a, &f);
        ntt_v_norm(&t);
        ntt_v_reduce(&t, NTT_P52);
        ntt_v_store(x + 4 * i, &t);
    }
}
#endif

/* x[i] *= factor(j0 + i) for i < count */
static void ntt_scale_run(uint64_t *x, size_t count, const ntt_scale *s, size_t j0) {
#ifdef NTT_IFMA
    if (count % 8 == 0 && j0 % 8 == 0 && (!s->lo || s->sh >= 3) && ntt_have_ifma()) {
        ntt_scale_v(x, count, s, j0);
        return;
    }
#endif
    fe f;
    if (!s->lo) {
        fe_copy(f, s->hi);
        for (size_t i = 0; i < count; i++) fr_mul(x + 4 * i, x + 4 * i, f);
        return;
    }
    size_t mask = ((size_t)1 << s->sh) - 1;
    for (size_t i = 0; i < count; i++) {
        size_t j = j0 + i;
        fr_mul(f, s->hi + 4 * (j >> s->sh), s->lo + 4 * (j & mask));
        fr_mul(x + 4 * i, x + 4 * i, f);
    }
}

/* factor(j) = c * g^j for j < 2^log_n, g and c Montgomery; one allocation, freed with s->hi */
static int ntt_scale_geom(ntt_scale *s, unsigned log_n, const fe g, const fe c) {
    unsigned sh = (log_n + 1) / 2;
    size_t nlo = (size_t)1 << sh, nhi = (size_t)1 << (log_n - sh);
    uint64_t *mem = malloc(32 * (nlo + nhi));
    if (!mem) return ZKAGG_ERR_ALLOC;
    s->hi = mem;
    s->lo = mem + 4 * nhi;
    s->sh = sh;
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
            ntt_scale_run(buf + 4 * NTT_COL_W * r, NTT_COL_W, c->pre, first + stride * r);
#ifdef NTT_IFMA
    if (NTT_COL_W == 8 && ntt_have_ifma()) { /* a row is one vector */
        _Alignas(64) ntt_v52 vbuf[(size_t)1 << NTT_COL_MAXK];
        ntt_to_v52(vbuf, buf, rows);
        ntt_run_v(vbuf, c->k, hi, c->tab, c->inv);
        ntt_from_v52(buf, vbuf, rows);
    } else
#endif
        ntt_run(buf, NTT_COL_W, c->k, hi, c->tab, c->inv);
    for (size_t r = 0; r < rows; r++)
        memcpy(base + 4 * stride * r, buf + 4 * NTT_COL_W * r, 32 * NTT_COL_W);
}

static void ntt_block_task(void *p, size_t item) {
    const ntt_pass_ctx *c = p;
    size_t len = (size_t)1 << c->k;
    uint64_t *x = c->data + 4 * item * len;
    if (c->pre) ntt_scale_run(x, len, c->pre, item * len);
    /* the first stages over the whole block (L2), the rest on sub-blocks that fit L1 */
    unsigned k1 = c->k > NTT_L1_LOG ? c->k - NTT_L1_LOG : 0, k2 = c->k - k1;
    ntt_run(x, (size_t)1 << k2, k1, item, c->tab, c->inv);
    for (size_t j = 0; j < ((size_t)1 << k1); j++) {
        uint64_t *sub = x + 4 * (j << k2);
        size_t hs = (item << k1) + j;
#ifdef NTT_IFMA
        if (k2 >= 6 && ntt_have_ifma()) { /* 52-bit rows of 8, taken by eight in ntt_last3_v */
            _Alignas(64) ntt_v52 vbuf[(size_t)1 << (NTT_L1_LOG > 3 ? NTT_L1_LOG - 3 : 0)];
            size_t rows = (size_t)1 << (k2 - 3);
            ntt_to_v52(vbuf, sub, rows);
            ntt_run_v(vbuf, k2 - 3, hs, c->tab, c->inv);
            ntt_last3_v(vbuf, rows, hs << (k2 - 3), c->tab, c->inv);
            ntt_from_v52(sub, vbuf, rows);
            continue;
        }
#endif
        ntt_run(sub, 1, k2, hs, c->tab, c->inv);
    }
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
            if (post) ntt_scale_run(x + 4 * j, 1, post, j);
        }
        if (post) ntt_scale_run(x + 4 * i, 1, post, i);
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
        uint64_t *d = c->data + 4 * row;
        for (size_t q = 0; q < NTT_T; q++)
            fe_copy(d + 4 * q, src + 4 * (ntt_rev(q, NTT_TILE_LOG) * NTT_T + sc));
        if (c->post) ntt_scale_run(d, NTT_T, c->post, row);
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
        if (pre_p) ntt_scale_run(data, (size_t)1 << log_n, pre_p, 0);
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
