/* Packing several unsigned integers into one F_r element (layout in zkagg.h, "Packing").
 * Branch-free in the values: the shifts and limb indices depend on width and the slot only, and
 * the range checks accumulate into a flag that is tested once at the end. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "parallel.h"

#include "zkagg.h"

#define PACK_MAX_BITS 253u

static int pack_args_ok(unsigned width, unsigned per) {
    return width >= 1 && width <= 64 && per >= 1 && per <= PACK_MAX_BITS &&
           width * per <= PACK_MAX_BITS;
}

/* mask of the low `bits` bits of a 256-bit value, limb `limb` (bits <= 253) */
static inline uint64_t pack_low_mask(unsigned bits, unsigned limb) {
    unsigned lo = 64 * limb;
    if (bits >= lo + 64) return UINT64_MAX;
    if (bits <= lo) return 0;
    return (UINT64_C(1) << (bits - lo)) - 1;
}

int zkagg_pack(uint64_t *out, const uint64_t *values, size_t n_values, unsigned width,
               unsigned per) {
    if (!pack_args_ok(width, per)) return ZKAGG_ERR_ARG;
    if (n_values == 0) return ZKAGG_OK;
    if (!out || !values) return ZKAGG_ERR_ARG;
    const uint64_t high = width == 64 ? 0 : ~((UINT64_C(1) << width) - 1); /* bits above a slot */
    size_t n_elements = n_values / per + (n_values % per != 0);
    uint64_t over = 0;
    for (size_t e = 0; e < n_elements; e++) {
        size_t first = e * per;
        size_t count = n_values - first < per ? n_values - first : per;
        uint64_t acc[4] = {0, 0, 0, 0};
        unsigned bit = 0;
        for (size_t s = 0; s < count; s++, bit += width) {
            uint64_t v = values[first + s];
            over |= v & high;
            unsigned limb = bit >> 6, sh = bit & 63;
            acc[limb] |= v << sh;
            /* the slot straddles two limbs; limb + 1 <= 3 because bit + width <= 253 */
            if (sh + width > 64) acc[limb + 1] |= v >> (64 - sh);
        }
        memcpy(out + 4 * e, acc, sizeof acc);
    }
    return over ? ZKAGG_ERR_OVERFLOW : ZKAGG_OK;
}

int zkagg_unpack(uint64_t *values, const uint64_t *elements, size_t n_values, unsigned width,
                 unsigned per) {
    if (!pack_args_ok(width, per)) return ZKAGG_ERR_ARG;
    if (n_values == 0) return ZKAGG_OK;
    if (!values || !elements) return ZKAGG_ERR_ARG;
    const uint64_t mask = width == 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1;
    size_t n_elements = n_values / per + (n_values % per != 0);
    uint64_t stray = 0; /* bits outside the slots */
    for (size_t e = 0; e < n_elements; e++) {
        const uint64_t *x = elements + 4 * e;
        size_t first = e * per;
        size_t count = n_values - first < per ? n_values - first : per;
        unsigned bit = 0;
        for (size_t s = 0; s < count; s++, bit += width) {
            unsigned limb = bit >> 6, sh = bit & 63;
            uint64_t v = x[limb] >> sh;
            if (sh + width > 64) v |= x[limb + 1] << (64 - sh);
            values[first + s] = v & mask;
        }
        unsigned used = width * (unsigned)count;
        for (unsigned l = 0; l < 4; l++) stray |= x[l] & ~pack_low_mask(used, l);
    }
    return stray ? ZKAGG_ERR_RANGE : ZKAGG_OK;
}

/* Quantize (clip, scale, round half to even, offset), weight and pack in one pass, CHUNK values
 * at a time through a stack buffer. The arithmetic is the same IEEE sequence as numpy's
 * rint(clip(x) * scale): results are bit-identical to zkagg/secagg/encoding.py's twin.
 * Branch-free in the values (they are a client's private update); flags are tested at the end.
 * Threads across chunks of whole elements. */
#define PACK_CHUNK 4096u

typedef struct {
    uint64_t *out;
    const double *x;
    size_t n, chunk;
    double clip, scale;
    uint64_t offset, weight;
    unsigned width, per;
    atomic_int nonfinite, rc;
} pack_qjob;

static void pack_quantize_task(void *ctx, size_t item) {
    pack_qjob *job = ctx;
    const double magic = 6755399441055744.0; /* + and − 1.5·2^52 rounds half to even, |v| < 2^51 */
    const double clip = job->clip;
    size_t first = item * job->chunk;
    size_t count = job->n - first < job->chunk ? job->n - first : job->chunk;
    uint64_t buf[PACK_CHUNK] = {0};
    int nonfinite = 0;
    for (size_t i = 0; i < count; i++) {
        double v = job->x[first + i];
        nonfinite |= (v - v) != 0.0; /* NaN and ±inf give NaN */
        v = v < -clip ? -clip : v;   /* compiles to min/max, no branch */
        v = v > clip ? clip : v;
        double rounded = v * job->scale + magic; /* v * scale is exact: scale is 2^k */
        int64_t q = (int64_t)(rounded - magic);
        buf[i] = (uint64_t)(q + (int64_t)job->offset) * job->weight;
    }
    int r = zkagg_pack(job->out + 4 * (first / job->per), buf, count, job->width, job->per);
    memset(buf, 0, count * sizeof buf[0]);
    if (nonfinite) atomic_store(&job->nonfinite, 1);
    if (r != ZKAGG_OK) atomic_store(&job->rc, r);
}

int zkagg_quantize_pack(uint64_t *out, const double *x, size_t n, double clip, double scale,
                        uint64_t offset, uint64_t weight, unsigned width, unsigned per) {
    int exponent;
    if (!pack_args_ok(width, per) || !(clip > 0) || !(scale >= 1) || frexp(scale, &exponent) != 0.5 ||
        offset >= (UINT64_C(1) << 52) || clip * scale > (double)offset)
        return ZKAGG_ERR_ARG;
    if (n == 0) return ZKAGG_OK;
    if (!out || !x) return ZKAGG_ERR_ARG;
    pack_qjob job = {.out = out, .x = x, .n = n, .chunk = (PACK_CHUNK / per) * per, .clip = clip,
                     .scale = scale, .offset = offset, .weight = weight, .width = width, .per = per};
    atomic_init(&job.nonfinite, 0);
    atomic_init(&job.rc, ZKAGG_OK);
    (void)zk_parallel_for((n + job.chunk - 1) / job.chunk, pack_quantize_task, &job);
    if (atomic_load(&job.nonfinite)) return ZKAGG_ERR_NONFINITE;
    return atomic_load(&job.rc);
}
