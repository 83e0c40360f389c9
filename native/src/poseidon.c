/* Poseidon permutation and zkagg's sponge over F_r, in the fast form prepared by
 * zkagg/poseidon/optimize.py (constants in Montgomery form, sparse partial rounds).
 * Branch-free in the element values: field ops are CT and the range check below is too. */
#include <stdlib.h>

#include "field.h"
#include "parallel.h"
#include "zkagg.h"

#define POSEIDON_MAX_T 17
/* states per work item of zkagg_poseidon_permute: enough work to outweigh the hand-out */
#define POSEIDON_STATES_PER_ITEM 64
/* instances per work item of zkagg_poseidon_absorb_trace (each writes 3 (R_F t + R_P) values) */
#define POSEIDON_TRACES_PER_ITEM 8

static int poseidon_params_ok(const zkagg_poseidon_params *p) {
    return p && p->t >= 2 && p->t <= POSEIDON_MAX_T && p->rounds_f >= 2 && p->rounds_f % 2 == 0 &&
           p->rounds_p >= 1 && p->full_constants && p->mds && p->pre_mds && p->partial_first &&
           (p->partial_constants || p->rounds_p == 1) && p->sparse;
}

/* 1 when every element of a (n elements) is below r, without branching on the values */
static int poseidon_all_canonical(const uint64_t *a, size_t n) {
    uint64_t all_below = 1;
    for (size_t k = 0; k < n; k++) {
        uint64_t borrow = 0;
        for (int i = 0; i < 4; i++) {
            u128 d = (u128)a[4 * k + i] - FR_P[i] - borrow;
            borrow = (uint64_t)(d >> 64) & 1;
        }
        all_below &= borrow; /* a - r borrows exactly when a < r */
    }
    return (int)all_below;
}

/* x <- x^5. With a trace (*trace non-NULL), also writes x^2, x^4, x^5 there in canonical form
 * and advances *trace by 12 limbs: the three wires of the S-box in the circuit gadget. */
static inline void poseidon_sbox(fe x, uint64_t **trace) {
    fe x2, x4;
    fr_sqr(x2, x);
    fr_sqr(x4, x2);
    fr_mul(x, x4, x);
    if (*trace) {
        fr_from_mont(*trace, x2);
        fr_from_mont(*trace + 4, x4);
        fr_from_mont(*trace + 8, x);
        *trace += 12;
    }
}

/* 4r, 2r, r */
static const uint64_t POSEIDON_R_MULTIPLES[3][4] = {
    {0x0f87d64fc0000004ULL, 0xa0cfa121e6e5c245ULL, 0xe14116da06056174ULL, 0xc19139cb84c680a6ULL},
    {0x87c3eb27e0000002ULL, 0x5067d090f372e122ULL, 0x70a08b6d0302b0baULL, 0x60c89ce5c2634053ULL},
    {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}};

/* Adds column k (the products x[i] y[k-i]) of every term to acc, counting carries past 128 bits
 * in over. Called with constant k so that the compiler unrolls the i loop. */
static inline void poseidon_column(u128 *acc, uint64_t *over, const uint64_t *a, const uint64_t *b,
                                   unsigned n, const int k) {
    const int lo = k < 3 ? 0 : k - 3, hi = k < 3 ? k : 3;
    u128 s = *acc;
    uint64_t c = *over;
    for (unsigned j = 0; j < n; j++, a += 4, b += 4) {
        for (int i = lo; i <= hi; i++) {
            u128 prod = (u128)a[i] * b[k - i];
            s += prod;
            c += s < prod;
        }
    }
    *acc = s;
    *over = c;
}

/* o = sum_j a[j] b[j] (Montgomery in and out) for n <= POSEIDON_MAX_T, with one reduction:
 * the 512-bit products are summed column by column (product scanning) into 9 limbs T, then one
 * Montgomery reduction gives (T + m r) / 2^256 < 17 r^2 / 2^256 + r < 4.3 r (r < 2^253.6), which
 * three conditional subtractions bring below r. About half the work of n separate products. */
