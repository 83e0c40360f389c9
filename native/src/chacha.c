/* The secure-aggregation PRG: RFC 8439 ChaCha20 keystream, rejection-sampled into F_r.
 * The stream is specified in zkagg.h ("secure aggregation"); this file implements it.
 *
 * ChaCha20 (RFC 8439, section 2): the state is 16 32-bit words, "expand 32-byte k" (2.3), the key
 * as 8 little-endian words, the 32-bit block counter, the nonce as 3 little-endian words. A block
 * is 20 rounds, alternately column and diagonal quarter rounds (2.1, 2.2), plus the input state,
 * serialized little-endian (2.3). Kernels produce 16 consecutive blocks (a "chunk", 1024 bytes,
 * 32 candidate words) at a time, and with them the chunk's acceptance mask (bit c set when
 * candidate word c, top 2 bits cleared, is below r), computed on the word-sliced state:
 *  - portable: four blocks at a time in GNU C vectors (compiled to SSE2 on x86-64, to NEON or
 *    scalar code elsewhere);
 *  - AVX2: eight blocks at once, one block per 32-bit lane (asm builds, run-time check);
 *  - AVX-512: sixteen blocks at once (asm builds, run-time check).
 * Every kernel keeps word w of all its blocks in vector x[w] and transposes at the end.
 * zkagg_prg_fr_accumulate sums its keys' elements without reducing them and reduces each output
 * element once per (up to 1023) keys; on AVX-512 it packs the accepted words straight from the
 * word-sliced state (see prg_key_avx512) and never transposes.
 *
 * Constant time: the kernels are add-rotate-xor on the key and counters, with no table lookups
 * and no branches on data. The sampler branches on the number of elements accepted so far, i.e.
 * on which keystream words were rejected: that reveals how many keystream words a block used and
 * nothing about the accepted words (the keystream blocks are independent). The accumulator's
 * sums and reductions have no branch and no memory index that depends on an element. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "field.h"
#include "parallel.h"
#include "zkagg.h"

#define PRG_BLOCK 1024u                   /* elements per stream block */
#define PRG_CHUNK 16u                     /* ChaCha blocks per kernel call */
#define PRG_CHUNK_WORDS (16u * PRG_CHUNK) /* 32-bit words per chunk */

enum { PRG_PORTABLE = 0, PRG_AVX2 = 1, PRG_AVX512 = 2 };

#define PRG_INLINE static inline __attribute__((always_inline))

/* "expand 32-byte k" as four little-endian words (RFC 8439, 2.3) */
static const uint32_t CHACHA_SIGMA[4] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};

static inline uint32_t chacha_load32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void chacha_store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Zero a buffer in a way the compiler cannot drop as a dead store. */
static void prg_wipe(void *p, size_t n) {
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* The initial state for key (32 bytes), nonce words n0..n2 and block counter 0 (RFC 8439, 2.3). */
static void chacha_init(uint32_t st[16], const uint8_t *key, uint32_t n0, uint32_t n1, uint32_t n2) {
    for (int i = 0; i < 4; i++) st[i] = CHACHA_SIGMA[i];
    for (int i = 0; i < 8; i++) st[4 + i] = chacha_load32(key + 4 * i);
    st[12] = 0;
    st[13] = n0;
    st[14] = n1;
    st[15] = n2;
}

/* r as eight little-endian 32-bit words; word 7 is compared after clearing the top 2 bits */
#define PRG_R32(i) ((uint32_t)(FR_P[(i) / 2] >> (32 * ((i) % 2))))
#define PRG_TOP_MASK 0x3fffffffu

/* Interleave two 16-bit masks: bit b of lo -> bit 2b, bit b of hi -> bit 2b + 1 (candidates
 * 2b and 2b + 1 are the two halves of block b). */
PRG_INLINE uint32_t prg_interleave(uint32_t lo, uint32_t hi) {
    uint32_t v[2] = {lo, hi};
    for (int i = 0; i < 2; i++) {
        uint32_t x = v[i] & 0xffffu;
        x = (x | x << 8) & 0x00ff00ffu;
        x = (x | x << 4) & 0x0f0f0f0fu;
        x = (x | x << 2) & 0x33333333u;
        x = (x | x << 1) & 0x55555555u;
        v[i] = x;
    }
    return v[0] | v[1] << 1;
}

/* Four blocks side by side (counters in[12] + base .. + 3), one per lane of GNU C vectors: the
 * compiler lowers them to whatever the target has (SSE2 on any x86-64, NEON, or scalar code).
 * CHACHA_QR4 is the quarter round of RFC 8439, 2.1, on the four lanes; a double round is four
 * column and four diagonal quarter rounds (2.2); a block adds the input state at the end (2.3). */
typedef uint32_t chacha_v4 __attribute__((vector_size(16)));
#define CHACHA_ROTV(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define CHACHA_QR4(a, b, c, d)                                  \
    do {                                                        \
        x[a] += x[b]; x[d] ^= x[a]; x[d] = CHACHA_ROTV(x[d], 16); \
        x[c] += x[d]; x[b] ^= x[c]; x[b] = CHACHA_ROTV(x[b], 12); \
        x[a] += x[b]; x[d] ^= x[a]; x[d] = CHACHA_ROTV(x[d], 8);  \
        x[c] += x[d]; x[b] ^= x[c]; x[b] = CHACHA_ROTV(x[b], 7);  \
    } while (0)

typedef int32_t chacha_m4 __attribute__((vector_size(16))); /* comparison results: 0 or -1 */

/* Lanes whose candidate word x[0..7] (word 0 lowest) is below r (lexicographic from the top word,
 * with bitwise operators: branch-free), as a 4-bit mask. */
static inline uint32_t chacha_below_r4(const chacha_v4 *x) {
    chacha_m4 lt = (chacha_m4)(x[0] < PRG_R32(0));
    for (int i = 1; i < 8; i++) {
        chacha_v4 w = i == 7 ? x[i] & PRG_TOP_MASK : x[i];
        lt = (chacha_m4)(w < PRG_R32(i)) | ((chacha_m4)(w == PRG_R32(i)) & lt);
    }
    uint32_t m = 0;
    for (int l = 0; l < 4; l++) m |= (uint32_t)(lt[l] & 1) << l;
    return m;
}

/* Returns the acceptance mask of its 8 candidates (bit 2l + h: half h of lane l's block). */
static uint32_t chacha_x4_portable(uint32_t *out, const uint32_t in[16], uint32_t base) {
    chacha_v4 x[16], s[16];
    for (int i = 0; i < 16; i++) s[i] = (chacha_v4){in[i], in[i], in[i], in[i]};
    s[12] += (chacha_v4){base, base + 1, base + 2, base + 3};
    for (int i = 0; i < 16; i++) x[i] = s[i];
    for (int r = 0; r < 10; r++) {
        CHACHA_QR4(0, 4, 8, 12); /* column rounds */
        CHACHA_QR4(1, 5, 9, 13);
        CHACHA_QR4(2, 6, 10, 14);
        CHACHA_QR4(3, 7, 11, 15);
        CHACHA_QR4(0, 5, 10, 15); /* diagonal rounds */
        CHACHA_QR4(1, 6, 11, 12);
        CHACHA_QR4(2, 7, 8, 13);
        CHACHA_QR4(3, 4, 9, 14);
    }
    for (int i = 0; i < 16; i++) x[i] += s[i];
    for (int i = 0; i < 16; i++)
        for (int l = 0; l < 4; l++) out[16 * l + i] = x[i][l];
    return prg_interleave(chacha_below_r4(x), chacha_below_r4(x + 8));
}

/* Blocks in[12], in[12] + 1, ..., in[12] + 15 (counter mod 2^32) into out, block b at out + 16 b;
 * returns the 32-bit acceptance mask (bit 2b + h: half h of block b). */
static uint32_t chacha_chunk_portable(uint32_t *out, const uint32_t in[16]) {
    uint32_t mask = 0;
    for (uint32_t b = 0; b < PRG_CHUNK; b += 4) mask |= chacha_x4_portable(out + 16 * b, in, b) << (2 * b);
    return mask;
}

/* ---- vector kernels (x86-64 asm builds) ---- */
#if defined(__x86_64__) && defined(ZKAGG_ASM) && ZKAGG_ASM
#define PRG_X86 1
#include <immintrin.h>
#define PRG_TGT_AVX2 __attribute__((target("avx2")))
#define PRG_TGT_AVX512 __attribute__((target("avx512f")))
/* the AVX-512 accumulator also counts and interleaves mask bits (POPCNT, BMI2 PDEP) */
#define PRG_TGT_AVX512_BMI __attribute__((target("avx512f,popcnt,bmi2")))

/* Vector quarter round on whole rows: lane i of every vector belongs to block i. */
#define CHACHA_QR_V(ADD, XOR, ROT16, ROT12, ROT8, ROT7, a, b, c, d) \
    do {                                                           \
        a = ADD(a, b); d = ROT16(XOR(d, a));                         \
        c = ADD(c, d); b = ROT12(XOR(b, c));                         \
        a = ADD(a, b); d = ROT8(XOR(d, a));                          \
        c = ADD(c, d); b = ROT7(XOR(b, c));                          \
    } while (0)

#define CHACHA_DOUBLE_ROUND(QR)                                                             \
    do {                                                                                   \
        QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);                          \
        QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);                        \
        QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);                        \
        QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);                          \
    } while (0)

