"""`zkagg bench native`: field, curve, MSM and NTT kernels of the native core, with py-ecc
measured in the same run for the ratio.

Output keys (log2 sizes as string keys): fr_mul_ns, g1_add_ns, g1_add_mixed_ns, msm_g1_s,
msm_g2_s, ntt_s, intt_s, coset_ntt_s, threads, pyecc_g1_mul_ms, zkagg_g1_mul_ms, variant.
"""

from __future__ import annotations

import random
import time
from functools import partial
from typing import Any

import numpy as np
from py_ecc import optimized_bn128 as ecc

from .. import native
from ..bn254 import FrArray, G1Array, G1Point, G2Array, ntt, use_backend
from .timing import machine_info, median_seconds

SEED = 20261122


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
    pt, k = ecc.G1, rng.randrange(ecc.curve_order)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ecc.multiply(pt, k)
        times.append(time.perf_counter() - t0)
    out["pyecc_g1_mul_ms"] = sorted(times)[2] * 1e3
    out["g1_mul_speedup_vs_pyecc"] = out["pyecc_g1_mul_ms"] / out["zkagg_g1_mul_ms"]
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
    rows.append(("G1 scalar mul: zkagg / py-ecc",
                 f"{result['zkagg_g1_mul_ms'] * 1e3:.1f} us / {result['pyecc_g1_mul_ms']:.2f} ms "
                 f"({result['g1_mul_speedup_vs_pyecc']:.0f}x)"))
    width = max(len(r[0]) for r in rows)
    head = f"native core ({result['variant']}, {result['threads']} threads)"
    return "\n".join([head] + [f"  {a.ljust(width)}  {b}" for a, b in rows])
