"""Whole rounds: exact aggregates, dropouts at every stage, the aggregator's view, hostile messages."""

from __future__ import annotations

import secrets

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkagg.bn254.field import FrArray
from zkagg.errors import DropoutError, LedgerError, PrivacyError, ProtocolError, ShareError
from zkagg.ledger import MemoryLedger
from zkagg.secagg import (
    Aggregator,
    AggregatorStage,
    Client,
    ClientStage,
    DropPoint,
    InProcessTransport,
    SecAggConfig,
    encode,
    simulate_round,
)
from zkagg.secagg.encoding import slot_sums
from zkagg.secagg.graph import is_connected, neighbour_graph
from zkagg.secagg.messages import (
    KeyAdvert,
    MaskedInput,
    ShareDelivery,
    UnmaskRequest,
    UnmaskShares,
    decode,
)
from zkagg.secagg.messages import (
    encode as encode_message,
)

D = 30


def make_config(n: int = 8, k: int = 4, job_id: bytes | None = None, **kw: object) -> SecAggConfig:
    return SecAggConfig(job_id=job_id or secrets.token_bytes(32), n_clients=n, model_length=D,  # type: ignore[arg-type]
                        neighbours=k, **kw)


def make_updates(n: int, seed: int = 0) -> dict[int, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)  # test data only; the protocol never uses numpy's RNG
    return {c: (rng.uniform(-3, 3, D), int(rng.integers(1, 500))) for c in range(n)}


def expected_sum(config: SecAggConfig, updates: dict[int, tuple[np.ndarray, int]], who: set[int]) -> list[int]:
    total = FrArray.zeros(config.n_elements)
    for c in who:
        total = total + encode(updates[c][0], updates[c][1], config)
    return slot_sums(total, config).tolist()


def test_round_without_dropouts_is_exact_and_close_to_the_float_mean() -> None:
    config, updates = make_config(), make_updates(8)
    result = simulate_round(config, updates)
    assert result.survivors == tuple(range(8)) and result.dropped == ()
    assert slot_sums(result.aggregate, config).tolist() == expected_sum(config, updates, set(range(8)))
    assert result.total_weight == sum(w for _, w in updates.values())
    xs, ws = np.array([u for u, _ in updates.values()]), np.array([w for _, w in updates.values()])
    err = np.max(np.abs(result.mean() - np.average(xs, axis=0, weights=ws)))
    assert err <= 2.0 ** -(config.quantization.frac_bits + 1) + 1e-12


@pytest.mark.parametrize("point", [DropPoint.BEFORE_SHARES, DropPoint.AFTER_SHARES,
                                   DropPoint.AFTER_MASK_COMMITMENT, DropPoint.DURING_UNMASKING])
def test_dropouts_up_to_the_threshold_complete_the_round(point: DropPoint) -> None:
    config, updates = make_config(n=9, k=4), make_updates(9, seed=1)  # t = 3 of 4: one may drop
    result = simulate_round(config, updates, dropouts={4: point})
    submitted = set(range(9)) - ({4} if point is not DropPoint.DURING_UNMASKING else set())
    assert set(result.survivors) == submitted
    assert result.dropped == ((4,) if point is DropPoint.AFTER_MASK_COMMITMENT else ())
    assert slot_sums(result.aggregate, config).tolist() == expected_sum(config, updates, submitted)


def recoverable_job_id(n: int, k: int, gone: set[int], owners: set[int]) -> bytes:
    """A fixed job id (it fixes the neighbour graph) under which every client in `owners` keeps
    t answering neighbours when `gone` do not answer: double masking needs shares of every
    survivor's self-mask seed as well as of every dropped client's mask seed."""
    for i in range(256):
        job_id = bytes([i]) * 32
        config = make_config(n=n, k=k, job_id=job_id)
        graph = neighbour_graph(job_id, 0, range(n), config.degree)
        if all(len(graph[o] - gone) >= config.shamir_threshold for o in owners):
            return job_id
    raise AssertionError("no job id keeps every owner recoverable")