/* AVX2: eight blocks (counters in[12] + base .. + 7). */
#define A2_ADD(a, b) _mm256_add_epi32(a, b)
#define A2_XOR(a, b) _mm256_xor_si256(a, b)
#define A2_ROT16(v) _mm256_shuffle_epi8(v, rot16)
#define A2_ROT8(v) _mm256_shuffle_epi8(v, rot8)
#define A2_ROT12(v) _mm256_or_si256(_mm256_slli_epi32(v, 12), _mm256_srli_epi32(v, 20))
#define A2_ROT7(v) _mm256_or_si256(_mm256_slli_epi32(v, 7), _mm256_srli_epi32(v, 25))
#define A2_QR(a, b, c, d) CHACHA_QR_V(A2_ADD, A2_XOR, A2_ROT16, A2_ROT12, A2_ROT8, A2_ROT7, a, b, c, d)

/* Lanes of the candidate words x[0..7] below r, as an 8-bit mask (AVX2 compares signed: both
 * sides are offset by 2^31). */
static inline PRG_TGT_AVX2 uint32_t chacha_below_r8(const __m256i *x) {
    const __m256i bias = _mm256_set1_epi32(INT32_MIN);
    __m256i lt = _mm256_setzero_si256();
    for (int i = 0; i < 8; i++) {
        __m256i w = i == 7 ? _mm256_and_si256(x[i], _mm256_set1_epi32((int)PRG_TOP_MASK)) : x[i];
        __m256i r = _mm256_set1_epi32((int)PRG_R32(i));
        __m256i below = _mm256_cmpgt_epi32(_mm256_xor_si256(r, bias), _mm256_xor_si256(w, bias));
        lt = _mm256_or_si256(below, _mm256_and_si256(_mm256_cmpeq_epi32(w, r), lt));
    }
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(lt));
}

static PRG_TGT_AVX2 uint32_t chacha_x8_avx2(uint32_t *out, const uint32_t in[16], uint32_t base) {
    /* byte shuffles rotating every 32-bit word left by 16 and by 8 */
    const __m256i rot16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
                                           2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    const __m256i rot8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
                                          3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
    const __m256i ctr = _mm256_add_epi32(_mm256_set1_epi32((int)(in[12] + base)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i x[16];
    for (int i = 0; i < 16; i++) x[i] = _mm256_set1_epi32((int)in[i]);
    x[12] = ctr;
    for (int r = 0; r < 10; r++) CHACHA_DOUBLE_ROUND(A2_QR);
    for (int i = 0; i < 16; i++) x[i] = _mm256_add_epi32(x[i], i == 12 ? ctr : _mm256_set1_epi32((int)in[i]));
    uint32_t mask = prg_interleave(chacha_below_r8(x), chacha_below_r8(x + 8));
    /* Transpose. Within each 128-bit half h (blocks 4h..4h+3), words 4g..4g+3 of the four blocks
     * form a 4x4 matrix: after it, y[k][g] holds words 4g..4g+3 of block 4h + k in half h. */
    __m256i y[4][4];
    for (int g = 0; g < 4; g++) {
        __m256i t0 = _mm256_unpacklo_epi32(x[4 * g], x[4 * g + 1]);
        __m256i t1 = _mm256_unpackhi_epi32(x[4 * g], x[4 * g + 1]);
        __m256i t2 = _mm256_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]);
        __m256i t3 = _mm256_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]);
        y[0][g] = _mm256_unpacklo_epi64(t0, t2);
        y[1][g] = _mm256_unpackhi_epi64(t0, t2);
        y[2][g] = _mm256_unpacklo_epi64(t1, t3);
        y[3][g] = _mm256_unpackhi_epi64(t1, t3);
    }
    for (int k = 0; k < 4; k++) {
        uint32_t *lo = out + 16 * k, *hi = out + 16 * (4 + k);
        _mm256_storeu_si256((__m256i *)lo, _mm256_permute2x128_si256(y[k][0], y[k][1], 0x20));
        _mm256_storeu_si256((__m256i *)(lo + 8), _mm256_permute2x128_si256(y[k][2], y[k][3], 0x20));
        _mm256_storeu_si256((__m256i *)hi, _mm256_permute2x128_si256(y[k][0], y[k][1], 0x31));
        _mm256_storeu_si256((__m256i *)(hi + 8), _mm256_permute2x128_si256(y[k][2], y[k][3], 0x31));
    }
    return mask;
}

static PRG_TGT_AVX2 uint32_t chacha_chunk_avx2(uint32_t *out, const uint32_t in[16]) {
    uint32_t m0 = chacha_x8_avx2(out, in, 0);
    return m0 | chacha_x8_avx2(out + 128, in, 8) << 16;
}

/* AVX-512: sixteen blocks (counters in[12] .. in[12] + 15). */
#define A5_ADD(a, b) _mm512_add_epi32(a, b)
#define A5_XOR(a, b) _mm512_xor_si512(a, b)
#define A5_ROT16(v) _mm512_rol_epi32(v, 16)
#define A5_ROT12(v) _mm512_rol_epi32(v, 12)
#define A5_ROT8(v) _mm512_rol_epi32(v, 8)
#define A5_ROT7(v) _mm512_rol_epi32(v, 7)
#define A5_QR(a, b, c, d) CHACHA_QR_V(A5_ADD, A5_XOR, A5_ROT16, A5_ROT12, A5_ROT8, A5_ROT7, a, b, c, d)

/* Lanes of the candidate words x[0..7] below r, as a 16-bit mask: words 0..3 and words 4..7 are
 * compared in two independent chains, then joined (a shorter dependency chain than one). */
