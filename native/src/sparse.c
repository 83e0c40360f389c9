/* Sparse matrix (CSR) times vector over F_r, canonical in and out: the R1CS products A*z of the
 * prover and the transposed products A^T*x of the setup. Coefficients are canonical, so one
 * Montgomery product gives coeff*x/R; the sum is corrected once per output with R^2. */
#include <stdlib.h>

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

static void sparse_rows(void *ctx, size_t item) {
    const sparse_job *j = ctx;
    size_t lo = item * j->rows_per_item, hi = lo + j->rows_per_item;
    if (hi > j->n_rows) hi = j->n_rows;
    for (size_t i = lo; i < hi; i++) {
        fe acc = {0, 0, 0, 0}, t;
        for (int64_t k = j->row_ptr[i]; k < j->row_ptr[i + 1]; k++) {
            fr_mul(t, j->coeffs + 4 * k, j->x + 4 * (size_t)j->cols[k]);
            fr_add(acc, acc, t);
        }
        fr_to_mont(j->out + 4 * i, acc);
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
