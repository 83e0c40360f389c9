/* Internal: 4x64-bit Montgomery multiplication and squaring in x86-64 inline assembly (BMI2
 * MULX, ADX). Included by field.h when ZKAGG_ASM is set; same contract as mont_mul_c: inputs < p,
 * output < p, output may alias inputs (results stay in registers until the asm has read them all).
 *
 * The inputs are pointers in registers plus a "memory" clobber, and inv is a memory operand:
 * with one memory operand per limb, gcc failed with "impossible constraints" (or never finished)
 * where many values were live around the call.
 *
 * On Zen 4 (measured) multiplications and carry additions together issue at about two per cycle,
 * so the cost follows their count: 36 + 75 for a product (~56 cycles), 30 + 72 for a square.
 *
 * Interleaved CIOS, "no-carry" variant: the top limb of p is below 2^62, so the running value
 * (t + a*b[i] + m*p) / 2^64 stays below 2p and a fifth limb t4 never carries out. Each round adds
 * low halves of the products on the OF chain (ADOX) and high halves on the CF chain (ADCX), so
 * the two carry chains overlap. The zeroed low limb of each round becomes the next round's t4:
 * the accumulator registers rotate instead of being moved. */
#ifndef ZKAGG_FIELD_ASM_H
#define ZKAGG_FIELD_ASM_H
#include <stdint.h>

/* t0..t4 = a * b[0] */
#define FASM_MUL_FIRST(T0, T1, T2, T3, T4)                                                     \
    "movq (%[b]), %%rdx\n\t"                                                                   \
    "mulxq (%[a]), %[" T0 "], %[" T1 "]\n\t"                                                   \
    "mulxq 8(%[a]), %[lo], %[" T2 "]\n\t"                                                      \
    "addq %[lo], %[" T1 "]\n\t"                                                                \
    "mulxq 16(%[a]), %[lo], %[" T3 "]\n\t"                                                     \
    "adcq %[lo], %[" T2 "]\n\t"                                                                \
    "mulxq 24(%[a]), %[lo], %[" T4 "]\n\t"                                                     \
    "adcq %[lo], %[" T3 "]\n\t"                                                                \
    "adcq $0, %[" T4 "]\n\t"

/* t1..t4 = (t0..t4 + m*p) / 2^64 with m = t0 * inv mod 2^64. t0 + lo(m*p0) is 0 mod 2^64, so
 * T0 ends up 0: it supplies the zero that closes the OF chain and becomes the next round's t4.
 * imul clobbers CF/OF; the xor starts both chains clean (lo is overwritten right after). */
