/* Exported field kernels over arrays: F_r canonical in/out, F_q and F_q2 in Montgomery form.
 * The element-wise ones split long arrays into chunks across the threads (the prover's
 * products and the Montgomery conversion of a proving key's points are millions long). */
#include <stdlib.h>

#include "field.h"
#include "parallel.h"
#include "zkagg.h"

#define FIELDS_CHUNK 8192 /* elements per work item; shorter arrays stay on the caller's thread */

/* out[i] = op(a[i], b[i]) for i < n over elements of 4 limbs: b is NULL, an array (b_step 4) or
 * one element for all (b_step 0) */
typedef void (*fields_op)(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t b_step,
                          size_t n);
typedef struct {
    fields_op op;
    uint64_t *out;
    const uint64_t *a, *b;
    size_t n, b_step;
} fields_job;

static void fields_item(void *ctx, size_t item) {
    const fields_job *j = ctx;
    size_t i0 = item * FIELDS_CHUNK, m = j->n - i0 < FIELDS_CHUNK ? j->n - i0 : FIELDS_CHUNK;
    j->op(j->out + 4 * i0, j->a + 4 * i0, j->b ? j->b + j->b_step * i0 : NULL, j->b_step, m);
}

static void fields_map(fields_op op, uint64_t *out, const uint64_t *a, const uint64_t *b,
                       size_t b_step, size_t n) {
    if (n < 2 * FIELDS_CHUNK || zk_threads() < 2) {
        op(out, a, b, b_step, n);
    } else {
        fields_job j = {op, out, a, b, n, b_step};
        (void)zk_parallel_for((n + FIELDS_CHUNK - 1) / FIELDS_CHUNK, fields_item, &j);
    }
}

#define FIELDS_OP(name, stmt)                                                                  \
    static void name(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t b_step,       \
                     size_t n) {                                                               \
        (void)b;                                                                               \
        (void)b_step;                                                                          \
        for (size_t i = 0; i < n; i++, out += 4, a += 4, b += b ? b_step : 0) {                \
            stmt;                                                                              \
        }                                                                                      \
    }
FIELDS_OP(fields_fr_add, fr_add(out, a, b))
FIELDS_OP(fields_fr_sub, fr_sub(out, a, b))
FIELDS_OP(fields_fr_neg, fr_neg(out, a))
FIELDS_OP(fields_fr_mul, fr_mul(out, a, b); fr_to_mont(out, out)) /* a*b/R, then times R^2/R */
FIELDS_OP(fields_fr_mul_mont, fr_mul(out, a, b))
FIELDS_OP(fields_fq_to_mont, fq_to_mont(out, a))
FIELDS_OP(fields_fq_from_mont, fq_from_mont(out, a))
#undef FIELDS_OP

int zkagg_has_asm(void) {
#if defined(ZKAGG_ASM) && ZKAGG_ASM
    return 1;
#else
    return 0;
#endif
}

static int64_t first_not_below(const uint64_t *a, size_t n, const uint64_t *p) {
    for (size_t i = 0; i < n; i++)
        if (!fe_lt(a + 4 * i, p)) return (int64_t)i;
    return -1;
}

int64_t zkagg_fr_check(const uint64_t *a, size_t n) { return first_not_below(a, n, FR_P); }
int64_t zkagg_fq_check(const uint64_t *a, size_t n) { return first_not_below(a, n, FQ_P); }

