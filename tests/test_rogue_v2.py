"""Rogue (cancelling) commitments against the v2 round (design note F3, test 1), with the
ordering modelled by a minimal test-only book of hash commitments: clients post
point_hash(C_u) before the deadline and reveal C_u after it. The real ordering lives in the
ledger contract (later); this shows why the reveal check is what stops the attack."""

from __future__ import annotations

import random

import pytest

from zkagg import kzg
from zkagg.aggregation import kzg_round as kr
from zkagg.bn254 import FrArray, G1Point
from zkagg.errors import LedgerError

R = kr.R
L, K = 16, 32


class RevealBook:
    """Test-only model of commit-then-reveal: hashes before the close, points after."""

    def __init__(self, ctx: kr.RoundContext, check_hashes: bool = True) -> None:
        self.ctx, self.check_hashes = ctx, check_hashes
        self.hashes: dict[int, bytes] = {}
        self.points: dict[int, G1Point] = {}
        self.closed = False

    def post(self, slot: int, digest: bytes) -> None:
        if self.closed:
            raise LedgerError("submissions are closed")
        self.hashes[slot] = digest

    def close(self) -> None:
        self.closed = True

    def reveal(self, slot: int, point: G1Point) -> None:
        if not self.closed:
            raise LedgerError("points are revealed only after the close")
        if self.check_hashes and kr.point_hash("C", self.ctx, slot, point) != self.hashes.get(slot):
            raise LedgerError(f"slot {slot}'s point does not match its hash")
        self.points[slot] = point

    def c_s(self) -> G1Point:
        out = G1Point.infinity()
        for p in self.points.values():
            out = out + p
        return out


@pytest.fixture(scope="module")
def setup() -> tuple[kr.ChunkProver, kzg.Srs]:
    return kr.ChunkProver.insecure_single_party_setup(L, random.Random(41)), kzg.Srs.insecure_from_tau(kzg.random_tau(random.Random(42)), 64)


def _attack(setup: tuple[kr.ChunkProver, kzg.Srs], check_hashes: bool) -> tuple[bool, FrArray]:
    """Two honest clients and a rogue slot 2 colluding with the aggregator, who wants S*.
    The rogue posts its hash first (it must: the book closes), then, seeing the honest points
    revealed, tries to reveal C_r = [S*(tau)] - sum C_v. Returns (accepted, published S)."""
    prover, srs = setup
    rng = random.Random(43)
    shape = kr.RoundShape(K, L)
    ctx = kr.RoundContext(1, bytes(19) + b"\x01", bytes(31) + b"\x02", 1)
    book = RevealBook(ctx, check_hashes)
    ys = [FrArray.random(K, rng) for _ in range(2)]
    honest = [kzg.commit(srs, y) for y in ys]
    for slot, c in enumerate(honest):
        book.post(slot, kr.point_hash("C", ctx, slot, c))
    y_rogue = FrArray.random(K, rng)  # the only vector the rogue can commit to before the close
    book.post(2, kr.point_hash("C", ctx, 2, kzg.commit(srs, y_rogue)))
    book.close()
    for slot, c in enumerate(honest):
        book.reveal(slot, c)
    target = FrArray.from_ints([7] * K)  # S* of the aggregator's choosing
    cancelling = kzg.commit(srs, target) - honest[0] - honest[1]
    try:
        book.reveal(2, cancelling)
        published = target
    except LedgerError:
        book.reveal(2, kzg.commit(srs, y_rogue))  # the rogue can only reveal what it hashed
        published = ys[0] + ys[1] + y_rogue
    proof = kr.prove_round(prover, srs, ctx, shape, aggregate=published, rho=0, total_weight=3, c_s=book.c_s())
    return kr.verify_round(prover.pk.vk, srs.tau_g2, ctx, shape, book.c_s(), proof), published


def test_without_hash_checks_a_rogue_cancels_the_honest_inputs(setup: tuple[kr.ChunkProver, kzg.Srs]) -> None:
    """Negative control: a book that does not check revealed points against their hashes lets the
    aggregator publish S* (the honest inputs are 'included' but cancelled)."""
    accepted, published = _attack(setup, check_hashes=False)
    assert accepted and published == FrArray.from_ints([7] * K)


def test_commit_then_reveal_stops_the_rogue(setup: tuple[kr.ChunkProver, kzg.Srs]) -> None:
    accepted, published = _attack(setup, check_hashes=True)
    assert accepted and published != FrArray.from_ints([7] * K)  # honest sum + what the rogue fixed


def test_a_late_hash_is_refused() -> None:
    book = RevealBook(kr.RoundContext(1, bytes(20), bytes(32), 1))
    book.close()
    with pytest.raises(LedgerError):
        book.post(0, bytes(32))
