/* Internal: G2 = the order-r subgroup of E'(F_q2): y^2 = x^3 + 3/(9+u), the sextic twist,
 * instantiated from the curve.h and msm.h templates (names g2_*). Included by g2.c. */
#ifndef ZKAGG_G2_H
#define ZKAGG_G2_H
#include <stdlib.h>
#include <string.h>

#include "curve_common.h"
#include "field.h"
#include "zkagg.h"

/* b' = 3/(9+u) in Montgomery form (c0, c1) */
static const uint64_t G2_B[8] = {0x3bf938e377b802a8ULL, 0x020b1b273633535dULL,
                                 0x26b7edf049755260ULL, 0x2514c6324384a86dULL,
                                 0x38e7ecccd1dcff67ULL, 0x65f0b37d93ce0d3eULL,
                                 0xd749d0dd22ac00aaULL, 0x0141b9ce4a688d4dULL};

#define CV g2
#define FE_T fe2
#define NL 8
#define F_ADD fq2_add
#define F_SUB fq2_sub
#define F_NEG fq2_neg
#define F_DBL fq2_dbl
#define F_MUL fq2_mul
#define F_SQR fq2_sqr
#define F_INV fq2_inv
#define F_ONE fq2_one
#define F_ZERO fq2_zero
#define F_COPY fq2_copy
#define F_IS_ZERO fq2_is_zero
#define F_EQ fq2_eq
#define CV_B G2_B
#define CV_MSM_MAX_H 4096 /* 512 KiB of affine buckets per work item */
#define CV_MSM_BATCH 512 /* additions per shared inversion */
#define CV_MSM_MAX_H_V 32768 /* on eight lanes (field_ifma.h): one sub-range per window up to c = 16 */
#define CV_MSM_BATCH_V 2048
#include "field_ifma.h"
#ifdef FV_IFMA /* eight-lane F_q2 for the MSM's bucket additions */
#define VF_T fv2
#define VF_GATHER fv_gather_g2
#define VF_SCATTER fv_scatter_g2
#define VF_MUL fv2_mul
#define VF_MUL_RAW fv2_mul_raw
#define VF_SQR_RAW fv2_sqr_raw
#define VF_SUB fv2_sub
#define VF_ADD fv2_add
#define VF_SHL fv2_shl
#define VF_CSUB fv2_csub
#define VF_EQ fv2_eq
#define VF_BLEND fv2_blend
#define VF_SET_ONE fv2_bcast_one
#define VF_INV fq2_inv_vartime /* the batch inversion (public values) */
#define VF_SET_ZERO fv2_zero
#define VF_SET_Q fv2_set_q
#define VF_X3 fv2_x3
#define VF_LANES(out, a) fv2_lanes((uint64_t *)(out), (a))
#define VF_FROM_LANES(a, in) fv2_from_lanes((a), (const uint64_t *)(in))
#endif
#include "curve.h"
#include "msm.h"
#include "curve_undef.h"

#endif
