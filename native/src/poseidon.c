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

static inline void poseidon_sbox(fe x) {
    fe x2, x4;
    fr_sqr(x2, x);
    fr_sqr(x4, x2);
    fr_mul(x, x4, x);
}

/* s <- m s for a dense t x t matrix */
static inline void poseidon_dense(fe *s, const uint64_t *m, unsigned t) {
    fe out[POSEIDON_MAX_T], prod;
    for (unsigned i = 0; i < t; i++) {
        const uint64_t *row = m + 4 * (size_t)t * i;
        fr_mul(out[i], row, s[0]);
        for (unsigned j = 1; j < t; j++) {
            fr_mul(prod, row + 4 * j, s[j]);
            fr_add(out[i], out[i], prod);
        }
    }
    memcpy(s, out, 32 * (size_t)t);
}

static inline void poseidon_full_round(fe *s, unsigned t, const uint64_t *c, const uint64_t *m) {
    for (unsigned i = 0; i < t; i++) {
        fr_add(s[i], s[i], c + 4 * i);
        poseidon_sbox(s[i]);
    }
    poseidon_dense(s, m, t);
}

/* The permutation on a Montgomery-form state. */
static void poseidon_permute_mont(fe *s, const zkagg_poseidon_params *p) {
    const unsigned t = p->t, half = p->rounds_f / 2, width = 2 * t - 1;
    const uint64_t *c = p->full_constants;
    for (unsigned k = 0; k < half; k++, c += 4 * t)
        poseidon_full_round(s, t, c, k + 1 == half ? p->pre_mds : p->mds);
    for (unsigned i = 0; i < t; i++) fr_add(s[i], s[i], p->partial_first + 4 * i);
    const uint64_t *sp = p->sparse;
    for (unsigned j = 0; j < p->rounds_p; j++, sp += 4 * width) {
        fe s0, acc, prod;
        poseidon_sbox(s[0]);
        if (j + 1 < p->rounds_p) fr_add(s[0], s[0], p->partial_constants + 4 * j);
        fe_copy(s0, s[0]);
        /* sparse matrix: row 0 is dense, below it the identity plus column 0 */
        fr_mul(acc, sp, s0);
        for (unsigned i = 1; i < t; i++) {
            fr_mul(prod, sp + 4 * i, s[i]);
            fr_add(acc, acc, prod);
            fr_mul(prod, sp + 4 * (t + i - 1), s0);
            fr_add(s[i], s[i], prod);
        }
        fe_copy(s[0], acc);
    }
    for (unsigned k = half; k < p->rounds_f; k++, c += 4 * t) poseidon_full_round(s, t, c, p->mds);
}

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