PRG_INLINE PRG_TGT_AVX512 uint32_t chacha_below_r16(const __m512i *x) {
    __m512i r[8], w[8];
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_set1_epi32((int)PRG_R32(i));
        w[i] = i == 7 ? _mm512_and_si512(x[i], _mm512_set1_epi32((int)PRG_TOP_MASK)) : x[i];
    }
    __mmask16 lo = _mm512_cmplt_epu32_mask(w[0], r[0]), hi = _mm512_cmplt_epu32_mask(w[4], r[4]);
    __mmask16 eq = _mm512_cmpeq_epu32_mask(w[4], r[4]);
    for (int i = 1; i < 4; i++) {
        lo = _mm512_cmplt_epu32_mask(w[i], r[i]) | _mm512_mask_cmpeq_epu32_mask(lo, w[i], r[i]);
        hi = _mm512_cmplt_epu32_mask(w[4 + i], r[4 + i]) |
             _mm512_mask_cmpeq_epu32_mask(hi, w[4 + i], r[4 + i]);
        eq = _mm512_mask_cmpeq_epu32_mask(eq, w[4 + i], r[4 + i]);
    }
    return hi | (eq & lo);
}

/* The sixteen blocks, word-sliced: lane b of x[w] is word w of block in[12] + b. */
static inline PRG_TGT_AVX512 void chacha_x16_avx512(__m512i x[16], const uint32_t in[16]) {
    const __m512i ctr = _mm512_add_epi32(
        _mm512_set1_epi32((int)in[12]),
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    for (int i = 0; i < 16; i++) x[i] = _mm512_set1_epi32((int)in[i]);
    x[12] = ctr;
    for (int r = 0; r < 10; r++) CHACHA_DOUBLE_ROUND(A5_QR);
    for (int i = 0; i < 16; i++) x[i] = _mm512_add_epi32(x[i], i == 12 ? ctr : _mm512_set1_epi32((int)in[i]));
}

/* In the first column round of a block, columns 1, 2 and 3 do not involve the counter (word 12,
 * in column 0), nor does the first addition of column 0: pre[] is in[] with those done
 * (pre[0] = in[0] + in[4]), the same for every chunk of one key and nonce. */
#define CHACHA_ROTL32(v, n) ((uint32_t)((v) << (n)) | (uint32_t)((v) >> (32 - (n))))
static void chacha_pre_columns(uint32_t pre[16], const uint32_t in[16]) {
    for (int i = 0; i < 16; i++) pre[i] = in[i];
    for (int c = 1; c < 4; c++) {
        uint32_t a = pre[c], b = pre[4 + c], cc = pre[8 + c], d = pre[12 + c];
        a += b; d ^= a; d = CHACHA_ROTL32(d, 16);
        cc += d; b ^= cc; b = CHACHA_ROTL32(b, 12);
        a += b; d ^= a; d = CHACHA_ROTL32(d, 8);
        cc += d; b ^= cc; b = CHACHA_ROTL32(b, 7);
        pre[c] = a;
        pre[4 + c] = b;
        pre[8 + c] = cc;
        pre[12 + c] = d;
    }
    pre[0] = in[0] + in[4];
}

/* chacha_x16_avx512 given pre[] = chacha_pre_columns(in[]); the nine last double rounds are
 * unrolled. */
PRG_INLINE PRG_TGT_AVX512 void chacha_x16_avx512_pre(__m512i x[16], const uint32_t in[16],
                                                      const uint32_t pre[16]) {
    const __m512i ctr = _mm512_add_epi32(
        _mm512_set1_epi32((int)in[12]),
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    for (int i = 0; i < 16; i++) x[i] = _mm512_set1_epi32((int)pre[i]);
    /* the rest of the first column quarter round on column 0 */
    x[12] = A5_ROT16(A5_XOR(ctr, x[0]));
    x[8] = A5_ADD(x[8], x[12]); x[4] = A5_ROT12(A5_XOR(x[4], x[8]));
    x[0] = A5_ADD(x[0], x[4]); x[12] = A5_ROT8(A5_XOR(x[12], x[0]));
    x[8] = A5_ADD(x[8], x[12]); x[4] = A5_ROT7(A5_XOR(x[4], x[8]));
    /* the first diagonal round, then nine double rounds */
    A5_QR(x[0], x[5], x[10], x[15]); A5_QR(x[1], x[6], x[11], x[12]);
    A5_QR(x[2], x[7], x[8], x[13]); A5_QR(x[3], x[4], x[9], x[14]);
#pragma GCC unroll 9
    for (int r = 1; r < 10; r++) CHACHA_DOUBLE_ROUND(A5_QR);
    for (int i = 0; i < 16; i++) x[i] = _mm512_add_epi32(x[i], i == 12 ? ctr : _mm512_set1_epi32((int)in[i]));
}

static PRG_TGT_AVX512 uint32_t chacha_chunk_avx512(uint32_t *out, const uint32_t in[16]) {
    __m512i x[16];
    chacha_x16_avx512(x, in);
    uint32_t mask = prg_interleave(chacha_below_r16(x), chacha_below_r16(x + 8));
    /* Transpose: first 4x4 word matrices inside each 128-bit lane L (blocks 4L..4L+3), giving
     * y[k][g] = words 4g..4g+3 of block 4L + k in lane L; then, for each k, a 4x4 matrix of
     * 128-bit lanes, giving all 16 words of block 4L + k in one vector. */
    __m512i y[4][4];
    for (int g = 0; g < 4; g++) {
        __m512i t0 = _mm512_unpacklo_epi32(x[4 * g], x[4 * g + 1]);
        __m512i t1 = _mm512_unpackhi_epi32(x[4 * g], x[4 * g + 1]);
        __m512i t2 = _mm512_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]);
        __m512i t3 = _mm512_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]);
        y[0][g] = _mm512_unpacklo_epi64(t0, t2);
        y[1][g] = _mm512_unpackhi_epi64(t0, t2);
        y[2][g] = _mm512_unpacklo_epi64(t1, t3);
        y[3][g] = _mm512_unpackhi_epi64(t1, t3);
    }
    for (int k = 0; k < 4; k++) {
        /* u0 = lanes (y0.0, y0.1, y1.0, y1.1), u1 = (y2.0, y2.1, y3.0, y3.1), u2/u3: lanes 2, 3 */
        __m512i u0 = _mm512_shuffle_i32x4(y[k][0], y[k][1], 0x44);
        __m512i u1 = _mm512_shuffle_i32x4(y[k][2], y[k][3], 0x44);
        __m512i u2 = _mm512_shuffle_i32x4(y[k][0], y[k][1], 0xee);
        __m512i u3 = _mm512_shuffle_i32x4(y[k][2], y[k][3], 0xee);
        _mm512_storeu_si512(out + 16 * k, _mm512_shuffle_i32x4(u0, u1, 0x88));
        _mm512_storeu_si512(out + 16 * (4 + k), _mm512_shuffle_i32x4(u0, u1, 0xdd));
        _mm512_storeu_si512(out + 16 * (8 + k), _mm512_shuffle_i32x4(u2, u3, 0x88));
        _mm512_storeu_si512(out + 16 * (12 + k), _mm512_shuffle_i32x4(u2, u3, 0xdd));
    }
    return mask;
}

/* zkagg_prg_accept_mask with the vector comparisons: candidates in standard order, loaded into
 * the word-sliced layout of the kernels (lane b of x[w] = word w of block b). */
static PRG_TGT_AVX2 uint32_t prg_accept_avx2(const uint32_t *words) {
    uint32_t mask = 0;
    for (int h = 0; h < 2; h++) {
        uint32_t t[16][8];
        for (int w = 0; w < 16; w++)
            for (int b = 0; b < 8; b++) t[w][b] = words[16 * (8 * h + b) + w];
        __m256i x[16];
        for (int w = 0; w < 16; w++) x[w] = _mm256_loadu_si256((const __m256i *)t[w]);
        mask |= prg_interleave(chacha_below_r8(x), chacha_below_r8(x + 8)) << (16 * h);
    }
    return mask;
}

