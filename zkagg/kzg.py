"""KZG polynomial commitments over BN254 in the monomial basis of a powers-of-tau SRS.

A vector c_0..c_{n-1} is the polynomial c(X) = sum c_i X^i; its commitment is [c(tau)]_1 =
sum c_i [tau^i]_1 (one MSM over the SRS powers, no FFT), so commitments add: the sum of clients'
commitments is the commitment of the sum of their vectors (aggregation v2, candidate B).
An opening at z is v = c(z) and pi = [(c(tau) - v) / (tau - z)]_1, checked by
    e(C - v G1 + z pi, G2) * e(-pi, [tau]_2) = 1
(since c(tau) - v = q(tau)(tau - z)). The quotient comes from synthetic division in the native
core (`zkagg_fr_divide_linear`); with the reference backend (`ZKAGG_BACKEND=reference`) every
step runs in Python (py-ecc for the curve), and `zkagg.kzg_reference` is an independent py-ecc
twin for differential tests.

Trust: binding rests on nobody knowing tau. The SRS comes from a verified powers-of-tau file
(`Srs.from_ptau`); `Srs.insecure_from_tau` knows tau and exists for tests and benchmarks only.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .bn254 import (
    FR_MODULUS,
    FrArray,
    G1Array,
    G1Point,
    G2Array,
    G2Point,
    fixed_base_mul,
    native_module,
)
from .bn254.limbs import Limbs, ints_to_limbs, limbs_to_ints
from .bn254.pairing import pairing_product_is_one
from .errors import InputError, LengthError, NativeError, SetupError, check_int
from .secagg.prg import mask_stream

R = FR_MODULUS


class PowersOfTau(Protocol):
    """What `Srs.from_ptau` reads from an imported powers-of-tau file: tau_g1[i] = [tau^i]_1,
    tau_g2[i] = [tau^i]_2, `power` the file's log2 size."""

    tau_g1: G1Array
    tau_g2: G2Array
    power: int


@dataclass(frozen=True)
class Srs:
    """KZG parameters: the G1 powers [tau^i]_1 for i < len(g1_powers), and [tau]_2.
    `max_degree` = len(g1_powers) - 1 is the highest degree it commits to."""

    g1_powers: G1Array
    tau_g2: G2Point
    _prefixes: dict[int, G1Array] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.g1_powers, G1Array) or not isinstance(self.tau_g2, G2Point):
            raise InputError("Srs takes a G1Array of powers and a G2Point [tau]_2")
        if len(self.g1_powers) < 2:
            raise LengthError(f"an SRS needs at least 2 G1 powers, not {len(self.g1_powers)}")
        g1, g2 = G1Point.generator(), G2Point.generator()
        if self.g1_powers[0] != g1:
            raise SetupError("g1_powers[0] must be the G1 generator")
        # tau in {0, 1} makes every commitment a multiple of one point: binding is gone
        if self.g1_powers[1] in (g1, G1Point.infinity()) or self.tau_g2 in (g2, G2Point.infinity()):
            raise SetupError("degenerate SRS: tau is 0 or 1")

    @property
    def max_degree(self) -> int:
        return len(self.g1_powers) - 1

    @classmethod
    def insecure_from_tau(cls, tau: int, size: int) -> Srs:
        """INSECURE, tests and benchmarks only: the SRS of a known tau (whoever knows tau can
        open any commitment to anything). `size` G1 powers tau^0..tau^(size-1)."""
        check_int("tau", tau, 2, R - 1)
        check_int("size", size, 2)
        powers = FrArray.from_ints([1, tau])
        while len(powers) < size:  # doubling by one native vector product per step
            powers = FrArray.concat([powers, powers * pow(tau, len(powers), R)])
        g1 = fixed_base_mul(G1Point.generator(), powers[:size])
        return cls(g1, G2Point.generator() * tau)

    @classmethod
    def from_ptau(cls, ptau: PowersOfTau, size: int | None = None, *, check: bool = True) -> Srs:
        """The SRS prefix of an imported powers-of-tau file (its tau_g1 and tau_g2 sections):
        the first `size` G1 powers (all by default) and [tau]_2. With `check` (default) the
        powers are tested for consistency with [tau]_2 (see `check`)."""
        g1, g2 = getattr(ptau, "tau_g1", None), getattr(ptau, "tau_g2", None)
        if not isinstance(g1, G1Array) or not isinstance(g2, G2Array):
            raise InputError("ptau must expose tau_g1: G1Array and tau_g2: G2Array")
        n = len(g1) if size is None else check_int("size", size, 2, len(g1))
        if len(g2) < 2 or g2[0] != G2Point.generator():
            raise SetupError("ptau tau_g2 must start with the G2 generator and [tau]_2")
        srs = cls(g1 if n == len(g1) else g1[:n], g2[1])
        if check:
            srs.check()
        return srs

    def check(self, rng: random.Random | None = None) -> None:
        """SetupError unless g1_powers[i + 1] = tau * g1_powers[i] for every i, for the tau of
        [tau]_2: one random linear combination (lambda_i from the CSPRNG unless an rng is given),
        e(sum lambda_i P_{i+1}, G2) = e(sum lambda_i P_i, [tau]_2): 2 MSMs and 2 pairings."""
        n = len(self.g1_powers) - 1
        lam = mask_stream(rng.randbytes(32) if rng is not None else secrets.token_bytes(32), n)
        left = self.g1_powers[1:].msm(lam)
        right = self.g1_powers[:n].msm(lam)
        if not pairing_product_is_one([(left, G2Point.generator()), (-right, self.tau_g2)]):
            raise SetupError("SRS powers are inconsistent with [tau]_2")

    def powers(self, n: int) -> G1Array:
        """[tau^i]_1 for i < n (kept per length, so repeated MSMs reuse their prepared bases)."""
        check_int("n", n, 0, len(self.g1_powers))
        if n == len(self.g1_powers):
            return self.g1_powers
        if n not in self._prefixes:
            self._prefixes[n] = self.g1_powers[:n]
        return self._prefixes[n]

    def digest(self, n: int | None = None) -> bytes:
        """sha256 over the EVM encoding of [tau]_2 and the first n G1 powers (all by default):
        what a job records so that clients, aggregator and auditors provably use one SRS."""
        n = len(self.g1_powers) if n is None else check_int("n", n, 1, len(self.g1_powers))
        h = hashlib.sha256(b"zkagg/srs/v1")
        h.update(self.tau_g2.to_bytes())
        h.update(self.powers(n).limbs.tobytes())
        return h.digest()


