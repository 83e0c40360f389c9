"""Phase 1 of the setup, powers of tau: new, contribute, beacon and verify, compatible with
snarkjs's `powersoftau` commands (same file, same hashes, same proofs of knowledge).

A contribution multiplies τ, α, β by secret factors (t, a, b): tauG1[i] and tauG2[i] by t^i,
alphaTauG1[i] by a·t^i, betaTauG1[i] by b·t^i, betaG2 by b; it publishes a key proving
knowledge of each factor (contribution_key.py), bound to the previous challenge hash, and the
hash chain: response = blake2b(challenge ‖ new points compressed ‖ key), next challenge =
blake2b(response ‖ new points uncompressed). The last contributor's next challenge is therefore a
hash of the final file. One honest contributor makes τ, α, β unknown to everyone.

`verify` checks a whole transcript: every contribution's proofs and its link to the previous
one, the last contribution against the file, the hash chain, the pairing consistency of every
section by random linear combinations (two MSMs and a 2-pair pairing check per section), beacon
contributions recomputed, and the material is non-degenerate (done when the file is parsed).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..bn254 import FrArray, G1Array, G1Point, G2Array, G2Point, fixed_base_mul, ntt
from ..bn254.pairing import pairing_product_is_one
from ..errors import InputError, SetupError, check_int
from .blake2b import Blake2b512, blake2b512
from .contribution_key import (
    ChaCha,
    ContributionKey,
    SecretFactors,
    beacon_rng,
    create_key,
    g2_sp,
    random_rng,
)
from .encoding import limbs_to_compressed, limbs_to_uncompressed
from .ptau import MAX_POWER, Prepared, Ptau, PtauContribution

A = TypeVar("A", G1Array, G2Array)
_SECTIONS = ("tau_g1", "tau_g2", "alpha_tau_g1", "beta_tau_g1")

MIN_BEACON_EXP, MAX_BEACON_EXP = 10, 63  # snarkjs's bounds on the beacon's hash iterations


def first_challenge(power: int) -> bytes:
    """The challenge hash of a fresh file: blake2b(blake2b("") ‖ its points uncompressed)."""
    g1 = G1Point.generator().to_bytes()
    g2 = G2Point.generator().to_bytes()
    h = hashlib.blake2b(hashlib.blake2b(b"").digest())
    n = 1 << power
    for block, count in ((g1, 2 * n - 1), (g2, n), (g1, n), (g1, n)):
        chunk = block * min(count, 1 << 16)
        for _ in range(count // (1 << 16)):
            h.update(chunk)
        h.update(block * (count % (1 << 16)))
    h.update(g2)
    return h.digest()


def new(power: int) -> Ptau:
    """A fresh accumulator: every point a generator (τ = α = β = 1). Not usable until contributed."""
    check_int("power", power, 1, MAX_POWER)
    n = 1 << power
    g1 = G1Array.from_points([G1Point.generator()]).limbs
    g2 = G2Array.from_points([G2Point.generator()]).limbs
    rep1 = lambda k: G1Array._trusted(np.repeat(g1, k, axis=0))  # noqa: E731
    return Ptau(power, rep1(2 * n - 1), G2Array._trusted(np.repeat(g2, n, axis=0)), rep1(n), rep1(n),
                G2Point.generator(), ())


def last_challenge(ptau: Ptau) -> bytes:
    return ptau.contributions[-1].next_challenge if ptau.contributions else first_challenge(ptau.ceremony_power)


def _powers(x: int, count: int) -> FrArray:
    """[x^0, ..., x^(count-1)] by doubling the list with native vector products (x is secret)."""
    out, step = FrArray.from_ints([1]), FrArray.from_ints([x])
    while len(out) < count:
        out = FrArray.concat([out, out * step[0]])
        step = step * step
    return out[:count]


def _sections_bytes(ptau: Ptau, encode: str) -> list[bytes]:
    fn = limbs_to_compressed if encode == "compressed" else limbs_to_uncompressed
    return [fn(ptau.tau_g1.limbs, "g1"), fn(ptau.tau_g2.limbs, "g2"), fn(ptau.alpha_tau_g1.limbs, "g1"),
            fn(ptau.beta_tau_g1.limbs, "g1"), fn(G2Array.from_points([ptau.beta_g2]).limbs, "g2")]


def _common_point(points: G1Array | G2Array) -> G1Point | G2Point | None:
    """The point every entry equals (never infinity), or None: a section of a fresh file."""
    limbs = points.limbs
    if len(limbs) == 0 or not limbs[0].any() or not bool((limbs == limbs[0]).all()):
        return None
    return points[0]


def _mul_section(points: A, scalars: FrArray) -> A:
    """points[i]·scalars[i] in constant time in the scalars. A section whose points are all one
    point (every section of a fresh `new` file, so the first contribution of every ceremony) is
    a fixed-base multiplication: a table of that point's multiples and no doublings, about 10x
    faster than the variable-base kernel. Which kernel runs depends on the public points only."""
    base = _common_point(points)
    if base is None:
        return points.scalar_mul_secret(scalars)
    return fixed_base_mul(base, scalars)  # type: ignore[arg-type, return-value]


def _lagrange_by_fixed_base(ptau: Ptau, scalars: dict[str, FrArray]) -> Prepared:
    """Sections 12-15 of the contributed file when every input section is one public point P:
    the new points are s_j·P with the s_j known here, and the inverse DFT is linear, so each
    Lagrange block is IFFT(s)_i·P: an NTT over F_r and fixed-base multiplications instead of a
    group inverse DFT (n log n variable-base multiplications). Same blocks as prepare_phase2."""
    parts: list[G1Array | G2Array] = []
    for section, src in scalars.items():
        base = _common_point(getattr(ptau, section))
        assert base is not None
        blocks = [src[: 1 << k] for k in range(ptau.power + 1)]
        if section == "tau_g1":  # the 2^(p+1) block pads the last power with infinity (scalar 0)
            blocks.append(FrArray.concat([src, FrArray.from_ints([0])]))
        parts.append(fixed_base_mul(base, FrArray.concat([ntt(b, inverse=True) for b in blocks])))  # type: ignore[arg-type]
    return Prepared(*parts)  # type: ignore[arg-type]


def _apply(ptau: Ptau, factors: SecretFactors, key: ContributionKey, challenge: bytes, name: str,
           beacon: tuple[bytes, int] | None, prepare: bool = False) -> Ptau:
    n = 1 << ptau.power
    t = _powers(factors.tau, 2 * n - 1)
    # every multiplication by a secret runs in the constant-time kernels
    tau_g1 = _mul_section(ptau.tau_g1, t)
    tau_g2 = _mul_section(ptau.tau_g2, t[:n])
    alpha = _mul_section(ptau.alpha_tau_g1, t[:n] * factors.alpha)
    beta = _mul_section(ptau.beta_tau_g1, t[:n] * factors.beta)
    beta_g2 = ptau.beta_g2.mul_secret(factors.beta)
    out = Ptau(ptau.power, tau_g1, tau_g2, alpha, beta, beta_g2, ptau.contributions, ptau.ceremony_power)
    response = Blake2b512().update(challenge)
    for part in _sections_bytes(out, "compressed"):
        response.update(part)
    partial = response.partial_state()
    response_hash = response.update(key.to_uncompressed()).digest()
    next_challenge = blake2b512(response_hash, *_sections_bytes(out, "uncompressed"))
    record = PtauContribution(tau_g1[1], tau_g2[1], alpha[0], beta[0], beta_g2, key, partial, next_challenge,
                              name[:64], beacon[0] if beacon else None, beacon[1] if beacon else 0)
    prepared = None
    if prepare:
        prepared = _lagrange_by_fixed_base(ptau, {"tau_g1": t, "tau_g2": t[:n], "alpha_tau_g1": t[:n] * factors.alpha,
                                                  "beta_tau_g1": t[:n] * factors.beta})
    return Ptau(ptau.power, tau_g1, tau_g2, alpha, beta, beta_g2, (*ptau.contributions, record),
                ptau.ceremony_power, prepared)


def _check_contributable(ptau: Ptau) -> None:
    if ptau.power != ptau.ceremony_power:
        raise InputError("this ptau was reduced from a larger ceremony: contribute to the full file")


def contribute(ptau: Ptau, name: str = "", rng: random.Random | None = None, *, prepare: bool = False) -> Ptau:
    """A new ptau with one more contribution; the secret factors are drawn from the OS CSPRNG
    (a seeded `rng` only in tests) and forgotten. Does not modify `ptau`.

    `prepare=True` also fills the phase-2 sections 12-15 (as `ptau.prepare_phase2`), at about the
    cost of the contribution itself; only for the first contribution to a fresh file, the one
    contributor who knows the whole τ, α and β while contributing."""
    _check_contributable(ptau)
    if prepare and any(_common_point(getattr(ptau, s)) is None for s in _SECTIONS):
        raise InputError("prepare=True needs a fresh file (the first contribution); "
                         "prepare a contributed file with ptau.prepare_phase2")
    challenge = last_challenge(ptau)
    chacha = random_rng() if rng is None else ChaCha([rng.getrandbits(32) for _ in range(8)])
    factors, key = create_key(challenge, chacha)
    return _apply(ptau, factors, key, challenge, name, None, prepare)


def beacon(ptau: Ptau, beacon_hash: bytes, iterations_exp: int, name: str = "") -> Ptau:
    """The final, public-randomness contribution (snarkjs `powersoftau beacon`): the factors
    come from 2^iterations_exp SHA-256 iterations of a public value fixed in advance."""
    _check_contributable(ptau)
    check_int("iterations_exp", iterations_exp, MIN_BEACON_EXP, MAX_BEACON_EXP)
    if not isinstance(beacon_hash, bytes) or not 1 <= len(beacon_hash) <= 255:
        raise InputError("beacon_hash must be 1 to 255 bytes")
    challenge = last_challenge(ptau)
    factors, key = create_key(challenge, beacon_rng(beacon_hash, iterations_exp))
    return _apply(ptau, factors, key, challenge, name, (beacon_hash, iterations_exp))


# ---- verification ----

@dataclass(frozen=True)
class _Prev:
    tau_g1: G1Point
    tau_g2: G2Point
    alpha_g1: G1Point
    beta_g1: G1Point
    beta_g2: G2Point
    next_challenge: bytes


def _same_ratio(a1: G1Point, b1: G1Point, a2: G2Point, b2: G2Point) -> bool:
    """b1 / a1 = b2 / a2 in the exponent: e(a1, b2) = e(b1, a2); no point may be infinity."""
    if a1.is_infinity or b1.is_infinity or a2.is_infinity or b2.is_infinity:
        return False
    return pairing_product_is_one([(a1, b2), (-b1, a2)])


def _verify_contribution(i: int, cur: PtauContribution, prev: _Prev) -> None:
    label = f"contribution {i + 1}{' (' + cur.name + ')' if cur.name else ''}"
    if cur.is_beacon:
        assert cur.beacon_hash is not None
        if not MIN_BEACON_EXP <= cur.beacon_iterations_exp <= MAX_BEACON_EXP:
            raise SetupError(f"{label}: beacon iterations 2^{cur.beacon_iterations_exp} out of range")
        _, expected = create_key(prev.next_challenge, beacon_rng(cur.beacon_hash, cur.beacon_iterations_exp))
        if expected != cur.key:
            raise SetupError(f"{label}: the beacon key is not the one its beacon hash gives")
    k = cur.key
    for pers, (name, f) in enumerate((("tau", k.tau), ("alpha", k.alpha), ("beta", k.beta))):
        sp = g2_sp(pers, prev.next_challenge, f.g1_s, f.g1_sx)
        if not _same_ratio(f.g1_s, f.g1_sx, sp, f.g2_spx):
            raise SetupError(f"{label}: the proof of knowledge of {name} does not verify")
    sp_tau = g2_sp(0, prev.next_challenge, k.tau.g1_s, k.tau.g1_sx)
    sp_alpha = g2_sp(1, prev.next_challenge, k.alpha.g1_s, k.alpha.g1_sx)
    sp_beta = g2_sp(2, prev.next_challenge, k.beta.g1_s, k.beta.g1_sx)
    checks = (
        ("tau*G1", _same_ratio(prev.tau_g1, cur.tau_g1, sp_tau, k.tau.g2_spx)),
        ("tau*G2", _same_ratio(k.tau.g1_s, k.tau.g1_sx, prev.tau_g2, cur.tau_g2)),
        ("alpha*G1", _same_ratio(prev.alpha_g1, cur.alpha_g1, sp_alpha, k.alpha.g2_spx)),
        ("beta*G1", _same_ratio(prev.beta_g1, cur.beta_g1, sp_beta, k.beta.g2_spx)),
        ("beta*G2", _same_ratio(k.beta.g1_s, k.beta.g1_sx, prev.beta_g2, cur.beta_g2)),
    )
    for what, ok in checks:
        if not ok:
            raise SetupError(f"{label}: {what} does not follow the previous contribution")


def _powers_consistent(points: G1Array | G2Array, tau_other: G1Point | G2Point, rng: random.Random | None) -> bool:
    """points[i+1] = τ·points[i] for all i, by one random combination: with ρ random,
    e(Σρ_i P_{i+1}, G2) = e(Σρ_i P_i, [τ]_2) (G1 arrays) or the mirrored check (G2 arrays)."""
    n = len(points)
    if n < 2:
        return True
    rho = FrArray.random(n - 1, rng)
    hi, lo = points[1:].msm(rho), points[: n - 1].msm(rho)
    if isinstance(hi, G1Point) and isinstance(lo, G1Point) and isinstance(tau_other, G2Point):
        return pairing_product_is_one([(hi, G2Point.generator()), (-lo, tau_other)])
    if isinstance(hi, G2Point) and isinstance(lo, G2Point) and isinstance(tau_other, G1Point):
        return pairing_product_is_one([(G1Point.generator(), hi), (-tau_other, lo)])
    raise InputError("a G1 section pairs with [tau]_2 and a G2 section with [tau]_1")


def verify(ptau: Ptau, rng: random.Random | None = None) -> None:
    """Check a whole powers-of-tau transcript; SetupError naming the first failed check.
    (Structure, curve/subgroup membership and degeneracy are checked when the file is parsed.)"""
    if not ptau.contributions:
        raise SetupError("the ptau has no contribution: its tau is 1 and anyone can forge with it")
    g1, g2 = G1Point.generator(), G2Point.generator()
    prev = _Prev(g1, g2, g1, g1, g2, first_challenge(ptau.ceremony_power))
    for i, cur in enumerate(ptau.contributions):
        _verify_contribution(i, cur, prev)
        prev = _Prev(cur.tau_g1, cur.tau_g2, cur.alpha_g1, cur.beta_g1, cur.beta_g2, cur.next_challenge)
    last = ptau.contributions[-1]
    if ptau.tau_g1[0] != g1 or ptau.tau_g2[0] != g2:
        raise SetupError("the first powers are not the generators")
    ends = (("tauG1[1]", ptau.tau_g1[1], last.tau_g1), ("tauG2[1]", ptau.tau_g2[1], last.tau_g2),
            ("alphaTauG1[0]", ptau.alpha_tau_g1[0], last.alpha_g1), ("betaTauG1[0]", ptau.beta_tau_g1[0], last.beta_g1),
            ("betaG2", ptau.beta_g2, last.beta_g2))
    for name, have, want in ends:
        if have != want:
            raise SetupError(f"{name} does not match the last contribution")
    tau2, tau1 = ptau.tau_g2[1], ptau.tau_g1[1]
    for name, arr, other in (("tauG1", ptau.tau_g1, tau2), ("tauG2", ptau.tau_g2, tau1),
                             ("alphaTauG1", ptau.alpha_tau_g1, tau2), ("betaTauG1", ptau.beta_tau_g1, tau2)):
        if not _powers_consistent(arr, other, rng):
            raise SetupError(f"{name}: the points are not successive powers of tau")
    if not _same_ratio(g1, ptau.beta_tau_g1[0], g2, ptau.beta_g2):
        raise SetupError("betaG2 and betaTauG1[0] disagree")
    if ptau.power == ptau.ceremony_power:
        expected = blake2b512(last.response_hash, *_sections_bytes(ptau, "uncompressed"))
        if expected != last.next_challenge:
            raise SetupError("the last contribution's challenge hash does not match the file's points")