static PRG_TGT_AVX512 uint32_t prg_accept_avx512(const uint32_t *words) {
    uint32_t t[16][16];
    for (int w = 0; w < 16; w++)
        for (int b = 0; b < 16; b++) t[w][b] = words[16 * b + w];
    __m512i x[16];
    for (int w = 0; w < 16; w++) x[w] = _mm512_loadu_si512(t[w]);
    return prg_interleave(chacha_below_r16(x), chacha_below_r16(x + 8));
}

static int prg_cpu_level(void) {
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init(); /* the checks include the OS's support for the register state */
        int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt") &&
                     __builtin_cpu_supports("bmi2");
        v = avx512 ? PRG_AVX512 : __builtin_cpu_supports("avx2") ? PRG_AVX2 : PRG_PORTABLE;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}
#else
static int prg_cpu_level(void) { return PRG_PORTABLE; }
#endif

static atomic_int prg_cap = -1; /* -1: no cap */

int zkagg_prg_get_impl(void) {
    int best = prg_cpu_level(), cap = atomic_load(&prg_cap);
    return cap >= 0 && cap < best ? cap : best;
}

int zkagg_prg_set_impl(int max_level) {
    atomic_store(&prg_cap, max_level < 0 ? -1 : max_level);
    return zkagg_prg_get_impl();
}

/* 16 blocks with the kernel of the given level (read once per call, so threads agree); returns
 * the chunk's acceptance mask. */
static uint32_t chacha_chunk(uint32_t *out, const uint32_t in[16], int level) {
#ifdef PRG_X86
    if (level >= PRG_AVX512) return chacha_chunk_avx512(out, in);
    if (level == PRG_AVX2) return chacha_chunk_avx2(out, in);
#endif
    (void)level;
    return chacha_chunk_portable(out, in);
}

uint32_t zkagg_prg_accept_mask(const uint32_t *words) {
    int level = zkagg_prg_get_impl();
#ifdef PRG_X86
    if (level >= PRG_AVX512) return prg_accept_avx512(words);
    if (level == PRG_AVX2) return prg_accept_avx2(words);
#endif
    (void)level;
    uint32_t mask = 0;
    for (int q = 0; q < 4; q++) {
        chacha_v4 x[16];
        for (int w = 0; w < 16; w++)
            for (int l = 0; l < 4; l++) x[w][l] = words[16 * (4 * q + l) + w];
        mask |= prg_interleave(chacha_below_r4(x), chacha_below_r4(x + 8)) << (8 * q);
    }
    return mask;
}

int zkagg_chacha20_keystream(uint8_t *out, const uint8_t *key, const uint8_t *nonce,
                             uint32_t counter, size_t n_blocks) {
    if (n_blocks == 0) return ZKAGG_OK;
    if (!out || !key || !nonce || n_blocks > ((uint64_t)1 << 32) - counter) return ZKAGG_ERR_ARG;
    int level = zkagg_prg_get_impl();
    uint32_t st[16], ks[PRG_CHUNK_WORDS];
    chacha_init(st, key, chacha_load32(nonce), chacha_load32(nonce + 4), chacha_load32(nonce + 8));
    st[12] = counter;
    while (n_blocks) {
        /* a partial last chunk runs the full kernel too (its spare counters may wrap: unused) */
        size_t take = n_blocks < PRG_CHUNK ? n_blocks : PRG_CHUNK;
        chacha_chunk(ks, st, level);
        for (size_t i = 0; i < 16 * take; i++) chacha_store32(out + 4 * i, ks[i]);
        out += 64 * take;
        n_blocks -= take;
        st[12] += PRG_CHUNK;
    }
    prg_wipe(st, sizeof st);
    prg_wipe(ks, sizeof ks);
    return ZKAGG_OK;
}

/* ---- sampling ---- */

typedef unsigned __int128 prg_u128;

/* 1 if the value (l0, l1, l2, l3) is below r: lexicographic comparison from the top limb with
 * bitwise (not short-circuit) operators, so branch-free. */
static inline uint64_t prg_below_r(uint64_t l0, uint64_t l1, uint64_t l2, uint64_t l3) {
    uint64_t lt0 = l0 < FR_P[0], lt1 = l1 < FR_P[1], lt2 = l2 < FR_P[2], lt3 = l3 < FR_P[3];
    uint64_t eq1 = l1 == FR_P[1], eq2 = l2 == FR_P[2], eq3 = l3 == FR_P[3];
    return lt3 | (eq3 & (lt2 | (eq2 & (lt1 | (eq1 & lt0)))));
}

/* Add and subtract with carry, branch-free: the carry-flag intrinsics on x86-64 (gcc turns
 * unsigned __int128 sums into stack round trips), plain C elsewhere. */
#if defined(__x86_64__)
#include <x86intrin.h>
static inline unsigned char prg_adc(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    unsigned long long s;
    c = _addcarry_u64(c, a, b, &s);
    *out = s;
    return c;
}
static inline unsigned char prg_sbb(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    unsigned long long d;
    c = _subborrow_u64(c, a, b, &d);
    *out = d;
    return c;
}
#else
static inline unsigned char prg_adc(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    prg_u128 s = (prg_u128)a + b + c;
    *out = (uint64_t)s;
    return (unsigned char)(s >> 64);
}
static inline unsigned char prg_sbb(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    prg_u128 d = (prg_u128)a - b - c;
    *out = (uint64_t)d;
    return (unsigned char)((d >> 64) & 1);
}
#endif

static inline uint64_t prg_mul(uint64_t a, uint64_t b, uint64_t *hi) {
    prg_u128 p = (prg_u128)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
}

/* Lazy sums: zkagg_prg_fr_accumulate adds the signed elements of up to PRG_KEY_GROUP keys (k of
 * them, k_neg subtracted) before it reduces each output element once.
 *  - AVX-512: the 32-bit words w = 0..7 of the elements are summed separately in 64-bit lanes,
 *    starting from k_neg (2^32 - 1) plus word w of bias = (-k_neg (2^256 - 1)) mod r: so no sum
 *    goes below 0, sum_w sums_w 2^(32 w) is congruent mod r to the signed sum, and acc plus it
 *    is below 2r + k 2^256.
 *  - other kernels: a 320-bit two's complement sum t (5 limbs); acc + t + k_neg r lies in
 *    [0, (k + 1) r), each subtracted element being below r.
 * Both bounds are below 2^266 for k <= 1023, the range of prg_reduce. */
#define PRG_KEY_GROUP 1023u
/* floor(2^315 / r): the quotient estimate of prg_reduce */
#define PRG_MU 0x2a523a31311d0253ULL
/* (2^256 - 1) mod r */
static const uint64_t PRG_ONES_MOD_R[4] = {0xac96341c4ffffffaULL, 0x36fc76959f60cd29ULL,
                                           0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL};

/* t += l and t -= l for the 5-limb two's complement sums and a 4-limb element */
static inline void prg_add5(uint64_t *t, const uint64_t *l) {
    unsigned char c = prg_adc(0, t[0], l[0], &t[0]);
    c = prg_adc(c, t[1], l[1], &t[1]);
    c = prg_adc(c, t[2], l[2], &t[2]);
    c = prg_adc(c, t[3], l[3], &t[3]);
    t[4] += c;
}
static inline void prg_sub5(uint64_t *t, const uint64_t *l) {
    unsigned char c = prg_sbb(0, t[0], l[0], &t[0]);
    c = prg_sbb(c, t[1], l[1], &t[1]);
    c = prg_sbb(c, t[2], l[2], &t[2]);
    c = prg_sbb(c, t[3], l[3], &t[3]);
    t[4] -= c;
}

