"""Groth16 setup: the initial key, contributions that re-randomize delta, and verify_setup.

The initial setup samples tau, alpha, beta, gamma, delta from the OS CSPRNG (or a given rng for
tests) and forgets them. Each contribution multiplies delta by a fresh secret s (dividing the
L and H queries by s) and publishes a Schnorr proof of knowledge of s, so a key that went through
one honest contribution has a delta that nobody knows. `verify_setup` checks the whole chain.

Degenerate parameters are refused both at setup and at verification: a setup whose tau lies in
the domain (e.g. tau = 1, as an uncontributed powers-of-tau file gives) puts every IC point at
infinity, and then any public input verifies.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass

import numpy as np

from ..bn254 import FR_MODULUS, FrArray, G1Array, G1Point, G2Array, G2Point
from ..bn254.pairing import pairing_product_is_one
from ..circuit import R1CS
from ..errors import SetupError
from .keys import ProvingKey, VerifyingKey
from .qap import domain_size, extended, lagrange_at

R = FR_MODULUS


@dataclass(frozen=True)
class ToxicWaste:
    """The secrets of an initial setup; they must be destroyed (kept here for tests only)."""

    tau: int
    alpha: int
    beta: int
    gamma: int
    delta: int


def _rand_nonzero(rng: random.Random | None) -> int:
    while True:
        v = rng.randrange(R) if rng is not None else secrets.randbelow(R)
        if v:
            return v


def _times_g1(scalars: FrArray) -> G1Array:
    """Fixed-base multiples s_i * G1."""
    gen = G1Array.from_points([G1Point.generator()])
    return G1Array._trusted(np.repeat(gen.limbs, len(scalars), axis=0)).scalar_mul(scalars)


def _times_g2(scalars: FrArray) -> G2Array:
    gen = G2Array.from_points([G2Point.generator()])
    return G2Array._trusted(np.repeat(gen.limbs, len(scalars), axis=0)).scalar_mul(scalars)


def keys_from_toxic_waste(r1cs: R1CS, t: ToxicWaste) -> ProvingKey:
    """The proving key for the given secrets; refuses degenerate ones."""
    if 0 in (t.alpha, t.beta, t.gamma, t.delta) or t.gamma == t.delta:
        raise SetupError("alpha, beta, gamma, delta must be non-zero and gamma != delta")
    n = domain_size(r1cs)
    if pow(t.tau, n, R) == 1 or t.tau == 0:
        raise SetupError("tau lies in the evaluation domain: every IC point would be degenerate")
    lag = lagrange_at(t.tau, n)
    a_ext, b_ext, c_ext = extended(r1cs)
    m, n_pub = r1cs.n_wires, r1cs.n_public
    lag = lag[: a_ext.n_rows]  # rows past the constraints have no entries
    u, v, w = (mat.mul_transposed(lag, m) for mat in (a_ext, b_ext, c_ext))
    mixed = u * t.beta + v * t.alpha + w
    g1, g2 = G1Point.generator(), G2Point.generator()
    ic = _times_g1(mixed[: n_pub + 1] * pow(t.gamma, -1, R))
    z_tau = (pow(t.tau, n, R) - 1) % R
    powers, acc = [], z_tau * pow(t.delta, -1, R) % R
    for _ in range(n - 1):
        powers.append(acc)
        acc = acc * t.tau % R
    vk = VerifyingKey(g1 * t.alpha, g2 * t.beta, g2 * t.gamma, g2 * t.delta, tuple(ic))
    pk = ProvingKey(
        vk=vk,
        beta_g1=g1 * t.beta,
        delta_g1=g1 * t.delta,
        a_query=_times_g1(u),
        b_g1_query=_times_g1(v),
        b_g2_query=_times_g2(v),
        l_query=_times_g1(mixed[n_pub + 1 :] * pow(t.delta, -1, R)),
        h_query=_times_g1(FrArray.from_ints(powers)),
        domain_size=n,
    )
    check_nondegenerate(pk)
    return pk


def setup(r1cs: R1CS, rng: random.Random | None = None) -> ProvingKey:
    """A fresh proving key (its verifying key is `.vk`); the secrets are discarded.
    Pass an rng only in tests: without it the OS CSPRNG is used."""
    while True:
        toxic = ToxicWaste(*(_rand_nonzero(rng) for _ in range(5)))
        if pow(toxic.tau, domain_size(r1cs), R) != 1 and toxic.gamma != toxic.delta:
            return keys_from_toxic_waste(r1cs, toxic)


def check_nondegenerate(pk: ProvingKey) -> None:
    """Refuse keys that would let a proof pass for unrelated public inputs."""
    vk = pk.vk
    points = [vk.alpha_g1, pk.beta_g1, pk.delta_g1]
    if any(p.is_infinity for p in points) or any(
        p.is_infinity for p in (vk.beta_g2, vk.gamma_g2, vk.delta_g2)
    ):
        raise SetupError("a key element is the point at infinity")
    if vk.gamma_g2 == vk.delta_g2 or vk.gamma_g2 == G2Point.generator() or vk.delta_g2 == G2Point.generator():
        raise SetupError("gamma and delta must be distinct and not the generator")
    seen: set[G1Point] = set()
    for i, p in enumerate(vk.ic):
        if p.is_infinity:
            raise SetupError(f"IC[{i}] is the point at infinity: public input {i} would be unbound")
        if p in seen:
            raise SetupError(f"IC[{i}] repeats an earlier IC point: public inputs would be interchangeable")
        seen.add(p)


# ---- contributions (re-randomize delta) ----

@dataclass(frozen=True)
class Contribution:
    """delta_after = s * delta_before, with a Schnorr proof of knowledge of s over G1."""

    delta_after_g1: G1Point
    delta_after_g2: G2Point
    commitment: G1Point  # k * delta_before_g1
    response: int  # k + c * s

    def to_bytes(self) -> bytes:
        return (self.delta_after_g1.to_bytes() + self.delta_after_g2.to_bytes()
                + self.commitment.to_bytes() + self.response.to_bytes(32, "big"))


def _challenge(vk_before: VerifyingKey, delta_before: G1Point, after: G1Point, commitment: G1Point) -> int:
    h = hashlib.sha512(b"zkagg/groth16/delta-contribution/v1")
    for part in (vk_before.to_bytes(), delta_before.to_bytes(), after.to_bytes(), commitment.to_bytes()):
        h.update(len(part).to_bytes(4, "big") + part)
    return int.from_bytes(h.digest(), "big") % R


def contribute(pk: ProvingKey, rng: random.Random | None = None) -> tuple[ProvingKey, Contribution]:
    """Re-randomize delta with a fresh secret; returns the new key and the public record."""
    s, k = _rand_nonzero(rng), _rand_nonzero(rng)
    s_inv = pow(s, -1, R)
    after_g1, after_g2 = pk.delta_g1 * s, pk.vk.delta_g2 * s
    commitment = pk.delta_g1 * k
    c = _challenge(pk.vk, pk.delta_g1, after_g1, commitment)
    record = Contribution(after_g1, after_g2, commitment, (k + c * s) % R)
    new_pk = ProvingKey(
        vk=VerifyingKey(pk.vk.alpha_g1, pk.vk.beta_g2, pk.vk.gamma_g2, after_g2, pk.vk.ic),
        beta_g1=pk.beta_g1,
        delta_g1=after_g1,
        a_query=pk.a_query,
        b_g1_query=pk.b_g1_query,
        b_g2_query=pk.b_g2_query,
        l_query=pk.l_query.scalar_mul(FrArray.from_ints([s_inv] * len(pk.l_query))),
        h_query=pk.h_query.scalar_mul(FrArray.from_ints([s_inv] * len(pk.h_query))),
        domain_size=pk.domain_size,
    )
    return new_pk, record


def verify_setup(initial: ProvingKey, contributions: list[Contribution], final: ProvingKey,
                 rng: random.Random | None = None) -> None:
    """Check a setup transcript; raise SetupError naming the first check that fails.

    Checks: both keys are non-degenerate and agree on everything delta does not touch; every
    contribution proves knowledge of its factor and its G1/G2 halves match; the chain ends at the
    final delta; the final L and H queries are the initial ones divided by the same factor
    (checked with random linear combinations and pairings)."""
    check_nondegenerate(initial)
    check_nondegenerate(final)
    same = ("a_query", "b_g1_query", "b_g2_query", "beta_g1", "domain_size")
    for name in same:
        if getattr(initial, name) != getattr(final, name):
            raise SetupError(f"{name} changed during the ceremony")
    vi, vf = initial.vk, final.vk
    if (vi.alpha_g1, vi.beta_g2, vi.gamma_g2, vi.ic) != (vf.alpha_g1, vf.beta_g2, vf.gamma_g2, vf.ic):
        raise SetupError("the verifying key changed beyond delta")
    if len(initial.l_query) != len(final.l_query) or len(initial.h_query) != len(final.h_query):
        raise SetupError("query lengths changed")
    g1, g2 = G1Point.generator(), G2Point.generator()
    for key in (initial, final):
        if not pairing_product_is_one([(key.delta_g1, g2), (-g1, key.vk.delta_g2)]):
            raise SetupError("delta in G1 and G2 disagree")
        if not pairing_product_is_one([(key.beta_g1, g2), (-g1, key.vk.beta_g2)]):
            raise SetupError("beta in G1 and G2 disagree")
    rho_b = FrArray.random(len(initial.b_g1_query), rng)
    if not pairing_product_is_one([(initial.b_g1_query.msm(rho_b), g2), (-g1, initial.b_g2_query.msm(rho_b))]):
        raise SetupError("the B query in G1 and G2 disagree")
    delta, vk = initial.delta_g1, initial.vk
    for i, con in enumerate(contributions):
        c = _challenge(vk, delta, con.delta_after_g1, con.commitment)
        if delta * con.response != con.commitment + con.delta_after_g1 * c:
            raise SetupError(f"contribution {i}: the proof of knowledge does not verify")
        if con.delta_after_g1.is_infinity or not pairing_product_is_one([(con.delta_after_g1, g2), (-g1, con.delta_after_g2)]):
            raise SetupError(f"contribution {i}: its G1 and G2 deltas disagree")
        delta = con.delta_after_g1
        vk = VerifyingKey(vk.alpha_g1, vk.beta_g2, vk.gamma_g2, con.delta_after_g2, vk.ic)
    if delta != final.delta_g1 or vk.delta_g2 != final.vk.delta_g2:
        raise SetupError("the contributions do not end at the final delta")
    for name in ("l_query", "h_query"):
        a, b = getattr(initial, name), getattr(final, name)
        rho = FrArray.random(len(a), rng)
        # L_final * delta_final == L_initial * delta_initial, combined over all entries
        if not pairing_product_is_one([(b.msm(rho), final.vk.delta_g2), (-a.msm(rho), initial.vk.delta_g2)]):
            raise SetupError(f"the final {name} is not the initial one rescaled by the ceremony")