#define FASM_MUL_REDUCE(T0, T1, T2, T3, T4)                                                    \
    "movq %[" T0 "], %%rdx\n\t"                                                                \
    "imulq %[inv], %%rdx\n\t"                                                                  \
    "xorl %k[lo], %k[lo]\n\t"                                                                  \
    "mulxq (%[p]), %[lo], %[hi]\n\t"                                                           \
    "adoxq %[lo], %[" T0 "]\n\t"                                                               \
    "adcxq %[hi], %[" T1 "]\n\t"                                                               \
    "mulxq 8(%[p]), %[lo], %[hi]\n\t"                                                          \
    "adoxq %[lo], %[" T1 "]\n\t"                                                               \
    "adcxq %[hi], %[" T2 "]\n\t"                                                               \
    "mulxq 16(%[p]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T2 "]\n\t"                                                               \
    "adcxq %[hi], %[" T3 "]\n\t"                                                               \
    "mulxq 24(%[p]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T3 "]\n\t"                                                               \
    "adcxq %[hi], %[" T4 "]\n\t"                                                               \
    "adoxq %[" T0 "], %[" T4 "]\n\t"

/* t0..t4 = t0..t3 + a * b[i] (OFF = 8*i), with T4 = 0 on entry (the limb FASM_MUL_REDUCE
 * zeroed). The flags are clean after FASM_MUL_REDUCE already; clearing them again (zero idiom)
 * cuts the dependency on its last add. adox T4,T4 turns the zero limb into the pending OF. */
#define FASM_MUL_ADD(OFF, T0, T1, T2, T3, T4)                                                  \
    "movq " OFF "(%[b]), %%rdx\n\t"                                                            \
    "xorl %k[lo], %k[lo]\n\t"                                                                  \
    "mulxq (%[a]), %[lo], %[hi]\n\t"                                                           \
    "adoxq %[lo], %[" T0 "]\n\t"                                                               \
    "adcxq %[hi], %[" T1 "]\n\t"                                                               \
    "mulxq 8(%[a]), %[lo], %[hi]\n\t"                                                          \
    "adoxq %[lo], %[" T1 "]\n\t"                                                               \
    "adcxq %[hi], %[" T2 "]\n\t"                                                               \
    "mulxq 16(%[a]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T2 "]\n\t"                                                               \
    "adcxq %[hi], %[" T3 "]\n\t"                                                               \
    "mulxq 24(%[a]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T3 "]\n\t"                                                               \
    "adoxq %[" T4 "], %[" T4 "]\n\t"                                                           \
    "adcxq %[hi], %[" T4 "]\n\t"

/* t0..t3 (< 2p) -= p unless that borrows; S0..S3 are scratch */
#define FASM_FINAL_SUB(T0, T1, T2, T3, S0, S1, S2, S3)                                         \
    "movq %[" T0 "], %[" S0 "]\n\t"                                                            \
    "movq %[" T1 "], %[" S1 "]\n\t"                                                            \
    "movq %[" T2 "], %[" S2 "]\n\t"                                                            \
    "movq %[" T3 "], %[" S3 "]\n\t"                                                            \
    "subq (%[p]), %[" S0 "]\n\t"                                                               \
    "sbbq 8(%[p]), %[" S1 "]\n\t"                                                              \
    "sbbq 16(%[p]), %[" S2 "]\n\t"                                                             \
    "sbbq 24(%[p]), %[" S3 "]\n\t"                                                             \
    "cmovncq %[" S0 "], %[" T0 "]\n\t"                                                         \
    "cmovncq %[" S1 "], %[" T1 "]\n\t"                                                         \
    "cmovncq %[" S2 "], %[" T2 "]\n\t"                                                         \
    "cmovncq %[" S3 "], %[" T3 "]\n\t"

static inline void mont_mul_asm(fe o, const fe a, const fe b, const uint64_t *p, uint64_t inv) {
    uint64_t t0, t1, t2, t3, t4, lo, hi, d;
    __asm__(FASM_MUL_FIRST("t0", "t1", "t2", "t3", "t4")
            FASM_MUL_REDUCE("t0", "t1", "t2", "t3", "t4")
            FASM_MUL_ADD("8", "t1", "t2", "t3", "t4", "t0")
            FASM_MUL_REDUCE("t1", "t2", "t3", "t4", "t0")
            FASM_MUL_ADD("16", "t2", "t3", "t4", "t0", "t1")
            FASM_MUL_REDUCE("t2", "t3", "t4", "t0", "t1")
            FASM_MUL_ADD("24", "t3", "t4", "t0", "t1", "t2")
            FASM_MUL_REDUCE("t3", "t4", "t0", "t1", "t2")
            FASM_FINAL_SUB("t4", "t0", "t1", "t2", "d", "lo", "hi", "t3")
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
              [lo] "=&r"(lo), [hi] "=&r"(hi), [d] "=&d"(d)
            : [a] "r"(a), [b] "r"(b), [p] "r"(p), [inv] "m"(inv)
            : "cc", "memory");
    o[0] = t4;
    o[1] = t0;
    o[2] = t1;
    o[3] = t2;
}

/* t1..t3,t0 = (t0..t3 + m*p) / 2^64: FASM_MUL_REDUCE for a window whose fifth limb starts
 * empty, so the zeroed T0 takes that place (adox T0,T0 turns it into the pending OF) */
#define FASM_SQR_REDUCE(T0, T1, T2, T3)                                                        \
    "movq %[" T0 "], %%rdx\n\t"                                                                \
    "imulq %[inv], %%rdx\n\t"                                                                  \
    "xorl %k[lo], %k[lo]\n\t"                                                                  \
    "mulxq (%[p]), %[lo], %[hi]\n\t"                                                           \
    "adoxq %[lo], %[" T0 "]\n\t"                                                               \
    "adcxq %[hi], %[" T1 "]\n\t"                                                               \
    "mulxq 8(%[p]), %[lo], %[hi]\n\t"                                                          \
    "adoxq %[lo], %[" T1 "]\n\t"                                                               \
    "adcxq %[hi], %[" T2 "]\n\t"                                                               \
    "mulxq 16(%[p]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T2 "]\n\t"                                                               \
    "adcxq %[hi], %[" T3 "]\n\t"                                                               \
    "mulxq 24(%[p]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T3 "]\n\t"                                                               \
    "adoxq %[" T0 "], %[" T0 "]\n\t"                                                           \
    "adcxq %[hi], %[" T0 "]\n\t"

static inline void mont_sqr_asm(fe o, const fe a, const uint64_t *p, uint64_t inv) {
    uint64_t t0, t1, t2, t3, t4, t5, t6, t7, lo, hi, d;
    __asm__(/* off-diagonal products a_i*a_j, i < j, into t1..t6 */
            "movq (%[a]), %%rdx\n\t"
            "mulxq 8(%[a]), %[t1], %[t2]\n\t"
            "mulxq 16(%[a]), %[lo], %[t3]\n\t"
            "mulxq 24(%[a]), %[hi], %[t4]\n\t"
            "addq %[lo], %[t2]\n\t"
            "adcq %[hi], %[t3]\n\t"
            "adcq $0, %[t4]\n\t"
            "movq 8(%[a]), %%rdx\n\t"
            "mulxq 16(%[a]), %[lo], %[hi]\n\t"
            "mulxq 24(%[a]), %[t0], %[t5]\n\t"
            "addq %[lo], %[t3]\n\t"
            "adcq %[hi], %[t4]\n\t"
            "adcq $0, %[t5]\n\t"
            "addq %[t0], %[t4]\n\t"
            "adcq $0, %[t5]\n\t"
            "movq 16(%[a]), %%rdx\n\t"
            "mulxq 24(%[a]), %[lo], %[t6]\n\t"
            "addq %[lo], %[t5]\n\t"
            "adcq $0, %[t6]\n\t"
            /* double them (CF chain) and add the squares a_i^2 (OF chain) */
            "movq (%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[t0], %[hi]\n\t"
            "xorl %k[t7], %k[t7]\n\t"
            "adcxq %[t1], %[t1]\n\t"
            "adoxq %[hi], %[t1]\n\t"
            "movq 8(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[lo], %[hi]\n\t"
            "adcxq %[t2], %[t2]\n\t"
            "adoxq %[lo], %[t2]\n\t"
            "adcxq %[t3], %[t3]\n\t"
            "adoxq %[hi], %[t3]\n\t"
            "movq 16(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[lo], %[hi]\n\t"
            "adcxq %[t4], %[t4]\n\t"
            "adoxq %[lo], %[t4]\n\t"
            "adcxq %[t5], %[t5]\n\t"
            "adoxq %[hi], %[t5]\n\t"
            "movq 24(%[a]), %%rdx\n\t"
            "mulxq %%rdx, %[lo], %[hi]\n\t"
            "adcxq %[t6], %[t6]\n\t"
            "adoxq %[lo], %[t6]\n\t"
            "adcxq %[t7], %[t7]\n\t"
            "adoxq %[hi], %[t7]\n\t"
            /* Montgomery-reduce the low half L, then add the high half H: (L + m*p)/2^256 <= p
             * and H < p^2/2^256 < p/4, so the sum is below 2p */
            FASM_SQR_REDUCE("t0", "t1", "t2", "t3")
            FASM_SQR_REDUCE("t1", "t2", "t3", "t0")
            FASM_SQR_REDUCE("t2", "t3", "t0", "t1")
            FASM_SQR_REDUCE("t3", "t0", "t1", "t2")
            "addq %[t4], %[t0]\n\t"
            "adcq %[t5], %[t1]\n\t"
            "adcq %[t6], %[t2]\n\t"
            "adcq %[t7], %[t3]\n\t"
            FASM_FINAL_SUB("t0", "t1", "t2", "t3", "d", "lo", "hi", "t4")
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
              [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi),
              [d] "=&d"(d)
            : [a] "r"(a), [p] "r"(p), [inv] "m"(inv)
            : "cc", "memory");
    o[0] = t0;
    o[1] = t1;
    o[2] = t2;
    o[3] = t3;
}

/* t[0..7] = a * b, the full 512-bit product: rows of MULX with ADOX (low halves) and ADCX (high
 * halves) chains, as in mont_mul_asm without the reduction */
/* The full 512-bit product a * b into registers %[p0]..%[p7] (operands named a, b, p0..p7, lo,
 * hi; clobbers rdx and the flags): MULX, with ADOX for low halves and ADCX for high halves.
 * Shared by wide_mul_asm and the sparse products' multiply-accumulate (sparse.c). */
#define FASM_WIDE_ROW(OFF, T0, T1, T2, T3, T4)                                                 \
    "movq " OFF "(%[b]), %%rdx\n\t"                                                           \
    "xorl %k[" T4 "], %k[" T4 "]\n\t"                                                         \
    "mulxq (%[a]), %[lo], %[hi]\n\t"                                                          \
    "adoxq %[lo], %[" T0 "]\n\t"                                                              \
    "adcxq %[hi], %[" T1 "]\n\t"                                                              \
    "mulxq 8(%[a]), %[lo], %[hi]\n\t"                                                         \
    "adoxq %[lo], %[" T1 "]\n\t"                                                              \
    "adcxq %[hi], %[" T2 "]\n\t"                                                              \
    "mulxq 16(%[a]), %[lo], %[hi]\n\t"                                                        \
    "adoxq %[lo], %[" T2 "]\n\t"                                                              \
    "adcxq %[hi], %[" T3 "]\n\t"                                                              \
    "mulxq 24(%[a]), %[lo], %[hi]\n\t"                                                        \
    "adoxq %[lo], %[" T3 "]\n\t"                                                              \
    "movl $0, %k[lo]\n\t"                                                                     \
    "adcxq %[hi], %[" T4 "]\n\t"                                                              \
    "adoxq %[lo], %[" T4 "]\n\t"
#define FASM_WIDE_PRODUCT                                                                      \
    "movq (%[b]), %%rdx\n\t"                                                                  \
    "mulxq (%[a]), %[p0], %[p1]\n\t"                                                          \
    "mulxq 8(%[a]), %[lo], %[p2]\n\t"                                                         \
    "addq %[lo], %[p1]\n\t"                                                                   \
    "mulxq 16(%[a]), %[lo], %[p3]\n\t"                                                        \
    "adcq %[lo], %[p2]\n\t"                                                                   \
    "mulxq 24(%[a]), %[lo], %[p4]\n\t"                                                        \
    "adcq %[lo], %[p3]\n\t"                                                                   \
    "adcq $0, %[p4]\n\t"                                                                      \
    FASM_WIDE_ROW("8", "p1", "p2", "p3", "p4", "p5")                                           \
    FASM_WIDE_ROW("16", "p2", "p3", "p4", "p5", "p6")                                          \
    FASM_WIDE_ROW("24", "p3", "p4", "p5", "p6", "p7")

static inline void wide_mul_asm(uint64_t *t, const fe a, const fe b) {
    uint64_t p0, p1, p2, p3, p4, p5, p6, p7, lo, hi;
    __asm__(FASM_WIDE_PRODUCT
            : [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3), [p4] "=&r"(p4),
              [p5] "=&r"(p5), [p6] "=&r"(p6), [p7] "=&r"(p7), [lo] "=&r"(lo), [hi] "=&r"(hi)
            : [a] "r"(a), [b] "r"(b)
            : "rdx", "cc", "memory");
    t[0] = p0; t[1] = p1; t[2] = p2; t[3] = p3;
    t[4] = p4; t[5] = p5; t[6] = p6; t[7] = p7;
}

/* o = T / 2^256 mod p for a 512-bit T < 3p 2^256: Montgomery rounds on the low half (as in
 * mont_sqr_asm), the high half added, then p subtracted twice where it fits */
static inline void wide_redc_asm(fe o, const uint64_t *t, const uint64_t *p, uint64_t inv) {
    uint64_t t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4, lo, hi, d;
    __asm__(FASM_SQR_REDUCE("t0", "t1", "t2", "t3")
            FASM_SQR_REDUCE("t1", "t2", "t3", "t0")
            FASM_SQR_REDUCE("t2", "t3", "t0", "t1")
            FASM_SQR_REDUCE("t3", "t0", "t1", "t2")
            "addq 32(%[t]), %[t0]\n\t"
            "adcq 40(%[t]), %[t1]\n\t"
            "adcq 48(%[t]), %[t2]\n\t"
            "adcq 56(%[t]), %[t3]\n\t"
            FASM_FINAL_SUB("t0", "t1", "t2", "t3", "d", "lo", "hi", "t4")
            FASM_FINAL_SUB("t0", "t1", "t2", "t3", "d", "lo", "hi", "t4")
            : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [t4] "=&r"(t4),
              [lo] "=&r"(lo), [hi] "=&r"(hi), [d] "=&d"(d)
            : [t] "r"(t), [p] "r"(p), [inv] "m"(inv)
            : "cc", "memory");
    o[0] = t0;
    o[1] = t1;
    o[2] = t2;
    o[3] = t3;
}

#undef FASM_SQR_REDUCE
#undef FASM_MUL_FIRST
#undef FASM_MUL_REDUCE
#undef FASM_MUL_ADD
#undef FASM_FINAL_SUB

#endif
