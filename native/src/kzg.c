/* Polynomial kernels for KZG commitments and the v2 chunk statement (zkagg/kzg.py,
 * zkagg/aggregation/kzg_round.py): Horner evaluation, evaluation of consecutive chunks, and
 * division by (X - z). Coefficients are canonical F_r, lowest degree first.
 *
 * The accumulators stay canonical: a Montgomery product of a canonical value with z in
 * Montgomery form is the plain product, so only z is converted. NOT constant-time in anything
 * (the polynomials here are public aggregates, and z is public). */
#include "zkagg.h"
#include "field.h"
#include "parallel.h"

/* Horner from the top: sum_{i < n} c[i] z^i with zm = z in Montgomery form. */
static void kzg_horner(fe out, const uint64_t *c, size_t n, const fe zm) {
    fe acc = {0, 0, 0, 0};
    for (size_t i = n; i-- > 0;) {
        fr_mul(acc, acc, zm);
        fr_add(acc, acc, c + 4 * i);
    }
    fe_copy(out, acc);
}

void zkagg_fr_horner(uint64_t *out, const uint64_t *coeffs, size_t n, const uint64_t *z) {
    fe zm;
    fr_to_mont(zm, z);
    kzg_horner(out, coeffs, n, zm);
}

typedef struct {
    uint64_t *out;
    const uint64_t *coeffs;
    size_t n, chunk_len;
    fe zm;
} kzg_chunks_job;

static void kzg_chunks_task(void *ctx, size_t j) {
    kzg_chunks_job *job = ctx;
    size_t start = j * job->chunk_len;
    size_t len = job->n - start < job->chunk_len ? job->n - start : job->chunk_len;
    kzg_horner(job->out + 4 * j, job->coeffs + 4 * start, len, job->zm);
}

int zkagg_fr_horner_chunks(uint64_t *out, const uint64_t *coeffs, size_t n, size_t chunk_len,
                           const uint64_t *z) {
    if (chunk_len == 0) return ZKAGG_ERR_ARG;
    kzg_chunks_job job = {out, coeffs, n, chunk_len, {0, 0, 0, 0}};
    fr_to_mont(job.zm, z);
    size_t m = (n + chunk_len - 1) / chunk_len;
    (void)zk_parallel_for(m, kzg_chunks_task, &job); /* complete even without threads */
    return ZKAGG_OK;
}

int zkagg_fr_divide_linear(uint64_t *quotient, uint64_t *value, const uint64_t *coeffs, size_t n,
                           const uint64_t *z) {
    if (n == 0) return ZKAGG_ERR_ARG;
    fe zm, acc;
    fr_to_mont(zm, z);
    /* synthetic division: q[n-2] = c[n-1], q[i-1] = c[i] + z q[i], value = c[0] + z q[0] */
    fe_copy(acc, coeffs + 4 * (n - 1));
    for (size_t i = n - 1; i-- > 0;) {
        fe_copy(quotient + 4 * i, acc);
        fr_mul(acc, acc, zm);
        fr_add(acc, acc, coeffs + 4 * i);
    }
    fe_copy(value, acc);
    return ZKAGG_OK;
}

int zkagg_fr_horner_trace(uint64_t *out, const uint64_t *coeffs, size_t n, size_t block, const uint64_t *z) {
    if (block == 0) return ZKAGG_ERR_ARG;
    fe zm, acc = {0, 0, 0, 0}, zero = {0, 0, 0, 0};
    fr_to_mont(zm, z);
    size_t n_blocks = (n + block - 1) / block;
    uint64_t *o = out;
    for (size_t k = n_blocks; k-- > 0;) {
        /* acc = A of the blocks above; for i = block-1 .. 0: out = A z, A <- A z + c_i */
        for (size_t i = block; i-- > 0;) {
            size_t idx = k * block + i;
            fr_mul(o, acc, zm);
            fr_add(acc, o, idx < n ? coeffs + 4 * idx : zero);
            o += 4;
        }
    }
    return ZKAGG_OK;
}
