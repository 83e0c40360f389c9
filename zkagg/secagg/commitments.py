"""What a client posts on the ledger for its vectors, and what the aggregator checks them against.

Two kinds of committer:

- `HashCommitter` (the v1 statement): e_u = H(T_u), c_u = H(y_u) with a vector hash. Kept for the
  v1 chunk circuit; e_u is deterministic, so whoever holds y_u can test guesses of P_u.
- `KzgCommitter` (aggregation v2): C_u = [y_u(tau)]_1 and the blinded E_u = [T_u(tau) + s'_u tau^B]_1,
  s'_u derived from the Shamir-shared mask seed (so it is rebuilt exactly when T_u is: u dropped).
  Before the deadline the ledger holds only `point_digest`s of the points (commit-then-reveal: no
  point can be chosen as a function of another). The points are revealed at acceptance by the
  aggregator, which recomputes them from the vectors it opened (y_u of a survivor, T_u and s'_u of a
  dropped client) and checks them against the posted digests before it proves anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import kzg
from ..bn254 import FR_MODULUS, G1Point
from ..bn254.field import FrArray
from ..errors import InputError, LengthError, check_int
from .keys import SEED_BITS, Context


@dataclass(frozen=True)
class Commitment:
    """A posted digest (a field element, what the ledger stores) and, for KZG, the point it hashes
    and the blinder s'_u inside it (0 for C_u and for hash commitments)."""

    digest: int
    point: G1Point | None = None
    blind: int = 0


@runtime_checkable
class Committer(Protocol):
    """How clients commit to T_u (mask phase) and y_u (submission)."""

    def mask_commitment(self, ctx: Context, slot: int, mask: FrArray, seed: int) -> Commitment: ...

    def input_commitment(self, ctx: Context, slot: int, masked: FrArray) -> Commitment: ...


@dataclass(frozen=True)
class HashCommitter:
    """v1: the digest is a hash of the vector (e_u = H(T_u), c_u = H(y_u))."""

    commit: Callable[[FrArray], int]

    def mask_commitment(self, ctx: Context, slot: int, mask: FrArray, seed: int) -> Commitment:
        return Commitment(self.commit(mask))

    def input_commitment(self, ctx: Context, slot: int, masked: FrArray) -> Commitment:
        return Commitment(self.commit(masked))


def blind_scalar(ctx: Context, owner: int, seed: int) -> int:
    """s'_u: 64 bytes of HKDF under the mask seed, bound to job, round and owner, reduced mod r
    (statistically uniform). Derived from the seed that is Shamir-shared, so the aggregator can
    rebuild it only for a dropped client, together with T_u."""
    check_int("seed", seed, 0, (1 << SEED_BITS) - 1)
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
               info=ctx.info(b"kzg-blind", owner, owner)).derive(seed.to_bytes(32, "big"))
    return int.from_bytes(okm, "big") % FR_MODULUS


def point_digest(kind: str, chain_id: int, ledger: bytes, ctx: Context, slot: int, point: G1Point) -> int:
    """The ledger's digest of a hidden point: `kzg_round.point_hash` as an integer mod r (the
    ledger stores field elements; 254 bits of keccak keep it collision resistant)."""
    from ..aggregation.kzg_round import (  # the aggregation package imports secagg
        RoundContext,
        point_hash,
    )

    where = RoundContext(chain_id, ledger, ctx.job_id, ctx.round)
    return int.from_bytes(point_hash(kind, where, slot, point), "big") % FR_MODULUS


@dataclass(frozen=True)
class KzgCommitter:
    """v2: KZG commitments over the SRS powers, posted as domain-separated digests.

    `blind_index` is B = m L of the job's chunking; `chain_id` and `ledger` (a 20-byte address)
    name the ledger the digests are posted to, so a digest of one ledger means nothing on another."""

    srs: kzg.Srs
    n_elements: int
    blind_index: int
    chain_id: int
    ledger: bytes

    def __post_init__(self) -> None:
        check_int("n_elements", self.n_elements, 1)
        check_int("blind_index", self.blind_index, self.n_elements, self.srs.max_degree)
        if not isinstance(self.ledger, bytes) or len(self.ledger) != 20:
            raise LengthError("ledger must be a 20-byte address")

    def _check(self, vector: FrArray, name: str) -> None:
        if not isinstance(vector, FrArray):
            raise InputError(f"{name} must be an FrArray")
        if len(vector) != self.n_elements:
            raise LengthError(f"{name} has {len(vector)} elements, not {self.n_elements}")

    def digest(self, kind: str, ctx: Context, slot: int, point: G1Point) -> int:
        return point_digest(kind, self.chain_id, self.ledger, ctx, slot, point)

    def mask_commitment(self, ctx: Context, slot: int, mask: FrArray, seed: int) -> Commitment:
        """E_u = [T_u(tau) + s'_u tau^B]_1: T_u and s'_u are secret (constant-time path)."""
        self._check(mask, "mask")
        blind = blind_scalar(ctx, slot, seed)
        point = kzg.commit_secret(self.srs, mask, blind, self.blind_index)
        return Commitment(self.digest("E", ctx, slot, point), point, blind)

    def input_commitment(self, ctx: Context, slot: int, masked: FrArray) -> Commitment:
        """C_u = [y_u(tau)]_1: y_u is uniformly masked, the variable-time MSM sees nothing secret."""
        self._check(masked, "masked input")
        point = kzg.commit(self.srs, masked)
        return Commitment(self.digest("C", ctx, slot, point), point)


#: what `commit=` takes: a Committer, or a vector hash (v1)
CommitLike = Callable[[FrArray], int] | Committer


def as_committer(commit: CommitLike) -> Committer:
    """A Committer as is; a vector hash (the v1 `commit` callable) wrapped as a HashCommitter."""
    if isinstance(commit, Committer):
        return commit
    if not callable(commit):
        raise InputError("commit must be a Committer or a callable vector -> digest")
    return HashCommitter(commit)
