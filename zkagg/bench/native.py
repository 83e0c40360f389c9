"""`zkagg bench native`: field, curve, MSM and NTT kernels of the native core, with py-ecc
measured in the same run for the ratio.

Output keys (log2 sizes as string keys): fr_mul_ns, g1_add_ns, g1_add_mixed_ns, msm_g1_s,
msm_g2_s, ntt_s, intt_s, coset_ntt_s, threads, pyecc_g1_mul_ms, zkagg_g1_mul_ms, variant.
Secure aggregation (keyed by ChaCha20 kernel: portable, avx2, avx512 as this build and CPU
have them): chacha20_gbps (raw keystream, one thread), prg_ns_per_element and prg_keystream_gbps
(mask stream into F_r, one thread; the keystream a stream element consumes on average, 32 bytes
/ P(accept) = 42.3 bytes, per ns), prg_accumulate_s (k = 10 masks added to n = 150,000 elements,
all threads, kernel in use) and prg_accumulate_1t_s (the same on one thread), pack_ns_per_value
and unpack_ns_per_value (16-bit values, 15 per element).
"""

from __future__ import annotations

import random
import time
from functools import partial
from typing import Any

import numpy as np
from py_ecc import optimized_bn128 as ecc

from .. import native
from ..bn254 import FR_MODULUS, FrArray, G1Array, G1Point, G2Array, ntt, use_backend
from ..secagg import packing, prg
from .timing import machine_info, median_seconds

SEED = 20261122
PRG_KERNELS = {0: "portable", 1: "avx2", 2: "avx512"}
#: average keystream bytes per stream element: 32-byte words, accepted with probability r / 2^254
PRG_BYTES_PER_ELEMENT = 32 * 2**254 / FR_MODULUS


