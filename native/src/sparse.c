/* Sparse matrix (CSR) times vector over F_r, canonical in and out: the R1CS products A*z of the
 * prover and the transposed products A^T*x of the setup. Coefficients are canonical, so one
 * Montgomery product gives coeff*x/R; the sum is corrected once per output with R^2. */
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "parallel.h"
#include "zkagg.h"

typedef struct {
    uint64_t *out;
    const int64_t *row_ptr;
    const uint32_t *cols;
    const uint64_t *coeffs;
    const uint64_t *x;
    size_t n_rows;
    size_t rows_per_item;
} sparse_job;

/* acc (9 limbs) += a * b, the full 512-bit product (no reduction) */
#if defined(ZKAGG_ASM) && ZKAGG_ASM
/* the product in eight registers (MULX; ADOX for low halves, ADCX for high halves), then one
 * ADD/ADC chain into acc */
static inline void sparse_mac(uint64_t acc[9], const uint64_t *a, const uint64_t *b) {
    uint64_t p0, p1, p2, p3, p4, p5, p6, p7, lo, hi;
    /* volatile: the result is the store to acc, so the outputs alone would let it be dropped */
    __asm__ volatile(FASM_WIDE_PRODUCT
            "addq %[p0], (%[acc])\n\t"
            "adcq %[p1], 8(%[acc])\n\t"
            "adcq %[p2], 16(%[acc])\n\t"
            "adcq %[p3], 24(%[acc])\n\t"
            "adcq %[p4], 32(%[acc])\n\t"
            "adcq %[p5], 40(%[acc])\n\t"
            "adcq %[p6], 48(%[acc])\n\t"
            "adcq %[p7], 56(%[acc])\n\t"
            "adcq $0, 64(%[acc])\n\t"
            : [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3), [p4] "=&r"(p4),
              [p5] "=&r"(p5), [p6] "=&r"(p6), [p7] "=&r"(p7), [lo] "=&r"(lo), [hi] "=&r"(hi)
            : [a] "r"(a), [b] "r"(b), [acc] "r"(acc)
            : "rdx", "cc", "memory");
}
#else
static inline void sparse_mac(uint64_t acc[9], const uint64_t *a, const uint64_t *b) {
    uint64_t p[8];
    wide_mul_c(p, a, b);
    u128 t = 0;
    for (int k = 0; k < 8; k++) {
        t += (u128)acc[k] + p[k];
        acc[k] = (uint64_t)t;
        t >>= 64;
    }
    acc[8] += (uint64_t)t;
}
#endif

/* out = T / 2^256 mod r, canonical, for T = acc (9 limbs; a sum of fewer than 2^60 products
 * of canonical values): Montgomery reduction, then conditional subtractions of 2^s r */
static inline void sparse_redc(uint64_t out[4], const uint64_t acc[9]) {
    uint64_t t[9];
    memcpy(t, acc, sizeof t);
    for (int i = 0; i < 4; i++) {
        uint64_t m = t[i] * FR_INV, c = 0;
        for (int j = 0; j < 4; j++) {
            u128 s = (u128)m * FR_P[j] + t[i + j] + c;
            t[i + j] = (uint64_t)s;
            c = (uint64_t)(s >> 64);
        }
        for (int k = i + 4; c && k < 9; k++) {
            u128 s = (u128)t[k] + c;
            t[k] = (uint64_t)s;
            c = (uint64_t)(s >> 64);
        }
    }
    /* v = t[4..8] < T / 2^256 + r, below 2^(s0 + 1) r with r > 2^253: subtract 2^s r for
     * s = s0 .. 0 where it fits */
    uint64_t *v = t + 4;
    int top = 4;
    while (top > 0 && v[top] == 0) top--;
    int hb = 64 * top + (v[top] ? 64 - __builtin_clzll(v[top]) : 0), s0 = hb > 254 ? hb - 254 : 0;
    for (int s = s0; s >= 0; s--) {
        uint64_t rs[5], d[5], br = 0; /* rs = r << s */
        for (int l = 0; l < 5; l++) {
            uint64_t lo = l < 4 ? FR_P[l] : 0, below = l > 0 ? FR_P[l - 1] : 0;
            rs[l] = s == 0 ? lo : (lo << s) | (below >> (64 - s));
        }
        for (int l = 0; l < 5; l++) {
            u128 dd = (u128)v[l] - rs[l] - br;
            d[l] = (uint64_t)dd;
            br = (uint64_t)(dd >> 64) & 1;
        }
        if (!br) memcpy(v, d, sizeof d);
    }
    memcpy(out, v, 32);
}

#define SPARSE_PREFETCH 16 /* terms ahead: x is read at random columns */

/* Each row's products are summed as 512-bit integers and reduced once (the coefficients and x
 * are canonical, so a row of k terms stays below k r^2) */
static void sparse_rows(void *ctx, size_t item) {
    const sparse_job *j = ctx;
    size_t lo = item * j->rows_per_item, hi = lo + j->rows_per_item;
    if (hi > j->n_rows) hi = j->n_rows;
    int64_t total = j->row_ptr[j->n_rows];
    for (size_t i = lo; i < hi; i++) {
        uint64_t acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        fe v;
        for (int64_t k = j->row_ptr[i], end = j->row_ptr[i + 1]; k < end; k++) {
            if (k + SPARSE_PREFETCH < total) __builtin_prefetch(j->x + 4 * (size_t)j->cols[k + SPARSE_PREFETCH]);
            sparse_mac(acc, j->coeffs + 4 * k, j->x + 4 * (size_t)j->cols[k]);
        }
        sparse_redc(v, acc);
        fr_to_mont(j->out + 4 * i, v);
    }
}

int zkagg_fr_csr_mul(uint64_t *out, const int64_t *row_ptr, const uint32_t *cols,
                     const uint64_t *coeffs, const uint64_t *x, size_t n_rows) {
    sparse_job job = {out, row_ptr, cols, coeffs, x, n_rows, 4096};
    return zk_parallel_for((n_rows + job.rows_per_item - 1) / job.rows_per_item, sparse_rows, &job);
}

int zkagg_fr_csr_mul_t(uint64_t *out, const int64_t *row_ptr, const uint32_t *cols,
                       const uint64_t *coeffs, const uint64_t *x, size_t n_rows, size_t n_cols) {
    /* Scattered accumulation is kept single-threaded: threads would race on the outputs. */
    memset(out, 0, 32 * n_cols);
    for (size_t i = 0; i < n_rows; i++) {
        for (int64_t k = row_ptr[i]; k < row_ptr[i + 1]; k++) {
            size_t c = cols[k];
            if (c >= n_cols) return ZKAGG_ERR_ARG;
            fe t;
            fr_mul(t, coeffs + 4 * k, x + 4 * i);
            fr_add(out + 4 * c, out + 4 * c, t);
        }
    }
    for (size_t c = 0; c < n_cols; c++) fr_to_mont(out + 4 * c, out + 4 * c);
    return ZKAGG_OK;
}