def _coeffs(coeffs: FrArray, srs: Srs, name: str = "coeffs") -> FrArray:
    if not isinstance(coeffs, FrArray):
        raise InputError(f"{name} must be an FrArray, not {type(coeffs).__name__}")
    if len(coeffs) > len(srs.g1_powers):
        raise LengthError(f"{name} has {len(coeffs)} elements; the SRS commits to at most {len(srs.g1_powers)}")
    return coeffs


def _blinded(srs: Srs, blinder: int, blinder_index: int | None, n: int) -> tuple[int, int]:
    check_int("blinder", blinder, 0, R - 1)
    if blinder_index is None:
        if blinder:
            raise InputError("a non-zero blinder needs its blinder_index")
        return 0, n
    check_int("blinder_index", blinder_index, n, srs.max_degree)
    return blinder, blinder_index


def commit(srs: Srs, coeffs: FrArray) -> G1Point:
    """[c(tau)]_1 for PUBLIC or uniformly masked coefficients (one variable-time MSM; use
    `commit_secret` when the coefficients must not leak through timing)."""
    coeffs = _coeffs(coeffs, srs)
    if not len(coeffs):
        return G1Point.infinity()
    return srs.powers(len(coeffs)).msm(coeffs)


def commit_secret(srs: Srs, coeffs: FrArray, blinder: int = 0, blinder_index: int | None = None,
                  rng: random.Random | None = None) -> G1Point:
    """[c(tau) + blinder tau^blinder_index]_1 for SECRET coefficients (a client's total mask T_u
    and its blinder s'_u: E_u of the v2 protocol). The MSM kernel is variable-time, so it never
    sees c: it runs on c + x and on x for a fresh uniform x and subtracts, and both inputs are
    uniform and independent of c. The blinder term is a constant-time multiplication.
    blinder_index must be at least len(coeffs) (the blinding power lies above the data)."""
    coeffs = _coeffs(coeffs, srs)
    blinder, index = _blinded(srs, blinder, blinder_index, len(coeffs))
    out = G1Point.infinity()
    if len(coeffs):
        # uniform in F_r from the native ChaCha20 stream under a fresh 32-byte key
        mask = mask_stream(rng.randbytes(32) if rng is not None else secrets.token_bytes(32), len(coeffs))
        bases = srs.powers(len(coeffs))
        out = bases.msm(coeffs + mask) - bases.msm(mask)
    if blinder:
        out = out + srs.g1_powers[index].mul_secret(blinder)
    return out


def _divide_linear(coeffs: FrArray, z: int) -> tuple[FrArray, int]:
    """(q, v) with coeffs = q (X - z) + v."""
    mod = native_module()
    if mod is None:  # reference engine: the same recurrence in Python ints
        c = coeffs.to_ints()
        q = [0] * (len(c) - 1)
        acc = c[-1]
        for i in range(len(c) - 2, -1, -1):
            q[i] = acc
            acc = (acc * z + c[i]) % R
        return FrArray.from_ints(q), acc
    ffi, lib = mod.ffi, mod.lib
    quotient: Limbs = np.empty((len(coeffs) - 1, 4), dtype=np.uint64)
    value: Limbs = np.empty((1, 4), dtype=np.uint64)
    zl = ints_to_limbs([z], R, "z")
    rc = lib.zkagg_fr_divide_linear(ffi.from_buffer("uint64_t[]", quotient), ffi.from_buffer("uint64_t[]", value),
                                    ffi.from_buffer("uint64_t[]", coeffs.limbs), len(coeffs),
                                    ffi.from_buffer("uint64_t[]", zl))
    if rc != 0:
        raise NativeError(f"synthetic division failed in the native core (code {rc})")
    return FrArray._trusted(quotient), limbs_to_ints(value)[0]


