"""The in-memory ledger: every refused write raises LedgerError and changes nothing."""

from __future__ import annotations

import pytest

from zkagg.bn254.constants import FR_MODULUS
from zkagg.errors import LedgerError, ProofRejectedError
from zkagg.ledger import MemoryLedger, Outcome, Slots

JOB = b"j" * 32


def ledger() -> MemoryLedger:
    led = MemoryLedger()
    led.open_job(JOB, n_clients=5, max_weight=100)
    return led


def test_a_round_from_mask_set_to_outcome() -> None:
    led = ledger()
    led.post_mask_set(JOB, 7, 0, (0, 1, 2, 3))
    for c in (0, 1, 2):
        led.post_mask_commitment(JOB, 7, 0, c, 10 + c)
    assert led.close_masking(JOB, 7, 0) == (0, 1, 2)
    led.post_mask_set(JOB, 7, 1, (0, 1, 2))  # the retry drops client 3
    for c in (0, 1, 2):
        led.post_mask_commitment(JOB, 7, 1, c, 20 + c)
    led.close_masking(JOB, 7, 1)
    assert led.mask_commitments(JOB, 7) == {0: 20, 1: 21, 2: 22}
    led.post_submission(JOB, 7, 0, 5, 100)
    led.post_submission(JOB, 7, 2, 6, 1)
    assert led.close_submissions(JOB, 7) == Outcome((0, 2), (1,))
    assert led.submissions(JOB, 7) == {0: (5, 100), 2: (6, 1)}


@pytest.mark.parametrize(
    "write",
    [
        lambda led: led.open_job(JOB, 5, 100),  # the job exists
        lambda led: led.post_mask_set(b"x" * 32, 0, 0, (0, 1)),  # unknown job
        lambda led: led.post_mask_set(JOB, 0, 1, (0, 1)),  # attempt 0 is open
        lambda led: led.post_mask_set(JOB, 0, 1, (0, 1, 2)),  # a retry must shrink
        lambda led: led.post_mask_commitment(JOB, 0, 0, 4, 1),  # not a member
        lambda led: led.post_mask_commitment(JOB, 0, 0, 0, 2),  # replay
        lambda led: led.post_mask_commitment(JOB, 0, 0, 1, FR_MODULUS),  # digest >= r
        lambda led: led.post_submission(JOB, 0, 0, 1, 1),  # masking not final
        lambda led: led.close_masking(JOB, 0, 1),  # not the open attempt
    ],
)
def test_refused_writes_leave_the_ledger_unchanged(write) -> None:  # noqa: ANN001
    led = ledger()
    led.post_mask_set(JOB, 0, 0, (0, 1, 2))
    led.post_mask_commitment(JOB, 0, 0, 0, 1)
    before = (led.mask_set(JOB, 0), led.mask_commitments(JOB, 0))
    with pytest.raises(LedgerError):
        write(led)
    assert (led.mask_set(JOB, 0), led.mask_commitments(JOB, 0)) == before


def test_submissions_are_checked_and_close_once() -> None:
    led = ledger()
    led.post_mask_set(JOB, 0, 0, (0, 1))
    led.post_mask_commitment(JOB, 0, 0, 0, 1)
    led.post_mask_commitment(JOB, 0, 0, 1, 1)
    led.close_masking(JOB, 0, 0)
    for weight in (0, 101, True, 2.0):
        with pytest.raises(LedgerError, match="weight"):
            led.post_submission(JOB, 0, 0, 1, weight)  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="final mask set"):
        led.post_submission(JOB, 0, 3, 1, 1)
    led.post_submission(JOB, 0, 0, 1, 1)
    with pytest.raises(LedgerError, match="replay"):
        led.post_submission(JOB, 0, 0, 2, 1)
    led.close_submissions(JOB, 0)
    with pytest.raises(LedgerError, match="not open"):
        led.post_submission(JOB, 0, 1, 1, 1)  # after the deadline
    with pytest.raises(LedgerError):
        led.close_submissions(JOB, 0)
    assert led.outcome(JOB, 0) == Outcome((0,), (1,))


