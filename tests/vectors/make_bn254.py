"""Regenerate bn254.json: known answers computed with py-ecc and plain ints only (no zkagg code).

    python tests/vectors/make_bn254.py

The vectors are pinned in the repository so that every implementation (Python engines, native
core, Solidity) is checked against the same numbers; negatives are inputs that must be rejected.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from py_ecc import optimized_bn128 as ecc

R, Q = ecc.curve_order, ecc.field_modulus
rng = random.Random(254)


def g1(pt):  # noqa: ANN001, ANN201
    if ecc.is_inf(pt):
        return ["0", "0"]
    x, y = ecc.normalize(pt)
    return [str(x.n), str(y.n)]


def g2(pt):  # noqa: ANN001, ANN201
    if ecc.is_inf(pt):
        return [["0", "0"], ["0", "0"]]
    x, y = ecc.normalize(pt)
    return [[str(c) for c in x.coeffs], [str(c) for c in y.coeffs]]


def fq2_sqrt(a0: int, a1: int) -> tuple[int, int] | None:
    """Square root in F_q2 = F_q[u]/(u^2+1) (q = 3 mod 4), or None."""
    norm = (a0 * a0 + a1 * a1) % Q
    alpha = pow(norm, (Q + 1) // 4, Q)
    if alpha * alpha % Q != norm:
        return None
    half = pow(2, -1, Q)
    for delta in ((a0 + alpha) * half % Q, (a0 - alpha) * half % Q):
        x0 = pow(delta, (Q + 1) // 4, Q)
        if x0 * x0 % Q == delta and x0:
            x1 = a1 * pow(2 * x0, -1, Q) % Q
            if ((x0 * x0 - x1 * x1) % Q, 2 * x0 * x1 % Q) == (a0 % Q, a1 % Q):
                return x0, x1
    return None


def twist_point_outside_subgroup() -> list[list[str]]:
    b0, b1 = (int(c) for c in ecc.b2.coeffs)
    while True:
        x0, x1 = rng.randrange(Q), rng.randrange(Q)
        # x^3 + b in F_q2
        sq = ((x0 * x0 - x1 * x1) % Q, 2 * x0 * x1 % Q)
        cube = ((sq[0] * x0 - sq[1] * x1) % Q, (sq[0] * x1 + sq[1] * x0) % Q)
        y = fq2_sqrt((cube[0] + b0) % Q, (cube[1] + b1) % Q)
        if y is None:
            continue
        pt = (ecc.FQ2([x0, x1]), ecc.FQ2(list(y)), ecc.FQ2.one())
        assert ecc.is_on_curve(pt, ecc.b2)
        if not ecc.is_inf(ecc.multiply(pt, R)):
            return [[str(x0), str(x1)], [str(y[0]), str(y[1])]]


def main() -> None:
    scalars = [0, 1, 2, 3, R - 1, R - 2, 2**128, 2**253] + [rng.randrange(R) for _ in range(6)]
    vec: dict = {"source": "py-ecc optimized_bn128 and Python ints; see make_bn254.py"}
    vec["g1_mul"] = [{"k": str(k), "out": g1(ecc.multiply(ecc.G1, k))} for k in scalars]
    vec["g2_mul"] = [{"k": str(k), "out": g2(ecc.multiply(ecc.G2, k))} for k in scalars[:10]]
    pairs = [(rng.randrange(R), rng.randrange(R)) for _ in range(4)] + [(5, 5), (5, R - 5)]
    vec["g1_add"] = [
        {"a": g1(ecc.multiply(ecc.G1, a)), "b": g1(ecc.multiply(ecc.G1, b)),
         "out": g1(ecc.add(ecc.multiply(ecc.G1, a), ecc.multiply(ecc.G1, b)))}
        for a, b in pairs
    ]
    vec["g2_add"] = [
        {"a": g2(ecc.multiply(ecc.G2, a)), "b": g2(ecc.multiply(ecc.G2, b)),
         "out": g2(ecc.add(ecc.multiply(ecc.G2, a), ecc.multiply(ecc.G2, b)))}
        for a, b in pairs
    ]
    for name, gen, enc, zero in (("g1_msm", ecc.G1, g1, ecc.Z1), ("g2_msm", ecc.G2, g2, ecc.Z2)):
        n = 8
        bases = [ecc.multiply(gen, rng.randrange(R)) for _ in range(n)]
        ks = [rng.randrange(R) for _ in range(n - 2)] + [0, R - 1]
        acc = zero
        for p, k in zip(bases, ks):
            acc = ecc.add(acc, ecc.multiply(p, k))
        vec[name] = {"bases": [enc(p) for p in bases], "scalars": [str(k) for k in ks], "out": enc(acc)}
    a = [rng.randrange(R) for _ in range(8)]
    b = [rng.randrange(1, R) for _ in range(8)]
    vec["fr"] = {"a": [str(v) for v in a], "b": [str(v) for v in b],
                 "mul": [str(x * y % R) for x, y in zip(a, b)],
                 "inverse_b": [str(pow(y, -1, R)) for y in b]}
    w = pow(5, (R - 1) // 8, R)
    vec["ntt8"] = {"in": [str(v) for v in a],
                   "out": [str(sum(c * pow(w, i * j, R) for j, c in enumerate(a)) % R) for i in range(8)]}
    x, y = ecc.normalize(ecc.multiply(ecc.G1, 9))
    vec["negative"] = {
        "g1_off_curve": [["1", "3"], [str(x.n), str((y.n + 1) % Q)]],
        "g1_non_canonical": [[str(x.n + Q), str(y.n)]],
        "g2_off_curve": [[["1", "0"], ["2", "0"]]],
        "g2_not_in_subgroup": [twist_point_outside_subgroup()],
        "fr_non_canonical": [str(R), str(R + 7), str(2**256 - 1)],
    }
    out = Path(__file__).with_name("bn254.json")
    out.write_text(json.dumps(vec, indent=1) + "\n")


if __name__ == "__main__":
    main()