/* out <- v mod r for v = (v0, .., v4) < 2^266. Constant time: the quotient estimate
 * q = floor(floor(v / 2^203) mu / 2^112), mu = floor(2^315 / r), is floor(v / r) or one less
 * (the two truncations cost less than 2^-48), so w = v - q r lies in [0, 2r) and one masked
 * subtraction of r finishes. Scalars only: gcc keeps limb arrays in memory here. */
PRG_INLINE void prg_reduce(uint64_t *out, uint64_t v0, uint64_t v1, uint64_t v2, uint64_t v3,
                           uint64_t v4) {
    uint64_t hi, h0, h1, h2, h3, p1, p2, p3, w0, w1, w2, w3, s0, s1, s2, s3;
    (void)prg_mul((v3 >> 11) | (v4 << 53), PRG_MU, &hi);
    uint64_t q = hi >> 48;
    uint64_t p0 = prg_mul(q, FR_P[0], &h0); /* q r mod 2^256: w < 2^255, so the top cancels */
    p1 = prg_mul(q, FR_P[1], &h1);
    p2 = prg_mul(q, FR_P[2], &h2);
    p3 = prg_mul(q, FR_P[3], &h3);
    (void)h3;
    unsigned char c = prg_adc(0, p1, h0, &p1);
    c = prg_adc(c, p2, h1, &p2);
    (void)prg_adc(c, p3, h2, &p3);
    c = prg_sbb(0, v0, p0, &w0);
    c = prg_sbb(c, v1, p1, &w1);
    c = prg_sbb(c, v2, p2, &w2);
    (void)prg_sbb(c, v3, p3, &w3);
    c = prg_sbb(0, w0, FR_P[0], &s0);
    c = prg_sbb(c, w1, FR_P[1], &s1);
    c = prg_sbb(c, w2, FR_P[2], &s2);
    c = prg_sbb(c, w3, FR_P[3], &s3);
    uint64_t keep = -(uint64_t)c; /* w < r: keep w */
    out[0] = (w0 & keep) | (s0 & ~keep);
    out[1] = (w1 & keep) | (s1 & ~keep);
    out[2] = (w2 & keep) | (s2 & ~keep);
    out[3] = (w3 & keep) | (s3 & ~keep);
}

#define PRG_SUM_ROW (PRG_BLOCK + 8) /* AVX-512 sums per word: rows a cache line off 8 KB */

/* acc <- (acc + sum_w sum[w][i] 2^(32 w)) mod r for the AVX-512 sums (each below 2^42). */
PRG_INLINE void prg_fold_sliced(uint64_t *acc, const uint64_t (*sum)[PRG_SUM_ROW], size_t i) {
    /* limb l gets lo_l = sum[2l] + (sum[2l+1] << 32) mod 2^64, limb l + 1 the rest, hi_l */
    uint64_t lo0, lo1, lo2, lo3, v0, v1, v2, v3;
    uint64_t b0 = sum[1][i], b1 = sum[3][i], b2 = sum[5][i], b3 = sum[7][i];
    uint64_t hi0 = (b0 >> 32) + prg_adc(0, sum[0][i], b0 << 32, &lo0);
    uint64_t hi1 = (b1 >> 32) + prg_adc(0, sum[2][i], b1 << 32, &lo1);
    uint64_t hi2 = (b2 >> 32) + prg_adc(0, sum[4][i], b2 << 32, &lo2);
    uint64_t hi3 = (b3 >> 32) + prg_adc(0, sum[6][i], b3 << 32, &lo3);
    unsigned char c = prg_adc(0, acc[0], lo0, &v0);
    c = prg_adc(c, acc[1], lo1, &v1);
    c = prg_adc(c, acc[2], lo2, &v2);
    c = prg_adc(c, acc[3], lo3, &v3);
    uint64_t v4 = c + hi3;
    c = prg_adc(0, v1, hi0, &v1);
    c = prg_adc(c, v2, hi1, &v2);
    c = prg_adc(c, v3, hi2, &v3);
    prg_reduce(acc, v0, v1, v2, v3, v4 + c);
}

/* acc <- (acc + bias + t) mod r for a 5-limb two's complement sum t of the other kernels. */
PRG_INLINE void prg_fold_limbs(uint64_t *acc, const uint64_t bias[5], const uint64_t t[5]) {
    uint64_t v0, v1, v2, v3;
    unsigned char c = prg_adc(0, t[0], bias[0], &v0);
    c = prg_adc(c, t[1], bias[1], &v1);
    c = prg_adc(c, t[2], bias[2], &v2);
    c = prg_adc(c, t[3], bias[3], &v3);
    uint64_t v4 = t[4] + bias[4] + c;
    c = prg_adc(0, v0, acc[0], &v0);
    c = prg_adc(c, v1, acc[1], &v1);
    c = prg_adc(c, v2, acc[2], &v2);
    c = prg_adc(c, v3, acc[3], &v3);
    prg_reduce(acc, v0, v1, v2, v3, v4 + c);
}

enum { PRG_STORE = 0, PRG_ADD = 1, PRG_SUB = -1 };

/* Elements [lo, hi) (lo < hi <= PRG_BLOCK) of block j of key's stream, element i going to
 * dst + 4 (i - lo) (op PRG_STORE), or added to / subtracted from the 5-limb lazy sum at
 * dst + 5 (i - lo) (PRG_ADD, PRG_SUB). Returns ZKAGG_OK, or ZKAGG_ERR_ARG if the block counter
 * runs out (see zkagg.h; dst is then partly written). Always inlined, so that each op gets its
 * own copy. */
static inline __attribute__((always_inline)) int prg_block_op(uint64_t *dst, const uint8_t *key,
                                                              uint64_t j, size_t lo, size_t hi,
                                                              int level, const int op) {
    uint32_t st[16], ks[PRG_CHUNK_WORDS];
    chacha_init(st, key, (uint32_t)j, (uint32_t)(j >> 32), 0);
    size_t pos = 0; /* elements of the block accepted so far */
    int rc = ZKAGG_OK;
    for (;;) {
        uint32_t accepted = chacha_chunk(ks, st, level);
        size_t n_acc = (size_t)__builtin_popcount(accepted);
        if (pos + n_acc <= lo) {
            pos += n_acc; /* the whole chunk lies before the range */
        } else {
            /* branches on the acceptance pattern only (a function of the keystream) */
            while (accepted && pos < hi) {
                const uint32_t *w = ks + 8 * (unsigned)__builtin_ctz(accepted);
                accepted &= accepted - 1;
                if (pos++ < lo) continue;
                /* scalar limbs, stored one by one: gcc otherwise assembles them in a stack
                 * slot and reloads it as a vector, which stalls store forwarding */
                const uint64_t l[4] = {(uint64_t)w[0] | (uint64_t)w[1] << 32,
                                       (uint64_t)w[2] | (uint64_t)w[3] << 32,
                                       (uint64_t)w[4] | (uint64_t)w[5] << 32,
                                       ((uint64_t)w[6] | (uint64_t)w[7] << 32) & (UINT64_MAX >> 2)};
                if (op == PRG_STORE) {
                    uint64_t *d = dst + 4 * (pos - 1 - lo);
                    d[0] = l[0];
                    d[1] = l[1];
                    d[2] = l[2];
                    d[3] = l[3]; /* top 2 bits cleared */
                } else if (op == PRG_ADD) {
                    prg_add5(dst + 5 * (pos - 1 - lo), l);
                } else {
                    prg_sub5(dst + 5 * (pos - 1 - lo), l);
                }
            }
        }
        if (pos >= hi) break;
        if ((uint64_t)st[12] + 2 * PRG_CHUNK > (uint64_t)1 << 32) {
            rc = ZKAGG_ERR_ARG; /* the next chunk would wrap the 32-bit counter */
            break;
        }
        st[12] += PRG_CHUNK;
    }
    prg_wipe(st, sizeof st);
    prg_wipe(ks, sizeof ks);
    return rc;
}

