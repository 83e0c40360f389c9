"""Groth16 setup: the initial key, contributions that re-randomize delta, and verify_setup.

`insecure_single_party_setup` samples tau, alpha, beta, gamma, delta from the OS CSPRNG (or a
given rng for tests) and forgets them: test and demo keys only (zkagg.ceremony makes real ones). Each contribution multiplies delta by a fresh secret s (dividing the
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
from typing import Any

import numpy as np
import numpy.typing as npt

from ..bn254 import FR_MODULUS, FrArray, G1Array, G1Point, G2Array, G2Point, fixed_base_mul
from ..bn254.pairing import pairing_product_is_one
from ..circuit import R1CS, SparseMatrix
from ..errors import SetupError
from .keys import ProvingKey, VerifyingKey, check_proving_key
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


def _fr(*values: int) -> FrArray:
    return FrArray.from_ints(values)


def _powers(x: int, count: int) -> tuple[FrArray, FrArray]:
    """([x^0, ..., x^(count-1)], [x^count]) for a power of two `count`, by doubling the list (one
    native vector product per doubling): no Python arithmetic on the secret x."""
    out, step = _fr(1), _fr(x)
    while len(out) < count:
        out = FrArray.concat([out, out * step[0]])
        step = step * step
    return out, step


def _in_domain(x: int, n: int) -> bool:
    """x^n == 1 for the power of two n, by native squarings."""
    y = _fr(x)
    for _ in range(n.bit_length() - 1):
        y = y * y
    return y == _fr(1)


def _used_columns(mat: SparseMatrix, n_cols: int) -> npt.NDArray[np.int64]:
    """Wires with at least one entry in the matrix: the others have the zero polynomial, whose
    query points are the point at infinity. Public structure, not a property of the secrets."""
    used = np.zeros(n_cols, dtype=bool)
    used[mat.csr()[1]] = True
    return np.flatnonzero(used)


def _scatter(points: G1Array | G2Array, where: npt.NDArray[np.int64], n: int) -> Any:
    """An array of n points, `points` at the indices `where` and infinity elsewhere."""
    limbs = np.zeros((n, points.limbs.shape[1]), dtype=np.uint64)
    limbs[where] = points.limbs
    return type(points)._trusted(limbs)


def keys_from_toxic_waste(r1cs: R1CS, t: ToxicWaste) -> ProvingKey:
    """The proving key for the given secrets; refuses degenerate ones.

    Side channels: every product of the secrets and every point computed from them goes
    through the native constant-time or branch-free kernels (F_r vector products and Fermat
    inversions; fixed-base multiplications with `fixed_base_mul`, all G1 points in one call and
    all G2 points in another). What stays outside: the refusal checks (their outcome is public),
    and the secrets' life as Python ints (sampling, conversion to limbs)."""
    if 0 in (t.alpha, t.beta, t.gamma, t.delta) or t.gamma in (t.delta, R - t.delta):
        raise SetupError("alpha, beta, gamma, delta must be non-zero and gamma != ±delta")
    n = domain_size(r1cs)
    powers, tau_n = _powers(t.tau, n)
    if t.tau == 0 or tau_n == _fr(1):  # tau^n == 1: tau is in the domain
        raise SetupError("tau lies in the evaluation domain: every IC point would be degenerate")
    a_ext, b_ext, c_ext = extended(r1cs)
    m, n_pub = r1cs.n_wires, r1cs.n_public
    lag = lagrange_at(t.tau, n)[: a_ext.n_rows]  # rows past the constraints have no entries
    u, v, w = (mat.mul_transposed(lag, m) for mat in (a_ext, b_ext, c_ext))
    mixed = u * t.beta + v * t.alpha + w
    inv_gamma, inv_delta = _fr(t.gamma, t.delta).inverse()
    z_over_delta = ((tau_n - _fr(1)) * _fr(inv_delta))[0]  # Z(tau) / delta, Z = x^n - 1
    a_used, b_used = _used_columns(a_ext, m), _used_columns(b_ext, m)
    parts = {  # every G1 point of the key, in one fixed-base call
        "a": FrArray._trusted(u.limbs[a_used]),
        "b": FrArray._trusted(v.limbs[b_used]),
        "l": mixed[n_pub + 1 :] * inv_delta,
        "h": powers[: n - 1] * z_over_delta,
        "ic": mixed[: n_pub + 1] * inv_gamma,
        "alpha beta delta": _fr(t.alpha, t.beta, t.delta),
    }
    g1_all = fixed_base_mul(G1Point.generator(), FrArray.concat(parts.values())).limbs
    g1: dict[str, G1Array] = {}
    start = 0
    for name, part in parts.items():  # views into one buffer: the key holds all of it anyway
        g1[name], start = G1Array._trusted(g1_all[start : start + len(part)]), start + len(part)
    g2_all = fixed_base_mul(G2Point.generator(), FrArray.concat([parts["b"], _fr(t.beta, t.gamma, t.delta)]))
    nb = len(b_used)
    alpha_g1, beta_g1, delta_g1 = (g1["alpha beta delta"][i] for i in range(3))
    vk = VerifyingKey(alpha_g1, g2_all[nb], g2_all[nb + 1], g2_all[nb + 2], tuple(g1["ic"]))
    pk = ProvingKey(
        vk=vk,
        beta_g1=beta_g1,
        delta_g1=delta_g1,
        a_query=_scatter(g1["a"], a_used, m),
        b_g1_query=_scatter(g1["b"], b_used, m),
        b_g2_query=_scatter(g2_all[:nb], b_used, m),
        l_query=g1["l"],
        h_query=g1["h"],
        domain_size=n,
    )
    check_nondegenerate(pk)
    return pk