def test_dropouts_at_every_stage_in_one_round() -> None:
    gone = {1, 6, 11, 14}
    job_id = recoverable_job_id(16, 6, gone, set(range(16)) - {1, 6, 14})
    config = make_config(n=16, k=6, job_id=job_id)  # t = 4 of 6
    updates = make_updates(16, seed=2)
    dropouts = {1: DropPoint.BEFORE_SHARES, 6: DropPoint.AFTER_SHARES,
                11: DropPoint.AFTER_MASK_COMMITMENT, 14: DropPoint.DURING_UNMASKING}
    result = simulate_round(config, updates, dropouts=dropouts)
    assert result.dropped == (11,)
    assert set(result.survivors) == set(range(16)) - {1, 6, 11}
    assert slot_sums(result.aggregate, config).tolist() == expected_sum(config, updates, set(result.survivors))


@settings(max_examples=15)
@given(st.sets(st.integers(0, 11), max_size=3), st.sets(st.integers(0, 11), max_size=3))
def test_masks_cancel_for_any_dropout_set(after_commit: set[int], unmask: set[int]) -> None:
    """Σ_U y_u + Σ_D T_u = Σ_U P_u for random dropout sets; when a dropped client keeps fewer
    than t answering neighbours, the round stops with DropoutError instead."""
    config, updates = make_config(n=12, k=6), make_updates(12, seed=3)
    unmask -= after_commit
    dropouts = {c: DropPoint.AFTER_MASK_COMMITMENT for c in after_commit}
    dropouts.update({c: DropPoint.DURING_UNMASKING for c in unmask})
    graph = neighbour_graph(config.job_id, 0, range(12), config.degree)
    gone = after_commit | unmask
    survivors = set(range(12)) - after_commit
    # a dropped client's mask seed and a survivor's self-mask seed both need t answering holders
    if any(len(graph[d] - gone) < config.shamir_threshold for d in range(12)):
        with pytest.raises(DropoutError, match="share"):
            simulate_round(config, updates, dropouts=dropouts)
        return
    assert is_connected(graph, survivors)  # fewer than `degree` clients dropped
    result = simulate_round(config, updates, dropouts=dropouts)
    assert set(result.dropped) == after_commit
    total = FrArray.zeros(config.n_elements)
    for z in result.inputs.values():
        total = total + z
    assert total == result.aggregate
    assert slot_sums(total, config).tolist() == expected_sum(config, updates, set(result.survivors))


def test_too_many_dropouts_fail_with_a_named_error_and_no_result() -> None:
    config, updates = make_config(n=9, k=4), make_updates(9)
    # Drop a client and two of its neighbours' unmask answers: fewer than t = 3 shares remain.
    graph_neighbours = sorted(neighbour_graph(config.job_id, 0, range(9), config.degree)[0])
    dropouts = {0: DropPoint.AFTER_MASK_COMMITMENT}
    dropouts.update({v: DropPoint.DURING_UNMASKING for v in graph_neighbours[:2]})
    with pytest.raises(DropoutError, match="share"):
        simulate_round(config, updates, dropouts=dropouts)
    with pytest.raises(DropoutError, match="never uploaded"):
        simulate_round(config, updates, dropouts={3: DropPoint.BEFORE_UPLOAD})
    with pytest.raises(DropoutError):
        simulate_round(config, updates, dropouts={c: DropPoint.AFTER_SHARES for c in range(8)})


def test_a_split_survivor_graph_stops_the_round() -> None:
    config, updates = make_config(n=6, k=2, threshold=1), make_updates(6)  # a ring

    ring = neighbour_graph(config.job_id, 0, range(6), 2)
    a = 0  # and the client opposite it on the ring: the four survivors form two pairs
    b = next(c for c in range(6) if c not in ring[a] | {a} and not ring[c] & ring[a])
    with pytest.raises(PrivacyError):
        simulate_round(config, updates, dropouts={a: DropPoint.AFTER_MASK_COMMITMENT,
                                                  b: DropPoint.AFTER_MASK_COMMITMENT})