static int prg_block(uint64_t *dst, const uint8_t *key, uint64_t j, size_t lo, size_t hi, int level) {
    return prg_block_op(dst, key, j, lo, hi, level, PRG_STORE);
}

/* Per-thread scratch of zkagg_prg_fr_accumulate for one block (about 97 KB): the lazy sums of
 * its elements. */
#define PRG_STAGE (PRG_BLOCK + 16u) /* room for a 16-lane store at any element */
typedef union {
    uint64_t limbs[PRG_BLOCK][5]; /* portable and AVX2 kernels: 5-limb two's complement */
    struct {
        /* sum[w][i]: the sum of 32-bit word w of element i (see PRG_KEY_GROUP);
         * stage[w][i]: word w of one key's element i */
        _Alignas(64) uint64_t sum[8][PRG_SUM_ROW];
        _Alignas(64) uint32_t stage[8][PRG_STAGE];
    } sliced; /* AVX-512 */
} prg_scratch;

#ifdef PRG_X86
/* sum[.][i..i+7] += or -= stage[.][i..i+7] (i a multiple of 8), one element per 64-bit lane */
static inline PRG_TGT_AVX512 void prg_add8_avx512(prg_scratch *sc, size_t i, int neg) {
    for (int w = 0; w < 8; w++) {
        uint64_t *s = sc->sliced.sum[w] + i;
        __m256i words = _mm256_load_si256((const __m256i *)(sc->sliced.stage[w] + i));
        __m512i e = _mm512_cvtepu32_epi64(words);
        __m512i a = _mm512_load_si512(s);
        _mm512_store_si512(s, neg ? _mm512_sub_epi64(a, e) : _mm512_add_epi64(a, e));
    }
}

/* The accepted candidates of one half chunk (blocks 8g .. 8g + 7) of the word-sliced kernel
 * output x, packed into the stage from element at. perm picks word w of the half chunk's 16
 * candidates in stream order from (x[w], x[8 + w]) (block b's halves at lanes 2(b - 8g) and
 * 2(b - 8g) + 1); m has a bit per lane of that order, and a zero-masking compression keeps the
 * accepted lanes. 16 lanes are stored: the ones past the accepted are overwritten later or
 * never read. */
static inline PRG_TGT_AVX512 void prg_stage16_avx512(prg_scratch *sc, const __m512i x[16],
                                                     __m512i perm, uint32_t m, size_t at) {
    uint32_t *dst = &sc->sliced.stage[0][at];
    for (int w = 0; w < 8; w++) {
        __m512i v = _mm512_permutex2var_epi32(x[w], perm, x[8 + w]);
        if (w == 7) v = _mm512_and_si512(v, _mm512_set1_epi32((int)PRG_TOP_MASK));
        _mm512_storeu_si512(dst + w * PRG_STAGE, _mm512_maskz_compress_epi32((__mmask16)m, v));
    }
}

/* AVX-512, one key: elements [lo, hi) of block j of key's stream, added to (neg = 0) or
 * subtracted from (neg = 1) the word sums sc->sliced.sum[.][i - lo]. Per chunk: the kernel (with
 * the counter-free part of the first round done once, chacha_pre_columns), the acceptance masks
 * of both halves interleaved into stream order (PDEP), the stage's 8-element groups completed by
 * earlier chunks into the sums (not the current chunk's, whose stores would be read back at
 * once), then the chunk's accepted words into the stage, never transposed. Returns ZKAGG_OK or
 * ZKAGG_ERR_ARG (counter); the branches depend on the acceptance pattern only. */
static PRG_TGT_AVX512_BMI int prg_key_avx512(prg_scratch *sc, const uint8_t *key, uint64_t j,
                                                 size_t lo, size_t hi, int neg) {
    const __m512i perm0 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i perm1 =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    uint32_t st[16], pre[16];
    chacha_init(st, key, (uint32_t)j, (uint32_t)(j >> 32), 0);
    chacha_pre_columns(pre, st);
    size_t pos = 0;  /* elements of the block accepted so far */
    size_t done = 0; /* stage elements [0, done) are in the sums */
    int rc = ZKAGG_OK;
    for (;;) {
        __m512i x[16];
        chacha_x16_avx512_pre(x, st, pre);
        uint32_t accepted = _pdep_u32(chacha_below_r16(x), 0x55555555u) |
                            _pdep_u32(chacha_below_r16(x + 8), 0xaaaaaaaau);
        size_t c = (size_t)__builtin_popcount(accepted);
        if (pos >= lo && pos + c <= hi) { /* the whole chunk is in the range */
            size_t at = pos - lo;
            for (; done + 8 <= at; done += 8) prg_add8_avx512(sc, done, neg);
            uint32_t m0 = accepted & 0xffffu;
            prg_stage16_avx512(sc, x, perm0, m0, at);
            prg_stage16_avx512(sc, x, perm1, accepted >> 16, at + (size_t)__builtin_popcount(m0));
            pos += c;
        } else if (pos + c > lo) { /* a chunk at an end of the range */
            for (int g = 0; g < 2 && pos < hi; g++) {
                uint32_t m = (accepted >> (16 * g)) & 0xffffu;
                size_t cg = (size_t)__builtin_popcount(m);
                if (pos + cg <= lo) {
                    pos += cg; /* before the range (or none accepted) */
                    continue;
                }
                for (; pos < lo; pos++, cg--) m &= m - 1; /* drop the elements before lo */
                if (pos + cg > hi) {                        /* keep the first hi - pos */
                    uint32_t keep = 0;
                    for (size_t t = pos; t < hi; t++) {
                        keep |= m & -m;
                        m &= m - 1;
                    }
                    m = keep;
                    cg = hi - pos;
                }
                prg_stage16_avx512(sc, x, g ? perm1 : perm0, m, pos - lo);
                pos += cg;
            }
        } else {
            pos += c; /* before the range */
        }
        if (pos >= hi) break;
        if ((uint64_t)st[12] + 2 * PRG_CHUNK > (uint64_t)1 << 32) {
            rc = ZKAGG_ERR_ARG; /* the next chunk would wrap the 32-bit counter */
            break;
        }
        st[12] += PRG_CHUNK;
    }
    prg_wipe(st, sizeof st);
    prg_wipe(pre, sizeof pre);
    if (rc != ZKAGG_OK) return rc;
    /* the rest; lanes past hi - lo add stale stage words to sums that are never read */
    for (; done < hi - lo; done += 8) prg_add8_avx512(sc, done, neg);
    return ZKAGG_OK;
}

/* floor(2^285 / r) < 2^32: the quotient estimate of prg_fold8_avx512 */
#define PRG_MU32 0xa948e8c4u

/* prg_fold_sliced for the 8 elements from i (lane e: element i + e), in 32-bit digits held in
 * 64-bit lanes; acc's limbs are transposed into the lanes and back. With v = acc +
 * sum_w sum[w] 2^(32 w) < 2^266 normalized to digits d_0 .. d_7 and a top, the quotient estimate
 * q = floor(floor(v / 2^240) mu / 2^45), mu = floor(2^285 / r) < 2^32, is floor(v / r) or one less
 * (the truncations cost less than 2^-13), so w = v - q r lies in [0, 2r); w and w - r are formed
 * side by side and the sign of w - r picks one. Constant time: no branches, fixed shuffles. */
