"""The aggregation proof end to end: a simulated round, chunk proofs, and soundness probes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import secrets
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from zkagg.aggregation import (
    AggregationJob,
    prove_round,
    public_inputs,
    slot_commitments,
    verify_round,
)
from zkagg.bn254.constants import FR_MODULUS
from zkagg.bn254.field import FrArray
from zkagg.circuit import count, evaluate
from zkagg.errors import ProtocolError, UnsatisfiedConstraintError
from zkagg.groth16 import verify
from zkagg.ledger import MemoryLedger
from zkagg.poseidon import poseidon_sponge
from zkagg.secagg import DropPoint, Quantization, SecAggConfig, simulate_round

N, D = 4, 40  # 40 parameters, 9 per element (28-bit slots): 5 elements, chunks of 3 → 2 chunks


@pytest.fixture(scope="module")
def job() -> AggregationJob:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=N, model_length=D, neighbours=3,
                          quantization=Quantization(bits=16, frac_bits=12, clip=4.0),
                          max_weight=1000)
    return AggregationJob(config, chunk_len=3)


@pytest.fixture(scope="module")
def pk(job: AggregationJob):  # noqa: ANN201
    return job.setup()


def run_round(job: AggregationJob, round: int, dropouts: dict[int, DropPoint]):  # noqa: ANN201
    ledger = MemoryLedger()
    ledger.open_job(job.config.job_id, N, job.config.max_weight)
    rng = np.random.default_rng(round)  # test data only
    updates = {c: (rng.uniform(-1, 1, D), int(rng.integers(1, 1000))) for c in range(N)}
    result = simulate_round(job.config, updates, round=round, ledger=ledger, dropouts=dropouts,
                            commit=job.commit)
    return ledger, result


def test_golden_constraint_count(job: AggregationJob) -> None:
    lay = job.layout
    assert (lay.n_chunks, lay.depth, job.config.per_element) == (2, 1, 9)
    # per slot: sponge of 3 elements (612) + one Merkle level (242) + the root check; the output
    # sponge (612) of 3 sums, each made a wire (3), + its check; the index: a 96-bit
    # decomposition (97) and 31 zero high bits
    assert job.r1cs.n_constraints == N * (612 + 242 + 1) + (612 + 3 + 1) + 97 + 31
    assert count(job.circuit()).n_constraints == job.r1cs.n_constraints


@pytest.mark.parametrize("dropouts", [{}, {1: DropPoint.AFTER_MASK_COMMITMENT, 3: DropPoint.BEFORE_SHARES}])
def test_a_proved_round_publishes_exactly_the_secure_aggregate(job, pk, dropouts) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 5, dropouts)
    proof = prove_round(job, pk, result, ledger)
    assert proof.aggregate == result.aggregate and proof.total_weight == result.total_weight
    commitments = slot_commitments(job, ledger, 5)
    assert verify_round(job, pk.vk, proof, commitments)
    if dropouts:
        assert commitments[3] == job.empty_commitment
        assert commitments[1] == ledger.mask_commitments(job.config.job_id, 5)[1]


def test_soundness_probes(job, pk) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 6, {2: DropPoint.AFTER_MASK_COMMITMENT})
    proof = prove_round(job, pk, result, ledger)
    commitments = slot_commitments(job, ledger, 6)
    assert verify_round(job, pk.vk, proof, commitments)
    # a different aggregate, another round, a swapped U/D assignment or another slot's data: rejected
    bumped = FrArray(result.aggregate.limbs.copy()) + FrArray.from_ints([0, 0, 0, 0, 1])
    assert not verify_round(job, pk.vk, dataclasses.replace(proof, aggregate=bumped), commitments)
    assert not verify_round(job, pk.vk, dataclasses.replace(proof, round=7), commitments)
    swapped = list(commitments)
    swapped[2] = ledger.submissions(job.config.job_id, 6).get(0, (0,))[0]
    assert not verify_round(job, pk.vk, proof, swapped)
    chunk = proof.chunks[1]
    publics = public_inputs(6, 1, commitments, chunk.output)
    assert verify(pk.vk, publics, chunk.proof)
    for i in range(len(publics)):  # every public input is bound
        altered = list(publics)
        altered[i] = (altered[i] + 1) % (1 << 253)
        assert not verify(pk.vk, altered, chunk.proof)
    assert not verify(pk.vk, public_inputs(6, 0, commitments, chunk.output), chunk.proof)  # chunk index


def test_a_wrong_witness_names_the_failing_constraint(job, pk) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 8, {})
    commitments = slot_commitments(job, ledger, 8)
    lay = job.layout
    vectors = [result.inputs[k] for k in range(N)]
    slots = [lay.chunk(v, 0).to_ints() for v in vectors]
    slots[1][0] = (slots[1][0] + 1) % FR_MODULUS  # the aggregator alters one client's element
    total = [sum(col) % FR_MODULUS for col in zip(*slots)]
    circuit = job.circuit(round_chunk=8 << 32, commitments=commitments, output=poseidon_sponge(total),
                          slots=slots, paths=[lay.path(lay.leaves(v), 0) for v in vectors])
    with pytest.raises(UnsatisfiedConstraintError, match="slot1"):
        evaluate(circuit)
    tampered = dict(result.inputs)
    tampered[1] = tampered[1] + FrArray.from_ints([1] + [0] * (len(tampered[1]) - 1))
    with pytest.raises(ProtocolError, match="slot 1"):
        prove_round(job, pk, dataclasses.replace(result, inputs=tampered), ledger)


def test_chunks_can_be_proved_in_other_processes(job, pk) -> None:  # noqa: ANN001
    ledger, result = run_round(job, 9, {})
    context = multiprocessing.get_context("spawn")  # fork is unsafe with the native thread pool
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        proof = prove_round(job, pk, result, ledger, executor=pool)
    assert [c.chunk for c in proof.chunks] == [0, 1]
    assert verify_round(job, pk.vk, proof, slot_commitments(job, ledger, 9))
