/* Constant-time check of the secret-scalar kernels (native/src/fixed_base.c) with valgrind's
 * memcheck, built by tests/test_constant_time.py. The scalars are marked undefined, so memcheck
 * reports every conditional jump, conditional move or memory address that depends on them: a
 * run without reports means no branch and no table index follows a scalar bit, for the inputs
 * and the code paths exercised here (compiled with the library's optimization flags).
 *
 * argv[1] = "ct": the constant-time kernels, G1 and G2, fixed base (blocks of batched affine
 * additions and short projective-only blocks) and variable base; "leaky": the ordinary
 * variable-base multiplication, which branches on the scalar: it must be reported, which shows
 * that the check can see a leak. */
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "fields.c"
#include "parallel.c"
#include "fixed_base.c"

static uint64_t k[200 * 4], out[200 * 16], pts[200 * 16];

static void secret_scalars(int n) {
    for (int i = 0; i < n * 4; i++) k[i] = (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 7)) ^ ((uint64_t)i << 17);
    memset(k, 0, 32); /* k[0] = 0, k[1] = 1, k[2] = r - 1 */
    k[4] = 1;
    k[5] = k[6] = k[7] = 0;
    memcpy(k + 8, FR_P, 32);
    k[8] -= 1;
    VALGRIND_MAKE_MEM_UNDEFINED(k, sizeof k);
}

int main(int argc, char **argv) {
    /* generators, canonical affine coordinates, then Montgomery form */
    static const uint64_t g1c[8] = {1, 0, 0, 0, 2, 0, 0, 0};
    static const uint64_t g2c[16] = {
        0x46debd5cd992f6edULL, 0x674322d4f75edaddULL, 0x426a00665e5c4479ULL, 0x1800deef121f1e76ULL,
        0x97e485b7aef312c2ULL, 0xf1aa493335a9e712ULL, 0x7260bfb731fb5d25ULL, 0x198e9393920d483aULL,
        0x4ce6cc0166fa7daaULL, 0xe3d1e7690c43d37bULL, 0x4aab71808dcb408fULL, 0x12c85ea5db8c6debULL,
        0x55acdadcd122975bULL, 0xbc4b313370b38ef3ULL, 0xec9e99ad690c3395ULL, 0x090689d0585ff075ULL};
    uint64_t g1[8], g2[16];
    zkagg_fq_to_mont(g1, g1c, 2);
    zkagg_fq_to_mont(g2, g2c, 4);
    zkagg_set_threads(1);
    secret_scalars(200);
    int rc = 0;
    if (argc > 1 && strcmp(argv[1], "leaky") == 0) {
        for (int i = 0; i < 4; i++) memcpy(pts + 8 * i, g1, sizeof g1);
        g1_mul_arrays(out, pts, k, 4);
    } else {
        rc |= zkagg_g1_fixed_base_mul(out, g1, k, 200, 0); /* batched affine windows */
        rc |= zkagg_g1_fixed_base_mul(out, g1, k, 5, 0);   /* a short block: projective only */
        rc |= zkagg_g2_fixed_base_mul(out, g2, k, 100, 0);
        rc |= zkagg_g2_fixed_base_mul(out, g2, k, 3, 0);
        for (int i = 0; i < 4; i++) memcpy(pts + 8 * i, g1, sizeof g1);
        zkagg_g1_mul_ct(out, pts, k, 4);
        for (int i = 0; i < 2; i++) memcpy(pts + 16 * i, g2, sizeof g2);
        zkagg_g2_mul_ct(out, pts, k, 2);
    }
    VALGRIND_MAKE_MEM_DEFINED(out, sizeof out);
    printf("done %d\n", rc);
    return rc;
}