class Recorder:
    """Runs a round step by step and keeps every message the aggregator receives."""

    def __init__(self, n: int = 8, k: int = 4) -> None:
        self.config, self.updates = make_config(n=n, k=k), make_updates(n, seed=7)
        self.ledger = MemoryLedger()
        self.ledger.open_job(self.config.job_id, self.config.n_clients, self.config.max_weight)
        self.clients = {c: Client(self.config, self.ledger, c, 0, u, w) for c, (u, w) in self.updates.items()}
        self.agg = Aggregator(self.config, self.ledger, 0)
        self.net = InProcessTransport(self.agg, self.clients, alive=set(self.clients))
        self.seen: list[object] = []
        handle = self.agg.handle

        def spy(msg: object) -> None:
            self.seen.append(msg)
            handle(msg)  # type: ignore[arg-type]

        self.agg.handle = spy  # type: ignore[method-assign]

    def advertise(self) -> None:
        for c in self.clients:
            self.net.send_to_aggregator(self.clients[c].start())

    def through_masking(self) -> None:
        self.advertise()
        self.net.deliver(self.agg.close())
        self.net.deliver(self.agg.close())


def test_the_aggregator_sees_only_masked_vectors_and_shares_of_dropped_keys() -> None:
    rec = Recorder()
    rec.through_masking()
    rec.net.alive.discard(5)  # 5 drops after committing its mask
    rec.net.deliver(rec.agg.close())
    rec.net.deliver(rec.agg.close())
    rec.agg.close()
    assert rec.agg.result is not None and rec.agg.result.dropped == (5,)
    for msg in rec.seen:
        if isinstance(msg, MaskedInput):
            packed = encode(*rec.updates[msg.sender], rec.config)
            assert msg.vector != packed and (msg.vector - packed) != FrArray.zeros(len(packed))
            posted = rec.ledger.submissions(rec.config.job_id, 0)[msg.sender][0]
            assert rec.agg.commit(msg.vector) != posted  # ŷ_u: not even y_u is uploaded in clear
        if isinstance(msg, UnmaskShares):
            assert set(msg.shares) <= {5}  # never a share of a survivor's key
            assert 5 not in msg.self_shares  # never the self-mask share of a dropped client
    assert sum(isinstance(m, UnmaskShares) and 5 in m.shares for m in rec.seen) == rec.config.degree
    assert {type(m).__name__ for m in rec.seen} == {"KeyAdvert", "ShareBundle", "MaskedInput", "UnmaskShares"}


def test_clients_refuse_to_unmask_a_survivor() -> None:
    rec = Recorder()
    rec.through_masking()
    rec.net.deliver(rec.agg.close())
    rec.ledger.close_submissions(rec.config.job_id, 0)
    lying = UnmaskRequest(job_id=rec.config.job_id, round=0, sender=0xFFFFFFFF, dropped=(2,))
    with pytest.raises(ProtocolError, match="dropped"):
        rec.clients[1].handle(lying)
    assert rec.clients[1].stage is ClientStage.SUBMITTED


def test_a_forged_share_is_named_and_the_client_keeps_its_state() -> None:
    rec = Recorder()
    rec.advertise()
    rec.net.deliver(rec.agg.close())
    deliveries = [(c, m) for c, m in rec.agg.close() if isinstance(m, ShareDelivery)]
    victim, good = deliveries[0]
    sender = min(good.shares)
    forged_shares = dict(good.shares)
    forged_shares[sender] = bytes([good.shares[sender][0] ^ 1]) + good.shares[sender][1:]
    forged = ShareDelivery(job_id=good.job_id, round=0, sender=good.sender, shares=forged_shares)
    with pytest.raises(ShareError) as info:
        rec.clients[victim].handle(forged)
    assert info.value.sender == sender
    assert rec.clients[victim].stage is ClientStage.SHARED
    rec.clients[victim].handle(good)  # the genuine delivery still works
    assert rec.clients[victim].stage is ClientStage.DELIVERED


