"""zkagg.fl.Job: round trips for numpy and torch, exact published models, dropouts, bad inputs."""

from __future__ import annotations

import dataclasses
import math
import pickle
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zkagg.aggregation import AggregationJob
from zkagg.bn254.field import FrArray
from zkagg.ceremony.job_keys import INSECURE_SINGLE_PARTY_SETUP as INSECURE
from zkagg.errors import (
    BudgetError,
    DropoutError,
    InputError,
    LedgerError,
    LengthError,
    ProtocolError,
)
from zkagg.fl import DropPoint, Job, JobParams, Quantization
from zkagg.groth16 import VerifyingKey
from zkagg.ledger import MemoryLedger
from zkagg.secagg import AggregatorStage, InProcessTransport, encode
from zkagg.secagg.encoding import Layout, decode

N = 4
Q = Quantization(bits=16, frac_bits=12, clip=4.0)
HALF_STEP = 2.0 ** -(Q.frac_bits + 1)


def numpy_template() -> dict[str, np.ndarray]:
    return {"w": np.zeros((3, 5), dtype=np.float64), "b": np.zeros(3, dtype=np.float32)}


@pytest.fixture(scope="module")
def job() -> Job:
    return Job(numpy_template(), n_clients=N, max_weight=100, quantization=Q, neighbours=3,
               ledger=MemoryLedger(), setup=INSECURE)


def random_updates(seed: int, who: range | list[int] = range(N)) -> dict[int, tuple[dict[str, np.ndarray], int]]:
    rng = np.random.default_rng(seed)  # test data only
    return {c: ({"w": rng.uniform(-3, 3, (3, 5)), "b": rng.uniform(-3, 3, 3).astype(np.float32)},
                int(rng.integers(1, 101))) for c in who}