def evaluate(coeffs: FrArray, z: int) -> int:
    """c(z) by Horner's rule (native unless the reference engine is selected)."""
    if not isinstance(coeffs, FrArray):
        raise InputError(f"coeffs must be an FrArray, not {type(coeffs).__name__}")
    check_int("z", z, 0, R - 1)
    mod = native_module()
    if mod is None:
        acc = 0
        for x in reversed(coeffs.to_ints()):
            acc = (acc * z + x) % R
        return acc
    ffi = mod.ffi
    out: Limbs = np.empty((1, 4), dtype=np.uint64)
    mod.lib.zkagg_fr_horner(ffi.from_buffer("uint64_t[]", out), ffi.from_buffer("uint64_t[]", coeffs.limbs),
                            len(coeffs), ffi.from_buffer("uint64_t[]", ints_to_limbs([z], R, "z")))
    return limbs_to_ints(out)[0]


def evaluate_chunks(coeffs: FrArray, chunk_len: int, z: int) -> list[int]:
    """[c_j(z)] for the consecutive chunks c_j = coeffs[j L : (j + 1) L] (the last may be
    shorter): the e_j of the v2 chunk statement."""
    if not isinstance(coeffs, FrArray):
        raise InputError(f"coeffs must be an FrArray, not {type(coeffs).__name__}")
    check_int("chunk_len", chunk_len, 1)
    check_int("z", z, 0, R - 1)
    m = -(-len(coeffs) // chunk_len)
    mod = native_module()
    if mod is None:
        out = []
        c = coeffs.to_ints()
        for j in range(m):
            acc = 0
            for x in reversed(c[j * chunk_len : (j + 1) * chunk_len]):
                acc = (acc * z + x) % R
            out.append(acc)
        return out
    ffi, lib = mod.ffi, mod.lib
    res: Limbs = np.empty((m, 4), dtype=np.uint64)
    zl = ints_to_limbs([z], R, "z")
    rc = lib.zkagg_fr_horner_chunks(ffi.from_buffer("uint64_t[]", res), ffi.from_buffer("uint64_t[]", coeffs.limbs),
                                    len(coeffs), chunk_len, ffi.from_buffer("uint64_t[]", zl))
    if rc != 0:
        raise NativeError(f"chunk evaluation failed in the native core (code {rc})")
    return limbs_to_ints(res)


@dataclass(frozen=True)
class Opening:
    """v = F(z) and pi = [(F(tau) - v) / (tau - z)]_1."""

    value: int
    proof: G1Point


def open(srs: Srs, coeffs: FrArray, z: int, blinder: int = 0, blinder_index: int | None = None) -> Opening:
    """The opening at z of F(X) = c(X) + blinder X^blinder_index (the commitment
    `commit(srs, coeffs) + blinder [tau^blinder_index]_1`). Variable-time: for public
    polynomials (the round's aggregate S and rho)."""
    coeffs = _coeffs(coeffs, srs)
    check_int("z", z, 0, R - 1)
    blinder, index = _blinded(srs, blinder, blinder_index, len(coeffs))
    if blinder:
        pad = index + 1 - len(coeffs)
        tail = FrArray.from_ints([0] * (pad - 1) + [blinder])
        coeffs = FrArray.concat([coeffs, tail])
    if len(coeffs) <= 1:  # a constant: the quotient is 0
        return Opening(coeffs[0] if len(coeffs) else 0, G1Point.infinity())
    q, v = _divide_linear(coeffs, z)
    return Opening(v, commit(srs, q))


def verify(srs: Srs, commitment: G1Point, z: int, opening: Opening) -> bool:
    """True iff the opening shows that `commitment` opens to opening.value at z:
    e(C - v G1 + z pi, G2) e(-pi, [tau]_2) = 1. Malformed arguments raise."""
    if not isinstance(commitment, G1Point) or not isinstance(opening, Opening):
        raise InputError("verify takes a G1Point commitment and an Opening")
    check_int("z", z, 0, R - 1)
    check_int("opening.value", opening.value, 0, R - 1)
    pi = opening.proof
    lhs = commitment - G1Point.generator() * opening.value + pi * z
    return pairing_product_is_one([(lhs, G2Point.generator()), (-pi, srs.tau_g2)])


def random_tau(rng: random.Random | None = None) -> int:
    """A tau for `Srs.insecure_from_tau` in tests (never 0 or 1)."""
    while True:
        t = rng.randrange(R) if rng is not None else secrets.randbelow(R)
        if t > 1:
            return t


__all__ = ["Opening", "PowersOfTau", "Srs", "commit", "commit_secret", "evaluate", "evaluate_chunks",
           "open", "random_tau", "verify"]