static PRG_TGT_AVX512 void prg_fold8_avx512(uint64_t *acc, const prg_scratch *sc, size_t i) {
    const __m512i m32 = _mm512_set1_epi64(0xffffffff);
    const __m512i lo_idx = _mm512_setr_epi64(0, 4, 8, 12, 1, 5, 9, 13);
    const __m512i hi_idx = _mm512_setr_epi64(2, 6, 10, 14, 3, 7, 11, 15);
    __m512i a[4], t[4], l[4], d[8];
    for (int h = 0; h < 4; h++) a[h] = _mm512_loadu_si512(acc + 8 * h); /* elements 2h, 2h + 1 */
    /* t[0] = limbs 0, 1 of elements 0..3, t[1] = limbs 2, 3; t[2], t[3]: elements 4..7 */
    t[0] = _mm512_permutex2var_epi64(a[0], lo_idx, a[1]);
    t[1] = _mm512_permutex2var_epi64(a[0], hi_idx, a[1]);
    t[2] = _mm512_permutex2var_epi64(a[2], lo_idx, a[3]);
    t[3] = _mm512_permutex2var_epi64(a[2], hi_idx, a[3]);
    l[0] = _mm512_shuffle_i64x2(t[0], t[2], 0x44);
    l[1] = _mm512_shuffle_i64x2(t[0], t[2], 0xee);
    l[2] = _mm512_shuffle_i64x2(t[1], t[3], 0x44);
    l[3] = _mm512_shuffle_i64x2(t[1], t[3], 0xee);
    __m512i c = _mm512_setzero_si512();
    for (int w = 0; w < 8; w++) { /* digits of v */
        __m512i limb = w % 2 ? _mm512_srli_epi64(l[w / 2], 32) : _mm512_and_si512(l[w / 2], m32);
        __m512i v = _mm512_add_epi64(_mm512_load_si512(sc->sliced.sum[w] + i), limb);
        v = _mm512_add_epi64(v, c);
        d[w] = _mm512_and_si512(v, m32);
        c = _mm512_srli_epi64(v, 32);
    }
    __m512i top = _mm512_or_si512(_mm512_srli_epi64(d[7], 16), _mm512_slli_epi64(c, 16));
    __m512i q = _mm512_srli_epi64(_mm512_mul_epu32(top, _mm512_set1_epi64(PRG_MU32)), 45);
    /* w = v - q r (below 2r < 2^255: the top cancels) and w - r, digit by digit */
    __m512i e[8], ce = _mm512_setzero_si512();
    c = _mm512_setzero_si512();
    for (int w = 0; w < 8; w++) {
        __m512i p = _mm512_mul_epu32(q, _mm512_set1_epi64(PRG_R32(w)));
        __m512i v = _mm512_add_epi64(_mm512_sub_epi64(d[w], p), c);
        d[w] = _mm512_and_si512(v, m32);
        c = _mm512_srai_epi64(v, 32);
        __m512i u = _mm512_add_epi64(_mm512_sub_epi64(d[w], _mm512_set1_epi64(PRG_R32(w))), ce);
        e[w] = _mm512_and_si512(u, m32);
        ce = _mm512_srai_epi64(u, 32);
    }
    __mmask8 below = _mm512_cmplt_epi64_mask(ce, _mm512_setzero_si512()); /* v - q r < r */
    for (int h = 0; h < 4; h++) {
        __m512i lo = _mm512_mask_blend_epi64(below, e[2 * h], d[2 * h]);
        __m512i hi = _mm512_mask_blend_epi64(below, e[2 * h + 1], d[2 * h + 1]);
        l[h] = _mm512_or_si512(lo, _mm512_slli_epi64(hi, 32));
    }
    t[0] = _mm512_shuffle_i64x2(l[0], l[1], 0x44);
    t[2] = _mm512_shuffle_i64x2(l[0], l[1], 0xee);
    t[1] = _mm512_shuffle_i64x2(l[2], l[3], 0x44);
    t[3] = _mm512_shuffle_i64x2(l[2], l[3], 0xee);
    _mm512_storeu_si512(acc, _mm512_permutex2var_epi64(t[0], lo_idx, t[1]));
    _mm512_storeu_si512(acc + 8, _mm512_permutex2var_epi64(t[0], hi_idx, t[1]));
    _mm512_storeu_si512(acc + 16, _mm512_permutex2var_epi64(t[2], lo_idx, t[3]));
    _mm512_storeu_si512(acc + 24, _mm512_permutex2var_epi64(t[2], hi_idx, t[3]));
}
#endif

typedef struct {
    uint64_t *out;
    const uint8_t *keys;
    const int8_t *signs;
    size_t k;
    uint64_t start, end; /* elements [start, end) */
    uint64_t first_block;
    size_t items;         /* blocks */
    int level;
    prg_scratch *scratch; /* zkagg_prg_fr_accumulate: one per slot */
    atomic_size_t next;   /* the next item to claim */
    atomic_int rc;
} prg_job;

/* Work item `item` covers block j = first_block + item: its elements [lo, hi), which land at
 * output offset off. */
static void prg_item_range(const prg_job *job, size_t item, uint64_t *j, size_t *lo, size_t *hi,
                           size_t *off) {
    uint64_t jj = job->first_block + item, b0 = jj * PRG_BLOCK;
    uint64_t s = job->start > b0 ? job->start : b0;
    uint64_t e = job->end - b0 < PRG_BLOCK ? job->end - b0 : PRG_BLOCK; /* end > b0 */
    *j = jj;
    *lo = (size_t)(s - b0);
    *hi = (size_t)e;
    *off = (size_t)(s - job->start);
}

static void prg_fr_task(void *ctx, size_t item) {
    prg_job *job = ctx;
    uint64_t j;
    size_t lo, hi, off;
    prg_item_range(job, item, &j, &lo, &hi, &off);
    int rc = prg_block(job->out + 4 * off, job->keys, j, lo, hi, job->level);
    if (rc != ZKAGG_OK) atomic_store(&job->rc, rc);
}

/* The bias that brings a key group's lazy sums (with acc) into [0, 2^266) without changing them
 * mod r (see PRG_KEY_GROUP): sliced, (-k_neg (2^256 - 1)) mod r (limb 4 is 0); otherwise k_neg r.
 * k_neg is public. */
static void prg_group_bias(uint64_t bias[5], uint64_t k_neg, int sliced) {
    uint64_t h[4], p[4];
    for (int i = 0; i < 4; i++) p[i] = prg_mul(k_neg, sliced ? PRG_ONES_MOD_R[i] : FR_P[i], &h[i]);
    unsigned char c = prg_adc(0, p[1], h[0], &p[1]);
    c = prg_adc(c, p[2], h[1], &p[2]);
    c = prg_adc(c, p[3], h[2], &p[3]);
    uint64_t top = h[3] + c;
    if (!sliced) {
        for (int i = 0; i < 4; i++) bias[i] = p[i];
        bias[4] = top;
        return;
    }
    uint64_t e[4]; /* k_neg (2^256 - 1) mod r, then its negative */
    prg_reduce(e, p[0], p[1], p[2], p[3], top);
    uint64_t nz = (e[0] | e[1] | e[2] | e[3]) != 0;
    c = prg_sbb(0, FR_P[0] & -nz, e[0], &bias[0]);
    c = prg_sbb(c, FR_P[1] & -nz, e[1], &bias[1]);
    c = prg_sbb(c, FR_P[2] & -nz, e[2], &bias[2]);
    (void)prg_sbb(c, FR_P[3] & -nz, e[3], &bias[3]);
    bias[4] = 0;
}

/* One block of zkagg_prg_fr_accumulate: per group of at most PRG_KEY_GROUP keys, the lazy sum of
 * their elements, then one reduction into acc per element. */