static inline void poseidon_dot(fe o, const uint64_t *a, const uint64_t *b, unsigned n) {
    uint64_t T[9], over = 0;
    u128 acc = 0;
#define POSEIDON_COLUMN(k)                                \
    poseidon_column(&acc, &over, a, b, n, k);             \
    T[k] = (uint64_t)acc;                                 \
    acc = (acc >> 64) | ((u128)over << 64);               \
    over = 0;
    POSEIDON_COLUMN(0)
    POSEIDON_COLUMN(1)
    POSEIDON_COLUMN(2)
    POSEIDON_COLUMN(3)
    POSEIDON_COLUMN(4)
    POSEIDON_COLUMN(5)
    POSEIDON_COLUMN(6)
#undef POSEIDON_COLUMN
    T[7] = (uint64_t)acc;
    T[8] = (uint64_t)(acc >> 64);
    for (int i = 0; i < 4; i++) {
        uint64_t m = T[i] * FR_INV;
        u128 c = 0;
        for (int j = 0; j < 4; j++) {
            c += (u128)m * FR_P[j] + T[i + j];
            T[i + j] = (uint64_t)c;
            c >>= 64;
        }
        for (int j = i + 4; j < 9; j++) {
            c += T[j];
            T[j] = (uint64_t)c;
            c >>= 64;
        }
    }
    /* T[8] is 0 now (the bound above is below 2^256); subtract 4r, 2r, r where they fit */
    fe v = {T[4], T[5], T[6], T[7]};
    for (int q = 0; q < 3; q++) {
        uint64_t d[4], borrow = 0;
        for (int i = 0; i < 4; i++) {
            u128 x = (u128)v[i] - POSEIDON_R_MULTIPLES[q][i] - borrow;
            d[i] = (uint64_t)x;
            borrow = (uint64_t)(x >> 64) & 1;
        }
        uint64_t keep = -borrow; /* borrow: v < q r, keep v */
        for (int i = 0; i < 4; i++) v[i] = (v[i] & keep) | (d[i] & ~keep);
    }
    fe_copy(o, v);
}

/* s <- m s for a dense t x t matrix */
static inline void poseidon_dense(fe *s, const uint64_t *m, unsigned t) {
    fe out[POSEIDON_MAX_T];
    for (unsigned i = 0; i < t; i++) poseidon_dot(out[i], m + 4 * (size_t)t * i, s[0], t);
    memcpy(s, out, 32 * (size_t)t);
}

/* A full round; m == NULL skips the linear layer. */
static inline void poseidon_full_round(fe *s, unsigned t, const uint64_t *c, const uint64_t *m,
                                       uint64_t **trace) {
    for (unsigned i = 0; i < t; i++) {
        fr_add(s[i], s[i], c + 4 * i);
        poseidon_sbox(s[i], trace);
    }
    if (m) poseidon_dense(s, m, t);
}

/* The permutation on a Montgomery-form state, in the fast form. With trace non-NULL it records
 * every S-box (poseidon_sbox) and stops after the last one, leaving s without the final linear
 * layer. Inlined into both callers, so the plain permutation carries no trace code.
 *
 * The S-box inputs are those of the plain form (state <- M (sbox(state + c)) every round), so the
 * trace is the plain form's: the first half's full rounds are unchanged up to their last S-box.
 * After it, the fast state differs from the plain one by linear maps diag(1, X) and by constants
 * (0, v) moved up from later rounds (optimize.py), both of which leave state[0] alone: the partial
 * S-box inputs state[0] agree. The sparse matrices compose back to M by the last partial round,
 * and every moved constant is added back by then, so the second half's full rounds start from the
 * plain state. tests/test_poseidon_trace.py checks this against the plain-form reference. */