def flat(update: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([update["w"].ravel(), update["b"].astype(np.float64).ravel()])


def secure_sum_mean(job: Job, updates: dict, survivors: tuple[int, ...]) -> np.ndarray:
    """What secure aggregation must produce: the decoded sum of the survivors' encoded updates."""
    total = FrArray.zeros(job.config.n_elements)
    for c in survivors:
        total = total + encode(flat(updates[c][0]), updates[c][1], job.config)
    return decode(total, sum(updates[c][1] for c in survivors), job.config)


def float_mean(updates: dict, survivors: tuple[int, ...]) -> np.ndarray:
    return np.average([flat(updates[c][0]) for c in survivors], axis=0,
                      weights=[updates[c][1] for c in survivors])


# -- round trips ------------------------------------------------------------------------------

@settings(max_examples=8)
@given(seed=st.integers(0, 2**32 - 1), drop=st.sampled_from([None, 0, 2, 3]))
def test_published_model_is_the_exact_secure_mean_and_within_half_a_step(job: Job, seed: int,
                                                                          drop: int | None) -> None:
    updates = random_updates(seed)
    dropouts = {drop: DropPoint.AFTER_MASK_COMMITMENT} if drop is not None else {}
    published = job.run_round(updates, dropouts=dropouts)
    survivors = tuple(c for c in range(N) if c != drop)
    assert published.survivors == survivors and published.dropped == ((drop,) if drop is not None else ())
    assert published.total_weight == sum(updates[c][1] for c in survivors)
    assert np.array_equal(published.mean, secure_sum_mean(job, updates, survivors))
    assert np.max(np.abs(published.mean - float_mean(updates, survivors))) <= HALF_STEP + 1e-12
    model = published.model
    assert list(model) == ["w", "b"]
    assert model["w"].dtype == np.float64 and model["b"].dtype == np.float32
    assert np.array_equal(model["w"].ravel(), published.mean[:15])
    assert np.array_equal(model["b"], published.mean[15:].astype(np.float32))


def test_torch_state_dict_round_trip_keeps_names_shapes_and_dtypes() -> None:
    torch.manual_seed(0)  # test data only
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    model[2].double()
    template = model.state_dict()
    job = Job(template, n_clients=3, max_weight=50, quantization=Q, setup=INSECURE)
    updates = {}
    for c in range(3):
        local = {k: v + 0.01 * (c + 1) for k, v in template.items()}
        updates[c] = (local, 10 * (c + 1))
    published = job.run_round(updates)
    assert list(published.model) == list(template)
    for name, tensor in published.model.items():
        assert isinstance(tensor, torch.Tensor)
        assert tensor.shape == template[name].shape and tensor.dtype == template[name].dtype
    expected = sum(u[k].double() * w for u, w in updates.values() for k in ["2.bias"]) / 60
    assert torch.max(torch.abs(published.model["2.bias"] - expected)).item() <= HALF_STEP + 1e-12
    model.load_state_dict(published.model)  # the published model loads as it is
    assert job.audit().ok


def test_a_plain_array_template_publishes_an_array() -> None:
    job = Job(np.zeros(40, dtype=np.float32), n_clients=3, max_weight=10, quantization=Q, setup=INSECURE)
    updates = {c: (np.full(40, 0.5 * c, dtype=np.float32), c + 1) for c in range(3)}
    published = job.run_round(updates)
    assert isinstance(published.model, np.ndarray) and published.model.dtype == np.float32
    assert np.allclose(published.model, (0.5 * 2 + 1.0 * 3) / 6, atol=HALF_STEP)
    assert job.model is published.model


def test_transport_agnostic_clients_and_aggregator(job: Job) -> None:
    updates = random_updates(7)
    aggregator = job.aggregator()
    round = aggregator.ident.round
    # numpy ints are fine as weights (the ledger gets Python ints)
    clients = {c: job.client(c, u, np.int64(w), round=round) for c, (u, w) in updates.items()}
    # a client elsewhere needs only the public parameters (they pickle; no key, no setup)
    params = pickle.loads(pickle.dumps(job.params))
    clients[3] = params.client(job.ledger, 3, *updates[3], round=round)
    net = InProcessTransport(aggregator, clients, alive=set(clients))  # messages cross as bytes
    for c in sorted(clients):
        net.send_to_aggregator(clients[c].start())
    while aggregator.stage is not AggregatorStage.DONE:
        net.deliver(aggregator.close())
    assert aggregator.result is not None
    published = job.publish(aggregator.result)
    assert published.proof.aggregate == aggregator.result.aggregate
    assert np.array_equal(published.mean, aggregator.result.mean())
    with pytest.raises(ProtocolError, match="already published"):
        job.publish(aggregator.result)


def test_publish_takes_survivors_and_dropped_from_the_ledger(job: Job) -> None:
    """An aggregator's result that mislabels U and D is published with the ledger's U and D (the
    proof is checked against the ledger's slots, so the labels are all it could change)."""
    updates = random_updates(8)
    aggregator = job.aggregator()
    round = aggregator.ident.round
    clients = {c: job.client(c, u, w, round=round) for c, (u, w) in updates.items()}
    net = InProcessTransport(aggregator, clients, alive=set(clients))
    for c in sorted(clients):
        net.send_to_aggregator(clients[c].start())
    while aggregator.stage is not AggregatorStage.DONE:
        net.deliver(aggregator.close())
    assert aggregator.result is not None and aggregator.result.survivors == (0, 1, 2, 3)
    lying = dataclasses.replace(aggregator.result, survivors=(0, 1), dropped=(2, 3))
    published = job.publish(lying)
    assert (published.survivors, published.dropped) == ((0, 1, 2, 3), ())
    assert job.audit().ok


# -- dropouts and failures --------------------------------------------------------------------

def test_dropout_mid_round_is_recovered_accepted_and_audited(job: Job) -> None:
    updates = random_updates(11)
    published = job.run_round(updates, dropouts={1: DropPoint.AFTER_MASK_COMMITMENT})
    assert published.dropped == (1,) and published.survivors == (0, 2, 3)
    assert np.array_equal(published.mean, secure_sum_mean(job, updates, (0, 2, 3)))
    assert job.ledger.model_hash(job.job_id, published.round) == published.model_hash == published.proof.model_hash
    with pytest.raises(LedgerError, match="already accepted"):
        job.ledger.accept_round(job.job_id, published.round, published.proof)
    report = job.audit()
    assert report.ok and published.round in report.rounds


def test_a_ledger_factory_opens_the_job_once_the_key_exists() -> None:
    seen = []

    def factory(aggregation: AggregationJob, vk: VerifyingKey) -> MemoryLedger:
        seen.append((aggregation.config.n_clients, vk.n_public))
        ledger = MemoryLedger()
        ledger.open_job(aggregation.config.job_id, 3, aggregation.config.max_weight,
                        aggregation.verifier(vk))
        return ledger

    job = Job({"w": np.zeros(5)}, n_clients=3, max_weight=5, quantization=Q, ledger=factory, setup=INSECURE)
    assert seen == [(3, 2 * 3 + 2)]
    assert job.run_round({c: ({"w": np.full(5, 0.25)}, 2) for c in range(3)}).model["w"][0] == 0.25
    with pytest.raises(InputError, match="ledger"):
        Job({"w": np.zeros(5)}, n_clients=3, ledger=object())  # type: ignore[arg-type]


def test_a_round_that_fails_after_starting_is_abandoned_and_the_next_one_runs(job: Job) -> None:
    before = job.next_round
    with pytest.raises(DropoutError):
        job.run_round(random_updates(12), dropouts={2: DropPoint.BEFORE_UPLOAD})
    assert job.next_round == before + 1 and all(p.round != before for p in job.rounds)
    assert job.run_round(random_updates(13)).round == before + 1


def test_audit_detects_a_tampered_round(job: Job) -> None:
    published = job.run_round(random_updates(14))
    index = job.rounds.index(published)
    try:
        altered = published.mean.copy()
        altered[0] += 2 * HALF_STEP
        job.rounds[index] = dataclasses.replace(published, mean=altered)
        assert job.audit().failures == {published.round: "the published model is not the decoding of the proved aggregate"}
        bumped = published.proof.aggregate + FrArray.from_ints([1] + [0] * (job.config.n_elements - 1))
        job.rounds[index] = dataclasses.replace(published, proof=dataclasses.replace(published.proof, aggregate=bumped))
        assert "does not verify" in job.audit().failures[published.round]
    finally:
        job.rounds[index] = published
    assert job.audit().ok


# -- bad inputs: a named error, and nothing changes ---------------------------------------------

def with_bad(client: int, **change: object) -> dict:
    updates = random_updates(20)
    update, weight = updates[client]
    update = dict(update)
    for key, value in change.items():
        if key == "weight":
            weight = value  # type: ignore[assignment]
        elif key == "drop":
            del update[str(value)]
        else:
            update[key] = value  # type: ignore[assignment]
    updates[client] = (update, weight)
    return updates


NAN_W = np.zeros((3, 5))
NAN_W[1, 2] = np.nan
INF_B = np.array([0.0, np.inf, 0.0], dtype=np.float32)
OUTSIDE = np.zeros((3, 5))
OUTSIDE[2, 4] = 4.5


@pytest.mark.parametrize(("updates", "error", "match"), [
    (with_bad(2, w=NAN_W), InputError, r"client 2 update\['w'\] at \(1, 2\): value nan is not finite"),
    (with_bad(0, b=INF_B), InputError, r"\['b'\] at \(1,\): value inf"),
    (with_bad(1, w=np.zeros((5, 3))), LengthError, r"client 1 update: w: expected shape \(3, 5\)"),
    (with_bad(1, drop="b"), InputError, "expected tensors"),
    (with_bad(3, extra=np.zeros(2)), InputError, "expected tensors"),
    (with_bad(1, w=np.array([["a"] * 5] * 3)), InputError, "numeric"),
    (with_bad(0, w=OUTSIDE), BudgetError, r"\['w'\] at \(2, 4\): value 4.5 is outside the clip range"),
    (with_bad(2, weight=0), BudgetError, r"client 2: weight must be in \[1, 100\]"),
    (with_bad(2, weight=101), BudgetError, "weight must be in"),
    (with_bad(2, weight=1.5), InputError, "weight must be an int"),
    ({**random_updates(20), N: (numpy_template(), 1)}, InputError, r"client id must be an int in \[0, 4\)"),
    ({0: numpy_template()}, InputError, r"updates\[0\] must be a pair"),
])
def test_a_bad_update_raises_a_named_error_and_changes_nothing(job: Job, updates: dict,
                                                               error: type[Exception], match: str) -> None:
    before, published = job.next_round, len(job.rounds)
    with pytest.raises(error, match=match):
        job.run_round(updates)
    assert (job.next_round, len(job.rounds)) == (before, published)
    assert job.ledger.mask_set(job.job_id, before) is None  # nothing reached the ledger


def test_bad_dropouts_and_bad_clients_change_nothing(job: Job) -> None:
    before = job.next_round
    with pytest.raises(InputError, match="dropouts"):
        job.run_round(random_updates(21, [0, 1, 2]), dropouts={3: DropPoint.AFTER_MASK_COMMITMENT})
    with pytest.raises(InputError, match="dropouts"):
        job.run_round(random_updates(21), dropouts={1: "after-mask-commitment"})  # type: ignore[dict-item]
    with pytest.raises(InputError, match="not finite"):
        job.client(0, {"w": NAN_W, "b": np.zeros(3)}, 5, round=before)
    with pytest.raises(InputError, match="client id"):
        job.client(-1, numpy_template(), 5, round=before)
    with pytest.raises(BudgetError, match="client 1: weight"):
        job.client(1, numpy_template(), 0, round=before)
    assert job.next_round == before and job.ledger.mask_set(job.job_id, before) is None


def test_job_parameters_are_checked_before_the_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_setup(*args: object, **kwargs: object) -> None:
        raise AssertionError("setup ran before the parameters were checked")

    monkeypatch.setattr("zkagg.fl.job.job_proving_key", no_setup)
    with pytest.raises(BudgetError, match="a slot needs"):  # n × max_weight × 2·offset overflows
        Job(numpy_template(), n_clients=1 << 20, max_weight=1 << 32)
    with pytest.raises(BudgetError, match="bits"):
        Job(numpy_template(), n_clients=4, quantization=Quantization(bits=8, frac_bits=8, clip=4.0))
    with pytest.raises(LengthError, match="no parameters"):
        Job({}, n_clients=4)
    with pytest.raises(LengthError, match="no parameters"):
        Job(np.zeros((0, 3)), n_clients=4)
    with pytest.raises(InputError, match="template.*not finite"):
        Job({"w": np.array([1.0, math.inf])}, n_clients=4)
    with pytest.raises(BudgetError, match="template.*outside the clip range"):
        Job({"w": np.array([1.0, 9.0])}, n_clients=4)
    with pytest.raises(InputError, match="n_clients"):
        Job(numpy_template(), n_clients=1)
    with pytest.raises(InputError, match="job_id"):
        Job(numpy_template(), n_clients=4, job_id=b"short")


def test_job_params_are_checked(job: Job) -> None:
    with pytest.raises(InputError, match="layout"):
        JobParams(job.config, Layout.of(np.zeros(3)), job.params.chunk_len)


def test_clip_updates_clips_instead_of_refusing() -> None:
    job = Job({"w": np.zeros(4)}, n_clients=3, max_weight=5, quantization=Q, clip_updates=True, setup=INSECURE)
    published = job.run_round({c: ({"w": np.array([9.0, -9.0, 1.0, 0.0])}, 1) for c in range(3)})
    assert np.array_equal(published.model["w"], [4.0, -4.0, 1.0, 0.0])


def test_a_proving_key_is_reused_and_a_foreign_key_is_refused(job: Job) -> None:
    again = Job(numpy_template(), n_clients=N, max_weight=100, quantization=Q, neighbours=3,
                proving_key=job.proving_key, setup=INSECURE)
    assert again.proving_key is job.proving_key
    assert again.run_round(random_updates(30)).round == 0
    with pytest.raises(InputError, match="proving_key"):
        Job(numpy_template(), n_clients=N + 1, max_weight=100, quantization=Q, proving_key=job.proving_key,
            setup=INSECURE)


@settings(max_examples=30)
@given(name=st.sampled_from(["w", "b"]), at=st.integers(0, 14), client=st.integers(0, N - 1),
       bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_any_non_finite_value_is_named_where_it_is(job: Job, name: str, at: int, client: int,
                                                   bad: float) -> None:
    updates = random_updates(40)
    tensor = updates[client][0][name].copy()
    index = np.unravel_index(at % tensor.size, tensor.shape)
    tensor[index] = bad
    updates[client] = ({**updates[client][0], name: tensor}, updates[client][1])
    before = job.next_round
    where = re.escape(f"client {client} update['{name}'] at {tuple(int(i) for i in index)}")
    with pytest.raises(InputError, match=f"{where}: value -?(nan|inf) is not finite"):
        job.run_round(updates)
    assert job.next_round == before and job.ledger.mask_set(job.job_id, before) is None
