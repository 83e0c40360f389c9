"""The v2 proof path with its chunk proofs as Ray tasks (a local two-CPU cluster): the round is
accepted by the ledger, and a worker's bad proof is caught by the batched check."""

from __future__ import annotations

import random
from collections.abc import Iterator
from unittest import mock

import pytest

ray = pytest.importorskip("ray")

from zkagg import kzg  # noqa: E402
from zkagg.aggregation import kzg_round as kr  # noqa: E402
from zkagg.aggregation.ray_backend import RayExecutor  # noqa: E402

from .test_pipeline_v2 import open_job, run  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_v2_round_proved_on_ray_is_accepted(cluster: None) -> None:
    prover = kr.ChunkProver.insecure_single_party_setup(2, random.Random(3))  # three chunks
    srs = kzg.Srs.insecure_from_tau(0xABCDEF12345, 64)
    job, ledger = open_job(prover, srs)
    result = run(job, ledger, seed=41)
    executor = RayExecutor()
    assert len(job.shape.chunks(result.aggregate)) > 1  # more than one task
    acceptance, stored = job.publish(result, ledger, executor=executor)
    assert ledger.model_hash(job.config.job_id, 0) == stored
    # a worker that returns a proof of another chunk: the batched check refuses the round
    result2 = run(job, ledger, round=1, seed=42)
    real = kr._prove_one

    def swapped(p: kr.ChunkProver, z: int, chunk: object) -> kr.ChunkEvalProof:
        return real(p, (z + 1) % kr.R, chunk)  # type: ignore[arg-type]

    with mock.patch.object(kr, "_prove_one", swapped), pytest.raises(kr.RoundCheckError, match="batched check"):
        job.prove(result2, ledger, executor=executor)
