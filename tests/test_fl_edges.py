"""Edges of the FL API: round numbers are taken only when a round starts on the ledger, torch
tensors numpy cannot hold (bfloat16, float8, complex, the meta device) are refused by name, and a
job reports its proving estimate and is refused above its limit before the setup runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zkagg.errors import DropoutError, InputError
from zkagg.fl import Job
from zkagg.ledger import MemoryLedger
from zkagg.secagg import DropPoint

from .test_fl_job import N, Q, numpy_template, random_updates


@pytest.fixture(scope="module")
def job() -> Job:
    return Job(numpy_template(), n_clients=N, max_weight=100, quantization=Q, neighbours=3,
               ledger=MemoryLedger(), setup="insecure_single_party_setup")


def test_a_round_refused_before_the_ledger_keeps_its_number(job: Job) -> None:
    before = job.next_round
    with pytest.raises(DropoutError, match="advertised keys"):
        job.run_round(random_updates(1, [0]))  # one client: refused at the key stage
    three_gone = {c: DropPoint.BEFORE_SHARES for c in range(3)}
    with pytest.raises(DropoutError, match="mask set"):
        job.run_round(random_updates(2), dropouts=three_gone)
    assert job.ledger.mask_set(job.job_id, before) is None
    assert job.next_round == before
    assert job.run_round(random_updates(3)).round == before  # no gap in the ledger's numbering


def test_a_round_refused_after_it_started_on_the_ledger_is_not_reused(job: Job) -> None:
    before = job.next_round
    with pytest.raises(DropoutError):
        job.run_round(random_updates(4), dropouts={2: DropPoint.BEFORE_UPLOAD})
    assert job.ledger.mask_set(job.job_id, before) is not None
    assert job.next_round == before + 1


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float8_e4m3fn, torch.complex64])
def test_tensors_numpy_cannot_hold_are_refused_by_name(dtype: torch.dtype) -> None:
    name = str(dtype).removeprefix("torch.")
    with pytest.raises(InputError, match=rf"template\['w'\]: dtype {name} is not supported"):
        Job({"w": torch.zeros(3, dtype=dtype)}, n_clients=N, quantization=Q, neighbours=3)


def test_meta_tensors_are_refused_by_name(job: Job) -> None:
    with pytest.raises(InputError, match="template: a tensor on the meta device"):
        Job(torch.zeros(4, device="meta"), n_clients=N, quantization=Q, neighbours=3)
    before = job.next_round
    updates = random_updates(5)
    updates[1] = ({"w": torch.zeros((3, 5), device="meta"), "b": np.zeros(3, np.float32)}, 5)
    with pytest.raises(InputError, match=r"client 1 update\['w'\]: a tensor on the meta device"):
        job.run_round(updates)
    bf16 = random_updates(6)
    bf16[2] = ({"w": torch.zeros((3, 5), dtype=torch.bfloat16), "b": np.zeros(3, np.float32)}, 5)
    with pytest.raises(InputError, match=r"client 2 update\['w'\]: dtype bfloat16"):
        job.run_round(bf16)
    assert job.next_round == before and job.ledger.mask_set(job.job_id, before) is None


def test_bfloat16_converted_with_float_is_aggregated(job: Job) -> None:
    updates = random_updates(7)
    w = torch.tensor(updates[0][0]["w"]).to(torch.bfloat16)
    updates[0] = ({"w": w.float(), "b": updates[0][0]["b"]}, updates[0][1])
    assert job.run_round(updates).round == job.next_round - 1


# -- the proving estimate ----------------------------------------------------------------------

class SetupRan(Exception):
    pass


def test_the_estimate_matches_the_circuit(job: Job) -> None:
    est = job.estimate
    assert est.chunks == job.aggregation.layout.n_chunks
    assert est.constraints_per_chunk == job.aggregation.r1cs.n_constraints
    assert est.constraints == est.chunks * est.constraints_per_chunk
    assert 0 < est.seconds and 0 < est.msm_14_s
    assert f"{est.chunks:,} chunk proof(s)" in str(est)


def test_a_job_above_its_proving_limit_is_refused_before_the_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    from zkagg.fl.estimate import ProvingBudgetError

    def no_setup(*args: object, **kwargs: object) -> None:
        raise SetupRan

    monkeypatch.setattr("zkagg.fl.job.job_proving_key", no_setup)  # where the job's keys are made
    big = np.zeros(10**6)  # n = 100, d = 10^6: thousands of chunk proofs per round
    with pytest.raises(ProvingBudgetError, match=r"3,040 chunk proof\(s\).*max_round_seconds=3600"):
        Job(big, n_clients=100, quantization=Q)
    with pytest.raises(ProvingBudgetError):  # a tiny job over a tiny limit
        Job(numpy_template(), n_clients=N, quantization=Q, neighbours=3, max_round_seconds=1e-9)
    with pytest.raises(SetupRan):  # without a limit the same job goes on to its setup
        Job(numpy_template(), n_clients=N, quantization=Q, neighbours=3, max_round_seconds=None)
    for bad in (0, -1.0, "1h", True):
        with pytest.raises(InputError, match="max_round_seconds"):
            Job(numpy_template(), n_clients=N, quantization=Q, neighbours=3, max_round_seconds=bad)  # type: ignore[arg-type]


def test_freed_memory_is_handed_back_where_glibc_allows() -> None:
    import platform

    from zkagg.fl.memory import release_free_memory

    assert release_free_memory() is (platform.libc_ver()[0] == "glibc")