static int prg_accumulate_block(const prg_job *job, prg_scratch *sc, size_t item) {
    uint64_t j;
    size_t lo, hi, at;
    prg_item_range(job, item, &j, &lo, &hi, &at);
    size_t n = hi - lo;
    uint64_t *acc = job->out + 4 * at;
    int sliced = 0;
#ifdef PRG_X86
    sliced = job->level >= PRG_AVX512;
#endif
    for (size_t k0 = 0; k0 < job->k; k0 += PRG_KEY_GROUP) {
        size_t k1 = job->k - k0 > PRG_KEY_GROUP ? k0 + PRG_KEY_GROUP : job->k;
        /* the signs are public (which side of each pair adds and which subtracts) */
        uint64_t k_neg = 0;
        for (size_t key = k0; key < k1; key++) k_neg += (uint64_t)(job->signs[key] < 0);
        uint64_t bias[5];
        prg_group_bias(bias, k_neg, sliced);
        if (sliced) {
            /* word sum w starts at k_neg (2^32 - 1) plus word w of the bias */
            for (int w = 0; w < 8; w++) {
                uint64_t start = k_neg * 0xffffffffu + (uint32_t)(bias[w / 2] >> (32 * (w % 2)));
                for (size_t i = 0; i < n; i++) sc->sliced.sum[w][i] = start;
            }
        } else {
            memset(sc->limbs, 0, 40 * n);
        }
        for (size_t key = k0; key < k1; key++) {
            const uint8_t *kb = job->keys + 32 * key;
            int neg = job->signs[key] < 0, rc;
#ifdef PRG_X86
            if (sliced) {
                rc = prg_key_avx512(sc, kb, j, lo, hi, neg);
            } else
#endif
            {
                rc = neg ? prg_block_op(sc->limbs[0], kb, j, lo, hi, job->level, PRG_SUB)
                         : prg_block_op(sc->limbs[0], kb, j, lo, hi, job->level, PRG_ADD);
            }
            if (rc != ZKAGG_OK) return rc;
        }
        size_t i = 0;
#ifdef PRG_X86
        if (sliced)
            for (; i + 8 <= n; i += 8) prg_fold8_avx512(acc + 4 * i, sc, i);
#endif
        for (; i < n; i++) {
            if (sliced)
                prg_fold_sliced(acc + 4 * i, (const uint64_t(*)[PRG_SUM_ROW])sc->sliced.sum, i);
            else
                prg_fold_limbs(acc + 4 * i, bias, sc->limbs[i]);
        }
    }
    return ZKAGG_OK;
}

/* Slot `slot` of zkagg_prg_fr_accumulate: claims blocks until none is left, with its own
 * scratch. */
static void prg_accumulate_task(void *ctx, size_t slot) {
    prg_job *job = ctx;
    for (;;) {
        size_t item = atomic_fetch_add(&job->next, 1);
        if (item >= job->items) break;
        int rc = prg_accumulate_block(job, job->scratch + slot, item);
        if (rc != ZKAGG_OK) atomic_store(&job->rc, rc);
    }
}

/* Fills the job's range fields; 0 if [start, start + n) is a valid non-empty range. */
static int prg_job_range(prg_job *job, uint64_t start, size_t n) {
    if ((uint64_t)n > UINT64_MAX - start) return ZKAGG_ERR_ARG;
    job->start = start;
    job->end = start + (uint64_t)n;
    job->first_block = start / PRG_BLOCK;
    job->items = (size_t)((job->end - 1) / PRG_BLOCK - job->first_block + 1);
    job->level = zkagg_prg_get_impl();
    atomic_init(&job->next, 0);
    atomic_init(&job->rc, ZKAGG_OK);
    return ZKAGG_OK;
}

int zkagg_prg_fr(uint64_t *out, const uint8_t *key, uint64_t start, size_t n) {
    if (n == 0) return ZKAGG_OK;
    if (!out || !key) return ZKAGG_ERR_ARG;
    prg_job job = {.out = out, .keys = key, .signs = NULL, .k = 1};
    if (prg_job_range(&job, start, n) != ZKAGG_OK) return ZKAGG_ERR_ARG;
    (void)zk_parallel_for(job.items, prg_fr_task, &job); /* complete even if no thread started */
    return atomic_load(&job.rc);
}

int zkagg_prg_fr_accumulate(uint64_t *acc, const uint8_t *keys, const int8_t *signs, size_t k,
                            uint64_t start, size_t n) {
    if (k && (!keys || !signs)) return ZKAGG_ERR_ARG;
    for (size_t i = 0; i < k; i++)
        if (signs[i] != 1 && signs[i] != -1) return ZKAGG_ERR_ARG;
    if (n == 0) return ZKAGG_OK;
    if (!acc) return ZKAGG_ERR_ARG;
    uint64_t all_below = 1;
    for (size_t i = 0; i < n; i++) {
        const uint64_t *a = acc + 4 * i;
        all_below &= prg_below_r(a[0], a[1], a[2], a[3]);
    }
    if (!all_below) return ZKAGG_ERR_ARG;
    if (k == 0) return ZKAGG_OK;
    prg_job job = {.out = acc, .keys = keys, .signs = signs, .k = k};
    if (prg_job_range(&job, start, n) != ZKAGG_OK) return ZKAGG_ERR_ARG;
    size_t slots = (size_t)zk_threads();
    if (slots > job.items) slots = job.items;
    /* zeroed, so that the AVX-512 stage's lanes past the last element are never uninitialized */
    size_t bytes = slots * sizeof(prg_scratch);
    job.scratch = aligned_alloc(64, bytes);
    if (!job.scratch) return ZKAGG_ERR_ALLOC;
    memset(job.scratch, 0, bytes);
    (void)zk_parallel_for(slots, prg_accumulate_task, &job); /* complete even if no thread started */
    prg_wipe(job.scratch, bytes);
    free(job.scratch);
    return atomic_load(&job.rc);
}

/* ---- micro-benchmarks (thread CPU time) ---- */
static double prg_thread_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile uint32_t prg_bench_sink;

double zkagg_bench_chacha20(size_t n_blocks) {
    size_t chunks = (n_blocks + PRG_CHUNK - 1) / PRG_CHUNK;
    if (chunks == 0) return 0.0;
    uint8_t key[32];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(prg_bench_sink + (uint32_t)i);
    uint32_t st[16], ks[PRG_CHUNK_WORDS], acc = 0;
    chacha_init(st, key, 1, 2, 3);
    int level = zkagg_prg_get_impl();
    double t0 = prg_thread_ns();
    for (size_t c = 0; c < chunks; c++) {
        chacha_chunk(ks, st, level);
        acc ^= ks[c % PRG_CHUNK_WORDS];
        st[12] += PRG_CHUNK;
    }
    double t1 = prg_thread_ns();
    prg_bench_sink = acc;
    return (t1 - t0) / ((double)chunks * PRG_CHUNK);
}

double zkagg_bench_prg_fr(size_t n) {
    size_t blocks = (n + PRG_BLOCK - 1) / PRG_BLOCK;
    if (blocks == 0) return 0.0;
    uint8_t key[32];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(prg_bench_sink + 7u * (uint32_t)i);
    uint64_t buf[4 * PRG_BLOCK], acc = 0;
    int level = zkagg_prg_get_impl();
    double t0 = prg_thread_ns();
    for (size_t b = 0; b < blocks; b++) {
        if (prg_block(buf, key, b, 0, PRG_BLOCK, level) != ZKAGG_OK) return -1.0;
        acc ^= buf[b % (4 * PRG_BLOCK)];
    }
    double t1 = prg_thread_ns();
    prg_bench_sink = (uint32_t)acc;
    return (t1 - t0) / ((double)blocks * PRG_BLOCK);
}