def random_points(cls: Any, n: int, rng: random.Random) -> Any:
    """n pseudo-random points of G1Array or G2Array cheaply: sums a_i + b_j of two small
    random sets."""
    gen = cls.point_type.generator()
    side = max(2, int(n**0.5) + 1)
    seeds = cls.from_points([gen] * side).scalar_mul(FrArray.random(side, rng)).limbs
    i = np.arange(n)
    return cls._trusted(seeds[i % side]) + cls._trusted(seeds[(i // side + 1) % side])


def run(quick: bool = False, threads: int | None = None) -> dict[str, Any]:
    lib = native.load().lib
    lib.zkagg_set_threads(threads or 0)
    try:
        return _measure(lib, quick)
    finally:
        lib.zkagg_set_threads(0)


def _measure(lib: Any, quick: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    msm_sizes = [16] if quick else [16, 18, 20]
    ntt_sizes = [16] if quick else [16, 20]
    out: dict[str, Any] = {
        "suite": "native",
        "quick": quick,
        "variant": native.variant_name(),
        "threads": lib.zkagg_get_threads(),
        "machine": machine_info(),
        "fr_mul_ns": min(lib.zkagg_bench_fr_mul(2_000_000) for _ in range(5)),
        "g1_add_ns": min(lib.zkagg_bench_g1_add(200_000) for _ in range(5)),
        "g1_add_mixed_ns": min(lib.zkagg_bench_g1_add_mixed(200_000) for _ in range(5)),
    }
    with use_backend("native"):
        for key, cls in (("msm_g1_s", G1Array), ("msm_g2_s", G2Array)):
            out[key] = {}
            for log_n in msm_sizes:
                n = 1 << log_n
                points, scalars = random_points(cls, n, rng), FrArray.random(n, rng)
                out[key][str(log_n)] = median_seconds(partial(points.msm, scalars), 3)
        for key, kw in (("ntt_s", {}), ("intt_s", {"inverse": True}), ("coset_ntt_s", {"coset": True})):
            out[key] = {}
            for log_n in ntt_sizes:
                values = FrArray.random(1 << log_n, rng)
                out[key][str(log_n)] = median_seconds(partial(ntt, values, **kw), 5)
        g = G1Array.from_points([G1Point.generator()] * 64)
        ks = FrArray.random(64, rng)
        out["zkagg_g1_mul_ms"] = median_seconds(lambda: g.scalar_mul(ks), 5) / 64 * 1e3
        out.update(_secagg(lib, quick))
    pt, k = ecc.G1, rng.randrange(ecc.curve_order)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ecc.multiply(pt, k)
        times.append(time.perf_counter() - t0)
    out["pyecc_g1_mul_ms"] = sorted(times)[2] * 1e3
    out["g1_mul_speedup_vs_pyecc"] = out["pyecc_g1_mul_ms"] / out["zkagg_g1_mul_ms"]
    return out


def _secagg(lib: Any, quick: bool) -> dict[str, Any]:
    """PRG (per ChaCha20 kernel) and packing figures."""
    out: dict[str, Any] = {"chacha20_gbps": {}, "prg_ns_per_element": {}, "prg_keystream_gbps": {}}
    blocks, elements = (20_000, 50_000) if quick else (200_000, 500_000)
    try:
        for level, name in PRG_KERNELS.items():
            if lib.zkagg_prg_set_impl(level) != level:
                continue
            ns_block = min(lib.zkagg_bench_chacha20(blocks) for _ in range(5))
            ns_elem = min(lib.zkagg_bench_prg_fr(elements) for _ in range(5))
            out["chacha20_gbps"][name] = 64 / ns_block
            out["prg_ns_per_element"][name] = ns_elem
            out["prg_keystream_gbps"][name] = PRG_BYTES_PER_ELEMENT / ns_elem
    finally:
        lib.zkagg_prg_set_impl(-1)
    seeds = [bytes([i + 1]) * 32 for i in range(10)]
    acc = FrArray.zeros(150_000)
    out["prg_accumulate_s"] = median_seconds(lambda: prg.accumulate_masks(acc, seeds, [1, -1] * 5), 5)
    threads = lib.zkagg_get_threads()
    lib.zkagg_set_threads(1)
    try:
        out["prg_accumulate_1t_s"] = median_seconds(
            lambda: prg.accumulate_masks(acc, seeds, [1, -1] * 5), 5
        )
    finally:
        lib.zkagg_set_threads(threads)
    n = 100_000 if quick else 1_000_000
    values = (np.arange(n, dtype=np.uint64) * np.uint64(40503)) & np.uint64(0xFFFF)
    packed = packing.pack(values, width=16, per=15)
    out["pack_ns_per_value"] = median_seconds(lambda: packing.pack(values, width=16, per=15), 5) / n * 1e9
    out["unpack_ns_per_value"] = median_seconds(lambda: packing.unpack(packed, n, width=16, per=15), 5) / n * 1e9
    return out


def table(result: dict[str, Any]) -> str:
    rows = [
        ("F_r mul", f"{result['fr_mul_ns']:.1f} ns"),
        ("G1 add (Jacobian)", f"{result['g1_add_ns']:.0f} ns"),
        ("G1 add (mixed)", f"{result['g1_add_mixed_ns']:.0f} ns"),
    ]
    for key, label in (("msm_g1_s", "MSM G1"), ("msm_g2_s", "MSM G2"), ("ntt_s", "NTT"),
                       ("intt_s", "inverse NTT"), ("coset_ntt_s", "coset NTT")):
        for log_n, s in result[key].items():
            rows.append((f"{label} 2^{log_n}", f"{s * 1e3:.1f} ms"))
    for name, gbps in result["chacha20_gbps"].items():
        rows.append((f"ChaCha20 keystream ({name}, 1 thread)", f"{gbps:.2f} GB/s"))
    for name, ns in result["prg_ns_per_element"].items():
        rows.append((f"PRG into F_r ({name}, 1 thread)",
                     f"{ns:.1f} ns/element ({result['prg_keystream_gbps'][name]:.2f} GB/s keystream)"))
    rows.append(("PRG accumulate k=10, n=150000", f"{result['prg_accumulate_s'] * 1e3:.1f} ms"))
    rows.append(("PRG accumulate k=10, n=150000, 1 thread",
                 f"{result['prg_accumulate_1t_s'] * 1e3:.1f} ms"))
    rows.append(("pack / unpack 16-bit x 15", f"{result['pack_ns_per_value']:.2f} / "
                 f"{result['unpack_ns_per_value']:.2f} ns/value"))
    rows.append(("G1 scalar mul: zkagg / py-ecc",
                 f"{result['zkagg_g1_mul_ms'] * 1e3:.1f} us / {result['pyecc_g1_mul_ms']:.2f} ms "
                 f"({result['g1_mul_speedup_vs_pyecc']:.0f}x)"))
    width = max(len(r[0]) for r in rows)
    head = f"native core ({result['variant']}, {result['threads']} threads)"
    return "\n".join([head] + [f"  {a.ljust(width)}  {b}" for a, b in rows])