static inline void poseidon_rounds(fe *s, const zkagg_poseidon_params *p, uint64_t *trace) {
    const unsigned t = p->t, half = p->rounds_f / 2, width = 2 * t - 1;
    const uint64_t *c = p->full_constants;
    for (unsigned k = 0; k < half; k++, c += 4 * t)
        poseidon_full_round(s, t, c, k + 1 == half ? p->pre_mds : p->mds, &trace);
    for (unsigned i = 0; i < t; i++) fr_add(s[i], s[i], p->partial_first + 4 * i);
    const uint64_t *sp = p->sparse;
    for (unsigned j = 0; j < p->rounds_p; j++, sp += 4 * width) {
        fe row0, prod;
        poseidon_sbox(s[0], &trace);
        if (j + 1 < p->rounds_p) fr_add(s[0], s[0], p->partial_constants + 4 * j);
        /* sparse matrix: row 0 is dense, below it the identity plus column 0 */
        poseidon_dot(row0, sp, s[0], t);
        for (unsigned i = 1; i < t; i++) {
            fr_mul(prod, sp + 4 * (t + i - 1), s[0]);
            fr_add(s[i], s[i], prod);
        }
        fe_copy(s[0], row0);
    }
    const int traced = trace != NULL;
    for (unsigned k = half; k < p->rounds_f; k++, c += 4 * t)
        poseidon_full_round(s, t, c, traced && k + 1 == p->rounds_f ? NULL : p->mds, &trace);
}

static void poseidon_permute_mont(fe *s, const zkagg_poseidon_params *p) { poseidon_rounds(s, p, NULL); }

typedef struct {
    uint64_t *states;
    size_t n_states;
    const zkagg_poseidon_params *p;
} poseidon_permute_job;

static void poseidon_permute_task(void *ctx, size_t item) {
    const poseidon_permute_job *job = ctx;
    const unsigned t = job->p->t;
    size_t end = (item + 1) * POSEIDON_STATES_PER_ITEM;
    if (end > job->n_states) end = job->n_states;
    for (size_t n = item * POSEIDON_STATES_PER_ITEM; n < end; n++) {
        uint64_t *state = job->states + 4 * (size_t)t * n;
        fe s[POSEIDON_MAX_T];
        for (unsigned i = 0; i < t; i++) fr_to_mont(s[i], state + 4 * i);
        poseidon_permute_mont(s, job->p);
        for (unsigned i = 0; i < t; i++) fr_from_mont(state + 4 * i, s[i]);
    }
}

int zkagg_poseidon_permute(uint64_t *states, size_t n_states, const zkagg_poseidon_params *p) {
    if (!poseidon_params_ok(p) || (n_states && !states)) return ZKAGG_ERR_ARG;
    if (n_states > SIZE_MAX / (32 * (size_t)p->t)) return ZKAGG_ERR_ARG;
    if (!poseidon_all_canonical(states, n_states * p->t)) return ZKAGG_ERR_ARG;
    poseidon_permute_job job = {states, n_states, p};
    size_t items = (n_states + POSEIDON_STATES_PER_ITEM - 1) / POSEIDON_STATES_PER_ITEM;
    /* the result is complete even if no thread could start: the caller runs what is left */
    (void)zk_parallel_for(items, poseidon_permute_task, &job);
    return ZKAGG_OK;
}

typedef struct {
    uint64_t *out;
    const uint64_t *data;
    const size_t *lengths;
    const size_t *offsets;
    const zkagg_poseidon_params *p;
} poseidon_sponge_job;

/* zkagg's sponge: state [L, 0, ..., 0]; add each block of t - 1 elements (the last one zero
 * padded, at least one block) to state[1..] and permute; the hash is state[0]. */
static void poseidon_sponge_task(void *ctx, size_t k) {
    const poseidon_sponge_job *job = ctx;
    const unsigned t = job->p->t, rate = t - 1;
    const size_t len = job->lengths[k];
    const uint64_t *data = job->data + 4 * job->offsets[k];
    fe s[POSEIDON_MAX_T], x;
    memset(s, 0, sizeof s);
    uint64_t l[4] = {(uint64_t)len, 0, 0, 0};
    fr_to_mont(s[0], l);
    size_t done = 0;
    do {
        for (unsigned i = 0; i < rate && done < len; i++, done++) {
            fr_to_mont(x, data + 4 * done);
            fr_add(s[1 + i], s[1 + i], x);
        }
        poseidon_permute_mont(s, job->p);
    } while (done < len);
    fr_from_mont(job->out + 4 * k, s[0]);
}