class _Verifier:
    """Accepts a proof equal to b"ok" for slots it records; the real one is `JobVerifier`."""

    empty_commitment = 99

    def __init__(self) -> None:
        self.seen: list[Slots] = []

    def model_hash(self, round: int, slots: Slots, proof: object) -> bytes | None:
        self.seen.append(slots)
        return b"h" * 32 if proof == b"ok" else None


def test_rounds_are_accepted_against_the_ledgers_own_slots() -> None:
    led, verifier = MemoryLedger(), _Verifier()
    led.open_job(JOB, n_clients=4, max_weight=100, verifier=verifier)
    led.post_mask_set(JOB, 0, 0, (0, 1, 2))
    for c in (0, 1, 2):
        led.post_mask_commitment(JOB, 0, 0, c, 10 + c)
    led.close_masking(JOB, 0, 0)
    with pytest.raises(LedgerError, match="not closed"):
        led.accept_round(JOB, 0, b"ok")
    led.post_submission(JOB, 0, 0, 5, 7)
    led.post_submission(JOB, 0, 2, 6, 3)
    led.close_submissions(JOB, 0)
    with pytest.raises(ProofRejectedError):
        led.accept_round(JOB, 0, b"forged")
    assert led.model_hash(JOB, 0) is None
    assert led.accept_round(JOB, 0, b"ok") == b"h" * 32 == led.model_hash(JOB, 0)
    # survivors: c_u and w_u; the dropped client 1: e_1 and weight 0; slot 3: the empty commitment
    assert verifier.seen[-1] == Slots((5, 11, 6, 99), (7, 0, 3, 0)) and verifier.seen[-1].total_weight == 10
    with pytest.raises(LedgerError, match="replay"):
        led.accept_round(JOB, 0, b"ok")
    with pytest.raises(LedgerError, match="no verifier"):
        ledger().accept_round(JOB, 0, b"ok")


def snapshot(led: MemoryLedger) -> object:
    """Everything a MemoryLedger holds, as a comparable value."""
    import copy

    return copy.deepcopy((led._rounds, led._next_round, {k: dict(j.identities) for k, j in led._jobs.items()}))


READS_AND_REFUSALS = [
    lambda led: led.mask_set(JOB, 9),
    lambda led: led.mask_commitments(JOB, 9),
    lambda led: led.submissions(JOB, 9),
    lambda led: led.outcome(JOB, 9),
    lambda led: led.model_hash(JOB, 9),
    lambda led: led.close_masking(JOB, 9, -1),  # refused: nothing is open in round 9
    lambda led: led.close_submissions(JOB, 9),
    lambda led: led.post_mask_set(JOB, 2000, 0, (0, 1)),  # refused: beyond the skip limit
    lambda led: led.enroll(JOB, 0, b"\x01" * 32),  # refused: slot 0 is enrolled
]


@pytest.mark.parametrize("step", READS_AND_REFUSALS)
def test_reads_and_refused_writes_change_nothing_at_all(step) -> None:  # noqa: ANN001
    led = ledger()
    before = snapshot(led)
    try:
        step(led)
    except LedgerError:
        pass
    assert snapshot(led) == before


class OldRoundLookup(MemoryLedger):
    """The first ledger's lookup: every read of a round created its record."""

    def _round(self, job_id: bytes, round: int):  # type: ignore[no-untyped-def]
        self._job(job_id)
        return self._rounds.setdefault((job_id, round), super()._round(job_id, round))


def test_the_snapshot_check_has_teeth() -> None:
    """Negative control: with the first ledger's lookup a read changes the ledger."""
    led = OldRoundLookup()
    led.open_job(JOB, n_clients=5, max_weight=100)
    before = snapshot(led)
    led.mask_set(JOB, 9)
    assert snapshot(led) != before
