"""Groth16 keys and proofs: frozen dataclasses with canonical bytes and snarkjs-compatible JSON.

Everything loaded from bytes or JSON is validated (coordinates < q, points on the curve and in the
subgroup, counts consistent) before it is used.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from ..bn254 import G1Array, G1Point, G2Array, G2Point
from ..errors import InputError, LengthError, SetupError

VK_MAGIC, PK_MAGIC, PROOF_MAGIC = b"zkaggVK1", b"zkaggPK1", b"zkaggPF1"
PK_MAGIC_ODD = b"zkaggPK2"  # the same layout with an H query in snarkjs's odd-coset Lagrange form
H_BASES = ("monomial", "odd_lagrange")
G1_SIZE, G2_SIZE = G1Point.encoded_size, G2Point.encoded_size


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InputError(f"{what} must be bytes, not {type(data).__name__}")
        self.data, self.pos, self.what = bytes(data), 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise LengthError(f"{self.what} is truncated at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def g1(self) -> G1Point:
        return G1Point.from_bytes(self.take(G1_SIZE))

    def g2(self) -> G2Point:
        return G2Point.from_bytes(self.take(G2_SIZE))

    def g1_array(self, n: int) -> G1Array:
        from .batch_check import g1_array_from_evm

        return g1_array_from_evm(self.take(n * G1_SIZE), self.what)

    def g2_array(self, n: int) -> G2Array:
        from .batch_check import g2_array_from_evm  # batched subgroup check (cold start)

        return g2_array_from_evm(self.take(n * G2_SIZE), self.what)

    def expect(self, magic: bytes) -> None:
        if self.take(len(magic)) != magic:
            raise InputError(f"{self.what} does not start with {magic!r}")

    def done(self) -> None:
        if self.pos != len(self.data):
            raise LengthError(f"{self.what} has {len(self.data) - self.pos} trailing bytes")


class DegenerateSetupError(SetupError):
    """Setup material that would make proofs or commitments forgeable: a point at infinity where
    a secret belongs, γ = ±δ, δ = ±[1]_2, an empty or repeated (±) IC, τ in a small subgroup or
    the evaluation domain, ..."""


def check_verifying_key(vk: VerifyingKey, what: str = "verifying key") -> None:
    """DegenerateSetupError unless the key can only verify honest proofs: α, β, γ, δ not at
    infinity (β = O makes e(α, β) = 1 and A = vk_x-free forgeries trivial), γ ≠ ±δ (the IC term
    then folds into C's), δ ≠ ±[1]_2 (an uncontributed phase 2: δ is known), a non-empty IC with
    no point at infinity and no IC[i] = ±IC[j] (inputs would be unbound or interchangeable)."""
    for name in ("alpha_g1", "beta_g2", "gamma_g2", "delta_g2"):
        if getattr(vk, name).is_infinity:
            raise DegenerateSetupError(f"{what}: {name} is the point at infinity")
    g2 = G2Point.generator()
    if vk.delta_g2 == g2 or vk.delta_g2 == -g2:
        raise DegenerateSetupError(f"{what}: delta = ±1 (no phase-2 contribution): delta is known")
    if vk.gamma_g2 == vk.delta_g2 or vk.gamma_g2 == -vk.delta_g2:
        raise DegenerateSetupError(f"{what}: gamma = ±delta, so a proof can absorb the public inputs")
    if not vk.ic:
        raise DegenerateSetupError(f"{what}: the IC is empty")
    seen: dict[G1Point, int] = {}
    for i, p in enumerate(vk.ic):
        if p.is_infinity:
            raise DegenerateSetupError(f"{what}: IC[{i}] is the point at infinity: public input {i} would be unbound")
        for q, label in ((p, ""), (-p, "minus ")):
            if q in seen:
                raise DegenerateSetupError(
                    f"{what}: IC[{i}] repeats {label}IC[{seen[q]}]: public inputs would be interchangeable")
        seen[p] = i


def check_proving_key(pk: ProvingKey, what: str = "proving key") -> None:
    """check_verifying_key, β and δ in G1 not at infinity and equal to their G2 twins."""
    from ..bn254.pairing import pairing_product_is_one

    check_verifying_key(pk.vk, what)
    g1, g2 = G1Point.generator(), G2Point.generator()
    for name, p1, p2 in (("beta", pk.beta_g1, pk.vk.beta_g2), ("delta", pk.delta_g1, pk.vk.delta_g2)):
        if p1.is_infinity:
            raise DegenerateSetupError(f"{what}: {name}_g1 is the point at infinity")
        if not pairing_product_is_one([(p1, g2), (-g1, p2)]):
            raise DegenerateSetupError(f"{what}: {name} in G1 and G2 disagree")


def _u32(n: int) -> bytes:
    return struct.pack(">I", n)


# ---- snarkjs JSON encodings (decimal strings, projective with z = 1) ----

def g1_json(p: G1Point) -> list[str]:
    return ["0", "1", "0"] if p.is_infinity else [str(p.x), str(p.y), "1"]


def g2_json(p: G2Point) -> list[list[str]]:
    if p.is_infinity:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    return [[str(p.x[0]), str(p.x[1])], [str(p.y[0]), str(p.y[1])], ["1", "0"]]


def _dec(s: Any, what: str) -> int:
    # ASCII digits only (str.isdigit accepts "²"), and at most 78 of them: a coordinate is < 2^256
    if not isinstance(s, str) or not (s.isascii() and s.isdigit()) or len(s) > 78:
        raise InputError(f"{what} must be a decimal string of at most 78 digits")
    return int(s)


def g1_from_json(v: Any, what: str) -> G1Point:
    if not (isinstance(v, list) and len(v) == 3):
        raise InputError(f"{what} must be [x, y, z]")
    x, y, z = (_dec(c, what) for c in v)
    if z == 0:
        return G1Point.infinity()
    if z != 1:
        raise InputError(f"{what} must be affine (z = 1)")
    return G1Point(x, y)


def g2_from_json(v: Any, what: str) -> G2Point:
    if not (isinstance(v, list) and len(v) == 3 and all(isinstance(c, list) and len(c) == 2 for c in v)):
        raise InputError(f"{what} must be [[x0, x1], [y0, y1], [z0, z1]]")
    (x0, x1), (y0, y1), (z0, z1) = ((_dec(a, what), _dec(b, what)) for a, b in v)
    if (z0, z1) == (0, 0):
        return G2Point.infinity()
    if (z0, z1) != (1, 0):
        raise InputError(f"{what} must be affine (z = 1)")
    return G2Point((x0, x1), (y0, y1))


@dataclass(frozen=True)
class VerifyingKey:
    alpha_g1: G1Point
    beta_g2: G2Point
    gamma_g2: G2Point
    delta_g2: G2Point
    ic: tuple[G1Point, ...]  # one per public input, plus the constant term first

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1

    def to_bytes(self) -> bytes:
        head = VK_MAGIC + _u32(len(self.ic))
        body = [self.alpha_g1.to_bytes(), self.beta_g2.to_bytes(), self.gamma_g2.to_bytes(), self.delta_g2.to_bytes()]
        return head + b"".join(body) + b"".join(p.to_bytes() for p in self.ic)

    @classmethod
    def from_bytes(cls, data: bytes) -> VerifyingKey:
        r = _Reader(data, "verifying key")
        r.expect(VK_MAGIC)
        n_ic = r.u32()
        if n_ic < 1:
            raise LengthError("verifying key must have at least one IC point")
        vk = cls(r.g1(), r.g2(), r.g2(), r.g2(), tuple(r.g1_array(n_ic)))
        r.done()
        check_verifying_key(vk)
        return vk

    def to_snarkjs(self) -> dict[str, Any]:
        """The verification_key.json that `snarkjs groth16 verify` reads."""
        return {
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": self.n_public,
            "vk_alpha_1": g1_json(self.alpha_g1),
            "vk_beta_2": g2_json(self.beta_g2),
            "vk_gamma_2": g2_json(self.gamma_g2),
            "vk_delta_2": g2_json(self.delta_g2),
            "IC": [g1_json(p) for p in self.ic],
        }

    @classmethod
    def from_snarkjs(cls, obj: dict[str, Any]) -> VerifyingKey:
        if not isinstance(obj, dict):
            raise InputError("a snarkjs verifying key is a JSON object")
        try:
            if obj["protocol"] != "groth16" or obj["curve"] != "bn128":
                raise InputError("not a groth16/bn128 verifying key")
            ic = tuple(g1_from_json(p, f"IC[{i}]") for i, p in enumerate(obj["IC"]))
            vk = cls(
                g1_from_json(obj["vk_alpha_1"], "vk_alpha_1"),
                g2_from_json(obj["vk_beta_2"], "vk_beta_2"),
                g2_from_json(obj["vk_gamma_2"], "vk_gamma_2"),
                g2_from_json(obj["vk_delta_2"], "vk_delta_2"),
                ic,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise InputError(f"malformed snarkjs verifying key: {err!r}") from err
        if obj.get("nPublic", vk.n_public) != vk.n_public:
            raise LengthError("nPublic does not match the number of IC points")
        check_verifying_key(vk)
        return vk


@dataclass(frozen=True)
class Proof:
    a: G1Point
    b: G2Point
    c: G1Point

    def to_bytes(self) -> bytes:
        """256 bytes: A || B || C in the EVM precompile encoding (also the calldata layout)."""
        return self.a.to_bytes() + self.b.to_bytes() + self.c.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Proof:
        r = _Reader(data, "proof")
        proof = cls(r.g1(), r.g2(), r.g1())
        r.done()
        return proof

    def to_snarkjs(self) -> dict[str, Any]:
        return {"pi_a": g1_json(self.a), "pi_b": g2_json(self.b), "pi_c": g1_json(self.c),
                "protocol": "groth16", "curve": "bn128"}

    @classmethod
    def from_snarkjs(cls, obj: dict[str, Any]) -> Proof:
        try:
            return cls(g1_from_json(obj["pi_a"], "pi_a"), g2_from_json(obj["pi_b"], "pi_b"),
                       g1_from_json(obj["pi_c"], "pi_c"))
        except (KeyError, TypeError) as err:
            raise InputError(f"malformed snarkjs proof: {err!r}") from err


@dataclass(frozen=True)
class ProvingKey:
    """Everything the prover needs besides the R1CS. Wire j of the witness pairs with
    a_query[j], b_g1_query[j], b_g2_query[j]; l_query covers the private wires (j > n_public);
    h_query[i] = [tau^i Z(tau) / delta] for i < domain_size - 1 (h_basis "monomial", zkagg's own
    setup), or [L_{2i+1}(tau) / delta] for i < domain_size, the odd points of the 2n-point
    Lagrange basis (h_basis "odd_lagrange": keys from a ptau or a snarkjs .zkey)."""

    vk: VerifyingKey
    beta_g1: G1Point
    delta_g1: G1Point
    a_query: G1Array
    b_g1_query: G1Array
    b_g2_query: G2Array
    l_query: G1Array
    h_query: G1Array
    domain_size: int
    h_basis: str = "monomial"

    @property
    def n_wires(self) -> int:
        return len(self.a_query)

    def to_bytes(self) -> bytes:
        counts = (self.domain_size, len(self.a_query), len(self.l_query), len(self.h_query))
        vk = self.vk.to_bytes()
        magic = PK_MAGIC_ODD if self.h_basis == "odd_lagrange" else PK_MAGIC
        parts = [magic, *(_u32(c) for c in counts), _u32(len(vk)), vk,
                 self.beta_g1.to_bytes(), self.delta_g1.to_bytes(),
                 self.a_query.to_bytes(), self.b_g1_query.to_bytes(), self.b_g2_query.to_bytes(),
                 self.l_query.to_bytes(), self.h_query.to_bytes()]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> ProvingKey:
        r = _Reader(data, "proving key")
        magic = r.take(len(PK_MAGIC))
        if magic not in (PK_MAGIC, PK_MAGIC_ODD):
            raise InputError(f"proving key does not start with {PK_MAGIC!r} or {PK_MAGIC_ODD!r}")
        basis = "odd_lagrange" if magic == PK_MAGIC_ODD else "monomial"
        domain, m, n_l, n_h = r.u32(), r.u32(), r.u32(), r.u32()
        vk = VerifyingKey.from_bytes(r.take(r.u32()))
        n_h_expected = domain if basis == "odd_lagrange" else domain - 1
        if n_l != m - vk.n_public - 1 or n_h != n_h_expected or domain & (domain - 1):
            raise LengthError("proving key counts are inconsistent")
        pk = cls(vk, r.g1(), r.g1(), r.g1_array(m), r.g1_array(m), r.g2_array(m),
                 r.g1_array(n_l), r.g1_array(n_h), domain, basis)
        r.done()
        check_proving_key(pk)
        return pk


def dumps_json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=1)