def insecure_single_party_setup(r1cs: R1CS, rng: random.Random | None = None) -> ProvingKey:
    """A proving key made by ONE party that samples tau, alpha, beta, gamma, delta and discards
    them: whoever ran it could forge any proof, and nobody can check that the secrets are gone.
    For tests and demos only; real keys come from a ceremony (zkagg.ceremony: a contributed
    powers of tau, then phase 2). Pass an rng only in tests: without it the OS CSPRNG is used."""
    n = domain_size(r1cs)
    while True:
        toxic = ToxicWaste(*(_rand_nonzero(rng) for _ in range(5)))
        if not _in_domain(toxic.tau, n) and toxic.gamma not in (toxic.delta, R - toxic.delta):  # else resample
            return keys_from_toxic_waste(r1cs, toxic)


def check_nondegenerate(pk: ProvingKey) -> None:
    """Refuse keys that would let a proof pass for unrelated public inputs (see
    keys.check_verifying_key), and a proving key whose β or δ is at infinity."""
    check_proving_key(pk)


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
    # constant-time multiplications by the secrets s, k and 1/s (native kernels)
    after_g1, after_g2 = pk.delta_g1.mul_secret(s), pk.vk.delta_g2.mul_secret(s)
    commitment = pk.delta_g1.mul_secret(k)
    c = _challenge(pk.vk, pk.delta_g1, after_g1, commitment)
    record = Contribution(after_g1, after_g2, commitment, (_fr(k) + _fr(c) * _fr(s))[0])
    s_inv = _fr(s).inverse()
    new_pk = ProvingKey(
        vk=VerifyingKey(pk.vk.alpha_g1, pk.vk.beta_g2, pk.vk.gamma_g2, after_g2, pk.vk.ic),
        beta_g1=pk.beta_g1,
        delta_g1=after_g1,
        a_query=pk.a_query,
        b_g1_query=pk.b_g1_query,
        b_g2_query=pk.b_g2_query,
        l_query=pk.l_query.scalar_mul_secret(FrArray._trusted(np.repeat(s_inv.limbs, len(pk.l_query), axis=0))),
        h_query=pk.h_query.scalar_mul_secret(FrArray._trusted(np.repeat(s_inv.limbs, len(pk.h_query), axis=0))),
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
