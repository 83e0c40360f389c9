"""Chunk proofs as Ray tasks on a local two-worker cluster: the key is put once, proofs are
verified before use, and a worker's bad proof is caught."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from zkagg.aggregation import (  # noqa: E402
    AggregationJob,
    RoundWitness,
    prove_chunk,
    prove_round,
    ray_backend,  # noqa: E402
    slots,
    verify_round,
)
from zkagg.errors import ProofError  # noqa: E402
from zkagg.ledger import MemoryLedger  # noqa: E402
from zkagg.secagg import Quantization, SecAggConfig, simulate_round  # noqa: E402

N, D = 4, 40  # 5 packed elements in chunks of 2: three chunk proofs


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def job() -> AggregationJob:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=N, model_length=D, neighbours=3,
                          quantization=Quantization(bits=16, frac_bits=12, clip=4.0), max_weight=1000)
    return AggregationJob(config, chunk_len=2)


@pytest.fixture(scope="module")
def pk(job: AggregationJob) -> Any:
    return job.insecure_single_party_setup()


def finished_round(job: AggregationJob, pk: Any, round: int) -> tuple[MemoryLedger, Any]:
    ledger = MemoryLedger()
    ledger.open_job(job.config.job_id, N, job.config.max_weight, job.verifier(pk.vk))
    rng = np.random.default_rng(round)  # test data only
    updates = {c: (rng.uniform(-1, 1, D), int(rng.integers(1, 1000))) for c in range(N)}
    return ledger, simulate_round(job.config, updates, round=round, ledger=ledger, commit=job.commit)


def test_a_round_proved_on_ray_is_accepted_and_matches_the_local_prover(cluster, job, pk, monkeypatch) -> None:  # noqa: ANN001
    puts: list[object] = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda value, **kw: puts.append(value) or real_put(value, **kw))
    prover = ray_backend.RayProver(job, pk)
    ledger, result = finished_round(job, pk, 3)
    proof = prover.prove_round(result, ledger)
    proof_again = prover.prove_round(result, ledger)  # the workers reuse the key they fetched
    assert [type(p).__name__ for p in puts] == ["AggregationJob", "ProvingKey"]  # once, not per task
    assert [c.chunk for c in proof.chunks] == [0, 1, 2] == [c.chunk for c in proof_again.chunks]
    assert verify_round(job, pk.vk, proof, slots(job, ledger, 3))
    assert proof.model_hash == prove_round(job, pk, result, ledger).model_hash == proof_again.model_hash
    assert ledger.accept_round(job.config.job_id, 3, proof) == proof.model_hash


@ray.remote
def _lying_task(refs: list[Any], round: int, j: int, record: Any, data: Any, paths: Any) -> Any:
    job, pk = ray_backend._job_and_key(refs)
    honest = prove_chunk(job, pk, round, j, record, data, paths)
    return dataclasses.replace(honest, chunk=0)  # chunk 0's claim for every chunk


def test_a_proof_that_does_not_verify_is_never_used(cluster, job, pk, monkeypatch) -> None:  # noqa: ANN001
    ledger, result = finished_round(job, pk, 4)
    prover = ray_backend.RayProver(job, pk)
    witness = RoundWitness.of(job, result, ledger)
    monkeypatch.setattr(ray_backend, "_prove_chunk_task", _lying_task)
    with pytest.raises(ProofError, match="chunk [12]"):
        list(prover.prove_chunks(witness, result.aggregate, [1, 2]))
    # a proof of the right chunk but for another aggregate is refused as well
    monkeypatch.undo()
    other = result.aggregate + result.aggregate
    with pytest.raises(ProofError, match="does not verify"):
        next(prover.prove_chunks(witness, other, [0]))


def test_bench_round_ray_reports_the_speedup(cluster, job, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import json

    from zkagg.bench import aggregation
    from zkagg.cli import main

    monkeypatch.setattr(aggregation, "job_for", lambda n, d, log_domain: job)  # three chunks, proved in seconds
    out = tmp_path / "ray.json"
    assert main(["bench", "round", "--quick", "--ray", "local", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    ray_row = result["ray"]
    assert ray_row["chunks"] == 3 and ray_row["cluster_cpus"] == 2
    times = [ray_row[f"ray_{w}_{run}_s"] for w in ("1_worker", "2_workers") for run in ("cold", "warm")]
    assert all(t > 0 for t in times)
    assert result["ray_speedup"] == ray_row["ray_1_worker_warm_s"] / ray_row["ray_2_workers_warm_s"]
