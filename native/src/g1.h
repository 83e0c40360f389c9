/* Internal: G1 = E(F_q): y^2 = x^3 + 3, instantiated from the curve.h and msm.h templates
 * (names g1_*). Included by g1.c and bench_curve.c. */
#ifndef ZKAGG_G1_H
#define ZKAGG_G1_H
#include <stdlib.h>
#include <string.h>

#include "curve_common.h"
#include "field.h"
#include "zkagg.h"

/* b = 3 in Montgomery form */
static const uint64_t G1_B[4] = {0x7a17caa950ad28d7ULL, 0x1f6ac17ae15521b9ULL,
                                 0x334bea4e696bd284ULL, 0x2a1f6744ce179d8eULL};

#define CV g1
#define FE_T fe
#define NL 4
#define F_ADD fq_add
#define F_SUB fq_sub
#define F_NEG fq_neg
#define F_DBL fq_dbl
#define F_MUL fq_mul
#define F_SQR fq_sqr
#define F_INV fq_inv
#define F_ONE fq_one
#define F_ZERO fe_zero
#define F_COPY fe_copy
#define F_IS_ZERO fe_is_zero
#define F_EQ fe_eq
#define CV_B G1_B
#define CV_MSM_MAX_H 8192 /* 512 KiB of affine buckets per work item */
#define CV_MSM_BATCH 2048 /* additions per shared inversion */
#define CV_MSM_MAX_H_V 32768 /* on eight lanes (field_ifma.h): one sub-range per window up to c = 16 */
#define CV_MSM_BATCH_V 4096
#include "field_ifma.h"
#ifdef FV_IFMA /* eight-lane F_q for the MSM's bucket additions */
#define VF_T fv
#define VF_GATHER fv_gather_g1
#define VF_SCATTER fv_scatter_g1
#define VF_MUL fv_mont
#define VF_MUL_RAW fv_mont_raw
#define VF_SQR_RAW fv_sqr_raw
#define VF_SUB fv_sub
#define VF_ADD fv_add
#define VF_SHL fv_shl
#define VF_CSUB fv_csub
#define VF_EQ fv_eq
#define VF_BLEND fv_blend
#define VF_SET_ONE(r) fv_bcast((r), FQ_ONE)
#define VF_INV fq_inv_vartime /* the batch inversion (public values) */
#define VF_SET_ZERO fv_zero
#define VF_SET_Q fv_set_q
#define VF_X3 fv_x3
#define VF_LANES(out, a) fv_lanes((uint64_t *)(out), (a))
#define VF_FROM_LANES(a, in) fv_from_lanes((a), (const uint64_t *)(in))
#endif
#include "curve.h"
#include "msm.h"
#include "curve_undef.h"

#endif