void zkagg_fr_add(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    fields_map(fields_fr_add, out, a, b, 4, n);
}
void zkagg_fr_sub(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    fields_map(fields_fr_sub, out, a, b, 4, n);
}
void zkagg_fr_neg(uint64_t *out, const uint64_t *a, size_t n) {
    fields_map(fields_fr_neg, out, a, NULL, 0, n);
}
/* canonical a*b: mont(a, b) = a*b/R, then mont(., R^2) = a*b */
void zkagg_fr_mul(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    fields_map(fields_fr_mul, out, a, b, 4, n);
}
void zkagg_fr_scale(uint64_t *out, const uint64_t *a, const uint64_t *s, size_t n) {
    fe sm;
    fr_to_mont(sm, s);
    fields_map(fields_fr_mul_mont, out, a, sm, 0, n);
}
void zkagg_fr_inner_product(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    fe acc = {0, 0, 0, 0}, t;
    for (size_t i = 0; i < n; i++) {
        fr_mul(t, a + 4 * i, b + 4 * i);
        fr_add(acc, acc, t);
    }
    fr_to_mont(out, acc);
}
void zkagg_fr_pow(uint64_t *out, const uint64_t *a, const uint64_t *e) {
    fe am;
    fr_to_mont(am, a);
    fr_pow(am, am, e);
    fr_from_mont(out, am);
}

/* Montgomery's trick: one inversion for the whole array. Works on any representation where
 * `mul` is the field product up to a fixed factor that `fix` removes. */
#define BATCH_INVERSE(F, out, a, n, CANONICAL)                                  \
    do {                                                                        \
        if ((n) == 0) return ZKAGG_OK;                                          \
        uint64_t *pre = malloc(32 * (n));                                       \
        if (!pre) return ZKAGG_ERR_ALLOC;                                       \
        fe acc, x, inv;                                                         \
        F##_one(acc);                                                           \
        for (size_t i = 0; i < (n); i++) {                                      \
            fe_copy(x, (a) + 4 * i);                                            \
            if (CANONICAL) F##_to_mont(x, x);                                   \
            if (fe_is_zero(x)) {                                                \
                free(pre);                                                      \
                return ZKAGG_ERR_ZERO;                                          \
            }                                                                   \
            fe_copy(pre + 4 * i, acc);                                          \
            F##_mul(acc, acc, x);                                               \
        }                                                                       \
        F##_inv(inv, acc);                                                      \
        for (size_t i = (n); i-- > 0;) {                                        \
            fe_copy(x, (a) + 4 * i);                                            \
            if (CANONICAL) F##_to_mont(x, x);                                   \
            F##_mul(out + 4 * i, inv, pre + 4 * i);                             \
            F##_mul(inv, inv, x);                                               \
            if (CANONICAL) F##_from_mont(out + 4 * i, out + 4 * i);             \
        }                                                                       \
        free(pre);                                                              \
        return ZKAGG_OK;                                                        \
    } while (0)

int zkagg_fr_batch_inverse(uint64_t *out, const uint64_t *a, size_t n) {
    BATCH_INVERSE(fr, out, a, n, 1);
}
int zkagg_fq_batch_inverse(uint64_t *out, const uint64_t *a, size_t n) {
    BATCH_INVERSE(fq, out, a, n, 0);
}

void zkagg_fq_to_mont(uint64_t *out, const uint64_t *a, size_t n) {
    fields_map(fields_fq_to_mont, out, a, NULL, 0, n);
}
void zkagg_fq_from_mont(uint64_t *out, const uint64_t *a, size_t n) {
    fields_map(fields_fq_from_mont, out, a, NULL, 0, n);
}
void zkagg_fq_mul(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) fq_mul(out + 4 * i, a + 4 * i, b + 4 * i);
}
void zkagg_fq2_mul(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) fq2_mul(out + 8 * i, a + 8 * i, b + 8 * i);
}
void zkagg_fq2_sqr(uint64_t *out, const uint64_t *a, size_t n) {
    for (size_t i = 0; i < n; i++) fq2_sqr(out + 8 * i, a + 8 * i);
}
int zkagg_fq2_inverse(uint64_t *out, const uint64_t *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (fq2_is_zero(a + 8 * i)) return ZKAGG_ERR_ZERO;
    for (size_t i = 0; i < n; i++) fq2_inv(out + 8 * i, a + 8 * i);
    return ZKAGG_OK;
}