int zkagg_poseidon_sponge(uint64_t *out, const uint64_t *data, const size_t *lengths,
                          size_t n_vectors, const zkagg_poseidon_params *p) {
    if (!poseidon_params_ok(p)) return ZKAGG_ERR_ARG;
    if (n_vectors == 0) return ZKAGG_OK;
    if (!out || !lengths) return ZKAGG_ERR_ARG;
    size_t *offsets = malloc(sizeof(size_t) * n_vectors);
    if (!offsets) return ZKAGG_ERR_ALLOC;
    size_t total = 0;
    for (size_t k = 0; k < n_vectors; k++) {
        offsets[k] = total;
        if (lengths[k] > SIZE_MAX / 32 - total) { /* the byte count of data must fit a size_t */
            free(offsets);
            return ZKAGG_ERR_ARG;
        }
        total += lengths[k];
    }
    if ((total && !data) || !poseidon_all_canonical(data, total)) {
        free(offsets);
        return ZKAGG_ERR_ARG;
    }
    poseidon_sponge_job job = {out, data, lengths, offsets, p};
    (void)zk_parallel_for(n_vectors, poseidon_sponge_task, &job); /* complete even without threads */
    free(offsets);
    return ZKAGG_OK;
}

typedef struct {
    uint64_t *out;
    const uint64_t *inputs;
    size_t n_instances, n_out;
    const zkagg_poseidon_params *p;
} poseidon_trace_job;

/* One absorb instance: state = M prev + (0, block), then the permutation's S-boxes, recorded. */
static void poseidon_trace_task(void *ctx, size_t item) {
    const poseidon_trace_job *job = ctx;
    const unsigned t = job->p->t, n_in = 2 * t - 1;
    size_t end = (item + 1) * POSEIDON_TRACES_PER_ITEM;
    if (end > job->n_instances) end = job->n_instances;
    for (size_t n = item * POSEIDON_TRACES_PER_ITEM; n < end; n++) {
        const uint64_t *in = job->inputs + 4 * (size_t)n_in * n;
        fe s[POSEIDON_MAX_T], x;
        for (unsigned i = 0; i < t; i++) fr_to_mont(s[i], in + 4 * i);
        poseidon_dense(s, job->p->mds, t);
        for (unsigned i = 1; i < t; i++) {
            fr_to_mont(x, in + 4 * (t + i - 1));
            fr_add(s[i], s[i], x);
        }
        poseidon_rounds(s, job->p, job->out + 4 * job->n_out * n);
    }
}

int zkagg_poseidon_absorb_trace(uint64_t *out, const uint64_t *inputs, size_t n_instances,
                                const zkagg_poseidon_params *p) {
    if (!poseidon_params_ok(p)) return ZKAGG_ERR_ARG;
    if (n_instances == 0) return ZKAGG_OK;
    if (!out || !inputs) return ZKAGG_ERR_ARG;
    const size_t n_in = 2 * (size_t)p->t - 1;
    const size_t n_out = 3 * ((size_t)p->rounds_f * p->t + p->rounds_p);
    /* the byte counts of inputs and out must fit a size_t */
    if (n_instances > SIZE_MAX / (32 * n_in) || n_instances > SIZE_MAX / (32 * n_out)) return ZKAGG_ERR_ARG;
    if (!poseidon_all_canonical(inputs, n_instances * n_in)) return ZKAGG_ERR_ARG;
    poseidon_trace_job job = {out, inputs, n_instances, n_out, p};
    size_t items = (n_instances + POSEIDON_TRACES_PER_ITEM - 1) / POSEIDON_TRACES_PER_ITEM;
    (void)zk_parallel_for(items, poseidon_trace_task, &job); /* complete even without threads */
    return ZKAGG_OK;
}