def test_replays_duplicates_and_foreign_messages_are_refused_without_harm() -> None:
    rec = Recorder()
    rec.advertise()
    advert = next(m for m in rec.seen if isinstance(m, KeyAdvert))
    with pytest.raises(ProtocolError, match="replay"):
        rec.agg.handle(advert)  # the same client id twice
    other_round = KeyAdvert(job_id=advert.job_id, round=1, sender=advert.sender,
                            mask_key=advert.mask_key, share_key=advert.share_key, signature=advert.signature)
    with pytest.raises(ProtocolError, match="round"):
        rec.agg.handle(other_round)
    with pytest.raises(ProtocolError, match="unexpected"):
        rec.agg.handle(UnmaskShares(job_id=advert.job_id, round=0, sender=1, shares={}, self_shares={}))
    rec.net.deliver(rec.agg.close())
    rec.net.deliver(rec.agg.close())
    rec.net.deliver(rec.agg.close())
    assert rec.agg.stage is AggregatorStage.INPUTS
    with pytest.raises(LedgerError, match="replay"):
        rec.ledger.post_submission(rec.config.job_id, 0, 3, 1, 1)
    upload = next(m for m in rec.seen if isinstance(m, MaskedInput))
    with pytest.raises(ProtocolError, match="replay"):
        rec.agg.handle(upload)
    rec.net.deliver(rec.agg.close())
    rec.agg.close()  # unmasking: the survivors' self-masks come off
    assert rec.agg.result is not None and rec.agg.result.survivors == tuple(range(8))


def test_an_upload_that_does_not_match_its_commitment_stalls_the_round_by_name() -> None:
    rec = Recorder()
    rec.through_masking()
    requests = rec.agg.close()
    client, request = requests[0]
    (upload,) = rec.clients[client].handle(request)
    assert isinstance(upload, MaskedInput)
    altered = MaskedInput(job_id=upload.job_id, round=0, sender=upload.sender,
                          vector=upload.vector + FrArray.from_ints([1] * len(upload.vector)))
    rec.agg.handle(decode(encode_message(altered)))  # self-masked: checkable only after unmasking
    rec.net.deliver(requests[1:])
    rec.net.deliver(rec.agg.close())
    with pytest.raises(ProtocolError, match=f"client {client}'s upload"):
        rec.agg.close()
    assert rec.agg.result is None


def test_a_wrong_unmask_share_is_outvoted_and_named() -> None:
    rec = Recorder(n=10, k=6)  # t = 4 of 6: a dropped key has up to 6 holders
    rec.through_masking()
    rec.net.alive.discard(0)
    rec.net.deliver(rec.agg.close())
    out = rec.agg.close()
    assert rec.agg.stage is AggregatorStage.UNMASKING
    liar = None
    for c, msg in out:
        (reply,) = rec.clients[c].handle(msg)
        assert isinstance(reply, UnmaskShares)
        if liar is None and reply.shares:
            liar = c
            reply = UnmaskShares(job_id=reply.job_id, round=0, sender=c,
                                 shares={d: (s + 1) for d, s in reply.shares.items()},
                                 self_shares=reply.self_shares)
        rec.agg.handle(reply)
    rec.agg.close()
    result = rec.agg.result
    assert result is not None and result.dropped == (0,)
    assert list(result.misbehaving) == [liar]
    assert slot_sums(result.aggregate, rec.config).tolist() == expected_sum(
        rec.config, rec.updates, set(range(1, 10)))


def test_duplicate_client_ids_and_bad_updates_are_refused_before_the_round() -> None:
    config = make_config()
    ledger = MemoryLedger()
    with pytest.raises(ProtocolError, match="slot"):
        Client(config, ledger, config.n_clients, 0, np.zeros(D), 1)
    with pytest.raises(Exception, match="not finite"):
        Client(config, ledger, 0, 0, np.full(D, np.nan), 1)


def test_a_client_that_never_commits_its_mask_triggers_a_smaller_mask_set() -> None:
    config, updates = make_config(n=8, k=4), make_updates(8, seed=4)
    ledger = MemoryLedger()
    ledger.open_job(config.job_id, config.n_clients, config.max_weight)
    result = simulate_round(config, updates, ledger=ledger, dropouts={3: DropPoint.AFTER_SHARES})
    final = ledger.mask_set(config.job_id, 0)
    assert final is not None and final.final and final.attempt == 1 and 3 not in final.members
    assert 3 not in result.survivors + result.dropped  # masked with nobody: nothing to recover
    assert slot_sums(result.aggregate, config).tolist() == expected_sum(config, updates, set(range(8)) - {3})
    with pytest.raises(LedgerError):
        ledger.post_mask_set(config.job_id, 0, 2, (0, 1))  # masking is final: no more retries
