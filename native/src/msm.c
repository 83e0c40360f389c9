/* Several MSMs in one call (zkagg_msm_many, see zkagg.h): each scalar vector is recoded once
 * for all the MSMs over it, and the windows of all the MSMs are the work items of one parallel
 * run, longest (G2) first, so the threads finish together. Not constant-time. */
#include "g1.h"
#include "g2.h"

typedef struct {
    const zkagg_msm_part *parts;
    size_t n_parts;
    g1_msm_ctx *g1; /* per part, used when its group is G1 */
    g2_msm_ctx *g2;
    size_t *order;  /* parts in run order (G2 first) */
    size_t *first;  /* first item of order[j]; first[n_parts] = all items */
} msm_many_job;

static void msm_many_item(void *vctx, size_t item) {
    msm_many_job *m = vctx;
    size_t j = 0;
    while (m->first[j + 1] <= item) j++;
    size_t p = m->order[j], local = item - m->first[j];
    if (m->parts[p].group == 2) {
        g2_msm_item(&m->g2[p], local);
    } else {
        g1_msm_item(&m->g1[p], local);
    }
}

int zkagg_msm_many(uint64_t *out, const zkagg_msm_part *parts, size_t n_parts,
                   const uint64_t *const *scalars, const size_t *lengths, size_t n_vectors) {
    memset(out, 0, 16 * n_parts * sizeof(uint64_t));
    for (size_t j = 0; j < n_parts; j++) {
        const zkagg_msm_part *pt = &parts[j];
        if ((pt->group != 1 && pt->group != 2) || pt->vector >= n_vectors ||
            pt->offset > lengths[pt->vector] || pt->count > lengths[pt->vector] - pt->offset)
            return ZKAGG_ERR_ARG;
    }
    if (n_parts == 0) return ZKAGG_OK;
    msm_many_job m = {parts, n_parts, calloc(n_parts, sizeof(g1_msm_ctx)),
                      calloc(n_parts, sizeof(g2_msm_ctx)), calloc(n_parts, sizeof(size_t)),
                      calloc(n_parts + 1, sizeof(size_t))};
    uint16_t **dig = calloc(n_vectors, sizeof(uint16_t *));
    unsigned *win = calloc(n_vectors, sizeof(unsigned));
    int ok = m.g1 && m.g2 && m.order && m.first && dig && win, parallel = 0;
    /* one window size per scalar vector, for its longest MSM (G1 and G2 share the cost model) */
    size_t *longest = calloc(n_vectors, sizeof(size_t));
    ok = ok && longest;
    for (size_t j = 0; ok && j < n_parts; j++) {
        size_t *l = &longest[parts[j].vector];
        if (parts[j].count > *l) *l = parts[j].count;
    }
    for (size_t v = 0; ok && v < n_vectors; v++) {
        if (longest[v] == 0) continue; /* no points: no digits needed */
        win[v] = g1_msm_window(longest[v]);
        parallel |= longest[v] >= 64;
        ok = (dig[v] = msm_recode(scalars[v], lengths[v], win[v], longest[v] >= 64)) != NULL;
    }
    free(longest);
    msm_pool pool;
    size_t ws_size = 0, total = 0, n_run = 0;
    for (int pass = 2; ok && pass >= 1; pass--) {
        for (size_t j = 0; ok && j < n_parts; j++) {
            const zkagg_msm_part *pt = &parts[j];
            if (pt->group != (unsigned)pass || pt->count == 0) continue;
            const uint16_t *d = dig[pt->vector] + pt->offset;
            size_t need = 0, items;
            if (pass == 2) {
                items = g2_msm_prepare(&m.g2[j], pt->points, pt->count, win[pt->vector], d,
                                       lengths[pt->vector], &pool, &need);
            } else {
                items = g1_msm_prepare(&m.g1[j], pt->points, pt->count, win[pt->vector], d,
                                       lengths[pt->vector], &pool, &need);
            }
            ok = items > 0;
            m.order[n_run] = j;
            m.first[n_run++] = total;
            total += items;
            if (need > ws_size) ws_size = need;
        }
    }
    if (m.first) m.first[n_run] = total;
    if (ok && total > 0) {
        size_t n_ws = parallel ? (size_t)zk_threads() : 1;
        if (n_ws > total) n_ws = total;
        ok = msm_pool_init(&pool, n_ws, ws_size);
        if (ok) {
            curve_run(total, msm_many_item, &m, parallel);
            ok = !__atomic_load_n(&pool.err, __ATOMIC_RELAXED);
        }
        msm_pool_free(&pool);
    }
    for (size_t r = 0; m.order && m.first && r < n_run; r++) {
        size_t j = m.order[r];
        if (parts[j].group == 2) {
            if (ok) g2_msm_finish(out + 16 * j, &m.g2[j]);
            g2_msm_release(&m.g2[j]);
        } else {
            if (ok) g1_msm_finish(out + 16 * j, &m.g1[j]);
            g1_msm_release(&m.g1[j]);
        }
    }
    for (size_t v = 0; dig && v < n_vectors; v++) free(dig[v]);
    free(dig);
    free(win);
    free(m.g1);
    free(m.g2);
    free(m.order);
    free(m.first);
    return ok ? ZKAGG_OK : ZKAGG_ERR_ALLOC;
}
